/* lrc-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-store.h"
#include "lrc-error.h"
#include "lrc-pg-store.h"
#include "lrc-sqlite-store.h"

#include <string.h>

G_DEFINE_INTERFACE (LrcStore, lrc_store, G_TYPE_OBJECT)

static void
lrc_store_default_init (LrcStoreInterface *iface)
{
  /**
   * LrcStore::notice:
   * @notice: what an instance sharing the database (this one included) published
   */
  g_signal_new ("notice", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * LrcStore::resync:
   *
   * Notices may have been lost (the database connection that carries them came back).
   */
  g_signal_new ("resync", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                NULL, G_TYPE_NONE, 0);
}

LrcStoreCall *
lrc_store_call_new (LrcStoreOp op)
{
  LrcStoreCall *call = g_new0 (LrcStoreCall, 1);

  call->op = op;
  return call;
}

static void
presence_clear (gpointer data)
{
  LrcPresence *presence = data;

  g_free (presence->peer_id);
  g_free (presence->party_id);
}

void
lrc_store_call_add_presence (LrcStoreCall *call,
                             const char   *peer_id,
                             const char   *party_id,
                             gint64        last_seen)
{
  LrcPresence presence = { g_strdup (peer_id), g_strdup (party_id), last_seen };

  if (call->presence == NULL)
    {
      call->presence = g_array_new (FALSE, FALSE, sizeof (LrcPresence));
      g_array_set_clear_func (call->presence, presence_clear);
    }
  g_array_append_val (call->presence, presence);
}

static void
removal_clear (gpointer data)
{
  LrcRelayRemoval *removal = data;

  g_free (removal->party_id);
  g_free (removal->peer_id);
}

void
lrc_store_call_add_removal (LrcStoreCall *call,
                            gint64        cursor,
                            const char   *party_id,
                            const char   *peer_id,
                            gint64        until)
{
  LrcRelayRemoval removal = { cursor, g_strdup (party_id), g_strdup (peer_id), until };

  if (call->removals == NULL)
    {
      call->removals = g_array_new (FALSE, FALSE, sizeof (LrcRelayRemoval));
      g_array_set_clear_func (call->removals, removal_clear);
    }
  g_array_append_val (call->removals, removal);
}

void
lrc_store_call_free (LrcStoreCall *call)
{
  if (call == NULL)
    return;

  g_free (call->party_id);
  g_free (call->peer_id);
  g_free (call->requester_id);
  g_free (call->party_name);
  g_free (call->invite_code);
  g_free (call->rate_key);
  g_free (call->instance_id);
  g_clear_pointer (&call->dead_instances, g_ptr_array_unref);
  g_clear_pointer (&call->peer_in, lr_peer_in_free);
  g_clear_pointer (&call->update, lr_peer_update_free);
  g_clear_pointer (&call->relay, lr_relay_free);
  g_clear_pointer (&call->presence, g_array_unref);
  lr_party_clear (&call->party);
  lr_peer_clear (&call->peer);
  g_clear_pointer (&call->peers, g_ptr_array_unref);
  g_clear_pointer (&call->relays, g_ptr_array_unref);
  g_clear_pointer (&call->removals, g_array_unref);
  g_free (call);
}

static gboolean
is_postgresql (const char *location)
{
  return g_str_has_prefix (location, "postgresql://") || g_str_has_prefix (location, "postgres://");
}

/**
 * lrc_store_location_path:
 *
 * Returns: (nullable): the SQLite file a --db location names, or %NULL for a server
 */
const char *
lrc_store_location_path (const char *location)
{
  if (is_postgresql (location))
    return NULL;
  if (g_str_has_prefix (location, "sqlite:"))
    return location + strlen ("sqlite:");
  return location;
}

/**
 * lrc_store_location_describe:
 *
 * Returns: the location as logs may show it: for a server, without user or parameters
 */
char *
lrc_store_location_describe (const char *location)
{
  const char *start, *end, *at;

  if (!is_postgresql (location))
    return g_strdup (lrc_store_location_path (location));

  start = strstr (location, "://") + 3;
  end = start + strcspn (start, "/?");
  at = memchr (start, '@', end - start);
  if (at != NULL)
    start = at + 1;
  end = start + strcspn (start, "?");
  return g_strdup_printf ("postgresql://%.*s", (int) (end - start), start);
}

