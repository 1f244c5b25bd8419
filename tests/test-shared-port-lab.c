/* test-shared-port-lab.c: LrdSharedPort next to a real wireguard-go
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two network namespaces joined by a veth (198.18.0.1 and fd00:18::1 in A, .2 and ::2 in B),
 * a wireguard-go on port 51820 in each, peered with the other. The test process makes an
 * LrdSharedPort on port 51820 in A and, in B, a real lanrage-relay as the STUN server and
 * plain UDP sockets as a peer would use them. It checks that STUN answers and disco
 * datagrams to A's port 51820 reach the shared port and nothing else does, that what the
 * shared port sends leaves from port 51820 with a checksum B's kernel accepts, and that
 * WireGuard's tunnel keeps working all the while. Runs in a private mount namespace (its own
 * /run/netns and /run/wireguard). Needs root; skips otherwise.
 */
#define _GNU_SOURCE
#include "lrd-shared-port.h"
#include "lrd-test-util.h"

#include "lr-disco.h"
#include "lr-error.h"
#include "lr-stun.h"
#include "lr-test-lab.h"
#include "lr-test-wg.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WG_PORT 51820

typedef struct
{
  LrStunAddress from;
  GBytes       *data;
  gboolean      disco;
} Received;

typedef struct
{
  char          *ns_a;
  char          *ns_b;
  char          *log_path;
  GSubprocess   *wg_a;
  GSubprocess   *wg_b;
  GSubprocess   *relay4;
  GSubprocess   *relay6;
  LrdSharedPort *port;
  GArray        *received;   /* Received */
} Lab;

static guint lab_counter;

static void
received_clear (gpointer data)
{
  Received *received = data;

  g_bytes_unref (received->data);
}

static void
packet_cb (LrdSharedPort       *port,
           const guint8        *data,
           guint                length,
           const LrStunAddress *from,
           gpointer             user_data)
{
  Lab *lab = user_data;
  Received received = { .from = *from, .data = g_bytes_new (data, length) };

  received.disco = length >= LR_DISCO_MAGIC_SIZE && memcmp (data, LR_DISCO_MAGIC, 8) == 0;
  g_array_append_val (lab->received, received);
}

static GSubprocess *
start_relay (Lab        *lab,
             const char *listen)
{
  const char *argv[] = { g_getenv ("LANRAGE_RELAY"), "--listen", listen, "--threads", "1", NULL };
  GSubprocess *relay = lr_test_lab_spawn (lab->ns_b, argv, lab->log_path,
                                          G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (relay));
  g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, NULL);
  g_autofree char *want = g_strdup_printf ("Listening on %s", listen);

  g_assert_cmpstr (line, ==, want);
  return relay;
}

