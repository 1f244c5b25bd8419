/* test-token.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"
#include "lr-token.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

static void
test_generate (void)
{
  g_autofree char *a = lr_token_generate ();
  g_autofree char *b = lr_token_generate ();
  guint8 hash_a[LR_TOKEN_HASH_LENGTH], hash_a2[LR_TOKEN_HASH_LENGTH], hash_b[LR_TOKEN_HASH_LENGTH];

  g_assert_cmpuint (strlen (a), ==, LR_TOKEN_LENGTH);
  g_assert_true (lr_token_is_well_formed (a));
  g_assert_cmpstr (a, !=, b);

  lr_token_hash (a, hash_a);
  lr_token_hash (a, hash_a2);
  lr_token_hash (b, hash_b);
  g_assert_true (lr_token_hash_equal (hash_a, hash_a2));
  g_assert_false (lr_token_hash_equal (hash_a, hash_b));
}

static void
test_hash_vector (void)
{
  /* SHA-256("abc"), FIPS 180-2 appendix B.1. */
  static const guint8 expected[] = {
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
  };
  guint8 hash[LR_TOKEN_HASH_LENGTH];

  lr_token_hash ("abc", hash);
  g_assert_cmpmem (hash, sizeof hash, expected, sizeof expected);
}

static void
test_well_formed (void)
{
  g_assert_false (lr_token_is_well_formed (NULL));
  g_assert_false (lr_token_is_well_formed (""));
  g_assert_false (lr_token_is_well_formed ("abc"));
  /* 43 characters, but one is not base64url. */
  g_assert_false (lr_token_is_well_formed ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"));
  g_assert_false (lr_token_is_well_formed ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  g_assert_true (lr_token_is_well_formed ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_"));
}

static void
test_redact (void)
{
  g_autofree char *token = lr_token_generate ();
  g_autofree char *redacted = lr_token_redact (token);
  g_autofree char *shown = g_utf8_substring (redacted, 0, 4);

  g_assert_true (g_str_has_prefix (token, shown));
  g_assert_null (strstr (redacted, token + 4));
  g_assert_cmpuint (strlen (redacted), <, 10);
}

static void
test_secret_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lr-token-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "secret", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) secret = NULL;
  g_autofree char *text = NULL;
  GStatBuf st;

  g_assert_true (lr_secret_create_file (path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Never overwrites. */
  g_assert_false (lr_secret_create_file (path, &error));
  g_clear_error (&error);

  secret = lr_secret_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (secret), ==, LR_TOKEN_LENGTH);

  text = g_strndup (g_bytes_get_data (secret, NULL), g_bytes_get_size (secret));
  g_assert_true (lr_secret_equal (secret, text));
  g_assert_false (lr_secret_equal (secret, "nope"));
  text[0] ^= 1;
  g_assert_false (lr_secret_equal (secret, text));
  g_clear_pointer (&secret, g_bytes_unref);

  /* A readable secret is refused with a fix in the message. */
  g_chmod (path, 0644);
  secret = lr_secret_load_file (path, &error);
  g_assert_null (secret);
  g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "chmod 600"));
  g_clear_error (&error);

  /* Too short. */
  g_assert_true (g_file_set_contents (path, "short\n", -1, NULL));
  g_chmod (path, 0600);
  secret = lr_secret_load_file (path, &error);
  g_assert_null (secret);
  g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
  g_clear_error (&error);

  g_unlink (path);
  secret = lr_secret_load_file (path, &error);
  g_assert_null (secret);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

  g_test_add_func ("/lr/token/generate", test_generate);
  g_test_add_func ("/lr/token/hash/fips-180-2", test_hash_vector);
  g_test_add_func ("/lr/token/well-formed", test_well_formed);
  g_test_add_func ("/lr/token/redact", test_redact);
  g_test_add_func ("/lr/token/secret-file", test_secret_file);

  return g_test_run ();
}
