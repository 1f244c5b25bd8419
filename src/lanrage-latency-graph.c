/* lanrage-latency-graph.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One bar per measurement, as wide as the time it held, coloured like the latency labels
 * elsewhere; time runs right to left over LANRAGE_PEER_HISTORY_US. Redrawn on each new
 * measurement, and once a second while shown so the bars scroll; never while hidden.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-latency-graph.h"

#define PADDING 8.0
/* The smallest top of the vertical scale: a LAN-like link still shows as bars. */
#define SCALE_MIN_MS 2.0

struct _LanrageLatencyGraph
{
  GtkWidget    parent_instance;

  LanragePeer *peer;
  guint        tick_id;
};

G_DEFINE_FINAL_TYPE (LanrageLatencyGraph, lanrage_latency_graph, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_PEER,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

/* The thresholds people know from games: under 40 ms is great, over 120 ms hurts. */
static void
latency_color (double   latency_ms,
               GdkRGBA *color)
{
  if (latency_ms < 40)
    gdk_rgba_parse (color, "#2ec27e");
  else if (latency_ms < 80)
    gdk_rgba_parse (color, "#e5a50a");
  else if (latency_ms < 120)
    gdk_rgba_parse (color, "#ff7800");
  else
    gdk_rgba_parse (color, "#e01b24");
}

/* The top of the scale: the first of 2, 5, 10, 20, 50, 100, ... ms at or above @highest,
 * so the scale changes in steps a person can read, not at every sample. */
static double
nice_scale (double highest)
{
  double scale = SCALE_MIN_MS;

  for (guint i = 0; scale < highest; i++)
    scale *= (i % 3 == 1) ? 2.5 : 2;
  return scale;
}

static void
update_description (LanrageLatencyGraph *self)
{
  const LanrageLatencySample *samples = NULL;
  guint n = 0;
  double low = G_MAXDOUBLE, high = -1;
  g_autofree char *text = NULL;

  if (self->peer != NULL)
    samples = lanrage_peer_get_latency_history (self->peer, &n);
  for (guint i = 0; i < n; i++)
    if (samples[i].latency_ms >= 0)
      {
        low = MIN (low, samples[i].latency_ms);
        high = MAX (high, samples[i].latency_ms);
      }

  if (high < 0)
    text = g_strdup (_("No latency measured yet"));
  else
    /* Translators: the summary of the latency graph for screen readers. */
    text = g_strdup_printf (_("Latency over the last three minutes: between %.0f and %.0f ms"),
                            low, high);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
}

static void
lanrage_latency_graph_snapshot (GtkWidget   *widget,
                                GtkSnapshot *snapshot)
{
  LanrageLatencyGraph *self = LANRAGE_LATENCY_GRAPH (widget);
  const LanrageLatencySample *samples = NULL;
  guint n = 0;
  double width = gtk_widget_get_width (widget) - 2 * PADDING;
  double height = gtk_widget_get_height (widget) - 2 * PADDING;
  double highest = 0;
  double scale;
  gint64 now = g_get_monotonic_time ();
  GdkRGBA fg;
  GdkRGBA grid;
  g_autofree char *scale_text = NULL;
  g_autoptr(PangoLayout) layout = NULL;

  if (width <= 0 || height <= 0)
    return;

  if (self->peer != NULL)
    samples = lanrage_peer_get_latency_history (self->peer, &n);
  for (guint i = 0; i < n; i++)
    highest = MAX (highest, samples[i].latency_ms);
  scale = nice_scale (highest);

  /* GTK 4.8 has no gtk_widget_get_color (). */
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  grid = fg;
  grid.alpha = 0.12;

  /* Grid lines at every half of the scale, and the scale written at the top. */
  for (int i = 0; i <= 2; i++)
    {
      double y = PADDING + height * i / 2.0;

      gtk_snapshot_append_color (snapshot, &grid,
                                 &GRAPHENE_RECT_INIT (PADDING, y, width, 1));
    }

  for (guint i = 0; i < n; i++)
    {
      double age_start = (double) (now - samples[i].time_us) / LANRAGE_PEER_HISTORY_US;
      double age_end = i + 1 < n ? (double) (now - samples[i + 1].time_us) / LANRAGE_PEER_HISTORY_US
                                 : 0;
      double x0 = PADDING + width * (1 - MIN (age_start, 1.0));
      double x1 = PADDING + width * (1 - MIN (age_end, 1.0));
      double bar;
      GdkRGBA color;

      if (samples[i].latency_ms < 0 || x1 - x0 < 0.5)
        continue;
      bar = MAX (2.0, height * samples[i].latency_ms / scale);
      latency_color (samples[i].latency_ms, &color);
      color.alpha = 0.85;
      /* A hair of space between bars keeps single measurements apart. */
      gtk_snapshot_append_color (snapshot, &color,
                                 &GRAPHENE_RECT_INIT (x0, PADDING + height - bar,
                                                      MAX (1.0, x1 - x0 - 1), bar));
    }

  /* Translators: the top of the latency graph's scale. */
  scale_text = g_strdup_printf (_("%.0f ms"), scale);
  layout = gtk_widget_create_pango_layout (widget, scale_text);
  fg.alpha = 0.55;
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (PADDING + 4, PADDING + 2));
  gtk_snapshot_append_layout (snapshot, layout, &fg);
  gtk_snapshot_restore (snapshot);
}

