/* test-control-websocket-limits.c: an events socket bounds whole messages (not only
 * frames), a client that stops answering pings is dropped, and one peer token opens only a
 * few sockets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The hostile clients speak WebSocket by hand over a TCP socket (RFC 6455), so they can send
 * what libsoup's client never would: endless fragments, and no pongs.
 */
#include "lr-test-control.h"

#include <stdio.h>
#include <string.h>

#define SOCKETS_PER_PEER 4

static gboolean
send_all (GSocket      *socket,
          const guint8 *data,
          gsize         length)
{
  gsize sent = 0;

  while (sent < length)
    {
      gssize n = g_socket_send (socket, (const char *) data + sent, length - sent, NULL, NULL);

      if (n <= 0)
        return FALSE;
      sent += n;
    }
  return TRUE;
}

/* Opens the member's events socket by hand; returns the TCP socket after the 101. */
static GSocket *
raw_websocket_open (LrTestServer       *server,
                    const LrTestMember *member)
{
  g_autoptr(GSocket) socket = lr_test_server_connect_tcp (server, NULL);
  g_autofree char *request = NULL;
  g_autoptr(GString) answer = g_string_new (NULL);

  g_assert_nonnull (socket);
  request = g_strdup_printf ("GET /v1/parties/%s/events HTTP/1.1\r\n"
                             "Host: 127.0.0.1\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n"
                             "Authorization: Bearer %s\r\n\r\n",
                             member->party_id, member->token);
  g_assert_true (send_all (socket, (const guint8 *) request, strlen (request)));

  /* Byte by byte up to the end of the headers, so no frame is read with them. */
  while (!g_str_has_suffix (answer->str, "\r\n\r\n"))
    {
      char c;

      g_assert_cmpint (g_socket_receive (socket, &c, 1, NULL, NULL), ==, 1);
      g_string_append_c (answer, c);
    }
  if (!g_str_has_prefix (answer->str, "HTTP/1.1 101"))
    g_error ("The events socket did not upgrade: %s", answer->str);
  return g_steal_pointer (&socket);
}

/* One client frame, masked with a key of zeros (RFC 6455 5.3: any key will do). */
static gboolean
send_frame (GSocket      *socket,
            gboolean      fin,
            guint         opcode,
            const guint8 *payload,
            gsize         length)
{
  guint8 header[14];
  gsize size = 0;

  header[size++] = (fin ? 0x80 : 0) | opcode;
  if (length < 126)
    header[size++] = 0x80 | length;
  else if (length < 65536)
    {
      header[size++] = 0x80 | 126;
      header[size++] = length >> 8;
      header[size++] = length & 0xff;
    }
  else
    {
      header[size++] = 0x80 | 127;
      for (int shift = 56; shift >= 0; shift -= 8)
        header[size++] = ((guint64) length >> shift) & 0xff;
    }
  memset (header + size, 0, 4);
  size += 4;

  return send_all (socket, header, size) && send_all (socket, payload, length);
}

static gboolean
receive_exact (GSocket *socket,
               guint8  *buffer,
               gsize    length,
               gint64   deadline)
{
  gsize got = 0;

  while (got < length)
    {
      gint64 left = deadline - g_get_monotonic_time ();
      gssize n;

      if (left <= 0 || !g_socket_condition_timed_wait (socket, G_IO_IN, left, NULL, NULL))
        return FALSE;
      n = g_socket_receive (socket, (char *) buffer + got, length - got, NULL, NULL);
      if (n <= 0)
        return FALSE;
      got += n;
    }
  return TRUE;
}

/* Reads server frames (skipping text and pings, answering none) until a close frame: its
 * code, or 0 when the stream ended or @timeout_ms passed first. */
