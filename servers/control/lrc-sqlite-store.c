/* lrc-sqlite-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-sqlite-store.h"
#include "lrc-database.h"
#include "lrc-error.h"

#include "lr-invite-code.h"
#include "lr-ipam.h"
#include "lr-relay-removals.h"

/*
 * SQLite has one writer and runs in this process: every operation runs at once on the
 * calling (main) thread, inside BEGIN IMMEDIATE where it writes, and its GTask completes
 * from an idle. That is what the server always did; the single writer is also what makes
 * address allocation and the host hand-over safe here without further locks.
 */

struct _LrcSqliteStore
{
  GObject      parent_instance;
  LrcDatabase *database;
};

static void store_iface_init (LrcStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LrcSqliteStore, lrc_sqlite_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LRC_TYPE_STORE, store_iface_init))

#define PEER_COLUMNS \
  "id, party_id, name, virtual_ip, wg_public_key, disco_public_key, endpoints, " \
  "nat_mapping, nat_filtering, last_seen"

static void
lrc_sqlite_store_dispose (GObject *object)
{
  LrcSqliteStore *self = LRC_SQLITE_STORE (object);

  g_clear_object (&self->database);

  G_OBJECT_CLASS (lrc_sqlite_store_parent_class)->dispose (object);
}

static void
lrc_sqlite_store_class_init (LrcSqliteStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = lrc_sqlite_store_dispose;
}

static void
lrc_sqlite_store_init (LrcSqliteStore *self)
{
}

LrcSqliteStore *
lrc_sqlite_store_open (const char  *path,
                       GError     **error)
{
  g_autoptr(LrcDatabase) database = lrc_database_open (path, error);
  LrcSqliteStore *self;

  if (database == NULL)
    return NULL;

  self = g_object_new (LRC_TYPE_SQLITE_STORE, NULL);
  self->database = g_steal_pointer (&database);
  return self;
}

/* Reading rows. */

static void
peer_from_row (sqlite3_stmt *stmt,
               LrPeer       *peer)
{
  const char *endpoints = (const char *) sqlite3_column_text (stmt, 6);

  peer->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  peer->name = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  peer->virtual_ip = lr_ipv4_to_string ((guint32) sqlite3_column_int64 (stmt, 3));
  peer->wg_public_key = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
  peer->disco_public_key = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
  peer->endpoints = (endpoints == NULL || *endpoints == '\0')
                      ? g_new0 (char *, 1) : g_strsplit (endpoints, "\n", -1);
  peer->nat.mapping = sqlite3_column_int (stmt, 7);
  peer->nat.filtering = sqlite3_column_int (stmt, 8);
  peer->last_seen = sqlite3_column_int64 (stmt, 9);
}

/* The end of a lookup that selects at most one row: found, missing, or a database error. */
static gboolean
row_found (LrcSqliteStore  *self,
           int              rc,
           LrcError         missing_code,
           const char      *missing,
           GError         **error)
{
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return lrc_database_set_error (self->database, error);

  g_set_error_literal (error, LRC_ERROR, missing_code, missing);
  return FALSE;
}

static gboolean
load_peer (LrcSqliteStore  *self,
           const char      *party_id,
           const char      *peer_id,
           LrPeer          *peer,
           GError         **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = lrc_database_prepare (self->database,
                               "SELECT " PEER_COLUMNS " FROM peers WHERE id = ? AND party_id = ?",
                               error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, peer_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, party_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    peer_from_row (stmt, peer);
  sqlite3_reset (stmt);

  return row_found (self, rc, LRC_ERROR_NOT_FOUND, "There is no such peer in this party",
                    error);
}

static gboolean
load_party (LrcSqliteStore  *self,
            const char      *party_id,
            LrParty         *party,
            GError         **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = lrc_database_prepare (self->database,
                               "SELECT id, name, invite_code, host_peer_id, created_at "
                               "FROM parties WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, party_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      party->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      party->name = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      party->invite_code = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      party->host_peer_id = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      party->created_at = sqlite3_column_int64 (stmt, 4);
    }
  sqlite3_reset (stmt);

  return row_found (self, rc, LRC_ERROR_NOT_FOUND, "There is no such party", error);
}

/* The party's members in the order they joined. */
static gboolean
load_peers (LrcSqliteStore  *self,
            const char      *party_id,
            GPtrArray      **out,
            GError         **error)
{
  g_autoptr(GPtrArray) peers = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_peer_free);
  sqlite3_stmt *stmt;
  int rc;

  stmt = lrc_database_prepare (self->database,
                               "SELECT " PEER_COLUMNS " FROM peers WHERE party_id = ? "
                               "ORDER BY joined_at, id", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, party_id, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      LrPeer *peer = g_new0 (LrPeer, 1);

      peer_from_row (stmt, peer);
      g_ptr_array_add (peers, peer);
    }
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    return lrc_database_set_error (self->database, error);
  *out = g_steal_pointer (&peers);
  return TRUE;
}

