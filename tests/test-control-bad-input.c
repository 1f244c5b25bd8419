/* test-control-bad-input.c: lanrage-control refuses bad input with the right error, keeps
 * serving afterwards, stores odd text verbatim and keeps secrets out of its log
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-test-control.h"

#include <string.h>

typedef struct
{
  LrTestServer *server;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture->server = lr_test_server_new (NULL, GPOINTER_TO_UINT (data));
  lr_test_server_start (fixture->server);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_pointer (&fixture->server, lr_test_server_free);
}

static void
assert_healthy (LrTestServer *server,
                const char   *after)
{
  g_autoptr(LrTestResponse) response = lr_test_request (server, "GET", "/healthz", NULL, NULL);

  if (response->status != 200)
    g_error ("/healthz answered %u after: %s", response->status, after);
}

typedef enum
{
  AUTH_NONE,
  AUTH_HOST,
  AUTH_OTHER_PARTY,
  AUTH_UNKNOWN,
  AUTH_MALFORMED,
  AUTH_BASIC,
  AUTH_EMPTY,
  AUTH_HOST_PLUS,
  AUTH_LOWERCASE_SCHEME,
  AUTH_RELAY_SECRET,
} Auth;

typedef struct
{
  const char *what;
  const char *method;
  const char *path;      /* {party} and {peer} are the host's */
  Auth        auth;
  const char *body;      /* {wg}, {disco}, {invite}, {forged}, {deep}, {n33}, {n32}, {n65} */
  guint       status;
  const char *code;      /* NULL for a success */
  const char *mentions;  /* the message names this field */
} BadInput;

#define PEER(extra) \
  "{\"name\": \"p\", \"wg_public_key\": \"{wg}\", \"disco_public_key\": \"{disco}\"" extra "}"
#define CREATE(peer) "{\"name\": \"party\", \"peer\": " peer "}"
#define JOIN(peer) "{\"invite_code\": \"{invite}\", \"peer\": " peer "}"

