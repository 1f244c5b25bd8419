/* test-control-answers.c: the client's parsers of lanrage-control's answers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The vectors are shaped as docs/control-api.md gives them and as lanrage-control sends
 * them (test-control-api checks the server against the same document).
 */
#include "lr-control-answers.h"
#include "lr-error.h"
#include "lr-json.h"

#include <string.h>

#define KEY_A   "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
#define KEY_B   "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="
#define TOKEN   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
#define PARTY   "{\"id\": \"0123456789abcdef\", \"name\": \"LAN night\", " \
                "\"invite_code\": \"7KQM-2XWD-9RTF\", \"host_peer_id\": \"00000000000000a1\", " \
                "\"created_at\": \"2026-12-03T06:00:00Z\"}"
#define PEER(id, ip) "{\"id\": \"" id "\", \"name\": \"Alice\", \"virtual_ip\": \"" ip "\", " \
                "\"wg_public_key\": \"" KEY_A "\", \"disco_public_key\": \"" KEY_B "\", " \
                "\"endpoints\": [], \"nat\": {\"mapping\": \"unknown\", " \
                "\"filtering\": \"unknown\"}, \"online\": true, " \
                "\"last_seen\": \"2026-12-03T06:00:01Z\""
#define RELAY   "{\"id\": \"r1\", \"region\": \"eu\", \"endpoint\": \"198.18.0.1:3478\"}"

static LrJoinAnswer *
join_answer (const char  *text,
             GError     **error)
{
  return lr_join_answer_parse (text, strlen (text), error);
}

static void
test_join_answer (void)
{
  const char *text =
    "{\"party\": " PARTY ", \"peer\": " PEER ("00000000000000a1", "10.66.0.1")
    ", \"token\": \"" TOKEN "\", \"relay_token\": \"opaque-relay-token\", "
    "\"relay_token_expires_at\": \"2026-12-03T07:00:00Z\", \"future\": 1}, "
    "\"relays\": [" RELAY ", {\"id\": \"odd\"}, {\"id\": \"r2\", \"region\": \"us\", "
    "\"endpoint\": \"[2001:db8::1]:3478\"}], \"also_future\": []}";
  g_autoptr(GError) error = NULL;
  g_autoptr(LrJoinAnswer) answer = join_answer (text, &error);
  g_autoptr(GDateTime) expiry = g_date_time_new_utc (2026, 12, 3, 7, 0, 0);

  g_assert_no_error (error);
  g_assert_nonnull (answer);
  g_assert_cmpstr (answer->party->id, ==, "0123456789abcdef");
  g_assert_cmpstr (answer->party->invite_code, ==, "7KQM-2XWD-9RTF");
  g_assert_cmpstr (answer->peer->id, ==, "00000000000000a1");
  g_assert_cmpstr (answer->peer->virtual_ip, ==, "10.66.0.1");
  g_assert_cmpstr (answer->token, ==, TOKEN);
  g_assert_cmpstr (answer->relay_token, ==, "opaque-relay-token");
  g_assert_cmpint (answer->relay_token_expires_at, ==,
                   g_date_time_to_unix (expiry) * G_USEC_PER_SEC);
  /* The relay the server described oddly is skipped, the others kept in order. */
  g_assert_cmpuint (g_strv_length (answer->relays), ==, 2);
  g_assert_cmpstr (answer->relays[0], ==, "198.18.0.1:3478");
  g_assert_cmpstr (answer->relays[1], ==, "[2001:db8::1]:3478");
}

static void
test_join_answer_without_relays (void)
{
  const char *text =
    "{\"party\": " PARTY ", \"peer\": " PEER ("00000000000000a1", "10.66.0.1")
    ", \"token\": \"" TOKEN "\", \"relay_token\": \"t\", "
    "\"relay_token_expires_at\": \"yesterday\"}}";
  g_autoptr(GError) error = NULL;
  g_autoptr(LrJoinAnswer) answer = join_answer (text, &error);

  g_assert_no_error (error);
  /* A relay token without a valid expiry is no relay token; no list is an empty list. */
  g_assert_null (answer->relay_token);
  g_assert_cmpint (answer->relay_token_expires_at, ==, 0);
  g_assert_nonnull (answer->relays);
  g_assert_cmpuint (g_strv_length (answer->relays), ==, 0);
}

