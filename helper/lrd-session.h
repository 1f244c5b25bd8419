/* lrd-session.h: the party this machine is in, as the control server and D-Bus see it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdSession owns the party's lifecycle: create or join over HTTP, restore after a restart,
 * leave, refresh, and the saved party. It keeps the io.lanrage.Helper1 party properties
 * (State, PartyId, PartyName, InviteCode, VirtualAddress, LastError, Backend, NAT) and
 * brings WireGuard up and down. The rest it hands on: the server's events and heartbeats to
 * an LrdPartyEvents for the party's lifetime, what the server says of each peer (once
 * checked) to the LrdPeerTable (one LrdPeerLink per peer), relay candidates and tokens to
 * the LrdRelayFeed. Without a backend (NULL) there is no data plane: the state still goes
 * to "connected" on the control plane and the Backend property says "none" (the --session
 * test mode), unless lrd_session_set_no_backend_reason() said why there is none: then
 * joins fail with it.
 */
#pragma once

#include <gio/gio.h>

#include "lrd-control-client.h"
#include "lrd-dbus-generated.h"
#include "lrd-lan-discovery.h"
#include "lrd-state.h"
#include "lrd-wg-backend.h"

G_BEGIN_DECLS

#define LRD_HELPER_OBJECT_PATH "/io/lanrage/Helper1"
#define LRD_PEERS_OBJECT_PATH  "/io/lanrage/Helper1/peers"

#define LRD_STATE_IDLE      "idle"
#define LRD_STATE_JOINING   "joining"
#define LRD_STATE_CONNECTED "connected"
#define LRD_STATE_ERROR     "error"

#define LRD_TYPE_SESSION (lrd_session_get_type ())
G_DECLARE_FINAL_TYPE (LrdSession, lrd_session, LRD, SESSION, GObject)

LrdSession *lrd_session_new              (LrdHelper1                *iface,
                                          GDBusObjectManagerServer  *manager,
                                          LrdControlClient          *client,
                                          LrdWgBackend              *backend,
                                          const LrdKeys             *keys,
                                          const char                *state_dir,
                                          guint16                    listen_port);

void        lrd_session_restore          (LrdSession                *self,
                                          const LrdSavedParty       *saved);
void        lrd_session_set_no_backend_reason (LrdSession         *self,
                                               const GError       *error);
void        lrd_session_set_config_relays     (LrdSession         *self,
                                               const char * const *relays);
void        lrd_session_set_lan_discovery     (LrdSession         *self,
                                               LrdLanDiscovery    *lan);

void        lrd_session_create_party_async  (LrdSession          *self,
                                             const char          *name,
                                             const char          *display_name,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean    lrd_session_create_party_finish (LrdSession          *self,
                                             GAsyncResult        *result,
                                             GError             **error);
void        lrd_session_join_party_async    (LrdSession          *self,
                                             const char          *invite_code,
                                             const char          *display_name,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean    lrd_session_join_party_finish   (LrdSession          *self,
                                             GAsyncResult        *result,
                                             GError             **error);
void        lrd_session_leave_party_async   (LrdSession          *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean    lrd_session_leave_party_finish  (LrdSession          *self,
                                             GAsyncResult        *result,
                                             GError             **error);
void        lrd_session_refresh_async       (LrdSession          *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean    lrd_session_refresh_finish      (LrdSession          *self,
                                             GAsyncResult        *result,
                                             GError             **error);
/* Takes the data plane down at exit and keeps the party saved, so the next start rejoins. */
void        lrd_session_shutdown_async      (LrdSession          *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean    lrd_session_shutdown_finish     (LrdSession          *self,
                                             GAsyncResult        *result,
                                             GError             **error);

GVariant   *lrd_session_dup_status          (LrdSession          *self);



G_END_DECLS
