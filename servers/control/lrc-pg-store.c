/* lrc-pg-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-pg-store.h"
#include "lrc-pg-bus.h"
#include "lrc-error.h"

#include "lr-invite-code.h"
#include "lr-ipam.h"
#include "lr-relay-removals.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <libpq-fe.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>

/*
 * Several lanrage-control instances share one PostgreSQL database.
 *
 * Threads: a small pool of worker threads (--db-pool, 4 by default), each with its own
 * connection, runs the calls in
 * blocking libpq, and each call's GTask completes on the main loop. Chosen over libpq's
 * non-blocking API watched by the loop because an operation is several statements with
 * decisions between them (allocate an address from what the party holds) and retries on
 * serialization failures: straight-line code per operation instead of a state machine per
 * statement, and N connections serve N requests at once, where one non-blocking connection
 * would serialise them. The workers touch no GObject but their own calls.
 *
 * Concurrency: every transaction runs at READ COMMITTED, and what must not interleave
 * locks the party's row first (SELECT … FOR UPDATE): joins, removals and closes of one party
 * take turns, so two instances allocating in one party at once each see the other's peer,
 * never hand out one address twice and never pass the cap. UNIQUE (party_id, virtual_ip),
 * UNIQUE (invite_code) and UNIQUE (token_hash) back that up in the schema, and a create
 * whose invite code clashes picks another one. Heartbeat batches only raise last_seen
 * (GREATEST), so batches from several instances never undo each other. A deadlock or
 * serialization failure is retried a few times; a call whose connection was found dead
 * before it sent anything is retried once on a new connection; anything else the database
 * does not answer is LRC_ERROR_UNAVAILABLE (503).
 *
 * Relay removals: a relay pages through relay_removals by seq and sends back the largest it
 * saw, so a row must never become visible with a seq below one already read. A sequence
 * alone does not give that: two transactions take 10 and 11 and may commit 11 first. Every
 * transaction that inserts there takes one transaction-level advisory lock first
 * (RELAY_REMOVALS_LOCK), held until it commits, so they take their numbers and commit one
 * after the other: whoever reads 11 already sees 10. The lock is taken last, after the
 * party's row, so it is held for one statement and a commit.
 *
 * Passwords: the connection string may not carry one. libpq reads it from the file named by
 * passfile= (the .pgpass format), so it is never on a command line or in a log.
 */

#define MAX_ATTEMPTS  5
#define MAX_PARAMS    12

/* How long one call (its statements and any new attempt) may wait for the database before
 * this side gives up on the connection: a database host that went silent (power lost,
 * packets dropped) would otherwise hold a worker until TCP gives up, many minutes. With a
 * new connection's connect_timeout (5 s) it stays under --request-timeout's default
 * (10 s), so the client hears 503 rather than a closed connection. A call takes
 * milliseconds. */
#define CALL_DEADLINE_US (4 * G_USEC_PER_SEC)

/* Serialises schema migrations of instances that start at the same moment. */
#define MIGRATION_LOCK "7401852291406517"

/* Orders the transactions that record relay removals (see above). Not the key of
 * MIGRATION_LOCK nor of the sweeper's lock in lrc-pg-bus.c. */
#define RELAY_REMOVALS_LOCK "7401852291406519"

/* Errors that a new attempt of the whole transaction may not meet: deadlocks and
 * serialization failures. */
static GQuark retry_error_quark (void);
G_DEFINE_QUARK (lrc-pg-store-retry, retry_error)
#define RETRY_ERROR (retry_error_quark ())

static const char *migrations[] = {
  /* 0 → 1 */
  "CREATE TABLE parties ("
  "  id            TEXT PRIMARY KEY,"
  "  name          TEXT NOT NULL,"
  "  invite_code   TEXT NOT NULL UNIQUE,"
  "  host_peer_id  TEXT NOT NULL,"
  "  created_at    BIGINT NOT NULL,"
  "  ip_cursor     BIGINT NOT NULL DEFAULT 0,"
  "  empty_since   BIGINT"
  ");"
  "CREATE INDEX parties_empty ON parties (empty_since) WHERE empty_since IS NOT NULL;"
  "CREATE TABLE peers ("
  "  id               TEXT PRIMARY KEY,"
  "  party_id         TEXT NOT NULL REFERENCES parties (id) ON DELETE CASCADE,"
  "  name             TEXT NOT NULL,"
  "  virtual_ip       BIGINT NOT NULL,"
  "  wg_public_key    TEXT NOT NULL,"
  "  disco_public_key TEXT NOT NULL,"
  "  endpoints        TEXT NOT NULL,"
  "  nat_mapping      INTEGER NOT NULL,"
  "  nat_filtering    INTEGER NOT NULL,"
  "  token_hash       BYTEA NOT NULL UNIQUE,"
  "  joined_at        BIGINT NOT NULL,"
  "  last_seen        BIGINT NOT NULL,"
  "  UNIQUE (party_id, wg_public_key),"
  "  UNIQUE (party_id, virtual_ip)"
  ");"
  "CREATE INDEX peers_by_party ON peers (party_id, joined_at);"
  "CREATE TABLE address_history ("
  "  party_id      TEXT NOT NULL REFERENCES parties (id) ON DELETE CASCADE,"
  "  wg_public_key TEXT NOT NULL,"
  "  virtual_ip    BIGINT NOT NULL,"
  "  PRIMARY KEY (party_id, wg_public_key)"
  ");"
  "CREATE TABLE relays ("
  "  id         TEXT PRIMARY KEY,"
  "  region     TEXT NOT NULL,"
  "  endpoint   TEXT NOT NULL,"
  "  last_seen  BIGINT NOT NULL"
  ");",

  /* 1 → 2: invite-code rate limits shared by the instances (token buckets by address). */
  "CREATE TABLE rate_limits ("
  "  key         TEXT PRIMARY KEY,"
  "  tokens      DOUBLE PRECISION NOT NULL,"
  "  allowed     BOOLEAN NOT NULL,"
  "  updated_at  BIGINT NOT NULL"
  ");",

  /* 2 → 3: peers removed from their parties, which the relays must stop relaying for while
   * the relay tokens minted before the removal live (until: seconds since the epoch). The
   * sequence never hands out a number again, even after the newest rows are deleted, so a
   * relay's cursor never skips a new row. No foreign key: a row outlives its party. */
  "CREATE SEQUENCE relay_removals_seq;"
  "CREATE TABLE relay_removals ("
  "  seq       BIGINT PRIMARY KEY DEFAULT nextval ('relay_removals_seq'),"
  "  party_id  TEXT NOT NULL,"
  "  peer_id   TEXT NOT NULL,"
  "  until     BIGINT NOT NULL"
  ");"
  "ALTER SEQUENCE relay_removals_seq OWNED BY relay_removals.seq;"
  "CREATE INDEX relay_removals_by_until ON relay_removals (until);",

  /* 3 → 4: the instances sharing the database, each holding a lease it renews (µs since the
   * epoch, by the database's clock). A row whose lease ran out stays an hour, so every
   * instance sees that its owner died and forgets the sockets it held. */
  "CREATE TABLE instances ("
  "  id           TEXT PRIMARY KEY,"
  "  lease_until  BIGINT NOT NULL"
  ");",
};

/* How long the row of an instance whose lease ran out is kept: every live instance renews
 * (and so looks) many times in that hour. */
#define DEAD_INSTANCE_KEPT_US "3600000000"

/* Now in µs since the epoch, by the database's clock. */
#define DATABASE_NOW_US "(extract (epoch FROM clock_timestamp ()) * 1000000)::bigint"

