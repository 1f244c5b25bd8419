/* lr-control-models.h: the JSON models of the lanrage-control API
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What the server accepts is parsed strictly: a missing, mistyped, unknown or oversize
 * field is an LR_ERROR that names the field. What the server answers is parsed leniently
 * about unknown fields (a newer server may add some) but strictly about types, so a client
 * never acts on a value it misread.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define LR_MAX_BODY_SIZE        (64 * 1024)
#define LR_MAX_SIGNAL_SIZE      (4 * 1024)
#define LR_PEER_NAME_MAX_CHARS  32
#define LR_PARTY_NAME_MAX_CHARS 64
#define LR_REGION_MAX_CHARS     32
#define LR_MAX_ENDPOINTS        8

/* RFC 4787 section 4.1 (mapping) and 5 (filtering), as RFC 5780 discovers them. */
typedef enum
{
  LR_NAT_UNKNOWN,
  LR_NAT_ENDPOINT_INDEPENDENT,
  LR_NAT_ADDRESS_DEPENDENT,
  LR_NAT_ADDRESS_AND_PORT_DEPENDENT,
} LrNatBehaviour;

typedef struct
{
  LrNatBehaviour mapping;
  LrNatBehaviour filtering;
} LrNat;

const char *lr_nat_behaviour_to_string   (LrNatBehaviour  behaviour);
gboolean    lr_nat_behaviour_from_string (const char     *text,
                                          LrNatBehaviour *out);

/* Values. */
char     *lr_name_normalize     (const char  *text,
                                 guint        max_chars,
                                 const char  *field,
                                 GError     **error);
char     *lr_endpoint_normalize (const char  *text,
                                 GError     **error);
char     *lr_timestamp_format   (gint64       unix_us);
gboolean  lr_timestamp_parse    (const char  *text,
                                 gint64      *unix_us);

/* PeerIn: what a client says about itself when it creates or joins. */
typedef struct
{
  char     *name;
  char     *wg_public_key;
  char     *disco_public_key;
  GStrv     endpoints;
  gboolean  has_nat;
  LrNat     nat;
} LrPeerIn;

void      lr_peer_in_free  (LrPeerIn          *self);
void      lr_peer_in_build (const LrPeerIn    *self,
                            JsonBuilder       *builder);

typedef struct
{
  char     *name;
  LrPeerIn *peer;
} LrCreatePartyRequest;

typedef struct
{
  char     *invite_code;
  LrPeerIn *peer;
} LrJoinRequest;

/* PATCH of one's own peer: each field optional. */
typedef struct
{
  char     *name;
  gboolean  has_endpoints;
  GStrv     endpoints;
  gboolean  has_nat;
  LrNat     nat;
} LrPeerUpdate;

typedef struct
{
  char *id;
  char *region;
  char *endpoint;
} LrRelay;

/* A signal a client sends on its events socket, to one peer of its party. */
typedef struct
{
  char     *to;
  JsonNode *data;
} LrSignal;

LrCreatePartyRequest *lr_create_party_request_parse (const char            *data,
                                                     gsize                  length,
                                                     GError               **error);
void                  lr_create_party_request_free  (LrCreatePartyRequest  *self);
LrJoinRequest        *lr_join_request_parse         (const char            *data,
                                                     gsize                  length,
                                                     GError               **error);
void                  lr_join_request_free          (LrJoinRequest         *self);
LrPeerUpdate         *lr_peer_update_parse          (const char            *data,
                                                     gsize                  length,
                                                     GError               **error);
void                  lr_peer_update_build          (const LrPeerUpdate    *self,
                                                     JsonBuilder           *builder);
void                  lr_peer_update_free           (LrPeerUpdate          *self);
LrRelay              *lr_relay_registration_parse   (const char            *data,
                                                     gsize                  length,
                                                     GError               **error);
LrRelay              *lr_relay_parse_node           (JsonNode              *node,
                                                     GError               **error);
void                  lr_relay_build                (const LrRelay         *self,
                                                     JsonBuilder           *builder);
void                  lr_relay_free                 (LrRelay               *self);
LrSignal             *lr_signal_parse               (const char            *data,
                                                     gsize                  length,
                                                     GError               **error);
void                  lr_signal_free                (LrSignal              *self);

/* Peer and Party as the server shows them. */
typedef struct
{
  char     *id;
  char     *name;
  char     *virtual_ip;
  char     *wg_public_key;
  char     *disco_public_key;
  GStrv     endpoints;
  LrNat     nat;
  gboolean  online;
  gint64    last_seen;   /* µs since the epoch */
} LrPeer;

typedef struct
{
  char   *id;
  char   *name;
  char   *invite_code;
  char   *host_peer_id;
  gint64  created_at;    /* µs since the epoch */
} LrParty;

void     lr_peer_build_members  (const LrPeer *self,
                                 JsonBuilder  *builder);
void     lr_peer_build          (const LrPeer *self,
                                 JsonBuilder  *builder);
LrPeer  *lr_peer_parse_node     (JsonNode     *node,
                                 GError      **error);
void     lr_peer_clear          (LrPeer       *self);
void     lr_peer_free           (LrPeer       *self);
void     lr_party_build         (const LrParty *self,
                                 JsonBuilder   *builder);
LrParty *lr_party_parse_node    (JsonNode      *node,
                                 GError       **error);
void     lr_party_clear         (LrParty       *self);
void     lr_party_free          (LrParty       *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrPeerIn, lr_peer_in_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrCreatePartyRequest, lr_create_party_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrJoinRequest, lr_join_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrPeerUpdate, lr_peer_update_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrRelay, lr_relay_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrSignal, lr_signal_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrPeer, lr_peer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrParty, lr_party_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LrPeer, lr_peer_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LrParty, lr_party_clear)

G_END_DECLS