static void
test_join_answer_bad (void)
{
  static const struct
  {
    const char *text;
    const char *message;
  } cases[] = {
    { "", "" },
    { "[]", "" },
    { "{}", "party" },
    { "{\"party\": 5}", "party" },
    { "{\"party\": " PARTY "}", "peer" },
    { "{\"party\": " PARTY ", \"peer\": " PEER ("00000000000000a1", "10.66.0.1") "}}",
      "token" },
    { "{\"party\": " PARTY ", \"peer\": " PEER ("00000000000000a1", "10.66.0.1")
      ", \"token\": 7}}", "token" },
    { "{\"party\": " PARTY ", \"peer\": " PEER ("00000000000000a1", "10.66.0.1")
      ", \"token\": \"short\"}}", "token" },
    { "{\"party\": " PARTY ", \"peer\": " PEER ("not-an-id", "10.66.0.1")
      ", \"token\": \"" TOKEN "\"}}", "peer" },
    { "{\"party\": " PARTY ", \"peer\": " PEER ("00000000000000a1", "10.66.0")
      ", \"token\": \"" TOKEN "\"}}", "peer" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LrJoinAnswer) answer = join_answer (cases[i].text, &error);

      g_test_message ("case %zu: %s", i, cases[i].text);
      g_assert_null (answer);
      g_assert_error (error, LR_ERROR, error->code);
      g_assert_nonnull (strstr (error->message, cases[i].message));
    }
}

static JsonNode *
parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