/* A connection of one worker at a time. */
typedef struct
{
  PGconn     *pg;
  GHashTable *prepared;       /* SQL text (static) → statement name */
  guint       next_statement;
  guint       n_statements;   /* run in the current attempt */
  gint64      deadline_us;    /* of the current call (monotonic), 0 outside calls */
} Conn;

struct _LrcPgStore
{
  GObject      parent_instance;
  char        *uri;
  char        *passfile;      /* the URI's passfile=, or NULL */
  GThreadPool *pool;
  GAsyncQueue *idle;          /* Conn */
  GPtrArray   *connections;   /* Conn, all of them */
  LrcPgBus    *bus;
};

static void store_iface_init (LrcStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LrcPgStore, lrc_pg_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LRC_TYPE_STORE, store_iface_init))

#define PEER_COLUMNS \
  "id, party_id, name, virtual_ip, wg_public_key, disco_public_key, endpoints, " \
  "nat_mapping, nat_filtering, last_seen"

static void
conn_free (Conn *conn)
{
  g_clear_pointer (&conn->pg, PQfinish);
  g_clear_pointer (&conn->prepared, g_hash_table_unref);
  g_free (conn);
}

static void
lrc_pg_store_dispose (GObject *object)
{
  LrcPgStore *self = LRC_PG_STORE (object);

  /* Waits for the calls already queued; the workers hold no reference to the store. */
  if (self->pool != NULL)
    g_thread_pool_free (g_steal_pointer (&self->pool), FALSE, TRUE);
  g_clear_pointer (&self->idle, g_async_queue_unref);
  g_clear_pointer (&self->connections, g_ptr_array_unref);
  if (self->bus != NULL)
    g_signal_handlers_disconnect_by_data (self->bus, self);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (lrc_pg_store_parent_class)->dispose (object);
}

static void
lrc_pg_store_finalize (GObject *object)
{
  LrcPgStore *self = LRC_PG_STORE (object);

  g_free (self->uri);
  g_free (self->passfile);

  G_OBJECT_CLASS (lrc_pg_store_parent_class)->finalize (object);
}

static void
lrc_pg_store_class_init (LrcPgStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrc_pg_store_dispose;
  object_class->finalize = lrc_pg_store_finalize;
}

static void
lrc_pg_store_init (LrcPgStore *self)
{
  self->connections = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_free);
  self->idle = g_async_queue_new ();
}

/* Talking to the server. */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PGresult, PQclear)

static void
set_unavailable (GError     **error,
                 const char  *why)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (why != NULL ? why : "no answer"));

  g_set_error (error, LRC_ERROR, LRC_ERROR_UNAVAILABLE, "The database does not answer (%s)",
               trimmed);
}

/* Turns a result into success or an error of LRC_ERROR (or RETRY_ERROR). */
static gboolean
result_ok (Conn      *conn,
           PGresult  *result,
           GError   **error)
{
  ExecStatusType status = result != NULL ? PQresultStatus (result) : PGRES_FATAL_ERROR;
  const char *state;
  g_autofree char *message = NULL;

  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
    return TRUE;

  if (result == NULL || PQstatus (conn->pg) != CONNECTION_OK)
    {
      set_unavailable (error, PQerrorMessage (conn->pg));
      return FALSE;
    }

  state = PQresultErrorField (result, PG_DIAG_SQLSTATE);
  message = g_strstrip (g_strdup (PQresultErrorMessage (result)));
  if (g_strcmp0 (state, "40001") == 0 || g_strcmp0 (state, "40P01") == 0)
    g_set_error (error, RETRY_ERROR, 0, "%s", message);
  else if (g_strcmp0 (state, "23505") == 0)
    g_set_error (error, LRC_ERROR, LRC_ERROR_CONFLICT, "%s", message);
  else if (state != NULL && (g_str_has_prefix (state, "08") || g_str_has_prefix (state, "57P")))
    set_unavailable (error, message);
  else
    g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL, "Database error: %s", message);
  return FALSE;
}

/* Waits until @deadline_us (monotonic) at most for @events on the connection's socket. */
static gboolean
wait_socket (Conn   *conn,
             short   events,
             gint64  deadline_us)
{
  struct pollfd fd = { .fd = PQsocket (conn->pg), .events = events };

  for (;;)
    {
      gint64 left_ms = (deadline_us - g_get_monotonic_time () + 999) / 1000;
      int n;

      if (left_ms <= 0)
        return FALSE;
      n = poll (&fd, 1, (int) MIN (left_ms, G_MAXINT));
      if (n > 0)
        return TRUE;
      if (n < 0 && errno != EINTR)
        return FALSE;
    }
}

/* The result of the statement just sent (PQsend*), read before the call's deadline (or
 * within CALL_DEADLINE_US outside calls). Past it, or if sending failed, the connection is
 * closed (the next call connects again) and @error says the database does not answer. */
static PGresult *
await_result (Conn     *conn,
              gboolean  sent,
              GError  **error)
{
  gint64 deadline_us = conn->deadline_us != 0 ? conn->deadline_us
                                               : g_get_monotonic_time () + CALL_DEADLINE_US;
  PGresult *result, *extra;
  int flushed;

  if (!sent)
    {
      set_unavailable (error, PQerrorMessage (conn->pg));
      g_clear_pointer (&conn->pg, PQfinish);
      return NULL;
    }

  while ((flushed = PQflush (conn->pg)) == 1)
    if (!wait_socket (conn, POLLOUT | POLLIN, deadline_us) || !PQconsumeInput (conn->pg))
      break;
  while (flushed == 0 && PQisBusy (conn->pg))
    if (!wait_socket (conn, POLLIN, deadline_us) || !PQconsumeInput (conn->pg))
      break;
  if (flushed != 0 || PQisBusy (conn->pg))
    {
      if (PQstatus (conn->pg) == CONNECTION_OK)
        g_set_error (error, LRC_ERROR, LRC_ERROR_UNAVAILABLE,
                     "The database did not answer within %d s",
                     (int) (CALL_DEADLINE_US / G_USEC_PER_SEC));
      else
        set_unavailable (error, PQerrorMessage (conn->pg));
      g_clear_pointer (&conn->pg, PQfinish);
      return NULL;
    }

  result = PQgetResult (conn->pg);
  /* One statement, one result: what follows is the end marker. */
  while ((extra = PQgetResult (conn->pg)) != NULL)
    PQclear (extra);
  return result;
}

