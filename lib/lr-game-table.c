/* lr-game-table.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "lr-game-table.h"

#include "lr-bytes.h"
#include "lr-error.h"

#include <string.h>

#define MINECRAFT_GROUP 0xe000023c /* 224.0.2.60 */

/* Where each entry comes from:
 *
 * minecraft-java: wiki.vg "Lan Worlds" (2012, Minecraft 1.3.1 on): the hosting client sends
 *   "[MOTD]<world>[/MOTD][AD]<port>[/AD]" to 224.0.2.60:4445 every 1500 ms; the Minecraft
 *   Wiki's "Tutorials/Setting up a LAN world" says the same (UDP multicast, every 1.5 s).
 * minecraft-bedrock: wiki.vg "Raknet Protocol" and wiki.bedrock.dev "RakNet and MCPE": the
 *   client sends RakNet unconnected pings (0x01) to the LAN on UDP 19132 about once a second,
 *   and a host answers with an unconnected pong (0x1c) whose string is
 *   "MCPE;<motd>;<protocol>;<version>;<players>;<max>;<guid>;<sub-motd>;<mode>;<mode
 *   number>;<port v4>;<port v6>;".
 * warcraft3: bnetdocs.org packet 435, W3GS_GAMEINFO (0x30): "sent every 5 seconds over a UDP
 *   broadcast to update the local area network"; on port 6112 from port 6112
 *   (OpenSourceLAN service-discovery-helper GAMES.md, captured with 1.23.0.6352). Field
 *   layout as GHost++ (gameprotocol.cpp, SEND_W3GS_GAMEINFO), which real clients list.
 * source: Valve Developer Community "Server queries" (A2S_INFO request and response);
 *   service-discovery-helper GAMES.md (captured with TF2, 2013): the server browser's LAN tab
 *   broadcasts to 255.255.255.255 on ports 27015-27020.
 * The port-only entries are service-discovery-helper's GAMES.md captures, each sent to
 *   255.255.255.255: ARMA 2 / DayZ (every 12th port of 2302-2470), Blur (50001), FlatOut 2
 *   (23757), OpenTTD (3979), Trackmania and Shootmania (2350-2360), Unreal Tournament 2004
 *   (10777), Warsow (44400).
 *
 * Factorio is not listed: its LAN announcement's port and format are documented nowhere we
 * could check, and a capture was not available here. */
static const LrGameTitle titles[] = {
  { "minecraft-java", "Minecraft: Java Edition", MINECRAFT_GROUP, 4445, 4445,
    LR_GAME_FORMAT_MINECRAFT_JAVA, 5000 },
  { "minecraft-bedrock", "Minecraft: Bedrock Edition", 0, 19132, 19132,
    LR_GAME_FORMAT_RAKNET_PONG, 5000 },
  { "warcraft3", "Warcraft III", 0, 6112, 6112, LR_GAME_FORMAT_W3GS_GAMEINFO, 15000 },
  { "source", "Source engine game", 0, 27015, 27020, LR_GAME_FORMAT_A2S_INFO, 15000 },
  { "arma2", "ARMA 2 / DayZ", 0, 2302, 2470, LR_GAME_FORMAT_NONE, 15000 },
  { "blur", "Blur", 0, 50001, 50001, LR_GAME_FORMAT_NONE, 15000 },
  { "flatout2", "FlatOut 2", 0, 23757, 23757, LR_GAME_FORMAT_NONE, 15000 },
  { "openttd", "OpenTTD", 0, 3979, 3979, LR_GAME_FORMAT_NONE, 15000 },
  { "trackmania", "Trackmania / Shootmania", 0, 2350, 2360, LR_GAME_FORMAT_NONE, 15000 },
  { "ut2004", "Unreal Tournament 2004", 0, 10777, 10777, LR_GAME_FORMAT_NONE, 15000 },
  { "warsow", "Warsow", 0, 44400, 44400, LR_GAME_FORMAT_NONE, 15000 },
};

/* Names and details shown to people are at most this long. */
#define MAX_TEXT 256

const LrGameTitle *
lr_game_table_get_titles (guint *n_titles)
{
  *n_titles = G_N_ELEMENTS (titles);
  return titles;
}

const LrGameTitle *
lr_game_table_find_by_id (const char *id)
{
  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    if (g_strcmp0 (titles[i].id, id) == 0)
      return &titles[i];
  return NULL;
}

