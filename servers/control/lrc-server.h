/* lrc-server.h: lanrage-control's HTTP and WebSocket front
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "lrc-service.h"

G_BEGIN_DECLS

typedef struct
{
  char   *listen;               /* ADDR:PORT */
  char   *tls_cert;
  char   *tls_key;
  guint   join_rate_limit;      /* per minute and client address; 0: off */
  gint64  cleanup_interval_us;
  gint64  flush_interval_us;
  guint   max_connections;
  guint   max_connections_per_address;
  gint64  request_timeout_us;
  guint   ping_interval_s;      /* events sockets */
  gint64  instance_lease_us;    /* a shared database: how long an instance's lease holds */
} LrcServerOptions;

#define LRC_TYPE_SERVER (lrc_server_get_type ())
G_DECLARE_FINAL_TYPE (LrcServer, lrc_server, LRC, SERVER, GObject)

LrcServer *lrc_server_new     (LrcService              *service,
                               LrClock                 *clock,
                               const LrcServerOptions  *options,
                               GError                 **error);
char      *lrc_server_get_url (LrcServer               *self);
void       lrc_server_stop    (LrcServer               *self);

G_END_DECLS
