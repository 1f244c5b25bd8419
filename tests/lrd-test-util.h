/* lrd-test-util.h: shared bits of the helper's WireGuard backend tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include "lrd-wg-backend.h"

G_BEGIN_DECLS

GAsyncResult *lrd_test_wait          (GAsyncResult   **slot);
void          lrd_test_result_cb     (GObject         *object,
                                      GAsyncResult    *result,
                                      gpointer         user_data);
gboolean      lrd_test_run           (GError         **error,
                                      const char      *first_arg,
                                      ...) G_GNUC_NULL_TERMINATED;
char         *lrd_test_run_output    (GError         **error,
                                      const char      *first_arg,
                                      ...) G_GNUC_NULL_TERMINATED;
void          lrd_test_keypair       (LrKey           *private_key,
                                      LrKey           *public_key);
gboolean      lrd_test_enter_netns   (const char      *name);
void          lrd_test_leave_netns   (void);
gboolean      lrd_test_enter_private_run (void);
int           lrd_test_skip          (const char      *reason);

G_END_DECLS
