/* lrr-epoch.h: deferred freeing for read-mostly data shared with the workers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * LrrEpoch: quiescent-state based reclamation. The forwarding workers read the peer table
 * and the deny list without a lock: a writer publishes a new version with one atomic
 * pointer store and hands the old one to lrr_epoch_retire(). A reader brackets each batch of
 * datagrams with lrr_epoch_enter() and lrr_epoch_leave() (two atomic stores per batch, none
 * per packet); an old version is freed once every reader that could still see it has left
 * the batch it was in. A worker asleep in poll() holds nothing back.
 */
typedef struct _LrrEpoch LrrEpoch;

LrrEpoch *lrr_epoch_new     (guint          n_readers);
void      lrr_epoch_free    (LrrEpoch      *self);
void      lrr_epoch_enter   (LrrEpoch      *self,
                             guint          reader);
void      lrr_epoch_leave   (LrrEpoch      *self,
                             guint          reader);
void      lrr_epoch_retire  (LrrEpoch      *self,
                             gpointer       data,
                             GDestroyNotify destroy);
guint     lrr_epoch_reclaim (LrrEpoch      *self);

G_END_DECLS
