/* lrd-control-client.h: the helper's client of lanrage-control (docs/control-api.md)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One libsoup session to one control server. Answers come back parsed as JSON; failures
 * come back as LRD_ERROR with a message a person understands, and the HTTP status (0 when
 * no answer came), so the session can tell "the server is down" from "the party is gone".
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define LRD_TYPE_CONTROL_CLIENT (lrd_control_client_get_type ())
G_DECLARE_FINAL_TYPE (LrdControlClient, lrd_control_client, LRD, CONTROL_CLIENT, GObject)

LrdControlClient *lrd_control_client_new          (const char        *base_url);
const char       *lrd_control_client_get_base_url (LrdControlClient  *self);
void              lrd_control_client_set_base_url (LrdControlClient  *self,
                                                   const char        *base_url);

void      lrd_control_client_request_async  (LrdControlClient     *self,
                                             const char           *method,
                                             const char           *path,
                                             const char           *token,
                                             JsonNode             *body,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
JsonNode *lrd_control_client_request_finish (LrdControlClient     *self,
                                             GAsyncResult         *result,
                                             guint                *out_status,
                                             GError              **error);

void                     lrd_control_client_connect_events_async  (LrdControlClient    *self,
                                                                   const char          *party_id,
                                                                   const char          *token,
                                                                   GCancellable        *cancellable,
                                                                   GAsyncReadyCallback  callback,
                                                                   gpointer             user_data);
SoupWebsocketConnection *lrd_control_client_connect_events_finish (LrdControlClient    *self,
                                                                   GAsyncResult        *result,
                                                                   guint               *out_status,
                                                                   GError             **error);

/* Whether an HTTP status says the token or the party is no more (as opposed to "try
 * again later"). */
gboolean lrd_control_status_means_gone (guint status);

G_END_DECLS