static void
lab_set_up (Lab           *lab,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  LrTestWgKeys a, b;

  lab_counter++;
  lab->ns_a = g_strdup_printf ("lrsp-a%u", lab_counter);
  lab->ns_b = g_strdup_printf ("lrsp-b%u", lab_counter);
  lab->log_path = g_build_filename (g_get_tmp_dir (), "lrsp-lab.log", NULL);
  lab->received = g_array_new (FALSE, TRUE, sizeof (Received));
  g_array_set_clear_func (lab->received, received_clear);

  LR_TEST_LAB_RUN ("ip", "netns", "add", lab->ns_a);
  LR_TEST_LAB_RUN ("ip", "netns", "add", lab->ns_b);
  LR_TEST_LAB_RUN ("ip", "-n", lab->ns_a, "link", "add", "va", "type", "veth", "peer", "name",
                   "vb", "netns", lab->ns_b);
  LR_TEST_LAB_RUN ("ip", "-n", lab->ns_a, "address", "add", "198.18.0.1/24", "dev", "va");
  LR_TEST_LAB_RUN ("ip", "-n", lab->ns_b, "address", "add", "198.18.0.2/24", "dev", "vb");
  LR_TEST_LAB_RUN ("ip", "-n", lab->ns_a, "address", "add", "fd00:18::1/64", "dev", "va", "nodad");
  LR_TEST_LAB_RUN ("ip", "-n", lab->ns_b, "address", "add", "fd00:18::2/64", "dev", "vb", "nodad");
  LR_TEST_LAB_RUN ("ip", "-n", lab->ns_a, "link", "set", "va", "up");
  LR_TEST_LAB_RUN ("ip", "-n", lab->ns_b, "link", "set", "vb", "up");
  LR_TEST_LAB_RUN ("ip", "-n", lab->ns_a, "link", "set", "lo", "up");
  LR_TEST_LAB_RUN ("ip", "-n", lab->ns_b, "link", "set", "lo", "up");

  lr_test_wg_keys_generate (&a);
  lr_test_wg_keys_generate (&b);
  lab->wg_a = lr_test_wg_start (lab->ns_a, "lrspa0", &a, WG_PORT, "10.66.0.1/24", lab->log_path);
  lab->wg_b = lr_test_wg_start (lab->ns_b, "lrspb0", &b, WG_PORT, "10.66.0.2/24", lab->log_path);
  lr_test_wg_set_peer ("lrspa0", b.public_key, "198.18.0.2:51820", "10.66.0.2/32");
  lr_test_wg_set_peer ("lrspb0", a.public_key, "198.18.0.1:51820", "10.66.0.1/32");
  lab->relay4 = start_relay (lab, "198.18.0.2:3478");
  lab->relay6 = start_relay (lab, "[fd00:18::2]:3478");

  g_assert_true (lrd_test_enter_netns (lab->ns_a));
  lab->port = lrd_shared_port_new (WG_PORT, &error);
  lrd_test_leave_netns ();
  g_assert_no_error (error);
  g_assert_cmpuint (lrd_shared_port_get_port (lab->port), ==, WG_PORT);
  g_assert_true (lrd_shared_port_has_ipv6 (lab->port));
  g_signal_connect (lab->port, "stun-received", G_CALLBACK (packet_cb), lab);
  g_signal_connect (lab->port, "disco-received", G_CALLBACK (packet_cb), lab);
}

static void
lab_tear_down (Lab           *lab,
               gconstpointer  data)
{
  g_clear_object (&lab->port);
  lr_test_lab_stop (&lab->relay4);
  lr_test_lab_stop (&lab->relay6);
  lr_test_lab_stop (&lab->wg_a);
  lr_test_lab_stop (&lab->wg_b);
  lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "del", lab->ns_a, NULL);
  lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "del", lab->ns_b, NULL);
  lr_test_lab_flush_log (lab->log_path);
  g_array_unref (lab->received);
  g_free (lab->log_path);
  g_free (lab->ns_a);
  g_free (lab->ns_b);
}

/* Iterates the main loop until @count datagrams came in, or fails after 5 s. */
static void
wait_received (Lab   *lab,
               guint  count)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (lab->received->len < count)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* Iterates the main loop for @ms, so that anything wrongly let through would show. */
