/* lr-test-control.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-test-control.h"
#include "lr-test-postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct _LrTestServer
{
  char               *tmpdir;
  char               *db_path;          /* a file, or a PostgreSQL URI */
  char               *secret_path;      /* beside the database, where the server puts it */
  char               *log_path;
  GStrv               extra_args;
  LrTestServerFlags   flags;
  GSubprocess        *process;
  GThread            *stdout_thread;
  GMutex              lock;
  GCond               cond;
  GString            *stdout_log;     /* everything it printed, over every run */
  gboolean            stdout_closed;
  char               *url;
  char               *netns;          /* run through `ip netns exec`, or NULL */
  guint64             fd_limit;       /* RLIMIT_NOFILE (soft and hard) of the server, or 0 */
  SoupSession        *session;
};

/* Iterating the default context until a flag is set or time runs out. */

static gboolean
set_flag_cb (gpointer data)
{
  gboolean *flag = data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
iterate_until (gboolean *done,
               guint     timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, set_flag_cb, &timed_out);

  while (!*done && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  if (!timed_out)
    g_source_remove (id);
  return *done;
}

void
lr_test_run_for (guint ms)
{
  gboolean never = FALSE;

  iterate_until (&never, ms);
}

/* The server */

/* Each test has a server of its own, so a test that fails without aborting (a server that
 * did not stop cleanly) says nothing about the next one: they all run, and the report
 * names every failure. */
void
lr_test_control_init (int    *argc,
                      char ***argv)
{
  static char **args = NULL;

  g_assert_null (args);
  args = g_new0 (char *, *argc + 2);
  args[0] = (*argv)[0];
  args[1] = (char *) "--keep-going";
  for (int i = 1; i < *argc; i++)
    args[i + 1] = (*argv)[i];
  *argc += 1;
  *argv = args;

  g_test_init (argc, argv, NULL);

  if (lr_test_backend_is_postgresql ())
    {
      g_autofree char *why_not = NULL;

      if (!lr_test_postgres_is_available (&why_not))
        {
          printf ("1..0 # SKIP %s\n", why_not);
          exit (0);
        }
    }
}

/**
 * lr_test_backend_is_postgresql:
 *
 * Whether the servers of this run keep their data in PostgreSQL ($LR_TEST_CONTROL_DB is
 * "postgresql") rather than in SQLite, the default.
 */
gboolean
lr_test_backend_is_postgresql (void)
{
  return g_strcmp0 (g_getenv ("LR_TEST_CONTROL_DB"), "postgresql") == 0;
}

LrTestServer *
lr_test_server_new (const char * const *extra_args,
                    LrTestServerFlags   flags)
{
  LrTestServer *self = g_new0 (LrTestServer, 1);
  g_autoptr(GError) error = NULL;

  if (sodium_init () < 0)
    g_error ("libsodium failed to initialise");

  self->tmpdir = g_dir_make_tmp ("lanrage-control-test-XXXXXX", &error);
  g_assert_no_error (error);
  if (lr_test_backend_is_postgresql ())
    self->db_path = lr_test_postgres_create_database (lr_test_postgres_get_default ());
  else
    self->db_path = g_build_filename (self->tmpdir, "control.db", NULL);
  self->secret_path = g_build_filename (self->tmpdir, "relay-secret", NULL);
  self->log_path = g_build_filename (self->tmpdir, "server.log", NULL);
  self->extra_args = g_strdupv ((char **) extra_args);
  self->flags = flags;
  self->session = soup_session_new_with_options ("timeout", 15, "idle-timeout", 30, NULL);
  self->stdout_log = g_string_new (NULL);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);

  return self;
}

/**
 * lr_test_server_new_sharing:
 * @other: a server whose database (and relay secret) the new one shares
 *
 * A second instance on the same database, as behind a load balancer. Only on PostgreSQL.
 */
LrTestServer *
lr_test_server_new_sharing (LrTestServer       *other,
                            const char * const *extra_args,
                            LrTestServerFlags   flags)
{
  LrTestServer *self = lr_test_server_new (extra_args, flags);

  g_assert_true (lr_test_backend_is_postgresql ());
  g_free (self->db_path);
  self->db_path = g_strdup (other->db_path);
  g_free (self->secret_path);
  self->secret_path = g_strdup (other->secret_path);
  return self;
}

/**
 * lr_test_remove_tree:
 *
 * Removes @path and everything below it, best effort; a link is removed, never followed.
 */
void
lr_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR) &&
              !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            lr_test_remove_tree (child);
          else
            g_unlink (child);
        }
    }
  g_rmdir (path);
}

static void
print_log_tail (LrTestServer *self)
{
  g_autofree char *log = lr_test_server_get_log (self);
  gsize length = log != NULL ? strlen (log) : 0;
  const char *start = log;

  if (log == NULL)
    return;
  if (length > 6000)
    start = log + length - 6000;
  g_test_message ("Server log (last %zu bytes):", strlen (start));
  {
    g_auto(GStrv) lines = g_strsplit (start, "\n", -1);

    for (guint i = 0; lines[i] != NULL; i++)
      if (lines[i][0] != '\0')
        g_test_message ("  | %s", lines[i]);
  }
}

