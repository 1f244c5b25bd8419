/* test-control-tls.c: lanrage-control over HTTPS (--tls-cert, --tls-key)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The certificate is made for the test by openssl(1) for IP 127.0.0.1, and the client trusts
 * exactly that certificate: the handshake is verified for real, not waved through.
 */
#include "lr-test-control.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

typedef struct
{
  char *dir;
  char *cert;
  char *key;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  int status = 0;
  g_autofree char *command = NULL;

  fixture->dir = g_dir_make_tmp ("lrc-tls-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->cert = g_build_filename (fixture->dir, "cert.pem", NULL);
  fixture->key = g_build_filename (fixture->dir, "key.pem", NULL);

  command = g_strdup_printf ("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                             "-nodes -days 1 -subj /CN=127.0.0.1 "
                             "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s",
                             fixture->key, fixture->cert);
  if (!g_spawn_command_line_sync (command, NULL, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, NULL))
    g_error ("openssl could not make a test certificate: %s",
             error ? error->message : "non-zero exit");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_remove (fixture->cert);
  g_remove (fixture->key);
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->cert);
  g_free (fixture->key);
}

static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
store_message_cb (SoupWebsocketConnection *socket,
                  int                      type,
                  GBytes                  *message,
                  gpointer                 user_data)
{
  GBytes **first = user_data;

  if (*first == NULL)
    *first = g_bytes_ref (message);
}

static void
test_https (Fixture       *fixture,
            gconstpointer  data)
{
  const char *args[] = { "--tls-cert", fixture->cert, "--tls-key", fixture->key, NULL };
  g_autoptr(LrTestServer) server = lr_test_server_new (args, LR_TEST_SERVER_NONE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsDatabase) trust = NULL;
  g_autoptr(SoupSession) trusting = NULL;
  g_autoptr(SoupSession) default_trust = NULL;
  g_autoptr(LrTestResponse) ok = NULL;
  g_autoptr(LrTestResponse) untrusted = NULL;
  g_autoptr(LrTestResponse) created = NULL;
  g_autofree char *plain_url = NULL;
  g_autoptr(LrTestResponse) plain = NULL;
  const char *url;

  lr_test_server_start (server);
  url = lr_test_server_get_url (server);
  g_assert_true (g_str_has_prefix (url, "https://127.0.0.1:"));

  trust = g_tls_file_database_new (fixture->cert, &error);
  g_assert_no_error (error);
  trusting = soup_session_new_with_options ("tls-database", trust, NULL);
  ok = lr_test_request_with_session (trusting, url, "GET", "/healthz", NULL, NULL);
  lr_test_assert_status (ok, 200);

  /* A real API call over TLS. */
  created = lr_test_request_with_session (trusting, url, "POST", "/v1/parties", NULL,
                                          "{\"name\": \"tls\", \"peer\": {\"name\": \"a\", "
                                          "\"wg_public_key\": \"YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=\", "
                                          "\"disco_public_key\": \"YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=\"}}");
  lr_test_assert_status (created, 201);

  /* The events socket over TLS (wss), upgraded by the server itself. */
  {
    g_autoptr(LrTestMember) member = lr_test_member_from_answer (created->body);
    g_autofree char *events_url = g_strdup_printf ("%s/v1/parties/%s/events", url,
                                                   member->party_id);
    g_autofree char *bearer = g_strconcat ("Bearer ", member->token, NULL);
    g_autoptr(SoupMessage) upgrade = soup_message_new ("GET", events_url);
    g_autoptr(SoupWebsocketConnection) socket = NULL;
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GBytes) first = NULL;

    soup_message_headers_replace (soup_message_get_request_headers (upgrade), "Authorization",
                                  bearer);
    soup_session_websocket_connect_async (trusting, upgrade, NULL, NULL, G_PRIORITY_DEFAULT,
                                          NULL, store_result_cb, &result);
    while (result == NULL)
      g_main_context_iteration (NULL, TRUE);
    socket = soup_session_websocket_connect_finish (trusting, result, &error);
    g_assert_no_error (error);

    g_signal_connect (socket, "message", G_CALLBACK (store_message_cb), &first);
    while (first == NULL)
      g_main_context_iteration (NULL, TRUE);
    {
      g_autofree char *text = g_strndup (g_bytes_get_data (first, NULL),
                                         g_bytes_get_size (first));

      g_assert_nonnull (strstr (text, "\"snapshot\""));
    }
    soup_websocket_connection_close (socket, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  }

  /* A client that does not trust the certificate gets no answer. */
  default_trust = soup_session_new ();
  untrusted = lr_test_request_with_session (default_trust, url, "GET", "/healthz", NULL, NULL);
  g_assert_cmpuint (untrusted->status, ==, 0);
  g_assert_nonnull (untrusted->transport_error);

  /* Plain HTTP on the HTTPS port gets no answer either. */
  plain_url = g_strconcat ("http://", url + strlen ("https://"), NULL);
  plain = lr_test_request_with_session (default_trust, plain_url, "GET", "/healthz", NULL, NULL);
  g_assert_cmpuint (plain->status, !=, 200);
}

static void
test_key_without_cert (Fixture       *fixture,
                       gconstpointer  data)
{
  const char *argv[] = { g_getenv ("LANRAGE_CONTROL"), "--listen", "127.0.0.1:0", "--db",
                         NULL, "--tls-key", fixture->key, NULL };
  g_autofree char *db = g_build_filename (fixture->dir, "control.db", NULL);
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  argv[4] = db;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "--tls-cert"));
  g_remove (db);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/control/tls/https", Fixture, NULL, fixture_set_up, test_https, fixture_tear_down);
  g_test_add ("/control/tls/key-without-cert", Fixture, NULL, fixture_set_up,
              test_key_without_cert, fixture_tear_down);

  return g_test_run ();
}
