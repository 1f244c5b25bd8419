/* test-control-api.c: lanrage-control's routes, used the way the helper uses them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-test-control.h"

#include "lr-control-models.h"
#include "lr-relay-token.h"
#include "lr-token.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

typedef LrTestFixture Fixture;

static gint64
parse_time (const char *text)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (text, NULL);

  if (time == NULL)
    g_error ("Not an RFC 3339 time: %s", text);
  return g_date_time_to_unix (time);
}

static JsonNode *
get_party (LrTestServer *server,
           LrTestMember *member)
{
  g_autofree char *path = lr_test_party_path (member, "");
  g_autoptr(LrTestResponse) response = lr_test_request (server, "GET", path, member->token,
                                                        NULL);

  lr_test_assert_status (response, 200);
  g_assert_nonnull (response->body);
  return json_node_ref (response->body);
}

static void
test_create_answer (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "Friday LAN", "alice");
  JsonNode *answer = host->answer;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 created = parse_time (lr_test_json_string (answer, "party.created_at"));
  JsonArray *endpoints;

  g_assert_cmpstr (lr_test_json_string (answer, "party.name"), ==, "Friday LAN");
  g_assert_cmpint (ABS (created - now), <=, 5);
  g_assert_true (g_str_has_suffix (lr_test_json_string (answer, "party.created_at"), "Z"));
  g_assert_true (lr_test_json_bool (answer, "peer.online"));
  g_assert_cmpint (ABS (parse_time (lr_test_json_string (answer, "peer.last_seen")) - now), <=,
                   5);
  g_assert_cmpint (parse_time (lr_test_json_string (answer, "peer.relay_token_expires_at")), >,
                   now);
  endpoints = lr_test_json_array (answer, "peer.endpoints");
  g_assert_cmpuint (json_array_get_length (endpoints), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (endpoints, 0), ==, "192.0.2.10:51820");
  (void) lr_test_json_lookup (answer, "peer.nat");

  /* The invite code uses Crockford's alphabet only. */
  for (const char *p = host->invite_code; *p != '\0'; p++)
    g_assert_true (*p == '-' || strchr ("0123456789ABCDEFGHJKMNPQRSTVWXYZ", *p) != NULL);
}

static void
test_join_unique_addresses (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(LrTestMember) alice = lr_test_create_party (fixture->server, "party", "alice");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, alice->invite_code, "bob");
  g_autoptr(LrTestMember) carol = lr_test_join (fixture->server, alice->invite_code, "carol");
  LrTestMember *members[] = { alice, bob, carol };
  g_autoptr(JsonNode) listing = NULL;
  JsonArray *peers;

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      g_assert_cmpstr (members[i]->party_id, ==, alice->party_id);
      g_assert_cmpstr (members[i]->host_peer_id, ==, alice->peer_id);
      g_assert_cmpstr (members[i]->invite_code, ==, alice->invite_code);
      g_assert_true (lr_test_virtual_ip_is_valid (members[i]->virtual_ip));
      for (guint j = 0; j < i; j++)
        {
          g_assert_cmpstr (members[i]->virtual_ip, !=, members[j]->virtual_ip);
          g_assert_cmpstr (members[i]->peer_id, !=, members[j]->peer_id);
          g_assert_cmpstr (members[i]->token, !=, members[j]->token);
        }
    }

  /* Every member sees the same list: the three peers with what they said about themselves,
   * and nobody's token. */
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      g_clear_pointer (&listing, json_node_unref);
      listing = get_party (fixture->server, members[i]);
      g_assert_cmpstr (lr_test_json_string (listing, "party.id"), ==, alice->party_id);
      g_assert_cmpstr (lr_test_json_string (listing, "party.host_peer_id"), ==, alice->peer_id);
      peers = lr_test_json_array (listing, "peers");
      g_assert_cmpuint (json_array_get_length (peers), ==, 3);

      for (guint j = 0; j < G_N_ELEMENTS (members); j++)
        {
          JsonNode *peer = lr_test_json_array_find_peer (peers, members[j]->peer_id);

          g_assert_nonnull (peer);
          g_assert_cmpstr (lr_test_json_string (peer, "name"), ==, members[j]->name);
          g_assert_cmpstr (lr_test_json_string (peer, "virtual_ip"), ==, members[j]->virtual_ip);
          g_assert_cmpstr (lr_test_json_string (peer, "wg_public_key"), ==,
                           members[j]->wg_public_key);
          g_assert_cmpstr (lr_test_json_string (peer, "disco_public_key"), ==,
                           members[j]->disco_public_key);
          g_assert_null (lr_test_json_find (peer, "token"));
          g_assert_null (lr_test_json_find (peer, "relay_token"));
        }
    }
}

/* Crockford's look-alikes, the way a person might type them. */
static char *
confuse (const char *code)
{
  char *copy = g_strdup (code);

  for (char *p = copy; *p != '\0'; p++)
    {
      if (*p == '0')
        *p = 'O';
      else if (*p == '1')
        *p = (p - copy) % 2 ? 'I' : 'l';
    }
  return copy;
}

static void
test_join_invite_code_forms (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(LrTestMember) host = NULL;
  g_autofree char *confused = NULL;
  g_autofree char *lower = NULL;
  g_autofree char *undashed = NULL;
  g_autofree char *link = NULL;
  g_autofree char *spaced = NULL;

  /* Find a party whose code holds a 0 or a 1, so the look-alikes are really tried. */
  for (guint i = 0; i < 40; i++)
    {
      g_clear_pointer (&host, lr_test_member_free);
      host = lr_test_create_party (fixture->server, "codes", "host");
      if (strpbrk (host->invite_code, "01") != NULL)
        break;
    }
  g_assert_nonnull (strpbrk (host->invite_code, "01"));

  lower = g_ascii_strdown (host->invite_code, -1);
  {
    g_auto(GStrv) groups = g_strsplit (host->invite_code, "-", -1);

    undashed = g_strjoinv ("", groups);
  }
  confused = confuse (host->invite_code);
  link = g_strconcat ("lanrage://join/", host->invite_code, NULL);
  spaced = g_strconcat ("  ", lower, " ", NULL);
  g_assert_cmpstr (confused, !=, host->invite_code);

  {
    const char *forms[] = { lower, undashed, confused, link, spaced };

    for (guint i = 0; i < G_N_ELEMENTS (forms); i++)
      {
        g_autofree char *name = g_strdup_printf ("guest%u", i);
        g_autoptr(LrTestMember) guest = NULL;

        g_test_message ("joining with \"%s\"", forms[i]);
        guest = lr_test_join (fixture->server, forms[i], name);
        g_assert_cmpstr (guest->party_id, ==, host->party_id);
        g_assert_cmpstr (guest->invite_code, ==, host->invite_code);
      }
  }

  {
    g_autoptr(JsonNode) listing = get_party (fixture->server, host);

    g_assert_cmpuint (json_array_get_length (lr_test_json_array (listing, "peers")), ==, 6);
  }
}

