/* lanrage-errors.h: what went wrong, in a player's words
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A heading and a sentence or two for @error from a call to the helper: what happened and
 * what the person can do about it. */
void lanrage_describe_error (const GError  *error,
                             char         **out_heading,
                             char         **out_body);

G_END_DECLS
