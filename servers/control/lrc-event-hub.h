/* lrc-event-hub.h: the events sockets of every party
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _LrcEventHub LrcEventHub;

LrcEventHub *lrc_event_hub_new       (void);
void         lrc_event_hub_free      (LrcEventHub             *self);
void         lrc_event_hub_add       (LrcEventHub             *self,
                                      const char              *party_id,
                                      const char              *peer_id,
                                      SoupWebsocketConnection *connection);
void         lrc_event_hub_release   (LrcEventHub             *self,
                                      const char              *party_id,
                                      SoupWebsocketConnection *connection,
                                      const char              *first);
void         lrc_event_hub_remove    (LrcEventHub             *self,
                                      const char              *party_id,
                                      SoupWebsocketConnection *connection);
void         lrc_event_hub_broadcast (LrcEventHub             *self,
                                      const char              *party_id,
                                      const char              *message);
gboolean     lrc_event_hub_send_to   (LrcEventHub             *self,
                                      const char              *party_id,
                                      const char              *peer_id,
                                      const char              *message);
void         lrc_event_hub_close     (LrcEventHub             *self,
                                      const char              *party_id,
                                      const char              *peer_id,
                                      const char              *reason);
void         lrc_event_hub_close_all (LrcEventHub             *self,
                                      const char              *reason);
guint        lrc_event_hub_get_n_connections (LrcEventHub     *self);
guint        lrc_event_hub_count_peer (LrcEventHub            *self,
                                       const char             *party_id,
                                       const char             *peer_id);
gboolean     lrc_event_hub_replace_oldest (LrcEventHub        *self,
                                           const char         *party_id,
                                           const char         *peer_id,
                                           const char         *reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrcEventHub, lrc_event_hub_free)

G_END_DECLS
