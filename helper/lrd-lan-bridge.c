/* lrd-lan-bridge.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-lan-bridge.h"

#include "lrd-lan-capture.h"
#include "lrd-lan-inject.h"
#include "lrd-lan-reply-watch.h"

#include "lr-game-lobby.h"
#include "lr-game-table.h"
#include "lr-lan-frame.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Counting per destination is bounded like everything a member can make grow. */
#define MAX_PORT_ENTRIES 1024
/* D-Bus listeners hear about counters at most this often. */
#define PORTS_CHANGED_INTERVAL_MS 1000
/* A program that announces on every interface sends one datagram to several broadcast
 * addresses (255.255.255.255, its LAN's, the party's) within microseconds; members would
 * hear it once per address. The same bytes from the same port to the same port, to
 * another broadcast address within this window, are that datagram again. */
#define SAME_DATAGRAM_WINDOW_US (100 * 1000)
#define N_RECENT 16

typedef struct
{
  guint32 hash;
  guint16 source_port;
  guint16 destination_port;
  guint32 destination;
  gint64  time_us;
} Recent;

typedef struct
{
  guint32 destination;
  guint16 port;
  guint32 last_sender;
  guint64 count;
  gint64  last_us;
} PortEntry;

struct _LrdLanBridge
{
  GObject               parent_instance;

  LrClock              *clock;
  guint32               address;
  guint32               party_broadcast;
  guint64               sender;
  guint32               sequence;

  LrdLanCapture        *capture;
  LrdLanInject         *inject;
  LrdLanReplyWatch     *replies;
  int                   fd;
  guint                 fd_watch;

  GArray               *members;         /* guint32 */
  LrLanPolicy          *policy;
  LrGameLobby          *lobby;
  guint                 expiry_id;
  GHashTable           *ports;           /* guint64 destination << 16 | port -> PortEntry */
  guint                 ports_changed_id;
  Recent                recent[N_RECENT]; /* the last broadcasts bridged, a ring */
  guint                 recent_next;
  LrdLanBridgeCounters  counters;
};

