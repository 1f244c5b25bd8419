/* lrd-wg-genl-dump.h: one WG_CMD_GET_DEVICE dump of WireGuard's generic netlink, parsed
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The kernel answers a dump of one device (linux/wireguard.h) in one or more NLM_F_MULTI
 * messages and a final NLMSG_DONE: the first message carries the device's attributes and
 * the first peers, later ones only WGDEVICE_A_PEERS; a peer whose allowed IPs do not fit in
 * one message starts the next one again with only WGPEER_A_PUBLIC_KEY and
 * WGPEER_A_ALLOWEDIPS, and the receiver coalesces adjacent entries of one peer.
 * LrdWgGenlDump takes the datagrams as they arrive and keeps one LrdWgPeerStats per peer.
 * Pure: no I/O, so the tests feed it bytes laid out as the kernel writes them.
 */
#pragma once

#include "lrd-wg-backend.h"

G_BEGIN_DECLS

/* Far above any party, so a broken answer cannot make the helper allocate without bound. */
#define LRD_WG_GENL_MAX_PEERS 4096

/* Room for a dump request: headers and an interface name (IFNAMSIZ). */
#define LRD_WG_GENL_REQUEST_SIZE 64

typedef struct _LrdWgGenlDump LrdWgGenlDump;

gsize          lrd_wg_genl_dump_build_request (guint8         *buffer,
                                               gsize           size,
                                               guint16         family_id,
                                               guint32         seq,
                                               const char     *ifname);

LrdWgGenlDump *lrd_wg_genl_dump_new           (guint16         family_id,
                                               guint32         seq,
                                               guint32         portid);
void           lrd_wg_genl_dump_free          (LrdWgGenlDump  *self);
gboolean       lrd_wg_genl_dump_feed          (LrdWgGenlDump  *self,
                                               const guint8   *datagram,
                                               gsize           length,
                                               gboolean       *out_done,
                                               GError        **error);
GArray        *lrd_wg_genl_dump_steal_peers   (LrdWgGenlDump  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrdWgGenlDump, lrd_wg_genl_dump_free)

G_END_DECLS
