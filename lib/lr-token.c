/* lr-token.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-token.h"
#include "lr-error.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_BYTES 32

char *
lr_token_generate (void)
{
  guint8 bytes[TOKEN_BYTES];
  char text[LR_TOKEN_LENGTH + 1];

  lr_init ();
  randombytes_buf (bytes, sizeof bytes);
  sodium_bin2base64 (text, sizeof text, bytes, sizeof bytes,
                     sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero (bytes, sizeof bytes);
  return g_strdup (text);
}

gboolean
lr_token_is_well_formed (const char *token)
{
  if (token == NULL)
    return FALSE;

  for (gsize i = 0; i < LR_TOKEN_LENGTH; i++)
    if (!g_ascii_isalnum (token[i]) && token[i] != '-' && token[i] != '_')
      return FALSE;

  return token[LR_TOKEN_LENGTH] == '\0';
}

/* Only the SHA-256 of a token is stored: a leaked database hands out no working tokens. */
void
lr_token_hash (const char *token,
               guint8      out[LR_TOKEN_HASH_LENGTH])
{
  crypto_hash_sha256 (out, (const guchar *) token, strlen (token));
}

gboolean
lr_token_hash_equal (const guint8 *a,
                     const guint8 *b)
{
  return sodium_memcmp (a, b, LR_TOKEN_HASH_LENGTH) == 0;
}

char *
lr_token_redact (const char *token)
{
  if (token == NULL || strlen (token) < 4)
    return g_strdup ("(none)");
  return g_strdup_printf ("%.4s…", token);
}

/* Secrets are text: wipe up to the terminating NUL that g_file_get_contents() adds. */
static void
secret_wipe_and_free (gpointer data)
{
  sodium_memzero (data, strlen (data));
  g_free (data);
}

/**
 * lr_secret_load_file:
 *
 * Reads a shared secret (the relay secret) from a file that only its owner can read. The
 * secret is the file's text without trailing white space, at least %LR_SECRET_MIN_LENGTH
 * bytes. A file that group or others can read is refused, the way ssh refuses a private
 * key: a secret that leaked is no secret.
 */
GBytes *
lr_secret_load_file (const char  *path,
                     GError     **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot read the secret file %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "The secret file %s can be read by other users; "
                   "make it private with: chmod 600 %s", path, path);
      return NULL;
    }

  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;

  while (length > 0 && g_ascii_isspace (contents[length - 1]))
    length--;

  if (length < LR_SECRET_MIN_LENGTH)
    {
      sodium_memzero (contents, length);
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "The secret in %s is too short: it needs at least %d characters",
                   path, LR_SECRET_MIN_LENGTH);
      return NULL;
    }

  {
    char *data = g_steal_pointer (&contents);
    return g_bytes_new_with_free_func (data, length, secret_wipe_and_free, data);
  }
}

/**
 * lr_secret_create_file:
 *
 * Writes a new random secret (32 bytes, base64url) to @path, created with mode 0600 and
 * never overwriting an existing file.
 */
gboolean
lr_secret_create_file (const char  *path,
                       GError     **error)
{
  g_autofree char *secret = lr_token_generate ();
  g_autofree char *line = g_strconcat (secret, "\n", NULL);
  gsize length = strlen (line);
  int fd;

  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create the secret file %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  if (write (fd, line, length) != (gssize) length || fsync (fd) != 0)
    {
      int saved_errno = errno;
      close (fd);
      g_unlink (path);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot write the secret file %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  sodium_memzero (line, length);
  sodium_memzero (secret, strlen (secret));
  close (fd);
  return TRUE;
}

/* Compares a presented secret with the real one in time that depends only on the lengths. */
gboolean
lr_secret_equal (GBytes     *secret,
                 const char *candidate)
{
  guint8 a[crypto_hash_sha256_BYTES];
  guint8 b[crypto_hash_sha256_BYTES];
  gsize length;
  const guint8 *data;

  if (secret == NULL || candidate == NULL)
    return FALSE;

  /* Hash both sides so the comparison is over equal lengths whatever was presented. */
  data = g_bytes_get_data (secret, &length);
  crypto_hash_sha256 (a, data, length);
  crypto_hash_sha256 (b, (const guchar *) candidate, strlen (candidate));
  return sodium_memcmp (a, b, sizeof a) == 0;
}
