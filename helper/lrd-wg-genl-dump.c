/* lrd-wg-genl-dump.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every length comes from the datagram, so each is checked against what is left before it
 * is used: a message or attribute that claims more bytes than it has, or a counter of the
 * wrong size, fails the dump with G_IO_ERROR_INVALID_DATA instead of being read. The
 * attribute layout is the kernel's (drivers/net/wireguard/netlink.c): nests carry
 * NLA_F_NESTED, u64 counters may be preceded by a pad attribute of type 0, and unknown
 * attributes are skipped so a newer kernel still parses. The dump also carries the
 * device's private key and each peer's preshared key: they are never copied out.
 */
#include "lrd-wg-genl-dump.h"
#include "lrd-wg-backend-private.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <string.h>

struct _LrdWgGenlDump
{
  guint16  family_id;
  guint32  seq;
  guint32  portid;
  gboolean done;
  gboolean interrupted;
  GArray  *peers;                 /* (element-type LrdWgPeerStats) */
};

gsize
lrd_wg_genl_dump_build_request (guint8     *buffer,
                                gsize       size,
                                guint16     family_id,
                                guint32     seq,
                                const char *ifname)
{
  struct nlmsghdr *nlh;
  struct genlmsghdr *genl;

  g_return_val_if_fail (size >= LRD_WG_GENL_REQUEST_SIZE, 0);
  g_return_val_if_fail (ifname != NULL && strlen (ifname) < IFNAMSIZ, 0);

  memset (buffer, 0, LRD_WG_GENL_REQUEST_SIZE);
  nlh = mnl_nlmsg_put_header (buffer);
  nlh->nlmsg_type = family_id;
  /* WG_CMD_GET_DEVICE may only be called as a dump (linux/wireguard.h). */
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  genl = mnl_nlmsg_put_extra_header (nlh, sizeof *genl);
  genl->cmd = WG_CMD_GET_DEVICE;
  genl->version = WG_GENL_VERSION;
  mnl_attr_put_strz (nlh, WGDEVICE_A_IFNAME, ifname);
  return nlh->nlmsg_len;
}

LrdWgGenlDump *
lrd_wg_genl_dump_new (guint16 family_id,
                      guint32 seq,
                      guint32 portid)
{
  LrdWgGenlDump *self = g_new0 (LrdWgGenlDump, 1);

  self->family_id = family_id;
  self->seq = seq;
  self->portid = portid;
  lrd_wg_peer_stats_array_init (&self->peers);
  return self;
}

void
lrd_wg_genl_dump_free (LrdWgGenlDump *self)
{
  g_clear_pointer (&self->peers, g_array_unref);
  g_free (self);
}

/**
 * lrd_wg_genl_dump_steal_peers:
 *
 * Returns: (transfer full): the peers, coalesced; once the dump is done
 */
GArray *
lrd_wg_genl_dump_steal_peers (LrdWgGenlDump *self)
{
  g_return_val_if_fail (self->done, NULL);

  return g_steal_pointer (&self->peers);
}

typedef gboolean (*AttributeFunc) (const struct nlattr *attr,
                                   gpointer             user_data,
                                   GError             **error);

/* Calls @func on each attribute of @length bytes at @start; every byte must belong to a
 * whole attribute. */
static gboolean
parse_attributes (const void     *start,
                  gsize           length,
                  const char     *what,
                  AttributeFunc   func,
                  gpointer        user_data,
                  GError        **error)
{
  const struct nlattr *attr = start;
  int remaining = (int) length;

  while (mnl_attr_ok (attr, remaining))
    {
      if (!func (attr, user_data, error))
        return FALSE;
      remaining -= MNL_ALIGN (attr->nla_len);
      attr = mnl_attr_next (attr);
    }

  if (remaining > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "WireGuard's netlink answer has a truncated attribute in %s", what);
      return FALSE;
    }

  return TRUE;
}

static gboolean
attribute_has_size (const struct nlattr  *attr,
                    gsize                 size,
                    const char           *name,
                    GError              **error)
{
  if (mnl_attr_get_payload_len (attr) == size)
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "WireGuard's netlink answer has a %s of %u bytes instead of %" G_GSIZE_FORMAT,
               name, (guint) mnl_attr_get_payload_len (attr), size);
  return FALSE;
}

/* What one peer entry said: a continuation entry carries only the key and allowed IPs,
 * so each counter says whether it was there. */
typedef struct
{
  gboolean       has_key;
  LrKey          public_key;
  gboolean       has_endpoint;
  LrAddr         endpoint;
  gboolean       has_rx_bytes;
  guint64        rx_bytes;
  gboolean       has_tx_bytes;
  guint64        tx_bytes;
  gboolean       has_handshake;
  gint64         handshake_sec;
} PeerEntry;

