/* test-lan-inject.c: LrdLanInject in network namespaces
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The host of test-lan-capture.c: eth0 (198.18.1.2/24) to a neighbour on the same LAN (its
 * default gateway), party0 (10.66.0.1/16) to a namespace holding 10.66.0.2. The injector
 * hands datagrams "from" party member 10.66.0.9 to the host's programs; packet sockets on
 * both links record that none of them ever leaves the host, and an LrdLanCapture running
 * beside it proves none is picked up again.
 */
#include "lrd-lan-capture.h"
#include "lrd-lan-inject.h"
#include "lrd-lan-test-util.h"
#include "lrd-test-util.h"

#include <string.h>
#include <unistd.h>

#define MEMBER 0x0a420009u  /* 10.66.0.9 */
#define MINECRAFT_GROUP 0xe000023cu

typedef struct
{
  LrdLanTestSite *site;
  LrdLanInject  *inject;
  LrdLanCapture *capture;
  int            eth0;        /* link captures */
  int            party0;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->site = lrd_lan_test_site_new ("lrinj");

  g_assert_true (lrd_test_enter_netns (f->site->host));
  f->inject = lrd_lan_inject_new (&error);
  g_assert_no_error (error);
  f->capture = lrd_lan_capture_new (&error);
  g_assert_no_error (error);
  lrd_test_leave_netns ();
  f->eth0 = lrd_lan_test_open_link_capture (f->site->host, "eth0");
  f->party0 = lrd_lan_test_open_link_capture (f->site->host, "party0");
  lrd_lan_test_pump (50);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->inject);
  g_clear_object (&f->capture);
  close (f->eth0);
  close (f->party0);
  lrd_lan_test_site_free (f->site);
}

static void
inject (Fixture    *f,
        guint32     destination,
        guint16     port,
        const char *payload)
{
  g_autoptr(GError) error = NULL;
  LrdLanDatagram datagram = {
    .source = MEMBER, .source_port = 6112, .destination = destination,
    .destination_port = port, .payload = (const guint8 *) payload,
    .payload_length = strlen (payload),
  };

  g_assert_true (lrd_lan_inject_send (f->inject, &datagram, &error));
  g_assert_no_error (error);
}

static void
check_links (Fixture    *f,
             const char *marker)
{
  g_assert_cmpuint (lrd_lan_test_check_link (f->eth0, "eth0", marker, 0), ==, 0);
  g_assert_cmpuint (lrd_lan_test_check_link (f->party0, "party0", marker, 0), ==, 0);
  g_assert_cmpuint (lrd_lan_capture_get_captured (f->capture), ==, 0);
  g_assert_cmpuint (lrd_lan_capture_get_ignored (f->capture), ==, 0);
}

static void
test_broadcast (Fixture       *f,
                gconstpointer  data)
{
  int program = lrd_lan_test_program_open (f->site->host, 6112, 0);
  int party_program = lrd_lan_test_program_open (f->site->host, 6113, 0);
  int neighbour = lrd_lan_test_program_open (f->site->neighbour, 6112, 0);
  int member = lrd_lan_test_program_open (f->site->party, 6112, 0);

  /* A true broadcast from the member's address and port, to the limited broadcast address
   * and to the party's. */
  inject (f, 0xffffffff, 6112, "W3GS broadcast");
  lrd_lan_test_expect_datagram (program, "W3GS broadcast", 14, MEMBER, 6112);
  inject (f, 0x0a42ffff, 6113, "party broadcast");
  lrd_lan_test_expect_datagram (party_program, "party broadcast", 15, MEMBER, 6112);

  /* Nothing left the host. */
  lrd_lan_test_expect_nothing (neighbour, 300);
  lrd_lan_test_expect_nothing (member, 1);
  check_links (f, "broadcast");
  close (program);
  close (party_program);
  close (neighbour);
  close (member);
}

static void
test_multicast (Fixture       *f,
                gconstpointer  data)
{
  static const char announcement[] = "[MOTD]Far World[/MOTD][AD]41234[/AD]";
  int program = lrd_lan_test_program_open (f->site->host, 4445, MINECRAFT_GROUP);
  int neighbour = lrd_lan_test_program_open (f->site->neighbour, 4445, MINECRAFT_GROUP);

  inject (f, MINECRAFT_GROUP, 4445, announcement);
  lrd_lan_test_expect_datagram (program, announcement, strlen (announcement), MEMBER, 6112);
  lrd_lan_test_expect_nothing (neighbour, 300);
  check_links (f, "Far World");
  close (program);
  close (neighbour);
}

static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  LrdLanDatagram datagram = {
    .source = MEMBER, .source_port = 6112, .destination = 0xc6120101, .destination_port = 6112,
  };

  /* A unicast destination is no discovery datagram. */
  g_assert_false (lrd_lan_inject_send (f->inject, &datagram, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  datagram.destination = 0xffffffff;
  datagram.source_port = 0;
  g_assert_false (lrd_lan_inject_send (f->inject, &datagram, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

int
main (int   argc,
      char *argv[])
{
  if (getuid () != 0)
    return lrd_test_skip ("needs root (network namespaces, raw sockets)");
  if (!lrd_test_enter_private_run ())
    return lrd_test_skip ("cannot make a private mount namespace");

  g_test_init (&argc, &argv, NULL);
  g_test_add ("/lrd/lan/inject/broadcast", Fixture, NULL, fixture_setup, test_broadcast,
              fixture_teardown);
  g_test_add ("/lrd/lan/inject/multicast", Fixture, NULL, fixture_setup, test_multicast,
              fixture_teardown);
  g_test_add ("/lrd/lan/inject/refused", Fixture, NULL, fixture_setup, test_refused,
              fixture_teardown);
  return g_test_run ();
}
