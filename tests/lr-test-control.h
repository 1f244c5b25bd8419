/* lr-test-control.h: a harness for black-box tests of lanrage-control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The tests start the real binary (its path is in $LANRAGE_CONTROL) on a free loopback port
 * with a fresh database (an SQLite file in a temporary folder, or with
 * LR_TEST_CONTROL_DB=postgresql a new database in a throwaway PostgreSQL cluster), and talk
 * to it over HTTP and WebSocket the way the helper would. Nothing here knows the server's
 * insides.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* How long a test waits for the server to start, stop or send an event before failing. */
#define LR_TEST_START_TIMEOUT_MS 10000
#define LR_TEST_STOP_TIMEOUT_MS  5000
#define LR_TEST_EVENT_TIMEOUT_MS 3000

typedef enum
{
  LR_TEST_SERVER_NONE = 0,
  /* Keep the server's own default for --join-rate-limit instead of turning it off. */
  LR_TEST_SERVER_KEEP_RATE_LIMIT = 1 << 0,
  /* Run the server with G_MESSAGES_DEBUG=all, so every log line it has is in its log. */
  LR_TEST_SERVER_DEBUG_LOG = 1 << 1,
} LrTestServerFlags;

typedef struct _LrTestServer LrTestServer;

void          lr_test_control_init       (int                *argc,
                                          char             ***argv);
gboolean      lr_test_backend_is_postgresql (void);

LrTestServer *lr_test_server_new         (const char * const *extra_args,
                                          LrTestServerFlags   flags);
LrTestServer *lr_test_server_new_sharing (LrTestServer       *other,
                                          const char * const *extra_args,
                                          LrTestServerFlags   flags);
void          lr_test_server_free        (LrTestServer       *self);
void          lr_test_server_start       (LrTestServer       *self);
gboolean      lr_test_server_try_start   (LrTestServer       *self,
                                          int                *out_exit_status);
void          lr_test_server_stop        (LrTestServer       *self,
                                          gboolean            kill_hard);
void          lr_test_server_restart     (LrTestServer       *self,
                                          gboolean            kill_hard);
void          lr_test_server_set_extra_args (LrTestServer    *self,
                                             const char * const *extra_args);
void          lr_test_server_set_db_path (LrTestServer       *self,
                                          const char         *db_path);
void          lr_test_server_set_netns   (LrTestServer       *self,
                                          const char         *netns);
void          lr_test_server_set_fd_limit (LrTestServer      *self,
                                           guint64            limit);
GPid          lr_test_server_get_pid     (LrTestServer       *self);
guint16       lr_test_server_get_port    (LrTestServer       *self);
guint64       lr_test_server_get_rss_kib (LrTestServer       *self);
GSocket      *lr_test_server_connect_tcp (LrTestServer       *self,
                                          const char         *source);
gboolean      lr_test_server_is_running  (LrTestServer       *self);
const char   *lr_test_server_get_url     (LrTestServer       *self);
const char   *lr_test_server_get_tmpdir  (LrTestServer       *self);
const char   *lr_test_server_get_db_path (LrTestServer       *self);
char         *lr_test_server_get_log     (LrTestServer       *self);
char         *lr_test_server_read_relay_secret (LrTestServer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrTestServer, lr_test_server_free)

/* The fixture of most tests: one started server; the test data are extra arguments. */
typedef struct
{
  LrTestServer *server;
} LrTestFixture;

void lr_test_fixture_setup                 (LrTestFixture *fixture,
                                            gconstpointer  extra_args);
void lr_test_fixture_setup_keep_rate_limit (LrTestFixture *fixture,
                                            gconstpointer  extra_args);
void lr_test_fixture_teardown              (LrTestFixture *fixture,
                                            gconstpointer  extra_args);

/* Adds a test on one started server; @args is a NULL-terminated list of extra options. */
#define LR_TEST_ADD(path, func, args) \
  g_test_add ((path), LrTestFixture, (args), lr_test_fixture_setup, (func), \
              lr_test_fixture_teardown)

/* One HTTP exchange. */
typedef struct
{
  guint      status;
  GBytes    *raw;            /* the body as received */
  JsonNode  *body;           /* the body parsed as JSON, or NULL */
  char      *content_type;
  char      *retry_after;
  char      *transport_error;   /* set, with status 0, when no answer came */
} LrTestResponse;

void            lr_test_response_free (LrTestResponse *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrTestResponse, lr_test_response_free)

LrTestResponse *lr_test_request       (LrTestServer *server,
                                       const char   *method,
                                       const char   *path,
                                       const char   *token,
                                       const char   *body);
LrTestResponse *lr_test_request_raw   (LrTestServer *server,
                                       const char   *method,
                                       const char   *path,
                                       const char   *authorization,
                                       const char   *content_type,
                                       const void   *body,
                                       gsize         body_length);
