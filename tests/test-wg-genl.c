/* test-wg-genl.c: WireGuard's peer counters over generic netlink (LrdWgGenl, LrdWgGenlDump)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This machine's kernel has no WireGuard module, so no real WireGuard device can be read
 * here. The parser is therefore fed messages built byte for byte as the kernel writes them
 * (drivers/net/wireguard/netlink.c, wg_get_device_dump and get_peer; the attribute tree of
 * WG_CMD_GET_DEVICE in linux/wireguard.h): a struct nlmsghdr (type: the family id,
 * NLM_F_MULTI), a struct genlmsghdr (WG_CMD_GET_DEVICE, version 1), then struct nlattr
 * headers (u16 length including the 4-byte header, u16 type, NLA_F_NESTED on nests) with
 * payloads padded to 4 bytes, in the kernel's order: WGDEVICE_A_LISTEN_PORT, _FWMARK,
 * _IFINDEX, _IFNAME, _PRIVATE_KEY, _PUBLIC_KEY, _PEERS { { WGPEER_A_PUBLIC_KEY,
 * _PRESHARED_KEY, _LAST_HANDSHAKE_TIME (struct __kernel_timespec), _PERSISTENT_KEEPALIVE_INTERVAL,
 * _TX_BYTES, _RX_BYTES, _PROTOCOL_VERSION, _ENDPOINT (sockaddr_in or sockaddr_in6),
 * _ALLOWEDIPS { { _CIDR_MASK, _FAMILY, _IPADDR } } } }; later messages carry only
 * WGDEVICE_A_PEERS, and a peer cut by the end of a message starts the next one again with
 * only its key and the rest of its allowed IPs; NLMSG_DONE carries the dump's error code.
 * The kernel tests at the end talk to the running kernel: its generic netlink controller
 * answers that there is no WireGuard family here, and a family that does exist is found.
 */
#include "lrd-test-util.h"
#include "lrd-wg-genl-dump.h"
#include "lrd-wg-genl-private.h"

#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <unistd.h>

#define FAMILY 0x1d
#define SEQ    0x01020304
#define PORTID 0x1234

/* The first message of a dump of "lanrage0" with one peer, as the kernel writes it. */
static const guint8 kernel_message[] = {
  /* struct nlmsghdr: length 324, type 0x1d (the family id), NLM_F_MULTI, seq, port */
  0x44, 0x01, 0x00, 0x00, 0x1d, 0x00, 0x02, 0x00, 0x04, 0x03, 0x02, 0x01, 0x34, 0x12, 0x00, 0x00,
  /* struct genlmsghdr: WG_CMD_GET_DEVICE, version 1 */
  0x00, 0x01, 0x00, 0x00,
  /* WGDEVICE_A_LISTEN_PORT: 51820 */
  0x06, 0x00, 0x06, 0x00,
    0x6c, 0xca,
    0x00, 0x00,
  /* WGDEVICE_A_FWMARK: 0 */
  0x08, 0x00, 0x07, 0x00,
    0x00, 0x00, 0x00, 0x00,
  /* WGDEVICE_A_IFINDEX: 7 */
  0x08, 0x00, 0x01, 0x00,
    0x07, 0x00, 0x00, 0x00,
  /* WGDEVICE_A_IFNAME: "lanrage0" */
  0x0d, 0x00, 0x02, 0x00,
    0x6c, 0x61, 0x6e, 0x72, 0x61, 0x67, 0x65, 0x30, 0x00,
    0x00, 0x00, 0x00,
  /* WGDEVICE_A_PRIVATE_KEY: a5 .. a5 */
  0x24, 0x00, 0x03, 0x00,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
  /* WGDEVICE_A_PUBLIC_KEY: b6 .. b6 */
  0x24, 0x00, 0x04, 0x00,
    0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6,
    0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6,
    0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6, 0xb6,
  /* WGDEVICE_A_PEERS (nested) */
  0xc0, 0x00, 0x08, 0x80,
    /* peer 0 (nested) */
    0xbc, 0x00, 0x00, 0x80,
      /* WGPEER_A_PUBLIC_KEY: 40 41 .. 5f */
      0x24, 0x00, 0x01, 0x00,
        0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b,
        0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
        0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
      /* WGPEER_A_PRESHARED_KEY: none (zeros) */
      0x24, 0x00, 0x02, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      /* WGPEER_A_LAST_HANDSHAKE_TIME: struct __kernel_timespec { 1764763200, 123456789 } */
      0x14, 0x00, 0x06, 0x00,
        0x40, 0x26, 0x30, 0x69, 0x00, 0x00, 0x00, 0x00, 0x15, 0xcd, 0x5b, 0x07,
        0x00, 0x00, 0x00, 0x00,
      /* WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL: 25 */
      0x06, 0x00, 0x05, 0x00,
        0x19, 0x00,
        0x00, 0x00,
      /* WGPEER_A_TX_BYTES: 0x0102030405 */
      0x0c, 0x00, 0x08, 0x00,
        0x05, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00,
      /* WGPEER_A_RX_BYTES: 987654321 */
      0x0c, 0x00, 0x07, 0x00,
        0xb1, 0x68, 0xde, 0x3a, 0x00, 0x00, 0x00, 0x00,
      /* WGPEER_A_PROTOCOL_VERSION: 1 */
      0x08, 0x00, 0x0a, 0x00,
        0x01, 0x00, 0x00, 0x00,
      /* WGPEER_A_ENDPOINT: struct sockaddr_in { AF_INET, 51821, 198.51.100.7 } */
      0x14, 0x00, 0x04, 0x00,
        0x02, 0x00, 0xca, 0x6d, 0xc6, 0x33, 0x64, 0x07, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
      /* WGPEER_A_ALLOWEDIPS (nested) */
      0x20, 0x00, 0x09, 0x80,
        /* allowed IP 0 (nested) */
        0x1c, 0x00, 0x00, 0x80,
          /* WGALLOWEDIP_A_CIDR_MASK: 32 */
          0x05, 0x00, 0x03, 0x00,
            0x20,
            0x00, 0x00, 0x00,
          /* WGALLOWEDIP_A_FAMILY: AF_INET */
          0x06, 0x00, 0x01, 0x00,
            0x02, 0x00,
            0x00, 0x00,
          /* WGALLOWEDIP_A_IPADDR: 10.66.0.2 */
          0x08, 0x00, 0x02, 0x00,
            0x0a, 0x42, 0x00, 0x02,
};

