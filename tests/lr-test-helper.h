/* lr-test-helper.h: a private system bus with a real polkitd, and real lanrage-helpers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For the `helper` suite (issue 4). Everything here is real: dbus-daemon with a system-like
 * configuration on a socket of the test's own, polkitd on that bus (in a mount namespace of
 * its own, where the test's policy and rules folders are bind-mounted over the system's, so
 * the machine's folders are never written), lanrage-helper from the build, lanragectl run
 * as root or as another user. Needs root (polkitd, mount namespaces, switching users):
 * without it a test program prints why and exits 77.
 */
#pragma once

#include <sys/types.h>

#include "lr-test-control.h"
#include "lrd-dbus-generated.h"

G_BEGIN_DECLS

#define LR_TEST_HELPER_BUS_NAME   "io.lanrage.Helper1"
/* The second helper of a test: the test bus configuration lets root own it. */
#define LR_TEST_HELPER_BUS_NAME_2 "io.lanrage.Helper1.Test2"
#define LR_TEST_HELPER_TIMEOUT_MS 5000

/* Exits 77 with the reason unless the test runs as root. Call before g_test_run(). */
void lr_test_helper_require_root (void);
/* Moves the test program into a network and mount namespace of its own (loopback up, a
 * tmpfs on /run/wireguard), where its helpers' WireGuard interfaces live and die. Call at
 * the start of main(), before GLib starts a thread. */
void lr_test_helper_isolate (void);

typedef struct _LrTestBus LrTestBus;

LrTestBus       *lr_test_bus_new            (void);
void             lr_test_bus_free           (LrTestBus   *self);
const char      *lr_test_bus_get_address    (LrTestBus   *self);
const char      *lr_test_bus_get_tmpdir     (LrTestBus   *self);
GDBusConnection *lr_test_bus_get_connection (LrTestBus   *self);
/* Writes a rules.d file (atomically) that grants io.lanrage.helper.join to @user. */
void             lr_test_bus_grant_join     (LrTestBus   *self,
                                             const char  *user);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrTestBus, lr_test_bus_free)

typedef struct _LrTestHelper LrTestHelper;

LrTestHelper *lr_test_helper_new        (LrTestBus    *bus,
                                         const char   *control_url,
                                         const char   *bus_name);
/* For the next start: run the helper in the network namespace @netns (from `ip netns add`;
 * NULL: the test's own). Whatever it spawns (wireguard-go) lives there too. */
void          lr_test_helper_set_netns  (LrTestHelper *self,
                                         const char   *netns);
/* Replaces the helper's configuration file (a [helper] keyfile, helper/lrd-config.h) with
 * @config, for the next start. The default names control-url, backend=auto, and an
 * interface and port of the helper's own (lr_test_helper_get_interface() names the default's). */
void          lr_test_helper_set_config (LrTestHelper *self,
                                         const char   *config);
void          lr_test_helper_start      (LrTestHelper *self);
void          lr_test_helper_stop       (LrTestHelper *self);
void          lr_test_helper_free       (LrTestHelper *self);
const char   *lr_test_helper_get_bus_name  (LrTestHelper *self);
const char   *lr_test_helper_get_state_dir (LrTestHelper *self);
/* The WireGuard interface its configuration names (unique within the test program). */
const char   *lr_test_helper_get_interface (LrTestHelper *self);
/* The running helper's pid (0 once it exited). */
GPid          lr_test_helper_get_pid    (LrTestHelper *self);
LrdHelper1   *lr_test_helper_get_proxy  (LrTestHelper *self);
GDBusObjectManager *lr_test_helper_get_manager (LrTestHelper *self);
char         *lr_test_helper_get_log    (LrTestHelper *self);
/* Waits (iterating the default context) until the helper's State is @state. */
void          lr_test_helper_wait_state (LrTestHelper *self,
                                         const char   *state);
/* Waits until the helper exports exactly @count peer objects. */
void          lr_test_helper_wait_peers (LrTestHelper *self,
                                         guint         count);
/* The exported peer whose VirtualAddress is @address, or NULL. */
LrdHelper1Peer *lr_test_helper_find_peer (LrTestHelper *self,
                                          const char   *address);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrTestHelper, lr_test_helper_free)

/* Runs lanragectl with @argv (NULL-terminated, without the program) against @bus_name,
 * as @user (NULL: root). Returns its exit status; its output in @out_stdout/@out_stderr. */
int  lr_test_ctl_run (LrTestBus          *bus,
                      const char         *bus_name,
                      const char         *user,
                      const char * const *argv,
                      char              **out_stdout,
                      char              **out_stderr);

/* Starts @argv as @user (NULL: root) with @env (NULL-terminated "NAME=VALUE" pairs added to
 * the test's own), its output into @log_path; it dies with the test. */
GSubprocess *lr_test_spawn_as (const char         *user,
                               const char * const *env,
                               const char * const *argv,
                               const char         *log_path,
                               GSubprocessFlags    flags);

/* Waits up to @timeout_ms, iterating the default context, until @check returns TRUE. */
gboolean lr_test_wait_for (gboolean (*check) (gpointer data),
                           gpointer  data,
                           guint     timeout_ms);

G_END_DECLS

G_BEGIN_DECLS

/* The fixture of the helper tests: lanrage-control, the private bus with polkitd, and one
 * helper that owns io.lanrage.Helper1 and talks to that server. */
typedef struct
{
  LrTestServer *server;
  LrTestBus    *bus;
  LrTestHelper *helper;
} LrTestHelperFixture;

void lr_test_helper_fixture_setup    (LrTestHelperFixture *fixture,
                                      gconstpointer        data);
void lr_test_helper_fixture_teardown (LrTestHelperFixture *fixture,
                                      gconstpointer        data);

/* Moves the server to a fixed port (the one it has now), so a restart keeps its URL. */
void lr_test_server_pin_port (LrTestServer *server);

G_END_DECLS
