/* lrd-lan-inject.h: hands a party member's announcement to local programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lrd-lan-capture.h"

G_BEGIN_DECLS

#define LRD_TYPE_LAN_INJECT (lrd_lan_inject_get_type ())
G_DECLARE_FINAL_TYPE (LrdLanInject, lrd_lan_inject, LRD, LAN_INJECT, GObject)

/* Opens its raw sockets in the network namespace of the calling thread. Needs CAP_NET_RAW
 * and CAP_NET_ADMIN (for the firewall mark). */
LrdLanInject *lrd_lan_inject_new  (GError               **error);
/* Delivers @datagram to this host's programs as a true broadcast or multicast datagram from
 * @datagram->source:@datagram->source_port (ifindex is ignored). @datagram->destination
 * must be 255.255.255.255, a multicast group, or a broadcast address of this host. */
gboolean      lrd_lan_inject_send (LrdLanInject          *self,
                                   const LrdLanDatagram  *datagram,
                                   GError               **error);

G_END_DECLS
