/* test-helper-lab.c: a LANrage party end to end, behind real NATs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Issue 4's lab: lanrage-control and lanrage-relay on the lab's fake internet
 * (198.18.0.1, lr-test-lab.h), and three hosts, each behind a NAT of its own (one
 * port-restricted cone, two symmetric, so that no pair can reach the other directly and
 * every path must be the relay), each with its own private system bus, polkitd and
 * lanrage-helper (UAPI backend, wireguard-go) started inside the host's namespace with its
 * own configuration and state. `lanragectl create` on the first, `join` on the others, as a
 * user would. A fourth host, behind a full cone NAT, is not in the party.
 *
 * The cases that need the data plane (ping-all, fourth-host, leave-cleans-up,
 * relay-failover, faults) are separate from the control plane one, so a failure says which half
 * broke.
 *
 * Everything runs in a private mount namespace with its own tmpfs on /run/netns,
 * /run/wireguard and TMPDIR, and every process dies with the test: nothing is left on the
 * machine, even after a crash. Needs root; skips (TAP plan "1..0 # SKIP") without it.
 */
#define _GNU_SOURCE
#include "lr-test-helper.h"
#include "lr-test-lab.h"
#include "lrd-lan-test-util.h"

#include "lr-ipam.h"
#include "lr-test-wg.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HOSTS      3
#define OUTSIDER       4
#define CONTROL_LISTEN LR_TEST_LAB_SERVER_ADDRESS ":8666"
#define CONTROL_URL    "http://" CONTROL_LISTEN "/"
#define RELAY_ENDPOINT LR_TEST_LAB_SERVER_ADDRESS ":3478"
/* The second relay of the failover case, registered with control like the first. */
#define RELAY2_ENDPOINT LR_TEST_LAB_SERVER_ADDRESS ":3479"
#define N_RELAYS       2
/* The relays' second address on the lab's internet, for RFC 5780. */
#define RELAY_ALT_ADDRESS "198.18.0.2"
#define WG_PORT        51820

/* How long the data plane may take to carry a first ping after `join` returns: the aim is
 * within a second (the first handshake is held until the relay is bound, not left to
 * WireGuard's 5 s retry); the timeout only bounds a hang, so a slow case still says how
 * slow it was. */
#define FIRST_PING_AIM_MS     1000
#define FIRST_PING_TIMEOUT_MS 20000
#define PATH_TIMEOUT_MS       10000
/* wireguard-go exits on its own once its interface is gone; under a loaded sanitizer build
 * that took over 5 s once. */
#define LEAVE_TIMEOUT_MS      15000

typedef struct
{
  guint         index;         /* 1..n_hosts: host "PREFIX-hINDEX" */
  guint         lan;           /* the index of the host whose router it is behind */
  char         *public_address; /* its router's WAN address */
  const char   *netns;         /* owned by the lab */
  char         *ifname;
  LrTestBus    *bus;
  LrTestHelper *helper;
} Host;

typedef struct
{
  char         *prefix;
  LrTestLab    *lab;
  LrTestServer *control;
  GSubprocess  *relays[N_RELAYS];
  char         *relay_logs[N_RELAYS];
  const char   *outsider;
  const char * const *nats;    /* each host's NAT (lr_test_nat_find) */
  guint         n_hosts;
  gint64        joined_us;     /* when the last `lanragectl join` of form_party() returned */
  /* The relays answer RFC 5780 (a second address), so the helpers find their NAT types.
   * Only for the direct cases: turnutils_stunclient, which the control-plane case runs
   * through each NAT, waits forever for the changed-address answers a NAT filters. */
  gboolean      rfc5780;
  Host          hosts[MAX_HOSTS];
} Fixture;

/* A pair of hosts and the path their helpers must settle on. The NAT names come first, so
 * the case is also the fixture's list of NATs. */
typedef struct
{
  const char *nats[3];
  const char *path;       /* "direct", "relayed", or NULL: either, never "connecting" */
  gboolean    failover;   /* cut the direct path, then restore it */
  gboolean    hostile;    /* routers without the home router's input drop rule (LAB.md) */
  gboolean    same_nat;   /* the second host sits behind the first one's router */
} DirectCase;

/* The party's hosts: the creator behind a port-restricted cone, the others behind
 * symmetric NATs. Port-restricted to symmetric and symmetric to symmetric cannot be
 * punched, so "relayed" is the only right answer for every pair. */
static const char * const host_nats[] = { "port-restricted", "symmetric", "symmetric", NULL };

/* Runs a lab command; returns whether it exited 0. */
#define RUN_OK(...) lr_test_lab_run (NULL, NULL, NULL, __VA_ARGS__)

static char *
helper_config (const Host *host)
{
  g_autofree char *wireguard_go = g_find_program_in_path ("wireguard-go");

  /* Every key the helper reads (helper/lrd-config.h): the UAPI backend with the machine's
   * wireguard-go, an interface name of the host's own (the UAPI socket folder is shared by
   * the lab's namespaces), and the lab's relay. */
  return g_strdup_printf ("[helper]\n"
                          "control-url=" CONTROL_URL "\n"
                          "backend=uapi\n"
                          "wireguard-go=%s\n"
                          "interface=%s\n"
                          "port=%u\n"
                          "relays=" RELAY_ENDPOINT "\n",
                          wireguard_go, host->ifname, WG_PORT);
}

static const char * const relay_endpoints[N_RELAYS] = { RELAY_ENDPOINT, RELAY2_ENDPOINT };
static const char * const relay_ids[N_RELAYS] = { "lab-relay", "lab-relay-2" };
/* RFC 5780's second address and port, so the helpers can tell their NAT's type. */
static const char * const relay_alt_addresses[N_RELAYS] = { RELAY_ALT_ADDRESS ":3480",
                                                            RELAY_ALT_ADDRESS ":3481" };

static void
start_relay (Fixture *fixture,
             guint    index)
{
  g_autofree char *expected = g_strconcat ("Listening on ", relay_endpoints[index], NULL);
  g_autofree char *log_name = g_strdup_printf ("relay%u.log", index + 1);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *secret_path = NULL;
  const char *argv[] = {
    g_getenv ("LANRAGE_RELAY"),
    "--listen", relay_endpoints[index],
    "--public-endpoint", relay_endpoints[index],
    "--control", CONTROL_URL,
    "--relay-secret-file", NULL,
    "--id", relay_ids[index],
    "--region", "lab",
    "--threads", "1",
    NULL, NULL,
    NULL
  };

  g_assert_nonnull (argv[0]);
  /* The secret lanrage-control created (0600) beside its database. */
  secret_path = g_build_filename (lr_test_server_get_tmpdir (fixture->control), "relay-secret",
                                  NULL);
  argv[8] = secret_path;
  fixture->relay_logs[index] = g_build_filename (lr_test_server_get_tmpdir (fixture->control),
                                                  log_name, NULL);
  if (fixture->rfc5780)
    {
      /* The last two slots of argv are free for it. */
      argv[G_N_ELEMENTS (argv) - 3] = "--alt-address";
      argv[G_N_ELEMENTS (argv) - 2] = relay_alt_addresses[index];
    }
  fixture->relays[index] = lr_test_lab_spawn (lr_test_lab_get_internet (fixture->lab), argv,
                                              fixture->relay_logs[index],
                                              G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fixture->relays[index]));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, expected);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  const char *control_args[] = { "--listen", CONTROL_LISTEN, NULL };
  const DirectCase *dcase = data;

  fixture->nats = dcase != NULL ? dcase->nats : host_nats;
  fixture->rfc5780 = data != NULL;
  fixture->n_hosts = g_strv_length ((char **) fixture->nats);
  g_assert_cmpuint (fixture->n_hosts, <=, MAX_HOSTS);
  /* Namespaces are machine-wide: two runs at once (two builds) must not share names. */
  fixture->prefix = g_strdup_printf ("lrlab%u", (guint) getpid ());
  fixture->lab = lr_test_lab_new (fixture->prefix);
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      Host *host = &fixture->hosts[i];

      host->index = i + 1;
      if (i > 0 && dcase != NULL && dcase->same_nat)
        {
          host->lan = fixture->hosts[0].index;
          host->netns = lr_test_lab_add_neighbour (fixture->lab, host->index, host->lan);
        }
      else
        {
          host->lan = host->index;
          host->netns = lr_test_lab_add_host (fixture->lab, host->index,
                                              lr_test_nat_find (fixture->nats[i]));
        }
      host->public_address = lr_test_lab_host_public_address (host->lan);
      host->ifname = g_strdup_printf ("lrlab%u", host->index);
    }
  fixture->outsider = lr_test_lab_add_host (fixture->lab, OUTSIDER,
                                            lr_test_nat_find ("full-cone"));

  RUN_OK ("ip", "-n", lr_test_lab_get_internet (fixture->lab), "addr", "add",
          RELAY_ALT_ADDRESS "/24", "dev", "br0", NULL);
  fixture->control = lr_test_server_new (control_args, LR_TEST_SERVER_DEBUG_LOG);
  lr_test_server_set_netns (fixture->control, lr_test_lab_get_internet (fixture->lab));
  lr_test_server_start (fixture->control);
  g_assert_cmpstr (lr_test_server_get_url (fixture->control), ==,
                   "http://" CONTROL_LISTEN);
  start_relay (fixture, 0);

  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      Host *host = &fixture->hosts[i];
      g_autofree char *config = helper_config (host);

      host->bus = lr_test_bus_new ();
      host->helper = lr_test_helper_new (host->bus, CONTROL_URL, NULL);
      lr_test_helper_set_config (host->helper, config);
      lr_test_helper_set_netns (host->helper, host->netns);
      lr_test_helper_start (host->helper);
    }
}

