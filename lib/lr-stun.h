/* lr-stun.h: a small STUN codec (RFC 8489, with the RFC 5780 attributes)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The same code parses what a STUN server sends the helper and builds what lanrage-relay
 * answers, so it neither allocates nor takes a lock: a message is parsed in place into an
 * LrStunMessage that points into the caller's buffer, and a message is built into a caller's
 * buffer with an LrStunBuilder. Every length on the wire is checked before it is used;
 * nothing here trusts the bytes it is given.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* RFC 8489 section 5. */
#define LR_STUN_HEADER_SIZE      20
#define LR_STUN_MAGIC_COOKIE     0x2112A442u
#define LR_STUN_TRANSACTION_SIZE 12
/* Enough for any attribute list a STUN server or client sends in practice (coturn's
 * responses carry seven); a message with more is refused rather than half read. */
#define LR_STUN_MAX_ATTRIBUTES   32

/* Methods (RFC 8489 section 18.2) and classes (section 5). */
#define LR_STUN_METHOD_BINDING 0x001

typedef enum
{
  LR_STUN_CLASS_REQUEST    = 0,
  LR_STUN_CLASS_INDICATION = 1,
  LR_STUN_CLASS_SUCCESS    = 2,
  LR_STUN_CLASS_ERROR      = 3,
} LrStunClass;

/* Attributes (RFC 8489 section 18.3, RFC 5780 section 7, RFC 3489 for the classic ones a
 * real server still sends). */
typedef enum
{
  LR_STUN_ATTR_MAPPED_ADDRESS           = 0x0001,
  LR_STUN_ATTR_RESPONSE_ADDRESS         = 0x0002,
  LR_STUN_ATTR_CHANGE_REQUEST           = 0x0003,
  LR_STUN_ATTR_SOURCE_ADDRESS           = 0x0004,
  LR_STUN_ATTR_CHANGED_ADDRESS          = 0x0005,
  LR_STUN_ATTR_USERNAME                 = 0x0006,
  LR_STUN_ATTR_MESSAGE_INTEGRITY        = 0x0008,
  LR_STUN_ATTR_ERROR_CODE               = 0x0009,
  LR_STUN_ATTR_UNKNOWN_ATTRIBUTES       = 0x000A,
  LR_STUN_ATTR_REALM                    = 0x0014,
  LR_STUN_ATTR_NONCE                    = 0x0015,
  LR_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
  LR_STUN_ATTR_PASSWORD_ALGORITHM       = 0x001D,
  LR_STUN_ATTR_USERHASH                 = 0x001E,
  LR_STUN_ATTR_XOR_MAPPED_ADDRESS       = 0x0020,
  LR_STUN_ATTR_PADDING                  = 0x0026,
  LR_STUN_ATTR_RESPONSE_PORT            = 0x0027,
  LR_STUN_ATTR_PASSWORD_ALGORITHMS      = 0x8002,
  LR_STUN_ATTR_ALTERNATE_DOMAIN         = 0x8003,
  LR_STUN_ATTR_SOFTWARE                 = 0x8022,
  LR_STUN_ATTR_ALTERNATE_SERVER         = 0x8023,
  LR_STUN_ATTR_CACHE_TIMEOUT            = 0x8027,
  LR_STUN_ATTR_FINGERPRINT              = 0x8028,
  LR_STUN_ATTR_RESPONSE_ORIGIN          = 0x802B,
  LR_STUN_ATTR_OTHER_ADDRESS            = 0x802C,
} LrStunAttributeType;

/* CHANGE-REQUEST flags, RFC 5780 section 7.2. */
#define LR_STUN_CHANGE_IP   0x04u
#define LR_STUN_CHANGE_PORT 0x02u

/* Address families on the wire, RFC 8489 section 14.1. */
#define LR_STUN_FAMILY_IPV4 0x01
#define LR_STUN_FAMILY_IPV6 0x02

typedef struct
{
  guint8  family;      /* LR_STUN_FAMILY_IPV4 or LR_STUN_FAMILY_IPV6 */
  guint16 port;        /* host byte order */
  guint8  address[16]; /* network byte order; 4 bytes used for IPv4 */
} LrStunAddress;

