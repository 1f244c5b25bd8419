/* lrc-service.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-service.h"
#include "lrc-error.h"
#include "lrc-token-cache.h"

#include "lr-error.h"
#include "lr-invite-code.h"
#include "lr-json.h"
#include "lr-relay-removals.h"
#include "lr-relay-token.h"
#include "lr-token.h"

#include <sodium.h>
#include <string.h>

/*
 * The store is the truth for parties and peers; liveness (last heartbeat, open sockets,
 * online) lives in memory, because heartbeats must be cheap: they touch this table only, and
 * lrc_service_flush_async() writes the changed last_seen values in one transaction now and
 * then. After a restart every peer starts from its stored last_seen.
 *
 * Every store call is asynchronous: an operation fills an LrcStoreCall, and a completion
 * function turns the call's outputs into events and the JSON answer on the main thread.
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
  gboolean checking;   /* the sweeper is reading it from the store */
} Liveness;

struct _LrcService
{
  GObject        parent_instance;
  LrcStore      *store;
  LrClock       *clock;
  LrcTimings     timings;
  GBytes        *relay_secret;
  GHashTable    *liveness;        /* peer id → Liveness */
  LrcTokenCache *tokens;          /* verified tokens, for heartbeats */
  gboolean       sweeping;
  char          *instance_id;     /* names this process's notices */
  GHashTable    *remote_sockets;  /* "instance peer" → sockets open there for that peer */
  gboolean       renewing;        /* a lease renewal is under way */
};

G_DEFINE_FINAL_TYPE (LrcService, lrc_service, G_TYPE_OBJECT)

enum {
  SIGNAL_EVENT,
  SIGNAL_DISCONNECT,
  SIGNAL_SIGNAL,
  SIGNAL_RESYNC,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* How long a verified token answers heartbeats without a query: several of a helper's 20 s
 * heartbeat periods, so that most heartbeats need none. Removals reach the cache at once
 * (see lrc-token-cache.c); this bounds only a removal whose notice never left its instance,
 * and a heartbeat on a removed peer's token changes nothing: its peer's row is gone. */
#define TOKEN_TRUST_US (G_GINT64_CONSTANT (120) * G_USEC_PER_SEC)

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

  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  g_clear_object (&self->store);
  g_clear_pointer (&self->clock, lr_clock_unref);
  g_clear_pointer (&self->remote_sockets, g_hash_table_unref);
  g_clear_pointer (&self->liveness, g_hash_table_unref);
  g_clear_pointer (&self->tokens, lrc_token_cache_free);
  g_clear_pointer (&self->relay_secret, g_bytes_unref);

  G_OBJECT_CLASS (lrc_service_parent_class)->dispose (object);
}

static void
lrc_service_finalize (GObject *object)
{
  LrcService *self = LRC_SERVICE (object);

  g_free (self->instance_id);

  G_OBJECT_CLASS (lrc_service_parent_class)->finalize (object);
}

static void
lrc_service_class_init (LrcServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = lrc_service_dispose;
  G_OBJECT_CLASS (klass)->finalize = lrc_service_finalize;

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

  /**
   * LrcService::signal:
   * @party_id: a party
   * @peer_id: the peer of it that must receive @message, if its socket is here
   * @message: the `signal` message, ready to send
   *
   * A signal sent through another instance sharing the database.
   */
  signals[SIGNAL_SIGNAL] =
    g_signal_new ("signal", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * LrcService::resync:
   *
   * Events of other instances may have been missed: the events sockets should be closed, so
   * that their clients come back for a snapshot.
   */
  signals[SIGNAL_RESYNC] =
    g_signal_new ("resync", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
lrc_service_init (LrcService *self)
{
  self->liveness = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->tokens = lrc_token_cache_new (TOKEN_TRUST_US);
  self->remote_sockets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->instance_id = lr_id_generate ();
}

static void store_notice_cb (LrcService *self,
                             const char *notice);
static void store_resync_cb (LrcService *self);
static void publish (LrcService *self,
                     const char *kind,
                     const char *party_id,
                     const char *peer_id,
                     const char *message,
                     gint        count);
static void publish_sockets (LrcService *self,
                             const char *party_id,
                             const char *peer_id,
                             guint       n_sockets);

LrcService *
lrc_service_new (LrcStore         *store,
                 LrClock          *clock,
                 const LrcTimings *timings,
                 GBytes           *relay_secret)
{
  LrcService *self = g_object_new (LRC_TYPE_SERVICE, NULL);

  self->store = g_object_ref (store);
  self->clock = lr_clock_ref (clock);
  self->timings = *timings;
  self->relay_secret = g_bytes_ref (relay_secret);
  g_signal_connect_swapped (store, "notice", G_CALLBACK (store_notice_cb), self);
  g_signal_connect_swapped (store, "resync", G_CALLBACK (store_resync_cb), self);
  /* Instances already running tell a new one which sockets they hold. */
  publish (self, "hello", NULL, NULL, NULL, -1);
  return self;
}

LrcStore *
lrc_service_get_store (LrcService *self)
{
  return self->store;
}

static gint64
now_us (LrcService *self)
{
  return lr_clock_now_us (self->clock);
}

/* Running store calls. */

/* Turns a finished call into the operation's result; returns NULL with @error set to fail. */
typedef gpointer (*Complete) (LrcService   *self,
                              LrcStoreCall *call,
                              GError      **error);

typedef struct
{
  Complete       complete;
  GDestroyNotify free_result;
} Pending;

static void
store_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrcService *self = g_task_get_source_object (task);
  Pending *pending = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(LrcStoreCall) call = lrc_store_call_finish (LRC_STORE (source), result, &error);
  gpointer answer = NULL;

  if (call != NULL)
    answer = pending->complete (self, call, &error);

  if (answer == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, answer, pending->free_result);
}

static void
run_full (LrcService          *self,
          LrcStoreCall        *call,
          Complete             complete,
          GDestroyNotify       free_result,
          GAsyncReadyCallback  callback,
          gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  Pending *pending = g_new0 (Pending, 1);

  pending->complete = complete;
  pending->free_result = free_result;
  g_task_set_task_data (task, pending, g_free);
  g_task_set_source_tag (task, run_full);
  lrc_store_call_async (self->store, call, NULL, store_done_cb, task);
}

/* Runs @call and completes with the JsonNode that @complete gives. */
static void
run (LrcService          *self,
     LrcStoreCall        *call,
     Complete             complete,
     GAsyncReadyCallback  callback,
     gpointer             user_data)
{
  run_full (self, call, complete, (GDestroyNotify) json_node_unref, callback, user_data);
}

/* Fails an operation before it reaches the store. */
static void
fail (LrcService          *self,
      GError              *error,
      GAsyncReadyCallback  callback,
      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, run_full);
  g_task_return_error (task, error);
}

JsonNode *
lrc_service_finish (LrcService    *self,
                    GAsyncResult  *result,
                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gpointer
answer_nothing (void)
{
  return json_node_new (JSON_NODE_NULL);
}

/* Calls whose answer nobody waits for (events, the sweeper); failures are logged. */
static void
ignored_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = lrc_service_finish (LRC_SERVICE (source), result, &error);

  if (node == NULL && !g_error_matches (error, LRC_ERROR, LRC_ERROR_NOT_FOUND))
    g_warning ("%s: %s", (const char *) user_data, error->message);
}

/* Liveness. */

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

/* The peer is gone from the store: its liveness and its token with it. */
static void
forget_peer (LrcService *self,
             const char *peer_id)
{
  lrc_token_cache_forget_peer (self->tokens, peer_id);
  g_hash_table_remove (self->liveness, peer_id);
}

static void
forget_party (LrcService *self,
              const char *party_id)
{
  GHashTableIter iter;
  Liveness *live;

  lrc_token_cache_forget_party (self->tokens, party_id);
  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &live))
    if (g_str_equal (live->party_id, party_id))
      g_hash_table_iter_remove (&iter);
}

