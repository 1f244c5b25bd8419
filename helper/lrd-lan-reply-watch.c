/* lrd-lan-reply-watch.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Some titles announce nothing: a client broadcasts a query and each host answers it with
 * unicast (Minecraft Bedrock's RakNet pong, a Source server's A2S_INFO answer). The bridge
 * carries the query; the answer comes back through the tunnel to the program that asked,
 * on its own. To list such a game in the lobby, the helper reads a copy of those answers:
 * a packet socket bound to the party interface, whose classic BPF filter keeps only
 * received, unfragmented IPv4 UDP datagrams from the source ports of the game table's
 * query-and-answer titles. Like the capture it binds no port and changes nothing.
 */
#include "lrd-lan-reply-watch.h"

#include "lr-game-table.h"

#include <errno.h>
#include <glib-unix.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct _LrdLanReplyWatch
{
  GObject parent_instance;

  int     fd;
  guint   watch;
};

enum
{
  SIGNAL_REPLY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (LrdLanReplyWatch, lrd_lan_reply_watch, G_TYPE_OBJECT)

static gboolean
answers_queries (const LrGameTitle *title)
{
  return title->format == LR_GAME_FORMAT_RAKNET_PONG || title->format == LR_GAME_FORMAT_A2S_INFO;
}

/* The filter: received, IPv4 (the socket's protocol), UDP, not a fragment, and a source port
 * in one of the titles' ranges. Built from the table, one range test per title. */
static GArray *
build_filter (void)
{
  GArray *code = g_array_new (FALSE, FALSE, sizeof (struct sock_filter));
  const LrGameTitle *titles;
  guint n_titles, n_ranges = 0;
  struct sock_filter insn;

#define EMIT(x) \
  G_STMT_START { insn = (struct sock_filter) x; g_array_append_val (code, insn); } G_STMT_END
  titles = lr_game_table_get_titles (&n_titles);
  for (guint i = 0; i < n_titles; i++)
    n_ranges += answers_queries (&titles[i]);

  /* Drops jump to the last instruction but one; the range tests count their distance to it
   * and to the last (keep). */
  EMIT (BPF_STMT (BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE));
  EMIT (BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, 6 + 2 * n_ranges));
  EMIT (BPF_STMT (BPF_LD | BPF_B | BPF_ABS, 9));
  EMIT (BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 4 + 2 * n_ranges));
  EMIT (BPF_STMT (BPF_LD | BPF_H | BPF_ABS, 6));
  EMIT (BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 2 + 2 * n_ranges, 0));
  EMIT (BPF_STMT (BPF_LDX | BPF_B | BPF_MSH, 0));
  EMIT (BPF_STMT (BPF_LD | BPF_H | BPF_IND, 0));                 /* UDP source port */
  for (guint i = 0, left = n_ranges; i < n_titles; i++)
    {
      if (!answers_queries (&titles[i]))
        continue;
      left--;
      /* Below the range: next range. In it: keep. Above: next range. */
      EMIT (BPF_JUMP (BPF_JMP | BPF_JGE | BPF_K, titles[i].first_port, 0, 1));
      EMIT (BPF_JUMP (BPF_JMP | BPF_JGT | BPF_K, titles[i].last_port, 0, 2 * left + 1));
    }
  EMIT (BPF_STMT (BPF_RET | BPF_K, 0));
  EMIT (BPF_STMT (BPF_RET | BPF_K, 0xffff));
#undef EMIT
  return code;
}

static gboolean
ready_cb (int           fd,
          GIOCondition  condition,
          gpointer      user_data)
{
  LrdLanReplyWatch *self = LRD_LAN_REPLY_WATCH (user_data);
  guint8 packet[65536];

  for (guint i = 0; i < 64; i++)
    {
      LrdLanDatagram datagram;
      ssize_t n = recv (fd, packet, sizeof packet, MSG_DONTWAIT);

      if (n < 0)
        {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            g_warning ("LAN reply watch: %s", g_strerror (errno));
          break;
        }
      if (!lrd_lan_datagram_parse (&datagram, packet, n))
        continue;
      g_signal_emit (self, signals[SIGNAL_REPLY], 0, &datagram);
    }
  return G_SOURCE_CONTINUE;
}

LrdLanReplyWatch *
lrd_lan_reply_watch_new (const char  *ifname,
                         GError     **error)
{
  g_autoptr(LrdLanReplyWatch) self = g_object_new (LRD_TYPE_LAN_REPLY_WATCH, NULL);
  g_autoptr(GArray) code = build_filter ();
  struct sock_fprog program = { code->len, (struct sock_filter *) code->data };
  struct sockaddr_ll address = { .sll_family = AF_PACKET, .sll_protocol = htons (ETH_P_IP) };

  address.sll_ifindex = if_nametoindex (ifname);
  if (address.sll_ifindex == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No interface %s", ifname);
      return NULL;
    }
  self->fd = socket (AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons (ETH_P_IP));
  if (self->fd < 0 ||
      setsockopt (self->fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0 ||
      bind (self->fd, (struct sockaddr *) &address, sizeof address) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot watch %s for game answers: %s", ifname, g_strerror (saved));
      return NULL;
    }
  self->watch = g_unix_fd_add (self->fd, G_IO_IN, ready_cb, self);
  return g_steal_pointer (&self);
}

static void
lrd_lan_reply_watch_dispose (GObject *object)
{
  LrdLanReplyWatch *self = LRD_LAN_REPLY_WATCH (object);

  g_clear_handle_id (&self->watch, g_source_remove);
  G_OBJECT_CLASS (lrd_lan_reply_watch_parent_class)->dispose (object);
}

static void
lrd_lan_reply_watch_finalize (GObject *object)
{
  LrdLanReplyWatch *self = LRD_LAN_REPLY_WATCH (object);

  if (self->fd >= 0)
    close (self->fd);
  G_OBJECT_CLASS (lrd_lan_reply_watch_parent_class)->finalize (object);
}

static void
lrd_lan_reply_watch_class_init (LrdLanReplyWatchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_lan_reply_watch_dispose;
  object_class->finalize = lrd_lan_reply_watch_finalize;

  /**
   * LrdLanReplyWatch::reply:
   * @datagram: (type gpointer): the const LrdLanDatagram, valid during the emission
   *
   * A program here was answered from a query-and-answer title's port.
   */
  signals[SIGNAL_REPLY] = g_signal_new ("reply", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
lrd_lan_reply_watch_init (LrdLanReplyWatch *self)
{
  self->fd = -1;
}
