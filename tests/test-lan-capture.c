/* test-lan-capture.c: LrdLanCapture in network namespaces
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A host namespace with two links: eth0 (198.18.1.2/24) to a neighbour namespace on the same
 * LAN (198.18.1.1, the default gateway), and party0 (10.66.0.1/16), a veth standing in for
 * the WireGuard interface, to a namespace holding 10.66.0.2. The capture runs in the host;
 * programs are UDP sockets in the namespaces (lrd-lan-test-util.h).
 */
#include "lrd-lan-capture.h"
#include "lrd-lan-test-util.h"
#include "lrd-test-util.h"

#include "lr-lan-frame.h"

#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOST      0xc6120102u  /* 198.18.1.2 */
#define NEIGHBOUR 0xc6120101u
#define MINECRAFT_GROUP 0xe000023cu

typedef struct
{
  LrdLanTestSite *site;
  LrdLanCapture *capture;
  GArray        *seen;         /* LrdLanDatagram, payload copied into @payloads */
  GPtrArray     *payloads;
} Fixture;

static void
datagram_cb (LrdLanCapture        *capture,
             const LrdLanDatagram *datagram,
             Fixture              *f)
{
  LrdLanDatagram copy = *datagram;
  GBytes *payload = g_bytes_new (datagram->payload, datagram->payload_length);

  copy.payload = g_bytes_get_data (payload, NULL);
  g_ptr_array_add (f->payloads, payload);
  g_array_append_val (f->seen, copy);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *udp = NULL;
  g_auto(GStrv) lines = NULL;

  f->site = lrd_lan_test_site_new ("lrcap");

  f->seen = g_array_new (FALSE, FALSE, sizeof (LrdLanDatagram));
  f->payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_assert_true (lrd_test_enter_netns (f->site->host));
  f->capture = lrd_lan_capture_new (&error);
  lrd_test_leave_netns ();
  g_assert_no_error (error);
  g_signal_connect (f->capture, "datagram", G_CALLBACK (datagram_cb), f);

  /* Passive: the capture binds no UDP port (only the header line of /proc/net/udp). */
  udp = lrd_test_run_output (&error, "ip", "netns", "exec", f->site->host, "cat", "/proc/net/udp",
                             NULL);
  g_assert_no_error (error);
  lines = g_strsplit (udp, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), <=, 2);
  /* Its address list arrives from rtnetlink through the main loop. */
  lrd_lan_test_pump (50);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->capture);
  g_array_unref (f->seen);
  g_ptr_array_unref (f->payloads);
  lrd_lan_test_site_free (f->site);
}

static const LrdLanDatagram *
find_seen (Fixture *f,
           guint16  port)
{
  for (guint i = 0; i < f->seen->len; i++)
    if (g_array_index (f->seen, LrdLanDatagram, i).destination_port == port)
      return &g_array_index (f->seen, LrdLanDatagram, i);
  return NULL;
}

static int
ifindex_in (const char *ns,
            const char *ifname)
{
  int index;

  g_assert_true (lrd_test_enter_netns (ns));
  index = if_nametoindex (ifname);
  lrd_test_leave_netns ();
  return index;
}

static void
test_captured (Fixture       *f,
               gconstpointer  data)
{
  static const struct
  {
    guint32 destination;
    guint16 port;
    const char *interface;
  } sent[] = {
    { 0xffffffff, 4000, "eth0" },        /* limited broadcast: by the default route */
    { MINECRAFT_GROUP, 4445, "eth0" },   /* multicast */
    { 0xc61201ff, 4001, "eth0" },        /* 198.18.1.255, eth0's subnet */
    { 0x0a42ffff, 4002, "party0" },      /* 10.66.255.255, the party's */
  };
  int program = lrd_lan_test_program_open (f->site->host, 50000, 0);
  int neighbour = lrd_lan_test_program_open (f->site->neighbour, 4000, 0);
  int hearer = lrd_lan_test_program_open (f->site->party, 4002, 0);

  for (guint i = 0; i < G_N_ELEMENTS (sent); i++)
    {
      g_autofree char *payload = g_strdup_printf ("discovery %u", i);

      lrd_lan_test_program_send (program, sent[i].destination, sent[i].port, payload,
                                 strlen (payload));
    }
  lrd_lan_test_pump (200);

  g_assert_cmpuint (f->seen->len, ==, G_N_ELEMENTS (sent));
  for (guint i = 0; i < G_N_ELEMENTS (sent); i++)
    {
      const LrdLanDatagram *datagram = find_seen (f, sent[i].port);
      g_autofree char *payload = g_strdup_printf ("discovery %u", i);

      g_assert_nonnull (datagram);
      g_assert_cmphex (datagram->destination, ==, sent[i].destination);
      g_assert_cmphex (datagram->source, ==, i == 3 ? 0x0a420001 : HOST);
      g_assert_cmpuint (datagram->source_port, ==, 50000);
      g_assert_cmpint (datagram->ifindex, ==, ifindex_in (f->site->host, sent[i].interface));
      g_assert_cmpmem (datagram->payload, datagram->payload_length, payload, strlen (payload));
    }
  g_assert_cmpuint (lrd_lan_capture_get_captured (f->capture), ==, G_N_ELEMENTS (sent));

  /* A copy only: the LAN still gets the originals. */
  lrd_lan_test_expect_datagram (neighbour, "discovery 0", 11, HOST, 50000);
  lrd_lan_test_expect_datagram (hearer, "discovery 3", 11, 0x0a420001, 50000);
  close (program);
  close (neighbour);
  close (hearer);
}

