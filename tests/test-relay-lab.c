/* test-relay-lab.c: lanrage-relay's RFC 5780 discovery behind real NATs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A network-namespace lab (../shared/LAB.md): the relay in "srv" with two addresses on the
 * fake internet 198.18.0.0/15, a router "rtr" doing nftables NAT of one kind, and a client
 * "cli" on 192.168.1.0/24 behind it. coturn's turnutils_natdiscovery, run in the client,
 * must classify each NAT as it is built. Needs root, namespaces, nft and coturn; skips
 * (exit 77) otherwise.
 */
#include "lr-error.h"
#include "lr-test-lab.h"

#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  char        *srv;
  char        *rtr;
  char        *cli;
  GSubprocess *relay;
} Lab;

#define RUN(...) \
  G_STMT_START { \
    g_autoptr(GError) run_error = NULL; \
    lr_test_lab_run (NULL, NULL, &run_error, __VA_ARGS__, NULL); \
    g_assert_no_error (run_error); \
  } G_STMT_END

static void
lab_set_up (Lab           *lab,
            gconstpointer  data)
{
  const LrTestNat *type = data;
  g_autoptr(GError) error = NULL;
  guint pid = getpid ();

  lab->srv = g_strdup_printf ("lrrlab-srv-%u", pid);
  lab->rtr = g_strdup_printf ("lrrlab-rtr-%u", pid);
  lab->cli = g_strdup_printf ("lrrlab-cli-%u", pid);
  RUN ("ip", "netns", "add", lab->srv);
  RUN ("ip", "netns", "add", lab->rtr);
  RUN ("ip", "netns", "add", lab->cli);
  /* Veths are created straight inside the namespaces: the root namespace is never touched. */
  RUN ("ip", "-n", lab->srv, "link", "add", "wan0", "type", "veth", "peer", "name", "wan",
       "netns", lab->rtr);
  RUN ("ip", "-n", lab->rtr, "link", "add", "lan", "type", "veth", "peer", "name", "eth0",
       "netns", lab->cli);
  RUN ("ip", "-n", lab->srv, "addr", "add", "198.18.0.1/24", "dev", "wan0");
  RUN ("ip", "-n", lab->srv, "addr", "add", "198.18.0.2/24", "dev", "wan0");
  RUN ("ip", "-n", lab->rtr, "addr", "add", "198.18.0.11/24", "dev", "wan");
  RUN ("ip", "-n", lab->rtr, "addr", "add", "192.168.1.1/24", "dev", "lan");
  RUN ("ip", "-n", lab->cli, "addr", "add", "192.168.1.2/24", "dev", "eth0");
  RUN ("ip", "-n", lab->srv, "link", "set", "wan0", "up");
  RUN ("ip", "-n", lab->rtr, "link", "set", "wan", "up");
  RUN ("ip", "-n", lab->rtr, "link", "set", "lan", "up");
  RUN ("ip", "-n", lab->cli, "link", "set", "eth0", "up");
  RUN ("ip", "-n", lab->srv, "link", "set", "lo", "up");
  RUN ("ip", "-n", lab->cli, "route", "add", "default", "via", "192.168.1.1");
  RUN ("ip", "netns", "exec", lab->rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1");
  lr_test_lab_run (type->rules, NULL, &error, "ip", "netns", "exec", lab->rtr, "nft", "-f",
                   "-", NULL);
  g_assert_no_error (error);
}

static void
lab_tear_down (Lab           *lab,
               gconstpointer  data)
{
  if (lab->relay != NULL)
    {
      g_subprocess_send_signal (lab->relay, SIGTERM);
      g_subprocess_wait (lab->relay, NULL, NULL);
      g_clear_object (&lab->relay);
    }
  lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "del", lab->cli, NULL);
  lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "del", lab->rtr, NULL);
  lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "del", lab->srv, NULL);
  g_free (lab->srv);
  g_free (lab->rtr);
  g_free (lab->cli);
}

static void
test_natdiscovery (Lab           *lab,
                   gconstpointer  data)
{
  const LrTestNat *type = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autofree char *report = NULL;
  g_autofree char *mapping = g_strdup_printf ("NAT with %s!", type->mapping);
  g_autofree char *filtering = g_strdup_printf ("NAT with %s!", type->filtering);

  lab->relay = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "ip", "netns", "exec",
                                 lab->srv, g_getenv ("LANRAGE_RELAY"), "--listen",
                                 "198.18.0.1:3478", "--alt-address", "198.18.0.2:3479",
                                 "--threads", "1", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (lab->relay));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_cmpstr (line, ==, "Listening on 198.18.0.1:3478");

  lr_test_lab_run (NULL, &report, &error, "ip", "netns", "exec", lab->cli,
                   "turnutils_natdiscovery", "-m", "-f", "-p", "3478", "198.18.0.1", NULL);
  g_assert_no_error (error);
  g_test_message ("%s: %s", type->name, report);
  g_assert_nonnull (strstr (report, mapping));
  g_assert_nonnull (strstr (report, filtering));
}

int
main (int   argc,
      char *argv[])
{
  gboolean tap = FALSE;
  static const char * const programs[] = { "ip", "nft", "turnutils_natdiscovery", NULL };
  const char *reason;

  for (int i = 1; i < argc; i++)
    tap |= g_str_equal (argv[i], "--tap");
  g_test_init (&argc, &argv, NULL);
  lr_init ();

  /* Skipping: the automake convention is exit status 77, but meson 1.0 counts any non-zero
   * status of a TAP test as an error, so under --tap the plan "1..0 # SKIP" says it. */
  reason = lr_test_lab_cannot_run (programs);
  if (reason != NULL)
    {
      g_print ("1..0 # SKIP %s\n", reason);
      return tap ? 0 : 77;
    }

  for (guint i = 0; i < lr_test_n_nats; i++)
    {
      g_autofree char *path = g_strdup_printf ("/relay/lab/natdiscovery/%s", lr_test_nats[i].name);

      g_test_add (path, Lab, &lr_test_nats[i], lab_set_up, test_natdiscovery, lab_tear_down);
    }

  return g_test_run ();
}