/* A message builder that writes what the kernel's nla_put and nla_nest_start write. */
typedef struct
{
  GByteArray *bytes;
  GArray     *nests;      /* (element-type guint) offsets of open nests */
  guint       start;      /* offset of the current message */
} Builder;

static void
builder_init (Builder *b)
{
  b->bytes = g_byte_array_new ();
  b->nests = g_array_new (FALSE, FALSE, sizeof (guint));
}

static void
builder_clear (Builder *b)
{
  g_byte_array_unref (b->bytes);
  g_array_unref (b->nests);
}

static void
put_bytes (Builder    *b,
           const void *data,
           gsize       length)
{
  static const guint8 zeros[4] = { 0 };

  g_byte_array_append (b->bytes, data, length);
  g_byte_array_append (b->bytes, zeros, (4 - length % 4) % 4);
}

static void
put_u16_at (Builder *b,
            guint    offset,
            guint16  value)
{
  memcpy (b->bytes->data + offset, &value, sizeof value);
}

static void
message_start (Builder *b,
               guint16  type,
               guint16  flags,
               guint32  seq)
{
  struct nlmsghdr nlh = { 0, type, flags, seq, PORTID };
  struct genlmsghdr genl = { WG_CMD_GET_DEVICE, WG_GENL_VERSION, 0 };

  b->start = b->bytes->len;
  g_byte_array_append (b->bytes, (guint8 *) &nlh, sizeof nlh);
  if (type >= NLMSG_MIN_TYPE)
    g_byte_array_append (b->bytes, (guint8 *) &genl, sizeof genl);
}

static void
message_end (Builder *b)
{
  guint32 length = b->bytes->len - b->start;

  memcpy (b->bytes->data + b->start, &length, sizeof length);
}

static void
put_attr (Builder    *b,
          guint16     type,
          const void *data,
          gsize       length)
{
  struct nlattr attr = { NLA_HDRLEN + length, type };

  g_byte_array_append (b->bytes, (guint8 *) &attr, sizeof attr);
  put_bytes (b, data, length);
}

static void
put_u16 (Builder *b,
         guint16  type,
         guint16  value)
{
  put_attr (b, type, &value, sizeof value);
}

static void
put_u32 (Builder *b,
         guint16  type,
         guint32  value)
{
  put_attr (b, type, &value, sizeof value);
}

static void
put_u64 (Builder *b,
         guint16  type,
         guint64  value)
{
  put_attr (b, type, &value, sizeof value);
}

static void
nest_start (Builder *b,
            guint16  type)
{
  struct nlattr attr = { 0, type | NLA_F_NESTED };
  guint offset = b->bytes->len;

  g_array_append_val (b->nests, offset);
  g_byte_array_append (b->bytes, (guint8 *) &attr, sizeof attr);
}

