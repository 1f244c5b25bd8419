/* lrd-service.h: io.lanrage.Helper1 on the bus, and who may call what
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdService exports the helper's objects on a connection, checks every method call
 * against polkit in one g-authorize-method handler (a default-deny table from method to
 * action), and hands the authorized calls to the LrdSession.
 */
#pragma once

#include <gio/gio.h>
#include <polkit/polkit.h>

#include "lrd-session.h"

G_BEGIN_DECLS

#define LRD_ACTION_JOIN      "io.lanrage.helper.join"
#define LRD_ACTION_CONFIGURE "io.lanrage.helper.configure"

#define LRD_TYPE_SERVICE (lrd_service_get_type ())
G_DECLARE_FINAL_TYPE (LrdService, lrd_service, LRD, SERVICE, GObject)

/* @authority: (nullable): polkit, or %NULL in the session-bus test mode, where the bus
 * itself only lets this user in and every caller is allowed. */
LrdService *lrd_service_new         (PolkitAuthority    *authority,
                                     LrdControlClient   *client,
                                     LrdWgBackend       *backend,
                                     const LrdKeys      *keys,
                                     const char         *state_dir,
                                     guint16             listen_port);
gboolean    lrd_service_export      (LrdService         *self,
                                     GDBusConnection    *connection,
                                     GError            **error);
void        lrd_service_unexport    (LrdService         *self);
LrdSession *lrd_service_get_session (LrdService         *self);
LrdLanDiscovery *lrd_service_get_lan_discovery (LrdService *self);

G_END_DECLS
