/* lanrage-game.h: a game a member of the party announces on the LAN, as the window shows it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LANRAGE_TYPE_GAME (lanrage_game_get_type ())

G_DECLARE_FINAL_TYPE (LanrageGame, lanrage_game, LANRAGE, GAME, GObject)

LanrageGame *lanrage_game_new              (const char  *title_id,
                                            const char  *title,
                                            const char  *host,
                                            guint16      port);
const char  *lanrage_game_get_title_id     (LanrageGame *self);
const char  *lanrage_game_get_title        (LanrageGame *self);
/* The host's virtual address ("10.66.0.2"). */
const char  *lanrage_game_get_host         (LanrageGame *self);
guint16      lanrage_game_get_port         (LanrageGame *self);
/* What a person types into the game's "direct connect": "10.66.0.2:25565". */
const char  *lanrage_game_get_address      (LanrageGame *self);
/* The host's display name, or "" while no member has the host's address. */
const char  *lanrage_game_get_host_name    (LanrageGame *self);
void         lanrage_game_set_host_name    (LanrageGame *self,
                                            const char  *host_name);
/* The name the host gave the game (a Minecraft world's MOTD), or "". */
const char  *lanrage_game_get_name         (LanrageGame *self);
void         lanrage_game_set_name         (LanrageGame *self,
                                            const char  *name);
/* More the announcement says ("3/8 players"), or "". */
const char  *lanrage_game_get_details      (LanrageGame *self);
void         lanrage_game_set_details      (LanrageGame *self,
                                            const char  *details);
/* TRUE when the game is the one the helper lists as @title_id from @host:@port. */
gboolean     lanrage_game_is                (LanrageGame *self,
                                            const char  *title_id,
                                            const char  *host,
                                            guint16      port);
/* The name a person knows the game by: its own name when it has one, else its title. */
const char  *lanrage_game_get_display_name (LanrageGame *self);
/* Who hosts it, in words: the host's name, or its address while the name is not known. */
const char  *lanrage_game_get_host_display (LanrageGame *self);

G_END_DECLS
