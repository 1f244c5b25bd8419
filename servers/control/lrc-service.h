/* lrc-service.h: parties, peers, tokens and liveness, without the HTTP
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "lr-clock.h"
#include "lr-control-models.h"
#include "lr-id.h"
#include "lrc-store.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 offline_after_us;
  gint64 remove_after_us;
  gint64 empty_party_after_us;
  gint64 relay_expire_after_us;
  gint64 relay_token_lifetime_us;
} LrcTimings;

/* Who a bearer token belongs to. */
typedef struct
{
  char party_id[LR_ID_LENGTH + 1];
  char peer_id[LR_ID_LENGTH + 1];
} LrcCaller;

#define LRC_TYPE_SERVICE (lrc_service_get_type ())
G_DECLARE_FINAL_TYPE (LrcService, lrc_service, LRC, SERVICE, GObject)

void        lrc_timings_init_defaults     (LrcTimings           *timings);

LrcService *lrc_service_new               (LrcStore             *store,
                                           LrClock              *clock,
                                           const LrcTimings     *timings,
                                           GBytes               *relay_secret);
LrcStore   *lrc_service_get_store         (LrcService           *self);

/*
 * Everything that reads or writes the database is asynchronous. Each operation completes
 * with lrc_service_finish(), which gives the JSON answer (a JSON null for operations that
 * answer nothing), except where a finish function of its own is named.
 */
JsonNode   *lrc_service_finish            (LrcService           *self,
                                           GAsyncResult         *result,
                                           GError              **error);

/* Reads every peer's last heartbeat; run it once before serving. */
void        lrc_service_load_async        (LrcService           *self,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_create_party_async (LrcService          *self,
                                           LrCreatePartyRequest *request,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_join_async        (LrcService           *self,
                                           LrJoinRequest        *request,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_authenticate_async (LrcService          *self,
                                           const char           *token,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_renew_lease       (LrcService           *self,
                                           gint64                lease_us);
gboolean    lrc_service_authenticate_known (LrcService          *self,
                                           const char           *token,
                                           LrcCaller            *caller);
gboolean    lrc_service_authenticate_finish (LrcService         *self,
                                           GAsyncResult         *result,
                                           LrcCaller            *caller,
                                           GError              **error);
void        lrc_service_get_party_async   (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_snapshot_async    (LrcService           *self,
                                           const char           *party_id,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_update_peer_async (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           const char           *peer_id,
                                           LrPeerUpdate         *update,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_remove_peer_async (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           const char           *peer_id,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_close_party_async (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_register_relay_async (LrcService        *self,
                                           LrRelay              *relay,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_list_relays_async (LrcService           *self,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_relay_removals_async (LrcService        *self,
                                           gint64                after,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_flush_async       (LrcService           *self,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
void        lrc_service_metrics_async     (LrcService           *self,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
char       *lrc_service_metrics_finish    (LrcService           *self,
                                           GAsyncResult         *result,
                                           GError              **error);

/* These need no database. */
gboolean    lrc_service_heartbeat         (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           const char           *peer_id,
                                           GError              **error);
JsonNode   *lrc_service_mint_relay_token  (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           GError              **error);
gboolean    lrc_service_check_relay_secret (LrcService          *self,
                                           const char           *presented_secret,
                                           GError              **error);
gboolean    lrc_service_check_party       (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           GError              **error);
void        lrc_service_socket_opened     (LrcService           *self,
                                           const LrcCaller      *caller);
void        lrc_service_socket_closed     (LrcService           *self,
                                           const LrcCaller      *caller);
void        lrc_service_sweep             (LrcService           *self);

/* Several instances on one database. */
void        lrc_service_rate_limit_async  (LrcService           *self,
                                           const char           *key,
                                           guint                 per_minute,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
gboolean    lrc_service_route_signal      (LrcService           *self,
                                           const char           *party_id,
                                           const char           *peer_id,
                                           const char           *message);

G_END_DECLS