static void
print_log (const char *what,
           char       *log)
{
  g_auto(GStrv) lines = g_strsplit (log, "\n", -1);

  g_test_message ("%s:", what);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_test_message ("  | %s", lines[i]);
  g_free (log);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      Host *host = &fixture->hosts[i];

      if (host->helper != NULL && g_test_failed ())
        {
          g_autofree char *what = g_strdup_printf ("lanrage-helper in %s", host->netns);

          print_log (what, lr_test_helper_get_log (host->helper));
        }
      g_clear_pointer (&host->helper, lr_test_helper_free);
      g_clear_pointer (&host->bus, lr_test_bus_free);
      g_free (host->ifname);
      g_free (host->public_address);
    }
  for (guint i = 0; i < N_RELAYS; i++)
    {
      if (fixture->relays[i] != NULL)
        {
          g_subprocess_send_signal (fixture->relays[i], SIGTERM);
          g_subprocess_wait (fixture->relays[i], NULL, NULL);
          if (g_test_failed ())
            {
              char *log = NULL;

              if (g_file_get_contents (fixture->relay_logs[i], &log, NULL, NULL))
                print_log (relay_ids[i], log);
            }
          g_clear_object (&fixture->relays[i]);
        }
      g_free (fixture->relay_logs[i]);
    }
  if (fixture->control != NULL && lr_test_server_is_running (fixture->control))
    lr_test_server_stop (fixture->control, FALSE);
  g_clear_pointer (&fixture->control, lr_test_server_free);
  /* What the helpers started and left running (wireguard-go) goes with the lab. */
  lr_test_lab_kill_stragglers (fixture->lab);
  g_clear_pointer (&fixture->lab, lr_test_lab_free);
  g_clear_pointer (&fixture->prefix, g_free);
}

static LrdHelper1 *
proxy_of (Host *host)
{
  return lr_test_helper_get_proxy (host->helper);
}

/* Pings @address from @netns until a reply comes or @timeout_ms passes. Returns the
 * monotonic time of the reply, or 0. */
static gint64
ping_until (const char *netns,
            const char *address,
            guint       timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      /* -w 1 keeps sending (every 20 ms) until the first reply or a second has passed;
       * "Network is unreachable" (no interface yet) makes ping exit at once. */
      if (RUN_OK ("ip", "netns", "exec", netns, "ping", "-n", "-q", "-c", "1", "-w", "1", "-i",
                  "0.02", address, NULL))
        return g_get_monotonic_time ();
      g_usleep (20000);
    }
  return 0;
}

/* The data plane's checks fail the case without aborting the program, so that every case
 * runs and says what it found (and the lab is torn down, with the logs printed). */
#define CHECK(condition, ...) \
  G_STMT_START { \
    if (!(condition)) \
      { \
        g_test_fail_printf (__VA_ARGS__); \
        return; \
      } \
  } G_STMT_END

static gboolean
can_ping (Host *from,
          Host *to)
{
  const char *address = lrd_helper1_get_virtual_address (proxy_of (to));

  if (ping_until (from->netns, address, PATH_TIMEOUT_MS) != 0)
    return TRUE;
  g_test_fail_printf ("%s cannot ping %s's virtual address %s within %d ms", from->netns,
                      to->netns, address, PATH_TIMEOUT_MS);
  return FALSE;
}

/* `lanragectl create` on the first host, `join` on the others, each then connected. With
 * @measure_first_ping, each joining host pings the creator right after its join returned,
 * and the time is printed; FALSE (the case failed) when no reply came. */
static gboolean
form_party (Fixture  *fixture,
            gboolean  measure_first_ping)
{
  Host *creator = &fixture->hosts[0];
  const char *create_argv[] = { "create", "Lab night", "--name", "host1", NULL };
  g_autofree char *code = NULL;

  g_assert_cmpint (lr_test_ctl_run (creator->bus, LR_TEST_HELPER_BUS_NAME, NULL, create_argv,
                                    NULL, NULL), ==, 0);
  lr_test_helper_wait_state (creator->helper, "connected");
  code = lrd_helper1_dup_invite_code (proxy_of (creator));
  g_assert_nonnull (code);
  g_assert_cmpstr (code, !=, "");

  for (guint i = 1; i < fixture->n_hosts; i++)
    {
      Host *host = &fixture->hosts[i];
      g_autofree char *name = g_strdup_printf ("host%u", host->index);
      const char *join_argv[] = { "join", code, "--name", name, NULL };
      gint64 joined;

      g_assert_cmpint (lr_test_ctl_run (host->bus, LR_TEST_HELPER_BUS_NAME, NULL, join_argv,
                                        NULL, NULL), ==, 0);
      joined = g_get_monotonic_time ();
      fixture->joined_us = joined;
      if (measure_first_ping)
        {
          const char *address = lrd_helper1_get_virtual_address (proxy_of (creator));
          gint64 replied = ping_until (host->netns, address, FIRST_PING_TIMEOUT_MS);

          if (replied == 0)
            {
              g_test_fail_printf ("%s: no ping reply from %s within %d ms of `lanragectl "
                                  "join` returning", host->netns, address,
                                  FIRST_PING_TIMEOUT_MS);
              return FALSE;
            }
          g_test_message ("join-to-first-ping: %" G_GINT64_FORMAT " ms (%s, %s NAT, to %s)",
                          (replied - joined) / 1000, host->netns, fixture->nats[i], address);
          if (replied - joined > FIRST_PING_AIM_MS * 1000)
            {
              g_test_fail_printf ("%s: the first ping reply from %s came %" G_GINT64_FORMAT
                                  " ms after `lanragectl join` returned, more than %d ms",
                                  host->netns, address, (replied - joined) / 1000,
                                  FIRST_PING_AIM_MS);
              return FALSE;
            }
        }
      lr_test_helper_wait_state (host->helper, "connected");
    }

  for (guint i = 0; i < fixture->n_hosts; i++)
    lr_test_helper_wait_peers (fixture->hosts[i].helper, fixture->n_hosts - 1);
  return TRUE;
}

static gboolean
same_netns (GPid        pid,
            const char *netns)
{
  g_autofree char *proc_path = g_strdup_printf ("/proc/%d/ns/net", (int) pid);
  g_autofree char *ns_path = g_build_filename ("/run/netns", netns, NULL);
  struct stat proc_stat;
  struct stat ns_stat;

  return stat (proc_path, &proc_stat) == 0 && stat (ns_path, &ns_stat) == 0 &&
         proc_stat.st_dev == ns_stat.st_dev && proc_stat.st_ino == ns_stat.st_ino;
}

typedef struct
{
  const char *url;
  const char *netns;
  char       *answer;
  const char *endpoint;   /* NULL: RELAY_ENDPOINT */
} RelaysWait;

static gboolean
relay_listed (gpointer data)
{
  RelaysWait *wait = data;
  g_autofree char *quoted = g_strdup_printf ("\"%s\"", wait->endpoint != NULL ? wait->endpoint
                                                                            : RELAY_ENDPOINT);

  g_clear_pointer (&wait->answer, g_free);
  return lr_test_lab_run (NULL, &wait->answer, NULL, "ip", "netns", "exec", wait->netns, "curl",
                          "-sf", "--max-time", "2", wait->url, NULL) &&
         strstr (wait->answer, quoted) != NULL;
}

static void
test_control_plane (Fixture       *fixture,
                    gconstpointer  data)
{
  const char *peers_argv[] = { "--json", "peers", NULL };

  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      Host *host = &fixture->hosts[i];
      g_autofree char *public_address = lr_test_lab_host_public_address (host->index);
      g_autofree char *stun = NULL;
      RelaysWait wait = { CONTROL_URL "v1/relays", host->netns, NULL, NULL };

      /* The helper runs in its host, where whatever it starts (wireguard-go) lands too. */
      g_assert_true (same_netns (lr_test_helper_get_pid (host->helper), host->netns));
      g_assert_cmpstr (lrd_helper1_get_state (proxy_of (host)), ==, "idle");

      /* Through its NAT the host reaches lanrage-control, which lists the relay that
       * registered with it ... */
      if (!lr_test_wait_for (relay_listed, &wait, 5000))
        g_error ("%s: lanrage-control does not list the relay: %s", host->netns,
                 wait.answer != NULL ? wait.answer : "(no answer)");
      g_free (wait.answer);

      /* ... and the relay, which sees it at its router's public address. */
      g_assert_true (lr_test_lab_run (NULL, &stun, NULL, "ip", "netns", "exec", host->netns,
                                      "turnutils_stunclient", "-p", "3478",
                                      LR_TEST_LAB_SERVER_ADDRESS, NULL));
      g_test_message ("%s (%s NAT): %s", host->netns, fixture->nats[i], g_strstrip (stun));
      g_assert_nonnull (strstr (stun, public_address));
    }

  g_assert_true (form_party (fixture, FALSE));

  /* Everyone sees everyone else, by name and address, through the ObjectManager. */
  for (guint i = 0; i < fixture->n_hosts; i++)
    for (guint j = 0; j < fixture->n_hosts; j++)
      {
        Host *self = &fixture->hosts[i];
        Host *other = &fixture->hosts[j];
        g_autoptr(LrdHelper1Peer) peer = NULL;
        g_autofree char *name = g_strdup_printf ("host%u", other->index);

        if (i == j)
          continue;
        g_assert_cmpstr (lrd_helper1_get_party_id (proxy_of (self)), ==,
                         lrd_helper1_get_party_id (proxy_of (other)));
        g_assert_cmpstr (lrd_helper1_get_virtual_address (proxy_of (self)), !=,
                         lrd_helper1_get_virtual_address (proxy_of (other)));
        peer = lr_test_helper_find_peer (self->helper,
                                         lrd_helper1_get_virtual_address (proxy_of (other)));
        g_assert_nonnull (peer);
        g_assert_cmpstr (lrd_helper1_peer_get_name (peer), ==, name);
        g_assert_true (lrd_helper1_peer_get_online (peer));
      }

  /* lanragectl lists the same. */
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      g_autofree char *out = NULL;
      g_autoptr(JsonNode) root = NULL;

      g_assert_cmpint (lr_test_ctl_run (fixture->hosts[i].bus, LR_TEST_HELPER_BUS_NAME, NULL,
                                        peers_argv, &out, NULL), ==, 0);
      root = lr_test_json_parse (out);
      g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
      g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, fixture->n_hosts - 1);
    }
}

