/* lr-disco.h: disco, the small authenticated messages between helpers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Disco finds and watches direct paths between two helpers (Tailscale's name for the same
 * idea). Three messages:
 * - ping: "are you there on this path?", with a random transaction id;
 * - pong: the answer, with the ping's transaction id and the address the ping came from (so
 *   a helper learns its own public endpoint as each peer sees it);
 * - call-me-maybe: "ping me at these addresses": the sender's candidates, its LAN addresses
 *   and its STUN (public) address, so both sides ping at once and punch their NATs.
 * Pings and pongs travel from WireGuard's port (LrdSharedPort) or through the relay;
 * call-me-maybe through the control server's signal channel or the relay. The codec does no
 * I/O and does not care which way a message came.
 *
 * On the wire (every integer big-endian):
 *
 *   magic      8   LR_DISCO_MAGIC
 *   sender    32   the sender's disco public key (X25519)
 *   nonce     24   counter (8) || random (16)
 *   box      16+n  crypto_box_easy (plaintext, nonce, receiver's public key, sender's secret)
 *
 *   plaintext: type (1), then
 *     ping           transaction id (12)
 *     pong           transaction id (12), address
 *     call-me-maybe  count (1, 1 to LR_DISCO_MAX_CANDIDATES), count addresses
 *   address: family (1: 4 or 6), port (2), 4 or 16 address bytes
 *
 * crypto_box authenticates the sender (only the holder of the secret key behind the public
 * key in the packet can seal for us) and the nonce. The receiver looks the sender's key up
 * among the party's peers (lr_disco_peek_sender) and drops anything from a key it does not
 * know, anything that does not open, and anything malformed.
 *
 * Replays: the nonce's first 8 bytes are a counter that the sender increases by one for each
 * message. It starts at the sender's wall-clock time in microseconds when the helper starts,
 * so it keeps rising across restarts without being stored. The receiver keeps, per sender, an
 * LrDiscoReplay: the highest counter that opened and a window of the 64 below it (RFC 6479's
 * sliding window, as IPsec and WireGuard keep). A counter already seen, or older than the
 * window, is dropped. The window only moves for messages that opened, so forged packets
 * cannot push it. What a fresh window (a receiver that restarted) cannot stop is one replay
 * of a message it already took before the restart; that is harmless by design: a replayed
 * ping draws a pong, a replayed pong matches no transaction the receiver still waits for
 * (ids are random and forgotten after their timeout), and a replayed call-me-maybe prompts
 * pings to addresses the peer did announce.
 *
 * Keys: the helper's disco key pair (helper/lrd-state.c) and each peer's disco public key
 * from the control server (LrPeer.disco_public_key). How the helper uses it: one disco
 * object on the LrdSharedPort (and the relay client) finds the peer by the key
 * lr_disco_peek_sender() gives, keeps per peer an LrDiscoSharedKey (made when the peer
 * appears) and an LrDiscoReplay (both reset when the peer leaves and joins again), seals
 * and opens with lr_disco_seal_shared() and lr_disco_open_shared(), and feeds each
 * LrdPeerLink's path policy with the pings and pongs (lib/lr-path-policy.h).
 */
#pragma once

#include <glib.h>

#include "lr-stun.h"

G_BEGIN_DECLS

/* Every disco packet starts with these 8 bytes. The first byte is not a WireGuard message
 * type (1 to 4) and its top bits are not STUN's 00 (RFC 8489 section 5), so one look tells
 * the three apart on WireGuard's port; LrdSharedPort's BPF filter compares the two 32-bit
 * words. The last byte is the format's version. */
#define LR_DISCO_MAGIC        "LRdisco\x01"
#define LR_DISCO_MAGIC_SIZE   8
#define LR_DISCO_MAGIC_WORD0  0x4c526469u  /* "LRdi", big-endian */
#define LR_DISCO_MAGIC_WORD1  0x73636f01u  /* "sco\x01" */

