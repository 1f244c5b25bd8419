/* lr-stun.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-stun.h"
#include "lr-bytes.h"
#include "lr-error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* RFC 8489 section 14.7: the CRC-32 of FINGERPRINT is XORed with "STUN". */
#define FINGERPRINT_XOR 0x5354554eu
#define HMAC_SHA1_SIZE   20
#define HMAC_SHA256_SIZE 32
/* RFC 8489 section 14.8: at most 763 bytes of reason phrase. */
#define MAX_REASON_BYTES 763

/**
 * lr_stun_is_message:
 *
 * Tells a STUN message from anything else sharing the port (RFC 8489 section 5 and RFC 7983):
 * the two top bits are zero, the length is a multiple of four that matches the datagram, and
 * the magic cookie is in place. Cheap enough for every packet.
 */
gboolean
lr_stun_is_message (const guint8 *data,
                    gsize         length)
{
  if (length < LR_STUN_HEADER_SIZE || (data[0] & 0xc0) != 0)
    return FALSE;
  return lr_bytes_read_be32 (data + 4) == LR_STUN_MAGIC_COOKIE;
}

static const LrStunAttribute *
find_attribute (const LrStunMessage *self,
                guint16              type,
                guint               *index)
{
  for (guint i = 0; i < self->n_attributes; i++)
    {
      if (self->attributes[i].type == type)
        {
          if (index != NULL)
            *index = i;
          return &self->attributes[i];
        }
    }
  return NULL;
}

gboolean
lr_stun_message_parse (LrStunMessage  *self,
                       const guint8   *data,
                       gsize           length,
                       GError        **error)
{
  guint16 type, body_length;
  gsize offset;
  gboolean seen_fingerprint = FALSE;

  memset (self, 0, sizeof *self);

  if (!lr_stun_is_message (data, length))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "Not a STUN message");
      return FALSE;
    }

  body_length = lr_bytes_read_be16 (data + 2);
  if (body_length % 4 != 0 || (gsize) body_length + LR_STUN_HEADER_SIZE != length)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                   "STUN length %u does not match the datagram's %zu bytes",
                   body_length, length);
      return FALSE;
    }

  type = lr_bytes_read_be16 (data);
  self->data = data;
  self->length = length;
  /* RFC 8489 section 5, figure 3: the class bits sit between the method bits. */
  self->klass = ((type >> 7) & 0x2) | ((type >> 4) & 0x1);
  self->method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  self->transaction_id = data + 8;

  offset = LR_STUN_HEADER_SIZE;
  while (offset < length)
    {
      guint16 attr_type, attr_length;
      gsize padded;

      if (length - offset < 4)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "Truncated STUN attribute header");
          return FALSE;
        }

      attr_type = lr_bytes_read_be16 (data + offset);
      attr_length = lr_bytes_read_be16 (data + offset + 2);
      padded = ((gsize) attr_length + 3) & ~(gsize) 3;
      if (padded > length - offset - 4)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                       "STUN attribute 0x%04x runs past the message", attr_type);
          return FALSE;
        }

      /* Section 14.7: FINGERPRINT is always the last attribute. */
      if (seen_fingerprint)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "STUN attribute after FINGERPRINT");
          return FALSE;
        }

      if (self->n_attributes == LR_STUN_MAX_ATTRIBUTES)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE, "Too many STUN attributes");
          return FALSE;
        }

      self->attributes[self->n_attributes].type = attr_type;
      self->attributes[self->n_attributes].length = attr_length;
      self->attributes[self->n_attributes].value = data + offset + 4;
      self->n_attributes++;

      if (attr_type == LR_STUN_ATTR_FINGERPRINT)
        seen_fingerprint = TRUE;

      offset += 4 + padded;
    }

  return TRUE;
}

const LrStunAttribute *
lr_stun_message_find (const LrStunMessage *self,
                      guint16              type)
{
  return find_attribute (self, type, NULL);
}

