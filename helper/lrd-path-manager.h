/* lrd-path-manager.h: how packets reach each peer, and what D-Bus shows about it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdPathManager sits between the session (which knows who is in the party) and the data
 * plane (the WireGuard backend and the relay client). For every peer it picks the
 * WireGuard endpoint (today always the relay client's loopback socket for that peer; direct
 * paths come with NAT traversal), configures the peer in WireGuard, and keeps the peer's
 * D-Bus properties (Path, Relay, LatencyMs, LossPercent, Quality, RxBytes, TxBytes,
 * LastHandshake) and the helper's relay properties (Relay, RelayRttMs, RelayReason,
 * PublicEndpoint) in step with what the relay client and WireGuard report.
 */
#pragma once

#include <gio/gio.h>

#include "lr-clock.h"
#include "lrd-dbus-generated.h"
#include "lrd-wg-backend.h"

G_BEGIN_DECLS

#define LRD_TYPE_PATH_MANAGER (lrd_path_manager_get_type ())
G_DECLARE_FINAL_TYPE (LrdPathManager, lrd_path_manager, LRD, PATH_MANAGER, GObject)

/* @clock: %NULL for the system clock. @backend: the WireGuard backend (not %NULL).
 * @wg_port: WireGuard's listen port. */
LrdPathManager *lrd_path_manager_new            (LrClock            *clock,
                                                 LrdHelper1         *iface,
                                                 LrdWgBackend       *backend,
                                                 guint16             wg_port);

/* Relay candidates, best-first ("host:port"). */
void            lrd_path_manager_set_relays     (LrdPathManager     *self,
                                                 const char * const *relays);
/* The relay token and its expiry (µs since the epoch); the first one starts the relay
 * client. LrdPathManager::token-needed asks for the next. */
void            lrd_path_manager_set_token      (LrdPathManager     *self,
                                                 const char         *relay_token,
                                                 gint64              expires_at_us);

/* Configures @peer_id in WireGuard (key, /32 allowed IP, endpoint, keepalive) and keeps
 * @peer's path properties. Calling it again with another key or address reconfigures. */
void            lrd_path_manager_add_peer       (LrdPathManager     *self,
                                                 const char         *peer_id,
                                                 LrdHelper1Peer     *peer,
                                                 const LrKey        *wg_key,
                                                 const char         *virtual_ip);
/* Takes @peer_id out of WireGuard and closes its relay socket. */
void            lrd_path_manager_remove_peer    (LrdPathManager     *self,
                                                 const char         *peer_id);

/* Forgets every peer and stops the relay client, without touching WireGuard (the caller
 * takes the interface down). The helper's relay properties go back to "". */
void            lrd_path_manager_stop           (LrdPathManager     *self);

G_END_DECLS
