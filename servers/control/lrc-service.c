/* lrc-service.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-service.h"
#include "lrc-error.h"

#include "lr-error.h"
#include "lr-invite-code.h"
#include "lr-ipam.h"
#include "lr-json.h"
#include "lr-relay-removals.h"
#include "lr-relay-token.h"
#include "lr-token.h"

#include <sodium.h>
#include <string.h>

/*
 * The database is the truth for parties and peers; liveness (last heartbeat, open sockets,
 * online) lives in memory, because heartbeats must be cheap: they touch this table only, and
 * lrc_service_flush() writes the changed last_seen values in one transaction now and then.
 * After a restart every peer starts from its stored last_seen.
 *
 * Events are emitted with the "event" signal as ready-to-send text, in the order things
 * happen; "disconnect" asks the transport to close the sockets of a peer (or of a whole
 * party when peer_id is NULL).
 */

typedef struct
{
  char     party_id[LR_ID_LENGTH + 1];
  gint64   last_seen;
  guint    n_sockets;
  gboolean online;
  gboolean dirty;
} Liveness;

struct _LrcService
{
  GObject      parent_instance;
  LrcDatabase *database;
  LrClock     *clock;
  LrcTimings   timings;
  GBytes      *relay_secret;
  GHashTable  *liveness;   /* peer id → Liveness */
};

G_DEFINE_FINAL_TYPE (LrcService, lrc_service, G_TYPE_OBJECT)

enum {
  SIGNAL_EVENT,
  SIGNAL_DISCONNECT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

#define PEER_COLUMNS \
  "id, party_id, name, virtual_ip, wg_public_key, disco_public_key, endpoints, " \
  "nat_mapping, nat_filtering, last_seen"

void
lrc_timings_init_defaults (LrcTimings *timings)
{
  timings->offline_after_us = G_GINT64_CONSTANT (60) * G_USEC_PER_SEC;
  timings->remove_after_us = G_GINT64_CONSTANT (600) * G_USEC_PER_SEC;
  timings->empty_party_after_us = G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC;
  timings->relay_expire_after_us = G_GINT64_CONSTANT (60) * G_USEC_PER_SEC;
  timings->relay_token_lifetime_us = G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC;
}

static void
lrc_service_dispose (GObject *object)
{
  LrcService *self = LRC_SERVICE (object);

  g_clear_object (&self->database);
  g_clear_pointer (&self->clock, lr_clock_unref);
  g_clear_pointer (&self->liveness, g_hash_table_unref);
  g_clear_pointer (&self->relay_secret, g_bytes_unref);

  G_OBJECT_CLASS (lrc_service_parent_class)->dispose (object);
}

static void
lrc_service_class_init (LrcServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = lrc_service_dispose;

  /**
   * LrcService::event:
   * @party_id: the party whose members must receive @message
   * @message: a JSON text
   */
  signals[SIGNAL_EVENT] =
    g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * LrcService::disconnect:
   * @party_id: a party
   * @peer_id: (nullable): one of its peers, or %NULL for all of them
   */
  signals[SIGNAL_DISCONNECT] =
    g_signal_new ("disconnect", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
lrc_service_init (LrcService *self)
{
  self->liveness = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static gint64
now_us (LrcService *self)
{
  return lr_clock_now_us (self->clock);
}

static Liveness *
liveness_add (LrcService *self,
              const char *party_id,
              const char *peer_id,
              gint64      last_seen)
{
  Liveness *live = g_new0 (Liveness, 1);

  g_strlcpy (live->party_id, party_id, sizeof live->party_id);
  live->last_seen = last_seen;
  live->online = now_us (self) - last_seen < self->timings.offline_after_us;
  g_hash_table_replace (self->liveness, g_strdup (peer_id), live);
  return live;
}

static gboolean
load_liveness (LrcService  *self,
               GError     **error)
{
  sqlite3_stmt *stmt = lrc_database_prepare (self->database,
                                             "SELECT id, party_id, last_seen FROM peers", error);
  int rc;

  if (stmt == NULL)
    return FALSE;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    liveness_add (self, (const char *) sqlite3_column_text (stmt, 0),
                  (const char *) sqlite3_column_text (stmt, 1), sqlite3_column_int64 (stmt, 2));

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return lrc_database_set_error (self->database, error);
  return TRUE;
}

LrcService *
lrc_service_new (LrcDatabase       *database,
                 LrClock           *clock,
                 const LrcTimings  *timings,
                 GBytes            *relay_secret,
                 GError           **error)
{
  g_autoptr(LrcService) self = g_object_new (LRC_TYPE_SERVICE, NULL);

  self->database = g_object_ref (database);
  self->clock = lr_clock_ref (clock);
  self->timings = *timings;
  self->relay_secret = g_bytes_ref (relay_secret);

  if (!load_liveness (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

/* Reading rows. */

static void
peer_from_row (LrcService   *self,
               sqlite3_stmt *stmt,
               LrPeer       *peer)
{
  const char *endpoints = (const char *) sqlite3_column_text (stmt, 6);
  Liveness *live;

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

  live = g_hash_table_lookup (self->liveness, peer->id);
  if (live != NULL)
    {
      peer->online = live->online;
      peer->last_seen = MAX (peer->last_seen, live->last_seen);
    }
}

/* The end of a lookup that selects at most one row: found, missing, or a database error. */
static gboolean
row_found (LrcService  *self,
           int          rc,
           const char  *missing,
           GError     **error)
{
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return lrc_database_set_error (self->database, error);

  g_set_error_literal (error, LRC_ERROR, LRC_ERROR_NOT_FOUND, missing);
  return FALSE;
}

static gboolean
load_peer (LrcService  *self,
           const char  *party_id,
           const char  *peer_id,
           LrPeer      *peer,
           GError     **error)
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
    peer_from_row (self, stmt, peer);
  sqlite3_reset (stmt);

  return row_found (self, rc, "There is no such peer in this party", error);
}

static gboolean
load_party (LrcService  *self,
            const char  *party_id,
            LrParty     *party,
            gint64      *empty_since,
            GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = lrc_database_prepare (self->database,
                               "SELECT id, name, invite_code, host_peer_id, created_at, "
                               "empty_since FROM parties WHERE id = ?", error);
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
      if (empty_since != NULL)
        *empty_since = sqlite3_column_type (stmt, 5) == SQLITE_NULL ? 0
                                                                  : sqlite3_column_int64 (stmt, 5);
    }
  sqlite3_reset (stmt);

  return row_found (self, rc, "There is no such party", error);
}

/* The party's members in the order they joined. */
static void
build_peers (LrcService  *self,
             const char  *party_id,
             JsonBuilder *builder)
{
  sqlite3_stmt *stmt;

  json_builder_set_member_name (builder, "peers");
  json_builder_begin_array (builder);

  stmt = lrc_database_prepare (self->database,
                               "SELECT " PEER_COLUMNS " FROM peers WHERE party_id = ? "
                               "ORDER BY joined_at, id", NULL);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, party_id, -1, SQLITE_STATIC);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          g_auto(LrPeer) peer = { 0 };

          peer_from_row (self, stmt, &peer);
          lr_peer_build (&peer, builder);
        }
      sqlite3_reset (stmt);
    }

  json_builder_end_array (builder);
}

static void
build_relays (LrcService  *self,
              JsonBuilder *builder)
{
  sqlite3_stmt *stmt;

  json_builder_set_member_name (builder, "relays");
  json_builder_begin_array (builder);

  stmt = lrc_database_prepare (self->database,
                               "SELECT id, region, endpoint FROM relays WHERE last_seen > ? "
                               "ORDER BY id", NULL);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, now_us (self) - self->timings.relay_expire_after_us);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          LrRelay relay = {
            .id = (char *) sqlite3_column_text (stmt, 0),
            .region = (char *) sqlite3_column_text (stmt, 1),
            .endpoint = (char *) sqlite3_column_text (stmt, 2),
          };

          lr_relay_build (&relay, builder);
        }
      sqlite3_reset (stmt);
    }

  json_builder_end_array (builder);
}