static gboolean
read_address (const LrStunAttribute *attr,
              const guint8          *transaction_id,
              gboolean               xored,
              LrStunAddress         *out)
{
  guint8 family;
  guint8 mask[16];

  if (attr->length < 4)
    return FALSE;

  family = attr->value[1];
  if (!((family == LR_STUN_FAMILY_IPV4 && attr->length == 8) ||
        (family == LR_STUN_FAMILY_IPV6 && attr->length == 20)))
    return FALSE;

  memset (out, 0, sizeof *out);
  out->family = family;
  out->port = lr_bytes_read_be16 (attr->value + 2);
  memcpy (out->address, attr->value + 4, family == LR_STUN_FAMILY_IPV4 ? 4 : 16);

  if (xored)
    {
      /* Section 14.2: port and address are XORed with the cookie, then the transaction id. */
      lr_bytes_write_be32 (mask, LR_STUN_MAGIC_COOKIE);
      memcpy (mask + 4, transaction_id, LR_STUN_TRANSACTION_SIZE);
      out->port ^= LR_STUN_MAGIC_COOKIE >> 16;
      for (guint i = 0; i < (family == LR_STUN_FAMILY_IPV4 ? 4u : 16u); i++)
        out->address[i] ^= mask[i];
    }

  return TRUE;
}

static gboolean
is_xor_address (guint16 type)
{
  return type == LR_STUN_ATTR_XOR_MAPPED_ADDRESS;
}

/**
 * lr_stun_message_get_address:
 *
 * Reads an address attribute of either kind (XOR-MAPPED-ADDRESS is unXORed; MAPPED-ADDRESS,
 * OTHER-ADDRESS, RESPONSE-ORIGIN, CHANGED-ADDRESS, SOURCE-ADDRESS and ALTERNATE-SERVER are
 * read as they are).
 */
gboolean
lr_stun_message_get_address (const LrStunMessage *self,
                             guint16              type,
                             LrStunAddress       *out)
{
  const LrStunAttribute *attr = find_attribute (self, type, NULL);

  if (attr == NULL)
    return FALSE;
  return read_address (attr, self->transaction_id, is_xor_address (type), out);
}

gboolean
lr_stun_message_get_u32 (const LrStunMessage *self,
                         guint16              type,
                         guint32             *out)
{
  const LrStunAttribute *attr = find_attribute (self, type, NULL);

  if (attr == NULL || attr->length != 4)
    return FALSE;
  *out = lr_bytes_read_be32 (attr->value);
  return TRUE;
}

/**
 * lr_stun_message_dup_string:
 *
 * Returns: (transfer full) (nullable): a text attribute (SOFTWARE, USERNAME, REALM, NONCE)
 *   as a string, or %NULL when it is absent or not valid UTF-8.
 */
char *
lr_stun_message_dup_string (const LrStunMessage *self,
                            guint16              type)
{
  const LrStunAttribute *attr = find_attribute (self, type, NULL);

  if (attr == NULL || !g_utf8_validate_len ((const char *) attr->value, attr->length, NULL))
    return NULL;
  return g_strndup ((const char *) attr->value, attr->length);
}

gboolean
lr_stun_message_get_error (const LrStunMessage  *self,
                           guint                *code,
                           char                **reason)
{
  const LrStunAttribute *attr = find_attribute (self, LR_STUN_ATTR_ERROR_CODE, NULL);
  guint klass, number;

  if (attr == NULL || attr->length < 4)
    return FALSE;

  klass = attr->value[2] & 0x7;
  number = attr->value[3];
  if (klass < 3 || klass > 6 || number > 99)
    return FALSE;

  if (code != NULL)
    *code = klass * 100 + number;
  if (reason != NULL)
    {
      const char *text = (const char *) attr->value + 4;
      gsize text_length = attr->length - 4;

      *reason = g_utf8_validate_len (text, text_length, NULL) ? g_strndup (text, text_length)
                                                               : g_strdup ("");
    }
  return TRUE;
}

