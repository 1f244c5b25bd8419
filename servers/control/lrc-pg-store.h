/* lrc-pg-store.h: the store on a PostgreSQL server, shared by several instances
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrc-store.h"

G_BEGIN_DECLS

#define LRC_TYPE_PG_STORE (lrc_pg_store_get_type ())
G_DECLARE_FINAL_TYPE (LrcPgStore, lrc_pg_store, LRC, PG_STORE, GObject)

LrcPgStore *lrc_pg_store_open (const char  *uri,
                               guint        n_connections,
                               GError     **error);

G_END_DECLS
