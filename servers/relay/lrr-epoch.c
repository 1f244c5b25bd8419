/* lrr-epoch.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrr-epoch.h"

/* One cache line per reader, so that two workers' stores never share a line. */
typedef struct
{
  guint64 counter;
  guint8  padding[64 - sizeof (guint64)];
} Reader;

typedef struct
{
  gpointer       data;
  GDestroyNotify destroy;
  guint64       *seen;
} Retired;

struct _LrrEpoch
{
  guint   n_readers;
  Reader *readers;
  GMutex  lock;
  GQueue  retired;
};

LrrEpoch *
lrr_epoch_new (guint n_readers)
{
  LrrEpoch *self = g_new0 (LrrEpoch, 1);

  self->n_readers = n_readers;
  self->readers = g_aligned_alloc0 (MAX (n_readers, 1), sizeof (Reader), 64);
  g_mutex_init (&self->lock);
  g_queue_init (&self->retired);
  return self;
}

static void
retired_free (Retired *retired)
{
  if (retired->destroy != NULL)
    retired->destroy (retired->data);
  g_free (retired->seen);
  g_free (retired);
}

/* Frees everything still retired: only when no reader runs any more. */
void
lrr_epoch_free (LrrEpoch *self)
{
  Retired *retired;

  if (self == NULL)
    return;
  while ((retired = g_queue_pop_head (&self->retired)) != NULL)
    retired_free (retired);
  g_mutex_clear (&self->lock);
  g_aligned_free (self->readers);
  g_free (self);
}

/* An odd counter means "inside a batch". The store is sequentially consistent so that it is
 * ordered before the reader's load of the shared pointer, which pairs with the writer's
 * publish-then-retire in lrr_epoch_retire(). */
void
lrr_epoch_enter (LrrEpoch *self,
                 guint     reader)
{
  guint64 value = __atomic_load_n (&self->readers[reader].counter, __ATOMIC_RELAXED);

  __atomic_store_n (&self->readers[reader].counter, value + 1, __ATOMIC_SEQ_CST);
}

void
lrr_epoch_leave (LrrEpoch *self,
                 guint     reader)
{
  guint64 value = __atomic_load_n (&self->readers[reader].counter, __ATOMIC_RELAXED);

  __atomic_store_n (&self->readers[reader].counter, value + 1, __ATOMIC_RELEASE);
}

/* Call after the new version has been published. */
void
lrr_epoch_retire (LrrEpoch       *self,
                  gpointer        data,
                  GDestroyNotify  destroy)
{
  Retired *retired = g_new0 (Retired, 1);

  retired->data = data;
  retired->destroy = destroy;
  retired->seen = g_new (guint64, MAX (self->n_readers, 1));
  for (guint i = 0; i < self->n_readers; i++)
    retired->seen[i] = __atomic_load_n (&self->readers[i].counter, __ATOMIC_SEQ_CST);

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->retired, retired);
  g_mutex_unlock (&self->lock);
}

static gboolean
is_quiescent (LrrEpoch *self,
              Retired  *retired)
{
  for (guint i = 0; i < self->n_readers; i++)
    {
      if ((retired->seen[i] & 1) != 0 &&
          __atomic_load_n (&self->readers[i].counter, __ATOMIC_ACQUIRE) == retired->seen[i])
        return FALSE;
    }
  return TRUE;
}

/* Returns: how many retired versions were freed. */
guint
lrr_epoch_reclaim (LrrEpoch *self)
{
  GQueue done = G_QUEUE_INIT;
  Retired *retired;
  guint n;

  g_mutex_lock (&self->lock);
  for (GList *l = self->retired.head; l != NULL;)
    {
      GList *next = l->next;

      if (is_quiescent (self, l->data))
        {
          g_queue_push_tail (&done, l->data);
          g_queue_delete_link (&self->retired, l);
        }
      l = next;
    }
  g_mutex_unlock (&self->lock);

  n = done.length;
  while ((retired = g_queue_pop_head (&done)) != NULL)
    retired_free (retired);
  return n;
}
