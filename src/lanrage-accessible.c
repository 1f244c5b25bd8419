/* lanrage-accessible.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GTK 4.8 names a button with a mnemonic label by the raw label and its text together
 * ("_Cancel Cancel"), and libadwaita 1.2 gives the search entry of a preferences window no
 * name. The app's own buttons carry an accessible label of their own (docs/app.md); the
 * response buttons of AdwMessageDialog and that search entry are libadwaita's, made
 * inside it, so they are named here once built.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-accessible.h"

/* "C_reate" read as "Create"; "__" is an underscore. */
static char *
strip_mnemonic (const char *label)
{
  GString *text = g_string_new (NULL);

  for (const char *p = label; *p != '\0'; p++)
    {
      if (*p == '_' && p[1] != '\0')
        p++;
      g_string_append_c (text, *p);
    }
  return g_string_free (text, FALSE);
}

/**
 * lanrage_accessible_name_children:
 * @root: a widget whose children are built (after gtk_widget_init_template ())
 *
 * Gives buttons with mnemonic labels their text as accessible label, and unnamed search
 * entries the name "Search".
 */
void
lanrage_accessible_name_children (GtkWidget *root)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_BUTTON (child) && gtk_button_get_use_underline (GTK_BUTTON (child)) &&
          gtk_button_get_label (GTK_BUTTON (child)) != NULL)
        {
          g_autofree char *text = strip_mnemonic (gtk_button_get_label (GTK_BUTTON (child)));

          gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                          text, -1);
        }
      else if (GTK_IS_SEARCH_ENTRY (child))
        /* Translators: the accessible name of a search field. */
        gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                        _("Search"), -1);
      lanrage_accessible_name_children (child);
    }
}