static gboolean
load_relays (LrcSqliteStore  *self,
             gint64           since,
             GPtrArray      **out,
             GError         **error)
{
  g_autoptr(GPtrArray) relays = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_relay_free);
  sqlite3_stmt *stmt;
  int rc;

  stmt = lrc_database_prepare (self->database,
                               "SELECT id, region, endpoint FROM relays WHERE last_seen > ? "
                               "ORDER BY id", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, since);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      LrRelay *relay = g_new0 (LrRelay, 1);

      relay->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      relay->region = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      relay->endpoint = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      g_ptr_array_add (relays, relay);
    }
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    return lrc_database_set_error (self->database, error);
  *out = g_steal_pointer (&relays);
  return TRUE;
}

static gboolean
bind_text_and_step (LrcSqliteStore  *self,
                    const char      *sql,
                    GError         **error,
                    ...)
{
  sqlite3_stmt *stmt = lrc_database_prepare (self->database, sql, error);
  va_list args;
  int index = 1;
  const char *text;

  if (stmt == NULL)
    return FALSE;

  va_start (args, error);
  while ((text = va_arg (args, const char *)) != NULL)
    sqlite3_bind_text (stmt, index++, text, -1, SQLITE_TRANSIENT);
  va_end (args);

  return lrc_database_step_done (self->database, stmt, error);
}

/* Operations. */

static gboolean
list_presence (LrcSqliteStore  *self,
               LrcStoreCall    *call,
               GError         **error)
{
  sqlite3_stmt *stmt = lrc_database_prepare (self->database,
                                             "SELECT id, party_id, last_seen FROM peers", error);
  int rc;

  if (stmt == NULL)
    return FALSE;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    lrc_store_call_add_presence (call, (const char *) sqlite3_column_text (stmt, 0),
                                 (const char *) sqlite3_column_text (stmt, 1),
                                 sqlite3_column_int64 (stmt, 2));
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    return lrc_database_set_error (self->database, error);
  return TRUE;
}

