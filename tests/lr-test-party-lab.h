/* lr-test-party-lab.h: a LANrage party of full helpers behind the lab's NATs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * lanrage-control and lanrage-relay on the lab's fake internet (198.18.0.1, lr-test-lab.h)
 * and up to three hosts, each behind a NAT of its own (or the second behind the first one's
 * router), each with its own private system bus, polkitd and lanrage-helper (UAPI backend,
 * wireguard-go) in the host's namespace. A fourth host, behind a full cone NAT, is not in
 * the party. Shared by test-helper-lab.c and test-helper-lab-matrix.c, which meson runs side
 * by side.
 */
#pragma once

#include "lr-test-helper.h"
#include "lr-test-lab.h"
#include "lr-test-wg.h"

G_BEGIN_DECLS

#define MAX_HOSTS      3
#define CONTROL_URL    "http://" LR_TEST_LAB_SERVER_ADDRESS ":8666/"
#define RELAY_ENDPOINT LR_TEST_LAB_SERVER_ADDRESS ":3478"
/* The second relay of the failover case, registered with control like the first. */
#define RELAY2_ENDPOINT LR_TEST_LAB_SERVER_ADDRESS ":3479"
#define N_RELAYS        2
#define PATH_TIMEOUT_MS 10000
/* Bounds a hang of the first ping after `join` (lr_test_party_form). */
#define FIRST_PING_TIMEOUT_MS 20000

typedef struct
{
  guint         index;          /* 1..n_hosts: host "PREFIX-hINDEX" */
  guint         lan;            /* the index of the host whose router it is behind */
  char         *public_address; /* its router's WAN address */
  const char   *netns;          /* owned by the lab */
  char         *ifname;
  LrTestBus    *bus;
  LrTestHelper *helper;
} LrTestPartyHost;

typedef struct
{
  char               *prefix;
  LrTestLab          *lab;
  LrTestServer       *control;
  GSubprocess        *relays[N_RELAYS];
  char               *relay_logs[N_RELAYS];
  const char         *outsider;
  const char * const *nats;      /* each host's NAT (lr_test_nat_find) */
  guint               n_hosts;
  gint64              joined_us; /* when lr_test_party_form()'s last `join` returned */
  /* The relays answer RFC 5780 (a second address), so the helpers find their NAT types.
   * Only for the direct cases: turnutils_stunclient, which the control-plane case runs
   * through each NAT, waits forever for the changed-address answers a NAT filters. */
  gboolean            rfc5780;
  LrTestPartyHost     hosts[MAX_HOSTS];
} LrTestParty;

/* A pair of hosts and the path their helpers must settle on. The NAT names
 * (lr_test_nat_find, "hostile" included) come first, so the case is also the fixture's
 * list of NATs. */
typedef struct
{
  const char *nats[3];
  const char *path;     /* "direct", "relayed", or NULL: either, never "connecting" */
  gboolean    failover; /* cut the direct path, then restore it */
  gboolean    same_nat; /* the second host sits behind the first one's router */
} LrTestPartyCase;

/* Runs a lab command; returns whether it exited 0. */
#define LR_TEST_PARTY_RUN_OK(...) lr_test_lab_run (NULL, NULL, NULL, __VA_ARGS__)

/* The data plane's checks fail the case without aborting the program, so that every case
 * runs and says what it found (and the lab is torn down, with the logs printed). */
#define LR_TEST_PARTY_CHECK(condition, ...)                                                        \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (!(condition))                                                                              \
      {                                                                                            \
        g_test_fail_printf (__VA_ARGS__);                                                          \
        return;                                                                                    \
      }                                                                                            \
  }                                                                                                \
  G_STMT_END

/* For a lab party test's main(), before GLib starts a thread: TRUE once it is in a private
 * mount namespace (lr_test_lab_enter_private_run) with GTest initialized to go on past a
 * failed case; FALSE after printing the TAP plan that says why it cannot run here. */
gboolean    lr_test_party_init (int    *argc,
                                char ***argv);

/* The fixture: @data is an LrTestPartyCase, or NULL for the three-host party
 * (port-restricted, symmetric, symmetric) without RFC 5780. */
void lr_test_party_setup (LrTestParty *fixture, gconstpointer data);
void lr_test_party_teardown (LrTestParty *fixture, gconstpointer data);
/* Starts relay @index (0 or 1) and waits until it listens. */
void        lr_test_party_start_relay (LrTestParty *fixture, guint index);
LrdHelper1 *lr_test_party_proxy (LrTestPartyHost *host);

/* @from pings @to's virtual address within PATH_TIMEOUT_MS, or the case fails. */
gboolean lr_test_party_can_ping (LrTestPartyHost *from, LrTestPartyHost *to);
/* `lanragectl create` on the first host, `join` on the others, each then connected. With
 * @measure_first_ping, each joining host pings the creator right after its join returned,
 * and the time is printed; FALSE (the case failed) when no reply came. */
gboolean lr_test_party_form (LrTestParty *fixture, gboolean measure_first_ping);

typedef struct
{
  LrTestHelper *helper;
  const char   *address;
  const char   *path;
} LrTestPartyPathWait;

/* For lr_test_wait_for(): the peer at @address shows @path. */
gboolean lr_test_party_peer_path_is (gpointer data);
/* For lr_test_wait_for(): lets the main loop run for the whole time. */
gboolean lr_test_party_never (gpointer data);
/* Each helper shows its own NAT type and its peers' (the case fails otherwise). */
gboolean lr_test_party_nat_types_shown (LrTestParty *fixture);
/* Both hosts' WireGuard sends where the peer object's Endpoint says, the other's direct
 * address, within @timeout_ms (the case fails otherwise). */
gboolean lr_test_party_wireguard_is_direct_within (LrTestParty *fixture,
                                                   guint        timeout_ms);
/* The same, with time for the helpers' check of WireGuard's counters (every 2 s). */
gboolean lr_test_party_wireguard_is_direct (LrTestParty *fixture);
/* Waits until each of the pair shows the other with @path; the monotonic time, or 0. */
gint64 lr_test_party_wait_pair_path (LrTestParty *fixture, const char *path, guint timeout_ms);
/* Both of the pair show each other "direct". */
gboolean lr_test_party_pair_is_direct (LrTestParty *fixture);
/* @count pings every 10 ms from @from to @to's virtual address, in the background. */
GSubprocess *lr_test_party_pings_start (LrTestPartyHost *from, LrTestPartyHost *to, guint count);
/* Waits for them to end: the longest run of lost pings and, in @last, the last answered. */
guint lr_test_party_pings_finish (GSubprocess *ping, guint count, guint *last);

/* The direct-path case (@data: an LrTestPartyCase): where hole punching can work both peer
 * objects go "direct", elsewhere they stay "relayed" and keep trying; pings cross either
 * way; with failover, a cut of the direct path falls back and recovers. */
void lr_test_party_test_direct (LrTestParty *fixture, gconstpointer data);

G_END_DECLS
