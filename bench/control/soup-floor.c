/* soup-floor.c: the fastest a libsoup 3 server answers on this machine
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A bare SoupServer that answers 204 to every request, with no routing, no JSON, no
 * database and no authentication. The control benchmark drives it with the same heartbeat
 * workload as lanrage-control: the ratio of the two is how much of the HTTP stack's ceiling
 * the server reaches.
 *
 * Usage: lanrage-bench-soup-floor [PORT [STATUS]]
 *
 * It listens with a backlog of 1024: GLib's default of 10 (g_socket_listen) overflows when
 * 64 clients connect at once, and the dropped SYNs come back a second later, which alone
 * puts p99 near a second (measured here: p99 163 ms with 10, 1.8 ms with 1024).
 *
 * STATUS 200 answers "200 OK" with an empty body instead. It exists because libsoup 3.2
 * closes the connection after every 204 (measured: a 204 carries no Content-Length, so
 * soup_server_message_is_keepalive() sees a body delimited by EOF), so a 204 workload pays
 * a TCP connection per request; the 200 floor shows what keep-alive would give.
 */
#include <glib-unix.h>
#include <libsoup/soup.h>
#include <stdio.h>

static guint status = SOUP_STATUS_NO_CONTENT;

static void
answer_cb (SoupServer        *server,
           SoupServerMessage *message,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  soup_server_message_set_status (message, status, NULL);
  if (status != SOUP_STATUS_NO_CONTENT)
    soup_server_message_set_response (message, "text/plain", SOUP_MEMORY_STATIC, "", 0);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  guint port = 0;

  if (argc > 1)
    port = (guint) g_ascii_strtoull (argv[1], NULL, 10);
  if (argc > 2)
    status = (guint) g_ascii_strtoull (argv[2], NULL, 10);

  server = soup_server_new ("server-header", NULL, NULL);
  soup_server_add_handler (server, NULL, answer_cb, NULL, NULL);

  address = g_inet_socket_address_new (loopback, port);
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  if (socket != NULL)
    g_socket_set_listen_backlog (socket, 1024);
  if (socket == NULL ||
      !g_socket_bind (socket, address, TRUE, &error) ||
      !g_socket_listen (socket, &error) ||
      !soup_server_listen_socket (server, socket, 0, &error))
    {
      g_printerr ("Cannot listen: %s\n", error->message);
      return 1;
    }

  local = g_socket_get_local_address (socket, &error);
  if (local == NULL)
    {
      g_printerr ("Cannot read the address: %s\n", error->message);
      return 1;
    }
  printf ("Listening on http://127.0.0.1:%u/\n",
          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
  fflush (stdout);

  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_main_loop_run (loop);
  return 0;
}