void
lr_test_server_free (LrTestServer *self)
{
  if (self == NULL)
    return;

  if (self->process != NULL)
    {
      g_subprocess_send_signal (self->process, SIGKILL);
      g_subprocess_wait (self->process, NULL, NULL);
    }
  if (self->stdout_thread != NULL)
    g_thread_join (g_steal_pointer (&self->stdout_thread));

  if (g_test_failed ())
    print_log_tail (self);

  g_clear_object (&self->process);
  g_clear_object (&self->session);

  if (self->tmpdir != NULL && g_getenv ("LR_TEST_KEEP_TMPDIR") == NULL)
    lr_test_remove_tree (self->tmpdir);
  else if (self->tmpdir != NULL)
    g_test_message ("Kept %s", self->tmpdir);

  g_free (self->tmpdir);
  g_free (self->db_path);
  g_free (self->secret_path);
  g_free (self->log_path);
  g_free (self->url);
  g_strfreev (self->extra_args);
  g_free (self->netns);
  g_string_free (self->stdout_log, TRUE);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}

static gboolean
has_arg (LrTestServer *self,
         const char   *prefix)
{
  for (guint i = 0; self->extra_args != NULL && self->extra_args[i] != NULL; i++)
    if (g_str_has_prefix (self->extra_args[i], prefix))
      return TRUE;
  return FALSE;
}

/* The server's standard output is read by a thread for as long as it runs: it holds the
 * "Listening on" line, and with G_MESSAGES_DEBUG its info and debug messages too, which
 * must neither fill the pipe nor escape the log. */
typedef struct
{
  LrTestServer     *server;
  GDataInputStream *stream;
} StdoutReader;

static gpointer
stdout_reader_thread (gpointer data)
{
  StdoutReader *reader = data;
  LrTestServer *self = reader->server;

  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (reader->stream, NULL, NULL,
                                                                  NULL);

      g_mutex_lock (&self->lock);
      if (line == NULL)
        {
          self->stdout_closed = TRUE;
          g_cond_broadcast (&self->cond);
          g_mutex_unlock (&self->lock);
          break;
        }

      g_string_append_printf (self->stdout_log, "%s\n", line);
      if (self->url == NULL && g_str_has_prefix (line, "Listening on "))
        {
          const char *url = line + strlen ("Listening on ");
          gsize length = strlen (url);

          while (length > 0 && (url[length - 1] == '/' || g_ascii_isspace (url[length - 1])))
            length--;
          self->url = g_strndup (url, length);
          g_cond_broadcast (&self->cond);
        }
      g_mutex_unlock (&self->lock);
    }

  g_object_unref (reader->stream);
  g_free (reader);
  return NULL;
}

/* A test that fails aborts without its teardown: the server must not outlive it. */
static void
child_setup (gpointer user_data)
{
  LrTestServer *self = user_data;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (self->fd_limit != 0)
    {
      struct rlimit limit = { self->fd_limit, self->fd_limit };

      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

/**
 * lr_test_server_try_start:
 * @out_exit_status: (out): the exit status when the server exits before listening
 *
 * Starts the server and waits for its "Listening on URL" line. Returns %FALSE if it exited
 * first (a test of refused configurations wants that); a server that neither listens nor
 * exits within %LR_TEST_START_TIMEOUT_MS fails the test.
 */
gboolean
lr_test_server_try_start (LrTestServer *self,
                          int          *out_exit_status)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *binary = g_getenv ("LANRAGE_CONTROL");
  gint64 deadline;
  int log_fd;

  g_assert_null (self->process);

  if (binary == NULL)
    g_error ("LANRAGE_CONTROL is not set: run the tests with meson test, or set it to the "
             "path of lanrage-control");

  if (self->netns != NULL)
    {
      /* `ip netns exec` execs the server in place: the pid, the signals and the death with
       * the test are the server's own. */
      g_ptr_array_add (argv, (char *) "ip");
      g_ptr_array_add (argv, (char *) "netns");
      g_ptr_array_add (argv, (char *) "exec");
      g_ptr_array_add (argv, self->netns);
    }
  g_ptr_array_add (argv, (char *) binary);
  g_ptr_array_add (argv, (char *) "--listen");
  g_ptr_array_add (argv, (char *) "127.0.0.1:0");
  g_ptr_array_add (argv, (char *) "--db");
  g_ptr_array_add (argv, self->db_path);
  if (lr_test_backend_is_postgresql () && !has_arg (self, "--relay-secret-file"))
    {
      g_ptr_array_add (argv, (char *) "--relay-secret-file");
      g_ptr_array_add (argv, self->secret_path);
    }
  if (!(self->flags & LR_TEST_SERVER_KEEP_RATE_LIMIT) && !has_arg (self, "--join-rate-limit"))
    {
      g_ptr_array_add (argv, (char *) "--join-rate-limit");
      g_ptr_array_add (argv, (char *) "0");
    }
  for (guint i = 0; self->extra_args != NULL && self->extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, self->extra_args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, self, NULL);
  if (self->flags & LR_TEST_SERVER_DEBUG_LOG)
    g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "all", TRUE);

  /* One log over every run of the server in this test, so a test can read all it said. */
  log_fd = g_open (self->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  g_assert_cmpint (log_fd, >=, 0);
  g_subprocess_launcher_take_stderr_fd (launcher, log_fd);

  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                                &error);
  g_assert_no_error (error);

  {
    StdoutReader *reader = g_new0 (StdoutReader, 1);

    reader->server = self;
    reader->stream = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
    g_clear_pointer (&self->url, g_free);
    self->stdout_closed = FALSE;
    self->stdout_thread = g_thread_new ("server-stdout", stdout_reader_thread, reader);
  }

  deadline = g_get_monotonic_time () + LR_TEST_START_TIMEOUT_MS * 1000;
  g_mutex_lock (&self->lock);
  while (self->url == NULL && !self->stdout_closed)
    if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
      break;
  g_mutex_unlock (&self->lock);

  if (self->url == NULL && self->stdout_closed)
    {
      /* End of file: the server died (or closed its standard output). */
      g_subprocess_wait (self->process, NULL, NULL);
      if (g_subprocess_get_if_signaled (self->process))
        {
          print_log_tail (self);
          g_error ("lanrage-control was killed by signal %d before listening",
                   g_subprocess_get_term_sig (self->process));
        }
      if (out_exit_status != NULL)
        *out_exit_status = g_subprocess_get_exit_status (self->process);
      g_thread_join (g_steal_pointer (&self->stdout_thread));
      g_clear_object (&self->process);
      return FALSE;
    }
  if (self->url == NULL)
    {
      print_log_tail (self);
      g_error ("lanrage-control did not print \"Listening on URL\" within %d ms",
               LR_TEST_START_TIMEOUT_MS);
    }

  if (self->netns == NULL)
    {
      g_assert_true (g_str_has_prefix (self->url, "http://127.0.0.1:") ||
                     g_str_has_prefix (self->url, "https://127.0.0.1:"));
      g_assert_cmpstr (self->url, !=, "http://127.0.0.1:0");
    }
  else
    {
      /* In a lab namespace it listens where its --listen says. */
      g_assert_true (g_str_has_prefix (self->url, "http://") ||
                     g_str_has_prefix (self->url, "https://"));
      g_assert_false (g_str_has_suffix (self->url, ":0"));
    }

  /* A failed assertion aborts before the teardown, which leaves the folder in place. */
  g_test_message ("lanrage-control listens on %s; its log is %s", self->url, self->log_path);
  return TRUE;
}

