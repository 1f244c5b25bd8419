/* lab.c: what a direct path gives, in the NAT lab, against bare wireguard-go and the relay
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The world of the helper-lab test (tests/test-helper-lab.c): lanrage-control and
 * lanrage-relay (RFC 5780, so the helpers know their NATs) on the lab's internet, two hosts
 * behind port-restricted NATs (typical home routers, LAB.md), each with a private system
 * bus, polkitd and lanrage-helper (UAPI backend, wireguard-go), driven with lanragectl. Beside
 * them, two more hosts behind the same kind of NAT run bare wireguard-go, configured by hand
 * over UAPI with the helpers' own WireGuard keys, the same addresses and endpoints, and no
 * LANrage: the floor the direct path is held against.
 *
 * In one run it measures:
 *   - join to first ping reply; join to direct, both as the peer objects say (from their
 *     PathHistory: the helpers' own clock, not this program's polling) and as both
 *     WireGuards really send (their UAPI endpoints);
 *   - ping RTT and iperf3 TCP throughput each way over the direct path and over bare
 *     wireguard-go, taken in turns (so a change of load on the shared machine hits both
 *     alike), with the CPU each process spent during each throughput run;
 *   - failover: 10 ms pings while an nftables rule on the first host's router cuts the direct
 *     path; the longest run of lost pings, when both peers showed "relayed", and, once the
 *     rule is gone, when both were direct again;
 *   - the relayed path (the same rule held): ping RTT and throughput.
 * It prints a table with each figure beside its aim and exits non-zero only when something
 * could not be measured: a benchmark reports, it does not judge.
 *
 * Needs root (without it, or without the lab's programs, it exits 77: meson's skip). About
 * four minutes. Run with: meson test -C build --benchmark lab --verbose
 */
#define _GNU_SOURCE
#include "lr-test-helper.h"
#include "lr-test-lab.h"
#include "lr-test-wg.h"

#include "lr-key.h"

#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONTROL_LISTEN    LR_TEST_LAB_SERVER_ADDRESS ":8666"
#define CONTROL_URL       "http://" CONTROL_LISTEN "/"
#define RELAY_ENDPOINT    LR_TEST_LAB_SERVER_ADDRESS ":3478"
#define RELAY_ALT_ADDRESS "198.18.0.2"
#define WG_PORT           51820
#define NAT               "port-restricted"

/* Rounds of each measurement; each round is one ping run and one iperf3 run each way per
 * path. The relayed path has no partner to take turns with, and fewer. */
#define ROUNDS            4
#define RELAYED_ROUNDS    2
#define PING_COUNT        200            /* per run, 10 ms apart */
#define IPERF_SECONDS     "6"
#define IPERF_OMIT        "1"            /* TCP's slow start is not the path's throughput */
#define FAILOVER_PINGS    600            /* 6 s of 10 ms pings around the cut */
#define FIRST_PING_TIMEOUT_MS 20000
#define PATH_TIMEOUT_MS   20000

/* The aims each figure is printed beside. */
#define AIM_FIRST_PING_S     1.0
#define AIM_DIRECT_S         2.0
#define AIM_GAP_S            1.5
#define AIM_BACK_S           10.0
#define AIM_THROUGHPUT_RATIO 0.95
#define AIM_RELAYED_RTT_MS   0.5

typedef struct
{
  guint         index;     /* host "PREFIX-hINDEX" of the lab */
  const char   *netns;     /* owned by the lab */
  char         *ifname;
  LrTestBus    *bus;       /* LANrage hosts only */
  LrTestHelper *helper;
  GSubprocess  *wg;        /* bare hosts only */
  char         *address;   /* the virtual address */
} Host;

typedef struct
{
  const char *name;
  Host       *from;        /* ping and iperf3 client */
  Host       *to;          /* iperf3 server */
  GArray     *rtt_ms;      /* every answered ping of every round */
  GArray     *mbits[2];    /* one per round: @from to @to, and @to to @from */
} PathRuns;

typedef struct
{
  char         *prefix;
  LrTestLab    *lab;
  LrTestServer *control;
  GSubprocess  *relay;
  char         *log_path;
  Host          party[2];
  Host          bare[2];
  GSubprocess  *iperf_servers[2];
  gboolean      failed;    /* something could not be measured */
} Bench;

/* Says what could not be measured; the run goes on with what it can. */
static void
not_measured (Bench      *bench,
              const char *format,
              ...) G_GNUC_PRINTF (2, 3);

static void
not_measured (Bench      *bench,
              const char *format,
              ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  printf ("NOT MEASURED: %s\n", text);
  bench->failed = TRUE;
}

static char *
load_average (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  fields = g_strsplit (text, " ", 4);
  if (g_strv_length (fields) < 3)
    return g_strdup ("?");
  /* The 1, 5 and 15 minute averages. */
  return g_strjoin (" ", fields[0], fields[1], fields[2], NULL);
}