/* What the store says about a peer, with what this process heard since. */
static void
overlay_liveness (LrcService *self,
                  LrPeer     *peer)
{
  Liveness *live = g_hash_table_lookup (self->liveness, peer->id);

  if (live != NULL)
    {
      peer->online = live->online;
      peer->last_seen = MAX (peer->last_seen, live->last_seen);
    }
}

static gpointer
complete_load (LrcService    *self,
               LrcStoreCall  *call,
               GError       **error)
{
  for (guint i = 0; call->presence != NULL && i < call->presence->len; i++)
    {
      LrcPresence *presence = &g_array_index (call->presence, LrcPresence, i);

      if (!g_hash_table_contains (self->liveness, presence->peer_id))
        liveness_add (self, presence->party_id, presence->peer_id, presence->last_seen);
    }
  return answer_nothing ();
}

void
lrc_service_load_async (LrcService          *self,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  run (self, lrc_store_call_new (LRC_STORE_LIST_PRESENCE), complete_load, callback, user_data);
}

/* Events. */

/* Tells the other instances sharing the database; a no-op on a database of our own. */
static void
publish (LrcService *self,
         const char *kind,
         const char *party_id,
         const char *peer_id,
         const char *message,
         gint        count)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  if (!lrc_store_is_shared (self->store))
    return;

  builder = json_builder_new_immutable ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "origin");
  json_builder_add_string_value (builder, self->instance_id);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, kind);
  if (party_id != NULL)
    {
      json_builder_set_member_name (builder, "party");
      json_builder_add_string_value (builder, party_id);
    }
  if (peer_id != NULL)
    {
      json_builder_set_member_name (builder, "peer");
      json_builder_add_string_value (builder, peer_id);
    }
  /* The message as JSON, not as a string: escaped again it could outgrow what one notice
   * carries (a signal's 4 KiB of data full of quotes). */
  if (message != NULL)
    {
      JsonNode *node = lr_json_parse_object (message, strlen (message), NULL);

      g_assert (node != NULL);
      json_builder_set_member_name (builder, "message");
      json_builder_add_value (builder, node);
    }
  if (count >= 0)
    {
      json_builder_set_member_name (builder, "count");
      json_builder_add_int_value (builder, count);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = lr_json_to_string (root);
  lrc_store_publish (self->store, text);
}

/* Sends an event to the party's sockets here and on every other instance. */
static void
emit_event (LrcService *self,
            const char *party_id,
            const char *text)
{
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, party_id, text);
  publish (self, "event", party_id, NULL, text, -1);
}

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
  emit_event (self, party_id, text);
}

static void
emit_party_event (LrcService    *self,
                  const char    *type,
                  const LrParty *party)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  json_builder_set_member_name (builder, "party");
  lr_party_build (party, builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = lr_json_to_string (root);
  emit_event (self, party->id, text);
}

static gpointer
complete_peer_updated (LrcService    *self,
                       LrcStoreCall  *call,
                       GError       **error)
{
  overlay_liveness (self, &call->peer);
  emit_peer_event (self, "peer_updated", &call->peer, call->party_id);
  return answer_nothing ();
}

/* Reads the peer, then tells its party with @complete. */
static void
announce_peer (LrcService *self,
               const char *party_id,
               const char *peer_id,
               Complete    complete)
{
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_GET_PEER);

  call->party_id = g_strdup (party_id);
  call->peer_id = g_strdup (peer_id);
  run (self, call, complete, ignored_cb, (gpointer) "Could not announce a peer");
}

static void
touch (LrcService *self,
       const char *party_id,
       const char *peer_id)
{
  Liveness *live = g_hash_table_lookup (self->liveness, peer_id);

  /* A peer that joined through another instance sharing the database is new here. */
  if (live == NULL)
    live = liveness_add (self, party_id, peer_id, now_us (self));

  live->last_seen = now_us (self);
  live->dirty = TRUE;
  if (!live->online)
    {
      live->online = TRUE;
      announce_peer (self, party_id, peer_id, complete_peer_updated);
    }
}