typedef struct
{
  LrTestHelper *helper;
  const char   *address;
  const char   *path;
} PathWait;

static gboolean
peer_path_is (gpointer data)
{
  PathWait *wait = data;
  g_autoptr(LrdHelper1Peer) peer = lr_test_helper_find_peer (wait->helper, wait->address);

  return peer != NULL && g_strcmp0 (lrd_helper1_peer_get_path (peer), wait->path) == 0;
}

typedef struct
{
  Host       *host;
  const char *relay;       /* wait until Relay is this... */
  const char *not_relay;   /* ...or anything but "" and this */
} RelayWait;

static gboolean
relay_moved (gpointer data)
{
  RelayWait *wait = data;
  const char *relay = lrd_helper1_get_relay (proxy_of (wait->host));

  if (wait->relay != NULL)
    return g_strcmp0 (relay, wait->relay) == 0;
  return relay[0] != '\0' && g_strcmp0 (relay, wait->not_relay) != 0;
}

/* WireGuard's counters and the probes through the relay have reached the peer object. */
static gboolean
peer_is_measured (gpointer data)
{
  PathWait *wait = data;
  g_autoptr(LrdHelper1Peer) peer = lr_test_helper_find_peer (wait->helper, wait->address);

  return peer != NULL && lrd_helper1_peer_get_rx_bytes (peer) > 0 &&
         lrd_helper1_peer_get_tx_bytes (peer) > 0 &&
         lrd_helper1_peer_get_last_handshake (peer) > 0 &&
         lrd_helper1_peer_get_latency_ms (peer) >= 0 &&
         g_strcmp0 (lrd_helper1_peer_get_quality (peer), "unknown") != 0;
}

static void
test_ping_all (Fixture       *fixture,
               gconstpointer  data)
{
  /* Said, but the case goes on: the pings then show what the missing backend costs. */
  for (guint i = 0; i < fixture->n_hosts; i++)
    if (g_strcmp0 (lrd_helper1_get_backend (proxy_of (&fixture->hosts[i])), "uapi") != 0)
      {
        g_test_message ("%s: Backend is \"%s\", not \"uapi\"", fixture->hosts[i].netns,
                        lrd_helper1_get_backend (proxy_of (&fixture->hosts[i])));
        g_test_fail ();
      }
  if (!form_party (fixture, TRUE))
    return;

  /* Every host reaches every other's virtual address. */
  for (guint i = 0; i < fixture->n_hosts; i++)
    for (guint j = 0; j < fixture->n_hosts; j++)
      if (i != j && !can_ping (&fixture->hosts[i], &fixture->hosts[j]))
        return;

  /* No pair can punch through these NATs: every peer is reached through the lab's relay. */
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      Host *self = &fixture->hosts[i];

      RelayWait relay_wait = { self, RELAY_ENDPOINT, NULL };

      CHECK (lr_test_wait_for (relay_moved, &relay_wait, PATH_TIMEOUT_MS),
             "%s: Relay is \"%s\", not \"" RELAY_ENDPOINT "\"", self->netns,
             lrd_helper1_get_relay (proxy_of (self)));
      for (guint j = 0; j < fixture->n_hosts; j++)
        {
          Host *other = &fixture->hosts[j];
          PathWait wait = { self->helper, lrd_helper1_get_virtual_address (proxy_of (other)),
                            "relayed" };
          g_autoptr(LrdHelper1Peer) peer = NULL;

          if (i == j)
            continue;
          peer = lr_test_helper_find_peer (self->helper, wait.address);
          g_assert_nonnull (peer);
          CHECK (lr_test_wait_for (peer_path_is, &wait, PATH_TIMEOUT_MS),
                 "%s lists %s (%s) with Path \"%s\", not \"relayed\"", self->netns,
                 other->netns, wait.address, lrd_helper1_peer_get_path (peer));
          CHECK (g_strcmp0 (lrd_helper1_peer_get_relay (peer), RELAY_ENDPOINT) == 0,
                 "%s lists %s with Relay \"%s\"", self->netns, other->netns,
                 lrd_helper1_peer_get_relay (peer));
          CHECK (lr_test_wait_for (peer_is_measured, &wait, PATH_TIMEOUT_MS),
                 "%s lists %s with RxBytes %" G_GUINT64_FORMAT ", TxBytes %" G_GUINT64_FORMAT
                 ", LastHandshake %" G_GINT64_FORMAT ", LatencyMs %.1f", self->netns,
                 other->netns, lrd_helper1_peer_get_rx_bytes (peer),
                 lrd_helper1_peer_get_tx_bytes (peer),
                 lrd_helper1_peer_get_last_handshake (peer),
                 lrd_helper1_peer_get_latency_ms (peer));
        }
    }
}

static void
test_fourth_host (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *garbage = NULL;

  g_assert_true (form_party (fixture, FALSE));
  /* The party itself works, so what fails below fails for the outsider only. */
  if (!can_ping (&fixture->hosts[1], &fixture->hosts[0]) ||
      !can_ping (&fixture->hosts[2], &fixture->hosts[1]))
    return;

  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      const char *address = lrd_helper1_get_virtual_address (proxy_of (&fixture->hosts[i]));

      CHECK (!RUN_OK ("ip", "netns", "exec", fixture->outsider, "ping", "-n", "-q", "-c", "3",
                      "-i", "0.2", "-w", "2", address, NULL),
             "the outsider %s reaches the party's %s", fixture->outsider, address);
    }

  /* Garbage from the outsider to the relay (the only party address it can know) changes
   * nothing for the party. */
  garbage = g_strdup_printf ("printf 'not a relay frame, not STUN' > /dev/udp/%s/3478",
                             LR_TEST_LAB_SERVER_ADDRESS);
  g_assert_true (RUN_OK ("ip", "netns", "exec", fixture->outsider, "bash", "-c", garbage,
                         NULL));
  if (!can_ping (&fixture->hosts[0], &fixture->hosts[2]))
    return;
  can_ping (&fixture->hosts[2], &fixture->hosts[0]);
}

/* Two registered relays; the one the party uses dies (SIGKILL, no goodbye). Every helper
 * moves to the other by itself, the tunnel's endpoints stay as they were (the relay client's
 * loopback sockets), and pings flow again. The outage is printed. */
static void
test_relay_failover (Fixture       *fixture,
                     gconstpointer  data)
{
  RelaysWait listed = { CONTROL_URL "v1/relays", fixture->hosts[0].netns, NULL,
                        RELAY2_ENDPOINT };
  g_autofree char *chosen = NULL;
  const char *h1_address;
  guint dead;
  gint64 killed;
  gint64 replied;

  start_relay (fixture, 1);
  CHECK (lr_test_wait_for (relay_listed, &listed, 5000),
         "lanrage-control does not list the second relay: %s", listed.answer);
  g_free (listed.answer);
  if (!form_party (fixture, FALSE) ||
      !can_ping (&fixture->hosts[1], &fixture->hosts[0]) ||
      !can_ping (&fixture->hosts[2], &fixture->hosts[1]))
    return;

  /* (Waiting also lets the proxies take in the PropertiesChanged that came meanwhile.) */
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      RelayWait wait = { &fixture->hosts[i], NULL, "" };

      CHECK (lr_test_wait_for (relay_moved, &wait, PATH_TIMEOUT_MS), "%s shows no relay",
             fixture->hosts[i].netns);
    }
  chosen = g_strdup (lrd_helper1_get_relay (proxy_of (&fixture->hosts[0])));
  for (guint i = 1; i < fixture->n_hosts; i++)
    CHECK (g_strcmp0 (lrd_helper1_get_relay (proxy_of (&fixture->hosts[i])), chosen) == 0,
           "%s uses relay %s, %s uses %s", fixture->hosts[i].netns,
           lrd_helper1_get_relay (proxy_of (&fixture->hosts[i])), fixture->hosts[0].netns,
           chosen);
  dead = g_str_equal (chosen, RELAY_ENDPOINT) ? 0 : 1;
  g_test_message ("The party uses %s; killing it", chosen);

  g_subprocess_force_exit (fixture->relays[dead]);
  g_subprocess_wait (fixture->relays[dead], NULL, NULL);
  g_clear_object (&fixture->relays[dead]);
  killed = g_get_monotonic_time ();

  h1_address = lrd_helper1_get_virtual_address (proxy_of (&fixture->hosts[0]));
  replied = ping_until (fixture->hosts[1].netns, h1_address, FIRST_PING_TIMEOUT_MS);
  CHECK (replied != 0, "%s: no ping reply from %s within %d ms of the relay's death",
         fixture->hosts[1].netns, h1_address, FIRST_PING_TIMEOUT_MS);
  g_test_message ("relay-failover: pings answered again %" G_GINT64_FORMAT " ms after the "
                  "relay was killed", (replied - killed) / 1000);

  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      RelayWait wait = { &fixture->hosts[i], NULL, chosen };

      CHECK (lr_test_wait_for (relay_moved, &wait, PATH_TIMEOUT_MS),
             "%s still shows relay \"%s\"", fixture->hosts[i].netns,
             lrd_helper1_get_relay (proxy_of (&fixture->hosts[i])));
      g_test_message ("%s: relay %s, because: %s", fixture->hosts[i].netns,
                      lrd_helper1_get_relay (proxy_of (&fixture->hosts[i])),
                      lrd_helper1_get_relay_reason (proxy_of (&fixture->hosts[i])));
    }
  for (guint i = 0; i < fixture->n_hosts; i++)
    for (guint j = 0; j < fixture->n_hosts; j++)
      if (i != j && !can_ping (&fixture->hosts[i], &fixture->hosts[j]))
        return;
}

