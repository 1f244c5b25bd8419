/* lrr-registration.h: telling lanrage-control that this relay exists
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* lanrage-control drops a relay it has not heard from for 60 s; refreshing every 20 s
 * survives two lost refreshes. Each answer also carries the peers removed from their parties
 * since the last one, so a removed peer stops relaying within this long. */
#define LRR_REGISTRATION_INTERVAL_S 20

#define LRR_TYPE_REGISTRATION (lrr_registration_get_type ())
G_DECLARE_FINAL_TYPE (LrrRegistration, lrr_registration, LRR, REGISTRATION, GObject)

LrrRegistration *lrr_registration_new          (const char      *control_url,
                                                GBytes          *secret,
                                                const char      *id,
                                                const char      *region,
                                                const char      *endpoint,
                                                guint            interval_s,
                                                GError         **error);
void             lrr_registration_start        (LrrRegistration *self);
void             lrr_registration_stop         (LrrRegistration *self);
guint            lrr_registration_get_n_ok     (LrrRegistration *self);
guint            lrr_registration_get_n_failed (LrrRegistration *self);

/* Signals:
 *   "removed" (GArray *removals)  peers removed from their parties (of LrRelayRemoval,
 *                                 lr-relay-removals.h), from lanrage-control's answer */

G_END_DECLS