static gboolean
exec_simple (Conn        *conn,
             const char  *sql,
             GError     **error)
{
  g_autoptr(GError) local = NULL;
  PGresult *result = await_result (conn, PQsendQuery (conn->pg, sql), &local);
  gboolean ok;

  if (result == NULL && local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  ok = result_ok (conn, result, error);

  PQclear (result);
  if (ok)
    conn->n_statements++;
  return ok;
}

typedef struct
{
  const char *values[MAX_PARAMS];
  int         lengths[MAX_PARAMS];
  int         formats[MAX_PARAMS];
  int         n;
  char       *owned[MAX_PARAMS];
} Params;

static void
params_clear (Params *params)
{
  for (int i = 0; i < params->n; i++)
    g_free (params->owned[i]);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Params, params_clear)

static void
params_text (Params     *params,
             const char *text)
{
  g_assert (params->n < MAX_PARAMS);
  params->values[params->n] = text;
  params->lengths[params->n] = 0;
  params->formats[params->n] = 0;
  params->n++;
}

static void
params_int (Params *params,
            gint64  value)
{
  char *text = g_strdup_printf ("%" G_GINT64_FORMAT, value);

  params->owned[params->n] = text;
  params_text (params, text);
}

static void
params_bytes (Params       *params,
              const guint8 *data,
              int           length)
{
  g_assert (params->n < MAX_PARAMS);
  params->values[params->n] = (const char *) data;
  params->lengths[params->n] = length;
  params->formats[params->n] = 1;
  params->n++;
}

/**
 * query:
 * @sql: a string literal (it is the cache key of the prepared statement)
 *
 * Returns: (transfer full): the result, or %NULL with @error set
 */
static PGresult *
query (Conn         *conn,
       const char   *sql,
       const Params *params,
       GError      **error)
{
  const char *name = g_hash_table_lookup (conn->prepared, sql);
  PGresult *result;

  if (name == NULL)
    {
      g_autofree char *new_name = g_strdup_printf ("lrc_%u", conn->next_statement++);

      result = await_result (conn, PQsendPrepare (conn->pg, new_name, sql, 0, NULL), error);
      if (result == NULL && conn->pg == NULL)
        return NULL;
      if (!result_ok (conn, result, error))
        {
          PQclear (result);
          return NULL;
        }
      PQclear (result);
      name = new_name;
      g_hash_table_insert (conn->prepared, (gpointer) sql, g_steal_pointer (&new_name));
    }

  result = await_result (conn,
                         PQsendQueryPrepared (conn->pg, name, params ? params->n : 0,
                                              params ? params->values : NULL,
                                              params ? params->lengths : NULL,
                                              params ? params->formats : NULL, 0),
                         error);
  if (result == NULL && conn->pg == NULL)
    return NULL;
  if (!result_ok (conn, result, error))
    {
      PQclear (result);
      return NULL;
    }

  conn->n_statements++;
  return result;
}

static gboolean
query_done (Conn          *conn,
            const char    *sql,
            const Params  *params,
            GError       **error)
{
  g_autoptr(PGresult) result = query (conn, sql, params, error);

  return result != NULL;
}

static gint64
value_int (PGresult *result,
           int       row,
           int       column)
{
  return g_ascii_strtoll (PQgetvalue (result, row, column), NULL, 10);
}

static char *
value_text (PGresult *result,
            int       row,
            int       column)
{
  return g_strdup (PQgetvalue (result, row, column));
}

static gboolean check_passfile (const char  *passfile,
                                GError     **error);

static gboolean
connect_conn (LrcPgStore  *self,
              Conn        *conn,
              GError     **error)
{
  /* The URI is expanded where dbname stands: what it says wins over connect_timeout, and
   * fallback_application_name only names us when it does not. */
  const char *keywords[] = { "connect_timeout", "dbname", "fallback_application_name", NULL };
  const char *values[] = { "5", self->uri, "lanrage-control", NULL };

  g_clear_pointer (&conn->pg, PQfinish);
  g_hash_table_remove_all (conn->prepared);

  conn->pg = PQconnectdbParams (keywords, values, TRUE);
  if (PQstatus (conn->pg) != CONNECTION_OK && PQconnectionNeedsPassword (conn->pg))
    {
      g_autoptr(GError) file_error = NULL;

      /* The file was private at the start; a reconnection reads it again. */
      if (self->passfile != NULL && !check_passfile (self->passfile, &file_error))
        {
          g_set_error_literal (error, LRC_ERROR, LRC_ERROR_UNAVAILABLE, file_error->message);
          return FALSE;
        }
      g_set_error (error, LRC_ERROR, LRC_ERROR_UNAVAILABLE,
                   "The database asks for a password and was given none: put it in a file "
                   "(0600, .pgpass format: host:port:db:user:password) named by ?passfile=PATH");
      return FALSE;
    }
  if (PQstatus (conn->pg) != CONNECTION_OK)
    {
      /* libpq's message says why (no server, refused, a wrong password), never a secret. */
      g_autofree char *why = g_strstrip (g_strdup (PQerrorMessage (conn->pg)));

      g_set_error (error, LRC_ERROR, LRC_ERROR_UNAVAILABLE,
                   "Could not connect to the database (%s)", why);
      return FALSE;
    }

  /* A query that hangs must not hold a worker (and its request) for ever. */
  return exec_simple (conn, "SET statement_timeout = '10s'", error);
}

static gboolean
ensure_connected (LrcPgStore  *self,
                  Conn        *conn,
                  GError     **error)
{
  if (conn->pg != NULL && PQstatus (conn->pg) == CONNECTION_OK)
    return TRUE;
  return connect_conn (self, conn, error);
}

/* Reading rows. */

static void
peer_from_row (PGresult *result,
               int       row,
               LrPeer   *peer)
{
  const char *endpoints = PQgetvalue (result, row, 6);

  peer->id = value_text (result, row, 0);
  peer->name = value_text (result, row, 2);
  peer->virtual_ip = lr_ipv4_to_string ((guint32) value_int (result, row, 3));
  peer->wg_public_key = value_text (result, row, 4);
  peer->disco_public_key = value_text (result, row, 5);
  peer->endpoints = *endpoints == '\0' ? g_new0 (char *, 1) : g_strsplit (endpoints, "\n", -1);
  peer->nat.mapping = value_int (result, row, 7);
  peer->nat.filtering = value_int (result, row, 8);
  peer->last_seen = value_int (result, row, 9);
}

static gboolean
one_row (PGresult    *result,
         LrcError     missing_code,
         const char  *missing,
         GError     **error)
{
  if (PQntuples (result) > 0)
    return TRUE;

  g_set_error_literal (error, LRC_ERROR, missing_code, missing);
  return FALSE;
}

static gboolean
load_peer (Conn        *conn,
           const char  *party_id,
           const char  *peer_id,
           LrPeer      *peer,
           GError     **error)
{
  g_auto(Params) params = { 0 };
  g_autoptr(PGresult) result = NULL;

  params_text (&params, peer_id);
  params_text (&params, party_id);
  result = query (conn, "SELECT " PEER_COLUMNS " FROM peers WHERE id = $1 AND party_id = $2",
                  &params, error);
  if (result == NULL ||
      !one_row (result, LRC_ERROR_NOT_FOUND, "There is no such peer in this party", error))
    return FALSE;

  peer_from_row (result, 0, peer);
  return TRUE;
}

/* Columns id, name, invite_code, host_peer_id, created_at of the first row. */
static void
party_from_row (PGresult *result,
                LrParty  *party)
{
  party->id = value_text (result, 0, 0);
  party->name = value_text (result, 0, 1);
  party->invite_code = value_text (result, 0, 2);
  party->host_peer_id = value_text (result, 0, 3);
  party->created_at = value_int (result, 0, 4);
}

static gboolean
load_party_sql (Conn        *conn,
                const char  *sql,
                const char  *party_id,
                LrParty     *party,
                GError     **error)
{
  g_auto(Params) params = { 0 };
  g_autoptr(PGresult) result = NULL;

  params_text (&params, party_id);
  result = query (conn, sql, &params, error);
  if (result == NULL ||
      !one_row (result, LRC_ERROR_NOT_FOUND, "There is no such party", error))
    return FALSE;

  party_from_row (result, party);
  return TRUE;
}

static gboolean
load_party (Conn        *conn,
            const char  *party_id,
            LrParty     *party,
            GError     **error)
{
  return load_party_sql (conn, "SELECT id, name, invite_code, host_peer_id, created_at "
                         "FROM parties WHERE id = $1", party_id, party, error);
}

/* Reads the party and locks its row until the transaction ends: see the top of the file. */
static gboolean
lock_party (Conn        *conn,
            const char  *party_id,
            LrParty     *party,
            GError     **error)
{
  return load_party_sql (conn, "SELECT id, name, invite_code, host_peer_id, created_at "
                         "FROM parties WHERE id = $1 FOR UPDATE", party_id, party, error);
}

static gboolean
load_peers (Conn        *conn,
            const char  *party_id,
            GPtrArray  **out,
            GError     **error)
{
  g_auto(Params) params = { 0 };
  g_autoptr(PGresult) result = NULL;
  GPtrArray *peers;

  params_text (&params, party_id);
  result = query (conn, "SELECT " PEER_COLUMNS " FROM peers WHERE party_id = $1 "
                  "ORDER BY joined_at, id", &params, error);
  if (result == NULL)
    return FALSE;

  peers = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_peer_free);
  for (int row = 0; row < PQntuples (result); row++)
    {
      LrPeer *peer = g_new0 (LrPeer, 1);

      peer_from_row (result, row, peer);
      g_ptr_array_add (peers, peer);
    }
  *out = peers;
  return TRUE;
}

