/* test-helper-lab.c: a LANrage party end to end, behind real NATs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The party lab (lr-test-party-lab.h): lanrage-control and lanrage-relay on the lab's fake
 * internet, and three hosts, each behind a NAT of its own (one port-restricted cone, two
 * symmetric, so that no pair can reach the other directly and every path must be the relay),
 * each with its own private system bus, polkitd and lanrage-helper. `lanragectl create` on
 * the first, `join` on the others, as a user would. A fourth host, behind a full cone NAT,
 * is not in the party.
 *
 * The cases that need the data plane (ping-all, fourth-host, leave-cleans-up,
 * relay-failover, faults) are separate from the control plane one, so a failure says which half
 * broke. The direct path's failover and recovery cases are here too; the NAT matrix is in
 * test-helper-lab-matrix.c.
 *
 * Everything runs in a private mount namespace with its own tmpfs on /run/netns,
 * /run/wireguard and TMPDIR, and every process dies with the test: nothing is left on the
 * machine, even after a crash. Needs root; skips (TAP plan "1..0 # SKIP") without it.
 */
#define _GNU_SOURCE
#include "lr-test-party-lab.h"
#include "lrd-lan-test-util.h"

#include "lr-ipam.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* wireguard-go exits on its own once its interface is gone; under a loaded sanitizer build
 * that took over 5 s once. */
#define LEAVE_TIMEOUT_MS 15000

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
test_control_plane (LrTestParty   *fixture,
                    gconstpointer  data)
{
  const char *peers_argv[] = { "--json", "peers", NULL };

  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      LrTestPartyHost *host = &fixture->hosts[i];
      g_autofree char *public_address = lr_test_lab_host_public_address (host->index);
      g_autofree char *stun = NULL;
      RelaysWait wait = { CONTROL_URL "v1/relays", host->netns, NULL, NULL };

      /* The helper runs in its host, where whatever it starts (wireguard-go) lands too. */
      g_assert_true (same_netns (lr_test_helper_get_pid (host->helper), host->netns));
      g_assert_cmpstr (lrd_helper1_get_state (lr_test_party_proxy (host)), ==, "idle");

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

  g_assert_true (lr_test_party_form (fixture, FALSE));

  /* Everyone sees everyone else, by name and address, through the ObjectManager. */
  for (guint i = 0; i < fixture->n_hosts; i++)
    for (guint j = 0; j < fixture->n_hosts; j++)
      {
        LrTestPartyHost *self = &fixture->hosts[i];
        LrTestPartyHost *other = &fixture->hosts[j];
        g_autoptr(LrdHelper1Peer) peer = NULL;
        g_autofree char *name = g_strdup_printf ("host%u", other->index);

        if (i == j)
          continue;
        g_assert_cmpstr (lrd_helper1_get_party_id (lr_test_party_proxy (self)), ==,
                         lrd_helper1_get_party_id (lr_test_party_proxy (other)));
        g_assert_cmpstr (lrd_helper1_get_virtual_address (lr_test_party_proxy (self)), !=,
                         lrd_helper1_get_virtual_address (lr_test_party_proxy (other)));
        peer = lr_test_helper_find_peer (
            self->helper, lrd_helper1_get_virtual_address (lr_test_party_proxy (other)));
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
  LrTestPartyHost *host;
  const char *relay;       /* wait until Relay is this... */
  const char *not_relay;   /* ...or anything but "" and this */
} RelayWait;

static gboolean
relay_moved (gpointer data)
{
  RelayWait *wait = data;
  const char *relay = lrd_helper1_get_relay (lr_test_party_proxy (wait->host));

  if (wait->relay != NULL)
    return g_strcmp0 (relay, wait->relay) == 0;
  return relay[0] != '\0' && g_strcmp0 (relay, wait->not_relay) != 0;
}

/* WireGuard's counters and the probes through the relay have reached the peer object. */
static gboolean
peer_is_measured (gpointer data)
{
  LrTestPartyPathWait *wait = data;
  g_autoptr(LrdHelper1Peer) peer = lr_test_helper_find_peer (wait->helper, wait->address);

  return peer != NULL && lrd_helper1_peer_get_rx_bytes (peer) > 0 &&
         lrd_helper1_peer_get_tx_bytes (peer) > 0 &&
         lrd_helper1_peer_get_last_handshake (peer) > 0 &&
         lrd_helper1_peer_get_latency_ms (peer) >= 0 &&
         g_strcmp0 (lrd_helper1_peer_get_quality (peer), "unknown") != 0;
}

static void
test_ping_all (LrTestParty   *fixture,
               gconstpointer  data)
{
  /* Said, but the case goes on: the pings then show what the missing backend costs. */
  for (guint i = 0; i < fixture->n_hosts; i++)
    if (g_strcmp0 (lrd_helper1_get_backend (lr_test_party_proxy (&fixture->hosts[i])), "uapi") != 0)
      {
        g_test_message ("%s: Backend is \"%s\", not \"uapi\"", fixture->hosts[i].netns,
                        lrd_helper1_get_backend (lr_test_party_proxy (&fixture->hosts[i])));
        g_test_fail ();
      }
  if (!lr_test_party_form (fixture, TRUE))
    return;

  /* Every host reaches every other's virtual address. */
  for (guint i = 0; i < fixture->n_hosts; i++)
    for (guint j = 0; j < fixture->n_hosts; j++)
      if (i != j && !lr_test_party_can_ping (&fixture->hosts[i], &fixture->hosts[j]))
        return;

  /* No pair can punch through these NATs: every peer is reached through the lab's relay. */
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      LrTestPartyHost *self = &fixture->hosts[i];

      RelayWait relay_wait = { self, RELAY_ENDPOINT, NULL };

      LR_TEST_PARTY_CHECK (lr_test_wait_for (relay_moved, &relay_wait, PATH_TIMEOUT_MS),
                           "%s: Relay is \"%s\", not \"" RELAY_ENDPOINT "\"", self->netns,
                           lrd_helper1_get_relay (lr_test_party_proxy (self)));
      for (guint j = 0; j < fixture->n_hosts; j++)
        {
          LrTestPartyHost    *other = &fixture->hosts[j];
          LrTestPartyPathWait wait
              = { self->helper, lrd_helper1_get_virtual_address (lr_test_party_proxy (other)),
                  "relayed" };
          g_autoptr(LrdHelper1Peer) peer = NULL;

          if (i == j)
            continue;
          peer = lr_test_helper_find_peer (self->helper, wait.address);
          g_assert_nonnull (peer);
          LR_TEST_PARTY_CHECK (
              lr_test_wait_for (lr_test_party_peer_path_is, &wait, PATH_TIMEOUT_MS),
              "%s lists %s (%s) with Path \"%s\", not \"relayed\"", self->netns, other->netns,
              wait.address, lrd_helper1_peer_get_path (peer));
          LR_TEST_PARTY_CHECK (g_strcmp0 (lrd_helper1_peer_get_relay (peer), RELAY_ENDPOINT) == 0,
                               "%s lists %s with Relay \"%s\"", self->netns, other->netns,
                               lrd_helper1_peer_get_relay (peer));
          LR_TEST_PARTY_CHECK (
              lr_test_wait_for (peer_is_measured, &wait, PATH_TIMEOUT_MS),
              "%s lists %s with RxBytes %" G_GUINT64_FORMAT ", TxBytes %" G_GUINT64_FORMAT
              ", LastHandshake %" G_GINT64_FORMAT ", LatencyMs %.1f",
              self->netns, other->netns, lrd_helper1_peer_get_rx_bytes (peer),
              lrd_helper1_peer_get_tx_bytes (peer), lrd_helper1_peer_get_last_handshake (peer),
              lrd_helper1_peer_get_latency_ms (peer));
        }
    }
}

