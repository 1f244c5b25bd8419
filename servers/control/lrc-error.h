/* lrc-error.h: the control server's errors, each one an HTTP status and a code
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LRC_ERROR (lrc_error_quark ())

typedef enum
{
  LRC_ERROR_UNAUTHORIZED,     /* 401 unauthorized */
  LRC_ERROR_FORBIDDEN,        /* 403 forbidden */
  LRC_ERROR_NOT_FOUND,        /* 404 not_found */
  LRC_ERROR_INVITE_NOT_FOUND, /* 404 invite_not_found */
  LRC_ERROR_ALREADY_JOINED,   /* 409 already_joined */
  LRC_ERROR_PARTY_FULL,       /* 409 party_full */
  LRC_ERROR_CONFLICT,         /* 409 conflict */
  LRC_ERROR_RATE_LIMITED,     /* 429 rate_limited */
  LRC_ERROR_INTERNAL,         /* 500 internal */
  LRC_ERROR_UNAVAILABLE,      /* 503 unavailable: the database does not answer */
} LrcError;

GQuark lrc_error_quark (void);

guint  lrc_error_to_status (const GError *error,
                            const char  **code);

G_END_DECLS
