/* lrc-database.h: the control server's SQLite store
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define LRC_TYPE_DATABASE (lrc_database_get_type ())
G_DECLARE_FINAL_TYPE (LrcDatabase, lrc_database, LRC, DATABASE, GObject)

LrcDatabase  *lrc_database_open        (const char   *path,
                                        GError      **error);
sqlite3_stmt *lrc_database_prepare     (LrcDatabase  *self,
                                        const char   *sql,
                                        GError      **error);
gboolean      lrc_database_step_done   (LrcDatabase  *self,
                                        sqlite3_stmt *stmt,
                                        GError      **error);
gboolean      lrc_database_exec        (LrcDatabase  *self,
                                        const char   *sql,
                                        GError      **error);
gboolean      lrc_database_begin       (LrcDatabase  *self,
                                        GError      **error);
gboolean      lrc_database_commit      (LrcDatabase  *self,
                                        GError      **error);
void          lrc_database_rollback    (LrcDatabase  *self);
int           lrc_database_get_schema_version (LrcDatabase *self);
gboolean      lrc_database_set_error   (LrcDatabase  *self,
                                        GError      **error);

G_END_DECLS
