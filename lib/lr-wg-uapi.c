/* lr-wg-uapi.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The parser is strict about the grammar (every line `key=value`, keys in [a-z_], decimal
 * numbers without sign, 64 hex digits per key, numeric endpoints, device keys before the
 * first peer, `errno=` last and exactly once, nothing after the empty line) and about value
 * ranges. It ignores keys it does not know, so a newer wireguard-go that reports more still
 * parses: what the helper reads is checked, what it does not read cannot hurt it.
 */
#include "lr-wg-uapi.h"
#include "lr-error.h"

#include <sodium.h>
#include <string.h>

void
lr_wg_uapi_peer_clear (LrWgUapiPeer *peer)
{
  g_clear_pointer (&peer->allowed_ips, g_ptr_array_unref);
}

void
lr_wg_uapi_device_free (LrWgUapiDevice *device)
{
  if (device == NULL)
    return;

  g_clear_pointer (&device->peers, g_array_unref);
  g_free (device);
}

/**
 * lr_wg_uapi_answer_length:
 * @buffer: bytes read so far from the socket
 * @length: how many
 *
 * An answer ends at its first empty line.
 *
 * Returns: the length of the complete answer at the start of @buffer (terminator
 *   included), or -1 if more bytes are needed
 */
gssize
lr_wg_uapi_answer_length (const char *buffer,
                          gsize       length)
{
  const char *end;

  if (length >= 1 && buffer[0] == '\n')
    return 1;

  if (length < 2)
    return -1;

  for (end = memchr (buffer, '\n', length - 1);
       end != NULL;
       end = memchr (end + 1, '\n', length - 1 - (end + 1 - buffer)))
    {
      if (end[1] == '\n')
        return (end - buffer) + 2;
    }

  return -1;
}

static gboolean
parse_decimal (const char *value,
               gsize       length,
               guint64     max,
               guint64    *out)
{
  guint64 result = 0;

  /* 20 digits is G_MAXUINT64's width; no sign, no spaces, no empty string. */
  if (length == 0 || length > 20)
    return FALSE;

  for (gsize i = 0; i < length; i++)
    {
      guint digit;

      if (!g_ascii_isdigit (value[i]))
        return FALSE;

      digit = (guint) (value[i] - '0');
      if (result > (G_MAXUINT64 - digit) / 10)
        return FALSE;

      result = result * 10 + digit;
    }

  if (result > max)
    return FALSE;

  *out = result;
  return TRUE;
}

static gboolean
parse_errno (const char *value,
             gsize       length,
             int        *out)
{
  gboolean negative = FALSE;
  guint64 magnitude;

  if (length > 0 && value[0] == '-')
    {
      negative = TRUE;
      value++;
      length--;
    }

  if (!parse_decimal (value, length, G_MAXINT, &magnitude))
    return FALSE;

  *out = negative ? -(int) magnitude : (int) magnitude;
  return TRUE;
}

static char *
parse_cidr (const char *value)
{
  g_autoptr(GInetAddressMask) mask = NULL;
  g_autofree char *address_text = NULL;

  if (strchr (value, '/') == NULL)
    return NULL;

  mask = g_inet_address_mask_new_from_string (value, NULL);
  if (mask == NULL)
    return NULL;

  /* g_inet_address_mask_to_string() drops a full-length prefix; WireGuard always has one. */
  address_text = g_inet_address_to_string (g_inet_address_mask_get_address (mask));
  return g_strdup_printf ("%s/%u", address_text, g_inet_address_mask_get_length (mask));
}

/**
 * lr_wg_uapi_check_cidr:
 * @cidr: an address with its prefix length, e.g. `10.66.0.7/32`
 *
 * Returns: %TRUE when @cidr is a numeric IPv4 or IPv6 prefix with no host bits set
 */
gboolean
lr_wg_uapi_check_cidr (const char  *cidr,
                       GError     **error)
{
  g_autofree char *canonical = NULL;

  if (cidr != NULL && strlen (cidr) < 64 && strpbrk (cidr, "\n=") == NULL)
    canonical = parse_cidr (cidr);

  if (canonical == NULL)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "“%s” is not an address prefix like 10.66.0.7/32",
                   cidr != NULL && strlen (cidr) < 64 ? cidr : "(too long)");
      return FALSE;
    }

  return TRUE;
}

