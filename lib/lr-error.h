/* lr-error.h: the error domain of liblanrage
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LR_ERROR (lr_error_quark ())

/**
 * LrError:
 * @LR_ERROR_MALFORMED: a document cannot be read at all (not JSON, not UTF-8, too deep)
 * @LR_ERROR_INVALID: a value is malformed (bad base64, bad address, bad id...)
 * @LR_ERROR_MISSING_FIELD: a required JSON field is absent
 * @LR_ERROR_WRONG_TYPE: a JSON field has the wrong type
 * @LR_ERROR_UNKNOWN_FIELD: a JSON object carries a field nobody asked for
 * @LR_ERROR_TOO_LARGE: a value, a list or a document is over its limit
 * @LR_ERROR_INVALID_INVITE_CODE: an invite code is not well formed
 * @LR_ERROR_INVALID_TOKEN: a token is malformed or its signature is wrong
 * @LR_ERROR_EXPIRED: a token is well formed and signed, but expired
 * @LR_ERROR_EXHAUSTED: a pool (of addresses) has nothing left
 * @LR_ERROR_FAILED: anything else
 *
 * Errors from the shared library. Parsers name the offending field in the message, in
 * words a person can act on ("peer.name: must be 1 to 32 characters").
 */
typedef enum
{
  LR_ERROR_MALFORMED,
  LR_ERROR_INVALID,
  LR_ERROR_MISSING_FIELD,
  LR_ERROR_WRONG_TYPE,
  LR_ERROR_UNKNOWN_FIELD,
  LR_ERROR_TOO_LARGE,
  LR_ERROR_INVALID_INVITE_CODE,
  LR_ERROR_INVALID_TOKEN,
  LR_ERROR_EXPIRED,
  LR_ERROR_EXHAUSTED,
  LR_ERROR_FAILED,
} LrError;

GQuark lr_error_quark (void);

void   lr_init        (void);

G_END_DECLS