static void
nest_end (Builder *b)
{
  guint offset = g_array_index (b->nests, guint, b->nests->len - 1);

  g_array_set_size (b->nests, b->nests->len - 1);
  put_u16_at (b, offset, b->bytes->len - offset);
}

static void
done_message (Builder *b,
              gint32   code)
{
  message_start (b, NLMSG_DONE, NLM_F_MULTI, SEQ);
  g_byte_array_append (b->bytes, (guint8 *) &code, sizeof code);
  message_end (b);
}

static void
error_message (Builder *b,
               gint32   code)
{
  struct nlmsgerr answer = { code, { 0 } };

  message_start (b, NLMSG_ERROR, 0, SEQ);
  g_byte_array_append (b->bytes, (guint8 *) &answer, sizeof answer);
  message_end (b);
}

typedef struct
{
  guint8   key_byte;          /* the public key is this byte 32 times */
  gint64   handshake_sec;
  guint64  rx_bytes;
  guint64  tx_bytes;
  const char *endpoint;       /* NULL: none yet */
  guint    n_allowed_ips;
  guint    first_allowed_ip;
} PeerSpec;

static void
put_key (Builder *b,
         guint16  type,
         guint8   byte)
{
  guint8 key[WG_KEY_LEN];

  memset (key, byte, sizeof key);
  put_attr (b, type, key, sizeof key);
}

static void
put_allowed_ips (Builder        *b,
                 const PeerSpec *spec)
{
  nest_start (b, WGPEER_A_ALLOWEDIPS);
  for (guint i = 0; i < spec->n_allowed_ips; i++)
    {
      guint8 address[4] = { 10, 66, (spec->first_allowed_ip + i) >> 8,
                            (spec->first_allowed_ip + i) & 0xff };
      guint8 cidr = 32;

      nest_start (b, 0);
      put_attr (b, WGALLOWEDIP_A_CIDR_MASK, &cidr, 1);
      put_u16 (b, WGALLOWEDIP_A_FAMILY, AF_INET);
      put_attr (b, WGALLOWEDIP_A_IPADDR, address, sizeof address);
      nest_end (b);
    }
  nest_end (b);
}

