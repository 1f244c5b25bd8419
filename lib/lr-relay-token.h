/* lr-relay-token.h: tokens a relay verifies offline
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "lr-id.h"

G_BEGIN_DECLS

/*
 * A relay token proves to a relay that lanrage-control let a peer into a party, until a
 * time. The control server and every relay share a secret; the relay checks the token
 * with it and needs to ask nobody.
 *
 * Wire form: base64url (no padding) of 57 bytes
 *   0      version (1)
 *   1..8   party id, big endian (see lr-id.h)
 *   9..16  peer id, big endian
 *   17..24 expiry, seconds since the epoch, big endian, signed
 *   25..56 HMAC-SHA256 (RFC 2104) over bytes 0..24 with the shared secret
 *
 * Bytes 0..24 are the token's public part and its HMAC is its secret part: the key its
 * holder proves possession with. A client never sends the whole token to a relay; its BIND
 * (lr-relay-frame.h) carries the public part and a MAC keyed with the secret part, and the
 * relay, which can recompute that key from the public part and the shared secret, checks
 * it. Seeing a BIND on the path thus gives nobody the token.
 */
#define LR_RELAY_TOKEN_VERSION      1
#define LR_RELAY_TOKEN_BYTES        57
#define LR_RELAY_TOKEN_TEXT_LENGTH  76
#define LR_RELAY_TOKEN_PUBLIC_BYTES 25
#define LR_RELAY_TOKEN_KEY_BYTES    32

typedef struct
{
  guint64 party;
  guint64 peer;
  gint64  expires_at;
  char    party_id[LR_ID_LENGTH + 1];
  char    peer_id[LR_ID_LENGTH + 1];
} LrRelayTokenClaims;

char     *lr_relay_token_mint   (GBytes             *secret,
                                 const char         *party_id,
                                 const char         *peer_id,
                                 gint64              expires_at,
                                 GError            **error);
gboolean  lr_relay_token_verify (GBytes             *secret,
                                 const char         *token,
                                 gint64              now,
                                 LrRelayTokenClaims *claims,
                                 GError            **error);
gboolean  lr_relay_token_split  (const char         *token,
                                 guint8              public_part[LR_RELAY_TOKEN_PUBLIC_BYTES],
                                 guint8              key[LR_RELAY_TOKEN_KEY_BYTES],
                                 LrRelayTokenClaims *claims);
gboolean  lr_relay_token_open   (GBytes             *secret,
                                 const guint8       *public_part,
                                 LrRelayTokenClaims *claims,
                                 guint8              key[LR_RELAY_TOKEN_KEY_BYTES]);

G_END_DECLS
