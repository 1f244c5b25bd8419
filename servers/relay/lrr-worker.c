/* lrr-worker.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A worker owns one SO_REUSEPORT socket on the relay's port (worker 0 also the RFC 5780
 * sockets). It reads a batch with recvmmsg(), decides every datagram's fate against the peer
 * table snapshot of that batch, and sends the whole batch's output with sendmmsg(). Nothing
 * in the per-packet path allocates, takes a lock or logs: the buffers are allocated once,
 * the table is read through LrrEpoch, and the counters are the worker's own.
 */
#include "lrr-worker.h"

#include "lr-relay-frame.h"
#include "lr-relay-token.h"

#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* 64 datagrams per system call: past this, larger batches measured no faster here and only
 * add latency to the first datagram of a batch. */
#define BATCH       64
/* Larger than LR_RELAY_FRAME_MAX_SIZE, so that an oversize datagram is seen as such. */
#define RX_SIZE     2048
#define REPLY_SIZE  256
#define ERROR_BURST 20
/* A BIND that adds or moves a peer copies the peer table (lrr-peer-table.c): at most this many
 * a second per worker, so that a client with a valid token cannot keep the relay copying by
 * binding from ever new ports. A relay restart's 10,000 clients rebind in about 10 s. A BIND
 * that only refreshes a binding copies nothing and is not counted. */
#define TABLE_CHANGES_PER_S 1000
#define LRR_WORKER_STOP_CHECK_MS 100

typedef struct
{
  double  tokens;
  double  rate;
  double  burst;
  gint64  last_ms;
} Bucket;

typedef struct
{
  int           fd;
  const guint8 *data;
  gsize         length;
  const LrrAddr *to;
} Output;

struct _LrrWorker
{
  guint64      counters[LRR_N_COUNTERS];
  LrrContext  *context;
  guint        index;
  int          fd;
  int          stop_fd;
  GThread     *thread;

  Bucket       errors;
  Bucket       stun;
  Bucket       table_changes;

  /* The current batch. */
  gint64       now_ms;
  gint64       now_unix;
  const LrrPeerSnapshot *snapshot;
  const LrrDenyList     *deny;

  guint8         rx[BATCH][RX_SIZE];
  guint8         replies[BATCH][REPLY_SIZE];
  LrrAddr        from[BATCH];
  struct iovec   rx_iov[BATCH];
  struct mmsghdr rx_msgs[BATCH];
  Output         out[BATCH];
  guint          n_out;
  struct iovec   tx_iov[BATCH];
  struct mmsghdr tx_msgs[BATCH];
};

static inline void
count (LrrWorker  *self,
       LrrCounter  counter,
       guint64     n)
{
  /* Single writer: a relaxed load and store, no locked read-modify-write. */
  __atomic_store_n (&self->counters[counter],
                    __atomic_load_n (&self->counters[counter], __ATOMIC_RELAXED) + n,
                    __ATOMIC_RELAXED);
}

guint64
lrr_worker_get_counter (LrrWorker  *self,
                        LrrCounter  counter)
{
  return __atomic_load_n (&self->counters[counter], __ATOMIC_RELAXED);
}

static void
bucket_init (Bucket *bucket,
             guint   rate,
             guint   burst)
{
  bucket->rate = rate;
  bucket->burst = MAX (burst, 1);
  bucket->tokens = bucket->burst;
  bucket->last_ms = 0;
}

static gboolean
bucket_take (Bucket *bucket,
             gint64  now_ms)
{
  if (now_ms > bucket->last_ms)
    {
      bucket->tokens = MIN (bucket->burst,
                            bucket->tokens + (now_ms - bucket->last_ms) * bucket->rate / 1000.0);
      bucket->last_ms = now_ms;
    }
  if (bucket->tokens < 1.0)
    return FALSE;
  bucket->tokens -= 1.0;
  return TRUE;
}

