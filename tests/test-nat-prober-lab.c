/* test-nat-prober-lab.c: LrdNatProber behind every NAT the lab makes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The lab of lr-test-lab.h: a host behind an nftables NAT of one kind, with wireguard-go on
 * port 51820, and on the lab's internet a STUN server with two addresses (198.18.0.1 and
 * .2): either lanrage-relay with --alt-address, or coturn (RFC 5780 is on by default in
 * coturn 4.6, which has no --rfc5780 switch; it takes --alt-listening-port). The test
 * process makes an LrdSharedPort and an LrdNatProber on port 51820 in the host.
 *
 * For each NAT and each server, the prober's classification must be the NAT's kind. Against
 * lanrage-relay, WireGuard first sends its own handshake to the relay's address, and the
 * prober's public endpoint must be the one the router's conntrack table gives WireGuard's
 * datagrams, in one entry that both share. The last test checks that coturn and
 * lanrage-relay gave the same classification for every NAT.
 *
 * Every case gets a fresh lab: a probe opens the NAT's filter towards the server's other
 * address, so a second probe from the same mapping would see less filtering than there is.
 * Needs root; skips otherwise.
 */
#define _GNU_SOURCE
#include "lrd-nat-prober.h"
#include "lrd-test-util.h"

#include "lr-error.h"
#include "lr-test-lab.h"
#include "lr-test-wg.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WG_PORT 51820

typedef enum
{
  SERVER_LANRAGE_RELAY,
  SERVER_COTURN,
  N_SERVERS
} Server;

typedef struct
{
  const char     *name;
  const char     *rules;           /* NULL: lr_test_nat_find (name) */
  LrNatBehaviour  mapping;
  LrNatBehaviour  filtering;
  LrNatType       type;
  int             port_preserved;  /* -1: either (a random port may happen to match) */
} Nat;

/* Linux masquerade keeps the local port when it is free; "to :20000-29999" moves it. */
static const char translated_rules[] =
  "table ip nat {\n"
  "  chain post { type nat hook postrouting priority srcnat; "
  "oifname \"wan\" meta l4proto udp masquerade to :20000-29999; }\n"
  "}\n";

static const Nat nats[] = {
  { "port-restricted", NULL, LR_NAT_ENDPOINT_INDEPENDENT, LR_NAT_ADDRESS_AND_PORT_DEPENDENT,
    LR_NAT_TYPE_PORT_RESTRICTED_CONE, TRUE },
  { "port-restricted-translated", translated_rules, LR_NAT_ENDPOINT_INDEPENDENT,
    LR_NAT_ADDRESS_AND_PORT_DEPENDENT, LR_NAT_TYPE_PORT_RESTRICTED_CONE, FALSE },
  { "restricted-cone", NULL, LR_NAT_ENDPOINT_INDEPENDENT, LR_NAT_ADDRESS_DEPENDENT,
    LR_NAT_TYPE_RESTRICTED_CONE, TRUE },
  { "full-cone", NULL, LR_NAT_ENDPOINT_INDEPENDENT, LR_NAT_ENDPOINT_INDEPENDENT,
    LR_NAT_TYPE_FULL_CONE, TRUE },
  { "symmetric", NULL, LR_NAT_ADDRESS_AND_PORT_DEPENDENT, LR_NAT_ADDRESS_AND_PORT_DEPENDENT,
    LR_NAT_TYPE_SYMMETRIC, -1 },
};

typedef struct
{
  const Nat *nat;
  Server     server;
} Case;

static Case cases[G_N_ELEMENTS (nats) * N_SERVERS];

/* What each case measured, for the comparison at the end. */
static gboolean        measured[G_N_ELEMENTS (nats)][N_SERVERS];
static LrNatTypeResult results[G_N_ELEMENTS (nats)][N_SERVERS];

typedef struct
{
  LrTestLab   *lab;
  const char  *host;
  char        *router;
  char        *log_path;
  GSubprocess *server;
  GSubprocess *wireguard;
} Fixture;

static guint fixture_counter;

