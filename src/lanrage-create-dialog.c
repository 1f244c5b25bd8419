/* lanrage-create-dialog.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-accessible.h"
#include "lanrage-create-dialog.h"

struct _LanrageCreateDialog
{
  AdwMessageDialog  parent_instance;

  AdwEntryRow      *party_name_row;
  AdwEntryRow      *display_name_row;
};

G_DEFINE_FINAL_TYPE (LanrageCreateDialog, lanrage_create_dialog, ADW_TYPE_MESSAGE_DIALOG)

/* The helper's limits (data/io.lanrage.Helper1.xml), so the button says no before it does. */
#define PARTY_NAME_MAX    64
#define DISPLAY_NAME_MAX  32

static char *
dup_trimmed (AdwEntryRow *row)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
}

static void
validate (LanrageCreateDialog *self)
{
  g_autofree char *party_name = dup_trimmed (self->party_name_row);
  g_autofree char *display_name = dup_trimmed (self->display_name_row);
  gboolean party_ok = *party_name != '\0' && g_utf8_strlen (party_name, -1) <= PARTY_NAME_MAX;
  gboolean display_ok = g_utf8_strlen (display_name, -1) <= DISPLAY_NAME_MAX;

  if (display_ok)
    gtk_widget_remove_css_class (GTK_WIDGET (self->display_name_row), "error");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->display_name_row), "error");
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (self), "create",
                                           party_ok && display_ok);
}

static void
lanrage_create_dialog_class_init (LanrageCreateDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/lanrage/LANrage/ui/lanrage-create-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, LanrageCreateDialog, party_name_row);
  gtk_widget_class_bind_template_child (widget_class, LanrageCreateDialog, display_name_row);
  gtk_widget_class_bind_template_callback (widget_class, validate);
}

static void
lanrage_create_dialog_init (LanrageCreateDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  lanrage_accessible_name_children (GTK_WIDGET (self));
}

GtkWidget *
lanrage_create_dialog_new (GtkWindow  *parent,
                           const char *party_name,
                           const char *display_name)
{
  LanrageCreateDialog *self = g_object_new (LANRAGE_TYPE_CREATE_DIALOG,
                                            "transient-for", parent,
                                            "modal", TRUE,
                                            NULL);

  gtk_editable_set_text (GTK_EDITABLE (self->party_name_row), party_name ? party_name : "");
  gtk_editable_set_text (GTK_EDITABLE (self->display_name_row),
                         display_name ? display_name : "");
  validate (self);
  return GTK_WIDGET (self);
}

char *
lanrage_create_dialog_dup_party_name (LanrageCreateDialog *self)
{
  g_return_val_if_fail (LANRAGE_IS_CREATE_DIALOG (self), NULL);
  return dup_trimmed (self->party_name_row);
}

char *
lanrage_create_dialog_dup_display_name (LanrageCreateDialog *self)
{
  g_return_val_if_fail (LANRAGE_IS_CREATE_DIALOG (self), NULL);
  return dup_trimmed (self->display_name_row);
}
