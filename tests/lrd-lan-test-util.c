/* lrd-lan-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "lrd-lan-test-util.h"
#include "lrd-test-util.h"
#include "lrd-wg-uapi.h"
#include "lr-test-lab.h"

#include "lr-bytes.h"
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
      source = lr_bytes_read_be32 (packet + 12);
      destination = lr_bytes_read_be32 (packet + 16);
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

static guint lab_counter;

#define RUN(...) \
  G_STMT_START { \
    g_autoptr(GError) run_error = NULL; \
    lrd_test_run (&run_error, __VA_ARGS__, NULL); \
    g_assert_no_error (run_error); \
  } G_STMT_END

guint32
lrd_lan_test_virtual_address (guint index)
{
  return 0x0a420000u | (index + 1);
}

guint32
lrd_lan_test_physical_address (guint index)
{
  return 0xc0a80002u | ((index + 1) << 8);   /* 192.168.N.2, behind its NAT */
}

static void
wg_up (LrdLanTestHost *host,
       guint           index)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *cidr = g_strdup_printf ("10.66.0.%u/16", index + 1);
  GAsyncResult *slot = NULL;

  lrd_test_keypair (&host->private_key, &host->public_key);
  g_assert_true (lrd_test_enter_netns (host->ns));
  host->wg = LRD_WG_BACKEND (lrd_wg_uapi_new (host->ifname, "wireguard-go", &error));
  g_assert_no_error (error);
  lrd_wg_backend_up_async (host->wg, &host->private_key, 51820, cidr, NULL, lrd_test_result_cb,
                           &slot);
  lrd_test_leave_netns ();
  result = lrd_test_wait (&slot);
  lrd_wg_backend_up_finish (host->wg, result, &error);
  g_assert_no_error (error);
}

static void
wg_add_peer (LrdLanTestHost *host,
             LrdLanTestHost *peer,
             guint           peer_index)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *address = lr_test_lab_host_public_address (peer_index + 1);
  g_autofree char *endpoint = g_strdup_printf ("%s:51820", address);
  g_autofree char *allowed = g_strdup_printf ("10.66.0.%u/32", peer_index + 1);
  LrdWgPeerConfig config = { 0 };
  GAsyncResult *slot = NULL;

  config.public_key = peer->public_key;
  g_assert_true (lr_addr_parse (endpoint, &config.endpoint));
  config.allowed_ips = g_strsplit (allowed, ",", -1);
  /* Turning keepalives on makes wireguard-go send one at once, so both ends of every pair
   * start their handshakes now, and the NATs between them open for each other. */
  config.persistent_keepalive = 25;
  lrd_wg_backend_set_peer_async (host->wg, &config, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  lrd_wg_backend_set_peer_finish (host->wg, result, &error);
  g_assert_no_error (error);
  lrd_wg_peer_config_clear (&config);
}

static gboolean
ping_once (const char *ns,
           const char *address)
{
  return lrd_test_run (NULL, "ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "1",
                       address, NULL);
}

LrdLanTestSite *
lrd_lan_test_site_new (const char *prefix)
{
  LrdLanTestSite *site = g_new0 (LrdLanTestSite, 1);

  lab_counter++;
  /* The process id keeps two test programs running at once out of each other's way. */
  site->host = g_strdup_printf ("%s%u-%u-h", prefix, (guint) getpid () % 10000, lab_counter);
  site->neighbour = g_strdup_printf ("%s%u-%u-n", prefix, (guint) getpid () % 10000,
                                     lab_counter);
  site->party = g_strdup_printf ("%s%u-%u-p", prefix, (guint) getpid () % 10000, lab_counter);
  RUN ("ip", "netns", "add", site->host);
  RUN ("ip", "netns", "add", site->neighbour);
  RUN ("ip", "netns", "add", site->party);
  RUN ("ip", "-n", site->host, "link", "set", "lo", "up");
  RUN ("ip", "-n", site->host, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
       "netns", site->neighbour);
  RUN ("ip", "-n", site->host, "link", "add", "party0", "type", "veth", "peer", "name", "party0",
       "netns", site->party);
  RUN ("ip", "-n", site->host, "addr", "add", "198.18.1.2/24", "dev", "eth0");
  RUN ("ip", "-n", site->neighbour, "addr", "add", "198.18.1.1/24", "dev", "eth0");
  RUN ("ip", "-n", site->host, "addr", "add", "10.66.0.1/16", "dev", "party0");
  RUN ("ip", "-n", site->party, "addr", "add", "10.66.0.2/16", "dev", "party0");
  RUN ("ip", "-n", site->host, "link", "set", "eth0", "up");
  RUN ("ip", "-n", site->host, "link", "set", "party0", "up");
  RUN ("ip", "-n", site->neighbour, "link", "set", "eth0", "up");
  RUN ("ip", "-n", site->party, "link", "set", "party0", "up");
  RUN ("ip", "-n", site->host, "route", "add", "default", "via", "198.18.1.1");
  /* The neighbour's programs join groups and broadcast by its default route, too. */
  RUN ("ip", "-n", site->neighbour, "route", "add", "default", "dev", "eth0");
  return site;
}

