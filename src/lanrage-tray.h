/* lanrage-tray.h: the tray icon, a StatusNotifierItem with a dbusmenu menu
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lanrage-helper-client.h"

G_BEGIN_DECLS

#define LANRAGE_TYPE_TRAY (lanrage_tray_get_type ())

G_DECLARE_FINAL_TYPE (LanrageTray, lanrage_tray, LANRAGE, TRAY, GObject)

/* @connection: the session bus; @actions: where the menu's items go (the application). */
LanrageTray *lanrage_tray_new            (GDBusConnection     *connection,
                                          LanrageHelperClient *client,
                                          GActionGroup        *actions);
/* The icon's name for the party's state, and the tooltip's text. */
const char  *lanrage_tray_get_icon_name  (LanrageTray         *self);
char        *lanrage_tray_dup_tooltip    (LanrageTray         *self);
/* Whether a tray host (a panel) shows the icon, as the StatusNotifierWatcher says. */
gboolean     lanrage_tray_is_shown       (LanrageTray         *self);

G_END_DECLS
