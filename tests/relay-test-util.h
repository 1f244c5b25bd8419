/* relay-test-util.h: helpers shared by the relay's tests and its bench
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <netinet/in.h>

G_BEGIN_DECLS

typedef struct
{
  GSubprocess *process;
  char        *dir;
  char        *secret_path;
  GBytes      *secret;
  char        *deny_path;
  guint16      port;
  char        *metrics_url;
} RelayProcess;

typedef struct
{
  int                fd;
  struct sockaddr_in addr;
} UdpClient;

void      relay_process_init    (RelayProcess       *self);
void      relay_process_start   (RelayProcess       *self,
                                 const char * const *extra_args);
gboolean  relay_process_stop    (RelayProcess       *self,
                                 int                 signal_number);
void      relay_process_clear   (RelayProcess       *self);
gint64    relay_process_metric  (RelayProcess       *self,
                                 const char         *name);
char     *relay_process_mint    (RelayProcess       *self,
                                 guint64             party,
                                 guint64             peer,
                                 gint64              expires_at);
gsize     relay_bind_frame      (guint8             *out,
                                 gsize               size,
                                 const char         *token,
                                 gint64              timestamp_us,
                                 guint64             counter);
guint64   relay_next_counter    (void);

void      udp_client_init       (UdpClient          *self,
                                 const char         *ip);
void      udp_client_clear      (UdpClient          *self);
void      udp_client_send       (UdpClient          *self,
                                 guint16             port,
                                 const char         *ip,
                                 gconstpointer       data,
                                 gsize               length);
gssize    udp_client_recv       (UdpClient          *self,
                                 guint8             *buffer,
                                 gsize               size,
                                 int                 timeout_ms,
                                 struct sockaddr_in *from);

G_END_DECLS
