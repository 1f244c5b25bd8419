/* lrc-duration.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean lrc_duration_parse (const char  *text,
                             gint64      *out_us,
                             GError     **error);

G_END_DECLS
