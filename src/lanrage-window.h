/* lanrage-window.h: the main window
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "lanrage-helper-client.h"

G_BEGIN_DECLS

#define LANRAGE_TYPE_WINDOW (lanrage_window_get_type ())

G_DECLARE_FINAL_TYPE (LanrageWindow, lanrage_window, LANRAGE, WINDOW, AdwApplicationWindow)

LanrageWindow *lanrage_window_new          (AdwApplication      *application,
                                            LanrageHelperClient *client,
                                            GSettings           *settings);
/* Opens the join dialog with @invite_code filled in (as typed or pasted; may be NULL), or
 * the create dialog; until the helper answers (starting, not running) the offer waits. */
void           lanrage_window_offer_join   (LanrageWindow       *self,
                                            const char          *invite_code);
void           lanrage_window_offer_create (LanrageWindow       *self);
void           lanrage_window_add_toast    (LanrageWindow       *self,
                                            const char          *title);

G_END_DECLS
