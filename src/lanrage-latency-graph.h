/* lanrage-latency-graph.h: a peer's latency over the last minutes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "lanrage-peer.h"

G_BEGIN_DECLS

#define LANRAGE_TYPE_LATENCY_GRAPH (lanrage_latency_graph_get_type ())

G_DECLARE_FINAL_TYPE (LanrageLatencyGraph, lanrage_latency_graph, LANRAGE, LATENCY_GRAPH, GtkWidget)

LanragePeer *lanrage_latency_graph_get_peer (LanrageLatencyGraph *self);
void         lanrage_latency_graph_set_peer (LanrageLatencyGraph *self,
                                             LanragePeer         *peer);

G_END_DECLS