void
lr_test_server_start (LrTestServer *self)
{
  int status = 0;

  if (!lr_test_server_try_start (self, &status))
    {
      print_log_tail (self);
      g_error ("lanrage-control exited with status %d before listening", status);
    }
}

typedef struct
{
  gboolean done;
} WaitData;

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  WaitData *data = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  data->done = TRUE;
}

void
lr_test_server_stop (LrTestServer *self,
                     gboolean      kill_hard)
{
  WaitData data = { 0 };

  g_assert_nonnull (self->process);

  g_subprocess_send_signal (self->process, kill_hard ? SIGKILL : SIGTERM);
  g_subprocess_wait_async (self->process, NULL, wait_cb, &data);
  if (!iterate_until (&data.done, LR_TEST_STOP_TIMEOUT_MS))
    {
      g_subprocess_force_exit (self->process);
      g_subprocess_wait (self->process, NULL, NULL);
      g_clear_object (&self->process);
      g_error ("lanrage-control did not stop within %d ms of SIGTERM", LR_TEST_STOP_TIMEOUT_MS);
    }

  if (kill_hard)
    {
      g_assert_true (g_subprocess_get_if_signaled (self->process));
      g_assert_cmpint (g_subprocess_get_term_sig (self->process), ==, SIGKILL);
    }
  else if (!g_subprocess_get_if_exited (self->process) ||
           g_subprocess_get_exit_status (self->process) != 0)
    {
      /* The contract: "SIGINT and SIGTERM stop it cleanly". The test goes on, failed. */
      g_test_fail_printf ("lanrage-control did not exit cleanly on SIGTERM (%s %d)",
                          g_subprocess_get_if_signaled (self->process) ? "signal" : "status",
                          g_subprocess_get_if_signaled (self->process)
                            ? g_subprocess_get_term_sig (self->process)
                            : g_subprocess_get_exit_status (self->process));
    }

  if (self->stdout_thread != NULL)
    g_thread_join (g_steal_pointer (&self->stdout_thread));
  g_clear_object (&self->process);
  /* Pooled connections lead to the old process; a new one may even get the same port. */
  soup_session_abort (self->session);
}

void
lr_test_server_restart (LrTestServer *self,
                        gboolean      kill_hard)
{
  lr_test_server_stop (self, kill_hard);
  lr_test_server_start (self);
}

/* For the next start: options that name files in the test's folder. */
void
lr_test_server_set_extra_args (LrTestServer       *self,
                               const char * const *extra_args)
{
  g_strfreev (self->extra_args);
  self->extra_args = g_strdupv ((char **) extra_args);
}

/* For the next start: the --db to give the server instead of its own fresh database. */
void
lr_test_server_set_db_path (LrTestServer *self,
                            const char   *db_path)
{
  g_free (self->db_path);
  self->db_path = g_strdup (db_path);
}

/* For the next start: run the server in the network namespace @netns (from `ip netns add`);
 * its URL is then only reachable from that namespace and the test's own requests fail. */
void
lr_test_server_set_netns (LrTestServer *self,
                          const char   *netns)
{
  g_free (self->netns);
  self->netns = g_strdup (netns);
}

/* Starts the server with this file descriptor limit, soft and hard (so it cannot raise it). */
void
lr_test_server_set_fd_limit (LrTestServer *self,
                             guint64       limit)
{
  self->fd_limit = limit;
}