/* Events. */

static void
emit_peer_event (LrcService   *self,
                 const char   *type,
                 const LrPeer *peer,
                 const char   *party_id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  json_builder_set_member_name (builder, "peer");
  lr_peer_build (peer, builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = lr_json_to_string (root);
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, party_id, text);
}

static void
emit_peer_event_by_id (LrcService *self,
                       const char *type,
                       const char *party_id,
                       const char *peer_id)
{
  g_auto(LrPeer) peer = { 0 };

  if (load_peer (self, party_id, peer_id, &peer, NULL))
    emit_peer_event (self, type, &peer, party_id);
}

static void
emit_party_event (LrcService *self,
                  const char *type,
                  const char *party_id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_auto(LrParty) party = { 0 };

  if (!load_party (self, party_id, &party, NULL, NULL))
    return;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  json_builder_set_member_name (builder, "party");
  lr_party_build (&party, builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = lr_json_to_string (root);
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, party_id, text);
}

/* Liveness. */

static void
touch (LrcService *self,
       const char *party_id,
       const char *peer_id)
{
  Liveness *live = g_hash_table_lookup (self->liveness, peer_id);

  if (live == NULL)
    return;

  live->last_seen = now_us (self);
  live->dirty = TRUE;
  if (!live->online)
    {
      live->online = TRUE;
      emit_peer_event_by_id (self, "peer_updated", party_id, peer_id);
    }
}

/* Creating and joining. */