static void
test_join_already_joined (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) other_host = lr_test_create_party (fixture->server, "other", "host2");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autofree char *disco = lr_test_random_key ();
  g_autoptr(JsonNode) listing = NULL;

  /* Bob's key again, and the host's key, with another name and disco key: refused. */
  {
    g_autofree char *peer = lr_test_peer_in_json ("bob again", bob->wg_public_key, disco);
    g_autofree char *body = lr_test_join_body (host->invite_code, peer);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", "/v1/join",
                                                          NULL, body);

    lr_test_assert_error (response, 409, "already_joined");
  }
  {
    g_autofree char *peer = lr_test_peer_in_json ("impostor", host->wg_public_key, disco);
    g_autofree char *body = lr_test_join_body (host->invite_code, peer);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", "/v1/join",
                                                          NULL, body);

    lr_test_assert_error (response, 409, "already_joined");
  }

  listing = get_party (fixture->server, host);
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (listing, "peers")), ==, 2);

  /* The same key in another party is another membership. */
  {
    g_autofree char *peer = lr_test_peer_in_json ("bob", bob->wg_public_key, disco);
    g_autofree char *body = lr_test_join_body (other_host->invite_code, peer);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", "/v1/join",
                                                          NULL, body);

    lr_test_assert_status (response, 201);
    g_assert_cmpstr (lr_test_json_string (response->body, "party.id"), ==,
                     other_host->party_id);
  }
}

/* The README caps a party at 250 peers; the next join is told so and changes nothing. */
static void
test_join_party_full (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "crowd", "host");
  g_autoptr(GHashTable) addresses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                           NULL);
  guint members = 1;

  g_hash_table_add (addresses, g_strdup (host->virtual_ip));
  for (;;)
    {
      g_autofree char *name = g_strdup_printf ("guest %u", members);
      g_autofree char *wg = lr_test_random_key ();
      g_autofree char *disco = lr_test_random_key ();
      g_autofree char *peer = lr_test_peer_in_json (name, wg, disco);
      g_autofree char *body = lr_test_join_body (host->invite_code, peer);
      g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", "/v1/join",
                                                            NULL, body);
      const char *address;

      if (response->status != 201)
        {
          lr_test_assert_error (response, 409, "party_full");
          break;
        }

      address = lr_test_json_string (response->body, "peer.virtual_ip");
      g_assert_true (lr_test_virtual_ip_is_valid (address));
      g_assert_false (g_hash_table_contains (addresses, address));
      g_hash_table_add (addresses, g_strdup (address));
      members++;
      g_assert_cmpuint (members, <=, 250);
    }

  g_assert_cmpuint (members, ==, 250);
  {
    g_autofree char *path = lr_test_party_path (host, "");
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", path,
                                                          host->token, NULL);

    lr_test_assert_status (response, 200);
    g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "peers")), ==,
                      250);
  }
}

/* Peers come and go until the allocator has gone past 10.66.0.255 and 10.66.1.0: no address
 * ends in .0 or .255, and nobody present shares one. */
static void
test_join_address_churn (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "churn", "host");
  g_autoptr(LrTestMember) stayer = lr_test_join (fixture->server, host->invite_code, "stayer");
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < 300; i++)
    {
      g_autofree char *name = g_strdup_printf ("visitor %u", i);
      g_autoptr(LrTestMember) visitor = lr_test_join (fixture->server, host->invite_code, name);
      g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s", visitor->party_id,
                                               visitor->peer_id);
      g_autoptr(LrTestResponse) response = NULL;

      g_assert_true (lr_test_virtual_ip_is_valid (visitor->virtual_ip));
      g_assert_cmpstr (visitor->virtual_ip, !=, host->virtual_ip);
      g_assert_cmpstr (visitor->virtual_ip, !=, stayer->virtual_ip);
      g_hash_table_add (seen, g_strdup (visitor->virtual_ip));

      response = lr_test_request (fixture->server, "DELETE", path, visitor->token, NULL);
      lr_test_assert_status (response, 204);
    }

  /* More than one visitor got an address of their own (no allocator stuck on one value). */
  g_test_message ("%u distinct addresses over 300 visits", g_hash_table_size (seen));
  g_assert_cmpuint (g_hash_table_size (seen), >, 1);
}

static void
test_join_rate_limit (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "limited", "host");
  guint64 retry = 0;

  /* One create and nine joins are the ten a minute the default allows. */
  for (guint i = 0; i < 9; i++)
    {
      g_autofree char *name = g_strdup_printf ("guest%u", i);
      g_autoptr(LrTestMember) guest = lr_test_join (fixture->server, host->invite_code, name);
    }

  {
    g_autofree char *wg = lr_test_random_key ();
    g_autofree char *disco = lr_test_random_key ();
    g_autofree char *peer = lr_test_peer_in_json ("eleventh", wg, disco);
    g_autofree char *body = lr_test_join_body (host->invite_code, peer);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", "/v1/join",
                                                          NULL, body);

    lr_test_assert_error (response, 429, "rate_limited");
    g_assert_nonnull (response->retry_after);
    g_assert_true (g_ascii_string_to_unsigned (response->retry_after, 10, 1, 60, &retry, NULL));
  }
  {
    g_autofree char *wg = lr_test_random_key ();
    g_autofree char *disco = lr_test_random_key ();
    g_autofree char *peer = lr_test_peer_in_json ("twelfth", wg, disco);
    g_autofree char *body = lr_test_create_body ("another", peer);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", "/v1/parties",
                                                          NULL, body);

    lr_test_assert_error (response, 429, "rate_limited");
  }

  /* Only creates and joins are limited, and the refused join left no trace. */
  {
    g_autoptr(JsonNode) listing = get_party (fixture->server, host);

    g_assert_cmpuint (json_array_get_length (lr_test_json_array (listing, "peers")), ==, 10);
  }
}