/* The server's process id, while it runs. */
GPid
lr_test_server_get_pid (LrTestServer *self)
{
  const char *id;

  g_assert_nonnull (self->process);
  id = g_subprocess_get_identifier (self->process);
  g_assert_nonnull (id);
  return (GPid) g_ascii_strtoll (id, NULL, 10);
}

/* The port it listens on, from its URL. */
guint16
lr_test_server_get_port (LrTestServer *self)
{
  const char *colon = strrchr (lr_test_server_get_url (self), ':');

  g_assert_nonnull (colon);
  return (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
}

/**
 * lr_test_server_connect_tcp:
 * @source: (nullable): the local IPv4 address to connect from (any of 127/8 reaches the
 *   loopback listener), or %NULL
 *
 * A blocking TCP connection to the server (5 s timeouts), for tests that speak HTTP or
 * WebSocket by hand. Returns %NULL if it could not be made: the test says whether that is
 * expected.
 */
GSocket *
lr_test_server_connect_tcp (LrTestServer *self,
                            const char   *source)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) address = NULL;

  g_assert_nonnull (socket);
  address = g_inet_socket_address_new (loopback, lr_test_server_get_port (self));
  g_socket_set_timeout (socket, 5);
  if (source != NULL)
    {
      g_autoptr(GInetAddress) from = g_inet_address_new_from_string (source);
      g_autoptr(GSocketAddress) local = g_inet_socket_address_new (from, 0);

      if (!g_socket_bind (socket, local, FALSE, NULL))
        return NULL;
    }
  if (!g_socket_connect (socket, address, NULL, NULL))
    return NULL;
  return g_steal_pointer (&socket);
}

/* Its resident memory (VmRSS), in KiB. */
guint64
lr_test_server_get_rss_kib (LrTestServer *self)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status",
                                           (int) lr_test_server_get_pid (self));
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);
}

gboolean
lr_test_server_is_running (LrTestServer *self)
{
  return self->process != NULL;
}

const char *
lr_test_server_get_url (LrTestServer *self)
{
  g_assert_nonnull (self->url);
  return self->url;
}

const char *
lr_test_server_get_tmpdir (LrTestServer *self)
{
  return self->tmpdir;
}

const char *
lr_test_server_get_db_path (LrTestServer *self)
{
  return self->db_path;
}

/* What the server wrote to its standard error, then to its standard output. */
char *
lr_test_server_get_log (LrTestServer *self)
{
  g_autofree char *contents = NULL;
  char *log;

  if (!g_file_get_contents (self->log_path, &contents, NULL, NULL))
    contents = g_strdup ("");

  g_mutex_lock (&self->lock);
  log = g_strconcat (contents, self->stdout_log->str, NULL);
  g_mutex_unlock (&self->lock);
  return log;
}

/* The relay secret file the server creates beside its database: its text, trimmed. */
char *
lr_test_server_read_relay_secret (LrTestServer *self)
{
  g_autofree char *path = g_build_filename (self->tmpdir, "relay-secret", NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return g_strstrip (contents);
}

/* HTTP */

void
lr_test_response_free (LrTestResponse *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->raw, g_bytes_unref);
  g_clear_pointer (&self->body, json_node_unref);
  g_free (self->content_type);
  g_free (self->retry_after);
  g_free (self->transport_error);
  g_free (self);
}

static LrTestResponse *
send_message (SoupSession *session,
              SoupMessage *message)
{
  LrTestResponse *response = g_new0 (LrTestResponse, 1);
  g_autoptr(GError) error = NULL;
  const char *type;
  const char *retry;
  gsize length = 0;
  const char *data;

  response->raw = soup_session_send_and_read (session, message, NULL, &error);
  if (response->raw == NULL)
    {
      response->status = 0;
      response->transport_error = g_strdup (error->message);
      return response;
    }

  response->status = soup_message_get_status (message);
  type = soup_message_headers_get_content_type (soup_message_get_response_headers (message),
                                                NULL);
  response->content_type = g_strdup (type);
  retry = soup_message_headers_get_one (soup_message_get_response_headers (message),
                                        "Retry-After");
  response->retry_after = g_strdup (retry);

  data = g_bytes_get_data (response->raw, &length);
  if (length > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, data, length, NULL))
        response->body = json_node_ref (json_parser_get_root (parser));
    }

  return response;
}

static SoupMessage *
new_message (const char *base_url,
             const char *method,
             const char *path)
{
  g_autofree char *url = g_strconcat (base_url, path, NULL);
  SoupMessage *message = soup_message_new (method, url);

  if (message == NULL)
    g_error ("Not a URL libsoup takes: %s", url);
  return message;
}

LrTestResponse *
lr_test_request_with_session (SoupSession *session,
                              const char  *base_url,
                              const char  *method,
                              const char  *path,
                              const char  *token,
                              const char  *body)
{
  g_autoptr(SoupMessage) message = new_message (base_url, method, path);

  if (token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (message),
                                    "Authorization", value);
    }

  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }

  return send_message (session, message);
}

LrTestResponse *
lr_test_request (LrTestServer *server,
                 const char   *method,
                 const char   *path,
                 const char   *token,
                 const char   *body)
{
  LrTestResponse *response = lr_test_request_with_session (server->session,
                                                           lr_test_server_get_url (server),
                                                           method, path, token, body);

  if (response->status == 0)
    g_error ("%s %s: no answer from lanrage-control: %s", method, path,
             response->transport_error);
  return response;
}

