/* lr-invite-code.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-invite-code.h"
#include "lr-error.h"

#include <sodium.h>
#include <string.h>

/* Crockford's base32: no I, L, O or U, so nothing reads as another symbol. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static char *
format_symbols (const char symbols[LR_INVITE_CODE_SYMBOLS])
{
  return g_strdup_printf ("%.4s-%.4s-%.4s", symbols, symbols + 4, symbols + 8);
}

char *
lr_invite_code_generate (void)
{
  guint64 bits;
  char symbols[LR_INVITE_CODE_SYMBOLS];

  lr_init ();
  randombytes_buf (&bits, sizeof bits);

  for (guint i = 0; i < LR_INVITE_CODE_SYMBOLS; i++)
    {
      symbols[i] = alphabet[bits & 0x1f];
      bits >>= 5;
    }

  return format_symbols (symbols);
}

static int
symbol_value (char c)
{
  c = g_ascii_toupper (c);

  /* Crockford's decoding forgives the look-alikes. */
  if (c == 'O')
    c = '0';
  else if (c == 'I' || c == 'L')
    c = '1';

  for (guint i = 0; i < 32; i++)
    if (alphabet[i] == c)
      return (int) i;

  return -1;
}

/**
 * lr_invite_code_normalize:
 * @text: what a person typed or pasted
 *
 * Accepts the code in any case, with or without dashes, with spaces around it or between
 * its groups, with O for 0 and I or L for 1, and as a `lanrage://join/CODE` link.
 *
 * Returns: (transfer full): the canonical form `XXXX-XXXX-XXXX`, or %NULL with
 *   %LR_ERROR_INVALID_INVITE_CODE
 */
char *
lr_invite_code_normalize (const char  *text,
                          GError     **error)
{
  char symbols[LR_INVITE_CODE_SYMBOLS];
  guint n = 0;
  const char *p;

  if (text == NULL)
    text = "";

  while (g_ascii_isspace (*text))
    text++;

  if (g_ascii_strncasecmp (text, "lanrage://join/", strlen ("lanrage://join/")) == 0)
    text += strlen ("lanrage://join/");

  /* Anything much longer than a code with generous spacing is not a code; stop early so a
   * huge string costs nothing. */
  for (p = text; *p != '\0' && p - text < 64; p++)
    {
      int value;

      if (*p == '-' || g_ascii_isspace (*p))
        continue;

      value = symbol_value (*p);
      if (value < 0 || n == LR_INVITE_CODE_SYMBOLS)
        break;

      symbols[n++] = alphabet[value];
    }

  if (*p != '\0' || n != LR_INVITE_CODE_SYMBOLS)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID_INVITE_CODE,
                   "That is not an invite code: a code has 12 letters and digits, "
                   "like 7KQM-2XWD-9RTF");
      return NULL;
    }

  return format_symbols (symbols);
}

/**
 * lr_invite_code_redact:
 *
 * Returns: (transfer full): the first group only, for logs: `7KQM-…`
 */
char *
lr_invite_code_redact (const char *code)
{
  if (code == NULL || strlen (code) < 4)
    return g_strdup ("(none)");
  return g_strdup_printf ("%.4s-…", code);
}