static void
settle (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* A padded Binding request; a random transaction id unless @fixed. */
static gsize
binding_request (guint8   *buffer,
                 gsize     size,
                 guint8    transaction_id[12],
                 gboolean  fixed)
{
  static const guint8 zeros[64];
  LrStunBuilder builder;

  for (guint i = 0; i < 12; i++)
    transaction_id[i] = fixed ? i : (guint) g_random_int_range (0, 256);
  lr_stun_builder_init (&builder, buffer, size, LR_STUN_METHOD_BINDING, LR_STUN_CLASS_REQUEST,
                        transaction_id);
  lr_stun_builder_add (&builder, LR_STUN_ATTR_PADDING, zeros, sizeof zeros);
  lr_stun_builder_add_fingerprint (&builder);
  return lr_stun_builder_finish (&builder);
}

static void
check_stun (Lab        *lab,
            const char *server_text,
            const char *public_text)
{
  g_autoptr(GError) error = NULL;
  LrStunAddress server, source, mapped;
  LrStunMessage message;
  guint8 request[128];
  guint8 transaction_id[12];
  gsize length = binding_request (request, sizeof request, transaction_id, FALSE);
  const Received *answer;
  g_autofree char *source_text = NULL;
  g_autofree char *mapped_text = NULL;
  gsize answer_length;
  const guint8 *answer_data;

  g_assert_true (lr_stun_address_parse (&server, server_text));
  lrd_shared_port_get_source (lab->port, &server, &source, &error);
  g_assert_no_error (error);
  source_text = lr_stun_address_to_string (&source);
  g_assert_cmpstr (source_text, ==, public_text);

  lrd_shared_port_send (lab->port, &server, request, length, &error);
  g_assert_no_error (error);
  wait_received (lab, 1);

  answer = &g_array_index (lab->received, Received, 0);
  g_assert_false (answer->disco);
  g_assert_true (lr_stun_address_equal (&answer->from, &server));
  answer_data = g_bytes_get_data (answer->data, &answer_length);
  g_assert_true (lr_stun_message_parse (&message, answer_data, answer_length, NULL));
  g_assert_cmpint (message.klass, ==, LR_STUN_CLASS_SUCCESS);
  g_assert_cmpmem (message.transaction_id, 12, transaction_id, 12);
  /* The relay saw the request come from port 51820: the shared port's own. */
  g_assert_true (lr_stun_message_get_address (&message, LR_STUN_ATTR_XOR_MAPPED_ADDRESS,
                                              &mapped));
  mapped_text = lr_stun_address_to_string (&mapped);
  g_assert_cmpstr (mapped_text, ==, public_text);
}

static void
test_stun_ipv4 (Lab           *lab,
                gconstpointer  data)
{
  check_stun (lab, "198.18.0.2:3478", "198.18.0.1:51820");
}

static void
test_stun_ipv6 (Lab           *lab,
                gconstpointer  data)
{
  check_stun (lab, "[fd00:18::2]:3478", "[fd00:18::1]:51820");
}

/* A plain UDP socket in namespace @ns, bound to @address. */
static int
udp_socket_in (const char *ns,
               const char *address)
{
  LrStunAddress bind_to;
  struct sockaddr_storage sa;
  socklen_t length;
  int fd;

  g_assert_true (lr_stun_address_parse (&bind_to, address));
  length = lr_stun_address_to_sockaddr (&bind_to, &sa, sizeof sa);
  g_assert_true (lrd_test_enter_netns (ns));
  fd = socket (sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  lrd_test_leave_netns ();
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, length), ==, 0);
  return fd;
}

static void
send_to (int           fd,
         const char   *to_text,
         const guint8 *data,
         gsize         length)
{
  LrStunAddress to;
  struct sockaddr_storage sa;
  socklen_t sa_length;

  g_assert_true (lr_stun_address_parse (&to, to_text));
  sa_length = lr_stun_address_to_sockaddr (&to, &sa, sizeof sa);
  g_assert_cmpint (sendto (fd, data, length, 0, (struct sockaddr *) &sa, sa_length), ==,
                   (gssize) length);
}

/* A disco-looking datagram: the magic, then anything (the codec is not under test here). */
static const guint8 disco_datagram[] = "LRdisco\x01 and some sealed bytes";