static guint
wait_close_code (GSocket *socket,
                 guint    timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;)
    {
      guint8 header[10];
      guint64 length;
      g_autofree guint8 *payload = NULL;

      if (!receive_exact (socket, header, 2, deadline))
        return 0;
      length = header[1] & 0x7f;
      if (length == 126 || length == 127)
        {
          gsize extra = length == 126 ? 2 : 8;

          if (!receive_exact (socket, header + 2, extra, deadline))
            return 0;
          length = 0;
          for (gsize i = 0; i < extra; i++)
            length = (length << 8) | header[2 + i];
        }
      g_assert_cmpuint (length, <, 1024 * 1024);
      payload = g_malloc (length + 1);
      if (!receive_exact (socket, payload, length, deadline))
        return 0;
      if ((header[0] & 0x0f) == 0x8)
        return length >= 2 ? (guint) payload[0] << 8 | payload[1] : 1005;
    }
}

/* The repro: 134 text fragments of 60,000 bytes, none final (8 MB). */
static void
test_fragmented_message (LrTestFixture *fixture,
                         gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "p", "host");
  g_autoptr(GSocket) socket = NULL;
  g_autofree guint8 *fragment = g_malloc (60000);
  guint64 before, after;
  guint sent = 0;
  guint code;

  socket = raw_websocket_open (fixture->server, host);
  lr_test_run_for (200);
  before = lr_test_server_get_rss_kib (fixture->server);

  memset (fragment, 'a', 60000);
  for (guint i = 0; i < 134; i++)
    {
      if (!send_frame (socket, FALSE, i == 0 ? 0x1 : 0x0, fragment, 60000))
        break;
      sent++;
    }
  lr_test_run_for (300);
  after = lr_test_server_get_rss_kib (fixture->server);
  g_test_message ("%u of 134 fragments sent; server VmRSS %" G_GUINT64_FORMAT " KiB before, %"
                  G_GUINT64_FORMAT " KiB after (%+" G_GINT64_FORMAT " KiB)", sent, before, after,
                  (gint64) after - (gint64) before);

  code = wait_close_code (socket, 3000);
  g_test_message ("close code %u", code);
  g_assert_cmpuint (code, ==, 1009);
  g_assert_cmpint ((gint64) after - (gint64) before, <, 2048);

  /* The server is fine, and a well-behaved socket still works. */
  {
    g_autoptr(LrTestSocket) good = lr_test_socket_connect (fixture->server, host->party_id,
                                                           host->token, NULL);

    g_assert_nonnull (good);
    json_node_unref (lr_test_socket_expect (good, "snapshot", NULL));
  }
}

/* A whole message within the limit, sent as many fragments, still arrives as one. */
static void
test_fragments_within_limit (LrTestFixture *fixture,
                             gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "p", "host");
  g_autoptr(LrTestMember) guest = lr_test_join (fixture->server, host->invite_code, "guest");
  g_autoptr(LrTestSocket) receiver = lr_test_socket_connect (fixture->server, guest->party_id,
                                                             guest->token, NULL);
  g_autoptr(GSocket) socket = raw_websocket_open (fixture->server, host);
  g_autofree char *text = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                           "\"data\": {\"hello\": \"fragmented\"}}",
                                           guest->peer_id);
  gsize length = strlen (text);
  g_autoptr(JsonNode) signal = NULL;

  json_node_unref (lr_test_socket_expect (receiver, "snapshot", NULL));
  g_assert_true (send_frame (socket, FALSE, 0x1, (guint8 *) text, 10));
  g_assert_true (send_frame (socket, FALSE, 0x0, (guint8 *) text + 10, 10));
  g_assert_true (send_frame (socket, TRUE, 0x0, (guint8 *) text + 20, length - 20));

  signal = lr_test_socket_expect (receiver, "signal", host->peer_id);
  g_assert_cmpstr (lr_test_json_string (signal, "data.hello"), ==, "fragmented");
}

/* A client that reads but never answers a ping is dropped after two intervals; one that
 * answers (libsoup's client does) stays. */
