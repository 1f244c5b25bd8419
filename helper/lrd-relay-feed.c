/* lrd-relay-feed.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-relay-feed.h"
#include "lrd-error.h"

#include <sodium.h>
#include <string.h>

/* The relay list is read again this often while in a party, so a relay that registered
 * after the join (or one that went away) is seen. Registrations live 60 s on the server. */
#define RELAY_LIST_INTERVAL_S 60
/* Asking again for a relay token after a failure: quick first, then backing off. */
#define TOKEN_RETRY_MIN_MS 1000
#define TOKEN_RETRY_MAX_MS 30000
/* The port lanrage-relay listens on when nothing else is known (servers/relay/README.md). */
#define DEFAULT_RELAY_PORT 3478

struct _LrdRelayFeed
{
  GObject           parent_instance;

  LrdControlClient *client;
  LrdRelayClient   *relay;              /* nullable: no data plane */
  LrdHelper1       *iface;
  GStrv             config_relays;

  /* While a party lasts (between start and stop). */
  char             *party_id;
  char             *token;              /* the membership's bearer token */
  GCancellable     *cancellable;
  GStrv             server_relays;      /* from the control server's list */
  gboolean          token_in_flight;
  guint             token_retry_source;
  guint             token_retry_ms;
  guint             relay_list_source;
};

G_DEFINE_FINAL_TYPE (LrdRelayFeed, lrd_relay_feed, G_TYPE_OBJECT)