static gboolean
peer_attribute (const struct nlattr *attr,
                gpointer             user_data,
                GError             **error)
{
  PeerEntry *entry = user_data;

  switch (mnl_attr_get_type (attr))
    {
    case WGPEER_A_PUBLIC_KEY:
      if (!attribute_has_size (attr, LR_KEY_LENGTH, "peer's public key", error))
        return FALSE;
      memcpy (entry->public_key.bytes, mnl_attr_get_payload (attr), LR_KEY_LENGTH);
      entry->has_key = TRUE;
      break;

    case WGPEER_A_RX_BYTES:
      if (!attribute_has_size (attr, sizeof (guint64), "received byte count", error))
        return FALSE;
      entry->rx_bytes = mnl_attr_get_u64 (attr);
      entry->has_rx_bytes = TRUE;
      break;

    case WGPEER_A_TX_BYTES:
      if (!attribute_has_size (attr, sizeof (guint64), "sent byte count", error))
        return FALSE;
      entry->tx_bytes = mnl_attr_get_u64 (attr);
      entry->has_tx_bytes = TRUE;
      break;

    case WGPEER_A_LAST_HANDSHAKE_TIME:
      {
        struct __kernel_timespec time;

        if (!attribute_has_size (attr, sizeof time, "handshake time", error))
          return FALSE;
        memcpy (&time, mnl_attr_get_payload (attr), sizeof time);
        if (time.tv_sec < 0)
          {
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                 "WireGuard's netlink answer has a handshake time before 1970");
            return FALSE;
          }
        /* Zero is the kernel's "never". */
        entry->handshake_sec = time.tv_sec;
        entry->has_handshake = TRUE;
      }
      break;

    case WGPEER_A_ENDPOINT:
      {
        const struct sockaddr *sa = mnl_attr_get_payload (attr);
        gsize length = mnl_attr_get_payload_len (attr);

        /* The kernel writes exactly a sockaddr_in or a sockaddr_in6. */
        if (!((length == sizeof (struct sockaddr_in) && sa->sa_family == AF_INET) ||
              (length == sizeof (struct sockaddr_in6) && sa->sa_family == AF_INET6)) ||
            !lr_addr_from_sockaddr (&entry->endpoint, sa, length))
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         "WireGuard's netlink answer has an endpoint of %" G_GSIZE_FORMAT
                         " bytes that is neither IPv4 nor IPv6", length);
            return FALSE;
          }
        entry->has_endpoint = TRUE;
      }
      break;

    default:
      /* The preshared key, keepalive, allowed IPs, protocol version, padding, and whatever
       * a newer kernel adds. */
      break;
    }

  return TRUE;
}

static gboolean
peer_entry (const struct nlattr *attr,
            gpointer             user_data,
            GError             **error)
{
  LrdWgGenlDump *self = user_data;
  PeerEntry entry = { 0 };
  LrdWgPeerStats *stats;

  if (!parse_attributes (mnl_attr_get_payload (attr), mnl_attr_get_payload_len (attr),
                         "a peer", peer_attribute, &entry, error))
    return FALSE;

  if (!entry.has_key)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "WireGuard's netlink answer has a peer without a public key");
      return FALSE;
    }

  /* The same peer again right after itself: the rest of its allowed IPs. */
  stats = self->peers->len > 0
          ? &g_array_index (self->peers, LrdWgPeerStats, self->peers->len - 1)
          : NULL;
  if (stats == NULL || !lr_key_equal (&stats->public_key, &entry.public_key))
    {
      LrdWgPeerStats empty = { 0 };

      if (self->peers->len >= LRD_WG_GENL_MAX_PEERS)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "WireGuard's netlink answer has more than %u peers",
                       LRD_WG_GENL_MAX_PEERS);
          return FALSE;
        }
      empty.public_key = entry.public_key;
      g_array_append_val (self->peers, empty);
      stats = &g_array_index (self->peers, LrdWgPeerStats, self->peers->len - 1);
    }

  if (entry.has_endpoint)
    stats->endpoint = entry.endpoint;
  if (entry.has_rx_bytes)
    stats->rx_bytes = entry.rx_bytes;
  if (entry.has_tx_bytes)
    stats->tx_bytes = entry.tx_bytes;
  if (entry.has_handshake)
    stats->last_handshake_unix = entry.handshake_sec;
  return TRUE;
}

static gboolean
device_attribute (const struct nlattr *attr,
                  gpointer             user_data,
                  GError             **error)
{
  /* Only the peers matter; the device's keys are skipped, never copied. */
  if (mnl_attr_get_type (attr) != WGDEVICE_A_PEERS)
    return TRUE;

  return parse_attributes (mnl_attr_get_payload (attr), mnl_attr_get_payload_len (attr),
                           "the peer list", peer_entry, user_data, error);
}