static void
test_relay_token (void)
{
  g_autoptr(JsonNode) good = parse ("{\"relay_token\": \"abc\", "
                                    "\"expires_at\": \"2026-12-03T07:00:00Z\"}");
  const char *bad[] = {
    "{}",
    "{\"relay_token\": \"\", \"expires_at\": \"2026-12-03T07:00:00Z\"}",
    "{\"relay_token\": 5, \"expires_at\": \"2026-12-03T07:00:00Z\"}",
    "{\"relay_token\": \"abc\"}",
    "{\"relay_token\": \"abc\", \"expires_at\": \"soon\"}",
    "[]",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(LrRelayTokenAnswer) answer = lr_relay_token_answer_parse_node (good, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (answer->relay_token, ==, "abc");
  g_assert_cmpint (answer->expires_at, >, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = parse (bad[i]);
      g_autoptr(GError) bad_error = NULL;

      g_assert_null (lr_relay_token_answer_parse_node (node, &bad_error));
      g_assert_error (bad_error, LR_ERROR, bad_error->code);
    }
  g_assert_null (lr_relay_token_answer_parse_node (NULL, NULL));
}

static void
test_relay_list (void)
{
  g_autoptr(JsonNode) good = parse ("{\"relays\": [" RELAY ", 5, " RELAY "]}");
  g_autoptr(JsonNode) empty = parse ("{\"relays\": []}");
  g_autoptr(JsonNode) bad = parse ("{\"relays\": {}}");
  g_autoptr(GString) many = g_string_new ("{\"relays\": [");
  g_autoptr(JsonNode) many_node = NULL;
  g_auto(GStrv) relays = lr_relay_list_parse_node (good, NULL);
  g_auto(GStrv) none = lr_relay_list_parse_node (empty, NULL);
  g_auto(GStrv) capped = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (g_strv_length (relays), ==, 2);
  g_assert_cmpstr (relays[0], ==, "198.18.0.1:3478");
  g_assert_nonnull (none);
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  g_assert_null (lr_relay_list_parse_node (bad, &error));
  g_assert_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE);

  for (guint i = 0; i < LR_MAX_RELAYS + 10; i++)
    g_string_append_printf (many, "%s" RELAY, i > 0 ? ", " : "");
  g_string_append (many, "]}");
  many_node = parse (many->str);
  capped = lr_relay_list_parse_node (many_node, NULL);
  g_assert_cmpuint (g_strv_length (capped), ==, LR_MAX_RELAYS);
}

static LrEvent *
event (const char *text)
{
  return lr_event_parse (text, strlen (text), NULL);
}

static void
test_events (void)
{
  g_autoptr(LrEvent) snapshot = event ("{\"type\": \"snapshot\", \"party\": " PARTY ", "
                                       "\"peers\": [" PEER ("00000000000000a1", "10.66.0.1")
                                       "}, {\"id\": 5}, " PEER ("00000000000000b2", "10.66.0.2")
                                       "}]}");
  g_autoptr(LrEvent) odd_party = event ("{\"type\": \"snapshot\", \"party\": {}, \"peers\": []}");
  g_autoptr(LrEvent) no_peers = event ("{\"type\": \"snapshot\", \"party\": " PARTY "}");
  g_autoptr(LrEvent) joined = event ("{\"type\": \"peer_joined\", \"peer\": "
                                     PEER ("00000000000000b2", "10.66.0.2") "}}");
  g_autoptr(LrEvent) left = event ("{\"type\": \"peer_left\", \"peer\": "
                                   PEER ("00000000000000b2", "10.66.0.2") "}}");
  g_autoptr(LrEvent) updated = event ("{\"type\": \"party_updated\", \"party\": " PARTY "}");
  g_autoptr(LrEvent) closed = event ("{\"type\": \"party_closed\", \"party\": 5}");
  g_autoptr(LrEvent) signal = event ("{\"type\": \"signal\", \"from\": \"00000000000000b2\", "
                                     "\"data\": {\"call_me_maybe\": []}}");
  g_autoptr(LrEvent) error = event ("{\"type\": \"error\", \"error\": {\"code\": "
                                    "\"peer_not_connected\", \"message\": \"gone\"}}");
  g_autoptr(LrEvent) future = event ("{\"type\": \"peer_teleported\"}");

  g_assert_cmpint (snapshot->type, ==, LR_EVENT_SNAPSHOT);
  g_assert_cmpstr (snapshot->snapshot->party->name, ==, "LAN night");
  g_assert_cmpuint (snapshot->snapshot->peers->len, ==, 2);
  g_assert_cmpint (odd_party->type, ==, LR_EVENT_SNAPSHOT);
  g_assert_null (odd_party->snapshot->party);
  g_assert_cmpuint (odd_party->snapshot->peers->len, ==, 0);
  g_assert_null (no_peers->snapshot->peers);
  g_assert_cmpint (joined->type, ==, LR_EVENT_PEER_JOINED);
  g_assert_cmpstr (joined->peer->id, ==, "00000000000000b2");
  g_assert_cmpint (left->type, ==, LR_EVENT_PEER_LEFT);
  g_assert_cmpint (updated->type, ==, LR_EVENT_PARTY_UPDATED);
  g_assert_nonnull (updated->party);
  g_assert_cmpint (closed->type, ==, LR_EVENT_PARTY_CLOSED);
  g_assert_null (closed->party);
  g_assert_cmpint (signal->type, ==, LR_EVENT_SIGNAL);
  g_assert_cmpstr (signal->from, ==, "00000000000000b2");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (signal->data));
  g_assert_cmpint (error->type, ==, LR_EVENT_ERROR);
  g_assert_cmpstr (error->error_code, ==, "peer_not_connected");
  g_assert_cmpint (future->type, ==, LR_EVENT_UNKNOWN);
}

static void
test_events_bad (void)
{
  const char *bad[] = {
    "",
    "not json",
    "[]",
    "{}",
    "{\"type\": 5}",
    "{\"type\": \"peer_joined\"}",
    "{\"type\": \"peer_joined\", \"peer\": {\"id\": \"00000000000000b2\"}}",
    "{\"type\": \"peer_left\", \"peer\": []}",
    "{\"type\": \"party_updated\", \"party\": {}}",
    "{\"type\": \"snapshot\", \"peers\": []}" "x",
    "{\"type\": \"snapshot\", \"party\": 5, \"peers\": 5}" "}",
    "{\"type\": \"signal\", \"from\": \"x\", \"data\": {}}",
    "{\"type\": \"signal\", \"from\": \"00000000000000b2\", \"data\": 5}",
    "{\"type\": \"signal\", \"from\": \"00000000000000b2\"}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LrEvent) parsed = lr_event_parse (bad[i], strlen (bad[i]), &error);

      g_test_message ("case %zu: %s", i, bad[i]);
      g_assert_null (parsed);
      g_assert_error (error, LR_ERROR, error->code);
    }
}