const LrGameTitle *
lr_game_table_lookup (guint32 destination,
                      guint16 port)
{
  gboolean multicast = (destination >> 28) == 0xe;

  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    {
      const LrGameTitle *title = &titles[i];

      if (port < title->first_port || port > title->last_port)
        continue;
      if (title->group != 0 ? destination == title->group : !multicast)
        return title;
    }
  return NULL;
}

void
lr_game_announcement_clear (LrGameAnnouncement *self)
{
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->details, g_free);
  self->title = NULL;
  self->port = 0;
}

static gboolean
fail (GError     **error,
      const char  *format,
      ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError     **error,
      const char  *format,
      ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (LR_ERROR, LR_ERROR_INVALID, format, args));
  va_end (args);
  return FALSE;
}

/* A copy of @length bytes of text if they are 1..MAX_TEXT bytes of UTF-8 without control
 * characters, else NULL. */
static char *
text_dup (const guint8 *text,
          gsize         length)
{
  const char *end;

  if (length == 0 || length > MAX_TEXT || !g_utf8_validate ((const char *) text, length, &end))
    return NULL;
  for (const char *p = (const char *) text; p < end; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return NULL;
  return g_strndup ((const char *) text, length);
}

/* A decimal port of 1..65535, all digits, no sign and no leading zero. */
static gboolean
port_parse (const guint8 *text,
            gsize         length,
            guint16      *port)
{
  guint value = 0;

  if (length == 0 || length > 5 || text[0] == '0')
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      value = value * 10 + (text[i] - '0');
    }
  if (value > 65535)
    return FALSE;
  *port = value;
  return TRUE;
}

static const guint8 *
find (const guint8 *data,
      gsize         length,
      const char   *needle)
{
  return memmem (data, length, needle, strlen (needle));
}

/**
 * lr_game_parse_minecraft_java:
 *
 * "[MOTD]<world>[/MOTD][AD]<port>[/AD]". Old clients wrote "host:port" in AD; the host part
 * is ignored, as Minecraft itself connects to the address the datagram came from.
 */
gboolean
lr_game_parse_minecraft_java (LrGameAnnouncement  *self,
                              const guint8        *data,
                              gsize                length,
                              GError             **error)
{
  const guint8 *motd, *motd_end, *ad, *ad_end, *colon;
  const guint8 *end = data + length;

  memset (self, 0, sizeof *self);
  motd = find (data, length, "[MOTD]");
  if (motd == NULL)
    return fail (error, "Minecraft announcement: no [MOTD]");
  motd += strlen ("[MOTD]");
  motd_end = find (motd, end - motd, "[/MOTD]");
  if (motd_end == NULL)
    return fail (error, "Minecraft announcement: no [/MOTD]");
  ad = find (motd_end, end - motd_end, "[AD]");
  if (ad == NULL)
    return fail (error, "Minecraft announcement: no [AD]");
  ad += strlen ("[AD]");
  ad_end = find (ad, end - ad, "[/AD]");
  if (ad_end == NULL)
    return fail (error, "Minecraft announcement: no [/AD]");

  colon = memrchr (ad, ':', ad_end - ad);
  if (colon != NULL)
    ad = colon + 1;
  if (!port_parse (ad, ad_end - ad, &self->port))
    return fail (error, "Minecraft announcement: AD is not a port of 1 to 65535");
  self->name = text_dup (motd, motd_end - motd);
  if (self->name == NULL)
    {
      self->port = 0;
      return fail (error, "Minecraft announcement: MOTD must be 1 to %u bytes of printable UTF-8",
                   MAX_TEXT);
    }
  return TRUE;
}

static const guint8 raknet_magic[16] = {
  0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe,
  0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78,
};

/**
 * lr_game_parse_raknet_pong:
 *
 * 0x1c, time (8), server GUID (8), RakNet's offline magic (16), a big-endian length (2) and
 * that many bytes of "MCPE;<motd>;<protocol>;<version>;<players>;<max>;<guid>;<sub-motd>;
 * <mode>;<mode number>;<port v4>;<port v6>;" (MCEE for Education Edition). Only the first six
 * fields are required; without a port field the port is 0 (the one the pong came from).
 */
