/* test-relay-removals.c: lanrage-control's answer to a relay's registration
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"
#include "lr-relay-removals.h"

#include <string.h>

static LrRelayRemovals *
parse (const char  *text,
       GError     **error)
{
  return lr_relay_removals_parse (text, strlen (text), error);
}

static void
test_good (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrRelayRemovals) removals = NULL;
  LrRelayRemoval *removal;

  removals = parse ("{\"removed\": [{\"party_id\": \"0102030405060708\", \"peer_id\": "
                    "\"a1a2a3a4a5a6a7a8\", \"until\": \"2033-05-18T03:33:20Z\"}], "
                    "\"cursor\": 17, \"more\": true, \"later\": \"ignored\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removals->removed->len, ==, 1);
  removal = &g_array_index (removals->removed, LrRelayRemoval, 0);
  g_assert_cmphex (removal->party, ==, G_GUINT64_CONSTANT (0x0102030405060708));
  g_assert_cmphex (removal->peer, ==, G_GUINT64_CONSTANT (0xa1a2a3a4a5a6a7a8));
  g_assert_cmpint (removal->until, ==, 2000000000);
  g_assert_cmpuint (removals->cursor, ==, 17);
  g_assert_true (removals->more);
  g_clear_pointer (&removals, lr_relay_removals_free);

  removals = parse ("{\"removed\": [], \"cursor\": 0}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removals->removed->len, ==, 0);
  g_assert_false (removals->more);
}

static void
test_refused (void)
{
  const char *cases[] = {
    "",
    "[]",
    "{\"removed\": []}",
    "{\"removed\": [], \"cursor\": -1}",
    "{\"removed\": [], \"cursor\": 1.5}",
    "{\"removed\": [], \"cursor\": \"1\"}",
    "{\"removed\": [], \"cursor\": 9007199254740993}",
    "{\"removed\": {}, \"cursor\": 1}",
    "{\"removed\": [], \"cursor\": 1, \"more\": 1}",
    "{\"removed\": [1], \"cursor\": 1}",
    "{\"removed\": [{\"party_id\": \"0102030405060708\", \"peer_id\": \"nope\", "
    "\"until\": \"2033-05-18T03:33:20Z\"}], \"cursor\": 1}",
    "{\"removed\": [{\"party_id\": \"0000000000000000\", \"peer_id\": \"a1a2a3a4a5a6a7a8\", "
    "\"until\": \"2033-05-18T03:33:20Z\"}], \"cursor\": 1}",
    "{\"removed\": [{\"party_id\": \"0102030405060708\", \"peer_id\": \"a1a2a3a4a5a6a7a8\", "
    "\"until\": \"tomorrow\"}], \"cursor\": 1}",
    "{\"removed\": [{\"party_id\": \"0102030405060708\", \"peer_id\": \"a1a2a3a4a5a6a7a8\"}], "
    "\"cursor\": 1}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LrRelayRemovals) removals = parse (cases[i], &error);

      g_test_message ("%s", cases[i]);
      g_assert_null (removals);
      g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
    }
}

/* More than a page is not an answer lanrage-control gives. */
static void
test_too_many (void)
{
  g_autoptr(GString) text = g_string_new ("{\"cursor\": 1, \"removed\": [");
  g_autoptr(GError) error = NULL;
  g_autoptr(LrRelayRemovals) removals = NULL;

  for (guint i = 0; i <= LR_RELAY_REMOVALS_PAGE; i++)
    g_string_append_printf (text, "%s{\"party_id\": \"0102030405060708\", \"peer_id\": "
                            "\"%016x\", \"until\": \"2033-05-18T03:33:20Z\"}",
                            i == 0 ? "" : ", ", i + 1);
  g_string_append (text, "]}");
  removals = lr_relay_removals_parse (text->str, text->len, &error);
  g_assert_null (removals);
  g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lr/relay-removals/good", test_good);
  g_test_add_func ("/lr/relay-removals/refused", test_refused);
  g_test_add_func ("/lr/relay-removals/too-many", test_too_many);

  return g_test_run ();
}