static gboolean
key_is_well_formed (const char *key,
                    gsize       length)
{
  if (length == 0)
    return FALSE;

  for (gsize i = 0; i < length; i++)
    if (!g_ascii_islower (key[i]) && key[i] != '_')
      return FALSE;

  return TRUE;
}

static gboolean
value_is_well_formed (const char *value,
                      gsize       length)
{
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isgraph (value[i]))
      return FALSE;

  return TRUE;
}

typedef gboolean (*LineFunc) (gpointer     user_data,
                              const char  *key,
                              const char  *value,
                              gsize        value_length,
                              guint        line_number,
                              GError     **error);

/* Splits @text into `key=value` lines, checks the framing common to every answer and hands
 * each line but the final `errno=` to @func. */
static gboolean
parse_lines (const char  *text,
             gsize        length,
             LineFunc     func,
             gpointer     user_data,
             int         *out_errno,
             GError     **error)
{
  gsize pos = 0;
  guint line_number = 0;
  gboolean seen_errno = FALSE;

  if (length > LR_WG_UAPI_MAX_ANSWER_SIZE)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE,
                   "WireGuard answer is larger than %u bytes", LR_WG_UAPI_MAX_ANSWER_SIZE);
      return FALSE;
    }

  if (lr_wg_uapi_answer_length (text, length) != (gssize) length)
    {
      g_set_error_literal (error, LR_ERROR, LR_ERROR_MALFORMED,
                           "WireGuard answer does not end with exactly one empty line");
      return FALSE;
    }

  /* Drop the final newline: what is left is lines, each ending in '\n'. */
  length--;

  while (pos < length)
    {
      const char *line = text + pos;
      const char *newline = memchr (line, '\n', length - pos);
      const char *equals;
      gsize line_length;
      char key[32];
      gsize key_length;
      char value[LR_WG_UAPI_MAX_LINE_LENGTH + 1];
      gsize value_length;

      line_number++;

      /* The framing check above guarantees a newline, and no empty line before the end. */
      g_assert (newline != NULL);
      line_length = newline - line;
      pos += line_length + 1;

      if (seen_errno)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                       "WireGuard answer line %u: nothing may follow errno=", line_number);
          return FALSE;
        }

      if (line_length > LR_WG_UAPI_MAX_LINE_LENGTH)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE,
                       "WireGuard answer line %u is longer than %u bytes",
                       line_number, LR_WG_UAPI_MAX_LINE_LENGTH);
          return FALSE;
        }

      equals = memchr (line, '=', line_length);
      key_length = equals != NULL ? (gsize) (equals - line) : 0;
      if (equals == NULL || key_length >= sizeof key || !key_is_well_formed (line, key_length))
        {
          g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                       "WireGuard answer line %u is not key=value", line_number);
          return FALSE;
        }

      value_length = line_length - key_length - 1;
      if (!value_is_well_formed (equals + 1, value_length))
        {
          g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                       "WireGuard answer line %u has a value with spaces or control bytes",
                       line_number);
          return FALSE;
        }

      memcpy (key, line, key_length);
      key[key_length] = '\0';
      memcpy (value, equals + 1, value_length);
      value[value_length] = '\0';

      if (strcmp (key, "errno") == 0)
        {
          if (!parse_errno (value, value_length, out_errno))
            {
              g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                           "WireGuard answer line %u: errno is not a number", line_number);
              return FALSE;
            }
          seen_errno = TRUE;
          continue;
        }

      if (func == NULL)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                       "WireGuard answer line %u: expected only errno=", line_number);
          return FALSE;
        }

      if (!func (user_data, key, value, value_length, line_number, error))
        {
          sodium_memzero (value, sizeof value);
          return FALSE;
        }

      /* The value may have been a private key. */
      sodium_memzero (value, sizeof value);
    }

  if (!seen_errno)
    {
      g_set_error_literal (error, LR_ERROR, LR_ERROR_MALFORMED,
                           "WireGuard answer has no errno= line");
      return FALSE;
    }

  return TRUE;
}

/**
 * lr_wg_uapi_parse_set:
 * @text: a complete answer to a `set=1` request
 * @out_errno: (out): the daemon's errno, 0 on success, negative otherwise (e.g. -22)
 *
 * Returns: %TRUE if the answer is well formed (even when it reports an error in
 *   @out_errno), %FALSE with %LR_ERROR_MALFORMED otherwise
 */
