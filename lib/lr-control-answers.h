/* lr-control-answers.h: what lanrage-control answers a client, as typed values
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The client's side of docs/control-api.md: the join (and create) answer, the relay token,
 * the relay list, a party's view, the events of the events socket and the error body. Like
 * the models they are built from (lr-control-models.h), they are lenient about members a
 * newer server may add and strict about types and values, so a client never acts on a value
 * it misread. Lists skip an entry the server described oddly instead of failing whole.
 */
#pragma once

#include "lr-control-models.h"

G_BEGIN_DECLS

/* At most this many relays are read from a list; a server offers a handful. */
#define LR_MAX_RELAYS 64

/* POST /v1/parties and POST /v1/join: {"party", "peer": PeerSelf, "relays"} */
typedef struct
{
  LrParty *party;
  LrPeer  *peer;                    /* this machine, as the server sees it */
  char    *token;                   /* the membership's bearer token (lr-token.h) */
  char    *relay_token;             /* %NULL when the answer carries none */
  gint64   relay_token_expires_at;  /* µs since the epoch; 0 without a relay token */
  GStrv    relays;                  /* relay endpoints, "address:port" */
} LrJoinAnswer;

LrJoinAnswer *lr_join_answer_parse_node (JsonNode      *node,
                                         GError       **error);
LrJoinAnswer *lr_join_answer_parse      (const char    *data,
                                         gsize          length,
                                         GError       **error);
void          lr_join_answer_free       (LrJoinAnswer  *self);

/* POST /v1/parties/{id}/relay-token: {"relay_token", "expires_at"} */
typedef struct
{
  char   *relay_token;
  gint64  expires_at;               /* µs since the epoch */
} LrRelayTokenAnswer;

LrRelayTokenAnswer *lr_relay_token_answer_parse_node (JsonNode           *node,
                                                      GError            **error);
void                lr_relay_token_answer_free       (LrRelayTokenAnswer *self);

/* GET /v1/relays: {"relays": [Relay]}, as endpoints. */
GStrv lr_relay_list_parse_node (JsonNode  *node,
                                GError   **error);

/* GET /v1/parties/{id} and the events socket's snapshot: {"party", "peers": [Peer]} */
typedef struct
{
  LrParty   *party;                 /* %NULL when the server described it oddly */
  GPtrArray *peers;                 /* of LrPeer; %NULL when there is no list at all */
} LrPartyView;

LrPartyView *lr_party_view_parse_node (JsonNode     *node,
                                       GError      **error);
void         lr_party_view_free       (LrPartyView  *self);

typedef enum
{
  LR_EVENT_UNKNOWN,                 /* a type from a newer server */
  LR_EVENT_SNAPSHOT,
  LR_EVENT_PEER_JOINED,
  LR_EVENT_PEER_UPDATED,
  LR_EVENT_PEER_OFFLINE,
  LR_EVENT_PEER_LEFT,
  LR_EVENT_PARTY_UPDATED,
  LR_EVENT_PARTY_CLOSED,
  LR_EVENT_SIGNAL,
  LR_EVENT_ERROR,
} LrEventType;

/* One message of the events socket. Which members are set depends on the type:
 * SNAPSHOT: snapshot; PEER_*: peer; PARTY_UPDATED: party; PARTY_CLOSED: party (%NULL if
 * odd: the party is closed all the same); SIGNAL: from and data; ERROR: error_code. */
typedef struct
{
  LrEventType  type;
  LrPartyView *snapshot;
  LrPeer      *peer;
  LrParty     *party;
  char        *from;
  JsonNode    *data;
  char        *error_code;
} LrEvent;

LrEvent *lr_event_parse (const char  *data,
                         gsize        length,
                         GError     **error);
void     lr_event_free  (LrEvent     *self);

/* The signal helpers send each other with a disco message (lr-disco.h) that travels over
 * the control server rather than from WireGuard's port: {"type": "disco", "packet":
 * standard base64 of the sealed message}. Parsing checks only the form and the size; the
 * packet is opened by the disco layer like any other. */
#define LR_DISCO_SIGNAL_MAX_PACKET 512

JsonNode *lr_disco_signal_build (const guint8  *packet,
                                 gsize          length);
GBytes   *lr_disco_signal_parse (JsonNode      *data,
                                 GError       **error);

/* {"error": {"code", "message"}}: either may be %NULL when the server sent none. */
typedef struct
{
  char *code;
  char *message;
} LrErrorAnswer;

LrErrorAnswer *lr_error_answer_parse_node (JsonNode       *node);
void           lr_error_answer_free       (LrErrorAnswer  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrJoinAnswer, lr_join_answer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrRelayTokenAnswer, lr_relay_token_answer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrPartyView, lr_party_view_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrEvent, lr_event_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrErrorAnswer, lr_error_answer_free)

G_END_DECLS
