/* test-lan-lab.c: LAN discovery across a party, in network namespaces
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Four hosts, each behind a NAT of its own on the lab's internet, each running a real
 * wireguard-go with 10.66.0.N/16, peered with the others (lrd-lan-test-util.h). Hosts 1 to 3 are the party and run an LrdLanBridge whose members
 * are each other; host 4 is a WireGuard peer outside the party and runs none. "Programs"
 * are UDP sockets the test opens inside a host's namespace, which see exactly what a game's
 * sockets would. A packet socket on each host's physical link records everything on it, so
 * the test can check that nothing bridged ever appears there.
 */
#define _GNU_SOURCE
#include "lrd-lan-bridge.h"
#include "lrd-lan-capture.h"
#include "lrd-lan-test-util.h"
#include "lrd-test-util.h"

#include "lr-lan-frame.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N_HOSTS   4
#define N_PARTY   3
#define MINECRAFT_GROUP 0xe000023cu
#define PARTY_BROADCAST 0x0a42ffffu

typedef struct
{
  LrdLanTestLab  *net;
  LrdLanTestHost *hosts;        /* net's */
  LrdLanBridge   *bridges[N_PARTY];
  LrClock        *clock;
} Lab;

static guint32
virtual_address (guint index)
{
  return lrd_lan_test_virtual_address (index);
}

static guint32
physical_address (guint index)
{
  return lrd_lan_test_physical_address (index);
}

static void
lab_setup (Lab           *lab,
           gconstpointer  data)
{
  guint32 members[N_PARTY];

  lab->clock = lr_clock_new_system ();
  lab->net = lrd_lan_test_lab_new (N_HOSTS);
  lab->hosts = lab->net->hosts;
  for (guint i = 0; i < N_PARTY; i++)
    members[i] = virtual_address (i);
  for (guint i = 0; i < N_PARTY; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (lrd_test_enter_netns (lab->hosts[i].ns));
      lab->bridges[i] = lrd_lan_bridge_new (lab->clock, lab->hosts[i].ifname,
                                            virtual_address (i), 16, &error);
      lrd_test_leave_netns ();
      g_assert_no_error (error);
      lrd_lan_bridge_set_members (lab->bridges[i], members, N_PARTY);
    }
}

static void
lab_teardown (Lab           *lab,
              gconstpointer  data)
{
  for (guint i = 0; i < N_PARTY; i++)
    g_clear_object (&lab->bridges[i]);
  lrd_lan_test_lab_free (lab->net);
  lr_clock_unref (lab->clock);
}

static guint
check_link (LrdLanTestHost *host,
            const char     *marker,
            guint32         sender)
{
  return lrd_lan_test_check_link (host->link_capture, host->ns, marker, sender);
}

/* Tests */

