/* lrc-pg-bus.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-pg-bus.h"

#include <glib-unix.h>
#include <libpq-fe.h>
#include <string.h>

/*
 * One connection of its own, driven by the main loop with libpq's non-blocking API: it
 * LISTENs on the channel, sends this instance's notices with pg_notify() one at a time (so
 * they leave in the order they were published), and holds the sweeper's advisory lock: the
 * instance whose bus holds it is the leader, and when that instance dies its session ends
 * and another one takes the lock at its next try.
 *
 * Notices are best effort. While the connection is down, and when it comes back, notices may
 * have been missed: "resync" says so, and the service makes up for it with snapshots.
 * Connecting blocks, so it runs on a thread; everything else is on the main loop.
 */

#define CHANNEL         "lanrage"
/* pg_notify() refuses payloads of 8000 bytes and more. */
#define MAX_NOTICE      7999
#define LEADER_LOCK     "7401852291406518"
#define RETRY_MS        1000
#define LEADER_RETRY_MS 2000

typedef enum
{
  QUERY_LISTEN,
  QUERY_LOCK,
  QUERY_NOTIFY,
} QueryKind;

typedef struct
{
  QueryKind  kind;
  char      *payload;
} Query;

struct _LrcPgBus
{
  GObject       parent_instance;
  char         *uri;
  PGconn       *pg;
  guint         read_watch;
  guint         write_watch;
  guint         retry_source;
  guint         leader_source;
  GQueue        queries;       /* Query, waiting to be sent */
  gboolean      busy;          /* a query is in flight */
  QueryKind     in_flight;
  gboolean      leader;
  gboolean      was_connected;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (LrcPgBus, lrc_pg_bus, G_TYPE_OBJECT)

enum {
  SIGNAL_NOTICE,
  SIGNAL_RESYNC,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void connect_later (LrcPgBus *self);
static void send_next (LrcPgBus *self);
static void take_connection (LrcPgBus *self,
                             PGconn   *pg);

static void
query_free (Query *query)
{
  g_free (query->payload);
  g_free (query);
}

static void
disconnect (LrcPgBus *self)
{
  g_clear_handle_id (&self->read_watch, g_source_remove);
  g_clear_handle_id (&self->write_watch, g_source_remove);
  g_clear_pointer (&self->pg, PQfinish);
  g_queue_clear_full (&self->queries, (GDestroyNotify) query_free);
  self->busy = FALSE;
  self->leader = FALSE;
}

static void
lrc_pg_bus_dispose (GObject *object)
{
  LrcPgBus *self = LRC_PG_BUS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->leader_source, g_source_remove);
  disconnect (self);