LrTestResponse *
lr_test_request_raw (LrTestServer *server,
                     const char   *method,
                     const char   *path,
                     const char   *authorization,
                     const char   *content_type,
                     const void   *body,
                     gsize         body_length)
{
  g_autoptr(SoupMessage) message = new_message (lr_test_server_get_url (server), method, path);
  LrTestResponse *response;

  if (authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message),
                                  "Authorization", authorization);

  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, body_length);

      soup_message_set_request_body_from_bytes (message, content_type, bytes);
    }

  response = send_message (server->session, message);
  if (response->status == 0)
    g_error ("%s %s: no answer from lanrage-control: %s", method, path,
             response->transport_error);
  return response;
}

/* A request written by hand on a plain socket, so the path reaches the server byte for byte
 * (a URL parser would resolve `..` and may reject `%00`). Returns the status. */
guint
lr_test_request_socket (LrTestServer *server,
                        const char   *method,
                        const char   *raw_path,
                        const char   *token)
{
  g_autoptr(GUri) uri = g_uri_parse (lr_test_server_get_url (server), G_URI_FLAGS_NONE, NULL);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) request = g_string_new (NULL);
  g_autoptr(GDataInputStream) input = NULL;
  g_autofree char *status_line = NULL;
  guint64 status = 0;

  g_assert_nonnull (uri);
  g_socket_client_set_timeout (client, 10);
  connection = g_socket_client_connect_to_host (client, g_uri_get_host (uri),
                                                g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);

  g_string_append_printf (request, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", method, raw_path,
                          g_uri_get_port (uri));
  if (token != NULL)
    g_string_append_printf (request, "Authorization: Bearer %s\r\n", token);
  g_string_append (request, "Content-Length: 0\r\nConnection: close\r\n\r\n");

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             request->str, request->len, NULL, NULL, &error);
  g_assert_no_error (error);

  input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (input, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  status_line = g_data_input_stream_read_line (input, NULL, NULL, &error);
  g_assert_no_error (error);
  if (status_line == NULL)
    g_error ("%s %.60s...: the server closed the connection without answering", method,
             raw_path);

  /* "HTTP/1.1 404 Not Found" */
  if (!g_str_has_prefix (status_line, "HTTP/1.") || strlen (status_line) < 12 ||
      status_line[8] != ' ')
    g_error ("Not an HTTP status line: %s", status_line);
  {
    g_autofree char *code = g_strndup (status_line + 9, 3);

    if (!g_ascii_string_to_unsigned (code, 10, 100, 599, &status, NULL))
      g_error ("Not an HTTP status line: %s", status_line);
  }

  return (guint) status;
}

static char *
describe_response (LrTestResponse *response)
{
  gsize length = 0;
  const char *data = response->raw != NULL ? g_bytes_get_data (response->raw, &length) : "";

  return g_strdup_printf ("status %u, body %.*s", response->status, (int) MIN (length, 600),
                          data);
}

void
lr_test_assert_status_impl (LrTestResponse *response,
                            guint           expected_status,
                            const char     *file,
                            int             line)
{
  if (response->status != expected_status)
    {
      g_autofree char *got = describe_response (response);
      g_autofree char *message = g_strdup_printf ("expected status %u, got %s",
                                                  expected_status, got);

      g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, message);
    }
}

void
lr_test_assert_error_impl (LrTestResponse *response,
                           guint           expected_status,
                           const char     *expected_code,
                           const char     *file,
                           int             line)
{
  g_autofree char *got = describe_response (response);
  JsonNode *error, *code, *message;
  g_autofree char *failure = NULL;

  if (response->status != expected_status)
    failure = g_strdup_printf ("expected status %u (%s), got %s", expected_status,
                               expected_code, got);
  else if (response->body == NULL || !JSON_NODE_HOLDS_OBJECT (response->body))
    failure = g_strdup_printf ("expected a JSON error body with code %s, got %s",
                               expected_code, got);
  else if (!(error = json_object_get_member (json_node_get_object (response->body), "error")) ||
           !JSON_NODE_HOLDS_OBJECT (error) ||
           !(code = json_object_get_member (json_node_get_object (error), "code")) ||
           !(message = json_object_get_member (json_node_get_object (error), "message")) ||
           json_node_get_value_type (code) != G_TYPE_STRING ||
           json_node_get_value_type (message) != G_TYPE_STRING)
    failure = g_strdup_printf ("expected {\"error\": {\"code\", \"message\"}}, got %s", got);
  else if (g_strcmp0 (json_node_get_string (code), expected_code) != 0)
    failure = g_strdup_printf ("expected error code %s, got %s", expected_code, got);
  else if (*json_node_get_string (message) == '\0')
    failure = g_strdup_printf ("the error message is empty: %s", got);

  if (failure != NULL)
    g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, failure);
}

/* JSON */

JsonNode *
lr_test_json_find (JsonNode   *node,
                   const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, ".", -1);

  for (guint i = 0; parts[i] != NULL && node != NULL; i++)
    {
      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonObject *object = json_node_get_object (node);

          node = json_object_has_member (object, parts[i])
                   ? json_object_get_member (object, parts[i])
                   : NULL;
        }
      else if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          guint64 index;

          if (!g_ascii_string_to_unsigned (parts[i], 10, 0, G_MAXUINT, &index, NULL) ||
              index >= json_array_get_length (array))
            node = NULL;
          else
            node = json_array_get_element (array, index);
        }
      else
        node = NULL;
    }

  return node;
}