static void
test_minecraft (Lab           *lab,
                gconstpointer  data)
{
  static const char announcement[] = "[MOTD]Party World[/MOTD][AD]41234[/AD]";
  int sender = lrd_lan_test_program_open (lab->hosts[0].ns, 50123, 0);
  int own = lrd_lan_test_program_open (lab->hosts[0].ns, 4445, MINECRAFT_GROUP);
  int listeners[N_HOSTS];
  g_autoptr(GVariant) games = NULL;
  const char *id, *title, *host, *name, *details;
  guint16 port;
  gint64 last_seen;
  guint8 buffer[2048];
  guint32 source;
  guint16 source_port;

  for (guint i = 1; i < N_HOSTS; i++)
    listeners[i] = lrd_lan_test_program_open (lab->hosts[i].ns, 4445, MINECRAFT_GROUP);

  lrd_lan_test_program_send (sender, MINECRAFT_GROUP, 4445, announcement, strlen (announcement));
  for (guint i = 1; i < N_PARTY; i++)
    lrd_lan_test_expect_datagram (listeners[i], announcement, strlen (announcement),
                                  virtual_address (0), 50123);
  /* The outsider hears nothing; A hears its own once, from the LAN, never back from B or C. */
  lrd_lan_test_expect_nothing (listeners[3], 500);
  g_assert_cmpint (lrd_lan_test_program_receive (own, buffer, sizeof buffer, &source,
                                                 &source_port, 1000), ==, strlen (announcement));
  g_assert_cmphex (source, ==, physical_address (0));
  lrd_lan_test_expect_nothing (own, 500);

  /* The lobby on B lists A's world with its MOTD and port. */
  games = lrd_lan_bridge_dup_games (lab->bridges[1]);
  g_assert_cmpuint (g_variant_n_children (games), ==, 1);
  g_variant_get_child (games, 0, "(&s&s&sq&s&sx)", &id, &title, &host, &port, &name, &details,
                       &last_seen);
  g_assert_cmpstr (id, ==, "minecraft-java");
  g_assert_cmpstr (host, ==, "10.66.0.1");
  g_assert_cmpuint (port, ==, 41234);
  g_assert_cmpstr (name, ==, "Party World");
  g_assert_cmpint (ABS (last_seen - g_get_real_time ()), <, 5 * G_USEC_PER_SEC);
  g_clear_pointer (&games, g_variant_unref);
  games = lrd_lan_bridge_dup_ports (lab->bridges[2]);
  g_assert_cmpuint (g_variant_n_children (games), ==, 1);
  {
    const char *destination, *last_sender;
    guint64 count;

    g_variant_get_child (games, 0, "(&sq&stx)", &destination, &port, &last_sender, &count,
                         &last_seen);
    g_assert_cmpstr (destination, ==, "224.0.2.60");
    g_assert_cmpuint (port, ==, 4445);
    g_assert_cmpstr (last_sender, ==, "10.66.0.1");
    g_assert_cmpuint (count, ==, 1);
  }

  /* Nothing bridged on any physical link; A's own announcement on A's link, unchanged. */
  g_assert_cmpuint (check_link (&lab->hosts[0], "Party World", physical_address (0)), ==, 1);
  for (guint i = 1; i < N_HOSTS; i++)
    g_assert_cmpuint (check_link (&lab->hosts[i], "Party World", 0), ==, 0);

  /* A stops announcing: B forgets the world (Minecraft announces every 1.5 s; 5 s without). */
  {
    gint64 deadline = g_get_monotonic_time () + 8 * G_USEC_PER_SEC;
    gboolean gone = FALSE;

    while (!gone && g_get_monotonic_time () < deadline)
      {
        g_autoptr(GVariant) now = NULL;

        lrd_lan_test_pump (100);
        now = lrd_lan_bridge_dup_games (lab->bridges[1]);
        gone = g_variant_n_children (now) == 0;
      }
    g_assert_true (gone);
  }

  close (sender);
  close (own);
  for (guint i = 1; i < N_HOSTS; i++)
    close (listeners[i]);
}

