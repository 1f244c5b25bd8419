/* lrc-listener.h: accepts connections for the SoupServer and bounds what each client holds
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct
{
  guint  max_connections;               /* open at once, over all clients */
  guint  max_connections_per_address;   /* per address (IPv6: per /64) */
  gint64 request_timeout_us;            /* TLS handshake and request; then the answer */
} LrcListenerLimits;

#define LRC_TYPE_LISTENER (lrc_listener_get_type ())
G_DECLARE_FINAL_TYPE (LrcListener, lrc_listener, LRC, LISTENER, GObject)

LrcListener *lrc_listener_new               (SoupServer              *soup,
                                             GSocket                 *socket,
                                             GTlsCertificate         *certificate,
                                             const LrcListenerLimits *limits);
void         lrc_listener_stop              (LrcListener             *self);
void         lrc_listener_release           (LrcListener             *self,
                                             SoupServerMessage       *msg);
guint        lrc_listener_get_n_connections (LrcListener             *self);
guint64      lrc_listener_get_n_refused     (LrcListener             *self);

G_END_DECLS