/* A whole peer, as get_peer() writes its first appearance. */
static void
put_peer (Builder        *b,
          const PeerSpec *spec)
{
  struct __kernel_timespec handshake = { spec->handshake_sec, spec->handshake_sec ? 42 : 0 };

  nest_start (b, 0);
  put_key (b, WGPEER_A_PUBLIC_KEY, spec->key_byte);
  put_key (b, WGPEER_A_PRESHARED_KEY, 0);
  put_attr (b, WGPEER_A_LAST_HANDSHAKE_TIME, &handshake, sizeof handshake);
  put_u16 (b, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
  put_u64 (b, WGPEER_A_TX_BYTES, spec->tx_bytes);
  put_u64 (b, WGPEER_A_RX_BYTES, spec->rx_bytes);
  put_u32 (b, WGPEER_A_PROTOCOL_VERSION, 1);
  if (spec->endpoint != NULL)
    {
      LrAddr address;

      g_assert_true (lr_addr_parse (spec->endpoint, &address));
      put_attr (b, WGPEER_A_ENDPOINT, &address.u, address.length);
    }
  if (spec->n_allowed_ips > 0)
    put_allowed_ips (b, spec);
  nest_end (b);
}

/* The same peer again at the start of the next message: key and allowed IPs only. */
static void
put_peer_continued (Builder        *b,
                    const PeerSpec *spec)
{
  nest_start (b, 0);
  put_key (b, WGPEER_A_PUBLIC_KEY, spec->key_byte);
  put_allowed_ips (b, spec);
  nest_end (b);
}

static void
device_attributes (Builder *b)
{
  put_u16 (b, WGDEVICE_A_LISTEN_PORT, 51820);
  put_u32 (b, WGDEVICE_A_FWMARK, 0);
  put_u32 (b, WGDEVICE_A_IFINDEX, 7);
  put_attr (b, WGDEVICE_A_IFNAME, "lanrage0", sizeof "lanrage0");
  put_key (b, WGDEVICE_A_PRIVATE_KEY, 0xa5);
  put_key (b, WGDEVICE_A_PUBLIC_KEY, 0xb6);
}

/* Starts a message of the dump with the peer list open; the first message of a dump also
 * has the device's attributes. */
static void
peers_start (Builder  *b,
             guint32   seq,
             gboolean  first)
{
  message_start (b, FAMILY, NLM_F_MULTI, seq);
  if (first)
    device_attributes (b);
  nest_start (b, WGDEVICE_A_PEERS);
}

static void
peers_end (Builder *b)
{
  nest_end (b);
  message_end (b);
}

/* A message with one peer that has its key and what the test puts next. */
static void
peer_start (Builder *b,
            guint8   key_byte)
{
  peers_start (b, SEQ, FALSE);
  nest_start (b, 0);
  put_key (b, WGPEER_A_PUBLIC_KEY, key_byte);
}

static void
peer_end (Builder *b)
{
  nest_end (b);
  peers_end (b);
}

static LrdWgGenlDump *
new_dump (void)
{
  return lrd_wg_genl_dump_new (FAMILY, SEQ, PORTID);
}

/* Feeds one datagram; returns whether the dump is done. */
static gboolean
feed (LrdWgGenlDump *dump,
      GByteArray    *datagram)
{
  g_autoptr(GError) error = NULL;
  gboolean done = TRUE;

  g_assert_true (lrd_wg_genl_dump_feed (dump, datagram->data, datagram->len, &done, &error));
  g_assert_no_error (error);
  return done;
}

/* Ends the dump with NLMSG_DONE and returns its peers. */
static GArray *
finish (LrdWgGenlDump *dump,
        Builder       *b)
{
  done_message (b, 0);
  g_assert_true (feed (dump, b->bytes));
  builder_clear (b);
  return lrd_wg_genl_dump_steal_peers (dump);
}

static void
feed_fails (GByteArray *datagram,
            GQuark      domain,
            int         code,
            const char *message_part)
{
  g_autoptr(LrdWgGenlDump) dump = new_dump ();
  g_autoptr(GError) error = NULL;
  gboolean done = TRUE;

  g_assert_false (lrd_wg_genl_dump_feed (dump, datagram->data, datagram->len, &done, &error));
  g_assert_error (error, domain, code);
  g_assert_false (done);
  if (message_part != NULL)
    g_assert_nonnull (strstr (error->message, message_part));
  g_test_message ("%s", error->message);
}

static const LrdWgPeerStats *
find_peer (GArray *peers,
           guint8  key_byte)
{
  for (guint i = 0; i < peers->len; i++)
    {
      const LrdWgPeerStats *stats = &g_array_index (peers, LrdWgPeerStats, i);

      if (stats->public_key.bytes[0] == key_byte)
        return stats;
    }
  return NULL;
}

static void
assert_endpoint (const LrdWgPeerStats *stats,
                 const char           *expected)
{
  g_autofree char *text = lr_addr_to_string (&stats->endpoint);

  g_assert_cmpstr (text, ==, expected);
}

static void
test_kernel_layout (void)
{
  g_autoptr(LrdWgGenlDump) dump = new_dump ();
  g_autoptr(GByteArray) datagram = g_byte_array_new ();
  g_autoptr(GArray) peers = NULL;
  const LrdWgPeerStats *stats;
  Builder b;

  g_byte_array_append (datagram, kernel_message, sizeof kernel_message);
  g_assert_false (feed (dump, datagram));

  builder_init (&b);
  peers = finish (dump, &b);
  g_assert_cmpuint (peers->len, ==, 1);
  stats = &g_array_index (peers, LrdWgPeerStats, 0);
  for (guint i = 0; i < LR_KEY_LENGTH; i++)
    g_assert_cmpuint (stats->public_key.bytes[i], ==, 0x40 + i);
  g_assert_cmpuint (stats->rx_bytes, ==, 987654321);
  g_assert_cmpuint (stats->tx_bytes, ==, 0x0102030405);
  g_assert_cmpint (stats->last_handshake_unix, ==, 1764763200);
  assert_endpoint (stats, "198.51.100.7:51821");
}

/* The builder writes the same bytes as the kernel, so the tests below that use it speak
 * the kernel's layout too. */
static void
test_builder_matches_kernel (void)
{
  PeerSpec spec = { 0 };
  struct __kernel_timespec handshake = { 1764763200, 123456789 };
  guint8 key[WG_KEY_LEN];
  LrAddr endpoint;
  Builder b;

  builder_init (&b);
  peers_start (&b, SEQ, TRUE);
  nest_start (&b, 0);
  for (guint i = 0; i < sizeof key; i++)
    key[i] = 0x40 + i;
  put_attr (&b, WGPEER_A_PUBLIC_KEY, key, sizeof key);
  put_key (&b, WGPEER_A_PRESHARED_KEY, 0);
  put_attr (&b, WGPEER_A_LAST_HANDSHAKE_TIME, &handshake, sizeof handshake);
  put_u16 (&b, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
  put_u64 (&b, WGPEER_A_TX_BYTES, 0x0102030405);
  put_u64 (&b, WGPEER_A_RX_BYTES, 987654321);
  put_u32 (&b, WGPEER_A_PROTOCOL_VERSION, 1);
  g_assert_true (lr_addr_parse ("198.51.100.7:51821", &endpoint));
  put_attr (&b, WGPEER_A_ENDPOINT, &endpoint.u, endpoint.length);
  spec.n_allowed_ips = 1;
  spec.first_allowed_ip = 2;
  put_allowed_ips (&b, &spec);
  nest_end (&b);
  nest_end (&b);
  message_end (&b);

  g_assert_cmpmem (b.bytes->data, b.bytes->len, kernel_message, sizeof kernel_message);
  builder_clear (&b);
}

/* A device whose peers and allowed IPs span three messages: peer 2's allowed IPs are cut
 * by the end of the first message, so the second starts with peer 2 again (key and the
 * rest of its allowed IPs), then peer 3; NLMSG_DONE comes in the same datagram as the
 * second message, as the kernel may pack them. */
static void
test_multi_part (void)
{
  g_autoptr(LrdWgGenlDump) dump = new_dump ();
  g_autoptr(GArray) peers = NULL;
  PeerSpec one = { 0x11, 1764760000, 1000, 2000, "198.51.100.1:51820", 1, 1 };
  PeerSpec two = { 0x22, 1764760100, 3000, 4000, "[2001:db8::2]:51820", 40, 100 };
  PeerSpec two_rest = { 0x22, 0, 0, 0, NULL, 60, 140 };
  PeerSpec three = { 0x33, 1764760200, 5000, 6000, "198.51.100.3:4000", 2, 300 };
  const LrdWgPeerStats *stats;
  Builder b;

  builder_init (&b);
  peers_start (&b, SEQ, TRUE);
  put_peer (&b, &one);
  put_peer (&b, &two);
  peers_end (&b);
  g_assert_false (feed (dump, b.bytes));
  g_byte_array_set_size (b.bytes, 0);

  peers_start (&b, SEQ, FALSE);
  put_peer_continued (&b, &two_rest);
  put_peer (&b, &three);
  peers_end (&b);
  peers = finish (dump, &b);
  g_assert_cmpuint (peers->len, ==, 3);

  stats = find_peer (peers, 0x11);
  g_assert_cmpuint (stats->rx_bytes, ==, 1000);
  g_assert_cmpuint (stats->tx_bytes, ==, 2000);
  /* Coalesced: the continuation has no counters and must not wipe those of the first part. */
  stats = find_peer (peers, 0x22);
  g_assert_cmpuint (stats->rx_bytes, ==, 3000);
  g_assert_cmpuint (stats->tx_bytes, ==, 4000);
  g_assert_cmpint (stats->last_handshake_unix, ==, 1764760100);
  assert_endpoint (stats, "[2001:db8::2]:51820");
  stats = find_peer (peers, 0x33);
  g_assert_cmpuint (stats->rx_bytes, ==, 5000);
  g_assert_cmpint (stats->last_handshake_unix, ==, 1764760200);
  assert_endpoint (stats, "198.51.100.3:4000");
}

/* Many peers, one message each, as a large party's dump comes. */
static void
test_many_messages (void)
{
  g_autoptr(LrdWgGenlDump) dump = new_dump ();
  g_autoptr(GArray) peers = NULL;
  Builder b;

  builder_init (&b);
  for (guint i = 1; i <= 200; i++)
    {
      PeerSpec spec = { i, 1764760000 + i, i * 10, i * 20, NULL, 1, i };

      g_byte_array_set_size (b.bytes, 0);
      peers_start (&b, SEQ, i == 1);
      put_peer (&b, &spec);
      peers_end (&b);
      g_assert_false (feed (dump, b.bytes));
    }
  g_byte_array_set_size (b.bytes, 0);
  peers = finish (dump, &b);
  g_assert_cmpuint (peers->len, ==, 200);
  g_assert_cmpuint (find_peer (peers, 200)->tx_bytes, ==, 4000);
}

/* A device with no peers: the kernel cancels the empty WGDEVICE_A_PEERS nest. */
static void
test_no_peers (void)
{
  g_autoptr(LrdWgGenlDump) dump = new_dump ();
  g_autoptr(GArray) peers = NULL;
  Builder b;

  builder_init (&b);
  message_start (&b, FAMILY, NLM_F_MULTI, SEQ);
  device_attributes (&b);
  message_end (&b);
  peers = finish (dump, &b);
  g_assert_cmpuint (peers->len, ==, 0);
}

/* A peer configured but never reached: the kernel sends a zero timespec, zero counters and
 * no endpoint. */
static void
test_no_handshake_yet (void)
{
  g_autoptr(LrdWgGenlDump) dump = new_dump ();
  g_autoptr(GArray) peers = NULL;
  PeerSpec spec = { 0x44, 0, 0, 0, NULL, 1, 4 };
  const LrdWgPeerStats *stats;
  Builder b;

  builder_init (&b);
  peers_start (&b, SEQ, TRUE);
  put_peer (&b, &spec);
  peers_end (&b);
  peers = finish (dump, &b);
  g_assert_cmpuint (peers->len, ==, 1);
  stats = find_peer (peers, 0x44);
  g_assert_cmpint (stats->last_handshake_unix, ==, 0);
  g_assert_cmpuint (stats->rx_bytes, ==, 0);
  g_assert_cmpuint (stats->tx_bytes, ==, 0);
  g_assert_false (lr_addr_is_set (&stats->endpoint));
}

/* Where u64 needs alignment the kernel puts a 4-byte pad attribute of type
 * WGPEER_A_UNSPEC before each counter (nla_put_u64_64bit); it carries nothing. */
static void
test_pad_attribute (void)
{
  g_autoptr(LrdWgGenlDump) dump = new_dump ();
  g_autoptr(GArray) peers = NULL;
  struct __kernel_timespec handshake = { 1764760000, 0 };
  Builder b;

  builder_init (&b);
  peer_start (&b, 0x55);
  put_attr (&b, WGPEER_A_LAST_HANDSHAKE_TIME, &handshake, sizeof handshake);
  put_attr (&b, WGPEER_A_UNSPEC, NULL, 0);
  put_u64 (&b, WGPEER_A_TX_BYTES, 77);
  put_attr (&b, WGPEER_A_UNSPEC, NULL, 0);
  put_u64 (&b, WGPEER_A_RX_BYTES, 88);
  peer_end (&b);
  peers = finish (dump, &b);
  g_assert_cmpuint (find_peer (peers, 0x55)->tx_bytes, ==, 77);
  g_assert_cmpuint (find_peer (peers, 0x55)->rx_bytes, ==, 88);
}

/* A late answer to an earlier request (another sequence number) is not part of this dump. */
static void
test_other_request_skipped (void)
{
  g_autoptr(LrdWgGenlDump) dump = new_dump ();
  g_autoptr(GArray) peers = NULL;
  PeerSpec stale = { 0x66, 1, 1, 1, NULL, 0, 0 };
  PeerSpec fresh = { 0x77, 2, 2, 2, NULL, 0, 0 };
  Builder b;

  builder_init (&b);
  peers_start (&b, SEQ - 1, FALSE);
  put_peer (&b, &stale);
  peers_end (&b);
  message_start (&b, NLMSG_DONE, NLM_F_MULTI, SEQ - 1);
  g_byte_array_append (b.bytes, (const guint8 *) "\0\0\0\0", 4);
  message_end (&b);
  g_assert_false (feed (dump, b.bytes));

  g_byte_array_set_size (b.bytes, 0);
  peers_start (&b, SEQ, FALSE);
  put_peer (&b, &fresh);
  peers_end (&b);
  peers = finish (dump, &b);
  g_assert_cmpuint (peers->len, ==, 1);
  g_assert_nonnull (find_peer (peers, 0x77));
}

static void
test_missing_attribute (void)
{
  g_autoptr(LrdWgGenlDump) dump = new_dump ();
  g_autoptr(GArray) peers = NULL;
  Builder b;

  /* A peer with no public key cannot be told apart from any other. */
  builder_init (&b);
  peers_start (&b, SEQ, FALSE);
  nest_start (&b, 0);
  put_u64 (&b, WGPEER_A_RX_BYTES, 5);
  nest_end (&b);
  nest_end (&b);
  message_end (&b);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "without a public key");

  /* A peer with its key and nothing else (its counters missing) reads as zero. */
  g_byte_array_set_size (b.bytes, 0);
  peer_start (&b, 0x88);
  peer_end (&b);
  done_message (&b, 0);
  g_assert_true (feed (dump, b.bytes));
  peers = lrd_wg_genl_dump_steal_peers (dump);
  g_assert_cmpuint (peers->len, ==, 1);
  g_assert_cmpuint (find_peer (peers, 0x88)->rx_bytes, ==, 0);
  g_assert_cmpint (find_peer (peers, 0x88)->last_handshake_unix, ==, 0);

  /* A message too short for its generic netlink header. */
  g_byte_array_set_size (b.bytes, 0);
  message_start (&b, NLMSG_NOOP, 0, SEQ);
  message_end (&b);
  ((struct nlmsghdr *) b.bytes->data)->nlmsg_type = FAMILY;
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a device");
  builder_clear (&b);
}

static void
build_with_counter (Builder *b,
                    gsize    counter_length)
{
  guint64 value = 1234;

  message_start (b, FAMILY, NLM_F_MULTI, SEQ);
  nest_start (b, WGDEVICE_A_PEERS);
  nest_start (b, 0);
  put_key (b, WGPEER_A_PUBLIC_KEY, 0x99);
  put_attr (b, WGPEER_A_RX_BYTES, &value, counter_length);
  nest_end (b);
  nest_end (b);
  message_end (b);
}

static void
test_truncated_attribute (void)
{
  struct __kernel_timespec handshake = { 1764760000, 0 };
  Builder b;
  guint8 *peers_length;

  /* A counter of 4 bytes instead of 8. */
  builder_init (&b);
  build_with_counter (&b, 4);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "received byte count of 4 bytes");

  /* A handshake time cut to its seconds. */
  g_byte_array_set_size (b.bytes, 0);
  peer_start (&b, 0x99);
  put_attr (&b, WGPEER_A_LAST_HANDSHAKE_TIME, &handshake, sizeof handshake.tv_sec);
  peer_end (&b);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "handshake time");

  /* The peer list claims fewer bytes than its last attribute needs: the counter's header
   * says 12 bytes and only 8 are left inside the list. */
  g_byte_array_set_size (b.bytes, 0);
  build_with_counter (&b, 8);
  peers_length = b.bytes->data + NLMSG_HDRLEN + GENL_HDRLEN;
  put_u16_at (&b, peers_length - b.bytes->data, b.bytes->len - NLMSG_HDRLEN - GENL_HDRLEN - 4);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "truncated attribute");

  /* The datagram ends in the middle of a message. */
  g_byte_array_set_size (b.bytes, 0);
  build_with_counter (&b, 8);
  g_byte_array_set_size (b.bytes, b.bytes->len - 6);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "truncated message");

  /* A message length of 2^31 or more, which libmnl's own check lets through (found by
   * fuzz-wg-genl): it must not move the parser outside the datagram. */
  g_byte_array_set_size (b.bytes, 0);
  build_with_counter (&b, 8);
  build_with_counter (&b, 8);
  ((struct nlmsghdr *) b.bytes->data)->nlmsg_len = 0xffffffed;
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "truncated message");

  /* An endpoint that is neither a sockaddr_in nor a sockaddr_in6. */
  g_byte_array_set_size (b.bytes, 0);
  peer_start (&b, 0x99);
  put_attr (&b, WGPEER_A_ENDPOINT, "\x02\x00\x01\x02", 4);
  peer_end (&b);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "endpoint");
  builder_clear (&b);
}

