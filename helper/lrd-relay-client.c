/* lrd-relay-client.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What a relay's DATA frame carries for a peer is one of two things, told apart by its first
 * bytes with no copy: a WireGuard message (its type as a little-endian u32 of 1..4: bytes 01..04
 * 00 00 00) goes to WireGuard; a disco message (lib/lr-disco.h: LR_DISCO_MAGIC, whose first
 * byte is 'L') goes to LrdRelayClient::disco-received. Anything else is dropped. Only
 * WireGuard messages are taken from WireGuard's port, so WireGuard's datagrams never reach
 * disco and disco never reaches WireGuard, at either end.
 */
#include "lrd-relay-client-private.h"

#include "lr-bytes.h"
#include "lr-disco.h"
#include "lr-relay-choice.h"
#include "lr-relay-frame.h"
#include "lr-relay-token.h"
#include "lr-stun.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/* The timers tick this often; every decision below then compares LrClock times. 100 ms keeps
 * the failover within a few hundred ms of the deadlines below at negligible cost. */
#define TICK_MS 100
/* Measuring rounds and the deadlines of the choice: lr-relay-choice.h says why. */
#define ROUND_INTERVAL_US LR_RELAY_ROUND_INTERVAL_US
#define ROUND_TIMEOUT_US LR_RELAY_ROUND_TIMEOUT_US
/* While none is chosen (start, or every relay gone), a round every second. */
#define SEARCH_ROUND_INTERVAL_US (1 * G_USEC_PER_SEC)
/* The chosen relay is pinged every second; three missed pongs (LR_RELAY_DEAD_AFTER_US) and
 * it is dead, and another is chosen. */
#define KEEPALIVE_INTERVAL_US (1 * G_USEC_PER_SEC)
/* A relay that died (a crash, a reboot) goes quiet long before it counts as dead. Waiting
 * for the deadline cost the tunnel 2.5 to 3.5 s of silence on every failover, though every
 * usable relay holds a binding of ours and could carry it at once. So the chosen relay is
 * suspect as soon as one keepalive's pong is late (a second, twice its RTT and this grace
 * since the last answer): then it is pinged four times a second, and until it answers again
 * (or is left as dead) DATA goes out through it and, as well, through the best other relay
 * we are bound on. The peer's client takes DATA from any relay it is bound on; WireGuard and
 * disco drop the duplicates by their counters (WireGuard's replay window, the disco replay
 * window). A false suspicion (one lost pong) costs a quarter second of doubled traffic. */
#define SUSPECT_GRACE_US (200 * 1000)
#define SUSPECT_KEEPALIVE_US (250 * 1000)
/* A BIND is sent every second until BOUND comes; after three without answer the relay is
 * left (and its binding dropped). Bound, the client BINDs again every 25 s, well within the
 * relay's 120 s idle timeout and a typical NAT's 30 s UDP mapping timeout. This goes for
 * every usable candidate, not only the chosen one (see wants_binding()). */
#define BIND_RETRY_US (1 * G_USEC_PER_SEC)
#define BIND_ATTEMPTS 3
#define REBIND_INTERVAL_US (25 * G_USEC_PER_SEC)
/* A relay that is full, does not relay or never BOUND us is left alone this long. */
#define UNUSABLE_US (60 * G_USEC_PER_SEC)
/* A new token is asked for with a fifth of its lifetime or five minutes left, whichever is
 * more, and asked again this often while none comes. */
#define TOKEN_LEFT_FRACTION 0.2
#define TOKEN_LEFT_MIN_US (5 * 60 * G_USEC_PER_SEC)
#define TOKEN_ASK_AGAIN_US (30 * G_USEC_PER_SEC)
/* The public endpoint is asked for again with each measuring round, every second until the
 * first answer. */
#define STUN_INTERVAL_US ROUND_INTERVAL_US
#define STUN_RETRY_US (1 * G_USEC_PER_SEC)
/* A STUN answer of the relay is at most 20 (header) + 24 (XOR-MAPPED-ADDRESS, IPv6) + 2 * 24
 * (RFC 5780 RESPONSE-ORIGIN, OTHER-ADDRESS) + 8 (FINGERPRINT) = 100 bytes; the request is
 * padded to 124 bytes (RFC 5780 section 7.6, PADDING) so the relay never sends more than it
 * got and does not count it against its rate limit for amplifying requests. */
#define STUN_PADDING 100
#define STUN_REQUEST_SIZE (LR_STUN_HEADER_SIZE + 4 + STUN_PADDING)
/* A WireGuard message: its type, a little-endian u32 (WireGuard paper section 5.4). */
#define WG_HEADER_SIZE 4
#define WG_TYPE_MAX 4
#define PING_PAYLOAD_SIZE 16
/* RFC 6298 section 2: SRTT <- 7/8 SRTT + 1/8 R. */
#define RTT_ALPHA 0.125
/* At most this many datagrams per wakeup of a socket, so one busy socket cannot starve the
 * main loop. */
#define MAX_BATCH 64
#define BUFFER_SIZE (LR_RELAY_FRAME_MAX_SIZE + LR_RELAY_FRAME_HEADER_SIZE)
/* The first packet. While no relay is bound, the latest datagram WireGuard sends to a peer
 * is held and goes out once one is; and the latest datagram a relay brings for a peer
 * WireGuard does not know yet is held until it does (lrd_relay_client_peer_ready()). Without
 * this, the first handshake initiation of a join is lost and WireGuard sends the next one
 * only after REKEY_TIMEOUT (5 s, WireGuard paper section 6.1). A held datagram older than
 * REKEY_TIMEOUT is dropped: WireGuard has sent a fresh one by then. */
#define HOLD_US (5 * G_USEC_PER_SEC)
/* Held datagrams for peers nobody added yet: a few joins in flight at once. More means
 * someone sends for ids that never come; the oldest goes. */
#define HELD_UNKNOWN_MAX 8

/* Why a relay was left; compared by address. */
static const char REFUSES_TOKEN[] = "refuses this computer's party pass";

typedef struct
{
  LrdRelayClient         *self;            /* not a reference */
  char                   *name;            /* "host:port" as given */
  GCancellable           *cancellable;     /* of the resolve */
  gboolean                resolved;
  LrAddr                  addr;
  LrRelayMeasure         measure;
  gboolean                answered_round;
  gint64                  next_keepalive_us;
  const char             *left_why;        /* why it was left: static text, or NULL */
  /* The binding on this relay: every usable candidate has one, not only the chosen one. */
  gboolean                bound;
  guint                   bind_attempts;   /* BINDs without BOUND since the last BOUND */
  gint64                  next_bind_us;
  gint64                  last_bind_us;
  guint64                 last_bind_counter;
  /* The relay's wall clock minus ours, as its signed ERROR stale said; 0 until then. */
  gint64                  clock_offset_us;
} Candidate;

/* One datagram kept until its path is usable (HOLD_US). */
typedef struct
{
  guint64 peer_id;
  gint64  held_us;
  gsize   length;   /* 0: none */
  guint8  data[LR_RELAY_FRAME_MAX_SIZE];
} Held;

typedef struct
{
  LrdRelayClient     *self;                /* not a reference */
  guint64             id;
  GSocket            *socket;
  GSource            *source;
  LrAddr              address;             /* of the socket: WireGuard's endpoint */
  gboolean            ready;               /* WireGuard knows the peer */
  gboolean            direct;              /* WireGuard's endpoint is the peer's address */
  gboolean            roamed;              /* ::wireguard-roamed is due at the next tick */
  Held               *outbound;            /* from WireGuard while no relay is bound */
  Held               *inbound;             /* from a relay while WireGuard does not know it */
} Peer;

enum
{
  PROP_0,
  PROP_STATE,
  PROP_RELAY,
  PROP_RELAY_RTT_MS,
  PROP_REASON,
  PROP_PUBLIC_ENDPOINT,
  PROP_PROBLEM,
  N_PROPS
};

enum
{
  SIGNAL_CHANGED,
  SIGNAL_DISCO_RECEIVED,
  SIGNAL_TOKEN_NEEDED,
  SIGNAL_WIREGUARD_ROAMED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

struct _LrdRelayClient
{
  GObject              parent_instance;

  LrClock             *clock;
  GMainContext        *context;
  guint16              wg_port;
  LrAddr               wg_addr;            /* WireGuard's port on 127.0.0.1 */

  GPtrArray           *candidates;         /* of Candidate */
  GHashTable          *peers;              /* guint64 * -> Peer */
  GPtrArray           *held_unknown;       /* of Held: DATA for peers not added yet */

