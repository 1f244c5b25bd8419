/* test-wg-uapi.c: the UAPI answer parser and request formatting
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The good vectors are answers captured from wireguard-go 0.0.20220316 (Debian 12) on this
 * lab, keys replaced by test values.
 */
#include "lr-error.h"
#include "lr-wg-uapi.h"

#include <string.h>

#define KEY_A "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define KEY_B "c6b67e3ef97f73d2a1c5b48ff80fd6c7a9d0d5ddaf3e7d4f5cf0e66e3ad3bc33"
#define KEY_C "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceae4d3b5bc62"

static const char two_peers[] =
  "private_key=" KEY_A "\n"
  "listen_port=51820\n"
  "fwmark=0\n"
  "public_key=" KEY_B "\n"
  "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
  "protocol_version=1\n"
  "endpoint=198.18.0.2:51820\n"
  "last_handshake_time_sec=1763782153\n"
  "last_handshake_time_nsec=420123456\n"
  "tx_bytes=2220\n"
  "rx_bytes=1852\n"
  "persistent_keepalive_interval=25\n"
  "allowed_ip=10.66.0.2/32\n"
  "allowed_ip=fd66::/64\n"
  "public_key=" KEY_C "\n"
  "preshared_key=" KEY_A "\n"
  "protocol_version=1\n"
  "endpoint=[2001:db8::1]:4500\n"
  "last_handshake_time_sec=0\n"
  "last_handshake_time_nsec=0\n"
  "tx_bytes=0\n"
  "rx_bytes=0\n"
  "persistent_keepalive_interval=0\n"
  "errno=0\n"
  "\n";

static LrWgUapiDevice *
parse (const char  *text,
       GError     **error)
{
  return lr_wg_uapi_parse_get (text, strlen (text), error);
}

static void
test_get_good (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrWgUapiDevice) device = parse (two_peers, &error);
  LrWgUapiPeer *peer;
  g_autofree char *endpoint = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (device);
  g_assert_true (device->has_private_key);
  g_assert_cmpuint (device->listen_port, ==, 51820);
  g_assert_cmpuint (device->peers->len, ==, 2);

  peer = &g_array_index (device->peers, LrWgUapiPeer, 0);
  g_assert_cmpuint (peer->public_key.bytes[0], ==, 0xc6);
  g_assert_cmpuint (peer->public_key.bytes[31], ==, 0x33);
  g_assert_false (peer->has_preshared_key);
  endpoint = lr_addr_to_string (&peer->endpoint);
  g_assert_cmpstr (endpoint, ==, "198.18.0.2:51820");
  g_assert_cmpint (peer->last_handshake_sec, ==, 1763782153);
  g_assert_cmpint (peer->last_handshake_nsec, ==, 420123456);
  g_assert_cmpuint (peer->tx_bytes, ==, 2220);
  g_assert_cmpuint (peer->rx_bytes, ==, 1852);
  g_assert_cmpuint (peer->persistent_keepalive, ==, 25);
  g_assert_cmpuint (peer->allowed_ips->len, ==, 2);
  g_assert_cmpstr (peer->allowed_ips->pdata[0], ==, "10.66.0.2/32");
  g_assert_cmpstr (peer->allowed_ips->pdata[1], ==, "fd66::/64");

  peer = &g_array_index (device->peers, LrWgUapiPeer, 1);
  g_assert_true (peer->has_preshared_key);
  g_clear_pointer (&endpoint, g_free);
  endpoint = lr_addr_to_string (&peer->endpoint);
  g_assert_cmpstr (endpoint, ==, "[2001:db8::1]:4500");
  g_assert_cmpint (peer->last_handshake_sec, ==, 0);
  g_assert_cmpuint (peer->allowed_ips->len, ==, 0);
}

static void
test_get_fresh_device (void)
{
  /* A wireguard-go that was just started: no key, a random port, no peers. */
  g_autoptr(GError) error = NULL;
  g_autoptr(LrWgUapiDevice) device = parse ("listen_port=50742\nerrno=0\n\n", &error);

  g_assert_no_error (error);
  g_assert_false (device->has_private_key);
  g_assert_cmpuint (device->listen_port, ==, 50742);
  g_assert_cmpuint (device->peers->len, ==, 0);
}

