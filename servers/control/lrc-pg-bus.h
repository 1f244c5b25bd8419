/* lrc-pg-bus.h: notices between the instances that share one PostgreSQL database
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LRC_TYPE_PG_BUS (lrc_pg_bus_get_type ())
G_DECLARE_FINAL_TYPE (LrcPgBus, lrc_pg_bus, LRC, PG_BUS, GObject)

LrcPgBus *lrc_pg_bus_new        (const char *uri);
void      lrc_pg_bus_publish    (LrcPgBus   *self,
                                 const char *notice);
gboolean  lrc_pg_bus_is_leader  (LrcPgBus   *self);
gboolean  lrc_pg_bus_is_connected (LrcPgBus *self);

G_END_DECLS