static void
test_fourth_host (LrTestParty   *fixture,
                  gconstpointer  data)
{
  g_autofree char *garbage = NULL;

  g_assert_true (lr_test_party_form (fixture, FALSE));
  /* The party itself works, so what fails below fails for the outsider only. */
  if (!lr_test_party_can_ping (&fixture->hosts[1], &fixture->hosts[0])
      || !lr_test_party_can_ping (&fixture->hosts[2], &fixture->hosts[1]))
    return;

  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      const char *address
          = lrd_helper1_get_virtual_address (lr_test_party_proxy (&fixture->hosts[i]));

      LR_TEST_PARTY_CHECK (!LR_TEST_PARTY_RUN_OK ("ip", "netns", "exec", fixture->outsider, "ping",
                                                  "-n", "-q", "-c", "3", "-i", "0.2", "-w", "2",
                                                  address, NULL),
                           "the outsider %s reaches the party's %s", fixture->outsider, address);
    }

  /* Garbage from the outsider to the relay (the only party address it can know) changes
   * nothing for the party. */
  garbage = g_strdup_printf ("printf 'not a relay frame, not STUN' > /dev/udp/%s/3478",
                             LR_TEST_LAB_SERVER_ADDRESS);
  g_assert_true (
      LR_TEST_PARTY_RUN_OK ("ip", "netns", "exec", fixture->outsider, "bash", "-c", garbage, NULL));
  if (!lr_test_party_can_ping (&fixture->hosts[0], &fixture->hosts[2]))
    return;
  lr_test_party_can_ping (&fixture->hosts[2], &fixture->hosts[0]);
}

/* Two registered relays; the one the party uses dies (SIGKILL, no goodbye). Every helper
 * moves to the other by itself, the tunnel's endpoints stay as they were (the relay client's
 * loopback sockets), and pings flow again. The outage is printed. */