/* The faults that are not the relay's: lanrage-control killed (SIGKILL) and started
 * again never drops the tunnel, and a helper restarted mid-party rejoins and its tunnel
 * comes back by itself. */
static void
test_faults (Fixture       *fixture,
             gconstpointer  data)
{
  Host *guest = &fixture->hosts[1];
  const char *h1_address;
  gint64 started;
  gint64 replied;

  if (!form_party (fixture, FALSE) || !can_ping (guest, &fixture->hosts[0]))
    return;
  h1_address = lrd_helper1_get_virtual_address (proxy_of (&fixture->hosts[0]));

  /* The control server dies: the data plane does not need it. */
  lr_test_server_stop (fixture->control, TRUE);
  for (guint i = 0; i < fixture->n_hosts; i++)
    for (guint j = 0; j < fixture->n_hosts; j++)
      if (i != j && !can_ping (&fixture->hosts[i], &fixture->hosts[j]))
        return;
  lr_test_server_start (fixture->control);
  for (guint i = 0; i < fixture->n_hosts; i++)
    CHECK (g_strcmp0 (lrd_helper1_get_state (proxy_of (&fixture->hosts[i])), "connected") == 0,
           "%s: State is \"%s\" after the control server's restart", fixture->hosts[i].netns,
           lrd_helper1_get_state (proxy_of (&fixture->hosts[i])));
  if (!can_ping (guest, &fixture->hosts[0]))
    return;

  /* The guest's helper restarts: it rejoins from its saved party, WireGuard and the relay
   * come back, and so do the pings. */
  lr_test_helper_stop (guest->helper);
  CHECK (ping_until (guest->netns, h1_address, 500) == 0,
         "%s still reaches %s with its helper stopped", guest->netns, h1_address);
  started = g_get_monotonic_time ();
  lr_test_helper_start (guest->helper);
  replied = ping_until (guest->netns, h1_address, FIRST_PING_TIMEOUT_MS);
  CHECK (replied != 0, "%s: no ping reply from %s within %d ms of its helper's restart",
         guest->netns, h1_address, FIRST_PING_TIMEOUT_MS);
  g_test_message ("helper-restart-to-first-ping: %" G_GINT64_FORMAT " ms",
                  (replied - started) / 1000);
  lr_test_helper_wait_state (guest->helper, "connected");
  lr_test_helper_wait_peers (guest->helper, fixture->n_hosts - 1);
  can_ping (&fixture->hosts[2], guest);
}

/* Direct paths */

/* The classic name the helper shows for each of the lab's NATs. */
static const char *
nat_type_of (const char *nat)
{
  static const struct { const char *nat; const char *type; } names[] = {
    { "port-restricted", "port-restricted cone" },
    { "port-restricted-translated", "port-restricted cone" },
    { "symmetric", "symmetric" },
    { "full-cone", "full cone" },
    { "restricted-cone", "restricted cone" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (names[i].nat, nat))
      return names[i].type;
  g_assert_not_reached ();
}

typedef struct
{
  Host       *host;
  const char *nat_type;
} NatWait;

static gboolean
nat_type_is (gpointer data)
{
  NatWait *wait = data;

  return g_strcmp0 (lrd_helper1_get_nat_type (proxy_of (wait->host)), wait->nat_type) == 0;
}

typedef struct
{
  LrTestHelper *helper;
  const char   *address;
  const char   *nat_type;
} PeerNatWait;

static gboolean
peer_nat_type_is (gpointer data)
{
  PeerNatWait *wait = data;
  g_autoptr(LrdHelper1Peer) peer = lr_test_helper_find_peer (wait->helper, wait->address);

  return peer != NULL && g_strcmp0 (lrd_helper1_peer_get_nat_type (peer), wait->nat_type) == 0;
}

/* Each helper finds its own NAT's type from WireGuard's port, shows it, and publishes it:
 * the other shows it on its peer object. */
static gboolean
nat_types_shown (Fixture *fixture)
{
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      Host *host = &fixture->hosts[i];
      NatWait wait = { host, nat_type_of (fixture->nats[i]) };
      g_autofree char *public_prefix = g_strdup_printf ("%s:", host->public_address);

      if (!lr_test_wait_for (nat_type_is, &wait, PATH_TIMEOUT_MS))
        {
          g_test_fail_printf ("%s (%s NAT) shows NatType \"%s\"", host->netns, fixture->nats[i],
                              lrd_helper1_get_nat_type (proxy_of (host)));
          return FALSE;
        }
      if (!g_str_has_prefix (lrd_helper1_get_public_endpoint (proxy_of (host)), public_prefix))
        {
          g_test_fail_printf ("%s shows PublicEndpoint \"%s\", not its router's address",
                              host->netns, lrd_helper1_get_public_endpoint (proxy_of (host)));
          return FALSE;
        }
      for (guint j = 0; j < fixture->n_hosts; j++)
        {
          PeerNatWait peer_wait = { fixture->hosts[j].helper,
                                    lrd_helper1_get_virtual_address (proxy_of (host)),
                                    wait.nat_type };

          if (i != j && !lr_test_wait_for (peer_nat_type_is, &peer_wait, PATH_TIMEOUT_MS))
            {
              g_test_fail_printf ("%s does not show %s's NatType \"%s\"",
                                  fixture->hosts[j].netns, host->netns, wait.nat_type);
              return FALSE;
            }
        }
    }
  return TRUE;
}

typedef struct
{
  Host *host;
  char *endpoint;   /* WireGuard's endpoint for the one peer, last read */
  char *expected;
} WgEndpointWait;

/* WireGuard's own view (its UAPI socket, which the test shares with the helpers): where it
 * sends the peer's packets, which is what "direct" must mean. */
static gboolean
wg_endpoint_is (gpointer data)
{
  WgEndpointWait *wait = data;

  g_clear_pointer (&wait->endpoint, g_free);
  wait->endpoint = lr_test_wg_dup_endpoint (wait->host->ifname);
  return g_strcmp0 (wait->endpoint, wait->expected) == 0;
}

/* Where @host reaches @other directly: @other's LAN address and WireGuard's port when both
 * are behind one router, else @other's public address (any port: a symmetric NAT gives the
 * peer a port of its own towards this host). */
static char *
direct_endpoint_prefix (const Host *host,
                        const Host *other)
{
  if (host->lan == other->lan)
    return g_strdup_printf ("192.168.%u.%u:%u", other->lan, other->index + 1, WG_PORT);
  return g_strdup_printf ("%s:", other->public_address);
}

/* Both hosts' WireGuard sends where the peer object says the direct path goes (Endpoint),
 * and that is where the other host is reached directly (direct_endpoint_prefix). */
