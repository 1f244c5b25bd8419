/* lrd-peer-table.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-peer-table.h"

#include "lr-ipam.h"

/* WireGuard's counters are read this often for RxBytes, TxBytes and LastHandshake: often
 * enough for a live view in the app, cheap enough (one UAPI get) to run all party long. */
#define STATS_INTERVAL_MS 2000

struct _LrdPeerTable
{
  GObject                   parent_instance;

  GDBusObjectManagerServer *manager;
  LrdWgBackend             *backend;      /* nullable: no data plane */
  LrdRelayClient           *relay;        /* nullable: no data plane */
  LrClock                  *clock;
  LrdDiscoRouter           *disco;        /* nullable: no shared port */
  GHashTable               *links;        /* id → LrdPeerLink */
  GCancellable             *cancellable;  /* the counters' read; cancelled by clear */
  guint                     stats_source;
  gboolean                  stats_pending;
};

enum
{
  SIGNAL_MEMBERS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (LrdPeerTable, lrd_peer_table, G_TYPE_OBJECT)

static void members_changed (LrdPeerTable *self);

static void
lrd_peer_table_dispose (GObject *object)
{
  LrdPeerTable *self = LRD_PEER_TABLE (object);

  if (self->relay != NULL)
    g_signal_handlers_disconnect_by_data (self->relay, self);
  if (self->links != NULL)
    lrd_peer_table_clear (self);
  g_clear_object (&self->relay);
  g_clear_object (&self->disco);
  g_clear_object (&self->backend);
  g_clear_object (&self->manager);

  G_OBJECT_CLASS (lrd_peer_table_parent_class)->dispose (object);
}

static void
lrd_peer_table_finalize (GObject *object)
{
  LrdPeerTable *self = LRD_PEER_TABLE (object);

  g_clear_pointer (&self->links, g_hash_table_unref);
  g_clear_pointer (&self->clock, lr_clock_unref);

  G_OBJECT_CLASS (lrd_peer_table_parent_class)->finalize (object);
}

static void
lrd_peer_table_class_init (LrdPeerTableClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_peer_table_dispose;
  object_class->finalize = lrd_peer_table_finalize;

  /**
   * LrdPeerTable::members-changed:
   *
   * A peer was added, updated or removed: its virtual address may have come or gone
   * (lrd_peer_table_dup_addresses()).
   */
  signals[SIGNAL_MEMBERS_CHANGED] = g_signal_new ("members-changed", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 0);
}

static void
lrd_peer_table_init (LrdPeerTable *self)
{
  self->links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/* What the relay client reports */

/* The relay's state, relay or RTT changed: every link shows it. (What the relayed path
 * measures of each peer reaches its link through the disco router.) */
static void
relay_changed_cb (LrdRelayClient *relay,
                  gpointer        user_data)
{
  LrdPeerTable *self = user_data;
  GHashTableIter iter;
  LrdPeerLink *link;

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    lrd_peer_link_refresh (link);
}

static void
wireguard_roamed_cb (LrdRelayClient *relay,
                     guint64         number,
                     gpointer        user_data)
{
  LrdPeerTable *self = user_data;
  GHashTableIter iter;
  LrdPeerLink *link;

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    if (lrd_peer_link_get_number (link) == number)
      {
        lrd_peer_link_wireguard_roamed (link);
        return;
      }
}

LrdPeerTable *
lrd_peer_table_new (GDBusObjectManagerServer *manager,
                    LrdWgBackend             *backend,
                    LrdRelayClient           *relay,
                    LrClock                  *clock)
{
  LrdPeerTable *self;

  g_return_val_if_fail (G_IS_DBUS_OBJECT_MANAGER_SERVER (manager), NULL);
  g_return_val_if_fail ((backend == NULL) == (relay == NULL), NULL);

  self = g_object_new (LRD_TYPE_PEER_TABLE, NULL);
  self->manager = g_object_ref (manager);
  self->backend = backend != NULL ? g_object_ref (backend) : NULL;
  self->relay = relay != NULL ? g_object_ref (relay) : NULL;
  self->clock = clock != NULL ? lr_clock_ref (clock) : lr_clock_new_system ();
  if (relay != NULL)
    {
      g_signal_connect (relay, "changed", G_CALLBACK (relay_changed_cb), self);
      g_signal_connect (relay, "wireguard-roamed", G_CALLBACK (wireguard_roamed_cb), self);
    }
  return self;
}

/* WireGuard's counters */

static void
stats_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(LrdPeerTable) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) stats = NULL;
  GHashTableIter iter;
  LrdPeerLink *link;

