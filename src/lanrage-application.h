/* lanrage-application.h: the LANrage app
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "lanrage-helper-client.h"
#include "lanrage-tray.h"

G_BEGIN_DECLS

#define LANRAGE_TYPE_APPLICATION (lanrage_application_get_type ())

G_DECLARE_FINAL_TYPE (LanrageApplication, lanrage_application, LANRAGE, APPLICATION,
                      AdwApplication)

/* @client: the helper to talk to, or NULL for the real one on the system bus. */
LanrageApplication  *lanrage_application_new        (LanrageHelperClient *client);
LanrageHelperClient *lanrage_application_get_client (LanrageApplication  *self);
/* The tray icon, once started; NULL without a session bus. */
LanrageTray         *lanrage_application_get_tray   (LanrageApplication  *self);
/* Whether start at login goes through the Background portal; by default, inside a Flatpak
 * sandbox only. Tests of the portal's way set it outside one. */
void                 lanrage_application_set_use_background_portal (LanrageApplication *self,
                                                                    gboolean            use_portal);

G_END_DECLS