static gboolean
wireguard_is_direct (Fixture *fixture)
{
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *prefix = direct_endpoint_prefix (&fixture->hosts[i],
                                                        &fixture->hosts[1 - i]);
      g_autoptr(LrdHelper1Peer) peer =
        lr_test_helper_find_peer (fixture->hosts[i].helper,
                                  lrd_helper1_get_virtual_address (
                                    proxy_of (&fixture->hosts[1 - i])));
      WgEndpointWait wait = { &fixture->hosts[i], NULL, NULL };
      gboolean ok;

      wait.expected = g_strdup (lrd_helper1_peer_get_endpoint (peer));
      if (!g_str_has_prefix (wait.expected, prefix))
        {
          g_test_fail_printf ("%s reaches %s at Endpoint \"%s\", not at %s",
                              fixture->hosts[i].netns, fixture->hosts[1 - i].netns,
                              wait.expected, prefix);
          g_free (wait.expected);
          return FALSE;
        }
      /* WireGuard's counters (and so the link's check of its endpoint) come every 2 s. */
      ok = lr_test_wait_for (wg_endpoint_is, &wait, 5000);
      if (!ok)
        g_test_fail_printf ("%s: WireGuard sends to %s, not the direct %s",
                            fixture->hosts[i].netns, wait.endpoint != NULL ? wait.endpoint : "?",
                            wait.expected);
      g_free (wait.endpoint);
      g_free (wait.expected);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* For lr_test_wait_for(): lets the main loop run (the proxies take in their changes) for
 * the whole time. */
static gboolean
never (gpointer data)
{
  return FALSE;
}

/* Waits until each of the pair shows the other with @path; returns the monotonic time,
 * or 0. */
static gint64
wait_pair_path (Fixture    *fixture,
                const char *path,
                guint       timeout_ms)
{
  for (guint i = 0; i < 2; i++)
    {
      PathWait wait = { fixture->hosts[i].helper,
                        lrd_helper1_get_virtual_address (proxy_of (&fixture->hosts[1 - i])),
                        path };

      if (!lr_test_wait_for (peer_path_is, &wait, timeout_ms))
        return 0;
    }
  return g_get_monotonic_time ();
}

/* The first host's router drops everything between the two hosts' public addresses: the
 * direct path dies, the relay (elsewhere on the lab's internet) stays reachable. */
static void
cut_direct (Fixture  *fixture,
            gboolean  on)
{
  g_autofree char *router = lr_test_lab_router_name (fixture->lab, fixture->hosts[0].index);
  g_autofree char *other = lr_test_lab_host_public_address (fixture->hosts[1].index);
  g_autofree char *rule = g_strdup_printf ("table inet lrcut {\n"
                                           "  chain forward { type filter hook forward "
                                           "priority -10; ip saddr %s drop; ip daddr %s "
                                           "drop; }\n"
                                           "}\n", other, other);
  g_autoptr(GError) error = NULL;

  if (on)
    lr_test_lab_run (rule, NULL, &error, "ip", "netns", "exec", router, "nft", "-f", "-",
                     NULL);
  else
    lr_test_lab_run (NULL, NULL, &error, "ip", "netns", "exec", router, "nft", "delete",
                     "table", "inet", "lrcut", NULL);
  g_assert_no_error (error);
}

/* The longest run of unanswered pings in `ping -i 0.01` output, in pings; @last gives the
 * highest sequence number answered. */
static guint
longest_gap (const char *output,
             guint       count,
             guint      *last)
{
  g_autofree gboolean *answered = g_new0 (gboolean, count + 1);
  g_auto(GStrv) lines = g_strsplit (output, "\n", -1);
  guint run = 0, longest = 0;

  *last = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *seq = strstr (lines[i], "icmp_seq=");
      guint64 n;

      if (seq == NULL || strstr (lines[i], "bytes from") == NULL)
        continue;
      n = g_ascii_strtoull (seq + 9, NULL, 10);
      if (n < 1 || n > count)
        continue;
      answered[n] = TRUE;
      *last = MAX (*last, (guint) n);
    }
  for (guint i = 1; i <= *last; i++)
    {
      run = answered[i] ? 0 : run + 1;
      longest = MAX (longest, run);
    }
  return longest;
}

#define FAILOVER_PINGS 600   /* 6 s of 10 ms pings */

/* @count pings every 10 ms from @from to @to's virtual address, in the background. */
static GSubprocess *
pings_start (Host  *from,
             Host  *to,
             guint  count)
{
  g_autofree char *count_text = g_strdup_printf ("%u", count);
  const char *argv[] = { "ip", "netns", "exec", from->netns, "ping", "-n", "-i", "0.01",
                         "-W", "1", "-c", count_text,
                         lrd_helper1_get_virtual_address (proxy_of (to)), NULL };
  g_autoptr(GError) error = NULL;
  GSubprocess *ping;

  ping = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  return ping;
}

/* Waits for the pings of pings_start() to end: the longest run of lost pings (longest_gap)
 * and, in @last, the last one answered. */
static guint
pings_finish (GSubprocess *ping,
              guint        count,
              guint       *last)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;

  g_subprocess_communicate_utf8 (ping, NULL, NULL, &output, NULL, &error);
  g_assert_no_error (error);
  return longest_gap (output, count, last);
}

/* Two hosts behind the case's NATs form a party with the real helpers: where hole punching
 * can work both peer objects go "direct" (to the other's public endpoint), elsewhere they
 * stay "relayed" and keep trying; pings cross either way. With failover, a rule cutting the
 * direct path while 10 ms pings run: the pair falls back to the relay with a short gap, and
 * goes direct again by itself when the rule goes. */
static void
test_direct (Fixture       *fixture,
             gconstpointer  data)
{
  const DirectCase *dcase = data;
  Host *h1 = &fixture->hosts[0];
  Host *h2 = &fixture->hosts[1];
  gint64 settled;

  if (dcase->hostile)
    for (guint i = 0; i < 2; i++)
      {
        g_autofree char *router = lr_test_lab_router_name (fixture->lab, fixture->hosts[i].index);

        g_assert_true (RUN_OK ("ip", "netns", "exec", router, "nft", "delete", "table", "inet",
                               "filter", NULL));
      }
  if (!form_party (fixture, TRUE))
    return;

  if (dcase->path == NULL)
    {
      /* A stale conntrack entry may move a mapping mid-punch: either path is right, as
       * long as the pair settles on one that carries the tunnel. */
      lr_test_wait_for (never, NULL, 12000);
      for (guint i = 0; i < 2; i++)
        {
          g_autoptr(LrdHelper1Peer) peer =
            lr_test_helper_find_peer (fixture->hosts[i].helper,
                                      lrd_helper1_get_virtual_address (
                                        proxy_of (&fixture->hosts[1 - i])));
          guint n = g_variant_n_children (lrd_helper1_peer_get_path_history (peer));

          g_test_message ("%s + %s (hostile): %s shows %s, %u path changes, %u fallbacks",
                          dcase->nats[0], dcase->nats[1], fixture->hosts[i].netns,
                          lrd_helper1_peer_get_path (peer), n,
                          lrd_helper1_peer_get_fallbacks (peer));
          CHECK (g_strcmp0 (lrd_helper1_peer_get_path (peer), "connecting") != 0,
                 "%s is stuck in \"connecting\"", fixture->hosts[i].netns);
        }
      if (wait_pair_path (fixture, "direct", 1) != 0 && !wireguard_is_direct (fixture))
        return;
    }
  else if (g_str_equal (dcase->path, "direct"))
    {
      settled = wait_pair_path (fixture, "direct", PATH_TIMEOUT_MS);
      CHECK (settled != 0, "%s + %s: not direct within %d ms", dcase->nats[0], dcase->nats[1],
             PATH_TIMEOUT_MS);
      g_test_message ("join-to-direct: %" G_GINT64_FORMAT " ms (%s + %s, both peers direct, "
                      "after `lanragectl join` returned)", (settled - fixture->joined_us) / 1000,
                      dcase->nats[0], dcase->nats[1]);
      for (guint i = 0; i < 2; i++)
        {
          g_autoptr(LrdHelper1Peer) peer =
            lr_test_helper_find_peer (fixture->hosts[i].helper,
                                      lrd_helper1_get_virtual_address (
                                        proxy_of (&fixture->hosts[1 - i])));
          CHECK (lrd_helper1_peer_get_direct_attempts (peer) >= 1,
                 "DirectAttempts is %u", lrd_helper1_peer_get_direct_attempts (peer));
          CHECK (g_variant_n_children (lrd_helper1_peer_get_path_history (peer)) >= 1,
                 "PathHistory is empty");
        }
    }
  else
    {
      /* Long enough for several probe rounds (at once, then every 2 s). */
      CHECK (wait_pair_path (fixture, "direct", 6000) == 0,
             "%s + %s went direct: hole punching cannot work there", dcase->nats[0],
             dcase->nats[1]);
      CHECK (wait_pair_path (fixture, "relayed", PATH_TIMEOUT_MS) != 0,
             "%s + %s: not relayed", dcase->nats[0], dcase->nats[1]);
      for (guint i = 0; i < 2; i++)
        {
          g_autoptr(LrdHelper1Peer) peer =
            lr_test_helper_find_peer (fixture->hosts[i].helper,
                                      lrd_helper1_get_virtual_address (
                                        proxy_of (&fixture->hosts[1 - i])));

          /* Still trying, never given up. */
          CHECK (lrd_helper1_peer_get_direct_attempts (peer) >= 2,
                 "%s tried the direct path %u times", fixture->hosts[i].netns,
                 lrd_helper1_peer_get_direct_attempts (peer));
        }
    }
  /* A hostile NAT's mappings move as stale conntrack entries take their ports: what the
   * helpers find there is not the lab's name for it. */
  if (!can_ping (h1, h2) || !can_ping (h2, h1) || (!dcase->hostile && !nat_types_shown (fixture)))
    return;
  if (g_strcmp0 (dcase->path, "direct") == 0 && !wireguard_is_direct (fixture))
    return;

  if (dcase->failover)
    {
      g_autoptr(GSubprocess) ping = pings_start (h1, h2, FAILOVER_PINGS);
      gint64 cut_at, relayed_at, back_at, direct_at;
      guint gap, last;

      /* A second of pings over the direct path first; WireGuard really sends there. */
      g_usleep (G_USEC_PER_SEC);
      if (!wireguard_is_direct (fixture))
        return;
      cut_at = g_get_monotonic_time ();
      cut_direct (fixture, TRUE);
      relayed_at = wait_pair_path (fixture, "relayed", 5000);
      CHECK (relayed_at != 0, "the pair did not fall back to the relay within 5 s of the cut");
      gap = pings_finish (ping, FAILOVER_PINGS, &last);
      g_test_message ("failover: both relayed %" G_GINT64_FORMAT " ms after the cut; longest "
                      "run of lost 10 ms pings: %u (%u ms); last answered %u of %u",
                      (relayed_at - cut_at) / 1000, gap, gap * 10, last, FAILOVER_PINGS);
      /* Traffic went on through the relay to the end of the run ... */
      CHECK (last >= FAILOVER_PINGS - 20, "pings stopped at %u of %u after the cut", last,
             FAILOVER_PINGS);
      /* ... after a gap of about the policy's deadline (900 ms); the aim is 1.5 s, the
       * bound leaves room for a loaded machine. No gap at all would mean the pings did not
       * take the direct path that was cut. */
      CHECK (gap * 10 <= 3000, "the failover gap was %u ms", gap * 10);
      CHECK (gap >= 10, "no pings were lost when the direct path was cut (%u): they did not "
             "take it", gap);

      back_at = g_get_monotonic_time ();
      cut_direct (fixture, FALSE);
      direct_at = wait_pair_path (fixture, "direct", 20000);
      CHECK (direct_at != 0, "the pair is not direct again within 20 s of the cut's end");
      g_test_message ("failover: both direct again %" G_GINT64_FORMAT " ms after the cut "
                      "was removed", (direct_at - back_at) / 1000);
      if (!can_ping (h1, h2) || !wireguard_is_direct (fixture))
        return;
      for (guint i = 0; i < 2; i++)
        {
          g_autoptr(LrdHelper1Peer) peer =
            lr_test_helper_find_peer (fixture->hosts[i].helper,
                                      lrd_helper1_get_virtual_address (
                                        proxy_of (&fixture->hosts[1 - i])));

          CHECK (lrd_helper1_peer_get_fallbacks (peer) == 1, "%s counts %u fallbacks",
                 fixture->hosts[i].netns, lrd_helper1_peer_get_fallbacks (peer));
        }
    }

  {
    const char *peers_argv[] = { "peers", NULL };
    g_autofree char *out = NULL;

    g_assert_cmpint (lr_test_ctl_run (h1->bus, LR_TEST_HELPER_BUS_NAME, NULL, peers_argv, &out,
                                      NULL), ==, 0);
    g_test_message ("lanragectl peers on %s:\n%s", h1->netns, out);
    CHECK (dcase->path == NULL || strstr (out, dcase->path) != NULL,
           "lanragectl peers does not say %s", dcase->path);
  }
}