static void
test_broadcast (Lab           *lab,
                gconstpointer  data)
{
  /* A Bedrock unconnected ping (wiki.vg "Raknet Protocol"): id, time, magic, client GUID. */
  static const guint8 ping[] = {
    0x01, 0, 0, 0, 0, 0, 0, 0x03, 0xe8,
    0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78,
    'P', 'I', 'N', 'G', 'P', 'I', 'N', 'G',
  };
  /* B's answer, a RakNet unconnected pong: id, time, server GUID, magic, and the server
   * string of wiki.vg's "Raknet Protocol" page with its own world name. */
  static const char server[] = "MCPE;Bedrock on B;390;1.14.60;1;10;13253860892328930865;"
                               "Bedrock level;Survival;1;19132;19133;";
  g_autoptr(GByteArray) pong = g_byte_array_new ();
  static const guint8 pong_head[] = {
    0x1c, 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0xb7, 0xef, 0x2b, 0x44, 0x9d, 0x3e, 0x15, 0xb1,
    0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78,
    0x00, sizeof server - 1,
  };
  g_autoptr(GVariant) games = NULL;
  const char *id, *host, *name;
  guint16 port;
  static const char party[] = "to the party's broadcast address";
  static const char unlisted[] = "on a port no list knows";
  int sender = lrd_lan_test_program_open (lab->hosts[0].ns, 50124, 0);
  int servers[N_HOSTS], parties[N_HOSTS], others[N_HOSTS];
  int neighbour;
  guint8 buffer[2048];
  guint32 source;
  guint16 source_port;
  gssize n;

  for (guint i = 1; i < N_HOSTS; i++)
    {
      servers[i] = lrd_lan_test_program_open (lab->hosts[i].ns, 19132, 0);
      parties[i] = lrd_lan_test_program_open (lab->hosts[i].ns, 40000, 0);
      others[i] = lrd_lan_test_program_open (lab->hosts[i].ns, 47624, 0);
    }
  /* A program on A's own LAN segment (the router's side of A's link). */
  neighbour = lrd_lan_test_program_open (lab->hosts[0].router, 19132, 0);

  lrd_lan_test_program_send (sender, 0xffffffff, 19132, ping, sizeof ping);
  for (guint i = 1; i < N_PARTY; i++)
    lrd_lan_test_expect_datagram (servers[i], ping, sizeof ping, virtual_address (0), 50124);
  /* Discovery on the physical LAN works as before: the neighbour hears A as itself. */
  lrd_lan_test_expect_datagram (neighbour, ping, sizeof ping, physical_address (0), 50124);

  /* B answers with unicast to the address and port it heard: it reaches A's socket, and A's
   * lobby lists B's world from the answer. */
  g_byte_array_append (pong, pong_head, sizeof pong_head);
  g_byte_array_append (pong, (const guint8 *) server, sizeof server - 1);
  lrd_lan_test_program_send (servers[1], virtual_address (0), 50124, pong->data, pong->len);
  n = lrd_lan_test_program_receive (sender, buffer, sizeof buffer, &source, &source_port, 3000);
  g_assert_cmpmem (buffer, MAX (n, 0), pong->data, pong->len);
  g_assert_cmphex (source, ==, virtual_address (1));
  g_assert_cmpuint (source_port, ==, 19132);
  games = lrd_lan_bridge_dup_games (lab->bridges[0]);
  g_assert_cmpuint (g_variant_n_children (games), ==, 1);
  g_variant_get_child (games, 0, "(&s&s&sq&s&sx)", &id, NULL, &host, &port, &name, NULL, NULL);
  g_assert_cmpstr (id, ==, "minecraft-bedrock");
  g_assert_cmpstr (host, ==, "10.66.0.2");
  g_assert_cmpuint (port, ==, 19132);
  g_assert_cmpstr (name, ==, "Bedrock on B");

  lrd_lan_test_program_send (sender, PARTY_BROADCAST, 40000, party, strlen (party));
  lrd_lan_test_program_send (sender, 0xffffffff, 47624, unlisted, strlen (unlisted));
  for (guint i = 1; i < N_PARTY; i++)
    {
      lrd_lan_test_expect_datagram (parties[i], party, strlen (party), virtual_address (0), 50124);
      lrd_lan_test_expect_datagram (others[i], unlisted, strlen (unlisted), virtual_address (0),
                                    50124);
    }
  lrd_lan_test_expect_nothing (servers[3], 300);
  lrd_lan_test_expect_nothing (parties[3], 1);
  lrd_lan_test_expect_nothing (others[3], 1);

  g_assert_cmpuint (check_link (&lab->hosts[0], "PINGPING", physical_address (0)), ==, 1);
  for (guint i = 1; i < N_HOSTS; i++)
    {
      g_assert_cmpuint (check_link (&lab->hosts[i], "PINGPING", 0), ==, 0);
      g_assert_cmpuint (check_link (&lab->hosts[i], "no list knows", 0), ==, 0);
    }

  close (sender);
  close (neighbour);
  for (guint i = 1; i < N_HOSTS; i++)
    {
      close (servers[i]);
      close (parties[i]);
      close (others[i]);
    }
}

