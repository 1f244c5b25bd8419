/* lan.c: what bridging LAN discovery costs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Eight hosts in network namespaces, each behind a NAT with a real wireguard-go, all peers
 * of each other (lrd-lan-test-util.h). Two numbers:
 *
 *   - latency: a program on A broadcasts, a program on B receives it through A's and B's
 *     bridges; against the same program sending unicast UDP to B's virtual address, the
 *     same tunnel without the bridge. One process holds both ends, so one-way times are
 *     read on one clock; both bridges share its main loop, as two helpers would not.
 *     200 samples of each, 10 ms apart.
 *   - CPU: A's bridge alone (B's is gone) carries a 50 datagram/s announcement to its 7
 *     members for 10 s; the process's CPU time over wall time is the bridge's cost (the
 *     program's 50 sends a second are in it too; WireGuard's work is wireguard-go's).
 *
 * Needs root. Run with: meson test -C build --benchmark lan --verbose
 */
#include "lrd-lan-bridge.h"
#include "lrd-lan-test-util.h"
#include "lrd-test-util.h"

#include <glib-unix.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define N_HOSTS   8
#define N_SAMPLES 200

static gboolean
ready_cb (int           fd,
          GIOCondition  condition,
          gpointer      user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Sends on @from, runs the main loop (the bridges) until @to is readable; microseconds,
 * or -1 after a second. */
static gint64
one_way_us (int      from,
            int      to,
            guint32  destination,
            guint16  port)
{
  static const char payload[] = "[MOTD]Latency[/MOTD][AD]41234[/AD]";
  gboolean ready = FALSE, timed_out = FALSE;
  guint watch = g_unix_fd_add (to, G_IO_IN, ready_cb, &ready);
  guint timeout = g_timeout_add (1000, timeout_cb, &timed_out);
  gint64 start = g_get_monotonic_time ();
  gint64 end;
  guint8 buffer[256];

  lrd_lan_test_program_send (from, destination, port, payload, strlen (payload));
  while (!ready && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  end = g_get_monotonic_time ();
  if (!ready)
    g_source_remove (watch);
  if (!timed_out)
    g_source_remove (timeout);
  if (!ready)
    return -1;
  g_assert_cmpint (recv (to, buffer, sizeof buffer, MSG_DONTWAIT), >, 0);
  return end - start;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
report (const char *what,
        GArray     *samples)
{
  g_array_sort (samples, compare_gint64);
  printf ("%-34s median %5.0f us, p90 %5.0f us, max %5.0f us (%u samples)\n", what,
          (double) g_array_index (samples, gint64, samples->len / 2),
          (double) g_array_index (samples, gint64, samples->len * 9 / 10),
          (double) g_array_index (samples, gint64, samples->len - 1), samples->len);
}

static gboolean
announce_cb (gpointer user_data)
{
  static const char payload[] = "[MOTD]CPU[/MOTD][AD]41234[/AD]";

  lrd_lan_test_program_send (GPOINTER_TO_INT (user_data), 0xffffffff, 45002, payload,
                             strlen (payload));
  return G_SOURCE_CONTINUE;
}

static gint64
cpu_us (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * G_USEC_PER_SEC +
         usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* Sends the announcement 50 times a second for 10 s from @sender with the main loop
 * running (blocking, as in the helper); returns the process's CPU time, @wall the time. */
static gint64
announce_for_10s (int     sender,
                  gint64 *wall)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  guint announce = g_timeout_add (20, announce_cb, GINT_TO_POINTER (sender));
  gint64 cpu_start = cpu_us ();
  gint64 wall_start = g_get_monotonic_time ();

  g_timeout_add (10000, quit_cb, loop);
  g_main_loop_run (loop);
  g_source_remove (announce);
  *wall = g_get_monotonic_time () - wall_start;
  return cpu_us () - cpu_start;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LrClock) clock = NULL;
  g_autoptr(GArray) bridged = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) unicast = g_array_new (FALSE, FALSE, sizeof (gint64));
  LrdLanBridge *bridges[2];
  guint32 members[N_HOSTS];
  LrdLanTestLab *lab;
  int sender, broadcast_listener, unicast_listener;
  gint64 cpu_used, baseline, wall;
  guint64 frames_before;

  if (getuid () != 0)
    {
      printf ("lan-bench: skipped, needs root (network namespaces, wireguard-go)\n");
      return 0;
    }
  if (!lrd_test_enter_private_run ())
    {
      printf ("lan-bench: skipped, cannot make a private mount namespace\n");
      return 0;
    }

  lab = lrd_lan_test_lab_new (N_HOSTS);
  clock = lr_clock_new_system ();
  for (guint i = 0; i < N_HOSTS; i++)
    members[i] = lrd_lan_test_virtual_address (i);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (lrd_test_enter_netns (lab->hosts[i].ns));
      bridges[i] = lrd_lan_bridge_new (clock, lab->hosts[i].ifname,
                                       lrd_lan_test_virtual_address (i), 16, &error);
      lrd_test_leave_netns ();
      g_assert_no_error (error);
      /* A and B alone while latency is measured: both bridges share this process's main
       * loop, and A's frames to 6 more members would delay B's turn. */
      lrd_lan_bridge_set_members (bridges[i], members, 2);
    }

  sender = lrd_lan_test_program_open (lab->hosts[0].ns, 50200, 0);
  broadcast_listener = lrd_lan_test_program_open (lab->hosts[1].ns, 45000, 0);
  unicast_listener = lrd_lan_test_program_open (lab->hosts[1].ns, 45001, 0);
  for (guint i = 0; i < N_SAMPLES; i++)
    {
      gint64 us = one_way_us (sender, broadcast_listener, 0xffffffff, 45000);

      if (us >= 0)
        g_array_append_val (bridged, us);
      us = one_way_us (sender, unicast_listener, lrd_lan_test_virtual_address (1), 45001);
      if (us >= 0)
        g_array_append_val (unicast, us);
      lrd_lan_test_pump (10);
    }
  g_assert_cmpuint (bridged->len, >, N_SAMPLES / 2);
  g_assert_cmpuint (unicast->len, >, N_SAMPLES / 2);
  report ("bridged broadcast, A to B", bridged);
  report ("unicast on the same tunnel", unicast);
  printf ("added by the bridge (medians): %.0f us\n",
          (double) (g_array_index (bridged, gint64, bridged->len / 2) -
                    g_array_index (unicast, gint64, unicast->len / 2)));

  g_clear_object (&bridges[1]);
  lrd_lan_bridge_set_members (bridges[0], members, N_HOSTS);
  lrd_lan_test_pump (100);
  frames_before = lrd_lan_bridge_get_counters (bridges[0])->frames_sent;
  cpu_used = announce_for_10s (sender, &wall);
  printf ("50 datagrams/s to 7 members for %.1f s: %" G_GUINT64_FORMAT " frames sent, "
          "process CPU %.2f %% of one core\n", wall / 1e6,
          lrd_lan_bridge_get_counters (bridges[0])->frames_sent - frames_before,
          100.0 * cpu_used / wall);
  /* The same without the bridge: what the program and the main loop cost alone. */
  g_clear_object (&bridges[0]);
  baseline = announce_for_10s (sender, &wall);
  printf ("the same with no bridge: process CPU %.2f %% of one core; the bridge's share "
          "%.2f %% (%.0f us per announcement)\n", 100.0 * baseline / wall,
          100.0 * (cpu_used - baseline) / wall, (cpu_used - baseline) / (wall / 1e6 * 50));

  close (sender);
  close (broadcast_listener);
  close (unicast_listener);
  lrd_lan_test_lab_free (lab);
  return 0;
}