static void
test_relay_failover (LrTestParty   *fixture,
                     gconstpointer  data)
{
  RelaysWait listed = { CONTROL_URL "v1/relays", fixture->hosts[0].netns, NULL,
                        RELAY2_ENDPOINT };
  g_autofree char *chosen = NULL;
  const char *h1_address;
  guint dead;
  gint64 killed;
  gint64 replied;

  lr_test_party_start_relay (fixture, 1);
  LR_TEST_PARTY_CHECK (lr_test_wait_for (relay_listed, &listed, 5000),
                       "lanrage-control does not list the second relay: %s", listed.answer);
  g_free (listed.answer);
  if (!lr_test_party_form (fixture, FALSE)
      || !lr_test_party_can_ping (&fixture->hosts[1], &fixture->hosts[0])
      || !lr_test_party_can_ping (&fixture->hosts[2], &fixture->hosts[1]))
    return;

  /* (Waiting also lets the proxies take in the PropertiesChanged that came meanwhile.) */
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      RelayWait wait = { &fixture->hosts[i], NULL, "" };

      LR_TEST_PARTY_CHECK (lr_test_wait_for (relay_moved, &wait, PATH_TIMEOUT_MS),
                           "%s shows no relay", fixture->hosts[i].netns);
    }
  chosen = g_strdup (lrd_helper1_get_relay (lr_test_party_proxy (&fixture->hosts[0])));
  for (guint i = 1; i < fixture->n_hosts; i++)
    LR_TEST_PARTY_CHECK (
        g_strcmp0 (lrd_helper1_get_relay (lr_test_party_proxy (&fixture->hosts[i])), chosen) == 0,
        "%s uses relay %s, %s uses %s", fixture->hosts[i].netns,
        lrd_helper1_get_relay (lr_test_party_proxy (&fixture->hosts[i])), fixture->hosts[0].netns,
        chosen);
  dead = g_str_equal (chosen, RELAY_ENDPOINT) ? 0 : 1;
  g_test_message ("The party uses %s; killing it", chosen);

  g_subprocess_force_exit (fixture->relays[dead]);
  g_subprocess_wait (fixture->relays[dead], NULL, NULL);
  g_clear_object (&fixture->relays[dead]);
  killed = g_get_monotonic_time ();

  h1_address = lrd_helper1_get_virtual_address (lr_test_party_proxy (&fixture->hosts[0]));
  replied = lr_test_lab_ping_until (fixture->hosts[1].netns, h1_address, FIRST_PING_TIMEOUT_MS);
  LR_TEST_PARTY_CHECK (replied != 0, "%s: no ping reply from %s within %d ms of the relay's death",
                       fixture->hosts[1].netns, h1_address, FIRST_PING_TIMEOUT_MS);
  g_test_message ("relay-failover: pings answered again %" G_GINT64_FORMAT " ms after the "
                  "relay was killed", (replied - killed) / 1000);

  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      RelayWait wait = { &fixture->hosts[i], NULL, chosen };

      LR_TEST_PARTY_CHECK (lr_test_wait_for (relay_moved, &wait, PATH_TIMEOUT_MS),
                           "%s still shows relay \"%s\"", fixture->hosts[i].netns,
                           lrd_helper1_get_relay (lr_test_party_proxy (&fixture->hosts[i])));
      g_test_message ("%s: relay %s, because: %s", fixture->hosts[i].netns,
                      lrd_helper1_get_relay (lr_test_party_proxy (&fixture->hosts[i])),
                      lrd_helper1_get_relay_reason (lr_test_party_proxy (&fixture->hosts[i])));
    }
  for (guint i = 0; i < fixture->n_hosts; i++)
    for (guint j = 0; j < fixture->n_hosts; j++)
      if (i != j && !lr_test_party_can_ping (&fixture->hosts[i], &fixture->hosts[j]))
        return;
}

/* The faults that are not the relay's: lanrage-control killed (SIGKILL) and started
 * again never drops the tunnel, and a helper restarted mid-party rejoins and its tunnel
 * comes back by itself. */