gboolean
lr_wg_uapi_parse_set (const char  *text,
                      gsize        length,
                      int         *out_errno,
                      GError     **error)
{
  int answer_errno = 0;

  if (!parse_lines (text, length, NULL, NULL, &answer_errno, error))
    return FALSE;

  *out_errno = answer_errno;
  return TRUE;
}

typedef struct
{
  LrWgUapiDevice *device;
  LrWgUapiPeer   *peer;      /* the last peer in device->peers, or NULL before the first */
  GHashTable     *seen_keys; /* (element-type GBytes): public keys, to refuse duplicates */
} GetParser;

static gboolean
bad_value (GError     **error,
           guint        line_number,
           const char  *key)
{
  g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
               "WireGuard answer line %u: bad value for %s", line_number, key);
  return FALSE;
}

static gboolean
get_line (gpointer     user_data,
          const char  *key,
          const char  *value,
          gsize        value_length,
          guint        line_number,
          GError     **error)
{
  GetParser *parser = user_data;
  LrWgUapiDevice *device = parser->device;
  LrWgUapiPeer *peer = parser->peer;
  LrKey key_bytes;
  guint64 number;

  if (strcmp (key, "public_key") == 0)
    {
      LrWgUapiPeer new_peer = { 0 };
      g_autoptr(GBytes) bytes = NULL;

      if (!lr_key_from_hex (value, value_length, &key_bytes))
        return bad_value (error, line_number, key);

      if (device->peers->len >= LR_WG_UAPI_MAX_PEERS)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE,
                       "WireGuard answer has more than %u peers", LR_WG_UAPI_MAX_PEERS);
          return FALSE;
        }

      bytes = g_bytes_new (key_bytes.bytes, sizeof key_bytes.bytes);
      if (!g_hash_table_add (parser->seen_keys, g_steal_pointer (&bytes)))
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                       "WireGuard answer line %u: the same peer appears twice", line_number);
          return FALSE;
        }

      new_peer.public_key = key_bytes;
      new_peer.allowed_ips = g_ptr_array_new_with_free_func (g_free);
      g_array_append_val (device->peers, new_peer);
      parser->peer = &g_array_index (device->peers, LrWgUapiPeer, device->peers->len - 1);
      return TRUE;
    }

  /* Device keys come before the first peer. */
  if (strcmp (key, "private_key") == 0 || strcmp (key, "listen_port") == 0 ||
      strcmp (key, "fwmark") == 0)
    {
      if (peer != NULL)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                       "WireGuard answer line %u: %s after a peer", line_number, key);
          return FALSE;
        }

      if (strcmp (key, "private_key") == 0)
        {
          gboolean ok = lr_key_from_hex (value, value_length, &key_bytes);

          lr_key_clear (&key_bytes);
          if (!ok)
            return bad_value (error, line_number, key);
          device->has_private_key = TRUE;
        }
      else if (strcmp (key, "listen_port") == 0)
        {
          if (!parse_decimal (value, value_length, G_MAXUINT16, &number))
            return bad_value (error, line_number, key);
          device->listen_port = (guint16) number;
        }
      else
        {
          if (!parse_decimal (value, value_length, G_MAXUINT32, &number))
            return bad_value (error, line_number, key);
          device->fwmark = (guint32) number;
        }

      return TRUE;
    }

  if (strcmp (key, "preshared_key") == 0 || strcmp (key, "endpoint") == 0 ||
      strcmp (key, "last_handshake_time_sec") == 0 ||
      strcmp (key, "last_handshake_time_nsec") == 0 || strcmp (key, "tx_bytes") == 0 ||
      strcmp (key, "rx_bytes") == 0 || strcmp (key, "persistent_keepalive_interval") == 0 ||
      strcmp (key, "allowed_ip") == 0 || strcmp (key, "protocol_version") == 0)
    {
      if (peer == NULL)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                       "WireGuard answer line %u: %s before any public_key", line_number, key);
          return FALSE;
        }
    }
  else
    {
      g_debug ("Ignoring unknown WireGuard answer key %s", key);
      return TRUE;
    }

  if (strcmp (key, "preshared_key") == 0)
    {
      gboolean ok = lr_key_from_hex (value, value_length, &key_bytes);

      /* An all-zero key is how the protocol says "none". */
      peer->has_preshared_key = ok && !lr_key_is_zero (&key_bytes);
      lr_key_clear (&key_bytes);
      if (!ok)
        return bad_value (error, line_number, key);
    }
  else if (strcmp (key, "endpoint") == 0)
    {
      if (!lr_addr_parse (value, &peer->endpoint))
        return bad_value (error, line_number, key);
    }
  else if (strcmp (key, "allowed_ip") == 0)
    {
      char *cidr = parse_cidr (value);

      if (cidr == NULL)
        return bad_value (error, line_number, key);
      if (peer->allowed_ips->len >= LR_WG_UAPI_MAX_ALLOWED_IPS)
        {
          g_free (cidr);
          g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE,
                       "WireGuard answer has a peer with more than %u allowed IPs",
                       LR_WG_UAPI_MAX_ALLOWED_IPS);
          return FALSE;
        }
      g_ptr_array_add (peer->allowed_ips, cidr);
    }
  else if (strcmp (key, "protocol_version") == 0)
    {
      /* Version 1 is the only one there is; anything else would change what keys mean. */
      if (!parse_decimal (value, value_length, G_MAXUINT32, &number) || number != 1)
        return bad_value (error, line_number, key);
    }
  else if (strcmp (key, "last_handshake_time_nsec") == 0)
    {
      if (!parse_decimal (value, value_length, G_USEC_PER_SEC * 1000 - 1, &number))
        return bad_value (error, line_number, key);
      peer->last_handshake_nsec = (gint64) number;
    }
  else if (strcmp (key, "persistent_keepalive_interval") == 0)
    {
      if (!parse_decimal (value, value_length, G_MAXUINT16, &number))
        return bad_value (error, line_number, key);
      peer->persistent_keepalive = (guint) number;
    }
  else
    {
      if (!parse_decimal (value, value_length,
                          strcmp (key, "last_handshake_time_sec") == 0 ? G_MAXINT64 : G_MAXUINT64,
                          &number))
        return bad_value (error, line_number, key);

      if (strcmp (key, "last_handshake_time_sec") == 0)
        peer->last_handshake_sec = (gint64) number;
      else if (strcmp (key, "tx_bytes") == 0)
        peer->tx_bytes = number;
      else
        peer->rx_bytes = number;
    }

  return TRUE;
}