/**
 * lrc_store_open:
 * @location: `sqlite:PATH`, `postgresql://…` (a libpq connection URI), or a plain path,
 *   which is an SQLite database
 * @pool_size: connections to PostgreSQL (1 to LRC_STORE_MAX_POOL); SQLite has one
 *
 * Opens the database and brings its schema up to date. It blocks: call it before the main
 * loop runs.
 */
LrcStore *
lrc_store_open (const char  *location,
                guint        pool_size,
                GError     **error)
{
  if (is_postgresql (location))
    return LRC_STORE (lrc_pg_store_open (location, pool_size, error));

  return LRC_STORE (lrc_sqlite_store_open (lrc_store_location_path (location), error));
}

/**
 * lrc_store_call_async:
 * @call: (transfer full): the operation and its inputs
 *
 * Runs @call in one transaction. The callback always runs from the main context later,
 * never from inside this function.
 */
void
lrc_store_call_async (LrcStore            *self,
                      LrcStoreCall        *call,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  LRC_STORE_GET_IFACE (self)->call_async (self, call, cancellable, callback, user_data);
}

/**
 * lrc_store_call_finish:
 *
 * Returns: (transfer full): the call with its outputs, or %NULL with @error set
 */
LrcStoreCall *
lrc_store_call_finish (LrcStore      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  return LRC_STORE_GET_IFACE (self)->call_finish (self, result, error);
}

gboolean
lrc_store_is_healthy (LrcStore *self)
{
  return LRC_STORE_GET_IFACE (self)->is_healthy (self);
}

gboolean
lrc_store_is_shared (LrcStore *self)
{
  return LRC_STORE_GET_IFACE (self)->is_shared (self);
}

gboolean
lrc_store_is_leader (LrcStore *self)
{
  return LRC_STORE_GET_IFACE (self)->is_leader (self);
}

void
lrc_store_publish (LrcStore   *self,
                   const char *notice)
{
  LRC_STORE_GET_IFACE (self)->publish (self, notice);
}

/**
 * lrc_store_check_host:
 *
 * The rule every backend applies inside its transaction: only the host of @party may.
 */
gboolean
lrc_store_check_host (const LrParty  *party,
                      const char     *requester_id,
                      const char     *refusal,
                      GError        **error)
{
  if (g_str_equal (party->host_peer_id, requester_id))
    return TRUE;

  g_set_error_literal (error, LRC_ERROR, LRC_ERROR_FORBIDDEN, refusal);
  return FALSE;
}

/**
 * lrc_store_check_room:
 * @ipam: the party's addresses, every member's reserved
 *
 * The rule every backend applies before it lets one more peer join: the party is not full.
 */
gboolean
lrc_store_check_room (LrIpam  *ipam,
                      GError **error)
{
  if (lr_ipam_get_n_used (ipam) < LRC_MAX_PEERS_PER_PARTY)
    return TRUE;

  g_set_error (error, LRC_ERROR, LRC_ERROR_PARTY_FULL,
               "The party is full (%d players)", LRC_MAX_PEERS_PER_PARTY);
  return FALSE;
}

/**
 * lrc_store_check_may_remove:
 * @call: a LRC_STORE_REMOVE_PEER call whose party is loaded
 *
 * The rule every backend applies before removing a peer: a peer may leave by itself (or
 * the service removes it, with no requester); anyone else needs to be the host.
 */
gboolean
lrc_store_check_may_remove (const LrcStoreCall  *call,
                            GError             **error)
{
  if (call->requester_id == NULL || g_str_equal (call->requester_id, call->peer_id))
    return TRUE;

  return lrc_store_check_host (&call->party, call->requester_id,
                               "Only the host can remove someone from the party", error);
}

/**
 * lrc_store_check_quiet:
 * @call: a LRC_STORE_REMOVE_PEER call whose peer is loaded
 *
 * The rule every backend applies before removing a peer for its silence: it was not heard
 * from after @call's quiet_before (0 removes it whatever it last said).
 */
gboolean
lrc_store_check_quiet (const LrcStoreCall  *call,
                       GError             **error)
{
  if (call->quiet_before == 0 || call->peer.last_seen <= call->quiet_before)
    return TRUE;

  g_set_error (error, LRC_ERROR, LRC_ERROR_CONFLICT, "The peer was heard from since");
  return FALSE;
}