LrrWorker *
lrr_worker_new (LrrContext *context,
                guint       index,
                int         fd,
                int         stop_fd)
{
  LrrWorker *self = g_aligned_alloc0 (1, sizeof (LrrWorker), 64);

  self->context = context;
  self->index = index;
  self->fd = fd;
  self->stop_fd = stop_fd;
  bucket_init (&self->errors, context->error_rate, MIN (context->error_rate, ERROR_BURST));
  bucket_init (&self->stun, context->stun_rate, context->stun_rate / 10);
  bucket_init (&self->table_changes, TABLE_CHANGES_PER_S, TABLE_CHANGES_PER_S / 5);

  for (guint i = 0; i < BATCH; i++)
    {
      self->rx_iov[i].iov_base = self->rx[i];
      self->rx_iov[i].iov_len = RX_SIZE;
      self->rx_msgs[i].msg_hdr.msg_iov = &self->rx_iov[i];
      self->rx_msgs[i].msg_hdr.msg_iovlen = 1;
      self->tx_msgs[i].msg_hdr.msg_iov = &self->tx_iov[i];
      self->tx_msgs[i].msg_hdr.msg_iovlen = 1;
    }
  return self;
}

/* Closes the worker's socket too. */
void
lrr_worker_free (LrrWorker *self)
{
  if (self->fd >= 0)
    close (self->fd);
  g_aligned_free (self);
}

static inline void
emit (LrrWorker     *self,
      int            fd,
      const guint8  *data,
      gsize          length,
      const LrrAddr *to)
{
  Output *out = &self->out[self->n_out++];

  out->fd = fd;
  out->data = data;
  out->length = length;
  out->to = to;
}

static gboolean
is_denied (LrrWorker     *self,
           const LrrAddr *from)
{
  return lrr_deny_list_contains (self->deny, from);
}

/* Never more bytes than came in (every caller passes a 12-byte error for a datagram of at
 * least 12), and no more than error_rate a second. */
static void
reply_error (LrrWorker     *self,
             guint          i,
             int            fd,
             gsize          request_length,
             guint16        code,
             guint64        peer)
{
  if (request_length < LR_RELAY_FRAME_HEADER_SIZE || is_denied (self, &self->from[i]) ||
      !bucket_take (&self->errors, self->now_ms))
    {
      count (self, LRR_COUNTER_ERRORS_SUPPRESSED, 1);
      return;
    }
  lr_relay_frame_write_header (self->replies[i], LR_RELAY_FRAME_ERROR, code, peer);
  emit (self, fd, self->replies[i], LR_RELAY_FRAME_HEADER_SIZE, &self->from[i]);
  count (self, LRR_COUNTER_ERRORS_SENT, 1);
}

/* ERROR stale, signed with the token's key so that the client can trust the clock and
 * counter it carries (lr-relay-frame.h). 68 bytes for an 85-byte BIND. */
static void
reply_stale (LrrWorker          *self,
             guint               i,
             int                 fd,
             const LrRelayFrame *frame,
             const guint8       *key,
             guint64             last_counter)
{
  if (is_denied (self, &self->from[i]) || !bucket_take (&self->errors, self->now_ms))
    {
      count (self, LRR_COUNTER_ERRORS_SUPPRESSED, 1);
      return;
    }
  lr_relay_frame_build_stale (self->replies[i], REPLY_SIZE, frame->peer, key, frame->counter,
                              g_get_real_time (), last_counter);
  emit (self, fd, self->replies[i], LR_RELAY_FRAME_STALE_SIZE, &self->from[i]);
  count (self, LRR_COUNTER_ERRORS_SENT, 1);
}

/* Everything after the relay secret is known to be there. @key receives the key of the
 * token the BIND names, recomputed from its public part; the caller wipes it. */
