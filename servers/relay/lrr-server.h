/* lrr-server.h: lanrage-relay as a whole
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char    *listen;           /* ADDR:PORT, port 0 picks one */
  char    *alt_address;      /* RFC 5780's second ADDR:PORT, or NULL */
  char    *public_endpoint;  /* what lanrage-control tells clients */
  char    *control_url;
  char    *secret_file;
  char    *id;
  char    *region;
  char    *metrics;          /* ADDR:PORT of /metrics, or NULL */
  char    *deny_file;
  guint    threads;
  guint    max_clients;
  guint64  client_pps;
  guint64  client_bps;
  guint    idle_timeout_s;
  guint    error_rate;
  guint    stun_rate;
  guint    registration_interval_s;
} LrrServerOptions;

#define LRR_DEFAULT_LISTEN        "0.0.0.0:3478"
#define LRR_DEFAULT_MAX_CLIENTS   10000
/* A game over WireGuard sends a few hundred packets a second; a file copy between two
 * friends can use far more. 20k packets and 25 MB a second per client let a transfer run at
 * about 200 Mbit/s while no single client can take the relay's whole budget. */
#define LRR_DEFAULT_CLIENT_PPS    20000
#define LRR_DEFAULT_CLIENT_BPS    (25 * 1000 * 1000)
#define LRR_DEFAULT_IDLE_TIMEOUT  120
#define LRR_DEFAULT_ERROR_RATE    100
#define LRR_DEFAULT_STUN_RATE     2000

void lrr_server_options_init  (LrrServerOptions *options);
void lrr_server_options_clear (LrrServerOptions *options);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LrrServerOptions, lrr_server_options_clear)

#define LRR_TYPE_SERVER (lrr_server_get_type ())
G_DECLARE_FINAL_TYPE (LrrServer, lrr_server, LRR, SERVER, GObject)

LrrServer  *lrr_server_new               (const LrrServerOptions *options,
                                          GError                **error);
gboolean    lrr_server_start             (LrrServer              *self,
                                          GError                **error);
void        lrr_server_stop              (LrrServer              *self);
gboolean    lrr_server_reload_deny_list  (LrrServer              *self,
                                          GError                **error);
const char *lrr_server_get_listen_address (LrrServer             *self);
const char *lrr_server_get_metrics_address (LrrServer            *self);
GString    *lrr_server_render_metrics    (LrrServer              *self);

G_END_DECLS
