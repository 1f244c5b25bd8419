/* lr-game-table.h: the LAN games LANrage recognises, and their announcements
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A built-in table of titles and where they look for each other on a LAN (a multicast group
 * or the broadcast address, and a port range), each entry taken from the game's documented
 * protocol or from a capture, cited beside it in lr-game-table.c. The bridge uses it for its
 * "known titles only" switch; the lobby (lr-game-lobby.h) uses the parsers to list the games
 * being hosted in the party with their name and the port to connect to.
 *
 * Parsers take the bytes of one UDP payload as the network gives them, never trust them,
 * and return FALSE (with a GError of LR_ERROR) for anything that is not a well-formed
 * announcement of their format.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  LR_GAME_FORMAT_NONE,             /* the table knows the ports, no parser */
  LR_GAME_FORMAT_MINECRAFT_JAVA,   /* [MOTD]...[/MOTD][AD]port[/AD] */
  LR_GAME_FORMAT_RAKNET_PONG,      /* RakNet unconnected pong, Minecraft Bedrock's MCPE;... */
  LR_GAME_FORMAT_W3GS_GAMEINFO,    /* Warcraft III W3GS_GAMEINFO */
  LR_GAME_FORMAT_A2S_INFO,         /* Source engine A2S_INFO response */
} LrGameFormat;

typedef struct
{
  const char   *id;              /* stable, for D-Bus and settings: "minecraft-java" */
  const char   *title;           /* for people: "Minecraft: Java Edition" */
  guint32       group;           /* multicast group (host byte order), or 0: broadcast */
  guint16       first_port;
  guint16       last_port;
  LrGameFormat  format;
  guint         forget_after_ms; /* a lobby entry not heard of for this long is gone */
} LrGameTitle;

/* One announcement, parsed. Strings are valid UTF-8 without control characters. */
typedef struct
{
  const LrGameTitle *title;
  char              *name;       /* the world, game or server name (MOTD) */
  guint16            port;       /* the port to connect to on the announcing host */
  char              *details;    /* "1.20.4, 3/10 players", or NULL */
} LrGameAnnouncement;

const LrGameTitle *lr_game_table_get_titles (guint        *n_titles);
const LrGameTitle *lr_game_table_find_by_id (const char   *id);
/* The title whose discovery destination is @destination:@port (a title with a group
 * matches only that group; a broadcast title matches any non-multicast destination). */
const LrGameTitle *lr_game_table_lookup     (guint32       destination,
                                             guint16       port);

/* Parses @data with @title's format. */
gboolean lr_game_announcement_parse         (LrGameAnnouncement *self,
                                             const LrGameTitle  *title,
                                             const guint8       *data,
                                             gsize               length,
                                             GError            **error);
void     lr_game_announcement_clear         (LrGameAnnouncement *self);

/* The parsers, each for one format (@self->title is left NULL). */
gboolean lr_game_parse_minecraft_java       (LrGameAnnouncement *self,
                                             const guint8       *data,
                                             gsize               length,
                                             GError            **error);
gboolean lr_game_parse_raknet_pong          (LrGameAnnouncement *self,
                                             const guint8       *data,
                                             gsize               length,
                                             GError            **error);
gboolean lr_game_parse_w3gs_gameinfo        (LrGameAnnouncement *self,
                                             const guint8       *data,
                                             gsize               length,
                                             GError            **error);
gboolean lr_game_parse_a2s_info             (LrGameAnnouncement *self,
                                             const guint8       *data,
                                             gsize               length,
                                             GError            **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LrGameAnnouncement, lr_game_announcement_clear)

G_END_DECLS