static JsonNode *
build_welcome (LrcService *self,
               const char *party_id,
               const char *peer_id,
               const char *token)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_auto(LrParty) party = { 0 };
  g_auto(LrPeer) peer = { 0 };
  g_autofree char *relay_token = NULL;
  g_autofree char *expires_text = NULL;
  gint64 expires_at = now_us (self) + self->timings.relay_token_lifetime_us;

  if (!load_party (self, party_id, &party, NULL, NULL) ||
      !load_peer (self, party_id, peer_id, &peer, NULL))
    return NULL;

  relay_token = lr_relay_token_mint (self->relay_secret, party_id, peer_id,
                                     expires_at / G_USEC_PER_SEC, NULL);
  expires_text = lr_timestamp_format (expires_at);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "party");
  lr_party_build (&party, builder);
  json_builder_set_member_name (builder, "peer");
  json_builder_begin_object (builder);
  lr_peer_build_members (&peer, builder);
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, token);
  json_builder_set_member_name (builder, "relay_token");
  json_builder_add_string_value (builder, relay_token);
  json_builder_set_member_name (builder, "relay_token_expires_at");
  json_builder_add_string_value (builder, expires_text);
  json_builder_end_object (builder);
  build_relays (self, builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static gboolean
insert_peer (LrcService  *self,
             const char  *party_id,
             const char  *peer_id,
             LrPeerIn    *in,
             guint32      address,
             const guint8 token_hash[LR_TOKEN_HASH_LENGTH],
             GError     **error)
{
  g_autofree char *endpoints = g_strjoinv ("\n", in->endpoints);
  sqlite3_stmt *stmt;
  gint64 now = now_us (self);

  stmt = lrc_database_prepare (self->database,
                               "INSERT INTO peers (id, party_id, name, virtual_ip, wg_public_key, "
                               "disco_public_key, endpoints, nat_mapping, nat_filtering, "
                               "token_hash, joined_at, last_seen) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, peer_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, party_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, in->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, address);
  sqlite3_bind_text (stmt, 5, in->wg_public_key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, in->disco_public_key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 7, endpoints, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 8, in->has_nat ? in->nat.mapping : LR_NAT_UNKNOWN);
  sqlite3_bind_int (stmt, 9, in->has_nat ? in->nat.filtering : LR_NAT_UNKNOWN);
  sqlite3_bind_blob (stmt, 10, token_hash, LR_TOKEN_HASH_LENGTH, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 11, now);
  sqlite3_bind_int64 (stmt, 12, now);

  return lrc_database_step_done (self->database, stmt, error);
}

static gboolean
bind_text_and_step (LrcService  *self,
                    const char  *sql,
                    GError     **error,
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

JsonNode *
lrc_service_create_party (LrcService            *self,
                          LrCreatePartyRequest  *request,
                          GError               **error)
{
  g_autofree char *party_id = lr_id_generate ();
  g_autofree char *peer_id = lr_id_generate ();
  g_autofree char *token = lr_token_generate ();
  g_autofree char *redacted = NULL;
  g_autofree char *invite_code = NULL;
  guint8 token_hash[LR_TOKEN_HASH_LENGTH];
  g_autoptr(LrIpam) ipam = lr_ipam_new (LR_VIRTUAL_NETWORK, LR_VIRTUAL_PREFIX_LENGTH);
  guint32 address = lr_ipam_allocate (ipam, 0, NULL);
  sqlite3_stmt *stmt;
  gboolean inserted = FALSE;

  lr_token_hash (token, token_hash);

  if (!lrc_database_begin (self->database, error))
    return NULL;

  /* 60 random bits make a clash vanishingly rare, but a clash must not fail a create. */
  for (guint attempt = 0; attempt < 4 && !inserted; attempt++)
    {
      g_clear_pointer (&invite_code, g_free);
      invite_code = lr_invite_code_generate ();

      stmt = lrc_database_prepare (self->database,
                                   "INSERT OR IGNORE INTO parties (id, name, invite_code, "
                                   "host_peer_id, created_at, ip_cursor) VALUES (?, ?, ?, ?, ?, ?)",
                                   error);
      if (stmt == NULL)
        goto fail;

      sqlite3_bind_text (stmt, 1, party_id, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, request->name, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, invite_code, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, peer_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 5, now_us (self));
      sqlite3_bind_int64 (stmt, 6, address);
      if (!lrc_database_step_done (self->database, stmt, error))
        goto fail;
      inserted = sqlite3_changes (sqlite3_db_handle (stmt)) == 1;
    }

  if (!inserted)
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_INTERNAL, "Could not find a free invite code");
      goto fail;
    }

  if (!insert_peer (self, party_id, peer_id, request->peer, address, token_hash, error) ||
      !lrc_database_commit (self->database, error))
    goto fail;

  liveness_add (self, party_id, peer_id, now_us (self));
  redacted = lr_invite_code_redact (invite_code);
  g_info ("Party %s created (invite %s)", party_id, redacted);
  return build_welcome (self, party_id, peer_id, token);

fail:
  lrc_database_rollback (self->database);
  return NULL;
}

static guint32
previous_address (LrcService *self,
                  const char *party_id,
                  const char *wg_public_key)
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
load_members (LrcService  *self,
              const char  *party_id,
              const char  *wg_public_key,
              LrIpam      *ipam,
              GError     **error)
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

  if (lr_ipam_get_n_used (ipam) >= LRC_MAX_PEERS_PER_PARTY)
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_PARTY_FULL,
                   "The party is full (%d players)", LRC_MAX_PEERS_PER_PARTY);
      return FALSE;
    }

  return TRUE;
}

