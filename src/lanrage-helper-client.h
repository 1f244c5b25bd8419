/* lanrage-helper-client.h: the app's one connection to lanrage-helper
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * LanrageHelperStatus:
 * @LANRAGE_HELPER_STATUS_STARTING: the bus is not known yet (the first instants only)
 * @LANRAGE_HELPER_STATUS_ABSENT: nobody owns the helper's bus name
 * @LANRAGE_HELPER_STATUS_IDLE: the helper runs and is in no party
 * @LANRAGE_HELPER_STATUS_JOINING: the helper is creating, joining or rejoining a party
 * @LANRAGE_HELPER_STATUS_CONNECTED: in a party
 * @LANRAGE_HELPER_STATUS_ERROR: in a party that WireGuard could not bring back
 */
typedef enum
{
  LANRAGE_HELPER_STATUS_STARTING,
  LANRAGE_HELPER_STATUS_ABSENT,
  LANRAGE_HELPER_STATUS_IDLE,
  LANRAGE_HELPER_STATUS_JOINING,
  LANRAGE_HELPER_STATUS_CONNECTED,
  LANRAGE_HELPER_STATUS_ERROR,
} LanrageHelperStatus;

#define LANRAGE_HELPER_BUS_NAME "io.lanrage.Helper1"

#define LANRAGE_TYPE_HELPER_CLIENT (lanrage_helper_client_get_type ())

G_DECLARE_FINAL_TYPE (LanrageHelperClient, lanrage_helper_client, LANRAGE, HELPER_CLIENT, GObject)

LanrageHelperClient *lanrage_helper_client_new              (GDBusConnection     *connection,
                                                             const char          *bus_name);
LanrageHelperStatus  lanrage_helper_client_get_status       (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_party_name   (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_invite_code  (LanrageHelperClient *self);
char                *lanrage_helper_client_dup_invite_link  (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_virtual_address (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_nat_type     (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_public_endpoint (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_relay        (LanrageHelperClient *self);
double               lanrage_helper_client_get_relay_rtt_ms (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_backend      (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_last_error   (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_control_url  (LanrageHelperClient *self);
GListModel          *lanrage_helper_client_get_peers        (LanrageHelperClient *self);
/* The games members announce (LanrageGame), as the helper's lobby lists them. */
GListModel          *lanrage_helper_client_get_games        (LanrageHelperClient *self);
gboolean             lanrage_helper_client_get_lan_discovery (LanrageHelperClient *self);
const char          *lanrage_helper_client_get_lan_bridge   (LanrageHelperClient *self);
gboolean             lanrage_helper_client_get_known_titles_only (LanrageHelperClient *self);
/* A new GPtrArray of LanrageDenyEntry. */
GPtrArray           *lanrage_helper_client_dup_deny_list    (LanrageHelperClient *self);

void     lanrage_helper_client_create_party        (LanrageHelperClient *self,
                                                    const char          *name,
                                                    const char          *display_name,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
gboolean lanrage_helper_client_create_party_finish (LanrageHelperClient *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);
void     lanrage_helper_client_join_party          (LanrageHelperClient *self,
                                                    const char          *invite_code,
                                                    const char          *display_name,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
gboolean lanrage_helper_client_join_party_finish   (LanrageHelperClient *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);
void     lanrage_helper_client_leave_party         (LanrageHelperClient *self,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
gboolean lanrage_helper_client_leave_party_finish  (LanrageHelperClient *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);
void     lanrage_helper_client_set_control_url     (LanrageHelperClient *self,
                                                    const char          *url,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
gboolean lanrage_helper_client_set_control_url_finish (LanrageHelperClient *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);


/* LAN discovery settings: each needs io.lanrage.helper.configure. Finish them with
 * lanrage_helper_client_call_finish (). */
void     lanrage_helper_client_set_lan_discovery   (LanrageHelperClient *self,
                                                    gboolean             enabled,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
void     lanrage_helper_client_set_deny_list       (LanrageHelperClient *self,
                                                    GPtrArray           *entries,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
void     lanrage_helper_client_reset_deny_list     (LanrageHelperClient *self,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
void     lanrage_helper_client_set_known_titles_only (LanrageHelperClient *self,
                                                      gboolean             enabled,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
gboolean lanrage_helper_client_call_finish         (LanrageHelperClient *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);

G_END_DECLS
