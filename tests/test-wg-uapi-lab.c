/* test-wg-uapi-lab.c: LrdWgUapi against real wireguard-go in network namespaces
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two namespaces joined by a veth (198.18.0.1 and .2), a wireguard-go in each started by
 * LrdWgUapi and configured only through it; the test pings over the tunnel. The whole test
 * runs in a private mount namespace with its own tmpfs on /run/wireguard and /run/netns,
 * so it never sees or disturbs the machine's WireGuard sockets or namespaces, and nothing
 * is left behind if it crashes. A small fake daemon stands in for wireguard-go where the
 * test needs answers wireguard-go never gives (garbage, errno=-22 to a request LrdWgUapi
 * would never send).
 */
#define _GNU_SOURCE
#include "lrd-test-util.h"
#include "lrd-wg-uapi.h"

#include "lr-error.h"
#include "lr-wg-uapi.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct
{
  char *ns_a;
  char *ns_b;
} Lab;

static guint lab_counter;

static void
lab_setup (Lab           *lab,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  lab_counter++;
  lab->ns_a = g_strdup_printf ("lrwg-a%u", lab_counter);
  lab->ns_b = g_strdup_printf ("lrwg-b%u", lab_counter);

  lrd_test_run (&error, "ip", "netns", "add", lab->ns_a, NULL);
  g_assert_no_error (error);
  lrd_test_run (&error, "ip", "netns", "add", lab->ns_b, NULL);
  g_assert_no_error (error);
  lrd_test_run (&error, "ip", "-n", lab->ns_a, "link", "add", "va", "type", "veth", "peer",
                "name", "vb", "netns", lab->ns_b, NULL);
  g_assert_no_error (error);
  lrd_test_run (&error, "ip", "-n", lab->ns_a, "address", "add", "198.18.0.1/24", "dev", "va",
                NULL);
  g_assert_no_error (error);
  lrd_test_run (&error, "ip", "-n", lab->ns_b, "address", "add", "198.18.0.2/24", "dev", "vb",
                NULL);
  g_assert_no_error (error);
  lrd_test_run (&error, "ip", "-n", lab->ns_a, "link", "set", "va", "up", NULL);
  g_assert_no_error (error);
  lrd_test_run (&error, "ip", "-n", lab->ns_b, "link", "set", "vb", "up", NULL);
  g_assert_no_error (error);
  lrd_test_run (&error, "ip", "-n", lab->ns_a, "link", "set", "lo", "up", NULL);
  g_assert_no_error (error);
  lrd_test_run (&error, "ip", "-n", lab->ns_b, "link", "set", "lo", "up", NULL);
  g_assert_no_error (error);
}

static void
lab_teardown (Lab           *lab,
              gconstpointer  data)
{
  lrd_test_run (NULL, "ip", "netns", "del", lab->ns_a, NULL);
  lrd_test_run (NULL, "ip", "netns", "del", lab->ns_b, NULL);
  g_free (lab->ns_a);
  g_free (lab->ns_b);
}

static LrdWgBackend *
backend_in (const char *ns,
            const char *ifname,
            const char *wireguard_go)
{
  g_autoptr(GError) error = NULL;
  LrdWgUapi *uapi;

  g_assert_true (lrd_test_enter_netns (ns));
  uapi = lrd_wg_uapi_new (ifname, wireguard_go, &error);
  lrd_test_leave_netns ();
  g_assert_no_error (error);
  return LRD_WG_BACKEND (uapi);
}

/* wireguard-go inherits the namespace of the thread that spawns it, inside up_async. */
static gboolean
up_in (const char      *ns,
       LrdWgBackend    *backend,
       const LrKey     *private_key,
       guint16          port,
       const char      *address,
       GError         **error)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_true (lrd_test_enter_netns (ns));
  lrd_wg_backend_up_async (backend, private_key, port, address, NULL, lrd_test_result_cb,
                           &slot);
  lrd_test_leave_netns ();
  result = lrd_test_wait (&slot);
  return lrd_wg_backend_up_finish (backend, result, error);
}

