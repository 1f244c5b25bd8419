/* test-party-events.c: LrdPartyEvents against the real lanrage-control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two members of a party made over HTTP (lr-test-control.h), each with the helper's events
 * object: the snapshot and the events arrive parsed, a signal goes from one helper to the
 * other through the server, and a closed party ends in "gone".
 */
#include "lr-test-control.h"
#include "lrd-party-events.h"

#include "lr-control-answers.h"

#define TIMEOUT_MS 5000

typedef struct
{
  GPtrArray *events;   /* of LrEvent copies: type, peer id, from, data */
  guint      gone;
} Seen;

typedef struct
{
  LrEventType  type;
  char        *peer_id;
  char        *from;
  char        *data;
} SeenEvent;

static void
seen_event_free (SeenEvent *event)
{
  g_free (event->peer_id);
  g_free (event->from);
  g_free (event->data);
  g_free (event);
}

static void
event_cb (LrdPartyEvents *events,
          gpointer        pointer,
          gpointer        user_data)
{
  const LrEvent *event = pointer;
  Seen *seen = user_data;
  SeenEvent *copy = g_new0 (SeenEvent, 1);

  copy->type = event->type;
  copy->peer_id = g_strdup (event->peer != NULL ? event->peer->id : NULL);
  copy->from = g_strdup (event->from);
  copy->data = event->data != NULL ? json_to_string (event->data, FALSE) : NULL;
  g_ptr_array_add (seen->events, copy);
}

static void
gone_cb (LrdPartyEvents *events,
         gpointer        user_data)
{
  Seen *seen = user_data;

  seen->gone++;
}

/* Waits until @seen has an event of @type (and from @peer_id, if given); returns it. */
static SeenEvent *
wait_event (Seen        *seen,
            LrEventType  type,
            const char  *peer_id)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_MS * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      for (guint i = 0; i < seen->events->len; i++)
        {
          SeenEvent *event = g_ptr_array_index (seen->events, i);

          if (event->type == type &&
              (peer_id == NULL || g_strcmp0 (event->peer_id, peer_id) == 0 ||
               g_strcmp0 (event->from, peer_id) == 0))
            return event;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_not_reached ();
  return NULL;
}

static LrdPartyEvents *
watch (LrTestServer *server,
       LrTestMember *member,
       Seen         *seen)
{
  g_autoptr(LrdControlClient) client = lrd_control_client_new (lr_test_server_get_url (server));
  LrdPartyEvents *events = lrd_party_events_new (client, member->party_id, member->peer_id,
                                                 member->token, 60000);

  seen->events = g_ptr_array_new_with_free_func ((GDestroyNotify) seen_event_free);
  g_signal_connect (events, "event", G_CALLBACK (event_cb), seen);
  g_signal_connect (events, "gone", G_CALLBACK (gone_cb), seen);
  return events;
}

static void
test_events_and_signals (LrTestFixture *fixture,
                         gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "Signals", "host");
  g_autoptr(LrTestMember) guest = NULL;
  g_autoptr(LrdPartyEvents) host_events = NULL;
  g_autoptr(LrdPartyEvents) guest_events = NULL;
  g_autoptr(JsonNode) payload = lr_test_json_parse ("{\"call_me_maybe\": [\"198.18.0.1:51820\"]}");
  g_autoptr(JsonNode) not_object = lr_test_json_parse ("[1]");
  g_autoptr(GError) error = NULL;
  Seen host_seen = { 0 }, guest_seen = { 0 };
  SeenEvent *signal;

  host_events = watch (fixture->server, host, &host_seen);
  /* Not connected yet: refused, nothing sent. */
  g_assert_false (lrd_party_events_send_signal (host_events, host->peer_id, payload, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error (&error);
  wait_event (&host_seen, LR_EVENT_SNAPSHOT, NULL);

  guest = lr_test_join (fixture->server, host->invite_code, "guest");
  wait_event (&host_seen, LR_EVENT_PEER_JOINED, guest->peer_id);
  guest_events = watch (fixture->server, guest, &guest_seen);
  wait_event (&guest_seen, LR_EVENT_SNAPSHOT, NULL);

  /* Bad arguments never reach the server. */
  g_assert_false (lrd_party_events_send_signal (host_events, "guest", payload, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (lrd_party_events_send_signal (host_events, guest->peer_id, not_object,
                                                &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (lrd_party_events_send_signal (host_events, guest->peer_id, payload, &error));
  g_assert_no_error (error);
  signal = wait_event (&guest_seen, LR_EVENT_SIGNAL, host->peer_id);
  g_assert_cmpstr (signal->from, ==, host->peer_id);
  g_assert_cmpstr (signal->data, ==, "{\"call_me_maybe\":[\"198.18.0.1:51820\"]}");

  g_assert_cmpuint (host_seen.gone, ==, 0);
  g_assert_cmpuint (guest_seen.gone, ==, 0);
  g_clear_pointer (&host_seen.events, g_ptr_array_unref);
  g_clear_pointer (&guest_seen.events, g_ptr_array_unref);
}

/* The host closes the party: the guest sees it closed, and its reconnection is refused. */
static void
test_gone (LrTestFixture *fixture,
           gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "Short", "host");
  g_autoptr(LrTestMember) guest = lr_test_join (fixture->server, host->invite_code, "guest");
  g_autoptr(LrdPartyEvents) guest_events = NULL;
  g_autoptr(LrTestResponse) closed = NULL;
  g_autofree char *path = lr_test_party_path (host, NULL);
  gint64 deadline;
  Seen seen = { 0 };

  guest_events = watch (fixture->server, guest, &seen);
  wait_event (&seen, LR_EVENT_SNAPSHOT, NULL);
  closed = lr_test_request (fixture->server, "DELETE", path, host->token, NULL);
  lr_test_assert_status (closed, 204);
  wait_event (&seen, LR_EVENT_PARTY_CLOSED, NULL);

  deadline = g_get_monotonic_time () + TIMEOUT_MS * 1000;
  while (seen.gone == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (seen.gone, ==, 1);
  g_clear_pointer (&seen.events, g_ptr_array_unref);
}

int
main (int    argc,
      char **argv)
{
  lr_test_control_init (&argc, &argv);

  LR_TEST_ADD ("/lrd/party-events/events-and-signals", test_events_and_signals, NULL);
  LR_TEST_ADD ("/lrd/party-events/gone", test_gone, NULL);

  return g_test_run ();
}
