/* lrc-database.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-database.h"
#include "lrc-error.h"

#include <glib/gstdio.h>

/*
 * Durability: WAL with synchronous=FULL, so every transaction that COMMIT returned from is on
 * disk before the server answers success. A kill -9 (or a power cut) at any moment then loses
 * nothing that was acknowledged. Heartbeats are not written one by one; the service batches
 * them (see lrc-service.c), so the fsync per commit is only paid by joins and edits.
 *
 * The schema is versioned with PRAGMA user_version: migrations[i] takes version i to i + 1,
 * each in its own transaction. Never edit a migration that has shipped; append one.
 */
static const char *migrations[] = {
  /* 0 → 1 */
  "CREATE TABLE parties ("
  "  id            TEXT PRIMARY KEY,"
  "  name          TEXT NOT NULL,"
  "  invite_code   TEXT NOT NULL UNIQUE,"
  "  host_peer_id  TEXT NOT NULL,"
  "  created_at    INTEGER NOT NULL,"
  "  ip_cursor     INTEGER NOT NULL DEFAULT 0,"
  "  empty_since   INTEGER"
  ");"
  "CREATE TABLE peers ("
  "  id               TEXT PRIMARY KEY,"
  "  party_id         TEXT NOT NULL REFERENCES parties (id) ON DELETE CASCADE,"
  "  name             TEXT NOT NULL,"
  "  virtual_ip       INTEGER NOT NULL,"
  "  wg_public_key    TEXT NOT NULL,"
  "  disco_public_key TEXT NOT NULL,"
  "  endpoints        TEXT NOT NULL,"
  "  nat_mapping      INTEGER NOT NULL,"
  "  nat_filtering    INTEGER NOT NULL,"
  "  token_hash       BLOB NOT NULL UNIQUE,"
  "  joined_at        INTEGER NOT NULL,"
  "  last_seen        INTEGER NOT NULL,"
  "  UNIQUE (party_id, wg_public_key),"
  "  UNIQUE (party_id, virtual_ip)"
  ");"
  "CREATE INDEX peers_by_party ON peers (party_id, joined_at);"
  /* The address a key last had in a party, so a peer that was removed and comes back gets
   * the same address while it is free. */
  "CREATE TABLE address_history ("
  "  party_id      TEXT NOT NULL REFERENCES parties (id) ON DELETE CASCADE,"
  "  wg_public_key TEXT NOT NULL,"
  "  virtual_ip    INTEGER NOT NULL,"
  "  PRIMARY KEY (party_id, wg_public_key)"
  ");"
  "CREATE TABLE relays ("
  "  id         TEXT PRIMARY KEY,"
  "  region     TEXT NOT NULL,"
  "  endpoint   TEXT NOT NULL,"
  "  last_seen  INTEGER NOT NULL"
  ");",
  /* 1 → 2: peers removed from their parties, which the relays must stop relaying for while
   * the relay tokens minted before the removal live (until: seconds since the epoch). A relay
   * sends back the largest seq it has seen; AUTOINCREMENT never hands out a seq again, even
   * after the newest rows are deleted, so a relay's cursor never skips a new row. No foreign
   * key: a row outlives its party. */
  "CREATE TABLE relay_removals ("
  "  seq       INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  party_id  TEXT NOT NULL,"
  "  peer_id   TEXT NOT NULL,"
  "  until     INTEGER NOT NULL"
  ");"
  "CREATE INDEX relay_removals_by_until ON relay_removals (until);",
};

struct _LrcDatabase
{
  GObject     parent_instance;
  sqlite3    *db;
  GHashTable *statements;   /* SQL text (static) → sqlite3_stmt */
};

G_DEFINE_FINAL_TYPE (LrcDatabase, lrc_database, G_TYPE_OBJECT)

static void
lrc_database_finalize (GObject *object)
{
  LrcDatabase *self = LRC_DATABASE (object);

  g_clear_pointer (&self->statements, g_hash_table_unref);
  if (self->db != NULL)
    sqlite3_close_v2 (self->db);

  G_OBJECT_CLASS (lrc_database_parent_class)->finalize (object);
}

static void
lrc_database_class_init (LrcDatabaseClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lrc_database_finalize;
}

static void
statement_free (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
lrc_database_init (LrcDatabase *self)
{
  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, statement_free);
}

