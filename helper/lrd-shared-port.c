/* lrd-shared-port.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "lrd-shared-port.h"

#include "lr-disco.h"
#include "lr-error.h"

#include <errno.h>
#include <glib-unix.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Datagrams handled per wake-up, so a flood cannot starve the rest of the main loop. */
#define MAX_PER_WAKEUP 64

struct _LrdSharedPort
{
  GObject       parent_instance;

  guint16       port;
  int           raw4;
  int           raw6;       /* -1 without IPv6 */
  int           route4;     /* unbound UDP sockets, connected only to ask for a route */
  int           route6;
  GSource      *source4;
  GSource      *source6;
  guint64       n_read;
  /* One IP datagram of any size: a STUN server may pad its answer (coturn answers a padded
   * request with about 1600 bytes), and a reassembled datagram can be that long. */
  guint8       *buffer;
};

#define BUFFER_SIZE 65536

G_DEFINE_FINAL_TYPE (LrdSharedPort, lrd_shared_port, G_TYPE_OBJECT)

enum
{
  STUN_RECEIVED,
  DISCO_RECEIVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The filters. An IPv4 raw socket sees the packet from its IP header on; an IPv6 one from
 * the transport header on (RFC 3542 section 3), so the two programs differ in where the UDP
 * header is. Payload offsets: STUN's cookie at 4, disco's magic at 0. */
#define PAYLOAD 8  /* the UDP header's size */

static int
attach_filter (int      fd,
               gboolean ipv6,
               guint16  port)
{
  struct sock_filter v4[] = {
    BPF_STMT (BPF_LD | BPF_H | BPF_ABS, 6),                      /* flags, fragment offset */
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 10, 0),        /* a later fragment: drop */
    BPF_STMT (BPF_LDX | BPF_B | BPF_MSH, 0),                     /* x = IP header length */
    BPF_STMT (BPF_LD | BPF_H | BPF_IND, 2),                      /* UDP destination port */
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, port, 0, 7),
    BPF_STMT (BPF_LD | BPF_W | BPF_IND, PAYLOAD + 4),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, LR_STUN_MAGIC_COOKIE, 4, 0),
    BPF_STMT (BPF_LD | BPF_W | BPF_IND, PAYLOAD),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, LR_DISCO_MAGIC_WORD0, 0, 3),
    BPF_STMT (BPF_LD | BPF_W | BPF_IND, PAYLOAD + 4),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, LR_DISCO_MAGIC_WORD1, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, 0xffff),
    BPF_STMT (BPF_RET | BPF_K, 0),
  };
  struct sock_filter v6[] = {
    BPF_STMT (BPF_LD | BPF_H | BPF_ABS, 2),                      /* UDP destination port */
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, port, 0, 7),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, PAYLOAD + 4),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, LR_STUN_MAGIC_COOKIE, 4, 0),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, PAYLOAD),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, LR_DISCO_MAGIC_WORD0, 0, 3),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, PAYLOAD + 4),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, LR_DISCO_MAGIC_WORD1, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, 0xffff),
    BPF_STMT (BPF_RET | BPF_K, 0),
  };
  struct sock_fprog program = {
    .len = ipv6 ? G_N_ELEMENTS (v6) : G_N_ELEMENTS (v4),
    .filter = ipv6 ? v6 : v4,
  };

  return setsockopt (fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program);
}

/* RFC 1071's one's-complement sum, continued from @sum. */
static guint32
checksum_add (guint32       sum,
              const guint8 *data,
              gsize         length)
{
  for (gsize i = 0; i + 1 < length; i += 2)
    sum += (guint32) data[i] << 8 | data[i + 1];
  if (length & 1)
    sum += (guint32) data[length - 1] << 8;
  return sum;
}