static const BadInput bad_inputs[] = {
  /* Unreadable documents. */
  { "truncated JSON", "POST", "/v1/parties", AUTH_NONE, "{\"name\": \"x\", \"peer\": ",
    400, "invalid_json" },
  { "an array", "POST", "/v1/parties", AUTH_NONE, "[1, 2, 3]", 400, "invalid_json" },
  { "a string", "POST", "/v1/parties", AUTH_NONE, "\"party\"", 400, "invalid_json" },
  { "null", "POST", "/v1/join", AUTH_NONE, "null", 400, "invalid_json" },
  { "empty body", "POST", "/v1/parties", AUTH_NONE, "", 400, "invalid_json" },
  { "not UTF-8", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"\xff\xfe\", \"peer\": " PEER ("") "}", 400, "invalid_json" },
  { "nested too deep", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": {deep}, \"peer\": " PEER ("") "}", 400, "invalid_json" },
  { "trailing garbage", "POST", "/v1/parties", AUTH_NONE, CREATE (PEER ("")) "}", 400,
    "invalid_json" },

  /* Wrong types. */
  { "name is a number", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": 5, \"peer\": " PEER ("") "}", 400, "wrong_type", "name" },
  { "peer is an array", "POST", "/v1/parties", AUTH_NONE, "{\"name\": \"x\", \"peer\": []}",
    400, "wrong_type", "peer" },
  { "endpoints is a string", "POST", "/v1/parties", AUTH_NONE,
    CREATE (PEER (", \"endpoints\": \"192.0.2.1:1\"")), 400, "wrong_type", "endpoints" },
  { "an endpoint is a number", "POST", "/v1/parties", AUTH_NONE,
    CREATE (PEER (", \"endpoints\": [5]")), 400, "wrong_type", "endpoints" },
  { "nat is a string", "POST", "/v1/parties", AUTH_NONE,
    CREATE (PEER (", \"nat\": \"cone\"")), 400, "wrong_type", "nat" },
  { "invite code is a number", "POST", "/v1/join", AUTH_NONE,
    "{\"invite_code\": 42, \"peer\": " PEER ("") "}", 400, "wrong_type", "invite_code" },
  { "name is null", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": null, \"peer\": " PEER ("") "}", 400, "wrong_type", "name" },

  /* Unknown and missing fields. */
  { "unknown field", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"x\", \"admin\": true, \"peer\": " PEER ("") "}", 400, "unknown_field",
    "admin" },
  { "unknown peer field", "POST", "/v1/join", AUTH_NONE,
    JOIN (PEER (", \"virtual_ip\": \"10.66.0.1\"")), 400, "unknown_field", "virtual_ip" },
  { "no peer", "POST", "/v1/parties", AUTH_NONE, "{\"name\": \"x\"}", 400, "missing_field",
    "peer" },
  { "no key", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"p\", \"disco_public_key\": \"{disco}\"}}", 400,
    "missing_field", "wg_public_key" },
  { "no invite code", "POST", "/v1/join", AUTH_NONE, "{\"peer\": " PEER ("") "}", 400,
    "missing_field", "invite_code" },

  /* Values out of bounds. */
  { "a 33-character name", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"{n33}\", \"wg_public_key\": \"{wg}\", "
    "\"disco_public_key\": \"{disco}\"}}", 400, "field_too_large", "name" },
  { "a 32-character name is fine", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"{n32}\", \"wg_public_key\": \"{wg}\", "
    "\"disco_public_key\": \"{disco}\"}}", 201 },
  { "a 65-character party name", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"{n65}\", \"peer\": " PEER ("") "}", 400, "field_too_large", "name" },
  { "an empty name", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"   \", \"wg_public_key\": \"{wg}\", "
    "\"disco_public_key\": \"{disco}\"}}", 400, "invalid_field", "name" },
  { "a control character", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"be\\u0007ll\", \"wg_public_key\": \"{wg}\", "
    "\"disco_public_key\": \"{disco}\"}}", 400, "invalid_field", "name" },
  { "9 endpoints", "POST", "/v1/parties", AUTH_NONE,
    CREATE (PEER (", \"endpoints\": [\"192.0.2.1:1\", \"192.0.2.1:2\", \"192.0.2.1:3\", "
                  "\"192.0.2.1:4\", \"192.0.2.1:5\", \"192.0.2.1:6\", \"192.0.2.1:7\", "
                  "\"192.0.2.1:8\", \"192.0.2.1:9\"]")), 400, "field_too_large", "endpoints" },
  { "8 endpoints are fine", "POST", "/v1/parties", AUTH_NONE,
    CREATE (PEER (", \"endpoints\": [\"192.0.2.1:1\", \"192.0.2.1:2\", \"192.0.2.1:3\", "
                  "\"192.0.2.1:4\", \"192.0.2.1:5\", \"192.0.2.1:6\", \"192.0.2.1:7\", "
                  "\"[2001:db8::1]:8\"]")), 201 },
  { "an endpoint without a port", "POST", "/v1/parties", AUTH_NONE,
    CREATE (PEER (", \"endpoints\": [\"192.0.2.1\"]")), 400, "invalid_field", "endpoints" },
  { "an endpoint with port 0", "POST", "/v1/parties", AUTH_NONE,
    CREATE (PEER (", \"endpoints\": [\"192.0.2.1:0\"]")), 400, "invalid_field", "endpoints" },
  { "a host name endpoint", "POST", "/v1/parties", AUTH_NONE,
    CREATE (PEER (", \"endpoints\": [\"example.com:80\"]")), 400, "invalid_field",
    "endpoints" },
  { "a bad key", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"p\", \"wg_public_key\": \"not a key\", "
    "\"disco_public_key\": \"{disco}\"}}", 400, "invalid_field", "wg_public_key" },
  { "a 31-byte key", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"p\", "
    "\"wg_public_key\": \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==\", "
    "\"disco_public_key\": \"{disco}\"}}", 400, "invalid_field", "wg_public_key" },
  { "a base64url key", "POST", "/v1/parties", AUTH_NONE,
    "{\"name\": \"x\", \"peer\": {\"name\": \"p\", \"wg_public_key\": \"{wg}\", "
    "\"disco_public_key\": \"-_-_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}", 400,
    "invalid_field", "disco_public_key" },
  { "an unknown NAT", "POST", "/v1/parties", AUTH_NONE,
    CREATE (PEER (", \"nat\": {\"mapping\": \"cone\", \"filtering\": \"unknown\"}")), 400,
    "invalid_field", "mapping" },

  /* Sizes. */
  { "a 1 MiB body", "POST", "/v1/parties", AUTH_NONE, "{1mib}", 413, "body_too_large" },
  { "a body just over 64 KiB", "POST", "/v1/join", AUTH_NONE, "{65k}", 413,
    "body_too_large" },

  /* Invite codes. */
  { "a bad invite code", "POST", "/v1/join", AUTH_NONE,
    "{\"invite_code\": \"hello\", \"peer\": " PEER ("") "}", 400, "invalid_invite_code" },
  { "a 13-symbol invite code", "POST", "/v1/join", AUTH_NONE,
    "{\"invite_code\": \"{invite}7\", \"peer\": " PEER ("") "}", 400, "invalid_invite_code" },
  { "an invite code with U", "POST", "/v1/join", AUTH_NONE,
    "{\"invite_code\": \"UUUU-UUUU-UUUU\", \"peer\": " PEER ("") "}", 400,
    "invalid_invite_code" },
  { "SQL in an invite code", "POST", "/v1/join", AUTH_NONE,
    "{\"invite_code\": \"' OR '1'='1\", \"peer\": " PEER ("") "}", 400,
    "invalid_invite_code" },
  { "a forged invite code", "POST", "/v1/join", AUTH_NONE,
    "{\"invite_code\": \"{forged}\", \"peer\": " PEER ("") "}", 404, "invite_not_found" },

  /* Tokens. */
  { "no token", "GET", "/v1/parties/{party}", AUTH_NONE, NULL, 401, "unauthorized" },
  { "a malformed token", "GET", "/v1/parties/{party}", AUTH_MALFORMED, NULL, 401,
    "unauthorized" },
  { "basic auth", "GET", "/v1/parties/{party}", AUTH_BASIC, NULL, 401, "unauthorized" },
  { "an empty bearer", "GET", "/v1/parties/{party}", AUTH_EMPTY, NULL, 401, "unauthorized" },
  { "an unknown token", "GET", "/v1/parties/{party}", AUTH_UNKNOWN, NULL, 401, "unauthorized" },
  { "a token with a tail", "GET", "/v1/parties/{party}", AUTH_HOST_PLUS, NULL, 401,
    "unauthorized" },
  { "another party's token", "GET", "/v1/parties/{party}", AUTH_OTHER_PARTY, NULL, 403,
    "forbidden" },
  { "another party's token, heartbeat", "POST", "/v1/parties/{party}/peers/{peer}/heartbeat",
    AUTH_OTHER_PARTY, NULL, 403, "forbidden" },
  { "another party's token, close", "DELETE", "/v1/parties/{party}", AUTH_OTHER_PARTY, NULL,
    403, "forbidden" },
  { "an unknown token, relay token", "POST", "/v1/parties/{party}/relay-token", AUTH_UNKNOWN,
    NULL, 401, "unauthorized" },
  { "the relay secret is no party token", "GET", "/v1/parties/{party}", AUTH_RELAY_SECRET,
    NULL, 401, "unauthorized" },

  /* Updates. */
  { "PATCH: a 33-character name", "PATCH", "/v1/parties/{party}/peers/{peer}", AUTH_HOST,
    "{\"name\": \"{n33}\"}", 400, "field_too_large", "name" },
  { "PATCH: 9 endpoints", "PATCH", "/v1/parties/{party}/peers/{peer}", AUTH_HOST,
    "{\"endpoints\": [\"192.0.2.1:1\", \"192.0.2.1:2\", \"192.0.2.1:3\", \"192.0.2.1:4\", "
    "\"192.0.2.1:5\", \"192.0.2.1:6\", \"192.0.2.1:7\", \"192.0.2.1:8\", \"192.0.2.1:9\"]}",
    400, "field_too_large", "endpoints" },
  { "PATCH: a key", "PATCH", "/v1/parties/{party}/peers/{peer}", AUTH_HOST,
    "{\"wg_public_key\": \"{wg}\"}", 400, "unknown_field", "wg_public_key" },
  { "PATCH: an array", "PATCH", "/v1/parties/{party}/peers/{peer}", AUTH_HOST, "[]", 400,
    "invalid_json" },
  { "PATCH: a bad NAT", "PATCH", "/v1/parties/{party}/peers/{peer}", AUTH_HOST,
    "{\"nat\": {\"mapping\": \"unknown\", \"filtering\": 3}}", 400, "wrong_type", "filtering" },

  /* Relays. */
  { "relay: no secret", "POST", "/v1/relays", AUTH_NONE,
    "{\"id\": \"r1\", \"region\": \"eu\", \"endpoint\": \"203.0.113.1:7000\"}", 401,
    "unauthorized" },
  { "relay: a party token", "POST", "/v1/relays", AUTH_HOST,
    "{\"id\": \"r1\", \"region\": \"eu\", \"endpoint\": \"203.0.113.1:7000\"}", 401,
    "unauthorized" },
  { "relay: a bad id", "POST", "/v1/relays", AUTH_RELAY_SECRET,
    "{\"id\": \"../r1\", \"region\": \"eu\", \"endpoint\": \"203.0.113.1:7000\"}", 400,
    "invalid_field", "id" },
  { "relay: a bad endpoint", "POST", "/v1/relays", AUTH_RELAY_SECRET,
    "{\"id\": \"r1\", \"region\": \"eu\", \"endpoint\": \"relay.example:7000\"}", 400,
    "invalid_field", "endpoint" },
  { "relay: an unknown field", "POST", "/v1/relays", AUTH_RELAY_SECRET,
    "{\"id\": \"r1\", \"region\": \"eu\", \"endpoint\": \"203.0.113.1:7000\", \"x\": 1}", 400,
    "unknown_field", "x" },

  /* Routes and methods. */
  { "no such route", "GET", "/v1/nope", AUTH_NONE, NULL, 404, "not_found" },
  { "no such route under a party", "GET", "/v1/parties/{party}/nope", AUTH_HOST, NULL, 404,
    "not_found" },
  { "PUT a party", "PUT", "/v1/parties", AUTH_NONE, "{}", 405, "method_not_allowed" },
  { "GET a join", "GET", "/v1/join", AUTH_NONE, NULL, 405, "method_not_allowed" },
  { "GET a heartbeat", "GET", "/v1/parties/{party}/peers/{peer}/heartbeat", AUTH_HOST, NULL,
    405, "method_not_allowed" },
};

