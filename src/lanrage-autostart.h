/* lanrage-autostart.h: starting the app in the background when the person logs in
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* TRUE inside a Flatpak sandbox, where only the Background portal may start the app at
 * login (the sandbox cannot write the autostart folder, and the command there would not
 * start the sandboxed app). */
gboolean lanrage_autostart_in_sandbox (void);

/* Starts (or stops starting) `lanrage --background` at login: through the desktop's
 * Background portal on @session when @use_portal, else with an entry in the user's
 * autostart folder. Fails when the portal or the person said no. */
void     lanrage_autostart_set_async  (GDBusConnection     *session,
                                       gboolean             use_portal,
                                       gboolean             enabled,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
gboolean lanrage_autostart_set_finish (GAsyncResult        *result,
                                       GError             **error);

G_END_DECLS
