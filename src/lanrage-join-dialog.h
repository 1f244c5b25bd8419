/* lanrage-join-dialog.h: takes an invite code, checked as it is typed or pasted
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LANRAGE_TYPE_JOIN_DIALOG (lanrage_join_dialog_get_type ())

G_DECLARE_FINAL_TYPE (LanrageJoinDialog, lanrage_join_dialog, LANRAGE, JOIN_DIALOG,
                      AdwMessageDialog)

GtkWidget *lanrage_join_dialog_new              (GtkWindow         *parent,
                                                 const char        *invite_code,
                                                 const char        *display_name);
/* The code in its canonical form ("7KQM-2XWD-9RTF"), or NULL while what is typed is none. */
char      *lanrage_join_dialog_dup_invite_code  (LanrageJoinDialog *self);
char      *lanrage_join_dialog_dup_display_name (LanrageJoinDialog *self);

G_END_DECLS