static void
test_get_unknown_key_ignored (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrWgUapiDevice) device = parse ("listen_port=1\npublic_key=" KEY_B "\n"
                                            "some_future_key=whatever\nerrno=0\n\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (device->peers->len, ==, 1);
}

static void
test_get_errno (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrWgUapiDevice) device = parse ("errno=-22\n\n", &error);

  g_assert_null (device);
  g_assert_error (error, LR_ERROR, LR_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "-22"));
}

static void
test_get_bad (void)
{
  static const char *const cases[] = {
    "",
    "\n",
    "errno=0\n",                                   /* no empty line */
    "errno=0\n\nlisten_port=1\n",                  /* bytes after the end */
    "errno=0\n\n\n",
    "listen_port=1\n\n",                           /* no errno */
    "errno=0\nlisten_port=1\n\n",                  /* errno not last */
    "errno=0\nerrno=0\n\n",
    "errno=\n\n",
    "errno=-\n\n",
    "errno=x\n\n",
    "errno=99999999999\n\n",
    "listen_port\nerrno=0\n\n",                    /* not key=value */
    "=1\nerrno=0\n\n",
    "Listen_port=1\nerrno=0\n\n",
    "listen_port=1 \nerrno=0\n\n",
    "listen_port= 1\nerrno=0\n\n",
    "listen_port=+1\nerrno=0\n\n",
    "listen_port=-1\nerrno=0\n\n",
    "listen_port=65536\nerrno=0\n\n",
    "listen_port=\nerrno=0\n\n",
    "listen_port=1\r\nerrno=0\n\n",
    "fwmark=4294967296\nerrno=0\n\n",
    "private_key=" KEY_A "0\nerrno=0\n\n",
    "private_key=e84b\nerrno=0\n\n",
    "private_key=g84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\nerrno=0\n\n",
    "endpoint=1.2.3.4:5\nerrno=0\n\n",            /* peer key before any peer */
    "public_key=" KEY_B "\nlisten_port=1\nerrno=0\n\n",
    "public_key=" KEY_B "\npublic_key=" KEY_B "\nerrno=0\n\n",
    "public_key=" KEY_B "\nendpoint=1.2.3.4\nerrno=0\n\n",
    "public_key=" KEY_B "\nendpoint=1.2.3.4:0\nerrno=0\n\n",
    "public_key=" KEY_B "\nendpoint=1.2.3.4:65536\nerrno=0\n\n",
    "public_key=" KEY_B "\nendpoint=example.com:51820\nerrno=0\n\n",
    "public_key=" KEY_B "\nendpoint=2001:db8::1:51820\nerrno=0\n\n",
    "public_key=" KEY_B "\nendpoint=[2001:db8::1:51820\nerrno=0\n\n",
    "public_key=" KEY_B "\nendpoint=1.2.3.999:1\nerrno=0\n\n",
    "public_key=" KEY_B "\nallowed_ip=10.66.0.2\nerrno=0\n\n",
    "public_key=" KEY_B "\nallowed_ip=10.66.0.2/33\nerrno=0\n\n",
    "public_key=" KEY_B "\nallowed_ip=10.66.0.2/16\nerrno=0\n\n",
    "public_key=" KEY_B "\nprotocol_version=2\nerrno=0\n\n",
    "public_key=" KEY_B "\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n",
    "public_key=" KEY_B "\nlast_handshake_time_sec=9223372036854775808\nerrno=0\n\n",
    "public_key=" KEY_B "\ntx_bytes=18446744073709551616\nerrno=0\n\n",
    "public_key=" KEY_B "\npersistent_keepalive_interval=65536\nerrno=0\n\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LrWgUapiDevice) device = parse (cases[i], &error);

      if (device != NULL)
        g_error ("case %u was accepted: %s", i, cases[i]);
      g_assert_nonnull (error);
      g_assert_true (error->domain == LR_ERROR);
    }
}

static void
test_get_embedded_nul (void)
{
  static const char text[] = "listen_port=1\0\nerrno=0\n\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(LrWgUapiDevice) device = lr_wg_uapi_parse_get (text, sizeof text - 1, &error);

  g_assert_null (device);
  g_assert_error (error, LR_ERROR, LR_ERROR_MALFORMED);
}

