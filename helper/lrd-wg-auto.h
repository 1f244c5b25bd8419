/* lrd-wg-auto.h: NetworkManager first, UAPI when the kernel has no WireGuard
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Private to the backends; callers get one from lrd_wg_factory_new_async ("auto", ...).
 */
#pragma once

#include "lrd-wg-backend.h"

G_BEGIN_DECLS

#define LRD_TYPE_WG_AUTO (lrd_wg_auto_get_type ())
G_DECLARE_FINAL_TYPE (LrdWgAuto, lrd_wg_auto, LRD, WG_AUTO, GObject)

LrdWgAuto *lrd_wg_auto_new (LrdWgBackend *primary,
                            LrdWgBackend *fallback);

G_END_DECLS
