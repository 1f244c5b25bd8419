/* lr-test-ui.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-test-ui.h"

#include <stdlib.h>
#include <string.h>

void
lr_test_ui_require_display (void)
{
  const char *display = g_getenv ("DISPLAY");
  const char *wayland = g_getenv ("WAYLAND_DISPLAY");

  if ((display == NULL || *display == '\0') && (wayland == NULL || *wayland == '\0'))
    {
      /* TAP's way of skipping a whole program; tools/test runs this suite under Xvfb. */
      g_print ("1..0 # SKIP the ui tests need a display (run them with tools/test, which "
               "starts Xvfb)\n");
      exit (0);
    }
}

void
lr_test_ui_init (void)
{
  /* The app's settings live in memory: nothing of the machine's is read or written. */
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  if (g_getenv ("GSETTINGS_SCHEMA_DIR") == NULL)
    g_error ("GSETTINGS_SCHEMA_DIR is not set: run the tests with meson test");
  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP cannot open the display %s\n", g_getenv ("DISPLAY"));
      exit (0);
    }
  adw_init ();
}

static char *
strip_mnemonic (const char *label)
{
  GString *text = g_string_new (NULL);

  for (const char *p = label; *p != '\0'; p++)
    if (*p != '_')
      g_string_append_c (text, *p);
  return g_string_free (text, FALSE);
}

typedef gboolean (*Match) (GtkWidget  *widget,
                           const char *text);

static GtkWidget *
find (GtkWidget  *root,
      Match       match,
      const char *text)
{
  if (!gtk_widget_get_mapped (root))
    return NULL;
  if (match (root, text))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find (child, match, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
button_matches (GtkWidget  *widget,
                const char *label)
{
  g_autofree char *stripped = NULL;
  const char *text;

  if (!GTK_IS_BUTTON (widget))
    return FALSE;
  text = gtk_button_get_label (GTK_BUTTON (widget));
  /* Or a label of its own as its child (a mnemonic the button does not repeat). */
  if (text == NULL && GTK_IS_LABEL (gtk_button_get_child (GTK_BUTTON (widget))))
    text = gtk_label_get_label (GTK_LABEL (gtk_button_get_child (GTK_BUTTON (widget))));
  if (text == NULL)
    return FALSE;
  stripped = strip_mnemonic (text);
  return g_str_equal (stripped, label);
}

static gboolean
usable_button_matches (GtkWidget  *widget,
                       const char *label)
{
  return button_matches (widget, label) && gtk_widget_is_sensitive (widget);
}

static GtkWidget *
find_usable_button (GtkWidget  *root,
                    const char *label)
{
  return find (root, usable_button_matches, label);
}

static gboolean
tooltip_matches (GtkWidget  *widget,
                 const char *tooltip)
{
  return GTK_IS_BUTTON (widget) &&
         g_strcmp0 (gtk_widget_get_tooltip_text (widget), tooltip) == 0;
}

GtkWidget *
lr_test_ui_find_button_by_tooltip (GtkWidget  *root,
                                   const char *tooltip)
{
  return find (root, tooltip_matches, tooltip);
}

static gboolean
label_matches (GtkWidget  *widget,
               const char *text)
{
  return GTK_IS_LABEL (widget) && g_str_equal (gtk_label_get_text (GTK_LABEL (widget)), text);
}

static gboolean
label_prefix_matches (GtkWidget  *widget,
                      const char *prefix)
{
  return GTK_IS_LABEL (widget) &&
         g_str_has_prefix (gtk_label_get_text (GTK_LABEL (widget)), prefix);
}

static gboolean
label_suffix_matches (GtkWidget  *widget,
                      const char *suffix)
{
  return GTK_IS_LABEL (widget) &&
         g_str_has_suffix (gtk_label_get_text (GTK_LABEL (widget)), suffix);
}

static gboolean
entry_row_matches (GtkWidget  *widget,
                   const char *title)
{
  return ADW_IS_ENTRY_ROW (widget) &&
         g_str_equal (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title);
}

static gboolean
type_matches (GtkWidget  *widget,
              const char *type_name)
{
  return g_type_is_a (G_OBJECT_TYPE (widget), g_type_from_name (type_name));
}

GtkWidget *
lr_test_ui_find_button (GtkWidget  *root,
                        const char *label)
{
  return find (root, button_matches, label);
}

GtkWidget *
lr_test_ui_find_label (GtkWidget  *root,
                       const char *text)
{
  return find (root, label_matches, text);
}

GtkWidget *
lr_test_ui_find_label_prefix (GtkWidget  *root,
                              const char *prefix)
{
  return find (root, label_prefix_matches, prefix);
}

GtkWidget *
lr_test_ui_find_label_suffix (GtkWidget  *root,
                              const char *suffix)
{
  return find (root, label_suffix_matches, suffix);
}

GtkWidget *
lr_test_ui_find_entry_row (GtkWidget  *root,
                           const char *title)
{
  return find (root, entry_row_matches, title);
}

GtkWidget *
lr_test_ui_find_type (GtkWidget *root,
                      GType      type)
{
  return find (root, type_matches, g_type_name (type));
}

GtkWindow *
lr_test_ui_find_window (GType       type,
                        const char *heading)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    {
      GtkWidget *window = l->data;

      if (!g_type_is_a (G_OBJECT_TYPE (window), type) || !gtk_widget_get_mapped (window))
        continue;
      if (heading != NULL &&
          (!ADW_IS_MESSAGE_DIALOG (window) ||
           g_strcmp0 (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (window)), heading) != 0))
        continue;
      return GTK_WINDOW (window);
    }
  return NULL;
}