/* Both of the pair show each other "direct". */
static gboolean
pair_is_direct (Fixture *fixture)
{
  for (guint i = 0; i < 2; i++)
    {
      PathWait wait = { fixture->hosts[i].helper,
                        lrd_helper1_get_virtual_address (proxy_of (&fixture->hosts[1 - i])),
                        "direct" };

      if (!peer_path_is (&wait))
        return FALSE;
    }
  return TRUE;
}

/* What became of a direct pair after a change to its network, from the moment of the
 * change (monotonic µs; 0: not seen). */
typedef struct
{
  gint64 changed_us;
  gint64 left_us;        /* first seen anything but direct */
  gint64 back_us;        /* direct again after that */
  gint64 published_us;   /* the watched host's PublicEndpoint has the expected prefix */
} Recovery;

/* Watches the pair until @until_us, and on until it is direct again (and @host shows a
 * PublicEndpoint starting with @public_prefix, if given) or @deadline_us passes. */
static void
watch_recovery (Fixture    *fixture,
                gint64      until_us,
                gint64      deadline_us,
                Host       *host,
                const char *public_prefix,
                Recovery   *recovery)
{
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      gboolean direct;

      while (g_main_context_iteration (NULL, FALSE))
        ;
      direct = pair_is_direct (fixture);
      if (!direct && recovery->left_us == 0)
        recovery->left_us = now;
      if (direct && recovery->left_us != 0 && recovery->back_us == 0)
        recovery->back_us = now;
      if (public_prefix != NULL && recovery->published_us == 0 &&
          g_str_has_prefix (lrd_helper1_get_public_endpoint (proxy_of (host)), public_prefix))
        recovery->published_us = now;
      if (now >= deadline_us ||
          (now >= until_us && direct &&
           (public_prefix == NULL || recovery->published_us != 0)))
        return;
      g_usleep (5000);
    }
}

static gint64
ms_after (gint64 when_us,
          gint64 since_us)
{
  return when_us != 0 ? (when_us - since_us) / 1000 : -1;
}

#define RECOVERY_PINGS      800     /* 8 s of 10 ms pings */
#define RECOVERY_TIMEOUT_MS 30000

/* Two hosts behind port-restricted NATs, the second one's moving the public port, direct;
 * then the second host's router changes under them, with 10 ms pings running: first it
 * forgets every mapping (its conntrack table flushed, so WireGuard's port gets a new public
 * port), then its WAN address is replaced by another one on the lab's internet, as when a
 * home router gets a new address from its provider. Each time the pings go on (through the
 * relay while the direct path is gone) and the pair is direct again by itself, at the new
 * public endpoint, which the second host shows. Nothing changes on the host itself, so
 * GNetworkMonitor sees nothing: the helper's own check of its public endpoint must. */
static void
test_recovery (Fixture       *fixture,
               gconstpointer  data)
{
  Host *h1 = &fixture->hosts[0];
  Host *h2 = &fixture->hosts[1];
  g_autofree char *router = lr_test_lab_router_name (fixture->lab, h2->lan);
  g_autofree char *old_wan = g_strdup_printf ("%s/24", h2->public_address);
  g_autofree char *new_public = g_strdup_printf ("198.18.0.%u", 110 + h2->lan);
  g_autofree char *new_wan = g_strdup_printf ("%s/24", new_public);
  g_autofree char *new_prefix = g_strdup_printf ("%s:", new_public);
  GSubprocess *ping;
  Recovery flush = { 0 };
  Recovery moved = { 0 };
  guint gap, last;

  if (!form_party (fixture, FALSE))
    return;
  CHECK (wait_pair_path (fixture, "direct", PATH_TIMEOUT_MS) != 0, "the pair is not direct");
  if (!can_ping (h1, h2) || !wireguard_is_direct (fixture))
    return;

  /* The router forgets every mapping. */
  ping = pings_start (h1, h2, RECOVERY_PINGS);
  g_usleep (G_USEC_PER_SEC);
  flush.changed_us = g_get_monotonic_time ();
  g_assert_true (RUN_OK ("ip", "netns", "exec", router, "conntrack", "-F", NULL));
  watch_recovery (fixture, flush.changed_us + (RECOVERY_PINGS / 100 - 1) * G_USEC_PER_SEC,
                  flush.changed_us + RECOVERY_TIMEOUT_MS * 1000, NULL, NULL, &flush);
  gap = pings_finish (ping, RECOVERY_PINGS, &last);
  g_object_unref (ping);
  g_test_message ("conntrack flushed on %s's router: longest run of lost 10 ms pings %u "
                  "(%u ms), last answered %u of %u; left direct after %" G_GINT64_FORMAT
                  " ms, direct again after %" G_GINT64_FORMAT " ms (-1: never)", h2->netns,
                  gap, gap * 10, last, RECOVERY_PINGS, ms_after (flush.left_us, flush.changed_us),
                  ms_after (flush.back_us, flush.changed_us));
  CHECK (last >= RECOVERY_PINGS - 20, "pings stopped at %u of %u after the flush", last,
         RECOVERY_PINGS);
  CHECK (gap * 10 <= 3000, "after the flush %u ms of pings were lost", gap * 10);
  CHECK (pair_is_direct (fixture), "the pair is not direct %d ms after the flush",
         RECOVERY_TIMEOUT_MS);
  if (!wireguard_is_direct (fixture))
    return;

  /* The router's WAN address changes: the old one goes (and with it every mapping on it,
   * as masquerade drops them), then the new one comes. */
  ping = pings_start (h1, h2, RECOVERY_PINGS);
  g_usleep (G_USEC_PER_SEC);
  moved.changed_us = g_get_monotonic_time ();
  g_assert_true (RUN_OK ("ip", "-n", router, "addr", "del", old_wan, "dev", "wan", NULL));
  g_assert_true (RUN_OK ("ip", "-n", router, "addr", "add", new_wan, "dev", "wan", NULL));
  g_free (h2->public_address);
  h2->public_address = g_strdup (new_public);
  watch_recovery (fixture, moved.changed_us + (RECOVERY_PINGS / 100 - 1) * G_USEC_PER_SEC,
                  moved.changed_us + RECOVERY_TIMEOUT_MS * 1000, h2, new_prefix, &moved);
  gap = pings_finish (ping, RECOVERY_PINGS, &last);
  g_object_unref (ping);
  g_test_message ("%s's router moved to %s: longest run of lost 10 ms pings %u (%u ms), "
                  "last answered %u of %u; left direct after %" G_GINT64_FORMAT " ms, "
                  "PublicEndpoint %s after %" G_GINT64_FORMAT " ms, direct again after %"
                  G_GINT64_FORMAT " ms (-1: never)", h2->netns, new_public, gap, gap * 10, last,
                  RECOVERY_PINGS, ms_after (moved.left_us, moved.changed_us),
                  lrd_helper1_get_public_endpoint (proxy_of (h2)),
                  ms_after (moved.published_us, moved.changed_us),
                  ms_after (moved.back_us, moved.changed_us));
  CHECK (last >= RECOVERY_PINGS - 20, "pings stopped at %u of %u after the address change",
         last, RECOVERY_PINGS);
  CHECK (gap * 10 <= 3000, "after the address change %u ms of pings were lost", gap * 10);
  CHECK (moved.published_us != 0, "%s shows PublicEndpoint \"%s\" %d ms after its router "
         "moved to %s", h2->netns, lrd_helper1_get_public_endpoint (proxy_of (h2)),
         RECOVERY_TIMEOUT_MS, new_public);
  CHECK (moved.left_us != 0, "the pair never left the direct path to the old address");
  CHECK (pair_is_direct (fixture), "the pair is not direct %d ms after the address change",
         RECOVERY_TIMEOUT_MS);
  if (!wireguard_is_direct (fixture) || !can_ping (h2, h1) || !nat_types_shown (fixture))
    return;
}

