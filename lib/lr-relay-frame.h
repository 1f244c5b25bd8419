/* lr-relay-frame.h: the frames lanrage-relay forwards
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A relay frame is one UDP datagram on the relay's port (3478, shared with STUN): a fixed
 * 12-byte header, then a payload.
 *
 *   0       0x80 | version (version 1: 0x81). The top bit is set, so a frame is never taken
 *           for STUN, whose first two bits are zero (RFC 8489 section 5).
 *   1       type (LrRelayFrameType)
 *   2..3    code, big endian: the reason of an ERROR (LrRelayFrameError), 0 otherwise
 *   4..11   peer id (lr-id.h), big endian:
 *             DATA   from a client: the destination peer; from the relay: the source peer
 *             BOUND  the peer the relay bound
 *             ERROR  the peer the refused frame named, or 0
 *             BIND, PING, PONG: 0 (the relay ignores it)
 *   12..    payload:
 *             BIND   the relay token (lr-relay-token.h), its 76 characters of text
 *             DATA   one opaque, already encrypted WireGuard datagram
 *             PING   up to LR_RELAY_FRAME_MAX_PING_PAYLOAD opaque bytes (say, a send time),
 *                    which the PONG carries back unchanged
 *             BOUND, ERROR: empty
 *
 * A client sends BIND with its token and gets BOUND (or ERROR). It sends BIND again before
 * its token expires and whenever its address may have changed; the relay then reaches the
 * peer at the address the latest BIND came from. DATA is forwarded only between peers bound
 * in the same party, with the peer field rewritten from destination to source, so the frame
 * the receiver gets has the same length as the one sent. A reply is never larger than the
 * datagram that caused it: BOUND and ERROR are 12 bytes, a PONG is as long as its PING.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LR_RELAY_FRAME_VERSION      1
#define LR_RELAY_FRAME_HEADER_SIZE  12
/* A WireGuard datagram of a 1420-byte tunnel MTU is 1452 bytes (32 bytes of WireGuard
 * overhead); 1500 leaves room for that and for a larger MTU on the path, and anything
 * longer is not a tunnel datagram from a LANrage client. */
#define LR_RELAY_FRAME_MAX_SIZE     1500
#define LR_RELAY_FRAME_MAX_PING_PAYLOAD 64

typedef enum
{
  LR_RELAY_FRAME_BIND  = 1,
  LR_RELAY_FRAME_BOUND = 2,
  LR_RELAY_FRAME_ERROR = 3,
  LR_RELAY_FRAME_DATA  = 4,
  LR_RELAY_FRAME_PING  = 5,
  LR_RELAY_FRAME_PONG  = 6,
} LrRelayFrameType;

typedef enum
{
  LR_RELAY_FRAME_ERROR_MALFORMED   = 1, /* the frame cannot be read */
  LR_RELAY_FRAME_ERROR_VERSION     = 2, /* a frame version this relay does not speak */
  LR_RELAY_FRAME_ERROR_BAD_TOKEN   = 3, /* forged or malformed token */
  LR_RELAY_FRAME_ERROR_EXPIRED     = 4, /* token expired: get a new one and BIND again */
  LR_RELAY_FRAME_ERROR_NOT_BOUND   = 5, /* DATA from an address with no binding: BIND again */
  LR_RELAY_FRAME_ERROR_FULL        = 6, /* the relay has as many clients as it takes */
  LR_RELAY_FRAME_ERROR_NO_RELAYING = 7, /* the relay has no secret and only answers STUN */
} LrRelayFrameError;

typedef enum
{
  LR_RELAY_FRAME_OK,
  LR_RELAY_FRAME_NOT_A_FRAME,  /* the top bit is clear: STUN or garbage */
  LR_RELAY_FRAME_TRUNCATED,    /* shorter than the header */
  LR_RELAY_FRAME_OVERSIZE,     /* longer than LR_RELAY_FRAME_MAX_SIZE */
  LR_RELAY_FRAME_BAD_VERSION,
  LR_RELAY_FRAME_BAD_TYPE,
  LR_RELAY_FRAME_BAD_PAYLOAD,  /* a payload the type does not allow */
} LrRelayFrameStatus;

typedef struct
{
  guint8        version;
  guint8        type;
  guint16       code;
  guint64       peer;
  const guint8 *payload;
  gsize         payload_length;
} LrRelayFrame;

LrRelayFrameStatus  lr_relay_frame_parse        (LrRelayFrame *self,
                                                 const guint8 *data,
                                                 gsize         length);
gsize               lr_relay_frame_write_header (guint8       *out,
                                                 guint8        type,
                                                 guint16       code,
                                                 guint64       peer);
gsize               lr_relay_frame_build        (guint8       *out,
                                                 gsize         size,
                                                 guint8        type,
                                                 guint16       code,
                                                 guint64       peer,
                                                 gconstpointer payload,
                                                 gsize         payload_length);
const char         *lr_relay_frame_status_to_string (LrRelayFrameStatus status);
const char         *lr_relay_frame_error_to_string  (LrRelayFrameError error);

static inline gboolean
lr_relay_frame_is_frame (const guint8 *data,
                         gsize         length)
{
  return length > 0 && (data[0] & 0x80) != 0;
}

/* Rewrites the peer field in place: the forwarding path's only change to a DATA frame. */
static inline void
lr_relay_frame_set_peer (guint8  *frame,
                         guint64  peer)
{
  for (int i = 11; i >= 4; i--)
    {
      frame[i] = peer & 0xff;
      peer >>= 8;
    }
}

static inline guint64
lr_relay_frame_get_peer (const guint8 *frame)
{
  guint64 peer = 0;

  for (int i = 4; i < 12; i++)
    peer = (peer << 8) | frame[i];
  return peer;
}

G_END_DECLS
