/* test-control-service.c: the control server's logic on a manual clock
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The HTTP front is covered by the test-control-* suites against the real binary; here the
 * service runs in-process on an in-memory database so the sweeper can be driven through
 * hours of protocol time at once. The service is asynchronous; the wrappers below wait for
 * each operation by iterating the default main context.
 */
#include "lr-error.h"
#include "lr-json.h"
#include "lr-relay-token.h"
#include "lrc-error.h"
#include "lrc-service.h"
#include "lrc-sqlite-store.h"

#include <sodium.h>

#define START_US (G_GINT64_CONSTANT (1800000000) * G_USEC_PER_SEC)

typedef struct
{
  LrClock     *clock;
  LrcStore    *store;
  LrcService  *service;
  GBytes      *secret;
  GPtrArray   *events;   /* "party_id event-type peer-name" */
} Fixture;

/* Waiting for the asynchronous service. */

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static JsonNode *
finish (LrcService    *service,
        GAsyncResult **slot,
        GError       **error)
{
  g_autoptr(GAsyncResult) result = wait_for (slot);

  *slot = NULL;
  return lrc_service_finish (service, result, error);
}

static gboolean
finish_nothing (LrcService    *service,
                GAsyncResult **slot,
                GError       **error)
{
  g_autoptr(JsonNode) node = finish (service, slot, error);

  return node != NULL;
}

static LrPeerIn *
peer_in_copy (const LrPeerIn *in)
{
  LrPeerIn *copy = g_new0 (LrPeerIn, 1);

  *copy = *in;
  copy->name = g_strdup (in->name);
  copy->wg_public_key = g_strdup (in->wg_public_key);
  copy->disco_public_key = g_strdup (in->disco_public_key);
  copy->endpoints = g_strdupv (in->endpoints);
  return copy;
}

static gboolean
service_authenticate (LrcService  *service,
                      const char  *token,
                      LrcCaller   *caller,
                      GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  lrc_service_authenticate_async (service, token, store_result_cb, &result);
  return lrc_service_authenticate_finish (service, wait_for (&result), caller, error);
}

static JsonNode *
service_create_party (LrcService                 *service,
                      const LrCreatePartyRequest *request,
                      GError                    **error)
{
  LrCreatePartyRequest *copy = g_new0 (LrCreatePartyRequest, 1);
  GAsyncResult *result = NULL;

  copy->name = g_strdup (request->name);
  copy->peer = peer_in_copy (request->peer);
  lrc_service_create_party_async (service, copy, store_result_cb, &result);
  return finish (service, &result, error);
}

static JsonNode *
service_join (LrcService          *service,
              const LrJoinRequest *request,
              GError             **error)
{
  LrJoinRequest *copy = g_new0 (LrJoinRequest, 1);
  GAsyncResult *result = NULL;

  copy->invite_code = g_strdup (request->invite_code);
  copy->peer = peer_in_copy (request->peer);
  lrc_service_join_async (service, copy, store_result_cb, &result);
  return finish (service, &result, error);
}

static JsonNode *
service_get_party (LrcService       *service,
                   const LrcCaller  *caller,
                   const char       *party_id,
                   GError          **error)
{
  GAsyncResult *result = NULL;

  lrc_service_get_party_async (service, caller, party_id, store_result_cb, &result);
  return finish (service, &result, error);
}

static gboolean
service_remove_peer (LrcService       *service,
                     const LrcCaller  *caller,
                     const char       *party_id,
                     const char       *peer_id,
                     GError          **error)
{
  GAsyncResult *result = NULL;

  lrc_service_remove_peer_async (service, caller, party_id, peer_id, store_result_cb, &result);
  return finish_nothing (service, &result, error);
}

static gboolean
service_close_party (LrcService       *service,
                     const LrcCaller  *caller,
                     const char       *party_id,
                     GError          **error)
{
  GAsyncResult *result = NULL;

  lrc_service_close_party_async (service, caller, party_id, store_result_cb, &result);
  return finish_nothing (service, &result, error);
}

