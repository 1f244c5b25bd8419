/* test-control-names.c: lanrage-control refuses strings that would not read back as sent
 * (an escaped NUL) and names that could pass for another member's (invisible characters,
 * bidirectional overrides, zero-width characters), and keeps ordinary names intact
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-test-control.h"

#include <string.h>

typedef struct
{
  const char *what;
  const char *method;
  const char *path;       /* {party}, {peer} are the host's */
  gboolean    relay;      /* authenticate with the relay secret instead of the host's token */
  const char *body;       /* {wg}, {disco}, {invite} are filled in */
  const char *mentions;   /* the error message names this field */
} Refused;

#define PEER_NAMED(name) \
  "{\"name\": \"" name "\", \"wg_public_key\": \"{wg}\", \"disco_public_key\": \"{disco}\"}"
#define CREATE_NAMED(party, peer) "{\"name\": \"" party "\", \"peer\": " PEER_NAMED (peer) "}"

static const Refused refused[] = {
  /* An escaped NUL, in every kind of string field that goes through json-glib. */
  { "NUL in a party name", "POST", "/v1/parties", FALSE, CREATE_NAMED ("ab\\u0000cd", "p"),
    "name" },
  { "NUL in a peer name", "POST", "/v1/parties", FALSE, CREATE_NAMED ("x", "ab\\u0000cd"),
    "peer.name" },
  { "NUL at the start of a name", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("\\u0000", "p"), "name" },
  { "NUL in a key", "POST", "/v1/parties", FALSE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"p\", \"wg_public_key\": \"{wg}\\u0000\", "
    "\"disco_public_key\": \"{disco}\"}}", "peer.wg_public_key" },
  { "NUL in an endpoint", "POST", "/v1/parties", FALSE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"p\", \"wg_public_key\": \"{wg}\", "
    "\"disco_public_key\": \"{disco}\", \"endpoints\": [\"192.0.2.1:5\\u0000junk\"]}}",
    "peer.endpoints[0]" },
  { "NUL in a NAT value", "POST", "/v1/parties", FALSE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"p\", \"wg_public_key\": \"{wg}\", "
    "\"disco_public_key\": \"{disco}\", \"nat\": {\"mapping\": \"unknown\\u0000x\", "
    "\"filtering\": \"unknown\"}}}", "peer.nat.mapping" },
  { "NUL in a member name", "POST", "/v1/parties", FALSE,
    "{\"name\": \"x\", \"na\\u0000me\": 1, \"peer\": " PEER_NAMED ("p") "}", "member name" },
  { "NUL in an invite code", "POST", "/v1/join", FALSE,
    "{\"invite_code\": \"{invite}\\u0000\", \"peer\": " PEER_NAMED ("p") "}", "invite_code" },
  { "NUL in a renamed peer", "PATCH", "/v1/parties/{party}/peers/{peer}", FALSE,
    "{\"name\": \"ab\\u0000cd\"}", "name" },
  { "NUL in a relay id", "POST", "/v1/relays", TRUE,
    "{\"id\": \"r1\\u0000x\", \"region\": \"eu\", \"endpoint\": \"203.0.113.1:7000\"}", "id" },
  { "NUL in a relay region", "POST", "/v1/relays", TRUE,
    "{\"id\": \"r1\", \"region\": \"eu\\u0000x\", \"endpoint\": \"203.0.113.1:7000\"}",
    "region" },

  /* Names that show nothing, or show something else than their text. */
  { "only a zero-width space", "POST", "/v1/parties", FALSE, CREATE_NAMED ("x", "\\u200b"),
    "peer.name" },
  { "only ideographic spaces", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("x", "\\u3000\\u3000"), "peer.name" },
  { "only combining accents", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("x", "\\u0301\\u0301"), "peer.name" },
  { "only a soft hyphen", "POST", "/v1/parties", FALSE, CREATE_NAMED ("\\u00ad", "p"), "name" },
  { "a right-to-left override", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("x", "bob\\u202egnp.exe"), "peer.name" },
  { "a left-to-right isolate", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("x", "\\u2066bob\\u2069"), "peer.name" },
  { "a right-to-left mark", "POST", "/v1/parties", FALSE, CREATE_NAMED ("x", "bob\\u200f"),
    "peer.name" },
  { "a zero-width space inside", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("x", "bo\\u200bb"), "peer.name" },
  { "a zero-width joiner inside", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("x", "bo\\u200db"), "peer.name" },
  { "a byte order mark", "POST", "/v1/parties", FALSE, CREATE_NAMED ("\\ufeffLAN", "p"),
    "name" },
  { "a private-use character", "POST", "/v1/parties", FALSE, CREATE_NAMED ("x", "bob\\ue000"),
    "peer.name" },
  { "a line separator", "POST", "/v1/parties", FALSE, CREATE_NAMED ("x", "bo\\u2028b"),
    "peer.name" },
  { "only Hangul fillers", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("x", "\u3164\u3164"), "peer.name" },
  { "a Hangul filler after a name", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("x", "bob\uffa0"), "peer.name" },
  { "a Hangul choseong filler inside", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("x", "bo\u115fb"), "peer.name" },
  { "only blank braille patterns", "POST", "/v1/parties", FALSE,
    CREATE_NAMED ("\u2800\u2800", "p"), "name" },
  { "an override in a renamed peer", "PATCH", "/v1/parties/{party}/peers/{peer}", FALSE,
    "{\"name\": \"\\u202eevil\"}", "name" },
  { "an invisible relay region", "POST", "/v1/relays", TRUE,
    "{\"id\": \"r1\", \"region\": \"\\u200b\", \"endpoint\": \"203.0.113.1:7000\"}",
    "region" },
};

