/* lrc-store.h: where lanrage-control keeps parties, peers and relays
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lr-control-models.h"
#include "lr-ipam.h"
#include "lr-token.h"

G_BEGIN_DECLS

/* A WireGuard mesh of more peers than this is not a LAN party any more; the cap also bounds
 * the work of every event and snapshot. */
#define LRC_MAX_PEERS_PER_PARTY 250

/* Connections (and worker threads) of a PostgreSQL store: four served 280 joins at two
 * instances at once without a refusal; PostgreSQL's own default max_connections (100) is
 * shared by every instance, each taking this many plus one for notices. */
#define LRC_STORE_DEFAULT_POOL 4
#define LRC_STORE_MAX_POOL     64

/*
 * The operations the service needs from its database, each one transaction. A call names
 * its operation and carries its inputs and, once done, its outputs; the comment on each
 * operation says which fields it reads (in) and fills (out). Times are µs since the epoch.
 * Errors are in LRC_ERROR: NOT_FOUND, INVITE_NOT_FOUND, ALREADY_JOINED, PARTY_FULL,
 * FORBIDDEN, UNAVAILABLE (the database does not answer) or INTERNAL.
 */
typedef enum
{
  /* out: presence, every peer's (peer_id, party_id, last_seen). */
  LRC_STORE_LIST_PRESENCE,
  /* in: party_id, peer_id, party_name, peer_in, token_hash, now_us, relays_since.
   * out: party (with the invite code it chose), peer, relays. */
  LRC_STORE_CREATE_PARTY,
  /* in: invite_code, peer_id, peer_in, token_hash, now_us, relays_since. Gives the peer the
   * address it had before in this party if free, else the next one; makes it host of an
   * empty party. out: party, peer, relays, was_empty. */
  LRC_STORE_JOIN,
  /* in: token_hash. out: party_id, peer_id of the token's owner, or UNAUTHORIZED. */
  LRC_STORE_AUTHENTICATE,
  /* in: party_id. out: party, peers in the order they joined. */
  LRC_STORE_GET_PARTY,
  /* in: party_id, peer_id. out: peer. */
  LRC_STORE_GET_PEER,
  /* in: party_id, peer_id, update. out: peer. */
  LRC_STORE_UPDATE_PEER,
  /* in: party_id, peer_id, requester_id (the host or the peer itself, else FORBIDDEN; NULL
   * for the sweeper), quiet_before (when not 0: CONFLICT if the peer was seen since), now_us,
   * removal_until. Remembers the peer's address, hands the host role to the
   * longest-standing member, records the removal for the relays (until removal_until) in
   * the same transaction. out: peer (as it was), party (after), host_changed. */
  LRC_STORE_REMOVE_PEER,
  /* in: party_id, requester_id (must be the host), removal_until. Records every member's
   * removal for the relays in the same transaction. out: party (as it was). */
  LRC_STORE_CLOSE_PARTY,
  /* in: relay, now_us. */
  LRC_STORE_REGISTER_RELAY,
  /* in: relays_since. out: relays seen after it, by id. */
  LRC_STORE_LIST_RELAYS,
  /* in: presence. Raises each peer's last_seen to the given one (never lowers it). */
  LRC_STORE_WRITE_PRESENCE,
  /* in: empty_before, relays_before, now_us. Deletes parties empty since before
   * empty_before, relays not seen since relays_before and removals whose until has passed. */
  LRC_STORE_SWEEP,
  /* out: n_parties, n_peers. */
  LRC_STORE_COUNT,
  /* in: rate_key, rate_per_minute, now_us. Takes a token from the key's bucket (refilled at
   * rate_per_minute, holding as many). out: rate_allowed, or rate_retry_after_s. Only for a
   * shared database (instances must count together); others keep their buckets in memory. */
  LRC_STORE_RATE_LIMIT,
  /* in: removed_after (a cursor: 0 at first). out: removals recorded after it, in the order
   * they were committed, at most LR_RELAY_REMOVALS_PAGE; removals_newest, the cursor of the
   * newest removal ever recorded (0: none). Cursors only grow, and a removal that commits
   * later always gets a larger one, so a relay that asks from the last cursor it saw never
   * misses a removal. A cursor beyond the newest (the database was replaced by an older
   * one) counts as 0, and removed_after says so once done. */
  LRC_STORE_RELAY_REMOVALS,
  /* in: instance_id, lease_us. Only for a shared database. Holds this instance's lease
   * until lease_us from now, by the database's clock (instances' clocks may differ).
   * out: dead_instances, the other instances whose lease ran out (kept an hour, then
   * deleted); lease_lapsed, whether this instance's own lease had run out before. */
  LRC_STORE_RENEW_LEASE,
  /* Operations added later go here, with a function in every backend. */
} LrcStoreOp;

typedef struct
{
  char   *peer_id;
  char   *party_id;
  gint64  last_seen;
} LrcPresence;