static gboolean
load_relays (Conn        *conn,
             gint64       since,
             GPtrArray  **out,
             GError     **error)
{
  g_auto(Params) params = { 0 };
  g_autoptr(PGresult) result = NULL;
  GPtrArray *relays;

  params_int (&params, since);
  result = query (conn, "SELECT id, region, endpoint FROM relays WHERE last_seen > $1 "
                  "ORDER BY id", &params, error);
  if (result == NULL)
    return FALSE;

  relays = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_relay_free);
  for (int row = 0; row < PQntuples (result); row++)
    {
      LrRelay *relay = g_new0 (LrRelay, 1);

      relay->id = value_text (result, row, 0);
      relay->region = value_text (result, row, 1);
      relay->endpoint = value_text (result, row, 2);
      g_ptr_array_add (relays, relay);
    }
  *out = relays;
  return TRUE;
}

/* Operations. */

static gboolean
list_presence (Conn          *conn,
               LrcStoreCall  *call,
               GError       **error)
{
  g_autoptr(PGresult) result = query (conn, "SELECT id, party_id, last_seen FROM peers", NULL,
                                      error);

  if (result == NULL)
    return FALSE;

  for (int row = 0; row < PQntuples (result); row++)
    lrc_store_call_add_presence (call, PQgetvalue (result, row, 0), PQgetvalue (result, row, 1),
                                 value_int (result, row, 2));
  return TRUE;
}

static gboolean
insert_peer (Conn          *conn,
             LrcStoreCall  *call,
             const char    *party_id,
             guint32        address,
             GError       **error)
{
  g_autofree char *endpoints = g_strjoinv ("\n", call->peer_in->endpoints);
  LrPeerIn *in = call->peer_in;
  g_auto(Params) params = { 0 };
  g_autoptr(PGresult) result = NULL;

  params_text (&params, call->peer_id);
  params_text (&params, party_id);
  params_text (&params, in->name);
  params_int (&params, address);
  params_text (&params, in->wg_public_key);
  params_text (&params, in->disco_public_key);
  params_text (&params, endpoints);
  params_int (&params, in->has_nat ? in->nat.mapping : LR_NAT_UNKNOWN);
  params_int (&params, in->has_nat ? in->nat.filtering : LR_NAT_UNKNOWN);
  params_bytes (&params, call->token_hash, LR_TOKEN_HASH_LENGTH);
  params_int (&params, call->now_us);

  /* What the new member is told about itself comes back from the insert itself. */
  result = query (conn, "INSERT INTO peers (id, party_id, name, virtual_ip, wg_public_key, "
                  "disco_public_key, endpoints, nat_mapping, nat_filtering, token_hash, "
                  "joined_at, last_seen) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) "
                  "RETURNING " PEER_COLUMNS, &params, error);
  if (result == NULL)
    return FALSE;
  peer_from_row (result, 0, &call->peer);
  return TRUE;
}


static gboolean
create_party (Conn          *conn,
              LrcStoreCall  *call,
              GError       **error)
{
  g_autoptr(LrIpam) ipam = lr_ipam_new (LR_VIRTUAL_NETWORK, LR_VIRTUAL_PREFIX_LENGTH);
  guint32 address = lr_ipam_allocate (ipam, 0, NULL);
  gboolean inserted = FALSE;

  /* 60 random bits make a clash vanishingly rare, but a clash must not fail a create. */
  for (guint attempt = 0; attempt < 4 && !inserted; attempt++)
    {
      g_autofree char *invite_code = lr_invite_code_generate ();
      g_auto(Params) params = { 0 };
      g_autoptr(PGresult) result = NULL;

      params_text (&params, call->party_id);
      params_text (&params, call->party_name);
      params_text (&params, invite_code);
      params_text (&params, call->peer_id);
      params_int (&params, call->now_us);
      params_int (&params, address);
      result = query (conn, "INSERT INTO parties (id, name, invite_code, host_peer_id, "
                      "created_at, ip_cursor) VALUES ($1, $2, $3, $4, $5, $6) "
                      "ON CONFLICT (invite_code) DO NOTHING "
                      "RETURNING id, name, invite_code, host_peer_id, created_at", &params,
                      error);
      if (result == NULL)
        return FALSE;
      inserted = PQntuples (result) == 1;
      if (inserted)
        party_from_row (result, &call->party);
    }

  if (!inserted)
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL, "Could not find a free invite code");
      return FALSE;
    }

  return insert_peer (conn, call, call->party_id, address, error) &&
         load_relays (conn, call->relays_since, &call->relays, error);
}

/* Seven round trips: BEGIN, the party (locked), its members and the key's old address, the
 * insert, the party's cursor, the relays, COMMIT. */
static gboolean
join (Conn          *conn,
      LrcStoreCall  *call,
      GError       **error)
{
  g_autoptr(LrIpam) ipam = lr_ipam_new (LR_VIRTUAL_NETWORK, LR_VIRTUAL_PREFIX_LENGTH);
  g_autoptr(PGresult) party = NULL;
  g_autoptr(PGresult) members = NULL;
  g_auto(Params) by_code = { 0 };
  g_auto(Params) by_key = { 0 };
  g_auto(Params) cursor = { 0 };
  guint32 preferred = 0;
  guint32 address;

  params_text (&by_code, call->invite_code);
  party = query (conn, "SELECT id, name, invite_code, host_peer_id, created_at, ip_cursor, "
                 "empty_since IS NOT NULL FROM parties WHERE invite_code = $1 FOR UPDATE",
                 &by_code, error);
  if (party == NULL ||
      !one_row (party, LRC_ERROR_INVITE_NOT_FOUND,
                "No party has that invite code; check it with the host, the party "
                "may have been closed", error))
    return FALSE;

  party_from_row (party, &call->party);
  lr_ipam_set_cursor (ipam, (guint32) value_int (party, 0, 5));
  call->was_empty = g_str_equal (PQgetvalue (party, 0, 6), "t");

  params_text (&by_key, call->party.id);
  params_text (&by_key, call->peer_in->wg_public_key);
  members = query (conn, "SELECT virtual_ip, wg_public_key, FALSE FROM peers "
                   "WHERE party_id = $1 UNION ALL "
                   "SELECT virtual_ip, wg_public_key, TRUE FROM address_history "
                   "WHERE party_id = $1 AND wg_public_key = $2", &by_key, error);
  if (members == NULL)
    return FALSE;

  for (int row = 0; row < PQntuples (members); row++)
    {
      if (g_str_equal (PQgetvalue (members, row, 2), "t"))
        {
          preferred = (guint32) value_int (members, row, 0);
          continue;
        }
      lr_ipam_reserve (ipam, (guint32) value_int (members, row, 0), NULL);
      if (g_str_equal (PQgetvalue (members, row, 1), call->peer_in->wg_public_key))
        {
          g_set_error (error, LRC_ERROR, LRC_ERROR_ALREADY_JOINED,
                       "This device is in the party already");
          return FALSE;
        }
    }

  if (!lrc_store_check_room (ipam, error))
    return FALSE;

  address = lr_ipam_allocate (ipam, preferred, error);
  if (address == 0 || !insert_peer (conn, call, call->party.id, address, error))
    return FALSE;

  /* The cursor only moves forward, so a preferred address below it doesn't pull it back. */
  params_int (&cursor, address);
  params_text (&cursor, call->party.id);
  if (call->was_empty)
    {
      params_text (&cursor, call->peer_id);
      if (!query_done (conn, "UPDATE parties SET ip_cursor = GREATEST (ip_cursor, $1), "
                       "empty_since = NULL, host_peer_id = $3 WHERE id = $2", &cursor, error))
        return FALSE;
      g_free (call->party.host_peer_id);
      call->party.host_peer_id = g_strdup (call->peer_id);
    }
  else if (!query_done (conn, "UPDATE parties SET ip_cursor = GREATEST (ip_cursor, $1) "
                        "WHERE id = $2", &cursor, error))
    return FALSE;

  return load_relays (conn, call->relays_since, &call->relays, error);
}