static LrTestNat custom_nat;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  const Case *c = data;
  const LrTestNat *nat;
  g_autofree char *prefix = g_strdup_printf ("lrnp%u-%u", (guint) getpid () % 100000, ++fixture_counter);

  if (c->nat->rules != NULL)
    {
      custom_nat = (LrTestNat) { c->nat->name, c->nat->rules, NULL, NULL };
      nat = &custom_nat;
    }
  else
    {
      nat = lr_test_nat_find (c->nat->name);
    }

  fixture->log_path = g_build_filename (g_get_tmp_dir (), "lrnp-lab.log", NULL);
  fixture->lab = lr_test_lab_new (prefix);
  /* The STUN server's second address. */
  LR_TEST_LAB_RUN ("ip", "-n", lr_test_lab_get_internet (fixture->lab), "addr", "add",
                   "198.18.0.2/24", "dev", "br0");
  fixture->host = lr_test_lab_add_host (fixture->lab, 1, nat);
  fixture->router = g_strdup_printf ("%s-r1", prefix);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  lr_test_lab_stop (&fixture->server);
  lr_test_lab_stop (&fixture->wireguard);
  lr_test_lab_kill_stragglers (fixture->lab);
  g_clear_pointer (&fixture->lab, lr_test_lab_free);
  lr_test_lab_flush_log (fixture->log_path);
  g_free (fixture->log_path);
  g_free (fixture->router);
}

/* Sends Binding requests from the internet namespace until the server answers. */
static void
wait_for_stun (Fixture    *fixture,
               const char *server_text)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  LrStunAddress server;
  struct sockaddr_storage sa;
  socklen_t length;
  int fd;

  g_assert_true (lr_stun_address_parse (&server, server_text));
  length = lr_stun_address_to_sockaddr (&server, &sa, sizeof sa);
  g_assert_true (lrd_test_enter_netns (lr_test_lab_get_internet (fixture->lab)));
  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  lrd_test_leave_netns ();
  g_assert_cmpint (fd, >=, 0);

  for (;;)
    {
      static const guint8 id[12] = { 9 };
      guint8 request[32];
      guint8 answer[512];
      LrStunBuilder builder;
      gsize request_length;

      lr_stun_builder_init (&builder, request, sizeof request, LR_STUN_METHOD_BINDING,
                            LR_STUN_CLASS_REQUEST, id);
      request_length = lr_stun_builder_finish (&builder);
      sendto (fd, request, request_length, 0, (struct sockaddr *) &sa, length);
      g_usleep (50000);
      if (recv (fd, answer, sizeof answer, MSG_DONTWAIT) > 0)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  close (fd);
}

static void
start_lanrage_relay (Fixture *fixture)
{
  const char *argv[] = { g_getenv ("LANRAGE_RELAY"), "--listen", "198.18.0.1:3478",
                         "--alt-address", "198.18.0.2:3479", "--threads", "1", NULL };

  fixture->server = lr_test_lab_spawn (lr_test_lab_get_internet (fixture->lab), argv,
                                       fixture->log_path, G_SUBPROCESS_FLAGS_NONE);
  wait_for_stun (fixture, "198.18.0.1:3478");
}

static void
start_coturn (Fixture *fixture)
{
  /* Its own database in the test's private temporary folder, not the machine's. */
  g_autofree char *db = g_strdup_printf ("--userdb=%s/lrnp-turndb", g_get_tmp_dir ());
  const char *argv[] = { "turnserver", "-n", "--stun-only", "--no-auth", db,
                         "--listening-ip=198.18.0.1", "--listening-ip=198.18.0.2",
                         "--listening-port=3578", "--alt-listening-port=3579",
                         "--no-tls", "--no-dtls", "--no-cli", "--no-stdout-log",
                         "--log-file=/dev/null", NULL };

  fixture->server = lr_test_lab_spawn (lr_test_lab_get_internet (fixture->lab), argv,
                                       fixture->log_path, G_SUBPROCESS_FLAGS_NONE);
  wait_for_stun (fixture, "198.18.0.1:3578");
}

/* The router's conntrack entries for host:51820 -> @destination, as "reply-destination"
 * public endpoints ("198.18.0.11:51820"). */
