/* test-addr.c: the one address type and its text form
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-addr.h"

#include <arpa/inet.h>

static void
test_round_trip (void)
{
  const char *texts[] = {
    "198.18.0.2:51820",
    "127.0.0.1:1",
    "[2001:db8::1]:4500",
    "[fd00::1]:65535",
    "[::ffff:198.18.0.1]:3478",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      LrAddr addr;
      g_autofree char *again = NULL;
      g_autoptr(GInetSocketAddress) gaddress = NULL;
      LrAddr from_gio;

      g_assert_true (lr_addr_parse (texts[i], &addr));
      again = lr_addr_to_string (&addr);
      g_assert_cmpstr (again, ==, texts[i]);
      g_assert_true (lr_addr_is_set (&addr));

      /* GIO turns an IPv4-mapped IPv6 address into IPv4: only the text form goes round. */
      if (g_str_has_prefix (texts[i], "[::ffff:"))
        continue;
      gaddress = lr_addr_to_gaddress (&addr);
      g_assert_true (lr_addr_from_gaddress (&from_gio, gaddress));
      g_assert_true (lr_addr_equal (&addr, &from_gio));
      g_assert_cmpuint (lr_addr_hash (&addr), ==, lr_addr_hash (&from_gio));
      g_assert_cmpuint (lr_addr_get_port (&addr), ==,
                        g_inet_socket_address_get_port (gaddress));
    }
}

/* What GIO gives, in WireGuard's form. */
static void
test_from_gio (void)
{
  g_autoptr(GSocketAddress) v4 = g_inet_socket_address_new_from_string ("127.0.0.1", 5000);
  g_autoptr(GSocketAddress) v6 = g_inet_socket_address_new_from_string ("fd00::1", 51820);
  g_autofree char *v4_text = NULL;
  g_autofree char *v6_text = NULL;
  LrAddr addr;

  g_assert_true (lr_addr_from_gaddress (&addr, G_INET_SOCKET_ADDRESS (v4)));
  v4_text = lr_addr_to_string (&addr);
  g_assert_true (lr_addr_from_gaddress (&addr, G_INET_SOCKET_ADDRESS (v6)));
  v6_text = lr_addr_to_string (&addr);
  g_assert_cmpstr (v4_text, ==, "127.0.0.1:5000");
  g_assert_cmpstr (v6_text, ==, "[fd00::1]:51820");
  g_assert_false (lr_addr_from_gaddress (&addr, NULL));
}

static void
test_refused (void)
{
  const char *bad[] = {
    "",
    ":51820",
    "198.18.0.2",
    "198.18.0.2:",
    "198.18.0.2:0",
    "198.18.0.2:65536",
    "198.18.0.2:-1",
    "198.18.0.2:+1",
    "198.18.0.2:51820 ",
    "198.18.0.999:1",
    "198.18.2:1",
    "example.com:51820",
    "localhost:51820",
    "2001:db8::1:51820",
    "[2001:db8::1:51820",
    "[198.18.0.2]:1",
    "[]:1",
  };
  LrAddr addr;

  lr_addr_set_ipv4 (&addr, 0x7f000001, 9);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("case %zu: %s", i, bad[i]);
      g_assert_false (lr_addr_parse (bad[i], &addr));
    }
  g_assert_false (lr_addr_parse (NULL, &addr));
  /* A failed parse leaves the output alone. */
  g_assert_cmpuint (lr_addr_get_port (&addr), ==, 9);
}

static void
test_compare (void)
{
  LrAddr a, b, c, none = { 0 };
  struct sockaddr_in sin = { 0 };
  g_autofree char *text = NULL;

  g_assert_true (lr_addr_parse ("198.18.0.2:51820", &a));
  lr_addr_set_ipv4 (&b, 0xc6120002, 51820);
  g_assert_true (lr_addr_equal (&a, &b));
  g_assert_cmpuint (lr_addr_hash (&a), ==, lr_addr_hash (&b));
  lr_addr_set_ipv4 (&c, 0xc6120002, 51821);
  g_assert_false (lr_addr_equal (&a, &c));
  g_assert_true (lr_addr_parse ("[::ffff:198.18.0.2]:51820", &c));
  g_assert_false (lr_addr_equal (&a, &c));
  g_assert_false (lr_addr_equal (&a, &none));
  g_assert_true (lr_addr_equal (&none, &none));
  g_assert_false (lr_addr_is_set (&none));
  text = lr_addr_to_string (&none);
  g_assert_cmpstr (text, ==, "");
  g_assert_null (lr_addr_to_gaddress (&none));

  sin.sin_family = AF_INET;
  sin.sin_port = htons (3478);
  sin.sin_addr.s_addr = htonl (0xc6120001);
  g_assert_true (lr_addr_from_sockaddr (&c, &sin, sizeof sin));
  g_clear_pointer (&text, g_free);
  text = lr_addr_to_string (&c);
  g_assert_cmpstr (text, ==, "198.18.0.1:3478");
  /* Too short for its family, or another family: no address. */
  g_assert_false (lr_addr_from_sockaddr (&c, &sin, sizeof sin - 1));
  g_assert_false (lr_addr_is_set (&c));
  sin.sin_family = AF_UNIX;
  g_assert_false (lr_addr_from_sockaddr (&c, &sin, sizeof sin));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lr/addr/round-trip", test_round_trip);
  g_test_add_func ("/lr/addr/from-gio", test_from_gio);
  g_test_add_func ("/lr/addr/refused", test_refused);
  g_test_add_func ("/lr/addr/compare", test_compare);

  return g_test_run ();
}
