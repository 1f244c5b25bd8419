/* lanrage-game-row.h: one game in the party page's "Games in This Party"
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "lanrage-game.h"

G_BEGIN_DECLS

#define LANRAGE_TYPE_GAME_ROW (lanrage_game_row_get_type ())

G_DECLARE_FINAL_TYPE (LanrageGameRow, lanrage_game_row, LANRAGE, GAME_ROW, AdwActionRow)

GtkWidget   *lanrage_game_row_new      (LanrageGame    *game);
LanrageGame *lanrage_game_row_get_game (LanrageGameRow *self);

G_END_DECLS
