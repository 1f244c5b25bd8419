/* lr-test-lab.h: a network-namespace NAT lab for the `lab` suite
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The lab of ../shared/LAB.md: a fake internet (198.18.0.0/24 on a bridge in its own
 * namespace, where the servers live on 198.18.0.1) and hosts, each on 192.168.N.0/24 behind
 * a router namespace doing nftables NAT of one kind. Tests may run `ip`, `nft` and `ping` to
 * build and check the lab; the code under test may not (STYLE.md).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The servers' address on the fake internet (in the lab's internet namespace). */
#define LR_TEST_LAB_SERVER_ADDRESS "198.18.0.1"

typedef struct
{
  const char *name;
  const char *rules;       /* nft -f input for the router namespace */
  const char *mapping;     /* what an RFC 5780 detector (coturn) calls its behaviour */
  const char *filtering;
  gboolean    hostile;     /* the router lacks a home router's input drop rule (LAB.md) */
} LrTestNat;

/* port-restricted, port-restricted-translated (UDP's public port moved into 20000-29999),
 * symmetric, full-cone, restricted-cone; measured as LAB.md says. */
extern const LrTestNat lr_test_nats[];
extern const guint     lr_test_n_nats;
/* "hostile": port-restricted on a router without the input drop rule of a typical home
 * router, where a stale conntrack entry can move a mapping mid-punch (LAB.md). */
extern const LrTestNat lr_test_nat_hostile;

const LrTestNat *lr_test_nat_find (const char *name);

/* Runs a program (NULL-terminated arguments) with @stdin_text on its standard input;
 * fails with its standard error unless it exits 0. */
gboolean lr_test_lab_run (const char  *stdin_text,
                          char       **stdout_text,
                          GError     **error,
                          const char  *first_arg,
                          ...) G_GNUC_NULL_TERMINATED;

/* lr_test_lab_run() with no input or output that must succeed. */
#define LR_TEST_LAB_RUN(...) \
  G_STMT_START { \
    g_autoptr(GError) run_error = NULL; \
    lr_test_lab_run (NULL, NULL, &run_error, __VA_ARGS__, NULL); \
    g_assert_no_error (run_error); \
  } G_STMT_END

/* A private mount namespace with its own tmpfs on /run/netns and /run/wireguard (and, with
 * @private_tmp, a tmpfs of its own as TMPDIR), so nothing the lab makes is seen by or left
 * on the machine, even if the test crashes. Must run before GLib starts any thread. */
gboolean lr_test_lab_enter_private_run (gboolean private_tmp);

/* Why the lab cannot run here (not root, a missing program, no namespaces), or NULL. */
const char *lr_test_lab_cannot_run (const char * const *programs);

/* For a lab test's main(), before GLib starts any thread: why the lab cannot run here
 * (lr_test_lab_cannot_run), or NULL once the test is in a private mount namespace with a
 * temporary folder of its own (lr_test_lab_enter_private_run). */
const char *lr_test_lab_prepare (const char * const *programs);

/* A child-setup function for GSubprocessLauncher: dies with the test
 * (PR_SET_PDEATHSIG) and, when @netns_fd (GINT_TO_POINTER of an fd from
 * lr_test_lab_open_netns, or -1) is not -1, enters that network namespace. */
void lr_test_lab_child_setup (gpointer netns_fd);

/* An O_CLOEXEC fd on /run/netns/@name, or -1. */
int  lr_test_lab_open_netns  (const char *name);

/* Starts @argv in the network namespace @netns (NULL: the test's own), its standard error
 * (and standard output unless @flags pipes it) appended to @log_path; it dies with the
 * test. */
GSubprocess *lr_test_lab_spawn (const char         *netns,
                                const char * const *argv,
                                const char         *log_path,
                                GSubprocessFlags    flags);

/* Stops a process from lr_test_lab_spawn (SIGTERM, then waits) and clears the pointer. */
void         lr_test_lab_stop      (GSubprocess **process);

/* Shows the log at @log_path as test messages when the test failed; removes it either way. */
void         lr_test_lab_flush_log (const char   *log_path);

/* Pings @address from the namespace @netns until a reply comes or @timeout_ms passes.
 * Returns the monotonic time of the reply, or 0. */
gint64 lr_test_lab_ping_until  (const char *netns,
                                const char *address,
                                guint       timeout_ms);

/* The longest run of unanswered pings in the output of `ping -c @count` (seq 1 to @count),
 * in pings; @last gives the highest sequence number answered. */
guint  lr_test_lab_longest_gap (const char *ping_output,
                                guint       count,
                                guint      *last);

/* Cuts (@on) or mends the router namespace @router's forwarding to and from @address: an
 * nftables table "lrcut" that drops both ways, as a broken path would. */
void   lr_test_lab_cut         (const char *router,
                                const char *address,
                                gboolean    on);

typedef struct _LrTestLab LrTestLab;

/* The internet namespace "@prefix-inet" with its bridge and LR_TEST_LAB_SERVER_ADDRESS. */
LrTestLab  *lr_test_lab_new          (const char      *prefix);
/* Deletes every namespace of the lab; processes still in them lose their links. */
void        lr_test_lab_free         (LrTestLab       *self);
const char *lr_test_lab_get_internet (LrTestLab       *self);
/* Adds host @index (1..200): "@prefix-rINDEX" with WAN address 198.18.0.(10 + @index) and
 * the NAT @nat (with the input rule of a typical home router, LAB.md, unless @nat is
 * hostile), and behind it "@prefix-hINDEX" with 192.168.INDEX.2. Returns the host's namespace name. */
const char *lr_test_lab_add_host     (LrTestLab       *self,
                                      guint            index,
                                      const LrTestNat *nat);
/* Adds host @index (1..200, a host number no lab host has yet) on the LAN of host @lan's
 * router, as a second machine at home behind the same NAT: "@prefix-hINDEX" with
 * 192.168.LAN.(@index + 1). The router's LAN becomes a bridge (a home router's switch), so
 * the hosts behind it reach each other without the NAT. Returns the host's namespace. */
const char *lr_test_lab_add_neighbour (LrTestLab      *self,
                                       guint           index,
                                       guint           lan);
/* Kills (SIGKILL) every process still living in one of the lab's namespaces, saying which:
 * what a process under test started and left behind must not outlive the test. */
void        lr_test_lab_kill_stragglers (LrTestLab    *self);
/* The WAN (public) address of host @index's router. */
char       *lr_test_lab_host_public_address (guint index);
/* The namespace of host @index's NAT router (from lr_test_lab_add_host); free it. */
char       *lr_test_lab_router_name (LrTestLab *self,
                                     guint      index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrTestLab, lr_test_lab_free)

G_END_DECLS