gboolean
lrc_database_set_error (LrcDatabase  *self,
                        GError      **error)
{
  int code = sqlite3_extended_errcode (self->db);

  if (code == SQLITE_FULL || code == SQLITE_IOERR || (code & 0xff) == SQLITE_IOERR)
    g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL,
                 "The server could not write its database (%s); is the disk full?",
                 sqlite3_errmsg (self->db));
  else if ((code & 0xff) == SQLITE_CONSTRAINT)
    g_set_error (error, LRC_ERROR, LRC_ERROR_CONFLICT, "%s", sqlite3_errmsg (self->db));
  else
    g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL, "Database error: %s",
                 sqlite3_errmsg (self->db));
  return FALSE;
}

gboolean
lrc_database_exec (LrcDatabase  *self,
                   const char   *sql,
                   GError      **error)
{
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return lrc_database_set_error (self, error);
  return TRUE;
}

int
lrc_database_get_schema_version (LrcDatabase *self)
{
  sqlite3_stmt *stmt = lrc_database_prepare (self, "PRAGMA user_version", NULL);
  int version = -1;

  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  if (stmt != NULL)
    sqlite3_reset (stmt);
  return version;
}

static gboolean
migrate (LrcDatabase  *self,
         GError      **error)
{
  int version = lrc_database_get_schema_version (self);

  if (version < 0)
    return lrc_database_set_error (self, error);

  if (version > (int) G_N_ELEMENTS (migrations))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL,
                   "The database was written by a newer lanrage-control (schema %d; this one "
                   "knows %u); refusing to touch it", version, (guint) G_N_ELEMENTS (migrations));
      return FALSE;
    }

  for (guint i = version; i < G_N_ELEMENTS (migrations); i++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %u", i + 1);

      if (!lrc_database_begin (self, error))
        return FALSE;
      if (!lrc_database_exec (self, migrations[i], error) ||
          !lrc_database_exec (self, bump, error) ||
          !lrc_database_commit (self, error))
        {
          lrc_database_rollback (self);
          return FALSE;
        }
      g_message ("Database schema migrated to version %u", i + 1);
    }

  return TRUE;
}

LrcDatabase *
lrc_database_open (const char  *path,
                   GError     **error)
{
  g_autoptr(LrcDatabase) self = g_object_new (LRC_TYPE_DATABASE, NULL);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

  if (g_strcmp0 (path, ":memory:") != 0)
    {
      g_autofree char *folder = g_path_get_dirname (path);

      if (g_mkdir_with_parents (folder, 0700) != 0)
        {
          int saved_errno = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                       "Cannot create the folder %s: %s", folder, g_strerror (saved_errno));
          return NULL;
        }
    }

  if (sqlite3_open_v2 (path, &self->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL, "Cannot open the database %s: %s",
                   path, self->db ? sqlite3_errmsg (self->db) : "out of memory");
      return NULL;
    }

  sqlite3_extended_result_codes (self->db, 1);
  sqlite3_busy_timeout (self->db, 5000);

  if (!lrc_database_exec (self, "PRAGMA journal_mode = WAL", error) ||
      !lrc_database_exec (self, "PRAGMA synchronous = FULL", error) ||
      !lrc_database_exec (self, "PRAGMA foreign_keys = ON", error) ||
      !migrate (self, error))
    return NULL;

  /* The database holds token hashes and keys: keep it to its owner. */
  if (g_strcmp0 (path, ":memory:") != 0)
    g_chmod (path, 0600);

  return g_steal_pointer (&self);
}

/**
 * lrc_database_prepare:
 * @sql: a string literal (it is the cache key, compared by content)
 *
 * Returns: (transfer none): a cached statement, reset and with no bindings
 */
sqlite3_stmt *
lrc_database_prepare (LrcDatabase  *self,
                      const char   *sql,
                      GError      **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (self->statements, sql);

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }

  if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      lrc_database_set_error (self, error);
      return NULL;
    }

  g_hash_table_insert (self->statements, (gpointer) sql, stmt);
  return stmt;
}

gboolean
lrc_database_step_done (LrcDatabase   *self,
                        sqlite3_stmt  *stmt,
                        GError       **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return lrc_database_set_error (self, error);
  return TRUE;
}

gboolean
lrc_database_begin (LrcDatabase  *self,
                    GError      **error)
{
  return lrc_database_exec (self, "BEGIN IMMEDIATE", error);
}

gboolean
lrc_database_commit (LrcDatabase  *self,
                     GError      **error)
{
  return lrc_database_exec (self, "COMMIT", error);
}

void
lrc_database_rollback (LrcDatabase *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}