  stats = lrd_wg_backend_get_stats_finish (LRD_WG_BACKEND (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->stats_pending = FALSE;
  if (stats == NULL)
    {
      g_debug ("Cannot read WireGuard's counters: %s", error->message);
      return;
    }

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    {
      const LrKey *key = lrd_peer_link_get_wg_key (link);

      for (guint i = 0; key != NULL && i < stats->len; i++)
        {
          const LrdWgPeerStats *entry = &g_array_index (stats, LrdWgPeerStats, i);

          if (lr_key_equal (&entry->public_key, key))
            {
              lrd_peer_link_set_stats (link, entry);
              break;
            }
        }
    }
}

static gboolean
stats_timeout_cb (gpointer user_data)
{
  LrdPeerTable *self = user_data;

  /* One read at a time: a slow backend must not pile them up. */
  if (!self->stats_pending && g_hash_table_size (self->links) > 0)
    {
      self->stats_pending = TRUE;
      lrd_wg_backend_get_stats_async (self->backend, self->cancellable, stats_cb,
                                      g_object_ref (self));
    }
  return G_SOURCE_CONTINUE;
}

static void
ensure_stats (LrdPeerTable *self)
{
  if (self->backend == NULL)
    return;
  if (self->cancellable == NULL)
    self->cancellable = g_cancellable_new ();
  if (self->stats_source == 0)
    self->stats_source = g_timeout_add (STATS_INTERVAL_MS, stats_timeout_cb, self);
}

/* Peers */

/**
 * lrd_peer_table_upsert:
 *
 * Adds the peer's link, or updates it (lrd_peer_link_update()).
 */
void
lrd_peer_table_upsert (LrdPeerTable *self,
                       const LrPeer *peer,
                       const LrKey  *wg_key)
{
  LrdPeerLink *link;

  g_return_if_fail (LRD_IS_PEER_TABLE (self));

  link = g_hash_table_lookup (self->links, peer->id);
  if (link == NULL)
    {
      link = lrd_peer_link_new (peer->id, self->manager, self->backend, self->relay,
                                self->clock);
      if (link == NULL)
        return;
      g_hash_table_insert (self->links, g_strdup (peer->id), link);
      lrd_peer_link_set_disco (link, self->disco);
      ensure_stats (self);
    }
  lrd_peer_link_update (link, peer, wg_key);
  members_changed (self);
}

/* The peer left: out of WireGuard, off the bus. */
void
lrd_peer_table_remove (LrdPeerTable *self,
                       const char   *peer_id)
{
  LrdPeerLink *link;

  g_return_if_fail (LRD_IS_PEER_TABLE (self));

  link = g_hash_table_lookup (self->links, peer_id);
  if (link == NULL)
    return;
  g_info ("Peer %s left", peer_id);
  lrd_peer_link_remove (link);
  g_hash_table_remove (self->links, peer_id);
  members_changed (self);
}

/**
 * lrd_peer_table_keep_only:
 * @peer_ids: (element-type utf8 utf8): a set of ids, the party's members after a complete
 *   list from the server
 *
 * Removes every peer not in @peer_ids, as lrd_peer_table_remove() does.
 */
void
lrd_peer_table_keep_only (LrdPeerTable *self,
                          GHashTable   *peer_ids)
{
  GHashTableIter iter;
  const char *id;
  LrdPeerLink *link;
  gboolean removed = FALSE;

  g_return_if_fail (LRD_IS_PEER_TABLE (self));

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, (gpointer *) &link))
    {
      if (g_hash_table_contains (peer_ids, id))
        continue;
      g_info ("Peer %s is no longer in the party", id);
      lrd_peer_link_remove (link);
      g_hash_table_iter_remove (&iter);
      removed = TRUE;
    }
  if (removed)
    members_changed (self);
}

