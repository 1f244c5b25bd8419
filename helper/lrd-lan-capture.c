/* lrd-lan-capture.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A packet socket (AF_PACKET, SOCK_DGRAM, so frames arrive without their link header) sees
 * a copy of every IPv4 packet the host sends, on every interface, before it leaves; the
 * original goes on untouched, so the physical LAN keeps seeing its discovery exactly as
 * before, and no UDP port is bound. A classic BPF filter, run by the kernel for each packet,
 * keeps only what the bridge wants, so user space wakes for nothing else:
 *
 *   - outgoing (PACKET_OUTGOING): what this host sends, not what it receives; IPv4;
 *   - not on lo: the injector delivers through lo (lrd-lan-inject.c), and local programs'
 *     loopback traffic is nobody else's business;
 *   - not carrying LRD_LAN_INJECT_MARK: the injector's multicast, which the kernel loops
 *     back (as PACKET_LOOPBACK, which packet sockets never see) but which is marked anyway;
 *   - IPv4, UDP, not a fragment, not to LR_LAN_FRAME_PORT (the bridge's own frames);
 *   - to 255.255.255.255, to 224.0.0.0/4, or to the broadcast address of one of this
 *     host's subnets (the filter is built again whenever those change).
 *
 * The subnets are in the filter, not a looser test such as "the last two bits are set":
 * WireGuard's own datagrams to a peer whose public address happened to match would
 * otherwise wake user space once each, and a direct path lost a fifth of its throughput
 * to that in the lab. User space then keeps a datagram only if its source is one of this
 * host's addresses (a bridge or a router forwards other hosts' packets: those are not
 * ours to bridge) and, for a directed broadcast, checks the destination again. The host's
 * addresses come from an rtnetlink socket: a dump at start, then the kernel's own
 * notifications, so the list is always current and nothing ever blocks.
 */
#include "lrd-lan-capture.h"

#include "lr-bytes.h"
#include "lr-lan-frame.h"

#include <errno.h>
#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/filter.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct
{
  int     ifindex;
  guint32 address;
  guint8  prefix_length;
} LocalAddress;

struct _LrdLanCapture
{
  GObject             parent_instance;

  int                 packet_fd;
  guint               packet_watch;
  struct mnl_socket  *rtnl;
  guint               rtnl_watch;
  GArray             *addresses;   /* LocalAddress */
  guint               loopback_ifindex;
  GArray             *filtered;    /* guint32: the subnet broadcasts in the filter */
  guint64             captured;
  guint64             ignored;
};

enum
{
  SIGNAL_DATAGRAM,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (LrdLanCapture, lrd_lan_capture, G_TYPE_OBJECT)

/* At most this many subnet broadcast addresses go into the filter; a host with more
 * (unheard of) falls back to keeping every destination whose last two bits are set and
 * sorting them out in user space. */
#define MAX_FILTER_BROADCASTS 64

typedef enum
{
  TO_NEXT,
  TO_DROP,
  TO_KEEP,
} Target;

typedef struct
{
  struct sock_filter insn;
  Target             if_true;
  Target             if_false;
} Step;

static void
emit (GArray   *steps,
      guint16   code,
      guint32   k,
      Target    if_true,
      Target    if_false)
{
  Step step = { BPF_STMT (code, k), if_true, if_false };

  g_array_append_val (steps, step);
}

/* The filter of the comment above, with the host's subnet broadcast addresses
 * (@broadcasts, host order) compared one by one. With SOCK_DGRAM, offsets count from the
 * IP header. */
static gboolean
attach_filter (int             fd,
               guint32         loopback_ifindex,
               const guint32  *broadcasts,
               guint           n_broadcasts,
               GError        **error)
{
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (Step));
  g_autofree struct sock_filter *code = NULL;
  struct sock_fprog program;
  guint drop, keep;

