/* lr-clock.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-clock.h"

struct _LrClock
{
  gboolean manual;
  gint64   now_us;
};

LrClock *
lr_clock_new_system (void)
{
  return g_rc_box_new0 (LrClock);
}

LrClock *
lr_clock_new_manual (gint64 start_us)
{
  LrClock *self = g_rc_box_new0 (LrClock);

  self->manual = TRUE;
  self->now_us = start_us;
  return self;
}

LrClock *
lr_clock_ref (LrClock *self)
{
  return g_rc_box_acquire (self);
}

void
lr_clock_unref (LrClock *self)
{
  g_rc_box_release (self);
}

gint64
lr_clock_now_us (LrClock *self)
{
  g_return_val_if_fail (self != NULL, 0);

  if (self->manual)
    return self->now_us;
  return g_get_real_time ();
}

void
lr_clock_advance (LrClock *self,
                  gint64   delta_us)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (self->manual);

  self->now_us += delta_us;
}

gboolean
lr_clock_is_manual (LrClock *self)
{
  return self->manual;
}
