/* main.c: lanrage-relay
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"
#include "lrr-server.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

static gboolean
quit_cb (gpointer user_data)
{
  g_message ("Stopping");
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
reload_cb (gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!lrr_server_reload_deny_list (user_data, &error))
    g_warning ("Keeping the old deny list: %s", error->message);
  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_auto(LrrServerOptions) options = { 0 };
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(LrrServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  int threads, max_clients, idle_timeout, error_rate, stun_rate, registration_interval;
  gint64 client_pps, client_bps;

  setlocale (LC_ALL, "");
  lr_init ();
  lrr_server_options_init (&options);
  threads = options.threads;
  max_clients = options.max_clients;
  idle_timeout = options.idle_timeout_s;
  error_rate = options.error_rate;
  stun_rate = options.stun_rate;
  registration_interval = options.registration_interval_s;
  client_pps = options.client_pps;
  client_bps = options.client_bps;

  {
    GOptionEntry entries[] = {
      { "listen", 0, 0, G_OPTION_ARG_STRING, &options.listen,
        "UDP address and port for relay frames and STUN (default " LRR_DEFAULT_LISTEN ")",
        "ADDR:PORT" },
      { "alt-address", 0, 0, G_OPTION_ARG_STRING, &options.alt_address,
        "Second address and port for RFC 5780 NAT behaviour discovery", "ADDR:PORT" },
      { "public-endpoint", 0, 0, G_OPTION_ARG_STRING, &options.public_endpoint,
        "The address and port clients are told to use", "ADDR:PORT" },
      { "control", 0, 0, G_OPTION_ARG_STRING, &options.control_url,
        "lanrage-control to register with", "URL" },
      { "relay-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &options.secret_file,
        "File with the relay secret shared with lanrage-control (mode 0600)", "PATH" },
      { "id", 0, 0, G_OPTION_ARG_STRING, &options.id, "This relay's id (default: host name)",
        "ID" },
      { "region", 0, 0, G_OPTION_ARG_STRING, &options.region,
        "This relay's region (default: default)", "REGION" },
      { "threads", 0, 0, G_OPTION_ARG_INT, &threads,
        "Forwarding workers (default: one per CPU)", "N" },
      { "metrics", 0, 0, G_OPTION_ARG_STRING, &options.metrics,
        "Serve Prometheus /metrics on this TCP address (default: off)", "ADDR:PORT" },
      { "deny-file", 0, 0, G_OPTION_ARG_FILENAME, &options.deny_file,
        "Client addresses to ignore, one CIDR a line; re-read on SIGHUP", "PATH" },
      { "max-clients", 0, 0, G_OPTION_ARG_INT, &max_clients,
        "Most bound clients (default 10000)", "N" },
      { "client-pps", 0, 0, G_OPTION_ARG_INT64, &client_pps,
        "Most datagrams a second one client may send (default 20000)", "N" },
      { "client-bps", 0, 0, G_OPTION_ARG_INT64, &client_bps,
        "Most bytes a second one client may send (default 25000000)", "N" },
      { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &idle_timeout,
        "Seconds without traffic before a binding expires (default 120)", "S" },
      { "error-rate", 0, 0, G_OPTION_ARG_INT, &error_rate,
        "Most error replies a second per worker (default 100)", "N" },
      { "registration-interval", 0, 0, G_OPTION_ARG_INT, &registration_interval,
        "Seconds between registrations with lanrage-control, which also bring the peers "
        "removed from their parties (default 20)", "S" },
      { "stun-rate", 0, 0, G_OPTION_ARG_INT, &stun_rate,
        "Most STUN answers larger than their request a second per worker (default 2000)",
        "N" },
      { NULL }
    };

    option_context = g_option_context_new ("- LANrage relay and STUN server");
    g_option_context_add_main_entries (option_context, entries, NULL);
    if (!g_option_context_parse (option_context, &argc, &argv, &error))
      {
        g_printerr ("lanrage-relay: %s\n", error->message);
        return 2;
      }
  }

  if (threads < 1 || max_clients < 1 || idle_timeout < 1 || error_rate < 0 || stun_rate < 0 ||
      client_pps < 1 || client_bps < 1 || registration_interval < 1)
    {
      g_printerr ("lanrage-relay: numbers must be positive\n");
      return 2;
    }
  options.threads = threads;
  options.max_clients = max_clients;
  options.idle_timeout_s = idle_timeout;
  options.error_rate = error_rate;
  options.stun_rate = stun_rate;
  options.registration_interval_s = registration_interval;
  options.client_pps = client_pps;
  options.client_bps = client_bps;
  if (options.id == NULL)
    options.id = g_strdup (g_get_host_name ());
  if (options.region == NULL)
    options.region = g_strdup ("default");

  /* Signals are handled before the ports are printed: whoever reads them may signal next. */
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_unix_signal_add (SIGINT, quit_cb, loop);

  server = lrr_server_new (&options, &error);
  if (server == NULL || !lrr_server_start (server, &error))
    {
      g_printerr ("lanrage-relay: %s\n", error->message);
      return 1;
    }

  g_unix_signal_add (SIGHUP, reload_cb, server);

  /* Scripts and tests read these lines to learn the ports (say, after --listen ...:0). */
  g_print ("Listening on %s\n", lrr_server_get_listen_address (server));
  if (lrr_server_get_metrics_address (server) != NULL)
    g_print ("Metrics on http://%s/metrics\n", lrr_server_get_metrics_address (server));
  fflush (stdout);

  g_main_loop_run (loop);

  lrr_server_stop (server);
  return 0;
}
