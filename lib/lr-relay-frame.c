/* lr-relay-frame.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-frame.h"
#include "lr-bytes.h"
#include "lr-relay-token.h"

#include <sodium.h>
#include <string.h>

/**
 * lr_relay_frame_parse:
 *
 * Reads a frame in place (@self points into @data). Returns a status rather than a GError:
 * it runs for every datagram the relay forwards, where nothing may allocate.
 */
LrRelayFrameStatus
lr_relay_frame_parse (LrRelayFrame *self,
                      const guint8 *data,
                      gsize         length)
{
  memset (self, 0, sizeof *self);

  if (!lr_relay_frame_is_frame (data, length))
    return LR_RELAY_FRAME_NOT_A_FRAME;
  if (length < LR_RELAY_FRAME_HEADER_SIZE)
    return LR_RELAY_FRAME_TRUNCATED;
  if (length > LR_RELAY_FRAME_MAX_SIZE)
    return LR_RELAY_FRAME_OVERSIZE;

  self->version = data[0] & 0x7f;
  self->type = data[1];
  self->code = lr_bytes_read_be16 (data + 2);
  self->peer = lr_relay_frame_get_peer (data);
  self->payload = data + LR_RELAY_FRAME_HEADER_SIZE;
  self->payload_length = length - LR_RELAY_FRAME_HEADER_SIZE;

  if (self->version != LR_RELAY_FRAME_VERSION)
    return LR_RELAY_FRAME_BAD_VERSION;

  switch (self->type)
    {
    case LR_RELAY_FRAME_BIND:
      if (self->payload_length != LR_RELAY_FRAME_BIND_PAYLOAD || self->peer == 0)
        return LR_RELAY_FRAME_BAD_PAYLOAD;
      self->token_public = self->payload;
      self->timestamp_us = (gint64) lr_bytes_read_be64 (self->payload + LR_RELAY_TOKEN_PUBLIC_BYTES);
      self->counter = lr_bytes_read_be64 (self->payload + LR_RELAY_TOKEN_PUBLIC_BYTES + 8);
      return LR_RELAY_FRAME_OK;

    case LR_RELAY_FRAME_DATA:
      if (self->payload_length == 0 || self->peer == 0)
        return LR_RELAY_FRAME_BAD_PAYLOAD;
      return LR_RELAY_FRAME_OK;

    case LR_RELAY_FRAME_PING:
    case LR_RELAY_FRAME_PONG:
      if (self->payload_length > LR_RELAY_FRAME_MAX_PING_PAYLOAD)
        return LR_RELAY_FRAME_BAD_PAYLOAD;
      return LR_RELAY_FRAME_OK;

    case LR_RELAY_FRAME_ERROR:
      if (self->payload_length != 0 &&
          !(self->code == LR_RELAY_FRAME_ERROR_STALE &&
            self->payload_length == LR_RELAY_FRAME_STALE_PAYLOAD))
        return LR_RELAY_FRAME_BAD_PAYLOAD;
      return LR_RELAY_FRAME_OK;

    case LR_RELAY_FRAME_BOUND:
      if (self->payload_length != 0)
        return LR_RELAY_FRAME_BAD_PAYLOAD;
      return LR_RELAY_FRAME_OK;

    default:
      return LR_RELAY_FRAME_BAD_TYPE;
    }
}

gsize
lr_relay_frame_write_header (guint8  *out,
                             guint8   type,
                             guint16  code,
                             guint64  peer)
{
  out[0] = 0x80 | LR_RELAY_FRAME_VERSION;
  out[1] = type;
  lr_bytes_write_be16 (out + 2, code);
  lr_relay_frame_set_peer (out, peer);
  return LR_RELAY_FRAME_HEADER_SIZE;
}

/**
 * lr_relay_frame_build:
 *
 * Returns: the frame's length, or 0 when it does not fit in @size or would be oversize.
 */
gsize
lr_relay_frame_build (guint8        *out,
                      gsize          size,
                      guint8         type,
                      guint16        code,
                      guint64        peer,
                      gconstpointer  payload,
                      gsize          payload_length)
{
  gsize length = LR_RELAY_FRAME_HEADER_SIZE + payload_length;

  if (payload_length > LR_RELAY_FRAME_MAX_SIZE - LR_RELAY_FRAME_HEADER_SIZE || length > size)
    return 0;
  lr_relay_frame_write_header (out, type, code, peer);
  if (payload_length > 0)
    memcpy (out + LR_RELAY_FRAME_HEADER_SIZE, payload, payload_length);
  return length;
}

/* A signed frame (BIND, ERROR stale) ends with an HMAC-SHA256 keyed with the token's key
 * over everything before it. */
static void
sign (guint8       *frame,
      gsize         length,
      const guint8 *key)
{
  crypto_auth_hmacsha256 (frame + length - LR_RELAY_FRAME_MAC_SIZE, frame,
                          length - LR_RELAY_FRAME_MAC_SIZE, key);
}

static gboolean
is_signed (const guint8 *frame,
           gsize         length,
           const guint8 *key)
{
  guint8 mac[LR_RELAY_FRAME_MAC_SIZE];

  crypto_auth_hmacsha256 (mac, frame, length - LR_RELAY_FRAME_MAC_SIZE, key);
  return sodium_memcmp (mac, frame + length - LR_RELAY_FRAME_MAC_SIZE,
                        LR_RELAY_FRAME_MAC_SIZE) == 0;
}

static guint64
token_peer (const guint8 *token_public)
{
  return lr_bytes_read_be64 (token_public + 9);
}

