/* lrd-control-client.h: the helper's client of lanrage-control (docs/control-api.md)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One libsoup session to one control server, one typed call per route the helper uses.
 * Answers come back as lib/ models, parsed and checked there: no JSON is read in helper/.
 * Failures come back as named LRD_ERRORs with a message a person understands, so a caller
 * tells "the server is down" from "the party is gone" by the error alone.
 */
#pragma once

#include <libsoup/soup.h>

#include "lr-control-answers.h"

G_BEGIN_DECLS

#define LRD_TYPE_CONTROL_CLIENT (lrd_control_client_get_type ())
G_DECLARE_FINAL_TYPE (LrdControlClient, lrd_control_client, LRD, CONTROL_CLIENT, GObject)

LrdControlClient *lrd_control_client_new          (const char        *base_url);
const char       *lrd_control_client_get_base_url (LrdControlClient  *self);
void              lrd_control_client_set_base_url (LrdControlClient  *self,
                                                   const char        *base_url);

/* Each call returns the answer as a lib/ model (lr-control-answers.h) or an LRD_ERROR:
 * SERVER_UNREACHABLE (no answer, or 502-504), PARTY_NOT_FOUND (the server's code says the
 * party, this membership or the invite is no more: not_found, invite_not_found,
 * unauthorized, forbidden), INVALID_INVITE_CODE, INVALID_NAME (a create or join refused a
 * field: the names are the only fields a person chose), or FAILED with the server's words. */
void          lrd_control_client_create_party_async (LrdControlClient     *self,
                                                     const char           *party_name,
                                                     const LrPeerIn       *peer,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
void          lrd_control_client_join_async         (LrdControlClient     *self,
                                                     const char           *invite_code,
                                                     const LrPeerIn       *peer,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
LrJoinAnswer *lrd_control_client_join_finish        (LrdControlClient     *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

void          lrd_control_client_get_party_async    (LrdControlClient     *self,
                                                     const char           *party_id,
                                                     const char           *token,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
LrPartyView  *lrd_control_client_get_party_finish   (LrdControlClient     *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

void          lrd_control_client_relay_token_async  (LrdControlClient     *self,
                                                     const char           *party_id,
                                                     const char           *token,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
LrRelayTokenAnswer *lrd_control_client_relay_token_finish (LrdControlClient  *self,
                                                           GAsyncResult      *result,
                                                           GError           **error);

void          lrd_control_client_list_relays_async  (LrdControlClient     *self,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
GStrv         lrd_control_client_list_relays_finish (LrdControlClient     *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

void          lrd_control_client_heartbeat_async    (LrdControlClient     *self,
                                                     const char           *party_id,
                                                     const char           *peer_id,
                                                     const char           *token,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean      lrd_control_client_heartbeat_finish   (LrdControlClient     *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

void          lrd_control_client_update_peer_async  (LrdControlClient     *self,
                                                     const char           *party_id,
                                                     const char           *peer_id,
                                                     const char           *token,
                                                     const LrPeerUpdate   *update,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean      lrd_control_client_update_peer_finish (LrdControlClient     *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

void          lrd_control_client_leave_async        (LrdControlClient     *self,
                                                     const char           *party_id,
                                                     const char           *peer_id,
                                                     const char           *token,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean      lrd_control_client_leave_finish       (LrdControlClient     *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

void                     lrd_control_client_connect_events_async  (LrdControlClient    *self,
                                                                   const char          *party_id,
                                                                   const char          *token,
                                                                   GCancellable        *cancellable,
                                                                   GAsyncReadyCallback  callback,
                                                                   gpointer             user_data);
SoupWebsocketConnection *lrd_control_client_connect_events_finish (LrdControlClient    *self,
                                                                   GAsyncResult        *result,
                                                                   GError             **error);

G_END_DECLS