static GPtrArray *
conntrack_public_endpoints (Fixture    *fixture,
                            const char *destination_host,
                            guint       destination_port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *table = NULL;
  g_autofree char *original = g_strdup_printf ("src=192.168.1.2 dst=%s sport=%u dport=%u ",
                                               destination_host, WG_PORT, destination_port);
  g_auto(GStrv) lines = NULL;
  GPtrArray *endpoints = g_ptr_array_new_with_free_func (g_free);

  lr_test_lab_run (NULL, &table, &error, "ip", "netns", "exec", fixture->router, "cat",
                   "/proc/net/nf_conntrack", NULL);
  g_assert_no_error (error);
  lines = g_strsplit (table, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *at = strstr (lines[i], original);
      g_autofree char *reply_dst = NULL;
      const char *reply;
      guint port = 0;

      if (at == NULL || !strstr (lines[i], " udp "))
        continue;
      /* The reply tuple is the second "src=": its dst and dport are the public endpoint. */
      reply = strstr (at + strlen (original), "src=");
      g_assert_nonnull (reply);
      reply_dst = g_strndup (strstr (reply, "dst=") + 4,
                             strcspn (strstr (reply, "dst=") + 4, " "));
      port = atoi (strstr (reply, "dport=") + 6);
      g_ptr_array_add (endpoints, g_strdup_printf ("%s:%u", reply_dst, port));
    }
  return endpoints;
}

static void
probe_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static void
test_probe (Fixture       *fixture,
            gconstpointer  data)
{
  const Case *c = data;
  guint nat_index = c->nat - nats;
  const char *server_text = c->server == SERVER_COTURN ? "198.18.0.1:3578" : "198.18.0.1:3478";
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdSharedPort) port = NULL;
  g_autoptr(LrdNatProber) prober = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autofree char *public_text = NULL;
  LrTestWgKeys keys, peer;
  LrStunAddress server;
  LrNatTypeResult answer;
  gint64 started, took;

  if (c->server == SERVER_COTURN)
    start_coturn (fixture);
  else
    start_lanrage_relay (fixture);

  /* WireGuard owns the port and sends its handshake to the STUN server's address first:
   * the mapping its datagrams get is the one the prober must find. */
  lr_test_wg_keys_generate (&keys);
  lr_test_wg_keys_generate (&peer);
  fixture->wireguard = lr_test_wg_start (fixture->host, "lrnp0", &keys, WG_PORT,
                                         "10.66.0.1/24", fixture->log_path);
  lr_test_wg_set_peer ("lrnp0", peer.public_key, server_text, "10.66.0.2/32");
  lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "exec", fixture->host, "ping", "-n", "-q",
                   "-c", "1", "-W", "1", "10.66.0.2", NULL);
  before = conntrack_public_endpoints (fixture, "198.18.0.1",
                                       c->server == SERVER_COTURN ? 3578 : 3478);
  g_assert_cmpuint (before->len, ==, 1);

  g_assert_true (lrd_test_enter_netns (fixture->host));
  port = lrd_shared_port_new (WG_PORT, &error);
  lrd_test_leave_netns ();
  g_assert_no_error (error);
  prober = lrd_nat_prober_new (port, NULL);

  g_assert_true (lr_stun_address_parse (&server, server_text));
  started = g_get_monotonic_time ();
  lrd_nat_prober_probe_async (prober, &server, NULL, probe_done_cb, &result);
  result = lrd_test_wait (&result);
  took = g_get_monotonic_time () - started;
  lrd_nat_prober_probe_finish (prober, result, &answer, &error);
  g_assert_no_error (error);

  public_text = lr_stun_address_to_string (&answer.public_endpoint);
  g_test_message ("%s, %s: %s (mapping %s, filtering %s), public %s, port %s, %.1f s",
                  c->nat->name, c->server == SERVER_COTURN ? "coturn" : "lanrage-relay",
                  lr_nat_type_to_string (answer.type),
                  lr_nat_behaviour_to_string (answer.mapping),
                  lr_nat_behaviour_to_string (answer.filtering), public_text,
                  answer.port_preserved ? "kept" : "changed", took / 1e6);
  g_assert_true (answer.reachable);
  g_assert_true (answer.rfc5780);
  g_assert_true (answer.behind_nat);
  g_assert_cmpint (answer.mapping, ==, c->nat->mapping);
  g_assert_cmpint (answer.filtering, ==, c->nat->filtering);
  g_assert_cmpint (answer.type, ==, c->nat->type);
  if (c->nat->port_preserved >= 0)
    g_assert_cmpint (answer.port_preserved, ==, c->nat->port_preserved);

  /* WireGuard's own datagrams and the prober's share one mapping: the same public endpoint,
   * still one conntrack entry towards the server's primary address. */
  after = conntrack_public_endpoints (fixture, "198.18.0.1",
                                      c->server == SERVER_COTURN ? 3578 : 3478);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_cmpstr (after->pdata[0], ==, before->pdata[0]);
  g_assert_cmpstr (public_text, ==, before->pdata[0]);

  measured[nat_index][c->server] = TRUE;
  results[nat_index][c->server] = answer;
}