  char                *token;
  /* The token cut in two (lr_relay_token_split()); BINDs carry the public part and are
   * signed with the key, which never leaves this process. */
  gboolean             token_usable;
  guint8               token_public[LR_RELAY_TOKEN_PUBLIC_BYTES];
  guint8               token_key[LR_RELAY_TOKEN_KEY_BYTES];
  /* The last BIND counter sent, to any relay. */
  guint64              bind_counter;
  gint64               token_expires_us;
  gint64               token_set_us;
  gint64               token_asked_us;     /* 0: not asked for this token */
  gboolean             token_refused;

  gboolean             running;
  GSocket             *socket4;
  GSource             *source4;
  GSocket             *socket6;
  GSource             *source6;
  GSource             *tick;

  Candidate           *current;
  LrRelayChoice       choice;
  Candidate           *contender;
  /* While the chosen relay is suspect (SUSPECT_GRACE_US): the bound relay DATA goes out
   * through as well; %NULL otherwise. */
  Candidate           *standby;
  gboolean             round_active;
  gint64               round_started_us;
  gint64               next_round_us;
  gint64               next_stun_us;
  guint8               stun_transaction[LR_STUN_TRANSACTION_SIZE];
  gboolean             stun_pending;
  gboolean             ever_searched;

  LrdRelayClientState  state;
  char                *relay;
  double               relay_rtt_ms;
  char                *reason;
  char                *public_endpoint;
  char                *problem;
  guint                pending_notify;     /* bits of PROP_ */
  gboolean             pending_token_needed;

  guint64              dropped;            /* garbage and refused datagrams */
};

G_DEFINE_FINAL_TYPE (LrdRelayClient, lrd_relay_client, G_TYPE_OBJECT)

/* Properties and signals */

static void
set_string (LrdRelayClient *self,
            char          **field,
            const char     *value,
            guint           prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  self->pending_notify |= 1u << prop;
}

static void send_held (LrdRelayClient *self);

static void
set_state (LrdRelayClient      *self,
           LrdRelayClientState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  self->pending_notify |= 1u << PROP_STATE;
  if (state == LRD_RELAY_CLIENT_BOUND)
    send_held (self);
}

static void
set_problem (LrdRelayClient *self,
             const char     *problem)
{
  set_string (self, &self->problem, problem, PROP_PROBLEM);
}

static void
update_rtt (LrdRelayClient *self)
{
  double rtt = -1;

  /* Shown rounded to 0.1 ms: finer changes are noise and not worth a "changed". */
  if (self->current != NULL && self->current->measure.rtt_ms >= 0)
    rtt = (gint64) (self->current->measure.rtt_ms * 10 + 0.5) / 10.0;
  if (rtt == self->relay_rtt_ms)
    return;
  self->relay_rtt_ms = rtt;
  self->pending_notify |= 1u << PROP_RELAY_RTT_MS;
}

/* Signals are emitted here only, at the end of each callback and public method: a handler
 * may then stop the client or remove a peer without pulling a socket or a hash table
 * iteration from under the code that found the change. */
static void
flush_changed (LrdRelayClient *self)
{
  guint pending = self->pending_notify;
  gboolean token_needed = self->pending_token_needed;

  self->pending_notify = 0;
  self->pending_token_needed = FALSE;

  if (pending != 0)
    {
      g_object_freeze_notify (G_OBJECT (self));
      for (guint prop = 1; prop < N_PROPS; prop++)
        {
          if (pending & (1u << prop))
            g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
        }
      g_object_thaw_notify (G_OBJECT (self));
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
    }
  if (token_needed)
    g_signal_emit (self, signals[SIGNAL_TOKEN_NEEDED], 0);
}

/* What a DATA frame carries */

/* WireGuard's four message types start with their type as a little-endian u32; nothing
 * else that a relay brings does (a disco message starts with 'L'). */
static gboolean
is_wireguard (const guint8 *payload,
              gsize         length)
{
  return length >= WG_HEADER_SIZE && payload[0] >= 1 && payload[0] <= WG_TYPE_MAX &&
         payload[1] == 0 && payload[2] == 0 && payload[3] == 0;
}

static gboolean
is_disco (const guint8 *payload,
          gsize         length)
{
  return length >= LR_DISCO_MAGIC_SIZE &&
         memcmp (payload, LR_DISCO_MAGIC, LR_DISCO_MAGIC_SIZE) == 0;
}

/* Addresses */

static GSocket *
socket_for (LrdRelayClient *self,
            int             family)
{
  return family == AF_INET6 ? self->socket6 : self->socket4;
}

static void
send_to_candidate (LrdRelayClient *self,
                   Candidate      *candidate,
                   const guint8   *data,
                   gsize           length)
{
  GSocket *socket = socket_for (self, candidate->addr.u.sa.sa_family);

  if (socket == NULL || !candidate->resolved)
    return;
  /* Errors (no route, a full buffer) are what UDP does: the missing answer tells. */
  (void) sendto (g_socket_get_fd (socket), data, length, MSG_DONTWAIT,
                 &candidate->addr.u.sa, candidate->addr.length);
}

/* Candidates */

static void
candidate_free (Candidate *candidate)
{
  g_cancellable_cancel (candidate->cancellable);
  g_clear_object (&candidate->cancellable);
  g_free (candidate->name);
  g_free (candidate);
}

/* Forgets the binding; the next BIND goes out at once once the candidate is wanted again. */
static void
candidate_unbind (Candidate *candidate)
{
  candidate->bound = FALSE;
  candidate->bind_attempts = 0;
  candidate->next_bind_us = 0;
}

static void
candidate_reset (Candidate *candidate)
{
  candidate->measure.rtt_ms = -1;
  candidate->measure.last_answer_us = 0;
  candidate->measure.unusable_until_us = 0;
  candidate->answered_round = FALSE;
  candidate->next_keepalive_us = 0;
  candidate->left_why = NULL;
  candidate_unbind (candidate);
}

static void
send_ping (LrdRelayClient *self,
           Candidate      *candidate,
           gint64          now_us)
{
  guint8 frame[LR_RELAY_FRAME_HEADER_SIZE + PING_PAYLOAD_SIZE];
  guint8 payload[PING_PAYLOAD_SIZE];
  gsize length;

  lr_bytes_write_be64 (payload, g_get_monotonic_time ());
  lr_bytes_write_be64 (payload + 8, now_us);
  length = lr_relay_frame_build (frame, sizeof frame, LR_RELAY_FRAME_PING, 0, 0, payload,
                                 sizeof payload);
  send_to_candidate (self, candidate, frame, length);
}

static gboolean ensure_socket (LrdRelayClient *self,
                               int             family);

static void
candidate_set_address (Candidate    *candidate,
                       GInetAddress *address,
                       guint16       port)
{
  g_autoptr(GSocketAddress) socket_address = g_inet_socket_address_new (address, port);

  if (!lr_addr_from_gaddress (&candidate->addr, G_INET_SOCKET_ADDRESS (socket_address)))
    return;
  candidate->resolved = TRUE;
  if (candidate->self->running)
    ensure_socket (candidate->self, candidate->addr.u.sa.sa_family);
}

static void
resolve_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  Candidate *candidate;
  GInetAddress *chosen = NULL;
  g_autoptr(GSocketConnectable) parsed = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  candidate = user_data;
  if (addresses == NULL)
    {
      g_warning ("Cannot resolve relay %s: %s", candidate->name, error->message);
      return;
    }

  /* IPv4 first: every relay listens there, and most home routers have no IPv6. */
  for (GList *l = addresses; l != NULL && chosen == NULL; l = l->next)
    {
      if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
        chosen = l->data;
    }
  if (chosen == NULL)
    chosen = addresses->data;

  parsed = g_network_address_parse (candidate->name, 0, NULL);
  if (parsed != NULL)
    candidate_set_address (candidate, chosen,
                           g_network_address_get_port (G_NETWORK_ADDRESS (parsed)));
  g_resolver_free_addresses (addresses);
}

