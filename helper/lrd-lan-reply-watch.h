/* lrd-lan-reply-watch.h: a passive look at the answers to discovery queries
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lrd-lan-capture.h"

G_BEGIN_DECLS

#define LRD_TYPE_LAN_REPLY_WATCH (lrd_lan_reply_watch_get_type ())
G_DECLARE_FINAL_TYPE (LrdLanReplyWatch, lrd_lan_reply_watch, LRD, LAN_REPLY_WATCH, GObject)

/* Watches @ifname (the party interface, which must exist) in the network namespace of the
 * calling thread. Needs CAP_NET_RAW. Emits "reply" with a const LrdLanDatagram. */
LrdLanReplyWatch *lrd_lan_reply_watch_new (const char  *ifname,
                                           GError     **error);

G_END_DECLS