static void
test_peer_update (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autofree char *bob_path = lr_test_party_path (bob, "/peers/");
  g_autofree char *own = g_strconcat (bob_path, bob->peer_id, NULL);
  g_autofree char *hosts = g_strconcat (bob_path, host->peer_id, NULL);
  g_autoptr(LrTestResponse) response = NULL;
  g_autoptr(JsonNode) listing = NULL;
  JsonNode *peer;
  JsonArray *endpoints;

  response = lr_test_request (fixture->server, "PATCH", own, bob->token,
                              "{\"name\": \"  Bob the Builder \", "
                              "\"endpoints\": [\"198.51.100.7:41641\", \"[2001:db8::7]:41641\"], "
                              "\"nat\": {\"mapping\": \"endpoint_independent\", "
                              "\"filtering\": \"address_and_port_dependent\"}}");
  lr_test_assert_status (response, 200);
  g_assert_cmpstr (lr_test_json_string (response->body, "peer.id"), ==, bob->peer_id);
  g_assert_cmpstr (lr_test_json_string (response->body, "peer.name"), ==, "Bob the Builder");
  g_assert_cmpstr (lr_test_json_string (response->body, "peer.virtual_ip"), ==, bob->virtual_ip);
  g_assert_cmpstr (lr_test_json_string (response->body, "peer.nat.mapping"), ==,
                   "endpoint_independent");
  g_assert_cmpstr (lr_test_json_string (response->body, "peer.nat.filtering"), ==,
                   "address_and_port_dependent");
  g_assert_null (lr_test_json_find (response->body, "peer.token"));

  /* The host sees it too. */
  listing = get_party (fixture->server, host);
  peer = lr_test_json_array_find_peer (lr_test_json_array (listing, "peers"), bob->peer_id);
  g_assert_nonnull (peer);
  g_assert_cmpstr (lr_test_json_string (peer, "name"), ==, "Bob the Builder");
  endpoints = lr_test_json_array (peer, "endpoints");
  g_assert_cmpuint (json_array_get_length (endpoints), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (endpoints, 0), ==, "198.51.100.7:41641");
  g_assert_cmpstr (json_array_get_string_element (endpoints, 1), ==, "[2001:db8::7]:41641");

  /* A field left out is left alone. */
  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "PATCH", own, bob->token, "{\"endpoints\": []}");
  lr_test_assert_status (response, 200);
  g_assert_cmpstr (lr_test_json_string (response->body, "peer.name"), ==, "Bob the Builder");
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body,
                                                               "peer.endpoints")), ==, 0);

  /* Someone else's peer: forbidden, and nothing changed. */
  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "PATCH", hosts, bob->token,
                              "{\"name\": \"pwned\"}");
  lr_test_assert_error (response, 403, "forbidden");

  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "PATCH", own, bob->token,
                              "{\"name\": \"x\", \"virtual_ip\": \"10.66.0.1\"}");
  lr_test_assert_error (response, 400, "unknown_field");

  g_clear_pointer (&listing, json_node_unref);
  listing = get_party (fixture->server, host);
  peer = lr_test_json_array_find_peer (lr_test_json_array (listing, "peers"), host->peer_id);
  g_assert_cmpstr (lr_test_json_string (peer, "name"), ==, "host");
  peer = lr_test_json_array_find_peer (lr_test_json_array (listing, "peers"), bob->peer_id);
  g_assert_cmpstr (lr_test_json_string (peer, "virtual_ip"), ==, bob->virtual_ip);
}

/* POSTs a heartbeat of @member with its own token; returns the status. */
static guint
heartbeat (LrTestServer       *server,
           const LrTestMember *member)
{
  g_autofree char *suffix = g_strdup_printf ("/peers/%s/heartbeat", member->peer_id);
  g_autofree char *path = lr_test_party_path (member, suffix);
  g_autoptr(LrTestResponse) response = lr_test_request (server, "POST", path, member->token,
                                                        NULL);

  return response->status;
}

/* A token that heartbeats answered before stops working the moment its peer leaves, is
 * removed or its party closes: heartbeats remember verified tokens, and must forget them. */
static void
test_peer_heartbeat_after_removal (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autoptr(LrTestMember) carol = lr_test_join (fixture->server, host->invite_code, "carol");
  g_autoptr(LrTestMember) dave = lr_test_join (fixture->server, host->invite_code, "dave");
  const LrTestMember *members[] = { host, bob, carol, dave };

  for (guint round = 0; round < 3; round++)
    for (guint i = 0; i < G_N_ELEMENTS (members); i++)
      g_assert_cmpuint (heartbeat (fixture->server, members[i]), ==, 204);

  /* Bob leaves. */
  {
    g_autofree char *suffix = g_strdup_printf ("/peers/%s", bob->peer_id);
    g_autofree char *path = lr_test_party_path (bob, suffix);
    g_autoptr(LrTestResponse) left = lr_test_request (fixture->server, "DELETE", path,
                                                      bob->token, NULL);

    lr_test_assert_status (left, 204);
  }
  g_assert_cmpuint (heartbeat (fixture->server, bob), ==, 401);
  g_assert_cmpuint (heartbeat (fixture->server, carol), ==, 204);

  /* The host removes Carol. */
  {
    g_autofree char *suffix = g_strdup_printf ("/peers/%s", carol->peer_id);
    g_autofree char *path = lr_test_party_path (carol, suffix);
    g_autoptr(LrTestResponse) removed = lr_test_request (fixture->server, "DELETE", path,
                                                         host->token, NULL);

    lr_test_assert_status (removed, 204);
  }
  g_assert_cmpuint (heartbeat (fixture->server, carol), ==, 401);
  g_assert_cmpuint (heartbeat (fixture->server, dave), ==, 204);

  /* The host closes the party: every member's token ends. */
  {
    g_autofree char *path = lr_test_party_path (host, "");
    g_autoptr(LrTestResponse) closed = lr_test_request (fixture->server, "DELETE", path,
                                                        host->token, NULL);

    lr_test_assert_status (closed, 204);
  }
  g_assert_cmpuint (heartbeat (fixture->server, host), ==, 401);
  g_assert_cmpuint (heartbeat (fixture->server, dave), ==, 401);
}

