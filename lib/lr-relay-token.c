/* lr-relay-token.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-token.h"
#include "lr-bytes.h"
#include "lr-error.h"

#include <sodium.h>
#include <string.h>

#define SIGNED_BYTES LR_RELAY_TOKEN_PUBLIC_BYTES

static void
compute_mac (GBytes       *secret,
             const guint8 *data,
             guint8        mac[crypto_auth_hmacsha256_BYTES])
{
  crypto_auth_hmacsha256_state state;
  gsize key_length;
  const guint8 *key = g_bytes_get_data (secret, &key_length);

  crypto_auth_hmacsha256_init (&state, key, key_length);
  crypto_auth_hmacsha256_update (&state, data, SIGNED_BYTES);
  crypto_auth_hmacsha256_final (&state, mac);
  sodium_memzero (&state, sizeof state);
}

char *
lr_relay_token_mint (GBytes      *secret,
                     const char  *party_id,
                     const char  *peer_id,
                     gint64       expires_at,
                     GError     **error)
{
  guint8 raw[LR_RELAY_TOKEN_BYTES];
  char text[LR_RELAY_TOKEN_TEXT_LENGTH + 1];
  guint64 party, peer;

  g_return_val_if_fail (secret != NULL, NULL);

  if (!lr_id_to_uint64 (party_id, &party) || !lr_id_to_uint64 (peer_id, &peer))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "Not a party or peer id");
      return NULL;
    }

  raw[0] = LR_RELAY_TOKEN_VERSION;
  lr_bytes_write_be64 (raw + 1, party);
  lr_bytes_write_be64 (raw + 9, peer);
  lr_bytes_write_be64 (raw + 17, (guint64) expires_at);
  compute_mac (secret, raw, raw + SIGNED_BYTES);

  sodium_bin2base64 (text, sizeof text, raw, sizeof raw,
                     sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return g_strdup (text);
}

/* Reads the public part's fields; FALSE when it names no peer or is of another version. */
static gboolean
read_claims (const guint8       *raw,
             LrRelayTokenClaims *out)
{
  memset (out, 0, sizeof *out);
  if (raw[0] != LR_RELAY_TOKEN_VERSION)
    return FALSE;
  out->party = lr_bytes_read_be64 (raw + 1);
  out->peer = lr_bytes_read_be64 (raw + 9);
  out->expires_at = (gint64) lr_bytes_read_be64 (raw + 17);
  if (out->party == 0 || out->peer == 0)
    return FALSE;
  lr_id_from_uint64 (out->party, out->party_id);
  lr_id_from_uint64 (out->peer, out->peer_id);
  return TRUE;
}

static gboolean
decode (const char *token,
        guint8      raw[LR_RELAY_TOKEN_BYTES])
{
  gsize raw_length = 0;

  return token != NULL &&
         strnlen (token, LR_RELAY_TOKEN_TEXT_LENGTH + 1) == LR_RELAY_TOKEN_TEXT_LENGTH &&
         sodium_base642bin (raw, LR_RELAY_TOKEN_BYTES, token, LR_RELAY_TOKEN_TEXT_LENGTH, NULL,
                            &raw_length, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
         raw_length == LR_RELAY_TOKEN_BYTES && raw[0] == LR_RELAY_TOKEN_VERSION;
}

gboolean
lr_relay_token_verify (GBytes              *secret,
                       const char          *token,
                       gint64               now,
                       LrRelayTokenClaims  *claims,
                       GError             **error)
{
  guint8 raw[LR_RELAY_TOKEN_BYTES];
  guint8 mac[crypto_auth_hmacsha256_BYTES];
  LrRelayTokenClaims out;

  g_return_val_if_fail (secret != NULL, FALSE);

  if (!decode (token, raw))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID_TOKEN, "The relay token is malformed");
      return FALSE;
    }

  compute_mac (secret, raw, mac);
  if (crypto_verify_32 (mac, raw + SIGNED_BYTES) != 0)
    {
      sodium_memzero (raw, sizeof raw);
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID_TOKEN,
                   "The relay token was not issued with this relay's secret");
      return FALSE;
    }
  sodium_memzero (mac, sizeof mac);

  if (!read_claims (raw, &out))
    {
      sodium_memzero (raw, sizeof raw);
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID_TOKEN, "The relay token names no peer");
      return FALSE;
    }
  sodium_memzero (raw, sizeof raw);

  if (out.expires_at <= now)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_EXPIRED, "The relay token has expired");
      return FALSE;
    }

  if (claims != NULL)
    *claims = out;
  return TRUE;
}

/**
 * lr_relay_token_split:
 * @claims: (out) (optional): what the public part says
 *
 * The client's side: cuts a token into its public part, which goes into every BIND, and its
 * key, which signs the BIND and never leaves the machine. Nothing is verified (the client
 * does not know the relay secret); a token that cannot be a relay token returns %FALSE.
 */
gboolean
lr_relay_token_split (const char         *token,
                      guint8              public_part[LR_RELAY_TOKEN_PUBLIC_BYTES],
                      guint8              key[LR_RELAY_TOKEN_KEY_BYTES],
                      LrRelayTokenClaims *claims)
{
  guint8 raw[LR_RELAY_TOKEN_BYTES];
  LrRelayTokenClaims out;

  if (!decode (token, raw) || !read_claims (raw, &out))
    {
      sodium_memzero (raw, sizeof raw);
      return FALSE;
    }
  memcpy (public_part, raw, LR_RELAY_TOKEN_PUBLIC_BYTES);
  memcpy (key, raw + SIGNED_BYTES, LR_RELAY_TOKEN_KEY_BYTES);
  sodium_memzero (raw, sizeof raw);
  if (claims != NULL)
    *claims = out;
  return TRUE;
}

/**
 * lr_relay_token_open:
 * @public_part: %LR_RELAY_TOKEN_PUBLIC_BYTES bytes, as a BIND carries them
 * @claims: (out) (optional): what the public part says
 *
 * The relay's side: reads the public part and recomputes the key its holder signs with,
 * from the shared secret. Whether the token is genuine shows only when a MAC made with that
 * key checks out (lr_relay_frame_check_bind()); expiry is the caller's to check. No GError:
 * this runs for every BIND.
 */
gboolean
lr_relay_token_open (GBytes             *secret,
                     const guint8       *public_part,
                     LrRelayTokenClaims *claims,
                     guint8              key[LR_RELAY_TOKEN_KEY_BYTES])
{
  LrRelayTokenClaims out;

  g_return_val_if_fail (secret != NULL, FALSE);

  if (!read_claims (public_part, &out))
    return FALSE;
  compute_mac (secret, public_part, key);
  if (claims != NULL)
    *claims = out;
  return TRUE;
}
