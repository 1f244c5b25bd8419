/* test-invite-code.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"
#include "lr-invite-code.h"

static void
test_generate_format (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *code = lr_invite_code_generate ();
      g_autofree char *again = NULL;

      g_assert_cmpuint (strlen (code), ==, LR_INVITE_CODE_LENGTH);
      g_assert_cmpint (code[4], ==, '-');
      g_assert_cmpint (code[9], ==, '-');
      for (guint j = 0; j < LR_INVITE_CODE_LENGTH; j++)
        {
          if (j == 4 || j == 9)
            continue;
          /* Crockford's alphabet: no I, L, O or U, no lowercase. */
          g_assert_nonnull (strchr ("0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[j]));
        }

      again = lr_invite_code_normalize (code, NULL);
      g_assert_cmpstr (again, ==, code);
      g_assert_true (g_hash_table_add (seen, g_steal_pointer (&code)));
    }
}

static void
test_normalize_forgiving (void)
{
  static const struct { const char *in; const char *out; } cases[] = {
    { "7KQM-2XWD-9RTF", "7KQM-2XWD-9RTF" },
    { "7kqm-2xwd-9rtf", "7KQM-2XWD-9RTF" },
    { "7KQM2XWD9RTF", "7KQM-2XWD-9RTF" },
    { "  7KQM-2XWD-9RTF \n", "7KQM-2XWD-9RTF" },
    { "7KQM 2XWD 9RTF", "7KQM-2XWD-9RTF" },
    { "OOOO-IIII-LLLL", "0000-1111-1111" },
    { "oioi-lili-0101", "0101-1111-0101" },
    { "lanrage://join/7KQM-2XWD-9RTF", "7KQM-2XWD-9RTF" },
    { "LANRAGE://JOIN/7kqm2xwd9rtf", "7KQM-2XWD-9RTF" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *code = lr_invite_code_normalize (cases[i].in, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (code, ==, cases[i].out);
    }
}

static void
test_normalize_rejects (void)
{
  static const char *cases[] = {
    "", "   ", "7KQM-2XWD-9RT", "7KQM-2XWD-9RTFA", "7KQM-2XWD-9RTU", "7KQM_2XWD_9RTF",
    "7KQM-2XWD-9RT!", "lanrage://join/", "https://example.com/7KQM-2XWD-9RTF",
    "7KQM-2XWD-9RTF; DROP TABLE parties", "ÄKQM-2XWD-9RTF",
  };
  g_autofree char *huge = g_strnfill (100000, 'A');

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *code = lr_invite_code_normalize (cases[i], &error);

      g_assert_null (code);
      g_assert_error (error, LR_ERROR, LR_ERROR_INVALID_INVITE_CODE);
    }

  g_assert_null (lr_invite_code_normalize (huge, NULL));
  g_assert_null (lr_invite_code_normalize (NULL, NULL));
}

static void
test_redact (void)
{
  g_autofree char *redacted = lr_invite_code_redact ("7KQM-2XWD-9RTF");

  g_assert_cmpstr (redacted, ==, "7KQM-…");
  g_assert_null (strstr (redacted, "2XWD"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

  g_test_add_func ("/lr/invite-code/generate/format", test_generate_format);
  g_test_add_func ("/lr/invite-code/normalize/forgiving", test_normalize_forgiving);
  g_test_add_func ("/lr/invite-code/normalize/rejects", test_normalize_rejects);
  g_test_add_func ("/lr/invite-code/redact", test_redact);

  return g_test_run ();
}