static void
bind_with_key (LrrWorker          *self,
               guint               i,
               int                 fd,
               const guint8       *data,
               gsize               length,
               const LrRelayFrame *frame,
               guint8             *key)
{
  LrrContext *context = self->context;
  LrRelayTokenClaims claims;
  const LrrBinding *bound;
  LrrBindResult result;
  guint64 last_counter = 0;
  gint64 skew_s;

  if (!lr_relay_token_open (context->secret, frame->token_public, &claims, key) ||
      !lr_relay_frame_check_bind (data, length, key))
    {
      count (self, LRR_COUNTER_DROP_BAD_TOKEN, 1);
      reply_error (self, i, fd, length, LR_RELAY_FRAME_ERROR_BAD_TOKEN, 0);
      return;
    }
  if (claims.expires_at <= self->now_unix)
    {
      count (self, LRR_COUNTER_DROP_EXPIRED, 1);
      reply_error (self, i, fd, length, LR_RELAY_FRAME_ERROR_EXPIRED, 0);
      return;
    }

  bound = lrr_peer_snapshot_find_peer (self->snapshot, claims.party, claims.peer);
  if (bound != NULL)
    last_counter = __atomic_load_n (&lrr_peer_table_get_slot (context->peers,
                                                              bound->slot)->last_counter,
                                    __ATOMIC_RELAXED);

  /* Out of the window: captured long ago (the relay may have restarted since and forgotten
   * the counters), or the client's clock is off, which the signed answer lets it fix. */
  skew_s = frame->timestamp_us / G_USEC_PER_SEC - self->now_unix;
  if (ABS (skew_s) > LR_RELAY_FRAME_BIND_WINDOW_S)
    {
      count (self, LRR_COUNTER_DROP_STALE, 1);
      reply_stale (self, i, fd, frame, key, last_counter);
      return;
    }
  /* A counter already taken: a replay (checked again under the table's lock below). */
  if (bound != NULL && frame->counter <= last_counter)
    {
      count (self, LRR_COUNTER_DROP_REPLAYED, 1);
      reply_stale (self, i, fd, frame, key, last_counter);
      return;
    }

  /* Silently: the client retries its BIND anyway when no BOUND comes. */
  if ((bound == NULL || !lrr_addr_equal (&bound->addr, &self->from[i])) &&
      !bucket_take (&self->table_changes, self->now_ms))
    {
      count (self, LRR_COUNTER_DROP_RATE_LIMITED, 1);
      return;
    }

  result = lrr_peer_table_bind (context->peers, claims.party, claims.peer, &self->from[i],
                                claims.expires_at, frame->counter, self->now_ms,
                                &last_counter);
  switch (result)
    {
    case LRR_BIND_FULL:
      count (self, LRR_COUNTER_DROP_FULL, 1);
      reply_error (self, i, fd, length, LR_RELAY_FRAME_ERROR_FULL, claims.peer);
      break;

    case LRR_BIND_STALE:
      count (self, LRR_COUNTER_DROP_REPLAYED, 1);
      reply_stale (self, i, fd, frame, key, last_counter);
      break;

    case LRR_BIND_REVOKED:
      count (self, LRR_COUNTER_DROP_REVOKED, 1);
      reply_error (self, i, fd, length, LR_RELAY_FRAME_ERROR_REVOKED, claims.peer);
      break;

    case LRR_BIND_NEW:
    case LRR_BIND_MOVED:
    case LRR_BIND_REFRESHED:
    default:
      /* A new or moved binding changed the table: later datagrams of this batch see it. */
      if (result != LRR_BIND_REFRESHED)
        self->snapshot = lrr_peer_table_get (context->peers);
      count (self, LRR_COUNTER_BINDS, 1);
      lr_relay_frame_write_header (self->replies[i], LR_RELAY_FRAME_BOUND, 0, claims.peer);
      emit (self, fd, self->replies[i], LR_RELAY_FRAME_HEADER_SIZE, &self->from[i]);
      break;
    }
}

/* Two HMACs per BIND: the token's key from its public part and the relay secret, then the
 * BIND's MAC with that key. No GError to allocate for a refused one. */
static void
handle_bind (LrrWorker          *self,
             guint               i,
             int                 fd,
             const guint8       *data,
             gsize               length,
             const LrRelayFrame *frame)
{
  guint8 key[LR_RELAY_TOKEN_KEY_BYTES];

  if (is_denied (self, &self->from[i]))
    {
      count (self, LRR_COUNTER_DROP_DENIED, 1);
      return;
    }

  if (self->context->secret == NULL)
    {
      count (self, LRR_COUNTER_DROP_NO_RELAYING, 1);
      reply_error (self, i, fd, length, LR_RELAY_FRAME_ERROR_NO_RELAYING, 0);
      return;
    }

  bind_with_key (self, i, fd, data, length, frame, key);
  sodium_memzero (key, sizeof key);
}