/* Creating and joining. */

static void
build_relays (GPtrArray   *relays,
              JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "relays");
  json_builder_begin_array (builder);
  for (guint i = 0; relays != NULL && i < relays->len; i++)
    lr_relay_build (g_ptr_array_index (relays, i), builder);
  json_builder_end_array (builder);
}

static JsonNode *
build_welcome (LrcService   *self,
               LrcStoreCall *call,
               const char   *token)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autofree char *relay_token = NULL;
  g_autofree char *expires_text = NULL;
  gint64 expires_at = now_us (self) + self->timings.relay_token_lifetime_us;

  relay_token = lr_relay_token_mint (self->relay_secret, call->party.id, call->peer_id,
                                     expires_at / G_USEC_PER_SEC, NULL);
  expires_text = lr_timestamp_format (expires_at);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "party");
  lr_party_build (&call->party, builder);
  json_builder_set_member_name (builder, "peer");
  json_builder_begin_object (builder);
  lr_peer_build_members (&call->peer, builder);
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, token);
  json_builder_set_member_name (builder, "relay_token");
  json_builder_add_string_value (builder, relay_token);
  json_builder_set_member_name (builder, "relay_token_expires_at");
  json_builder_add_string_value (builder, expires_text);
  json_builder_end_object (builder);
  build_relays (call->relays, builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}


static char *
new_member_call (LrcService   *self,
                 LrcStoreCall *call,
                 LrPeerIn     *peer_in)
{
  char *token = lr_token_generate ();

  call->peer_id = lr_id_generate ();
  call->peer_in = peer_in;
  call->now_us = now_us (self);
  call->relays_since = call->now_us - self->timings.relay_expire_after_us;
  lr_token_hash (token, call->token_hash);
  return token;
}

static gpointer
complete_create_party (LrcService    *self,
                       LrcStoreCall  *call,
                       GError       **error)
{
  g_autofree char *redacted = lr_invite_code_redact (call->party.invite_code);

  liveness_add (self, call->party.id, call->peer_id, now_us (self));
  overlay_liveness (self, &call->peer);
  g_info ("Party %s created (invite %s)", call->party.id, redacted);
  return answer_nothing ();
}

static gpointer
complete_join (LrcService    *self,
               LrcStoreCall  *call,
               GError       **error)
{
  liveness_add (self, call->party.id, call->peer_id, now_us (self));
  overlay_liveness (self, &call->peer);
  g_info ("Peer %s joined party %s", call->peer_id, call->party.id);

  if (call->was_empty)
    emit_party_event (self, "party_updated", &call->party);
  emit_peer_event (self, "peer_joined", &call->peer, call->party.id);
  return answer_nothing ();
}

/* Creates and joins complete here: the answer holds the token, which only the task knows. */
typedef struct
{
  GTask    *task;
  char     *token;
  Complete  complete;
} Admission;

static void
admission_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Admission *admission = user_data;
  g_autoptr(GTask) task = admission->task;
  g_autofree char *token = admission->token;
  LrcService *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(LrcStoreCall) call = lrc_store_call_finish (LRC_STORE (source), result, &error);
  Complete complete = admission->complete;

  g_free (admission);

  if (call == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  json_node_unref (complete (self, call, NULL));
  g_task_return_pointer (task, build_welcome (self, call, token),
                         (GDestroyNotify) json_node_unref);
  sodium_memzero (token, strlen (token));
}

static void
admit (LrcService          *self,
       LrcStoreCall        *call,
       char                *token,
       Complete             complete,
       GAsyncReadyCallback  callback,
       gpointer             user_data)
{
  Admission *admission = g_new0 (Admission, 1);

  admission->task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (admission->task, run_full);
  admission->token = token;
  admission->complete = complete;
  lrc_store_call_async (self->store, call, NULL, admission_done_cb, admission);
}

void
lrc_service_create_party_async (LrcService           *self,
                                LrCreatePartyRequest *request,
                                GAsyncReadyCallback   callback,
                                gpointer              user_data)
{
  g_autoptr(LrCreatePartyRequest) owned = request;
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_CREATE_PARTY);
  char *token = new_member_call (self, call, g_steal_pointer (&request->peer));

  call->party_id = lr_id_generate ();
  call->party_name = g_steal_pointer (&request->name);
  admit (self, call, token, complete_create_party, callback, user_data);
}

void
lrc_service_join_async (LrcService          *self,
                        LrJoinRequest       *request,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(LrJoinRequest) owned = request;
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_JOIN);
  char *token = new_member_call (self, call, g_steal_pointer (&request->peer));

  call->invite_code = g_steal_pointer (&request->invite_code);
  admit (self, call, token, complete_join, callback, user_data);
}

/* Authorisation. */

/* A verified token is remembered for heartbeats, unless a removal came in meanwhile. */
static void
authenticated_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrcService *self = g_task_get_source_object (task);
  const guint64 *epoch = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(LrcStoreCall) call = lrc_store_call_finish (LRC_STORE (source), result, &error);
  LrcCaller *caller;

  if (call == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  caller = g_new0 (LrcCaller, 1);
  g_strlcpy (caller->peer_id, call->peer_id, sizeof caller->peer_id);
  g_strlcpy (caller->party_id, call->party_id, sizeof caller->party_id);
  lrc_token_cache_remember (self->tokens, call->token_hash, caller->party_id, caller->peer_id,
                            *epoch, now_us (self));
  g_task_return_pointer (task, caller, g_free);
}

static gboolean
check_token_form (const char  *token,
                  GError     **error)
{
  if (lr_token_is_well_formed (token))
    return TRUE;

  g_set_error_literal (error, LRC_ERROR, LRC_ERROR_UNAUTHORIZED,
                       token == NULL ? "This needs a token: Authorization: Bearer TOKEN"
                                     : "That token is not valid");
  return FALSE;
}