static void
test_unanswered_pings (LrTestFixture *fixture,
                       gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "p", "host");
  g_autoptr(LrTestMember) guest = lr_test_join (fixture->server, host->invite_code, "guest");
  g_autoptr(LrTestSocket) alive = lr_test_socket_connect (fixture->server, guest->party_id,
                                                          guest->token, NULL);
  g_autoptr(GSocket) silent = raw_websocket_open (fixture->server, host);
  gint64 start = g_get_monotonic_time ();
  gboolean closed = FALSE;

  /* The main loop runs, so the live client answers its pings; the silent one only reads. */
  while (!closed && g_get_monotonic_time () - start < 8 * G_USEC_PER_SEC)
    {
      char buffer[4096];

      lr_test_run_for (20);
      if (g_socket_condition_check (silent, G_IO_IN | G_IO_HUP | G_IO_ERR) != 0)
        closed = g_socket_receive (silent, buffer, sizeof buffer, NULL, NULL) <= 0;
    }

  g_test_message ("the silent client was dropped after %.1f s",
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  g_assert_true (closed);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 3 * G_USEC_PER_SEC / 2);
  g_assert_false (lr_test_socket_is_closed (alive));
  json_node_unref (lr_test_socket_expect (alive, "snapshot", NULL));
}

/* One peer token holds a few events sockets, not any number: past them, a new socket
 * replaces the peer's oldest, so a helper that reconnects is served at once even while its
 * old sockets are not yet found dead. */
static void
test_sockets_per_peer (LrTestFixture *fixture,
                       gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "p", "host");
  g_autoptr(LrTestMember) guest = lr_test_join (fixture->server, host->invite_code, "guest");
  g_autoptr(GPtrArray) sockets = NULL;
  g_autoptr(LrTestSocket) other = NULL;

  other = lr_test_socket_connect (fixture->server, guest->party_id, guest->token, NULL);
  json_node_unref (lr_test_socket_expect (other, "snapshot", NULL));

  sockets = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_test_socket_free);
  for (guint i = 0; i < SOCKETS_PER_PEER + 2; i++)
    {
      guint status = 0;
      LrTestSocket *socket = lr_test_socket_connect (fixture->server, host->party_id,
                                                     host->token, &status);

      g_assert_nonnull (socket);
      json_node_unref (lr_test_socket_expect (socket, "snapshot", NULL));
      g_ptr_array_add (sockets, socket);
    }

  /* The two oldest were closed by the server, the newest four stay and are served. */
  for (guint i = 0; i < 2; i++)
    g_assert_true (lr_test_socket_wait_closed (g_ptr_array_index (sockets, i), 3000));
  for (guint i = 2; i < sockets->len; i++)
    g_assert_false (lr_test_socket_is_closed (g_ptr_array_index (sockets, i)));

  /* A signal reaches the host's open sockets, the replaced ones no more. */
  {
    g_autofree char *text = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                             "\"data\": {\"n\": 1}}", host->peer_id);

    lr_test_socket_send (other, text);
    for (guint i = 2; i < sockets->len; i++)
      json_node_unref (lr_test_socket_expect (g_ptr_array_index (sockets, i), "signal",
                                              NULL));
  }

  /* Another peer of the party is not affected. */
  g_assert_false (lr_test_socket_is_closed (other));
  lr_test_socket_expect_nothing (other, 200);
}

int
main (int   argc,
      char *argv[])
{
  static const char * const ping_args[] = { "--websocket-ping-interval", "1s", NULL };

  lr_test_control_init (&argc, &argv);

  LR_TEST_ADD ("/control/websocket/fragmented-message", test_fragmented_message, NULL);
  LR_TEST_ADD ("/control/websocket/fragments-within-limit", test_fragments_within_limit, NULL);
  LR_TEST_ADD ("/control/websocket/unanswered-pings", test_unanswered_pings, ping_args);
  LR_TEST_ADD ("/control/websocket/sockets-per-peer", test_sockets_per_peer, NULL);

  return g_test_run ();
}