static gboolean
insert_peer (LrcSqliteStore  *self,
             LrcStoreCall    *call,
             const char      *party_id,
             guint32          address,
             GError         **error)
{
  g_autofree char *endpoints = g_strjoinv ("\n", call->peer_in->endpoints);
  LrPeerIn *in = call->peer_in;
  sqlite3_stmt *stmt;

  stmt = lrc_database_prepare (self->database,
                               "INSERT INTO peers (id, party_id, name, virtual_ip, wg_public_key, "
                               "disco_public_key, endpoints, nat_mapping, nat_filtering, "
                               "token_hash, joined_at, last_seen) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, call->peer_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, party_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, in->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, address);
  sqlite3_bind_text (stmt, 5, in->wg_public_key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, in->disco_public_key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 7, endpoints, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 8, in->has_nat ? in->nat.mapping : LR_NAT_UNKNOWN);
  sqlite3_bind_int (stmt, 9, in->has_nat ? in->nat.filtering : LR_NAT_UNKNOWN);
  sqlite3_bind_blob (stmt, 10, call->token_hash, LR_TOKEN_HASH_LENGTH, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 11, call->now_us);
  sqlite3_bind_int64 (stmt, 12, call->now_us);

  return lrc_database_step_done (self->database, stmt, error);
}

/* What a new member is told: the party, itself and the relays, read in its transaction. */
static gboolean
load_welcome (LrcSqliteStore  *self,
              LrcStoreCall    *call,
              const char      *party_id,
              GError         **error)
{
  return load_party (self, party_id, &call->party, error) &&
         load_peer (self, party_id, call->peer_id, &call->peer, error) &&
         load_relays (self, call->relays_since, &call->relays, error);
}

static gboolean
create_party (LrcSqliteStore  *self,
              LrcStoreCall    *call,
              GError         **error)
{
  g_autoptr(LrIpam) ipam = lr_ipam_new (LR_VIRTUAL_NETWORK, LR_VIRTUAL_PREFIX_LENGTH);
  guint32 address = lr_ipam_allocate (ipam, 0, NULL);
  sqlite3_stmt *stmt;
  gboolean inserted = FALSE;

  /* 60 random bits make a clash vanishingly rare, but a clash must not fail a create. */
  for (guint attempt = 0; attempt < 4 && !inserted; attempt++)
    {
      g_autofree char *invite_code = lr_invite_code_generate ();

      stmt = lrc_database_prepare (self->database,
                                   "INSERT OR IGNORE INTO parties (id, name, invite_code, "
                                   "host_peer_id, created_at, ip_cursor) VALUES (?, ?, ?, ?, ?, ?)",
                                   error);
      if (stmt == NULL)
        return FALSE;

      sqlite3_bind_text (stmt, 1, call->party_id, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, call->party_name, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, invite_code, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, call->peer_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 5, call->now_us);
      sqlite3_bind_int64 (stmt, 6, address);
      if (!lrc_database_step_done (self->database, stmt, error))
        return FALSE;
      inserted = sqlite3_changes (sqlite3_db_handle (stmt)) == 1;
    }

  if (!inserted)
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL, "Could not find a free invite code");
      return FALSE;
    }

  return insert_peer (self, call, call->party_id, address, error) &&
         load_welcome (self, call, call->party_id, error);
}

static guint32
previous_address (LrcSqliteStore *self,
                  const char     *party_id,
                  const char     *wg_public_key)
{
  sqlite3_stmt *stmt;
  guint32 address = 0;

  stmt = lrc_database_prepare (self->database,
                               "SELECT virtual_ip FROM address_history "
                               "WHERE party_id = ? AND wg_public_key = ?", NULL);
  if (stmt == NULL)
    return 0;

  sqlite3_bind_text (stmt, 1, party_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, wg_public_key, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    address = (guint32) sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return address;
}

/* Fills @ipam with the party's taken addresses; fails when the key is in the party already. */
static gboolean
load_members (LrcSqliteStore  *self,
              const char      *party_id,
              const char      *wg_public_key,
              LrIpam          *ipam,
              GError         **error)
{
  sqlite3_stmt *stmt;
  int rc;
  gboolean duplicate = FALSE;

  stmt = lrc_database_prepare (self->database,
                               "SELECT virtual_ip, wg_public_key FROM peers WHERE party_id = ?",
                               error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, party_id, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      lr_ipam_reserve (ipam, (guint32) sqlite3_column_int64 (stmt, 0), NULL);
      if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 1), wg_public_key) == 0)
        duplicate = TRUE;
    }
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    return lrc_database_set_error (self->database, error);

  if (duplicate)
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_ALREADY_JOINED,
                   "This device is in the party already");
      return FALSE;
    }

  if (!lrc_store_check_room (ipam, error))
    return FALSE;

  return TRUE;
}

