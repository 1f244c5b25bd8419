/* lanrage-peer-details.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "lanrage-latency-graph.h"
#include "lanrage-nat.h"
#include "lanrage-peer-details.h"

typedef enum
{
  VALUE_ADDRESS,
  VALUE_PATH,
  VALUE_LATENCY,
  VALUE_JITTER,
  VALUE_LOSS,
  VALUE_QUALITY,
  VALUE_NAT,
  VALUE_BYTES,
  VALUE_HANDSHAKE,
  N_VALUES
} Value;

static const char *value_titles[N_VALUES] = {
  N_("Address"),
  N_("Path"),
  N_("Latency"),
  N_("Jitter"),
  N_("Packet Loss"),
  N_("Quality"),
  N_("NAT Type"),
  N_("Received / Sent"),
  N_("Last Handshake"),
};

struct _LanragePeerDetails
{
  GtkWidget            parent_instance;

  LanragePeer         *peer;
  GtkStack            *stack;
  GtkLabel            *name_label;
  LanrageLatencyGraph *graph;
  AdwPreferencesGroup *link_group;
  GtkListBox          *history_list;
  GtkLabel            *values[N_VALUES];
};

G_DEFINE_FINAL_TYPE (LanragePeerDetails, lanrage_peer_details, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_PEER,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static char *
describe_ms (double ms)
{
  if (ms < 0)
    return g_strdup (_("Not measured yet"));
  return g_strdup_printf (_("%.1f ms"), ms);
}

static char *
describe_quality (const char *quality)
{
  if (g_str_equal (quality, "excellent"))
    return g_strdup (_("Excellent"));
  if (g_str_equal (quality, "good"))
    return g_strdup (_("Good"));
  if (g_str_equal (quality, "fair"))
    return g_strdup (_("Fair"));
  if (g_str_equal (quality, "poor"))
    return g_strdup (_("Poor"));
  return g_strdup (_("Not measured yet"));
}

static char *
describe_handshake (gint64 seconds)
{
  g_autoptr(GDateTime) then = NULL;

  if (seconds <= 0)
    return g_strdup (_("Never"));
  then = g_date_time_new_from_unix_local (seconds);
  if (then == NULL)
    return g_strdup (_("Never"));
  return g_date_time_format (then, "%X");
}

static void
update (LanragePeerDetails *self)
{
  LanragePeer *peer = self->peer;
  char *texts[N_VALUES] = { NULL };
  g_autofree char *rx = NULL;
  g_autofree char *tx = NULL;
  double loss;

  if (peer == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }

  gtk_label_set_label (self->name_label, lanrage_peer_get_name (peer));
  texts[VALUE_ADDRESS] = g_strdup (lanrage_peer_get_virtual_address (peer));
  texts[VALUE_PATH] = lanrage_peer_describe_path (peer);
  texts[VALUE_LATENCY] = describe_ms (lanrage_peer_get_latency_ms (peer));
  texts[VALUE_JITTER] = describe_ms (lanrage_peer_get_jitter_ms (peer));
  loss = lanrage_peer_get_loss_percent (peer);
  texts[VALUE_LOSS] = loss < 0 ? g_strdup (_("Not measured yet"))
                               : g_strdup_printf (_("%.1f %%"), loss);
  texts[VALUE_QUALITY] = describe_quality (lanrage_peer_get_quality (peer));
  texts[VALUE_NAT] = g_strdup (lanrage_nat_type_get_name (lanrage_peer_get_nat_type (peer)));
  rx = g_format_size (lanrage_peer_get_rx_bytes (peer));
  tx = g_format_size (lanrage_peer_get_tx_bytes (peer));
  /* Translators: bytes received from and sent to a player: "1.2 MB / 800 kB". */
  texts[VALUE_BYTES] = g_strdup_printf (_("%s / %s"), rx, tx);
  texts[VALUE_HANDSHAKE] = describe_handshake (lanrage_peer_get_last_handshake (peer));

  for (guint i = 0; i < N_VALUES; i++)
    {
      gtk_label_set_label (self->values[i], texts[i]);
      g_free (texts[i]);
    }
  gtk_stack_set_visible_child_name (self->stack, "peer");
}

