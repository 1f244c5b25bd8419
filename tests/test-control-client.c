/* test-control-client.c: how LrdControlClient names the control server's errors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A stand-in server (a SoupServer on loopback answering canned bodies) takes the place of
 * lanrage-control here, because the real one never sends most of these answers to a helper
 * that checks its input first (a refused name, a proxy's bare 404 or 503, an answer from a
 * newer or broken server). The real server's own errors are covered end to end by
 * test-helper-party.
 */
#include "lrd-control-client.h"
#include "lrd-error.h"

#include <string.h>

typedef struct
{
  SoupServer       *server;
  LrdControlClient *client;
  guint             status;   /* what the stand-in answers next */
  const char       *body;
} Fixture;

static void
handler_cb (SoupServer        *server,
            SoupServerMessage *message,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  Fixture *f = user_data;

  soup_server_message_set_status (message, f->status, NULL);
  if (f->body != NULL)
    soup_server_message_set_response (message, "application/json", SOUP_MEMORY_STATIC,
                                      f->body, strlen (f->body));
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoslist(GUri) uris = NULL;
  g_autofree char *url = NULL;

  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, NULL, handler_cb, f, NULL);
  g_assert_true (soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  url = g_strdup_printf ("http://127.0.0.1:%d/", g_uri_get_port (uris->data));
  f->client = lrd_control_client_new (url);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->client);
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
}

static void
result_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

/* A join answered with @status and @body: the error it ends in. */
static GError *
join_error (Fixture    *f,
            guint       status,
            const char *body)
{
  LrPeerIn peer = { .name = (char *) "alice",
                    .wg_public_key = (char *) "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=",
                    .disco_public_key = (char *) "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=" };
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(LrJoinAnswer) answer = NULL;
  GError *error = NULL;

  f->status = status;
  f->body = body;
  lrd_control_client_join_async (f->client, "7KQM-2XWD-9RTF", &peer, result_cb, &slot);
  result = wait_result (&slot);
  answer = lrd_control_client_join_finish (f->client, result, &error);
  g_assert_null (answer);
  g_assert_nonnull (error);
  return error;
}

static GError *
relay_token_error (Fixture    *f,
                   guint       status,
                   const char *body)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(LrRelayTokenAnswer) answer = NULL;
  GError *error = NULL;

  f->status = status;
  f->body = body;
  lrd_control_client_relay_token_async (f->client, "0123456789abcdef", "token", NULL,
                                        result_cb, &slot);
  result = wait_result (&slot);
  answer = lrd_control_client_relay_token_finish (f->client, result, &error);
  g_assert_null (answer);
  g_assert_nonnull (error);
  return error;
}

#define ERROR_BODY(code, message) \
  "{\"error\": {\"code\": \"" code "\", \"message\": \"" message "\"}}"

/* The code names the error, whatever the message says. */
static void
test_codes (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) name = join_error (f, 400, ERROR_BODY ("invalid_field",
                                                           "Display name is not allowed"));
  g_autoptr(GError) field_too_large = join_error (f, 400, ERROR_BODY ("field_too_large",
                                                                      "too long"));
  g_autoptr(GError) code = join_error (f, 400, ERROR_BODY ("invalid_invite_code", "bad"));
  g_autoptr(GError) not_found = join_error (f, 404, ERROR_BODY ("invite_not_found", "none"));
  g_autoptr(GError) prefix_only = join_error (f, 500, ERROR_BODY ("internal",
                                                                  "name: disk full"));
  g_autoptr(GError) limited = join_error (f, 429, ERROR_BODY ("rate_limited", "slow down"));
  g_autoptr(GError) token_field = relay_token_error (f, 400, ERROR_BODY ("invalid_field",
                                                                         "x"));
  g_autoptr(GError) forbidden = relay_token_error (f, 403, ERROR_BODY ("forbidden", "no"));
  g_autoptr(GError) unauthorized = relay_token_error (f, 401, ERROR_BODY ("unauthorized", "no"));

  g_assert_error (name, LRD_ERROR, LRD_ERROR_INVALID_NAME);
  g_assert_nonnull (strstr (name->message, "Display name is not allowed"));
  g_assert_error (field_too_large, LRD_ERROR, LRD_ERROR_INVALID_NAME);
  g_assert_error (code, LRD_ERROR, LRD_ERROR_INVALID_INVITE_CODE);
  g_assert_error (not_found, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND);
  /* A message that merely starts like a field name is not a refused name. */
  g_assert_error (prefix_only, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_error (limited, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_nonnull (strstr (limited->message, "wait a minute"));
  /* Only a create or join has names in its body. */
  g_assert_error (token_field, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_error (forbidden, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND);
  g_assert_error (unauthorized, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND);
}

/* Without a code (a proxy in front of the server), the status decides. */
static void
test_statuses (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) gone = relay_token_error (f, 404, NULL);
  g_autoptr(GError) gateway = relay_token_error (f, 503, "<html>down</html>");
  g_autoptr(GError) teapot = relay_token_error (f, 418, "{}");

  g_assert_error (gone, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND);
  g_assert_error (gateway, LRD_ERROR, LRD_ERROR_SERVER_UNREACHABLE);
  g_assert_error (teapot, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_nonnull (strstr (teapot->message, "HTTP 418"));
}

/* A success the helper cannot read is an error, not a half-read answer; a server's message
 * reaches LastError without control characters. */
static void
test_bad_answers (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) not_json = join_error (f, 201, "this is not JSON");
  g_autoptr(GError) not_answer = join_error (f, 201, "{\"party\": 5}");
  g_autoptr(GError) no_token = relay_token_error (f, 200,
                                                  "{\"expires_at\": \"2026-12-03T07:00:00Z\"}");
  g_autoptr(GError) escape = join_error (f, 400, ERROR_BODY ("invalid_json",
                                                             "bad\\u001b[2Jbody"));

  g_assert_error (not_json, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_nonnull (strstr (not_json->message, "not JSON"));
  g_assert_error (not_answer, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_nonnull (strstr (not_answer->message, "does not understand"));
  g_assert_error (no_token, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_error (escape, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_null (strchr (escape->message, '\033'));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("GIO_USE_VFS", "local", TRUE);
  (void) LRD_ERROR;

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/lrd/control-client/codes", test_codes);
  ADD ("/lrd/control-client/statuses", test_statuses);
  ADD ("/lrd/control-client/bad-answers", test_bad_answers);
#undef ADD

  return g_test_run ();
}