static void
check_filter (Lab        *lab,
              const char *a_host,
              const char *b_host)
{
  g_autofree char *b_address = g_strdup_printf ("%s:40000", b_host);
  g_autofree char *a_wg = g_strdup_printf ("%s:%u", a_host, WG_PORT);
  g_autofree char *a_other = g_strdup_printf ("%s:51999", a_host);
  int b = udp_socket_in (lab->ns_b, b_address);
  int a = udp_socket_in (lab->ns_a, a_other);
  guint8 stun[128];
  guint8 transaction_id[12];
  gsize stun_length = binding_request (stun, sizeof stun, transaction_id, FALSE);
  /* A WireGuard handshake initiation's first bytes (type 1, three reserved zeros). */
  guint8 wireguard[148] = { 1, 0, 0, 0 };
  guint8 buffer[256];
  LrStunAddress expected_from;
  const Received *r;

  /* None of these is for the shared port. */
  send_to (b, a_wg, (const guint8 *) "hello, port 51820", 17);
  send_to (b, a_wg, wireguard, sizeof wireguard);
  send_to (b, a_other, stun, stun_length);
  send_to (b, a_other, disco_datagram, sizeof disco_datagram);
  settle (200);
  g_assert_cmpuint (lab->received->len, ==, 0);
  /* The port the shared port does not take still gets its datagrams, untouched. */
  g_assert_cmpint (recv (a, buffer, sizeof buffer, MSG_DONTWAIT), ==, stun_length);
  g_assert_cmpmem (buffer, stun_length, stun, stun_length);
  g_assert_cmpint (recv (a, buffer, sizeof buffer, MSG_DONTWAIT), ==, sizeof disco_datagram);

  /* These are. */
  send_to (b, a_wg, stun, stun_length);
  send_to (b, a_wg, disco_datagram, sizeof disco_datagram);
  wait_received (lab, 2);
  settle (100);
  g_assert_cmpuint (lab->received->len, ==, 2);
  g_assert_true (lr_stun_address_parse (&expected_from, b_address));
  r = &g_array_index (lab->received, Received, 0);
  g_assert_false (r->disco);
  g_assert_true (lr_stun_address_equal (&r->from, &expected_from));
  g_assert_cmpmem (g_bytes_get_data (r->data, NULL), g_bytes_get_size (r->data), stun,
                   stun_length);
  r = &g_array_index (lab->received, Received, 1);
  g_assert_true (r->disco);
  g_assert_true (lr_stun_address_equal (&r->from, &expected_from));
  g_assert_cmpmem (g_bytes_get_data (r->data, NULL), g_bytes_get_size (r->data),
                   disco_datagram, sizeof disco_datagram);
  close (a);
  close (b);
}

static void
test_filter_ipv4 (Lab           *lab,
                  gconstpointer  data)
{
  check_filter (lab, "198.18.0.1", "198.18.0.2");
}

static void
test_filter_ipv6 (Lab           *lab,
                  gconstpointer  data)
{
  check_filter (lab, "[fd00:18::1]", "[fd00:18::2]");
}

static guint64
udp_checksum_errors (const char *ns)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *v4 = NULL;
  g_autofree char *v6 = NULL;
  g_auto(GStrv) lines = NULL;
  guint64 total = 0;

  lr_test_lab_run (NULL, &v4, &error, "ip", "netns", "exec", ns, "cat", "/proc/net/snmp", NULL);
  g_assert_no_error (error);
  lr_test_lab_run (NULL, &v6, &error, "ip", "netns", "exec", ns, "cat", "/proc/net/snmp6", NULL);
  g_assert_no_error (error);
  /* "Udp: ... InCsumErrors" header and value lines; "Udp6InCsumErrors N". */
  lines = g_strsplit (v4, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    if (g_str_has_prefix (lines[i], "Udp: ") && g_str_has_prefix (lines[i + 1], "Udp: "))
      {
        g_auto(GStrv) names = g_strsplit_set (lines[i], " ", -1);
        g_auto(GStrv) values = g_strsplit_set (lines[i + 1], " ", -1);

        for (guint j = 0; names[j] != NULL && values[j] != NULL; j++)
          if (g_str_equal (names[j], "InCsumErrors"))
            total += g_ascii_strtoull (values[j], NULL, 10);
        break;
      }
  g_strfreev (lines);
  lines = g_strsplit_set (v6, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "Udp6InCsumErrors"))
      total += g_ascii_strtoull (lines[i] + strlen ("Udp6InCsumErrors"), NULL, 10);
  return total;
}

/* What the shared port sends arrives at a plain socket (whose kernel checks the checksum)
 * from port 51820, payloads of every length parity, over both families. */