static const DirectCase direct_cases[] = {
  { { "port-restricted", "port-restricted", NULL }, "direct", TRUE },
  { { "symmetric", "symmetric", NULL }, "relayed", FALSE },
  { { "full-cone", "symmetric", NULL }, "direct", FALSE },
  { { "restricted-cone", "symmetric", NULL }, "direct", FALSE },
  { { "port-restricted", "symmetric", NULL }, "relayed", FALSE },
  { { "restricted-cone", "full-cone", NULL }, "direct", FALSE },
  { { "port-restricted", "port-restricted", NULL }, NULL, FALSE, TRUE },
  { { "port-restricted", "port-restricted", NULL }, "direct", FALSE, FALSE, TRUE },
  /* No public address can carry this pair: only the LAN can. */
  { { "symmetric", "symmetric", NULL }, "direct", FALSE, FALSE, TRUE },
  { { "port-restricted-translated", "port-restricted-translated", NULL }, "direct" },
};

static const DirectCase recovery_case = { { "port-restricted", "port-restricted-translated",
                                            NULL }, "direct" };

static gboolean
wireguard_go_runs_for (const char *ifname)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *cmdline = NULL;
      g_autofree char *status = NULL;
      g_autofree char *status_path = NULL;
      gsize length = 0;
      gboolean has_go = FALSE;
      gboolean has_ifname = FALSE;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_build_filename ("/proc", name, "cmdline", NULL);
      if (!g_file_get_contents (path, &cmdline, &length, NULL))
        continue;
      for (gsize at = 0; at < length; at += strlen (cmdline + at) + 1)
        {
          has_go |= g_str_has_suffix (cmdline + at, "wireguard-go");
          has_ifname |= g_str_equal (cmdline + at, ifname);
        }
      if (!has_go || !has_ifname)
        continue;
      /* Without an init, a dead child lingers as a zombie for a while (LAB.md). */
      status_path = g_build_filename ("/proc", name, "status", NULL);
      if (g_file_get_contents (status_path, &status, NULL, NULL) &&
          strstr (status, "\nState:\tZ") != NULL)
        continue;
      return TRUE;
    }
  return FALSE;
}

typedef struct
{
  const char *netns;
  const char *ifname;
} InterfaceWait;

static gboolean
interface_exists (const InterfaceWait *wait)
{
  return RUN_OK ("ip", "-n", wait->netns, "link", "show", wait->ifname, NULL);
}

static char *
uapi_socket_path (const char *ifname)
{
  g_autofree char *file = g_strdup_printf ("%s.sock", ifname);

  return g_build_filename ("/run/wireguard", file, NULL);
}

static gboolean
interface_gone (gpointer data)
{
  InterfaceWait *wait = data;
  g_autofree char *socket_path = uapi_socket_path (wait->ifname);

  return !interface_exists (wait) && !g_file_test (socket_path, G_FILE_TEST_EXISTS) &&
         !wireguard_go_runs_for (wait->ifname);
}

static void
test_leave_cleans_up (Fixture       *fixture,
                      gconstpointer  data)
{
  Host *leaver = &fixture->hosts[2];
  InterfaceWait wait = { leaver->netns, leaver->ifname };
  g_autofree char *socket_path = uapi_socket_path (leaver->ifname);
  const char *leave_argv[] = { "leave", NULL };

  g_assert_true (form_party (fixture, FALSE));

  /* The interface the configuration names, in the host's namespace, run by wireguard-go. */
  CHECK (interface_exists (&wait), "%s has no interface %s while in the party", leaver->netns,
         leaver->ifname);
  CHECK (g_file_test (socket_path, G_FILE_TEST_EXISTS), "%s is missing", socket_path);
  CHECK (wireguard_go_runs_for (leaver->ifname), "no wireguard-go runs for %s",
         leaver->ifname);
  if (!can_ping (leaver, &fixture->hosts[0]))
    return;

  g_assert_cmpint (lr_test_ctl_run (leaver->bus, LR_TEST_HELPER_BUS_NAME, NULL, leave_argv,
                                    NULL, NULL), ==, 0);
  lr_test_helper_wait_state (leaver->helper, "idle");
  lr_test_helper_wait_peers (leaver->helper, 0);
  CHECK (lr_test_wait_for (interface_gone, &wait, LEAVE_TIMEOUT_MS),
         "after leave, %s still has %s (link %s, %s %s, wireguard-go %s)", leaver->netns,
         leaver->ifname, interface_exists (&wait) ? "present" : "gone", socket_path,
         g_file_test (socket_path, G_FILE_TEST_EXISTS) ? "present" : "gone",
         wireguard_go_runs_for (leaver->ifname) ? "running" : "gone");

  /* The others drop it, and still reach each other. */
  lr_test_helper_wait_peers (fixture->hosts[0].helper, fixture->n_hosts - 2);
  lr_test_helper_wait_peers (fixture->hosts[1].helper, fixture->n_hosts - 2);
  if (!can_ping (&fixture->hosts[0], &fixture->hosts[1]))
    return;
  can_ping (&fixture->hosts[1], &fixture->hosts[0]);
}

/* LAN discovery through full helpers: a Minecraft Java announcement sent on host 1 reaches
 * programs on hosts 2 and 3 (joined to the group) from host 1's virtual address and source
 * port, nothing reaches the outsider or any physical link, and `lanragectl games` on host 2
 * lists the world with host 1 as its host. A port on no list is bridged until host 1's
 * administrator denies it. */
#define MINECRAFT_GROUP 0xe000023c   /* 224.0.2.60 */
#define ANNOUNCE_PORT   50123
#define UNLISTED_PORT   47777
#define BRIDGE_TIMEOUT_MS 10000

/* Sends @payload from @sender every 500 ms (Minecraft sends every 1.5 s) until @listener
 * receives it; TRUE if it came from @from:@from_port. */
static gboolean
announce_until_heard (int         sender,
                      guint32     to,
                      guint16     port,
                      const char *payload,
                      int         listener,
                      guint32     from,
                      guint16     from_port)
{
  gint64 deadline = g_get_monotonic_time () + BRIDGE_TIMEOUT_MS * 1000;
  guint8 buffer[2048];

  while (g_get_monotonic_time () < deadline)
    {
      guint32 source;
      guint16 source_port;
      gssize n;

      lrd_lan_test_program_send (sender, to, port, payload, strlen (payload));
      n = lrd_lan_test_program_receive (listener, buffer, sizeof buffer, &source, &source_port,
                                        500);
      if (n < 0)
        continue;
      if (n != (gssize) strlen (payload) || memcmp (buffer, payload, n) != 0)
        continue;   /* an earlier announcement */
      if (source != from || source_port != from_port)
        {
          g_test_message ("heard %s from %08x:%u, expected %08x:%u", payload, source,
                          source_port, from, from_port);
          return FALSE;
        }
      return TRUE;
    }
  return FALSE;
}

typedef struct
{
  Host       *host;
  const char *host_address;
  JsonNode   *game;
} GamesWait;

