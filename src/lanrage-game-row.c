/* lanrage-game-row.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The game's name (or its title), who hosts it and what its announcement says, and the
 * address to connect to with a button that copies it (win.copy-game-address).
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-game-row.h"

struct _LanrageGameRow
{
  AdwActionRow  parent_instance;

  LanrageGame  *game;
  GtkLabel     *address_label;
  GtkButton    *copy_button;
};

G_DEFINE_FINAL_TYPE (LanrageGameRow, lanrage_game_row, ADW_TYPE_ACTION_ROW)

static void
update (LanrageGameRow *self)
{
  LanrageGame *game = self->game;
  const char *name = lanrage_game_get_name (game);
  const char *details = lanrage_game_get_details (game);
  g_autofree char *hosted = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *copy_label = NULL;
  g_autofree char *address_label = NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), lanrage_game_get_display_name (game));
  /* Translators: under a LAN game's name: its title and who hosts it ("Minecraft: Java
   * Edition · hosted by bob"). */
  hosted = g_strdup_printf (_("%s · hosted by %s"),
                            *name != '\0' ? lanrage_game_get_title (game) : _("LAN game"),
                            lanrage_game_get_host_display (game));
  if (*details != '\0')
    subtitle = g_strdup_printf ("%s\n%s", hosted, details);
  else
    subtitle = g_steal_pointer (&hosted);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);

  gtk_label_set_label (self->address_label, lanrage_game_get_address (game));
  /* Translators: what a screen reader says for the address of a LAN game. */
  address_label = g_strdup_printf (_("Address %s"), lanrage_game_get_address (game));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->address_label),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, address_label, -1);
  /* Translators: a button's name for screen readers; %s is a LAN game's name. */
  copy_label = g_strdup_printf (_("Copy the Address of %s"), lanrage_game_get_display_name (game));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->copy_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, copy_label, -1);
}

static void
lanrage_game_row_dispose (GObject *object)
{
  LanrageGameRow *self = LANRAGE_GAME_ROW (object);

  g_clear_object (&self->game);
  G_OBJECT_CLASS (lanrage_game_row_parent_class)->dispose (object);
}

static void
lanrage_game_row_class_init (LanrageGameRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lanrage_game_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/lanrage/LANrage/ui/lanrage-game-row.ui");
  gtk_widget_class_bind_template_child (widget_class, LanrageGameRow, address_label);
  gtk_widget_class_bind_template_child (widget_class, LanrageGameRow, copy_button);
}

static void
lanrage_game_row_init (LanrageGameRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
lanrage_game_row_new (LanrageGame *game)
{
  LanrageGameRow *self;

  g_return_val_if_fail (LANRAGE_IS_GAME (game), NULL);

  self = g_object_new (LANRAGE_TYPE_GAME_ROW, NULL);
  self->game = g_object_ref (game);
  /* The address never changes for one game: the button copies it. */
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->copy_button), "s",
                                    lanrage_game_get_address (game));
  g_signal_connect_object (game, "notify", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  update (self);
  return GTK_WIDGET (self);
}

LanrageGame *
lanrage_game_row_get_game (LanrageGameRow *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME_ROW (self), NULL);
  return self->game;
}
