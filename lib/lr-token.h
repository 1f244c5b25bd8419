/* lr-token.h: bearer tokens and shared secrets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 32 random bytes, base64url without padding: 43 characters. */
#define LR_TOKEN_LENGTH      43
#define LR_TOKEN_HASH_LENGTH 32
/* Shared secrets (relay secret) must carry at least this many bytes. */
#define LR_SECRET_MIN_LENGTH 32

char     *lr_token_generate      (void);
gboolean  lr_token_is_well_formed (const char *token);
void      lr_token_hash          (const char *token,
                                  guint8      out[LR_TOKEN_HASH_LENGTH]);
gboolean  lr_token_hash_equal    (const guint8 *a,
                                  const guint8 *b);
char     *lr_token_redact        (const char *token);

GBytes   *lr_secret_load_file    (const char  *path,
                                  GError     **error);
gboolean  lr_secret_create_file  (const char  *path,
                                  GError     **error);
gboolean  lr_secret_equal        (GBytes      *secret,
                                  const char  *candidate);

G_END_DECLS