  emit (steps, BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE, 0, 0);
  emit (steps, BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, TO_NEXT, TO_DROP);
  emit (steps, BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL, 0, 0);
  emit (steps, BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, TO_NEXT, TO_DROP);
  emit (steps, BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_IFINDEX, 0, 0);
  emit (steps, BPF_JMP | BPF_JEQ | BPF_K, loopback_ifindex, TO_DROP, TO_NEXT);
  emit (steps, BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_MARK, 0, 0);
  emit (steps, BPF_JMP | BPF_JEQ | BPF_K, LRD_LAN_INJECT_MARK, TO_DROP, TO_NEXT);
  emit (steps, BPF_LD | BPF_B | BPF_ABS, 0, 0, 0);                 /* version, IHL */
  emit (steps, BPF_ALU | BPF_AND | BPF_K, 0xf0, 0, 0);
  emit (steps, BPF_JMP | BPF_JEQ | BPF_K, 0x40, TO_NEXT, TO_DROP);
  emit (steps, BPF_LD | BPF_B | BPF_ABS, 9, 0, 0);                 /* protocol */
  emit (steps, BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, TO_NEXT, TO_DROP);
  emit (steps, BPF_LD | BPF_H | BPF_ABS, 6, 0, 0);                 /* MF, fragment offset */
  emit (steps, BPF_JMP | BPF_JSET | BPF_K, 0x3fff, TO_DROP, TO_NEXT);
  emit (steps, BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0);                /* X = IP header length */
  emit (steps, BPF_LD | BPF_H | BPF_IND, 2, 0, 0);                 /* UDP destination port */
  emit (steps, BPF_JMP | BPF_JEQ | BPF_K, LR_LAN_FRAME_PORT, TO_DROP, TO_NEXT);
  emit (steps, BPF_LD | BPF_W | BPF_ABS, 16, 0, 0);                /* destination */
  emit (steps, BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, TO_KEEP, TO_NEXT);
  emit (steps, BPF_MISC | BPF_TAX, 0, 0, 0);
  emit (steps, BPF_ALU | BPF_AND | BPF_K, 0xf0000000, 0, 0);
  emit (steps, BPF_JMP | BPF_JEQ | BPF_K, 0xe0000000, TO_KEEP, TO_NEXT);
  emit (steps, BPF_MISC | BPF_TXA, 0, 0, 0);
  if (n_broadcasts <= MAX_FILTER_BROADCASTS)
    for (guint i = 0; i < n_broadcasts; i++)
      emit (steps, BPF_JMP | BPF_JEQ | BPF_K, broadcasts[i], TO_KEEP, TO_NEXT);
  else
    {
      emit (steps, BPF_ALU | BPF_AND | BPF_K, 3, 0, 0);
      emit (steps, BPF_JMP | BPF_JEQ | BPF_K, 3, TO_KEEP, TO_NEXT);
    }
  drop = steps->len;
  emit (steps, BPF_RET | BPF_K, 0, 0, 0);
  keep = steps->len;
  emit (steps, BPF_RET | BPF_K, 0xffff, 0, 0);

  /* Jumps count the instructions skipped: at most 64 + 3 here, within a jump's 8 bits. */
  code = g_new0 (struct sock_filter, steps->len);
  for (guint i = 0; i < steps->len; i++)
    {
      const Step *step = &g_array_index (steps, Step, i);
      Target targets[2] = { step->if_true, step->if_false };
      guint8 offsets[2] = { 0, 0 };

      code[i] = step->insn;
      if (BPF_CLASS (step->insn.code) != BPF_JMP)
        continue;
      for (guint t = 0; t < 2; t++)
        if (targets[t] != TO_NEXT)
          offsets[t] = (targets[t] == TO_DROP ? drop : keep) - i - 1;
      code[i].jt = offsets[0];
      code[i].jf = offsets[1];
    }