static void
test_no_loop (Lab           *lab,
              gconstpointer  data)
{
  static const char hello[] = "hello, party";
  int sender = lrd_lan_test_program_open (lab->hosts[0].ns, 50125, 0);
  int listeners[N_PARTY];
  const LrdLanBridgeCounters *counters[N_PARTY];

  for (guint i = 0; i < N_PARTY; i++)
    {
      listeners[i] = lrd_lan_test_program_open (lab->hosts[i].ns, 41000, 0);
      counters[i] = lrd_lan_bridge_get_counters (lab->bridges[i]);
    }
  lrd_lan_test_program_send (sender, 0xffffffff, 41000, hello, strlen (hello));
  for (guint i = 1; i < N_PARTY; i++)
    lrd_lan_test_expect_datagram (listeners[i], hello, strlen (hello), virtual_address (0), 50125);
  lrd_lan_test_pump (1000);

  /* A sent one frame to each member; B and C injected it and captured nothing (injected
   * datagrams are never picked up), so nothing came back to A, and nothing went round. */
  g_assert_cmpuint (counters[0]->captured, ==, 1);
  g_assert_cmpuint (counters[0]->frames_sent, ==, 2);
  g_assert_cmpuint (counters[0]->frames_received, ==, 0);
  for (guint i = 1; i < N_PARTY; i++)
    {
      g_assert_cmpuint (counters[i]->captured, ==, 0);
      g_assert_cmpuint (counters[i]->frames_sent, ==, 0);
      g_assert_cmpuint (counters[i]->frames_received, ==, 1);
      g_assert_cmpuint (counters[i]->injected, ==, 1);
    }
  /* A heard its own broadcast once, from itself, not again from the party. */
  lrd_lan_test_expect_datagram (listeners[0], hello, strlen (hello), physical_address (0), 50125);
  lrd_lan_test_expect_nothing (listeners[0], 300);

  close (sender);
  for (guint i = 0; i < N_PARTY; i++)
    close (listeners[i]);
}

static void
test_every_interface (Lab           *lab,
                      gconstpointer  data)
{
  static const char first[] = "announced on every interface";
  static const char second[] = "announced on every interface, again";
  int sender = lrd_lan_test_program_open (lab->hosts[0].ns, 50128, 0);
  int listener = lrd_lan_test_program_open (lab->hosts[1].ns, 41500, 0);
  const LrdLanBridgeCounters *counters = lrd_lan_bridge_get_counters (lab->bridges[0]);

  /* As a program that loops over its interfaces does: the limited broadcast, its LAN's and
   * the party's. B hears it once. */
  lrd_lan_test_program_send (sender, 0xffffffff, 41500, first, strlen (first));
  lrd_lan_test_program_send (sender, 0xc0a801ff, 41500, first, strlen (first));
  lrd_lan_test_program_send (sender, PARTY_BROADCAST, 41500, first, strlen (first));
  lrd_lan_test_expect_datagram (listener, first, strlen (first), virtual_address (0), 50128);
  lrd_lan_test_expect_nothing (listener, 500);
  g_assert_cmpuint (counters->captured, ==, 3);
  g_assert_cmpuint (counters->same_broadcast, ==, 2);

  /* The next announcement, and the same one later on, are new. */
  lrd_lan_test_program_send (sender, 0xffffffff, 41500, second, strlen (second));
  lrd_lan_test_expect_datagram (listener, second, strlen (second), virtual_address (0), 50128);
  lrd_lan_test_program_send (sender, PARTY_BROADCAST, 41500, first, strlen (first));
  lrd_lan_test_expect_datagram (listener, first, strlen (first), virtual_address (0), 50128);
  close (sender);
  close (listener);
}

static void
test_denied (Lab           *lab,
             gconstpointer  data)
{
  static const char query[] = "mDNS-looking chatter";
  int sender = lrd_lan_test_program_open (lab->hosts[0].ns, 50126, 0);
  int listener = lrd_lan_test_program_open (lab->hosts[1].ns, 5353, 0);
  const LrdLanBridgeCounters *counters = lrd_lan_bridge_get_counters (lab->bridges[0]);

  lrd_lan_test_program_send (sender, 0xffffffff, 5353, query, strlen (query));
  lrd_lan_test_expect_nothing (listener, 1000);
  g_assert_cmpuint (counters->outgoing[LR_LAN_VERDICT_DENIED], ==, 1);
  g_assert_cmpuint (counters->frames_sent, ==, 0);
  close (sender);
  close (listener);
}