/* Starts the relay on the lab's internet and waits until it listens. */
static void
start_relay (Bench *bench)
{
  g_autofree char *secret_path = g_build_filename (lr_test_server_get_tmpdir (bench->control),
                                                   "relay-secret", NULL);
  const char *argv[] = {
    g_getenv ("LANRAGE_RELAY"),
    "--listen", RELAY_ENDPOINT,
    "--public-endpoint", RELAY_ENDPOINT,
    "--control", CONTROL_URL,
    "--relay-secret-file", secret_path,
    "--id", "lab-relay",
    "--region", "lab",
    "--threads", "1",
    "--alt-address", RELAY_ALT_ADDRESS ":3480",
    NULL
  };
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  g_assert_nonnull (argv[0]);
  bench->relay = lr_test_lab_spawn (lr_test_lab_get_internet (bench->lab), argv,
                                    bench->log_path, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bench->relay));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "Listening on " RELAY_ENDPOINT);
}

static void
start_helper (Host *host)
{
  g_autofree char *wireguard_go = g_find_program_in_path ("wireguard-go");
  g_autofree char *config = NULL;

  config = g_strdup_printf ("[helper]\n"
                            "control-url=" CONTROL_URL "\n"
                            "backend=uapi\n"
                            "wireguard-go=%s\n"
                            "interface=%s\n"
                            "port=%u\n"
                            "relays=" RELAY_ENDPOINT "\n",
                            wireguard_go, host->ifname, WG_PORT);
  host->bus = lr_test_bus_new ();
  host->helper = lr_test_helper_new (host->bus, CONTROL_URL, NULL);
  lr_test_helper_set_config (host->helper, config);
  lr_test_helper_set_netns (host->helper, host->netns);
  lr_test_helper_start (host->helper);
}

static LrdHelper1 *
proxy_of (Host *host)
{
  return lr_test_helper_get_proxy (host->helper);
}

static void
bench_setup (Bench *bench)
{
  const char *control_args[] = { "--listen", CONTROL_LISTEN, NULL };

  bench->prefix = g_strdup_printf ("lrbench%u", (guint) getpid ());
  bench->log_path = g_build_filename (g_get_tmp_dir (), "lab-bench.log", NULL);
  bench->lab = lr_test_lab_new (bench->prefix);
  for (guint i = 0; i < 2; i++)
    {
      Host *party = &bench->party[i];
      Host *bare = &bench->bare[i];

      party->index = i + 1;
      party->netns = lr_test_lab_add_host (bench->lab, party->index, lr_test_nat_find (NAT));
      party->ifname = g_strdup_printf ("lrbench%u", party->index);
      bare->index = i + 3;
      bare->netns = lr_test_lab_add_host (bench->lab, bare->index, lr_test_nat_find (NAT));
      bare->ifname = g_strdup_printf ("lrbare%u", bare->index);
    }
  LR_TEST_LAB_RUN ("ip", "-n", lr_test_lab_get_internet (bench->lab), "addr", "add",
                   RELAY_ALT_ADDRESS "/24", "dev", "br0");

  bench->control = lr_test_server_new (control_args, LR_TEST_SERVER_NONE);
  lr_test_server_set_netns (bench->control, lr_test_lab_get_internet (bench->lab));
  lr_test_server_start (bench->control);
  start_relay (bench);
  for (guint i = 0; i < 2; i++)
    start_helper (&bench->party[i]);
}

static void
bench_teardown (Bench *bench)
{
  for (guint i = 0; i < 2; i++)
    {
      lr_test_lab_stop (&bench->iperf_servers[i]);
      lr_test_lab_stop (&bench->bare[i].wg);
      g_clear_pointer (&bench->party[i].helper, lr_test_helper_free);
      g_clear_pointer (&bench->party[i].bus, lr_test_bus_free);
      g_free (bench->party[i].ifname);
      g_free (bench->party[i].address);
      g_free (bench->bare[i].ifname);
      g_free (bench->bare[i].address);
    }
  lr_test_lab_stop (&bench->relay);
  if (bench->control != NULL && lr_test_server_is_running (bench->control))
    lr_test_server_stop (bench->control, FALSE);
  g_clear_pointer (&bench->control, lr_test_server_free);
  lr_test_lab_kill_stragglers (bench->lab);
  g_clear_pointer (&bench->lab, lr_test_lab_free);
  g_unlink (bench->log_path);
  g_free (bench->log_path);
  g_free (bench->prefix);
}

/* The peer object @host shows for @other. */
static LrdHelper1Peer *
peer_of (Host *host,
         Host *other)
{
  return lr_test_helper_find_peer (host->helper, other->address);
}

typedef struct
{
  Bench      *bench;
  const char *path;
} PathWait;

