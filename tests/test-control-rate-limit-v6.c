/* test-control-rate-limit-v6.c: lanrage-control limits IPv6 clients per /64, not per address
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One host owns a whole /64 and can pick any of its 2^64 addresses, so a limit per exact
 * address limits nothing. The server and the clients run in a network namespace of their own
 * whose loopback carries addresses from two /64s (the documentation prefix, RFC 3849). That
 * needs root; without it the test skips.
 */
#define _GNU_SOURCE

#include "lr-test-control.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SERVER_ADDRESS "2001:db8:1:2::1"
#define SAME_64_A      "2001:db8:1:2::a"
#define SAME_64_B      "2001:db8:1:2:ffff:ffff:ffff:fffe"
#define OTHER_64       "2001:db8:1:3::a"

typedef struct
{
  char *netns;
} Lab;

static void
run (const char *command)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (!g_spawn_command_line_sync (command, NULL, &err, &status, &error) ||
      !g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", command, error ? error->message : err);
}

static void
lab_setup (Lab           *lab,
           gconstpointer  data)
{
  static const char * const addresses[] = { SERVER_ADDRESS, SAME_64_A, SAME_64_B, OTHER_64 };
  g_autofree char *path = NULL;
  g_autofree char *command = NULL;
  int fd;

  lab->netns = g_strdup_printf ("lrc-v6-%d", (int) getpid ());
  command = g_strdup_printf ("ip netns add %s", lab->netns);
  run (command);
  g_free (command);
  command = g_strdup_printf ("ip -n %s link set lo up", lab->netns);
  run (command);
  for (guint i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      g_free (command);
      command = g_strdup_printf ("ip -n %s -6 addr add %s/64 dev lo nodad", lab->netns,
                                 addresses[i]);
      run (command);
    }

  /* This thread's sockets (the clients) live in the namespace too. */
  path = g_strdup_printf ("/run/netns/%s", lab->netns);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (setns (fd, CLONE_NEWNET), ==, 0);
  close (fd);
}

static void
lab_teardown (Lab           *lab,
              gconstpointer  data)
{
  g_autofree char *command = g_strdup_printf ("ip netns del %s", lab->netns);

  run (command);
  g_free (lab->netns);
}

static guint
create_from (const char *url,
             const char *source)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (source);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (address, 0);
  g_autoptr(SoupSession) session = soup_session_new_with_options ("local-address", local,
                                                                  "timeout", 10, NULL);
  g_autofree char *wg = lr_test_random_key ();
  g_autofree char *disco = lr_test_random_key ();
  g_autofree char *peer = lr_test_peer_in_json ("p", wg, disco);
  g_autofree char *body = lr_test_create_body ("v6", peer);
  g_autoptr(LrTestResponse) response = lr_test_request_with_session (session, url, "POST",
                                                                     "/v1/parties", NULL, body);

  if (response->status == 0)
    g_error ("No answer to a create from %s: %s", source, response->transport_error);
  return response->status;
}

static void
test_limit_per_64 (Lab           *lab,
                   gconstpointer  data)
{
  static const char * const args[] = {
    "--listen", "[" SERVER_ADDRESS "]:0", "--join-rate-limit", "3", NULL
  };
  g_autoptr(LrTestServer) server = lr_test_server_new (args, LR_TEST_SERVER_KEEP_RATE_LIMIT);
  const char *url;

  lr_test_server_set_netns (server, lab->netns);
  lr_test_server_start (server);
  url = lr_test_server_get_url (server);
  g_assert_true (g_str_has_prefix (url, "http://[" SERVER_ADDRESS "]:"));

  /* The allowance of one /64, used from one address. */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (create_from (url, SAME_64_A), ==, 201);
  g_assert_cmpuint (create_from (url, SAME_64_A), ==, 429);

  /* Another address of the same /64 shares it. */
  g_assert_cmpuint (create_from (url, SAME_64_B), ==, 429);

  /* Another /64 has its own. */
  g_assert_cmpuint (create_from (url, OTHER_64), ==, 201);
}

static GSocket *
stalled_connection (guint16     port,
                    const char *source)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) from = g_inet_address_new_from_string (source);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (from, 0);
  g_autoptr(GInetAddress) to = g_inet_address_new_from_string (SERVER_ADDRESS);
  g_autoptr(GSocketAddress) remote = g_inet_socket_address_new (to, port);
  static const char half[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";

  g_socket_set_timeout (socket, 5);
  g_assert_true (g_socket_bind (socket, local, FALSE, NULL));
  g_assert_true (g_socket_connect (socket, remote, NULL, NULL));
  g_assert_cmpint (g_socket_send (socket, half, strlen (half), NULL, NULL), ==, strlen (half));
  return g_steal_pointer (&socket);
}

/* Whether the server closed @socket within a second. */
static gboolean
closed_by_server (GSocket *socket)
{
  char byte;

  if (!g_socket_condition_timed_wait (socket, G_IO_IN, G_USEC_PER_SEC, NULL, NULL))
    return FALSE;
  return g_socket_receive (socket, &byte, 1, NULL, NULL) <= 0;
}

/* The cap on connections per address counts a /64 as one address too. */
static void
test_connections_per_64 (Lab           *lab,
                         gconstpointer  data)
{
  static const char * const args[] = {
    "--listen", "[" SERVER_ADDRESS "]:0", "--max-connections-per-address", "2", NULL
  };
  g_autoptr(LrTestServer) server = lr_test_server_new (args, LR_TEST_SERVER_NONE);
  g_autoptr(GSocket) first = NULL;
  g_autoptr(GSocket) second = NULL;
  g_autoptr(GSocket) third = NULL;
  g_autoptr(GSocket) other = NULL;
  guint16 port;

  lr_test_server_set_netns (server, lab->netns);
  lr_test_server_start (server);
  port = lr_test_server_get_port (server);

  first = stalled_connection (port, SAME_64_A);
  second = stalled_connection (port, SAME_64_B);
  third = stalled_connection (port, SAME_64_B);
  other = stalled_connection (port, OTHER_64);

  g_assert_true (closed_by_server (third));
  g_assert_false (closed_by_server (first));
  g_assert_false (closed_by_server (other));
}

int
main (int   argc,
      char *argv[])
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP needs root for a network namespace of its own\n");
      return 0;
    }

  lr_test_control_init (&argc, &argv);

  g_test_add ("/control/rate-limit/ipv6-per-64", Lab, NULL, lab_setup, test_limit_per_64,
              lab_teardown);
  g_test_add ("/control/connections/ipv6-per-64", Lab, NULL, lab_setup, test_connections_per_64,
              lab_teardown);

  return g_test_run ();
}