static Candidate *
candidate_new (LrdRelayClient *self,
               const char     *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnectable) parsed = g_network_address_parse (name, 0, &error);
  g_autoptr(GInetAddress) literal = NULL;
  const char *host;
  guint16 port;
  Candidate *candidate;

  if (parsed == NULL)
    {
      g_warning ("Skipping relay candidate “%s”: %s", name, error->message);
      return NULL;
    }
  host = g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed));
  port = g_network_address_get_port (G_NETWORK_ADDRESS (parsed));
  if (port == 0 || host == NULL || *host == '\0')
    {
      g_warning ("Skipping relay candidate “%s”: it needs a host and a port", name);
      return NULL;
    }

  candidate = g_new0 (Candidate, 1);
  candidate->self = self;
  candidate->name = g_strdup (name);
  candidate->cancellable = g_cancellable_new ();
  candidate_reset (candidate);

  literal = g_inet_address_new_from_string (host);
  if (literal != NULL)
    candidate_set_address (candidate, literal, port);
  else
    {
      g_autoptr(GResolver) resolver = g_resolver_get_default ();

      g_resolver_lookup_by_name_async (resolver, host, candidate->cancellable, resolve_cb,
                                       candidate);
    }
  return candidate;
}

static Candidate *
find_candidate_by_addr (LrdRelayClient *self,
                        const LrAddr   *from)
{
  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *candidate = g_ptr_array_index (self->candidates, i);

      if (candidate->resolved &&
          lr_addr_equal (&candidate->addr, from))
        return candidate;
    }
  return NULL;
}

/* Choosing */

static void
set_current (LrdRelayClient *self,
             Candidate      *candidate,
             const char     *reason,
             gint64          now_us)
{
  self->current = candidate;
  self->standby = NULL;
  self->next_stun_us = now_us;
  self->stun_pending = FALSE;
  set_string (self, &self->relay, candidate != NULL ? candidate->name : "", PROP_RELAY);
  set_string (self, &self->reason, reason, PROP_REASON);
  update_rtt (self);
  if (candidate != NULL)
    {
      candidate->next_keepalive_us = now_us;
      candidate->left_why = NULL;
      /* A newly chosen relay gets the same few seconds to answer as the chosen one always
       * has, even if it was last measured half a minute ago. */
      candidate->measure.last_answer_us = MAX (candidate->measure.last_answer_us, now_us);
      /* Usually it is bound already, as every usable candidate is: then the switch costs
       * nothing, and the peers that send through this relay reach us there already. */
      if (!candidate->bound)
        {
          candidate->bind_attempts = 0;
          candidate->next_bind_us = now_us;
        }
      if (self->token_refused)
        set_state (self, LRD_RELAY_CLIENT_FAILED);
      else
        {
          set_state (self, candidate->bound ? LRD_RELAY_CLIENT_BOUND
                                            : LRD_RELAY_CLIENT_SEARCHING);
          set_problem (self, "");
        }
    }
}

/* Bound on the chosen relay: DATA goes out through it. */
static gboolean
current_bound (LrdRelayClient *self)
{
  return self->current != NULL && self->current->bound;
}

static guint
count_usable (LrdRelayClient *self,
              gint64          now_us)
{
  guint n = 0;

  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *candidate = g_ptr_array_index (self->candidates, i);

      if (lr_relay_measure_is_usable (&candidate->measure, FALSE, now_us))
        n++;
    }
  return n;
}

/* Whether a candidate was left, for @why (%NULL: any reason), and is not tried yet. */
static gboolean
any_left_for (LrdRelayClient *self,
              const char     *why,
              gint64          now_us)
{
  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *candidate = g_ptr_array_index (self->candidates, i);

      if (candidate->measure.unusable_until_us > now_us &&
          (why == NULL || candidate->left_why == why))
        return TRUE;
    }
  return FALSE;
}

static int
index_of (LrdRelayClient *self,
          Candidate      *candidate)
{
  guint index;

  if (candidate == NULL || !g_ptr_array_find (self->candidates, candidate, &index))
    return -1;
  return index;
}

static void start_round (LrdRelayClient *self,
                         gint64          now_us);

static void
choose (LrdRelayClient *self,
        gint64          now_us,
        gboolean        round_done)
{
  guint n = self->candidates->len;
  g_autofree LrRelayMeasure *measures = g_new0 (LrRelayMeasure, MAX (n, 1));
  LrRelayChoiceReason reason;
  Candidate *previous = self->current;
  Candidate *next;
  g_autofree char *text = NULL;
  int index;

  for (guint i = 0; i < n; i++)
    measures[i] = ((Candidate *) g_ptr_array_index (self->candidates, i))->measure;
  self->choice.contender = index_of (self, self->contender);
  index = lr_relay_choice_choose (&self->choice, measures, n, index_of (self, previous),
                                  round_done, &reason);
  self->contender = self->choice.contender >= 0 ?
                    g_ptr_array_index (self->candidates, self->choice.contender) : NULL;
  next = index >= 0 ? g_ptr_array_index (self->candidates, index) : NULL;

  switch (reason)
    {
    case LR_RELAY_CHOICE_KEEP:
      return;

    case LR_RELAY_CHOICE_FIRST:
      {
        guint usable = count_usable (self, now_us);
        int lowest = -1;

        for (guint i = 0; i < n; i++)
          {
            if (lr_relay_measure_is_usable (&measures[i], FALSE, now_us) &&
                (lowest < 0 || measures[i].rtt_ms < measures[lowest].rtt_ms))
              lowest = i;
          }
        if (lowest == index)
          text = g_strdup_printf ("lowest round-trip time of %u answering relay%s", usable,
                                  usable == 1 ? "" : "s");
        else
          text = g_strdup_printf ("listed first among %u answering relays of about the "
                                  "lowest round-trip time", usable);
        g_debug ("Relay %s chosen: %s", next->name, text);
        set_current (self, next, text, now_us);
      }
      break;

    case LR_RELAY_CHOICE_BETTER:
      text = g_strdup_printf ("round-trip time %.1f ms, clearly lower than %.1f ms through "
                              "lanrage-relay %s", next->measure.rtt_ms,
                              previous->measure.rtt_ms, previous->name);
      g_debug ("Relay %s chosen: %s", next->name, text);
      set_current (self, next, text, now_us);
      break;

    case LR_RELAY_CHOICE_DEAD:
      text = g_strdup_printf ("previous relay lanrage-relay %s %s", previous->name,
                              previous->left_why != NULL ? previous->left_why
                                                         : "stopped answering");
      g_message ("Relay %s chosen: %s", next->name, text);
      set_current (self, next, text, now_us);
      /* The others' RTTs may be half a minute old: measure them again now. */
      start_round (self, now_us);
      break;

    case LR_RELAY_CHOICE_NONE:
    default:
      if (previous != NULL)
        {
          g_message ("Relay %s %s, and no other relay answers", previous->name,
                     previous->left_why != NULL ? previous->left_why : "stopped answering");
          set_current (self, NULL, "", now_us);
        }
      if (self->token_refused)
        ; /* The problem says so already. */
      else if (any_left_for (self, REFUSES_TOKEN, now_us))
        set_problem (self, "The relay refused this computer's party pass; asking the server "
                           "for a new one.");
      else if (any_left_for (self, NULL, now_us))
        set_problem (self, "The relays are full or do not relay; trying again in a minute.");
      else if (n == 0)
        set_problem (self, "No relay is known for this party, so peers that cannot reach "
                           "this computer directly cannot reach it at all.");
      else
        {
          g_autofree char *problem =
            n == 1 ? g_strdup ("The relay does not answer. Check the internet connection and "
                               "whether a firewall blocks UDP.")
                   : g_strdup_printf ("None of the %u relays answers. Check the internet "
                                      "connection and whether a firewall blocks UDP.", n);

          set_problem (self, problem);
        }
      set_state (self, LRD_RELAY_CLIENT_FAILED);
      self->next_round_us = MIN (self->next_round_us, now_us + SEARCH_ROUND_INTERVAL_US);
      break;
    }
}

static void
start_round (LrdRelayClient *self,
             gint64          now_us)
{
  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *candidate = g_ptr_array_index (self->candidates, i);

      candidate->answered_round = FALSE;
      send_ping (self, candidate, now_us);
    }
  self->round_active = TRUE;
  self->round_started_us = now_us;
  self->next_round_us = now_us + (self->current != NULL ? ROUND_INTERVAL_US
                                                        : SEARCH_ROUND_INTERVAL_US);
}

static gboolean
round_complete (LrdRelayClient *self,
                gint64          now_us)
{
  if (now_us - self->round_started_us >= ROUND_TIMEOUT_US)
    return TRUE;
  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *candidate = g_ptr_array_index (self->candidates, i);

      if (!candidate->answered_round)
        return FALSE;
    }
  return TRUE;
}

/* Sending */

/* A BIND proves that we hold the token without carrying it (lr-relay-frame.h). Its
 * timestamp and counter come from the wall clock, not from self->clock: the relay compares
 * the timestamp with its own wall clock, and the counter must keep growing across a restart
 * of this process, which a counter kept in memory would not. */
