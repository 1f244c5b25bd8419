/* lr-addr.h: one UDP address (IPv4 or IPv6 and a port) as a plain value
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What recvfrom() fills and sendto() takes, so a datagram's source goes straight into one;
 * compared and hashed without allocation; written and read in the one text form every
 * LANrage part uses for an address (WireGuard's UAPI and `wg`, NetworkManager, the control
 * API's endpoints, relay lists): `1.2.3.4:51820` or `[2001:db8::1]:51820`, numeric only.
 * An LrAddr with length 0 is "no address".
 */
#pragma once

#include <gio/gio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* "[" + 45 (INET6_ADDRSTRLEN - 1) + "]:" + 5 + NUL */
#define LR_ADDR_STRING_SIZE 54

typedef struct
{
  union
  {
    struct sockaddr     sa;
    struct sockaddr_in  sin;
    struct sockaddr_in6 sin6;
  } u;
  socklen_t length;   /* 0: no address */
} LrAddr;

gboolean  lr_addr_parse             (const char         *text,
                                     LrAddr             *out);
char     *lr_addr_to_string         (const LrAddr       *self);
void      lr_addr_format            (const LrAddr       *self,
                                     char                out[LR_ADDR_STRING_SIZE]);
gboolean  lr_addr_from_sockaddr     (LrAddr             *self,
                                     const void         *sockaddr,
                                     socklen_t           length);
gboolean  lr_addr_from_gaddress     (LrAddr             *self,
                                     GInetSocketAddress *address);
GInetSocketAddress *lr_addr_to_gaddress (const LrAddr   *self);
void      lr_addr_set_ipv4          (LrAddr             *self,
                                     guint32             host_order_address,
                                     guint16             port);
guint16   lr_addr_get_port          (const LrAddr       *self);
gboolean  lr_addr_is_set            (const LrAddr       *self);
gboolean  lr_addr_equal             (const LrAddr       *a,
                                     const LrAddr       *b);
guint     lr_addr_hash              (const LrAddr       *self);

G_END_DECLS
