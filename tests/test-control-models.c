/* test-control-models.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-control-models.h"
#include "lr-error.h"
#include "lr-json.h"

#define KEY_A "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
#define KEY_B "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="

static char *
join_body (const char *peer_fields)
{
  return g_strdup_printf ("{\"invite_code\": \"7kqm2xwd9rtf\", \"peer\": {%s}}", peer_fields);
}

static void
test_join_good (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body = join_body ("\"name\": \"  Alice  \", \"wg_public_key\": \"" KEY_A "\", "
                                     "\"disco_public_key\": \"" KEY_B "\", "
                                     "\"endpoints\": [\"198.51.100.7:51820\", \"[2001:DB8::7]:1\"], "
                                     "\"nat\": {\"mapping\": \"endpoint_independent\", "
                                     "\"filtering\": \"address_and_port_dependent\"}");
  g_autoptr(LrJoinRequest) request = lr_join_request_parse (body, strlen (body), &error);

  g_assert_no_error (error);
  g_assert_cmpstr (request->invite_code, ==, "7KQM-2XWD-9RTF");
  g_assert_cmpstr (request->peer->name, ==, "Alice");
  g_assert_cmpstr (request->peer->wg_public_key, ==, KEY_A);
  g_assert_cmpuint (g_strv_length (request->peer->endpoints), ==, 2);
  g_assert_cmpstr (request->peer->endpoints[0], ==, "198.51.100.7:51820");
  g_assert_cmpstr (request->peer->endpoints[1], ==, "[2001:db8::7]:1");
  g_assert_true (request->peer->has_nat);
  g_assert_cmpint (request->peer->nat.mapping, ==, LR_NAT_ENDPOINT_INDEPENDENT);
  g_assert_cmpint (request->peer->nat.filtering, ==, LR_NAT_ADDRESS_AND_PORT_DEPENDENT);
}

/* Each bad request fails with the expected code and a message naming the field. */
static void
test_join_bad (void)
{
  static const struct { const char *body; int code; const char *field; } cases[] = {
    { "", LR_ERROR_MALFORMED, "body" },
    { "{", LR_ERROR_MALFORMED, "JSON" },
    { "[]", LR_ERROR_MALFORMED, "object" },
    { "\"x\"", LR_ERROR_MALFORMED, "object" },
    { "{\"peer\": {}}", LR_ERROR_MISSING_FIELD, "invite_code" },
    { "{\"invite_code\": 7}", LR_ERROR_WRONG_TYPE, "invite_code" },
    { "{\"invite_code\": \"nope\", \"peer\": {}}", LR_ERROR_INVALID_INVITE_CODE, "invite code" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\"}", LR_ERROR_MISSING_FIELD, "peer" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": []}", LR_ERROR_WRONG_TYPE, "peer" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {}, \"admin\": true}", LR_ERROR_UNKNOWN_FIELD, "admin" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\"}}", LR_ERROR_MISSING_FIELD, "peer.wg_public_key" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\"}}", LR_ERROR_INVALID, "peer.name" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"abcdefghijabcdefghijabcdefghijabc\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\"}}", LR_ERROR_TOO_LARGE, "peer.name" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\\nb\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\"}}", LR_ERROR_INVALID, "peer.name" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"AAAA\", \"disco_public_key\": \"" KEY_B "\"}}", LR_ERROR_INVALID, "peer.wg_public_key" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", \"disco_public_key\": \"" KEY_B "\"}}", LR_ERROR_INVALID, "peer.wg_public_key" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": 5}}", LR_ERROR_WRONG_TYPE, "peer.disco_public_key" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\", \"endpoints\": [\"1.2.3.4\"]}}", LR_ERROR_INVALID, "peer.endpoints[0]" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\", \"endpoints\": [\"1.2.3.4:0\"]}}", LR_ERROR_INVALID, "peer.endpoints[0]" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\", \"endpoints\": [\"1.2.3.4:1\", \"1.2.3.4:1\"]}}", LR_ERROR_INVALID, "peer.endpoints[1]" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\", \"endpoints\": [1]}}", LR_ERROR_WRONG_TYPE, "peer.endpoints[0]" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\", \"endpoints\": [\"1.1.1.1:1\",\"1.1.1.1:2\",\"1.1.1.1:3\",\"1.1.1.1:4\",\"1.1.1.1:5\",\"1.1.1.1:6\",\"1.1.1.1:7\",\"1.1.1.1:8\",\"1.1.1.1:9\"]}}", LR_ERROR_TOO_LARGE, "peer.endpoints" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\", \"nat\": {\"mapping\": \"cone\", \"filtering\": \"unknown\"}}}", LR_ERROR_INVALID, "peer.nat" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\", \"nat\": {\"mapping\": \"unknown\"}}}", LR_ERROR_MISSING_FIELD, "peer.nat.filtering" },
    { "{\"invite_code\": \"7KQM2XWD9RTF\", \"peer\": {\"name\": \"a\", \"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\", \"nat\": null}}", LR_ERROR_WRONG_TYPE, "peer.nat" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LrJoinRequest) request = lr_join_request_parse (cases[i].body,
                                                                strlen (cases[i].body), &error);

      if (request != NULL || error == NULL || error->code != cases[i].code ||
          strstr (error->message, cases[i].field) == NULL)
        g_error ("case %u (%s): got %s", i, cases[i].body, error ? error->message : "success");
    }
}

static void
test_deep_nesting (void)
{
  g_autoptr(GString) body = g_string_new ("{\"name\": ");
  g_autoptr(GError) error = NULL;
  g_autoptr(LrCreatePartyRequest) request = NULL;

  for (guint i = 0; i < 30000; i++)
    g_string_append_c (body, '[');
  request = lr_create_party_request_parse (body->str, body->len, &error);
  g_assert_null (request);
  g_assert_error (error, LR_ERROR, LR_ERROR_MALFORMED);
}