static void
test_faults (LrTestParty   *fixture,
             gconstpointer  data)
{
  LrTestPartyHost *guest = &fixture->hosts[1];
  const char *h1_address;
  gint64 started;
  gint64 replied;

  if (!lr_test_party_form (fixture, FALSE) || !lr_test_party_can_ping (guest, &fixture->hosts[0]))
    return;
  h1_address = lrd_helper1_get_virtual_address (lr_test_party_proxy (&fixture->hosts[0]));

  /* The control server dies: the data plane does not need it. */
  lr_test_server_stop (fixture->control, TRUE);
  for (guint i = 0; i < fixture->n_hosts; i++)
    for (guint j = 0; j < fixture->n_hosts; j++)
      if (i != j && !lr_test_party_can_ping (&fixture->hosts[i], &fixture->hosts[j]))
        return;
  lr_test_server_start (fixture->control);
  for (guint i = 0; i < fixture->n_hosts; i++)
    LR_TEST_PARTY_CHECK (
        g_strcmp0 (lrd_helper1_get_state (lr_test_party_proxy (&fixture->hosts[i])), "connected")
            == 0,
        "%s: State is \"%s\" after the control server's restart", fixture->hosts[i].netns,
        lrd_helper1_get_state (lr_test_party_proxy (&fixture->hosts[i])));
  if (!lr_test_party_can_ping (guest, &fixture->hosts[0]))
    return;

  /* The guest's helper restarts: it rejoins from its saved party, WireGuard and the relay
   * come back, and so do the pings. */
  lr_test_helper_stop (guest->helper);
  LR_TEST_PARTY_CHECK (lr_test_lab_ping_until (guest->netns, h1_address, 500) == 0,
                       "%s still reaches %s with its helper stopped", guest->netns, h1_address);
  started = g_get_monotonic_time ();
  lr_test_helper_start (guest->helper);
  replied = lr_test_lab_ping_until (guest->netns, h1_address, FIRST_PING_TIMEOUT_MS);
  LR_TEST_PARTY_CHECK (replied != 0,
                       "%s: no ping reply from %s within %d ms of its helper's restart",
                       guest->netns, h1_address, FIRST_PING_TIMEOUT_MS);
  g_test_message ("helper-restart-to-first-ping: %" G_GINT64_FORMAT " ms",
                  (replied - started) / 1000);
  lr_test_helper_wait_state (guest->helper, "connected");
  lr_test_helper_wait_peers (guest->helper, fixture->n_hosts - 1);
  lr_test_party_can_ping (&fixture->hosts[2], guest);
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
watch_recovery (LrTestParty     *fixture,
                gint64           until_us,
                gint64           deadline_us,
                LrTestPartyHost *host,
                const char      *public_prefix,
                Recovery        *recovery)
{
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      gboolean direct;

      while (g_main_context_iteration (NULL, FALSE))
        ;
      direct = lr_test_party_pair_is_direct (fixture);
      if (!direct && recovery->left_us == 0)
        recovery->left_us = now;
      if (direct && recovery->left_us != 0 && recovery->back_us == 0)
        recovery->back_us = now;
      if (public_prefix != NULL && recovery->published_us == 0
          && g_str_has_prefix (lrd_helper1_get_public_endpoint (lr_test_party_proxy (host)),
                               public_prefix))
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
test_recovery (LrTestParty   *fixture,
               gconstpointer  data)
{
  LrTestPartyHost *h1 = &fixture->hosts[0];
  LrTestPartyHost *h2 = &fixture->hosts[1];
  g_autofree char *router = lr_test_lab_router_name (fixture->lab, h2->lan);
  g_autofree char *old_wan = g_strdup_printf ("%s/24", h2->public_address);
  g_autofree char *new_public = g_strdup_printf ("198.18.0.%u", 110 + h2->lan);
  g_autofree char *new_wan = g_strdup_printf ("%s/24", new_public);
  g_autofree char *new_prefix = g_strdup_printf ("%s:", new_public);
  GSubprocess *ping;
  Recovery flush = { 0 };
  Recovery moved = { 0 };
  guint gap, last;

  if (!lr_test_party_form (fixture, FALSE))
    return;
  LR_TEST_PARTY_CHECK (lr_test_party_wait_pair_path (fixture, "direct", PATH_TIMEOUT_MS) != 0,
                       "the pair is not direct");
  if (!lr_test_party_can_ping (h1, h2) || !lr_test_party_wireguard_is_direct (fixture))
    return;

  /* The router forgets every mapping. */
  ping = lr_test_party_pings_start (h1, h2, RECOVERY_PINGS);
  g_usleep (G_USEC_PER_SEC);
  flush.changed_us = g_get_monotonic_time ();
  g_assert_true (LR_TEST_PARTY_RUN_OK ("ip", "netns", "exec", router, "conntrack", "-F", NULL));
  watch_recovery (fixture, flush.changed_us + (RECOVERY_PINGS / 100 - 1) * G_USEC_PER_SEC,
                  flush.changed_us + RECOVERY_TIMEOUT_MS * 1000, NULL, NULL, &flush);
  gap = lr_test_party_pings_finish (ping, RECOVERY_PINGS, &last);
  g_object_unref (ping);
  g_test_message ("conntrack flushed on %s's router: longest run of lost 10 ms pings %u "
                  "(%u ms), last answered %u of %u; left direct after %" G_GINT64_FORMAT
                  " ms, direct again after %" G_GINT64_FORMAT " ms (-1: never)", h2->netns,
                  gap, gap * 10, last, RECOVERY_PINGS, ms_after (flush.left_us, flush.changed_us),
                  ms_after (flush.back_us, flush.changed_us));
  LR_TEST_PARTY_CHECK (last >= RECOVERY_PINGS - 20, "pings stopped at %u of %u after the flush",
                       last, RECOVERY_PINGS);
  LR_TEST_PARTY_CHECK (gap * 10 <= 3000, "after the flush %u ms of pings were lost", gap * 10);
  LR_TEST_PARTY_CHECK (lr_test_party_pair_is_direct (fixture),
                       "the pair is not direct %d ms after the flush", RECOVERY_TIMEOUT_MS);
  if (!lr_test_party_wireguard_is_direct (fixture))
    return;

  /* The router's WAN address changes: the old one goes (and with it every mapping on it,
   * as masquerade drops them), then the new one comes. */
  ping = lr_test_party_pings_start (h1, h2, RECOVERY_PINGS);
  g_usleep (G_USEC_PER_SEC);
  moved.changed_us = g_get_monotonic_time ();
  g_assert_true (
      LR_TEST_PARTY_RUN_OK ("ip", "-n", router, "addr", "del", old_wan, "dev", "wan", NULL));
  g_assert_true (
      LR_TEST_PARTY_RUN_OK ("ip", "-n", router, "addr", "add", new_wan, "dev", "wan", NULL));
  g_free (h2->public_address);
  h2->public_address = g_strdup (new_public);
  watch_recovery (fixture, moved.changed_us + (RECOVERY_PINGS / 100 - 1) * G_USEC_PER_SEC,
                  moved.changed_us + RECOVERY_TIMEOUT_MS * 1000, h2, new_prefix, &moved);
  gap = lr_test_party_pings_finish (ping, RECOVERY_PINGS, &last);
  g_object_unref (ping);
  g_test_message ("%s's router moved to %s: longest run of lost 10 ms pings %u (%u ms), "
                  "last answered %u of %u; left direct after %" G_GINT64_FORMAT " ms, "
                  "PublicEndpoint %s after %" G_GINT64_FORMAT
                  " ms, direct again after %" G_GINT64_FORMAT " ms (-1: never)",
                  h2->netns, new_public, gap, gap * 10, last, RECOVERY_PINGS,
                  ms_after (moved.left_us, moved.changed_us),
                  lrd_helper1_get_public_endpoint (lr_test_party_proxy (h2)),
                  ms_after (moved.published_us, moved.changed_us),
                  ms_after (moved.back_us, moved.changed_us));
  LR_TEST_PARTY_CHECK (last >= RECOVERY_PINGS - 20,
                       "pings stopped at %u of %u after the address change", last, RECOVERY_PINGS);
  LR_TEST_PARTY_CHECK (gap * 10 <= 3000, "after the address change %u ms of pings were lost",
                       gap * 10);
  LR_TEST_PARTY_CHECK (moved.published_us != 0,
                       "%s shows PublicEndpoint \"%s\" %d ms after its router "
                       "moved to %s",
                       h2->netns, lrd_helper1_get_public_endpoint (lr_test_party_proxy (h2)),
                       RECOVERY_TIMEOUT_MS, new_public);
  LR_TEST_PARTY_CHECK (moved.left_us != 0,
                       "the pair never left the direct path to the old address");
  LR_TEST_PARTY_CHECK (lr_test_party_pair_is_direct (fixture),
                       "the pair is not direct %d ms after the address change",
                       RECOVERY_TIMEOUT_MS);
  if (!lr_test_party_wireguard_is_direct (fixture) || !lr_test_party_can_ping (h2, h1)
      || !lr_test_party_nat_types_shown (fixture))
    return;
}

/* The NAT matrix (test-helper-lab-matrix.c) has this pair's plain case. */
static const LrTestPartyCase failover_case
    = { { "port-restricted", "port-restricted", NULL }, "direct", TRUE };

static const LrTestPartyCase recovery_case
    = { { "port-restricted", "port-restricted-translated", NULL }, "direct" };

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
  return LR_TEST_PARTY_RUN_OK ("ip", "-n", wait->netns, "link", "show", wait->ifname, NULL);
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
test_leave_cleans_up (LrTestParty   *fixture,
                      gconstpointer  data)
{
  LrTestPartyHost *leaver = &fixture->hosts[2];
  InterfaceWait wait = { leaver->netns, leaver->ifname };
  g_autofree char *socket_path = uapi_socket_path (leaver->ifname);
  const char *leave_argv[] = { "leave", NULL };

  g_assert_true (lr_test_party_form (fixture, FALSE));

  /* The interface the configuration names, in the host's namespace, run by wireguard-go. */
  LR_TEST_PARTY_CHECK (interface_exists (&wait), "%s has no interface %s while in the party",
                       leaver->netns, leaver->ifname);
  LR_TEST_PARTY_CHECK (g_file_test (socket_path, G_FILE_TEST_EXISTS), "%s is missing", socket_path);
  LR_TEST_PARTY_CHECK (wireguard_go_runs_for (leaver->ifname), "no wireguard-go runs for %s",
                       leaver->ifname);
  if (!lr_test_party_can_ping (leaver, &fixture->hosts[0]))
    return;

  g_assert_cmpint (lr_test_ctl_run (leaver->bus, LR_TEST_HELPER_BUS_NAME, NULL, leave_argv,
                                    NULL, NULL), ==, 0);
  lr_test_helper_wait_state (leaver->helper, "idle");
  lr_test_helper_wait_peers (leaver->helper, 0);
  LR_TEST_PARTY_CHECK (lr_test_wait_for (interface_gone, &wait, LEAVE_TIMEOUT_MS),
                       "after leave, %s still has %s (link %s, %s %s, wireguard-go %s)",
                       leaver->netns, leaver->ifname, interface_exists (&wait) ? "present" : "gone",
                       socket_path,
                       g_file_test (socket_path, G_FILE_TEST_EXISTS) ? "present" : "gone",
                       wireguard_go_runs_for (leaver->ifname) ? "running" : "gone");

  /* The others drop it, and still reach each other. */
  lr_test_helper_wait_peers (fixture->hosts[0].helper, fixture->n_hosts - 2);
  lr_test_helper_wait_peers (fixture->hosts[1].helper, fixture->n_hosts - 2);
  if (!lr_test_party_can_ping (&fixture->hosts[0], &fixture->hosts[1]))
    return;
  lr_test_party_can_ping (&fixture->hosts[1], &fixture->hosts[0]);
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
  LrTestPartyHost *host;
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
  LrTestPartyHost *host;
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

  if (!lrd_helper1_call_get_status_sync (lr_test_party_proxy (wait->host), &status, NULL, NULL))
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
virtual_address_of (LrTestPartyHost *host)
{
  guint32 address = 0;

  g_assert_true (
      lr_ipv4_parse (lrd_helper1_get_virtual_address (lr_test_party_proxy (host)), &address));
  return address;
}

static void
test_lan_discovery (LrTestParty   *fixture,
                    gconstpointer  data)
{
  static const char announcement[] = "[MOTD]Lab World[/MOTD][AD]41234[/AD]";
  static const char unlisted[] = "Unlisted game looking for players";
  static const char denied[] = "Denied game looking for players";
  LrTestPartyHost  *a = &fixture->hosts[0];
  LrTestPartyHost  *b = &fixture->hosts[1];
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) deny = NULL;
  g_autofree char *a_address = NULL;
  GamesWait wait = { b, NULL, NULL };
  int links[MAX_HOSTS];
  int listeners[MAX_HOSTS];
  int outsider;
  int sender;

  g_assert_true (lr_test_party_form (fixture, FALSE));
  for (guint i = 1; i < fixture->n_hosts; i++)
    if (!lr_test_party_can_ping (a, &fixture->hosts[i])
        || !lr_test_party_can_ping (&fixture->hosts[i], a))
      return;
  a_address = g_strdup (lrd_helper1_get_virtual_address (lr_test_party_proxy (a)));

  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      LR_TEST_PARTY_CHECK (
          g_strcmp0 (lrd_helper1_get_lan_bridge (lr_test_party_proxy (&fixture->hosts[i])), "on")
              == 0,
          "%s: LanBridge is \"%s\"", fixture->hosts[i].netns,
          lrd_helper1_get_lan_bridge (lr_test_party_proxy (&fixture->hosts[i])));
      links[i] = lrd_lan_test_open_link_capture (fixture->hosts[i].netns, "eth0");
      listeners[i] = lrd_lan_test_program_open (fixture->hosts[i].netns, 4445, MINECRAFT_GROUP);
    }
  outsider = lrd_lan_test_program_open (fixture->outsider, 4445, MINECRAFT_GROUP);
  sender = lrd_lan_test_program_open (a->netns, ANNOUNCE_PORT, 0);

  /* Minecraft Java's announcement, from host 1's virtual address and its source port. */
  for (guint i = 1; i < fixture->n_hosts; i++)
    LR_TEST_PARTY_CHECK (announce_until_heard (sender, MINECRAFT_GROUP, 4445, announcement,
                                               listeners[i], virtual_address_of (a), ANNOUNCE_PORT),
                         "%s did not hear host 1's announcement from %s:%u",
                         fixture->hosts[i].netns, a_address, ANNOUNCE_PORT);
  lrd_lan_test_expect_nothing (outsider, 500);

  /* The lobby on host 2 lists the world with host 1 as its host. */
  wait.host_address = a_address;
  LR_TEST_PARTY_CHECK (lr_test_wait_for (game_listed, &wait, BRIDGE_TIMEOUT_MS),
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
    LR_TEST_PARTY_CHECK (game_listed (&wait), "lanragectl games on %s lost host 1's world",
                         b->netns);
    LR_TEST_PARTY_CHECK (lr_test_json_int (wait.game, "LastSeen") > first_seen,
                         "LastSeen of host 1's world stayed at %" G_GINT64_FORMAT, first_seen);
  }
  g_clear_pointer (&wait.game, json_node_unref);
  {
    PortsWait ports_wait = { b, a_address };

    LR_TEST_PARTY_CHECK (lr_test_wait_for (minecraft_port_counted, &ports_wait, BRIDGE_TIMEOUT_MS),
                         "%s: BridgedPorts does not show 224.0.2.60:4445 from %s", b->netns,
                         a_address);
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

    LR_TEST_PARTY_CHECK (
        announce_until_heard (sender, 0xffffffff, UNLISTED_PORT, unlisted, unlisted_listener,
                              virtual_address_of (a), ANNOUNCE_PORT),
        "%s did not hear the broadcast to the unlisted port %u", b->netns, UNLISTED_PORT);
    deny = g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE ("a(qqss)"),
                                                "[(uint16 47777, uint16 47777, '', "
                                                "'Not for the party')]", NULL, NULL, NULL));
    lrd_helper1_call_set_deny_list_sync (lr_test_party_proxy (a), deny, NULL, &error);
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

  /* LrTestPartyHost 1 stopped announcing its world (5 s and more ago by now, or soon): host 2's
   * lobby forgets it. */
  LR_TEST_PARTY_CHECK (lr_test_wait_for (game_gone, &wait, BRIDGE_TIMEOUT_MS),
                       "lanragectl games on %s still lists host 1's world", b->netns);

  close (sender);
  close (outsider);
  for (guint i = 0; i < fixture->n_hosts; i++)
    {
      close (listeners[i]);
      close (links[i]);
    }
}