static void
test_get_long_line (void)
{
  g_autoptr(GString) text = g_string_new ("listen_port=");
  g_autoptr(GError) error = NULL;
  g_autoptr(LrWgUapiDevice) device = NULL;

  for (guint i = 0; i < 2000; i++)
    g_string_append_c (text, '1');
  g_string_append (text, "\nerrno=0\n\n");
  device = lr_wg_uapi_parse_get (text->str, text->len, &error);
  g_assert_null (device);
  g_assert_error (error, LR_ERROR, LR_ERROR_TOO_LARGE);
}

static void
test_set_answers (void)
{
  int answer_errno = 1;
  g_autoptr(GError) error = NULL;

  g_assert_true (lr_wg_uapi_parse_set ("errno=0\n\n", strlen ("errno=0\n\n"), &answer_errno, &error));
  g_assert_no_error (error);
  g_assert_cmpint (answer_errno, ==, 0);

  g_assert_true (lr_wg_uapi_parse_set ("errno=-22\n\n", strlen ("errno=-22\n\n"), &answer_errno, &error));
  g_assert_no_error (error);
  g_assert_cmpint (answer_errno, ==, -22);

  g_assert_false (lr_wg_uapi_parse_set ("listen_port=1\nerrno=0\n\n", strlen ("listen_port=1\nerrno=0\n\n"), &answer_errno, &error));
  g_assert_error (error, LR_ERROR, LR_ERROR_MALFORMED);
  g_clear_error (&error);

  g_assert_false (lr_wg_uapi_parse_set ("garbage\n\n", strlen ("garbage\n\n"), &answer_errno, &error));
  g_assert_error (error, LR_ERROR, LR_ERROR_MALFORMED);
}

static void
test_answer_length (void)
{
  g_assert_cmpint (lr_wg_uapi_answer_length ("", 0), ==, -1);
  g_assert_cmpint (lr_wg_uapi_answer_length ("errno=0\n", 8), ==, -1);
  g_assert_cmpint (lr_wg_uapi_answer_length ("errno=0\n\n", 9), ==, 9);
  g_assert_cmpint (lr_wg_uapi_answer_length ("errno=0\n\nxx", 11), ==, 9);
  g_assert_cmpint (lr_wg_uapi_answer_length ("\n", 1), ==, 1);
}

static void
test_format (void)
{
  LrKey key;
  g_autoptr(GString) request = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < sizeof key.bytes; i++)
    key.bytes[i] = (guint8) (i * 17);
  lr_wg_uapi_append_key (request, "public_key", &key);
  g_assert_cmpstr (request->str, ==,
                   "public_key=00112233445566778899aabbccddeeff"
                   "102132435465768798a9bacbdcedfe0f\n");

  /* Endpoints are LrAddr's text form: test-addr.c. */
  g_assert_true (lr_wg_uapi_check_cidr ("10.66.0.7/32", &error));
  g_assert_true (lr_wg_uapi_check_cidr ("fd66::/64", &error));
  g_assert_no_error (error);
  g_assert_false (lr_wg_uapi_check_cidr ("10.66.0.7", &error));
  g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (lr_wg_uapi_check_cidr ("10.66.0.7/32\nremove=true", &error));
  g_clear_error (&error);
  g_assert_false (lr_wg_uapi_check_cidr (NULL, &error));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

  g_test_add_func ("/lr/wg-uapi/get/good", test_get_good);
  g_test_add_func ("/lr/wg-uapi/get/fresh-device", test_get_fresh_device);
  g_test_add_func ("/lr/wg-uapi/get/unknown-key-ignored", test_get_unknown_key_ignored);
  g_test_add_func ("/lr/wg-uapi/get/errno", test_get_errno);
  g_test_add_func ("/lr/wg-uapi/get/bad", test_get_bad);
  g_test_add_func ("/lr/wg-uapi/get/embedded-nul", test_get_embedded_nul);
  g_test_add_func ("/lr/wg-uapi/get/long-line", test_get_long_line);
  g_test_add_func ("/lr/wg-uapi/set/answers", test_set_answers);
  g_test_add_func ("/lr/wg-uapi/answer-length", test_answer_length);
  g_test_add_func ("/lr/wg-uapi/format", test_format);

  return g_test_run ();
}
