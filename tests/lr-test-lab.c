/* lr-test-lab.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "lr-test-lab.h"

#include "lr-error.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Measured behaviour of each rule set is in LAB.md. The translated port-restricted NAT moves
 * only UDP's ports into its range (a flushed conntrack table gives WireGuard's port another
 * one); everything else, the control server's TCP included, is masqueraded as usual. Full
 * and restricted cone keep a dynamic map from the mapped port (and, for restricted cone,
 * the remote address) to the inside address, filled after SNAT from the conntrack tuples,
 * and DNAT unsolicited inbound datagrams through it. */
static const char port_restricted_rules[] =
  "table ip nat {\n"
  "  chain post { type nat hook postrouting priority srcnat; oifname \"wan\" masquerade; }\n"
  "}\n";

const LrTestNat lr_test_nats[] = {
  { "port-restricted", port_restricted_rules,
    "Endpoint Independent Mapping", "Address and Port Dependent Filtering" },
  { "port-restricted-translated",
    "table ip nat {\n"
    "  chain post { type nat hook postrouting priority srcnat; "
    "oifname \"wan\" meta l4proto udp masquerade to :20000-29999; "
    "oifname \"wan\" masquerade; }\n"
    "}\n",
    "Endpoint Independent Mapping", "Address and Port Dependent Filtering" },
  { "symmetric",
    "table ip nat {\n"
    "  chain post { type nat hook postrouting priority srcnat; "
    "oifname \"wan\" masquerade random; }\n"
    "}\n",
    "Address and Port Dependent Mapping", "Address and Port Dependent Filtering" },
  { "full-cone",
    "table ip nat {\n"
    "  map cone { type inet_service : ipv4_addr . inet_service; flags dynamic,timeout; "
    "timeout 60s; }\n"
    "  chain pre { type nat hook prerouting priority dstnat; "
    "iifname \"wan\" dnat ip to udp dport map @cone; }\n"
    "  chain post { type nat hook postrouting priority srcnat; oifname \"wan\" masquerade; }\n"
    "  chain track { type filter hook postrouting priority srcnat + 10; "
    "oifname \"wan\" meta l4proto udp "
    "update @cone { ct reply proto-dst : ct original ip saddr . ct original proto-src }; }\n"
    "}\n",
    "Endpoint Independent Mapping", "Endpoint Independent Filtering" },
  { "restricted-cone",
    "table ip nat {\n"
    "  map cone { type inet_service . ipv4_addr : ipv4_addr . inet_service; "
    "flags dynamic,timeout; timeout 60s; }\n"
    "  chain pre { type nat hook prerouting priority dstnat; "
    "iifname \"wan\" dnat ip to udp dport . ip saddr map @cone; }\n"
    "  chain post { type nat hook postrouting priority srcnat; oifname \"wan\" masquerade; }\n"
    "  chain track { type filter hook postrouting priority srcnat + 10; "
    "oifname \"wan\" meta l4proto udp update @cone "
    "{ ct reply proto-dst . ip daddr : ct original ip saddr . ct original proto-src }; }\n"
    "}\n",
    "Endpoint Independent Mapping", "Address Dependent Filtering" },
};
const guint lr_test_n_nats = G_N_ELEMENTS (lr_test_nats);

/* Port-restricted, on a router without home_router_input (below). Not in lr_test_nats: an
 * RFC 5780 detector cannot tell it from "port-restricted", only hole punching can. */
const LrTestNat lr_test_nat_hostile = {
  "hostile", port_restricted_rules,
  "Endpoint Independent Mapping", "Address and Port Dependent Filtering", TRUE
};

/* A typical home router: nothing from the WAN may open a connection to the router itself.
 * Without it a stale conntrack entry can move a mapping mid-punch (LAB.md). */
static const char home_router_input[] =
  "table inet filter {\n"
  "  chain input { type filter hook input priority filter; "
  "iifname \"wan\" meta l4proto { tcp, udp } ct state new drop; }\n"
  "}\n";