static char *
fill (const char         *template,
      const LrTestMember *host)
{
  g_autoptr(GString) text = g_string_new (template);
  g_autofree char *wg = lr_test_random_key ();
  g_autofree char *disco = lr_test_random_key ();

  g_string_replace (text, "{party}", host->party_id, 0);
  g_string_replace (text, "{peer}", host->peer_id, 0);
  g_string_replace (text, "{wg}", wg, 0);
  g_string_replace (text, "{disco}", disco, 0);
  g_string_replace (text, "{invite}", host->invite_code, 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
test_refused (LrTestFixture *fixture,
              gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "target", "host");
  g_autofree char *secret = lr_test_server_read_relay_secret (fixture->server);
  g_autoptr(GPtrArray) failures = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      const Refused *row = &refused[i];
      g_autofree char *path = fill (row->path, host);
      g_autofree char *body = fill (row->body, host);
      g_autofree char *authorization = g_strconcat ("Bearer ", row->relay ? secret : host->token,
                                                    NULL);
      g_autoptr(LrTestResponse) response = NULL;
      const char *code = NULL, *message = NULL;

      response = lr_test_request_raw (fixture->server, row->method, path, authorization,
                                      "application/json", body, strlen (body));
      if (response->body != NULL && lr_test_json_find (response->body, "error.code") != NULL)
        {
          code = lr_test_json_string (response->body, "error.code");
          message = lr_test_json_string (response->body, "error.message");
        }

      /* Collect every mismatch, so one run shows the whole table. */
      if (response->status != 400 || g_strcmp0 (code, "invalid_field") != 0 ||
          message == NULL || strstr (message, row->mentions) == NULL)
        {
          gsize length = 0;
          const char *got = response->raw != NULL ? g_bytes_get_data (response->raw, &length)
                                                  : "";

          g_ptr_array_add (failures,
                           g_strdup_printf ("%s: expected 400 invalid_field naming %s, got %u "
                                            "%.*s", row->what, row->mentions, response->status,
                                            (int) MIN (length, 300), got));
        }
    }

  for (guint i = 0; i < failures->len; i++)
    g_test_message ("%s", (char *) g_ptr_array_index (failures, i));
  if (failures->len > 0)
    g_error ("%u of %zu rows were not refused as expected (see above); first: %s",
             failures->len, G_N_ELEMENTS (refused), (char *) g_ptr_array_index (failures, 0));

  /* Nothing refused was stored: the party still has its host alone, under its own name. */
  {
    g_autofree char *path = lr_test_party_path (host, "");
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", path,
                                                          host->token, NULL);

    lr_test_assert_status (response, 200);
    g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "peers")), ==,
                      1);
    g_assert_cmpstr (lr_test_json_string (response->body, "peers.0.name"), ==, "host");
  }
}