static gboolean
set_peer (LrdWgBackend    *backend,
          const LrKey     *public_key,
          const char      *endpoint,
          guint16          port,
          const char      *allowed_ip,
          GError         **error)
{
  LrdWgPeerConfig peer = { 0 };
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  gboolean ok;

  peer.public_key = *public_key;
  if (endpoint != NULL)
    {
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string (endpoint,
                                                                                port);

      g_assert_true (lr_addr_from_gaddress (&peer.endpoint, G_INET_SOCKET_ADDRESS (address)));
    }
  peer.allowed_ips = g_strsplit (allowed_ip, ",", -1);
  lrd_wg_backend_set_peer_async (backend, &peer, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  ok = lrd_wg_backend_set_peer_finish (backend, result, error);
  lrd_wg_peer_config_clear (&peer);
  return ok;
}

static gboolean
remove_peer (LrdWgBackend    *backend,
             const LrKey     *public_key,
             GError         **error)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  lrd_wg_backend_remove_peer_async (backend, public_key, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  return lrd_wg_backend_remove_peer_finish (backend, result, error);
}

static GArray *
get_stats (LrdWgBackend  *backend,
           GError       **error)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  lrd_wg_backend_get_stats_async (backend, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  return lrd_wg_backend_get_stats_finish (backend, result, error);
}

static gboolean
down (LrdWgBackend  *backend,
      GError       **error)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  lrd_wg_backend_down_async (backend, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  return lrd_wg_backend_down_finish (backend, result, error);
}

static gboolean
ping_once (const char *ns,
           const char *address)
{
  return lrd_test_run (NULL, "ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "1",
                       address, NULL);
}

static gboolean
link_exists (const char *ns,
             const char *ifname)
{
  return lrd_test_run (NULL, "ip", "-n", ns, "link", "show", "dev", ifname, NULL);
}

static void
test_tunnel (Lab           *lab,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdWgBackend) a = backend_in (lab->ns_a, "lrwga0", "wireguard-go");
  g_autoptr(LrdWgBackend) b = backend_in (lab->ns_b, "lrwgb0", "wireguard-go");
  g_autoptr(GArray) stats = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *rtt = NULL;
  LrKey a_private, a_public, b_private, b_public;
  LrdWgPeerStats *peer;
  gint64 start, configured, first_reply;
  guint attempts = 0;

  lrd_test_keypair (&a_private, &a_public);
  lrd_test_keypair (&b_private, &b_public);
  g_assert_cmpstr (lrd_wg_backend_get_name (a), ==, "uapi");

  start = g_get_monotonic_time ();
  up_in (lab->ns_a, a, &a_private, 51820, "10.66.0.1/16", &error);
  g_assert_no_error (error);
  up_in (lab->ns_b, b, &b_private, 51821, "10.66.0.2/16", &error);
  g_assert_no_error (error);
  g_assert_true (link_exists (lab->ns_a, "lrwga0"));
  g_assert_true (g_file_test ("/run/wireguard/lrwga0.sock", G_FILE_TEST_EXISTS));

  set_peer (a, &b_public, "198.18.0.2", 51821, "10.66.0.2/32", &error);
  g_assert_no_error (error);
  set_peer (b, &a_public, "198.18.0.1", 51820, "10.66.0.1/32", &error);
  g_assert_no_error (error);
  configured = g_get_monotonic_time ();

  while (!ping_once (lab->ns_a, "10.66.0.2"))
    g_assert_cmpuint (++attempts, <, 10);
  first_reply = g_get_monotonic_time ();
  g_test_message ("measured: up (2 wireguard-go started) + peers: %.1f ms; "
                  "then first ping reply: %.1f ms; total %.1f ms",
                  (configured - start) / 1000.0, (first_reply - configured) / 1000.0,
                  (first_reply - start) / 1000.0);

  rtt = lrd_test_run_output (&error, "ip", "netns", "exec", lab->ns_a, "ping", "-n", "-q", "-c",
                             "50", "-i", "0.01", "10.66.0.2", NULL);
  g_assert_no_error (error);
  g_test_message ("measured: ping through wireguard-go: %s",
                  strstr (rtt, "rtt") != NULL ? g_strstrip (strstr (rtt, "rtt")) : rtt);

  stats = get_stats (a, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stats->len, ==, 1);
  peer = &g_array_index (stats, LrdWgPeerStats, 0);
  g_assert_cmpmem (peer->public_key.bytes, LR_KEY_LENGTH, b_public.bytes,
                   LR_KEY_LENGTH);
  g_assert_cmpuint (peer->rx_bytes, >, 0);
  g_assert_cmpuint (peer->tx_bytes, >, 0);
  g_assert_cmpint (peer->last_handshake_unix, >, 0);
  g_assert_cmpint (ABS (peer->last_handshake_unix - g_get_real_time () / G_USEC_PER_SEC), <, 60);
  g_assert_true (lr_addr_is_set (&peer->endpoint));
  endpoint = lr_addr_to_string (&peer->endpoint);
  g_assert_cmpstr (endpoint, ==, "198.18.0.2:51821");
  g_clear_pointer (&stats, g_array_unref);

  /* Changing the peer's allowed IPs replaces them. */
  set_peer (a, &b_public, "198.18.0.2", 51821, "10.66.0.2/32,10.66.9.0/24", &error);
  g_assert_no_error (error);
  g_assert_true (ping_once (lab->ns_a, "10.66.0.2"));

  remove_peer (a, &b_public, &error);
  g_assert_no_error (error);
  stats = get_stats (a, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stats->len, ==, 0);
  g_assert_false (ping_once (lab->ns_a, "10.66.0.2"));

  down (a, &error);
  g_assert_no_error (error);
  down (b, &error);
  g_assert_no_error (error);
  g_assert_false (link_exists (lab->ns_a, "lrwga0"));
  g_assert_false (link_exists (lab->ns_b, "lrwgb0"));
  g_assert_false (g_file_test ("/run/wireguard/lrwga0.sock", G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test ("/run/wireguard/lrwgb0.sock", G_FILE_TEST_EXISTS));

  /* down is idempotent. */
  down (a, &error);
  g_assert_no_error (error);
}

static void
test_bad_arguments (Lab           *lab,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdWgBackend) a = backend_in (lab->ns_a, "lrwga1", "wireguard-go");
  LrKey private_key, public_key;

  lrd_test_keypair (&private_key, &public_key);

  /* Refused before anything starts: nothing to clean up. */
  g_assert_false (up_in (lab->ns_a, a, &private_key, 51820, "10.66.0.1", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (up_in (lab->ns_a, a, &private_key, 51820, "10.66.0.1/33", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (link_exists (lab->ns_a, "lrwga1"));

  up_in (lab->ns_a, a, &private_key, 51820, "10.66.0.1/16", &error);
  g_assert_no_error (error);

  /* An allowed IP that would smuggle another UAPI line is refused by us, not by the daemon. */
  g_assert_false (set_peer (a, &public_key, NULL, 0, "10.66.0.2/32\nremove=true", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (set_peer (a, &public_key, NULL, 0, "10.66.0.0/8", &error) &&
                  set_peer (a, &public_key, NULL, 0, "10.66.0.2/16", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  down (a, &error);
  g_assert_no_error (error);
  g_assert_false (link_exists (lab->ns_a, "lrwga1"));
}

static void
test_daemon_fails (Lab           *lab,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdWgBackend) a = backend_in (lab->ns_a, "lrwga3", "wireguard-go");
  LrKey private_key, public_key;

  /* The name is taken by a device that is not a tun: wireguard-go exits at once, and up
   * says why instead of waiting for a socket that never comes. */
  lrd_test_run (&error, "ip", "-n", lab->ns_a, "link", "add", "lrwga3", "type", "veth", "peer",
                "name", "lrwga3p", NULL);
  g_assert_no_error (error);
  lrd_test_keypair (&private_key, &public_key);
  g_assert_false (up_in (lab->ns_a, a, &private_key, 51820, "10.66.0.1/16", &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_FAILED);
  g_test_message ("wireguard-go's failure: %s", error->message);
  g_assert_nonnull (strstr (error->message, "wireguard-go could not create lrwga3"));
  g_assert_false (g_file_test ("/run/wireguard/lrwga3.sock", G_FILE_TEST_EXISTS));
}

static void
test_cancelled_up (Lab           *lab,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdWgBackend) a = backend_in (lab->ns_a, "lrwga2", "wireguard-go");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  LrKey private_key, public_key;

  lrd_test_keypair (&private_key, &public_key);

  /* Cancelled while wireguard-go is starting: it is stopped again, nothing is left. */
  g_assert_true (lrd_test_enter_netns (lab->ns_a));
  lrd_wg_backend_up_async (a, &private_key, 51820, "10.66.0.1/16", cancellable,
                           lrd_test_result_cb, &slot);
  lrd_test_leave_netns ();
  g_cancellable_cancel (cancellable);
  result = lrd_test_wait (&slot);
  g_assert_false (lrd_wg_backend_up_finish (a, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (link_exists (lab->ns_a, "lrwga2"));
  g_assert_false (g_file_test ("/run/wireguard/lrwga2.sock", G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* And a later up works. */
  up_in (lab->ns_a, a, &private_key, 51820, "10.66.0.1/16", &error);
  g_assert_no_error (error);
  down (a, &error);
  g_assert_no_error (error);
  g_assert_false (link_exists (lab->ns_a, "lrwga2"));
}

static void
test_no_daemon (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdWgUapi) none = lrd_wg_uapi_new ("lrnone0", NULL, &error);
  g_autoptr(LrdWgUapi) missing = lrd_wg_uapi_new ("lrnone1", "/nonexistent/wireguard-go",
                                                  &error);
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  LrKey private_key, public_key;

  g_assert_no_error (error);
  lrd_test_keypair (&private_key, &public_key);

  lrd_wg_backend_up_async (LRD_WG_BACKEND (none), &private_key, 1, "10.66.0.1/16", NULL,
                           lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  g_assert_false (lrd_wg_backend_up_finish (LRD_WG_BACKEND (none), result, &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD);
  g_assert_nonnull (strstr (error->message, "apt install wireguard-go"));
  g_clear_error (&error);
  g_clear_object (&result);

  lrd_wg_backend_up_async (LRD_WG_BACKEND (missing), &private_key, 1, "10.66.0.1/16", NULL,
                           lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  g_assert_false (lrd_wg_backend_up_finish (LRD_WG_BACKEND (missing), result, &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD);
  g_assert_nonnull (strstr (error->message, "apt install wireguard-go"));
}

/* A fake UAPI daemon on /run/wireguard/lrfake0.sock, in a thread: answers each connection
 * with the next canned answer after reading the request. */
typedef struct
{
  int         listener;
  GPtrArray  *answers;
  GThread    *thread;
} FakeDaemon;

static gpointer
fake_daemon_thread (gpointer user_data)
{
  FakeDaemon *fake = user_data;

  for (guint i = 0; i < fake->answers->len; i++)
    {
      const char *answer = fake->answers->pdata[i];
      g_autoptr(GString) request = g_string_new (NULL);
      int fd = accept (fake->listener, NULL, NULL);
      char buffer[512];
      ssize_t n;

      g_assert_cmpint (fd, >=, 0);
      while (strstr (request->str, "\n\n") == NULL &&
             (n = read (fd, buffer, sizeof buffer)) > 0)
        g_string_append_len (request, buffer, n);
      if (write (fd, answer, strlen (answer)) < 0)
        g_assert_not_reached ();
      close (fd);
    }

  return NULL;
}

static FakeDaemon *
fake_daemon_start (const char *first_answer,
                   ...)
{
  FakeDaemon *fake = g_new0 (FakeDaemon, 1);
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  const char *answer;
  va_list args;

  fake->answers = g_ptr_array_new ();
  va_start (args, first_answer);
  for (answer = first_answer; answer != NULL; answer = va_arg (args, const char *))
    g_ptr_array_add (fake->answers, (gpointer) answer);
  va_end (args);

  g_strlcpy (address.sun_path, "/run/wireguard/lrfake0.sock", sizeof address.sun_path);
  unlink (address.sun_path);
  fake->listener = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (bind (fake->listener, (struct sockaddr *) &address, sizeof address), ==, 0);
  g_assert_cmpint (listen (fake->listener, 8), ==, 0);
  fake->thread = g_thread_new ("fake-uapi", fake_daemon_thread, fake);
  return fake;
}

static void
fake_daemon_stop (FakeDaemon *fake)
{
  g_thread_join (fake->thread);
  close (fake->listener);
  unlink ("/run/wireguard/lrfake0.sock");
  g_ptr_array_unref (fake->answers);
  g_free (fake);
}

static void
test_bad_answers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdWgUapi) uapi = lrd_wg_uapi_new ("lrfake0", NULL, &error);
  LrdWgBackend *backend = LRD_WG_BACKEND (uapi);
  g_autoptr(GArray) stats = NULL;
  LrKey private_key, public_key;
  FakeDaemon *fake;

  g_assert_no_error (error);
  lrd_test_keypair (&private_key, &public_key);

  fake = fake_daemon_start ("errno=-22\n\n",
                            "garbage\n\n",
                            "errno=0\n",            /* then closes: an unfinished answer */
                            "listen_port=1\npublic_key=zz\nerrno=0\n\n",
                            "errno=-22\n\n",
                            "listen_port=51820\npublic_key="
                            "c6b67e3ef97f73d2a1c5b48ff80fd6c7a9d0d5ddaf3e7d4f5cf0e66e3ad3bc33\n"
                            "rx_bytes=7\ntx_bytes=9\nlast_handshake_time_sec=1\n"
                            "errno=0\n\n",
                            NULL);

  g_assert_false (set_peer (backend, &public_key, "198.18.0.2", 1, "10.66.0.2/32", &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "-22"));
  g_clear_error (&error);

  g_assert_false (remove_peer (backend, &public_key, &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_PROTOCOL);
  g_clear_error (&error);

  g_assert_false (remove_peer (backend, &public_key, &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_PROTOCOL);
  g_clear_error (&error);

  g_assert_null (get_stats (backend, &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_PROTOCOL);
  g_clear_error (&error);

  g_assert_null (get_stats (backend, &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_REFUSED);
  g_clear_error (&error);

  stats = get_stats (backend, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stats->len, ==, 1);
  g_assert_cmpuint (g_array_index (stats, LrdWgPeerStats, 0).rx_bytes, ==, 7);
  g_assert_cmpuint (g_array_index (stats, LrdWgPeerStats, 0).tx_bytes, ==, 9);

  fake_daemon_stop (fake);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *wireguard_go = g_find_program_in_path ("wireguard-go");
  g_autofree char *ping = g_find_program_in_path ("ping");

  if (getuid () != 0)
    return lrd_test_skip ("needs root (network namespaces, wireguard-go)");

  if (wireguard_go == NULL || ping == NULL)
    return lrd_test_skip ("needs wireguard-go and ping (apt install wireguard-go iputils-ping)");

  if (!lrd_test_enter_private_run ())
    return lrd_test_skip ("cannot make a private mount namespace");

  g_test_init (&argc, &argv, NULL);

  g_test_add ("/lrd/wg-uapi/lab/tunnel", Lab, NULL, lab_setup, test_tunnel, lab_teardown);
  g_test_add ("/lrd/wg-uapi/lab/bad-arguments", Lab, NULL, lab_setup, test_bad_arguments,
              lab_teardown);
  g_test_add ("/lrd/wg-uapi/lab/daemon-fails", Lab, NULL, lab_setup, test_daemon_fails,
              lab_teardown);
  g_test_add ("/lrd/wg-uapi/lab/cancelled-up", Lab, NULL, lab_setup, test_cancelled_up,
              lab_teardown);
  g_test_add_func ("/lrd/wg-uapi/lab/no-daemon", test_no_daemon);
  g_test_add_func ("/lrd/wg-uapi/lab/bad-answers", test_bad_answers);

  return g_test_run ();
}