static void
send_bind (LrdRelayClient *self,
           Candidate      *candidate,
           gint64          now_us)
{
  guint8 frame[LR_RELAY_FRAME_BIND_SIZE];
  gint64 wall_us = g_get_real_time ();
  gsize length;

  if (self->token == NULL || !self->token_usable)
    return;
  self->bind_counter = MAX (self->bind_counter + 1, (guint64) MAX (wall_us, 0));
  length = lr_relay_frame_build_bind (frame, sizeof frame, self->token_public, self->token_key,
                                      wall_us + candidate->clock_offset_us, self->bind_counter);
  if (length > 0)
    send_to_candidate (self, candidate, frame, length);
  candidate->last_bind_us = now_us;
  candidate->last_bind_counter = self->bind_counter;
}

static void
send_stun (LrdRelayClient *self)
{
  guint8 request[STUN_REQUEST_SIZE];
  guint8 padding[STUN_PADDING] = { 0 };
  LrStunBuilder builder;
  gsize length;

  for (guint i = 0; i < LR_STUN_TRANSACTION_SIZE; i++)
    self->stun_transaction[i] = g_random_int_range (0, 256);
  lr_stun_builder_init (&builder, request, sizeof request, LR_STUN_METHOD_BINDING,
                        LR_STUN_CLASS_REQUEST, self->stun_transaction);
  lr_stun_builder_add (&builder, LR_STUN_ATTR_PADDING, padding, sizeof padding);
  length = lr_stun_builder_finish (&builder);
  if (length == 0)
    return;
  send_to_candidate (self, self->current, request, length);
  self->stun_pending = TRUE;
}

static void
send_data (LrdRelayClient *self,
           guint64         peer_id,
           guint8         *frame,
           gsize           payload_length)
{
  lr_relay_frame_write_header (frame, LR_RELAY_FRAME_DATA, 0, peer_id);
  send_to_candidate (self, self->current, frame, LR_RELAY_FRAME_HEADER_SIZE + payload_length);
  if (self->standby != NULL)
    send_to_candidate (self, self->standby, frame, LR_RELAY_FRAME_HEADER_SIZE + payload_length);
}

/* Held datagrams */

/* Keeps @data in *@slot, replacing what was held there. */
static void
hold (Held         **slot,
      guint64        peer_id,
      const guint8  *data,
      gsize          length,
      gint64         now_us)
{
  if (length > LR_RELAY_FRAME_MAX_SIZE)
    return;
  if (*slot == NULL)
    *slot = g_new (Held, 1);
  (*slot)->peer_id = peer_id;
  (*slot)->held_us = now_us;
  (*slot)->length = length;
  memcpy ((*slot)->data, data, length);
}

/* Takes what *@slot holds if it is fresh enough to be worth sending; %NULL otherwise. The
 * caller frees it. */
static Held *
take_held (Held   **slot,
           gint64   now_us)
{
  Held *held = g_steal_pointer (slot);

  if (held != NULL && (held->length == 0 || now_us - held->held_us > HOLD_US))
    g_clear_pointer (&held, g_free);
  return held;
}

static void
hold_for_unknown (LrdRelayClient *self,
                  guint64         peer_id,
                  const guint8   *data,
                  gsize           length,
                  gint64          now_us)
{
  Held *slot = NULL;

  for (guint i = 0; i < self->held_unknown->len && slot == NULL; i++)
    {
      Held *held = g_ptr_array_index (self->held_unknown, i);

      if (held->peer_id == peer_id)
        slot = held;
    }
  if (slot == NULL && self->held_unknown->len >= HELD_UNKNOWN_MAX)
    {
      guint oldest = 0;

      for (guint i = 1; i < self->held_unknown->len; i++)
        {
          if (((Held *) g_ptr_array_index (self->held_unknown, i))->held_us <
              ((Held *) g_ptr_array_index (self->held_unknown, oldest))->held_us)
            oldest = i;
        }
      g_ptr_array_remove_index_fast (self->held_unknown, oldest);
    }
  if (slot == NULL)
    {
      hold (&slot, peer_id, data, length, now_us);
      if (slot != NULL)
        g_ptr_array_add (self->held_unknown, slot);
      return;
    }
  hold (&slot, peer_id, data, length, now_us);
}

/* Removes and returns what was held for @peer_id before it was added, or %NULL. */
static Held *
take_held_for_unknown (LrdRelayClient *self,
                       guint64         peer_id)
{
  for (guint i = 0; i < self->held_unknown->len; i++)
    {
      Held *held = g_ptr_array_index (self->held_unknown, i);

      if (held->peer_id == peer_id)
        return g_ptr_array_steal_index_fast (self->held_unknown, i);
    }
  return NULL;
}

/* Once the chosen relay is bound: what WireGuard sent meanwhile goes out. */
static void
send_held (LrdRelayClient *self)
{
  gint64 now_us = lr_clock_now_us (self->clock);
  GHashTableIter iter;
  Peer *peer;

  if (!current_bound (self))
    return;
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    {
      g_autofree Held *held = take_held (&peer->outbound, now_us);
      guint8 frame[BUFFER_SIZE];

      if (held == NULL)
        continue;
      memcpy (frame + LR_RELAY_FRAME_HEADER_SIZE, held->data, held->length);
      send_data (self, peer->id, frame, held->length);
    }
}

/* Peers */

static void
peer_free (Peer *peer)
{
  g_free (peer->outbound);
  g_free (peer->inbound);
  if (peer->source != NULL)
    {
      g_source_destroy (peer->source);
      g_clear_pointer (&peer->source, g_source_unref);
    }
  if (peer->socket != NULL)
    g_socket_close (peer->socket, NULL);
  g_clear_object (&peer->socket);
  g_free (peer);
}

static gboolean
peer_socket_cb (GSocket      *socket,
                GIOCondition  condition,
                gpointer      user_data)
{
  Peer *peer = user_data;
  LrdRelayClient *self = peer->self;
  guint8 buffer[BUFFER_SIZE];
  guint8 *payload = buffer + LR_RELAY_FRAME_HEADER_SIZE;
  int fd = g_socket_get_fd (socket);

  for (guint n = 0; n < MAX_BATCH; n++)
    {
      LrAddr from = { 0 };
      socklen_t from_length = sizeof from.u;
      gssize length = recvfrom (fd, payload, LR_RELAY_FRAME_MAX_SIZE, MSG_DONTWAIT | MSG_TRUNC,
                                &from.u.sa, &from_length);

      if (length < 0)
        {
          if (errno == EINTR || errno == ECONNREFUSED)
            continue;
          break;
        }
      from.length = from_length;
      /* Only WireGuard's own port: anything else on the machine could otherwise send into
       * the party through us. And only WireGuard's messages: the peer's client would hand
       * anything else to disco or drop it. */
      if (!lr_addr_equal (&from, &self->wg_addr) ||
          length > LR_RELAY_FRAME_MAX_SIZE - LR_RELAY_FRAME_HEADER_SIZE ||
          !is_wireguard (payload, length))
        {
          self->dropped++;
          continue;
        }
      /* WireGuard roamed back here; still carried, as the peer may not be direct yet. */
      peer->roamed |= peer->direct;
      if (!current_bound (self))
        {
          hold (&peer->outbound, peer->id, payload, length, lr_clock_now_us (self->clock));
          continue;
        }
      send_data (self, peer->id, buffer, length);
    }
  return G_SOURCE_CONTINUE;
}

/* The relay socket */

static void
handle_stun (LrdRelayClient *self,
             const guint8   *data,
             gsize           length)
{
  LrStunMessage message;
  LrStunAddress mapped;
  g_autofree char *text = NULL;

  if (!self->stun_pending || !lr_stun_message_parse (&message, data, length, NULL) ||
      message.klass != LR_STUN_CLASS_SUCCESS ||
      memcmp (message.transaction_id, self->stun_transaction, LR_STUN_TRANSACTION_SIZE) != 0 ||
      !lr_stun_message_get_address (&message, LR_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped))
    {
      self->dropped++;
      return;
    }
  self->stun_pending = FALSE;
  self->next_stun_us = lr_clock_now_us (self->clock) + STUN_INTERVAL_US;
  text = lr_stun_address_to_string (&mapped);
  set_string (self, &self->public_endpoint, text, PROP_PUBLIC_ENDPOINT);
}

static void update_standby (LrdRelayClient *self,
                            gint64          now_us);