static void
test_kernel_errors (void)
{
  g_autoptr(LrdWgGenlDump) dump = NULL;
  g_autoptr(GError) error = NULL;
  gboolean done = TRUE;
  Builder b;

  builder_init (&b);
  error_message (&b, -ENODEV);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, NULL);

  g_byte_array_set_size (b.bytes, 0);
  error_message (&b, -EOPNOTSUPP);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a kernel WireGuard");

  g_byte_array_set_size (b.bytes, 0);
  error_message (&b, -EPERM);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, NULL);

  /* An error the kernel met half-way, in NLMSG_DONE. */
  g_byte_array_set_size (b.bytes, 0);
  done_message (&b, -EMSGSIZE);
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "Message too long");

  /* The device changed under the dump (genl_dump_check_consistent): the rest of the dump
   * is read to its end, since the kernel refuses a new dump on the socket until then, and
   * the end says so. */
  g_byte_array_set_size (b.bytes, 0);
  build_with_counter (&b, 8);
  ((struct nlmsghdr *) b.bytes->data)->nlmsg_flags |= NLM_F_DUMP_INTR;
  dump = new_dump ();
  g_assert_false (feed (dump, b.bytes));
  g_byte_array_set_size (b.bytes, 0);
  build_with_counter (&b, 8);
  g_assert_false (feed (dump, b.bytes));
  g_byte_array_set_size (b.bytes, 0);
  done_message (&b, 0);
  g_assert_false (lrd_wg_genl_dump_feed (dump, b.bytes->data, b.bytes->len, &done, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);

  /* Another generic netlink family's message where WireGuard's was expected. */
  g_byte_array_set_size (b.bytes, 0);
  build_with_counter (&b, 8);
  ((struct nlmsghdr *) b.bytes->data)->nlmsg_type = FAMILY + 1;
  feed_fails (b.bytes, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "type");
  builder_clear (&b);
}