static gboolean
authenticate (Conn          *conn,
              LrcStoreCall  *call,
              GError       **error)
{
  g_auto(Params) params = { 0 };
  g_autoptr(PGresult) result = NULL;
  unsigned char *stored = NULL;
  size_t length = 0;
  gboolean found = FALSE;

  /* The index finds the row by hash; the constant-time comparison below is what decides. */
  params_bytes (&params, call->token_hash, LR_TOKEN_HASH_LENGTH);
  result = query (conn, "SELECT id, party_id, token_hash FROM peers WHERE token_hash = $1",
                  &params, error);
  if (result == NULL)
    return FALSE;

  if (PQntuples (result) > 0)
    stored = PQunescapeBytea ((const unsigned char *) PQgetvalue (result, 0, 2), &length);
  if (stored != NULL && length == LR_TOKEN_HASH_LENGTH &&
      lr_token_hash_equal (stored, call->token_hash))
    {
      call->peer_id = value_text (result, 0, 0);
      call->party_id = value_text (result, 0, 1);
      found = TRUE;
    }
  PQfreemem (stored);

  if (!found)
    g_set_error (error, LRC_ERROR, LRC_ERROR_UNAUTHORIZED,
                 "That token is not valid (the peer may have left or been removed)");
  return found;
}

static gboolean
update_peer (Conn          *conn,
             LrcStoreCall  *call,
             GError       **error)
{
  LrPeerUpdate *update = call->update;
  g_autofree char *endpoints = NULL;
  g_autofree char *mapping = NULL;
  g_autofree char *filtering = NULL;
  g_auto(Params) params = { 0 };

  if (update->has_endpoints)
    endpoints = g_strjoinv ("\n", update->endpoints);
  if (update->has_nat)
    {
      mapping = g_strdup_printf ("%d", update->nat.mapping);
      filtering = g_strdup_printf ("%d", update->nat.filtering);
    }

  params_text (&params, update->name);
  params_text (&params, endpoints);
  params_text (&params, mapping);
  params_text (&params, filtering);
  params_text (&params, call->peer_id);
  params_text (&params, call->party_id);

  return query_done (conn, "UPDATE peers SET name = COALESCE ($1::text, name), "
                     "endpoints = COALESCE ($2::text, endpoints), "
                     "nat_mapping = COALESCE ($3::integer, nat_mapping), "
                     "nat_filtering = COALESCE ($4::integer, nat_filtering) "
                     "WHERE id = $5 AND party_id = $6", &params, error) &&
         load_peer (conn, call->party_id, call->peer_id, &call->peer, error);
}

/* Tells the relays, through their next registration, to stop relaying for @peer_id (all
 * peers of the party when %NULL). The last statements of the removal's transaction. */
static gboolean
record_relay_removal (Conn         *conn,
                      const char   *party_id,
                      const char   *peer_id,
                      gint64        until,
                      GError      **error)
{
  g_auto(Params) params = { 0 };

  if (!query_done (conn, "SELECT pg_advisory_xact_lock (" RELAY_REMOVALS_LOCK ")", NULL, error))
    return FALSE;

  params_text (&params, party_id);
  params_int (&params, until);
  if (peer_id != NULL)
    {
      params_text (&params, peer_id);
      return query_done (conn, "INSERT INTO relay_removals (party_id, peer_id, until) "
                         "VALUES ($1, $3, $2)", &params, error);
    }
  return query_done (conn, "INSERT INTO relay_removals (party_id, peer_id, until) "
                     "SELECT party_id, id, $2 FROM peers WHERE party_id = $1 "
                     "ORDER BY joined_at, id", &params, error);
}

static gboolean
remove_peer (Conn          *conn,
             LrcStoreCall  *call,
             GError       **error)
{
  g_auto(Params) history = { 0 };
  g_auto(Params) ids = { 0 };
  g_auto(Params) by_party = { 0 };
  g_autoptr(PGresult) next = NULL;
  guint32 address = 0;

  if (!lock_party (conn, call->party_id, &call->party, error))
    return FALSE;
  if (!lrc_store_check_may_remove (call, error))
    return FALSE;
  if (!load_peer (conn, call->party_id, call->peer_id, &call->peer, error))
    return FALSE;
  if (!lrc_store_check_quiet (call, error))
    return FALSE;

  lr_ipv4_parse (call->peer.virtual_ip, &address);
  params_text (&history, call->party_id);
  params_text (&history, call->peer.wg_public_key);
  params_int (&history, address);
  if (!query_done (conn, "INSERT INTO address_history (party_id, wg_public_key, virtual_ip) "
                   "VALUES ($1, $2, $3) ON CONFLICT (party_id, wg_public_key) "
                   "DO UPDATE SET virtual_ip = excluded.virtual_ip", &history, error))
    return FALSE;

  params_text (&ids, call->peer_id);
  params_text (&ids, call->party_id);
  if (!query_done (conn, "DELETE FROM peers WHERE id = $1 AND party_id = $2", &ids, error))
    return FALSE;

  /* The longest-standing member takes over from a host who leaves. */
  params_text (&by_party, call->party_id);
  next = query (conn, "SELECT id FROM peers WHERE party_id = $1 ORDER BY joined_at, id LIMIT 1",
                &by_party, error);
  if (next == NULL)
    return FALSE;

  if (PQntuples (next) == 0)
    {
      g_auto(Params) empty = { 0 };

      params_int (&empty, call->now_us);
      params_text (&empty, call->party_id);
      return query_done (conn, "UPDATE parties SET empty_since = $1 WHERE id = $2", &empty,
                         error) &&
             record_relay_removal (conn, call->party_id, call->peer_id, call->removal_until,
                                   error);
    }

  if (g_str_equal (call->party.host_peer_id, call->peer_id))
    {
      g_auto(Params) host = { 0 };

      params_text (&host, PQgetvalue (next, 0, 0));
      params_text (&host, call->party_id);
      if (!query_done (conn, "UPDATE parties SET host_peer_id = $1 WHERE id = $2", &host, error))
        return FALSE;
      g_free (call->party.host_peer_id);
      call->party.host_peer_id = value_text (next, 0, 0);
      call->host_changed = TRUE;
    }

  return record_relay_removal (conn, call->party_id, call->peer_id, call->removal_until,
                               error);
}