static void
handle_pong (LrdRelayClient     *self,
             Candidate          *candidate,
             const LrRelayFrame *frame,
             gint64              now_us)
{
  gint64 sent;
  double sample;

  if (frame->payload_length != PING_PAYLOAD_SIZE)
    {
      self->dropped++;
      return;
    }
  /* RTT from the monotonic clock: the wall clock may step between PING and PONG. */
  sent = lr_bytes_read_be64 (frame->payload);
  sample = (g_get_monotonic_time () - sent) / 1000.0;
  if (sample < 0 || sample > 10000)
    {
      self->dropped++;
      return;
    }
  if (candidate->measure.rtt_ms < 0)
    candidate->measure.rtt_ms = sample;
  else
    candidate->measure.rtt_ms += RTT_ALPHA * (sample - candidate->measure.rtt_ms);
  candidate->measure.last_answer_us = now_us;
  if (self->round_active)
    candidate->answered_round = TRUE;
  if (candidate == self->current)
    {
      update_rtt (self);
      update_standby (self, now_us);
    }
}

static void
clear_token_refusals (LrdRelayClient *self)
{
  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *candidate = g_ptr_array_index (self->candidates, i);

      if (candidate->left_why == REFUSES_TOKEN)
        {
          candidate->measure.unusable_until_us = 0;
          candidate->left_why = NULL;
        }
    }
}

static void
token_needed (LrdRelayClient *self,
              gint64          now_us)
{
  self->token_asked_us = now_us;
  self->pending_token_needed = TRUE;
}

/* A relay that refuses us is left alone for a while; if it was the chosen one, another is
 * chosen. */
static void
leave_candidate (LrdRelayClient *self,
                 Candidate      *candidate,
                 const char     *why,
                 gint64          now_us)
{
  candidate->measure.unusable_until_us = now_us + UNUSABLE_US;
  candidate->left_why = why;
  candidate_unbind (candidate);
  if (candidate == self->current)
    choose (self, now_us, FALSE);
}

static void
handle_error (LrdRelayClient     *self,
              Candidate          *candidate,
              const LrRelayFrame *frame,
              gint64              now_us)
{
  gboolean is_current = candidate == self->current;

  switch (frame->code)
    {
    case LR_RELAY_FRAME_ERROR_BAD_TOKEN:
      /* Either the token is bad (a new one helps) or this relay does not share the control
       * server's secret (another relay helps): ask for a token and try the others. A new
       * token makes this relay a candidate again (see clear_token_refusals()). Only the
       * chosen relay's refusal asks: a relay with another secret among the others would
       * otherwise refuse every new token and ask for the next one, for ever. */
      if (is_current && self->token_asked_us == 0)
        token_needed (self, now_us);
      leave_candidate (self, candidate, REFUSES_TOKEN, now_us);
      if (!is_current || self->current != NULL)
        break;
      self->token_refused = TRUE;
      set_problem (self, "The relay refused this computer's party pass; asking the server for "
                         "a new one.");
      set_state (self, LRD_RELAY_CLIENT_FAILED);
      break;

    case LR_RELAY_FRAME_ERROR_EXPIRED:
    case LR_RELAY_FRAME_ERROR_REVOKED:
      if (!is_current)
        {
          /* The chosen relay says so too at its next BIND, and check_token() asks for a new
           * token before it expires anyway; a new token binds here again. */
          leave_candidate (self, candidate, REFUSES_TOKEN, now_us);
          break;
        }
      candidate_unbind (candidate);
      if (frame->code == LR_RELAY_FRAME_ERROR_REVOKED)
        set_problem (self, "The relay refused this computer's party pass because this "
                           "computer is no longer in the party.");
      else
        set_problem (self, "The relay refused this computer's party pass because it expired; "
                           "asking the server for a new one.");
      set_state (self, LRD_RELAY_CLIENT_FAILED);
      if (!self->token_refused)
        {
          self->token_refused = TRUE;
          token_needed (self, now_us);
        }
      break;

    case LR_RELAY_FRAME_ERROR_NOT_BOUND:
      /* The relay restarted or forgot us: BIND again at once, but not for every DATA. */
      if (now_us - candidate->last_bind_us >= BIND_RETRY_US / 2)
        send_bind (self, candidate, now_us);
      break;

    case LR_RELAY_FRAME_ERROR_FULL:
    case LR_RELAY_FRAME_ERROR_NO_RELAYING:
      leave_candidate (self, candidate,
                       frame->code == LR_RELAY_FRAME_ERROR_FULL ? "is full" : "does not relay",
                       now_us);
      break;

    default:
      self->dropped++;
      break;
    }
}

/* The relay refused our last BIND as stale: our clock is off from the relay's, or our
 * counter is behind the last one it took (our clock stepped back across a restart). Only an
 * answer signed with our token's key, about the BIND we sent last, is believed; anyone else
 * could otherwise move our clock or counter. Then BIND again at once, corrected. */
static void
handle_stale (LrdRelayClient *self,
              Candidate      *candidate,
              const guint8   *data,
              gsize           length,
              gint64          now_us)
{
  guint64 echoed, last;
  gint64 relay_time_us, offset_us;
  gboolean corrected;

  if (self->token == NULL || !self->token_usable ||
      !lr_relay_frame_check_stale (data, length, self->token_key, &echoed, &relay_time_us,
                                   &last) ||
      echoed != candidate->last_bind_counter)
    {
      self->dropped++;
      return;
    }
  offset_us = relay_time_us - g_get_real_time ();
  /* Only a correction is worth a BIND at once; otherwise the usual retry comes, so that a
   * relay that keeps refusing cannot keep us sending. */
  corrected = ABS (offset_us - candidate->clock_offset_us) > G_USEC_PER_SEC ||
              last >= self->bind_counter;
  candidate->clock_offset_us = offset_us;
  self->bind_counter = MAX (self->bind_counter, last);
  if (corrected)
    send_bind (self, candidate, now_us);
}

static void
handle_bound (LrdRelayClient *self,
              Candidate      *candidate,
              gint64          now_us)
{
  candidate->measure.last_answer_us = now_us;
  if (self->token_refused)
    return;
  candidate->bound = TRUE;
  candidate->bind_attempts = 0;
  candidate->next_bind_us = now_us + REBIND_INTERVAL_US;
  if (candidate == self->current)
    {
      set_state (self, LRD_RELAY_CLIENT_BOUND);
      set_problem (self, "");
    }
}

static void
handle_data (LrdRelayClient     *self,
             const LrRelayFrame *frame)
{
  Peer *peer;

  if (is_disco (frame->payload, frame->payload_length))
    {
      /* Straight from the receive buffer: the disco router opens it or drops it, and
       * finds the sender by its key, so a peer not added yet is its business. */
      g_signal_emit (self, signals[SIGNAL_DISCO_RECEIVED], 0, frame->peer, frame->payload,
                     (guint) frame->payload_length);
      return;
    }
  if (!is_wireguard (frame->payload, frame->payload_length))
    {
      self->dropped++;
      return;
    }
  peer = g_hash_table_lookup (self->peers, &frame->peer);
  if (peer == NULL)
    {
      /* A peer that joined a moment ago: its first handshake may come before the control
       * server's event that names it. */
      hold_for_unknown (self, frame->peer, frame->payload, frame->payload_length,
                        lr_clock_now_us (self->clock));
      return;
    }
  if (!peer->ready)
    {
      hold (&peer->inbound, peer->id, frame->payload, frame->payload_length,
            lr_clock_now_us (self->clock));
      return;
    }
  (void) sendto (g_socket_get_fd (peer->socket), frame->payload, frame->payload_length,
                 MSG_DONTWAIT, &self->wg_addr.u.sa, self->wg_addr.length);
  /* WireGuard follows the source of the peer's last packet: this one moves it back here. */
  peer->roamed |= peer->direct;
}

/* Says which direct peers' WireGuard roamed back to their loopback socket since the last
 * tick: at most once a tick each, and also after the last of a burst of packets. */
static void
report_roams (LrdRelayClient *self)
{
  g_autoptr(GArray) roamed = g_array_new (FALSE, FALSE, sizeof (guint64));
  GHashTableIter iter;
  Peer *peer;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    if (peer->roamed)
      {
        peer->roamed = FALSE;
        g_array_append_val (roamed, peer->id);
      }
  /* After the walk: a handler may remove peers. */
  for (guint i = 0; i < roamed->len; i++)
    g_signal_emit (self, signals[SIGNAL_WIREGUARD_ROAMED], 0, g_array_index (roamed, guint64, i));
}