/* Finds whose @token is in the store. */
void
lrc_service_authenticate_async (LrcService          *self,
                                const char          *token,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GError *error = NULL;
  LrcStoreCall *call;
  GTask *task;
  guint64 *epoch;

  if (!check_token_form (token, &error))
    {
      fail (self, error, callback, user_data);
      return;
    }

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, lrc_service_authenticate_async);
  epoch = g_new (guint64, 1);
  *epoch = lrc_token_cache_get_epoch (self->tokens);
  g_task_set_task_data (task, epoch, g_free);

  call = lrc_store_call_new (LRC_STORE_AUTHENTICATE);
  lr_token_hash (token, call->token_hash);
  lrc_store_call_async (self->store, call, NULL, authenticated_cb, task);
}

/**
 * lrc_service_authenticate_known:
 *
 * Whose @token is, if this instance verified it recently and has heard of no removal that
 * ends it since; without a query. Only for heartbeats: they reveal and change nothing of a
 * removed peer (see TOKEN_TRUST_US). While the database's notices may not reach this
 * instance (a shared database whose notice connection is down), it knows nothing.
 *
 * Returns: whether @caller was filled; if not, ask lrc_service_authenticate_async()
 */
gboolean
lrc_service_authenticate_known (LrcService *self,
                                const char *token,
                                LrcCaller  *caller)
{
  guint8 hash[LR_TOKEN_HASH_LENGTH];
  gboolean known;

  if (!lr_token_is_well_formed (token) || !lrc_store_is_healthy (self->store))
    return FALSE;

  lr_token_hash (token, hash);
  known = lrc_token_cache_lookup (self->tokens, hash, now_us (self), caller->party_id,
                                  caller->peer_id);
  sodium_memzero (hash, sizeof hash);
  return known;
}