const LrTestNat *
lr_test_nat_find (const char *name)
{
  for (guint i = 0; i < lr_test_n_nats; i++)
    if (g_str_equal (lr_test_nats[i].name, name))
      return &lr_test_nats[i];
  if (g_str_equal (lr_test_nat_hostile.name, name))
    return &lr_test_nat_hostile;
  g_assert_not_reached ();
}

gboolean
lr_test_lab_run (const char  *stdin_text,
                 char       **stdout_text,
                 GError     **error,
                 const char  *first_arg,
                 ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *err = NULL;
  va_list args;
  const char *arg;

  g_ptr_array_add (argv, (char *) first_arg);
  va_start (args, first_arg);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
  if (process == NULL ||
      !g_subprocess_communicate_utf8 (process, stdin_text, NULL, stdout_text, &err, error))
    return FALSE;
  if (!g_subprocess_get_successful (process))
    {
      g_autofree char *command = g_strjoinv (" ", (char **) argv->pdata);

      g_set_error (error, LR_ERROR, LR_ERROR_FAILED, "%s failed: %s", command,
                   err != NULL ? g_strstrip (err) : "");
      return FALSE;
    }
  return TRUE;
}

#define RUN(...) LR_TEST_LAB_RUN (__VA_ARGS__)

/* The test's temporary files go to a tmpfs of its own (TMPDIR), not over /tmp itself: the
 * build, and so the binaries the test starts, may well live under /tmp (a CI checkout). */
#define PRIVATE_TMPDIR "/run/lanrage-lab-tmp"

gboolean
lr_test_lab_enter_private_run (gboolean private_tmp)
{
  static const char * const paths[] = { "/run/wireguard", "/run/netns", PRIVATE_TMPDIR };

  if (unshare (CLONE_NEWNS) != 0 ||
      mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      /* The temporary folder is shared by every user the test runs, so sticky. */
      const char *mode = i == 2 ? "mode=1777" : "mode=0755";

      if (i == 2 && !private_tmp)
        continue;
      g_mkdir_with_parents (paths[i], 0755);
      if (mount ("tmpfs", paths[i], "tmpfs", MS_NOSUID | MS_NODEV, mode) != 0)
        return FALSE;
    }
  /* Before anything asks GLib for the temporary folder (it caches the answer). */
  if (private_tmp)
    g_setenv ("TMPDIR", PRIVATE_TMPDIR, TRUE);
  return TRUE;
}

const char *
lr_test_lab_cannot_run (const char * const *programs)
{
  g_autofree char *name = g_strdup_printf ("lrlab-probe-%u", (guint) getpid ());

  if (g_getenv ("LANRAGE_NO_LAB") != NULL)
    return "LANRAGE_NO_LAB is set";
  if (getuid () != 0)
    return "needs root for network namespaces";
  for (guint i = 0; programs != NULL && programs[i] != NULL; i++)
    {
      g_autofree char *path = g_find_program_in_path (programs[i]);

      if (path == NULL)
        return "a program the lab needs is missing (tools/install-deps)";
    }
  if (!lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "add", name, NULL))
    return "cannot create a network namespace here";
  lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "del", name, NULL);
  return NULL;
}

const char *
lr_test_lab_prepare (const char * const *programs)
{
  const char *reason = lr_test_lab_cannot_run (programs);

  if (reason != NULL)
    return reason;
  if (!lr_test_lab_enter_private_run (TRUE))
    return "cannot make a private mount namespace";
  return NULL;
}

/* Between fork and exec: only async-signal-safe calls. */
void
lr_test_lab_child_setup (gpointer netns_fd)
{
  static const char failure[] = "lr-test-lab: cannot enter the network namespace\n";
  int fd = GPOINTER_TO_INT (netns_fd);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (fd >= 0 && setns (fd, CLONE_NEWNET) != 0)
    {
      if (write (STDERR_FILENO, failure, sizeof failure - 1) < 0)
        _exit (126);
      _exit (126);
    }
}

