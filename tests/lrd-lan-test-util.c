/* lrd-lan-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "lrd-lan-test-util.h"
#include "lrd-test-util.h"

#include "lr-lan-frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
lrd_lan_test_open_link_capture (const char *ns,
                                const char *ifname)
{
  struct sockaddr_ll address = { .sll_family = AF_PACKET, .sll_protocol = htons (ETH_P_ALL) };
  int size = 4 << 20;
  int fd;

  g_assert_true (lrd_test_enter_netns (ns));
  /* ETH_P_ALL: both directions (a socket of one protocol sees received packets only). */
  fd = socket (AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons (ETH_P_ALL));
  address.sll_ifindex = if_nametoindex (ifname);
  lrd_test_leave_netns ();
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (address.sll_ifindex, >, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &address, sizeof address), ==, 0);
  return fd;
}

int
lrd_lan_test_program_open (const char *ns,
                           guint16     port,
                           guint32     group)
{
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (port) };
  int one = 1;
  int fd;

  g_assert_true (lrd_test_enter_netns (ns));
  fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  lrd_test_leave_netns ();
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), ==, 0);
  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one), ==, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &address, sizeof address), ==, 0);
  if (group != 0)
    {
      struct ip_mreqn membership = { .imr_multiaddr.s_addr = htonl (group) };

      g_assert_cmpint (setsockopt (fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership,
                                   sizeof membership), ==, 0);
    }
  return fd;
}

void
lrd_lan_test_program_send (int         fd,
                           guint32     to,
                           guint16     port,
                           const void *data,
                           gsize       length)
{
  struct sockaddr_in address = {
    .sin_family = AF_INET, .sin_port = htons (port), .sin_addr.s_addr = htonl (to),
  };

  g_assert_cmpint (sendto (fd, data, length, 0, (struct sockaddr *) &address, sizeof address),
                   ==, (gssize) length);
}

gssize
lrd_lan_test_program_receive (int      fd,
                              guint8  *buffer,
                              gsize    size,
                              guint32 *from,
                              guint16 *from_port,
                              guint    timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;

  do
    {
      struct sockaddr_in address;
      socklen_t length = sizeof address;
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      gssize n;

      while (g_main_context_iteration (NULL, FALSE))
        ;
      n = recvfrom (fd, buffer, size, MSG_DONTWAIT, (struct sockaddr *) &address, &length);
      if (n >= 0)
        {
          *from = ntohl (address.sin_addr.s_addr);
          *from_port = ntohs (address.sin_port);
          return n;
        }
      g_assert_cmpint (errno, ==, EAGAIN);
      poll (&pfd, 1, 2);
    }
  while (g_get_monotonic_time () < deadline);
  return -1;
}

void
lrd_lan_test_pump (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (1000);
    }
}

void
lrd_lan_test_expect_datagram (int         fd,
                              const void *payload,
                              gsize       length,
                              guint32     from,
                              guint16     from_port)
{
  guint8 buffer[2048];
  guint32 source;
  guint16 source_port;
  gssize n = lrd_lan_test_program_receive (fd, buffer, sizeof buffer, &source, &source_port,
                                           3000);

  g_assert_cmpint (n, >=, 0);
  g_assert_cmpmem (buffer, n, payload, length);
  g_assert_cmphex (source, ==, from);
  g_assert_cmpuint (source_port, ==, from_port);
}

void
lrd_lan_test_expect_nothing (int   fd,
                             guint wait_ms)
{
  guint8 buffer[2048];
  guint32 source;
  guint16 source_port;
  gssize n = lrd_lan_test_program_receive (fd, buffer, sizeof buffer, &source, &source_port,
                                           wait_ms);

  if (n >= 0)
    g_error ("expected nothing, got %" G_GSSIZE_FORMAT " bytes from %08x:%u", n, source,
             source_port);
}

guint
lrd_lan_test_check_link (int         fd,
                         const char *what,
                         const char *marker,
                         guint32     sender)
{
  guint8 packet[65536];
  guint seen = 0;

  for (;;)
    {
      struct sockaddr_ll from;
      socklen_t from_length = sizeof from;
      gssize n = recvfrom (fd, packet, sizeof packet, MSG_DONTWAIT,
                           (struct sockaddr *) &from, &from_length);
      guint32 source, destination;

      if (n < 0)
        break;
      if (n < 28 || from.sll_protocol != htons (ETH_P_IP) || packet[9] != IPPROTO_UDP)
        continue;
      source = (packet[12] << 24) | (packet[13] << 16) | (packet[14] << 8) | packet[15];
      destination = ((guint32) packet[16] << 24) | (packet[17] << 16) | (packet[18] << 8) |
                    packet[19];
      if ((source & 0xffff0000) == 0x0a420000 &&
          lr_lan_destination_classify (destination) != LR_LAN_DESTINATION_NONE)
        g_error ("%s: a bridged datagram from %08x to %08x leaked onto the link", what,
                 source, destination);
      if (memmem (packet, n, marker, strlen (marker)) != NULL)
        {
          if (source != sender)
            g_error ("%s: '%s' from %08x on the physical link", what, marker, source);
          seen++;
        }
    }
  return seen;
}