static GtkWidget *
create_history_row (gpointer item,
                    gpointer user_data)
{
  GtkWidget *row = adw_action_row_new ();

  /* A time and a path in words: text, never markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                 gtk_string_object_get_string (item));
  return row;
}

static void
lanrage_peer_details_dispose (GObject *object)
{
  LanragePeerDetails *self = LANRAGE_PEER_DETAILS (object);

  g_clear_object (&self->peer);
  gtk_widget_dispose_template (GTK_WIDGET (self), LANRAGE_TYPE_PEER_DETAILS);
  G_OBJECT_CLASS (lanrage_peer_details_parent_class)->dispose (object);
}

static void
lanrage_peer_details_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  LanragePeerDetails *self = LANRAGE_PEER_DETAILS (object);

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
lanrage_peer_details_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  LanragePeerDetails *self = LANRAGE_PEER_DETAILS (object);

  switch (prop_id)
    {
    case PROP_PEER:
      lanrage_peer_details_set_peer (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lanrage_peer_details_class_init (LanragePeerDetailsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lanrage_peer_details_dispose;
  object_class->get_property = lanrage_peer_details_get_property;
  object_class->set_property = lanrage_peer_details_set_property;

  props[PROP_PEER] =
    g_param_spec_object ("peer", NULL, NULL, LANRAGE_TYPE_PEER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  g_type_ensure (LANRAGE_TYPE_LATENCY_GRAPH);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/lanrage/LANrage/ui/lanrage-peer-details.ui");
  gtk_widget_class_bind_template_child (widget_class, LanragePeerDetails, stack);
  gtk_widget_class_bind_template_child (widget_class, LanragePeerDetails, name_label);
  gtk_widget_class_bind_template_child (widget_class, LanragePeerDetails, graph);
  gtk_widget_class_bind_template_child (widget_class, LanragePeerDetails, link_group);
  gtk_widget_class_bind_template_child (widget_class, LanragePeerDetails, history_list);
}

static void
lanrage_peer_details_init (LanragePeerDetails *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  /* Title on the left, the value on the right, selectable so it can be copied. The
   * value's accessible name says what it is, for screen readers. */
  for (guint i = 0; i < N_VALUES; i++)
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *label = gtk_label_new ("");

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _(value_titles[i]));
      gtk_label_set_selectable (GTK_LABEL (label), TRUE);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
      gtk_accessible_update_relation (GTK_ACCESSIBLE (label),
                                      GTK_ACCESSIBLE_RELATION_LABELLED_BY, row, NULL, -1);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
      adw_preferences_group_add (self->link_group, row);
      self->values[i] = GTK_LABEL (label);
    }
  update (self);
}

LanragePeer *
lanrage_peer_details_get_peer (LanragePeerDetails *self)
{
  g_return_val_if_fail (LANRAGE_IS_PEER_DETAILS (self), NULL);
  return self->peer;
}

void
lanrage_peer_details_set_peer (LanragePeerDetails *self,
                               LanragePeer        *peer)
{
  g_return_if_fail (LANRAGE_IS_PEER_DETAILS (self));

  if (self->peer == peer)
    return;
  if (self->peer != NULL)
    g_signal_handlers_disconnect_by_data (self->peer, self);
  g_set_object (&self->peer, peer);
  if (peer != NULL)
    g_signal_connect_object (peer, "notify", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  lanrage_latency_graph_set_peer (self->graph, peer);
  gtk_list_box_bind_model (self->history_list,
                           peer != NULL ? lanrage_peer_get_path_history (peer) : NULL,
                           create_history_row, NULL, NULL);
  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PEER]);
}