static gboolean
tick_cb (gpointer user_data)
{
  gtk_widget_queue_draw (user_data);
  return G_SOURCE_CONTINUE;
}

static void
lanrage_latency_graph_map (GtkWidget *widget)
{
  LanrageLatencyGraph *self = LANRAGE_LATENCY_GRAPH (widget);

  GTK_WIDGET_CLASS (lanrage_latency_graph_parent_class)->map (widget);
  if (self->tick_id == 0)
    self->tick_id = g_timeout_add_seconds (1, tick_cb, self);
}

static void
lanrage_latency_graph_unmap (GtkWidget *widget)
{
  LanrageLatencyGraph *self = LANRAGE_LATENCY_GRAPH (widget);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  GTK_WIDGET_CLASS (lanrage_latency_graph_parent_class)->unmap (widget);
}

static void
latency_changed_cb (LanrageLatencyGraph *self)
{
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
lanrage_latency_graph_dispose (GObject *object)
{
  LanrageLatencyGraph *self = LANRAGE_LATENCY_GRAPH (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_object (&self->peer);
  G_OBJECT_CLASS (lanrage_latency_graph_parent_class)->dispose (object);
}

static void
lanrage_latency_graph_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  LanrageLatencyGraph *self = LANRAGE_LATENCY_GRAPH (object);

  switch (prop_id)
    {
    case PROP_PEER:
      g_value_set_object (value, self->peer);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lanrage_latency_graph_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  LanrageLatencyGraph *self = LANRAGE_LATENCY_GRAPH (object);

  switch (prop_id)
    {
    case PROP_PEER:
      lanrage_latency_graph_set_peer (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lanrage_latency_graph_class_init (LanrageLatencyGraphClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lanrage_latency_graph_dispose;
  object_class->get_property = lanrage_latency_graph_get_property;
  object_class->set_property = lanrage_latency_graph_set_property;
  widget_class->snapshot = lanrage_latency_graph_snapshot;
  widget_class->map = lanrage_latency_graph_map;
  widget_class->unmap = lanrage_latency_graph_unmap;

  props[PROP_PEER] =
    g_param_spec_object ("peer", NULL, NULL, LANRAGE_TYPE_PEER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_css_name (widget_class, "latency-graph");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lanrage_latency_graph_init (LanrageLatencyGraph *self)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Latency graph"), -1);
  update_description (self);
}

LanragePeer *
lanrage_latency_graph_get_peer (LanrageLatencyGraph *self)
{
  g_return_val_if_fail (LANRAGE_IS_LATENCY_GRAPH (self), NULL);
  return self->peer;
}

void
lanrage_latency_graph_set_peer (LanrageLatencyGraph *self,
                                LanragePeer         *peer)
{
  g_return_if_fail (LANRAGE_IS_LATENCY_GRAPH (self));

  if (self->peer == peer)
    return;
  if (self->peer != NULL)
    g_signal_handlers_disconnect_by_data (self->peer, self);
  g_set_object (&self->peer, peer);
  if (peer != NULL)
    g_signal_connect_object (peer, "notify::latency-ms", G_CALLBACK (latency_changed_cb), self,
                             G_CONNECT_SWAPPED);
  latency_changed_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PEER]);
}