static gboolean
game_listed (gpointer data)
{
  GamesWait *wait = data;
  const char *argv[] = { "--json", "games", NULL };
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonArray *games;

  if (lr_test_ctl_run (wait->host->bus, LR_TEST_HELPER_BUS_NAME, NULL, argv, &out, NULL) != 0)
    return FALSE;
  root = lr_test_json_parse (out);
  games = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (games); i++)
    {
      JsonNode *game = json_array_get_element (games, i);

      if (g_strcmp0 (lr_test_json_string (game, "TitleId"), "minecraft-java") == 0 &&
          g_strcmp0 (lr_test_json_string (game, "Host"), wait->host_address) == 0)
        {
          wait->game = json_node_copy (game);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
game_gone (gpointer data)
{
  GamesWait *wait = data;

  if (!game_listed (wait))
    return TRUE;
  g_clear_pointer (&wait->game, json_node_unref);
  return FALSE;
}

typedef struct
{
  Host       *host;
  const char *sender;
} PortsWait;

/* @host's BridgedPorts names Minecraft's group with @sender as its last sender. */
static gboolean
minecraft_port_counted (gpointer data)
{
  PortsWait *wait = data;
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) ports = NULL;
  const char *destination, *sender;
  guint16 port;
  guint64 count;
  gint64 last;
  GVariantIter iter;

  if (!lrd_helper1_call_get_status_sync (proxy_of (wait->host), &status, NULL, NULL))
    return FALSE;
  ports = g_variant_lookup_value (status, "BridgedPorts", G_VARIANT_TYPE ("a(sqstx)"));
  if (ports == NULL)
    return FALSE;
  g_variant_iter_init (&iter, ports);
  while (g_variant_iter_next (&iter, "(&sq&stx)", &destination, &port, &sender, &count, &last))
    if (g_str_equal (destination, "224.0.2.60") && port == 4445 &&
        g_str_equal (sender, wait->sender) && count >= 1)
      return TRUE;
  return FALSE;
}

static guint32
virtual_address_of (Host *host)
{
  guint32 address = 0;

  g_assert_true (lr_ipv4_parse (lrd_helper1_get_virtual_address (proxy_of (host)), &address));
  return address;
}

static void
test_lan_discovery (Fixture       *fixture,
                    gconstpointer  data)
{
  static const char announcement[] = "[MOTD]Lab World[/MOTD][AD]41234[/AD]";
  static const char unlisted[] = "Unlisted game looking for players";
  static const char denied[] = "Denied game looking for players";
  Host *a = &fixture->hosts[0];
  Host *b = &fixture->hosts[1];
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) deny = NULL;
  g_autofree char *a_address = NULL;
  GamesWait wait = { b, NULL, NULL };
  int links[MAX_HOSTS];
  int listeners[MAX_HOSTS];
  int outsider;
  int sender;

  g_assert_true (form_party (fixture, FALSE));
  for (guint i = 1; i < fixture->n_hosts; i++)
    if (!can_ping (a, &fixture->hosts[i]) || !can_ping (&fixture->hosts[i], a))
      return;
  a_address = g_strdup (lrd_helper1_get_virtual_address (proxy_of (a)));

  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      CHECK (g_strcmp0 (lrd_helper1_get_lan_bridge (proxy_of (&fixture->hosts[i])), "on") == 0,
             "%s: LanBridge is \"%s\"", fixture->hosts[i].netns,
             lrd_helper1_get_lan_bridge (proxy_of (&fixture->hosts[i])));
      links[i] = lrd_lan_test_open_link_capture (fixture->hosts[i].netns, "eth0");
      listeners[i] = lrd_lan_test_program_open (fixture->hosts[i].netns, 4445, MINECRAFT_GROUP);
    }
  outsider = lrd_lan_test_program_open (fixture->outsider, 4445, MINECRAFT_GROUP);
  sender = lrd_lan_test_program_open (a->netns, ANNOUNCE_PORT, 0);

  /* Minecraft Java's announcement, from host 1's virtual address and its source port. */
  for (guint i = 1; i < fixture->n_hosts; i++)
    CHECK (announce_until_heard (sender, MINECRAFT_GROUP, 4445, announcement, listeners[i],
                                 virtual_address_of (a), ANNOUNCE_PORT),
           "%s did not hear host 1's announcement from %s:%u", fixture->hosts[i].netns,
           a_address, ANNOUNCE_PORT);
  lrd_lan_test_expect_nothing (outsider, 500);

  /* The lobby on host 2 lists the world with host 1 as its host. */
  wait.host_address = a_address;
  CHECK (lr_test_wait_for (game_listed, &wait, BRIDGE_TIMEOUT_MS),
         "lanragectl games on %s does not list host 1's world", b->netns);
  g_assert_cmpstr (lr_test_json_string (wait.game, "Name"), ==, "Lab World");
  g_assert_cmpint (lr_test_json_int (wait.game, "Port"), ==, 41234);
  g_assert_cmpstr (lr_test_json_string (wait.game, "HostName"), ==, "host1");
  /* While host 1 goes on announcing (every 1.5 s, as Minecraft does), LastSeen moves. */
  {
    gint64 first_seen = lr_test_json_int (wait.game, "LastSeen");

    for (guint i = 0; i < 2; i++)
      {
        lrd_lan_test_program_send (sender, MINECRAFT_GROUP, 4445, announcement,
                                   strlen (announcement));
        lrd_lan_test_pump (1500);
      }
    g_clear_pointer (&wait.game, json_node_unref);
    CHECK (game_listed (&wait), "lanragectl games on %s lost host 1's world", b->netns);
    CHECK (lr_test_json_int (wait.game, "LastSeen") > first_seen,
           "LastSeen of host 1's world stayed at %" G_GINT64_FORMAT, first_seen);
  }
  g_clear_pointer (&wait.game, json_node_unref);
  {
    PortsWait ports_wait = { b, a_address };

    CHECK (lr_test_wait_for (minecraft_port_counted, &ports_wait, BRIDGE_TIMEOUT_MS),
           "%s: BridgedPorts does not show 224.0.2.60:4445 from %s", b->netns, a_address);
  }

  /* No physical link saw a bridged datagram; host 1's own went out on its LAN only. */
  {
    g_autofree char *a_physical = g_strdup_printf ("192.168.%u.2", a->index);
    guint32 physical = 0;

    g_assert_true (lr_ipv4_parse (a_physical, &physical));
    g_assert_cmpuint (lrd_lan_test_check_link (links[0], a->netns, "Lab World", physical), >=,
                      1);
    for (guint i = 1; i < fixture->n_hosts; i++)
      g_assert_cmpuint (lrd_lan_test_check_link (links[i], fixture->hosts[i].netns, "Lab World",
                                                 0), ==, 0);
  }

  /* A port on no list is bridged; once host 1's administrator denies it, it is not. */
  {
    int unlisted_listener = lrd_lan_test_program_open (b->netns, UNLISTED_PORT, 0);
    guint8 buffer[2048];
    guint32 source;
    guint16 source_port;

    CHECK (announce_until_heard (sender, 0xffffffff, UNLISTED_PORT, unlisted, unlisted_listener,
                                 virtual_address_of (a), ANNOUNCE_PORT),
           "%s did not hear the broadcast to the unlisted port %u", b->netns, UNLISTED_PORT);
    deny = g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE ("a(qqss)"),
                                                "[(uint16 47777, uint16 47777, '', "
                                                "'Not for the party')]", NULL, NULL, NULL));
    lrd_helper1_call_set_deny_list_sync (proxy_of (a), deny, NULL, &error);
    g_assert_no_error (error);
    lrd_lan_test_pump (200);
    /* Drain what was still on its way, then nothing more comes. */
    while (lrd_lan_test_program_receive (unlisted_listener, buffer, sizeof buffer, &source,
                                         &source_port, 200) >= 0)
      ;
    for (guint i = 0; i < 5; i++)
      lrd_lan_test_program_send (sender, 0xffffffff, UNLISTED_PORT, denied, strlen (denied));
    lrd_lan_test_expect_nothing (unlisted_listener, 1500);
    close (unlisted_listener);
  }

  /* Host 1 stopped announcing its world (5 s and more ago by now, or soon): host 2's lobby
   * forgets it. */
  CHECK (lr_test_wait_for (game_gone, &wait, BRIDGE_TIMEOUT_MS),
         "lanragectl games on %s still lists host 1's world", b->netns);

  close (sender);
  close (outsider);
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      close (listeners[i]);
      close (links[i]);
    }
}

static int
skip (const char *reason)
{
  g_print ("1..0 # SKIP %s\n", reason);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  static const char * const programs[] = {
    "ip", "nft", "ping", "curl", "bash", "wireguard-go", "turnutils_stunclient", "dbus-daemon",
    NULL
  };
  const char *reason;

  /* meson 1.0 counts any non-zero status of a TAP test as an error: the plan says "skip". */
  if (getuid () != 0)
    return skip ("needs root (network namespaces, polkitd, wireguard-go)");
  if (!g_file_test ("/usr/lib/polkit-1/polkitd", G_FILE_TEST_IS_EXECUTABLE))
    return skip ("needs polkitd (tools/install-deps)");
  /* Before GLib starts a thread (unshare refuses a process whose threads share its
   * filesystem context), and before the first namespace, so even the probe below stays
   * private. LR_TEST_KEEP_TMPDIR keeps TMPDIR shared, so the logs outlive a crash. */
  if (!lr_test_lab_enter_private_run (g_getenv ("LR_TEST_KEEP_TMPDIR") == NULL))
    return skip ("cannot make a private mount namespace");
  reason = lr_test_lab_cannot_run (programs);
  if (reason != NULL)
    return skip (reason);

  /* With --keep-going: a failed case still lets the others run and report. */
  lr_test_control_init (&argc, &argv);

  g_test_add ("/helper-lab/control-plane", Fixture, NULL, fixture_setup, test_control_plane,
              fixture_teardown);
  g_test_add ("/helper-lab/ping-all", Fixture, NULL, fixture_setup, test_ping_all,
              fixture_teardown);
  g_test_add ("/helper-lab/fourth-host", Fixture, NULL, fixture_setup, test_fourth_host,
              fixture_teardown);
  g_test_add ("/helper-lab/leave-cleans-up", Fixture, NULL, fixture_setup,
              test_leave_cleans_up, fixture_teardown);
  g_test_add ("/helper-lab/relay-failover", Fixture, NULL, fixture_setup, test_relay_failover,
              fixture_teardown);
  g_test_add ("/helper-lab/faults", Fixture, NULL, fixture_setup, test_faults,
              fixture_teardown);
  g_test_add ("/helper-lab/lan-discovery", Fixture, NULL, fixture_setup, test_lan_discovery,
              fixture_teardown);

  for (guint i = 0; i < G_N_ELEMENTS (direct_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/helper-lab/direct/%s+%s%s%s",
                                               direct_cases[i].nats[0],
                                               direct_cases[i].nats[1],
                                               direct_cases[i].hostile ? "/hostile" : "",
                                               direct_cases[i].same_nat ? "/same-nat" : "");

      g_test_add (path, Fixture, &direct_cases[i], fixture_setup, test_direct,
                  fixture_teardown);
    }
  g_test_add ("/helper-lab/direct/port-restricted+port-restricted-translated/recovery", Fixture,
              &recovery_case, fixture_setup, test_recovery, fixture_teardown);

  return g_test_run ();
}
