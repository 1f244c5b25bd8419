/* test-control-connections.c: lanrage-control keeps accepting when descriptors run out,
 * bounds what one client address holds, and times out stalled and idle connections
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The clients here are raw TCP sockets, so a test can do what a hostile client does: send
 * half a request and stop, or hold a thousand connections from one address (127.0.0.2; all
 * of 127/8 reaches the loopback listener).
 */
#include "lr-test-control.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* The request of the repro: the headers never end. */
static const char unfinished[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";

static void
send_all (GSocket    *socket,
          const char *text)
{
  gsize length = strlen (text);
  gsize sent = 0;

  while (sent < length)
    {
      gssize n = g_socket_send (socket, text + sent, length - sent, NULL, NULL);

      if (n <= 0)
        return;
      sent += n;
    }
}

/* Waits up to @timeout_ms for the server to end the connection (end of stream or reset),
 * reading and dropping whatever it sends before. */
static gboolean
wait_closed_by_server (GSocket *socket,
                       guint    timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  char buffer[4096];

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GError) error = NULL;
      gssize n;
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;

      if (!g_socket_condition_timed_wait (socket, G_IO_IN, MAX (left_ms, 1) * 1000, NULL, NULL))
        return FALSE;
      n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);
      if (n <= 0)
        return TRUE;
    }
  return FALSE;
}

/* Sends one request on @socket and reads its whole answer (headers and a Content-Length
 * body) within @timeout_ms. Returns the status, or 0 with no answer. */
static guint
exchange (GSocket    *socket,
          const char *request,
          guint       timeout_ms)
{
  g_autoptr(GString) answer = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  const char *end;
  guint status = 0;

  send_all (socket, request);
  while (g_get_monotonic_time () < deadline)
    {
      char buffer[4096];
      gssize n;
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;

      if (!g_socket_condition_timed_wait (socket, G_IO_IN, MAX (left_ms, 1) * 1000, NULL, NULL))
        break;
      n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);
      if (n <= 0)
        break;
      g_string_append_len (answer, buffer, n);

      end = strstr (answer->str, "\r\n\r\n");
      if (end != NULL)
        {
          const char *length = strstr (answer->str, "Content-Length: ");
          gsize body = length && length < end ? g_ascii_strtoull (length + 16, NULL, 10) : 0;

          if (answer->len >= (gsize) (end + 4 - answer->str) + body)
            {
              sscanf (answer->str, "HTTP/1.%*c %u", &status);
              return status;
            }
        }
    }
  return 0;
}

/* One GET /healthz on a new connection from @source, answered within @timeout_ms. */
static gboolean
healthz_answers (LrTestServer *server,
                 const char   *source,
                 guint         timeout_ms)
{
  g_autoptr(GSocket) socket = lr_test_server_connect_tcp (server, source);

  if (socket == NULL)
    return FALSE;
  return exchange (socket, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                   timeout_ms) == 200;
}

static guint64
metric (LrTestServer *server,
        const char   *name)
{
  g_autoptr(LrTestResponse) response = lr_test_request (server, "GET", "/metrics", NULL, NULL);
  g_autofree char *prefix = g_strconcat ("\n", name, " ", NULL);
  g_autofree char *text = NULL;
  const char *line;

  lr_test_assert_status (response, 200);
  text = g_strndup (g_bytes_get_data (response->raw, NULL), g_bytes_get_size (response->raw));
  line = strstr (text, prefix);
  if (line == NULL)
    g_error ("/metrics has no %s", name);
  return g_ascii_strtoull (line + strlen (prefix), NULL, 10);
}

/* The test process holds a thousand sockets of its own. */
static void
raise_own_fd_limit (guint64 needed)
{
  struct rlimit limit;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  if (limit.rlim_cur < needed && limit.rlim_max >= needed)
    {
      limit.rlim_cur = needed;
      g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
    }
  if (limit.rlim_cur < needed)
    g_error ("the test needs %" G_GUINT64_FORMAT " file descriptors", needed);
}

/* The repro: under a limit of 64 descriptors, 70 connections that each send half a
 * request, then all close; /healthz must answer within a second. @extra_args pushes the
 * connection cap above the descriptor limit, so that accept() itself fails with EMFILE. */
