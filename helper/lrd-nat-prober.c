/* lrd-nat-prober.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-nat-prober.h"

struct _LrdNatProber
{
  GObject         parent_instance;

  LrdSharedPort  *port;
  LrClock        *clock;

  /* The probe that runs, if any. */
  GTask          *task;
  LrNatTypeProbe *probe;
  GSource        *timer;
  GSource        *cancelled;
  gulong          stun_handler;
  gboolean        told_endpoint;   /* ::public-endpoint was emitted for this probe */
  gboolean        endpoint_only;   /* lrd_nat_prober_check_endpoint_async(): test 1 alone */
};

enum
{
  SIGNAL_PUBLIC_ENDPOINT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (LrdNatProber, lrd_nat_prober, G_TYPE_OBJECT)

static void
destroy_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* Ends the running probe; the task, handed back, is the caller's to complete. */
static GTask *
stop (LrdNatProber *self)
{
  destroy_source (&self->timer);
  destroy_source (&self->cancelled);
  g_clear_signal_handler (&self->stun_handler, self->port);
  g_clear_pointer (&self->probe, lr_nat_type_probe_free);
  return g_steal_pointer (&self->task);
}

static void
lrd_nat_prober_dispose (GObject *object)
{
  LrdNatProber *self = LRD_NAT_PROBER (object);
  g_autoptr(GTask) task = stop (self);

  if (task != NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "The NAT prober was closed");
  g_clear_object (&self->port);

  G_OBJECT_CLASS (lrd_nat_prober_parent_class)->dispose (object);
}

static void
lrd_nat_prober_finalize (GObject *object)
{
  LrdNatProber *self = LRD_NAT_PROBER (object);

  lr_clock_unref (self->clock);

  G_OBJECT_CLASS (lrd_nat_prober_parent_class)->finalize (object);
}

static void
lrd_nat_prober_class_init (LrdNatProberClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_nat_prober_dispose;
  object_class->finalize = lrd_nat_prober_finalize;

  /**
   * LrdNatProber::public-endpoint:
   * @endpoint: (type gpointer): the const LrStunAddress * the server saw
   *
   * The first test answered: the public endpoint is known seconds before the NAT's
   * behaviour (the filtering tests wait out their silence).
   */
  signals[SIGNAL_PUBLIC_ENDPOINT] =
    g_signal_new ("public-endpoint", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
lrd_nat_prober_init (LrdNatProber *self)
{
}

LrdNatProber *
lrd_nat_prober_new (LrdSharedPort *port,
                    LrClock       *clock)
{
  LrdNatProber *self;

  g_return_val_if_fail (LRD_IS_SHARED_PORT (port), NULL);

  self = g_object_new (LRD_TYPE_NAT_PROBER, NULL);
  self->port = g_object_ref (port);
  self->clock = clock != NULL ? lr_clock_ref (clock) : lr_clock_new_system ();
  return self;
}

static void step (LrdNatProber *self);

static void
return_result (LrdNatProber *self)
{
  LrNatTypeResult *result = g_memdup2 (lr_nat_type_probe_get_result (self->probe),
                                       sizeof *result);
  g_autoptr(GTask) task = stop (self);

  g_task_return_pointer (task, result, g_free);
}

static gboolean
timer_cb (gpointer user_data)
{
  LrdNatProber *self = user_data;

  g_clear_pointer (&self->timer, g_source_unref);
  step (self);
  return G_SOURCE_REMOVE;
}

/* Does what the step machine says until it waits or is done. */
static void
step (LrdNatProber *self)
{
  for (;;)
    {
      LrNatTypeRequest request;
      gint64 wake_us = 0;
      g_autoptr(GError) error = NULL;

      switch (lr_nat_type_probe_next (self->probe, &request, &wake_us))
        {
        case LR_NAT_TYPE_PROBE_SEND:
          /* A failed send counts as a lost datagram: the test's timeout decides. */
          if (!lrd_shared_port_send (self->port, &request.destination, request.data,
                                     request.length, &error))
            g_debug ("NAT probe: %s", error->message);
          break;

        case LR_NAT_TYPE_PROBE_WAIT:
          {
            gint64 delay_us = wake_us - lr_clock_now_us (self->clock);
            guint delay_ms = (guint) CLAMP ((delay_us + 999) / 1000, 1, G_MAXUINT);

            destroy_source (&self->timer);
            self->timer = g_timeout_source_new (delay_ms);
            g_source_set_callback (self->timer, timer_cb, self, NULL);
            g_source_attach (self->timer, g_task_get_context (self->task));
            return;
          }

        case LR_NAT_TYPE_PROBE_DONE:
        default:
          return_result (self);
          return;
        }
    }
}

static void
stun_received_cb (LrdSharedPort       *port,
                  const guint8        *data,
                  guint                length,
                  const LrStunAddress *from,
                  gpointer             user_data)
{
  LrdNatProber *self = user_data;

  const LrNatTypeResult *result;
  LrStunAddress endpoint;

  if (self->probe == NULL || !lr_nat_type_probe_handle (self->probe, data, length, from))
    return;
  result = lr_nat_type_probe_get_result (self->probe);
  if (self->endpoint_only && result->reachable)
    {
      /* Test 1 answered: nothing more is sent. */
      return_result (self);
      return;
    }
  if (!self->told_endpoint && result->reachable)
    {
      self->told_endpoint = TRUE;
      endpoint = result->public_endpoint;
      g_signal_emit (self, signals[SIGNAL_PUBLIC_ENDPOINT], 0, &endpoint);
      /* A handler may have cancelled the probe. */
      if (self->probe == NULL)
        return;
    }
  step (self);
}

static gboolean
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  LrdNatProber *self = user_data;
  g_autoptr(GTask) task = stop (self);

  if (task != NULL)
    g_task_return_error_if_cancelled (task);
  return G_SOURCE_REMOVE;
}

static void
start (LrdNatProber        *self,
       gboolean             endpoint_only,
       const LrStunAddress *server,
       GCancellable        *cancellable,
       GAsyncReadyCallback  callback,
       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  LrStunAddress local;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_nat_prober_probe_async);

  if (self->task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "A NAT probe is already running");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  /* The local endpoint tells whether there is a NAT at all. */
  if (!lrd_shared_port_get_source (self->port, server, &local, &error))
    {
      g_autofree char *text = lr_stun_address_to_string (server);

      g_task_return_new_error (task, error->domain, error->code,
                               "Cannot probe the NAT towards %s: %s", text, error->message);
      return;
    }

  self->task = g_steal_pointer (&task);
  self->told_endpoint = FALSE;
  self->endpoint_only = endpoint_only;
  self->probe = lr_nat_type_probe_new (self->clock, server, &local);
  self->stun_handler = g_signal_connect (self->port, "stun-received",
                                         G_CALLBACK (stun_received_cb), self);
  if (cancellable != NULL)
    {
      self->cancelled = g_cancellable_source_new (cancellable);
      g_source_set_callback (self->cancelled, G_SOURCE_FUNC (cancelled_cb), self, NULL);
      g_source_attach (self->cancelled, g_task_get_context (self->task));
    }
  step (self);
}

void
lrd_nat_prober_probe_async (LrdNatProber        *self,
                            const LrStunAddress *server,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (LRD_IS_NAT_PROBER (self));
  g_return_if_fail (server != NULL);

  start (self, FALSE, server, cancellable, callback, user_data);
}

void
lrd_nat_prober_check_endpoint_async (LrdNatProber        *self,
                                     const LrStunAddress *server,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (LRD_IS_NAT_PROBER (self));
  g_return_if_fail (server != NULL);

  start (self, TRUE, server, cancellable, callback, user_data);
}

gboolean
lrd_nat_prober_probe_finish (LrdNatProber     *self,
                             GAsyncResult     *result,
                             LrNatTypeResult  *out,
                             GError          **error)
{
  g_autofree LrNatTypeResult *value = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  value = g_task_propagate_pointer (G_TASK (result), error);
  if (value == NULL)
    return FALSE;
  *out = *value;
  return TRUE;
}