static gboolean
close_party (Conn          *conn,
             LrcStoreCall  *call,
             GError       **error)
{
  g_auto(Params) params = { 0 };

  params_text (&params, call->party_id);
  return lock_party (conn, call->party_id, &call->party, error) &&
         lrc_store_check_host (&call->party, call->requester_id,
                               "Only the host can close the party", error) &&
         record_relay_removal (conn, call->party_id, NULL, call->removal_until, error) &&
         query_done (conn, "DELETE FROM parties WHERE id = $1", &params, error);
}

static gboolean
register_relay (Conn          *conn,
                LrcStoreCall  *call,
                GError       **error)
{
  g_auto(Params) params = { 0 };

  params_text (&params, call->relay->id);
  params_text (&params, call->relay->region);
  params_text (&params, call->relay->endpoint);
  params_int (&params, call->now_us);
  return query_done (conn, "INSERT INTO relays (id, region, endpoint, last_seen) "
                     "VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET "
                     "region = excluded.region, endpoint = excluded.endpoint, "
                     "last_seen = GREATEST (relays.last_seen, excluded.last_seen)", &params,
                     error);
}

/* All the batch in one statement, as two arrays; ids are hex, so they need no quoting. */
static gboolean
write_presence (Conn          *conn,
                LrcStoreCall  *call,
                GError       **error)
{
  g_autoptr(GString) ids = g_string_new ("{");
  g_autoptr(GString) times = g_string_new ("{");
  g_auto(Params) params = { 0 };

  if (call->presence == NULL || call->presence->len == 0)
    return TRUE;

  for (guint i = 0; i < call->presence->len; i++)
    {
      LrcPresence *presence = &g_array_index (call->presence, LrcPresence, i);

      g_string_append_printf (ids, "%s%s", i > 0 ? "," : "", presence->peer_id);
      g_string_append_printf (times, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
                              presence->last_seen);
    }
  g_string_append_c (ids, '}');
  g_string_append_c (times, '}');

  params_text (&params, ids->str);
  params_text (&params, times->str);
  return query_done (conn, "UPDATE peers SET last_seen = GREATEST (peers.last_seen, heard.at) "
                     "FROM unnest ($1::text[], $2::bigint[]) AS heard (id, at) "
                     "WHERE peers.id = heard.id", &params, error);
}

static gboolean
sweep (Conn          *conn,
       LrcStoreCall  *call,
       GError       **error)
{
  g_auto(Params) parties = { 0 };
  g_auto(Params) relays = { 0 };
  g_auto(Params) rates = { 0 };
  g_auto(Params) removals = { 0 };

  params_int (&parties, call->empty_before);
  params_int (&relays, call->relays_before);
  /* A bucket untouched for a minute is full again: the same as no row. */
  params_int (&rates, call->now_us - 60 * G_USEC_PER_SEC);
  /* A removal outlives every token minted before it: the relays refuse those anyway. */
  params_int (&removals, call->now_us / G_USEC_PER_SEC);
  return query_done (conn, "DELETE FROM parties WHERE empty_since IS NOT NULL AND "
                     "empty_since <= $1", &parties, error) &&
         query_done (conn, "DELETE FROM relays WHERE last_seen <= $1", &relays, error) &&
         query_done (conn, "DELETE FROM rate_limits WHERE updated_at < $1", &rates, error) &&
         query_done (conn, "DELETE FROM relay_removals WHERE until < $1", &removals, error);
}

/* The sequence, not the table, says the newest cursor: the sweep deletes the newest rows
 * too. It may count a removal not committed yet, which only makes "more" err on asking. */
static gboolean
relay_removals (Conn          *conn,
                LrcStoreCall  *call,
                GError       **error)
{
  g_auto(Params) params = { 0 };
  g_autoptr(PGresult) newest = NULL;
  g_autoptr(PGresult) rows = NULL;

  newest = query (conn, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END "
                  "FROM relay_removals_seq", NULL, error);
  if (newest == NULL)
    return FALSE;
  call->removals_newest = value_int (newest, 0, 0);
  if (call->removed_after > call->removals_newest)
    call->removed_after = 0;

  params_int (&params, call->removed_after);
  params_int (&params, LR_RELAY_REMOVALS_PAGE);
  rows = query (conn, "SELECT seq, party_id, peer_id, until FROM relay_removals "
                "WHERE seq > $1 ORDER BY seq LIMIT $2", &params, error);
  if (rows == NULL)
    return FALSE;
  for (int row = 0; row < PQntuples (rows); row++)
    lrc_store_call_add_removal (call, value_int (rows, row, 0), PQgetvalue (rows, row, 1),
                                PQgetvalue (rows, row, 2), value_int (rows, row, 3));
  return TRUE;
}

/* Each statement reads the database's clock anew: a renewal that waited for a lock
 * (another instance deleting rows) still holds its lease for lease_us from when it got it. */
static gboolean
renew_lease (Conn          *conn,
             LrcStoreCall  *call,
             GError       **error)
{
  g_auto(Params) renew = { 0 };
  g_auto(Params) own = { 0 };
  g_autoptr(PGresult) renewed = NULL;
  g_autoptr(PGresult) dead = NULL;

  /* The CTE reads the row as it was before the upsert. */
  params_text (&renew, call->instance_id);
  params_int (&renew, call->lease_us);
  renewed = query (conn, "WITH old AS (SELECT lease_until FROM instances WHERE id = $1) "
                   "INSERT INTO instances (id, lease_until) "
                   "VALUES ($1, " DATABASE_NOW_US " + $2) "
                   "ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until "
                   "RETURNING COALESCE ((SELECT lease_until FROM old) < " DATABASE_NOW_US
                   ", FALSE)", &renew, error);
  if (renewed == NULL)
    return FALSE;
  call->lease_lapsed = g_str_equal (PQgetvalue (renewed, 0, 0), "t");

  if (!query_done (conn, "DELETE FROM instances WHERE lease_until < "
                   DATABASE_NOW_US " - " DEAD_INSTANCE_KEPT_US, NULL, error))
    return FALSE;

  params_text (&own, call->instance_id);
  dead = query (conn, "SELECT id FROM instances WHERE lease_until < " DATABASE_NOW_US
                " AND id <> $1", &own, error);
  if (dead == NULL)
    return FALSE;
  call->dead_instances = g_ptr_array_new_with_free_func (g_free);
  for (int row = 0; row < PQntuples (dead); row++)
    g_ptr_array_add (call->dead_instances, value_text (dead, row, 0));
  return TRUE;
}

/* The bucket of lrc-rate-limiter.c, in one statement: the row lock of the upsert makes the
 * read, refill and take atomic across instances. */
static gboolean
rate_limit (Conn          *conn,
            LrcStoreCall  *call,
            GError       **error)
{
  g_auto(Params) params = { 0 };
  g_autoptr(PGresult) result = NULL;
  double tokens;

  params_text (&params, call->rate_key);
  params_int (&params, call->rate_per_minute);
  params_int (&params, call->now_us);
  result = query (conn,
                  "INSERT INTO rate_limits AS b (key, tokens, allowed, updated_at) "
                  "VALUES ($1, $2::float8 - 1, TRUE, $3) ON CONFLICT (key) DO UPDATE SET "
                  "tokens = CASE WHEN LEAST ($2::float8, b.tokens + GREATEST (0, $3 - b.updated_at)"
                  "  / 60000000.0 * $2::float8) >= 1 "
                  "  THEN LEAST ($2::float8, b.tokens + GREATEST (0, $3 - b.updated_at)"
                  "  / 60000000.0 * $2::float8) - 1 "
                  "  ELSE LEAST ($2::float8, b.tokens + GREATEST (0, $3 - b.updated_at)"
                  "  / 60000000.0 * $2::float8) END, "
                  "allowed = LEAST ($2::float8, b.tokens + GREATEST (0, $3 - b.updated_at)"
                  "  / 60000000.0 * $2::float8) >= 1, "
                  "updated_at = GREATEST (b.updated_at, $3) "
                  "RETURNING allowed, tokens", &params, error);
  if (result == NULL)
    return FALSE;

  call->rate_allowed = g_str_equal (PQgetvalue (result, 0, 0), "t");
  tokens = g_ascii_strtod (PQgetvalue (result, 0, 1), NULL);
  if (!call->rate_allowed)
    call->rate_retry_after_s = (guint) ((1.0 - tokens) * 60.0 / call->rate_per_minute) + 1;
  return TRUE;
}