gboolean
lrc_service_authenticate_finish (LrcService    *self,
                                 GAsyncResult  *result,
                                 LrcCaller     *caller,
                                 GError       **error)
{
  g_autofree LrcCaller *found = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  found = g_task_propagate_pointer (G_TASK (result), error);
  if (found == NULL)
    return FALSE;
  *caller = *found;
  return TRUE;
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
check_peer_id (const char  *peer_id,
               GError     **error)
{
  if (lr_id_is_valid (peer_id))
    return TRUE;

  g_set_error (error, LRC_ERROR, LRC_ERROR_NOT_FOUND, "There is no such peer");
  return FALSE;
}

static gboolean
check_own_peer (LrcService       *self,
                const LrcCaller  *caller,
                const char       *party_id,
                const char       *peer_id,
                GError          **error)
{
  if (!lrc_service_check_party (self, caller, party_id, error) ||
      !check_peer_id (peer_id, error))
    return FALSE;

  if (!g_str_equal (caller->peer_id, peer_id))
    {
      g_set_error (error, LRC_ERROR, LRC_ERROR_FORBIDDEN, "Only a peer itself can do that");
      return FALSE;
    }

  return TRUE;
}

/* Reading a party. */

static JsonNode *
build_party (LrcService   *self,
             LrcStoreCall *call,
             const char   *type)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  if (type != NULL)
    {
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, type);
    }
  json_builder_set_member_name (builder, "party");
  lr_party_build (&call->party, builder);
  json_builder_set_member_name (builder, "peers");
  json_builder_begin_array (builder);
  for (guint i = 0; call->peers != NULL && i < call->peers->len; i++)
    {
      LrPeer *peer = g_ptr_array_index (call->peers, i);

      overlay_liveness (self, peer);
      lr_peer_build (peer, builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static gpointer
complete_get_party (LrcService    *self,
                    LrcStoreCall  *call,
                    GError       **error)
{
  return build_party (self, call, NULL);
}

static gpointer
complete_snapshot (LrcService    *self,
                   LrcStoreCall  *call,
                   GError       **error)
{
  return build_party (self, call, "snapshot");
}

void
lrc_service_get_party_async (LrcService          *self,
                             const LrcCaller     *caller,
                             const char          *party_id,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GError *error = NULL;
  LrcStoreCall *call;

  if (!lrc_service_check_party (self, caller, party_id, &error))
    {
      fail (self, error, callback, user_data);
      return;
    }

  touch (self, party_id, caller->peer_id);
  call = lrc_store_call_new (LRC_STORE_GET_PARTY);
  call->party_id = g_strdup (party_id);
  run (self, call, complete_get_party, callback, user_data);
}

/**
 * lrc_service_snapshot_async:
 *
 * Completes with the `snapshot` event of @party_id, or NOT_FOUND once it is closed.
 */
void
lrc_service_snapshot_async (LrcService          *self,
                            const char          *party_id,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_GET_PARTY);

  call->party_id = g_strdup (party_id);
  run (self, call, complete_snapshot, callback, user_data);
}

/* Changing a peer. */

static gpointer
complete_update_peer (LrcService    *self,
                      LrcStoreCall  *call,
                      GError       **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  touch (self, call->party_id, call->peer_id);
  overlay_liveness (self, &call->peer);
  emit_peer_event (self, "peer_updated", &call->peer, call->party_id);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "peer");
  lr_peer_build (&call->peer, builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/**
 * lrc_service_update_peer_async:
 * @update: (transfer full): the change
 */
void
lrc_service_update_peer_async (LrcService          *self,
                               const LrcCaller     *caller,
                               const char          *party_id,
                               const char          *peer_id,
                               LrPeerUpdate        *update,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(LrPeerUpdate) owned = update;
  GError *error = NULL;
  LrcStoreCall *call;

  if (!check_own_peer (self, caller, party_id, peer_id, &error))
    {
      fail (self, error, callback, user_data);
      return;
    }

  call = lrc_store_call_new (LRC_STORE_UPDATE_PEER);
  call->party_id = g_strdup (party_id);
  call->peer_id = g_strdup (peer_id);
  call->update = g_steal_pointer (&owned);
  run (self, call, complete_update_peer, callback, user_data);
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

/* Removing peers and parties. */

/* The latest expiry of a relay token minted now (lrc_service_mint_relay_token()): a peer
 * removed now has no token that lives longer, so the relays need not remember it longer. */
static gint64
relay_tokens_end (LrcService *self)
{
  return (now_us (self) + self->timings.relay_token_lifetime_us) / G_USEC_PER_SEC;
}

static gpointer
complete_remove_peer (LrcService    *self,
                      LrcStoreCall  *call,
                      GError       **error)
{
  forget_peer (self, call->peer_id);
  g_info ("Peer %s left party %s", call->peer_id, call->party_id);

  /* The leaving peer hears its own peer_left too, then its sockets close. */
  call->peer.online = FALSE;
  emit_peer_event (self, "peer_left", &call->peer, call->party_id);
  g_signal_emit (self, signals[SIGNAL_DISCONNECT], 0, call->party_id, call->peer_id);
  if (call->host_changed)
    emit_party_event (self, "party_updated", &call->party);
  return answer_nothing ();
}

static void
remove_peer (LrcService          *self,
             const char          *party_id,
             const char          *peer_id,
             const char          *requester_id,
             gint64               quiet_before,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_REMOVE_PEER);

  call->party_id = g_strdup (party_id);
  call->peer_id = g_strdup (peer_id);
  call->requester_id = g_strdup (requester_id);
  call->quiet_before = quiet_before;
  call->now_us = now_us (self);
  call->removal_until = relay_tokens_end (self);
  run (self, call, complete_remove_peer, callback, user_data);
}

/* The peer itself, or the host for anyone. */
void
lrc_service_remove_peer_async (LrcService          *self,
                               const LrcCaller     *caller,
                               const char          *party_id,
                               const char          *peer_id,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GError *error = NULL;

  if (!lrc_service_check_party (self, caller, party_id, &error) ||
      !check_peer_id (peer_id, &error))
    {
      fail (self, error, callback, user_data);
      return;
    }

  remove_peer (self, party_id, peer_id, caller->peer_id, 0, callback, user_data);
}

static gpointer
complete_close_party (LrcService    *self,
                      LrcStoreCall  *call,
                      GError       **error)
{
  emit_party_event (self, "party_closed", &call->party);
  forget_party (self, call->party_id);

  g_signal_emit (self, signals[SIGNAL_DISCONNECT], 0, call->party_id, NULL);
  g_info ("Party %s closed by its host", call->party_id);
  return answer_nothing ();
}

void
lrc_service_close_party_async (LrcService          *self,
                               const LrcCaller     *caller,
                               const char          *party_id,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GError *error = NULL;
  LrcStoreCall *call;

  if (!lrc_service_check_party (self, caller, party_id, &error))
    {
      fail (self, error, callback, user_data);
      return;
    }

  call = lrc_store_call_new (LRC_STORE_CLOSE_PARTY);
  call->party_id = g_strdup (party_id);
  call->requester_id = g_strdup (caller->peer_id);
  call->removal_until = relay_tokens_end (self);
  run (self, call, complete_close_party, callback, user_data);
}

/* Relays. */

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

static gpointer
complete_nothing (LrcService    *self,
                  LrcStoreCall  *call,
                  GError       **error)
{
  return answer_nothing ();
}

/**
 * lrc_service_register_relay_async:
 * @relay: (transfer full): the relay as it registered
 */
void
lrc_service_register_relay_async (LrcService          *self,
                                  LrRelay             *relay,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_REGISTER_RELAY);

  call->relay = relay;
  call->now_us = now_us (self);
  run (self, call, complete_nothing, callback, user_data);
}

static gpointer
complete_list_relays (LrcService    *self,
                      LrcStoreCall  *call,
                      GError       **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  build_relays (call->relays, builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static gpointer
complete_relay_removals (LrcService    *self,
                         LrcStoreCall  *call,
                         GError       **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  gint64 cursor = call->removed_after;
  guint n = call->removals != NULL ? call->removals->len : 0;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "removed");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    {
      LrcRelayRemoval *removal = &g_array_index (call->removals, LrcRelayRemoval, i);
      g_autofree char *until = lr_timestamp_format (removal->until * G_USEC_PER_SEC);

      cursor = removal->cursor;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "party_id");
      json_builder_add_string_value (builder, removal->party_id);
      json_builder_set_member_name (builder, "peer_id");
      json_builder_add_string_value (builder, removal->peer_id);
      json_builder_set_member_name (builder, "until");
      json_builder_add_string_value (builder, until);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "cursor");
  json_builder_add_int_value (builder, cursor);
  json_builder_set_member_name (builder, "more");
  json_builder_add_boolean_value (builder,
                                  n == LR_RELAY_REMOVALS_PAGE && cursor < call->removals_newest);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/**
 * lrc_service_relay_removals_async:
 * @after: the cursor the relay sent back (0 at its start)
 *
 * The peers removed from their parties since @after, at most LR_RELAY_REMOVALS_PAGE, as
 * lr-relay-removals.h describes. A cursor beyond the newest row (the database was replaced
 * by an older one) is treated as 0: the relay then hears every removal still kept again,
 * which costs nothing, instead of none ever.
 */
void
lrc_service_relay_removals_async (LrcService          *self,
                                  gint64               after,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_RELAY_REMOVALS);

  call->removed_after = after;
  run (self, call, complete_relay_removals, callback, user_data);
}

void
lrc_service_list_relays_async (LrcService          *self,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_LIST_RELAYS);

  call->relays_since = now_us (self) - self->timings.relay_expire_after_us;
  run (self, call, complete_list_relays, callback, user_data);
}