static void
test_peer_heartbeat (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autoptr(LrTestMember) stranger = lr_test_create_party (fixture->server, "other", "eve");
  g_autofree char *own = g_strdup_printf ("/v1/parties/%s/peers/%s/heartbeat", bob->party_id,
                                          bob->peer_id);
  g_autofree char *hosts = g_strdup_printf ("/v1/parties/%s/peers/%s/heartbeat", host->party_id,
                                            host->peer_id);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", own,
                                                            bob->token, NULL);

      lr_test_assert_status (response, 204);
      g_assert_cmpuint (g_bytes_get_size (response->raw), ==, 0);
    }

  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", hosts,
                                                          bob->token, NULL);

    lr_test_assert_error (response, 403, "forbidden");
  }
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", own,
                                                          stranger->token, NULL);

    lr_test_assert_error (response, 403, "forbidden");
  }
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", own, NULL,
                                                          NULL);

    lr_test_assert_error (response, 401, "unauthorized");
  }
}

static void
assert_token_refused (LrTestServer *server,
                      LrTestMember *member)
{
  g_autofree char *path = lr_test_party_path (member, "");
  g_autoptr(LrTestResponse) response = lr_test_request (server, "GET", path, member->token,
                                                        NULL);

  lr_test_assert_error (response, 401, "unauthorized");
}

static void
test_peer_leave_and_remove (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autoptr(LrTestMember) carol = lr_test_join (fixture->server, host->invite_code, "carol");
  g_autoptr(LrTestMember) dave = lr_test_join (fixture->server, host->invite_code, "dave");
  g_autofree char *peers = lr_test_party_path (host, "/peers/");
  g_autofree char *carol_path = g_strconcat (peers, carol->peer_id, NULL);
  g_autofree char *bob_path = g_strconcat (peers, bob->peer_id, NULL);
  g_autofree char *dave_path = g_strconcat (peers, dave->peer_id, NULL);
  g_autoptr(JsonNode) listing = NULL;
  JsonArray *list;

  /* A member cannot remove another member. */
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE", dave_path,
                                                          bob->token, NULL);

    lr_test_assert_error (response, 403, "forbidden");
  }

  /* Carol leaves. */
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE",
                                                          carol_path, carol->token, NULL);

    lr_test_assert_status (response, 204);
  }
  assert_token_refused (fixture->server, carol);

  /* The host removes Bob. */
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE", bob_path,
                                                          host->token, NULL);

    lr_test_assert_status (response, 204);
  }
  assert_token_refused (fixture->server, bob);

  listing = get_party (fixture->server, dave);
  list = lr_test_json_array (listing, "peers");
  g_assert_cmpuint (json_array_get_length (list), ==, 2);
  g_assert_nonnull (lr_test_json_array_find_peer (list, host->peer_id));
  g_assert_nonnull (lr_test_json_array_find_peer (list, dave->peer_id));

  /* Gone is gone: removing Bob again finds nobody. */
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE", bob_path,
                                                          host->token, NULL);

    g_assert_cmpuint (response->status, ==, 404);
  }
}

static void
test_party_close (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autofree char *path = lr_test_party_path (host, "");

  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE", path,
                                                          bob->token, NULL);

    lr_test_assert_error (response, 403, "forbidden");
  }
  {
    g_autoptr(JsonNode) listing = get_party (fixture->server, host);

    g_assert_cmpuint (json_array_get_length (lr_test_json_array (listing, "peers")), ==, 2);
  }
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE", path,
                                                          host->token, NULL);

    lr_test_assert_status (response, 204);
  }

  /* The party, its tokens and its invite code are gone. */
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", path,
                                                          host->token, NULL);

    if (response->status != 401 && response->status != 404)
      lr_test_assert_status (response, 401);
  }
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", path,
                                                          bob->token, NULL);

    if (response->status != 401 && response->status != 404)
      lr_test_assert_status (response, 401);
  }
  {
    g_autofree char *wg = lr_test_random_key ();
    g_autofree char *disco = lr_test_random_key ();
    g_autofree char *peer = lr_test_peer_in_json ("late", wg, disco);
    g_autofree char *body = lr_test_join_body (host->invite_code, peer);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", "/v1/join",
                                                          NULL, body);

    lr_test_assert_error (response, 404, "invite_not_found");
  }
}

static void
test_relay_token (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autoptr(LrTestMember) stranger = lr_test_create_party (fixture->server, "other", "eve");
  g_autofree char *secret_path = g_build_filename (lr_test_server_get_tmpdir (fixture->server),
                                                   "relay-secret", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) secret = lr_secret_load_file (secret_path, &error);
  g_autofree char *path = lr_test_party_path (bob, "/relay-token");
  g_autoptr(LrTestResponse) response = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  LrRelayTokenClaims claims = { 0 };

  g_assert_no_error (error);
  g_assert_nonnull (secret);

  /* The token handed out at join time. */
  lr_relay_token_verify (secret, bob->relay_token, now, &claims, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (claims.party_id, ==, bob->party_id);
  g_assert_cmpstr (claims.peer_id, ==, bob->peer_id);

  /* A fresh one. */
  response = lr_test_request (fixture->server, "POST", path, bob->token, NULL);
  lr_test_assert_status (response, 200);
  memset (&claims, 0, sizeof claims);
  lr_relay_token_verify (secret, lr_test_json_string (response->body, "relay_token"), now,
                         &claims, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (claims.party_id, ==, bob->party_id);
  g_assert_cmpstr (claims.peer_id, ==, bob->peer_id);
  /* The default lifetime is an hour, and the answer tells the truth about it. */
  g_assert_cmpint (claims.expires_at, >=, now + 3600 - 60);
  g_assert_cmpint (claims.expires_at, <=, now + 3600 + 60);
  g_assert_cmpint (ABS (parse_time (lr_test_json_string (response->body, "expires_at")) -
                        claims.expires_at), <=, 1);

  /* A token for the host says so. */
  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "POST", path, host->token, NULL);
  lr_test_assert_status (response, 200);
  lr_relay_token_verify (secret, lr_test_json_string (response->body, "relay_token"), now,
                         &claims, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (claims.peer_id, ==, host->peer_id);

  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "POST", path, stranger->token, NULL);
  lr_test_assert_error (response, 403, "forbidden");

  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "POST", path, NULL, NULL);
  lr_test_assert_error (response, 401, "unauthorized");
}