static gboolean
pair_path_is (gpointer data)
{
  PathWait *wait = data;

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(LrdHelper1Peer) peer = peer_of (&wait->bench->party[i],
                                                &wait->bench->party[1 - i]);

      if (peer == NULL || g_strcmp0 (lrd_helper1_peer_get_path (peer), wait->path) != 0)
        return FALSE;
    }
  return TRUE;
}

/* When both peer objects had changed to @path at or after @since_us (wall clock), from
 * their PathHistory: the later of the two, or 0 when one has no such change. */
static gint64
pair_changed_at (Bench      *bench,
                 const char *path,
                 gint64      since_us)
{
  gint64 latest = 0;

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(LrdHelper1Peer) peer = peer_of (&bench->party[i], &bench->party[1 - i]);
      GVariant *history = peer != NULL ? lrd_helper1_peer_get_path_history (peer) : NULL;
      gint64 found = 0;
      GVariantIter iter;
      const char *to;
      gint64 time_us;

      if (history == NULL)
        return 0;
      g_variant_iter_init (&iter, history);
      while (g_variant_iter_next (&iter, "(x&s&s&s&s)", &time_us, NULL, &to, NULL, NULL))
        if (time_us >= since_us && g_str_equal (to, path))
          {
            found = time_us;
            break;
          }
      if (found == 0)
        return 0;
      latest = MAX (latest, found);
    }
  return latest;
}

/* Both WireGuards send to the other host's public address: the path is direct in the data
 * plane, not only on D-Bus. (WireGuard roams to wherever the peer's last packet came from,
 * so for a moment after the switch it may still send to the relay's loopback socket; the
 * helper sets the endpoint again when it sees that.) */
static gboolean
wireguard_sends_direct (gpointer data)
{
  Bench *bench = data;

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *public = lr_test_lab_host_public_address (bench->party[1 - i].index);
      g_autofree char *prefix = g_strdup_printf ("%s:", public);
      g_autofree char *endpoint = lr_test_wg_dup_endpoint (bench->party[i].ifname);

      if (endpoint == NULL || !g_str_has_prefix (endpoint, prefix))
        return FALSE;
    }
  return TRUE;
}

/* `lanragectl create` on the first host, `join` on the second; the first ping reply from
 * the joiner and both peers' change to direct, timed from `join` returning. */
static void
form_party (Bench  *bench,
            double *first_ping_s,
            double *direct_s,
            double *wireguard_direct_s)
{
  Host *creator = &bench->party[0];
  Host *joiner = &bench->party[1];
  const char *create_argv[] = { "create", "Bench night", "--name", "host1", NULL };
  g_autofree char *code = NULL;
  gint64 joined_us, joined_real_us, replied_us, direct_us;
  PathWait wait = { bench, "direct" };

  g_assert_cmpint (lr_test_ctl_run (creator->bus, LR_TEST_HELPER_BUS_NAME, NULL, create_argv,
                                    NULL, NULL), ==, 0);
  lr_test_helper_wait_state (creator->helper, "connected");
  code = lrd_helper1_dup_invite_code (proxy_of (creator));
  creator->address = lrd_helper1_dup_virtual_address (proxy_of (creator));
  {
    const char *join_argv[] = { "join", code, "--name", "host2", NULL };

    g_assert_cmpint (lr_test_ctl_run (joiner->bus, LR_TEST_HELPER_BUS_NAME, NULL, join_argv,
                                      NULL, NULL), ==, 0);
  }
  joined_us = g_get_monotonic_time ();
  joined_real_us = g_get_real_time ();

  replied_us = lr_test_lab_ping_until (joiner->netns, creator->address, FIRST_PING_TIMEOUT_MS);
  if (replied_us == 0)
    not_measured (bench, "join to first ping: no reply within %d ms", FIRST_PING_TIMEOUT_MS);
  else
    *first_ping_s = (replied_us - joined_us) / 1e6;

  lr_test_helper_wait_state (joiner->helper, "connected");
  joiner->address = lrd_helper1_dup_virtual_address (proxy_of (joiner));
  lr_test_helper_wait_peers (creator->helper, 1);
  lr_test_helper_wait_peers (joiner->helper, 1);
  if (!lr_test_wait_for (pair_path_is, &wait, PATH_TIMEOUT_MS))
    {
      not_measured (bench, "join to direct: the pair was not direct within %d ms",
                    PATH_TIMEOUT_MS);
      return;
    }
  direct_us = pair_changed_at (bench, "direct", joined_real_us);
  if (direct_us == 0)
    not_measured (bench, "join to direct: no change to direct in PathHistory");
  else
    *direct_s = (direct_us - joined_real_us) / 1e6;
  if (!lr_test_wait_for (wireguard_sends_direct, bench, PATH_TIMEOUT_MS))
    not_measured (bench, "join to direct: WireGuard did not send direct within %d ms",
                  PATH_TIMEOUT_MS);
  else
    *wireguard_direct_s = (g_get_real_time () - joined_real_us) / 1e6;
}

