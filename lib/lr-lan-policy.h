/* lr-lan-policy.h: what the LAN bridge carries, and how much
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every discovery datagram passes one LrLanPolicy twice: when the helper copies it from a
 * local program (lr_lan_policy_check_outgoing) and when a party member's frame arrives
 * (lr_lan_policy_check_incoming). The policy says whether to bridge it:
 *
 * - a deny list of system chatter that stays on its own LAN (DHCP, NetBIOS, SSDP, mDNS, ...),
 *   each entry with the reason; the user may edit it and reset it to the built-in one;
 * - "known titles only": bridge only destinations of the game table (lr-game-table.h);
 * - loops: a frame carrying our own sender id came back, and one whose (sender, sequence)
 *   was seen already is a duplicate;
 * - amplification: a payload larger than the size cap, or beyond the rate cap of its sender
 *   (the member, by the virtual address its frames come from, whatever sender id they
 *   carry) or of its destination port, is dropped. Caps are token buckets (a steady rate and a
 *   burst) on an injected LrClock.
 *
 * Plain data, no main loop, no I/O: the bridge owns one and calls it.
 */
#pragma once

#include <glib.h>

#include "lr-clock.h"

G_BEGIN_DECLS

typedef enum
{
  LR_LAN_VERDICT_BRIDGE,
  LR_LAN_VERDICT_DENIED,         /* on the deny list */
  LR_LAN_VERDICT_NOT_KNOWN,      /* "known titles only" and the port is in no title */
  LR_LAN_VERDICT_TOO_LARGE,      /* payload over the size cap */
  LR_LAN_VERDICT_SENDER_RATE,    /* over its sender's rate cap (or too many senders) */
  LR_LAN_VERDICT_PORT_RATE,      /* over its destination port's rate cap */
  LR_LAN_VERDICT_LOOP,           /* our own frame came back */
  LR_LAN_VERDICT_DUPLICATE,      /* this sender's sequence number was seen, or is too old */
} LrLanVerdict;

#define LR_LAN_VERDICT_COUNT (LR_LAN_VERDICT_DUPLICATE + 1)

/* Defaults, per second and in datagrams. Real announcements are rare: Minecraft Java sends
 * one every 1.5 s, Warcraft III's GAMEINFO one every 5 s, Bedrock's ping one a second, a
 * Source server browser six queries (ports 27015-27020) per refresh. A port may carry 64 a
 * second (bursts of 128), 40 times the busiest of those, so no game notices the cap while a
 * flood reaches each member at no more than 64 x 1472 bytes, about 94 kB/s, per port. A
 * sender (a member's helper, or this host for what it sends) may carry 256 a second (bursts
 * of 512) over all its ports. */
#define LR_LAN_POLICY_DEFAULT_MAX_SIZE     1472
#define LR_LAN_POLICY_DEFAULT_PORT_RATE    64
#define LR_LAN_POLICY_DEFAULT_PORT_BURST   128
#define LR_LAN_POLICY_DEFAULT_SENDER_RATE  256
#define LR_LAN_POLICY_DEFAULT_SENDER_BURST 512

/* Limits on what the policy keeps, whatever members send: */
#define LR_LAN_POLICY_MAX_DENY_ENTRIES 256
#define LR_LAN_POLICY_MAX_REASON       128  /* bytes of UTF-8 */
#define LR_LAN_POLICY_MAX_SENDERS      1024
/* How far back a sender's sequence numbers are remembered (a reordering window, as IPsec's
 * anti-replay window of RFC 4303 section 3.4.3). */
#define LR_LAN_POLICY_SEQUENCE_WINDOW  64

typedef struct
{
  guint max_size;
  guint port_rate;
  guint port_burst;
  guint sender_rate;
  guint sender_burst;
} LrLanLimits;

/* One deny-list entry: destination ports @first_port..@last_port, to any destination when
 * @group is 0, else only to that multicast group (host byte order). */
typedef struct
{
  guint16  first_port;
  guint16  last_port;
  guint32  group;
  char    *reason;
} LrLanDenyEntry;

typedef struct _LrLanPolicy LrLanPolicy;

LrLanPolicy        *lr_lan_policy_new                (LrClock              *clock,
                                                      guint64               own_sender);
void                lr_lan_policy_free               (LrLanPolicy          *self);
void                lr_lan_policy_set_own_sender     (LrLanPolicy          *self,
                                                      guint64               own_sender);

const LrLanLimits  *lr_lan_policy_get_limits         (LrLanPolicy          *self);
gboolean            lr_lan_policy_set_limits         (LrLanPolicy          *self,
                                                      const LrLanLimits    *limits,
                                                      GError              **error);
void                lr_lan_limits_init_default       (LrLanLimits          *limits);

gboolean            lr_lan_policy_get_known_only     (LrLanPolicy          *self);
void                lr_lan_policy_set_known_only     (LrLanPolicy          *self,
                                                      gboolean              known_only);

/* The deny list, in the order it was given. */
const LrLanDenyEntry *lr_lan_policy_get_deny_list    (LrLanPolicy          *self,
                                                      guint                *n_entries);
/* Replaces the whole list after checking every entry (ports 1..65535, first <= last, group
 * 0 or multicast, a reason of 1..LR_LAN_POLICY_MAX_REASON bytes of UTF-8 without control
 * characters, at most LR_LAN_POLICY_MAX_DENY_ENTRIES); on error nothing changes. */
gboolean            lr_lan_policy_set_deny_list      (LrLanPolicy          *self,
                                                      const LrLanDenyEntry *entries,
                                                      guint                 n_entries,
                                                      GError              **error);
void                lr_lan_policy_reset_deny_list    (LrLanPolicy          *self);
const LrLanDenyEntry *lr_lan_policy_get_default_deny_list (guint           *n_entries);

/* The deny list as D-Bus carries it and a settings file can keep it (g_variant_print):
 * a(qqss), first port, last port, group ("" for any destination, else dotted quad),
 * reason. Setting it checks everything lr_lan_policy_set_deny_list does, and the group's
 * spelling; on error nothing changes. */
GVariant           *lr_lan_policy_dup_deny_list_variant (LrLanPolicy  *self);
gboolean            lr_lan_policy_set_deny_list_variant (LrLanPolicy  *self,
                                                         GVariant     *entries,
                                                         GError      **error);

/* The entry that denies @destination:@port, or NULL. */
const LrLanDenyEntry *lr_lan_policy_find_denial      (LrLanPolicy          *self,
                                                      guint32               destination,
                                                      guint16               port);

/* A datagram a local program sent. @known: the game table knows @destination:@port. */
LrLanVerdict        lr_lan_policy_check_outgoing     (LrLanPolicy          *self,
                                                      guint32               destination,
                                                      guint16               port,
                                                      gsize                 payload_length,
                                                      gboolean              known);
/* A frame a member sent us, from @member (its virtual address, host byte order, which the
 * caller checked is a member's). Every frame but a duplicate marks its sequence number
 * seen. A member's frames are capped together, whatever sender id they carry; a new id from
 * a member (its bridge started again) starts its sequence numbers again. */
LrLanVerdict        lr_lan_policy_check_incoming     (LrLanPolicy          *self,
                                                      guint32               member,
                                                      guint64               sender,
                                                      guint32               sequence,
                                                      guint32               destination,
                                                      guint16               port,
                                                      gsize                 payload_length,
                                                      gboolean              known);

const char         *lr_lan_verdict_to_string         (LrLanVerdict          verdict);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrLanPolicy, lr_lan_policy_free)

G_END_DECLS