static void
test_relay_token_lifetime (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autofree char *path = lr_test_party_path (host, "/relay-token");
  g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", path,
                                                        host->token, NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 expires;

  lr_test_assert_status (response, 200);
  expires = parse_time (lr_test_json_string (response->body, "expires_at"));
  /* --relay-token-lifetime 90s */
  g_assert_cmpint (expires, >=, now + 90 - 5);
  g_assert_cmpint (expires, <=, now + 90 + 5);
  expires = parse_time (lr_test_json_string (host->answer, "peer.relay_token_expires_at"));
  g_assert_cmpint (expires, >=, now + 90 - 5);
  g_assert_cmpint (expires, <=, now + 90 + 5);
}

/* --db-pool takes 1 to 64 connections, refuses anything else at the start with a message
 * naming the option, and --help documents it. */
static void
test_db_pool_option (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *refused[] = { "0", "65", "-1", "four" };
  const char *help_argv[] = { g_getenv ("LANRAGE_CONTROL"), "--help", NULL };
  g_autofree char *help = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  lr_test_server_stop (fixture->server, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      const char *args[] = { "--db-pool", refused[i], NULL };
      g_autofree char *log = NULL;

      lr_test_server_set_extra_args (fixture->server, args);
      g_assert_false (lr_test_server_try_start (fixture->server, &status));
      g_assert_cmpint (status, ==, 2);
      log = lr_test_server_get_log (fixture->server);
      g_assert_nonnull (strstr (log, "db-pool"));
    }

  {
    const char *args[] = { "--db-pool", "1", NULL };
    g_autoptr(LrTestMember) host = NULL;
    g_autoptr(LrTestMember) bob = NULL;

    lr_test_server_set_extra_args (fixture->server, args);
    lr_test_server_start (fixture->server);
    host = lr_test_create_party (fixture->server, "one connection", "host");
    bob = lr_test_join (fixture->server, host->invite_code, "bob");
    g_assert_cmpstr (bob->party_id, ==, host->party_id);
  }

  g_assert_true (g_spawn_sync (NULL, (char **) help_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &help, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (help, "--db-pool=N"));
}

/* Like ssh with a private key: a secret others can read is no secret, and the server says
 * so instead of serving with it. */
static void
test_relay_secret_permissions (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *path = g_build_filename (lr_test_server_get_tmpdir (fixture->server),
                                            "relay-secret", NULL);
  g_autofree char *before = lr_test_server_read_relay_secret (fixture->server);
  int status = 0;

  lr_test_server_stop (fixture->server, FALSE);
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  g_assert_false (lr_test_server_try_start (fixture->server, &status));
  g_assert_cmpint (status, !=, 0);

  g_assert_cmpint (g_chmod (path, 0604), ==, 0);
  g_assert_false (lr_test_server_try_start (fixture->server, &status));
  g_assert_cmpint (status, !=, 0);

  /* Made private again, the same secret is used, not replaced. */
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  lr_test_server_start (fixture->server);
  {
    g_autofree char *after = lr_test_server_read_relay_secret (fixture->server);

    g_assert_cmpstr (after, ==, before);
  }
}

static void
test_relay_secret_file_option (Fixture       *fixture,
                               gconstpointer  data)
{
  const char *secret = "a-relay-secret-the-operator-chose-0123456789";
  g_autofree char *path = g_build_filename (lr_test_server_get_tmpdir (fixture->server),
                                            "operator-secret", NULL);
  g_autofree char *beside = g_build_filename (lr_test_server_get_tmpdir (fixture->server),
                                              "relay-secret", NULL);
  const char *args[] = { "--relay-secret-file", path, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) loaded = NULL;
  g_autoptr(LrTestMember) host = NULL;
  LrRelayTokenClaims claims;

  /* The fixture started the server with the default; this test wants its own file. */
  lr_test_server_stop (fixture->server, FALSE);
  g_unlink (beside);
  g_file_set_contents (path, secret, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  lr_test_server_set_extra_args (fixture->server, args);
  lr_test_server_start (fixture->server);

  {
    g_autoptr(LrTestResponse) response =
      lr_test_request (fixture->server, "POST", "/v1/relays", secret,
                       "{\"id\": \"r1\", \"region\": \"eu\", \"endpoint\": \"203.0.113.1:7000\"}");

    lr_test_assert_status (response, 204);
  }
  g_assert_false (g_file_test (beside, G_FILE_TEST_EXISTS));

  host = lr_test_create_party (fixture->server, "party", "host");
  loaded = lr_secret_load_file (path, &error);
  g_assert_no_error (error);
  lr_relay_token_verify (loaded, host->relay_token, g_get_real_time () / G_USEC_PER_SEC, &claims,
                         &error);
  g_assert_no_error (error);
  g_assert_cmpstr (claims.peer_id, ==, host->peer_id);
}

static JsonArray *
list_relays (LrTestServer    *server,
             LrTestResponse **out_response)
{
  LrTestResponse *response = lr_test_request (server, "GET", "/v1/relays", NULL, NULL);

  lr_test_assert_status (response, 200);
  *out_response = response;
  return lr_test_json_array (response->body, "relays");
}

static JsonNode *
find_relay (JsonArray  *relays,
            const char *id)
{
  for (guint i = 0; i < json_array_get_length (relays); i++)
    {
      JsonNode *relay = json_array_get_element (relays, i);

      if (g_strcmp0 (lr_test_json_string (relay, "id"), id) == 0)
        return relay;
    }
  return NULL;
}

static void
test_relays_register (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *secret_path = g_build_filename (lr_test_server_get_tmpdir (fixture->server),
                                                   "relay-secret", NULL);
  g_autofree char *secret = lr_test_server_read_relay_secret (fixture->server);
  g_autoptr(LrTestResponse) response = NULL;
  g_autoptr(LrTestResponse) listing = NULL;
  JsonArray *relays;
  JsonNode *relay;
  GStatBuf st;

  /* The server made its secret, readable by its owner only. */
  g_assert_cmpint (g_stat (secret_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpuint (strlen (secret), >=, 32);

  relays = list_relays (fixture->server, &listing);
  g_assert_cmpuint (json_array_get_length (relays), ==, 0);

  response = lr_test_request (fixture->server, "POST", "/v1/relays", secret,
                              "{\"id\": \"fra-1\", \"region\": \"eu-central\", "
                              "\"endpoint\": \"203.0.113.5:7000\"}");
  lr_test_assert_status (response, 204);

  g_clear_pointer (&listing, lr_test_response_free);
  relays = list_relays (fixture->server, &listing);
  g_assert_cmpuint (json_array_get_length (relays), ==, 1);
  relay = find_relay (relays, "fra-1");
  g_assert_nonnull (relay);
  g_assert_cmpstr (lr_test_json_string (relay, "region"), ==, "eu-central");
  g_assert_cmpstr (lr_test_json_string (relay, "endpoint"), ==, "203.0.113.5:7000");

  /* A refresh may move it. */
  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "POST", "/v1/relays", secret,
                              "{\"id\": \"fra-1\", \"region\": \"eu-central\", "
                              "\"endpoint\": \"203.0.113.6:7001\"}");
  lr_test_assert_status (response, 204);

  /* Wrong, missing or mangled secrets register nothing. */
  {
    g_autofree char *wrong = g_strdup (secret);

    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    g_clear_pointer (&response, lr_test_response_free);
    response = lr_test_request (fixture->server, "POST", "/v1/relays", wrong,
                                "{\"id\": \"evil\", \"region\": \"x\", "
                                "\"endpoint\": \"203.0.113.66:7000\"}");
    lr_test_assert_error (response, 401, "unauthorized");
  }
  {
    g_autofree char *prefix = g_strndup (secret, strlen (secret) - 1);

    g_clear_pointer (&response, lr_test_response_free);
    response = lr_test_request (fixture->server, "POST", "/v1/relays", prefix,
                                "{\"id\": \"evil\", \"region\": \"x\", "
                                "\"endpoint\": \"203.0.113.66:7000\"}");
    lr_test_assert_error (response, 401, "unauthorized");
  }
  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "POST", "/v1/relays", NULL,
                              "{\"id\": \"evil\", \"region\": \"x\", "
                              "\"endpoint\": \"203.0.113.66:7000\"}");
  lr_test_assert_error (response, 401, "unauthorized");

  /* A party member's token is not a relay secret. */
  {
    g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");

    g_clear_pointer (&response, lr_test_response_free);
    response = lr_test_request (fixture->server, "POST", "/v1/relays", host->token,
                                "{\"id\": \"evil\", \"region\": \"x\", "
                                "\"endpoint\": \"203.0.113.66:7000\"}");
    lr_test_assert_error (response, 401, "unauthorized");

    /* New parties are told about the relay. */
    relays = lr_test_json_array (host->answer, "relays");
    g_assert_cmpuint (json_array_get_length (relays), ==, 1);
    g_assert_cmpstr (lr_test_json_string (host->answer, "relays.0.id"), ==, "fra-1");
    g_assert_cmpstr (lr_test_json_string (host->answer, "relays.0.endpoint"), ==,
                     "203.0.113.6:7001");
  }

  g_clear_pointer (&listing, lr_test_response_free);
  relays = list_relays (fixture->server, &listing);
  g_assert_cmpuint (json_array_get_length (relays), ==, 1);
  relay = find_relay (relays, "fra-1");
  g_assert_nonnull (relay);
  g_assert_cmpstr (lr_test_json_string (relay, "endpoint"), ==, "203.0.113.6:7001");
  g_assert_null (find_relay (relays, "evil"));
}

static void
test_relays_expire (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *secret = lr_test_server_read_relay_secret (fixture->server);
  g_autoptr(LrTestResponse) response = NULL;
  gint64 registered, gone = 0;

  /* Taken before the request: the server registers the relay at some moment between the
   * request and its answer, and under load the answer can come late. */
  registered = g_get_monotonic_time ();
  response = lr_test_request (fixture->server, "POST", "/v1/relays", secret,
                              "{\"id\": \"short-lived\", \"region\": \"test\", "
                              "\"endpoint\": \"203.0.113.9:7000\"}");
  lr_test_assert_status (response, 204);

  while (g_get_monotonic_time () - registered < 3 * G_USEC_PER_SEC)
    {
      g_autoptr(LrTestResponse) listing = NULL;
      JsonArray *relays = list_relays (fixture->server, &listing);

      if (find_relay (relays, "short-lived") == NULL)
        {
          gone = g_get_monotonic_time ();
          break;
        }
      g_usleep (20 * 1000);
    }

  g_assert_cmpint (gone, !=, 0);
  /* Not before its time (300 ms, less a little for the clocks), and soon after. */
  g_test_message ("the relay left the list after %" G_GINT64_FORMAT " ms",
                  (gone - registered) / 1000);
  g_assert_cmpint (gone - registered, >=, 250 * 1000);
  g_assert_cmpint (gone - registered, <=, 1500 * 1000);
}

#define RELAY_BODY "{\"id\": \"fra-1\", \"region\": \"eu\", \"endpoint\": \"203.0.113.5:7000\"}"

/* A relay's registration that asks for the removals after @cursor; returns the answer. */
static LrTestResponse *
register_for_removals (Fixture    *fixture,
                       const char *secret,
                       const char *cursor)
{
  g_autofree char *path = g_strconcat ("/v1/relays?removed_after=", cursor, NULL);

  return lr_test_request (fixture->server, "POST", path, secret, RELAY_BODY);
}

static gboolean
removal_listed (LrTestResponse     *response,
                const LrTestMember *member)
{
  JsonArray *removed = lr_test_json_array (response->body, "removed");

  for (guint i = 0; i < json_array_get_length (removed); i++)
    {
      JsonNode *removal = json_array_get_element (removed, i);

      if (g_str_equal (lr_test_json_string (removal, "peer_id"), member->peer_id))
        {
          gint64 until;

          g_assert_cmpstr (lr_test_json_string (removal, "party_id"), ==, member->party_id);
          /* Tokens minted until the removal live an hour (the default lifetime). */
          g_assert_true (lr_timestamp_parse (lr_test_json_string (removal, "until"), &until));
          until -= g_get_real_time () + G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC;
          g_assert_cmpint (ABS (until), <, 60 * G_USEC_PER_SEC);
          return TRUE;
        }
    }
  return FALSE;
}

/* Relays learn who was removed from a party (left, removed by the host, party closed) from
 * the answer to their registration, from the cursor they send back, across a restart. */
static void
test_relays_removals (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *secret = lr_test_server_read_relay_secret (fixture->server);
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) leaver = lr_test_join (fixture->server, host->invite_code, "leaver");
  g_autoptr(LrTestMember) kicked = lr_test_join (fixture->server, host->invite_code, "kicked");
  g_autoptr(LrTestMember) stayer = lr_test_join (fixture->server, host->invite_code, "stayer");
  g_autoptr(LrTestResponse) response = NULL;
  g_autofree char *path = NULL;
  g_autofree char *cursor = NULL;

  /* A relay that does not ask is answered as before. */
  response = lr_test_request (fixture->server, "POST", "/v1/relays", secret, RELAY_BODY);
  lr_test_assert_status (response, 204);
  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, secret, "0");
  lr_test_assert_status (response, 200);
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "removed")), ==,
                    0);
  g_assert_cmpint (lr_test_json_int (response->body, "cursor"), ==, 0);
  g_assert_false (lr_test_json_bool (response->body, "more"));

  path = g_strconcat ("/v1/parties/", leaver->party_id, "/peers/", leaver->peer_id, NULL);
  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "DELETE", path, leaver->token, NULL);
  lr_test_assert_status (response, 204);
  g_free (path);
  path = g_strconcat ("/v1/parties/", host->party_id, "/peers/", kicked->peer_id, NULL);
  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "DELETE", path, host->token, NULL);
  lr_test_assert_status (response, 204);

  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, secret, "0");
  lr_test_assert_status (response, 200);
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "removed")), ==,
                    2);
  g_assert_true (removal_listed (response, leaver));
  g_assert_true (removal_listed (response, kicked));
  cursor = g_strdup_printf ("%" G_GINT64_FORMAT, lr_test_json_int (response->body, "cursor"));

  /* Nothing new since. */
  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, secret, cursor);
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "removed")), ==,
                    0);
  g_assert_cmpint (lr_test_json_int (response->body, "cursor"), ==,
                   g_ascii_strtoll (cursor, NULL, 10));

  /* Closing the party removes everyone still in it. */
  g_free (path);
  path = g_strconcat ("/v1/parties/", host->party_id, NULL);
  g_clear_pointer (&response, lr_test_response_free);
  response = lr_test_request (fixture->server, "DELETE", path, host->token, NULL);
  lr_test_assert_status (response, 204);
  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, secret, cursor);
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "removed")), ==,
                    2);
  g_assert_true (removal_listed (response, host));
  g_assert_true (removal_listed (response, stayer));

  /* The list survives a restart; a relay that restarted asks from 0 and hears all four; a
   * cursor from a newer database than this one counts as 0. */
  lr_test_server_restart (fixture->server, FALSE);
  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, secret, "0");
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "removed")), ==,
                    4);
  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, secret, "999999");
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "removed")), ==,
                    4);

  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, secret, "-1");
  lr_test_assert_error (response, 400, "invalid_field");
  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, secret, "one");
  lr_test_assert_error (response, 400, "invalid_field");
  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, NULL, "0");
  lr_test_assert_error (response, 401, "unauthorized");
}

