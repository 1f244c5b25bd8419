/* lanrage-peer-row.h: one player in the party's list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "lanrage-peer.h"

G_BEGIN_DECLS

#define LANRAGE_TYPE_PEER_ROW (lanrage_peer_row_get_type ())

G_DECLARE_FINAL_TYPE (LanragePeerRow, lanrage_peer_row, LANRAGE, PEER_ROW, AdwActionRow)

GtkWidget   *lanrage_peer_row_new      (LanragePeer    *peer);
LanragePeer *lanrage_peer_row_get_peer (LanragePeerRow *self);

G_END_DECLS