gboolean
lr_game_parse_raknet_pong (LrGameAnnouncement  *self,
                           const guint8        *data,
                           gsize                length,
                           GError             **error)
{
  g_auto(GStrv) fields = NULL;
  g_autofree char *text = NULL;
  gsize text_length;
  guint n_fields;

  memset (self, 0, sizeof *self);
  if (length < 35 || data[0] != 0x1c || memcmp (data + 17, raknet_magic, 16) != 0)
    return fail (error, "RakNet pong: not an unconnected pong");
  text_length = lr_bytes_read_be16 (data + 33);
  if (text_length != length - 35)
    return fail (error, "RakNet pong: string length %" G_GSIZE_FORMAT " for %" G_GSIZE_FORMAT
                 " bytes", text_length, length - 35);
  if (text_length > 1024 || !g_utf8_validate ((const char *) data + 35, text_length, NULL) ||
      memchr (data + 35, 0, text_length) != NULL)
    return fail (error, "RakNet pong: the server string is not UTF-8");
  text = g_strndup ((const char *) data + 35, text_length);
  fields = g_strsplit (text, ";", 14);
  n_fields = g_strv_length (fields);
  if (n_fields < 6 || (g_strcmp0 (fields[0], "MCPE") != 0 && g_strcmp0 (fields[0], "MCEE") != 0))
    return fail (error, "RakNet pong: not a Minecraft server string");

  if (n_fields > 10 && fields[10][0] != '\0' &&
      !port_parse ((const guint8 *) fields[10], strlen (fields[10]), &self->port))
    return fail (error, "RakNet pong: the IPv4 port is not a port of 1 to 65535");

  self->name = text_dup ((const guint8 *) fields[1], strlen (fields[1]));
  if (self->name == NULL)
    {
      self->port = 0;
      return fail (error, "RakNet pong: MOTD must be 1 to %u bytes of printable UTF-8",
                   MAX_TEXT);
    }
  {
    g_autofree char *details = g_strdup_printf ("%s, %s/%s players", fields[3], fields[4],
                                                fields[5]);

    self->details = text_dup ((const guint8 *) details, strlen (details));
  }
  return TRUE;
}

static guint32
read_le32 (const guint8 *p)
{
  return p[0] | (p[1] << 8) | (p[2] << 16) | ((guint32) p[3] << 24);
}

/* The end of the NUL-terminated string at @p, or NULL if it runs past @end. */
static const guint8 *
cstring_end (const guint8 *p,
             const guint8 *end)
{
  return p < end ? memchr (p, 0, end - p) : NULL;
}

/**
 * lr_game_parse_w3gs_gameinfo:
 *
 * 0xf7 0x30, the length (2, little endian, the whole datagram), product ("3RAW" Reign of
 * Chaos, "PX3W" The Frozen Throne), version (4), host counter (4), entry key (4), game name
 * (NUL-terminated), password (NUL-terminated, empty), stat string (NUL-terminated, encoded),
 * then 22 bytes: slots total (4), game type (4), 4 unknown, slots open (4), uptime (4) and
 * the game port (2, little endian), all little endian.
 */
gboolean
lr_game_parse_w3gs_gameinfo (LrGameAnnouncement  *self,
                             const guint8        *data,
                             gsize                length,
                             GError             **error)
{
  const guint8 *end = data + length;
  const guint8 *name, *name_end, *password_end, *stat_end;
  const char *product;
  guint32 slots_total, slots_open;
  guint16 port;

  memset (self, 0, sizeof *self);
  if (length < 4 || data[0] != 0xf7 || data[1] != 0x30)
    return fail (error, "W3GS_GAMEINFO: not a W3GS_GAMEINFO");
  if ((gsize) (data[2] | (data[3] << 8)) != length)
    return fail (error, "W3GS_GAMEINFO: its length field is not its length");
  if (length < 20)
    return fail (error, "W3GS_GAMEINFO: truncated");
  if (memcmp (data + 4, "PX3W", 4) == 0)
    product = "The Frozen Throne";
  else if (memcmp (data + 4, "3RAW", 4) == 0)
    product = "Reign of Chaos";
  else
    return fail (error, "W3GS_GAMEINFO: unknown product");

  name = data + 20;
  name_end = cstring_end (name, end);
  password_end = name_end != NULL ? cstring_end (name_end + 1, end) : NULL;
  stat_end = password_end != NULL ? cstring_end (password_end + 1, end) : NULL;
  if (stat_end == NULL || end - (stat_end + 1) != 22)
    return fail (error, "W3GS_GAMEINFO: truncated or overlong");

  slots_total = read_le32 (stat_end + 1);
  slots_open = read_le32 (stat_end + 13);
  port = end[-2] | (end[-1] << 8);
  if (port == 0 || slots_total > 24 || slots_open > slots_total)
    return fail (error, "W3GS_GAMEINFO: impossible port or slots");
  self->name = text_dup (name, name_end - name);
  if (self->name == NULL)
    return fail (error, "W3GS_GAMEINFO: game name must be 1 to %u bytes of printable UTF-8",
                 MAX_TEXT);
  self->port = port;
  self->details = g_strdup_printf ("%s 1.%u, %u of %u slots open", product, data[8],
                                   slots_open, slots_total);
  return TRUE;
}

