/* lanrage-peer.h: another member of the party, as the window shows it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* How far back the latency history reaches: what the details graph shows. */
#define LANRAGE_PEER_HISTORY_US (3 * G_TIME_SPAN_MINUTE)

typedef struct
{
  gint64 time_us;     /* g_get_monotonic_time () when it was measured */
  double latency_ms;
} LanrageLatencySample;

#define LANRAGE_TYPE_PEER (lanrage_peer_get_type ())

G_DECLARE_FINAL_TYPE (LanragePeer, lanrage_peer, LANRAGE, PEER, GObject)

const char *lanrage_peer_get_id              (LanragePeer *self);
const char *lanrage_peer_get_name            (LanragePeer *self);
const char *lanrage_peer_get_virtual_address (LanragePeer *self);
gboolean    lanrage_peer_get_online          (LanragePeer *self);
const char *lanrage_peer_get_path            (LanragePeer *self);
const char *lanrage_peer_get_endpoint        (LanragePeer *self);
const char *lanrage_peer_get_relay           (LanragePeer *self);
double      lanrage_peer_get_latency_ms      (LanragePeer *self);
double      lanrage_peer_get_jitter_ms       (LanragePeer *self);
double      lanrage_peer_get_loss_percent    (LanragePeer *self);
const char *lanrage_peer_get_quality         (LanragePeer *self);
const char *lanrage_peer_get_nat_type        (LanragePeer *self);
guint64     lanrage_peer_get_rx_bytes        (LanragePeer *self);
guint64     lanrage_peer_get_tx_bytes        (LanragePeer *self);
gint64      lanrage_peer_get_last_handshake  (LanragePeer *self);

/* The latency samples of the last LANRAGE_PEER_HISTORY_US, oldest first. */
const LanrageLatencySample *lanrage_peer_get_latency_history (LanragePeer *self,
                                                              guint       *n_samples);
/* Each change of path, oldest first, as text a person reads ("21:04:12  Relayed via …"). */
GListModel *lanrage_peer_get_path_history (LanragePeer *self);

/* Words for the path and the quality, shared by the peer's row, its details and the tray. */
char       *lanrage_peer_describe_path    (LanragePeer *self);
char       *lanrage_peer_describe_latency (LanragePeer *self);
const char *lanrage_peer_get_quality_css_class (LanragePeer *self);

G_END_DECLS