static gboolean
join (LrcSqliteStore  *self,
      LrcStoreCall    *call,
      GError         **error)
{
  g_autoptr(LrIpam) ipam = lr_ipam_new (LR_VIRTUAL_NETWORK, LR_VIRTUAL_PREFIX_LENGTH);
  g_autofree char *party_id = NULL;
  sqlite3_stmt *stmt;
  guint32 address;
  int rc;

  stmt = lrc_database_prepare (self->database,
                               "SELECT id, ip_cursor, empty_since IS NOT NULL FROM parties "
                               "WHERE invite_code = ?", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, call->invite_code, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      party_id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      lr_ipam_set_cursor (ipam, (guint32) sqlite3_column_int64 (stmt, 1));
      call->was_empty = sqlite3_column_int (stmt, 2);
    }
  sqlite3_reset (stmt);

  if (!row_found (self, rc, LRC_ERROR_INVITE_NOT_FOUND,
                  "No party has that invite code; check it with the host, the party "
                  "may have been closed", error))
    return FALSE;

  if (!load_members (self, party_id, call->peer_in->wg_public_key, ipam, error))
    return FALSE;

  address = lr_ipam_allocate (ipam, previous_address (self, party_id,
                                                      call->peer_in->wg_public_key), error);
  if (address == 0 || !insert_peer (self, call, party_id, address, error))
    return FALSE;

  stmt = lrc_database_prepare (self->database,
                               call->was_empty
                               ? "UPDATE parties SET ip_cursor = MAX (ip_cursor, ?), "
                                 "empty_since = NULL, host_peer_id = ? WHERE id = ?"
                               : "UPDATE parties SET ip_cursor = MAX (ip_cursor, ?) "
                                 "WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  /* The cursor only moves forward, so a preferred address below it doesn't pull it back. */
  sqlite3_bind_int64 (stmt, 1, address);
  if (call->was_empty)
    {
      sqlite3_bind_text (stmt, 2, call->peer_id, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, party_id, -1, SQLITE_STATIC);
    }
  else
    sqlite3_bind_text (stmt, 2, party_id, -1, SQLITE_STATIC);

  return lrc_database_step_done (self->database, stmt, error) &&
         load_welcome (self, call, party_id, error);
}

static gboolean
authenticate (LrcSqliteStore  *self,
              LrcStoreCall    *call,
              GError         **error)
{
  sqlite3_stmt *stmt;
  gboolean found = FALSE;

  stmt = lrc_database_prepare (self->database,
                               "SELECT id, party_id, token_hash FROM peers WHERE token_hash = ?",
                               error);
  if (stmt == NULL)
    return FALSE;

  /* The index finds the row by hash; the constant-time comparison below is what decides.
   * Looking up by a hash leaks nothing about the token: SHA-256 cannot be walked back. */
  sqlite3_bind_blob (stmt, 1, call->token_hash, LR_TOKEN_HASH_LENGTH, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW &&
      sqlite3_column_bytes (stmt, 2) == LR_TOKEN_HASH_LENGTH &&
      lr_token_hash_equal (sqlite3_column_blob (stmt, 2), call->token_hash))
    {
      call->peer_id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      call->party_id = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      found = TRUE;
    }
  sqlite3_reset (stmt);

  if (!found)
    g_set_error (error, LRC_ERROR, LRC_ERROR_UNAUTHORIZED,
                 "That token is not valid (the peer may have left or been removed)");
  return found;
}

static gboolean
update_peer (LrcSqliteStore  *self,
             LrcStoreCall    *call,
             GError         **error)
{
  LrPeerUpdate *update = call->update;
  g_autofree char *endpoints = NULL;
  sqlite3_stmt *stmt;

  if (update->has_endpoints)
    endpoints = g_strjoinv ("\n", update->endpoints);

  stmt = lrc_database_prepare (self->database,
                               "UPDATE peers SET name = COALESCE (?, name), "
                               "endpoints = COALESCE (?, endpoints), "
                               "nat_mapping = COALESCE (?, nat_mapping), "
                               "nat_filtering = COALESCE (?, nat_filtering) "
                               "WHERE id = ? AND party_id = ?", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, update->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, endpoints, -1, SQLITE_STATIC);
  if (update->has_nat)
    {
      sqlite3_bind_int (stmt, 3, update->nat.mapping);
      sqlite3_bind_int (stmt, 4, update->nat.filtering);
    }
  sqlite3_bind_text (stmt, 5, call->peer_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, call->party_id, -1, SQLITE_STATIC);

  return lrc_database_step_done (self->database, stmt, error) &&
         load_peer (self, call->party_id, call->peer_id, &call->peer, error);
}

/* Tells the relays, through their next registration, to stop relaying for @peer_id (all
 * peers of the party when %NULL). Inside the removal's transaction, so a removal is recorded
 * if and only if it happened; rows are numbered in commit order by the single writer. */
static gboolean
record_relay_removal (LrcSqliteStore  *self,
                      const char      *party_id,
                      const char      *peer_id,
                      gint64           until,
                      GError         **error)
{
  sqlite3_stmt *stmt;

  if (peer_id != NULL)
    stmt = lrc_database_prepare (self->database,
                                 "INSERT INTO relay_removals (party_id, peer_id, until) "
                                 "VALUES (?1, ?2, ?3)", error);
  else
    stmt = lrc_database_prepare (self->database,
                                 "INSERT INTO relay_removals (party_id, peer_id, until) "
                                 "SELECT party_id, id, ?3 FROM peers WHERE party_id = ?1 "
                                 "ORDER BY joined_at, id", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, party_id, -1, SQLITE_STATIC);
  if (peer_id != NULL)
    sqlite3_bind_text (stmt, 2, peer_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, until);
  return lrc_database_step_done (self->database, stmt, error);
}

static gboolean
remove_peer (LrcSqliteStore  *self,
             LrcStoreCall    *call,
             GError         **error)
{
  sqlite3_stmt *stmt;
  g_autofree char *next_host = NULL;
  guint32 address = 0;

  if (!load_party (self, call->party_id, &call->party, error))
    return FALSE;
  if (!lrc_store_check_may_remove (call, error))
    return FALSE;
  if (!load_peer (self, call->party_id, call->peer_id, &call->peer, error))
    return FALSE;
  if (!lrc_store_check_quiet (call, error))
    return FALSE;

  lr_ipv4_parse (call->peer.virtual_ip, &address);

  stmt = lrc_database_prepare (self->database,
                               "INSERT OR REPLACE INTO address_history (party_id, wg_public_key, "
                               "virtual_ip) VALUES (?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, call->party_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, call->peer.wg_public_key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, address);
  if (!lrc_database_step_done (self->database, stmt, error))
    return FALSE;

  if (!bind_text_and_step (self, "DELETE FROM peers WHERE id = ? AND party_id = ?", error,
                           call->peer_id, call->party_id, NULL) ||
      !record_relay_removal (self, call->party_id, call->peer_id, call->removal_until, error))
    return FALSE;

  /* The longest-standing member takes over from a host who leaves. */
  stmt = lrc_database_prepare (self->database,
                               "SELECT id FROM peers WHERE party_id = ? ORDER BY joined_at, id "
                               "LIMIT 1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, call->party_id, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    next_host = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);

  if (next_host == NULL)
    {
      g_autofree char *now_text = g_strdup_printf ("%" G_GINT64_FORMAT, call->now_us);

      return bind_text_and_step (self, "UPDATE parties SET empty_since = CAST (? AS INTEGER) "
                                 "WHERE id = ?", error, now_text, call->party_id, NULL);
    }

  if (g_str_equal (call->party.host_peer_id, call->peer_id))
    {
      if (!bind_text_and_step (self, "UPDATE parties SET host_peer_id = ? WHERE id = ?", error,
                               next_host, call->party_id, NULL))
        return FALSE;
      g_free (call->party.host_peer_id);
      call->party.host_peer_id = g_steal_pointer (&next_host);
      call->host_changed = TRUE;
    }

  return TRUE;
}

static gboolean
close_party (LrcSqliteStore  *self,
             LrcStoreCall    *call,
             GError         **error)
{
  return load_party (self, call->party_id, &call->party, error) &&
         lrc_store_check_host (&call->party, call->requester_id,
                               "Only the host can close the party", error) &&
         record_relay_removal (self, call->party_id, NULL, call->removal_until, error) &&
         bind_text_and_step (self, "DELETE FROM parties WHERE id = ?", error, call->party_id,
                             NULL);
}

static gboolean
register_relay (LrcSqliteStore  *self,
                LrcStoreCall    *call,
                GError         **error)
{
  sqlite3_stmt *stmt;

  stmt = lrc_database_prepare (self->database,
                               "INSERT INTO relays (id, region, endpoint, last_seen) "
                               "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                               "region = excluded.region, endpoint = excluded.endpoint, "
                               "last_seen = excluded.last_seen", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, call->relay->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, call->relay->region, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, call->relay->endpoint, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, call->now_us);
  return lrc_database_step_done (self->database, stmt, error);
}

static gboolean
write_presence (LrcSqliteStore  *self,
                LrcStoreCall    *call,
                GError         **error)
{
  sqlite3_stmt *stmt;

  stmt = lrc_database_prepare (self->database,
                               "UPDATE peers SET last_seen = MAX (last_seen, ?) WHERE id = ?",
                               error);
  if (stmt == NULL)
    return FALSE;

  for (guint i = 0; call->presence != NULL && i < call->presence->len; i++)
    {
      LrcPresence *presence = &g_array_index (call->presence, LrcPresence, i);

      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, presence->last_seen);
      sqlite3_bind_text (stmt, 2, presence->peer_id, -1, SQLITE_STATIC);
      if (!lrc_database_step_done (self->database, stmt, error))
        return FALSE;
    }

  return TRUE;
}

static gboolean
sweep (LrcSqliteStore  *self,
       LrcStoreCall    *call,
       GError         **error)
{
  g_autofree char *empty_before = g_strdup_printf ("%" G_GINT64_FORMAT, call->empty_before);
  g_autofree char *relays_before = g_strdup_printf ("%" G_GINT64_FORMAT, call->relays_before);
  g_autofree char *now_s = g_strdup_printf ("%" G_GINT64_FORMAT, call->now_us / G_USEC_PER_SEC);

  /* A removal outlives every token minted before it: the relays refuse those anyway. */
  return bind_text_and_step (self, "DELETE FROM parties WHERE empty_since IS NOT NULL AND "
                             "empty_since <= CAST (? AS INTEGER)", error, empty_before, NULL) &&
         bind_text_and_step (self, "DELETE FROM relays WHERE last_seen <= CAST (? AS INTEGER)",
                             error, relays_before, NULL) &&
         bind_text_and_step (self, "DELETE FROM relay_removals WHERE until < CAST (? AS INTEGER)",
                             error, now_s, NULL);
}

/* AUTOINCREMENT never hands out a seq again, even after the newest rows are deleted, so
 * sqlite_sequence holds the newest cursor ever given. */
static gboolean
relay_removals (LrcSqliteStore  *self,
                LrcStoreCall    *call,
                GError         **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = lrc_database_prepare (self->database,
                               "SELECT seq FROM sqlite_sequence WHERE name = 'relay_removals'",
                               error);
  if (stmt == NULL)
    return FALSE;
  if ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    call->removals_newest = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return lrc_database_set_error (self->database, error);
  if (call->removed_after > call->removals_newest)
    call->removed_after = 0;

  stmt = lrc_database_prepare (self->database,
                               "SELECT seq, party_id, peer_id, until FROM relay_removals "
                               "WHERE seq > ? ORDER BY seq LIMIT ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, call->removed_after);
  sqlite3_bind_int (stmt, 2, LR_RELAY_REMOVALS_PAGE);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    lrc_store_call_add_removal (call, sqlite3_column_int64 (stmt, 0),
                                (const char *) sqlite3_column_text (stmt, 1),
                                (const char *) sqlite3_column_text (stmt, 2),
                                sqlite3_column_int64 (stmt, 3));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return lrc_database_set_error (self->database, error);
  return TRUE;
}

static gint64
count (LrcSqliteStore *self,
       const char     *sql)
{
  sqlite3_stmt *stmt = lrc_database_prepare (self->database, sql, NULL);
  gint64 value = 0;

  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  if (stmt != NULL)
    sqlite3_reset (stmt);
  return value;
}

/* Which operations write, and so run inside BEGIN IMMEDIATE. */
static gboolean
op_writes (LrcStoreOp op)
{
  switch (op)
    {
    case LRC_STORE_CREATE_PARTY:
    case LRC_STORE_JOIN:
    case LRC_STORE_UPDATE_PEER:
    case LRC_STORE_REMOVE_PEER:
    case LRC_STORE_CLOSE_PARTY:
    case LRC_STORE_REGISTER_RELAY:
    case LRC_STORE_WRITE_PRESENCE:
    case LRC_STORE_SWEEP:
      return TRUE;
    case LRC_STORE_LIST_PRESENCE:
    case LRC_STORE_AUTHENTICATE:
    case LRC_STORE_GET_PARTY:
    case LRC_STORE_GET_PEER:
    case LRC_STORE_LIST_RELAYS:
    case LRC_STORE_COUNT:
    case LRC_STORE_RATE_LIMIT:
    case LRC_STORE_RELAY_REMOVALS:
    case LRC_STORE_RENEW_LEASE:
    default:
      return FALSE;
    }
}

static gboolean
run (LrcSqliteStore  *self,
     LrcStoreCall    *call,
     GError         **error)
{
  switch (call->op)
    {
    case LRC_STORE_LIST_PRESENCE:
      return list_presence (self, call, error);
    case LRC_STORE_CREATE_PARTY:
      return create_party (self, call, error);
    case LRC_STORE_JOIN:
      return join (self, call, error);
    case LRC_STORE_AUTHENTICATE:
      return authenticate (self, call, error);
    case LRC_STORE_GET_PARTY:
      return load_party (self, call->party_id, &call->party, error) &&
             load_peers (self, call->party_id, &call->peers, error);
    case LRC_STORE_GET_PEER:
      return load_peer (self, call->party_id, call->peer_id, &call->peer, error);
    case LRC_STORE_UPDATE_PEER:
      return update_peer (self, call, error);
    case LRC_STORE_REMOVE_PEER:
      return remove_peer (self, call, error);
    case LRC_STORE_CLOSE_PARTY:
      return close_party (self, call, error);
    case LRC_STORE_REGISTER_RELAY:
      return register_relay (self, call, error);
    case LRC_STORE_LIST_RELAYS:
      return load_relays (self, call->relays_since, &call->relays, error);
    case LRC_STORE_WRITE_PRESENCE:
      return write_presence (self, call, error);
    case LRC_STORE_SWEEP:
      return sweep (self, call, error);
    case LRC_STORE_RATE_LIMIT:
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL,
                   "Rate limits of a database of our own are kept in memory");
      return FALSE;
    case LRC_STORE_RELAY_REMOVALS:
      return relay_removals (self, call, error);
    case LRC_STORE_RENEW_LEASE:
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL,
                   "A database of our own has no other instances");
      return FALSE;
    case LRC_STORE_COUNT:
      call->n_parties = count (self, "SELECT COUNT(*) FROM parties");
      call->n_peers = count (self, "SELECT COUNT(*) FROM peers");
      return TRUE;
    default:
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL, "Unknown store operation %d",
                   call->op);
      return FALSE;
    }
}