enum
{
  SIGNAL_GAMES_CHANGED,
  SIGNAL_PORTS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (LrdLanBridge, lrd_lan_bridge, G_TYPE_OBJECT)

static char *
address_to_string (guint32 address)
{
  return g_strdup_printf ("%u.%u.%u.%u", address >> 24, (address >> 16) & 0xff,
                          (address >> 8) & 0xff, address & 0xff);
}

static gboolean
is_member (LrdLanBridge *self,
           guint32       address)
{
  for (guint i = 0; i < self->members->len; i++)
    if (g_array_index (self->members, guint32, i) == address)
      return TRUE;
  return FALSE;
}

static void
new_sender (LrdLanBridge *self)
{
  do
    self->sender = ((guint64) g_random_int () << 32) | g_random_int ();
  while (self->sender == 0);
  self->sequence = 0;
}

static gboolean
ports_changed_cb (gpointer user_data)
{
  LrdLanBridge *self = LRD_LAN_BRIDGE (user_data);

  self->ports_changed_id = 0;
  g_signal_emit (self, signals[SIGNAL_PORTS_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

static void
count_port (LrdLanBridge *self,
            guint32       destination,
            guint16       port,
            guint32       sender)
{
  guint64 key = ((guint64) destination << 16) | port;
  PortEntry *entry = g_hash_table_lookup (self->ports, &key);

  if (entry == NULL)
    {
      guint64 *stored;

      if (g_hash_table_size (self->ports) >= MAX_PORT_ENTRIES)
        return;
      stored = g_memdup2 (&key, sizeof key);
      entry = g_new0 (PortEntry, 1);
      entry->destination = destination;
      entry->port = port;
      g_hash_table_insert (self->ports, stored, entry);
    }
  entry->last_sender = sender;
  entry->count++;
  entry->last_us = lr_clock_now_us (self->clock);
  if (self->ports_changed_id == 0)
    self->ports_changed_id = g_timeout_add (PORTS_CHANGED_INTERVAL_MS, ports_changed_cb, self);
}

static void schedule_expiry (LrdLanBridge *self);

static gboolean
expiry_cb (gpointer user_data)
{
  LrdLanBridge *self = LRD_LAN_BRIDGE (user_data);

  self->expiry_id = 0;
  if (lr_game_lobby_expire (self->lobby))
    g_signal_emit (self, signals[SIGNAL_GAMES_CHANGED], 0);
  schedule_expiry (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_expiry (LrdLanBridge *self)
{
  gint64 next_us = lr_game_lobby_next_expiry_us (self->lobby);

  g_clear_handle_id (&self->expiry_id, g_source_remove);
  if (next_us >= 0)
    self->expiry_id = g_timeout_add (next_us / 1000 + 1, expiry_cb, self);
}

/* Local program -> members */

static guint32
payload_hash (const LrdLanDatagram *datagram)
{
  guint32 hash = 2166136261u;   /* FNV-1a */

  for (gsize i = 0; i < datagram->payload_length; i++)
    hash = (hash ^ datagram->payload[i]) * 16777619u;
  return hash;
}

/* TRUE if @datagram is a broadcast the program just sent to another broadcast address;
 * otherwise remembers it. Multicast is left alone: a group is a destination of its own. */
static gboolean
is_same_broadcast (LrdLanBridge         *self,
                   const LrdLanDatagram *datagram)
{
  gint64 now_us = lr_clock_now_us (self->clock);
  guint32 hash;
  Recent *slot;

  if (lr_lan_destination_classify (datagram->destination) == LR_LAN_DESTINATION_MULTICAST)
    return FALSE;
  hash = payload_hash (datagram);
  for (guint i = 0; i < N_RECENT; i++)
    {
      const Recent *recent = &self->recent[i];

      if (recent->time_us != 0 && now_us - recent->time_us < SAME_DATAGRAM_WINDOW_US &&
          recent->hash == hash && recent->source_port == datagram->source_port &&
          recent->destination_port == datagram->destination_port &&
          recent->destination != datagram->destination)
        return TRUE;
    }
  slot = &self->recent[self->recent_next];
  self->recent_next = (self->recent_next + 1) % N_RECENT;
  *slot = (Recent) {
    hash, datagram->source_port, datagram->destination_port, datagram->destination, now_us,
  };
  return FALSE;
}

static void
datagram_cb (LrdLanCapture        *capture,
             const LrdLanDatagram *datagram,
             LrdLanBridge         *self)
{
  guint8 frame[LR_LAN_FRAME_MAX_SIZE];
  LrLanFrame header = { 0 };
  LrLanVerdict verdict;
  gboolean known;
  gsize length;

  self->counters.captured++;
  if (self->members->len == 0)
    return;
  if (is_same_broadcast (self, datagram))
    {
      self->counters.same_broadcast++;
      return;
    }

  known = lr_game_table_lookup (datagram->destination, datagram->destination_port) != NULL;
  verdict = lr_lan_policy_check_outgoing (self->policy, datagram->destination,
                                          datagram->destination_port, datagram->payload_length,
                                          known);
  self->counters.outgoing[verdict]++;
  if (verdict != LR_LAN_VERDICT_BRIDGE)
    return;

  /* Receivers only take sequence numbers that go up: start afresh as a new sender. */
  if (self->sequence == G_MAXUINT32)
    {
      new_sender (self);
      lr_lan_policy_set_own_sender (self->policy, self->sender);
    }
  header.source_port = datagram->source_port;
  header.destination = datagram->destination;
  header.destination_port = datagram->destination_port;
  header.sender = self->sender;
  header.sequence = ++self->sequence;
  header.payload = datagram->payload;
  header.payload_length = datagram->payload_length;
  length = lr_lan_frame_build (&header, frame, sizeof frame);
  if (length == 0)
    return;

  for (guint i = 0; i < self->members->len; i++)
    {
      struct sockaddr_in to = {
        .sin_family = AF_INET,
        .sin_port = htons (LR_LAN_FRAME_PORT),
        .sin_addr.s_addr = htonl (g_array_index (self->members, guint32, i)),
      };

      if (sendto (self->fd, frame, length, MSG_DONTWAIT, (struct sockaddr *) &to,
                  sizeof to) < 0)
        g_debug ("LAN bridge: cannot send to a member: %s", g_strerror (errno));
      else
        self->counters.frames_sent++;
    }
  count_port (self, datagram->destination, datagram->destination_port, self->address);
}

/* Member -> local programs */

static void
observe_game (LrdLanBridge      *self,
              const LrGameTitle *title,
              guint32            host,
              guint16            source_port,
              const guint8      *payload,
              gsize              length)
{
  g_auto(LrGameAnnouncement) announcement = { 0 };

  if (title == NULL || title->format == LR_GAME_FORMAT_NONE)
    return;
  if (!lr_game_announcement_parse (&announcement, title, payload, length, NULL))
    return;
  if (lr_game_lobby_observe (self->lobby, host, source_port, &announcement))
    g_signal_emit (self, signals[SIGNAL_GAMES_CHANGED], 0);
  if (self->expiry_id == 0)
    schedule_expiry (self);
}

static void
handle_frame (LrdLanBridge *self,
              guint32       from,
              const guint8 *data,
              gsize         length)
{
  LrdLanDatagram datagram = { 0 };
  g_autoptr(GError) error = NULL;
  LrLanFrame frame;
  LrLanVerdict verdict;
  LrLanFrameStatus status;
  LrLanDestination kind;

  if (!is_member (self, from))
    {
      self->counters.frames_refused++;
      return;
    }
  status = lr_lan_frame_parse (&frame, data, length);
  if (status != LR_LAN_FRAME_OK)
    {
      self->counters.frames_refused++;
      g_debug ("LAN bridge: refused a frame: %s", lr_lan_frame_status_to_string (status));
      return;
    }
  self->counters.frames_received++;

  verdict = lr_lan_policy_check_incoming (self->policy, from, frame.sender, frame.sequence,
                                          frame.destination, frame.destination_port,
                                          frame.payload_length,
                                          lr_game_table_lookup (frame.destination,
                                                                frame.destination_port) != NULL);
  self->counters.incoming[verdict]++;
  if (verdict != LR_LAN_VERDICT_BRIDGE)
    return;

  /* The sender's own subnet's broadcast address means nothing here: such a datagram is
   * delivered to the limited broadcast address, which every program bound to the port
   * hears. The party's broadcast address is this host's too and is kept as sent. */
  kind = lr_lan_destination_classify (frame.destination);
  datagram.source = from;
  datagram.source_port = frame.source_port;
  datagram.destination = kind == LR_LAN_DESTINATION_DIRECTED_BROADCAST &&
                         frame.destination != self->party_broadcast ?
                         0xffffffff : frame.destination;
  datagram.destination_port = frame.destination_port;
  datagram.payload = frame.payload;
  datagram.payload_length = frame.payload_length;
  if (!lrd_lan_inject_send (self->inject, &datagram, &error))
    g_debug ("LAN bridge: %s", error->message);
  else
    self->counters.injected++;

  count_port (self, frame.destination, frame.destination_port, from);
  observe_game (self, lr_game_table_lookup (frame.destination, frame.destination_port), from,
                frame.source_port, frame.payload, frame.payload_length);
}

static gboolean
frame_ready_cb (int           fd,
                GIOCondition  condition,
                gpointer      user_data)
{
  LrdLanBridge *self = LRD_LAN_BRIDGE (user_data);
  guint8 buffer[LR_LAN_FRAME_MAX_SIZE + 1];

  for (guint i = 0; i < 64; i++)
    {
      struct sockaddr_in from;
      socklen_t from_length = sizeof from;
      ssize_t n = recvfrom (fd, buffer, sizeof buffer, MSG_DONTWAIT | MSG_TRUNC,
                            (struct sockaddr *) &from, &from_length);

      if (n < 0)
        {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            g_debug ("LAN bridge: %s", g_strerror (errno));
          break;
        }
      if (from.sin_family != AF_INET || ntohs (from.sin_port) != LR_LAN_FRAME_PORT)
        {
          self->counters.frames_refused++;
          continue;
        }
      handle_frame (self, ntohl (from.sin_addr.s_addr), buffer, MIN ((gsize) n, sizeof buffer));
    }
  return G_SOURCE_CONTINUE;
}

/* A member's game answered a query from here (LrdLanReplyWatch): Bedrock's pong and
 * Source's A2S_INFO answer are how those titles say they are hosting. */
static void
reply_cb (LrdLanReplyWatch     *replies,
          const LrdLanDatagram *datagram,
          LrdLanBridge         *self)
{
  const LrGameTitle *title;

  if (!is_member (self, datagram->source))
    return;
  title = lr_game_table_lookup (0xffffffff, datagram->source_port);
  if (title == NULL ||
      (title->format != LR_GAME_FORMAT_RAKNET_PONG && title->format != LR_GAME_FORMAT_A2S_INFO))
    return;
  observe_game (self, title, datagram->source, datagram->source_port, datagram->payload,
                datagram->payload_length);
}

static gboolean
open_socket (LrdLanBridge  *self,
             const char    *ifname,
             GError       **error)
{
  struct sockaddr_in address = {
    .sin_family = AF_INET,
    .sin_port = htons (LR_LAN_FRAME_PORT),
    .sin_addr.s_addr = htonl (self->address),
  };
  int one = 1;

  self->fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (self->fd < 0 ||
      setsockopt (self->fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen (ifname) + 1) != 0 ||
      setsockopt (self->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) != 0 ||
      bind (self->fd, (struct sockaddr *) &address, sizeof address) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open the LAN bridge's port %u on %s: %s", LR_LAN_FRAME_PORT, ifname,
                   g_strerror (saved));
      return FALSE;
    }
  self->fd_watch = g_unix_fd_add (self->fd, G_IO_IN, frame_ready_cb, self);
  return TRUE;
}

LrdLanBridge *
lrd_lan_bridge_new (LrClock     *clock,
                    const char  *ifname,
                    guint32      virtual_address,
                    guint        prefix_length,
                    GError     **error)
{
  g_autoptr(LrdLanBridge) self = NULL;

  g_return_val_if_fail (clock != NULL, NULL);
  g_return_val_if_fail (ifname != NULL, NULL);
  g_return_val_if_fail (prefix_length >= 1 && prefix_length <= 30, NULL);

  self = g_object_new (LRD_TYPE_LAN_BRIDGE, NULL);
  self->clock = lr_clock_ref (clock);
  self->address = virtual_address;
  self->party_broadcast = virtual_address | (0xffffffffu >> prefix_length);
  new_sender (self);
  self->policy = lr_lan_policy_new (clock, self->sender);
  self->lobby = lr_game_lobby_new (clock);

  if (!open_socket (self, ifname, error))
    return NULL;
  self->inject = lrd_lan_inject_new (error);
  if (self->inject == NULL)
    return NULL;
  self->capture = lrd_lan_capture_new (error);
  if (self->capture == NULL)
    return NULL;
  g_signal_connect_object (self->capture, "datagram", G_CALLBACK (datagram_cb), self, 0);
  self->replies = lrd_lan_reply_watch_new (ifname, error);
  if (self->replies == NULL)
    return NULL;
  g_signal_connect_object (self->replies, "reply", G_CALLBACK (reply_cb), self, 0);
  return g_steal_pointer (&self);
}

void
lrd_lan_bridge_set_members (LrdLanBridge  *self,
                            const guint32 *addresses,
                            guint          n_addresses)
{
  gboolean forgot = FALSE;

  g_return_if_fail (LRD_IS_LAN_BRIDGE (self));

  /* A member that left takes its games with it. */
  for (guint i = 0; i < self->members->len; i++)
    {
      guint32 old = g_array_index (self->members, guint32, i);
      gboolean kept = FALSE;

      for (guint j = 0; j < n_addresses && !kept; j++)
        kept = addresses[j] == old;
      if (!kept)
        forgot |= lr_game_lobby_forget_host (self->lobby, old);
    }

  g_array_set_size (self->members, 0);
  for (guint i = 0; i < n_addresses; i++)
    if (addresses[i] != self->address && !is_member (self, addresses[i]))
      g_array_append_val (self->members, addresses[i]);
  if (forgot)
    g_signal_emit (self, signals[SIGNAL_GAMES_CHANGED], 0);
}

LrLanPolicy *
lrd_lan_bridge_get_policy (LrdLanBridge *self)
{
  g_return_val_if_fail (LRD_IS_LAN_BRIDGE (self), NULL);
  return self->policy;
}

/* The id in this bridge's frames; it changes (for the policy too) only when the sequence
 * number would wrap. */
guint64
lrd_lan_bridge_get_sender (LrdLanBridge *self)
{
  g_return_val_if_fail (LRD_IS_LAN_BRIDGE (self), 0);
  return self->sender;
}

const LrdLanBridgeCounters *
lrd_lan_bridge_get_counters (LrdLanBridge *self)
{
  g_return_val_if_fail (LRD_IS_LAN_BRIDGE (self), NULL);
  return &self->counters;
}

GVariant *
lrd_lan_bridge_dup_games (LrdLanBridge *self)
{
  GVariantBuilder builder;
  const LrGame *games;
  guint n;

  g_return_val_if_fail (LRD_IS_LAN_BRIDGE (self), NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sssqssx)"));
  games = lr_game_lobby_get_games (self->lobby, &n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *host = address_to_string (games[i].host);
      gint64 age_us = lr_clock_now_us (self->clock) - games[i].last_seen_us;

      g_variant_builder_add (&builder, "(sssqssx)", games[i].title->id, games[i].title->title,
                             host, games[i].port, games[i].name,
                             games[i].details != NULL ? games[i].details : "",
                             g_get_real_time () - age_us);
    }
  return g_variant_builder_end (&builder);
}

static gint
compare_ports (gconstpointer a,
               gconstpointer b)
{
  const PortEntry *x = *(const PortEntry * const *) a;
  const PortEntry *y = *(const PortEntry * const *) b;

  if (x->port != y->port)
    return x->port < y->port ? -1 : 1;
  return x->destination < y->destination ? -1 : x->destination > y->destination;
}

GVariant *
lrd_lan_bridge_dup_ports (LrdLanBridge *self)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new ();
  GVariantBuilder builder;
  GHashTableIter iter;
  gpointer entry_data;
  gint64 now_us;

  g_return_val_if_fail (LRD_IS_LAN_BRIDGE (self), NULL);

  now_us = lr_clock_now_us (self->clock);
  g_hash_table_iter_init (&iter, self->ports);
  while (g_hash_table_iter_next (&iter, NULL, &entry_data))
    g_ptr_array_add (entries, entry_data);
  g_ptr_array_sort (entries, compare_ports);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sqstx)"));
  for (guint i = 0; i < entries->len; i++)
    {
      const PortEntry *entry = entries->pdata[i];
      g_autofree char *destination = address_to_string (entry->destination);
      g_autofree char *sender = address_to_string (entry->last_sender);

      g_variant_builder_add (&builder, "(sqstx)", destination, entry->port, sender,
                             entry->count, g_get_real_time () - (now_us - entry->last_us));
    }
  return g_variant_builder_end (&builder);
}

static void
lrd_lan_bridge_dispose (GObject *object)
{
  LrdLanBridge *self = LRD_LAN_BRIDGE (object);

  g_clear_handle_id (&self->fd_watch, g_source_remove);
  g_clear_handle_id (&self->expiry_id, g_source_remove);
  g_clear_handle_id (&self->ports_changed_id, g_source_remove);
  g_clear_object (&self->capture);
  g_clear_object (&self->inject);
  g_clear_object (&self->replies);
  G_OBJECT_CLASS (lrd_lan_bridge_parent_class)->dispose (object);
}

static void
lrd_lan_bridge_finalize (GObject *object)
{
  LrdLanBridge *self = LRD_LAN_BRIDGE (object);

  if (self->fd >= 0)
    close (self->fd);
  g_array_unref (self->members);
  g_hash_table_unref (self->ports);
  g_clear_pointer (&self->policy, lr_lan_policy_free);
  g_clear_pointer (&self->lobby, lr_game_lobby_free);
  g_clear_pointer (&self->clock, lr_clock_unref);
  G_OBJECT_CLASS (lrd_lan_bridge_parent_class)->finalize (object);
}

static void
lrd_lan_bridge_class_init (LrdLanBridgeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_lan_bridge_dispose;
  object_class->finalize = lrd_lan_bridge_finalize;

  /**
   * LrdLanBridge::games-changed:
   *
   * The lobby's list of games changed (lrd_lan_bridge_dup_games).
   */
  signals[SIGNAL_GAMES_CHANGED] = g_signal_new ("games-changed", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 0);
  /**
   * LrdLanBridge::ports-changed:
   *
   * Counters of bridged ports moved (lrd_lan_bridge_dup_ports); emitted at most once a
   * second.
   */
  signals[SIGNAL_PORTS_CHANGED] = g_signal_new ("ports-changed", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 0);
}

static void
lrd_lan_bridge_init (LrdLanBridge *self)
{
  self->fd = -1;
  self->members = g_array_new (FALSE, FALSE, sizeof (guint32));
  self->ports = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
}