static void
test_create_and_update (void)
{
  g_autoptr(GError) error = NULL;
  const char *create = "{\"name\": \"'); DROP TABLE parties;--\", \"peer\": {\"name\": \"Bob\", "
                       "\"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\"}}";
  const char *update = "{\"endpoints\": [], \"nat\": {\"mapping\": \"unknown\", "
                       "\"filtering\": \"endpoint_independent\"}}";
  g_autoptr(LrCreatePartyRequest) request = lr_create_party_request_parse (create, strlen (create),
                                                                           &error);
  g_autoptr(LrPeerUpdate) patch = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (request->name, ==, "'); DROP TABLE parties;--");
  g_assert_cmpuint (g_strv_length (request->peer->endpoints), ==, 0);
  g_assert_false (request->peer->has_nat);

  patch = lr_peer_update_parse (update, strlen (update), &error);
  g_assert_no_error (error);
  g_assert_null (patch->name);
  g_assert_true (patch->has_endpoints);
  g_assert_cmpuint (g_strv_length (patch->endpoints), ==, 0);
  g_assert_true (patch->has_nat);
  g_assert_cmpint (patch->nat.filtering, ==, LR_NAT_ENDPOINT_INDEPENDENT);
  g_clear_pointer (&patch, lr_peer_update_free);

  patch = lr_peer_update_parse ("{\"token\": \"x\"}", strlen ("{\"token\": \"x\"}"), &error);
  g_assert_null (patch);
  g_assert_error (error, LR_ERROR, LR_ERROR_UNKNOWN_FIELD);
}

static void
test_signal (void)
{
  g_autoptr(GError) error = NULL;
  const char *good = "{\"type\": \"signal\", \"to\": \"00000000000000a1\", \"data\": {\"x\": [1]}}";
  g_autoptr(LrSignal) signal = lr_signal_parse (good, strlen (good), &error);
  g_autoptr(GString) big = g_string_new ("{\"type\": \"signal\", \"to\": \"00000000000000a1\", "
                                         "\"data\": {\"x\": \"");
  g_autoptr(LrSignal) refused = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (signal->to, ==, "00000000000000a1");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (signal->data));

  for (guint i = 0; i < LR_MAX_SIGNAL_SIZE; i++)
    g_string_append_c (big, 'a');
  g_string_append (big, "\"}}");
  refused = lr_signal_parse (big->str, big->len, &error);
  g_assert_null (refused);
  g_assert_error (error, LR_ERROR, LR_ERROR_TOO_LARGE);
  g_clear_error (&error);

  {
    const char *bad_to = "{\"type\": \"signal\", \"to\": \"../x\", \"data\": {}}";
    refused = lr_signal_parse (bad_to, strlen (bad_to), &error);
  }
  g_assert_null (refused);
  g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
}

static void
test_peer_round_trip (void)
{
  static const char *endpoints[] = { "198.51.100.7:51820", NULL };
  LrPeer peer = {
    .id = (char *) "00000000000000a1",
    .name = (char *) "Zoë",
    .virtual_ip = (char *) "10.66.0.7",
    .wg_public_key = (char *) KEY_A,
    .disco_public_key = (char *) KEY_B,
    .endpoints = (GStrv) endpoints,
    .nat = { LR_NAT_ADDRESS_DEPENDENT, LR_NAT_ENDPOINT_INDEPENDENT },
    .online = TRUE,
    .last_seen = G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC,
  };
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(LrPeer) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  lr_peer_build (&peer, builder);
  node = json_builder_get_root (builder);
  text = lr_json_to_string (node);
  g_assert_nonnull (strstr (text, "\"last_seen\":\"2023-11-14T22:13:20Z\""));

  back = lr_peer_parse_node (node, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->name, ==, "Zoë");
  g_assert_cmpstr (back->virtual_ip, ==, "10.66.0.7");
  g_assert_cmpstr (back->endpoints[0], ==, "198.51.100.7:51820");
  g_assert_cmpint (back->nat.mapping, ==, LR_NAT_ADDRESS_DEPENDENT);
  g_assert_true (back->online);
  g_assert_cmpint (back->last_seen, ==, peer.last_seen);
}

static void
test_relay_registration (void)
{
  g_autoptr(GError) error = NULL;
  const char *good = "{\"id\": \"eu-1\", \"region\": \"Europe\", \"endpoint\": \"198.51.100.9:3478\"}";
  const char *bad_id = "{\"id\": \"eu 1/..\", \"region\": \"Europe\", \"endpoint\": \"198.51.100.9:3478\"}";
  g_autoptr(LrRelay) relay = lr_relay_registration_parse (good, strlen (good), &error);
  g_autoptr(LrRelay) refused = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (relay->id, ==, "eu-1");
  g_assert_cmpstr (relay->endpoint, ==, "198.51.100.9:3478");

  refused = lr_relay_registration_parse (bad_id, strlen (bad_id), &error);
  g_assert_null (refused);
  g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

  g_test_add_func ("/lr/control-models/join/good", test_join_good);
  g_test_add_func ("/lr/control-models/join/bad", test_join_bad);
  g_test_add_func ("/lr/control-models/deep-nesting", test_deep_nesting);
  g_test_add_func ("/lr/control-models/create-and-update", test_create_and_update);
  g_test_add_func ("/lr/control-models/signal", test_signal);
  g_test_add_func ("/lr/control-models/peer/round-trip", test_peer_round_trip);
  g_test_add_func ("/lr/control-models/relay-registration", test_relay_registration);

  return g_test_run ();
}
