/* lrr-peer-table.h: who is bound where
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "lr-relay-removals.h"
#include "lrr-addr.h"
#include "lrr-epoch.h"

G_BEGIN_DECLS

typedef struct
{
  guint64 party;
  guint64 peer;
  LrrAddr addr;
  guint32 slot;
} LrrBinding;

/* What changes per packet lives apart from the read-only snapshot, one cache line per
 * binding, at a slot index that stays the same across snapshots. The workers update it with
 * relaxed atomics: a client's datagrams all land on one worker (SO_REUSEPORT hashes the
 * source), so these lines are not contended and the limits need no lock. */
typedef struct
{
  gint64  last_seen_ms;   /* monotonic */
  gint64  expires_at;     /* the token's expiry, seconds since the epoch */
  gint64  window;         /* the second the counters below belong to */
  guint64 window_packets;
  guint64 window_bytes;
  guint64 last_counter;   /* of the last BIND taken; written under the table's lock */
  guint8  padding[64 - 6 * sizeof (gint64)];
} LrrSlot;


/* An immutable version of the table: open addressing, two indexes into @bindings. */
typedef struct
{
  guint       n_bindings;
  guint       n_parties;
  guint32     mask;
  LrrBinding *bindings;
  guint32    *by_peer;  /* binding index + 1, 0 = empty */
  guint32    *by_addr;
} LrrPeerSnapshot;

typedef enum
{
  LRR_BIND_NEW,       /* a new binding */
  LRR_BIND_MOVED,     /* the peer was bound elsewhere and now is here */
  LRR_BIND_REFRESHED, /* same peer, same address: only the expiry changed */
  LRR_BIND_FULL,
  LRR_BIND_STALE,     /* the counter is not above the last one taken for the peer */
  LRR_BIND_REVOKED,   /* the peer was removed from its party after the token was minted */
} LrrBindResult;

typedef gboolean (*LrrAddrPredicate) (const LrrAddr *addr,
                                      gpointer       user_data);

typedef struct _LrrPeerTable LrrPeerTable;

LrrPeerTable          *lrr_peer_table_new          (guint                  max_peers,
                                                    LrrEpoch              *epoch);
void                   lrr_peer_table_free         (LrrPeerTable          *self);
const LrrPeerSnapshot *lrr_peer_table_get          (LrrPeerTable          *self);
LrrSlot               *lrr_peer_table_get_slot     (LrrPeerTable          *self,
                                                    guint32                slot);
LrrBindResult          lrr_peer_table_bind         (LrrPeerTable          *self,
                                                    guint64                party,
                                                    guint64                peer,
                                                    const LrrAddr         *addr,
                                                    gint64                 expires_at,
                                                    guint64                counter,
                                                    gint64                 now_ms,
                                                    guint64               *last_counter);
guint                  lrr_peer_table_remove       (LrrPeerTable          *self,
                                                    const LrRelayRemoval  *removals,
                                                    guint                  n_removals,
                                                    gint64                 now_unix);

guint                  lrr_peer_table_sweep        (LrrPeerTable          *self,
                                                    gint64                 now_ms,
                                                    gint64                 idle_ms,
                                                    gint64                 now_unix,
                                                    LrrAddrPredicate       denied,
                                                    gpointer               user_data);

static inline const LrrBinding *
lrr_peer_snapshot_find_addr (const LrrPeerSnapshot *self,
                             const LrrAddr         *addr)
{
  guint32 i = lrr_addr_hash (addr) & self->mask;

  for (;;)
    {
      guint32 index = self->by_addr[i];

      if (index == 0)
        return NULL;
      if (lrr_addr_equal (&self->bindings[index - 1].addr, addr))
        return &self->bindings[index - 1];
      i = (i + 1) & self->mask;
    }
}

static inline guint32
lrr_peer_key_hash (guint64 party,
                   guint64 peer)
{
  return lrr_hash_mix (party ^ lrr_hash_mix (peer) ^ (peer << 32));
}

static inline const LrrBinding *
lrr_peer_snapshot_find_peer (const LrrPeerSnapshot *self,
                             guint64                party,
                             guint64                peer)
{
  guint32 i = lrr_peer_key_hash (party, peer) & self->mask;

  for (;;)
    {
      guint32 index = self->by_peer[i];

      if (index == 0)
        return NULL;
      if (self->bindings[index - 1].peer == peer && self->bindings[index - 1].party == party)
        return &self->bindings[index - 1];
      i = (i + 1) & self->mask;
    }
}

G_END_DECLS
