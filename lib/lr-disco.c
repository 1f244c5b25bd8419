/* lr-disco.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-disco.h"

#include "lr-bytes.h"
#include "lr-error.h"

#include <sodium.h>
#include <string.h>

G_STATIC_ASSERT (LR_DISCO_KEY_SIZE == crypto_box_PUBLICKEYBYTES);
G_STATIC_ASSERT (LR_DISCO_KEY_SIZE == crypto_box_SECRETKEYBYTES);
G_STATIC_ASSERT (LR_DISCO_NONCE_SIZE == crypto_box_NONCEBYTES);
G_STATIC_ASSERT (LR_DISCO_MAC_SIZE == crypto_box_MACBYTES);
G_STATIC_ASSERT (sizeof LR_DISCO_MAGIC - 1 == LR_DISCO_MAGIC_SIZE);

static gsize
address_size (const LrStunAddress *address)
{
  if (address->family == LR_STUN_FAMILY_IPV4)
    return 1 + 2 + 4;
  if (address->family == LR_STUN_FAMILY_IPV6)
    return 1 + 2 + 16;
  return 0;
}

/* Returns the bytes written, or 0 for an address that cannot be sent. */
static gsize
encode_address (const LrStunAddress *address,
                guint8              *out,
                gsize                size)
{
  gsize length = address_size (address);

  if (length == 0 || length > size || address->port == 0)
    return 0;
  out[0] = address->family == LR_STUN_FAMILY_IPV4 ? 4 : 6;
  lr_bytes_write_be16 (out + 1, address->port);
  memcpy (out + 3, address->address, length - 3);
  return length;
}

static gsize
decode_address (LrStunAddress *address,
                const guint8  *data,
                gsize          length)
{
  gsize needed;

  if (length < 3 || (data[0] != 4 && data[0] != 6))
    return 0;
  needed = data[0] == 4 ? 3 + 4 : 3 + 16;
  if (length < needed)
    return 0;
  memset (address, 0, sizeof *address);
  address->family = data[0] == 4 ? LR_STUN_FAMILY_IPV4 : LR_STUN_FAMILY_IPV6;
  address->port = lr_bytes_read_be16 (data + 1);
  if (address->port == 0)
    return 0;
  memcpy (address->address, data + 3, needed - 3);
  return needed;
}

/**
 * lr_disco_message_encode:
 *
 * Writes the plaintext of @self into @out. Returns its length, or 0 when @self cannot be
 * sent (an unknown type, no or too many candidates, an address without a family or port)
 * or @size is too small.
 */
gsize
lr_disco_message_encode (const LrDiscoMessage *self,
                         guint8               *out,
                         gsize                 size)
{
  gsize length = 1;
  gsize n;

  if (size < 1)
    return 0;
  out[0] = self->type;
  switch (self->type)
    {
    case LR_DISCO_PING:
    case LR_DISCO_PONG:
      if (size < length + LR_DISCO_TRANSACTION_SIZE)
        return 0;
      memcpy (out + length, self->transaction_id, LR_DISCO_TRANSACTION_SIZE);
      length += LR_DISCO_TRANSACTION_SIZE;
      if (self->type == LR_DISCO_PING)
        return length;
      n = encode_address (&self->observed, out + length, size - length);
      return n == 0 ? 0 : length + n;

    case LR_DISCO_CALL_ME_MAYBE:
      if (self->n_candidates == 0 || self->n_candidates > LR_DISCO_MAX_CANDIDATES ||
          size < length + 1)
        return 0;
      out[length++] = self->n_candidates;
      for (guint i = 0; i < self->n_candidates; i++)
        {
          n = encode_address (&self->candidates[i], out + length, size - length);
          if (n == 0)
            return 0;
          length += n;
        }
      return length;

    default:
      return 0;
    }
}

/**
 * lr_disco_message_decode:
 *
 * Reads a plaintext strictly: a known type, exactly the bytes it needs, addresses of family
 * 4 or 6 with a port.
 */
gboolean
lr_disco_message_decode (LrDiscoMessage  *self,
                         const guint8    *data,
                         gsize            length,
                         GError         **error)
{
  gsize at = 1;
  gsize n;

  memset (self, 0, sizeof *self);
  if (length < 1)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "disco: empty message");
      return FALSE;
    }

  self->type = data[0];
  switch (self->type)
    {
    case LR_DISCO_PING:
    case LR_DISCO_PONG:
      if (length < at + LR_DISCO_TRANSACTION_SIZE)
        break;
      memcpy (self->transaction_id, data + at, LR_DISCO_TRANSACTION_SIZE);
      at += LR_DISCO_TRANSACTION_SIZE;
      if (self->type == LR_DISCO_PONG)
        {
          n = decode_address (&self->observed, data + at, length - at);
          if (n == 0)
            break;
          at += n;
        }
      if (at == length)
        return TRUE;
      break;

    case LR_DISCO_CALL_ME_MAYBE:
      if (length < 2 || data[1] == 0 || data[1] > LR_DISCO_MAX_CANDIDATES)
        break;
      self->n_candidates = data[1];
      at = 2;
      for (guint i = 0; i < self->n_candidates && at != 0; i++)
        {
          n = decode_address (&self->candidates[i], data + at, length - at);
          at = n == 0 ? 0 : at + n;
        }
      if (at == length)
        return TRUE;
      break;

    default:
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "disco: unknown message type %u",
                   data[0]);
      return FALSE;
    }

  g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "disco: a %s of %zu bytes is malformed",
               self->type == LR_DISCO_PING ? "ping" :
               self->type == LR_DISCO_PONG ? "pong" : "call-me-maybe", length);
  return FALSE;
}