void
lr_test_ui_run_for (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (5000);
    }
}

/* Polls @finder until it finds something or the deadline passes. */
static GtkWidget *
wait_widget (GtkWidget *(*finder) (GtkWidget *, const char *),
             GtkWidget  *root,
             const char *text,
             const char *what)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) LR_TEST_UI_TIMEOUT_MS * 1000;
  GtkWidget *found;

  while ((found = finder (root, text)) == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Waited %u ms for the %s “%s” to show", LR_TEST_UI_TIMEOUT_MS, what, text);
      lr_test_ui_run_for (10);
    }
  return found;
}

GtkWidget *
lr_test_ui_wait_button (GtkWidget  *root,
                        const char *label)
{
  return wait_widget (find_usable_button, root, label, "button");
}

GtkWidget *
lr_test_ui_wait_label (GtkWidget  *root,
                       const char *text)
{
  return wait_widget (lr_test_ui_find_label, root, text, "text");
}

GtkWindow *
lr_test_ui_wait_window (GType       type,
                        const char *heading)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) LR_TEST_UI_TIMEOUT_MS * 1000;
  GtkWindow *window;

  while ((window = lr_test_ui_find_window (type, heading)) == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Waited %u ms for a %s “%s” to open", LR_TEST_UI_TIMEOUT_MS,
                 g_type_name (type), heading ? heading : "");
      lr_test_ui_run_for (10);
    }
  return window;
}

void
lr_test_ui_wait_gone (GtkWidget  *root,
                      const char *label_text)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) LR_TEST_UI_TIMEOUT_MS * 1000;

  while (lr_test_ui_find_label (root, label_text) != NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Waited %u ms for “%s” to go", LR_TEST_UI_TIMEOUT_MS, label_text);
      lr_test_ui_run_for (10);
    }
}

void
lr_test_ui_click (GtkWidget *widget)
{
  g_assert_true (gtk_widget_get_mapped (widget));
  g_assert_true (gtk_widget_is_sensitive (widget));
  /* GTK 4 fires "clicked" some 250 ms after activate (LAB.md): let it happen. */
  g_assert_true (gtk_widget_activate (widget));
  lr_test_ui_run_for (400);
}

void
lr_test_ui_screenshot (GtkWidget  *widget,
                       const char *name)
{
  const char *dir = g_getenv ("LANRAGE_SCREENSHOT_DIR");
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *path = NULL;
  int width, height;

  if (dir == NULL)
    return;

  /* Let pending layout and drawing happen first. */
  lr_test_ui_run_for (300);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  file_name = g_strconcat (name, ".png", NULL);
  path = g_build_filename (dir, file_name, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("Screenshot: %s", path);
}