static void
check_send (Lab        *lab,
            const char *a_host,
            const char *b_host)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *b_address = g_strdup_printf ("%s:40001", b_host);
  g_autofree char *a_wg = g_strdup_printf ("%s:%u", a_host, WG_PORT);
  int b = udp_socket_in (lab->ns_b, b_address);
  guint64 errors_before = udp_checksum_errors (lab->ns_b);
  LrStunAddress to, want_from;

  g_assert_true (lr_stun_address_parse (&to, b_address));
  g_assert_true (lr_stun_address_parse (&want_from, a_wg));
  for (gsize length = 1; length <= 64; length++)
    {
      guint8 payload[64];
      guint8 buffer[128];
      struct sockaddr_storage from;
      socklen_t from_length = sizeof from;
      LrStunAddress from_address;
      gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
      gssize n;

      for (gsize i = 0; i < length; i++)
        payload[i] = g_random_int_range (0, 256);
      lrd_shared_port_send (lab->port, &to, payload, length, &error);
      g_assert_no_error (error);
      while ((n = recvfrom (b, buffer, sizeof buffer, MSG_DONTWAIT, (struct sockaddr *) &from,
                            &from_length)) < 0)
        {
          g_assert_cmpint (errno, ==, EAGAIN);
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_usleep (1000);
        }
      g_assert_cmpmem (buffer, n, payload, length);
      g_assert_true (lr_stun_address_from_sockaddr (&from_address, &from, from_length));
      g_assert_true (lr_stun_address_equal (&from_address, &want_from));
    }
  g_assert_cmpuint (udp_checksum_errors (lab->ns_b), ==, errors_before);

  /* Too large, port 0: refused with a reason, nothing sent. */
  {
    guint8 big[LRD_SHARED_PORT_MAX_PAYLOAD + 1] = { 0 };

    g_assert_false (lrd_shared_port_send (lab->port, &to, big, sizeof big, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
    g_clear_error (&error);
    to.port = 0;
    g_assert_false (lrd_shared_port_send (lab->port, &to, big, 8, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  close (b);
}

static void
test_send_ipv4 (Lab           *lab,
                gconstpointer  data)
{
  check_send (lab, "198.18.0.1", "198.18.0.2");
}

static void
test_send_ipv6 (Lab           *lab,
                gconstpointer  data)
{
  check_send (lab, "[fd00:18::1]", "[fd00:18::2]");
}

/* Sends, from a raw socket in B, a UDP datagram to A's port 51820 that carries a STUN
 * request with a fixed transaction id and @checksum in its header, unchanged. */
static void
send_raw_from_b (Lab        *lab,
                 int         family,
                 const char *to_text,
                 guint16     checksum)
{
  guint8 stun[128];
  guint8 datagram[8 + sizeof stun];
  guint8 transaction_id[12];
  gsize stun_length = binding_request (stun, sizeof stun, transaction_id, TRUE);
  gsize length = 8 + stun_length;
  struct sockaddr_storage to;
  socklen_t to_length;
  LrStunAddress address;
  int raw;

  g_assert_true (lr_stun_address_parse (&address, to_text));
  to_length = lr_stun_address_to_sockaddr (&address, &to, sizeof to);
  /* A raw socket's port is its protocol. */
  if (family == AF_INET)
    ((struct sockaddr_in *) &to)->sin_port = 0;
  else
    ((struct sockaddr_in6 *) &to)->sin6_port = 0;

  g_assert_true (lrd_test_enter_netns (lab->ns_b));
  raw = socket (family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
  lrd_test_leave_netns ();
  g_assert_cmpint (raw, >=, 0);
  datagram[0] = 40002 >> 8;
  datagram[1] = 40002 & 0xff;
  datagram[2] = WG_PORT >> 8;
  datagram[3] = WG_PORT & 0xff;
  datagram[4] = length >> 8;
  datagram[5] = length & 0xff;
  datagram[6] = checksum >> 8;
  datagram[7] = checksum & 0xff;
  memcpy (datagram + 8, stun, stun_length);
  g_assert_cmpint (sendto (raw, datagram, length, 0, (struct sockaddr *) &to, to_length), ==,
                   (gssize) length);
  close (raw);
}

/* Over IPv4 the shared port checks the checksum itself: a wrong one is dropped, as the
 * kernel would for a bound socket; 0 means "none" (RFC 768) and is taken. 0x1234 is wrong
 * for this fixed datagram (were it right, the test would fail, every time). */
static void
test_bad_checksum_ipv4 (Lab           *lab,
                        gconstpointer  data)
{
  send_raw_from_b (lab, AF_INET, "198.18.0.1:51820", 0x1234);
  settle (200);
  g_assert_cmpuint (lab->received->len, ==, 0);
  send_raw_from_b (lab, AF_INET, "198.18.0.1:51820", 0);
  wait_received (lab, 1);
}

/* Over IPv6 the kernel checks it for the shared port (IPV6_CHECKSUM): a wrong one is
 * dropped, the same datagram with the right one (from a sender that lets the kernel
 * compute it) is taken. */
static void
test_bad_checksum_ipv6 (Lab           *lab,
                        gconstpointer  data)
{
  send_raw_from_b (lab, AF_INET6, "[fd00:18::1]:51820", 0x1234);
  settle (200);
  g_assert_cmpuint (lab->received->len, ==, 0);
  {
    LrStunAddress to;
    int b = udp_socket_in (lab->ns_b, "[fd00:18::2]:40002");
    guint8 stun[128];
    guint8 transaction_id[12];
    gsize stun_length = binding_request (stun, sizeof stun, transaction_id, TRUE);

    send_to (b, "[fd00:18::1]:51820", stun, stun_length);
    wait_received (lab, 1);
    g_assert_true (lr_stun_address_parse (&to, "[fd00:18::2]:40002"));
    g_assert_true (lr_stun_address_equal (&g_array_index (lab->received, Received, 0).from,
                                          &to));
    close (b);
  }
}

static gboolean
ping_once (const char *ns,
           const char *address)
{
  return lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "exec", ns, "ping", "-n", "-q",
                          "-c", "1", "-W", "1", address, NULL);
}

/* WireGuard on the same port keeps working while the shared port sends and receives. */
static void
test_wireguard_undisturbed (Lab           *lab,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  guint attempts = 0;

  while (!ping_once (lab->ns_a, "10.66.0.2"))
    g_assert_cmpuint (++attempts, <, 10);
  check_stun (lab, "198.18.0.2:3478", "198.18.0.1:51820");
  g_assert_cmpuint (lrd_shared_port_get_n_read (lab->port), ==, 1);
  lr_test_lab_run (NULL, &out, &error, "ip", "netns", "exec", lab->ns_a, "ping", "-n", "-q",
                   "-c", "20", "-i", "0.01", "-W", "1", "10.66.0.2", NULL);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (out, " 0% packet loss"));
  /* The tunnel's own datagrams never even reached user space: the kernel's filter kept
   * them from the raw socket. */
  settle (100);
  g_assert_cmpuint (lab->received->len, ==, 1);
  g_assert_cmpuint (lrd_shared_port_get_n_read (lab->port), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  static const char * const programs[] = { "ip", "wireguard-go", "ping", NULL };
  const char *reason;

  if (g_getenv ("LANRAGE_RELAY") == NULL)
    return lrd_test_skip ("LANRAGE_RELAY is not set (meson test sets it)");
  reason = lr_test_lab_prepare (programs);
  if (reason != NULL)
    return lrd_test_skip (reason);

  g_test_init (&argc, &argv, NULL);
  lr_init ();

  g_test_add ("/lrd/shared-port/lab/stun-ipv4", Lab, NULL, lab_set_up, test_stun_ipv4,
              lab_tear_down);
  g_test_add ("/lrd/shared-port/lab/stun-ipv6", Lab, NULL, lab_set_up, test_stun_ipv6,
              lab_tear_down);
  g_test_add ("/lrd/shared-port/lab/filter-ipv4", Lab, NULL, lab_set_up, test_filter_ipv4,
              lab_tear_down);
  g_test_add ("/lrd/shared-port/lab/filter-ipv6", Lab, NULL, lab_set_up, test_filter_ipv6,
              lab_tear_down);
  g_test_add ("/lrd/shared-port/lab/send-ipv4", Lab, NULL, lab_set_up, test_send_ipv4,
              lab_tear_down);
  g_test_add ("/lrd/shared-port/lab/send-ipv6", Lab, NULL, lab_set_up, test_send_ipv6,
              lab_tear_down);
  g_test_add ("/lrd/shared-port/lab/bad-checksum-ipv4", Lab, NULL, lab_set_up,
              test_bad_checksum_ipv4, lab_tear_down);
  g_test_add ("/lrd/shared-port/lab/bad-checksum-ipv6", Lab, NULL, lab_set_up,
              test_bad_checksum_ipv6, lab_tear_down);
  g_test_add ("/lrd/shared-port/lab/wireguard-undisturbed", Lab, NULL, lab_set_up,
              test_wireguard_undisturbed, lab_tear_down);

  return g_test_run ();
}