static void
handle_relay_datagram (LrdRelayClient *self,
                       guint8         *data,
                       gsize           length,
                       const LrAddr   *from)
{
  Candidate *current = self->current;
  Candidate *candidate;
  gint64 now_us;
  LrRelayFrame frame;

  /* The chosen relay first, should two names resolve to one address. */
  if (current != NULL && current->resolved &&
      lr_addr_equal (&current->addr, from))
    candidate = current;
  else
    candidate = find_candidate_by_addr (self, from);
  if (candidate == NULL)
    {
      self->dropped++;
      return;
    }

  if (!lr_relay_frame_is_frame (data, length))
    {
      /* STUN is asked of the chosen relay only. */
      if (candidate == current && lr_stun_is_message (data, length))
        handle_stun (self, data, length);
      else
        self->dropped++;
      return;
    }
  if (lr_relay_frame_parse (&frame, data, length) != LR_RELAY_FRAME_OK)
    {
      self->dropped++;
      return;
    }

  now_us = lr_clock_now_us (self->clock);
  switch (frame.type)
    {
    case LR_RELAY_FRAME_PONG:
      handle_pong (self, candidate, &frame, now_us);
      break;
    case LR_RELAY_FRAME_BOUND:
      handle_bound (self, candidate, now_us);
      break;
    case LR_RELAY_FRAME_ERROR:
      if (frame.code == LR_RELAY_FRAME_ERROR_STALE)
        handle_stale (self, candidate, data, length, now_us);
      else
        handle_error (self, candidate, &frame, now_us);
      break;
    case LR_RELAY_FRAME_DATA:
      /* A peer that chose another relay sends through that one: DATA comes from every relay
       * this client is bound on, not only from the one it sends through. */
      if (candidate->bound)
        handle_data (self, &frame);
      else
        self->dropped++;
      break;
    default:
      self->dropped++;
      break;
    }
}

static gboolean
relay_socket_cb (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  g_autoptr(LrdRelayClient) self = g_object_ref (user_data);
  guint8 buffer[BUFFER_SIZE];
  int fd = g_socket_get_fd (socket);

  for (guint n = 0; n < MAX_BATCH; n++)
    {
      LrAddr from = { 0 };
      socklen_t from_length = sizeof from.u;
      gssize length = recvfrom (fd, buffer, sizeof buffer, MSG_DONTWAIT,
                                &from.u.sa, &from_length);

      if (length < 0)
        {
          if (errno == EINTR || errno == ECONNREFUSED)
            continue;
          break;
        }
      from.length = from_length;
      handle_relay_datagram (self, buffer, length, &from);
      /* A signal handler may have stopped the client. */
      if (self->socket4 != socket && self->socket6 != socket)
        break;
    }
  flush_changed (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
ensure_socket (LrdRelayClient *self,
               int             family)
{
  GSocket **socket = family == AF_INET6 ? &self->socket6 : &self->socket4;
  GSource **source = family == AF_INET6 ? &self->source6 : &self->source4;
  GSocketFamily gfamily = family == AF_INET6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) address = NULL;

  if (*socket != NULL)
    return TRUE;

  *socket = g_socket_new (gfamily, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  if (*socket == NULL)
    {
      g_warning ("Cannot open a UDP socket for the relay: %s", error->message);
      return FALSE;
    }
  g_socket_set_blocking (*socket, FALSE);
  any = g_inet_address_new_any (gfamily);
  address = g_inet_socket_address_new (any, 0);
  if (!g_socket_bind (*socket, address, FALSE, &error))
    {
      g_warning ("Cannot bind a UDP socket for the relay: %s", error->message);
      g_clear_object (socket);
      return FALSE;
    }
  *source = g_socket_create_source (*socket, G_IO_IN, NULL);
  g_source_set_callback (*source, G_SOURCE_FUNC (relay_socket_cb), self, NULL);
  g_source_attach (*source, self->context);
  return TRUE;
}

static void
close_socket (GSocket **socket,
              GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
  if (*socket != NULL)
    g_socket_close (*socket, NULL);
  g_clear_object (socket);
}

/* The timer */

static void
check_token (LrdRelayClient *self,
             gint64          now_us)
{
  gint64 lifetime = self->token_expires_us - self->token_set_us;
  gint64 margin = MAX ((gint64) (lifetime * TOKEN_LEFT_FRACTION), TOKEN_LEFT_MIN_US);

  if (self->token == NULL || self->token_refused || self->token_expires_us <= 0)
    return;
  if (self->token_expires_us - now_us >= margin)
    return;
  if (self->token_asked_us != 0 && now_us - self->token_asked_us < TOKEN_ASK_AGAIN_US)
    return;
  token_needed (self, now_us);
}

/* Whether this client keeps a binding on @candidate: on the chosen relay, and on every other
 * that answers its PINGs and has not refused us. A peer that chose another of them then
 * reaches this client through the relay it sends through, so peers whose nearest relays
 * differ (a party across continents) still reach each other. The cost is one BIND per
 * relay every REBIND_INTERVAL_US. */
static gboolean
wants_binding (LrdRelayClient *self,
               Candidate      *candidate,
               gint64          now_us)
{
  if (!candidate->resolved)
    return FALSE;
  if (candidate == self->current)
    return TRUE;
  return lr_relay_measure_is_usable (&candidate->measure, FALSE, now_us);
}

static void
keep_bindings (LrdRelayClient *self,
               gint64          now_us)
{
  /* Without a token the relays take, nothing to BIND with; the bindings the relays still
   * have stay until a new token comes. */
  if (self->token == NULL || self->token_refused)
    return;

  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *candidate = g_ptr_array_index (self->candidates, i);

      if (!wants_binding (self, candidate, now_us))
        {
          /* Stale or refused: DATA from there is no longer taken. */
          if (candidate->bound)
            g_debug ("Dropping the binding on relay %s", candidate->name);
          candidate_unbind (candidate);
          continue;
        }
      if (now_us < candidate->next_bind_us)
        continue;
      /* Three BINDs without BOUND, one a second: the relay is gone or does not take us,
       * whether it was bound before or not. */
      if (candidate->bind_attempts >= BIND_ATTEMPTS)
        {
          leave_candidate (self, candidate, "did not accept the binding", now_us);
          continue;
        }
      send_bind (self, candidate, now_us);
      candidate->bind_attempts++;
      candidate->next_bind_us = now_us + BIND_RETRY_US;
    }
}

/* Whether the chosen relay is late with its pong (SUSPECT_GRACE_US). */
static gboolean
current_suspect (LrdRelayClient *self,
                 gint64          now_us)
{
  const LrRelayMeasure *measure;
  gint64 rtt_us;

  if (self->current == NULL || !self->current->bound)
    return FALSE;
  measure = &self->current->measure;
  if (measure->last_answer_us == 0)
    return FALSE;
  rtt_us = (gint64) (MAX (measure->rtt_ms, 0) * 1000);
  return now_us - measure->last_answer_us > KEEPALIVE_INTERVAL_US + 2 * rtt_us +
                                            SUSPECT_GRACE_US;
}

/* While the chosen relay is suspect: the best other relay we are bound on, by the choice's
 * own order (lr_relay_choice_standby()), carries DATA too. */
static void
update_standby (LrdRelayClient *self,
                gint64          now_us)
{
  Candidate *standby = NULL;

  if (current_suspect (self, now_us))
    {
      guint n = self->candidates->len;
      g_autofree LrRelayMeasure *measures = g_new0 (LrRelayMeasure, MAX (n, 1));
      int index;

      for (guint i = 0; i < n; i++)
        {
          Candidate *candidate = g_ptr_array_index (self->candidates, i);

          measures[i] = candidate->measure;
          /* Only where we are bound: elsewhere DATA would be refused. */
          if (!candidate->bound)
            measures[i].last_answer_us = 0;
        }
      index = lr_relay_choice_standby (measures, n, index_of (self, self->current), now_us);
      standby = index >= 0 ? g_ptr_array_index (self->candidates, index) : NULL;
    }
  if (standby == self->standby)
    return;
  if (standby != NULL && self->standby == NULL)
    {
      g_info ("Relay %s went quiet; sending through %s as well until it answers",
                 self->current->name, standby->name);
      /* Find out soon whether it is back. */
      self->current->next_keepalive_us = now_us;
    }
  else if (standby == NULL)
    g_debug ("Relay %s answers again; sending through it alone",
             self->current != NULL ? self->current->name : "(none)");
  self->standby = standby;
}

static gboolean
tick_cb (gpointer user_data)
{
  g_autoptr(LrdRelayClient) self = g_object_ref (user_data);
  gint64 now_us = lr_clock_now_us (self->clock);
  Candidate *current;

  if (self->round_active && round_complete (self, now_us))
    {
      self->round_active = FALSE;
      choose (self, now_us, TRUE);
    }
  if (!self->round_active && now_us >= self->next_round_us)
    start_round (self, now_us);
  choose (self, now_us, FALSE);

  update_standby (self, now_us);
  current = self->current;
  if (current != NULL && now_us >= current->next_keepalive_us)
    {
      send_ping (self, current, now_us);
      current->next_keepalive_us = now_us + (self->standby != NULL ? SUSPECT_KEEPALIVE_US
                                                                   : KEEPALIVE_INTERVAL_US);
    }

  keep_bindings (self, now_us);

  if (current_bound (self) && now_us >= self->next_stun_us)
    {
      send_stun (self);
      self->next_stun_us = now_us + (self->public_endpoint[0] != '\0' ? STUN_INTERVAL_US
                                                                      : STUN_RETRY_US);
    }

  check_token (self, now_us);
  report_roams (self);
  flush_changed (self);
  return G_SOURCE_CONTINUE;
}

static void
start (LrdRelayClient *self)
{
  gint64 now_us = lr_clock_now_us (self->clock);

  if (self->running)
    return;
  self->running = TRUE;
  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *candidate = g_ptr_array_index (self->candidates, i);

      if (candidate->resolved)
        ensure_socket (self, candidate->addr.u.sa.sa_family);
    }
  set_state (self, LRD_RELAY_CLIENT_SEARCHING);
  self->next_round_us = now_us;
  self->tick = g_timeout_source_new (TICK_MS);
  g_source_set_callback (self->tick, tick_cb, self, NULL);
  g_source_attach (self->tick, self->context);
}

