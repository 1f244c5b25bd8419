/* test-game-table.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"
#include "lr-game-table.h"

#include <string.h>

#define MINECRAFT_GROUP 0xe000023cu

static void
test_lookup (void)
{
  guint n;
  const LrGameTitle *titles = lr_game_table_get_titles (&n);

  g_assert_cmpstr (lr_game_table_lookup (MINECRAFT_GROUP, 4445)->id, ==, "minecraft-java");
  /* Minecraft Java only on its group; broadcast titles on any broadcast, never a group. */
  g_assert_null (lr_game_table_lookup (0xffffffff, 4445));
  g_assert_null (lr_game_table_lookup (0xe0000001, 4445));
  g_assert_cmpstr (lr_game_table_lookup (0xffffffff, 19132)->id, ==, "minecraft-bedrock");
  g_assert_cmpstr (lr_game_table_lookup (0x0a42ffff, 6112)->id, ==, "warcraft3");
  g_assert_cmpstr (lr_game_table_lookup (0xffffffff, 27015)->id, ==, "source");
  g_assert_cmpstr (lr_game_table_lookup (0xffffffff, 27020)->id, ==, "source");
  g_assert_null (lr_game_table_lookup (0xffffffff, 27021));
  g_assert_null (lr_game_table_lookup (MINECRAFT_GROUP, 6112));
  g_assert_null (lr_game_table_lookup (0xffffffff, 40000));

  /* Every entry is well formed: unique ids, ports in order, a sensible expiry. */
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpuint (titles[i].first_port, >, 0);
      g_assert_cmpuint (titles[i].first_port, <=, titles[i].last_port);
      g_assert_cmpuint (titles[i].forget_after_ms, >=, 3000);
      g_assert_true (lr_game_table_find_by_id (titles[i].id) == &titles[i]);
    }
  g_assert_null (lr_game_table_find_by_id ("factorio"));
}

static void
check_refused (gboolean (*parse) (LrGameAnnouncement *, const guint8 *, gsize, GError **),
               const char *data,
               gsize       length)
{
  g_auto(LrGameAnnouncement) announcement = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_false (parse (&announcement, (const guint8 *) data, length, &error));
  g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
  g_assert_null (announcement.name);
  g_assert_null (announcement.details);
  g_assert_cmpuint (announcement.port, ==, 0);
}

#define REFUSED(parse, literal) check_refused (parse, literal, sizeof literal - 1)

static void
test_minecraft_java (void)
{
  g_auto(LrGameAnnouncement) a = { 0 };
  g_autoptr(GError) error = NULL;
  static const char current[] = "[MOTD]Steve - New World[/MOTD][AD]43587[/AD]";
  /* The example of wiki.vg's "Lan Worlds" page (2012), when AD still carried the address. */
  static const char wiki_vg[] = "[MOTD]pdelvo - world[/MOTD][AD]192.168.2.42:15380[/AD]";
  static const char colours[] = "[MOTD]\xc2\xa7" "6Gold \xc3\xa9t\xc3\xa9[/MOTD][AD]25565[/AD]";

  g_assert_true (lr_game_parse_minecraft_java (&a, (const guint8 *) current, strlen (current),
                                               &error));
  g_assert_no_error (error);
  g_assert_cmpstr (a.name, ==, "Steve - New World");
  g_assert_cmpuint (a.port, ==, 43587);
  lr_game_announcement_clear (&a);

  g_assert_true (lr_game_parse_minecraft_java (&a, (const guint8 *) wiki_vg, strlen (wiki_vg),
                                               &error));
  g_assert_cmpstr (a.name, ==, "pdelvo - world");
  g_assert_cmpuint (a.port, ==, 15380);
  lr_game_announcement_clear (&a);

  g_assert_true (lr_game_parse_minecraft_java (&a, (const guint8 *) colours, strlen (colours),
                                               &error));
  g_assert_cmpstr (a.name, ==, "\xc2\xa7" "6Gold \xc3\xa9t\xc3\xa9");
  lr_game_announcement_clear (&a);

  /* Through the table: the title is set. */
  g_assert_true (lr_game_announcement_parse (&a, lr_game_table_find_by_id ("minecraft-java"),
                                             (const guint8 *) current, strlen (current), &error));
  g_assert_cmpstr (a.title->title, ==, "Minecraft: Java Edition");

  REFUSED (lr_game_parse_minecraft_java, "");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]w[/MOTD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]w[AD]1[/AD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]w[/MOTD][AD]1");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD][/MOTD][AD]25565[/AD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]w[/MOTD][AD]0[/AD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]w[/MOTD][AD]65536[/AD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]w[/MOTD][AD]-1[/AD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]w[/MOTD][AD]0080[/AD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]w[/MOTD][AD]host:[/AD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]line\nbreak[/MOTD][AD]25565[/AD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]\xff[/MOTD][AD]25565[/AD]");
  REFUSED (lr_game_parse_minecraft_java, "[MOTD]a\0b[/MOTD][AD]25565[/AD]");
  /* The AD must come after the MOTD, as Minecraft reads it. */
  REFUSED (lr_game_parse_minecraft_java, "[AD]25565[/AD][MOTD]w[/MOTD]");
}