/* The WireGuard key pair the helper of @host made and keeps in its state folder: the bare
 * pair runs with the very keys LANrage's pair uses. */
static void
helper_keys (Host         *host,
             LrTestWgKeys *keys)
{
  g_autofree char *path = g_build_filename (lr_test_helper_get_state_dir (host->helper), "keys",
                                            NULL);
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  LrKey key;

  g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  text = g_key_file_get_string (keyfile, "wireguard", "private-key", &error);
  g_assert_no_error (error);
  g_assert_true (lr_key_from_base64 (text, &key));
  memcpy (keys->private_key, key.bytes, sizeof keys->private_key);
  crypto_scalarmult_base (keys->public_key, keys->private_key);
  lr_key_clear (&key);
  sodium_memzero (text, strlen (text));
}

/* Pings @to from @from once, in the background. */
static GSubprocess *
ping_once_async (Host *from,
                 Host *to)
{
  const char *argv[] = { "ip", "netns", "exec", from->netns, "ping", "-n", "-q", "-c", "1",
                         "-w", "10", to->address, NULL };
  g_autoptr(GError) error = NULL;
  GSubprocess *ping = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);

  g_assert_no_error (error);
  return ping;
}

/* Two more hosts behind the same kind of NAT, with wireguard-go set up by hand: the helpers'
 * keys and virtual addresses, each the other's public address as endpoint (port-restricted
 * NATs keep the port), no LANrage. Both send at once, so WireGuard's own handshakes punch the
 * NATs (LAB.md). */
static void
start_bare_pair (Bench *bench)
{
  LrTestWgKeys keys[2];
  GSubprocess *pings[2];

  for (guint i = 0; i < 2; i++)
    {
      Host *bare = &bench->bare[i];
      g_autofree char *cidr = g_strdup_printf ("%s/16", bench->party[i].address);

      helper_keys (&bench->party[i], &keys[i]);
      bare->address = g_strdup (bench->party[i].address);
      bare->wg = lr_test_wg_start (bare->netns, bare->ifname, &keys[i], WG_PORT, cidr,
                                   bench->log_path);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *endpoint = NULL;
      g_autofree char *public = lr_test_lab_host_public_address (bench->bare[1 - i].index);
      g_autofree char *allowed = g_strdup_printf ("%s/32", bench->bare[1 - i].address);

      endpoint = g_strdup_printf ("%s:%u", public, WG_PORT);
      lr_test_wg_set_peer (bench->bare[i].ifname, keys[1 - i].public_key, endpoint, allowed);
    }
  sodium_memzero (keys, sizeof keys);

  for (guint i = 0; i < 2; i++)
    pings[i] = ping_once_async (&bench->bare[i], &bench->bare[1 - i]);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GError) error = NULL;

      g_subprocess_wait (pings[i], NULL, &error);
      g_assert_no_error (error);
      if (!g_subprocess_get_successful (pings[i]))
        not_measured (bench, "bare wireguard-go: %s does not reach %s", bench->bare[i].netns,
                      bench->bare[1 - i].netns);
      g_object_unref (pings[i]);
    }
}

/* CPU time (user and system, all threads) of process @pid, in seconds; 0 if it is gone. */
static double
cpu_seconds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_name;

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  /* The command name may hold spaces: fields count from after its closing parenthesis. */
  after_name = strrchr (text, ')');
  if (after_name == NULL)
    return 0;
  fields = g_strsplit (after_name + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    return 0;
  /* utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name. */
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) /
         sysconf (_SC_CLK_TCK);
}

/* The wireguard-go that the helper @parent started, or 0. By parentage, not by name: two
 * runs of this program may well have interfaces of the same name at once. */
static GPid
wireguard_go_pid (GPid parent)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  g_autofree char *ppid_line = g_strdup_printf ("\nPPid:\t%d\n", (int) parent);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *status = NULL;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_build_filename ("/proc", name, "status", NULL);
      if (g_file_get_contents (path, &status, NULL, NULL) &&
          g_str_has_prefix (status, "Name:\twireguard-go\n") &&
          strstr (status, ppid_line) != NULL)
        return atoi (name);
    }
  return 0;
}

static GPid
subprocess_pid (GSubprocess *process)
{
  const char *id = process != NULL ? g_subprocess_get_identifier (process) : NULL;

  return id != NULL ? atoi (id) : 0;
}

typedef struct
{
  const char *name;
  GPid        pid;
  double      start;
} CpuWatch;

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (GArray *values)
{
  g_autoptr(GArray) sorted = NULL;

  if (values->len == 0)
    return NAN;
  sorted = g_array_sized_new (FALSE, FALSE, sizeof (double), values->len);
  g_array_append_vals (sorted, values->data, values->len);
  g_array_sort (sorted, compare_double);
  if (sorted->len % 2 == 1)
    return g_array_index (sorted, double, sorted->len / 2);
  return (g_array_index (sorted, double, sorted->len / 2 - 1) +
          g_array_index (sorted, double, sorted->len / 2)) / 2;
}