/* Two hosts are enough to show the switch, and cost less than the three-host party. */
static const LrTestPartyCase switch_case = { { "port-restricted", "symmetric", NULL } };

static gboolean
lan_bridge_is (gpointer data)
{
  gpointer *args = data;

  return g_strcmp0 (lrd_helper1_get_lan_bridge (lr_test_party_proxy (args[0])), args[1]) == 0;
}

/* What was on its way when a bridge closed arrives, then nothing more in @wait_ms, however
 * often @sender announces. */
static void
expect_silence (int         sender,
                const char *payload,
                int         listener,
                guint       wait_ms)
{
  guint8 buffer[2048];
  guint32 source;
  guint16 source_port;

  while (lrd_lan_test_program_receive (listener, buffer, sizeof buffer, &source, &source_port,
                                       200) >= 0)
    ;
  for (guint i = 0; i < 5; i++)
    lrd_lan_test_program_send (sender, MINECRAFT_GROUP, 4445, payload, strlen (payload));
  lrd_lan_test_expect_nothing (listener, wait_ms);
}

/* The switch, with announcements really sent: a Minecraft announcement on host 1 reaches
 * host 2; once host 1 turns discovery off (`lanragectl lan off`) its bridge closes
 * (LanBridge "disabled", empty lobby and counters) and what it announces stays home; on
 * again, it flows again. Turned off on the receiving host (over D-Bus), nothing is handed
 * to its programs. */