static void
handle_data (LrrWorker          *self,
             guint               i,
             int                 fd,
             guint8             *data,
             gsize               length,
             const LrRelayFrame *frame)
{
  LrrContext *context = self->context;
  const LrrBinding *source = lrr_peer_snapshot_find_addr (self->snapshot, &self->from[i]);
  const LrrBinding *destination;
  LrrSlot *slot;
  gint64 window;
  guint64 packets, bytes;

  if (source == NULL)
    {
      count (self, LRR_COUNTER_DROP_NOT_BOUND, 1);
      reply_error (self, i, fd, length, LR_RELAY_FRAME_ERROR_NOT_BOUND, frame->peer);
      return;
    }

  slot = lrr_peer_table_get_slot (context->peers, source->slot);
  if (__atomic_load_n (&slot->expires_at, __ATOMIC_RELAXED) <= self->now_unix)
    {
      count (self, LRR_COUNTER_DROP_EXPIRED, 1);
      reply_error (self, i, fd, length, LR_RELAY_FRAME_ERROR_EXPIRED, frame->peer);
      return;
    }

  /* Per-client limits, in one-second windows. */
  window = self->now_ms / 1000;
  if (__atomic_load_n (&slot->window, __ATOMIC_RELAXED) != window)
    {
      __atomic_store_n (&slot->window, window, __ATOMIC_RELAXED);
      __atomic_store_n (&slot->window_packets, 0, __ATOMIC_RELAXED);
      __atomic_store_n (&slot->window_bytes, 0, __ATOMIC_RELAXED);
    }
  packets = __atomic_load_n (&slot->window_packets, __ATOMIC_RELAXED) + 1;
  bytes = __atomic_load_n (&slot->window_bytes, __ATOMIC_RELAXED) + length;
  __atomic_store_n (&slot->window_packets, packets, __ATOMIC_RELAXED);
  __atomic_store_n (&slot->window_bytes, bytes, __ATOMIC_RELAXED);
  __atomic_store_n (&slot->last_seen_ms, self->now_ms, __ATOMIC_RELAXED);
  if (packets > context->client_pps || bytes > context->client_bps)
    {
      count (self, LRR_COUNTER_DROP_RATE_LIMITED, 1);
      return;
    }

  /* The party is the sender's: a peer of another party is simply not found. */
  destination = lrr_peer_snapshot_find_peer (self->snapshot, source->party, frame->peer);
  if (destination == NULL || destination == source)
    {
      count (self, LRR_COUNTER_DROP_UNKNOWN_DESTINATION, 1);
      return;
    }

  lr_relay_frame_set_peer (data, source->peer);
  emit (self, fd, data, length, &destination->addr);
  count (self, LRR_COUNTER_FORWARDED_PACKETS, 1);
  count (self, LRR_COUNTER_FORWARDED_BYTES, length);
}

static void
handle_ping (LrrWorker          *self,
             guint               i,
             int                 fd,
             guint8             *data,
             gsize               length)
{
  const LrrBinding *source = lrr_peer_snapshot_find_addr (self->snapshot, &self->from[i]);

  if (is_denied (self, &self->from[i]))
    {
      count (self, LRR_COUNTER_DROP_DENIED, 1);
      return;
    }

  if (source != NULL)
    {
      LrrSlot *slot = lrr_peer_table_get_slot (self->context->peers, source->slot);

      __atomic_store_n (&slot->last_seen_ms, self->now_ms, __ATOMIC_RELAXED);
    }
  else if (!bucket_take (&self->errors, self->now_ms))
    {
      /* A PONG is as long as its PING, but a stranger's pings share the error budget so that
       * the relay is no free reflector. */
      count (self, LRR_COUNTER_ERRORS_SUPPRESSED, 1);
      return;
    }

  data[1] = LR_RELAY_FRAME_PONG;
  emit (self, fd, data, length, &self->from[i]);
}

