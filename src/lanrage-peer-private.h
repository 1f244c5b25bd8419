/* lanrage-peer-private.h: how the helper client makes a LanragePeer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lanrage-peer.h"
#include "lrd-dbus-generated.h"

G_BEGIN_DECLS

LanragePeer *lanrage_peer_new (LrdHelper1Peer *proxy);

G_END_DECLS
