/* lrd-session-private.h: knobs for tests of LrdSession
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrd-session.h"

G_BEGIN_DECLS

/* Heartbeats every @interval_ms instead of every 20 s, from the next party on. */
void lrd_session_set_heartbeat_interval_ms (LrdSession *self,
                                            guint       interval_ms);

G_END_DECLS