static void
test_lan_switch (LrTestParty   *fixture,
                 gconstpointer  data)
{
  static const char announcement[] = "[MOTD]Switch World[/MOTD][AD]41235[/AD]";
  LrTestPartyHost *a = &fixture->hosts[0];
  LrTestPartyHost *b = &fixture->hosts[1];
  const char *off_argv[] = { "lan", "off", NULL };
  const char *on_argv[] = { "lan", "on", NULL };
  gpointer a_on[] = { a, "on" };
  gpointer a_disabled[] = { a, "disabled" };
  gpointer b_on[] = { b, "on" };
  gpointer b_disabled[] = { b, "disabled" };
  g_autoptr(GError) error = NULL;
  guint32 from;
  int listener;
  int sender;

  g_assert_true (lr_test_party_form (fixture, FALSE));
  if (!lr_test_party_can_ping (a, b) || !lr_test_party_can_ping (b, a))
    return;
  LR_TEST_PARTY_CHECK (lr_test_wait_for (lan_bridge_is, a_on, BRIDGE_TIMEOUT_MS) &&
                       lr_test_wait_for (lan_bridge_is, b_on, BRIDGE_TIMEOUT_MS),
                       "LanBridge is not \"on\" on both hosts");
  from = virtual_address_of (a);
  listener = lrd_lan_test_program_open (b->netns, 4445, MINECRAFT_GROUP);
  sender = lrd_lan_test_program_open (a->netns, ANNOUNCE_PORT, 0);

  /* Before: carried. */
  LR_TEST_PARTY_CHECK (announce_until_heard (sender, MINECRAFT_GROUP, 4445, announcement,
                                             listener, from, ANNOUNCE_PORT),
                       "%s did not hear host 1's announcement with discovery on", b->netns);

  /* Off on the announcing host: its bridge closes at once, and nothing more is carried. */
  g_assert_cmpint (lr_test_ctl_run (a->bus, LR_TEST_HELPER_BUS_NAME, NULL, off_argv, NULL,
                                    NULL), ==, 0);
  LR_TEST_PARTY_CHECK (lr_test_wait_for (lan_bridge_is, a_disabled, BRIDGE_TIMEOUT_MS),
                       "%s: LanBridge is \"%s\" after lan off", a->netns,
                       lrd_helper1_get_lan_bridge (lr_test_party_proxy (a)));
  g_assert_false (lrd_helper1_get_lan_discovery (lr_test_party_proxy (a)));
  g_assert_cmpuint (g_variant_n_children (lrd_helper1_get_games (lr_test_party_proxy (a))), ==,
                    0);
  g_assert_cmpuint (
      g_variant_n_children (lrd_helper1_get_bridged_ports (lr_test_party_proxy (a))), ==, 0);
  expect_silence (sender, announcement, listener, 1500);

  /* On again: carried again. */
  g_assert_cmpint (lr_test_ctl_run (a->bus, LR_TEST_HELPER_BUS_NAME, NULL, on_argv, NULL,
                                    NULL), ==, 0);
  LR_TEST_PARTY_CHECK (lr_test_wait_for (lan_bridge_is, a_on, BRIDGE_TIMEOUT_MS),
                       "%s: LanBridge is \"%s\" after lan on", a->netns,
                       lrd_helper1_get_lan_bridge (lr_test_party_proxy (a)));
  LR_TEST_PARTY_CHECK (announce_until_heard (sender, MINECRAFT_GROUP, 4445, announcement,
                                             listener, from, ANNOUNCE_PORT),
                       "%s did not hear host 1's announcement once discovery was on again",
                       b->netns);

  /* Off on the receiving host: host 1 still sends, host 2 hands nothing to its programs. */
  lrd_helper1_call_set_lan_discovery_sync (lr_test_party_proxy (b), FALSE, NULL, &error);
  g_assert_no_error (error);
  LR_TEST_PARTY_CHECK (lr_test_wait_for (lan_bridge_is, b_disabled, BRIDGE_TIMEOUT_MS),
                       "%s: LanBridge is \"%s\" after SetLanDiscovery(false)", b->netns,
                       lrd_helper1_get_lan_bridge (lr_test_party_proxy (b)));
  expect_silence (sender, announcement, listener, 1500);

  close (sender);
  close (listener);
}