static void
test_flood (Lab           *lab,
            gconstpointer  data)
{
  static const char flood[] = "flood flood flood flood flood flood flood flood flood flood";
  int sender = lrd_lan_test_program_open (lab->hosts[0].ns, 50127, 0);
  int listener = lrd_lan_test_program_open (lab->hosts[1].ns, 42000, 0);
  const LrdLanBridgeCounters *counters = lrd_lan_bridge_get_counters (lab->bridges[0]);
  gint64 start = g_get_monotonic_time ();
  guint received = 0;
  double seconds;
  guint8 buffer[2048];
  guint32 source;
  guint16 source_port;

  /* 2000 datagrams in 2 s, 1000/s: 15 times the port's cap. */
  for (guint i = 0; i < 2000; i++)
    {
      lrd_lan_test_program_send (sender, 0xffffffff, 42000, flood, strlen (flood));
      if (i % 20 == 19)
        lrd_lan_test_pump (20);
    }
  while (lrd_lan_test_program_receive (listener, buffer, sizeof buffer, &source, &source_port,
                                       500) >= 0)
    received++;
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  g_test_message ("flood: 2000 sent in about 2 s, %u received on B in %.1f s, %" G_GUINT64_FORMAT
                  " dropped by the port cap", received, seconds,
                  counters->outgoing[LR_LAN_VERDICT_PORT_RATE]);
  g_assert_cmpuint (received, >=, LR_LAN_POLICY_DEFAULT_PORT_BURST / 2);
  g_assert_cmpuint (received, <=, LR_LAN_POLICY_DEFAULT_PORT_BURST +
                    LR_LAN_POLICY_DEFAULT_PORT_RATE * seconds + 4);
  g_assert_cmpuint (counters->outgoing[LR_LAN_VERDICT_PORT_RATE], >, 0);
  close (sender);
  close (listener);
}

static void
test_outsider (Lab           *lab,
               gconstpointer  data)
{
  static const char forged[] = "from outside the party";
  int listener = lrd_lan_test_program_open (lab->hosts[0].ns, 43000, 0);
  const LrdLanBridgeCounters *counters = lrd_lan_bridge_get_counters (lab->bridges[0]);
  struct sockaddr_in address = {
    .sin_family = AF_INET, .sin_port = htons (LR_LAN_FRAME_PORT),
    .sin_addr.s_addr = htonl (virtual_address (3)),
  };
  LrLanFrame frame = {
    .source_port = 43000, .destination = 0xffffffff, .destination_port = 43000, .sender = 99,
    .sequence = 1, .payload = (const guint8 *) forged, .payload_length = strlen (forged),
  };
  guint8 buffer[LR_LAN_FRAME_MAX_SIZE];
  gsize length = lr_lan_frame_build (&frame, buffer, sizeof buffer);
  int fd;

  /* D is a WireGuard peer of A, but not in the party: its frame, through the tunnel to A's
   * bridge port, is refused. */
  g_assert_true (lrd_test_enter_netns (lab->hosts[3].ns));
  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  lrd_test_leave_netns ();
  g_assert_cmpint (bind (fd, (struct sockaddr *) &address, sizeof address), ==, 0);
  address.sin_addr.s_addr = htonl (virtual_address (0));
  g_assert_cmpint (sendto (fd, buffer, length, 0, (struct sockaddr *) &address, sizeof address),
                   ==, (gssize) length);
  lrd_lan_test_expect_nothing (listener, 1000);
  g_assert_cmpuint (counters->frames_refused, ==, 1);
  g_assert_cmpuint (counters->injected, ==, 0);
  close (fd);
  close (listener);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *wireguard_go = g_find_program_in_path ("wireguard-go");
  g_autofree char *ping = g_find_program_in_path ("ping");

  if (getuid () != 0)
    return lrd_test_skip ("needs root (network namespaces, raw sockets, wireguard-go)");
  if (wireguard_go == NULL || ping == NULL)
    return lrd_test_skip ("needs wireguard-go and ping (apt install wireguard-go iputils-ping)");
  if (!lrd_test_enter_private_run ())
    return lrd_test_skip ("cannot make a private mount namespace");

  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Lab, NULL, lab_setup, func, lab_teardown)
  ADD ("/lrd/lan/lab/minecraft", test_minecraft);
  ADD ("/lrd/lan/lab/broadcast", test_broadcast);
  ADD ("/lrd/lan/lab/no-loop", test_no_loop);
  ADD ("/lrd/lan/lab/every-interface", test_every_interface);
  ADD ("/lrd/lan/lab/denied", test_denied);
  ADD ("/lrd/lan/lab/flood", test_flood);
  ADD ("/lrd/lan/lab/outsider", test_outsider);
#undef ADD
  return g_test_run ();
}