/* Once every token minted before a removal has expired, the removal is forgotten. */
static void
test_relays_removals_expire (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autofree char *secret = lr_test_server_read_relay_secret (fixture->server);
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) guest = lr_test_join (fixture->server, host->invite_code, "guest");
  g_autofree char *path = g_strconcat ("/v1/parties/", guest->party_id, "/peers/",
                                       guest->peer_id, NULL);
  g_autoptr(LrTestResponse) response = NULL;
  gint64 deadline;
  guint n = 1;

  response = lr_test_request (fixture->server, "DELETE", path, guest->token, NULL);
  lr_test_assert_status (response, 204);
  g_clear_pointer (&response, lr_test_response_free);
  response = register_for_removals (fixture, secret, "0");
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (response->body, "removed")), ==,
                    1);

  /* Tokens live 2 s here; the sweeper looks every 20 ms. */
  deadline = g_get_monotonic_time () + 6 * G_USEC_PER_SEC;
  while (n > 0 && g_get_monotonic_time () < deadline)
    {
      g_usleep (100 * 1000);
      g_clear_pointer (&response, lr_test_response_free);
      response = register_for_removals (fixture, secret, "0");
      n = json_array_get_length (lr_test_json_array (response->body, "removed"));
    }
  g_assert_cmpuint (n, ==, 0);
}