JsonNode *
lrc_service_join (LrcService     *self,
                  LrJoinRequest  *request,
                  GError        **error)
{
  g_autofree char *peer_id = lr_id_generate ();
  g_autofree char *token = lr_token_generate ();
  g_autofree char *party_id = NULL;
  g_autoptr(LrIpam) ipam = lr_ipam_new (LR_VIRTUAL_NETWORK, LR_VIRTUAL_PREFIX_LENGTH);
  guint8 token_hash[LR_TOKEN_HASH_LENGTH];
  sqlite3_stmt *stmt;
  gboolean was_empty = FALSE;
  guint32 address;
  int rc;

  lr_token_hash (token, token_hash);

  if (!lrc_database_begin (self->database, error))
    return NULL;

  stmt = lrc_database_prepare (self->database,
                               "SELECT id, ip_cursor, empty_since IS NOT NULL FROM parties "
                               "WHERE invite_code = ?", error);
  if (stmt == NULL)
    goto fail;

  sqlite3_bind_text (stmt, 1, request->invite_code, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      party_id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      lr_ipam_set_cursor (ipam, (guint32) sqlite3_column_int64 (stmt, 1));
      was_empty = sqlite3_column_int (stmt, 2);
    }
  sqlite3_reset (stmt);

  if (rc != SQLITE_ROW)
    {
      if (rc == SQLITE_DONE)
        g_set_error (error, LRC_ERROR, LRC_ERROR_INVITE_NOT_FOUND,
                     "No party has that invite code; check it with the host, the party "
                     "may have been closed");
      else
        lrc_database_set_error (self->database, error);
      goto fail;
    }

  if (!load_members (self, party_id, request->peer->wg_public_key, ipam, error))
    goto fail;

  address = lr_ipam_allocate (ipam, previous_address (self, party_id,
                                                      request->peer->wg_public_key), error);
  if (address == 0)
    goto fail;

  if (!insert_peer (self, party_id, peer_id, request->peer, address, token_hash, error))
    goto fail;

  stmt = lrc_database_prepare (self->database,
                               was_empty
                               ? "UPDATE parties SET ip_cursor = MAX (ip_cursor, ?), "
                                 "empty_since = NULL, host_peer_id = ? WHERE id = ?"
                               : "UPDATE parties SET ip_cursor = MAX (ip_cursor, ?) "
                                 "WHERE id = ?", error);
  if (stmt == NULL)
    goto fail;
  /* The cursor only moves forward, so a preferred address below it doesn't pull it back. */
  sqlite3_bind_int64 (stmt, 1, address);
  if (was_empty)
    {
      sqlite3_bind_text (stmt, 2, peer_id, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, party_id, -1, SQLITE_STATIC);
    }
  else
    sqlite3_bind_text (stmt, 2, party_id, -1, SQLITE_STATIC);

  if (!lrc_database_step_done (self->database, stmt, error) ||
      !lrc_database_commit (self->database, error))
    goto fail;

  liveness_add (self, party_id, peer_id, now_us (self));
  g_info ("Peer %s joined party %s", peer_id, party_id);

  if (was_empty)
    emit_party_event (self, "party_updated", party_id);
  emit_peer_event_by_id (self, "peer_joined", party_id, peer_id);

  return build_welcome (self, party_id, peer_id, token);

fail:
  lrc_database_rollback (self->database);
  return NULL;
}

/* Authorisation. */

gboolean
lrc_service_authenticate (LrcService  *self,
                          const char  *token,
                          LrcCaller   *caller,
                          GError     **error)
{
  guint8 hash[LR_TOKEN_HASH_LENGTH];
  sqlite3_stmt *stmt;
  gboolean found = FALSE;

  if (!lr_token_is_well_formed (token))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_UNAUTHORIZED,
                   token == NULL ? "This needs a token: Authorization: Bearer TOKEN"
                                 : "That token is not valid");
      return FALSE;
    }

  lr_token_hash (token, hash);
  stmt = lrc_database_prepare (self->database,
                               "SELECT id, party_id, token_hash FROM peers WHERE token_hash = ?",
                               error);
  if (stmt == NULL)
    return FALSE;

  /* The index finds the row by hash; the constant-time comparison below is what decides.
   * Looking up by a hash leaks nothing about the token: SHA-256 cannot be walked back. */
  sqlite3_bind_blob (stmt, 1, hash, sizeof hash, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW &&
      sqlite3_column_bytes (stmt, 2) == LR_TOKEN_HASH_LENGTH &&
      lr_token_hash_equal (sqlite3_column_blob (stmt, 2), hash))
    {
      g_strlcpy (caller->peer_id, (const char *) sqlite3_column_text (stmt, 0),
                 sizeof caller->peer_id);
      g_strlcpy (caller->party_id, (const char *) sqlite3_column_text (stmt, 1),
                 sizeof caller->party_id);
      found = TRUE;
    }
  sqlite3_reset (stmt);

  if (!found)
    g_set_error (error, LRC_ERROR, LRC_ERROR_UNAUTHORIZED,
                 "That token is not valid (the peer may have left or been removed)");
  return found;
}