/**
 * lr_game_parse_a2s_info:
 *
 * A Source engine A2S_INFO response: 0xffffffff, 'I', protocol, name, map, folder, game
 * (NUL-terminated), app id (2), players, max players, bots, server type, environment,
 * visibility, VAC (1 each), The Ship's three bytes when the app id is 2400, version
 * (NUL-terminated), then optionally the extra data flag, whose 0x80 bit means the game port
 * (2, little endian) follows. Without it the port is 0 (the one the response came from).
 */
gboolean
lr_game_parse_a2s_info (LrGameAnnouncement  *self,
                        const guint8        *data,
                        gsize                length,
                        GError             **error)
{
  const guint8 *end = data + length;
  const guint8 *strings[4], *p;
  const guint8 *version, *version_end;
  guint app_id, players, max_players;
  g_autofree char *map = NULL;
  g_autofree char *game = NULL;

  memset (self, 0, sizeof *self);
  if (length < 6 || memcmp (data, "\xff\xff\xff\xff" "I", 5) != 0)
    return fail (error, "A2S_INFO: not an A2S_INFO response");

  p = data + 6;
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    {
      const guint8 *string_end = cstring_end (p, end);

      if (string_end == NULL)
        return fail (error, "A2S_INFO: truncated");
      strings[i] = p;
      p = string_end + 1;
    }
  if (end - p < 9)
    return fail (error, "A2S_INFO: truncated");
  app_id = p[0] | (p[1] << 8);
  players = p[2];
  max_players = p[3];
  p += 9;
  if (app_id == 2400)
    p += 3;
  version = p;
  version_end = cstring_end (version, end);
  if (version_end == NULL)
    return fail (error, "A2S_INFO: truncated");
  p = version_end + 1;
  if (p < end && (p[0] & 0x80) != 0)
    {
      if (end - p < 3)
        return fail (error, "A2S_INFO: truncated");
      self->port = p[1] | (p[2] << 8);
      if (self->port == 0)
        return fail (error, "A2S_INFO: port 0");
    }

  self->name = text_dup (strings[0], strlen ((const char *) strings[0]));
  map = text_dup (strings[1], strlen ((const char *) strings[1]));
  game = text_dup (strings[3], strlen ((const char *) strings[3]));
  if (self->name == NULL || map == NULL || game == NULL)
    {
      lr_game_announcement_clear (self);
      return fail (error, "A2S_INFO: name, map and game must be printable UTF-8");
    }
  self->details = g_strdup_printf ("%s on %s, %u/%u players", game, map, players, max_players);
  return TRUE;
}

gboolean
lr_game_announcement_parse (LrGameAnnouncement  *self,
                            const LrGameTitle   *title,
                            const guint8        *data,
                            gsize                length,
                            GError             **error)
{
  gboolean ok;

  switch (title->format)
    {
    case LR_GAME_FORMAT_MINECRAFT_JAVA:
      ok = lr_game_parse_minecraft_java (self, data, length, error);
      break;
    case LR_GAME_FORMAT_RAKNET_PONG:
      ok = lr_game_parse_raknet_pong (self, data, length, error);
      break;
    case LR_GAME_FORMAT_W3GS_GAMEINFO:
      ok = lr_game_parse_w3gs_gameinfo (self, data, length, error);
      break;
    case LR_GAME_FORMAT_A2S_INFO:
      ok = lr_game_parse_a2s_info (self, data, length, error);
      break;
    case LR_GAME_FORMAT_NONE:
    default:
      memset (self, 0, sizeof *self);
      return fail (error, "%s: LANrage cannot read its announcements", title->title);
    }
  if (ok)
    self->title = title;
  return ok;
}