JsonNode *
lr_test_json_lookup (JsonNode   *node,
                     const char *path)
{
  JsonNode *found = lr_test_json_find (node, path);

  if (found == NULL)
    {
      g_autofree char *text = node != NULL ? lr_test_json_to_string (node) : g_strdup ("null");

      g_error ("No \"%s\" in %.800s", path, text);
    }
  return found;
}

/* The value at @path, which must hold a @type; the test stops with the document otherwise. */
static JsonNode *
lookup_value (JsonNode   *node,
              const char *path,
              GType       type,
              const char *what)
{
  JsonNode *found = lr_test_json_lookup (node, path);

  if (!JSON_NODE_HOLDS_VALUE (found) || json_node_get_value_type (found) != type)
    {
      g_autofree char *text = lr_test_json_to_string (node);

      g_error ("\"%s\" is not %s in %.800s", path, what, text);
    }
  return found;
}

const char *
lr_test_json_string (JsonNode   *node,
                     const char *path)
{
  return json_node_get_string (lookup_value (node, path, G_TYPE_STRING, "a string"));
}

gint64
lr_test_json_int (JsonNode   *node,
                  const char *path)
{
  return json_node_get_int (lookup_value (node, path, G_TYPE_INT64, "an integer"));
}

gboolean
lr_test_json_bool (JsonNode   *node,
                   const char *path)
{
  return json_node_get_boolean (lookup_value (node, path, G_TYPE_BOOLEAN, "a boolean"));
}

JsonArray *
lr_test_json_array (JsonNode   *node,
                    const char *path)
{
  JsonNode *found = lr_test_json_lookup (node, path);

  if (!JSON_NODE_HOLDS_ARRAY (found))
    {
      g_autofree char *text = lr_test_json_to_string (node);

      g_error ("\"%s\" is not an array in %.800s", path, text);
    }
  return json_node_get_array (found);
}

JsonNode *
lr_test_json_parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

char *
lr_test_json_to_string (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

JsonNode *
lr_test_json_array_find_peer (JsonArray  *peers,
                              const char *peer_id)
{
  for (guint i = 0; i < json_array_get_length (peers); i++)
    {
      JsonNode *peer = json_array_get_element (peers, i);

      if (g_strcmp0 (lr_test_json_string (peer, "id"), peer_id) == 0)
        return peer;
    }
  return NULL;
}

/* Keys and bodies */

char *
lr_test_random_key (void)
{
  guint8 bytes[32];
  char text[sodium_base64_ENCODED_LEN (32, sodium_base64_VARIANT_ORIGINAL)];

  randombytes_buf (bytes, sizeof bytes);
  sodium_bin2base64 (text, sizeof text, bytes, sizeof bytes, sodium_base64_VARIANT_ORIGINAL);
  return g_strdup (text);
}

static char *
json_quote (const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text);

  return json_to_string (node, FALSE);
}

char *
lr_test_peer_in_json (const char *name,
                      const char *wg_public_key,
                      const char *disco_public_key)
{
  g_autofree char *quoted_name = json_quote (name);

  return g_strdup_printf ("{\"name\": %s, \"wg_public_key\": \"%s\", "
                          "\"disco_public_key\": \"%s\", \"endpoints\": [\"192.0.2.10:51820\"]}",
                          quoted_name, wg_public_key, disco_public_key);
}

char *
lr_test_create_body (const char *party_name,
                     const char *peer_json)
{
  g_autofree char *quoted = json_quote (party_name);

  return g_strdup_printf ("{\"name\": %s, \"peer\": %s}", quoted, peer_json);
}

char *
lr_test_join_body (const char *invite_code,
                   const char *peer_json)
{
  g_autofree char *quoted = json_quote (invite_code);

  return g_strdup_printf ("{\"invite_code\": %s, \"peer\": %s}", quoted, peer_json);
}

/* Members */

void
lr_test_member_free (LrTestMember *self)
{
  if (self == NULL)
    return;
  g_free (self->party_id);
  g_free (self->invite_code);
  g_free (self->host_peer_id);
  g_free (self->peer_id);
  g_free (self->name);
  g_free (self->token);
  g_free (self->relay_token);
  g_free (self->virtual_ip);
  g_free (self->wg_public_key);
  g_free (self->disco_public_key);
  g_clear_pointer (&self->answer, json_node_unref);
  g_free (self);
}

static gboolean
is_id (const char *text)
{
  if (strlen (text) != 16)
    return FALSE;
  for (guint i = 0; i < 16; i++)
    if (!g_ascii_isdigit (text[i]) && !(text[i] >= 'a' && text[i] <= 'f'))
      return FALSE;
  return TRUE;
}

gboolean
lr_test_virtual_ip_is_valid (const char *text)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);
  const guint8 *bytes;

  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
    return FALSE;
  bytes = g_inet_address_to_bytes (address);
  return bytes[0] == 10 && bytes[1] == 66 && bytes[3] != 0 && bytes[3] != 255;
}