static gboolean
count (Conn          *conn,
       LrcStoreCall  *call,
       GError       **error)
{
  g_autoptr(PGresult) result = query (conn, "SELECT (SELECT count(*) FROM parties), "
                                      "(SELECT count(*) FROM peers)", NULL, error);

  if (result == NULL)
    return FALSE;
  call->n_parties = value_int (result, 0, 0);
  call->n_peers = value_int (result, 0, 1);
  return TRUE;
}

static gboolean
run (Conn          *conn,
     LrcStoreCall  *call,
     GError       **error)
{
  switch (call->op)
    {
    case LRC_STORE_LIST_PRESENCE:
      return list_presence (conn, call, error);
    case LRC_STORE_CREATE_PARTY:
      return create_party (conn, call, error);
    case LRC_STORE_JOIN:
      return join (conn, call, error);
    case LRC_STORE_AUTHENTICATE:
      return authenticate (conn, call, error);
    case LRC_STORE_GET_PARTY:
      return load_party (conn, call->party_id, &call->party, error) &&
             load_peers (conn, call->party_id, &call->peers, error);
    case LRC_STORE_GET_PEER:
      return load_peer (conn, call->party_id, call->peer_id, &call->peer, error);
    case LRC_STORE_UPDATE_PEER:
      return update_peer (conn, call, error);
    case LRC_STORE_REMOVE_PEER:
      return remove_peer (conn, call, error);
    case LRC_STORE_CLOSE_PARTY:
      return close_party (conn, call, error);
    case LRC_STORE_REGISTER_RELAY:
      return register_relay (conn, call, error);
    case LRC_STORE_LIST_RELAYS:
      return load_relays (conn, call->relays_since, &call->relays, error);
    case LRC_STORE_WRITE_PRESENCE:
      return write_presence (conn, call, error);
    case LRC_STORE_SWEEP:
      return sweep (conn, call, error);
    case LRC_STORE_COUNT:
      return count (conn, call, error);
    case LRC_STORE_RATE_LIMIT:
      return rate_limit (conn, call, error);
    case LRC_STORE_RELAY_REMOVALS:
      return relay_removals (conn, call, error);
    case LRC_STORE_RENEW_LEASE:
      return renew_lease (conn, call, error);
    default:
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL, "Unknown store operation %d",
                   call->op);
      return FALSE;
    }
}

/* Operations of more than one statement run in a transaction; the others are one already. */
static const char *
begin_statement (LrcStoreOp op)
{
  switch (op)
    {
    case LRC_STORE_CREATE_PARTY:
    case LRC_STORE_JOIN:
    case LRC_STORE_UPDATE_PEER:
    case LRC_STORE_REMOVE_PEER:
    case LRC_STORE_CLOSE_PARTY:
    case LRC_STORE_SWEEP:
      return "BEGIN";
    case LRC_STORE_GET_PARTY:
      /* The party and its members as of one moment. */
      return "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    case LRC_STORE_LIST_PRESENCE:
    case LRC_STORE_AUTHENTICATE:
    case LRC_STORE_GET_PEER:
    case LRC_STORE_REGISTER_RELAY:
    case LRC_STORE_LIST_RELAYS:
    case LRC_STORE_WRITE_PRESENCE:
    case LRC_STORE_COUNT:
    case LRC_STORE_RATE_LIMIT:
    case LRC_STORE_RELAY_REMOVALS:
    case LRC_STORE_RENEW_LEASE:
    default:
      return NULL;
    }
}

/* What an attempt wrote into the call, undone before the next one. */
static void
clear_outputs (LrcStoreCall *call)
{
  lr_party_clear (&call->party);
  lr_peer_clear (&call->peer);
  g_clear_pointer (&call->peers, g_ptr_array_unref);
  g_clear_pointer (&call->relays, g_ptr_array_unref);
  g_clear_pointer (&call->removals, g_array_unref);
  g_clear_pointer (&call->dead_instances, g_ptr_array_unref);
  call->was_empty = FALSE;
  call->host_changed = FALSE;
  if (call->op == LRC_STORE_LIST_PRESENCE)
    g_clear_pointer (&call->presence, g_array_unref);
}