/* A second probe while one runs is refused; a cancelled probe says so. */
static void
test_busy_and_cancel (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdSharedPort) port = NULL;
  g_autoptr(LrdNatProber) prober = NULL;
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  LrStunAddress server;
  LrNatTypeResult answer;

  start_lanrage_relay (fixture);
  g_assert_true (lrd_test_enter_netns (fixture->host));
  port = lrd_shared_port_new (WG_PORT, &error);
  lrd_test_leave_netns ();
  g_assert_no_error (error);
  prober = lrd_nat_prober_new (port, NULL);
  g_assert_true (lr_stun_address_parse (&server, "198.18.0.1:3478"));

  lrd_nat_prober_probe_async (prober, &server, cancellable, probe_done_cb, &first);
  lrd_nat_prober_probe_async (prober, &server, NULL, probe_done_cb, &second);
  second = lrd_test_wait (&second);
  g_assert_false (lrd_nat_prober_probe_finish (prober, second, &answer, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
  g_clear_error (&error);
  g_assert_null (first);

  g_cancellable_cancel (cancellable);
  first = lrd_test_wait (&first);
  g_assert_false (lrd_nat_prober_probe_finish (prober, first, &answer, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&first);

  /* A server nobody answers for: a result, not an error. */
  g_assert_true (lr_stun_address_parse (&server, "198.18.0.1:3999"));
  lrd_nat_prober_probe_async (prober, &server, NULL, probe_done_cb, &first);
  first = lrd_test_wait (&first);
  g_assert_true (lrd_nat_prober_probe_finish (prober, first, &answer, &error));
  g_assert_no_error (error);
  g_assert_false (answer.reachable);
  g_assert_cmpint (answer.type, ==, LR_NAT_TYPE_UNKNOWN);
}

static void
test_servers_agree (void)
{
  guint compared = 0;

  for (guint i = 0; i < G_N_ELEMENTS (nats); i++)
    {
      const LrNatTypeResult *relay = &results[i][SERVER_LANRAGE_RELAY];
      const LrNatTypeResult *coturn = &results[i][SERVER_COTURN];

      if (!measured[i][SERVER_LANRAGE_RELAY] || !measured[i][SERVER_COTURN])
        continue;
      g_test_message ("%s: lanrage-relay %s, coturn %s", nats[i].name,
                      lr_nat_type_to_string (relay->type), lr_nat_type_to_string (coturn->type));
      g_assert_cmpint (relay->mapping, ==, coturn->mapping);
      g_assert_cmpint (relay->filtering, ==, coturn->filtering);
      g_assert_cmpint (relay->type, ==, coturn->type);
      compared++;
    }
  if (compared < G_N_ELEMENTS (nats))
    g_test_skip ("not every NAT was probed against both servers in this run");
}

int
main (int   argc,
      char *argv[])
{
  static const char * const programs[] = { "ip", "nft", "wireguard-go", "ping", "turnserver",
                                           NULL };
  const char *reason;

  if (g_getenv ("LANRAGE_RELAY") == NULL)
    return lrd_test_skip ("LANRAGE_RELAY is not set (meson test sets it)");
  reason = lr_test_lab_prepare (programs);
  if (reason != NULL)
    return lrd_test_skip (reason);

  g_test_init (&argc, &argv, NULL);
  lr_init ();

  for (guint i = 0; i < G_N_ELEMENTS (nats); i++)
    for (guint s = 0; s < N_SERVERS; s++)
      {
        Case *c = &cases[i * N_SERVERS + s];
        g_autofree char *path = NULL;

        c->nat = &nats[i];
        c->server = s;
        path = g_strdup_printf ("/lrd/nat-prober/lab/%s/%s",
                                s == SERVER_COTURN ? "coturn" : "lanrage-relay", nats[i].name);
        g_test_add (path, Fixture, c, fixture_set_up, test_probe, fixture_tear_down);
      }
  g_test_add ("/lrd/nat-prober/lab/busy-and-cancel", Fixture, &cases[0], fixture_set_up,
              test_busy_and_cancel, fixture_tear_down);
  /* Last: a suite of its own, made after the probes' suites, runs after them. */
  g_test_add_func ("/lrd/nat-prober/lab/compare/servers-agree", test_servers_agree);

  return g_test_run ();
}
