/* relay-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "relay-test-util.h"

#include "lr-relay-frame.h"
#include "lr-relay-token.h"
#include "lr-token.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

void
relay_process_init (RelayProcess *self)
{
  g_autoptr(GError) error = NULL;

  memset (self, 0, sizeof *self);
  self->dir = g_dir_make_tmp ("lanrage-relay-test-XXXXXX", &error);
  g_assert_no_error (error);
  self->secret_path = g_build_filename (self->dir, "relay-secret", NULL);
  g_assert_true (lr_secret_create_file (self->secret_path, &error));
  g_assert_no_error (error);
  self->secret = lr_secret_load_file (self->secret_path, &error);
  g_assert_no_error (error);
  self->deny_path = g_build_filename (self->dir, "deny", NULL);
  g_assert_true (g_file_set_contents (self->deny_path, "# nobody yet\n", -1, &error));
}

static const char *
relay_binary (void)
{
  const char *path = g_getenv ("LANRAGE_RELAY");

  g_assert_nonnull (path);
  return path;
}

static void
die_with_parent (gpointer user_data)
{
  /* A test that fails aborts; its relay must not outlive it and hold the test's output
   * open (meson would then wait for the whole timeout). */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts the real binary on loopback and reads the ports it prints. The relay secret and the
 * deny file are always passed; @extra_args add to or override them. */
void
relay_process_start (RelayProcess       *self,
                     const char * const *extra_args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *listen = NULL;
  char *line;

  g_assert_null (self->process);
  listen = g_strdup_printf ("127.0.0.1:%u", self->port);
  g_ptr_array_add (argv, (char *) relay_binary ());
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, listen);
  g_ptr_array_add (argv, "--relay-secret-file");
  g_ptr_array_add (argv, self->secret_path);
  g_ptr_array_add (argv, "--deny-file");
  g_ptr_array_add (argv, self->deny_path);
  g_ptr_array_add (argv, "--metrics");
  g_ptr_array_add (argv, "127.0.0.1:0");
  g_ptr_array_add (argv, "--threads");
  g_ptr_array_add (argv, "2");
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) extra_args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                                &error);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "Listening on 127.0.0.1:"));
  self->port = atoi (line + strlen ("Listening on 127.0.0.1:"));
  g_free (line);

  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "Metrics on "));
  g_free (self->metrics_url);
  self->metrics_url = g_strdup (line + strlen ("Metrics on "));
  g_free (line);
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

/* Returns: whether the relay exited cleanly (status 0) within 5 s of the signal. */
gboolean
relay_process_stop (RelayProcess *self,
                    int           signal_number)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  gboolean done = FALSE;
  gboolean clean;

  if (self->process == NULL)
    return TRUE;

  g_subprocess_wait_async (self->process, NULL, wait_cb, &done);
  g_subprocess_send_signal (self->process, signal_number);
  while (!done && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  if (!done)
    {
      g_subprocess_force_exit (self->process);
      while (!done)
        g_main_context_iteration (NULL, TRUE);
      g_clear_object (&self->process);
      return FALSE;
    }

  clean = g_subprocess_get_if_exited (self->process) &&
          g_subprocess_get_exit_status (self->process) == 0;
  g_clear_object (&self->process);
  return clean;
}

void
relay_process_clear (RelayProcess *self)
{
  if (self->process != NULL)
    {
      g_subprocess_force_exit (self->process);
      g_subprocess_wait (self->process, NULL, NULL);
      g_clear_object (&self->process);
    }
  g_unlink (self->secret_path);
  g_unlink (self->deny_path);
  g_rmdir (self->dir);
  g_clear_pointer (&self->secret, g_bytes_unref);
  g_clear_pointer (&self->secret_path, g_free);
  g_clear_pointer (&self->deny_path, g_free);
  g_clear_pointer (&self->metrics_url, g_free);
  g_clear_pointer (&self->dir, g_free);
}

/* Reads one sample of /metrics, by its full name with labels: -1 when absent. */
gint64
relay_process_metric (RelayProcess *self,
                      const char   *name)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) message = soup_message_new ("GET", self->metrics_url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  body = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], name) && lines[i][strlen (name)] == ' ')
        return g_ascii_strtoll (lines[i] + strlen (name) + 1, NULL, 10);
    }
  return -1;
}

char *
relay_process_mint (RelayProcess *self,
                    guint64       party,
                    guint64       peer,
                    gint64        expires_at)
{
  g_autofree char *party_id = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", party);
  g_autofree char *peer_id = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", peer);
  g_autoptr(GError) error = NULL;
  char *token = lr_relay_token_mint (self->secret, party_id, peer_id, expires_at, &error);

  g_assert_no_error (error);
  return token;
}

void
udp_client_init (UdpClient  *self,
                 const char *ip)
{
  socklen_t length = sizeof self->addr;

  memset (self, 0, sizeof *self);
  self->fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (self->fd, >=, 0);
  self->addr.sin_family = AF_INET;
  g_assert_cmpint (inet_pton (AF_INET, ip, &self->addr.sin_addr), ==, 1);
  g_assert_cmpint (bind (self->fd, (struct sockaddr *) &self->addr, sizeof self->addr), ==, 0);
  g_assert_cmpint (getsockname (self->fd, (struct sockaddr *) &self->addr, &length), ==, 0);
}

void
udp_client_clear (UdpClient *self)
{
  if (self->fd >= 0)
    close (self->fd);
  self->fd = -1;
}

void
udp_client_send (UdpClient     *self,
                 guint16        port,
                 const char    *ip,
                 gconstpointer  data,
                 gsize          length)
{
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port) };

  inet_pton (AF_INET, ip != NULL ? ip : "127.0.0.1", &to.sin_addr);
  g_assert_cmpint (sendto (self->fd, data, length, 0, (struct sockaddr *) &to, sizeof to), ==,
                   (gssize) length);
}

/* Returns: the datagram's length, or -1 when none came within @timeout_ms. */
gssize
udp_client_recv (UdpClient          *self,
                 guint8             *buffer,
                 gsize               size,
                 int                 timeout_ms,
                 struct sockaddr_in *from)
{
  struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
  socklen_t length = sizeof *from;
  struct sockaddr_in ignored;

  if (poll (&pfd, 1, timeout_ms) <= 0)
    return -1;
  return recvfrom (self->fd, buffer, size, 0, (struct sockaddr *) (from ? from : &ignored),
                   &length);
}

/* A BIND for @token as a client makes it, at @timestamp_us with @counter. */
gsize
relay_bind_frame (guint8     *out,
                  gsize       size,
                  const char *token,
                  gint64      timestamp_us,
                  guint64     counter)
{
  guint8 token_public[LR_RELAY_TOKEN_PUBLIC_BYTES], key[LR_RELAY_TOKEN_KEY_BYTES];
  gsize length;

  g_assert_true (lr_relay_token_split (token, token_public, key, NULL));
  length = lr_relay_frame_build_bind (out, size, token_public, key, timestamp_us, counter);
  g_assert_cmpuint (length, >, 0);
  return length;
}

/* Counters the way the helper makes them: the wall clock in µs, and always growing. */
guint64
relay_next_counter (void)
{
  static guint64 last;

  last = MAX (last + 1, (guint64) g_get_real_time ());
  return last;
}
