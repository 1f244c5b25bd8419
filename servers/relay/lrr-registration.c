/* lrr-registration.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * POST /v1/relays with the relay secret as bearer token, at start and every 20 s. A failure
 * is logged when the state changes (not at every retry) and the next tick tries again.
 *
 * Each POST sends back the cursor of the last answer (?removed_after=N, 0 at start) and the
 * answer lists the peers removed since, which "removed" hands on. The cursor lives in memory
 * only: a relay that restarts asks from 0 and so learns every removal whose tokens may still
 * be alive, which is what it needs, having forgotten them too. A lanrage-control that answers
 * 204 (one without removals) is registered with all the same.
 */
#include "lrr-registration.h"

#include "lr-control-models.h"
#include "lr-relay-removals.h"

#include <libsoup/soup.h>
#include <sodium.h>

struct _LrrRegistration
{
  GObject       parent_instance;

  SoupSession  *session;
  GCancellable *cancellable;
  char         *url;
  GBytes       *secret;
  GBytes       *body;
  guint         timeout_id;
  guint         interval_s;
  guint64       cursor;
  gboolean      in_flight;
  gboolean      failing;
  gboolean      removals_failing;
  guint         n_ok;
  guint         n_failed;
};

G_DEFINE_FINAL_TYPE (LrrRegistration, lrr_registration, G_TYPE_OBJECT)