static void
test_request (void)
{
  guint8 buffer[LRD_WG_GENL_REQUEST_SIZE];
  gsize length = lrd_wg_genl_dump_build_request (buffer, sizeof buffer, FAMILY, SEQ,
                                                  "lanrage0");
  static const guint8 expected[] = {
    /* struct nlmsghdr: 36 bytes, the family, NLM_F_REQUEST | NLM_F_DUMP, seq, port 0 */
    0x24, 0x00, 0x00, 0x00, 0x1d, 0x00, 0x01, 0x03, 0x04, 0x03, 0x02, 0x01,
    0x00, 0x00, 0x00, 0x00,
    /* struct genlmsghdr: WG_CMD_GET_DEVICE, version 1 */
    0x00, 0x01, 0x00, 0x00,
    /* WGDEVICE_A_IFNAME: "lanrage0" and its NUL, padded */
    0x0d, 0x00, 0x02, 0x00, 0x6c, 0x61, 0x6e, 0x72, 0x61, 0x67, 0x65, 0x30,
    0x00, 0x00, 0x00, 0x00,
  };

  g_assert_cmpmem (buffer, length, expected, sizeof expected);
}

/* The running kernel */

static GArray *
get_peers (LrdWgGenl   *genl,
           const char  *ifname,
           GError     **error)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  lrd_wg_genl_get_peers_async (genl, ifname, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  return lrd_wg_genl_get_peers_finish (genl, result, error);
}