/**
 * lr_wg_uapi_parse_get:
 * @text: a complete answer to `get=1`, terminator included
 *
 * Returns: (transfer full): the device, or %NULL with an %LR_ERROR (a malformed answer) or
 *   %LR_ERROR_FAILED (a well-formed answer with a non-zero errno)
 */
LrWgUapiDevice *
lr_wg_uapi_parse_get (const char  *text,
                      gsize        length,
                      GError     **error)
{
  g_autoptr(LrWgUapiDevice) device = g_new0 (LrWgUapiDevice, 1);
  g_autoptr(GHashTable) seen_keys = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                          (GDestroyNotify) g_bytes_unref,
                                                          NULL);
  GetParser parser = { device, NULL, seen_keys };
  int answer_errno = 0;

  device->peers = g_array_new (FALSE, TRUE, sizeof (LrWgUapiPeer));
  g_array_set_clear_func (device->peers, (GDestroyNotify) lr_wg_uapi_peer_clear);

  if (!parse_lines (text, length, get_line, &parser, &answer_errno, error))
    return NULL;

  if (answer_errno != 0)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_FAILED,
                   "WireGuard refused to report its state: errno %d (%s)",
                   answer_errno, g_strerror (ABS (answer_errno)));
      return NULL;
    }

  return g_steal_pointer (&device);
}

/**
 * lr_wg_uapi_append_key:
 * @request: a request being built; wipe it with sodium_memzero() when it held a private key
 *
 * Appends `name=HEX\n`.
 */
void
lr_wg_uapi_append_key (GString     *request,
                       const char  *name,
                       const LrKey *key)
{
  char hex[LR_KEY_HEX_LENGTH + 1];

  lr_key_to_hex (key, hex);
  g_string_append (request, name);
  g_string_append_c (request, '=');
  g_string_append (request, hex);
  g_string_append_c (request, '\n');
  sodium_memzero (hex, sizeof hex);
}