static void
check_fd_exhaustion (const char * const *extra_args)
{
  g_autoptr(LrTestServer) server = lr_test_server_new (extra_args, LR_TEST_SERVER_NONE);
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 start;

  lr_test_server_set_fd_limit (server, 64);
  lr_test_server_start (server);
  g_assert_true (healthz_answers (server, NULL, 1000));

  for (guint i = 0; i < 70; i++)
    {
      GSocket *socket = lr_test_server_connect_tcp (server, NULL);

      if (socket == NULL)
        continue;
      send_all (socket, unfinished);
      g_ptr_array_add (sockets, socket);
    }
  g_test_message ("%u of 70 connections made", sockets->len);
  /* Let the server take in what it can. */
  lr_test_run_for (300);
  g_ptr_array_set_size (sockets, 0);

  start = g_get_monotonic_time ();
  if (!healthz_answers (server, NULL, 1000))
    g_error ("/healthz did not answer within a second after the connections closed");
  g_test_message ("/healthz answered in %.1f ms",
                  (g_get_monotonic_time () - start) / 1000.0);

  /* And again later: the server did not answer once and go deaf. */
  for (guint i = 0; i < 5; i++)
    g_assert_true (healthz_answers (server, NULL, 1000));
  g_assert_true (lr_test_server_is_running (server));
}

static void
test_fd_exhaustion (void)
{
  check_fd_exhaustion (NULL);
}

static void
test_fd_exhaustion_accept_fails (void)
{
  static const char * const args[] = { "--max-connections", "1000", NULL };

  check_fd_exhaustion (args);
}

/* A thousand stalled connections from 127.0.0.2 against a server with the usual default
 * limit of 1024 descriptors: clients from 127.0.0.1 are served as if nothing happened. */
static void
test_one_address_flood (void)
{
  g_autoptr(LrTestServer) server = lr_test_server_new (NULL, LR_TEST_SERVER_NONE);
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(LrTestMember) host = NULL;
  guint made = 0;
  gint64 start;

  raise_own_fd_limit (4096);
  lr_test_server_set_fd_limit (server, 1024);
  lr_test_server_start (server);

  for (guint i = 0; i < 1024; i++)
    {
      GSocket *socket = lr_test_server_connect_tcp (server, "127.0.0.2");

      if (socket == NULL)
        continue;
      made++;
      send_all (socket, unfinished);
      g_ptr_array_add (sockets, socket);
    }
  g_test_message ("%u of 1024 stalled connections made from 127.0.0.2", made);
  g_assert_cmpuint (made, >, 1000);

  start = g_get_monotonic_time ();
  if (!healthz_answers (server, "127.0.0.1", 1000))
    g_error ("/healthz from another address did not answer within a second");
  g_test_message ("/healthz from 127.0.0.1 answered in %.1f ms",
                  (g_get_monotonic_time () - start) / 1000.0);

  host = lr_test_create_party (server, "still here", "host");
  g_assert_nonnull (host->token);

  /* The flood holds the per-address cap, no more; the rest was turned away. */
  g_assert_cmpuint (metric (server, "lanrage_control_connections"), <=, 64 + 2);
  g_assert_cmpuint (metric (server, "lanrage_control_connections_refused_total"), >=,
                    made - 64);
  g_assert_true (lr_test_server_is_running (server));
}

/* --request-timeout: half a request, or none, is cut off. An answered connection is closed
 * by the server, which says so in the answer. */
static void
test_timeouts (void)
{
  static const char * const args[] = { "--request-timeout", "500ms", NULL };
  g_autoptr(LrTestServer) server = lr_test_server_new (args, LR_TEST_SERVER_NONE);
  g_autoptr(GSocket) stalled = NULL;
  g_autoptr(GSocket) silent = NULL;
  g_autoptr(GSocket) answered = NULL;
  gint64 start;

  lr_test_server_start (server);

  /* Half a request. */
  stalled = lr_test_server_connect_tcp (server, NULL);
  g_assert_nonnull (stalled);
  send_all (stalled, unfinished);
  start = g_get_monotonic_time ();
  g_assert_true (wait_closed_by_server (stalled, 3000));
  g_test_message ("half a request: closed after %.0f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 400 * 1000);

  /* A connection that never sends a byte. */
  silent = lr_test_server_connect_tcp (server, NULL);
  g_assert_nonnull (silent);
  start = g_get_monotonic_time ();
  g_assert_true (wait_closed_by_server (silent, 3000));
  g_test_message ("no request: closed after %.0f ms",
                  (g_get_monotonic_time () - start) / 1000.0);

  /* One request, answered, then the server closes at once. */
  answered = lr_test_server_connect_tcp (server, NULL);
  g_assert_nonnull (answered);
  g_assert_cmpuint (exchange (answered, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 2000), ==,
                    200);
  start = g_get_monotonic_time ();
  g_assert_true (wait_closed_by_server (answered, 300));
  g_test_message ("answered: closed after %.0f ms", (g_get_monotonic_time () - start) / 1000.0);
}

/* The inodes of the TCP connections (not the listener) on @port in /proc/@pid/net/@table. */
static void
add_connection_inodes (GPid        pid,
                       const char *table,
                       guint       port,
                       GHashTable *inodes)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/net/%s", (int) pid, table);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_autoptr(GPtrArray) columns = g_ptr_array_new ();
      const char *colon;

      for (guint j = 0; fields[j] != NULL; j++)
        if (fields[j][0] != '\0')
          g_ptr_array_add (columns, fields[j]);
      /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
      if (columns->len < 10)
        continue;
      colon = strrchr (g_ptr_array_index (columns, 1), ':');
      if (colon == NULL || g_ascii_strtoull (colon + 1, NULL, 16) != port
          || g_str_equal (g_ptr_array_index (columns, 3), "0A"))
        continue;
      g_hash_table_add (inodes, g_strdup (g_ptr_array_index (columns, 9)));
    }
}

