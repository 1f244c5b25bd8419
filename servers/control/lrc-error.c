/* lrc-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrc-error.h"

#include "lr-error.h"

G_DEFINE_QUARK (lrc-error-quark, lrc_error)

/**
 * lrc_error_to_status:
 * @code: (out): the snake_case code of docs/control-api.md
 *
 * Maps an error from the service or from lib/'s parsers to its HTTP status.
 */
guint
lrc_error_to_status (const GError  *error,
                     const char   **code)
{
  if (error->domain == LR_ERROR)
    {
      switch ((LrError) error->code)
        {
        case LR_ERROR_MALFORMED:           *code = "invalid_json"; return 400;
        case LR_ERROR_MISSING_FIELD:       *code = "missing_field"; return 400;
        case LR_ERROR_WRONG_TYPE:          *code = "wrong_type"; return 400;
        case LR_ERROR_UNKNOWN_FIELD:       *code = "unknown_field"; return 400;
        case LR_ERROR_TOO_LARGE:           *code = "field_too_large"; return 400;
        case LR_ERROR_INVALID_INVITE_CODE: *code = "invalid_invite_code"; return 400;
        case LR_ERROR_INVALID_TOKEN:
        case LR_ERROR_EXPIRED:             *code = "unauthorized"; return 401;
        case LR_ERROR_EXHAUSTED:           *code = "party_full"; return 409;
        case LR_ERROR_INVALID:             *code = "invalid_field"; return 400;
        case LR_ERROR_FAILED:
        default:
          break;
        }
    }
  else if (error->domain == LRC_ERROR)
    {
      switch ((LrcError) error->code)
        {
        case LRC_ERROR_UNAUTHORIZED:     *code = "unauthorized"; return 401;
        case LRC_ERROR_FORBIDDEN:        *code = "forbidden"; return 403;
        case LRC_ERROR_NOT_FOUND:        *code = "not_found"; return 404;
        case LRC_ERROR_INVITE_NOT_FOUND: *code = "invite_not_found"; return 404;
        case LRC_ERROR_ALREADY_JOINED:   *code = "already_joined"; return 409;
        case LRC_ERROR_PARTY_FULL:       *code = "party_full"; return 409;
        case LRC_ERROR_CONFLICT:         *code = "conflict"; return 409;
        case LRC_ERROR_RATE_LIMITED:     *code = "rate_limited"; return 429;
        case LRC_ERROR_UNAVAILABLE:      *code = "unavailable"; return 503;
        case LRC_ERROR_INTERNAL:
        default:
          break;
        }
    }

  *code = "internal";
  return 500;
}
