/* lr-wg-uapi.h: the WireGuard cross-platform userspace API (UAPI) text protocol
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What wireguard-go (and boringtun) speak on /run/wireguard/IFNAME.sock: a request is
 * `get=1\n\n` or `set=1\n` followed by `key=value` lines and an empty line; every answer is
 * `key=value` lines ending with `errno=N` and an empty line (https://www.wireguard.com/xplatform/).
 * These are the pure parts: answer parsing and request formatting. No I/O.
 */
#pragma once

#include <gio/gio.h>

#include "lr-addr.h"
#include "lr-key.h"

G_BEGIN_DECLS


/* Limits well above anything a party needs, so a broken or hostile daemon cannot make the
 * helper allocate without bound. */
#define LR_WG_UAPI_MAX_ANSWER_SIZE     (4 * 1024 * 1024)
#define LR_WG_UAPI_MAX_LINE_LENGTH     1024
#define LR_WG_UAPI_MAX_PEERS           4096
#define LR_WG_UAPI_MAX_ALLOWED_IPS     1024

typedef struct
{
  LrKey               public_key;
  gboolean            has_preshared_key;
  LrAddr              endpoint;              /* length 0: none */
  GPtrArray          *allowed_ips;           /* (element-type utf8): canonical CIDR strings */
  guint64             rx_bytes;
  guint64             tx_bytes;
  gint64              last_handshake_sec;    /* 0 = never */
  gint64              last_handshake_nsec;
  guint               persistent_keepalive;  /* seconds, 0 = off */
} LrWgUapiPeer;

typedef struct
{
  gboolean  has_private_key;
  guint16   listen_port;
  guint32   fwmark;
  GArray   *peers;                           /* (element-type LrWgUapiPeer) */
} LrWgUapiDevice;

void            lr_wg_uapi_peer_clear        (LrWgUapiPeer   *peer);
void            lr_wg_uapi_device_free       (LrWgUapiDevice *device);

gssize          lr_wg_uapi_answer_length     (const char     *buffer,
                                              gsize           length);
LrWgUapiDevice *lr_wg_uapi_parse_get         (const char     *text,
                                              gsize           length,
                                              GError        **error);
gboolean        lr_wg_uapi_parse_set         (const char     *text,
                                              gsize           length,
                                              int            *out_errno,
                                              GError        **error);

void            lr_wg_uapi_append_key        (GString        *request,
                                              const char     *name,
                                              const LrKey    *key);
gboolean        lr_wg_uapi_check_cidr        (const char     *cidr,
                                              GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrWgUapiDevice, lr_wg_uapi_device_free)

G_END_DECLS