#define LR_DISCO_KEY_SIZE         32
#define LR_DISCO_NONCE_SIZE       24
#define LR_DISCO_MAC_SIZE         16
#define LR_DISCO_TRANSACTION_SIZE 12
#define LR_DISCO_HEADER_SIZE      (LR_DISCO_MAGIC_SIZE + LR_DISCO_KEY_SIZE + LR_DISCO_NONCE_SIZE)
/* LAN addresses of a few interfaces, both families, and the STUN address. */
#define LR_DISCO_MAX_CANDIDATES   16
#define LR_DISCO_MAX_PLAINTEXT    (2 + LR_DISCO_MAX_CANDIDATES * 19)
#define LR_DISCO_MAX_SIZE         (LR_DISCO_HEADER_SIZE + LR_DISCO_MAC_SIZE + \
                                   LR_DISCO_MAX_PLAINTEXT)
/* Counters this far below the highest one seen are still checked one by one. */
#define LR_DISCO_REPLAY_WINDOW    64

typedef enum
{
  LR_DISCO_PING = 1,
  LR_DISCO_PONG = 2,
  LR_DISCO_CALL_ME_MAYBE = 3,
} LrDiscoType;

typedef struct
{
  LrDiscoType   type;
  guint8        transaction_id[LR_DISCO_TRANSACTION_SIZE];  /* ping, pong */
  LrStunAddress observed;                                   /* pong */
  guint         n_candidates;                               /* call-me-maybe */
  LrStunAddress candidates[LR_DISCO_MAX_CANDIDATES];
} LrDiscoMessage;

/* The key two nodes' disco key pairs share (crypto_box_beforenm): computing it costs an
 * X25519 multiplication (about 45 µs here), sealing and opening with it under 1 µs, so
 * the helper keeps one per peer for the pings and pongs it exchanges several times a
 * second. Wiped with lr_disco_shared_key_clear(). */
typedef struct
{
  guint8 bytes[32];
} LrDiscoSharedKey;

typedef struct
{
  guint64  highest;
  guint64  seen;       /* bit i: counter highest - i was taken */
  gboolean started;
} LrDiscoReplay;

/* The plaintext alone, for the fuzzer and the tests. */
gsize    lr_disco_message_encode (const LrDiscoMessage *self,
                                  guint8               *out,
                                  gsize                 size);
gboolean lr_disco_message_decode (LrDiscoMessage       *self,
                                  const guint8         *data,
                                  gsize                 length,
                                  GError              **error);

/* A nonce for message number @counter: the counter, then 16 random bytes. */
void     lr_disco_nonce_make     (guint64               counter,
                                  guint8                nonce[LR_DISCO_NONCE_SIZE]);

gsize    lr_disco_seal           (const LrDiscoMessage *message,
                                  const guint8          sender_public[LR_DISCO_KEY_SIZE],
                                  const guint8          sender_secret[LR_DISCO_KEY_SIZE],
                                  const guint8          receiver_public[LR_DISCO_KEY_SIZE],
                                  const guint8          nonce[LR_DISCO_NONCE_SIZE],
                                  guint8               *out,
                                  gsize                 size);
gboolean lr_disco_shared_key_init  (LrDiscoSharedKey     *self,
                                    const guint8          peer_public[LR_DISCO_KEY_SIZE],
                                    const guint8          own_secret[LR_DISCO_KEY_SIZE]);
void     lr_disco_shared_key_clear (LrDiscoSharedKey     *self);
gsize    lr_disco_seal_shared    (const LrDiscoMessage   *message,
                                  const guint8            sender_public[LR_DISCO_KEY_SIZE],
                                  const LrDiscoSharedKey *key,
                                  const guint8            nonce[LR_DISCO_NONCE_SIZE],
                                  guint8                 *out,
                                  gsize                   size);
gboolean lr_disco_open_shared    (LrDiscoMessage         *self,
                                  const guint8           *data,
                                  gsize                   length,
                                  const guint8            sender_public[LR_DISCO_KEY_SIZE],
                                  const LrDiscoSharedKey *key,
                                  LrDiscoReplay          *replay,
                                  GError                **error);
gboolean lr_disco_peek_sender    (const guint8         *data,
                                  gsize                 length,
                                  guint8                sender_public[LR_DISCO_KEY_SIZE]);
gboolean lr_disco_open           (LrDiscoMessage       *self,
                                  const guint8         *data,
                                  gsize                 length,
                                  const guint8          receiver_secret[LR_DISCO_KEY_SIZE],
                                  const guint8          sender_public[LR_DISCO_KEY_SIZE],
                                  LrDiscoReplay        *replay,
                                  GError              **error);

G_END_DECLS
