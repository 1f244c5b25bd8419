/* lrr-worker.h: one forwarding thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "lrr-context.h"
#include "lrr-counter.h"

G_BEGIN_DECLS

typedef struct _LrrWorker LrrWorker;

LrrWorker *lrr_worker_new         (LrrContext *context,
                                   guint       index,
                                   int         fd,
                                   int         stop_fd);
void       lrr_worker_start       (LrrWorker  *self);
void       lrr_worker_join        (LrrWorker  *self);
void       lrr_worker_free        (LrrWorker  *self);
guint64    lrr_worker_get_counter (LrrWorker  *self,
                                   LrrCounter  counter);

G_END_DECLS
