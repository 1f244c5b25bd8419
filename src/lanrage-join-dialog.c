/* lanrage-join-dialog.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Codes are read aloud, retyped and pasted from chats: lib/'s forgiving parser accepts any
 * case, spaces, missing dashes, look-alike letters and whole lanrage://join/ links, and the
 * dialog shows the code it understood.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-accessible.h"
#include "lanrage-join-dialog.h"
#include "lr-invite-code.h"

#define DISPLAY_NAME_MAX 32

struct _LanrageJoinDialog
{
  AdwMessageDialog  parent_instance;

  AdwEntryRow      *code_row;
  AdwEntryRow      *display_name_row;
  GtkLabel         *hint_label;
};

G_DEFINE_FINAL_TYPE (LanrageJoinDialog, lanrage_join_dialog, ADW_TYPE_MESSAGE_DIALOG)

static void
set_error (GtkWidget *widget,
           gboolean   error)
{
  if (error)
    gtk_widget_add_css_class (widget, "error");
  else
    gtk_widget_remove_css_class (widget, "error");
}

static void
validate (LanrageJoinDialog *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->code_row));
  g_autofree char *code = lr_invite_code_normalize (text, NULL);
  g_autofree char *display_name = lanrage_join_dialog_dup_display_name (self);
  gboolean display_ok = g_utf8_strlen (display_name, -1) <= DISPLAY_NAME_MAX;
  g_autofree char *hint = NULL;
  gboolean empty = *text == '\0';

  if (code != NULL)
    /* Translators: shown under the invite code once it reads as one. */
    hint = g_strdup_printf (_("Invite code %s"), code);
  else if (empty)
    hint = g_strdup (_("Like 7KQM-2XWD-9RTF, in any case, with or without dashes."));
  else
    hint = g_strdup (_("Not an invite code yet: it has 12 letters and digits, like "
                       "7KQM-2XWD-9RTF."));

  gtk_label_set_label (self->hint_label, hint);
  set_error (GTK_WIDGET (self->hint_label), code == NULL && !empty);
  set_error (GTK_WIDGET (self->code_row), code == NULL && !empty);
  set_error (GTK_WIDGET (self->display_name_row), !display_ok);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->code_row),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, hint, -1);
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (self), "join",
                                           code != NULL && display_ok);
}

static void
lanrage_join_dialog_class_init (LanrageJoinDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/lanrage/LANrage/ui/lanrage-join-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, LanrageJoinDialog, code_row);
  gtk_widget_class_bind_template_child (widget_class, LanrageJoinDialog, display_name_row);
  gtk_widget_class_bind_template_child (widget_class, LanrageJoinDialog, hint_label);
  gtk_widget_class_bind_template_callback (widget_class, validate);
}

static void
lanrage_join_dialog_init (LanrageJoinDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  lanrage_accessible_name_children (GTK_WIDGET (self));
}

GtkWidget *
lanrage_join_dialog_new (GtkWindow  *parent,
                         const char *invite_code,
                         const char *display_name)
{
  LanrageJoinDialog *self = g_object_new (LANRAGE_TYPE_JOIN_DIALOG,
                                          "transient-for", parent,
                                          "modal", TRUE,
                                          NULL);

  gtk_editable_set_text (GTK_EDITABLE (self->code_row), invite_code ? invite_code : "");
  gtk_editable_set_text (GTK_EDITABLE (self->display_name_row),
                         display_name ? display_name : "");
  validate (self);
  return GTK_WIDGET (self);
}

char *
lanrage_join_dialog_dup_invite_code (LanrageJoinDialog *self)
{
  g_return_val_if_fail (LANRAGE_IS_JOIN_DIALOG (self), NULL);
  return lr_invite_code_normalize (gtk_editable_get_text (GTK_EDITABLE (self->code_row)), NULL);
}

char *
lanrage_join_dialog_dup_display_name (LanrageJoinDialog *self)
{
  g_return_val_if_fail (LANRAGE_IS_JOIN_DIALOG (self), NULL);
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->display_name_row))));
}