void
lr_disco_nonce_make (guint64 counter,
                     guint8  nonce[LR_DISCO_NONCE_SIZE])
{
  for (guint i = 0; i < 8; i++)
    nonce[i] = counter >> (56 - 8 * i);
  randombytes_buf (nonce + 8, LR_DISCO_NONCE_SIZE - 8);
}

G_STATIC_ASSERT (sizeof (LrDiscoSharedKey) == crypto_box_BEFORENMBYTES);

/**
 * lr_disco_shared_key_init:
 *
 * The key for messages between the holder of @own_secret and @peer_public, either way.
 * FALSE for a peer key with no shared secret (a low-order point): nothing can be sent to
 * or taken from it.
 */
gboolean
lr_disco_shared_key_init (LrDiscoSharedKey *self,
                          const guint8      peer_public[LR_DISCO_KEY_SIZE],
                          const guint8      own_secret[LR_DISCO_KEY_SIZE])
{
  return crypto_box_beforenm (self->bytes, peer_public, own_secret) == 0;
}

void
lr_disco_shared_key_clear (LrDiscoSharedKey *self)
{
  sodium_memzero (self->bytes, sizeof self->bytes);
}

/**
 * lr_disco_seal_shared:
 * @nonce: from lr_disco_nonce_make() with the sender's next counter
 *
 * Writes the packet for @message into @out. Returns its length, or 0 when the message
 * cannot be sent or @size is too small.
 */
gsize
lr_disco_seal_shared (const LrDiscoMessage   *message,
                      const guint8            sender_public[LR_DISCO_KEY_SIZE],
                      const LrDiscoSharedKey *key,
                      const guint8            nonce[LR_DISCO_NONCE_SIZE],
                      guint8                 *out,
                      gsize                   size)
{
  guint8 plaintext[LR_DISCO_MAX_PLAINTEXT];
  gsize length = lr_disco_message_encode (message, plaintext, sizeof plaintext);
  gsize total = LR_DISCO_HEADER_SIZE + LR_DISCO_MAC_SIZE + length;
  gboolean ok;

  if (length == 0 || size < total)
    {
      sodium_memzero (plaintext, sizeof plaintext);
      return 0;
    }

  memcpy (out, LR_DISCO_MAGIC, LR_DISCO_MAGIC_SIZE);
  memcpy (out + LR_DISCO_MAGIC_SIZE, sender_public, LR_DISCO_KEY_SIZE);
  memcpy (out + LR_DISCO_MAGIC_SIZE + LR_DISCO_KEY_SIZE, nonce, LR_DISCO_NONCE_SIZE);
  ok = crypto_box_easy_afternm (out + LR_DISCO_HEADER_SIZE, plaintext, length, nonce,
                                key->bytes) == 0;
  sodium_memzero (plaintext, sizeof plaintext);
  return ok ? total : 0;
}

/**
 * lr_disco_seal:
 *
 * lr_disco_seal_shared() with the shared key computed for this one message.
 */
gsize
lr_disco_seal (const LrDiscoMessage *message,
               const guint8          sender_public[LR_DISCO_KEY_SIZE],
               const guint8          sender_secret[LR_DISCO_KEY_SIZE],
               const guint8          receiver_public[LR_DISCO_KEY_SIZE],
               const guint8          nonce[LR_DISCO_NONCE_SIZE],
               guint8               *out,
               gsize                 size)
{
  LrDiscoSharedKey key;
  gsize length = 0;

  if (lr_disco_shared_key_init (&key, receiver_public, sender_secret))
    length = lr_disco_seal_shared (message, sender_public, &key, nonce, out, size);
  lr_disco_shared_key_clear (&key);
  return length;
}

/**
 * lr_disco_peek_sender:
 *
 * The sender's key of what looks like a disco packet, to find the peer it claims to come
 * from. Nothing is authenticated yet.
 */
