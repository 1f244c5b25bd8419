/* test-game-lobby.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-game-lobby.h"

#include <string.h>

#define HOST_A 0x0a420001u
#define HOST_B 0x0a420002u

typedef struct
{
  LrClock     *clock;
  LrGameLobby *lobby;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->clock = lr_clock_new_manual (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);
  f->lobby = lr_game_lobby_new (f->clock);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  lr_game_lobby_free (f->lobby);
  lr_clock_unref (f->clock);
}

static gboolean
observe (Fixture    *f,
         guint32     host,
         const char *datagram)
{
  g_auto(LrGameAnnouncement) a = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_true (lr_game_announcement_parse (&a, lr_game_table_find_by_id ("minecraft-java"),
                                             (const guint8 *) datagram, strlen (datagram),
                                             &error));
  g_assert_no_error (error);
  return lr_game_lobby_observe (f->lobby, host, 50000, &a);
}

static void
test_minecraft (Fixture       *f,
                gconstpointer  data)
{
  const LrGame *games;
  guint n;

  g_assert_cmpint (lr_game_lobby_next_expiry_us (f->lobby), ==, -1);
  g_assert_true (observe (f, HOST_A, "[MOTD]Steve - World[/MOTD][AD]43587[/AD]"));
  games = lr_game_lobby_get_games (f->lobby, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpstr (games[0].title->id, ==, "minecraft-java");
  g_assert_cmphex (games[0].host, ==, HOST_A);
  g_assert_cmpuint (games[0].port, ==, 43587);
  g_assert_cmpstr (games[0].name, ==, "Steve - World");
  g_assert_cmpint (lr_game_lobby_next_expiry_us (f->lobby), ==, 5000 * 1000);

  /* Announced every 1.5 s for a minute: one game, no change to report. */
  for (guint i = 0; i < 40; i++)
    {
      lr_clock_advance (f->clock, 1500 * 1000);
      g_assert_false (observe (f, HOST_A, "[MOTD]Steve - World[/MOTD][AD]43587[/AD]"));
      g_assert_false (lr_game_lobby_expire (f->lobby));
    }
  games = lr_game_lobby_get_games (f->lobby, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (games[0].last_seen_us - games[0].first_seen_us, ==, 60 * G_USEC_PER_SEC);

  /* A new MOTD for the same world is a change; another host's world is another game. */
  g_assert_true (observe (f, HOST_A, "[MOTD]Steve - Nether[/MOTD][AD]43587[/AD]"));
  g_assert_true (observe (f, HOST_B, "[MOTD]Alex[/MOTD][AD]43587[/AD]"));
  games = lr_game_lobby_get_games (f->lobby, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (games[0].name, ==, "Steve - Nether");

  /* A stops announcing: gone 5 s after its last announcement, B still there. */
  for (guint i = 0; i < 3; i++)
    {
      lr_clock_advance (f->clock, 1500 * 1000);
      observe (f, HOST_B, "[MOTD]Alex[/MOTD][AD]43587[/AD]");
      g_assert_false (lr_game_lobby_expire (f->lobby));
    }
  lr_clock_advance (f->clock, 500 * 1000);
  g_assert_true (lr_game_lobby_expire (f->lobby));
  games = lr_game_lobby_get_games (f->lobby, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmphex (games[0].host, ==, HOST_B);

  g_assert_true (lr_game_lobby_forget_host (f->lobby, HOST_B));
  g_assert_false (lr_game_lobby_forget_host (f->lobby, HOST_B));
  lr_game_lobby_get_games (f->lobby, &n);
  g_assert_cmpuint (n, ==, 0);
}

static void
test_source_port (Fixture       *f,
                  gconstpointer  data)
{
  LrGameAnnouncement a = { 0 };
  const LrGame *games;
  guint n;

  /* An answer that names no port is listed with the port it came from. */
  a.title = lr_game_table_find_by_id ("source");
  a.name = (char *) "Friday LAN";
  g_assert_true (lr_game_lobby_observe (f->lobby, HOST_A, 27015, &a));
  games = lr_game_lobby_get_games (f->lobby, &n);
  g_assert_cmpuint (games[0].port, ==, 27015);
  g_assert_null (games[0].details);
}

static void
test_bounded (Fixture       *f,
              gconstpointer  data)
{
  guint n;

  for (guint i = 1; i <= LR_GAME_LOBBY_MAX_GAMES + 10; i++)
    {
      g_autofree char *datagram = g_strdup_printf ("[MOTD]w%u[/MOTD][AD]%u[/AD]", i, i);

      observe (f, HOST_A, datagram);
    }
  lr_game_lobby_get_games (f->lobby, &n);
  g_assert_cmpuint (n, ==, LR_GAME_LOBBY_MAX_GAMES);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/lr/game-lobby/minecraft", Fixture, NULL, fixture_setup, test_minecraft,
              fixture_teardown);
  g_test_add ("/lr/game-lobby/source-port", Fixture, NULL, fixture_setup, test_source_port,
              fixture_teardown);
  g_test_add ("/lr/game-lobby/bounded", Fixture, NULL, fixture_setup, test_bounded,
              fixture_teardown);
  return g_test_run ();
}