/* On a kernel without WireGuard, the controller says the family does not exist; the
 * reader says so and does not ask again. Where the kernel has WireGuard (CI machines may),
 * the same call reaches the dump and the kernel answers for an interface that does not
 * exist. */
static void
test_kernel_no_wireguard (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdWgGenl) genl = lrd_wg_genl_new (&error);
  g_autoptr(GArray) peers = NULL;
  gint64 start;

  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  peers = get_peers (genl, "lrgenl-none0", &error);
  g_test_message ("measured: first read (family lookup%s): %.2f ms",
                  g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED) ? "" : " and dump",
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_null (peers);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    {
      g_test_message ("this kernel: %s", error->message);
      g_assert_nonnull (strstr (error->message, "no WireGuard"));
      g_assert_false (g_file_test ("/sys/module/wireguard", G_FILE_TEST_EXISTS));

      /* Every later call: the same answer, from memory. */
      for (guint i = 0; i < 3; i++)
        {
          g_clear_error (&error);
          start = g_get_monotonic_time ();
          g_assert_null (get_peers (genl, "lanrage0", &error));
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
          g_test_message ("measured: later read: %.3f ms",
                          (g_get_monotonic_time () - start) / 1000.0);
        }
    }
  else
    {
      g_test_message ("this kernel has WireGuard: %s", error->message);
      if (getuid () == 0)
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      else
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
    }
}

