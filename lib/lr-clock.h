/* lr-clock.h: an injectable clock
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * LrClock:
 *
 * Where logic depends on time (stale cleanup, the path state machine), it asks an LrClock
 * instead of g_get_real_time(), so that tests can drive minutes of protocol time in
 * milliseconds with a manual clock. Times are wall-clock microseconds since the epoch,
 * because they are stored and shown as RFC 3339 timestamps.
 */
typedef struct _LrClock LrClock;

LrClock *lr_clock_new_system (void);
LrClock *lr_clock_new_manual (gint64   start_us);
LrClock *lr_clock_ref        (LrClock *self);
void     lr_clock_unref      (LrClock *self);
gint64   lr_clock_now_us     (LrClock *self);
void     lr_clock_advance    (LrClock *self,
                              gint64   delta_us);
gboolean lr_clock_is_manual  (LrClock *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrClock, lr_clock_unref)

G_END_DECLS
