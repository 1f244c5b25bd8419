/* lanrage-peer-details.h: everything about the link to one player
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "lanrage-peer.h"

G_BEGIN_DECLS

#define LANRAGE_TYPE_PEER_DETAILS (lanrage_peer_details_get_type ())

G_DECLARE_FINAL_TYPE (LanragePeerDetails, lanrage_peer_details, LANRAGE, PEER_DETAILS, GtkWidget)

LanragePeer *lanrage_peer_details_get_peer (LanragePeerDetails *self);
void         lanrage_peer_details_set_peer (LanragePeerDetails *self,
                                            LanragePeer        *peer);

G_END_DECLS