gboolean
lr_disco_peek_sender (const guint8 *data,
                      gsize         length,
                      guint8        sender_public[LR_DISCO_KEY_SIZE])
{
  if (data == NULL || length < LR_DISCO_HEADER_SIZE + LR_DISCO_MAC_SIZE + 1 ||
      memcmp (data, LR_DISCO_MAGIC, LR_DISCO_MAGIC_SIZE) != 0)
    return FALSE;
  memcpy (sender_public, data + LR_DISCO_MAGIC_SIZE, LR_DISCO_KEY_SIZE);
  return TRUE;
}

/* RFC 6479's window: TRUE (and the counter marked) when @counter was not taken before. */
static gboolean
replay_accept (LrDiscoReplay *self,
               guint64        counter)
{
  guint64 behind;

  if (!self->started)
    {
      self->started = TRUE;
      self->highest = counter;
      self->seen = 1;
      return TRUE;
    }
  if (counter > self->highest)
    {
      guint64 ahead = counter - self->highest;

      self->seen = ahead >= LR_DISCO_REPLAY_WINDOW ? 0 : self->seen << ahead;
      self->seen |= 1;
      self->highest = counter;
      return TRUE;
    }
  behind = self->highest - counter;
  if (behind >= LR_DISCO_REPLAY_WINDOW || (self->seen & (G_GUINT64_CONSTANT (1) << behind)))
    return FALSE;
  self->seen |= G_GUINT64_CONSTANT (1) << behind;
  return TRUE;
}

/**
 * lr_disco_open_shared:
 * @sender_public: the disco key the party knows for the peer the packet claims to be from
 * @key: the key shared with that peer
 * @replay: (nullable): that peer's replay window, updated when the message is taken
 *
 * Authenticates and reads one packet. Fails (and changes nothing) for a packet that is not
 * disco, comes from another key, does not open with this key, is malformed inside, or was
 * taken before.
 */
gboolean
lr_disco_open_shared (LrDiscoMessage          *self,
                      const guint8            *data,
                      gsize                    length,
                      const guint8             sender_public[LR_DISCO_KEY_SIZE],
                      const LrDiscoSharedKey  *key,
                      LrDiscoReplay           *replay,
                      GError                 **error)
{
  guint8 plaintext[LR_DISCO_MAX_PLAINTEXT];
  const guint8 *nonce;
  gsize plaintext_length;
  guint64 counter = 0;
  gboolean ok;

  memset (self, 0, sizeof *self);
  if (data == NULL || length < LR_DISCO_HEADER_SIZE + LR_DISCO_MAC_SIZE + 1 ||
      length > LR_DISCO_MAX_SIZE || memcmp (data, LR_DISCO_MAGIC, LR_DISCO_MAGIC_SIZE) != 0)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "disco: not a disco packet");
      return FALSE;
    }
  if (memcmp (data + LR_DISCO_MAGIC_SIZE, sender_public, LR_DISCO_KEY_SIZE) != 0)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID_TOKEN, "disco: from another sender");
      return FALSE;
    }

  nonce = data + LR_DISCO_MAGIC_SIZE + LR_DISCO_KEY_SIZE;
  plaintext_length = length - LR_DISCO_HEADER_SIZE - LR_DISCO_MAC_SIZE;
  if (crypto_box_open_easy_afternm (plaintext, data + LR_DISCO_HEADER_SIZE,
                                    length - LR_DISCO_HEADER_SIZE, nonce, key->bytes) != 0)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID_TOKEN,
                   "disco: does not open with the sender's key");
      return FALSE;
    }

  ok = lr_disco_message_decode (self, plaintext, plaintext_length, error);
  sodium_memzero (plaintext, sizeof plaintext);
  if (!ok)
    return FALSE;

  for (guint i = 0; i < 8; i++)
    counter = counter << 8 | nonce[i];
  if (replay != NULL && !replay_accept (replay, counter))
    {
      memset (self, 0, sizeof *self);
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "disco: message %" G_GUINT64_FORMAT
                   " replayed or too old", counter);
      return FALSE;
    }
  return TRUE;
}

/**
 * lr_disco_open:
 *
 * lr_disco_open_shared() with the shared key computed for this one packet.
 */
gboolean
lr_disco_open (LrDiscoMessage  *self,
               const guint8    *data,
               gsize            length,
               const guint8     receiver_secret[LR_DISCO_KEY_SIZE],
               const guint8     sender_public[LR_DISCO_KEY_SIZE],
               LrDiscoReplay   *replay,
               GError         **error)
{
  LrDiscoSharedKey key;
  gboolean ok;

  if (!lr_disco_shared_key_init (&key, sender_public, receiver_secret))
    {
      memset (self, 0, sizeof *self);
      lr_disco_shared_key_clear (&key);
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID_TOKEN, "disco: unusable sender key");
      return FALSE;
    }
  ok = lr_disco_open_shared (self, data, length, sender_public, &key, replay, error);
  lr_disco_shared_key_clear (&key);
  return ok;
}