int
lr_test_lab_open_netns (const char *name)
{
  g_autofree char *path = g_build_filename ("/run/netns", name, NULL);

  return open (path, O_RDONLY | O_CLOEXEC);
}

GSubprocess *
lr_test_lab_spawn (const char         *netns,
                   const char * const *argv,
                   const char         *log_path,
                   GSubprocessFlags    flags)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;
  int netns_fd = -1;

  if (netns != NULL)
    {
      netns_fd = lr_test_lab_open_netns (netns);
      g_assert_cmpint (netns_fd, >=, 0);
    }
  if (log_path != NULL)
    {
      int log_fd = g_open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

      g_assert_cmpint (log_fd, >=, 0);
      if (!(flags & G_SUBPROCESS_FLAGS_STDOUT_PIPE))
        g_subprocess_launcher_take_stdout_fd (launcher, dup (log_fd));
      g_subprocess_launcher_take_stderr_fd (launcher, log_fd);
    }
  g_subprocess_launcher_set_child_setup (launcher, lr_test_lab_child_setup,
                                         GINT_TO_POINTER (netns_fd), NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  if (netns_fd >= 0)
    close (netns_fd);
  g_assert_no_error (error);
  return process;
}

void
lr_test_lab_stop (GSubprocess **process)
{
  if (*process == NULL)
    return;
  g_subprocess_send_signal (*process, SIGTERM);
  g_subprocess_wait (*process, NULL, NULL);
  g_clear_object (process);
}

void
lr_test_lab_flush_log (const char *log_path)
{
  g_autofree char *log = NULL;

  if (g_test_failed () && g_file_get_contents (log_path, &log, NULL, NULL))
    g_test_message ("log of the lab's processes:\n%s", log);
  g_unlink (log_path);
}

gint64
lr_test_lab_ping_until (const char *netns,
                        const char *address,
                        guint       timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      /* -w 1 keeps sending (every 20 ms) until the first reply or a second has passed;
       * "Network is unreachable" (no interface yet) makes ping exit at once. */
      if (lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "exec", netns, "ping", "-n", "-q",
                           "-c", "1", "-w", "1", "-i", "0.02", address, NULL))
        return g_get_monotonic_time ();
      g_usleep (20000);
    }
  return 0;
}

guint
lr_test_lab_longest_gap (const char *ping_output,
                         guint       count,
                         guint      *last)
{
  g_autofree gboolean *answered = g_new0 (gboolean, count + 1);
  g_auto(GStrv) lines = g_strsplit (ping_output, "\n", -1);
  guint run = 0, longest = 0;

  *last = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *seq = strstr (lines[i], "icmp_seq=");
      guint64 n;

      if (seq == NULL || strstr (lines[i], "bytes from") == NULL)
        continue;
      n = g_ascii_strtoull (seq + strlen ("icmp_seq="), NULL, 10);
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

void
lr_test_lab_cut (const char *router,
                 const char *address,
                 gboolean    on)
{
  g_autofree char *rule = g_strdup_printf ("table inet lrcut {\n"
                                           "  chain forward { type filter hook forward "
                                           "priority -10; ip saddr %s drop; ip daddr %s "
                                           "drop; }\n"
                                           "}\n", address, address);
  g_autoptr(GError) error = NULL;

  if (on)
    lr_test_lab_run (rule, NULL, &error, "ip", "netns", "exec", router, "nft", "-f", "-",
                     NULL);
  else
    lr_test_lab_run (NULL, NULL, &error, "ip", "netns", "exec", router, "nft", "delete",
                     "table", "inet", "lrcut", NULL);
  g_assert_no_error (error);
}

/* The lab */

struct _LrTestLab
{
  char      *prefix;
  char      *internet;
  GPtrArray *namespaces;   /* every namespace made, in order */
};

static const char *
add_namespace (LrTestLab  *self,
               const char *suffix)
{
  char *name = g_strdup_printf ("%s-%s", self->prefix, suffix);

  RUN ("ip", "netns", "add", name);
  g_ptr_array_add (self->namespaces, name);
  RUN ("ip", "-n", name, "link", "set", "lo", "up");
  return name;
}

LrTestLab *
lr_test_lab_new (const char *prefix)
{
  LrTestLab *self = g_new0 (LrTestLab, 1);

  self->prefix = g_strdup (prefix);
  self->namespaces = g_ptr_array_new_with_free_func (g_free);
  self->internet = g_strdup (add_namespace (self, "inet"));
  /* One segment for the whole internet: routers reach the servers and each other. */
  RUN ("ip", "-n", self->internet, "link", "add", "br0", "type", "bridge");
  RUN ("ip", "-n", self->internet, "addr", "add", LR_TEST_LAB_SERVER_ADDRESS "/24", "dev",
       "br0");
  RUN ("ip", "-n", self->internet, "link", "set", "br0", "up");
  return self;
}

void
lr_test_lab_free (LrTestLab *self)
{
  if (self == NULL)
    return;
  /* Hosts first, the internet last. */
  for (guint i = self->namespaces->len; i > 0; i--)
    lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "del",
                     (const char *) self->namespaces->pdata[i - 1], NULL);
  g_ptr_array_unref (self->namespaces);
  g_free (self->internet);
  g_free (self->prefix);
  g_free (self);
}

