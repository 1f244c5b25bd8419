/* lr-game-lobby.h: the games being announced in the party
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The bridge feeds the lobby every announcement of a known title that a party member sent
 * (lr_game_lobby_observe) and asks it, now and then, to forget games not heard of for their
 * title's forget_after_ms (lr_game_lobby_expire). A game is one (host, title, port): the same
 * world announced again only moves its last-seen time, or changes its name and details.
 * Plain data on an injected LrClock, no main loop.
 */
#pragma once

#include <glib.h>

#include "lr-clock.h"
#include "lr-game-table.h"

G_BEGIN_DECLS

/* A member hosting at most this many games is plenty; more are ignored. */
#define LR_GAME_LOBBY_MAX_GAMES 256

typedef struct
{
  const LrGameTitle *title;
  guint32            host;          /* the host's virtual address, host byte order */
  guint16            port;          /* the port to connect to */
  char              *name;
  char              *details;       /* or NULL */
  gint64             first_seen_us;
  gint64             last_seen_us;
} LrGame;

typedef struct _LrGameLobby LrGameLobby;

LrGameLobby  *lr_game_lobby_new       (LrClock                  *clock);
void          lr_game_lobby_free      (LrGameLobby              *self);
/* @source_port: the port the announcement came from, used when it names none. Returns
 * TRUE when the list changed (a new game, or a new name or details). */
gboolean      lr_game_lobby_observe   (LrGameLobby              *self,
                                       guint32                   host,
                                       guint16                   source_port,
                                       const LrGameAnnouncement *announcement);
/* Forgets stale games; TRUE when the list changed. */
gboolean      lr_game_lobby_expire    (LrGameLobby              *self);
/* Forgets every game of @host (it left the party); TRUE when the list changed. */
gboolean      lr_game_lobby_forget_host (LrGameLobby            *self,
                                         guint32                 host);
/* The games, oldest first; valid until the next call that changes the lobby. */
const LrGame *lr_game_lobby_get_games (LrGameLobby              *self,
                                       guint                    *n_games);
/* Microseconds until the next game goes stale, or -1 when there are none. */
gint64        lr_game_lobby_next_expiry_us (LrGameLobby         *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrGameLobby, lr_game_lobby_free)

G_END_DECLS