gboolean
lrc_service_check_party (LrcService       *self,
                         const LrcCaller  *caller,
                         const char       *party_id,
                         GError          **error)
{
  if (!lr_id_is_valid (party_id))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_NOT_FOUND, "There is no such party");
      return FALSE;
    }

  if (sodium_memcmp (caller->party_id, party_id, LR_ID_LENGTH) != 0)
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_FORBIDDEN,
                   "That token belongs to another party");
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_own_peer (LrcService       *self,
                const LrcCaller  *caller,
                const char       *party_id,
                const char       *peer_id,
                GError          **error)
{
  if (!lrc_service_check_party (self, caller, party_id, error))
    return FALSE;

  if (!lr_id_is_valid (peer_id))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_NOT_FOUND, "There is no such peer");
      return FALSE;
    }

  if (!g_str_equal (caller->peer_id, peer_id))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_FORBIDDEN, "Only a peer itself can do that");
      return FALSE;
    }

  return TRUE;
}

JsonNode *
lrc_service_get_party (LrcService       *self,
                       const LrcCaller  *caller,
                       const char       *party_id,
                       GError          **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_auto(LrParty) party = { 0 };

  if (!lrc_service_check_party (self, caller, party_id, error) ||
      !load_party (self, party_id, &party, NULL, error))
    return NULL;

  touch (self, party_id, caller->peer_id);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "party");
  lr_party_build (&party, builder);
  build_peers (self, party_id, builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

char *
lrc_service_snapshot (LrcService *self,
                      const char *party_id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonNode) root = NULL;
  g_auto(LrParty) party = { 0 };

  if (!load_party (self, party_id, &party, NULL, NULL))
    return NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "snapshot");
  json_builder_set_member_name (builder, "party");
  lr_party_build (&party, builder);
  build_peers (self, party_id, builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return lr_json_to_string (root);
}