static char *
fill_template (const char   *template,
               LrTestMember *host,
               const char   *forged)
{
  g_autoptr(GString) text = g_string_new (template);
  g_autofree char *wg = lr_test_random_key ();
  g_autofree char *disco = lr_test_random_key ();
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autofree char *n33 = g_strnfill (33, 'n');
  g_autofree char *n32 = NULL;
  g_autofree char *n65 = g_strnfill (65, 'p');

  /* 32 characters, some of them two bytes long: the limit counts characters. */
  n32 = g_strconcat ("\xc3\xa9\xc3\xa9", "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", NULL);

  for (guint i = 0; i < 200; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 200; i++)
    g_string_append_c (deep, ']');

  g_string_replace (text, "{party}", host->party_id, 0);
  g_string_replace (text, "{peer}", host->peer_id, 0);
  g_string_replace (text, "{wg}", wg, 0);
  g_string_replace (text, "{disco}", disco, 0);
  g_string_replace (text, "{invite}", host->invite_code, 0);
  g_string_replace (text, "{forged}", forged, 0);
  g_string_replace (text, "{deep}", deep->str, 0);
  g_string_replace (text, "{n33}", n33, 0);
  g_string_replace (text, "{n32}", n32, 0);
  g_string_replace (text, "{n65}", n65, 0);

  if (g_str_equal (text->str, "{1mib}") || g_str_equal (text->str, "{65k}"))
    {
      gsize size = g_str_equal (text->str, "{1mib}") ? 1024 * 1024 : 65 * 1024;
      g_autofree char *peer = lr_test_peer_in_json ("big", wg, disco);

      /* A well-formed document, only too large: the size alone must refuse it. */
      g_string_printf (text, "{\"invite_code\": \"%s\", \"peer\": %s, \"pad\": \"",
                       host->invite_code, peer);
      while (text->len < size - 2)
        g_string_append_c (text, 'a');
      g_string_append (text, "\"}");
    }

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
make_forged_code (const char *real)
{
  static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  char *code;

  do
    {
      code = g_strdup ("XXXX-XXXX-XXXX");
      for (char *p = code; *p != '\0'; p++)
        if (*p != '-')
          *p = alphabet[g_random_int_range (0, 32)];
      if (g_str_equal (code, real))
        g_clear_pointer (&code, g_free);
    }
  while (code == NULL);
  return code;
}

static void
test_bad_input_table (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "target", "host");
  g_autoptr(LrTestMember) other = lr_test_create_party (fixture->server, "other", "eve");
  g_autofree char *forged = make_forged_code (host->invite_code);
  g_autofree char *secret = lr_test_server_read_relay_secret (fixture->server);
  g_autofree char *unknown = g_strnfill (43, 'Q');
  g_autoptr(GPtrArray) failures = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < G_N_ELEMENTS (bad_inputs); i++)
    {
      const BadInput *row = &bad_inputs[i];
      g_autofree char *path = fill_template (row->path, host, forged);
      g_autofree char *body = row->body != NULL ? fill_template (row->body, host, forged) : NULL;
      g_autofree char *authorization = NULL;
      g_autoptr(LrTestResponse) response = NULL;
      g_autofree char *failure = NULL;

      switch (row->auth)
        {
        case AUTH_NONE:
          break;
        case AUTH_HOST:
          authorization = g_strconcat ("Bearer ", host->token, NULL);
          break;
        case AUTH_OTHER_PARTY:
          authorization = g_strconcat ("Bearer ", other->token, NULL);
          break;
        case AUTH_UNKNOWN:
          authorization = g_strconcat ("Bearer ", unknown, NULL);
          break;
        case AUTH_MALFORMED:
          authorization = g_strdup ("Bearer not*a*token");
          break;
        case AUTH_BASIC:
          authorization = g_strdup ("Basic dXNlcjpwYXNz");
          break;
        case AUTH_EMPTY:
          authorization = g_strdup ("Bearer ");
          break;
        case AUTH_HOST_PLUS:
          authorization = g_strconcat ("Bearer ", host->token, "x", NULL);
          break;
        case AUTH_LOWERCASE_SCHEME:
          authorization = g_strconcat ("bearer ", host->token, NULL);
          break;
        case AUTH_RELAY_SECRET:
          authorization = g_strconcat ("Bearer ", secret, NULL);
          break;
        default:
          g_assert_not_reached ();
        }

      response = lr_test_request_raw (fixture->server, row->method, path, authorization,
                                      "application/json", body,
                                      body != NULL ? strlen (body) : 0);

      /* Collect every mismatch, so one run shows the whole table. */
      if (response->status != row->status)
        failure = g_strdup_printf ("expected %u %s", row->status,
                                   row->code != NULL ? row->code : "");
      else if (row->code != NULL)
        {
          JsonNode *code = response->body != NULL
                             ? lr_test_json_find (response->body, "error.code") : NULL;
          JsonNode *message = response->body != NULL
                                ? lr_test_json_find (response->body, "error.message") : NULL;

          if (code == NULL || json_node_get_value_type (code) != G_TYPE_STRING ||
              message == NULL || json_node_get_value_type (message) != G_TYPE_STRING)
            failure = g_strdup ("expected an error body {\"error\": {\"code\", \"message\"}}");
          else if (!g_str_equal (json_node_get_string (code), row->code))
            failure = g_strdup_printf ("expected code %s", row->code);
          else if (row->mentions != NULL &&
                   strstr (json_node_get_string (message), row->mentions) == NULL)
            failure = g_strdup_printf ("expected the message to name \"%s\"", row->mentions);
        }

      if (failure != NULL)
        {
          gsize length = 0;
          const char *got = response->raw != NULL ? g_bytes_get_data (response->raw, &length)
                                                  : "";

          g_ptr_array_add (failures,
                           g_strdup_printf ("row %u (%s): %s %s: %s, got %u %.*s", i, row->what,
                                            row->method, row->path, failure, response->status,
                                            (int) MIN (length, 300), got));
        }

      assert_healthy (fixture->server, row->what);
    }

  for (guint i = 0; i < failures->len; i++)
    g_test_message ("%s", (char *) g_ptr_array_index (failures, i));
  if (failures->len > 0)
    g_error ("%u of %zu bad-input rows got another answer (see the messages above); first: %s",
             failures->len, G_N_ELEMENTS (bad_inputs), (char *) g_ptr_array_index (failures, 0));

  /* The refused creates and joins left nothing behind. */
  {
    g_autofree char *path = lr_test_party_path (host, "");
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", path,
                                                          host->token, NULL);

    lr_test_assert_status (response, 200);
    g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "peers")), ==,
                      1);
  }
}

