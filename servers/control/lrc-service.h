/* lrc-service.h: parties, peers, tokens and liveness, without the HTTP
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "lr-clock.h"
#include "lr-control-models.h"
#include "lr-id.h"
#include "lrc-database.h"

G_BEGIN_DECLS

/* A WireGuard mesh of more peers than this is not a LAN party any more; the cap also bounds
 * the work of every event and snapshot. */
#define LRC_MAX_PEERS_PER_PARTY 250

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

LrcService *lrc_service_new               (LrcDatabase          *database,
                                           LrClock              *clock,
                                           const LrcTimings     *timings,
                                           GBytes               *relay_secret,
                                           GError              **error);
JsonNode   *lrc_service_create_party      (LrcService           *self,
                                           LrCreatePartyRequest *request,
                                           GError              **error);
JsonNode   *lrc_service_join              (LrcService           *self,
                                           LrJoinRequest        *request,
                                           GError              **error);
gboolean    lrc_service_authenticate      (LrcService           *self,
                                           const char           *token,
                                           LrcCaller            *caller,
                                           GError              **error);
JsonNode   *lrc_service_get_party         (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           GError              **error);
JsonNode   *lrc_service_update_peer       (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           const char           *peer_id,
                                           LrPeerUpdate         *update,
                                           GError              **error);
gboolean    lrc_service_heartbeat         (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           const char           *peer_id,
                                           GError              **error);
gboolean    lrc_service_remove_peer       (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           const char           *peer_id,
                                           GError              **error);
gboolean    lrc_service_close_party       (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           GError              **error);
JsonNode   *lrc_service_mint_relay_token  (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           GError              **error);
gboolean    lrc_service_check_relay_secret (LrcService          *self,
                                           const char           *presented_secret,
                                           GError              **error);
gboolean    lrc_service_register_relay    (LrcService           *self,
                                           LrRelay              *relay,
                                           GError              **error);
JsonNode   *lrc_service_list_relays       (LrcService           *self);
JsonNode   *lrc_service_relay_removals    (LrcService           *self,
                                           gint64                after,
                                           GError              **error);
gboolean    lrc_service_check_party       (LrcService           *self,
                                           const LrcCaller      *caller,
                                           const char           *party_id,
                                           GError              **error);
char       *lrc_service_snapshot          (LrcService           *self,
                                           const char           *party_id);
void        lrc_service_socket_opened     (LrcService           *self,
                                           const LrcCaller      *caller);
void        lrc_service_socket_closed     (LrcService           *self,
                                           const LrcCaller      *caller);
void        lrc_service_sweep             (LrcService           *self);
gboolean    lrc_service_flush             (LrcService           *self,
                                           GError              **error);
GString    *lrc_service_metrics           (LrcService           *self);

G_END_DECLS