enum
{
  SIGNAL_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void post (LrrRegistration *self);

static void
lrr_registration_dispose (GObject *object)
{
  LrrRegistration *self = LRR_REGISTRATION (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (lrr_registration_parent_class)->dispose (object);
}

static void
lrr_registration_finalize (GObject *object)
{
  LrrRegistration *self = LRR_REGISTRATION (object);

  g_free (self->url);
  g_clear_pointer (&self->secret, g_bytes_unref);
  g_clear_pointer (&self->body, g_bytes_unref);

  G_OBJECT_CLASS (lrr_registration_parent_class)->finalize (object);
}

static void
lrr_registration_class_init (LrrRegistrationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrr_registration_dispose;
  object_class->finalize = lrr_registration_finalize;

  signals[SIGNAL_REMOVED] =
    g_signal_new ("removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
lrr_registration_init (LrrRegistration *self)
{
  self->cancellable = g_cancellable_new ();
  self->session = soup_session_new_with_options ("timeout", 10, "idle-timeout", 60, NULL);
}

/**
 * lrr_registration_new:
 *
 * Returns: (transfer full) (nullable): the registration client, or %NULL when lanrage-control
 *   would refuse what it would send (the body is checked with the server's own parser, so a
 *   bad --id or --region fails at start, not every 20 s)
 */
LrrRegistration *
lrr_registration_new (const char  *control_url,
                      GBytes      *secret,
                      const char  *id,
                      const char  *region,
                      const char  *endpoint,
                      guint        interval_s,
                      GError     **error)
{
  g_autoptr(LrrRegistration) self = g_object_new (LRR_TYPE_REGISTRATION, NULL);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  LrRelay relay = { (char *) id, (char *) region, (char *) endpoint };
  g_autofree char *base = g_strdup (control_url);
  gsize length;
  char *text;

  /* "https://control.example/" and "https://control.example" are the same server. */
  while (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';
  self->url = g_strconcat (base, "/v1/relays", NULL);
  self->secret = g_bytes_ref (secret);
  self->interval_s = MAX (interval_s, 1);

  lr_relay_build (&relay, builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);
  self->body = g_bytes_new_take (text, length);

  {
    g_autoptr(LrRelay) parsed = lr_relay_registration_parse (text, length, error);

    if (parsed == NULL)
      return NULL;
  }

  if (!g_str_has_prefix (self->url, "http://") && !g_str_has_prefix (self->url, "https://"))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--control: “%s” is not an http:// or https:// URL", control_url);
      return NULL;
    }
  return g_steal_pointer (&self);
}

static void
post_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(LrrRegistration) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  guint status;

  reply = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->in_flight = FALSE;

  status = message != NULL ? soup_message_get_status (message) : 0;
  if (error == NULL && status == SOUP_STATUS_OK)
    {
      gsize length;
      const char *data = g_bytes_get_data (reply, &length);
      g_autoptr(LrRelayRemovals) removals = lr_relay_removals_parse (data, length, &error);

      if (removals == NULL)
        {
          /* Registered, but what was removed is unknown: the cursor stays, and the next
           * tick asks again. Said once, not at every tick. */
          if (!self->removals_failing)
            g_warning ("Cannot read the removed peers from %s: %s", self->url,
                       error->message);
          self->removals_failing = TRUE;
          g_clear_error (&error);
        }
      else
        {
          self->removals_failing = FALSE;
          if (removals->removed->len > 0)
            {
              g_info ("%u peers were removed from their parties", removals->removed->len);
              g_signal_emit (self, signals[SIGNAL_REMOVED], 0, removals->removed);
            }
          self->cursor = removals->cursor;
          if (removals->more)
            post (self);
        }
    }
  if (error == NULL && (status == SOUP_STATUS_OK || status == SOUP_STATUS_NO_CONTENT))
    {
      self->n_ok++;
      if (self->failing || self->n_ok == 1)
        g_message ("Registered with %s", self->url);
      self->failing = FALSE;
      return;
    }

  self->n_failed++;
  if (!self->failing)
    {
      if (error != NULL)
        g_warning ("Cannot register with %s: %s; retrying every %u s", self->url,
                   error->message, self->interval_s);
      else if (status == SOUP_STATUS_UNAUTHORIZED)
        g_warning ("%s refused the relay secret (401); check --relay-secret-file", self->url);
      else
        g_warning ("Cannot register with %s: HTTP %u; retrying every %u s", self->url,
                   status, self->interval_s);
    }
  self->failing = TRUE;
}

static void
post (LrrRegistration *self)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autofree char *authorization = NULL;
  g_autofree char *url = NULL;
  gsize secret_length;
  const char *secret = g_bytes_get_data (self->secret, &secret_length);

  /* A refresh still waiting for an answer is not doubled up. */
  if (self->in_flight)
    return;

  url = g_strdup_printf ("%s?removed_after=%" G_GUINT64_FORMAT, self->url, self->cursor);
  message = soup_message_new ("POST", url);
  if (message == NULL)
    {
      g_warning ("Cannot register: %s is not a URL", self->url);
      return;
    }

  authorization = g_strdup_printf ("Bearer %.*s", (int) secret_length, secret);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                authorization);
  sodium_memzero (authorization, strlen (authorization));
  soup_message_set_request_body_from_bytes (message, "application/json", self->body);
  /* Registration is idempotent, and the flag lets libsoup reuse the connection. */
  soup_message_add_flags (message, SOUP_MESSAGE_IDEMPOTENT);

  self->in_flight = TRUE;
  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT,
                                    self->cancellable, post_cb, g_object_ref (self));
}

static gboolean
tick_cb (gpointer user_data)
{
  post (user_data);
  return G_SOURCE_CONTINUE;
}

void
lrr_registration_start (LrrRegistration *self)
{
  g_return_if_fail (LRR_IS_REGISTRATION (self));

  post (self);
  if (self->timeout_id == 0)
    self->timeout_id = g_timeout_add (self->interval_s * 1000, tick_cb, self);
}

void
lrr_registration_stop (LrrRegistration *self)
{
  g_return_if_fail (LRR_IS_REGISTRATION (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->timeout_id, g_source_remove);
}

guint
lrr_registration_get_n_ok (LrrRegistration *self)
{
  return self->n_ok;
}

guint
lrr_registration_get_n_failed (LrrRegistration *self)
{
  return self->n_failed;
}
