/* lanrage-peer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>
#include <string.h>

#include "lanrage-peer-private.h"

struct _LanragePeer
{
  GObject         parent_instance;

  LrdHelper1Peer *proxy;
  GArray         *history;        /* LanrageLatencySample, oldest first */
  GtkStringList  *path_history;
  char           *raw_path;       /* the helper's Path as last seen */
};

G_DEFINE_FINAL_TYPE (LanragePeer, lanrage_peer, G_TYPE_OBJECT)

/* The same names as the generated proxy's properties: a change there is a change here. */
enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_VIRTUAL_ADDRESS,
  PROP_ONLINE,
  PROP_PATH,
  PROP_ENDPOINT,
  PROP_RELAY,
  PROP_LATENCY_MS,
  PROP_JITTER_MS,
  PROP_LOSS_PERCENT,
  PROP_QUALITY,
  PROP_NAT_TYPE,
  PROP_RX_BYTES,
  PROP_TX_BYTES,
  PROP_LAST_HANDSHAKE,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum {
  FELL_BACK,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *
nonnull (const char *text)
{
  return text != NULL ? text : "";
}

static void
prune_history (LanragePeer *self,
               gint64       now_us)
{
  guint drop = 0;

  while (drop < self->history->len &&
         now_us - g_array_index (self->history, LanrageLatencySample, drop).time_us >
           LANRAGE_PEER_HISTORY_US)
    drop++;
  if (drop > 0)
    g_array_remove_range (self->history, 0, drop);
}

static void
record_latency (LanragePeer *self)
{
  LanrageLatencySample sample;

  sample.time_us = g_get_monotonic_time ();
  sample.latency_ms = lanrage_peer_get_latency_ms (self);
  prune_history (self, sample.time_us);
  /* An unmeasured moment is kept too (as -1), so the graph shows the gap. */
  g_array_append_val (self->history, sample);
}

/* A path as the helper names it ("direct", "relayed", "connecting"), in words. */
static const char *
describe_raw_path (const char *path)
{
  if (g_str_equal (path, "direct"))
    return _("Direct");
  if (g_str_equal (path, "relayed"))
    return _("Relayed");
  return _("Connecting…");
}

/* The helper keeps the last changes of the path (PathHistory, bounded): the list shows
 * those, so it is as long as the helper's however often a link flaps. */
static void
sync_path_history (LanragePeer *self)
{
  GVariant *history = lrd_helper1_peer_get_path_history (self->proxy);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) entries = NULL;
  GVariantIter iter;
  gint64 time_us;
  const char *to;

  if (history != NULL && g_variant_is_of_type (history, G_VARIANT_TYPE ("a(xssss)")))
    {
      g_variant_iter_init (&iter, history);
      while (g_variant_iter_next (&iter, "(x&s&s&s&s)", &time_us, NULL, &to, NULL, NULL))
        {
          g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);
          g_autofree char *clock = NULL;
          g_autofree char *entry = NULL;

          if (time == NULL)
            continue;
          clock = g_date_time_format (time, "%X");
          entry = g_strdup_printf ("%s  %s", clock, describe_raw_path (to));
          g_strv_builder_add (builder, entry);
        }
    }
  entries = g_strv_builder_end (builder);
  gtk_string_list_splice (self->path_history, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->path_history)),
                          (const char * const *) entries);
}

static void
proxy_notify_cb (LanragePeer *self,
                 GParamSpec  *proxy_pspec)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (self),
                                                    proxy_pspec->name);

  if (g_str_equal (proxy_pspec->name, "path-history"))
    sync_path_history (self);
  if (pspec == NULL)
    return;
  if (pspec == props[PROP_LATENCY_MS])
    record_latency (self);
  g_object_notify_by_pspec (G_OBJECT (self), pspec);

  if (pspec == props[PROP_PATH])
    {
      const char *path = lanrage_peer_get_path (self);
      gboolean fell_back = g_strcmp0 (self->raw_path, "direct") == 0 &&
                           !g_str_equal (path, "direct");

      g_free (self->raw_path);
      self->raw_path = g_strdup (path);
      if (fell_back)
        g_signal_emit (self, signals[FELL_BACK], 0);
    }
}

static void
lanrage_peer_dispose (GObject *object)
{
  LanragePeer *self = LANRAGE_PEER (object);

  g_clear_object (&self->proxy);
  g_clear_object (&self->path_history);
  G_OBJECT_CLASS (lanrage_peer_parent_class)->dispose (object);
}

static void
lanrage_peer_finalize (GObject *object)
{
  LanragePeer *self = LANRAGE_PEER (object);

  g_array_unref (self->history);
  g_free (self->raw_path);
  G_OBJECT_CLASS (lanrage_peer_parent_class)->finalize (object);
}

