/* test-helper-config.c: the helper's configuration file and state folder
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <sodium.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "lrd-config.h"
#include "lrd-error.h"
#include "lrd-session.h"
#include "lrd-state.h"

typedef struct
{
  char *tmpdir;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->tmpdir = g_dir_make_tmp ("lanrage-helper-config-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  remove_tree (fixture->tmpdir);
  g_free (fixture->tmpdir);
}

static LrdConfig *
load (Fixture     *fixture,
      const char  *contents,
      GError     **error)
{
  g_autofree char *path = g_build_filename (fixture->tmpdir, "helper.conf", NULL);

  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return lrd_config_load (path, TRUE, error);
}

static void
test_config_defaults (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdConfig) config = NULL;
  g_autofree char *missing = g_build_filename (fixture->tmpdir, "none.conf", NULL);

  /* The default file may be missing; a file named on the command line may not. */
  config = lrd_config_load (missing, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->control_url, ==, LRD_CONFIG_DEFAULT_CONTROL_URL);
  g_assert_cmpuint (config->port, ==, 51820);
  g_assert_cmpstr (config->backend, ==, "auto");
  g_assert_cmpstr (config->interface_name, ==, "lanrage0");
  g_assert_null (config->wireguard_go);
  g_assert_cmpuint (g_strv_length (config->relays), ==, 0);
  g_clear_pointer (&config, lrd_config_free);

  config = lrd_config_load (missing, TRUE, &error);
  g_assert_null (config);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

static void
test_config_values (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdConfig) config = NULL;

  config = load (fixture,
                 "[helper]\n"
                 "control-url=https://control.example.org:8666\n"
                 "port=51900\n"
                 "backend=uapi\n"
                 "interface=lr1\n"
                 "wireguard-go=/usr/bin/wireguard-go\n"
                 "relays=relay1.example.org:3478; 198.18.0.5:3478\n",
                 &error);
  g_assert_no_error (error);
  /* Routes resolve against it, so it always names a folder. */
  g_assert_cmpstr (config->control_url, ==, "https://control.example.org:8666/");
  g_assert_cmpuint (config->port, ==, 51900);
  g_assert_cmpstr (config->backend, ==, "uapi");
  g_assert_cmpstr (config->interface_name, ==, "lr1");
  g_assert_cmpstr (config->wireguard_go, ==, "/usr/bin/wireguard-go");
  g_assert_cmpuint (g_strv_length (config->relays), ==, 2);
  g_assert_cmpstr (config->relays[1], ==, "198.18.0.5:3478");
}

static void
test_config_refused (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *bad[] = {
    "[helper]\ncontrol-url=ftp://example.org/\n",
    "[helper]\ncontrol-url=not a url\n",
    "[helper]\nport=0\n",
    "[helper]\nport=65536\n",
    "[helper]\nport=many\n",
    "[helper]\nbackend=kernel\n",
    "[helper]\ninterface=much-too-long-name0\n",
    "[helper]\ninterface=a/b\n",
    "[helper]\nwireguard-go=wireguard-go\n",
    "[helper]\nrelays=relay.example.org:99999\n",
    "not a keyfile\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LrdConfig) config = load (fixture, bad[i], &error);

      g_test_message ("%s", bad[i]);
      g_assert_null (config);
      g_assert_nonnull (error);
    }
}