static void
test_odd_paths (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "target", "host");
  g_autofree char *upper = g_ascii_strup (host->party_id, -1);
  g_autofree char *long_id = g_strnfill (5000, 'a');
  g_autofree char *long_hex = g_strnfill (5000, '7');
  struct
  {
    const char *method;
    char       *path;
  } rows[] = {
    { "GET", g_strdup ("/v1/parties/..") },
    { "GET", g_strdup ("/v1/parties/../../../etc/passwd") },
    { "GET", g_strdup ("/v1/parties/%2e%2e") },
    { "GET", g_strdup ("/v1/parties/%00") },
    { "GET", g_strdup_printf ("/v1/parties/%s%%00", host->party_id) },
    { "GET", g_strdup_printf ("/v1/parties/%%00%s", host->party_id) },
    { "GET", g_strdup_printf ("/v1/parties/%s", long_id) },
    { "GET", g_strdup_printf ("/v1/parties/%s", long_hex) },
    { "GET", g_strdup_printf ("/v1/parties/%s", upper) },
    { "GET", g_strdup ("/v1/parties/0123456789abcdeg") },
    { "GET", g_strdup ("/v1/parties/-123456789abcdef") },
    { "GET", g_strdup ("/v1/parties/0x23456789abcdef") },
    { "GET", g_strdup ("/v1/parties/%20123456789abcdef") },
    { "GET", g_strdup_printf ("/v1/parties/%s/events/..", host->party_id) },
    { "POST", g_strdup_printf ("/v1/parties/%s/peers/..%%2f..%%2fheartbeat/heartbeat",
                               host->party_id) },
    { "POST", g_strdup_printf ("/v1/parties/%s/peers/%s/heartbeat", host->party_id, long_hex) },
    { "PATCH", g_strdup_printf ("/v1/parties/%s/peers/%%00", host->party_id) },
    { "DELETE", g_strdup_printf ("/v1/parties/%s/peers/'%%3B--", host->party_id) },
    { "DELETE", g_strdup ("/v1/parties/%2e%2e") },
  };
  g_autoptr(GPtrArray) failures = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      guint status = lr_test_request_socket (fixture->server, rows[i].method, rows[i].path,
                                             host->token);

      if (status != 400 && status != 404)
        g_ptr_array_add (failures, g_strdup_printf ("%s %.80s: expected 400 or 404, got %u",
                                                    rows[i].method, rows[i].path, status));
      assert_healthy (fixture->server, rows[i].path);
      g_free (rows[i].path);
    }

  for (guint i = 0; i < failures->len; i++)
    g_test_message ("%s", (char *) g_ptr_array_index (failures, i));
  if (failures->len > 0)
    g_error ("%u odd paths got another answer; first: %s", failures->len,
             (char *) g_ptr_array_index (failures, 0));

  /* The party is untouched. */
  {
    g_autofree char *path = lr_test_party_path (host, "");
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", path,
                                                          host->token, NULL);

    lr_test_assert_status (response, 200);
  }
}

