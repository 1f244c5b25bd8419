/* lr-id.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-id.h"
#include "lr-error.h"

#include <sodium.h>

char *
lr_id_generate (void)
{
  guint64 value;
  char text[LR_ID_LENGTH + 1];

  lr_init ();
  do
    randombytes_buf (&value, sizeof value);
  while (value == 0);

  lr_id_from_uint64 (value, text);
  return g_strdup (text);
}

gboolean
lr_id_is_valid (const char *text)
{
  guint64 value;

  return lr_id_to_uint64 (text, &value);
}

gboolean
lr_id_to_uint64 (const char *text,
                 guint64    *out)
{
  guint64 value = 0;

  if (text == NULL)
    return FALSE;

  for (gsize i = 0; i < LR_ID_LENGTH; i++)
    {
      int digit = g_ascii_xdigit_value (text[i]);

      /* Only lowercase is canonical: one id, one spelling, one row. */
      if (digit < 0 || g_ascii_isupper (text[i]))
        return FALSE;
      value = (value << 4) | (guint64) digit;
    }

  if (text[LR_ID_LENGTH] != '\0' || value == 0)
    return FALSE;

  *out = value;
  return TRUE;
}

void
lr_id_from_uint64 (guint64 value,
                   char    out[LR_ID_LENGTH + 1])
{
  g_snprintf (out, LR_ID_LENGTH + 1, "%016" G_GINT64_MODIFIER "x", value);
}