void
lrd_lan_test_site_free (LrdLanTestSite *site)
{
  lrd_test_run (NULL, "ip", "netns", "del", site->host, NULL);
  lrd_test_run (NULL, "ip", "netns", "del", site->neighbour, NULL);
  lrd_test_run (NULL, "ip", "netns", "del", site->party, NULL);
  g_free (site->host);
  g_free (site->neighbour);
  g_free (site->party);
  g_free (site);
}

/* The NATs the hosts sit behind, in turn: every kind whose mapping WireGuard's own
 * handshakes punch (LAB.md); a symmetric NAT would need the relay, which is not what these
 * tests are about. */
static const char * const nats[] = { "port-restricted", "full-cone", "restricted-cone" };

LrdLanTestLab *
lrd_lan_test_lab_new (guint n_hosts)
{
  LrdLanTestLab *lab = g_new0 (LrdLanTestLab, 1);
  g_autofree char *prefix = NULL;

  g_assert_cmpuint (n_hosts, <=, 200);
  lab_counter++;
  prefix = g_strdup_printf ("lrlan%u-%u", (guint) getpid () % 10000, lab_counter);
  lab->nat_lab = lr_test_lab_new (prefix);
  lab->n_hosts = n_hosts;
  lab->hosts = g_new0 (LrdLanTestHost, n_hosts);

  for (guint i = 0; i < n_hosts; i++)
    {
      LrdLanTestHost *host = &lab->hosts[i];
      const LrTestNat *nat = lr_test_nat_find (nats[i % G_N_ELEMENTS (nats)]);

      host->ns = g_strdup (lr_test_lab_add_host (lab->nat_lab, i + 1, nat));
      host->router = g_strdup_printf ("%s-r%u", prefix, i + 1);
      host->ifname = g_strdup_printf ("lrl%uw%u", lab_counter, i + 1);
      host->link_capture = -1;
      wg_up (host, i);
    }
  for (guint i = 0; i < n_hosts; i++)
    for (guint j = 0; j < n_hosts; j++)
      if (i != j)
        wg_add_peer (&lab->hosts[i], &lab->hosts[j], j);

  /* Every tunnel answers before anything is measured. A handshake that arrives before the
   * other end's own has opened its NAT is dropped; pings both ways retry from each end. */
  for (guint i = 0; i < n_hosts; i++)
    for (guint j = i + 1; j < n_hosts; j++)
      {
        g_autofree char *to_j = g_strdup_printf ("10.66.0.%u", j + 1);
        g_autofree char *to_i = g_strdup_printf ("10.66.0.%u", i + 1);
        guint attempts = 0;

        while (!ping_once (lab->hosts[i].ns, to_j) && !ping_once (lab->hosts[j].ns, to_i))
          g_assert_cmpuint (++attempts, <, 10);
      }
  for (guint i = 0; i < n_hosts; i++)
    lab->hosts[i].link_capture = lrd_lan_test_open_link_capture (lab->hosts[i].ns, "eth0");
  return lab;
}

void
lrd_lan_test_lab_free (LrdLanTestLab *lab)
{
  for (guint i = 0; i < lab->n_hosts; i++)
    {
      LrdLanTestHost *host = &lab->hosts[i];
      g_autoptr(GAsyncResult) result = NULL;
      GAsyncResult *slot = NULL;

      if (host->link_capture >= 0)
        close (host->link_capture);
      lrd_wg_backend_down_async (host->wg, NULL, lrd_test_result_cb, &slot);
      result = lrd_test_wait (&slot);
      lrd_wg_backend_down_finish (host->wg, result, NULL);
      g_clear_object (&host->wg);
      g_free (host->ns);
      g_free (host->router);
      g_free (host->ifname);
    }
  lr_test_lab_free (lab->nat_lab);
  g_free (lab->hosts);
  g_free (lab);
}
