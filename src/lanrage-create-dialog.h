/* lanrage-create-dialog.h: asks for a new party's name and yours
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LANRAGE_TYPE_CREATE_DIALOG (lanrage_create_dialog_get_type ())

G_DECLARE_FINAL_TYPE (LanrageCreateDialog, lanrage_create_dialog, LANRAGE, CREATE_DIALOG,
                      AdwMessageDialog)

GtkWidget  *lanrage_create_dialog_new              (GtkWindow           *parent,
                                                    const char          *party_name,
                                                    const char          *display_name);
/* Both trimmed; the display name may be "" (the helper then uses the host name). */
char       *lanrage_create_dialog_dup_party_name   (LanrageCreateDialog *self);
char       *lanrage_create_dialog_dup_display_name (LanrageCreateDialog *self);

G_END_DECLS