static void
handle_frame (LrrWorker *self,
              guint      i,
              int        fd,
              guint8    *data,
              gsize      length)
{
  LrRelayFrame frame;
  LrRelayFrameStatus status = lr_relay_frame_parse (&frame, data, length);

  switch (status)
    {
    case LR_RELAY_FRAME_OK:
      break;
    case LR_RELAY_FRAME_TRUNCATED:
      count (self, LRR_COUNTER_DROP_TRUNCATED, 1);
      return;
    case LR_RELAY_FRAME_OVERSIZE:
      count (self, LRR_COUNTER_DROP_OVERSIZE, 1);
      return;
    case LR_RELAY_FRAME_BAD_VERSION:
      count (self, LRR_COUNTER_DROP_BAD_VERSION, 1);
      reply_error (self, i, fd, length, LR_RELAY_FRAME_ERROR_VERSION, 0);
      return;
    case LR_RELAY_FRAME_NOT_A_FRAME:
    case LR_RELAY_FRAME_BAD_TYPE:
    case LR_RELAY_FRAME_BAD_PAYLOAD:
    default:
      count (self, LRR_COUNTER_DROP_MALFORMED, 1);
      reply_error (self, i, fd, length, LR_RELAY_FRAME_ERROR_MALFORMED, 0);
      return;
    }

  switch (frame.type)
    {
    case LR_RELAY_FRAME_DATA:
      handle_data (self, i, fd, data, length, &frame);
      break;
    case LR_RELAY_FRAME_BIND:
      handle_bind (self, i, fd, data, length, &frame);
      break;
    case LR_RELAY_FRAME_PING:
      handle_ping (self, i, fd, data, length);
      break;
    default:
      count (self, LRR_COUNTER_DROP_UNEXPECTED, 1);
      break;
    }
}

/* RFC 8489 section 6.3.1: a request with comprehension-required attributes we do not
 * understand gets 420 listing them. RESPONSE-PORT (RFC 5780 section 7.5) is refused the same
 * way, since this server does not implement it; CHANGE-REQUEST too when it has no second
 * address. */
static guint
unknown_attributes (LrrWorker           *self,
                    const LrStunMessage *message,
                    guint16              unknown[4])
{
  guint n = 0;

  for (guint a = 0; a < message->n_attributes && n < 4; a++)
    {
      guint16 type = message->attributes[a].type;

      if (type == LR_STUN_ATTR_RESPONSE_PORT ||
          (type == LR_STUN_ATTR_CHANGE_REQUEST && !self->context->rfc5780) ||
          !lr_stun_attribute_type_is_known (type))
        unknown[n++] = GUINT16_TO_BE (type);
    }
  return n;
}

