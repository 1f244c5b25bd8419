/* main.c: lanrage-control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "lr-error.h"
#include "lr-token.h"
#include "lrc-duration.h"
#include "lrc-server.h"

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  GMainLoop *loop;
  GError    *error;
} Wait;

/* The service's start (reading presence) and end (writing heartbeats) run on the loop. */
static void
service_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Wait *wait = user_data;
  g_autoptr(JsonNode) done = lrc_service_finish (LRC_SERVICE (source), result, &wait->error);

  g_main_loop_quit (wait->loop);
}

static GBytes *
load_or_create_secret (const char  *path,
                       GError     **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (!lr_secret_create_file (path, error))
        return NULL;
      g_message ("Created a new relay secret in %s; give the relays a copy", path);
    }
  return lr_secret_load_file (path, error);
}

/* Descriptors kept for the process itself (database, WAL, listening socket, main loop)
 * when the connection cap is derived from the descriptor limit. */
#define RESERVED_FDS 64

/*
 * Each connection costs a descriptor, and the soft limit (often 1024) is far below what the
 * hard limit allows a daemon; raise it, and return the limit now in force.
 */
static guint64
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    return 1024;

  if (limit.rlim_cur < limit.rlim_max)
    {
      struct rlimit raised = { limit.rlim_max, limit.rlim_max };

      if (setrlimit (RLIMIT_NOFILE, &raised) == 0)
        limit = raised;
      else
        g_message ("Could not raise the file descriptor limit to %" G_GUINT64_FORMAT,
                   (guint64) limit.rlim_max);
    }

  return limit.rlim_cur == RLIM_INFINITY ? G_MAXUINT : (guint64) limit.rlim_cur;
}