static void
lanrage_peer_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  LanragePeer *self = LANRAGE_PEER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, lanrage_peer_get_id (self));
      break;
    case PROP_NAME:
      g_value_set_string (value, lanrage_peer_get_name (self));
      break;
    case PROP_VIRTUAL_ADDRESS:
      g_value_set_string (value, lanrage_peer_get_virtual_address (self));
      break;
    case PROP_ONLINE:
      g_value_set_boolean (value, lanrage_peer_get_online (self));
      break;
    case PROP_PATH:
      g_value_set_string (value, lanrage_peer_get_path (self));
      break;
    case PROP_ENDPOINT:
      g_value_set_string (value, lanrage_peer_get_endpoint (self));
      break;
    case PROP_RELAY:
      g_value_set_string (value, lanrage_peer_get_relay (self));
      break;
    case PROP_LATENCY_MS:
      g_value_set_double (value, lanrage_peer_get_latency_ms (self));
      break;
    case PROP_JITTER_MS:
      g_value_set_double (value, lanrage_peer_get_jitter_ms (self));
      break;
    case PROP_LOSS_PERCENT:
      g_value_set_double (value, lanrage_peer_get_loss_percent (self));
      break;
    case PROP_QUALITY:
      g_value_set_string (value, lanrage_peer_get_quality (self));
      break;
    case PROP_NAT_TYPE:
      g_value_set_string (value, lanrage_peer_get_nat_type (self));
      break;
    case PROP_RX_BYTES:
      g_value_set_uint64 (value, lanrage_peer_get_rx_bytes (self));
      break;
    case PROP_TX_BYTES:
      g_value_set_uint64 (value, lanrage_peer_get_tx_bytes (self));
      break;
    case PROP_LAST_HANDSHAKE:
      g_value_set_int64 (value, lanrage_peer_get_last_handshake (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
string_property (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, "", G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
double_property (const char *name)
{
  return g_param_spec_double (name, NULL, NULL, -1, G_MAXDOUBLE, -1,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static void
lanrage_peer_class_init (LanragePeerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lanrage_peer_dispose;
  object_class->finalize = lanrage_peer_finalize;
  object_class->get_property = lanrage_peer_get_property;

  props[PROP_ID] = string_property ("id");
  props[PROP_NAME] = string_property ("name");
  props[PROP_VIRTUAL_ADDRESS] = string_property ("virtual-address");
  props[PROP_ONLINE] = g_param_spec_boolean ("online", NULL, NULL, FALSE,
                                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_PATH] = string_property ("path");
  props[PROP_ENDPOINT] = string_property ("endpoint");
  props[PROP_RELAY] = string_property ("relay");
  props[PROP_LATENCY_MS] = double_property ("latency-ms");
  props[PROP_JITTER_MS] = double_property ("jitter-ms");
  props[PROP_LOSS_PERCENT] = double_property ("loss-percent");
  props[PROP_QUALITY] = string_property ("quality");
  props[PROP_NAT_TYPE] = string_property ("nat-type");
  props[PROP_RX_BYTES] = g_param_spec_uint64 ("rx-bytes", NULL, NULL, 0, G_MAXUINT64, 0,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_TX_BYTES] = g_param_spec_uint64 ("tx-bytes", NULL, NULL, 0, G_MAXUINT64, 0,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_LAST_HANDSHAKE] = g_param_spec_int64 ("last-handshake", NULL, NULL, 0, G_MAXINT64, 0,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* The direct path to the peer broke and packets go through a relay again. */
  signals[FELL_BACK] = g_signal_new ("fell-back", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                     0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lanrage_peer_init (LanragePeer *self)
{
  self->history = g_array_new (FALSE, FALSE, sizeof (LanrageLatencySample));
  self->path_history = gtk_string_list_new (NULL);
}

LanragePeer *
lanrage_peer_new (LrdHelper1Peer *proxy)
{
  LanragePeer *self;

  g_return_val_if_fail (LRD_IS_HELPER1_PEER (proxy), NULL);

  self = g_object_new (LANRAGE_TYPE_PEER, NULL);
  self->proxy = g_object_ref (proxy);
  g_signal_connect_object (proxy, "notify", G_CALLBACK (proxy_notify_cb), self,
                           G_CONNECT_SWAPPED);
  sync_path_history (self);
  self->raw_path = g_strdup (lanrage_peer_get_path (self));
  if (lanrage_peer_get_latency_ms (self) >= 0)
    record_latency (self);
  return self;
}

const char *
lanrage_peer_get_id (LanragePeer *self)
{
  return nonnull (lrd_helper1_peer_get_id (self->proxy));
}

const char *
lanrage_peer_get_name (LanragePeer *self)
{
  return nonnull (lrd_helper1_peer_get_name (self->proxy));
}

const char *
lanrage_peer_get_virtual_address (LanragePeer *self)
{
  return nonnull (lrd_helper1_peer_get_virtual_address (self->proxy));
}

gboolean
lanrage_peer_get_online (LanragePeer *self)
{
  return lrd_helper1_peer_get_online (self->proxy);
}

const char *
lanrage_peer_get_path (LanragePeer *self)
{
  const char *path = lrd_helper1_peer_get_path (self->proxy);

  return path != NULL && *path != '\0' ? path : "connecting";
}

const char *
lanrage_peer_get_endpoint (LanragePeer *self)
{
  return nonnull (lrd_helper1_peer_get_endpoint (self->proxy));
}

const char *
lanrage_peer_get_relay (LanragePeer *self)
{
  return nonnull (lrd_helper1_peer_get_relay (self->proxy));
}

double
lanrage_peer_get_latency_ms (LanragePeer *self)
{
  return lrd_helper1_peer_get_latency_ms (self->proxy);
}

double
lanrage_peer_get_jitter_ms (LanragePeer *self)
{
  return lrd_helper1_peer_get_jitter_ms (self->proxy);
}

double
lanrage_peer_get_loss_percent (LanragePeer *self)
{
  return lrd_helper1_peer_get_loss_percent (self->proxy);
}

const char *
lanrage_peer_get_quality (LanragePeer *self)
{
  const char *quality = lrd_helper1_peer_get_quality (self->proxy);

  return quality != NULL && *quality != '\0' ? quality : "unknown";
}

const char *
lanrage_peer_get_nat_type (LanragePeer *self)
{
  const char *nat_type = lrd_helper1_peer_get_nat_type (self->proxy);

  return nat_type != NULL && *nat_type != '\0' ? nat_type : "unknown";
}

guint64
lanrage_peer_get_rx_bytes (LanragePeer *self)
{
  return lrd_helper1_peer_get_rx_bytes (self->proxy);
}

guint64
lanrage_peer_get_tx_bytes (LanragePeer *self)
{
  return lrd_helper1_peer_get_tx_bytes (self->proxy);
}

gint64
lanrage_peer_get_last_handshake (LanragePeer *self)
{
  return lrd_helper1_peer_get_last_handshake (self->proxy);
}

const LanrageLatencySample *
lanrage_peer_get_latency_history (LanragePeer *self,
                                  guint       *n_samples)
{
  prune_history (self, g_get_monotonic_time ());
  *n_samples = self->history->len;
  return (const LanrageLatencySample *) (gpointer) self->history->data;
}

GListModel *
lanrage_peer_get_path_history (LanragePeer *self)
{
  return G_LIST_MODEL (self->path_history);
}

/* "relay.example.net:3478" reads as "relay.example.net"; the port says nothing to people. */
static char *
relay_display_name (const char *relay)
{
  const char *colon = strrchr (relay, ':');

  if (colon == NULL || strchr (relay, ']') > colon)
    return g_strdup (relay);
  return g_strndup (relay, colon - relay);
}

char *
lanrage_peer_describe_path (LanragePeer *self)
{
  const char *path = lanrage_peer_get_path (self);

  if (g_str_equal (path, "direct"))
    return g_strdup (_("Direct"));
  if (g_str_equal (path, "relayed"))
    {
      const char *relay = lanrage_peer_get_relay (self);
      g_autofree char *name = NULL;

      if (*relay == '\0')
        return g_strdup (_("Relayed"));
      name = relay_display_name (relay);
      /* Translators: the path to a player goes through a LANrage relay server, named here. */
      return g_strdup_printf (_("Relayed via %s"), name);
    }
  return g_strdup (_("Connecting…"));
}

char *
lanrage_peer_describe_latency (LanragePeer *self)
{
  double latency = lanrage_peer_get_latency_ms (self);

  if (latency < 0)
    /* Translators: the latency has not been measured yet. */
    return g_strdup (_("—"));
  if (latency < 10)
    /* Translators: a latency in milliseconds, one decimal. */
    return g_strdup_printf (_("%.1f ms"), latency);
  /* Translators: a latency in milliseconds. */
  return g_strdup_printf (_("%.0f ms"), latency);
}

/* The style class that colours a latency by the helper's verdict on the link. */
const char *
lanrage_peer_get_quality_css_class (LanragePeer *self)
{
  const char *quality = lanrage_peer_get_quality (self);

  if (g_str_equal (quality, "excellent") || g_str_equal (quality, "good"))
    return "success";
  if (g_str_equal (quality, "fair"))
    return "warning";
  if (g_str_equal (quality, "poor"))
    return "error";
  return "dim-label";
}
