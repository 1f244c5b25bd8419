/* lanrage-accessible.h: accessible names for widgets libadwaita 1.2 builds inside its own
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void lanrage_accessible_name_children (GtkWidget *root);

G_END_DECLS