typedef struct
{
  const char *name;
  char       *text;
  gint64     *out;
} DurationOption;

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(LrClock) clock = NULL;
  g_autoptr(LrcStore) store = NULL;
  g_autoptr(LrcService) service = NULL;
  g_autoptr(LrcServer) server = NULL;
  g_autoptr(GBytes) secret = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *db_path = NULL;
  g_autofree char *secret_path = NULL;
  g_autofree char *tls_cert = NULL;
  g_autofree char *tls_key = NULL;
  g_autofree char *url = NULL;
  Wait wait = { 0 };
  int join_rate_limit = 10;
  int max_connections = -1;
  int max_per_address = 64;
  int db_pool = LRC_STORE_DEFAULT_POOL;
  guint64 fd_limit;
  gint64 request_timeout_us = G_GINT64_CONSTANT (10) * G_USEC_PER_SEC;
  gint64 ping_interval_us = G_GINT64_CONSTANT (20) * G_USEC_PER_SEC;
  LrcTimings timings;
  LrcServerOptions options = { 0 };
  gint64 cleanup_interval_us = G_USEC_PER_SEC;
  gint64 flush_interval_us = G_GINT64_CONSTANT (10) * G_USEC_PER_SEC;
  gint64 instance_lease_us = G_GINT64_CONSTANT (15) * G_USEC_PER_SEC;
  DurationOption durations[] = {
    { "offline-after", NULL, &timings.offline_after_us },
    { "remove-after", NULL, &timings.remove_after_us },
    { "empty-party-after", NULL, &timings.empty_party_after_us },
    { "relay-expire-after", NULL, &timings.relay_expire_after_us },
    { "relay-token-lifetime", NULL, &timings.relay_token_lifetime_us },
    { "cleanup-interval", NULL, &cleanup_interval_us },
    { "heartbeat-flush-interval", NULL, &flush_interval_us },
    { "request-timeout", NULL, &request_timeout_us },
    { "websocket-ping-interval", NULL, &ping_interval_us },
    { "instance-lease", NULL, &instance_lease_us },
  };
  GOptionEntry entries[] = {
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Address and port (127.0.0.1:8666)", "ADDR:PORT" },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db_path, "PATH or sqlite:PATH (SQLite), postgresql://… (PostgreSQL)", "DB" },
    { "db-pool", 0, 0, G_OPTION_ARG_INT, &db_pool, "Connections to PostgreSQL, each on its own thread (4; 1 to 64)", "N" },
    { "relay-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &secret_path, "Secret shared with the relays (0600)", "PATH" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert, "PEM certificate: serve HTTPS", "PATH" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key, "PEM private key", "PATH" },
    { "join-rate-limit", 0, 0, G_OPTION_ARG_INT, &join_rate_limit, "Creates and joins a minute per address (0: no limit)", "N" },
    { "offline-after", 0, 0, G_OPTION_ARG_STRING, &durations[0].text, "Quiet this long: offline (60s)", "DUR" },
    { "remove-after", 0, 0, G_OPTION_ARG_STRING, &durations[1].text, "Offline this long: removed (10m)", "DUR" },
    { "empty-party-after", 0, 0, G_OPTION_ARG_STRING, &durations[2].text, "Empty this long: party deleted (1h)", "DUR" },
    { "relay-expire-after", 0, 0, G_OPTION_ARG_STRING, &durations[3].text, "Relay not refreshed this long: dropped (60s)", "DUR" },
    { "relay-token-lifetime", 0, 0, G_OPTION_ARG_STRING, &durations[4].text, "Lifetime of relay tokens (1h)", "DUR" },
    { "cleanup-interval", 0, 0, G_OPTION_ARG_STRING, &durations[5].text, "How often to sweep (1s)", "DUR" },
    { "heartbeat-flush-interval", 0, 0, G_OPTION_ARG_STRING, &durations[6].text, "How often heartbeats are written (10s)", "DUR" },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections, "Open connections at most (10000, or the descriptor limit less 64)", "N" },
    { "max-connections-per-address", 0, 0, G_OPTION_ARG_INT, &max_per_address, "Open connections per client address, IPv6 /64 (64)", "N" },
    { "request-timeout", 0, 0, G_OPTION_ARG_STRING, &durations[7].text, "A connection's request, then its answer, within this (10s)", "DUR" },
    { "instance-lease", 0, 0, G_OPTION_ARG_STRING, &durations[9].text, "PostgreSQL: an instance not heard from this long is dead, its events sockets forgotten (15s)", "DUR" },
    { "websocket-ping-interval", 0, 0, G_OPTION_ARG_STRING, &durations[8].text, "Events sockets are pinged this often, closed after two unanswered (20s)", "DUR" },
    { NULL }
  };

  setlocale (LC_ALL, "");
  /* The database, its WAL and the relay secret hold tokens' hashes and keys: owner only. */
  umask (077);
  lr_init ();
  lrc_timings_init_defaults (&timings);

  context = g_option_context_new ("- the LANrage control server");
  g_option_context_set_summary (context,
                                "Keeps LANrage parties together: invite codes, addresses, tokens "
                                "and events.\nDurations take ms, s, m or h (a bare number is "
                                "seconds).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("lanrage-control: %s\n", error->message);
      return 2;
    }

  for (guint i = 0; i < G_N_ELEMENTS (durations); i++)
    {
      if (durations[i].text != NULL &&
          !lrc_duration_parse (durations[i].text, durations[i].out, &error))
        {
          g_printerr ("lanrage-control: --%s: %s\n", durations[i].name, error->message);
          return 2;
        }
      g_free (durations[i].text);
    }

  if (join_rate_limit < 0)
    {
      g_printerr ("lanrage-control: --join-rate-limit must be 0 or more\n");
      return 2;
    }

  if (max_connections == 0 || max_connections < -1 || max_per_address < 1)
    {
      g_printerr ("lanrage-control: --max-connections and --max-connections-per-address must "
                  "be 1 or more\n");
      return 2;
    }

  if (db_pool < 1 || db_pool > LRC_STORE_MAX_POOL)
    {
      g_printerr ("lanrage-control: --db-pool must be 1 to %d\n", LRC_STORE_MAX_POOL);
      return 2;
    }

  /* Renewed three times a lease, each renewal a write to the database. */
  if (instance_lease_us < 300 * 1000)
    {
      g_printerr ("lanrage-control: --instance-lease must be 300ms or more\n");
      return 2;
    }

  if (request_timeout_us <= 0)
    {
      g_printerr ("lanrage-control: --request-timeout must be more than 0\n");
      return 2;
    }

  /* libsoup pings in whole seconds. */
  if (ping_interval_us < G_USEC_PER_SEC || ping_interval_us % G_USEC_PER_SEC != 0)
    {
      g_printerr ("lanrage-control: --websocket-ping-interval must be whole seconds, 1s or more\n");
      return 2;
    }

  fd_limit = raise_fd_limit ();
  if (max_connections == -1)
    max_connections = (int) MIN (10000, fd_limit > 2 * RESERVED_FDS ? fd_limit - RESERVED_FDS
                                                                    : fd_limit / 2);
  else if ((guint64) max_connections + RESERVED_FDS > fd_limit)
    g_message ("--max-connections %d is close to the descriptor limit (%" G_GUINT64_FORMAT
               "): connections beyond it wait until descriptors come free",
               max_connections, fd_limit);

  if (db_path == NULL)
    db_path = g_build_filename (g_get_user_state_dir (), "lanrage", "control.db", NULL);
  if (secret_path == NULL && lrc_store_location_path (db_path) != NULL)
    {
      g_autofree char *folder = g_path_get_dirname (lrc_store_location_path (db_path));
      secret_path = g_build_filename (folder, "relay-secret", NULL);
    }
  else if (secret_path == NULL)
    secret_path = g_build_filename (g_get_user_state_dir (), "lanrage", "relay-secret", NULL);

  store = lrc_store_open (db_path, (guint) db_pool, &error);
  if (store == NULL)
    {
      g_printerr ("lanrage-control: %s\n", error->message);
      return 1;
    }

  secret = load_or_create_secret (secret_path, &error);
  if (secret == NULL)
    {
      g_printerr ("lanrage-control: %s\n", error->message);
      return 1;
    }

  clock = lr_clock_new_system ();
  service = lrc_service_new (store, clock, &timings, secret);
  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;
  lrc_service_load_async (service, service_done_cb, &wait);
  g_main_loop_run (loop);
  if (wait.error != NULL)
    {
      g_printerr ("lanrage-control: %s\n", wait.error->message);
      g_clear_error (&wait.error);
      return 1;
    }

  options.listen = listen ? listen : (char *) "127.0.0.1:8666";
  options.tls_cert = tls_cert;
  options.tls_key = tls_key;
  options.join_rate_limit = (guint) join_rate_limit;
  options.cleanup_interval_us = cleanup_interval_us;
  options.flush_interval_us = flush_interval_us;
  options.max_connections = (guint) max_connections;
  options.max_connections_per_address = (guint) max_per_address;
  options.request_timeout_us = request_timeout_us;
  options.ping_interval_s = (guint) (ping_interval_us / G_USEC_PER_SEC);
  options.instance_lease_us = instance_lease_us;

  server = lrc_server_new (service, clock, &options, &error);
  if (server == NULL)
    {
      g_printerr ("lanrage-control: %s\n", error->message);
      return 1;
    }

  /* Handlers first: a script may send SIGTERM the moment it reads the line below. */
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_unix_signal_add (SIGINT, quit_cb, loop);

  url = lrc_server_get_url (server);
  {
    g_autofree char *where = lrc_store_location_describe (db_path);
    g_message ("Database %s", where);
  }
  printf ("Listening on %s\n", url);
  fflush (stdout);

  g_main_loop_run (loop);

  g_message ("Stopping");
  lrc_server_stop (server);
  lrc_service_flush_async (service, service_done_cb, &wait);
  g_main_loop_run (loop);
  if (wait.error != NULL)
    g_warning ("Could not write heartbeats: %s", wait.error->message);
  g_clear_error (&wait.error);
  return 0;
}
