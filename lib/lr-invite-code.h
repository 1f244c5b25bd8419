/* lr-invite-code.h: short invite codes people can read aloud
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 12 symbols of Crockford base32 (60 random bits) in three groups: "7KQM-2XWD-9RTF". */
#define LR_INVITE_CODE_SYMBOLS 12
#define LR_INVITE_CODE_LENGTH  14

char *lr_invite_code_generate  (void);
char *lr_invite_code_normalize (const char  *text,
                                GError     **error);
char *lr_invite_code_redact    (const char  *code);

G_END_DECLS