/**
 * lr_relay_frame_build_bind:
 * @token_public: the token's public part (lr_relay_token_split())
 * @key: the token's key
 *
 * Returns: the BIND's length (%LR_RELAY_FRAME_BIND_SIZE), or 0 when @size is too small
 */
gsize
lr_relay_frame_build_bind (guint8       *out,
                           gsize         size,
                           const guint8 *token_public,
                           const guint8 *key,
                           gint64        timestamp_us,
                           guint64       counter)
{
  guint8 *payload = out + LR_RELAY_FRAME_HEADER_SIZE;

  if (size < LR_RELAY_FRAME_BIND_SIZE)
    return 0;
  lr_relay_frame_write_header (out, LR_RELAY_FRAME_BIND, 0, token_peer (token_public));
  memcpy (payload, token_public, LR_RELAY_TOKEN_PUBLIC_BYTES);
  lr_bytes_write_be64 (payload + LR_RELAY_TOKEN_PUBLIC_BYTES, (guint64) timestamp_us);
  lr_bytes_write_be64 (payload + LR_RELAY_TOKEN_PUBLIC_BYTES + 8, counter);
  sign (out, LR_RELAY_FRAME_BIND_SIZE, key);
  return LR_RELAY_FRAME_BIND_SIZE;
}

/**
 * lr_relay_frame_check_bind:
 * @data: a frame that lr_relay_frame_parse() read as a BIND
 * @key: the key of the token the BIND names (lr_relay_token_open())
 *
 * Returns: whether the BIND was made with that key (in constant time), and names the peer
 *   its token names
 */
gboolean
lr_relay_frame_check_bind (const guint8 *data,
                           gsize         length,
                           const guint8 *key)
{
  return length == LR_RELAY_FRAME_BIND_SIZE && is_signed (data, length, key) &&
         lr_relay_frame_get_peer (data) == token_peer (data + LR_RELAY_FRAME_HEADER_SIZE);
}

/**
 * lr_relay_frame_build_stale:
 * @peer: the peer the refused BIND named
 * @key: that BIND's token key
 *
 * Returns: the ERROR stale's length (%LR_RELAY_FRAME_STALE_SIZE), or 0 when @size is too small
 */
gsize
lr_relay_frame_build_stale (guint8       *out,
                            gsize         size,
                            guint64       peer,
                            const guint8 *key,
                            guint64       bind_counter,
                            gint64        relay_time_us,
                            guint64       last_counter)
{
  guint8 *payload = out + LR_RELAY_FRAME_HEADER_SIZE;

  if (size < LR_RELAY_FRAME_STALE_SIZE)
    return 0;
  lr_relay_frame_write_header (out, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_STALE, peer);
  lr_bytes_write_be64 (payload, bind_counter);
  lr_bytes_write_be64 (payload + 8, (guint64) relay_time_us);
  lr_bytes_write_be64 (payload + 16, last_counter);
  sign (out, LR_RELAY_FRAME_STALE_SIZE, key);
  return LR_RELAY_FRAME_STALE_SIZE;
}

/**
 * lr_relay_frame_check_stale:
 * @data: a frame that lr_relay_frame_parse() read
 *
 * Returns: whether @data is an ERROR stale signed with @key; then the out arguments say what
 *   it says
 */
gboolean
lr_relay_frame_check_stale (const guint8 *data,
                            gsize         length,
                            const guint8 *key,
                            guint64      *bind_counter,
                            gint64       *relay_time_us,
                            guint64      *last_counter)
{
  const guint8 *payload = data + LR_RELAY_FRAME_HEADER_SIZE;

  if (length != LR_RELAY_FRAME_STALE_SIZE || data[1] != LR_RELAY_FRAME_ERROR ||
      data[2] != 0 || data[3] != LR_RELAY_FRAME_ERROR_STALE || !is_signed (data, length, key))
    return FALSE;
  *bind_counter = lr_bytes_read_be64 (payload);
  *relay_time_us = (gint64) lr_bytes_read_be64 (payload + 8);
  *last_counter = lr_bytes_read_be64 (payload + 16);
  return TRUE;
}

const char *
lr_relay_frame_status_to_string (LrRelayFrameStatus status)
{
  switch (status)
    {
    case LR_RELAY_FRAME_OK:
      return "ok";
    case LR_RELAY_FRAME_NOT_A_FRAME:
      return "not-a-frame";
    case LR_RELAY_FRAME_TRUNCATED:
      return "truncated";
    case LR_RELAY_FRAME_OVERSIZE:
      return "oversize";
    case LR_RELAY_FRAME_BAD_VERSION:
      return "bad-version";
    case LR_RELAY_FRAME_BAD_TYPE:
      return "bad-type";
    case LR_RELAY_FRAME_BAD_PAYLOAD:
      return "bad-payload";
    default:
      return "unknown";
    }
}

const char *
lr_relay_frame_error_to_string (LrRelayFrameError error)
{
  switch (error)
    {
    case LR_RELAY_FRAME_ERROR_MALFORMED:
      return "malformed";
    case LR_RELAY_FRAME_ERROR_VERSION:
      return "version";
    case LR_RELAY_FRAME_ERROR_BAD_TOKEN:
      return "bad-token";
    case LR_RELAY_FRAME_ERROR_EXPIRED:
      return "expired";
    case LR_RELAY_FRAME_ERROR_NOT_BOUND:
      return "not-bound";
    case LR_RELAY_FRAME_ERROR_FULL:
      return "full";
    case LR_RELAY_FRAME_ERROR_NO_RELAYING:
      return "no-relaying";
    case LR_RELAY_FRAME_ERROR_STALE:
      return "stale";
    case LR_RELAY_FRAME_ERROR_REVOKED:
      return "revoked";
    default:
      return "unknown";
    }
}