static void
handle_stun (LrrWorker    *self,
             guint         i,
             guint         socket_index,
             int           fd,
             const guint8 *data,
             gsize         length)
{
  LrrContext *context = self->context;
  LrStunMessage message;
  LrStunBuilder builder;
  LrStunAddress mapped;
  guint16 unknown[4];
  guint n_unknown;
  guint32 change = 0;
  guint reply_index = socket_index;
  gboolean is_error = FALSE;
  gsize reply_length;

  if (!lr_stun_message_parse (&message, data, length, NULL) ||
      (lr_stun_message_find (&message, LR_STUN_ATTR_FINGERPRINT) != NULL &&
       !lr_stun_message_check_fingerprint (&message)))
    {
      count (self, LRR_COUNTER_DROP_STUN_MALFORMED, 1);
      return;
    }

  /* Indications and responses get nothing back (RFC 8489 section 6.3.2 and 6.3.3). */
  if (message.klass != LR_STUN_CLASS_REQUEST)
    {
      count (self, LRR_COUNTER_DROP_UNEXPECTED, 1);
      return;
    }

  if (is_denied (self, &self->from[i]))
    {
      count (self, LRR_COUNTER_DROP_DENIED, 1);
      return;
    }

  count (self, LRR_COUNTER_STUN_REQUESTS, 1);
  lr_stun_address_from_sockaddr (&mapped, &self->from[i].u, self->from[i].length);

  n_unknown = unknown_attributes (self, &message, unknown);
  if (message.method != LR_STUN_METHOD_BINDING)
    {
      lr_stun_builder_init (&builder, self->replies[i], REPLY_SIZE, message.method,
                            LR_STUN_CLASS_ERROR, message.transaction_id);
      lr_stun_builder_add_error (&builder, 400, "Bad Request");
      is_error = TRUE;
    }
  else if (n_unknown > 0)
    {
      lr_stun_builder_init (&builder, self->replies[i], REPLY_SIZE, message.method,
                            LR_STUN_CLASS_ERROR, message.transaction_id);
      lr_stun_builder_add_error (&builder, 420, "Unknown Attribute");
      lr_stun_builder_add (&builder, LR_STUN_ATTR_UNKNOWN_ATTRIBUTES, unknown, 2 * n_unknown);
      is_error = TRUE;
    }
  else if (lr_stun_message_find (&message, LR_STUN_ATTR_CHANGE_REQUEST) != NULL &&
           !lr_stun_message_get_u32 (&message, LR_STUN_ATTR_CHANGE_REQUEST, &change))
    {
      lr_stun_builder_init (&builder, self->replies[i], REPLY_SIZE, message.method,
                            LR_STUN_CLASS_ERROR, message.transaction_id);
      lr_stun_builder_add_error (&builder, 400, "Bad Request");
      is_error = TRUE;
    }
  else
    {
      if (change & LR_STUN_CHANGE_PORT)
        reply_index ^= 1;
      if (change & LR_STUN_CHANGE_IP)
        reply_index ^= 2;

      lr_stun_builder_init (&builder, self->replies[i], REPLY_SIZE, message.method,
                            LR_STUN_CLASS_SUCCESS, message.transaction_id);
      lr_stun_builder_add_xor_address (&builder, LR_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
      if (context->rfc5780)
        {
          /* RFC 5780 section 6.1. */
          lr_stun_builder_add_address (&builder, LR_STUN_ATTR_RESPONSE_ORIGIN,
                                       &context->addresses[reply_index]);
          lr_stun_builder_add_address (&builder, LR_STUN_ATTR_OTHER_ADDRESS,
                                       &context->addresses[socket_index ^ 3]);
        }
    }
  lr_stun_builder_add_fingerprint (&builder);
  reply_length = lr_stun_builder_finish (&builder);
  if (reply_length == 0)
    return;

  /* See README: a STUN answer larger than its request only within a budget per worker, so
   * that the relay amplifies nothing at volume. A client that pads its request (our helper
   * does) is never limited. Errors share the error budget too. */
  if ((reply_length > length && !bucket_take (&self->stun, self->now_ms)) ||
      (is_error && !bucket_take (&self->errors, self->now_ms)))
    {
      count (self, LRR_COUNTER_DROP_STUN_RATE_LIMITED, 1);
      return;
    }

  if (reply_index != socket_index)
    fd = context->sockets[reply_index];
  emit (self, fd, self->replies[i], reply_length, &self->from[i]);
}

static void
handle (LrrWorker *self,
        guint      i,
        guint      socket_index,
        int        fd)
{
  guint8 *data = self->rx[i];
  gsize length = self->rx_msgs[i].msg_len;

  count (self, LRR_COUNTER_RECEIVED_PACKETS, 1);
  count (self, LRR_COUNTER_RECEIVED_BYTES, length);

  if ((self->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0)
    count (self, LRR_COUNTER_DROP_OVERSIZE, 1);
  else if (lr_stun_is_message (data, length))
    handle_stun (self, i, socket_index, fd, data, length);
  else if (socket_index == LRR_SOCKET_PRIMARY && lr_relay_frame_is_frame (data, length))
    handle_frame (self, i, fd, data, length);
  else
    count (self, LRR_COUNTER_DROP_GARBAGE, 1);
}

static void
flush (LrrWorker *self)
{
  guint start = 0;

  while (start < self->n_out)
    {
      int fd = self->out[start].fd;
      guint n = 0;
      guint sent = 0;

      while (start + n < self->n_out && self->out[start + n].fd == fd)
        {
          Output *out = &self->out[start + n];
          struct msghdr *hdr = &self->tx_msgs[n].msg_hdr;

          self->tx_iov[n].iov_base = (void *) out->data;
          self->tx_iov[n].iov_len = out->length;
          hdr->msg_name = (void *) &out->to->u;
          hdr->msg_namelen = out->to->length;
          n++;
        }

      while (sent < n)
        {
          int r = sendmmsg (fd, self->tx_msgs + sent, n - sent, 0);

          if (r < 0 && errno == EINTR)
            continue;
          if (r <= 0)
            {
              /* One bad destination (say, unreachable) must not take the rest down. */
              count (self, LRR_COUNTER_DROP_SEND_FAILED, 1);
              sent++;
              continue;
            }
          for (int k = 0; k < r; k++)
            count (self, LRR_COUNTER_SENT_BYTES, self->tx_iov[sent + k].iov_len);
          count (self, LRR_COUNTER_SENT_PACKETS, r);
          sent += r;
        }
      start += n;
    }
  self->n_out = 0;
}

static gint64
clock_ms (clockid_t clock)
{
  struct timespec ts;

  clock_gettime (clock, &ts);
  return (gint64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
reset_rx (LrrWorker *self)
{
  for (guint i = 0; i < BATCH; i++)
    {
      self->rx_msgs[i].msg_hdr.msg_name = &self->from[i].u;
      self->rx_msgs[i].msg_hdr.msg_namelen = sizeof self->from[i].u;
      self->rx_msgs[i].msg_hdr.msg_flags = 0;
    }
}

/* Decides the fate of @n received datagrams and sends what they caused, against one
 * snapshot of the peer table. */
static void
process_batch (LrrWorker *self,
               guint      socket_index,
               int        fd,
               int        n)
{
  LrrContext *context = self->context;

  lrr_epoch_enter (context->epoch, self->index);
  self->snapshot = lrr_peer_table_get (context->peers);
  self->deny = __atomic_load_n (&context->deny, __ATOMIC_ACQUIRE);
  self->now_ms = clock_ms (CLOCK_MONOTONIC_COARSE);
  self->now_unix = clock_ms (CLOCK_REALTIME_COARSE) / 1000;

  for (int i = 0; i < n; i++)
    {
      self->from[i].length = self->rx_msgs[i].msg_hdr.msg_namelen;
      handle (self, i, socket_index, fd);
    }
  flush (self);
  lrr_epoch_leave (context->epoch, self->index);
}

/* Reads and answers until the socket is empty. */
static void
drain (LrrWorker *self,
       guint      socket_index,
       int        fd)
{
  for (;;)
    {
      int n;

      reset_rx (self);
      n = recvmmsg (fd, self->rx_msgs, BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0)
        return;
      process_batch (self, socket_index, fd, n);
      if (n < BATCH)
        return;
    }
}

/* A worker with one socket (all but worker 0 in RFC 5780 mode) blocks in recvmmsg() itself:
 * one system call less per wake-up than poll() then recvmmsg(), which matters at a game's
 * pace, where a wake-up carries one or two datagrams. SO_RCVTIMEO lets it notice that the
 * relay is stopping. */
static void
run_single_socket (LrrWorker *self)
{
  struct timeval timeout = { 0, LRR_WORKER_STOP_CHECK_MS * 1000 };

  setsockopt (self->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  while (!__atomic_load_n (&self->context->stopping, __ATOMIC_ACQUIRE))
    {
      int n;

      reset_rx (self);
      n = recvmmsg (self->fd, self->rx_msgs, BATCH, MSG_WAITFORONE, NULL);
      if (n > 0)
        process_batch (self, LRR_SOCKET_PRIMARY, self->fd, n);
    }
}

static gpointer
worker_thread (gpointer data)
{
  LrrWorker *self = data;
  LrrContext *context = self->context;
  struct pollfd fds[2 + LRR_N_SOCKETS];
  guint socket_of[2 + LRR_N_SOCKETS];
  guint n_fds = 0;

  if (!(self->index == 0 && context->rfc5780))
    {
      run_single_socket (self);
      return NULL;
    }

  fds[n_fds] = (struct pollfd) { .fd = self->stop_fd, .events = POLLIN };
  socket_of[n_fds++] = G_MAXUINT;
  fds[n_fds] = (struct pollfd) { .fd = self->fd, .events = POLLIN };
  socket_of[n_fds++] = LRR_SOCKET_PRIMARY;
  if (self->index == 0 && context->rfc5780)
    {
      for (guint s = 1; s < LRR_N_SOCKETS; s++)
        {
          fds[n_fds] = (struct pollfd) { .fd = context->sockets[s], .events = POLLIN };
          socket_of[n_fds++] = s;
        }
    }

  for (;;)
    {
      if (poll (fds, n_fds, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          g_warning ("Worker %u: poll failed: %s", self->index, g_strerror (errno));
          break;
        }
      if (fds[0].revents != 0)
        break;
      for (guint k = 1; k < n_fds; k++)
        {
          if (fds[k].revents != 0)
            drain (self, socket_of[k], fds[k].fd);
        }
    }
  return NULL;
}

void
lrr_worker_start (LrrWorker *self)
{
  g_autofree char *name = g_strdup_printf ("relay-worker-%u", self->index);

  self->thread = g_thread_new (name, worker_thread, self);
}

void
lrr_worker_join (LrrWorker *self)
{
  if (self->thread != NULL)
    g_thread_join (g_steal_pointer (&self->thread));
}
