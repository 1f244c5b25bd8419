/* test-wg-backend.c: the pure helpers shared by the WireGuard backends
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-wg-backend-private.h"

#include <string.h>

static void
test_interface_address (void)
{
  static const struct { const char *in; const char *address; guint prefix; } good[] = {
    { "10.66.0.7/16", "10.66.0.7", 16 },
    { "10.66.255.254/32", "10.66.255.254", 32 },
    { "0.0.0.0/0", "0.0.0.0", 0 },
    { "fd66::7/64", "fd66::7", 64 },
  };
  static const char *const bad[] = {
    "", "10.66.0.7", "10.66.0.7/", "10.66.0.7/33", "10.66.0.7/-1", "10.66.0.7/+8",
    "10.66.0.7/ 8", "10.66.0.7/16/1", "host.example/16", "fd66::7/129", "/16",
    "10.66.0.7/16\n", NULL,
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GInetAddress) address = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      guint prefix = 99;

      g_assert_true (lrd_wg_parse_interface_address (good[i].in, &address, &prefix, &error));
      g_assert_no_error (error);
      text = g_inet_address_to_string (address);
      g_assert_cmpstr (text, ==, good[i].address);
      g_assert_cmpuint (prefix, ==, good[i].prefix);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GInetAddress) address = NULL;
      g_autoptr(GError) error = NULL;
      guint prefix = 0;

      if (lrd_wg_parse_interface_address (bad[i], &address, &prefix, &error))
        g_error ("accepted “%s”", bad[i]);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_ifname (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (lrd_wg_check_ifname ("lanrage0", &error));
  g_assert_true (lrd_wg_check_ifname ("abcdefghijklmno", &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 7; i++)
    {
      static const char *const bad[] = {
        "", "abcdefghijklmnop", "..", ".", "a/b", "a b", "a:b",
      };

      g_assert_false (lrd_wg_check_ifname (bad[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_false (lrd_wg_check_ifname (NULL, &error));
}

static void
test_peer_clear (void)
{
  LrdWgPeerConfig config = { 0 };
  LrdWgPeerStats stats = { 0 };

  g_assert_true (lr_addr_parse ("1.2.3.4:5", &config.endpoint));
  config.allowed_ips = g_strsplit ("10.66.0.2/32", ",", -1);
  stats.endpoint = config.endpoint;

  lrd_wg_peer_config_clear (&config);
  lrd_wg_peer_stats_clear (&stats);
  g_assert_false (lr_addr_is_set (&config.endpoint));
  g_assert_null (config.allowed_ips);
  g_assert_false (lr_addr_is_set (&stats.endpoint));

  /* Clearing twice is harmless. */
  lrd_wg_peer_config_clear (&config);
  lrd_wg_peer_stats_clear (&stats);
}

static LrdWgPeerStats
stats_entry (guint8      key_byte,
             guint64     rx_bytes,
             const char *endpoint)
{
  LrdWgPeerStats entry = { 0 };

  memset (entry.public_key.bytes, key_byte, LR_KEY_LENGTH);
  entry.rx_bytes = rx_bytes;
  entry.tx_bytes = rx_bytes * 2;
  entry.last_handshake_unix = rx_bytes != 0 ? 1764760000 : 0;
  if (endpoint != NULL)
    g_assert_true (lr_addr_parse (endpoint, &entry.endpoint));
  return entry;
}

/* What the NetworkManager backend does with the kernel's dump: the configured peers get
 * the kernel's counters and endpoint by key; nothing else changes. */
static void
test_stats_fill (void)
{
  g_autoptr(GArray) configured = NULL;
  g_autoptr(GArray) kernel = NULL;
  LrdWgPeerStats entries[] = {
    stats_entry (1, 0, "198.51.100.1:51820"),
    stats_entry (2, 0, "127.0.0.1:40000"),
    stats_entry (3, 0, NULL),
  };
  LrdWgPeerStats measured[] = {
    stats_entry (9, 99, "198.51.100.9:1"),        /* not configured: not added */
    stats_entry (2, 500, "203.0.113.2:51820"),    /* roamed: the kernel's endpoint wins */
    stats_entry (1, 700, NULL),                   /* no endpoint yet: the configured stays */
  };
  g_autofree char *endpoint1 = NULL;
  g_autofree char *endpoint2 = NULL;

  lrd_wg_peer_stats_array_init (&configured);
  lrd_wg_peer_stats_array_init (&kernel);
  g_array_append_vals (configured, entries, G_N_ELEMENTS (entries));
  g_array_append_vals (kernel, measured, G_N_ELEMENTS (measured));

  lrd_wg_peer_stats_fill (configured, kernel);

  g_assert_cmpuint (configured->len, ==, 3);
  g_assert_cmpuint (g_array_index (configured, LrdWgPeerStats, 0).rx_bytes, ==, 700);
  g_assert_cmpuint (g_array_index (configured, LrdWgPeerStats, 0).tx_bytes, ==, 1400);
  g_assert_cmpint (g_array_index (configured, LrdWgPeerStats, 0).last_handshake_unix, ==,
                   1764760000);
  endpoint1 = lr_addr_to_string (&g_array_index (configured, LrdWgPeerStats, 0).endpoint);
  g_assert_cmpstr (endpoint1, ==, "198.51.100.1:51820");
  g_assert_cmpuint (g_array_index (configured, LrdWgPeerStats, 1).rx_bytes, ==, 500);
  endpoint2 = lr_addr_to_string (&g_array_index (configured, LrdWgPeerStats, 1).endpoint);
  g_assert_cmpstr (endpoint2, ==, "203.0.113.2:51820");
  g_assert_cmpuint (g_array_index (configured, LrdWgPeerStats, 2).rx_bytes, ==, 0);
  g_assert_cmpint (g_array_index (configured, LrdWgPeerStats, 2).last_handshake_unix, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lrd/wg-backend/interface-address", test_interface_address);
  g_test_add_func ("/lrd/wg-backend/ifname", test_ifname);
  g_test_add_func ("/lrd/wg-backend/peer-clear", test_peer_clear);
  g_test_add_func ("/lrd/wg-backend/stats-fill", test_stats_fill);

  return g_test_run ();
}
