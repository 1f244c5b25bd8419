/* lr-key.h: the one key type (X25519, as WireGuard and disco use them) and its codecs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Base64 is what people, the control API and NetworkManager see (standard alphabet with
 * padding, 44 characters, as `wg` prints keys); hex is what WireGuard's UAPI speaks. A
 * private key is wiped with lr_key_clear() when done.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LR_KEY_LENGTH        32
#define LR_KEY_BASE64_LENGTH 44
#define LR_KEY_HEX_LENGTH    64

typedef struct
{
  guint8 bytes[LR_KEY_LENGTH];
} LrKey;

char     *lr_key_to_base64   (const LrKey *key);
gboolean  lr_key_from_base64 (const char  *text,
                              LrKey       *out);
void      lr_key_to_hex      (const LrKey *key,
                              char         out[LR_KEY_HEX_LENGTH + 1]);
gboolean  lr_key_from_hex    (const char  *text,
                              gsize        length,
                              LrKey       *out);
gboolean  lr_key_equal       (const LrKey *a,
                              const LrKey *b);
gboolean  lr_key_is_zero     (const LrKey *key);
void      lr_key_clear       (LrKey       *key);

G_END_DECLS