/* Names in other scripts, with accents, emoji and inner spaces are kept exactly; white space
 * of any kind at the ends is trimmed. */
static void
test_ordinary_names (LrTestFixture *fixture,
                     gconstpointer  data)
{
  static const struct
  {
    const char *sent;       /* JSON text */
    const char *stored;     /* UTF-8 */
  } names[] = {
    { "Zo\\u00eb", "Zo\xc3\xab" },
    { "\\u6771\\u4eac", "\xe6\x9d\xb1\xe4\xba\xac" },
    { "\\ud83c\\udfae night", "\xf0\x9f\x8e\xae night" },
    { "e\\u0301t\\u00e9", "e\xcc\x81t\xc3\xa9" },
    { "\\u05e9\\u05dc\\u05d5\\u05dd", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" },
    { "\\u3000 padded\\u00a0 ", "padded" },
    { "two  spaces", "two  spaces" },
    { "\ud55c\uad6d", "\xed\x95\x9c\xea\xb5\xad" },
    { "\u2800\u2801\u2800\u2803\u2800", "\xe2\xa0\x81\xe2\xa0\x80\xe2\xa0\x83" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *wg = lr_test_random_key ();
      g_autofree char *disco = lr_test_random_key ();
      g_autofree char *body = g_strdup_printf ("{\"name\": \"party %u\", \"peer\": {\"name\": "
                                               "\"%s\", \"wg_public_key\": \"%s\", "
                                               "\"disco_public_key\": \"%s\"}}",
                                               i, names[i].sent, wg, disco);
      g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST",
                                                            "/v1/parties", NULL, body);

      g_test_message ("name %s", names[i].sent);
      lr_test_assert_status (response, 201);
      g_assert_cmpstr (lr_test_json_string (response->body, "peer.name"), ==, names[i].stored);
    }
}

/* A signal is JSON too: an escaped NUL anywhere in it is refused and nothing is delivered. */
static void
test_signal_with_nul (LrTestFixture *fixture,
                      gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "p", "host");
  g_autoptr(LrTestMember) guest = lr_test_join (fixture->server, host->invite_code, "guest");
  g_autoptr(LrTestSocket) sender = NULL;
  g_autoptr(LrTestSocket) receiver = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) message = NULL;

  sender = lr_test_socket_connect (fixture->server, host->party_id, host->token, NULL);
  receiver = lr_test_socket_connect (fixture->server, guest->party_id, guest->token, NULL);
  g_assert_nonnull (sender);
  g_assert_nonnull (receiver);
  json_node_unref (lr_test_socket_expect (sender, "snapshot", NULL));
  json_node_unref (lr_test_socket_expect (receiver, "snapshot", NULL));

  text = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                          "\"data\": {\"candidate\": \"a\\u0000b\"}}", guest->peer_id);
  lr_test_socket_send (sender, text);
  message = lr_test_socket_expect (sender, "error", NULL);
  g_assert_cmpstr (lr_test_json_string (message, "error.code"), ==, "invalid_message");
  g_assert_nonnull (strstr (lr_test_json_string (message, "error.message"), "data.candidate"));
  lr_test_socket_expect_nothing (receiver, 300);
}

int
main (int   argc,
      char *argv[])
{
  lr_test_control_init (&argc, &argv);

  LR_TEST_ADD ("/control/names/refused", test_refused, NULL);
  LR_TEST_ADD ("/control/names/ordinary", test_ordinary_names, NULL);
  LR_TEST_ADD ("/control/names/signal-with-nul", test_signal_with_nul, NULL);

  return g_test_run ();
}