  program.len = steps->len;
  program.filter = code;
  if (setsockopt (fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot filter the LAN capture socket: %s", g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static const LocalAddress *
find_address (LrdLanCapture *self,
              guint32        address)
{
  for (guint i = 0; i < self->addresses->len; i++)
    {
      const LocalAddress *local = &g_array_index (self->addresses, LocalAddress, i);

      if (local->address == address)
        return local;
    }
  return NULL;
}

static gboolean
is_subnet_broadcast (LrdLanCapture *self,
                     guint32        address)
{
  for (guint i = 0; i < self->addresses->len; i++)
    {
      const LocalAddress *local = &g_array_index (self->addresses, LocalAddress, i);
      guint32 host_mask;

      if (local->prefix_length == 0 || local->prefix_length >= 31)
        continue;
      host_mask = 0xffffffffu >> local->prefix_length;
      if ((local->address | host_mask) == address)
        return TRUE;
    }
  return FALSE;
}

gboolean
lrd_lan_datagram_parse (LrdLanDatagram *datagram,
                        const guint8   *packet,
                        gsize           length)
{
  gsize header_length, total_length, udp_length;

  memset (datagram, 0, sizeof *datagram);
  if (length < 28 || (packet[0] >> 4) != 4)
    return FALSE;
  header_length = (packet[0] & 0x0f) * 4;
  total_length = lr_bytes_read_be16 (packet + 2);
  if (header_length < 20 || total_length > length || total_length < header_length + 8 ||
      packet[9] != IPPROTO_UDP || (lr_bytes_read_be16 (packet + 6) & 0x3fff) != 0)
    return FALSE;
  udp_length = lr_bytes_read_be16 (packet + header_length + 4);
  if (udp_length < 8 || udp_length > total_length - header_length)
    return FALSE;

  datagram->source = lr_bytes_read_be32 (packet + 12);
  datagram->destination = lr_bytes_read_be32 (packet + 16);
  datagram->source_port = lr_bytes_read_be16 (packet + header_length);
  datagram->destination_port = lr_bytes_read_be16 (packet + header_length + 2);
  datagram->payload = packet + header_length + 8;
  datagram->payload_length = udp_length - 8;
  return TRUE;
}

static void
handle_packet (LrdLanCapture *self,
               const guint8  *packet,
               gsize          length,
               int            ifindex)
{
  LrdLanDatagram datagram;
  LrLanDestination kind;

  if (!lrd_lan_datagram_parse (&datagram, packet, length))
    return;
  datagram.ifindex = ifindex;

  kind = lr_lan_destination_classify (datagram.destination);
  if (kind == LR_LAN_DESTINATION_NONE || datagram.source_port == 0 ||
      datagram.destination_port == 0 || find_address (self, datagram.source) == NULL ||
      (kind == LR_LAN_DESTINATION_DIRECTED_BROADCAST &&
       !is_subnet_broadcast (self, datagram.destination)))
    {
      g_debug ("LAN capture: ignored a datagram from %08x to %08x:%u (%u local addresses)",
               datagram.source, datagram.destination, datagram.destination_port,
               self->addresses->len);
      self->ignored++;
      return;
    }

  self->captured++;
  g_signal_emit (self, signals[SIGNAL_DATAGRAM], 0, &datagram);
}

static gboolean
packet_ready_cb (int           fd,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  LrdLanCapture *self = LRD_LAN_CAPTURE (user_data);
  guint8 buffer[65536];

  /* A bounded batch per wakeup, so a flood cannot starve the rest of the main loop. */
  for (guint i = 0; i < 64; i++)
    {
      struct sockaddr_ll from;
      socklen_t from_length = sizeof from;
      ssize_t n = recvfrom (fd, buffer, sizeof buffer, MSG_DONTWAIT | MSG_TRUNC,
                            (struct sockaddr *) &from, &from_length);

      if (n < 0)
        {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            g_warning ("LAN capture: %s", g_strerror (errno));
          break;
        }
      if ((gsize) n > sizeof buffer)
        continue;   /* larger than any IPv4 packet: cannot be */
      handle_packet (self, buffer, n, from.sll_ifindex);
    }
  return G_SOURCE_CONTINUE;
}

/* rtnetlink: the host's IPv4 addresses */

static int
address_cb (const struct nlmsghdr *nlh,
            void                  *data)
{
  LrdLanCapture *self = data;
  const struct ifaddrmsg *ifa;
  const struct nlattr *attr;
  LocalAddress local = { 0 };
  gboolean found = FALSE;

  if ((nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR) ||
      mnl_nlmsg_get_payload_len (nlh) < sizeof (struct ifaddrmsg))
    return MNL_CB_OK;
  ifa = mnl_nlmsg_get_payload (nlh);
  if (ifa->ifa_family != AF_INET || ifa->ifa_prefixlen > 32)
    return MNL_CB_OK;

  /* IFA_LOCAL is the host's own address; IFA_ADDRESS is the peer's on point-to-point
   * links, and the same as IFA_LOCAL otherwise. */
  mnl_attr_for_each (attr, nlh, sizeof *ifa)
    {
      if ((mnl_attr_get_type (attr) == IFA_LOCAL ||
           (mnl_attr_get_type (attr) == IFA_ADDRESS && !found)) &&
          mnl_attr_get_payload_len (attr) == 4)
        {
          local.address = lr_bytes_read_be32 (mnl_attr_get_payload (attr));
          found = TRUE;
        }
    }
  if (!found)
    return MNL_CB_OK;
  local.ifindex = ifa->ifa_index;
  local.prefix_length = ifa->ifa_prefixlen;

  for (guint i = 0; i < self->addresses->len; i++)
    {
      const LocalAddress *known = &g_array_index (self->addresses, LocalAddress, i);

      if (known->ifindex == local.ifindex && known->address == local.address)
        {
          g_array_remove_index (self->addresses, i);
          break;
        }
    }
  if (nlh->nlmsg_type == RTM_NEWADDR)
    g_array_append_val (self->addresses, local);
  return MNL_CB_OK;
}

/* Builds the filter again when the set of subnet broadcast addresses changed. */
static void
refilter (LrdLanCapture *self)
{
  g_autoptr(GArray) broadcasts = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GError) error = NULL;
  gboolean same;

  for (guint i = 0; i < self->addresses->len; i++)
    {
      const LocalAddress *local = &g_array_index (self->addresses, LocalAddress, i);
      guint32 broadcast;
      gboolean known = FALSE;

      if (local->prefix_length == 0 || local->prefix_length >= 31)
        continue;
      broadcast = local->address | (0xffffffffu >> local->prefix_length);
      for (guint j = 0; j < broadcasts->len && !known; j++)
        known = g_array_index (broadcasts, guint32, j) == broadcast;
      if (!known)
        g_array_append_val (broadcasts, broadcast);
    }

  same = self->filtered != NULL && self->filtered->len == broadcasts->len;
  for (guint i = 0; same && i < broadcasts->len; i++)
    same = g_array_index (self->filtered, guint32, i) == g_array_index (broadcasts, guint32, i);
  if (same || self->packet_fd < 0)
    return;
  if (!attach_filter (self->packet_fd, self->loopback_ifindex, (const guint32 *) broadcasts->data,
                      broadcasts->len, &error))
    {
      g_warning ("LAN capture: directed broadcasts may be missed: %s", error->message);
      return;
    }
  g_clear_pointer (&self->filtered, g_array_unref);
  self->filtered = g_steal_pointer (&broadcasts);
}

static gboolean
rtnl_ready_cb (int           fd,
               GIOCondition  condition,
               gpointer      user_data)
{
  LrdLanCapture *self = LRD_LAN_CAPTURE (user_data);
  guint8 buffer[MNL_SOCKET_BUFFER_SIZE];

  for (;;)
    {
      ssize_t n = mnl_socket_recvfrom (self->rtnl, buffer, sizeof buffer);

      if (n < 0)
        {
          if (errno == ENOBUFS)
            g_warning ("LAN capture: missed address changes (rtnetlink overrun)");
          else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            g_warning ("LAN capture: rtnetlink: %s", g_strerror (errno));
          break;
        }
      /* Sequence 0 and port 0: accept both the dump's answer and notifications. */
      mnl_cb_run (buffer, n, 0, 0, address_cb, self);
    }
  refilter (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
rtnl_open (LrdLanCapture  *self,
           GError        **error)
{
  guint8 buffer[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh;
  struct rtgenmsg *rtg;

  self->rtnl = mnl_socket_open2 (NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (self->rtnl == NULL ||
      mnl_socket_bind (self->rtnl, RTMGRP_IPV4_IFADDR, MNL_SOCKET_AUTOPID) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open rtnetlink: %s", g_strerror (saved));
      return FALSE;
    }

  nlh = mnl_nlmsg_put_header (buffer);
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = 0;
  rtg = mnl_nlmsg_put_extra_header (nlh, sizeof *rtg);
  rtg->rtgen_family = AF_INET;
  if (mnl_socket_sendto (self->rtnl, nlh, nlh->nlmsg_len) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot ask rtnetlink for addresses: %s", g_strerror (saved));
      return FALSE;
    }
  /* The dump's answer is read here, before the filter is built from it: a directed
   * broadcast sent right after start must not meet a filter that knows no subnet yet.
   * The kernel answers from memory in microseconds; the wait is bounded anyway. */
  for (;;)
    {
      struct pollfd ready = { mnl_socket_get_fd (self->rtnl), POLLIN, 0 };
      ssize_t n;
      int ret;

      if (poll (&ready, 1, 1000) <= 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "rtnetlink did not list the addresses");
          return FALSE;
        }
      n = mnl_socket_recvfrom (self->rtnl, buffer, sizeof buffer);
      if (n < 0)
        {
          int saved = errno;

          if (saved == EAGAIN || saved == EINTR)
            continue;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Cannot read the addresses from rtnetlink: %s", g_strerror (saved));
          return FALSE;
        }
      ret = mnl_cb_run (buffer, n, 0, 0, address_cb, self);
      if (ret <= MNL_CB_STOP)
        break;
    }
  self->rtnl_watch = g_unix_fd_add (mnl_socket_get_fd (self->rtnl), G_IO_IN, rtnl_ready_cb,
                                    self);
  return TRUE;
}

LrdLanCapture *
lrd_lan_capture_new (GError **error)
{
  g_autoptr(LrdLanCapture) self = g_object_new (LRD_TYPE_LAN_CAPTURE, NULL);
  guint loopback = if_nametoindex ("lo");

  if (!rtnl_open (self, error))
    return NULL;

  /* ETH_P_ALL: a socket bound to one protocol is only handed received packets, never the
   * copies of outgoing ones (dev_queue_xmit_nit() serves ETH_P_ALL taps alone). */
  self->packet_fd = socket (AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            htons (ETH_P_ALL));
  if (self->packet_fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open the LAN capture socket: %s", g_strerror (saved));
      return NULL;
    }
  self->loopback_ifindex = loopback;
  if (!attach_filter (self->packet_fd, loopback, NULL, 0, error))
    return NULL;
  refilter (self);
  self->packet_watch = g_unix_fd_add (self->packet_fd, G_IO_IN, packet_ready_cb, self);
  return g_steal_pointer (&self);
}

guint64
lrd_lan_capture_get_captured (LrdLanCapture *self)
{
  g_return_val_if_fail (LRD_IS_LAN_CAPTURE (self), 0);
  return self->captured;
}

guint64
lrd_lan_capture_get_ignored (LrdLanCapture *self)
{
  g_return_val_if_fail (LRD_IS_LAN_CAPTURE (self), 0);
  return self->ignored;
}

static void
lrd_lan_capture_dispose (GObject *object)
{
  LrdLanCapture *self = LRD_LAN_CAPTURE (object);

  g_clear_handle_id (&self->packet_watch, g_source_remove);
  g_clear_handle_id (&self->rtnl_watch, g_source_remove);
  G_OBJECT_CLASS (lrd_lan_capture_parent_class)->dispose (object);
}

static void
lrd_lan_capture_finalize (GObject *object)
{
  LrdLanCapture *self = LRD_LAN_CAPTURE (object);

  if (self->packet_fd >= 0)
    close (self->packet_fd);
  g_clear_pointer (&self->rtnl, mnl_socket_close);
  g_array_unref (self->addresses);
  g_clear_pointer (&self->filtered, g_array_unref);
  G_OBJECT_CLASS (lrd_lan_capture_parent_class)->finalize (object);
}

static void
lrd_lan_capture_class_init (LrdLanCaptureClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_lan_capture_dispose;
  object_class->finalize = lrd_lan_capture_finalize;

  /**
   * LrdLanCapture::datagram:
   * @datagram: (type gpointer): the const LrdLanDatagram, valid during the emission
   *
   * A local program sent a discovery datagram.
   */
  signals[SIGNAL_DATAGRAM] = g_signal_new ("datagram", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
lrd_lan_capture_init (LrdLanCapture *self)
{
  self->packet_fd = -1;
  self->addresses = g_array_new (FALSE, FALSE, sizeof (LocalAddress));
}