const char *
lr_test_lab_get_internet (LrTestLab *self)
{
  return self->internet;
}

char *
lr_test_lab_host_public_address (guint index)
{
  return g_strdup_printf ("198.18.0.%u", 10 + index);
}

char *
lr_test_lab_router_name (LrTestLab *self,
                         guint      index)
{
  return g_strdup_printf ("%s-r%u", self->prefix, index);
}

const char *
lr_test_lab_add_host (LrTestLab       *self,
                      guint            index,
                      const LrTestNat *nat)
{
  g_autofree char *router_suffix = g_strdup_printf ("r%u", index);
  g_autofree char *host_suffix = g_strdup_printf ("h%u", index);
  g_autofree char *port = g_strdup_printf ("port%u", index);
  g_autofree char *wan = NULL;
  g_autofree char *lan = g_strdup_printf ("192.168.%u.1/24", index);
  g_autofree char *inside = g_strdup_printf ("192.168.%u.2/24", index);
  g_autofree char *gateway = g_strdup_printf ("192.168.%u.1", index);
  g_autofree char *public_address = lr_test_lab_host_public_address (index);
  g_autoptr(GError) error = NULL;
  const char *router;
  const char *host;

  g_assert_cmpuint (index, >=, 1);
  g_assert_cmpuint (index, <=, 200);
  wan = g_strdup_printf ("%s/24", public_address);
  router = add_namespace (self, router_suffix);
  host = add_namespace (self, host_suffix);

  /* Veths are created straight inside the namespaces: the root namespace is never touched. */
  RUN ("ip", "-n", self->internet, "link", "add", port, "type", "veth", "peer", "name", "wan",
       "netns", router);
  RUN ("ip", "-n", self->internet, "link", "set", port, "master", "br0", "up");
  RUN ("ip", "-n", router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0",
       "netns", host);
  RUN ("ip", "-n", router, "addr", "add", wan, "dev", "wan");
  RUN ("ip", "-n", router, "addr", "add", lan, "dev", "lan");
  RUN ("ip", "-n", host, "addr", "add", inside, "dev", "eth0");
  RUN ("ip", "-n", router, "link", "set", "wan", "up");
  RUN ("ip", "-n", router, "link", "set", "lan", "up");
  RUN ("ip", "-n", host, "link", "set", "eth0", "up");
  RUN ("ip", "-n", host, "route", "add", "default", "via", gateway);
  RUN ("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
  lr_test_lab_run (nat->rules, NULL, &error, "ip", "netns", "exec", router, "nft", "-f", "-",
                   NULL);
  g_assert_no_error (error);
  if (!nat->hostile)
    lr_test_lab_run (home_router_input, NULL, &error, "ip", "netns", "exec", router, "nft", "-f",
                     "-", NULL);
  g_assert_no_error (error);
  return host;
}

const char *
lr_test_lab_add_neighbour (LrTestLab *self,
                           guint      index,
                           guint      lan)
{
  g_autofree char *router = lr_test_lab_router_name (self, lan);
  g_autofree char *host_suffix = g_strdup_printf ("h%u", index);
  g_autofree char *port = g_strdup_printf ("lan%u", index);
  g_autofree char *gateway = g_strdup_printf ("192.168.%u.1", lan);
  g_autofree char *gateway_prefix = g_strdup_printf ("%s/24", gateway);
  g_autofree char *inside = g_strdup_printf ("192.168.%u.%u/24", lan, index + 1);
  const char *host;

  g_assert_cmpuint (index, >=, 1);
  g_assert_cmpuint (index, <=, 200);
  g_assert_cmpuint (index, !=, lan);

  /* The first neighbour turns the router's LAN port into a bridge holding the gateway
   * address; the veth to the first host becomes one of its ports. */
  if (!lr_test_lab_run (NULL, NULL, NULL, "ip", "-n", router, "link", "show", "lanbr", NULL))
    {
      RUN ("ip", "-n", router, "link", "add", "lanbr", "type", "bridge");
      RUN ("ip", "-n", router, "addr", "del", gateway_prefix, "dev", "lan");
      RUN ("ip", "-n", router, "link", "set", "lan", "master", "lanbr");
      RUN ("ip", "-n", router, "addr", "add", gateway_prefix, "dev", "lanbr");
      RUN ("ip", "-n", router, "link", "set", "lanbr", "up");
    }

  host = add_namespace (self, host_suffix);
  RUN ("ip", "-n", router, "link", "add", port, "type", "veth", "peer", "name", "eth0",
       "netns", host);
  RUN ("ip", "-n", router, "link", "set", port, "master", "lanbr", "up");
  RUN ("ip", "-n", host, "addr", "add", inside, "dev", "eth0");
  RUN ("ip", "-n", host, "link", "set", "eth0", "up");
  RUN ("ip", "-n", host, "route", "add", "default", "via", gateway);
  return host;
}

void
lr_test_lab_kill_stragglers (LrTestLab *self)
{
  g_autoptr(GArray) inodes = g_array_new (FALSE, FALSE, sizeof (struct stat));
  g_autoptr(GDir) dir = NULL;
  const char *name;
  guint killed = 0;

  for (guint i = 0; i < self->namespaces->len; i++)
    {
      g_autofree char *path = g_build_filename ("/run/netns", self->namespaces->pdata[i],
                                                NULL);
      struct stat buf;

      if (stat (path, &buf) == 0)
        g_array_append_val (inodes, buf);
    }

  dir = g_dir_open ("/proc", 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      struct stat buf;
      int pid;

      if (!g_ascii_isdigit (name[0]))
        continue;
      pid = atoi (name);
      path = g_strdup_printf ("/proc/%d/ns/net", pid);
      if (pid == getpid () || stat (path, &buf) != 0)
        continue;
      for (guint i = 0; i < inodes->len; i++)
        {
          const struct stat *ns = &g_array_index (inodes, struct stat, i);

          if (ns->st_dev == buf.st_dev && ns->st_ino == buf.st_ino)
            {
              g_autofree char *comm_path = g_strdup_printf ("/proc/%d/comm", pid);
              g_autofree char *comm = NULL;

              g_file_get_contents (comm_path, &comm, NULL, NULL);
              g_test_message ("lr-test-lab: killing pid %d (%s), left in the lab", pid,
                              comm != NULL ? g_strstrip (comm) : "?");
              kill (pid, SIGKILL);
              killed++;
              break;
            }
        }
    }
  /* Only the lab's own processes are in its namespaces: everything else is untouched. */
  if (killed > 0)
    g_usleep (50000);
}