/* Sockets. */

void
lrc_service_socket_opened (LrcService      *self,
                           const LrcCaller *caller)
{
  Liveness *live;

  touch (self, caller->party_id, caller->peer_id);
  live = g_hash_table_lookup (self->liveness, caller->peer_id);
  live->n_sockets++;
  publish_sockets (self, caller->party_id, caller->peer_id, live->n_sockets);
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
  publish_sockets (self, caller->party_id, caller->peer_id, live->n_sockets);
}

/* Housekeeping. */

static gpointer
complete_sweep (LrcService    *self,
                LrcStoreCall  *call,
                GError       **error)
{
  self->sweeping = FALSE;
  return answer_nothing ();
}

static void
sweep_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  LrcService *self = LRC_SERVICE (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = lrc_service_finish (self, result, &error);

  if (node == NULL)
    {
      self->sweeping = FALSE;
      g_warning ("Could not sweep the database: %s", error->message);
    }
}

static void
stale_removed_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autofree char *peer_id = user_data;
  LrcService *self = LRC_SERVICE (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = lrc_service_finish (self, result, &error);

  /* Gone already (another instance removed it, or its party closed): forget it. A peer
   * heard from since (CONFLICT) is looked at again by the next sweep. */
  if (g_error_matches (error, LRC_ERROR, LRC_ERROR_NOT_FOUND))
    forget_peer (self, peer_id);
  else if (node == NULL && !g_error_matches (error, LRC_ERROR, LRC_ERROR_CONFLICT))
    g_warning ("Could not remove stale peer %s: %s", peer_id, error->message);
}

/*
 * The sweeper's second look at a peer that this process has not heard from for a while,
 * with the last_seen the store has: other instances sharing the database write theirs
 * there (every flush interval, which must stay well under --offline-after). The later of
 * the two decides.
 */
static gpointer
complete_quiet_peer (LrcService    *self,
                     LrcStoreCall  *call,
                     GError       **error)
{
  Liveness *live = g_hash_table_lookup (self->liveness, call->peer_id);
  gint64 offline_after = self->timings.offline_after_us;
  gint64 remove_after = offline_after + self->timings.remove_after_us;
  gint64 now = now_us (self);
  gint64 idle;

  if (live == NULL)
    return answer_nothing ();

  live->checking = FALSE;
  live->last_seen = MAX (live->last_seen, call->peer.last_seen);
  idle = now - live->last_seen;

  if (live->n_sockets > 0 || idle < offline_after)
    {
      /* Heard elsewhere: it was never gone, or it is back. */
      if (!live->online)
        {
          live->online = TRUE;
          overlay_liveness (self, &call->peer);
          emit_peer_event (self, "peer_updated", &call->peer, call->party_id);
        }
    }
  else if (live->online)
    {
      live->online = FALSE;
      overlay_liveness (self, &call->peer);
      emit_peer_event (self, "peer_offline", &call->peer, call->party_id);
    }
  else if (idle >= remove_after)
    remove_peer (self, call->party_id, call->peer_id, NULL, now - remove_after,
                 stale_removed_cb, g_strdup (call->peer_id));

  return answer_nothing ();
}

static void
quiet_checked_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autofree char *peer_id = user_data;
  LrcService *self = LRC_SERVICE (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = lrc_service_finish (self, result, &error);
  Liveness *live = g_hash_table_lookup (self->liveness, peer_id);

  if (g_error_matches (error, LRC_ERROR, LRC_ERROR_NOT_FOUND))
    forget_peer (self, peer_id);
  else if (node == NULL && live != NULL)
    {
      live->checking = FALSE;
      g_debug ("Could not read quiet peer %s: %s", peer_id, error->message);
    }
}

/**
 * lrc_service_sweep:
 *
 * Marks quiet peers offline, removes peers offline for too long, deletes parties empty for
 * too long and forgets relays that stopped refreshing. Takes its time from the clock only.
 * Of the instances sharing a database, only the one the store chose sweeps.
 */
void
lrc_service_sweep (LrcService *self)
{
  gint64 now = now_us (self);
  g_autoptr(GPtrArray) quiet = g_ptr_array_new_with_free_func (g_free);
  LrcStoreCall *call;
  GHashTableIter iter;
  const char *peer_id;
  Liveness *live;

  if (!lrc_store_is_leader (self->store))
    return;

  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, (gpointer *) &peer_id, (gpointer *) &live))
    {
      gint64 idle = now - live->last_seen;

      if (live->n_sockets > 0 || live->checking)
        continue;

      if ((live->online && idle >= self->timings.offline_after_us) ||
          (!live->online &&
           idle >= self->timings.offline_after_us + self->timings.remove_after_us))
        {
          live->checking = TRUE;
          g_ptr_array_add (quiet, g_strconcat (live->party_id, "/", peer_id, NULL));
        }
    }

  for (guint i = 0; i < quiet->len; i++)
    {
      g_auto(GStrv) parts = g_strsplit (g_ptr_array_index (quiet, i), "/", 2);
      LrcStoreCall *check = lrc_store_call_new (LRC_STORE_GET_PEER);

      check->party_id = g_strdup (parts[0]);
      check->peer_id = g_strdup (parts[1]);
      run (self, check, complete_quiet_peer, quiet_checked_cb, g_strdup (parts[1]));
    }

  /* One cleanup of the tables at a time: a slow database must not pile them up. */
  if (self->sweeping)
    return;
  self->sweeping = TRUE;
  call = lrc_store_call_new (LRC_STORE_SWEEP);
  call->now_us = now;
  call->empty_before = now - self->timings.empty_party_after_us;
  call->relays_before = now - self->timings.relay_expire_after_us;
  run (self, call, complete_sweep, sweep_done_cb, NULL);
}

static gpointer
complete_flush (LrcService    *self,
                LrcStoreCall  *call,
                GError       **error)
{
  if (call->presence != NULL && call->presence->len > 0)
    g_debug ("Wrote %u heartbeats", call->presence->len);
  return answer_nothing ();
}