/* The IEEE 802.3 CRC-32 that FINGERPRINT uses (RFC 8489 section 14.7, ISO/IEC 13239). */
guint32
lr_stun_crc32 (const guint8 *data,
               gsize         length)
{
  static guint32 table[256];
  static gsize table_ready = 0;
  guint32 crc = 0xffffffffu;

  if (g_once_init_enter (&table_ready))
    {
      for (guint32 i = 0; i < 256; i++)
        {
          guint32 c = i;

          for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
          table[i] = c;
        }
      g_once_init_leave (&table_ready, 1);
    }

  for (gsize i = 0; i < length; i++)
    crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

gboolean
lr_stun_message_check_fingerprint (const LrStunMessage *self)
{
  guint index;
  const LrStunAttribute *attr = find_attribute (self, LR_STUN_ATTR_FINGERPRINT, &index);
  gsize covered;

  if (attr == NULL || attr->length != 4 || index != self->n_attributes - 1)
    return FALSE;

  covered = (attr->value - 4) - self->data;
  return (lr_stun_crc32 (self->data, covered) ^ FINGERPRINT_XOR) ==
         lr_bytes_read_be32 (attr->value);
}

/* Section 14.5: the HMAC covers the header, with the length rewritten to end just after the
 * MESSAGE-INTEGRITY attribute, and every attribute before it. */
static void
compute_integrity (const guint8 *data,
                   gsize         attr_offset,
                   const guint8 *key,
                   gsize         key_length,
                   guint8        out[HMAC_SHA1_SIZE])
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA1, key, key_length);
  guint8 header[LR_STUN_HEADER_SIZE];
  gsize digest_length = HMAC_SHA1_SIZE;

  memcpy (header, data, LR_STUN_HEADER_SIZE);
  lr_bytes_write_be16 (header + 2, attr_offset + 4 + HMAC_SHA1_SIZE - LR_STUN_HEADER_SIZE);
  g_hmac_update (hmac, header, LR_STUN_HEADER_SIZE);
  g_hmac_update (hmac, data + LR_STUN_HEADER_SIZE, attr_offset - LR_STUN_HEADER_SIZE);
  g_hmac_get_digest (hmac, out, &digest_length);
}

/**
 * lr_stun_message_check_integrity:
 * @key: the short-term password, or the long-term key from lr_stun_long_term_key()
 *
 * Checks MESSAGE-INTEGRITY (HMAC-SHA1) in constant time.
 */
gboolean
lr_stun_message_check_integrity (const LrStunMessage *self,
                                 const guint8        *key,
                                 gsize                key_length)
{
  const LrStunAttribute *attr = find_attribute (self, LR_STUN_ATTR_MESSAGE_INTEGRITY, NULL);
  guint8 mac[HMAC_SHA1_SIZE];
  guint8 diff = 0;

  if (attr == NULL || attr->length != HMAC_SHA1_SIZE)
    return FALSE;

  compute_integrity (self->data, (attr->value - 4) - self->data, key, key_length, mac);
  for (guint i = 0; i < HMAC_SHA1_SIZE; i++)
    diff |= mac[i] ^ attr->value[i];
  return diff == 0;
}

/* What this codec understands; anything else below 0x8000 is comprehension-required
 * (section 14) and makes a server answer 420. */
gboolean
lr_stun_attribute_type_is_known (guint16 type)
{
  switch (type)
    {
    case LR_STUN_ATTR_MAPPED_ADDRESS:
    case LR_STUN_ATTR_RESPONSE_ADDRESS:
    case LR_STUN_ATTR_CHANGE_REQUEST:
    case LR_STUN_ATTR_SOURCE_ADDRESS:
    case LR_STUN_ATTR_CHANGED_ADDRESS:
    case LR_STUN_ATTR_USERNAME:
    case LR_STUN_ATTR_MESSAGE_INTEGRITY:
    case LR_STUN_ATTR_ERROR_CODE:
    case LR_STUN_ATTR_UNKNOWN_ATTRIBUTES:
    case LR_STUN_ATTR_REALM:
    case LR_STUN_ATTR_NONCE:
    case LR_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
    case LR_STUN_ATTR_PASSWORD_ALGORITHM:
    case LR_STUN_ATTR_USERHASH:
    case LR_STUN_ATTR_XOR_MAPPED_ADDRESS:
    case LR_STUN_ATTR_PADDING:
    case LR_STUN_ATTR_RESPONSE_PORT:
      return TRUE;
    default:
      return type >= 0x8000;
    }
}