/* Forgets every peer without touching WireGuard: the caller takes the interface down. */
void
lrd_peer_table_clear (LrdPeerTable *self)
{
  g_return_if_fail (LRD_IS_PEER_TABLE (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->stats_source, g_source_remove);
  self->stats_pending = FALSE;
  g_hash_table_remove_all (self->links);
  members_changed (self);
}

/**
 * lrd_peer_table_set_disco:
 * @disco: (nullable): the helper's disco router while the shared port is open
 *
 * Hands the router to every link, now and to those that come: with it they run their
 * path policies.
 */
void
lrd_peer_table_set_disco (LrdPeerTable   *self,
                          LrdDiscoRouter *disco)
{
  GHashTableIter iter;
  LrdPeerLink *link;

  g_return_if_fail (LRD_IS_PEER_TABLE (self));

  g_set_object (&self->disco, disco);
  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    lrd_peer_link_set_disco (link, disco);
}

/* Returns: (transfer none) (nullable): the link of @peer_id */
LrdPeerLink *
lrd_peer_table_lookup (LrdPeerTable *self,
                       const char   *peer_id)
{
  g_return_val_if_fail (LRD_IS_PEER_TABLE (self), NULL);
  return g_hash_table_lookup (self->links, peer_id);
}

/* Returns: (transfer container) (element-type LrdPeerLink): every link, referenced */
GPtrArray *
lrd_peer_table_dup_links (LrdPeerTable *self)
{
  GPtrArray *links = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  LrdPeerLink *link;

  g_return_val_if_fail (LRD_IS_PEER_TABLE (self), links);

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    g_ptr_array_add (links, g_object_ref (link));
  return links;
}

/* The network changed: every link probes its peer's candidates again. */
void
lrd_peer_table_network_changed (LrdPeerTable *self)
{
  GHashTableIter iter;
  LrdPeerLink *link;

  g_return_if_fail (LRD_IS_PEER_TABLE (self));

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    lrd_peer_link_network_changed (link);
}

static int
compare_links (gconstpointer a,
               gconstpointer b)
{
  LrdPeerLink *la = *(LrdPeerLink * const *) a;
  LrdPeerLink *lb = *(LrdPeerLink * const *) b;

  return g_strcmp0 (lrd_peer_link_get_id (la), lrd_peer_link_get_id (lb));
}

/**
 * lrd_peer_table_add_status:
 * @peers: an aa{sv} being built
 *
 * Adds each peer's properties plus "ObjectPath", in the order of their ids.
 */
void
lrd_peer_table_add_status (LrdPeerTable    *self,
                           GVariantBuilder *peers)
{
  g_autoptr(GPtrArray) links = g_ptr_array_new ();
  GHashTableIter iter;
  LrdPeerLink *link;

  g_return_if_fail (LRD_IS_PEER_TABLE (self));

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    g_ptr_array_add (links, link);
  g_ptr_array_sort (links, compare_links);

  for (guint i = 0; i < links->len; i++)
    {
      g_autoptr(GVariant) properties = NULL;
      GVariantIter property;
      const char *name;
      GVariant *value;

      link = links->pdata[i];
      properties = g_dbus_interface_skeleton_get_properties (
        G_DBUS_INTERFACE_SKELETON (lrd_peer_link_get_peer (link)));
      g_variant_builder_open (peers, G_VARIANT_TYPE_VARDICT);
      g_variant_iter_init (&property, properties);
      while (g_variant_iter_next (&property, "{&sv}", &name, &value))
        {
          g_variant_builder_add (peers, "{sv}", name, value);
          g_variant_unref (value);
        }
      g_variant_builder_add (peers, "{sv}", "ObjectPath",
                             g_variant_new_object_path (lrd_peer_link_get_object_path (link)));
      g_variant_builder_close (peers);
    }
}

/* The members as the LAN bridge knows them */

static void
members_changed (LrdPeerTable *self)
{
  g_signal_emit (self, signals[SIGNAL_MEMBERS_CHANGED], 0);
}

/**
 * lrd_peer_table_dup_addresses:
 *
 * Returns: (transfer full) (element-type guint32): the peers' virtual addresses, in host
 *   byte order; a peer whose address is not known yet is left out
 */
GArray *
lrd_peer_table_dup_addresses (LrdPeerTable *self)
{
  GArray *addresses = g_array_new (FALSE, FALSE, sizeof (guint32));
  GHashTableIter iter;
  LrdPeerLink *link;

  g_return_val_if_fail (LRD_IS_PEER_TABLE (self), addresses);

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &link))
    {
      LrdHelper1Peer *peer = lrd_peer_link_get_peer (link);
      guint32 address;

      if (peer != NULL && lr_ipv4_parse (lrd_helper1_peer_get_virtual_address (peer), &address))
        g_array_append_val (addresses, address);
    }
  return addresses;
}