static GByteArray *
raknet_pong (const char *text)
{
  static const guint8 head[] = {
    0x1c,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42, 0x40,             /* time */
    0xb7, 0xef, 0x2b, 0x44, 0x9d, 0x3e, 0x15, 0xb1,             /* server GUID */
    0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe,             /* RakNet magic */
    0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78,
  };
  GByteArray *pong = g_byte_array_new ();
  guint8 length[2] = { strlen (text) >> 8, strlen (text) & 0xff };

  g_byte_array_append (pong, head, sizeof head);
  g_byte_array_append (pong, length, 2);
  g_byte_array_append (pong, (const guint8 *) text, strlen (text));
  return pong;
}

static void
test_raknet_pong (void)
{
  g_auto(LrGameAnnouncement) a = { 0 };
  g_autoptr(GError) error = NULL;
  /* The server string of wiki.vg's "Raknet Protocol" page, as a dedicated server sends it. */
  g_autoptr(GByteArray) pong = raknet_pong ("MCPE;Dedicated Server;390;1.14.60;0;10;"
                                            "13253860892328930865;Bedrock level;Survival;1;"
                                            "19132;19133;");
  g_autoptr(GByteArray) world = raknet_pong ("MCPE;Alex's world;649;1.20.62;1;8;"
                                             "13253860892328930865;My World;Creative;1;"
                                             "51234;51235;");
  g_autoptr(GByteArray) old = raknet_pong ("MCPE;Old server;70;0.14.0;2;20");
  g_autoptr(GByteArray) java = raknet_pong ("MCJE;x;1;1;1;1");
  g_autoptr(GByteArray) short_string = raknet_pong ("MCPE;x;1;1;1");

  g_assert_true (lr_game_parse_raknet_pong (&a, pong->data, pong->len, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (a.name, ==, "Dedicated Server");
  g_assert_cmpuint (a.port, ==, 19132);
  g_assert_cmpstr (a.details, ==, "1.14.60, 0/10 players");
  lr_game_announcement_clear (&a);

  g_assert_true (lr_game_parse_raknet_pong (&a, world->data, world->len, &error));
  g_assert_cmpstr (a.name, ==, "Alex's world");
  g_assert_cmpuint (a.port, ==, 51234);
  lr_game_announcement_clear (&a);

  /* Before the port fields existed: the port the pong came from. */
  g_assert_true (lr_game_parse_raknet_pong (&a, old->data, old->len, &error));
  g_assert_cmpuint (a.port, ==, 0);
  g_assert_cmpstr (a.details, ==, "0.14.0, 2/20 players");
  lr_game_announcement_clear (&a);

  check_refused (lr_game_parse_raknet_pong, (const char *) java->data, java->len);
  check_refused (lr_game_parse_raknet_pong, (const char *) short_string->data, short_string->len);
  check_refused (lr_game_parse_raknet_pong, (const char *) pong->data, pong->len - 1);
  pong->data[20] ^= 1; /* the magic */
  check_refused (lr_game_parse_raknet_pong, (const char *) pong->data, pong->len);
  pong->data[20] ^= 1;
  pong->data[0] = 0x01; /* a ping, not a pong */
  check_refused (lr_game_parse_raknet_pong, (const char *) pong->data, pong->len);
  for (gsize i = 0; i < 35; i++)
    check_refused (lr_game_parse_raknet_pong, (const char *) world->data, i);
}

/* A W3GS_GAMEINFO laid out as GHost++ writes it, which Warcraft III lists. */
static GByteArray *
w3gs_gameinfo (const char *product,
               const char *name,
               guint32     slots_total,
               guint32     slots_open,
               guint16     port)
{
  GByteArray *packet = g_byte_array_new ();
  static const guint8 header[] = { 0xf7, 0x30, 0, 0 };
  static const guint8 counters[] = { 26, 0, 0, 0, 1, 0, 0, 0, 0x2a, 0x1f, 0x5c, 0x10 };
  /* An encoded stat string, as GHost++'s UTIL_EncodeStatString leaves it: no zero bytes. */
  static const guint8 stat[] = { 0x01, 0x03, 0x49, 0x07, 0x01, 0x01, 0x75, 0x01, 0x65, 0x00 };
  guint8 tail[22] = { 0 };

  g_byte_array_append (packet, header, sizeof header);
  g_byte_array_append (packet, (const guint8 *) product, 4);
  g_byte_array_append (packet, counters, sizeof counters);
  g_byte_array_append (packet, (const guint8 *) name, strlen (name) + 1);
  g_byte_array_append (packet, (const guint8 *) "", 1);
  g_byte_array_append (packet, stat, sizeof stat);
  tail[0] = slots_total;
  tail[4] = 1;                  /* game type */
  tail[8] = 1;                  /* unknown */
  tail[12] = slots_open;
  tail[16] = 42;                /* uptime */
  tail[20] = port & 0xff;
  tail[21] = port >> 8;
  g_byte_array_append (packet, tail, sizeof tail);
  packet->data[2] = packet->len & 0xff;
  packet->data[3] = packet->len >> 8;
  return packet;
}

static void
test_w3gs_gameinfo (void)
{
  g_auto(LrGameAnnouncement) a = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) tft = w3gs_gameinfo ("PX3W", "dota 6.83 -ap", 10, 3, 6112);
  g_autoptr(GByteArray) roc = w3gs_gameinfo ("3RAW", "Kalimdor", 8, 8, 6113);
  g_autoptr(GByteArray) bad = NULL;

  g_assert_true (lr_game_parse_w3gs_gameinfo (&a, tft->data, tft->len, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (a.name, ==, "dota 6.83 -ap");
  g_assert_cmpuint (a.port, ==, 6112);
  g_assert_cmpstr (a.details, ==, "The Frozen Throne 1.26, 3 of 10 slots open");
  lr_game_announcement_clear (&a);

  g_assert_true (lr_game_parse_w3gs_gameinfo (&a, roc->data, roc->len, &error));
  g_assert_cmpuint (a.port, ==, 6113);
  g_assert_cmpstr (a.details, ==, "Reign of Chaos 1.26, 8 of 8 slots open");
  lr_game_announcement_clear (&a);

  for (gsize i = 0; i < tft->len; i++)
    check_refused (lr_game_parse_w3gs_gameinfo, (const char *) tft->data, i);
  bad = w3gs_gameinfo ("XXXX", "x", 10, 3, 6112);
  check_refused (lr_game_parse_w3gs_gameinfo, (const char *) bad->data, bad->len);
  g_clear_pointer (&bad, g_byte_array_unref);
  bad = w3gs_gameinfo ("PX3W", "", 10, 3, 6112);
  check_refused (lr_game_parse_w3gs_gameinfo, (const char *) bad->data, bad->len);
  g_clear_pointer (&bad, g_byte_array_unref);
  bad = w3gs_gameinfo ("PX3W", "x", 10, 11, 6112);
  check_refused (lr_game_parse_w3gs_gameinfo, (const char *) bad->data, bad->len);
  g_clear_pointer (&bad, g_byte_array_unref);
  bad = w3gs_gameinfo ("PX3W", "x", 10, 3, 0);
  check_refused (lr_game_parse_w3gs_gameinfo, (const char *) bad->data, bad->len);
  /* A SEARCHGAME (0x2f) is a query, not a game. */
  REFUSED (lr_game_parse_w3gs_gameinfo, "\xf7\x2f\x10\x00PX3W\x1a\x00\x00\x00\x00\x00\x00\x00");
}

static void
test_a2s_info (void)
{
  g_auto(LrGameAnnouncement) a = { 0 };
  g_autoptr(GError) error = NULL;
  /* The example response of the Valve Developer Community's "Server queries" page. */
  static const char valve[] =
    "\xff\xff\xff\xff\x49\x02game2xs.com Counter-Strike Source #1\0de_dust\0cstrike\0"
    "Counter-Strike: Source\0\xf0\x00\x05\x10\x04\x64\x6c\x00\x00" "1.0.0.22";
  /* With the extra data flag and the game port (0x80). */
  static const char edf[] =
    "\xff\xff\xff\xff\x49\x11" "Friday LAN\0cp_badlands\0tf\0Team Fortress\0\xb8\x01\x02\x18\x00"
    "dl\x00\x01" "8965239\0\x80\x88\x69";
  /* The Ship (app id 2400) carries three more bytes before the version. */
  static const char ship[] =
    "\xff\xff\xff\xff\x49\x07Ship\0batavier\0ship\0The Ship\0\x60\x09\x01\x08\x00\x64\x77\x00"
    "\x00\x01\x03\x10" "1.0\0";

  g_assert_true (lr_game_parse_a2s_info (&a, (const guint8 *) valve, sizeof valve, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (a.name, ==, "game2xs.com Counter-Strike Source #1");
  g_assert_cmpstr (a.details, ==, "Counter-Strike: Source on de_dust, 5/16 players");
  g_assert_cmpuint (a.port, ==, 0);
  lr_game_announcement_clear (&a);

  g_assert_true (lr_game_parse_a2s_info (&a, (const guint8 *) edf, sizeof edf - 1, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (a.name, ==, "Friday LAN");
  g_assert_cmpuint (a.port, ==, 27016);
  lr_game_announcement_clear (&a);

  g_assert_true (lr_game_parse_a2s_info (&a, (const guint8 *) ship, sizeof ship - 1, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (a.details, ==, "The Ship on batavier, 1/8 players");
  lr_game_announcement_clear (&a);

  for (gsize i = 0; i < sizeof valve - 1; i++)
    check_refused (lr_game_parse_a2s_info, valve, i);
  /* The query a server browser broadcasts is no answer. */
  REFUSED (lr_game_parse_a2s_info, "\xff\xff\xff\xff\x54Source Engine Query\0");
  REFUSED (lr_game_parse_a2s_info, "\xff\xff\xff\xff\x49\x11\x01\0m\0f\0g\0\xb8\x01\x02\x18\x00"
                                   "dl\x00\x01" "1\0\x80\x00\x00");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lr/game-table/lookup", test_lookup);
  g_test_add_func ("/lr/game-table/minecraft-java", test_minecraft_java);
  g_test_add_func ("/lr/game-table/raknet-pong", test_raknet_pong);
  g_test_add_func ("/lr/game-table/w3gs-gameinfo", test_w3gs_gameinfo);
  g_test_add_func ("/lr/game-table/a2s-info", test_a2s_info);
  return g_test_run ();
}
