/* test-ipam.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"
#include "lr-ipam.h"

static guint32
ip (const char *text)
{
  guint32 address = 0;

  g_assert_true (lr_ipv4_parse (text, &address));
  return address;
}

static void
test_sequential (void)
{
  g_autoptr(LrIpam) ipam = lr_ipam_new (LR_VIRTUAL_NETWORK, LR_VIRTUAL_PREFIX_LENGTH);
  g_autofree char *first = NULL;
  guint32 address = 0;

  first = lr_ipv4_to_string (lr_ipam_allocate (ipam, 0, NULL));
  g_assert_cmpstr (first, ==, "10.66.0.1");

  /* .254 is followed by .1 of the next block: never .255, never .0. */
  for (guint i = 2; i <= 254; i++)
    address = lr_ipam_allocate (ipam, 0, NULL);
  g_assert_cmpuint (address, ==, ip ("10.66.0.254"));
  g_assert_cmpuint (lr_ipam_allocate (ipam, 0, NULL), ==, ip ("10.66.1.1"));
  g_assert_cmpuint (lr_ipam_get_n_used (ipam), ==, 255);
}

static void
test_no_reuse_until_wrap (void)
{
  g_autoptr(LrIpam) ipam = lr_ipam_new (LR_VIRTUAL_NETWORK, LR_VIRTUAL_PREFIX_LENGTH);
  guint32 a = lr_ipam_allocate (ipam, 0, NULL);
  guint32 b = lr_ipam_allocate (ipam, 0, NULL);

  lr_ipam_release (ipam, a);
  /* A departed peer's address is not handed to the next newcomer. */
  g_assert_cmpuint (lr_ipam_allocate (ipam, 0, NULL), ==, b + 1);
  /* But a peer asking for it back gets it while it is free. */
  g_assert_cmpuint (lr_ipam_allocate (ipam, a, NULL), ==, a);
  /* And a taken preferred address is not handed out twice. */
  g_assert_cmpuint (lr_ipam_allocate (ipam, a, NULL), ==, b + 2);
}

static void
test_exhaustion (void)
{
  /* A /24 has 254 usable hosts (.1 to .254). */
  g_autoptr(LrIpam) ipam = lr_ipam_new (ip ("10.66.7.0"), 24);
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 254; i++)
    {
      guint32 address = lr_ipam_allocate (ipam, 0, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (address & 0xff, !=, 0);
      g_assert_cmpuint (address & 0xff, !=, 255);
      g_assert_cmpuint (address & 0xffffff00, ==, ip ("10.66.7.0"));
      g_assert_true (g_hash_table_add (seen, GUINT_TO_POINTER (address)));
    }

  g_assert_cmpuint (lr_ipam_allocate (ipam, 0, &error), ==, 0);
  g_assert_error (error, LR_ERROR, LR_ERROR_EXHAUSTED);
  g_clear_error (&error);

  lr_ipam_release (ipam, ip ("10.66.7.77"));
  g_assert_cmpuint (lr_ipam_allocate (ipam, 0, &error), ==, ip ("10.66.7.77"));
}

static void
test_reserve (void)
{
  g_autoptr(LrIpam) ipam = lr_ipam_new (LR_VIRTUAL_NETWORK, LR_VIRTUAL_PREFIX_LENGTH);
  g_autoptr(GError) error = NULL;

  g_assert_true (lr_ipam_reserve (ipam, ip ("10.66.0.1"), &error));
  g_assert_false (lr_ipam_reserve (ipam, ip ("10.66.0.1"), &error));
  g_clear_error (&error);
  g_assert_false (lr_ipam_reserve (ipam, ip ("10.66.3.0"), &error));
  g_clear_error (&error);
  g_assert_false (lr_ipam_reserve (ipam, ip ("10.66.3.255"), &error));
  g_clear_error (&error);
  g_assert_false (lr_ipam_reserve (ipam, ip ("10.67.0.1"), &error));
  g_clear_error (&error);
  g_assert_false (lr_ipam_is_usable (ipam, ip ("192.168.1.1")));

  /* After a reload, allocation resumes past the cursor and skips what is taken. */
  lr_ipam_set_cursor (ipam, ip ("10.66.0.1"));
  g_assert_true (lr_ipam_reserve (ipam, ip ("10.66.0.2"), &error));
  g_assert_cmpuint (lr_ipam_allocate (ipam, 0, NULL), ==, ip ("10.66.0.3"));
}

static void
test_ipv4_text (void)
{
  g_autofree char *text = lr_ipv4_to_string (ip ("10.66.12.34"));
  guint32 out;

  g_assert_cmpstr (text, ==, "10.66.12.34");
  g_assert_false (lr_ipv4_parse ("10.66.12", &out));
  g_assert_false (lr_ipv4_parse ("10.66.12.256", &out));
  g_assert_false (lr_ipv4_parse ("::1", &out));
  g_assert_false (lr_ipv4_parse (NULL, &out));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lr/ipam/sequential", test_sequential);
  g_test_add_func ("/lr/ipam/no-reuse-until-wrap", test_no_reuse_until_wrap);
  g_test_add_func ("/lr/ipam/exhaustion", test_exhaustion);
  g_test_add_func ("/lr/ipam/reserve", test_reserve);
  g_test_add_func ("/lr/ipam/ipv4-text", test_ipv4_text);

  return g_test_run ();
}