LrTestMember *
lr_test_member_from_answer (JsonNode *answer)
{
  LrTestMember *self = g_new0 (LrTestMember, 1);
  const char *code;

  self->answer = json_node_ref (answer);
  self->party_id = g_strdup (lr_test_json_string (answer, "party.id"));
  self->invite_code = g_strdup (lr_test_json_string (answer, "party.invite_code"));
  self->host_peer_id = g_strdup (lr_test_json_string (answer, "party.host_peer_id"));
  self->peer_id = g_strdup (lr_test_json_string (answer, "peer.id"));
  self->name = g_strdup (lr_test_json_string (answer, "peer.name"));
  self->token = g_strdup (lr_test_json_string (answer, "peer.token"));
  self->relay_token = g_strdup (lr_test_json_string (answer, "peer.relay_token"));
  self->virtual_ip = g_strdup (lr_test_json_string (answer, "peer.virtual_ip"));
  self->wg_public_key = g_strdup (lr_test_json_string (answer, "peer.wg_public_key"));
  self->disco_public_key = g_strdup (lr_test_json_string (answer, "peer.disco_public_key"));

  g_assert_true (is_id (self->party_id));
  g_assert_true (is_id (self->peer_id));
  g_assert_true (is_id (self->host_peer_id));
  code = self->invite_code;
  g_assert_cmpuint (strlen (code), ==, 14);
  g_assert_true (code[4] == '-' && code[9] == '-');
  g_assert_cmpuint (strlen (self->token), ==, 43);
  g_assert_true (lr_test_virtual_ip_is_valid (self->virtual_ip));
  (void) lr_test_json_array (answer, "relays");
  return self;
}

LrTestMember *
lr_test_create_party (LrTestServer *server,
                      const char   *party_name,
                      const char   *peer_name)
{
  g_autofree char *wg = lr_test_random_key ();
  g_autofree char *disco = lr_test_random_key ();
  g_autofree char *peer = lr_test_peer_in_json (peer_name, wg, disco);
  g_autofree char *body = lr_test_create_body (party_name, peer);
  g_autoptr(LrTestResponse) response = lr_test_request (server, "POST", "/v1/parties", NULL,
                                                        body);
  LrTestMember *member;

  lr_test_assert_status (response, 201);
  g_assert_nonnull (response->body);
  member = lr_test_member_from_answer (response->body);
  g_assert_cmpstr (member->wg_public_key, ==, wg);
  g_assert_cmpstr (member->disco_public_key, ==, disco);
  g_assert_cmpstr (member->name, ==, peer_name);
  g_assert_cmpstr (member->host_peer_id, ==, member->peer_id);
  g_assert_cmpstr (lr_test_json_string (response->body, "party.name"), ==, party_name);
  return member;
}

LrTestMember *
lr_test_join (LrTestServer *server,
              const char   *invite_code,
              const char   *peer_name)
{
  g_autofree char *wg = lr_test_random_key ();
  g_autofree char *disco = lr_test_random_key ();
  g_autofree char *peer = lr_test_peer_in_json (peer_name, wg, disco);
  g_autofree char *body = lr_test_join_body (invite_code, peer);
  g_autoptr(LrTestResponse) response = lr_test_request (server, "POST", "/v1/join", NULL, body);
  LrTestMember *member;

  lr_test_assert_status (response, 201);
  g_assert_nonnull (response->body);
  member = lr_test_member_from_answer (response->body);
  g_assert_cmpstr (member->wg_public_key, ==, wg);
  g_assert_cmpstr (member->disco_public_key, ==, disco);
  g_assert_cmpstr (member->name, ==, peer_name);
  return member;
}

char *
lr_test_party_path (const LrTestMember *member,
                    const char         *suffix)
{
  return g_strconcat ("/v1/parties/", member->party_id, suffix, NULL);
}

/* Events socket */

struct _LrTestSocket
{
  SoupSession             *session;
  SoupMessage             *message;
  SoupWebsocketConnection *connection;
  GQueue                   queue;
  gboolean                 connect_done;
  gboolean                 closed;
  GError                  *connect_error;
};

static void
socket_message_cb (SoupWebsocketConnection *connection,
                   gint                     type,
                   GBytes                  *message,
                   gpointer                 user_data)
{
  LrTestSocket *self = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length = 0;
  const char *data = g_bytes_get_data (message, &length);

  if (type == SOUP_WEBSOCKET_DATA_TEXT && json_parser_load_from_data (parser, data, length, NULL))
    g_queue_push_tail (&self->queue, json_node_ref (json_parser_get_root (parser)));
  else
    {
      /* Queued as a string so that a test expecting an event fails and shows it. */
      g_autofree char *text = g_strndup (data, length);

      g_queue_push_tail (&self->queue, json_node_init_string (json_node_alloc (), text));
    }
}

static void
socket_closed_cb (SoupWebsocketConnection *connection,
                  gpointer                 user_data)
{
  LrTestSocket *self = user_data;

  self->closed = TRUE;
}

static void
socket_connect_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  LrTestSocket *self = user_data;

  self->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
                                                            &self->connect_error);
  self->connect_done = TRUE;
}