static gint64
metric_value (const char *text,
              const char *series)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  gsize length = strlen (series);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (strncmp (lines[i], series, length) == 0 && lines[i][length] == ' ')
        {
          gdouble value = g_ascii_strtod (lines[i] + length + 1, NULL);

          return (gint64) value;
        }
    }
  return -1;
}

static char *
get_metrics (LrTestServer *server)
{
  g_autoptr(LrTestResponse) response = lr_test_request (server, "GET", "/metrics", NULL, NULL);
  gsize length;
  const char *data;

  lr_test_assert_status (response, 200);
  g_assert_nonnull (response->content_type);
  g_assert_cmpstr (response->content_type, ==, "text/plain");
  data = g_bytes_get_data (response->raw, &length);
  return g_strndup (data, length);
}

static void
test_healthz_and_metrics (Fixture       *fixture,
                          gconstpointer  data)
{
  const char *get_series =
    "lanrage_control_requests_total{route=\"/v1/parties/{party_id}\",method=\"GET\","
    "status=\"200\"}";
  g_autoptr(LrTestMember) host = NULL;
  g_autoptr(LrTestMember) bob = NULL;
  g_autoptr(LrTestMember) other = NULL;
  g_autoptr(LrTestSocket) socket = NULL;
  g_autoptr(JsonNode) snapshot = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *path = NULL;
  gint64 gets_before;

  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", "/healthz",
                                                          NULL, NULL);

    lr_test_assert_status (response, 200);
    g_assert_cmpstr (lr_test_json_string (response->body, "status"), ==, "ok");
  }

  before = get_metrics (fixture->server);
  g_test_message ("%s", before);
  g_assert_cmpint (metric_value (before, "lanrage_control_parties"), ==, 0);
  g_assert_cmpint (metric_value (before, "lanrage_control_peers"), ==, 0);
  g_assert_cmpint (metric_value (before, "lanrage_control_peers_online"), ==, 0);
  g_assert_cmpint (metric_value (before, "lanrage_control_websocket_connections"), ==, 0);
  gets_before = MAX (metric_value (before, get_series), 0);

  host = lr_test_create_party (fixture->server, "party", "host");
  bob = lr_test_join (fixture->server, host->invite_code, "bob");
  other = lr_test_create_party (fixture->server, "other", "eve");
  socket = lr_test_socket_connect (fixture->server, host->party_id, host->token, NULL);
  snapshot = lr_test_socket_expect (socket, "snapshot", NULL);

  path = lr_test_party_path (host, "");
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", path,
                                                            bob->token, NULL);

      lr_test_assert_status (response, 200);
    }

  after = get_metrics (fixture->server);
  g_test_message ("%s", after);
  g_assert_cmpint (metric_value (after, "lanrage_control_parties"), ==, 2);
  g_assert_cmpint (metric_value (after, "lanrage_control_peers"), ==, 3);
  g_assert_cmpint (metric_value (after, "lanrage_control_peers_online"), ==, 3);
  g_assert_cmpint (metric_value (after, "lanrage_control_websocket_connections"), ==, 1);
  g_assert_cmpint (metric_value (after, get_series), ==, gets_before + 3);
  g_assert_cmpint (metric_value (after, "lanrage_control_requests_total{route=\"/v1/parties\","
                                        "method=\"POST\",status=\"201\"}"), ==, 2);
  g_assert_cmpint (metric_value (after, "lanrage_control_requests_total{route=\"/v1/join\","
                                        "method=\"POST\",status=\"201\"}"), ==, 1);

  /* The socket closes: the gauge comes back down. */
  g_clear_pointer (&socket, lr_test_socket_free);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *text = get_metrics (fixture->server);

      if (metric_value (text, "lanrage_control_websocket_connections") == 0)
        return;
      lr_test_run_for (10);
    }
  g_error ("lanrage_control_websocket_connections stayed above 0 after the socket closed");
}

