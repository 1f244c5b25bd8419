/* lrd-lan-discovery.h: LAN discovery as the helper serves it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdLanDiscovery owns what the user set for LAN discovery (the switch, the deny list and
 * "known titles only", kept in the state folder's `lan` file, 0600, written atomically)
 * and, while the party's data plane is up and the switch is on, the LrdLanBridge. It writes
 * the io.lanrage.Helper1 members LanDiscovery, LanBridge, Games, BridgedPorts, DenyList and
 * KnownTitlesOnly, alone.
 *
 * Data flows one way: the settings into the bridge (the switch starts and stops it, the
 * rest is its policy); the members from the LrdPeerTable (its members-changed signal) into
 * the bridge; the bridge's lobby and counters out to D-Bus. The session says when the data
 * plane is up with the virtual address (start) and when it goes, on leave, on a lost party
 * and at shutdown (stop); between the two the switch decides whether to bridge.
 */
#pragma once

#include <gio/gio.h>

#include "lrd-dbus-generated.h"
#include "lrd-peer-table.h"

G_BEGIN_DECLS

#define LRD_TYPE_LAN_DISCOVERY (lrd_lan_discovery_get_type ())
G_DECLARE_FINAL_TYPE (LrdLanDiscovery, lrd_lan_discovery, LRD, LAN_DISCOVERY, GObject)

/* Reads the saved settings from @state_dir (a missing or damaged file means the defaults,
 * and a damaged one is logged). */
LrdLanDiscovery *lrd_lan_discovery_new            (LrdHelper1       *iface,
                                                   const char       *state_dir);
/* The WireGuard interface the bridge binds to; without one it never starts. */
void             lrd_lan_discovery_set_interface  (LrdLanDiscovery  *self,
                                                   const char       *ifname);

/* The settings' setters apply at once (a bad deny list fails with InvalidDenyList and
 * changes nothing) and complete once the settings are on disk. */
void     lrd_lan_discovery_set_enabled_async           (LrdLanDiscovery     *self,
                                                        gboolean             enabled,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
void     lrd_lan_discovery_set_deny_list_async         (LrdLanDiscovery     *self,
                                                        GVariant            *entries,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
void     lrd_lan_discovery_reset_deny_list_async       (LrdLanDiscovery     *self,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
void     lrd_lan_discovery_set_known_titles_only_async (LrdLanDiscovery     *self,
                                                        gboolean             enabled,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
/* Finishes any of the four. */
gboolean lrd_lan_discovery_setter_finish               (LrdLanDiscovery     *self,
                                                        GAsyncResult        *result,
                                                        GError             **error);

/* The data plane is up with this host's @virtual_address (dotted quad): bridges to
 * @peers' members while the switch is on (LanBridge "disabled" while it is off). A bridge
 * that cannot open its sockets is logged and LanBridge says "failed": the party goes on
 * without discovery. */
void             lrd_lan_discovery_start          (LrdLanDiscovery  *self,
                                                   const char       *virtual_address,
                                                   LrdPeerTable     *peers);
void             lrd_lan_discovery_stop           (LrdLanDiscovery  *self);

G_END_DECLS