typedef struct
{
  gint64  cursor;
  char   *party_id;
  char   *peer_id;
  gint64  until;      /* seconds since the epoch */
} LrcRelayRemoval;

typedef struct
{
  LrcStoreOp    op;

  /* In. The call owns all of these. */
  gint64        now_us;
  char         *party_id;        /* also out for AUTHENTICATE */
  char         *peer_id;         /* also out for AUTHENTICATE */
  char         *requester_id;
  char         *party_name;
  char         *invite_code;
  LrPeerIn     *peer_in;
  guint8        token_hash[LR_TOKEN_HASH_LENGTH];
  LrPeerUpdate *update;
  LrRelay      *relay;
  gint64        relays_since;
  gint64        empty_before;
  gint64        relays_before;
  gint64        quiet_before;
  char         *rate_key;
  guint         rate_per_minute;
  gint64        removal_until;   /* seconds since the epoch */
  gint64        removed_after;
  char         *instance_id;
  gint64        lease_us;

  /* In and out. */
  GArray       *presence;        /* LrcPresence */

  /* Out. */
  LrParty       party;
  LrPeer        peer;
  GPtrArray    *peers;           /* LrPeer */
  GPtrArray    *relays;          /* LrRelay */
  gboolean      was_empty;
  gboolean      host_changed;
  gint64        n_parties;
  gint64        n_peers;
  gboolean      rate_allowed;
  guint         rate_retry_after_s;
  GArray       *removals;        /* LrcRelayRemoval */
  gint64        removals_newest;
  GPtrArray    *dead_instances;  /* char * */
  gboolean      lease_lapsed;
} LrcStoreCall;

LrcStoreCall *lrc_store_call_new   (LrcStoreOp    op);
void          lrc_store_call_free  (LrcStoreCall *call);
void          lrc_store_call_add_presence (LrcStoreCall *call,
                                           const char   *peer_id,
                                           const char   *party_id,
                                           gint64        last_seen);
void          lrc_store_call_add_removal  (LrcStoreCall *call,
                                           gint64        cursor,
                                           const char   *party_id,
                                           const char   *peer_id,
                                           gint64        until);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrcStoreCall, lrc_store_call_free)

#define LRC_TYPE_STORE (lrc_store_get_type ())
G_DECLARE_INTERFACE (LrcStore, lrc_store, LRC, STORE, GObject)

/*
 * A GInterface, not a bare vtable: the backends are GObjects owned and disposed like every
 * other object here, GTask wants a source object, and the interface carries the "notice"
 * and "resync" signals of a shared database.
 *
 * One virtual function runs every operation: a backend runs all of them the same way
 * (SQLite on the calling thread, PostgreSQL on a worker with its own connection), so the
 * asynchrony is written once per backend and each operation is a plain function there.
 */
struct _LrcStoreInterface
{
  GTypeInterface parent_iface;

  void          (*call_async)  (LrcStore            *self,
                                LrcStoreCall        *call,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
  LrcStoreCall *(*call_finish) (LrcStore            *self,
                                GAsyncResult        *result,
                                GError             **error);
  /* Whether the database answers (for /healthz), known without a request. */
  gboolean      (*is_healthy)  (LrcStore            *self);
  /* Whether other instances may share the database. */
  gboolean      (*is_shared)   (LrcStore            *self);
  /* Whether this instance is the one that sweeps (always, when not shared). */
  gboolean      (*is_leader)   (LrcStore            *self);
  /* Sends a notice to every instance sharing the database ("notice" signal), in order. */
  void          (*publish)     (LrcStore            *self,
                                const char          *notice);
};

const char   *lrc_store_location_path     (const char    *location);
char         *lrc_store_location_describe (const char    *location);

LrcStore     *lrc_store_open        (const char          *location,
                                     guint                pool_size,
                                     GError             **error);
void          lrc_store_call_async  (LrcStore            *self,
                                     LrcStoreCall        *call,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
LrcStoreCall *lrc_store_call_finish (LrcStore            *self,
                                     GAsyncResult        *result,
                                     GError             **error);
gboolean      lrc_store_is_healthy  (LrcStore            *self);
gboolean      lrc_store_check_host  (const LrParty       *party,
                                     const char          *requester_id,
                                     const char          *refusal,
                                     GError             **error);
gboolean      lrc_store_check_room  (LrIpam              *ipam,
                                     GError             **error);
gboolean      lrc_store_check_may_remove (const LrcStoreCall  *call,
                                          GError             **error);
gboolean      lrc_store_check_quiet (const LrcStoreCall  *call,
                                     GError             **error);
gboolean      lrc_store_is_shared   (LrcStore            *self);
gboolean      lrc_store_is_leader   (LrcStore            *self);
void          lrc_store_publish     (LrcStore            *self,
                                     const char          *notice);

G_END_DECLS