JsonNode *
lrc_service_update_peer (LrcService       *self,
                         const LrcCaller  *caller,
                         const char       *party_id,
                         const char       *peer_id,
                         LrPeerUpdate     *update,
                         GError          **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_auto(LrPeer) peer = { 0 };
  g_autofree char *endpoints = NULL;
  sqlite3_stmt *stmt;

  if (!check_own_peer (self, caller, party_id, peer_id, error))
    return NULL;

  if (update->has_endpoints)
    endpoints = g_strjoinv ("\n", update->endpoints);

  stmt = lrc_database_prepare (self->database,
                               "UPDATE peers SET name = COALESCE (?, name), "
                               "endpoints = COALESCE (?, endpoints), "
                               "nat_mapping = COALESCE (?, nat_mapping), "
                               "nat_filtering = COALESCE (?, nat_filtering) "
                               "WHERE id = ? AND party_id = ?", error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_text (stmt, 1, update->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, endpoints, -1, SQLITE_STATIC);
  if (update->has_nat)
    {
      sqlite3_bind_int (stmt, 3, update->nat.mapping);
      sqlite3_bind_int (stmt, 4, update->nat.filtering);
    }
  sqlite3_bind_text (stmt, 5, peer_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, party_id, -1, SQLITE_STATIC);
  if (!lrc_database_step_done (self->database, stmt, error))
    return NULL;

  touch (self, party_id, peer_id);
  if (!load_peer (self, party_id, peer_id, &peer, error))
    return NULL;

  emit_peer_event (self, "peer_updated", &peer, party_id);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "peer");
  lr_peer_build (&peer, builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

gboolean
lrc_service_heartbeat (LrcService       *self,
                       const LrcCaller  *caller,
                       const char       *party_id,
                       const char       *peer_id,
                       GError          **error)
{
  if (!check_own_peer (self, caller, party_id, peer_id, error))
    return FALSE;

  touch (self, party_id, peer_id);
  return TRUE;
}

/* The latest expiry of a relay token minted now (lrc_service_mint_relay_token()): a peer
 * removed now has no token that lives longer. */
static gint64
relay_tokens_end (LrcService *self)
{
  return (now_us (self) + self->timings.relay_token_lifetime_us) / G_USEC_PER_SEC;
}

/* Tells the relays, through their next registration, to stop relaying for @peer_id (all
 * peers of the party when %NULL). Called inside the removal's transaction. */
static gboolean
record_relay_removal (LrcService  *self,
                      const char  *party_id,
                      const char  *peer_id,
                      GError     **error)
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
  sqlite3_bind_int64 (stmt, 3, relay_tokens_end (self));
  return lrc_database_step_done (self->database, stmt, error);
}

/* Removes a peer for whatever reason (left, removed by the host, gone stale). */
static gboolean
remove_peer (LrcService  *self,
             const char  *party_id,
             const char  *peer_id,
             GError     **error)
{
  g_auto(LrPeer) peer = { 0 };
  g_auto(LrParty) party = { 0 };
  guint32 address = 0;
  sqlite3_stmt *stmt;
  g_autofree char *next_host = NULL;
  gboolean host_changed = FALSE;

  if (!load_peer (self, party_id, peer_id, &peer, error) ||
      !load_party (self, party_id, &party, NULL, error))
    return FALSE;

  peer.online = FALSE;
  lr_ipv4_parse (peer.virtual_ip, &address);

  if (!lrc_database_begin (self->database, error))
    return FALSE;

  stmt = lrc_database_prepare (self->database,
                               "INSERT OR REPLACE INTO address_history (party_id, wg_public_key, "
                               "virtual_ip) VALUES (?, ?, ?)", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_text (stmt, 1, party_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, peer.wg_public_key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, address);
  if (!lrc_database_step_done (self->database, stmt, error))
    goto fail;

  if (!bind_text_and_step (self, "DELETE FROM peers WHERE id = ? AND party_id = ?", error,
                           peer_id, party_id, NULL) ||
      !record_relay_removal (self, party_id, peer_id, error))
    goto fail;

  /* The longest-standing member takes over from a host who leaves. */
  stmt = lrc_database_prepare (self->database,
                               "SELECT id FROM peers WHERE party_id = ? ORDER BY joined_at, id "
                               "LIMIT 1", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_text (stmt, 1, party_id, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    next_host = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);

  if (next_host == NULL)
    {
      g_autofree char *now_text = g_strdup_printf ("%" G_GINT64_FORMAT, now_us (self));

      if (!bind_text_and_step (self, "UPDATE parties SET empty_since = CAST (? AS INTEGER) "
                               "WHERE id = ?", error, now_text, party_id, NULL))
        goto fail;
    }
  else if (g_str_equal (party.host_peer_id, peer_id))
    {
      if (!bind_text_and_step (self, "UPDATE parties SET host_peer_id = ? WHERE id = ?", error,
                               next_host, party_id, NULL))
        goto fail;
      host_changed = TRUE;
    }

  if (!lrc_database_commit (self->database, error))
    goto fail;

  g_hash_table_remove (self->liveness, peer_id);
  g_info ("Peer %s left party %s", peer_id, party_id);

  /* The leaving peer hears its own peer_left too, then its sockets close. */
  emit_peer_event (self, "peer_left", &peer, party_id);
  g_signal_emit (self, signals[SIGNAL_DISCONNECT], 0, party_id, peer_id);
  if (host_changed)
    emit_party_event (self, "party_updated", party_id);
  return TRUE;

fail:
  lrc_database_rollback (self->database);
  return FALSE;
}

gboolean
lrc_service_remove_peer (LrcService       *self,
                         const LrcCaller  *caller,
                         const char       *party_id,
                         const char       *peer_id,
                         GError          **error)
{
  g_auto(LrParty) party = { 0 };

  if (!lrc_service_check_party (self, caller, party_id, error))
    return FALSE;

  if (!lr_id_is_valid (peer_id))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_NOT_FOUND, "There is no such peer");
      return FALSE;
    }

  if (!g_str_equal (caller->peer_id, peer_id))
    {
      if (!load_party (self, party_id, &party, NULL, error))
        return FALSE;
      if (!g_str_equal (party.host_peer_id, caller->peer_id))
        {
          g_set_error (error, LRC_ERROR, LRC_ERROR_FORBIDDEN,
                       "Only the host can remove someone from the party");
          return FALSE;
        }
    }

  return remove_peer (self, party_id, peer_id, error);
}

gboolean
lrc_service_close_party (LrcService       *self,
                         const LrcCaller  *caller,
                         const char       *party_id,
                         GError          **error)
{
  g_auto(LrParty) party = { 0 };
  GHashTableIter iter;
  Liveness *live;

  if (!lrc_service_check_party (self, caller, party_id, error) ||
      !load_party (self, party_id, &party, NULL, error))
    return FALSE;

  if (!g_str_equal (party.host_peer_id, caller->peer_id))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_FORBIDDEN, "Only the host can close the party");
      return FALSE;
    }

  emit_party_event (self, "party_closed", party_id);

  if (!lrc_database_begin (self->database, error))
    return FALSE;
  if (!record_relay_removal (self, party_id, NULL, error) ||
      !bind_text_and_step (self, "DELETE FROM parties WHERE id = ?", error, party_id, NULL) ||
      !lrc_database_commit (self->database, error))
    {
      lrc_database_rollback (self->database);
      return FALSE;
    }

  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &live))
    if (g_str_equal (live->party_id, party_id))
      g_hash_table_iter_remove (&iter);

  g_signal_emit (self, signals[SIGNAL_DISCONNECT], 0, party_id, NULL);
  g_info ("Party %s closed by its host", party_id);
  return TRUE;
}