static double
mean (GArray *values)
{
  double sum = 0;

  if (values->len == 0)
    return NAN;
  for (guint i = 0; i < values->len; i++)
    sum += g_array_index (values, double, i);
  return sum / values->len;
}

/* One run of PING_COUNT pings 10 ms apart over @runs' path; every reply's RTT goes into
 * @runs->rtt_ms. */
static void
measure_rtt (Bench    *bench,
             PathRuns *runs)
{
  g_autofree char *count = g_strdup_printf ("%u", PING_COUNT);
  g_autofree char *output = NULL;
  g_autoptr(GArray) round = g_array_new (FALSE, FALSE, sizeof (double));
  g_auto(GStrv) lines = NULL;

  /* Without success when some pings go unanswered: the answered ones still count. */
  lr_test_lab_run (NULL, &output, NULL, "ip", "netns", "exec", runs->from->netns, "ping", "-n",
                   "-i", "0.01", "-W", "1", "-c", count, runs->to->address, NULL);
  lines = g_strsplit (output != NULL ? output : "", "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *time = strstr (lines[i], " time=");
      double ms;

      if (time == NULL || strstr (lines[i], "bytes from") == NULL)
        continue;
      ms = g_ascii_strtod (time + strlen (" time="), NULL);
      g_array_append_val (round, ms);
    }
  if (round->len < PING_COUNT * 9 / 10)
    {
      not_measured (bench, "RTT %s: %u of %u pings answered", runs->name, round->len,
                    PING_COUNT);
      return;
    }
  g_array_append_vals (runs->rtt_ms, round->data, round->len);
  printf ("  RTT %-22s median %.3f ms, mean %.3f ms (%u of %u answered)\n", runs->name,
          median (round), mean (round), round->len, PING_COUNT);
}

/* One iperf3 TCP run between @runs->from (the client) and @runs->to's server, data flowing
 * from the client or, with @reverse, to it; the receiver's rate goes into
 * @runs->mbits[@reverse], and the CPU of @watch's processes over the run is printed. */
static void
measure_throughput (Bench    *bench,
                    PathRuns *runs,
                    gboolean  reverse,
                    CpuWatch *watch,
                    guint     n_watch)
{
  g_autofree char *what = g_strdup_printf ("%s, host%u to host%u", runs->name,
                                           reverse ? runs->to->index : runs->from->index,
                                           reverse ? runs->from->index : runs->to->index);
  g_autofree char *output = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GString) cpu = g_string_new (NULL);
  JsonNode *rate;
  gint64 start, wall;
  double mbits;
  gboolean ok = FALSE;

  for (guint i = 0; i < n_watch; i++)
    watch[i].start = cpu_seconds (watch[i].pid);
  start = g_get_monotonic_time ();
  /* The server may still be starting (the first run) or finishing the last run. */
  for (guint attempt = 0; attempt < 20 && !ok; attempt++)
    {
      g_clear_pointer (&output, g_free);
      g_clear_error (&error);
      ok = lr_test_lab_run (NULL, &output, &error, "ip", "netns", "exec", runs->from->netns,
                            "iperf3", "-c", runs->to->address, "-t", IPERF_SECONDS, "-O",
                            IPERF_OMIT, "-J", reverse ? "-R" : NULL, NULL);
      if (!ok)
        {
          g_usleep (200000);
          start = g_get_monotonic_time ();
          for (guint i = 0; i < n_watch; i++)
            watch[i].start = cpu_seconds (watch[i].pid);
        }
    }
  wall = g_get_monotonic_time () - start;
  if (!ok)
    {
      not_measured (bench, "TCP %s: iperf3 failed: %s (%s)", what, error->message,
                    output != NULL ? output : "");
      return;
    }
  for (guint i = 0; i < n_watch; i++)
    if (watch[i].pid == 0)
      g_string_append_printf (cpu, "%s%s ?", i > 0 ? ", " : "", watch[i].name);
    else
      g_string_append_printf (cpu, "%s%s %.0f %%", i > 0 ? ", " : "", watch[i].name,
                              100.0 * (cpu_seconds (watch[i].pid) - watch[i].start) /
                              (wall / 1e6));
  root = lr_test_json_parse (output);
  rate = lr_test_json_find (root, "end.sum_received.bits_per_second");
  if (rate == NULL || !JSON_NODE_HOLDS_VALUE (rate))
    {
      not_measured (bench, "TCP %s: no received rate in iperf3's answer", what);
      return;
    }
  mbits = json_node_get_double (rate) / 1e6;
  g_array_append_val (runs->mbits[reverse], mbits);
  printf ("  TCP %-38s %4.0f Mbit/s; CPU (of one core) over the run: %s\n", what, mbits,
          cpu->str);
}