static guint16
checksum_fold (guint32 sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

static guint32
pseudo_header_sum (const guint8 *source,
                   const guint8 *destination,
                   gsize         length)
{
  guint32 sum = 0;

  sum = checksum_add (sum, source, 4);
  sum = checksum_add (sum, destination, 4);
  sum += IPPROTO_UDP;
  sum += length;
  return sum;
}

/* RFC 768: over the pseudo-header (source, destination, protocol, UDP length) and the
 * whole datagram, whose checksum field must be zero or the received value. The result of
 * checking a received datagram this way is 0. */
static guint16
udp4_checksum (const guint8 *source,
               const guint8 *destination,
               const guint8 *datagram,
               gsize         length)
{
  guint32 sum = pseudo_header_sum (source, destination, length);

  return checksum_fold (checksum_add (sum, datagram, length));
}

/* Whether a received datagram's checksum is right. A datagram that never crossed a real
 * wire (from this host, or through a veth from another namespace) may come with its
 * checksum left to offload (CHECKSUM_PARTIAL): the field then holds only the folded
 * pseudo-header sum, and the kernel's UDP layer trusts it without checking. A raw socket
 * cannot see that mark, so that exact value is taken as "not computed" too; anything else
 * must add up. The payload's own checks (STUN's transaction id and FINGERPRINT, disco's
 * MAC) come after this either way. */
static gboolean
udp4_checksum_ok (const guint8 *source,
                  const guint8 *destination,
                  const guint8 *datagram,
                  gsize         length)
{
  guint16 field = (guint16) datagram[6] << 8 | datagram[7];
  guint16 partial;

  /* Zero: the sender computed none (RFC 768). */
  if (field == 0)
    return TRUE;
  if (udp4_checksum (source, destination, datagram, length) == 0)
    return TRUE;
  partial = ~checksum_fold (pseudo_header_sum (source, destination, length)) & 0xffff;
  return field == partial;
}

static void
lrd_shared_port_dispose (GObject *object)
{
  LrdSharedPort *self = LRD_SHARED_PORT (object);

  if (self->source4 != NULL)
    g_source_destroy (self->source4);
  if (self->source6 != NULL)
    g_source_destroy (self->source6);
  g_clear_pointer (&self->source4, g_source_unref);
  g_clear_pointer (&self->source6, g_source_unref);

  G_OBJECT_CLASS (lrd_shared_port_parent_class)->dispose (object);
}

static void
lrd_shared_port_finalize (GObject *object)
{
  LrdSharedPort *self = LRD_SHARED_PORT (object);
  int *fds[] = { &self->raw4, &self->raw6, &self->route4, &self->route6 };

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    if (*fds[i] >= 0)
      close (*fds[i]);
  g_free (self->buffer);

  G_OBJECT_CLASS (lrd_shared_port_parent_class)->finalize (object);
}

static void
lrd_shared_port_class_init (LrdSharedPortClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_shared_port_dispose;
  object_class->finalize = lrd_shared_port_finalize;

  /**
   * LrdSharedPort::stun-received:
   * @data: the STUN message (a const guint8 *, valid during the emission only)
   * @length: its length
   * @from: where it came from (a const LrStunAddress *, valid during the emission only)
   *
   * A datagram to port W that carries the STUN magic cookie and a valid UDP checksum.
   * Nothing else about it is checked: the STUN parser does that.
   */
  signals[STUN_RECEIVED] =
    g_signal_new ("stun-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 3, G_TYPE_POINTER, G_TYPE_UINT, G_TYPE_POINTER);
  /**
   * LrdSharedPort::disco-received:
   *
   * The same for a datagram that starts with the disco magic (lib/lr-disco.h).
   */
  signals[DISCO_RECEIVED] =
    g_signal_new ("disco-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 3, G_TYPE_POINTER, G_TYPE_UINT, G_TYPE_POINTER);
}

static void
lrd_shared_port_init (LrdSharedPort *self)
{
  self->raw4 = self->raw6 = self->route4 = self->route6 = -1;
  self->buffer = g_malloc (BUFFER_SIZE);
}

/* The payload of a datagram that passed the filter (and the checks here), by its kind. */
static void
dispatch (LrdSharedPort       *self,
          const guint8        *payload,
          gsize                length,
          const LrStunAddress *from)
{
  if (length >= LR_DISCO_MAGIC_SIZE && memcmp (payload, LR_DISCO_MAGIC, LR_DISCO_MAGIC_SIZE) == 0)
    g_signal_emit (self, signals[DISCO_RECEIVED], 0, payload, (guint) length, from);
  else if (lr_stun_is_message (payload, length))
    g_signal_emit (self, signals[STUN_RECEIVED], 0, payload, (guint) length, from);
}

/* An IPv4 packet as the raw socket gives it: the IP header, then the UDP datagram. The
 * filter already chose it; every length is checked again here all the same, since the
 * filter is only attached after the socket exists (and may have queued anything). */
static void
handle_ipv4 (LrdSharedPort *self,
             const guint8  *packet,
             gsize          length)
{
  const struct iphdr *ip = (const struct iphdr *) packet;
  const guint8 *udp;
  gsize header_length;
  gsize udp_length;
  LrStunAddress from = { .family = LR_STUN_FAMILY_IPV4 };

  if (length < sizeof *ip || ip->version != 4 || ip->protocol != IPPROTO_UDP)
    return;
  header_length = ip->ihl * 4u;
  if (header_length < sizeof *ip || length < header_length + 8 ||
      (ntohs (ip->frag_off) & (IP_MF | IP_OFFMASK)) != 0)
    return;
  udp = packet + header_length;
  udp_length = (gsize) udp[4] << 8 | udp[5];
  if (udp_length < 8 || udp_length > length - header_length)
    return;
  if (((guint16) udp[2] << 8 | udp[3]) != self->port)
    return;
  if (!udp4_checksum_ok ((const guint8 *) &ip->saddr, (const guint8 *) &ip->daddr, udp,
                         udp_length))
    {
      g_debug ("Shared port: dropped a datagram with a bad UDP checksum");
      return;
    }

  memcpy (from.address, &ip->saddr, 4);
  from.port = (guint16) udp[0] << 8 | udp[1];
  dispatch (self, udp + 8, udp_length - 8, &from);
}

/* An IPv6 datagram as the raw socket gives it: from the UDP header on; the kernel has
 * verified the checksum (IPV6_CHECKSUM). */
static void
handle_ipv6 (LrdSharedPort             *self,
             const guint8              *udp,
             gsize                      length,
             const struct sockaddr_in6 *sender)
{
  gsize udp_length;
  LrStunAddress from;

  if (length < 8)
    return;
  udp_length = (gsize) udp[4] << 8 | udp[5];
  if (udp_length < 8 || udp_length > length)
    return;
  if (((guint16) udp[2] << 8 | udp[3]) != self->port)
    return;
  if (!lr_stun_address_from_sockaddr (&from, sender, sizeof *sender))
    return;
  from.port = (guint16) udp[0] << 8 | udp[1];
  dispatch (self, udp + 8, udp_length - 8, &from);
}

static gboolean
readable_cb (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  g_autoptr(LrdSharedPort) self = g_object_ref (LRD_SHARED_PORT (user_data));
  guint8 *buffer = self->buffer;
  gsize size = BUFFER_SIZE;

  for (guint i = 0; i < MAX_PER_WAKEUP; i++)
    {
      struct sockaddr_in6 sender;
      socklen_t sender_length = sizeof sender;
      ssize_t n;

      n = recvfrom (fd, buffer, size, MSG_DONTWAIT | MSG_TRUNC,
                    (struct sockaddr *) &sender, &sender_length);
      if (n < 0)
        {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            g_debug ("Shared port: receive failed: %s", g_strerror (errno));
          break;
        }
      self->n_read++;
      if ((gsize) n > size)
        continue;
      if (fd == self->raw4)
        handle_ipv4 (self, buffer, n);
      else if (sender.sin6_family == AF_INET6)
        handle_ipv6 (self, buffer, n, &sender);
      /* A handler may have disposed of the port. */
      if (self->source4 == NULL)
        break;
    }
  return G_SOURCE_CONTINUE;
}

static void
set_errno_error (GError     **error,
                 int          saved,
                 const char  *what,
                 int          family,
                 guint16      port)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
               "Cannot %s a raw %s socket for port %u: %s", what,
               family == AF_INET ? "IPv4" : "IPv6", port, g_strerror (saved));
}

static int
open_raw (LrdSharedPort  *self,
          int             family,
          GError        **error)
{
  int fd = socket (family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  /* The UDP checksum is at offset 6 of what an IPv6 raw socket sends and receives. */
  int offset = 6;
  guint8 discard[64];

  if (fd < 0)
    {
      set_errno_error (error, errno, "open", family, self->port);
      return -1;
    }

  if ((family == AF_INET6 &&
       setsockopt (fd, IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof offset) != 0) ||
      attach_filter (fd, family == AF_INET6, self->port) != 0)
    {
      set_errno_error (error, errno, "set up", family, self->port);
      close (fd);
      return -1;
    }

  /* What arrived between socket() and the filter is not for us. */
  while (recv (fd, discard, sizeof discard, MSG_DONTWAIT | MSG_TRUNC) >= 0)
    ;
  return fd;
}

static GSource *
watch (LrdSharedPort *self,
       int            fd)
{
  GSource *source = g_unix_fd_source_new (fd, G_IO_IN);

  g_source_set_callback (source, G_SOURCE_FUNC (readable_cb), self, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  return source;
}

/**
 * lrd_shared_port_new:
 * @port: WireGuard's listen port
 *
 * Opens the raw sockets. IPv4 is required; IPv6 is used when the machine has it.
 */
LrdSharedPort *
lrd_shared_port_new (guint16   port,
                     GError  **error)
{
  g_autoptr(LrdSharedPort) self = g_object_new (LRD_TYPE_SHARED_PORT, NULL);
  g_autoptr(GError) ipv6_error = NULL;

  g_return_val_if_fail (port != 0, NULL);

  self->port = port;
  self->raw4 = open_raw (self, AF_INET, error);
  if (self->raw4 < 0)
    return NULL;
  self->route4 = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (self->route4 < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open a UDP socket: %s", g_strerror (saved));
      return NULL;
    }

  self->raw6 = open_raw (self, AF_INET6, &ipv6_error);
  if (self->raw6 >= 0)
    self->route6 = socket (AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (self->raw6 < 0 || self->route6 < 0)
    {
      g_debug ("Shared port %u: no IPv6: %s", port,
               ipv6_error != NULL ? ipv6_error->message : g_strerror (errno));
      if (self->raw6 >= 0)
        close (self->raw6);
      self->raw6 = -1;
    }

  self->source4 = watch (self, self->raw4);
  if (self->raw6 >= 0)
    self->source6 = watch (self, self->raw6);
  return g_steal_pointer (&self);
}

guint16
lrd_shared_port_get_port (LrdSharedPort *self)
{
  g_return_val_if_fail (LRD_IS_SHARED_PORT (self), 0);

  return self->port;
}

gboolean
lrd_shared_port_has_ipv6 (LrdSharedPort *self)
{
  g_return_val_if_fail (LRD_IS_SHARED_PORT (self), FALSE);

  return self->raw6 >= 0;
}

/**
 * lrd_shared_port_get_n_read:
 *
 * How many datagrams the kernel's filter let through to the helper so far: for metrics,
 * and for tests to see that the tunnel's own traffic never reaches user space.
 */
guint64
lrd_shared_port_get_n_read (LrdSharedPort *self)
{
  g_return_val_if_fail (LRD_IS_SHARED_PORT (self), 0);

  return self->n_read;
}

/**
 * lrd_shared_port_get_source:
 * @source: (out): the local address datagrams to @to leave from, with port W
 *
 * Asks the kernel's routing for the source address towards @to, without sending anything
 * (connect() on an unbound UDP socket only chooses a route). A NAT probe needs it to tell
 * whether there is a NAT at all.
 */
gboolean
lrd_shared_port_get_source (LrdSharedPort        *self,
                            const LrStunAddress  *to,
                            LrStunAddress        *source,
                            GError              **error)
{
  struct sockaddr_storage address;
  struct sockaddr unspec = { .sa_family = AF_UNSPEC };
  socklen_t length;
  socklen_t name_length = sizeof address;
  int fd;

  g_return_val_if_fail (LRD_IS_SHARED_PORT (self), FALSE);

  fd = to->family == LR_STUN_FAMILY_IPV6 ? self->route6 : self->route4;
  if (to->family == LR_STUN_FAMILY_IPV6 && self->raw6 < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "No IPv6 on this machine");
      return FALSE;
    }
  length = lr_stun_address_to_sockaddr (to, &address, sizeof address);
  if (length == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Not an address");
      return FALSE;
    }
  /* Any port will do for choosing a route; the kernel refuses port 0. */
  if (address.ss_family == AF_INET && ((struct sockaddr_in *) &address)->sin_port == 0)
    ((struct sockaddr_in *) &address)->sin_port = htons (9);
  else if (address.ss_family == AF_INET6 && ((struct sockaddr_in6 *) &address)->sin6_port == 0)
    ((struct sockaddr_in6 *) &address)->sin6_port = htons (9);

  if (connect (fd, (struct sockaddr *) &address, length) != 0 ||
      getsockname (fd, (struct sockaddr *) &address, &name_length) != 0)
    {
      int saved = errno;

      connect (fd, &unspec, sizeof unspec);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "No route: %s",
                   g_strerror (saved));
      return FALSE;
    }
  connect (fd, &unspec, sizeof unspec);
  if (!lr_stun_address_from_sockaddr (source, &address, sizeof address))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "No source address towards it");
      return FALSE;
    }
  source->port = self->port;
  return TRUE;
}