  G_OBJECT_CLASS (lrc_pg_bus_parent_class)->dispose (object);
}

static void
lrc_pg_bus_finalize (GObject *object)
{
  LrcPgBus *self = LRC_PG_BUS (object);

  g_free (self->uri);

  G_OBJECT_CLASS (lrc_pg_bus_parent_class)->finalize (object);
}

static void
lrc_pg_bus_class_init (LrcPgBusClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrc_pg_bus_dispose;
  object_class->finalize = lrc_pg_bus_finalize;

  /**
   * LrcPgBus::notice:
   * @notice: what an instance (this one included) published
   */
  signals[SIGNAL_NOTICE] =
    g_signal_new ("notice", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * LrcPgBus::resync:
   *
   * The bus is back after a gap in which notices may have been lost.
   */
  signals[SIGNAL_RESYNC] =
    g_signal_new ("resync", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
lrc_pg_bus_init (LrcPgBus *self)
{
  g_queue_init (&self->queries);
  self->cancellable = g_cancellable_new ();
}

static void
lost (LrcPgBus   *self,
      const char *why)
{
  g_autofree char *reason = g_strstrip (g_strdup (why != NULL ? why : ""));

  g_warning ("Lost the database's notice connection (%s); reconnecting", reason);
  disconnect (self);
  connect_later (self);
}

static void
handle_result (LrcPgBus *self,
               PGresult *result)
{
  ExecStatusType status = PQresultStatus (result);

  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    {
      g_autofree char *message = g_strstrip (g_strdup (PQresultErrorMessage (result)));

      g_warning ("The notice connection's query failed: %s", message);
      return;
    }

  if (self->in_flight == QUERY_LOCK && PQntuples (result) == 1)
    {
      gboolean leader = g_str_equal (PQgetvalue (result, 0, 0), "t");

      if (leader && !self->leader)
        g_message ("This instance sweeps the database now");
      self->leader = leader;
    }
}

/* Reads what arrived: results of our queries, and notices. */
static gboolean
readable_cb (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  LrcPgBus *self = user_data;
  PGnotify *notify;

  if (!PQconsumeInput (self->pg))
    {
      self->read_watch = 0;
      lost (self, PQerrorMessage (self->pg));
      return G_SOURCE_REMOVE;
    }

  while (self->busy && !PQisBusy (self->pg))
    {
      PGresult *result = PQgetResult (self->pg);

      if (result == NULL)
        {
          self->busy = FALSE;
          break;
        }
      handle_result (self, result);
      PQclear (result);
    }

  while ((notify = PQnotifies (self->pg)) != NULL)
    {
      g_signal_emit (self, signals[SIGNAL_NOTICE], 0, notify->extra);
      PQfreemem (notify);
      /* A handler may have dropped the last reference to the connection's owner. */
      if (self->pg == NULL)
        return G_SOURCE_REMOVE;
    }

  if (PQstatus (self->pg) != CONNECTION_OK)
    {
      self->read_watch = 0;
      lost (self, PQerrorMessage (self->pg));
      return G_SOURCE_REMOVE;
    }

  send_next (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
writable_cb (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  LrcPgBus *self = user_data;
  int flushed = PQflush (self->pg);

  if (flushed == 1)
    return G_SOURCE_CONTINUE;

  self->write_watch = 0;
  if (flushed < 0)
    {
      lost (self, PQerrorMessage (self->pg));
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_REMOVE;
}

static void
send_next (LrcPgBus *self)
{
  Query *query;
  int sent;

  if (self->pg == NULL || self->busy || g_queue_is_empty (&self->queries))
    return;

  query = g_queue_pop_head (&self->queries);
  switch (query->kind)
    {
    case QUERY_LISTEN:
      sent = PQsendQuery (self->pg, "LISTEN " CHANNEL);
      break;
    case QUERY_LOCK:
      sent = PQsendQuery (self->pg, "SELECT pg_try_advisory_lock (" LEADER_LOCK ")");
      break;
    case QUERY_NOTIFY:
    default:
      {
        const char *values[] = { query->payload };

        sent = PQsendQueryParams (self->pg, "SELECT pg_notify ('" CHANNEL "', $1)", 1, NULL,
                                  values, NULL, NULL, 0);
      }
      break;
    }

  self->in_flight = query->kind;
  query_free (query);
  if (!sent)
    {
      lost (self, PQerrorMessage (self->pg));
      return;
    }

  self->busy = TRUE;
  if (PQflush (self->pg) == 1 && self->write_watch == 0)
    self->write_watch = g_unix_fd_add (PQsocket (self->pg), G_IO_OUT, writable_cb, self);
}

static void
enqueue (LrcPgBus   *self,
         QueryKind   kind,
         const char *payload)
{
  Query *query = g_new0 (Query, 1);

  query->kind = kind;
  query->payload = g_strdup (payload);
  g_queue_push_tail (&self->queries, query);
  send_next (self);
}

static gboolean
leader_retry_cb (gpointer user_data)
{
  LrcPgBus *self = user_data;

  if (self->pg != NULL && !self->leader)
    enqueue (self, QUERY_LOCK, NULL);
  return G_SOURCE_CONTINUE;
}

static void
connect_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  const char *uri = task_data;
  const char *keywords[] = { "connect_timeout", "dbname", "fallback_application_name", NULL };
  const char *values[] = { "5", uri, "lanrage-control", NULL };
  PGconn *pg = PQconnectdbParams (keywords, values, TRUE);

  if (PQstatus (pg) != CONNECTION_OK)
    {
      g_autofree char *message = g_strstrip (g_strdup (PQerrorMessage (pg)));

      PQfinish (pg);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", message);
      return;
    }

  g_task_return_pointer (task, pg, (GDestroyNotify) PQfinish);
}

static void
connected_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  PGconn *pg = g_task_propagate_pointer (G_TASK (result), &error);
  LrcPgBus *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = LRC_PG_BUS (source);
  if (pg == NULL)
    {
      g_debug ("The notice connection is not back yet: %s", error->message);
      connect_later (self);
      return;
    }

  take_connection (self, pg);

  if (self->was_connected)
    {
      g_message ("The notice connection is back");
      g_signal_emit (self, signals[SIGNAL_RESYNC], 0);
    }
  self->was_connected = TRUE;
}

static void
connect_now (LrcPgBus *self)
{
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, connected_cb, NULL);

  g_task_set_task_data (task, g_strdup (self->uri), g_free);
  g_task_run_in_thread (task, connect_thread);
}

static gboolean
retry_cb (gpointer user_data)
{
  LrcPgBus *self = user_data;

  self->retry_source = 0;
  connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
connect_later (LrcPgBus *self)
{
  if (self->retry_source == 0)
    self->retry_source = g_timeout_add (RETRY_MS, retry_cb, self);
}

static void
take_connection (LrcPgBus *self,
                 PGconn   *pg)
{
  self->pg = pg;
  PQsetnonblocking (pg, 1);
  self->read_watch = g_unix_fd_add (PQsocket (pg), G_IO_IN, readable_cb, self);
  enqueue (self, QUERY_LISTEN, NULL);
  enqueue (self, QUERY_LOCK, NULL);
}

/**
 * lrc_pg_bus_new:
 *
 * Connects at once, blocking (call it before the main loop runs), so that what the
 * instance publishes from its start reaches the others; later connections are made on a
 * thread.
 */
LrcPgBus *
lrc_pg_bus_new (const char *uri)
{
  LrcPgBus *self = g_object_new (LRC_TYPE_PG_BUS, NULL);
  const char *keywords[] = { "connect_timeout", "dbname", "fallback_application_name", NULL };
  const char *values[] = { "5", uri, "lanrage-control", NULL };
  PGconn *pg;

  self->uri = g_strdup (uri);
  self->leader_source = g_timeout_add (LEADER_RETRY_MS, leader_retry_cb, self);
  self->was_connected = TRUE;

  pg = PQconnectdbParams (keywords, values, TRUE);
  if (PQstatus (pg) == CONNECTION_OK)
    take_connection (self, pg);
  else
    {
      PQfinish (pg);
      connect_later (self);
    }
  return self;
}

/**
 * lrc_pg_bus_publish:
 *
 * Sends @notice to every instance listening, this one included, after what this instance
 * published before. Best effort: dropped while the connection is down.
 */
void
lrc_pg_bus_publish (LrcPgBus   *self,
                    const char *notice)
{
  if (self->pg == NULL)
    return;

  if (strlen (notice) > MAX_NOTICE)
    {
      g_warning ("A notice of %zu bytes is over PostgreSQL's limit; other instances miss it",
                 strlen (notice));
      return;
    }

  enqueue (self, QUERY_NOTIFY, notice);
}

gboolean
lrc_pg_bus_is_leader (LrcPgBus *self)
{
  return self->leader;
}

gboolean
lrc_pg_bus_is_connected (LrcPgBus *self)
{
  return self->pg != NULL;
}
