/* lrd-lan-inject.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Games look for a true broadcast or multicast datagram and answer the address and port it
 * came from (Warcraft III answers only to port 6112), so the helper writes the datagram
 * whole, IP header included, through IPPROTO_RAW sockets: the source is the party member's
 * virtual address and the port it sent from. Nothing may reach the physical network (LAB.md,
 * "Delivering a LAN announcement locally", measured here):
 *
 *   - a broadcast goes out through lo (SO_BINDTODEVICE), whose packets come straight back
 *     in with their route attached, so local sockets bound to the port receive it. Sent
 *     through the Ethernet interface instead it was received too, but leaked onto the link,
 *     even with TTL 0.
 *   - a multicast datagram goes out by the route to its group, where programs joined it,
 *     with TTL 0 and IP_MULTICAST_LOOP: the kernel hands members on this host a looped copy
 *     and drops the original before it leaves ("multicasts with ttl 0 must not go beyond
 *     the host", ip_mc_output()).
 *
 * Both sockets mark what they send with LRD_LAN_INJECT_MARK, which the capture's filter
 * drops, so an injected datagram is never captured and bridged again.
 */
#include "lrd-lan-inject.h"

#include "lr-bytes.h"
#include "lr-lan-frame.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct _LrdLanInject
{
  GObject parent_instance;

  int     broadcast_fd;  /* bound to lo */
  int     multicast_fd;
};

G_DEFINE_FINAL_TYPE (LrdLanInject, lrd_lan_inject, G_TYPE_OBJECT)

static gboolean
set_option (int          fd,
            int          level,
            int          name,
            const void  *value,
            socklen_t    length,
            const char  *what,
            GError     **error)
{
  if (setsockopt (fd, level, name, value, length) == 0)
    return TRUE;
  {
    int saved = errno;

    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 "Cannot set %s on the LAN injection socket: %s", what, g_strerror (saved));
  }
  return FALSE;
}

static int
open_raw (GError **error)
{
  int fd = socket (AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  int mark = LRD_LAN_INJECT_MARK;

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open a raw socket for LAN injection: %s", g_strerror (saved));
      return -1;
    }
  if (!set_option (fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark, "SO_MARK", error))
    {
      close (fd);
      return -1;
    }
  return fd;
}

LrdLanInject *
lrd_lan_inject_new (GError **error)
{
  g_autoptr(LrdLanInject) self = g_object_new (LRD_TYPE_LAN_INJECT, NULL);
  int one = 1;
  guint8 loop = 1;

  self->broadcast_fd = open_raw (error);
  if (self->broadcast_fd < 0 ||
      !set_option (self->broadcast_fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3,
                   "SO_BINDTODEVICE", error) ||
      !set_option (self->broadcast_fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one,
                   "SO_BROADCAST", error))
    return NULL;

  self->multicast_fd = open_raw (error);
  if (self->multicast_fd < 0 ||
      !set_option (self->multicast_fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop,
                   "IP_MULTICAST_LOOP", error))
    return NULL;
  return g_steal_pointer (&self);
}

static guint32
sum_words (guint32       sum,
           const guint8 *data,
           gsize         length)
{
  for (gsize i = 0; i + 1 < length; i += 2)
    sum += (data[i] << 8) | data[i + 1];
  if (length & 1)
    sum += data[length - 1] << 8;
  return sum;
}

static guint16
fold (guint32 sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

gboolean
lrd_lan_inject_send (LrdLanInject          *self,
                     const LrdLanDatagram  *datagram,
                     GError               **error)
{
  guint8 packet[20 + 8 + LR_LAN_FRAME_MAX_PAYLOAD];
  guint8 pseudo[12];
  gsize length = 20 + 8 + datagram->payload_length;
  LrLanDestination kind = lr_lan_destination_classify (datagram->destination);
  struct sockaddr_in to = { .sin_family = AF_INET };
  guint16 checksum;
  int fd;

  g_return_val_if_fail (LRD_IS_LAN_INJECT (self), FALSE);

  if (datagram->payload_length > LR_LAN_FRAME_MAX_PAYLOAD || kind == LR_LAN_DESTINATION_NONE ||
      datagram->source_port == 0 || datagram->destination_port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Not a LAN discovery datagram");
      return FALSE;
    }

  /* IPv4 header; the kernel fills in the identification and the header checksum. */
  memset (packet, 0, 28);
  packet[0] = 0x45;
  lr_bytes_write_be16 (packet + 2, length);
  packet[8] = kind == LR_LAN_DESTINATION_MULTICAST ? 0 : 1;   /* TTL */
  packet[9] = IPPROTO_UDP;
  lr_bytes_write_be32 (packet + 12, datagram->source);
  lr_bytes_write_be32 (packet + 16, datagram->destination);

  lr_bytes_write_be16 (packet + 20, datagram->source_port);
  lr_bytes_write_be16 (packet + 22, datagram->destination_port);
  lr_bytes_write_be16 (packet + 24, 8 + datagram->payload_length);
  memcpy (packet + 28, datagram->payload, datagram->payload_length);

  /* UDP checksum over the pseudo-header (RFC 768); 0 is sent as 0xffff. */
  lr_bytes_write_be32 (pseudo, datagram->source);
  lr_bytes_write_be32 (pseudo + 4, datagram->destination);
  pseudo[8] = 0;
  pseudo[9] = IPPROTO_UDP;
  lr_bytes_write_be16 (pseudo + 10, 8 + datagram->payload_length);
  checksum = fold (sum_words (sum_words (0, pseudo, sizeof pseudo), packet + 20,
                              8 + datagram->payload_length));
  lr_bytes_write_be16 (packet + 26, checksum == 0 ? 0xffff : checksum);

  to.sin_addr.s_addr = htonl (datagram->destination);
  fd = kind == LR_LAN_DESTINATION_MULTICAST ? self->multicast_fd : self->broadcast_fd;
  if (sendto (fd, packet, length, MSG_DONTWAIT, (struct sockaddr *) &to, sizeof to) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot inject a LAN datagram: %s", g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static void
lrd_lan_inject_finalize (GObject *object)
{
  LrdLanInject *self = LRD_LAN_INJECT (object);

  if (self->broadcast_fd >= 0)
    close (self->broadcast_fd);
  if (self->multicast_fd >= 0)
    close (self->multicast_fd);
  G_OBJECT_CLASS (lrd_lan_inject_parent_class)->finalize (object);
}

static void
lrd_lan_inject_class_init (LrdLanInjectClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lrd_lan_inject_finalize;
}

static void
lrd_lan_inject_init (LrdLanInject *self)
{
  self->broadcast_fd = -1;
  self->multicast_fd = -1;
}
