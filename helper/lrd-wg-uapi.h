/* lrd-wg-uapi.h: WireGuard through the UAPI text protocol (wireguard-go, boringtun)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrd-wg-backend.h"

G_BEGIN_DECLS

#define LRD_WG_UAPI_DEFAULT_SOCKET_DIR "/run/wireguard"

#define LRD_TYPE_WG_UAPI (lrd_wg_uapi_get_type ())
G_DECLARE_FINAL_TYPE (LrdWgUapi, lrd_wg_uapi, LRD, WG_UAPI, GObject)

LrdWgUapi *lrd_wg_uapi_new (const char  *ifname,
                            const char  *wireguard_go,
                            GError     **error);

G_END_DECLS