static void
test_sql_metacharacters (Fixture       *fixture,
                         gconstpointer  data)
{
  const char *party_name = "'); DROP TABLE peers;--";
  const char *names[] = {
    "Robert'); DROP TABLE peers;--",
    "\" OR 1=1 --",
    "%_\\ \\' ; SELECT *",
    "名前 ☃ \xf0\x9f\x8e\xae",
  };
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, party_name, names[0]);
  g_autoptr(GPtrArray) members = NULL;

  members = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_test_member_free);
  for (guint i = 1; i < G_N_ELEMENTS (names); i++)
    g_ptr_array_add (members, lr_test_join (fixture->server, host->invite_code, names[i]));

  for (guint round = 0; round < 2; round++)
    {
      g_autofree char *path = lr_test_party_path (host, "");
      g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", path,
                                                            host->token, NULL);
      JsonArray *peers;

      lr_test_assert_status (response, 200);
      g_assert_cmpstr (lr_test_json_string (response->body, "party.name"), ==, party_name);
      peers = lr_test_json_array (response->body, "peers");
      g_assert_cmpuint (json_array_get_length (peers), ==, G_N_ELEMENTS (names));
      g_assert_cmpstr (lr_test_json_string (lr_test_json_array_find_peer (peers, host->peer_id),
                                            "name"), ==, names[0]);
      for (guint i = 0; i < members->len; i++)
        {
          LrTestMember *member = g_ptr_array_index (members, i);
          JsonNode *peer = lr_test_json_array_find_peer (peers, member->peer_id);

          g_assert_nonnull (peer);
          g_assert_cmpstr (lr_test_json_string (peer, "name"), ==, names[i + 1]);
        }

      /* Once from memory, once from the database. */
      if (round == 0)
        lr_test_server_restart (fixture->server, FALSE);
    }
}

