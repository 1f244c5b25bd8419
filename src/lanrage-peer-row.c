/* lanrage-peer-row.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-nat.h"
#include "lanrage-peer-row.h"

struct _LanragePeerRow
{
  AdwActionRow  parent_instance;

  LanragePeer  *peer;
  GtkLabel     *latency_label;
  GtkLabel     *path_label;
  const char   *quality_class;
};

G_DEFINE_FINAL_TYPE (LanragePeerRow, lanrage_peer_row, ADW_TYPE_ACTION_ROW)

static void
update (LanragePeerRow *self)
{
  g_autofree char *latency = lanrage_peer_describe_latency (self->peer);
  g_autofree char *path = lanrage_peer_describe_path (self->peer);
  g_autofree char *subtitle = NULL;
  g_autofree char *accessible = NULL;
  const char *quality_class = lanrage_peer_get_quality_css_class (self->peer);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), lanrage_peer_get_name (self->peer));
  /* Translators: under a player's name: their address in the party and their NAT type. */
  subtitle = g_strdup_printf (_("%s · NAT: %s"), lanrage_peer_get_virtual_address (self->peer),
                              lanrage_nat_type_get_name (lanrage_peer_get_nat_type (self->peer)));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
  gtk_label_set_label (self->latency_label, latency);
  gtk_label_set_label (self->path_label, path);

  if (self->quality_class != quality_class)
    {
      if (self->quality_class != NULL)
        gtk_widget_remove_css_class (GTK_WIDGET (self->latency_label), self->quality_class);
      gtk_widget_add_css_class (GTK_WIDGET (self->latency_label), quality_class);
      self->quality_class = quality_class;
    }

  /* Translators: what a screen reader says for a latency label: "Latency 23 ms". */
  accessible = g_strdup_printf (_("Latency %s"), latency);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->latency_label),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
}

static void
lanrage_peer_row_dispose (GObject *object)
{
  LanragePeerRow *self = LANRAGE_PEER_ROW (object);

  g_clear_object (&self->peer);
  G_OBJECT_CLASS (lanrage_peer_row_parent_class)->dispose (object);
}

static void
lanrage_peer_row_class_init (LanragePeerRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lanrage_peer_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/lanrage/LANrage/ui/lanrage-peer-row.ui");
  gtk_widget_class_bind_template_child (widget_class, LanragePeerRow, latency_label);
  gtk_widget_class_bind_template_child (widget_class, LanragePeerRow, path_label);
}

static void
lanrage_peer_row_init (LanragePeerRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
lanrage_peer_row_new (LanragePeer *peer)
{
  LanragePeerRow *self;

  g_return_val_if_fail (LANRAGE_IS_PEER (peer), NULL);

  self = g_object_new (LANRAGE_TYPE_PEER_ROW, NULL);
  self->peer = g_object_ref (peer);
  g_signal_connect_object (peer, "notify", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  update (self);
  return GTK_WIDGET (self);
}

LanragePeer *
lanrage_peer_row_get_peer (LanragePeerRow *self)
{
  g_return_val_if_fail (LANRAGE_IS_PEER_ROW (self), NULL);
  return self->peer;
}