static void
start_iperf_servers (Bench *bench)
{
  const char *argv[] = { "iperf3", "-s", NULL };
  const char *netns[2] = { bench->party[0].netns, bench->bare[0].netns };

  for (guint i = 0; i < 2; i++)
    bench->iperf_servers[i] = lr_test_lab_spawn (netns[i], argv, bench->log_path,
                                                 G_SUBPROCESS_FLAGS_NONE);
}

/* The first host's router drops everything between the two hosts' public addresses: the
 * direct path dies, the relay stays reachable (as the helper-lab test cuts it). */
static void
cut_direct (Bench    *bench,
            gboolean  on)
{
  g_autofree char *router = lr_test_lab_router_name (bench->lab, bench->party[0].index);
  g_autofree char *other = lr_test_lab_host_public_address (bench->party[1].index);

  lr_test_lab_cut (router, other, on);
}

/* For lr_test_wait_for(): lets the main loop run (the proxies take in their changes) for
 * the whole time. */
static gboolean
never (gpointer data)
{
  return FALSE;
}

/* 10 ms pings while the direct path is cut: the longest gap, when both peers showed
 * "relayed"; then the rule goes, and when both were direct again. */
static void
measure_failover (Bench  *bench,
                  double *gap_s,
                  double *relayed_s,
                  double *back_s,
                  double *wireguard_back_s)
{
  g_autofree char *count = g_strdup_printf ("%u", FAILOVER_PINGS);
  const char *argv[] = { "ip", "netns", "exec", bench->party[0].netns, "ping", "-n", "-i",
                         "0.01", "-W", "1", "-c", count, bench->party[1].address, NULL };
  g_autoptr(GSubprocess) ping = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  PathWait relayed = { bench, "relayed" };
  PathWait direct = { bench, "direct" };
  gint64 cut_us, relayed_us, uncut_us, direct_us;
  guint gap, last;

  ping = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  /* A second of pings on the direct path first. */
  lr_test_wait_for (never, NULL, 1000);
  cut_us = g_get_real_time ();
  cut_direct (bench, TRUE);
  if (!lr_test_wait_for (pair_path_is, &relayed, PATH_TIMEOUT_MS))
    not_measured (bench, "failover: the pair was not relayed within %d ms of the cut",
                  PATH_TIMEOUT_MS);
  relayed_us = pair_changed_at (bench, "relayed", cut_us);
  if (relayed_us != 0)
    *relayed_s = (relayed_us - cut_us) / 1e6;
  g_subprocess_communicate_utf8 (ping, NULL, NULL, &output, NULL, &error);
  g_assert_no_error (error);
  gap = lr_test_lab_longest_gap (output, FAILOVER_PINGS, &last);
  if (last < FAILOVER_PINGS - 20)
    not_measured (bench, "failover: pings stopped at %u of %u after the cut", last,
                  FAILOVER_PINGS);
  else
    *gap_s = gap * 0.01;

  uncut_us = g_get_real_time ();
  cut_direct (bench, FALSE);
  if (!lr_test_wait_for (pair_path_is, &direct, PATH_TIMEOUT_MS))
    {
      not_measured (bench, "failover: the pair was not direct again within %d ms",
                    PATH_TIMEOUT_MS);
      return;
    }
  direct_us = pair_changed_at (bench, "direct", uncut_us);
  if (direct_us != 0)
    *back_s = (direct_us - uncut_us) / 1e6;
  if (!lr_test_wait_for (wireguard_sends_direct, bench, PATH_TIMEOUT_MS))
    not_measured (bench, "failover: WireGuard did not send direct again within %d ms",
                  PATH_TIMEOUT_MS);
  else
    *wireguard_back_s = (g_get_real_time () - uncut_us) / 1e6;
}

/* A figure and its aim, one line of the table. NAN: not measured. An aim in parentheses
 * is a remark, not an aim: nothing is met or missed. */
static void
print_row (const char *what,
           double      value,
           const char *unit,
           const char *aim,
           gboolean    met)
{
  /* Rates to the Mbit/s, times to the hundredth. */
  int decimals = g_str_equal (unit, "Mbit/s") ? 0 : 2;
  gboolean has_aim = aim[0] != '\0' && aim[0] != '(';
  g_autofree char *text = isnan (value) ? g_strdup ("not measured")
                                        : g_strdup_printf ("%.*f %s", decimals, value, unit);

  printf ("| %-46s | %-14s | %-31s | %-4s |\n", what, text, aim,
          isnan (value) || !has_aim ? "" : met ? "yes" : "NO");
}