static gboolean
service_register_relay (LrcService     *service,
                        const LrRelay  *relay,
                        GError        **error)
{
  LrRelay *copy = g_new0 (LrRelay, 1);
  GAsyncResult *result = NULL;

  copy->id = g_strdup (relay->id);
  copy->region = g_strdup (relay->region);
  copy->endpoint = g_strdup (relay->endpoint);
  lrc_service_register_relay_async (service, copy, store_result_cb, &result);
  return finish_nothing (service, &result, error);
}

static JsonNode *
service_list_relays (LrcService *service)
{
  GAsyncResult *result = NULL;
  JsonNode *node;

  lrc_service_list_relays_async (service, store_result_cb, &result);
  node = finish (service, &result, NULL);
  g_assert_nonnull (node);
  return node;
}

/* Lets the events that completions emit, and sweeps, run. */
static void
settle (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
event_cb (LrcService *service,
          const char *party_id,
          const char *message,
          Fixture    *fixture)
{
  g_autoptr(JsonNode) root = lr_json_parse_object (message, strlen (message), NULL);
  JsonObject *object = json_node_get_object (root);
  const char *type = json_object_get_string_member (object, "type");
  const char *name = "";

  if (json_object_has_member (object, "peer"))
    name = json_object_get_string_member (json_object_get_object_member (object, "peer"), "name");
  else if (json_object_has_member (object, "party"))
    name = json_object_get_string_member (json_object_get_object_member (object, "party"),
                                          "host_peer_id");

  g_ptr_array_add (fixture->events, g_strdup_printf ("%s %s", type, name));
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  LrcTimings timings;
  g_autoptr(GError) error = NULL;

  lrc_timings_init_defaults (&timings);
  fixture->clock = lr_clock_new_manual (START_US);
  fixture->store = LRC_STORE (lrc_sqlite_store_open (":memory:", &error));
  g_assert_no_error (error);
  fixture->secret = g_bytes_new_static ("a-test-secret-of-at-least-32-bytes!!", 36);
  fixture->service = lrc_service_new (fixture->store, fixture->clock, &timings,
                                      fixture->secret);
  fixture->events = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (fixture->service, "event", G_CALLBACK (event_cb), fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->service);
  g_clear_object (&fixture->store);
  g_clear_pointer (&fixture->clock, lr_clock_unref);
  g_clear_pointer (&fixture->secret, g_bytes_unref);
  g_clear_pointer (&fixture->events, g_ptr_array_unref);
}

static char *
random_key (void)
{
  guint8 key[32];
  char text[64];

  randombytes_buf (key, sizeof key);
  sodium_bin2base64 (text, sizeof text, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
  return g_strdup (text);
}

static char *
peer_json (const char *name)
{
  g_autofree char *wg = random_key ();
  g_autofree char *disco = random_key ();

  return g_strdup_printf ("{\"name\": \"%s\", \"wg_public_key\": \"%s\", "
                          "\"disco_public_key\": \"%s\"}", name, wg, disco);
}

typedef struct
{
  char      *party_id;
  char      *invite_code;
  char      *peer_id;
  char      *token;
  char      *virtual_ip;
  char      *relay_token;
  LrcCaller  caller;
} Welcome;

static void
welcome_clear (Welcome *welcome)
{
  g_free (welcome->party_id);
  g_free (welcome->invite_code);
  g_free (welcome->peer_id);
  g_free (welcome->token);
  g_free (welcome->virtual_ip);
  g_free (welcome->relay_token);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Welcome, welcome_clear)

static void
read_welcome (Fixture  *fixture,
              JsonNode *root,
              Welcome  *out)
{
  JsonObject *party = json_object_get_object_member (json_node_get_object (root), "party");
  JsonObject *peer = json_object_get_object_member (json_node_get_object (root), "peer");
  g_autoptr(GError) error = NULL;

  out->party_id = g_strdup (json_object_get_string_member (party, "id"));
  out->invite_code = g_strdup (json_object_get_string_member (party, "invite_code"));
  out->peer_id = g_strdup (json_object_get_string_member (peer, "id"));
  out->token = g_strdup (json_object_get_string_member (peer, "token"));
  out->virtual_ip = g_strdup (json_object_get_string_member (peer, "virtual_ip"));
  out->relay_token = g_strdup (json_object_get_string_member (peer, "relay_token"));

  g_assert_true (service_authenticate (fixture->service, out->token, &out->caller, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out->caller.peer_id, ==, out->peer_id);
}

static void
create (Fixture    *fixture,
        const char *name,
        Welcome    *out)
{
  g_autofree char *peer = peer_json (name);
  g_autofree char *body = g_strdup_printf ("{\"name\": \"party\", \"peer\": %s}", peer);
  g_autoptr(LrCreatePartyRequest) request = lr_create_party_request_parse (body, strlen (body), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = service_create_party (fixture->service, request, &error);

  g_assert_no_error (error);
  read_welcome (fixture, root, out);
}

static void
join (Fixture    *fixture,
      const char *code,
      const char *name,
      Welcome    *out)
{
  g_autofree char *peer = peer_json (name);
  g_autofree char *body = g_strdup_printf ("{\"invite_code\": \"%s\", \"peer\": %s}", code, peer);
  g_autoptr(LrJoinRequest) request = lr_join_request_parse (body, strlen (body), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = service_join (fixture->service, request, &error);

  g_assert_no_error (error);
  read_welcome (fixture, root, out);
}

/* Formats into a buffer that lives until the next call with the same slot. */
static const char *
fmt (guint       slot,
     const char *format,
     const char *value)
{
  static char buffers[2][96];

  g_snprintf (buffers[slot], sizeof buffers[slot], format, value);
  return buffers[slot];
}

static void
assert_events (Fixture    *fixture,
               const char *first,
               ...)
{
  va_list args;
  const char *expected = first;
  guint i = 0;

  settle ();
  va_start (args, first);
  for (; expected != NULL; expected = va_arg (args, const char *), i++)
    {
      if (i >= fixture->events->len)
        g_error ("expected event '%s', got nothing more", expected);
      g_assert_cmpstr (g_ptr_array_index (fixture->events, i), ==, expected);
    }
  va_end (args);

  g_assert_cmpuint (fixture->events->len, ==, i);
  g_ptr_array_set_size (fixture->events, 0);
}

static guint
count_peers (Fixture       *fixture,
             const Welcome *member)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = service_get_party (fixture->service, &member->caller,
                                                    member->party_id, &error);

  if (root == NULL)
    return 0;
  return json_array_get_length (json_object_get_array_member (json_node_get_object (root),
                                                              "peers"));
}

static void
advance (Fixture *fixture,
         gint64   seconds)
{
  lr_clock_advance (fixture->clock, seconds * G_USEC_PER_SEC);
  lrc_service_sweep (fixture->service);
  settle ();
}

/* A quiet peer goes offline after 60 s and is removed 10 minutes later; a heartbeat in
 * between brings it back. The host's hand-over and the events come in order. */
static void
test_offline_then_removed (Fixture       *fixture,
                           gconstpointer  data)
{
  g_auto(Welcome) host = { 0 };
  g_auto(Welcome) guest = { 0 };
  g_autoptr(GError) error = NULL;

  create (fixture, "host", &host);
  join (fixture, host.invite_code, "guest", &guest);
  g_assert_cmpstr (guest.virtual_ip, ==, "10.66.0.2");
  assert_events (fixture, "peer_joined guest", NULL);

  /* Both keep a socket open... except the host, who only heartbeats. */
  lrc_service_socket_opened (fixture->service, &guest.caller);
  advance (fixture, 59);
  assert_events (fixture, NULL);
  advance (fixture, 2);
  assert_events (fixture, "peer_offline host", NULL);

  /* A heartbeat brings the host back. */
  g_assert_true (lrc_service_heartbeat (fixture->service, &host.caller, host.party_id,
                                        host.peer_id, &error));
  assert_events (fixture, "peer_updated host", NULL);

  /* Quiet again: offline at +60 s, removed 10 minutes after that, host passes on. */
  advance (fixture, 61);
  assert_events (fixture, "peer_offline host", NULL);
  advance (fixture, 9 * 60);
  assert_events (fixture, NULL);
  g_assert_cmpuint (count_peers (fixture, &guest), ==, 2);
  advance (fixture, 61);
  assert_events (fixture, "peer_left host", fmt (0, "party_updated %s", guest.peer_id),
                 NULL);
  g_assert_cmpuint (count_peers (fixture, &guest), ==, 1);

  /* The removed peer's token is dead. */
  {
    LrcCaller caller;
    g_assert_false (service_authenticate (fixture->service, host.token, &caller, &error));
    g_assert_error (error, LRC_ERROR, LRC_ERROR_UNAUTHORIZED);
  }

  /* The guest's open socket kept it online through all of this. */
  lrc_service_socket_closed (fixture->service, &guest.caller);
  advance (fixture, 59);
  assert_events (fixture, NULL);
}

/* Nobody left: the party survives an hour (people can come back), then it is deleted. */
static void
test_empty_party_expires (Fixture       *fixture,
                          gconstpointer  data)
{
  g_auto(Welcome) host = { 0 };
  g_auto(Welcome) back = { 0 };
  g_auto(Welcome) late = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(LrJoinRequest) request = NULL;
  g_autofree char *peer = peer_json ("late");
  g_autofree char *body = NULL;
  g_autoptr(JsonNode) refused = NULL;

  create (fixture, "host", &host);
  g_assert_true (service_remove_peer (fixture->service, &host.caller, host.party_id,
                                          host.peer_id, &error));
  g_ptr_array_set_size (fixture->events, 0);

  /* Within the hour the code still works, and the newcomer is the host. */
  advance (fixture, 30 * 60);
  join (fixture, host.invite_code, "back", &back);
  assert_events (fixture, fmt (0, "party_updated %s", back.peer_id), "peer_joined back",
                 NULL);
  g_assert_true (service_remove_peer (fixture->service, &back.caller, back.party_id,
                                          back.peer_id, &error));

  advance (fixture, 59 * 60);
  join (fixture, host.invite_code, "late", &late);
  g_assert_true (service_remove_peer (fixture->service, &late.caller, late.party_id,
                                          late.peer_id, &error));
  advance (fixture, 60 * 60 + 1);

  body = g_strdup_printf ("{\"invite_code\": \"%s\", \"peer\": %s}", host.invite_code, peer);
  request = lr_join_request_parse (body, strlen (body), NULL);
  refused = service_join (fixture->service, request, &error);
  g_assert_null (refused);
  g_assert_error (error, LRC_ERROR, LRC_ERROR_INVITE_NOT_FOUND);
}

static void
test_relays_expire (Fixture       *fixture,
                    gconstpointer  data)
{
  LrRelay relay = { .id = (char *) "eu-1", .region = (char *) "Europe",
                    .endpoint = (char *) "198.51.100.9:3478" };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) listed = NULL;
  g_autoptr(JsonNode) empty = NULL;
  JsonArray *relays;

  g_assert_false (lrc_service_check_relay_secret (fixture->service, "wrong", &error));
  g_assert_error (error, LRC_ERROR, LRC_ERROR_UNAUTHORIZED);
  g_clear_error (&error);
  g_assert_true (lrc_service_check_relay_secret (fixture->service,
                                                 "a-test-secret-of-at-least-32-bytes!!", &error));
  g_assert_true (service_register_relay (fixture->service, &relay, &error));

  advance (fixture, 59);
  listed = service_list_relays (fixture->service);
  relays = json_object_get_array_member (json_node_get_object (listed), "relays");
  g_assert_cmpuint (json_array_get_length (relays), ==, 1);

  advance (fixture, 2);
  empty = service_list_relays (fixture->service);
  relays = json_object_get_array_member (json_node_get_object (empty), "relays");
  g_assert_cmpuint (json_array_get_length (relays), ==, 0);
}

/* Addresses are unique, skip .0 and .255, and a peer that comes back gets its old one. */
static void
test_addresses (Fixture       *fixture,
                gconstpointer  data)
{
  g_auto(Welcome) host = { 0 };
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *wg = random_key ();
  g_autofree char *disco = random_key ();
  g_autofree char *body = g_strdup_printf ("{\"invite_code\": \"%s\", \"peer\": {\"name\": "
                                           "\"again\", \"wg_public_key\": \"%s\", "
                                           "\"disco_public_key\": \"%s\"}}", "%s", wg, disco);
  g_autofree char *first_ip = NULL;

  create (fixture, "host", &host);
  g_hash_table_add (seen, g_strdup (host.virtual_ip));

  for (guint i = 0; i < 10; i++)
    {
      g_auto(Welcome) guest = { 0 };

      join (fixture, host.invite_code, "guest", &guest);
      g_assert_true (g_str_has_prefix (guest.virtual_ip, "10.66."));
      g_assert_false (g_str_has_suffix (guest.virtual_ip, ".0"));
      g_assert_false (g_str_has_suffix (guest.virtual_ip, ".255"));
      g_assert_true (g_hash_table_add (seen, g_strdup (guest.virtual_ip)));
    }

  for (guint round = 0; round < 2; round++)
    {
      g_autofree char *text = g_strdup_printf (body, host.invite_code);
      g_autoptr(LrJoinRequest) request = lr_join_request_parse (text, strlen (text), &error);
      g_autoptr(JsonNode) root = NULL;
      g_auto(Welcome) again = { 0 };

      g_assert_no_error (error);
      root = service_join (fixture->service, request, &error);
      g_assert_no_error (error);
      read_welcome (fixture, root, &again);

      if (round == 0)
        first_ip = g_strdup (again.virtual_ip);
      else
        g_assert_cmpstr (again.virtual_ip, ==, first_ip);

      /* Joining twice with the same key is refused while it is in. */
      {
        g_autoptr(JsonNode) twice = service_join (fixture->service, request, &error);
        g_assert_null (twice);
        g_assert_error (error, LRC_ERROR, LRC_ERROR_ALREADY_JOINED);
        g_clear_error (&error);
      }

      g_assert_true (service_remove_peer (fixture->service, &again.caller, again.party_id,
                                              again.peer_id, &error));
    }
}

static void
test_authorisation (Fixture       *fixture,
                    gconstpointer  data)
{
  g_auto(Welcome) a = { 0 };
  g_auto(Welcome) a2 = { 0 };
  g_auto(Welcome) b = { 0 };
  g_autoptr(GError) error = NULL;
  LrRelayTokenClaims claims;

  create (fixture, "a", &a);
  join (fixture, a.invite_code, "a2", &a2);
  create (fixture, "b", &b);

  /* Another party's token. */
  g_assert_null (service_get_party (fixture->service, &b.caller, a.party_id, &error));
  g_assert_error (error, LRC_ERROR, LRC_ERROR_FORBIDDEN);
  g_clear_error (&error);

  /* Someone else's peer. */
  g_assert_false (lrc_service_heartbeat (fixture->service, &a2.caller, a.party_id, a.peer_id,
                                         &error));
  g_assert_error (error, LRC_ERROR, LRC_ERROR_FORBIDDEN);
  g_clear_error (&error);

  /* Only the host removes others and closes the party. */
  g_assert_false (service_remove_peer (fixture->service, &a2.caller, a.party_id, a.peer_id,
                                           &error));
  g_assert_error (error, LRC_ERROR, LRC_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_false (service_close_party (fixture->service, &a2.caller, a.party_id, &error));
  g_assert_error (error, LRC_ERROR, LRC_ERROR_FORBIDDEN);
  g_clear_error (&error);

  /* Odd ids are not found, whoever asks. */
  g_assert_null (service_get_party (fixture->service, &a.caller, "..", &error));
  g_assert_error (error, LRC_ERROR, LRC_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The relay token names this party and peer, and verifies with the shared secret. */
  g_assert_true (lr_relay_token_verify (fixture->secret, a2.relay_token,
                                        START_US / G_USEC_PER_SEC, &claims, &error));
  g_assert_cmpstr (claims.party_id, ==, a.party_id);
  g_assert_cmpstr (claims.peer_id, ==, a2.peer_id);

  g_ptr_array_set_size (fixture->events, 0);
  g_assert_true (service_close_party (fixture->service, &a.caller, a.party_id, &error));
  assert_events (fixture, fmt (0, "party_closed %s", a.peer_id), NULL);
  g_assert_false (service_authenticate (fixture->service, a2.token, &a2.caller, &error));
  g_assert_error (error, LRC_ERROR, LRC_ERROR_UNAUTHORIZED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/lrc/service/sweep/offline-then-removed", test_offline_then_removed);
  ADD ("/lrc/service/sweep/empty-party-expires", test_empty_party_expires);
  ADD ("/lrc/service/sweep/relays-expire", test_relays_expire);
  ADD ("/lrc/service/addresses", test_addresses);
  ADD ("/lrc/service/authorisation", test_authorisation);

  return g_test_run ();
}
