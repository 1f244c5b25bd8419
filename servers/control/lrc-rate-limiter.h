/* lrc-rate-limiter.h: a token bucket per client address
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lr-clock.h"

G_BEGIN_DECLS

typedef struct _LrcRateLimiter LrcRateLimiter;

LrcRateLimiter *lrc_rate_limiter_new   (guint           per_minute,
                                        LrClock        *clock);
void            lrc_rate_limiter_free  (LrcRateLimiter *self);
gboolean        lrc_rate_limiter_allow (LrcRateLimiter *self,
                                        const char     *key,
                                        guint          *retry_after_s);
void            lrc_rate_limiter_prune (LrcRateLimiter *self);

char           *lrc_address_key        (GInetAddress   *address);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrcRateLimiter, lrc_rate_limiter_free)

G_END_DECLS