static void
test_error_answer (void)
{
  g_autoptr(JsonNode) full = parse ("{\"error\": {\"code\": \"invite_not_found\", "
                                    "\"message\": \"No party has this code\"}}");
  g_autoptr(JsonNode) typed_wrong = parse ("{\"error\": {\"code\": 5, \"message\": []}}");
  g_autoptr(JsonNode) other = parse ("{\"status\": \"ok\"}");
  g_autoptr(LrErrorAnswer) a = lr_error_answer_parse_node (full);
  g_autoptr(LrErrorAnswer) b = lr_error_answer_parse_node (typed_wrong);
  g_autoptr(LrErrorAnswer) c = lr_error_answer_parse_node (other);
  g_autoptr(LrErrorAnswer) d = lr_error_answer_parse_node (NULL);

  g_assert_cmpstr (a->code, ==, "invite_not_found");
  g_assert_cmpstr (a->message, ==, "No party has this code");
  g_assert_null (b->code);
  g_assert_null (b->message);
  g_assert_null (c->code);
  g_assert_null (d->code);
  g_assert_null (d->message);
}

/* A disco packet through the signal channel: built and parsed back; anything else refused
 * by its form before the disco layer sees it. */
static void
test_disco_signal (void)
{
  static const char * const bad[] = {
    "{\"type\": \"disco\"}",
    "{\"type\": \"disco\", \"packet\": 7}",
    "{\"type\": \"disco\", \"packet\": \"\"}",
    "{\"type\": \"disco\", \"packet\": \"AAAA\", \"extra\": 1}",
    "{\"type\": \"disco\", \"packet\": \"not base64!\"}",
    "{\"type\": \"other\", \"packet\": \"AAAA\"}",
    "{\"packet\": \"AAAA\"}",
  };
  guint8 packet[LR_DISCO_SIGNAL_MAX_PACKET];
  g_autoptr(JsonNode) data = NULL;
  g_autoptr(GBytes) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *huge = NULL;
  g_autofree char *huge_json = NULL;

  for (guint i = 0; i < sizeof packet; i++)
    packet[i] = (guint8) (i * 7);
  data = lr_disco_signal_build (packet, sizeof packet);
  parsed = lr_disco_signal_parse (data, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (parsed, NULL), g_bytes_get_size (parsed), packet,
                   sizeof packet);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = lr_json_parse_object (bad[i], strlen (bad[i]), NULL);
      g_autoptr(GBytes) none = NULL;
      g_autoptr(GError) bad_error = NULL;

      g_assert_nonnull (node);
      none = lr_disco_signal_parse (node, &bad_error);
      g_assert_null (none);
      g_assert_error (bad_error, LR_ERROR, bad_error->code);
    }

  /* A packet one base64 block too long is refused before it is decoded. */
  huge = g_strnfill ((LR_DISCO_SIGNAL_MAX_PACKET + 2) / 3 * 4 + 4, 'A');
  huge_json = g_strdup_printf ("{\"type\": \"disco\", \"packet\": \"%s\"}", huge);
  {
    g_autoptr(JsonNode) node = lr_json_parse_object (huge_json, strlen (huge_json), NULL);
    g_autoptr(GBytes) none = NULL;

    none = lr_disco_signal_parse (node, &error);
    g_assert_null (none);
  }
  g_assert_error (error, LR_ERROR, LR_ERROR_TOO_LARGE);
  g_clear_error (&error);
  g_assert_null (lr_disco_signal_parse (NULL, &error));
  g_assert_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lr/control-answers/join", test_join_answer);
  g_test_add_func ("/lr/control-answers/disco-signal", test_disco_signal);
  g_test_add_func ("/lr/control-answers/join-without-relays", test_join_answer_without_relays);
  g_test_add_func ("/lr/control-answers/join-bad", test_join_answer_bad);
  g_test_add_func ("/lr/control-answers/relay-token", test_relay_token);
  g_test_add_func ("/lr/control-answers/relay-list", test_relay_list);
  g_test_add_func ("/lr/control-answers/events", test_events);
  g_test_add_func ("/lr/control-answers/events-bad", test_events_bad);
  g_test_add_func ("/lr/control-answers/error", test_error_answer);

  return g_test_run ();
}