LrTestResponse *lr_test_request_with_session (SoupSession  *session,
                                              const char   *base_url,
                                              const char   *method,
                                              const char   *path,
                                              const char   *token,
                                              const char   *body);
guint           lr_test_request_socket (LrTestServer *server,
                                        const char   *method,
                                        const char   *raw_path,
                                        const char   *token);

/* Asserts the status, and for an error the `{"error": {"code", "message"}}` shape with the
 * given code and a non-empty message. */
#define lr_test_assert_error(response, expected_status, expected_code) \
  lr_test_assert_error_impl ((response), (expected_status), (expected_code), \
                             __FILE__, __LINE__)
void lr_test_assert_error_impl (LrTestResponse *response,
                                guint           expected_status,
                                const char     *expected_code,
                                const char     *file,
                                int             line);
#define lr_test_assert_status(response, expected_status) \
  lr_test_assert_status_impl ((response), (expected_status), __FILE__, __LINE__)
void lr_test_assert_status_impl (LrTestResponse *response,
                                 guint           expected_status,
                                 const char     *file,
                                 int             line);

/* JSON lookups by a dotted path: "peer.id", "peers.1.virtual_ip". They fail the test when a
 * member is missing or has another type. */
JsonNode   *lr_test_json_lookup     (JsonNode   *node,
                                     const char *path);
JsonNode   *lr_test_json_find       (JsonNode   *node,
                                     const char *path);
const char *lr_test_json_string     (JsonNode   *node,
                                     const char *path);
gint64      lr_test_json_int        (JsonNode   *node,
                                     const char *path);
gboolean    lr_test_json_bool       (JsonNode   *node,
                                     const char *path);
JsonArray  *lr_test_json_array      (JsonNode   *node,
                                     const char *path);
JsonNode   *lr_test_json_parse      (const char *text);
char       *lr_test_json_to_string  (JsonNode   *node);
JsonNode   *lr_test_json_array_find_peer (JsonArray  *peers,
                                          const char *peer_id);

/* Keys and bodies. */
char *lr_test_random_key        (void);
char *lr_test_peer_in_json      (const char *name,
                                 const char *wg_public_key,
                                 const char *disco_public_key);
char *lr_test_create_body       (const char *party_name,
                                 const char *peer_json);
char *lr_test_join_body         (const char *invite_code,
                                 const char *peer_json);

/* A party member as its own client sees it. */
typedef struct
{
  char     *party_id;
  char     *invite_code;
  char     *host_peer_id;
  char     *peer_id;
  char     *name;
  char     *token;
  char     *relay_token;
  char     *virtual_ip;
  char     *wg_public_key;
  char     *disco_public_key;
  JsonNode *answer;
} LrTestMember;

void          lr_test_member_free  (LrTestMember *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrTestMember, lr_test_member_free)

LrTestMember *lr_test_create_party (LrTestServer *server,
                                    const char   *party_name,
                                    const char   *peer_name);
LrTestMember *lr_test_join         (LrTestServer *server,
                                    const char   *invite_code,
                                    const char   *peer_name);
LrTestMember *lr_test_member_from_answer (JsonNode *answer);
char         *lr_test_party_path   (const LrTestMember *member,
                                    const char         *suffix);
gboolean      lr_test_virtual_ip_is_valid (const char *text);

/* An events socket. Messages are parsed and queued as they arrive while the test iterates
 * the default main context. */
typedef struct _LrTestSocket LrTestSocket;

LrTestSocket *lr_test_socket_connect      (LrTestServer *server,
                                           const char   *party_id,
                                           const char   *token,
                                           guint        *out_status);
void          lr_test_socket_free         (LrTestSocket *self);
JsonNode     *lr_test_socket_next         (LrTestSocket *self,
                                           guint         timeout_ms);
JsonNode     *lr_test_socket_expect       (LrTestSocket *self,
                                           const char   *type,
                                           const char   *peer_id);
void          lr_test_socket_expect_nothing (LrTestSocket *self,
                                             guint         quiet_ms);
void          lr_test_socket_send         (LrTestSocket *self,
                                           const char   *text);
gboolean      lr_test_socket_wait_closed  (LrTestSocket *self,
                                           guint         timeout_ms);
gboolean      lr_test_socket_is_closed    (LrTestSocket *self);
guint         lr_test_socket_pending      (LrTestSocket *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrTestSocket, lr_test_socket_free)

/* Iterates the default main context for a while (so sockets receive). */
void lr_test_run_for (guint ms);
/* Removes @path and everything below it, best effort; links are not followed. */
void lr_test_remove_tree (const char *path);

G_END_DECLS