static gboolean
set_kernel_error (int      error_number,
                  GError **error)
{
  switch (error_number)
    {
    case ENODEV:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "The kernel has no such interface");
      break;

    case EOPNOTSUPP:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "The interface is not a kernel WireGuard interface");
      break;

    default:
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (error_number),
                   "The kernel refused to list the WireGuard peers: %s",
                   g_strerror (error_number));
      break;
    }

  return FALSE;
}

static gboolean
feed_message (LrdWgGenlDump          *self,
              const struct nlmsghdr  *nlh,
              GError                **error)
{
  gsize payload_length = mnl_nlmsg_get_payload_len (nlh);

  if (nlh->nlmsg_type == NLMSG_DONE)
    {
      int code = 0;

      /* The kernel ends a dump with its error code, zero on success. */
      if (payload_length >= sizeof code)
        memcpy (&code, mnl_nlmsg_get_payload (nlh), sizeof code);
      if (code < 0)
        return set_kernel_error (-code, error);
      if (self->interrupted)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                               "The WireGuard device changed during the dump");
          return FALSE;
        }
      self->done = TRUE;
      return TRUE;
    }

  if (nlh->nlmsg_type == NLMSG_ERROR)
    {
      struct nlmsgerr answer;

      if (payload_length < sizeof answer)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "WireGuard's netlink answer has a truncated error message");
          return FALSE;
        }
      memcpy (&answer, mnl_nlmsg_get_payload (nlh), sizeof answer);
      if (answer.error < 0)
        return set_kernel_error (-answer.error, error);
      /* An acknowledgement ends the exchange as NLMSG_DONE does. */
      self->done = TRUE;
      return TRUE;
    }

  if (nlh->nlmsg_type == NLMSG_NOOP)
    return TRUE;

  if (nlh->nlmsg_type != self->family_id)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "WireGuard's netlink answer has a message of type %u", nlh->nlmsg_type);
      return FALSE;
    }

  /* The device changed while the kernel was writing the dump: the pieces do not fit. The
   * rest is read to its end all the same, since a socket runs one dump at a time and a
   * new one is refused (EBUSY) until the old one is done. */
  if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
    self->interrupted = TRUE;
  if (self->interrupted)
    return TRUE;

  if (payload_length < GENL_HDRLEN ||
      ((const struct genlmsghdr *) mnl_nlmsg_get_payload (nlh))->cmd != WG_CMD_GET_DEVICE)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "WireGuard's netlink answer is not a device");
      return FALSE;
    }

  return parse_attributes (mnl_nlmsg_get_payload_offset (nlh, GENL_HDRLEN),
                           payload_length - GENL_HDRLEN, "the device", device_attribute, self,
                           error);
}

/* Like mnl_nlmsg_ok(), which libmnl 1.0.4 compares as a signed int: a length of 2^31 or
 * more would pass it and move the next message far outside the datagram. */
static gboolean
message_ok (const struct nlmsghdr *nlh,
            int                    remaining)
{
  return remaining >= (int) sizeof *nlh &&
         nlh->nlmsg_len >= sizeof *nlh &&
         nlh->nlmsg_len <= (guint32) remaining;
}

/**
 * lrd_wg_genl_dump_feed:
 * @datagram: one datagram as read from the socket
 * @out_done: set to %TRUE once the dump's last message has come
 *
 * Messages that answer another request (another sequence number or port) are skipped:
 * a late answer to an abandoned dump is not part of this one. A failure ends the dump:
 * G_IO_ERROR_INVALID_DATA for bytes that are not a WireGuard dump, G_IO_ERROR_BUSY at the
 * end of a dump during which the device changed (ask again), G_IO_ERROR_NOT_FOUND when there is no
 * such interface, G_IO_ERROR_INVALID_ARGUMENT when it is not a WireGuard interface, and
 * the kernel's errno otherwise.
 */
gboolean
lrd_wg_genl_dump_feed (LrdWgGenlDump  *self,
                       const guint8   *datagram,
                       gsize           length,
                       gboolean       *out_done,
                       GError        **error)
{
  const struct nlmsghdr *nlh = (const struct nlmsghdr *) datagram;
  int remaining = (int) MIN (length, (gsize) G_MAXINT);

  g_return_val_if_fail (!self->done, FALSE);

  *out_done = FALSE;
  while (message_ok (nlh, remaining))
    {
      if (nlh->nlmsg_seq == self->seq && nlh->nlmsg_pid == self->portid)
        {
          if (!feed_message (self, nlh, error))
            return FALSE;
          if (self->done)
            {
              *out_done = TRUE;
              return TRUE;
            }
        }
      nlh = mnl_nlmsg_next (nlh, &remaining);
    }

  if (remaining > 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "WireGuard's netlink answer has a truncated message");
      return FALSE;
    }

  return TRUE;
}
