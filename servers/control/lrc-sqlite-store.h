/* lrc-sqlite-store.h: the store on an embedded SQLite database
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrc-store.h"

G_BEGIN_DECLS

#define LRC_TYPE_SQLITE_STORE (lrc_sqlite_store_get_type ())
G_DECLARE_FINAL_TYPE (LrcSqliteStore, lrc_sqlite_store, LRC, SQLITE_STORE, GObject)

LrcSqliteStore *lrc_sqlite_store_open (const char  *path,
                                       GError     **error);

G_END_DECLS