static void
test_ignored (Fixture       *f,
              gconstpointer  data)
{
  static const char big[3000] = "fragmented";
  int program = lrd_lan_test_program_open (f->site->host, 50001, 0);
  int marked = lrd_lan_test_program_open (f->site->host, 50002, 0);
  int neighbour = lrd_lan_test_program_open (f->site->neighbour, 50003, 0);
  int local = lrd_lan_test_program_open (f->site->host, 4010, 0);
  int mark = LRD_LAN_INJECT_MARK;

  lrd_lan_test_program_send (program, NEIGHBOUR, 4010, "unicast", 7);
  /* Through the gateway, so it leaves (an unresolved neighbour would never be sent). */
  lrd_lan_test_program_send (program, 0xac100003, 4011, "unicast ending in 11", 20);
  lrd_lan_test_program_send (program, 0xffffffff, 4012, big, sizeof big);
  lrd_lan_test_program_send (program, 0xffffffff, LR_LAN_FRAME_PORT, "a frame port", 12);
  g_assert_cmpint (setsockopt (marked, SOL_SOCKET, SO_MARK, &mark, sizeof mark), ==, 0);
  lrd_lan_test_program_send (marked, 0xffffffff, 4014, "marked", 6);
  /* What the host receives is not what it sends. */
  lrd_lan_test_program_send (neighbour, 0xc61201ff, 4010, "from the neighbour", 18);
  lrd_lan_test_expect_datagram (local, "from the neighbour", 18, NEIGHBOUR, 50003);
  lrd_lan_test_pump (200);

  g_assert_cmpuint (f->seen->len, ==, 0);
  g_assert_cmpuint (lrd_lan_capture_get_captured (f->capture), ==, 0);
  /* Nothing got past the kernel's filter, not even the unicast to an address ending in
   * binary 11 (like WireGuard's datagrams to a peer at such an address): user space never
   * woke for any of these. */
  g_assert_cmpuint (lrd_lan_capture_get_ignored (f->capture), ==, 0);
  close (program);
  close (marked);
  close (neighbour);
  close (local);
}

static void
ip (Fixture    *f,
    const char *command,
    const char *what,
    const char *address)
{
  g_autoptr(GError) error = NULL;

  lrd_test_run (&error, "ip", "-n", f->site->host, command, what, address, "dev", "eth0", NULL);
  g_assert_no_error (error);
}

static void
test_address_changes (Fixture       *f,
                      gconstpointer  data)
{
  int program = lrd_lan_test_program_open (f->site->host, 50004, 0);

  /* A subnet added after the capture started: its broadcast address counts at once, and a
   * removed one stops counting. */
  ip (f, "addr", "add", "172.20.5.9/24");
  lrd_lan_test_pump (100);
  lrd_lan_test_program_send (program, 0xac1405ff, 4020, "new subnet", 10);
  lrd_lan_test_pump (100);
  g_assert_nonnull (find_seen (f, 4020));

  ip (f, "addr", "del", "172.20.5.9/24");
  ip (f, "route", "add", "172.20.5.0/24");
  lrd_lan_test_pump (100);
  lrd_lan_test_program_send (program, 0xac1405ff, 4021, "gone subnet", 11);
  lrd_lan_test_pump (100);
  g_assert_null (find_seen (f, 4021));
  close (program);
}

int
main (int   argc,
      char *argv[])
{
  if (getuid () != 0)
    return lrd_test_skip ("needs root (network namespaces, packet sockets)");
  if (!lrd_test_enter_private_run ())
    return lrd_test_skip ("cannot make a private mount namespace");

  g_test_init (&argc, &argv, NULL);
  g_test_add ("/lrd/lan/capture/captured", Fixture, NULL, fixture_setup, test_captured,
              fixture_teardown);
  g_test_add ("/lrd/lan/capture/ignored", Fixture, NULL, fixture_setup, test_ignored,
              fixture_teardown);
  g_test_add ("/lrd/lan/capture/address-changes", Fixture, NULL, fixture_setup,
              test_address_changes, fixture_teardown);
  return g_test_run ();
}
