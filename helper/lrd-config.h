/* lrd-config.h: the helper's configuration file
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * /etc/lanrage/helper.conf, a keyfile:
 *
 *   [helper]
 *   control-url=https://control.example.org:8666/
 *   port=51820
 *   backend=auto            # auto, networkmanager or uapi
 *   interface=lanrage0
 *   wireguard-go=/usr/bin/wireguard-go
 *   relays=relay1.example.org:3478;relay2.example.org:3478
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LRD_CONFIG_DEFAULT_PATH        "/etc/lanrage/helper.conf"
#define LRD_CONFIG_DEFAULT_CONTROL_URL "http://127.0.0.1:8666/"
#define LRD_CONFIG_DEFAULT_PORT        51820
#define LRD_CONFIG_DEFAULT_INTERFACE   "lanrage0"

typedef struct
{
  char    *control_url;   /* always ends in "/" */
  guint16  port;
  char    *backend;       /* "auto", "networkmanager" or "uapi" */
  char    *interface_name;
  char    *wireguard_go;  /* nullable */
  GStrv    relays;        /* host:port, never NULL */
} LrdConfig;

LrdConfig *lrd_config_new_default (void);
LrdConfig *lrd_config_load        (const char  *path,
                                   gboolean     must_exist,
                                   GError     **error);
void       lrd_config_free        (LrdConfig   *self);
char      *lrd_config_normalize_control_url (const char  *text,
                                             GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrdConfig, lrd_config_free)

G_END_DECLS