static void
test_keys (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *state_dir = g_build_filename (fixture->tmpdir, "state", NULL);
  g_autofree char *keys_path = g_build_filename (state_dir, "keys", NULL);
  LrdKeys first = { 0 }, again = { 0 };
  guint8 derived[32];
  GStatBuf st;

  g_assert_true (lrd_state_dir_ensure (state_dir, &error));
  g_assert_cmpint (g_stat (state_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  g_assert_true (lrd_keys_load_or_create (&first, state_dir, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (keys_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  crypto_scalarmult_base (derived, first.wg_private.bytes);
  g_assert_cmpmem (derived, 32, first.wg_public.bytes, 32);
  g_assert_true (memcmp (first.wg_private.bytes, first.disco_private.bytes, 32) != 0);

  /* The same machine keeps its identity across restarts. */
  g_assert_true (lrd_keys_load_or_create (&again, state_dir, &error));
  g_assert_cmpmem (first.wg_private.bytes, 32, again.wg_private.bytes, 32);
  g_assert_cmpmem (first.disco_public.bytes, 32, again.disco_public.bytes, 32);

  /* A damaged file is an error, never silently replaced; one others could read is made
   * private again, with a warning. */
  g_assert_true (g_file_set_contents (keys_path, "[wireguard]\nprivate-key=AAAA\n", -1, NULL));
  g_assert_cmpint (g_chmod (keys_path, 0644), ==, 0);
  g_test_expect_message ("lanrage-helper", G_LOG_LEVEL_WARNING, "*could be read by others*");
  g_assert_false (lrd_keys_load_or_create (&again, state_dir, &error));
  g_test_assert_expected_messages ();
  g_assert_nonnull (error);
  g_assert_cmpint (g_stat (keys_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  lrd_keys_clear (&first);
  lrd_keys_clear (&again);
}

typedef struct
{
  gboolean  done;
  GError   *error;
} RequestResult;

static void
party_saved_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  RequestResult *r = user_data;

  lrd_saved_party_save_finish (result, &r->error);
  r->done = TRUE;
}

/* Saves @party and waits; returns whether it was written. */
static gboolean
save_party (const LrdSavedParty *party,
            const char          *state_dir,
            GError             **error)
{
  RequestResult r = { 0 };

  lrd_saved_party_save_async (party, state_dir, NULL, party_saved_cb, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  if (r.error != NULL)
    {
      g_propagate_error (error, r.error);
      return FALSE;
    }
  return TRUE;
}

/* The party file holds the bearer token: 0600, and never half written. A write that fails
 * part way (here: a file size limit) leaves the file as it was, or absent; the first save
 * used to be written in place, leaving half a file. */
static void
test_party_file (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *state_dir = g_build_filename (fixture->tmpdir, "state", NULL);
  g_autofree char *party_path = g_build_filename (state_dir, "party", NULL);
  g_autoptr(LrdSavedParty) loaded = NULL;
  g_autoptr(GError) error = NULL;
  LrdSavedParty party = {
    .control_url = (char *) "https://control.example.org/",
    .party_id = (char *) "0123456789abcdef",
    .party_name = (char *) "LAN night",
    .invite_code = (char *) "7KQM-2XWD-9RTF",
    .peer_id = (char *) "fedcba9876543210",
    .peer_name = (char *) "alice",
    .token = (char *) "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    .virtual_ip = (char *) "10.66.0.7",
  };
  struct rlimit saved_limit, small_limit;
  GStatBuf st;

  g_assert_true (lrd_state_dir_ensure (state_dir, &error));

  /* The first save, cut short. */
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved_limit), ==, 0);
  small_limit = saved_limit;
  small_limit.rlim_cur = 64;
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small_limit), ==, 0);
  g_assert_false (save_party (&party, state_dir, &error));
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved_limit), ==, 0);
  g_clear_error (&error);
  g_assert_false (g_file_test (party_path, G_FILE_TEST_EXISTS));

  g_assert_true (save_party (&party, state_dir, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (party_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* A later save cut short keeps the earlier file whole. */
  party.party_name = (char *) "Renamed";
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small_limit), ==, 0);
  g_assert_false (save_party (&party, state_dir, &error));
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved_limit), ==, 0);
  signal (SIGXFSZ, SIG_DFL);
  g_clear_error (&error);

  loaded = lrd_saved_party_load (state_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  g_assert_cmpstr (loaded->party_name, ==, "LAN night");
  g_assert_cmpstr (loaded->token, ==, party.token);
  g_assert_cmpint (g_stat (party_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static void
request_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  RequestResult *r = user_data;
  g_autoptr(LrPartyView) view = NULL;

  view = lrd_control_client_get_party_finish (LRD_CONTROL_CLIENT (source), result, &r->error);
  g_assert_null (view);
  r->done = TRUE;
}

static void
events_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  RequestResult *r = user_data;
  g_autoptr(SoupWebsocketConnection) connection = NULL;

  connection = lrd_control_client_connect_events_finish (LRD_CONTROL_CLIENT (source), result,
                                                         &r->error);
  g_assert_null (connection);
  r->done = TRUE;
}

/* A request that never becomes an HTTP message (here a base URL that is none; a damaged
 * saved party id did the same) fails with a plain error. The events socket used to read the
 * status of a message it did not have: a critical, fatal under G_DEBUG=fatal-criticals. */
static void
test_control_client_unusable_url (void)
{
  g_autoptr(LrdControlClient) client = lrd_control_client_new ("not a url");
  RequestResult request = { 0 }, events = { 0 };

  lrd_control_client_get_party_async (client, "0123456789abcdef", "token", NULL, request_cb,
                                      &request);
  lrd_control_client_connect_events_async (client, "0123456789abcdef", "token", NULL,
                                           events_cb, &events);
  while (!request.done || !events.done)
    g_main_context_iteration (NULL, TRUE);

  g_assert_error (request.error, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_error (events.error, LRD_ERROR, LRD_ERROR_FAILED);
  g_clear_error (&request.error);
  g_clear_error (&events.error);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

  g_test_add ("/helper/config/defaults", Fixture, NULL, fixture_setup, test_config_defaults,
              fixture_teardown);
  g_test_add ("/helper/config/values", Fixture, NULL, fixture_setup, test_config_values,
              fixture_teardown);
  g_test_add ("/helper/config/refused", Fixture, NULL, fixture_setup, test_config_refused,
              fixture_teardown);
  g_test_add ("/helper/state/keys", Fixture, NULL, fixture_setup, test_keys,
              fixture_teardown);
  g_test_add ("/helper/state/party-file", Fixture, NULL, fixture_setup, test_party_file,
              fixture_teardown);
  g_test_add_func ("/helper/control-client/unusable-url", test_control_client_unusable_url);

  return g_test_run ();
}