JsonNode *
lrc_service_mint_relay_token (LrcService       *self,
                              const LrcCaller  *caller,
                              const char       *party_id,
                              GError          **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autofree char *token = NULL;
  g_autofree char *expires_text = NULL;
  gint64 expires_at = now_us (self) + self->timings.relay_token_lifetime_us;

  if (!lrc_service_check_party (self, caller, party_id, error))
    return NULL;

  token = lr_relay_token_mint (self->relay_secret, party_id, caller->peer_id,
                               expires_at / G_USEC_PER_SEC, error);
  if (token == NULL)
    return NULL;

  touch (self, party_id, caller->peer_id);
  expires_text = lr_timestamp_format (expires_at);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "relay_token");
  json_builder_add_string_value (builder, token);
  json_builder_set_member_name (builder, "expires_at");
  json_builder_add_string_value (builder, expires_text);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

gboolean
lrc_service_check_relay_secret (LrcService  *self,
                                const char  *presented_secret,
                                GError     **error)
{
  if (!lr_secret_equal (self->relay_secret, presented_secret))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_UNAUTHORIZED,
                   "Relays must present the relay secret");
      return FALSE;
    }
  return TRUE;
}

gboolean
lrc_service_register_relay (LrcService  *self,
                            LrRelay     *relay,
                            GError     **error)
{
  sqlite3_stmt *stmt;

  stmt = lrc_database_prepare (self->database,
                               "INSERT INTO relays (id, region, endpoint, last_seen) "
                               "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                               "region = excluded.region, endpoint = excluded.endpoint, "
                               "last_seen = excluded.last_seen", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, relay->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, relay->region, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, relay->endpoint, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, now_us (self));
  return lrc_database_step_done (self->database, stmt, error);
}

JsonNode *
lrc_service_list_relays (LrcService *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  build_relays (self, builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/**
 * lrc_service_relay_removals:
 * @after: the cursor the relay sent back (0 at its start)
 *
 * The peers removed from their parties since @after, at most LR_RELAY_REMOVALS_PAGE, as
 * lr-relay-removals.h describes. A cursor beyond the newest row (the database was replaced
 * by an older one) is treated as 0: the relay then hears every removal still kept again,
 * which costs nothing, instead of none ever.
 */
JsonNode *
lrc_service_relay_removals (LrcService  *self,
                            gint64       after,
                            GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  sqlite3_stmt *stmt;
  gint64 newest = 0, cursor;
  guint n = 0;
  int rc;

  stmt = lrc_database_prepare (self->database,
                               "SELECT seq FROM sqlite_sequence WHERE name = 'relay_removals'",
                               error);
  if (stmt == NULL)
    return NULL;
  if ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    newest = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      lrc_database_set_error (self->database, error);
      return NULL;
    }
  if (after > newest)
    after = 0;
  cursor = after;

  stmt = lrc_database_prepare (self->database,
                               "SELECT seq, party_id, peer_id, until FROM relay_removals "
                               "WHERE seq > ? ORDER BY seq LIMIT ?", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, after);
  sqlite3_bind_int (stmt, 2, LR_RELAY_REMOVALS_PAGE);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "removed");
  json_builder_begin_array (builder);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autofree char *until = lr_timestamp_format (sqlite3_column_int64 (stmt, 3) *
                                                    G_USEC_PER_SEC);

      cursor = sqlite3_column_int64 (stmt, 0);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "party_id");
      json_builder_add_string_value (builder, (const char *) sqlite3_column_text (stmt, 1));
      json_builder_set_member_name (builder, "peer_id");
      json_builder_add_string_value (builder, (const char *) sqlite3_column_text (stmt, 2));
      json_builder_set_member_name (builder, "until");
      json_builder_add_string_value (builder, until);
      json_builder_end_object (builder);
      n++;
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      lrc_database_set_error (self->database, error);
      return NULL;
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "cursor");
  json_builder_add_int_value (builder, cursor);
  json_builder_set_member_name (builder, "more");
  json_builder_add_boolean_value (builder, n == LR_RELAY_REMOVALS_PAGE && cursor < newest);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

void
lrc_service_socket_opened (LrcService      *self,
                           const LrcCaller *caller)
{
  Liveness *live = g_hash_table_lookup (self->liveness, caller->peer_id);

  if (live == NULL)
    return;
  live->n_sockets++;
  touch (self, caller->party_id, caller->peer_id);
}

void
lrc_service_socket_closed (LrcService      *self,
                           const LrcCaller *caller)
{
  Liveness *live = g_hash_table_lookup (self->liveness, caller->peer_id);

  /* The offline countdown starts when the last socket goes. */
  if (live == NULL || live->n_sockets == 0)
    return;
  live->n_sockets--;
  live->last_seen = now_us (self);
  live->dirty = TRUE;
}

/**
 * lrc_service_sweep:
 *
 * Marks quiet peers offline, removes peers offline for too long, deletes parties empty for
 * too long and forgets relays that stopped refreshing. Takes its time from the clock only.
 */