typedef struct
{
  guint16       type;
  guint16       length;
  const guint8 *value;
} LrStunAttribute;

typedef struct
{
  const guint8    *data;
  gsize            length;
  guint16          method;
  LrStunClass      klass;
  const guint8    *transaction_id;
  guint            n_attributes;
  LrStunAttribute  attributes[LR_STUN_MAX_ATTRIBUTES];
} LrStunMessage;

gboolean  lr_stun_is_message           (const guint8        *data,
                                        gsize                length);
gboolean  lr_stun_message_parse        (LrStunMessage       *self,
                                        const guint8        *data,
                                        gsize                length,
                                        GError             **error);
const LrStunAttribute *
          lr_stun_message_find         (const LrStunMessage *self,
                                        guint16              type);
gboolean  lr_stun_message_get_address  (const LrStunMessage *self,
                                        guint16              type,
                                        LrStunAddress       *out);
gboolean  lr_stun_message_get_u32      (const LrStunMessage *self,
                                        guint16              type,
                                        guint32             *out);
char     *lr_stun_message_dup_string   (const LrStunMessage *self,
                                        guint16              type);
gboolean  lr_stun_message_get_error    (const LrStunMessage *self,
                                        guint               *code,
                                        char               **reason);
gboolean  lr_stun_message_check_fingerprint (const LrStunMessage *self);
gboolean  lr_stun_message_check_integrity   (const LrStunMessage *self,
                                             const guint8        *key,
                                             gsize                key_length);
gboolean  lr_stun_attribute_type_is_known (guint16 type);
gboolean  lr_stun_message_has_unknown_required (const LrStunMessage *self,
                                                guint16             *first_unknown);

void      lr_stun_long_term_key        (const char          *username,
                                        const char          *realm,
                                        const char          *password,
                                        guint8               key[16]);
guint32   lr_stun_crc32                (const guint8        *data,
                                        gsize                length);

char     *lr_stun_address_to_string    (const LrStunAddress *address);
gboolean  lr_stun_address_from_sockaddr (LrStunAddress      *self,
                                         gconstpointer       sockaddr,
                                         gsize               length);
gsize     lr_stun_address_to_sockaddr  (const LrStunAddress *self,
                                        gpointer             sockaddr,
                                        gsize                length);
gboolean  lr_stun_address_parse        (LrStunAddress       *self,
                                        const char          *text);
gboolean  lr_stun_address_equal        (const LrStunAddress *a,
                                        const LrStunAddress *b);

/*
 * LrStunBuilder: writes a message into a fixed buffer. Each add_ function returns FALSE
 * when the buffer is too small, and the builder then stays failed; check once at the end
 * with lr_stun_builder_finish(), which returns the message's length or 0.
 */
typedef struct
{
  guint8   *data;
  gsize     size;
  gsize     length;
  gboolean  failed;
} LrStunBuilder;

void      lr_stun_builder_init         (LrStunBuilder       *self,
                                        guint8              *buffer,
                                        gsize                size,
                                        guint16              method,
                                        LrStunClass          klass,
                                        const guint8        *transaction_id);
gboolean  lr_stun_builder_add          (LrStunBuilder       *self,
                                        guint16              type,
                                        gconstpointer        value,
                                        gsize                length);
gboolean  lr_stun_builder_add_u32      (LrStunBuilder       *self,
                                        guint16              type,
                                        guint32              value);
gboolean  lr_stun_builder_add_address  (LrStunBuilder       *self,
                                        guint16              type,
                                        const LrStunAddress *address);
gboolean  lr_stun_builder_add_xor_address (LrStunBuilder       *self,
                                           guint16              type,
                                           const LrStunAddress *address);
gboolean  lr_stun_builder_add_error    (LrStunBuilder       *self,
                                        guint                code,
                                        const char          *reason);
gboolean  lr_stun_builder_add_integrity (LrStunBuilder      *self,
                                         const guint8       *key,
                                         gsize               key_length);
gboolean  lr_stun_builder_add_fingerprint (LrStunBuilder    *self);
gsize     lr_stun_builder_finish       (LrStunBuilder       *self);

G_END_DECLS