int
main (int   argc,
      char *argv[])
{
  static const char * const no_args[] = { NULL };
  static const char * const token_lifetime[] = { "--relay-token-lifetime", "90s", NULL };
  static const char * const short_tokens[] = {
    "--relay-token-lifetime", "2s", "--cleanup-interval", "20ms", NULL
  };
  static const char * const relay_expiry[] = {
    "--relay-expire-after", "300ms", "--cleanup-interval", "20ms", NULL
  };

  lr_test_control_init (&argc, &argv);

  LR_TEST_ADD ("/control/create/answer", test_create_answer, no_args);
  LR_TEST_ADD ("/control/join/unique-addresses", test_join_unique_addresses, no_args);
  LR_TEST_ADD ("/control/join/invite-code-forms", test_join_invite_code_forms, no_args);
  LR_TEST_ADD ("/control/join/already-joined", test_join_already_joined, no_args);
  LR_TEST_ADD ("/control/join/party-full", test_join_party_full, no_args);
  LR_TEST_ADD ("/control/join/address-churn", test_join_address_churn, no_args);
  g_test_add ("/control/join/rate-limit", Fixture, no_args, lr_test_fixture_setup_keep_rate_limit,
              test_join_rate_limit, lr_test_fixture_teardown);
  LR_TEST_ADD ("/control/peer/update", test_peer_update, no_args);
  LR_TEST_ADD ("/control/peer/heartbeat", test_peer_heartbeat, no_args);
  LR_TEST_ADD ("/control/peer/heartbeat-after-removal", test_peer_heartbeat_after_removal,
               no_args);
  LR_TEST_ADD ("/control/peer/leave-and-remove", test_peer_leave_and_remove, no_args);
  LR_TEST_ADD ("/control/party/close", test_party_close, no_args);
  LR_TEST_ADD ("/control/relay-token/verify", test_relay_token, no_args);
  LR_TEST_ADD ("/control/relay-token/lifetime", test_relay_token_lifetime, token_lifetime);
  LR_TEST_ADD ("/control/options/db-pool", test_db_pool_option, no_args);
  LR_TEST_ADD ("/control/relays/secret-permissions", test_relay_secret_permissions, no_args);
  LR_TEST_ADD ("/control/relays/secret-file-option", test_relay_secret_file_option, no_args);
  LR_TEST_ADD ("/control/relays/register", test_relays_register, no_args);
  LR_TEST_ADD ("/control/relays/expire", test_relays_expire, relay_expiry);
  LR_TEST_ADD ("/control/relays/removals", test_relays_removals, no_args);
  LR_TEST_ADD ("/control/relays/removals-expire", test_relays_removals_expire,
               short_tokens);
  LR_TEST_ADD ("/control/healthz-and-metrics", test_healthz_and_metrics, no_args);

#undef ADD

  return g_test_run ();
}