int
main (int   argc,
      char *argv[])
{
  /* A test that cannot run here says so (TAP "skip") and exits 0. */
  if (!lr_test_party_init (&argc, &argv))
    return 0;

  g_test_add ("/helper-lab/control-plane", LrTestParty, NULL, lr_test_party_setup,
              test_control_plane, lr_test_party_teardown);
  g_test_add ("/helper-lab/ping-all", LrTestParty, NULL, lr_test_party_setup, test_ping_all,
              lr_test_party_teardown);
  g_test_add ("/helper-lab/fourth-host", LrTestParty, NULL, lr_test_party_setup, test_fourth_host,
              lr_test_party_teardown);
  g_test_add ("/helper-lab/leave-cleans-up", LrTestParty, NULL, lr_test_party_setup,
              test_leave_cleans_up, lr_test_party_teardown);
  g_test_add ("/helper-lab/relay-failover", LrTestParty, NULL, lr_test_party_setup,
              test_relay_failover, lr_test_party_teardown);
  g_test_add ("/helper-lab/faults", LrTestParty, NULL, lr_test_party_setup, test_faults,
              lr_test_party_teardown);
  g_test_add ("/helper-lab/lan-discovery", LrTestParty, NULL, lr_test_party_setup,
              test_lan_discovery, lr_test_party_teardown);
  g_test_add ("/helper-lab/lan-discovery/switch", LrTestParty, &switch_case, lr_test_party_setup,
              test_lan_switch, lr_test_party_teardown);

  g_test_add ("/helper-lab/direct/port-restricted+port-restricted/failover", LrTestParty,
              &failover_case, lr_test_party_setup, lr_test_party_test_direct,
              lr_test_party_teardown);
  g_test_add ("/helper-lab/direct/port-restricted+port-restricted-translated/recovery", LrTestParty,
              &recovery_case, lr_test_party_setup, test_recovery, lr_test_party_teardown);

  return g_test_run ();
}