/**
 * lrd_shared_port_send:
 *
 * Sends @data in one UDP datagram from port W to @to. Fails with the kernel's reason (no
 * route, no IPv6) and never blocks: a full socket buffer drops the datagram, as UDP would.
 */
gboolean
lrd_shared_port_send (LrdSharedPort        *self,
                      const LrStunAddress  *to,
                      const guint8         *data,
                      gsize                 length,
                      GError              **error)
{
  guint8 datagram[8 + LRD_SHARED_PORT_MAX_PAYLOAD];
  struct sockaddr_storage address;
  socklen_t address_length;
  gsize udp_length = 8 + length;
  int fd;

  g_return_val_if_fail (LRD_IS_SHARED_PORT (self), FALSE);

  if (length > LRD_SHARED_PORT_MAX_PAYLOAD)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "A datagram of %zu bytes is over the shared port's limit", length);
      return FALSE;
    }
  if (to->family == LR_STUN_FAMILY_IPV6 && self->raw6 < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "No IPv6 on this machine");
      return FALSE;
    }
  if (to->port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Port 0");
      return FALSE;
    }

  datagram[0] = self->port >> 8;
  datagram[1] = self->port & 0xff;
  datagram[2] = to->port >> 8;
  datagram[3] = to->port & 0xff;
  datagram[4] = udp_length >> 8;
  datagram[5] = udp_length & 0xff;
  datagram[6] = datagram[7] = 0;
  memcpy (datagram + 8, data, length);

  if (to->family == LR_STUN_FAMILY_IPV4)
    {
      LrStunAddress source;
      guint16 checksum;

      if (!lrd_shared_port_get_source (self, to, &source, error))
        return FALSE;
      checksum = udp4_checksum (source.address, to->address, datagram, udp_length);
      /* RFC 768: a computed zero is sent as all ones, zero meaning "no checksum". */
      if (checksum == 0)
        checksum = 0xffff;
      datagram[6] = checksum >> 8;
      datagram[7] = checksum & 0xff;
      fd = self->raw4;
    }
  else
    {
      fd = self->raw6;
    }

  address_length = lr_stun_address_to_sockaddr (to, &address, sizeof address);
  /* A raw socket's "port" is its protocol; 0 means the socket's own. */
  if (address.ss_family == AF_INET)
    ((struct sockaddr_in *) &address)->sin_port = 0;
  else
    ((struct sockaddr_in6 *) &address)->sin6_port = 0;

  if (sendto (fd, datagram, udp_length, MSG_DONTWAIT, (struct sockaddr *) &address,
              address_length) < 0)
    {
      int saved = errno;
      g_autofree char *text = lr_stun_address_to_string (to);

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot send from port %u to %s: %s", self->port, text, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}
