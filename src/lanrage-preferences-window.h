/* lanrage-preferences-window.h: your name, the server, and how the app behaves
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "lanrage-helper-client.h"

G_BEGIN_DECLS

#define LANRAGE_TYPE_PREFERENCES_WINDOW (lanrage_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (LanragePreferencesWindow, lanrage_preferences_window, LANRAGE,
                      PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *lanrage_preferences_window_new (GtkWindow           *parent,
                                           LanrageHelperClient *client,
                                           GSettings           *settings);

G_END_DECLS
