/* lr-relay-frame.h: the frames lanrage-relay forwards
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A relay frame is one UDP datagram on the relay's port (3478, shared with STUN): a fixed
 * 12-byte header, then a payload.
 *
 *   0       0x80 | version (version 2: 0x82). The top bit is set, so a frame is never taken
 *           for STUN, whose first two bits are zero (RFC 8489 section 5).
 *   1       type (LrRelayFrameType)
 *   2..3    code, big endian: the reason of an ERROR (LrRelayFrameError), 0 otherwise
 *   4..11   peer id (lr-id.h), big endian:
 *             DATA   from a client: the destination peer; from the relay: the source peer
 *             BIND   the peer binding (the one its token names)
 *             BOUND  the peer the relay bound
 *             ERROR  the peer the refused frame named, or 0
 *             PING, PONG: 0 (the relay ignores it)
 *   12..    payload:
 *             BIND   LR_RELAY_FRAME_BIND_PAYLOAD (73) bytes, below
 *             DATA   one opaque, already encrypted WireGuard datagram
 *             PING   up to LR_RELAY_FRAME_MAX_PING_PAYLOAD opaque bytes (say, a send time),
 *                    which the PONG carries back unchanged
 *             ERROR  empty, but LR_RELAY_FRAME_STALE_PAYLOAD (56) bytes for ERROR stale
 *             BOUND  empty
 *
 * BIND proves that the client holds a relay token without carrying it (lr-relay-token.h:
 * the token's public part travels, its HMAC is the key):
 *
 *   12..36  the token's public part (version, party, peer, expiry)
 *   37..44  timestamp: the client's wall clock in µs since the epoch, big endian, signed
 *   45..52  counter, big endian: above every counter this client sent before
 *   53..84  HMAC-SHA256 keyed with the token's key over bytes 0..52 (header included)
 *
 * The relay recomputes the key from the public part and its secret, checks the MAC, and takes
 * the BIND only if its timestamp is within LR_RELAY_FRAME_BIND_WINDOW_S of the relay's clock
 * and its counter is above the last one it took for that peer. Otherwise it answers ERROR
 * stale and the binding stays where it was: a BIND seen on the path and sent again from
 * elsewhere moves nothing, and after a relay restart (which forgets the counters) an old one
 * is out of the window. Clients count from their wall clock in µs (and +1 past the last
 * one), so the counter keeps growing across a client restart.
 *
 * ERROR stale tells the client what to fix, signed so that only the relay can say it:
 *
 *   12..19  the counter of the refused BIND
 *   20..27  the relay's wall clock in µs since the epoch
 *   28..35  the last counter the relay took for this peer, 0 if none
 *   36..67  HMAC-SHA256 keyed with the token's key over bytes 0..35
 *
 * A client whose clock is off, or whose counter fell behind (its clock stepped back across a
 * restart), checks the MAC and that the counter is one it sent, corrects its timestamps by
 * the relay's clock and counts on from above the relay's last counter.
 *
 * A client sends BIND and gets BOUND (or ERROR). It sends BIND again before its token
 * expires and whenever its address may have changed; the relay then reaches the peer at the
 * address the latest BIND came from. DATA is forwarded only between peers bound in the same
 * party, with the peer field rewritten from destination to source, so the frame the receiver
 * gets has the same length as the one sent. A reply is never larger than the datagram that
 * caused it: BOUND and most ERRORs are 12 bytes, ERROR stale 68 (its BIND is 85), a PONG is
 * as long as its PING.
 *
 * The version changes whenever a frame's layout does (version 1 carried the whole token in
 * BIND). A relay answers a frame of another version with ERROR version, in its own version:
 * the first byte alone tells a client that the relay speaks another one.
 */
#pragma once

#include <glib.h>

#include "lr-bytes.h"
#include "lr-relay-token.h"

G_BEGIN_DECLS

#define LR_RELAY_FRAME_VERSION      2
#define LR_RELAY_FRAME_HEADER_SIZE  12
/* A WireGuard datagram of a 1420-byte tunnel MTU is 1452 bytes (32 bytes of WireGuard
 * overhead); 1500 leaves room for that and for a larger MTU on the path, and anything
 * longer is not a tunnel datagram from a LANrage client. */
#define LR_RELAY_FRAME_MAX_SIZE     1500
#define LR_RELAY_FRAME_MAX_PING_PAYLOAD 64
#define LR_RELAY_FRAME_MAC_SIZE     32
#define LR_RELAY_FRAME_BIND_PAYLOAD (LR_RELAY_TOKEN_PUBLIC_BYTES + 8 + 8 + LR_RELAY_FRAME_MAC_SIZE)
#define LR_RELAY_FRAME_BIND_SIZE    (LR_RELAY_FRAME_HEADER_SIZE + LR_RELAY_FRAME_BIND_PAYLOAD)
#define LR_RELAY_FRAME_STALE_PAYLOAD (8 + 8 + 8 + LR_RELAY_FRAME_MAC_SIZE)
#define LR_RELAY_FRAME_STALE_SIZE   (LR_RELAY_FRAME_HEADER_SIZE + LR_RELAY_FRAME_STALE_PAYLOAD)
/* How far a BIND's timestamp may be from the relay's clock. It bounds how long a BIND seen
 * on the path could be replayed to a relay that restarted (and forgot the counters) in the
 * meantime; clocks that disagree by more are corrected by ERROR stale within a round trip,
 * so it need not cover clock skew. 30 s also covers a BIND held up in a queue. */
#define LR_RELAY_FRAME_BIND_WINDOW_S 30

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
  LR_RELAY_FRAME_ERROR_STALE       = 8, /* BIND timestamp out of the window or counter not
                                         * above the last: see the signed payload above */
  LR_RELAY_FRAME_ERROR_REVOKED     = 9, /* the peer was removed from its party: its tokens
                                         * are refused until they expire */
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
  /* BIND only (the MAC is not checked by parsing): */
  const guint8 *token_public;
  gint64        timestamp_us;
  guint64       counter;
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
gsize               lr_relay_frame_build_bind   (guint8       *out,
                                                 gsize         size,
                                                 const guint8 *token_public,
                                                 const guint8 *key,
                                                 gint64        timestamp_us,
                                                 guint64       counter);
gboolean            lr_relay_frame_check_bind   (const guint8 *data,
                                                 gsize         length,
                                                 const guint8 *key);
gsize               lr_relay_frame_build_stale  (guint8       *out,
                                                 gsize         size,
                                                 guint64       peer,
                                                 const guint8 *key,
                                                 guint64       bind_counter,
                                                 gint64        relay_time_us,
                                                 guint64       last_counter);
gboolean            lr_relay_frame_check_stale  (const guint8 *data,
                                                 gsize         length,
                                                 const guint8 *key,
                                                 guint64      *bind_counter,
                                                 gint64       *relay_time_us,
                                                 guint64      *last_counter);
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
  lr_bytes_write_be64 (frame + 4, peer);
}

static inline guint64
lr_relay_frame_get_peer (const guint8 *frame)
{
  return lr_bytes_read_be64 (frame + 4);
}

G_END_DECLS
