/* lr-game-lobby.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-game-lobby.h"

struct _LrGameLobby
{
  LrClock *clock;
  GArray  *games;   /* LrGame, oldest first */
};

static void
game_clear (gpointer data)
{
  LrGame *game = data;

  g_clear_pointer (&game->name, g_free);
  g_clear_pointer (&game->details, g_free);
}

LrGameLobby *
lr_game_lobby_new (LrClock *clock)
{
  LrGameLobby *self = g_new0 (LrGameLobby, 1);

  self->clock = lr_clock_ref (clock);
  self->games = g_array_new (FALSE, TRUE, sizeof (LrGame));
  g_array_set_clear_func (self->games, game_clear);
  return self;
}

void
lr_game_lobby_free (LrGameLobby *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->games);
  lr_clock_unref (self->clock);
  g_free (self);
}

gboolean
lr_game_lobby_observe (LrGameLobby              *self,
                       guint32                   host,
                       guint16                   source_port,
                       const LrGameAnnouncement *announcement)
{
  gint64 now_us = lr_clock_now_us (self->clock);
  guint16 port = announcement->port != 0 ? announcement->port : source_port;
  LrGame game = { 0 };

  g_return_val_if_fail (announcement->title != NULL, FALSE);

  for (guint i = 0; i < self->games->len; i++)
    {
      LrGame *known = &g_array_index (self->games, LrGame, i);
      gboolean changed;

      if (known->host != host || known->title != announcement->title || known->port != port)
        continue;
      known->last_seen_us = now_us;
      changed = g_strcmp0 (known->name, announcement->name) != 0 ||
                g_strcmp0 (known->details, announcement->details) != 0;
      if (changed)
        {
          g_free (known->name);
          known->name = g_strdup (announcement->name);
          g_free (known->details);
          known->details = g_strdup (announcement->details);
        }
      return changed;
    }

  if (port == 0 || self->games->len >= LR_GAME_LOBBY_MAX_GAMES)
    return FALSE;
  game.title = announcement->title;
  game.host = host;
  game.port = port;
  game.name = g_strdup (announcement->name);
  game.details = g_strdup (announcement->details);
  game.first_seen_us = game.last_seen_us = now_us;
  g_array_append_val (self->games, game);
  return TRUE;
}

static gint64
expires_us (const LrGame *game)
{
  return game->last_seen_us + (gint64) game->title->forget_after_ms * 1000;
}

gboolean
lr_game_lobby_expire (LrGameLobby *self)
{
  gint64 now_us = lr_clock_now_us (self->clock);
  gboolean changed = FALSE;

  for (guint i = self->games->len; i > 0; i--)
    if (now_us >= expires_us (&g_array_index (self->games, LrGame, i - 1)))
      {
        g_array_remove_index (self->games, i - 1);
        changed = TRUE;
      }
  return changed;
}

gboolean
lr_game_lobby_forget_host (LrGameLobby *self,
                           guint32      host)
{
  gboolean changed = FALSE;

  for (guint i = self->games->len; i > 0; i--)
    if (g_array_index (self->games, LrGame, i - 1).host == host)
      {
        g_array_remove_index (self->games, i - 1);
        changed = TRUE;
      }
  return changed;
}

const LrGame *
lr_game_lobby_get_games (LrGameLobby *self,
                         guint       *n_games)
{
  *n_games = self->games->len;
  return (const LrGame *) self->games->data;
}

gint64
lr_game_lobby_next_expiry_us (LrGameLobby *self)
{
  gint64 now_us = lr_clock_now_us (self->clock);
  gint64 next = -1;

  for (guint i = 0; i < self->games->len; i++)
    {
      gint64 left = MAX (0, expires_us (&g_array_index (self->games, LrGame, i)) - now_us);

      if (next < 0 || left < next)
        next = left;
    }
  return next;
}