int
main (int   argc,
      char *argv[])
{
  static const char * const programs[] = {
    "ip", "nft", "ping", "iperf3", "wireguard-go", "dbus-daemon", NULL
  };
  g_autofree char *load_before = NULL;
  g_autofree char *load_after = NULL;
  const char *reason;
  Bench bench = { 0 };
  PathRuns direct = { "direct (LANrage)", &bench.party[1], &bench.party[0] };
  PathRuns bare = { "bare wireguard-go", &bench.bare[1], &bench.bare[0] };
  PathRuns relayed = { "relayed (LANrage)", &bench.party[1], &bench.party[0] };
  double first_ping_s = NAN, direct_s = NAN, wireguard_direct_s = NAN;
  double gap_s = NAN, relayed_s = NAN, back_s = NAN, wireguard_back_s = NAN;
  double rtt_direct, rtt_bare, rtt_relayed;
  double tcp_direct, tcp_bare, tcp_relayed;
  PathRuns *all[] = { &direct, &bare, &relayed };

  /* Exit status 77: meson says SKIP. */
  if (getuid () != 0)
    {
      printf ("lab-bench: skipped, needs root (network namespaces, polkitd, wireguard-go)\n");
      return 77;
    }
  if (!g_file_test ("/usr/lib/polkit-1/polkitd", G_FILE_TEST_IS_EXECUTABLE))
    {
      printf ("lab-bench: skipped, needs polkitd (tools/install-deps)\n");
      return 77;
    }
  /* Before GLib starts a thread: a private mount namespace and temporary folder. */
  reason = lr_test_lab_prepare (programs);
  if (reason != NULL)
    {
      printf ("lab-bench: skipped, %s\n", reason);
      return 77;
    }
  if (sodium_init () < 0)
    return 1;
  /* Each figure as it comes, in meson's log too. */
  setvbuf (stdout, NULL, _IOLBF, 0);
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      all[i]->rtt_ms = g_array_new (FALSE, FALSE, sizeof (double));
      all[i]->mbits[0] = g_array_new (FALSE, FALSE, sizeof (double));
      all[i]->mbits[1] = g_array_new (FALSE, FALSE, sizeof (double));
    }

  load_before = load_average ();
  printf ("lab-bench: two hosts behind " NAT " NATs with lanrage-helper, two with bare "
          "wireguard-go; load average %s\n", load_before);
  bench_setup (&bench);

  form_party (&bench, &first_ping_s, &direct_s, &wireguard_direct_s);
  printf ("join to first ping reply %.3f s, to both peers direct %.3f s, to both WireGuards "
          "sending direct %.3f s\n", first_ping_s, direct_s, wireguard_direct_s);
  printf ("lanrage-helper pids: host1 (receiver) %d, host2 (sender) %d\n",
          (int) lr_test_helper_get_pid (bench.party[0].helper),
          (int) lr_test_helper_get_pid (bench.party[1].helper));
  start_bare_pair (&bench);
  start_iperf_servers (&bench);

  if (!bench.failed)
    {
      GPid helpers[2] = { lr_test_helper_get_pid (bench.party[0].helper),
                          lr_test_helper_get_pid (bench.party[1].helper) };
      CpuWatch party_watch[] = {
        { "wireguard-go host2", wireguard_go_pid (helpers[1]), 0 },
        { "host1", wireguard_go_pid (helpers[0]), 0 },
        { "helper host2", helpers[1], 0 },
        { "host1", helpers[0], 0 },
        { "relay", subprocess_pid (bench.relay), 0 },
      };
      CpuWatch bare_watch[] = {
        { "wireguard-go host4", subprocess_pid (bench.bare[1].wg), 0 },
        { "host3", subprocess_pid (bench.bare[0].wg), 0 },
      };

      /* Direct and bare in turns, so a change of the machine's load hits both alike, and
       * each first in every other round, so neither always runs after the other. */
      for (guint round = 0; round < ROUNDS; round++)
        {
          PathRuns *runs[2] = { &direct, &bare };
          CpuWatch *watch[2] = { party_watch, bare_watch };
          guint n_watch[2] = { G_N_ELEMENTS (party_watch), G_N_ELEMENTS (bare_watch) };
          guint first = round % 2;

          printf ("round %u of %u, direct and bare in turns:\n", round + 1, ROUNDS);
          if (!lr_test_wait_for (wireguard_sends_direct, &bench, PATH_TIMEOUT_MS))
            {
              not_measured (&bench, "direct: WireGuard does not send direct");
              break;
            }
          for (guint k = 0; k < 2; k++)
            measure_rtt (&bench, runs[(first + k) % 2]);
          for (guint reverse = 0; reverse < 2; reverse++)
            for (guint k = 0; k < 2; k++)
              {
                guint which = (first + k) % 2;

                measure_throughput (&bench, runs[which], reverse, watch[which],
                                    n_watch[which]);
              }
        }

      measure_failover (&bench, &gap_s, &relayed_s, &back_s, &wireguard_back_s);
      printf ("failover: longest gap %.2f s, both relayed %.2f s after the cut; after it was "
              "removed both direct in %.2f s, WireGuard sending direct in %.2f s\n", gap_s,
              relayed_s, back_s, wireguard_back_s);

      /* The relayed path: the same cut, held while it is measured. */
      cut_direct (&bench, TRUE);
      if (!lr_test_wait_for (pair_path_is, &(PathWait) { &bench, "relayed" }, PATH_TIMEOUT_MS))
        not_measured (&bench, "relayed: the pair was not relayed within %d ms of the cut",
                      PATH_TIMEOUT_MS);
      else
        for (guint round = 0; round < RELAYED_ROUNDS; round++)
          {
            printf ("round %u of %u, relayed:\n", round + 1, RELAYED_ROUNDS);
            measure_rtt (&bench, &relayed);
            for (guint reverse = 0; reverse < 2; reverse++)
              measure_throughput (&bench, &relayed, reverse, party_watch,
                                  G_N_ELEMENTS (party_watch));
          }
      cut_direct (&bench, FALSE);
    }

  load_after = load_average ();
  rtt_direct = median (direct.rtt_ms);
  rtt_bare = median (bare.rtt_ms);
  rtt_relayed = median (relayed.rtt_ms);

  printf ("\nlab-bench: load average %s before, %s after; RTT: median of every ping of %u "
          "runs of %u (relayed: %u); TCP: median of %u iperf3 runs of %s s each way "
          "(relayed: %u)\n", load_before, load_after, ROUNDS, PING_COUNT, RELAYED_ROUNDS,
          ROUNDS, IPERF_SECONDS, RELAYED_ROUNDS);
  printf ("| %-46s | %-14s | %-31s | %-4s |\n", "figure", "measured", "aim", "met");
  printf ("|%s|%s|%s|%s|\n", "------------------------------------------------",
          "----------------", "---------------------------------", "------");
  print_row ("join to first ping reply", first_ping_s, "s", "under 1 s",
             first_ping_s < AIM_FIRST_PING_S);
  print_row ("join to direct (both peers' Path)", direct_s, "s", "within 2 s",
             direct_s <= AIM_DIRECT_S);
  print_row ("join to both WireGuards sending direct", wireguard_direct_s, "s", "within 2 s",
             wireguard_direct_s <= AIM_DIRECT_S);
  print_row ("failover gap (longest run of lost 10 ms pings)", gap_s, "s", "under 1.5 s",
             gap_s < AIM_GAP_S);
  print_row ("cut to both peers relayed", relayed_s, "s", "", FALSE);
  print_row ("cut removed to both peers direct", back_s, "s", "within 10 s",
             back_s <= AIM_BACK_S);
  print_row ("cut removed to both WireGuards sending direct", wireguard_back_s, "s",
             "within 10 s", wireguard_back_s <= AIM_BACK_S);
  print_row ("RTT bare wireguard-go (median)", rtt_bare, "ms", "", FALSE);
  print_row ("RTT direct (median)", rtt_direct, "ms", "", FALSE);
  {
    g_autofree char *aim = g_strdup_printf ("within 0.5 ms of direct (%+.2f)",
                                            rtt_relayed - rtt_direct);

    print_row ("RTT relayed (median)", rtt_relayed, "ms", aim,
               rtt_relayed - rtt_direct <= AIM_RELAYED_RTT_MS);
  }
  for (guint reverse = 0; reverse < 2; reverse++)
    {
      /* Host 2 to host 1 (the iperf3 client sending), then host 1 to host 2. */
      const char *way = reverse ? "host1 to host2" : "host2 to host1";
      g_autofree char *bare_row = g_strdup_printf ("TCP bare wireguard-go, %s", reverse
                                                   ? "host3 to host4" : "host4 to host3");
      g_autofree char *direct_row = g_strdup_printf ("TCP direct, %s", way);
      g_autofree char *relayed_row = g_strdup_printf ("TCP relayed, %s", way);
      g_autofree char *aim = NULL;

      tcp_bare = median (bare.mbits[reverse]);
      tcp_direct = median (direct.mbits[reverse]);
      tcp_relayed = median (relayed.mbits[reverse]);
      aim = g_strdup_printf ("95 %% of bare (%.0f %%)", 100.0 * tcp_direct / tcp_bare);
      print_row (bare_row, tcp_bare, "Mbit/s", "", FALSE);
      print_row (direct_row, tcp_direct, "Mbit/s", aim,
                 tcp_direct >= AIM_THROUGHPUT_RATIO * tcp_bare);
      g_free (aim);
      aim = g_strdup_printf ("(%.0f %% of direct)", 100.0 * tcp_relayed / tcp_direct);
      print_row (relayed_row, tcp_relayed, "Mbit/s", aim, FALSE);
    }
  printf ("(TCP: the median of the runs each way; the bare pair has the LANrage pair's keys "
          "and addresses. Direct RTT is %+.3f ms from bare.)\n", rtt_direct - rtt_bare);

  bench_teardown (&bench);
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      g_array_unref (all[i]->rtt_ms);
      g_array_unref (all[i]->mbits[0]);
      g_array_unref (all[i]->mbits[1]);
    }
  return bench.failed ? 1 : 0;
}
