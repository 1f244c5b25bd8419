/* lrc-duration.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrc-duration.h"

#include <gio/gio.h>

/* "250ms", "30s", "10m", "1h"; a bare number is seconds. */
gboolean
lrc_duration_parse (const char  *text,
                    gint64      *out_us,
                    GError     **error)
{
  static const struct { const char *suffix; gint64 scale; } units[] = {
    { "ms", 1000 }, { "s", G_USEC_PER_SEC }, { "m", G_GINT64_CONSTANT (60) * G_USEC_PER_SEC },
    { "h", G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC }, { "", G_USEC_PER_SEC },
  };
  guint64 value;
  char *end = NULL;

  if (text == NULL || !g_ascii_isdigit (text[0]))
    goto invalid;

  value = g_ascii_strtoull (text, &end, 10);
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      if (g_str_equal (end, units[i].suffix))
        {
          if (value == 0 || value > G_MAXINT64 / (guint64) units[i].scale / 1000)
            goto invalid;
          *out_us = (gint64) value * units[i].scale;
          return TRUE;
        }
    }

invalid:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "'%s' is not a duration; write it like 250ms, 30s, 10m or 1h", text ? text : "");
  return FALSE;
}