static void
forget_token (LrdRelayClient *self)
{
  if (self->token != NULL)
    explicit_bzero (self->token, strlen (self->token));
  g_clear_pointer (&self->token, g_free);
  explicit_bzero (self->token_key, sizeof self->token_key);
  self->token_usable = FALSE;
}

static void
shut_down (LrdRelayClient *self)
{
  self->running = FALSE;
  if (self->tick != NULL)
    {
      g_source_destroy (self->tick);
      g_clear_pointer (&self->tick, g_source_unref);
    }
  close_socket (&self->socket4, &self->source4);
  close_socket (&self->socket6, &self->source6);
  if (self->peers != NULL)
    g_hash_table_remove_all (self->peers);
  if (self->held_unknown != NULL)
    g_ptr_array_set_size (self->held_unknown, 0);
  forget_token (self);
  self->current = NULL;
  self->contender = NULL;
  self->standby = NULL;
  for (guint i = 0; self->candidates != NULL && i < self->candidates->len; i++)
    candidate_unbind (g_ptr_array_index (self->candidates, i));
  self->round_active = FALSE;
  self->token_refused = FALSE;
  self->token_asked_us = 0;
}

/* Public API */

LrdRelayClient *
lrd_relay_client_new (LrClock *clock,
                      guint16  wg_port)
{
  LrdRelayClient *self = g_object_new (LRD_TYPE_RELAY_CLIENT, NULL);

  self->clock = clock != NULL ? lr_clock_ref (clock) : lr_clock_new_system ();
  lr_relay_choice_init (&self->choice, self->clock);
  self->wg_port = wg_port;
  lr_addr_set_ipv4 (&self->wg_addr, INADDR_LOOPBACK, wg_port);
  return self;
}

void
lrd_relay_client_set_candidates (LrdRelayClient     *self,
                                 const char * const *endpoints)
{
  g_autoptr(GPtrArray) old = NULL;
  Candidate *current;

  g_return_if_fail (LRD_IS_RELAY_CLIENT (self));

  current = self->current;
  old = g_steal_pointer (&self->candidates);
  self->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  g_ptr_array_set_free_func (old, NULL);

  for (guint i = 0; endpoints != NULL && endpoints[i] != NULL; i++)
    {
      Candidate *candidate = NULL;
      gboolean duplicate = FALSE;

      for (guint j = 0; j < self->candidates->len && !duplicate; j++)
        duplicate = g_strcmp0 (((Candidate *) self->candidates->pdata[j])->name,
                               endpoints[i]) == 0;
      if (duplicate)
        continue;

      for (guint j = 0; j < old->len && candidate == NULL; j++)
        {
          Candidate *known = old->pdata[j];

          if (known != NULL && g_strcmp0 (known->name, endpoints[i]) == 0)
            {
              candidate = known;
              old->pdata[j] = NULL;
            }
        }
      if (candidate == NULL)
        candidate = candidate_new (self, endpoints[i]);
      if (candidate != NULL)
        g_ptr_array_add (self->candidates, candidate);
    }

  if (self->contender != NULL && index_of (self, self->contender) < 0)
    self->contender = NULL;
  /* Chosen again at the next tick if still wanted. */
  self->standby = NULL;
  if (current != NULL && index_of (self, current) < 0)
    {
      g_autofree char *reason =
        g_strdup_printf ("previous relay lanrage-relay %s is no longer listed", current->name);

      set_current (self, NULL, reason, lr_clock_now_us (self->clock));
      if (self->running)
        set_state (self, LRD_RELAY_CLIENT_SEARCHING);
    }
  for (guint j = 0; j < old->len; j++)
    {
      if (old->pdata[j] != NULL)
        candidate_free (old->pdata[j]);
    }

  /* Measure the new list now. */
  self->round_active = FALSE;
  self->next_round_us = lr_clock_now_us (self->clock);
  flush_changed (self);
}

void
lrd_relay_client_set_token (LrdRelayClient *self,
                            const char     *relay_token,
                            gint64          expires_at_us)
{
  gint64 now_us;

  g_return_if_fail (LRD_IS_RELAY_CLIENT (self));
  g_return_if_fail (relay_token != NULL);

  if (g_strcmp0 (self->token, relay_token) == 0 && self->token_expires_us == expires_at_us)
    return;
  now_us = lr_clock_now_us (self->clock);
  forget_token (self);
  self->token = g_strdup (relay_token);
  self->token_usable = lr_relay_token_split (relay_token, self->token_public, self->token_key,
                                             NULL);
  if (!self->token_usable)
    g_warning ("The relay token is not one (%zu characters); no relay will take it",
               strlen (relay_token));
  self->token_expires_us = expires_at_us;
  self->token_set_us = now_us;
  self->token_asked_us = 0;
  clear_token_refusals (self);
  if (self->token_refused)
    {
      self->token_refused = FALSE;
      if (self->current != NULL)
        {
          set_state (self, LRD_RELAY_CLIENT_SEARCHING);
          set_problem (self, "");
        }
    }

  if (!self->running)
    start (self);
  else
    {
      /* A new token BINDs on every relay at once; the relays keep the bindings. */
      for (guint i = 0; i < self->candidates->len; i++)
        {
          Candidate *candidate = g_ptr_array_index (self->candidates, i);

          candidate->bind_attempts = 0;
          candidate->next_bind_us = now_us;
        }
    }
  flush_changed (self);
}

void
lrd_relay_client_stop (LrdRelayClient *self)
{
  g_return_if_fail (LRD_IS_RELAY_CLIENT (self));

  if (!self->running && self->token == NULL)
    return;
  shut_down (self);
  for (guint i = 0; i < self->candidates->len; i++)
    candidate_reset (g_ptr_array_index (self->candidates, i));
  set_state (self, LRD_RELAY_CLIENT_STOPPED);
  set_string (self, &self->relay, "", PROP_RELAY);
  set_string (self, &self->reason, "", PROP_REASON);
  set_string (self, &self->public_endpoint, "", PROP_PUBLIC_ENDPOINT);
  set_problem (self, "");
  update_rtt (self);
  flush_changed (self);
}

gboolean
lrd_relay_client_add_peer (LrdRelayClient  *self,
                           guint64          peer_id,
                           LrAddr          *out_endpoint,
                           GError         **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  guint64 *key;
  Peer *peer;

  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  peer = g_hash_table_lookup (self->peers, &peer_id);
  if (peer != NULL)
    {
      *out_endpoint = peer->address;
      return TRUE;
    }

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP,
                         error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  if (!g_socket_bind (socket, address, FALSE, error))
    return FALSE;
  local = g_socket_get_local_address (socket, error);
  if (local == NULL)
    return FALSE;

  peer = g_new0 (Peer, 1);
  peer->self = self;
  peer->id = peer_id;
  peer->socket = g_steal_pointer (&socket);
  lr_addr_from_gaddress (&peer->address, G_INET_SOCKET_ADDRESS (local));
  peer->inbound = take_held_for_unknown (self, peer_id);
  peer->source = g_socket_create_source (peer->socket, G_IO_IN, NULL);
  g_source_set_callback (peer->source, G_SOURCE_FUNC (peer_socket_cb), peer, NULL);
  g_source_attach (peer->source, self->context);
  key = g_new (guint64, 1);
  *key = peer_id;
  g_hash_table_insert (self->peers, key, peer);
  *out_endpoint = peer->address;
  return TRUE;
}

