/* lrd-lan-test-util.h: programs and link captures for the LAN discovery lab tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A "program" is a UDP socket the test opens inside a lab host's network namespace: it sees
 * exactly what a game's socket would. A link capture is a packet socket on one interface of
 * a namespace that records everything the link carries, both ways. Addresses are in host
 * byte order. Waiting runs the main loop, where the code under test lives.
 */
#pragma once

#include <glib.h>

#include "lrd-wg-backend.h"

G_BEGIN_DECLS

/* Bound to 0.0.0.0:@port (SO_REUSEADDR, SO_BROADCAST), joined to @group unless it is 0. */
int     lrd_lan_test_program_open    (const char   *ns,
                                      guint16       port,
                                      guint32       group);
void    lrd_lan_test_program_send    (int           fd,
                                      guint32       to,
                                      guint16       port,
                                      const void   *data,
                                      gsize         length);
/* Runs the main loop until @fd has a datagram or @timeout_ms passes; -1 on timeout. */
gssize  lrd_lan_test_program_receive (int           fd,
                                      guint8       *buffer,
                                      gsize         size,
                                      guint32      *from,
                                      guint16      *from_port,
                                      guint         timeout_ms);
void    lrd_lan_test_expect_datagram (int           fd,
                                      const void   *payload,
                                      gsize         length,
                                      guint32       from,
                                      guint16       from_port);
void    lrd_lan_test_expect_nothing  (int           fd,
                                      guint         wait_ms);
void    lrd_lan_test_pump            (guint         ms);

int     lrd_lan_test_open_link_capture (const char *ns,
                                        const char *ifname);
/* Reads everything the link carried since the last call; returns how many IPv4 UDP packets
 * held @marker. Fails on a packet from 10.66.0.0/16 to a broadcast or multicast destination
 * (a bridged or injected datagram on the link) and on one holding @marker whose source is
 * not @sender (0: nobody may send it on this link). */
guint   lrd_lan_test_check_link      (int           fd,
                                      const char   *what,
                                      const char   *marker,
                                      guint32       sender);

/* One host and its two links, as the capture and injection tests use them: eth0
 * (198.18.1.2/24) to a neighbour namespace on the same LAN (198.18.1.1, the host's default
 * gateway), and party0 (10.66.0.1/16), a veth standing in for the WireGuard interface, to a
 * namespace holding 10.66.0.2. Needs root and a private /run. */
typedef struct
{
  char *host;
  char *neighbour;
  char *party;
} LrdLanTestSite;

LrdLanTestSite *lrd_lan_test_site_new            (const char     *prefix);
void            lrd_lan_test_site_free           (LrdLanTestSite *site);

/* A party network: each host (host N, from 0) is 192.168.N+1.2 on eth0 behind a router
 * namespace doing NAT of its own kind (port-restricted, full cone, restricted cone, in
 * turn) onto the lab's internet (lr-test-lab.h), runs a real wireguard-go started by
 * LrdWgUapi with 10.66.0.N+1/16, and is a WireGuard peer of every other host at its public
 * address; every tunnel answers a ping and a link capture is open on each host's eth0.
 * Needs root, wireguard-go and a private /run (lrd_test_enter_private_run). */
typedef struct _LrTestLab LrTestLab;

typedef struct
{
  char         *ns;
  char         *router;         /* the NAT's namespace, whose "lan" side shares eth0's link */
  char         *ifname;         /* the WireGuard interface */
  LrdWgBackend *wg;
  LrKey         private_key;
  LrKey         public_key;
  int           link_capture;   /* lrd_lan_test_open_link_capture on eth0 */
} LrdLanTestHost;

typedef struct
{
  LrTestLab      *nat_lab;
  guint           n_hosts;
  LrdLanTestHost *hosts;
} LrdLanTestLab;

LrdLanTestLab *lrd_lan_test_lab_new              (guint          n_hosts);
void           lrd_lan_test_lab_free             (LrdLanTestLab *lab);
guint32        lrd_lan_test_virtual_address      (guint          index);
guint32        lrd_lan_test_physical_address     (guint          index);

G_END_DECLS