static void
flush_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrcService *self = g_task_get_source_object (task);
  GArray *presence = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = lrc_service_finish (self, result, &error);

  if (node == NULL)
    {
      /* Heard again at the next flush: mark what was not written as still to write. */
      for (guint i = 0; presence != NULL && i < presence->len; i++)
        {
          Liveness *live = g_hash_table_lookup (self->liveness,
                                                g_array_index (presence, LrcPresence, i).peer_id);
          if (live != NULL)
            live->dirty = TRUE;
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&node), (GDestroyNotify) json_node_unref);
}

/**
 * lrc_service_flush_async:
 *
 * Writes the last_seen of peers that were heard from since the previous flush, in one
 * transaction.
 */
void
lrc_service_flush_async (LrcService          *self,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_WRITE_PRESENCE);
  GHashTableIter iter;
  const char *peer_id;
  Liveness *live;

  g_task_set_source_tag (task, run_full);
  lrc_token_cache_expire (self->tokens, now_us (self));

  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, (gpointer *) &peer_id, (gpointer *) &live))
    {
      /* An open socket is presence too; the sweeper may be another instance. */
      if (live->n_sockets > 0)
        {
          live->last_seen = now_us (self);
          live->dirty = TRUE;
        }
      if (!live->dirty)
        continue;
      lrc_store_call_add_presence (call, peer_id, live->party_id, live->last_seen);
      live->dirty = FALSE;
    }

  if (call->presence != NULL)
    g_task_set_task_data (task, g_array_ref (call->presence), (GDestroyNotify) g_array_unref);
  run (self, call, complete_flush, flush_done_cb, task);
}

/* Metrics. */

static gpointer
complete_metrics (LrcService    *self,
                  LrcStoreCall  *call,
                  GError       **error)
{
  GHashTableIter iter;
  Liveness *live;
  guint online = 0;

  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &live))
    online += live->online;

  return g_strdup_printf ("# HELP lanrage_control_parties Parties that exist.\n"
                          "# TYPE lanrage_control_parties gauge\n"
                          "lanrage_control_parties %" G_GINT64_FORMAT "\n"
                          "# HELP lanrage_control_peers Peers in all parties.\n"
                          "# TYPE lanrage_control_peers gauge\n"
                          "lanrage_control_peers %" G_GINT64_FORMAT "\n"
                          "# HELP lanrage_control_peers_online Peers heard from recently.\n"
                          "# TYPE lanrage_control_peers_online gauge\n"
                          "lanrage_control_peers_online %u\n",
                          call->n_parties, call->n_peers, online);
}

void
lrc_service_metrics_async (LrcService          *self,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  run_full (self, lrc_store_call_new (LRC_STORE_COUNT), complete_metrics, g_free, callback,
            user_data);
}

char *
lrc_service_metrics_finish (LrcService    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Several instances on one database. */

/* What another instance's event says about liveness, so this one shows the same. */
static void
apply_remote_event (LrcService *self,
                    const char *party_id,
                    const char *message)
{
  g_autoptr(JsonNode) root = lr_json_parse_object (message, strlen (message), NULL);
  g_autoptr(LrPeer) peer = NULL;
  JsonObject *object;
  const char *type;
  Liveness *live;

  if (root == NULL)
    return;
  object = json_node_get_object (root);
  type = json_object_get_string_member_with_default (object, "type", "");

  if (g_str_equal (type, "party_closed"))
    {
      forget_party (self, party_id);
      g_signal_emit (self, signals[SIGNAL_DISCONNECT], 0, party_id, NULL);
      return;
    }

  if (!json_object_has_member (object, "peer"))
    return;
  peer = lr_peer_parse_node (json_object_get_member (object, "peer"), NULL);
  if (peer == NULL)
    return;

  if (g_str_equal (type, "peer_left"))
    {
      forget_peer (self, peer->id);
      g_signal_emit (self, signals[SIGNAL_DISCONNECT], 0, party_id, peer->id);
      return;
    }

  live = g_hash_table_lookup (self->liveness, peer->id);
  if (live == NULL)
    live = liveness_add (self, party_id, peer->id, peer->last_seen);
  live->last_seen = MAX (live->last_seen, peer->last_seen);
  live->online = peer->online;
}

static void
remote_sockets_forget (LrcService *self,
                       const char *origin)
{
  GHashTableIter iter;
  const char *key;

  g_hash_table_iter_init (&iter, self->remote_sockets);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
    if (origin == NULL || (g_str_has_prefix (key, origin) && key[strlen (origin)] == ' '))
      g_hash_table_iter_remove (&iter);
}

/* Tells the other instances how many sockets this one holds for a peer. */
static void
publish_sockets (LrcService *self,
                 const char *party_id,
                 const char *peer_id,
                 guint       n_sockets)
{
  publish (self, "sockets", party_id, peer_id, NULL, (gint) n_sockets);
}

/* Tells the other instances of every socket this one holds. */
static void
publish_all_sockets (LrcService *self)
{
  GHashTableIter iter;
  const char *id;
  Liveness *live;

  g_hash_table_iter_init (&iter, self->liveness);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, (gpointer *) &live))
    if (live->n_sockets > 0)
      publish_sockets (self, live->party_id, id, live->n_sockets);
}