gboolean
lr_stun_message_has_unknown_required (const LrStunMessage *self,
                                      guint16             *first_unknown)
{
  for (guint i = 0; i < self->n_attributes; i++)
    {
      if (!lr_stun_attribute_type_is_known (self->attributes[i].type))
        {
          if (first_unknown != NULL)
            *first_unknown = self->attributes[i].type;
          return TRUE;
        }
    }
  return FALSE;
}

/**
 * lr_stun_long_term_key:
 *
 * The long-term credential key of RFC 8489 section 9.2.2: MD5 of "username:realm:password".
 * The caller applies OpaqueString (RFC 8265) to the password first where it may hold more
 * than ASCII.
 */
void
lr_stun_long_term_key (const char *username,
                       const char *realm,
                       const char *password,
                       guint8      key[16])
{
  g_autoptr(GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  gsize length = 16;

  g_checksum_update (md5, (const guchar *) username, -1);
  g_checksum_update (md5, (const guchar *) ":", 1);
  g_checksum_update (md5, (const guchar *) realm, -1);
  g_checksum_update (md5, (const guchar *) ":", 1);
  g_checksum_update (md5, (const guchar *) password, -1);
  g_checksum_get_digest (md5, key, &length);
}

char *
lr_stun_address_to_string (const LrStunAddress *address)
{
  char text[INET6_ADDRSTRLEN];

  if (address->family == LR_STUN_FAMILY_IPV4)
    {
      inet_ntop (AF_INET, address->address, text, sizeof text);
      return g_strdup_printf ("%s:%u", text, address->port);
    }
  inet_ntop (AF_INET6, address->address, text, sizeof text);
  return g_strdup_printf ("[%s]:%u", text, address->port);
}

gboolean
lr_stun_address_from_sockaddr (LrStunAddress *self,
                               gconstpointer  sockaddr,
                               gsize          length)
{
  const struct sockaddr *sa = sockaddr;

  memset (self, 0, sizeof *self);
  if (sa->sa_family == AF_INET && length >= sizeof (struct sockaddr_in))
    {
      const struct sockaddr_in *sin = sockaddr;

      self->family = LR_STUN_FAMILY_IPV4;
      self->port = ntohs (sin->sin_port);
      memcpy (self->address, &sin->sin_addr, 4);
      return TRUE;
    }
  if (sa->sa_family == AF_INET6 && length >= sizeof (struct sockaddr_in6))
    {
      const struct sockaddr_in6 *sin6 = sockaddr;

      /* A v4-mapped address (a dual-stack socket) is reported as the v4 address it is. */
      if (IN6_IS_ADDR_V4MAPPED (&sin6->sin6_addr))
        {
          self->family = LR_STUN_FAMILY_IPV4;
          memcpy (self->address, sin6->sin6_addr.s6_addr + 12, 4);
        }
      else
        {
          self->family = LR_STUN_FAMILY_IPV6;
          memcpy (self->address, &sin6->sin6_addr, 16);
        }
      self->port = ntohs (sin6->sin6_port);
      return TRUE;
    }
  return FALSE;
}

gsize
lr_stun_address_to_sockaddr (const LrStunAddress *self,
                             gpointer             sockaddr,
                             gsize                length)
{
  if (self->family == LR_STUN_FAMILY_IPV4 && length >= sizeof (struct sockaddr_in))
    {
      struct sockaddr_in *sin = sockaddr;

      memset (sin, 0, sizeof *sin);
      sin->sin_family = AF_INET;
      sin->sin_port = htons (self->port);
      memcpy (&sin->sin_addr, self->address, 4);
      return sizeof *sin;
    }
  if (self->family == LR_STUN_FAMILY_IPV6 && length >= sizeof (struct sockaddr_in6))
    {
      struct sockaddr_in6 *sin6 = sockaddr;

      memset (sin6, 0, sizeof *sin6);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons (self->port);
      memcpy (&sin6->sin6_addr, self->address, 16);
      return sizeof *sin6;
    }
  return 0;
}

/**
 * lr_stun_address_parse:
 *
 * Reads `a.b.c.d:port` or `[v6]:port`, the form lr_endpoint_normalize() accepts. Port 0 is
 * allowed here (a socket asks the kernel for a free port with it).
 */
gboolean
lr_stun_address_parse (LrStunAddress *self,
                       const char    *text)
{
  g_autofree char *host = NULL;
  const char *port_text;
  guint64 port;

  memset (self, 0, sizeof *self);
  if (text == NULL)
    return FALSE;

  if (text[0] == '[')
    {
      const char *end = strchr (text, ']');

      if (end == NULL || end[1] != ':')
        return FALSE;
      host = g_strndup (text + 1, end - text - 1);
      port_text = end + 2;
      self->family = LR_STUN_FAMILY_IPV6;
      if (inet_pton (AF_INET6, host, self->address) != 1)
        return FALSE;
    }
  else
    {
      const char *colon = strrchr (text, ':');

      if (colon == NULL)
        return FALSE;
      host = g_strndup (text, colon - text);
      port_text = colon + 1;
      self->family = LR_STUN_FAMILY_IPV4;
      if (inet_pton (AF_INET, host, self->address) != 1)
        return FALSE;
    }

  if (!g_ascii_string_to_unsigned (port_text, 10, 0, 65535, &port, NULL))
    return FALSE;
  self->port = port;
  return TRUE;
}

/**
 * lr_stun_address_equal:
 *
 * Same family, address and port. Bytes past the family's address length are not compared,
 * so an address read from the wire equals one built from a sockaddr.
 */
gboolean
lr_stun_address_equal (const LrStunAddress *a,
                       const LrStunAddress *b)
{
  gsize length = a->family == LR_STUN_FAMILY_IPV4 ? 4 : 16;

  return a->family == b->family && a->port == b->port &&
         memcmp (a->address, b->address, length) == 0;
}

/* The builder. */

static void
update_length (LrStunBuilder *self)
{
  lr_bytes_write_be16 (self->data + 2, self->length - LR_STUN_HEADER_SIZE);
}

void
lr_stun_builder_init (LrStunBuilder *self,
                      guint8        *buffer,
                      gsize          size,
                      guint16        method,
                      LrStunClass    klass,
                      const guint8  *transaction_id)
{
  guint16 type;

  self->data = buffer;
  self->size = size;
  self->length = 0;
  self->failed = size < LR_STUN_HEADER_SIZE || method > 0xfff;
  if (self->failed)
    return;

  type = (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) |
         ((klass & 0x1) << 4) | ((klass & 0x2) << 7);
  lr_bytes_write_be16 (buffer, type);
  lr_bytes_write_be32 (buffer + 4, LR_STUN_MAGIC_COOKIE);
  memcpy (buffer + 8, transaction_id, LR_STUN_TRANSACTION_SIZE);
  self->length = LR_STUN_HEADER_SIZE;
  update_length (self);
}

static guint8 *
reserve (LrStunBuilder *self,
         guint16        type,
         gsize          length)
{
  gsize padded = (length + 3) & ~(gsize) 3;
  guint8 *value;

  if (self->failed || length > 0xffff || self->size - self->length < 4 + padded)
    {
      self->failed = TRUE;
      return NULL;
    }

  lr_bytes_write_be16 (self->data + self->length, type);
  lr_bytes_write_be16 (self->data + self->length + 2, length);
  value = self->data + self->length + 4;
  memset (value + length, 0, padded - length);
  self->length += 4 + padded;
  update_length (self);
  return value;
}

gboolean
lr_stun_builder_add (LrStunBuilder *self,
                     guint16        type,
                     gconstpointer  value,
                     gsize          length)
{
  guint8 *out = reserve (self, type, length);

  if (out == NULL)
    return FALSE;
  if (length > 0)
    memcpy (out, value, length);
  return TRUE;
}

gboolean
lr_stun_builder_add_u32 (LrStunBuilder *self,
                         guint16        type,
                         guint32        value)
{
  guint8 *out = reserve (self, type, 4);

  if (out == NULL)
    return FALSE;
  lr_bytes_write_be32 (out, value);
  return TRUE;
}

static gboolean
add_address (LrStunBuilder       *self,
             guint16              type,
             const LrStunAddress *address,
             gboolean             xored)
{
  gsize address_length = address->family == LR_STUN_FAMILY_IPV4 ? 4 : 16;
  guint8 *out;
  guint8 mask[16];

  if (address->family != LR_STUN_FAMILY_IPV4 && address->family != LR_STUN_FAMILY_IPV6)
    {
      self->failed = TRUE;
      return FALSE;
    }

  out = reserve (self, type, 4 + address_length);
  if (out == NULL)
    return FALSE;

  out[0] = 0;
  out[1] = address->family;
  lr_bytes_write_be16 (out + 2,
                       xored ? address->port ^ (LR_STUN_MAGIC_COOKIE >> 16) : address->port);
  memcpy (out + 4, address->address, address_length);
  if (xored)
    {
      lr_bytes_write_be32 (mask, LR_STUN_MAGIC_COOKIE);
      memcpy (mask + 4, self->data + 8, LR_STUN_TRANSACTION_SIZE);
      for (gsize i = 0; i < address_length; i++)
        out[4 + i] ^= mask[i];
    }
  return TRUE;
}

gboolean
lr_stun_builder_add_address (LrStunBuilder       *self,
                             guint16              type,
                             const LrStunAddress *address)
{
  return add_address (self, type, address, FALSE);
}

gboolean
lr_stun_builder_add_xor_address (LrStunBuilder       *self,
                                 guint16              type,
                                 const LrStunAddress *address)
{
  return add_address (self, type, address, TRUE);
}

gboolean
lr_stun_builder_add_error (LrStunBuilder *self,
                           guint          code,
                           const char    *reason)
{
  gsize reason_length = reason != NULL ? strlen (reason) : 0;
  guint8 *out;

  if (code < 300 || code > 699)
    {
      self->failed = TRUE;
      return FALSE;
    }

  reason_length = MIN (reason_length, MAX_REASON_BYTES);
  out = reserve (self, LR_STUN_ATTR_ERROR_CODE, 4 + reason_length);
  if (out == NULL)
    return FALSE;
  out[0] = 0;
  out[1] = 0;
  out[2] = code / 100;
  out[3] = code % 100;
  if (reason_length > 0)
    memcpy (out + 4, reason, reason_length);
  return TRUE;
}

gboolean
lr_stun_builder_add_integrity (LrStunBuilder *self,
                               const guint8  *key,
                               gsize          key_length)
{
  gsize attr_offset = self->length;
  guint8 *out = reserve (self, LR_STUN_ATTR_MESSAGE_INTEGRITY, HMAC_SHA1_SIZE);

  if (out == NULL)
    return FALSE;
  compute_integrity (self->data, attr_offset, key, key_length, out);
  return TRUE;
}

gboolean
lr_stun_builder_add_fingerprint (LrStunBuilder *self)
{
  gsize covered = self->length;
  guint8 *out = reserve (self, LR_STUN_ATTR_FINGERPRINT, 4);

  if (out == NULL)
    return FALSE;
  /* The length field already counts FINGERPRINT itself, as section 14.7 requires. */
  lr_bytes_write_be32 (out, lr_stun_crc32 (self->data, covered) ^ FINGERPRINT_XOR);
  return TRUE;
}

gsize
lr_stun_builder_finish (LrStunBuilder *self)
{
  return self->failed ? 0 : self->length;
}