static gboolean
run_call (LrcPgStore    *self,
          Conn          *conn,
          LrcStoreCall  *call,
          GError       **error)
{
  const char *begin = begin_statement (call->op);

  for (guint attempt = 1;; attempt++)
    {
      g_autoptr(GError) local = NULL;
      gboolean done;

      conn->n_statements = 0;
      if (!ensure_connected (self, conn, error))
        return FALSE;

      done = (begin == NULL || exec_simple (conn, begin, &local)) &&
             run (conn, call, &local) &&
             (begin == NULL || exec_simple (conn, "COMMIT", &local));
      if (done)
        return TRUE;

      if (PQstatus (conn->pg) == CONNECTION_OK &&
          PQtransactionStatus (conn->pg) != PQTRANS_IDLE)
        {
          PGresult *result = PQexec (conn->pg, "ROLLBACK");
          PQclear (result);
        }
      clear_outputs (call);

      /* A connection that died while idle (the server restarted) fails the first
       * statement: nothing was done, so the call is safe to run again on a new one. */
      if (g_error_matches (local, LRC_ERROR, LRC_ERROR_UNAVAILABLE) &&
          conn->n_statements == 0 && attempt == 1)
        {
          g_clear_pointer (&conn->pg, PQfinish);
          continue;
        }

      if (g_error_matches (local, RETRY_ERROR, 0))
        {
          if (attempt < MAX_ATTEMPTS)
            {
              g_usleep (g_random_int_range (1000, 5000) * attempt);
              continue;
            }
          g_set_error (error, LRC_ERROR, LRC_ERROR_UNAVAILABLE,
                       "The database is too busy right now (%s)", local->message);
          return FALSE;
        }

      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
}

static gboolean
unref_task_cb (gpointer task)
{
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
worker (gpointer data,
        gpointer user_data)
{
  GTask *task = data;
  LrcPgStore *self = user_data;
  LrcStoreCall *call = g_task_get_task_data (task);
  Conn *conn = g_async_queue_pop (self->idle);
  g_autoptr(GError) error = NULL;
  gboolean done;
  GSource *source;

  conn->deadline_us = g_get_monotonic_time () + CALL_DEADLINE_US;
  done = run_call (self, conn, call, &error);
  conn->deadline_us = 0;
  g_async_queue_push (self->idle, conn);

  if (done)
    g_task_return_pointer (task, call, (GDestroyNotify) lrc_store_call_free);
  else
    {
      lrc_store_call_free (call);
      g_task_return_error (task, g_steal_pointer (&error));
    }

  /* The task's last reference may hold the store: drop it on the main context, never
   * here, where disposing the store would wait for this very thread. */
  source = g_idle_source_new ();
  g_source_set_callback (source, unref_task_cb, task, NULL);
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static void
pg_store_call_async (LrcStore            *store,
                     LrcStoreCall        *call,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  LrcPgStore *self = LRC_PG_STORE (store);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, pg_store_call_async);
  /* The worker owns the call from here: it returns it or frees it. The pool runs every
   * queued task before it is freed, so none is dropped. */
  g_task_set_task_data (task, call, NULL);
  g_thread_pool_push (self->pool, task, NULL);
}

static LrcStoreCall *
pg_store_call_finish (LrcStore      *store,
                      GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The bus is the probe: it notices at once when the server goes, and reconnects by itself
 * every second, so the answer comes back without any request having to fail first. */
static gboolean
pg_store_is_healthy (LrcStore *store)
{
  return lrc_pg_bus_is_connected (LRC_PG_STORE (store)->bus);
}

static gboolean
pg_store_is_shared (LrcStore *store)
{
  return TRUE;
}

static gboolean
pg_store_is_leader (LrcStore *store)
{
  return lrc_pg_bus_is_leader (LRC_PG_STORE (store)->bus);
}

static void
pg_store_publish (LrcStore   *store,
                  const char *notice)
{
  lrc_pg_bus_publish (LRC_PG_STORE (store)->bus, notice);
}

static void
store_iface_init (LrcStoreInterface *iface)
{
  iface->is_shared = pg_store_is_shared;
  iface->is_leader = pg_store_is_leader;
  iface->publish = pg_store_publish;
  iface->call_async = pg_store_call_async;
  iface->call_finish = pg_store_call_finish;
  iface->is_healthy = pg_store_is_healthy;
}

/* Opening. */

/* @out_passfile: (optional): the URI's passfile=, or NULL */
static gboolean
check_no_password (const char  *uri,
                   char       **out_passfile,
                   GError     **error)
{
  char *message = NULL;
  PQconninfoOption *options = PQconninfoParse (uri, &message);
  gboolean has_password = FALSE;
  g_autofree char *passfile = NULL;

  if (options == NULL)
    {
      /* libpq's message names the part it could not read, never a value. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--db: not a PostgreSQL connection URI: %s",
                   message != NULL ? g_strstrip (message) : "out of memory");
      PQfreemem (message);
      return FALSE;
    }

  for (PQconninfoOption *option = options; option->keyword != NULL; option++)
    {
      if (option->val == NULL || *option->val == '\0')
        continue;
      if (g_str_equal (option->keyword, "password"))
        has_password = TRUE;
      else if (g_str_equal (option->keyword, "passfile") && passfile == NULL)
        passfile = g_strdup (option->val);
    }
  PQconninfoFree (options);

  if (has_password)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--db: a password does not belong in the connection URI, where command "
                   "lines and logs show it; put it in a file (0600, .pgpass format: "
                   "host:port:db:user:password) and name it with ?passfile=PATH");
      return FALSE;
    }

  if (g_getenv ("PGPASSWORD") != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "PGPASSWORD is set; give the password in a file with ?passfile=PATH");
      return FALSE;
    }

  if (passfile != NULL && !check_passfile (passfile, error))
    return FALSE;
  if (out_passfile != NULL)
    *out_passfile = g_steal_pointer (&passfile);
  return TRUE;
}

/* libpq skips a password file others may read with a warning on stderr only, and the
 * connection then fails for want of a password: say why instead. */
static gboolean
check_passfile (const char  *passfile,
                GError     **error)
{
  GStatBuf info;

  if (g_stat (passfile, &info) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "--db: the password file %s: %s", passfile, g_strerror (saved));
      return FALSE;
    }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "--db: the password file %s can be read by others; make it the "
                   "owner's only (chmod 600)", passfile);
      return FALSE;
    }
  return TRUE;
}

static gboolean
migrate (Conn        *conn,
         GError     **error)
{
  g_autoptr(PGresult) result = NULL;
  int version;
  gboolean done = TRUE;

  if (!exec_simple (conn, "SELECT pg_advisory_lock (" MIGRATION_LOCK ")", error))
    return FALSE;

  if (!exec_simple (conn, "CREATE TABLE IF NOT EXISTS lanrage_schema (version INTEGER NOT NULL);"
                    "INSERT INTO lanrage_schema SELECT 0 WHERE NOT EXISTS "
                    "(SELECT 1 FROM lanrage_schema)", error))
    done = FALSE;

  if (done)
    {
      result = PQexec (conn->pg, "SELECT version FROM lanrage_schema");
      done = result_ok (conn, result, error);
    }

  version = done ? (int) value_int (result, 0, 0) : 0;
  if (done && version > (int) G_N_ELEMENTS (migrations))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL,
                   "The database was written by a newer lanrage-control (schema %d; this one "
                   "knows %u); refusing to touch it", version, (guint) G_N_ELEMENTS (migrations));
      done = FALSE;
    }

  for (guint i = version; done && i < G_N_ELEMENTS (migrations); i++)
    {
      g_autofree char *bump = g_strdup_printf ("UPDATE lanrage_schema SET version = %u", i + 1);

      done = exec_simple (conn, "BEGIN", error) &&
             exec_simple (conn, migrations[i], error) &&
             exec_simple (conn, bump, error) &&
             exec_simple (conn, "COMMIT", error);
      if (!done)
        PQclear (PQexec (conn->pg, "ROLLBACK"));
      else
        g_message ("Database schema migrated to version %u", i + 1);
    }

  PQclear (PQexec (conn->pg, "SELECT pg_advisory_unlock (" MIGRATION_LOCK ")"));
  return done;
}

static void
bus_notice_cb (LrcPgStore *self,
               const char *notice)
{
  g_signal_emit_by_name (self, "notice", notice);
}

static void
bus_resync_cb (LrcPgStore *self)
{
  g_signal_emit_by_name (self, "resync");
}

/**
 * lrc_pg_store_open:
 * @uri: a libpq connection URI, `postgresql://…`, with no password in it
 * @n_connections: how many calls run at once, each on its own thread and connection
 *
 * Connects, brings the schema up to date (one instance at a time) and starts the workers.
 * It blocks: call it before the main loop runs.
 */
LrcPgStore *
lrc_pg_store_open (const char  *uri,
                   guint        n_connections,
                   GError     **error)
{
  g_autoptr(LrcPgStore) self = NULL;
  g_autofree char *passfile = NULL;
  Conn *first;

  if (!check_no_password (uri, &passfile, error))
    return NULL;

  self = g_object_new (LRC_TYPE_PG_STORE, NULL);
  self->uri = g_strdup (uri);
  self->passfile = g_steal_pointer (&passfile);

  g_return_val_if_fail (n_connections >= 1 && n_connections <= LRC_STORE_MAX_POOL, NULL);

  for (guint i = 0; i < n_connections; i++)
    {
      Conn *conn = g_new0 (Conn, 1);

      conn->prepared = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
      g_ptr_array_add (self->connections, conn);
    }

  /* The first connection now, so a wrong URI fails the start; the others on first use. */
  first = g_ptr_array_index (self->connections, 0);
  if (!connect_conn (self, first, error) || !migrate (first, error))
    return NULL;

  for (guint i = 0; i < n_connections; i++)
    g_async_queue_push (self->idle, g_ptr_array_index (self->connections, i));

  self->pool = g_thread_pool_new (worker, self, (gint) n_connections, TRUE, error);
  if (self->pool == NULL)
    return NULL;

  self->bus = lrc_pg_bus_new (uri);
  g_signal_connect_swapped (self->bus, "notice", G_CALLBACK (bus_notice_cb), self);
  g_signal_connect_swapped (self->bus, "resync", G_CALLBACK (bus_resync_cb), self);

  return g_steal_pointer (&self);
}