/* How many client connections the server holds a descriptor for. Only those: the server's
 * other descriptors (a PostgreSQL pool opens its connections on first use) are not clients'. */
static guint
count_client_fds (LrTestServer *server)
{
  GPid pid = lr_test_server_get_pid (server);
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr(GHashTable) inodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GDir) dir = NULL;
  const char *name;
  guint count = 0;

  add_connection_inodes (pid, "tcp", lr_test_server_get_port (server), inodes);
  add_connection_inodes (pid, "tcp6", lr_test_server_get_port (server), inodes);
  dir = g_dir_open (path, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *fd_path = g_build_filename (path, name, NULL);
      g_autofree char *target = g_file_read_link (fd_path, NULL);

      if (target != NULL && g_str_has_prefix (target, "socket:[")
          && g_str_has_suffix (target, "]"))
        {
          target[strlen (target) - 1] = '\0';
          if (g_hash_table_contains (inodes, target + strlen ("socket:[")))
            count++;
        }
    }
  return count;
}

/* Clients that send HTTP/1.1 requests, which default to keep-alive, and leave: libsoup 3.2
 * alone kept each such connection half-closed for good, its descriptor and 2.3 KiB of memory
 * with it. Now the server holds as many descriptors as before and no more memory. */
static void
test_departed_clients (void)
{
  g_autoptr(LrTestServer) server = lr_test_server_new (NULL, LR_TEST_SERVER_NONE);
  g_autofree char *asan_options = g_strdup (g_getenv ("ASAN_OPTIONS"));
  g_autofree char *server_asan_options = NULL;
  guint fds_before = 0, fds_after = 0;
  guint64 rss_before = 0, rss_after;
  gint64 deadline;

  /* In a sanitizer build, AddressSanitizer holds freed memory back (its quarantine), which
   * would read as growth; a build without it ignores the variable. */
  server_asan_options = g_strconcat (asan_options ? asan_options : "",
                                     asan_options ? ":" : "", "quarantine_size_mb=0", NULL);
  g_setenv ("ASAN_OPTIONS", server_asan_options, TRUE);
  lr_test_server_start (server);
  if (asan_options != NULL)
    g_setenv ("ASAN_OPTIONS", asan_options, TRUE);
  else
    g_unsetenv ("ASAN_OPTIONS");

  /* A first round warms up the allocator; the second one is measured. */
  for (guint round = 0; round < 2; round++)
    {
      if (round == 1)
        {
          fds_before = count_client_fds (server);
          rss_before = lr_test_server_get_rss_kib (server);
        }

      for (guint i = 0; i < 1000; i++)
        {
          g_autoptr(GSocket) socket = lr_test_server_connect_tcp (server, NULL);

          g_assert_nonnull (socket);
          g_assert_cmpuint (exchange (socket, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                                      2000), ==, 200);
        }
    }

  /* Within a second, the server holds as many clients' descriptors as before. */
  deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline
         && (fds_after = count_client_fds (server)) > fds_before)
    g_usleep (20 * 1000);
  rss_after = lr_test_server_get_rss_kib (server);
  g_test_message ("after 1000 clients came and left: %u client connections held before, "
                  "%u after; VmRSS %" G_GUINT64_FORMAT " KiB before, %" G_GUINT64_FORMAT
                  " KiB after",
                  fds_before, fds_after, rss_before, rss_after);
  g_assert_cmpuint (fds_after, <=, fds_before);
  g_assert_cmpuint (rss_after, <, rss_before + 1024);
}

int
main (int   argc,
      char *argv[])
{
  lr_test_control_init (&argc, &argv);

  g_test_add_func ("/control/connections/fd-exhaustion", test_fd_exhaustion);
  g_test_add_func ("/control/connections/fd-exhaustion-accept-fails",
                   test_fd_exhaustion_accept_fails);
  g_test_add_func ("/control/connections/one-address-flood", test_one_address_flood);
  g_test_add_func ("/control/connections/timeouts", test_timeouts);
  g_test_add_func ("/control/connections/departed-clients", test_departed_clients);

  return g_test_run ();
}