static void
assert_not_in_log (const char *log,
                   const char *what,
                   const char *secret)
{
  if (secret != NULL && strlen (secret) >= 8 && strstr (log, secret) != NULL)
    g_error ("The server's log contains %s in full (%s)", what, secret);
}

static void
test_log_keeps_secrets (Fixture       *fixture,
                        gconstpointer  data)
{
  LrTestServer *server = fixture->server;
  g_autoptr(LrTestMember) host = lr_test_create_party (server, "secretive", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (server, host->invite_code, "bob");
  g_autofree char *secret = lr_test_server_read_relay_secret (server);
  g_autofree char *wrong_secret = g_strdup (secret);
  g_autofree char *unknown = g_strnfill (43, 'Z');
  g_autofree char *forged = make_forged_code (host->invite_code);
  g_autofree char *fresh_relay_token = NULL;
  g_autofree char *undashed = NULL;
  g_autofree char *forged_undashed = NULL;
  g_autofree char *log = NULL;

  wrong_secret[3] = wrong_secret[3] == 'x' ? 'y' : 'x';

  /* Everything a session does, including what goes wrong. */
  {
    g_autofree char *path = lr_test_party_path (host, "/relay-token");
    g_autoptr(LrTestResponse) response = lr_test_request (server, "POST", path, bob->token,
                                                          NULL);

    lr_test_assert_status (response, 200);
    fresh_relay_token = g_strdup (lr_test_json_string (response->body, "relay_token"));
  }
  {
    g_autoptr(LrTestSocket) sa = lr_test_socket_connect (server, host->party_id, host->token,
                                                         NULL);
    g_autoptr(LrTestSocket) sb = lr_test_socket_connect (server, bob->party_id, bob->token,
                                                         NULL);
    g_autoptr(JsonNode) s1 = lr_test_socket_expect (sa, "snapshot", NULL);
    g_autoptr(JsonNode) s2 = lr_test_socket_expect (sb, "snapshot", NULL);
    g_autofree char *signal = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                               "\"data\": {\"k\": 1}}", bob->peer_id);
    g_autoptr(JsonNode) received = NULL;

    lr_test_socket_send (sa, signal);
    received = lr_test_socket_expect (sb, "signal", host->peer_id);
  }
  {
    g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s/heartbeat", bob->party_id,
                                             bob->peer_id);
    g_autoptr(LrTestResponse) r1 = lr_test_request (server, "POST", path, bob->token, NULL);
    g_autoptr(LrTestResponse) r2 = lr_test_request (server, "POST", path, host->token, NULL);
    g_autoptr(LrTestResponse) r3 = lr_test_request (server, "POST", path, unknown, NULL);

    lr_test_assert_status (r1, 204);
    lr_test_assert_status (r2, 403);
    lr_test_assert_status (r3, 401);
  }
  {
    const char *relay = "{\"id\": \"r1\", \"region\": \"eu\", \"endpoint\": \"203.0.113.1:7000\"}";
    g_autoptr(LrTestResponse) r1 = lr_test_request (server, "POST", "/v1/relays", secret, relay);
    g_autoptr(LrTestResponse) r2 = lr_test_request (server, "POST", "/v1/relays", wrong_secret,
                                                    relay);

    lr_test_assert_status (r1, 204);
    lr_test_assert_status (r2, 401);
  }
  {
    g_autofree char *wg = lr_test_random_key ();
    g_autofree char *disco = lr_test_random_key ();
    g_autofree char *peer = lr_test_peer_in_json ("x", wg, disco);
    g_autofree char *forged_body = lr_test_join_body (forged, peer);
    g_autofree char *lower = g_ascii_strdown (host->invite_code, -1);
    g_autofree char *lower_body = lr_test_join_body (lower, peer);
    g_autoptr(LrTestResponse) r1 = lr_test_request (server, "POST", "/v1/join", NULL,
                                                    forged_body);
    g_autoptr(LrTestResponse) r2 = lr_test_request (server, "POST", "/v1/join", NULL,
                                                    lower_body);
    g_autoptr(LrTestResponse) r3 = lr_test_request (server, "POST", "/v1/join", NULL,
                                                    lower_body);

    lr_test_assert_status (r1, 404);
    lr_test_assert_status (r2, 201);
    lr_test_assert_error (r3, 409, "already_joined");
  }

  /* A restart logs its start-up too; then a clean stop. */
  lr_test_server_restart (server, FALSE);
  {
    g_autofree char *path = lr_test_party_path (host, "");
    g_autoptr(LrTestResponse) response = lr_test_request (server, "DELETE", path, host->token,
                                                          NULL);

    lr_test_assert_status (response, 204);
  }
  lr_test_server_stop (server, FALSE);

  log = lr_test_server_get_log (server);
  g_test_message ("the server logged %zu bytes", strlen (log));

  {
    g_auto(GStrv) groups = g_strsplit (host->invite_code, "-", -1);
    g_auto(GStrv) forged_groups = g_strsplit (forged, "-", -1);

    undashed = g_strjoinv ("", groups);
    forged_undashed = g_strjoinv ("", forged_groups);
  }

  assert_not_in_log (log, "the host's bearer token", host->token);
  assert_not_in_log (log, "a member's bearer token", bob->token);
  assert_not_in_log (log, "an unknown bearer token", unknown);
  assert_not_in_log (log, "a relay token", host->relay_token);
  assert_not_in_log (log, "a relay token", bob->relay_token);
  assert_not_in_log (log, "a relay token", fresh_relay_token);
  assert_not_in_log (log, "the relay secret", secret);
  assert_not_in_log (log, "a wrong relay secret", wrong_secret);
  assert_not_in_log (log, "the invite code", host->invite_code);
  assert_not_in_log (log, "the invite code", undashed);
  assert_not_in_log (log, "a forged invite code", forged);
  assert_not_in_log (log, "a forged invite code", forged_undashed);
}

int
main (int   argc,
      char *argv[])
{
  lr_test_control_init (&argc, &argv);

  g_test_add ("/control/bad-input/table", Fixture, GUINT_TO_POINTER (LR_TEST_SERVER_NONE),
              fixture_setup, test_bad_input_table, fixture_teardown);
  g_test_add ("/control/bad-input/odd-paths", Fixture, GUINT_TO_POINTER (LR_TEST_SERVER_NONE),
              fixture_setup, test_odd_paths, fixture_teardown);
  g_test_add ("/control/bad-input/sql-metacharacters", Fixture,
              GUINT_TO_POINTER (LR_TEST_SERVER_NONE), fixture_setup, test_sql_metacharacters,
              fixture_teardown);
  g_test_add ("/control/logs/no-secrets", Fixture, GUINT_TO_POINTER (LR_TEST_SERVER_DEBUG_LOG),
              fixture_setup, test_log_keeps_secrets, fixture_teardown);

  return g_test_run ();
}
