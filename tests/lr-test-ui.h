/* lr-test-ui.h: driving the real app's widgets the way a person would
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For the `ui` suite: the app's own library runs in the test program on a real display
 * (Xvfb under tools/test), and the test finds widgets by what a person sees (a button's
 * label, an entry's title, a text on screen), only among mapped ones, and activates them.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LR_TEST_UI_TIMEOUT_MS 15000

/* Prints a TAP skip and exits 0 when there is no display to open. Call before
 * anything else touches GTK. */
void        lr_test_ui_require_display (void);
/* gtk_init () with the app's settings in memory; call after g_test_init (). */
void        lr_test_ui_init            (void);

/* The first mapped widget under @root (itself included) that is a button labelled
 * @label (mnemonic underscores ignored), or NULL. */
GtkWidget  *lr_test_ui_find_button     (GtkWidget  *root,
                                        const char *label);
/* The first mapped button under @root whose tooltip is @tooltip (icon-only buttons), or
 * NULL. */
GtkWidget  *lr_test_ui_find_button_by_tooltip (GtkWidget  *root,
                                               const char *tooltip);
/* The first mapped label under @root whose text is @text, or NULL. */
GtkWidget  *lr_test_ui_find_label      (GtkWidget  *root,
                                        const char *text);
/* The first mapped label under @root whose text starts with @prefix, or NULL. */
GtkWidget  *lr_test_ui_find_label_prefix (GtkWidget  *root,
                                          const char *prefix);
/* The first mapped label under @root whose text ends with @suffix, or NULL. */
GtkWidget  *lr_test_ui_find_label_suffix (GtkWidget  *root,
                                          const char *suffix);
/* The first mapped entry row under @root titled @title, or NULL. */
GtkWidget  *lr_test_ui_find_entry_row  (GtkWidget  *root,
                                        const char *title);
/* The first mapped widget under @root of @type, or NULL. */
GtkWidget  *lr_test_ui_find_type       (GtkWidget  *root,
                                        GType       type);
/* A visible toplevel of @type (AdwMessageDialog: also with @heading when not NULL). */
GtkWindow  *lr_test_ui_find_window     (GType       type,
                                        const char *heading);

/* Wait, iterating the main context, until the finder returns non-NULL, and fail the test
 * otherwise. A button is waited for until it can be clicked (mapped and sensitive). */
GtkWidget  *lr_test_ui_wait_button     (GtkWidget  *root,
                                        const char *label);
GtkWidget  *lr_test_ui_wait_label      (GtkWidget  *root,
                                        const char *text);
GtkWindow  *lr_test_ui_wait_window     (GType       type,
                                        const char *heading);
void        lr_test_ui_wait_gone       (GtkWidget  *root,
                                        const char *label_text);
/* Activates @widget as a click would, and lets the main loop run its consequences. */
void        lr_test_ui_click           (GtkWidget  *widget);
/* Iterates the main context for @ms. */
void        lr_test_ui_run_for         (guint       ms);
/* Saves what @widget shows to $LANRAGE_SCREENSHOT_DIR/@name.png when that is set. */
void        lr_test_ui_screenshot      (GtkWidget  *widget,
                                        const char *name);

G_END_DECLS
