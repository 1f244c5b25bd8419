/* lr-id.h: party and peer identifiers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An id is 64 random bits written as 16 lowercase hex digits. 64 bits keep the relay's frame
 * header small (a DATA frame names its peer in 8 bytes) and are far beyond what anyone could
 * guess; ids are not secrets anyway, every call is authorised by a bearer token. */
#define LR_ID_LENGTH 16

char     *lr_id_generate   (void);
gboolean  lr_id_is_valid   (const char *text);
gboolean  lr_id_to_uint64  (const char *text,
                            guint64    *out);
void      lr_id_from_uint64 (guint64    value,
                             char       out[LR_ID_LENGTH + 1]);

G_END_DECLS