enum
{
  SIGNAL_GONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
lrd_relay_feed_dispose (GObject *object)
{
  LrdRelayFeed *self = LRD_RELAY_FEED (object);

  if (self->relay != NULL)
    g_signal_handlers_disconnect_by_data (self->relay, self);
  if (self->iface != NULL)
    lrd_relay_feed_stop (self);
  g_clear_object (&self->relay);
  g_clear_object (&self->client);
  g_clear_object (&self->iface);

  G_OBJECT_CLASS (lrd_relay_feed_parent_class)->dispose (object);
}

static void
lrd_relay_feed_finalize (GObject *object)
{
  LrdRelayFeed *self = LRD_RELAY_FEED (object);

  g_strfreev (self->config_relays);

  G_OBJECT_CLASS (lrd_relay_feed_parent_class)->finalize (object);
}

static void
lrd_relay_feed_class_init (LrdRelayFeedClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_relay_feed_dispose;
  object_class->finalize = lrd_relay_feed_finalize;

  /**
   * LrdRelayFeed::gone:
   *
   * The control server says the party or this membership is no more.
   */
  signals[SIGNAL_GONE] = g_signal_new ("gone", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lrd_relay_feed_init (LrdRelayFeed *self)
{
  self->token_retry_ms = TOKEN_RETRY_MIN_MS;
  self->config_relays = g_new0 (char *, 1);
}

/* What the relay client chose, on D-Bus */

static void
show_no_relay (LrdRelayFeed *self)
{
  lrd_helper1_set_relay (self->iface, "");
  lrd_helper1_set_relay_rtt_ms (self->iface, -1);
  lrd_helper1_set_relay_reason (self->iface, "");
}

static void
relay_changed_cb (LrdRelayClient *relay,
                  gpointer        user_data)
{
  LrdRelayFeed *self = user_data;
  LrdRelayClientState state = lrd_relay_client_get_state (relay);
  gboolean bound = state == LRD_RELAY_CLIENT_BOUND;
  const char *reason = lrd_relay_client_get_reason (relay);

  if (state == LRD_RELAY_CLIENT_FAILED)
    reason = lrd_relay_client_get_problem (relay);
  else if (!bound)
    reason = "";
  lrd_helper1_set_relay (self->iface, bound ? lrd_relay_client_get_relay (relay) : "");
  lrd_helper1_set_relay_rtt_ms (self->iface, bound ? lrd_relay_client_get_relay_rtt_ms (relay)
                                                   : -1);
  lrd_helper1_set_relay_reason (self->iface, reason);
}

/* Candidates */

/* The control server's own host on the default relay port: the last candidate. */
static char *
control_host_relay (LrdRelayFeed *self)
{
  g_autoptr(GUri) uri = g_uri_parse (lrd_control_client_get_base_url (self->client),
                                     G_URI_FLAGS_NONE, NULL);
  const char *host = uri != NULL ? g_uri_get_host (uri) : NULL;

  if (host == NULL || host[0] == '\0')
    return NULL;
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%d", host, DEFAULT_RELAY_PORT);
  return g_strdup_printf ("%s:%d", host, DEFAULT_RELAY_PORT);
}

/* Candidates, best first: the server's list, the configuration's, the
 * server's host. The relay client measures them and drops duplicates. */
static void
update_candidates (LrdRelayFeed *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *fallback = control_host_relay (self);
  g_auto(GStrv) candidates = NULL;

  if (self->server_relays != NULL)
    g_strv_builder_addv (builder, (const char **) self->server_relays);
  g_strv_builder_addv (builder, (const char **) self->config_relays);
  if (fallback != NULL)
    g_strv_builder_add (builder, fallback);
  candidates = g_strv_builder_end (builder);
  lrd_relay_client_set_candidates (self->relay, (const char * const *) candidates);
}

/**
 * lrd_relay_feed_set_config_relays:
 * @relays: "host:port" entries from the configuration's relays=
 *
 * Relays to try after the control server's list and before the control server's own host.
 */
void
lrd_relay_feed_set_config_relays (LrdRelayFeed       *self,
                                  const char * const *relays)
{
  g_return_if_fail (LRD_IS_RELAY_FEED (self));

  g_strfreev (self->config_relays);
  self->config_relays = g_strdupv ((char **) relays);
  if (self->config_relays == NULL)
    self->config_relays = g_new0 (char *, 1);
}

static void
relay_list_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(LrdRelayFeed) self = user_data;
  g_autoptr(GError) error = NULL;
  GStrv relays;

  relays = lrd_control_client_list_relays_finish (LRD_CONTROL_CLIENT (source), result, &error);
  if (relays == NULL)
    {
      /* Keep the list we have: a restarting server is no reason to forget relays. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Cannot read the relay list: %s", error->message);
      return;
    }
  g_strfreev (self->server_relays);
  self->server_relays = relays;
  update_candidates (self);
}

static gboolean
relay_list_timeout_cb (gpointer user_data)
{
  LrdRelayFeed *self = user_data;

  lrd_control_client_list_relays_async (self->client, self->cancellable, relay_list_cb,
                                        g_object_ref (self));
  return G_SOURCE_CONTINUE;
}

/* Tokens */

static void request_token (LrdRelayFeed *self);

static gboolean
token_retry_cb (gpointer user_data)
{
  LrdRelayFeed *self = user_data;

  self->token_retry_source = 0;
  request_token (self);
  return G_SOURCE_REMOVE;
}

static void
token_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(LrdRelayFeed) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LrRelayTokenAnswer) answer = NULL;

  answer = lrd_control_client_relay_token_finish (LRD_CONTROL_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->token_in_flight = FALSE;
  if (g_error_matches (error, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND))
    {
      g_signal_emit (self, signals[SIGNAL_GONE], 0);
      return;
    }
  if (answer == NULL)
    {
      guint delay = self->token_retry_ms;

      g_debug ("No relay token this time (%s); asking again in %u ms", error->message, delay);
      self->token_retry_ms = MIN (self->token_retry_ms * 2, TOKEN_RETRY_MAX_MS);
      g_clear_handle_id (&self->token_retry_source, g_source_remove);
      self->token_retry_source = g_timeout_add (delay, token_retry_cb, self);
      return;
    }
  self->token_retry_ms = TOKEN_RETRY_MIN_MS;
  lrd_relay_client_set_token (self->relay, answer->relay_token, answer->expires_at);
}

static void
request_token (LrdRelayFeed *self)
{
  if (self->party_id == NULL || self->token_in_flight)
    return;
  g_clear_handle_id (&self->token_retry_source, g_source_remove);
  self->token_in_flight = TRUE;
  lrd_control_client_relay_token_async (self->client, self->party_id, self->token,
                                        self->cancellable, token_cb, g_object_ref (self));
}

static void
token_needed_cb (LrdRelayClient *relay,
                 gpointer        user_data)
{
  request_token (user_data);
}

/**
 * lrd_relay_feed_new:
 * @iface: the exported io.lanrage.Helper1; the feed owns its relay properties
 */
LrdRelayFeed *
lrd_relay_feed_new (LrdControlClient *client,
                    LrdRelayClient   *relay,
                    LrdHelper1       *iface)
{
  LrdRelayFeed *self;

  g_return_val_if_fail (LRD_IS_CONTROL_CLIENT (client), NULL);
  g_return_val_if_fail (LRD_IS_HELPER1 (iface), NULL);

  self = g_object_new (LRD_TYPE_RELAY_FEED, NULL);
  self->client = g_object_ref (client);
  self->relay = relay != NULL ? g_object_ref (relay) : NULL;
  self->iface = g_object_ref (iface);
  if (relay != NULL)
    {
      g_signal_connect (relay, "changed", G_CALLBACK (relay_changed_cb), self);
      g_signal_connect (relay, "token-needed", G_CALLBACK (token_needed_cb), self);
    }
  show_no_relay (self);
  return self;
}

/**
 * lrd_relay_feed_start:
 * @party_id: the party
 * @token: this membership's bearer token, for the relay token requests
 * @server_relays: (nullable): the join answer's relays, if there was one
 * @relay_token: (nullable): the join answer's relay token; %NULL: ask the server at once
 *   for a token and for the relay list
 *
 * Feeds the relay client for the party, once WireGuard is up: candidates, the token (the
 * first BIND goes out now) and, every 60 s, the server's relay list again.
 */
void
lrd_relay_feed_start (LrdRelayFeed       *self,
                      const char         *party_id,
                      const char         *token,
                      const char * const *server_relays,
                      const char         *relay_token,
                      gint64              relay_token_expires_at)
{
  g_return_if_fail (LRD_IS_RELAY_FEED (self));

  if (self->relay == NULL)
    return;
  lrd_relay_feed_stop (self);
  self->party_id = g_strdup (party_id);
  self->token = g_strdup (token);
  self->cancellable = g_cancellable_new ();
  self->server_relays = g_strdupv ((char **) server_relays);
  update_candidates (self);
  self->relay_list_source = g_timeout_add_seconds (RELAY_LIST_INTERVAL_S,
                                                   relay_list_timeout_cb, self);
  /* The join answer's token and list save a round trip before the first packet. */
  if (relay_token != NULL)
    lrd_relay_client_set_token (self->relay, relay_token, relay_token_expires_at);
  else
    {
      request_token (self);
      relay_list_timeout_cb (self);
    }
}

/* Stops the relay client and forgets the party; the relay properties go back to none. */
void
lrd_relay_feed_stop (LrdRelayFeed *self)
{
  g_return_if_fail (LRD_IS_RELAY_FEED (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->relay_list_source, g_source_remove);
  g_clear_handle_id (&self->token_retry_source, g_source_remove);
  self->token_in_flight = FALSE;
  self->token_retry_ms = TOKEN_RETRY_MIN_MS;
  g_clear_pointer (&self->server_relays, g_strfreev);
  g_clear_pointer (&self->party_id, g_free);
  if (self->token != NULL)
    sodium_memzero (self->token, strlen (self->token));
  g_clear_pointer (&self->token, g_free);
  if (self->relay != NULL)
    lrd_relay_client_stop (self->relay);
  show_no_relay (self);
}
