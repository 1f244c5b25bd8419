/* lanrage-errors.h: what went wrong, in a player's words
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A heading and a sentence or two for @error from a call to the helper: what happened and
 * what the person can do about it. */
void lanrage_describe_error (const GError  *error,
                             char         **out_heading,
                             char         **out_body);

/* A dialog over @parent that says what went wrong in a player's words: for a call the
 * person just asked for, which they must read. */
void lanrage_show_error_dialog (GtkWindow    *parent,
                                const GError *error);

G_END_DECLS