static void
sqlite_store_call_async (LrcStore            *store,
                         LrcStoreCall        *call,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  LrcSqliteStore *self = LRC_SQLITE_STORE (store);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(LrcStoreCall) owned = call;
  g_autoptr(GError) error = NULL;
  gboolean writes = op_writes (call->op);
  gboolean done;

  g_task_set_source_tag (task, sqlite_store_call_async);

  if (writes && !lrc_database_begin (self->database, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  done = run (self, call, &error);
  if (writes && done)
    done = lrc_database_commit (self->database, &error);
  if (writes && !done)
    lrc_database_rollback (self->database);

  if (!done)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_steal_pointer (&owned), (GDestroyNotify) lrc_store_call_free);
}

static LrcStoreCall *
sqlite_store_call_finish (LrcStore      *store,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
sqlite_store_is_healthy (LrcStore *store)
{
  /* The file is local: when it cannot be written, each request says so itself. */
  return TRUE;
}

static gboolean
sqlite_store_is_shared (LrcStore *store)
{
  return FALSE;
}

static gboolean
sqlite_store_is_leader (LrcStore *store)
{
  return TRUE;
}

/* Nobody else shares the file: there is no one to tell. */
static void
sqlite_store_publish (LrcStore   *store,
                      const char *notice)
{
}

static void
store_iface_init (LrcStoreInterface *iface)
{
  iface->is_shared = sqlite_store_is_shared;
  iface->is_leader = sqlite_store_is_leader;
  iface->publish = sqlite_store_publish;
  iface->call_async = sqlite_store_call_async;
  iface->call_finish = sqlite_store_call_finish;
  iface->is_healthy = sqlite_store_is_healthy;
}