/* A family every kernel has (the controller's own, "nlctrl") stands in for WireGuard's to
 * show the lookup's other answer against the real kernel: the id is found and the dump
 * request reaches the family, which has no WG_CMD_GET_DEVICE (command 0) and refuses it;
 * the reader reports that and stays usable. */
static void
test_kernel_family_found (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdWgGenl) genl = lrd_wg_genl_new_for_family ("nlctrl", &error);

  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GArray) peers = get_peers (genl, "lanrage0", &error);

      g_assert_null (peers);
      g_test_message ("the kernel's answer: %s", error->message);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lrd/wg-genl/dump/kernel-layout", test_kernel_layout);
  g_test_add_func ("/lrd/wg-genl/dump/builder-matches-kernel", test_builder_matches_kernel);
  g_test_add_func ("/lrd/wg-genl/dump/multi-part", test_multi_part);
  g_test_add_func ("/lrd/wg-genl/dump/many-messages", test_many_messages);
  g_test_add_func ("/lrd/wg-genl/dump/no-peers", test_no_peers);
  g_test_add_func ("/lrd/wg-genl/dump/no-handshake-yet", test_no_handshake_yet);
  g_test_add_func ("/lrd/wg-genl/dump/pad-attribute", test_pad_attribute);
  g_test_add_func ("/lrd/wg-genl/dump/other-request-skipped", test_other_request_skipped);
  g_test_add_func ("/lrd/wg-genl/dump/missing-attribute", test_missing_attribute);
  g_test_add_func ("/lrd/wg-genl/dump/truncated-attribute", test_truncated_attribute);
  g_test_add_func ("/lrd/wg-genl/dump/kernel-errors", test_kernel_errors);
  g_test_add_func ("/lrd/wg-genl/request", test_request);
  g_test_add_func ("/lrd/wg-genl/kernel/no-wireguard", test_kernel_no_wireguard);
  g_test_add_func ("/lrd/wg-genl/kernel/family-found", test_kernel_family_found);

  return g_test_run ();
}