static void
store_notice_cb (LrcService *self,
                 const char *notice)
{
  g_autoptr(GError) error = NULL;
  /* A notice wraps a message (publish()), one level deeper than the message may nest. */
  g_autoptr(JsonNode) root = lr_json_parse_object_nested (notice, strlen (notice),
                                                          LR_JSON_MAX_DEPTH + 1, &error);
  g_autofree char *text = NULL;
  JsonObject *object;
  const char *origin, *kind, *party_id, *peer_id, *message = NULL;

  if (root == NULL)
    {
      g_warning ("Could not read another instance's notice: %s", error->message);
      return;
    }

  object = json_node_get_object (root);
  origin = json_object_get_string_member_with_default (object, "origin", "");
  kind = json_object_get_string_member_with_default (object, "kind", "");
  party_id = json_object_get_string_member_with_default (object, "party", NULL);
  peer_id = json_object_get_string_member_with_default (object, "peer", NULL);
  if (json_object_has_member (object, "message"))
    message = text = lr_json_to_string (json_object_get_member (object, "message"));

  /* Our own came back: their sockets here have them already. */
  if (g_str_equal (origin, self->instance_id))
    return;

  if (g_str_equal (kind, "event") && party_id != NULL && message != NULL)
    {
      /* The event first: a peer that left hears it before its sockets close. */
      g_signal_emit (self, signals[SIGNAL_EVENT], 0, party_id, message);
      apply_remote_event (self, party_id, message);
    }
  else if (g_str_equal (kind, "signal") && party_id != NULL && peer_id != NULL &&
           message != NULL)
    g_signal_emit (self, signals[SIGNAL_SIGNAL], 0, party_id, peer_id, message);
  else if (g_str_equal (kind, "sockets") && peer_id != NULL)
    {
      g_autofree char *key = g_strconcat (origin, " ", peer_id, NULL);
      gint64 n = json_object_get_int_member_with_default (object, "count", 0);

      if (n > 0)
        g_hash_table_replace (self->remote_sockets, g_steal_pointer (&key), GINT_TO_POINTER (n));
      else
        g_hash_table_remove (self->remote_sockets, key);
    }
  else if (g_str_equal (kind, "hello"))
    {
      /* A new or reconnected instance knows nothing of our sockets: tell it, and forget
       * what we knew of its own (it starts over). */
      remote_sockets_forget (self, origin);
      publish_all_sockets (self);
    }
}

static void
lease_renewed_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(LrcService) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LrcStoreCall) call = lrc_store_call_finish (LRC_STORE (source), result, &error);

  self->renewing = FALSE;
  if (call == NULL)
    {
      g_warning ("Could not renew this instance's lease: %s", error->message);
      return;
    }

  /* A dead instance never says that its sockets closed: signals for their peers would go
   * nowhere instead of being answered peer_not_connected. */
  for (guint i = 0; i < call->dead_instances->len; i++)
    {
      const char *origin = g_ptr_array_index (call->dead_instances, i);
      g_autofree char *prefix = g_strconcat (origin, " ", NULL);
      GHashTableIter iter;
      const char *key;

      g_hash_table_iter_init (&iter, self->remote_sockets);
      while (g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
        if (g_str_has_prefix (key, prefix))
          {
            g_info ("Instance %s let its lease run out: forgetting its sockets", origin);
            remote_sockets_forget (self, origin);
            break;
          }
    }

  /* Others took this instance for dead (it could not renew for a whole lease) and forgot
   * its sockets: tell them again. */
  if (call->lease_lapsed)
    {
      g_message ("This instance's lease had run out; telling the others of its sockets");
      publish_all_sockets (self);
    }
}

/**
 * lrc_service_renew_lease:
 * @lease_us: how long the lease holds from now
 *
 * On a shared database, renews the lease that tells the other instances this one lives,
 * and forgets the sockets of instances whose lease ran out. Call it well within @lease_us
 * of the previous call.
 */
void
lrc_service_renew_lease (LrcService *self,
                         gint64      lease_us)
{
  LrcStoreCall *call;

  if (!lrc_store_is_shared (self->store) || self->renewing)
    return;

  call = lrc_store_call_new (LRC_STORE_RENEW_LEASE);
  call->instance_id = g_strdup (self->instance_id);
  call->lease_us = lease_us;
  self->renewing = TRUE;
  lrc_store_call_async (self->store, call, NULL, lease_renewed_cb, g_object_ref (self));
}

static void
store_resync_cb (LrcService *self)
{
  lrc_token_cache_clear (self->tokens);
  remote_sockets_forget (self, NULL);
  publish (self, "hello", NULL, NULL, NULL, -1);
  g_signal_emit (self, signals[SIGNAL_RESYNC], 0);
}

/**
 * lrc_service_route_signal:
 * @message: the `signal` message, ready to send
 *
 * Hands a signal for a peer whose socket is not here to the instance that holds it.
 *
 * Returns: whether some other instance holds a socket of @peer_id
 */
gboolean
lrc_service_route_signal (LrcService *self,
                          const char *party_id,
                          const char *peer_id,
                          const char *message)
{
  GHashTableIter iter;
  const char *key;
  gboolean held = FALSE;

  g_hash_table_iter_init (&iter, self->remote_sockets);
  while (!held && g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
    {
      const char *space = strchr (key, ' ');

      held = space != NULL && g_str_equal (space + 1, peer_id);
    }

  if (held)
    publish (self, "signal", party_id, peer_id, message, -1);
  return held;
}

static gpointer
complete_rate_limit (LrcService    *self,
                     LrcStoreCall  *call,
                     GError       **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "allowed");
  json_builder_add_boolean_value (builder, call->rate_allowed);
  json_builder_set_member_name (builder, "retry_after");
  json_builder_add_int_value (builder, call->rate_retry_after_s);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/**
 * lrc_service_rate_limit_async:
 *
 * Takes a token from @key's bucket in the shared database, so that instances count
 * together. Completes with `{"allowed": bool, "retry_after": seconds}`.
 */
void
lrc_service_rate_limit_async (LrcService          *self,
                              const char          *key,
                              guint                per_minute,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  LrcStoreCall *call = lrc_store_call_new (LRC_STORE_RATE_LIMIT);

  call->rate_key = g_strdup (key);
  call->rate_per_minute = per_minute;
  call->now_us = now_us (self);
  run (self, call, complete_rate_limit, callback, user_data);
}