/**
 * lrd_relay_client_peer_ready:
 *
 * WireGuard knows @peer_id now (its key and this endpoint are configured): the latest
 * datagram a relay brought for it before then goes to WireGuard, and everything after goes
 * straight through.
 */
void
lrd_relay_client_peer_ready (LrdRelayClient *self,
                             guint64         peer_id)
{
  g_autofree Held *held = NULL;
  Peer *peer;

  g_return_if_fail (LRD_IS_RELAY_CLIENT (self));

  peer = g_hash_table_lookup (self->peers, &peer_id);
  if (peer == NULL || peer->ready)
    return;
  peer->ready = TRUE;
  held = take_held (&peer->inbound, lr_clock_now_us (self->clock));
  if (held != NULL)
    (void) sendto (g_socket_get_fd (peer->socket), held->data, held->length, MSG_DONTWAIT,
                   &self->wg_addr.u.sa, self->wg_addr.length);
}

/**
 * lrd_relay_client_set_peer_direct:
 * @direct: whether WireGuard's endpoint for @peer_id is now the peer's own address
 *
 * While it is, a datagram WireGuard sends to the peer's loopback socket, or one a relay
 * brings from the peer, means WireGuard roamed back to that socket (it follows the source
 * of the peer's last packet, and the peer may still send through the relay): the datagram
 * is still carried, and LrdRelayClient::wireguard-roamed says so at the next tick.
 */
void
lrd_relay_client_set_peer_direct (LrdRelayClient *self,
                                  guint64         peer_id,
                                  gboolean        direct)
{
  Peer *peer;

  g_return_if_fail (LRD_IS_RELAY_CLIENT (self));

  peer = g_hash_table_lookup (self->peers, &peer_id);
  if (peer == NULL)
    return;
  peer->direct = direct;
  peer->roamed = FALSE;
}

void
lrd_relay_client_remove_peer (LrdRelayClient *self,
                              guint64         peer_id)
{
  g_return_if_fail (LRD_IS_RELAY_CLIENT (self));

  g_hash_table_remove (self->peers, &peer_id);
}

LrdRelayClientState
lrd_relay_client_get_state (LrdRelayClient *self)
{
  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), LRD_RELAY_CLIENT_STOPPED);
  return self->state;
}

const char *
lrd_relay_client_get_relay (LrdRelayClient *self)
{
  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), "");
  return self->relay;
}

/* The chosen relay's address, resolved: its STUN service answers on the same port. FALSE
 * while none is chosen. */
gboolean
lrd_relay_client_get_relay_address (LrdRelayClient *self,
                                    LrAddr         *out)
{
  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), FALSE);

  if (self->current == NULL || !self->current->resolved)
    return FALSE;
  *out = self->current->addr;
  return TRUE;
}

double
lrd_relay_client_get_relay_rtt_ms (LrdRelayClient *self)
{
  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), -1);
  return self->relay_rtt_ms;
}

const char *
lrd_relay_client_get_reason (LrdRelayClient *self)
{
  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), "");
  return self->reason;
}

const char *
lrd_relay_client_get_public_endpoint (LrdRelayClient *self)
{
  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), "");
  return self->public_endpoint;
}

const char *
lrd_relay_client_get_problem (LrdRelayClient *self)
{
  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), "");
  return self->state == LRD_RELAY_CLIENT_FAILED ? self->problem : "";
}

/**
 * lrd_relay_client_send_disco:
 * @peer_id: the relay's id of the peer (lr-id.h as a number)
 * @packet: a sealed disco message (lib/lr-disco.h)
 *
 * Sends @packet to the peer through the chosen relay, as DATA; the peer's client hands it
 * to its disco router. Disco is never held: a ping that waits measures nothing.
 *
 * Returns: FALSE with @error while no relay is bound or for a packet that is not disco.
 */
gboolean
lrd_relay_client_send_disco (LrdRelayClient  *self,
                             guint64          peer_id,
                             const guint8    *packet,
                             gsize            length,
                             GError         **error)
{
  guint8 frame[LR_RELAY_FRAME_HEADER_SIZE + LR_DISCO_MAX_SIZE];

  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), FALSE);

  if (!is_disco (packet, length) || length > LR_DISCO_MAX_SIZE)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "Not a disco message");
      return FALSE;
    }
  if (!current_bound (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "No relay is bound");
      return FALSE;
    }
  memcpy (frame + LR_RELAY_FRAME_HEADER_SIZE, packet, length);
  send_data (self, peer_id, frame, length);
  return TRUE;
}

GInetSocketAddress *
lrd_relay_client_dup_relay_socket_address (LrdRelayClient *self)
{
  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (self), NULL);

  if (self->socket4 == NULL)
    return NULL;
  return G_INET_SOCKET_ADDRESS (g_socket_get_local_address (self->socket4, NULL));
}

/* GObject */

static void
lrd_relay_client_dispose (GObject *object)
{
  LrdRelayClient *self = LRD_RELAY_CLIENT (object);

  shut_down (self);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_pointer (&self->held_unknown, g_ptr_array_unref);

  G_OBJECT_CLASS (lrd_relay_client_parent_class)->dispose (object);
}

static void
lrd_relay_client_finalize (GObject *object)
{
  LrdRelayClient *self = LRD_RELAY_CLIENT (object);

  lr_relay_choice_clear (&self->choice);
  g_clear_pointer (&self->clock, lr_clock_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->relay);
  g_free (self->reason);
  g_free (self->public_endpoint);
  g_free (self->problem);

  G_OBJECT_CLASS (lrd_relay_client_parent_class)->finalize (object);
}

static void
lrd_relay_client_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  LrdRelayClient *self = LRD_RELAY_CLIENT (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_RELAY:
      g_value_set_string (value, self->relay);
      break;
    case PROP_RELAY_RTT_MS:
      g_value_set_double (value, self->relay_rtt_ms);
      break;
    case PROP_REASON:
      g_value_set_string (value, self->reason);
      break;
    case PROP_PUBLIC_ENDPOINT:
      g_value_set_string (value, self->public_endpoint);
      break;
    case PROP_PROBLEM:
      g_value_set_string (value, lrd_relay_client_get_problem (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lrd_relay_client_class_init (LrdRelayClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_relay_client_dispose;
  object_class->finalize = lrd_relay_client_finalize;
  object_class->get_property = lrd_relay_client_get_property;

  props[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, LRD_RELAY_CLIENT_STOPPED, LRD_RELAY_CLIENT_FAILED,
                      LRD_RELAY_CLIENT_STOPPED, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_RELAY] =
    g_param_spec_string ("relay", NULL, NULL, "", G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_RELAY_RTT_MS] =
    g_param_spec_double ("relay-rtt-ms", NULL, NULL, -1, G_MAXDOUBLE, -1,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_REASON] =
    g_param_spec_string ("reason", NULL, NULL, "", G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_PUBLIC_ENDPOINT] =
    g_param_spec_string ("public-endpoint", NULL, NULL, "",
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_PROBLEM] =
    g_param_spec_string ("problem", NULL, NULL, "", G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  /* (guint64 peer_id, const guint8 *packet, guint length): the packet is the receive
   * buffer's, valid during the emission only. */
  signals[SIGNAL_DISCO_RECEIVED] =
    g_signal_new ("disco-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 3, G_TYPE_UINT64, G_TYPE_POINTER, G_TYPE_UINT);
  signals[SIGNAL_TOKEN_NEEDED] =
    g_signal_new ("token-needed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
  /* (guint64 peer_id) */
  signals[SIGNAL_WIREGUARD_ROAMED] =
    g_signal_new ("wireguard-roamed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
}

static void
lrd_relay_client_init (LrdRelayClient *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  self->held_unknown = g_ptr_array_new_with_free_func (g_free);
  self->peers = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                       (GDestroyNotify) peer_free);
  self->relay = g_strdup ("");
  self->reason = g_strdup ("");
  self->public_endpoint = g_strdup ("");
  self->problem = g_strdup ("");
  self->relay_rtt_ms = -1;
}