LrTestSocket *
lr_test_socket_connect (LrTestServer *server,
                        const char   *party_id,
                        const char   *token,
                        guint        *out_status)
{
  LrTestSocket *self = g_new0 (LrTestSocket, 1);
  g_autofree char *path = g_strconcat ("/v1/parties/", party_id, "/events", NULL);
  guint status;

  g_queue_init (&self->queue);
  self->session = soup_session_new_with_options ("timeout", 15, NULL);
  self->message = new_message (lr_test_server_get_url (server), "GET", path);
  if (token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (self->message),
                                    "Authorization", value);
    }

  soup_session_websocket_connect_async (self->session, self->message, NULL, NULL,
                                        G_PRIORITY_DEFAULT, NULL, socket_connect_cb, self);
  if (!iterate_until (&self->connect_done, LR_TEST_EVENT_TIMEOUT_MS))
    g_error ("The events socket of party %s did not open or fail within %d ms", party_id,
             LR_TEST_EVENT_TIMEOUT_MS);

  status = soup_message_get_status (self->message);
  if (out_status != NULL)
    *out_status = status;

  if (self->connection == NULL)
    {
      if (out_status == NULL)
        g_error ("The events socket of party %s was refused: status %u, %s", party_id, status,
                 self->connect_error->message);
      lr_test_socket_free (self);
      return NULL;
    }

  g_signal_connect (self->connection, "message", G_CALLBACK (socket_message_cb), self);
  g_signal_connect (self->connection, "closed", G_CALLBACK (socket_closed_cb), self);
  return self;
}

void
lr_test_socket_free (LrTestSocket *self)
{
  if (self == NULL)
    return;

  if (self->connection != NULL)
    {
      if (!self->closed &&
          soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        {
          soup_websocket_connection_close (self->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
          iterate_until (&self->closed, 500);
        }
      g_signal_handlers_disconnect_by_data (self->connection, self);
      g_clear_object (&self->connection);
    }

  g_queue_clear_full (&self->queue, (GDestroyNotify) json_node_unref);
  g_clear_error (&self->connect_error);
  g_clear_object (&self->message);
  g_clear_object (&self->session);
  g_free (self);
}

static gboolean
queue_not_empty_or_closed (LrTestSocket *self)
{
  return !g_queue_is_empty (&self->queue) || self->closed;
}

JsonNode *
lr_test_socket_next (LrTestSocket *self,
                     guint         timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!queue_not_empty_or_closed (self))
    {
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
      gboolean done = FALSE;

      if (left_ms <= 0)
        break;
      /* Wake up every few ms to look at the queue. */
      iterate_until (&done, MIN (left_ms, 10));
    }

  return g_queue_pop_head (&self->queue);
}

JsonNode *
lr_test_socket_expect (LrTestSocket *self,
                       const char   *type,
                       const char   *peer_id)
{
  g_autoptr(JsonNode) event = lr_test_socket_next (self, LR_TEST_EVENT_TIMEOUT_MS);
  g_autofree char *text = NULL;
  JsonNode *found;

  if (event == NULL)
    g_error ("Expected a %s event (peer %s) within %d ms, got %s", type,
             peer_id != NULL ? peer_id : "-", LR_TEST_EVENT_TIMEOUT_MS,
             self->closed ? "the socket closed" : "nothing");

  text = lr_test_json_to_string (event);
  found = lr_test_json_find (event, "type");
  if (found == NULL || json_node_get_value_type (found) != G_TYPE_STRING ||
      g_strcmp0 (json_node_get_string (found), type) != 0)
    g_error ("Expected a %s event (peer %s), got %.1000s", type,
             peer_id != NULL ? peer_id : "-", text);

  if (peer_id != NULL)
    {
      const char *field = g_str_equal (type, "signal") ? "from" : "peer.id";

      found = lr_test_json_find (event, field);
      if (found == NULL || json_node_get_value_type (found) != G_TYPE_STRING ||
          g_strcmp0 (json_node_get_string (found), peer_id) != 0)
        g_error ("Expected a %s event for peer %s, got %.1000s", type, peer_id, text);
    }

  return g_steal_pointer (&event);
}

void
lr_test_socket_expect_nothing (LrTestSocket *self,
                               guint         quiet_ms)
{
  lr_test_run_for (quiet_ms);

  if (!g_queue_is_empty (&self->queue))
    {
      g_autofree char *text = lr_test_json_to_string (g_queue_peek_head (&self->queue));

      g_error ("Expected no event, got %.1000s", text);
    }
}

void
lr_test_socket_send (LrTestSocket *self,
                     const char   *text)
{
  g_assert_false (self->closed);
  soup_websocket_connection_send_text (self->connection, text);
}

gboolean
lr_test_socket_wait_closed (LrTestSocket *self,
                            guint         timeout_ms)
{
  return iterate_until (&self->closed, timeout_ms);
}

gboolean
lr_test_socket_is_closed (LrTestSocket *self)
{
  return self->closed;
}

guint
lr_test_socket_pending (LrTestSocket *self)
{
  return g_queue_get_length (&self->queue);
}

void
lr_test_fixture_setup (LrTestFixture *fixture,
                       gconstpointer  extra_args)
{
  fixture->server = lr_test_server_new (extra_args, LR_TEST_SERVER_NONE);
  lr_test_server_start (fixture->server);
}

void
lr_test_fixture_setup_keep_rate_limit (LrTestFixture *fixture,
                                       gconstpointer  extra_args)
{
  fixture->server = lr_test_server_new (extra_args, LR_TEST_SERVER_KEEP_RATE_LIMIT);
  lr_test_server_start (fixture->server);
}

void
lr_test_fixture_teardown (LrTestFixture *fixture,
                          gconstpointer  extra_args)
{
  g_clear_pointer (&fixture->server, lr_test_server_free);
}