void
lrc_service_sweep (LrcService *self)
{
  gint64 now = now_us (self);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) quiet = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *cutoff = NULL;
  GHashTableIter iter;
  const char *peer_id;
  Liveness *live;

  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, (gpointer *) &peer_id, (gpointer *) &live))
    {
      gint64 idle = now - live->last_seen;

      if (live->n_sockets > 0)
        continue;

      if (live->online && idle >= self->timings.offline_after_us)
        {
          live->online = FALSE;
          g_ptr_array_add (quiet, g_strconcat (live->party_id, "/", peer_id, NULL));
        }
      else if (!live->online &&
               idle >= self->timings.offline_after_us + self->timings.remove_after_us)
        g_ptr_array_add (gone, g_strconcat (live->party_id, "/", peer_id, NULL));
    }

  /* Events go out after the walk: handlers may change the table. */
  for (guint i = 0; i < quiet->len; i++)
    {
      g_auto(GStrv) parts = g_strsplit (g_ptr_array_index (quiet, i), "/", 2);
      emit_peer_event_by_id (self, "peer_offline", parts[0], parts[1]);
    }

  for (guint i = 0; i < gone->len; i++)
    {
      g_auto(GStrv) parts = g_strsplit (g_ptr_array_index (gone, i), "/", 2);
      g_autoptr(GError) error = NULL;

      if (!remove_peer (self, parts[0], parts[1], &error))
        g_warning ("Could not remove stale peer %s: %s", parts[1], error->message);
    }

  cutoff = g_strdup_printf ("%" G_GINT64_FORMAT, now - self->timings.empty_party_after_us);
  bind_text_and_step (self, "DELETE FROM parties WHERE empty_since IS NOT NULL AND "
                      "empty_since <= CAST (? AS INTEGER)", NULL, cutoff, NULL);

  g_free (cutoff);
  cutoff = g_strdup_printf ("%" G_GINT64_FORMAT, now - self->timings.relay_expire_after_us);
  bind_text_and_step (self, "DELETE FROM relays WHERE last_seen <= CAST (? AS INTEGER)", NULL,
                      cutoff, NULL);

  /* Every token minted before those removals has expired: the relays refuse them anyway. */
  g_free (cutoff);
  cutoff = g_strdup_printf ("%" G_GINT64_FORMAT, now / G_USEC_PER_SEC);
  bind_text_and_step (self, "DELETE FROM relay_removals WHERE until < CAST (? AS INTEGER)",
                      NULL, cutoff, NULL);
}

/**
 * lrc_service_flush:
 *
 * Writes the last_seen of peers that were heard from since the previous flush, in one
 * transaction.
 */
gboolean
lrc_service_flush (LrcService  *self,
                   GError     **error)
{
  GHashTableIter iter;
  const char *peer_id;
  Liveness *live;
  sqlite3_stmt *stmt;
  guint n = 0;

  stmt = lrc_database_prepare (self->database, "UPDATE peers SET last_seen = ? WHERE id = ?",
                               error);
  if (stmt == NULL || !lrc_database_begin (self->database, error))
    return FALSE;

  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, (gpointer *) &peer_id, (gpointer *) &live))
    {
      if (!live->dirty)
        continue;

      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, live->last_seen);
      sqlite3_bind_text (stmt, 2, peer_id, -1, SQLITE_STATIC);
      if (!lrc_database_step_done (self->database, stmt, error))
        {
          lrc_database_rollback (self->database);
          return FALSE;
        }
      n++;
    }

  if (!lrc_database_commit (self->database, error))
    {
      lrc_database_rollback (self->database);
      return FALSE;
    }

  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &live))
    live->dirty = FALSE;

  if (n > 0)
    g_debug ("Wrote %u heartbeats", n);
  return TRUE;
}

static gint64
count (LrcService *self,
       const char *sql)
{
  sqlite3_stmt *stmt = lrc_database_prepare (self->database, sql, NULL);
  gint64 value = 0;

  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  if (stmt != NULL)
    sqlite3_reset (stmt);
  return value;
}

GString *
lrc_service_metrics (LrcService *self)
{
  GString *text = g_string_new (NULL);
  GHashTableIter iter;
  Liveness *live;
  guint online = 0;

  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &live))
    online += live->online;

  g_string_append_printf (text,
                          "# HELP lanrage_control_parties Parties that exist.\n"
                          "# TYPE lanrage_control_parties gauge\n"
                          "lanrage_control_parties %" G_GINT64_FORMAT "\n"
                          "# HELP lanrage_control_peers Peers in all parties.\n"
                          "# TYPE lanrage_control_peers gauge\n"
                          "lanrage_control_peers %" G_GINT64_FORMAT "\n"
                          "# HELP lanrage_control_peers_online Peers heard from recently.\n"
                          "# TYPE lanrage_control_peers_online gauge\n"
                          "lanrage_control_peers_online %u\n",
                          count (self, "SELECT COUNT(*) FROM parties"),
                          count (self, "SELECT COUNT(*) FROM peers"), online);
  return text;
}
