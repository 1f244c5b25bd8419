/* relay.c: lanrage-relay against coturn and a bare forwarder, in one run
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * N client pairs send 100-byte payloads one way, sender to receiver, through a forwarder on
 * loopback. For each forwarder the bench finds the highest offered rate (datagrams a second,
 * all pairs together) that arrives with 0 % loss, by bisection over trials of fixed length,
 * then measures the one-way latency of every forwarder at one common rate and subtracts that
 * of a direct send (no forwarder), which gives the latency the forwarder adds.
 *
 * Forwarders:
 *   lanrage-relay  DATA frames between peers bound with tokens (this repository)
 *   coturn         TURN ChannelData from an allocation to a peer (the LAB.md setup)
 *   bare           a single thread doing nothing but recvmmsg() -> sendmmsg(), which is what
 *                  this machine can do at all
 *
 * The generator is one paced thread, the sink another; on a 2-core machine they share the
 * cores with the forwarder, as the issue's reference figure did.
 */
#include "lr-error.h"
#include "lr-relay-frame.h"
#include "lr-relay-token.h"
#include "lr-stun.h"
#include "lr-token.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD      100
#define MAX_PAIRS    64
#define BATCH        64
#define MAX_SAMPLES  (4 * 1024 * 1024)
#define IDLE_RATE    2000
#define COTURN_USER  "u"
#define COTURN_PASS  "p"
#define COTURN_REALM "test"

typedef struct
{
  const char        *name;
  gsize              header;          /* bytes before the payload, as sent */
  gsize              sink_offset;     /* where the payload starts, as received */
  guint8             headers[MAX_PAIRS][16];
  struct sockaddr_in to;              /* where senders send */
  struct sockaddr_in to_pair[MAX_PAIRS]; /* per pair, when per_pair */
  gboolean           per_pair;
  double             max_rate;
  double             p50_us;
  double             p99_us;
  double             idle_p50_us;
  double             idle_p99_us;
  pid_t              pid;             /* the forwarder's process, 0 for none */
  double             cpu_ns;          /* CPU time per datagram at the common rate */
  gboolean           available;
} Target;

typedef struct
{
  guint      pairs;
  int        senders[MAX_PAIRS];
  int        receivers[MAX_PAIRS];
  struct sockaddr_in receiver_addrs[MAX_PAIRS];
  double     trial_s;

  /* Sink state, shared with the sink thread. */
  volatile guint32 trial;
  volatile gboolean stop;
  guint64    received;
  gsize      sink_offset;
  gint64    *samples;
  guint      n_samples;
  GThread   *sink;
} Bench;

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die_with_parent (gpointer user_data)
{
  /* A bench that dies (g_error) must not leave its forwarders behind. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn (GSubprocessFlags     flags,
       GError             **error,
       const char * const  *argv)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

static int
udp_socket (const char         *ip,
            struct sockaddr_in *bound)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t length = sizeof addr;
  int size = 4 * 1024 * 1024;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  g_assert (fd >= 0);
  inet_pton (AF_INET, ip, &addr.sin_addr);
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt (fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  g_assert (bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0);
  getsockname (fd, (struct sockaddr *) &addr, &length);
  if (bound != NULL)
    *bound = addr;
  return fd;
}

static gssize
recv_timeout (int     fd,
              guint8 *buffer,
              gsize   size,
              int     timeout_ms)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN };

  if (poll (&pfd, 1, timeout_ms) <= 0)
    return -1;
  return recv (fd, buffer, size, 0);
}

static void
drain (int fd)
{
  guint8 buffer[2048];

  while (recv (fd, buffer, sizeof buffer, MSG_DONTWAIT) > 0)
    ;
}

/* The sink: counts the current trial's datagrams and records their one-way latency. */
static gpointer
sink_thread (gpointer data)
{
  Bench *self = data;
  struct pollfd fds[MAX_PAIRS];
  static guint8 buffers[BATCH][2048];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];

  for (guint i = 0; i < self->pairs; i++)
    fds[i] = (struct pollfd) { .fd = self->receivers[i], .events = POLLIN };
  for (guint i = 0; i < BATCH; i++)
    {
      iov[i] = (struct iovec) { buffers[i], sizeof buffers[i] };
      msgs[i].msg_hdr = (struct msghdr) { .msg_iov = &iov[i], .msg_iovlen = 1 };
    }

  while (!self->stop)
    {
      if (poll (fds, self->pairs, 50) <= 0)
        continue;
      for (guint p = 0; p < self->pairs; p++)
        {
          int n;

          if (fds[p].revents == 0)
            continue;
          while ((n = recvmmsg (fds[p].fd, msgs, BATCH, MSG_DONTWAIT, NULL)) > 0)
            {
              gint64 now = now_ns ();
              guint32 trial = __atomic_load_n (&self->trial, __ATOMIC_ACQUIRE);
              gsize offset = self->sink_offset;

              for (int i = 0; i < n; i++)
                {
                  guint32 packet_trial;
                  gint64 sent;

                  if (msgs[i].msg_len < offset + 12)
                    continue;
                  memcpy (&packet_trial, buffers[i] + offset, 4);
                  if (packet_trial != trial)
                    continue;
                  memcpy (&sent, buffers[i] + offset + 4, 8);
                  __atomic_store_n (&self->received, self->received + 1, __ATOMIC_RELEASE);
                  if (self->n_samples < MAX_SAMPLES)
                    self->samples[self->n_samples++] = now - sent;
                }
            }
        }
    }
  return NULL;
}

/* Sends at @rate datagrams a second for trial_s seconds; returns the loss in percent. */
static double
run_trial (Bench        *self,
           const Target *target,
           double        rate)
{
  static guint8 packets[MAX_PAIRS][BATCH][64 + PAYLOAD];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  guint32 trial = self->trial + 1;
  gint64 start, end, next_tick;
  guint64 sent = 0, received;
  guint pair = 0;

  /* A new trial: the sink forgets the last one. */
  __atomic_store_n (&self->trial, 0, __ATOMIC_RELEASE);
  g_usleep (20000);
  self->n_samples = 0;
  __atomic_store_n (&self->received, 0, __ATOMIC_RELEASE);
  __atomic_store_n (&self->trial, trial, __ATOMIC_RELEASE);

  for (guint p = 0; p < self->pairs; p++)
    for (guint i = 0; i < BATCH; i++)
      {
        memcpy (packets[p][i], target->headers[p], target->header);
        memset (packets[p][i] + target->header, 0x5a, PAYLOAD);
        memcpy (packets[p][i] + target->header, &trial, 4);
      }

  start = now_ns ();
  end = start + (gint64) (self->trial_s * 1e9);
  next_tick = start;
  while (next_tick < end)
    {
      gint64 due = (gint64) ((next_tick - start) * rate / 1e9) + 1;

      while ((gint64) sent < due)
        {
          guint n = MIN ((guint64) BATCH, due - sent);
          gint64 stamp = now_ns ();
          int r;

          /* Round-robin over the pairs, one batch each. */
          for (guint i = 0; i < n; i++)
            {
              guint8 *packet = packets[pair][i];

              memcpy (packet + target->header + 4, &stamp, 8);
              iov[i] = (struct iovec) { packet, target->header + PAYLOAD };
              msgs[i].msg_hdr = (struct msghdr) {
                .msg_name = (void *) (target->per_pair ? &target->to_pair[pair] : &target->to),
                .msg_namelen = sizeof target->to,
                .msg_iov = &iov[i], .msg_iovlen = 1,
              };
            }
          r = sendmmsg (self->senders[pair], msgs, n, 0);
          if (r > 0)
            sent += r;
          pair = (pair + 1) % self->pairs;
        }

      next_tick += 250000; /* pace in 0.25 ms steps */
      {
        struct timespec ts = { next_tick / 1000000000, next_tick % 1000000000 };

        clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
      }
    }

  /* Let the forwarder's queues drain. */
  g_usleep (200000);
  received = __atomic_load_n (&self->received, __ATOMIC_ACQUIRE);
  __atomic_store_n (&self->trial, 0, __ATOMIC_RELEASE);
  return sent == 0 ? 100.0 : 100.0 * (double) (sent - MIN (received, sent)) / sent;
}

/* CPU time a process has used, all threads together: the sum of the first field of each
 * thread's schedstat (nanoseconds on a CPU). */
static gint64
process_cpu_ns (pid_t pid)
{
  g_autofree char *dir_path = g_strdup_printf ("/proc/%d/task", (int) pid);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *task;
  gint64 total = 0;

  if (dir == NULL)
    return 0;
  while ((task = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s/schedstat", dir_path, task);
      g_autofree char *text = NULL;

      if (g_file_get_contents (path, &text, NULL, NULL))
        total += g_ascii_strtoll (text, NULL, 10);
    }
  return total;
}

/* Datagrams the kernel dropped at full receive buffers, from /proc/net/udp's last column:
 * at the sink's sockets (the harness could not keep up) or at any other socket on loopback
 * (the forwarder could not). */
static void
udp_drops (Bench   *self,
           guint64 *at_sink,
           guint64 *elsewhere)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  *at_sink = *elsewhere = 0;
  if (!g_file_get_contents ("/proc/net/udp", &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      guint n = g_strv_length (fields);
      const char *colon;
      guint port;
      gboolean sink = FALSE;

      if (n < 4 || (colon = strchr (fields[1], ':')) == NULL)
        continue;
      port = g_ascii_strtoull (colon + 1, NULL, 16);
      for (guint p = 0; p < self->pairs; p++)
        sink |= port == ntohs (self->receiver_addrs[p].sin_port);
      if (sink)
        *at_sink += g_ascii_strtoull (fields[n - 1], NULL, 10);
      else
        *elsewhere += g_ascii_strtoull (fields[n - 1], NULL, 10);
    }
}

static int
compare_i64 (gconstpointer a,
             gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
latency (Bench  *self,
         double *p50_us,
         double *p99_us)
{
  if (self->n_samples == 0)
    {
      *p50_us = *p99_us = -1;
      return;
    }
  qsort (self->samples, self->n_samples, sizeof (gint64), compare_i64);
  *p50_us = self->samples[self->n_samples / 2] / 1000.0;
  *p99_us = self->samples[(guint) (self->n_samples * 0.99)] / 1000.0;
}

static void
find_max_rate (Bench  *self,
               Target *target,
               double  low,
               double  high,
               guint   steps)
{
  double best = 0;

  self->sink_offset = target->sink_offset;
  for (guint s = 0; s < steps; s++)
    {
      double rate = s == 0 ? low : (low + high) / 2;
      guint64 sink_before, other_before, sink_after, other_after;
      double loss;

      udp_drops (self, &sink_before, &other_before);
      loss = run_trial (self, target, rate);
      udp_drops (self, &sink_after, &other_after);
      g_printerr ("  %-16s %8.0f/s  loss %6.3f %%  (dropped at the sink %" G_GUINT64_FORMAT
                  ", at the forwarder %" G_GUINT64_FORMAT ")\n", target->name, rate, loss,
                  sink_after - sink_before, other_after - other_before);
      if (loss == 0)
        {
          best = MAX (best, rate);
          low = rate;
        }
      else if (s == 0)
        {
          /* Even the floor loses: search below it. */
          high = low;
          low = low / 4;
        }
      else
        high = rate;
    }
  target->max_rate = best;
}

/* lanrage-relay: bind every client with a token, then DATA from sender i to receiver i. */
static GSubprocess *
start_lanrage_relay (Bench      *self,
                     Target     *target,
                     const char *binary,
                     const char *threads,
                     const char *dir)
{
  g_autofree char *secret_path = g_build_filename (dir, "secret", NULL);
  g_autoptr(GBytes) secret = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  GSubprocess *process;
  gint64 expires = g_get_real_time () / G_USEC_PER_SEC + 3600;

  g_unlink (secret_path);
  if (!lr_secret_create_file (secret_path, &error) ||
      !(secret = lr_secret_load_file (secret_path, &error)))
    g_error ("%s", error->message);

  {
    const char *argv[] = { binary, "--listen", "127.0.0.1:0", "--threads", threads,
                           "--relay-secret-file", secret_path, "--client-pps", "100000000",
                           "--client-bps", "100000000000", NULL };

    process = spawn (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                     argv);
  }
  if (process == NULL)
    g_error ("Cannot start %s: %s", binary, error->message);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  if (line == NULL || !g_str_has_prefix (line, "Listening on 127.0.0.1:"))
    g_error ("lanrage-relay did not start");

  target->to = (struct sockaddr_in) { .sin_family = AF_INET,
                                      .sin_port = htons (atoi (line + 23)) };
  inet_pton (AF_INET, "127.0.0.1", &target->to.sin_addr);
  target->header = LR_RELAY_FRAME_HEADER_SIZE;
  target->sink_offset = LR_RELAY_FRAME_HEADER_SIZE;

  for (guint p = 0; p < self->pairs; p++)
    {
      int fds[2] = { self->senders[p], self->receivers[p] };

      for (guint k = 0; k < 2; k++)
        {
          g_autofree char *party = g_strdup_printf ("%016x", p + 1);
          g_autofree char *peer = g_strdup_printf ("%016x", 2 * p + k + 1);
          g_autofree char *token = lr_relay_token_mint (secret, party, peer, expires, NULL);
          guint8 frame[128], reply[128], token_public[LR_RELAY_TOKEN_PUBLIC_BYTES];
          guint8 key[LR_RELAY_TOKEN_KEY_BYTES];
          gsize length;

          if (!lr_relay_token_split (token, token_public, key, NULL))
            g_error ("Cannot read the relay token just minted");
          length = lr_relay_frame_build_bind (frame, sizeof frame, token_public, key,
                                              g_get_real_time (), g_get_real_time ());

          sendto (fds[k], frame, length, 0, (struct sockaddr *) &target->to, sizeof target->to);
          gssize got = recv_timeout (fds[k], reply, sizeof reply, 1000);

          if (got != LR_RELAY_FRAME_HEADER_SIZE || reply[1] != LR_RELAY_FRAME_BOUND)
            g_error ("lanrage-relay refused to bind: reply of %zd bytes, type %u, code %u", got,
                     got > 1 ? reply[1] : 0, got > 3 ? reply[3] : 0);
        }
      lr_relay_frame_write_header (target->headers[p], LR_RELAY_FRAME_DATA, 0, 2 * p + 2);
    }
  target->available = TRUE;
  return process;
}

/* TURN (RFC 8656) as far as a ChannelData sender needs it. */
#define TURN_ALLOCATE            0x003
#define TURN_CHANNEL_BIND        0x009
#define TURN_ATTR_CHANNEL_NUMBER 0x000C
#define TURN_ATTR_XOR_PEER       0x0012
#define TURN_ATTR_TRANSPORT      0x0019

static gboolean
turn_transaction (int                       fd,
                  const struct sockaddr_in *server,
                  guint16                   method,
                  const LrStunAddress      *peer,
                  guint16                   channel,
                  const char               *nonce,
                  char                    **nonce_out,
                  guint                    *code_out)
{
  guint8 request[512], reply[2048], transaction[12];
  LrStunBuilder builder;
  LrStunMessage message;
  guint8 key[16];
  gsize length;
  gssize got;

  for (guint i = 0; i < 12; i++)
    transaction[i] = g_random_int_range (0, 256);
  lr_stun_builder_init (&builder, request, sizeof request, method, LR_STUN_CLASS_REQUEST,
                        transaction);
  if (method == TURN_ALLOCATE)
    lr_stun_builder_add_u32 (&builder, TURN_ATTR_TRANSPORT, 17u << 24);
  if (method == TURN_CHANNEL_BIND)
    {
      lr_stun_builder_add_u32 (&builder, TURN_ATTR_CHANNEL_NUMBER, (guint32) channel << 16);
      lr_stun_builder_add_xor_address (&builder, TURN_ATTR_XOR_PEER, peer);
    }
  if (nonce != NULL)
    {
      lr_stun_builder_add (&builder, LR_STUN_ATTR_USERNAME, COTURN_USER, strlen (COTURN_USER));
      lr_stun_builder_add (&builder, LR_STUN_ATTR_REALM, COTURN_REALM, strlen (COTURN_REALM));
      lr_stun_builder_add (&builder, LR_STUN_ATTR_NONCE, nonce, strlen (nonce));
      lr_stun_long_term_key (COTURN_USER, COTURN_REALM, COTURN_PASS, key);
      lr_stun_builder_add_integrity (&builder, key, sizeof key);
    }
  length = lr_stun_builder_finish (&builder);
  sendto (fd, request, length, 0, (const struct sockaddr *) server, sizeof *server);

  got = recv_timeout (fd, reply, sizeof reply, 500);
  if (got <= 0 || !lr_stun_message_parse (&message, reply, got, NULL))
    return FALSE;
  *code_out = 0;
  if (message.klass == LR_STUN_CLASS_ERROR)
    lr_stun_message_get_error (&message, code_out, NULL);
  if (nonce_out != NULL)
    *nonce_out = lr_stun_message_dup_string (&message, LR_STUN_ATTR_NONCE);
  return TRUE;
}

static GSubprocess *
start_coturn (Bench  *self,
              Target *target)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *port_arg = NULL;
  g_autofree char *program = g_find_program_in_path ("turnserver");
  GSubprocess *process;
  struct sockaddr_in probe;
  int probe_fd;

  if (program == NULL)
    {
      g_printerr ("turnserver not found (Debian package coturn): skipping coturn\n");
      return NULL;
    }

  probe_fd = udp_socket ("127.0.0.1", &probe);
  close (probe_fd);
  port_arg = g_strdup_printf ("--listening-port=%u", ntohs (probe.sin_port));
  {
    const char *argv[] = { program, "-n", "--listening-ip=127.0.0.1", port_arg,
                           "--relay-ip=127.0.0.1", "--lt-cred-mech",
                           "--user=" COTURN_USER ":" COTURN_PASS, "--realm=" COTURN_REALM,
                           "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
                           "--no-stdout-log", NULL };

    process = spawn (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                     &error, argv);
  }
  if (process == NULL)
    {
      g_printerr ("Cannot start turnserver: %s\n", error->message);
      return NULL;
    }
  target->to = probe;
  target->header = 4;
  target->sink_offset = 0;

  for (guint p = 0; p < self->pairs; p++)
    {
      g_autofree char *nonce = NULL;
      LrStunAddress peer;
      guint code = 0;
      guint16 channel = 0x4000 + p;
      gboolean ok = FALSE;

      /* coturn takes a moment to listen: retry the first Allocate. */
      for (guint attempt = 0; attempt < 20 && !ok; attempt++)
        ok = turn_transaction (self->senders[p], &target->to, TURN_ALLOCATE, NULL, 0, NULL,
                               &nonce, &code);
      if (!ok || code != 401 || nonce == NULL)
        goto failed;
      if (!turn_transaction (self->senders[p], &target->to, TURN_ALLOCATE, NULL, 0, nonce, NULL,
                             &code) || code != 0)
        goto failed;
      lr_stun_address_from_sockaddr (&peer, &self->receiver_addrs[p],
                                     sizeof self->receiver_addrs[p]);
      if (!turn_transaction (self->senders[p], &target->to, TURN_CHANNEL_BIND, &peer, channel,
                             nonce, NULL, &code) || code != 0)
        goto failed;

      /* ChannelData, RFC 8656 section 12.4: channel number, length, data. */
      target->headers[p][0] = channel >> 8;
      target->headers[p][1] = channel & 0xff;
      target->headers[p][2] = 0;
      target->headers[p][3] = PAYLOAD;
    }
  target->available = TRUE;
  return process;

failed:
  g_printerr ("coturn did not accept the allocation: skipping coturn\n");
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
  g_object_unref (process);
  return NULL;
}

/* The bare forwarder: a child process, one thread, recvmmsg -> sendmmsg. The first byte of
 * each datagram names the receiver; that is all it looks at. */
static pid_t
start_bare (Bench  *self,
            Target *target)
{
  int fd = udp_socket ("127.0.0.1", &target->to);
  pid_t pid = fork ();

  if (pid == 0)
    {
      static guint8 buffers[BATCH][2048];

      prctl (PR_SET_PDEATHSIG, SIGKILL);
      struct iovec iov[BATCH];
      struct mmsghdr msgs[BATCH];

      for (guint i = 0; i < BATCH; i++)
        {
          iov[i] = (struct iovec) { buffers[i], sizeof buffers[i] };
          msgs[i].msg_hdr = (struct msghdr) { .msg_iov = &iov[i], .msg_iovlen = 1 };
        }
      for (;;)
        {
          int n = recvmmsg (fd, msgs, BATCH, MSG_WAITFORONE, NULL);

          if (n <= 0)
            continue;
          for (int i = 0; i < n; i++)
            {
              iov[i].iov_len = msgs[i].msg_len;
              msgs[i].msg_hdr.msg_name = &self->receiver_addrs[buffers[i][0] % self->pairs];
              msgs[i].msg_hdr.msg_namelen = sizeof (struct sockaddr_in);
            }
          sendmmsg (fd, msgs, n, 0);
          for (int i = 0; i < n; i++)
            {
              iov[i].iov_len = sizeof buffers[i];
              msgs[i].msg_hdr.msg_name = NULL;
              msgs[i].msg_hdr.msg_namelen = 0;
            }
        }
    }
  close (fd);
  target->header = 4;
  target->sink_offset = 4;
  for (guint p = 0; p < self->pairs; p++)
    {
      memset (target->headers[p], 0, 4);
      target->headers[p][0] = p;
    }
  target->available = TRUE;
  return pid;
}

static void
stop_process (GSubprocess *process)
{
  if (process == NULL)
    return;
  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait (process, NULL, NULL);
  g_object_unref (process);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *relay_binary = NULL;
  int pairs = 4;
  double trial_s = 1.0;
  int steps = 8;
  double low = 20000, high = 300000;
  GOptionEntry entries[] = {
    { "relay", 0, 0, G_OPTION_ARG_FILENAME, &relay_binary, "lanrage-relay binary", "PATH" },
    { "pairs", 0, 0, G_OPTION_ARG_INT, &pairs, "Client pairs (default 4)", "N" },
    { "trial", 0, 0, G_OPTION_ARG_DOUBLE, &trial_s, "Seconds per trial (default 1)", "S" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Bisection steps (default 8)", "N" },
    { "low", 0, 0, G_OPTION_ARG_DOUBLE, &low, "Lowest rate tried first (default 20000)", "R" },
    { "high", 0, 0, G_OPTION_ARG_DOUBLE, &high, "Upper bound (default 300000)", "R" },
    { NULL }
  };
  Bench bench = { 0 };
  Target relay = { .name = "lanrage-relay" };
  Target relay2 = { .name = "lanrage-relay/2" };
  Target coturn = { .name = "coturn" };
  Target bare = { .name = "bare" };
  Target direct = { .name = "direct" };
  Target *targets[] = { &direct, &relay, &relay2, &coturn, &bare };
  GSubprocess *relay_process, *relay2_process, *coturn_process;
  pid_t bare_pid;
  double common;
  gint64 started = g_get_monotonic_time ();

  lr_init ();
  context = g_option_context_new ("- lanrage-relay vs coturn vs a bare forwarder");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (relay_binary == NULL)
    relay_binary = g_strdup (g_getenv ("LANRAGE_RELAY"));
  if (relay_binary == NULL || pairs < 1 || pairs > MAX_PAIRS)
    {
      g_printerr ("Usage: relay-bench --relay PATH [--pairs N]\n");
      return 2;
    }

  dir = g_dir_make_tmp ("lanrage-relay-bench-XXXXXX", &error);
  g_assert_no_error (error);
  bench.pairs = pairs;
  bench.trial_s = trial_s;
  bench.samples = g_new (gint64, MAX_SAMPLES);
  for (guint p = 0; p < bench.pairs; p++)
    {
      bench.senders[p] = udp_socket ("127.0.0.1", NULL);
      bench.receivers[p] = udp_socket ("127.0.0.1", &bench.receiver_addrs[p]);
    }

  relay_process = start_lanrage_relay (&bench, &relay, relay_binary, "1", dir);
  relay2_process = start_lanrage_relay (&bench, &relay2, relay_binary, "2", dir);
  coturn_process = start_coturn (&bench, &coturn);
  bare_pid = start_bare (&bench, &bare);
  relay.pid = atoi (g_subprocess_get_identifier (relay_process));
  relay2.pid = atoi (g_subprocess_get_identifier (relay2_process));
  if (coturn_process != NULL)
    coturn.pid = atoi (g_subprocess_get_identifier (coturn_process));
  bare.pid = bare_pid;
  /* Only now: the set-up replies to the receivers (BOUND) are not the sink's. */
  bench.sink = g_thread_new ("sink", sink_thread, &bench);
  direct.per_pair = TRUE;
  for (guint p = 0; p < bench.pairs; p++)
    direct.to_pair[p] = bench.receiver_addrs[p];
  direct.header = 0;
  direct.sink_offset = 0;
  direct.available = TRUE;

  g_printerr ("%u pairs, %.0f-byte payloads, %.1f s trials, %d steps\n", bench.pairs,
              (double) PAYLOAD, trial_s, steps);
  for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
    {
      if (!targets[t]->available)
        continue;
      for (guint p = 0; p < bench.pairs; p++)
        drain (bench.receivers[p]);
      find_max_rate (&bench, targets[t], low, high, steps);
    }

  /* Latency at one rate every forwarder carries without loss: half the lowest maximum. */
  common = G_MAXDOUBLE;
  for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
    if (targets[t] != &direct && targets[t]->available && targets[t]->max_rate > 0)
      common = MIN (common, targets[t]->max_rate / 2);
  if (common == G_MAXDOUBLE)
    common = 10000;
  {
    Target *all[] = { &direct, &relay, &relay2, &coturn, &bare };

    for (guint t = 0; t < G_N_ELEMENTS (all); t++)
      {
        if (!all[t]->available)
          continue;
        bench.sink_offset = all[t]->sink_offset;
        gint64 cpu_before = all[t]->pid ? process_cpu_ns (all[t]->pid) : 0;

        run_trial (&bench, all[t], common);
        if (all[t]->pid != 0)
          all[t]->cpu_ns = (process_cpu_ns (all[t]->pid) - cpu_before) /
                           (common * bench.trial_s);
        latency (&bench, &all[t]->p50_us, &all[t]->p99_us);
        /* And at a game's pace, where no batching hides the cost of one datagram. */
        run_trial (&bench, all[t], IDLE_RATE);
        latency (&bench, &all[t]->idle_p50_us, &all[t]->idle_p99_us);
      }
  }

  stop_process (relay_process);
  stop_process (relay2_process);
  stop_process (coturn_process);
  kill (bare_pid, SIGTERM);
  waitpid (bare_pid, NULL, 0);
  bench.stop = TRUE;
  g_thread_join (bench.sink);

  printf ("lanrage-relay bench: %u pairs, %d-byte payloads, %.1f s trials, %.0f s in all\n",
          bench.pairs, PAYLOAD, trial_s, (g_get_monotonic_time () - started) / 1e6);
  printf ("(direct: no forwarder, the harness's own ceiling; lanrage-relay/2: --threads 2)\n");
  printf ("%-16s %14s %10s %26s %26s\n", "forwarder", "max 0%-loss/s", "CPU/dgram",
          "added p50/p99 at 2000/s", "added p50/p99 at common");
  for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
    {
      if (!targets[t]->available)
        printf ("%-16s %14s\n", targets[t]->name, "not run");
      else
        printf ("%-16s %14.0f %7.0f ns %15.1f / %6.1f us %15.1f / %6.1f us\n", targets[t]->name,
                targets[t]->max_rate, targets[t]->cpu_ns,
                targets[t]->idle_p50_us - direct.idle_p50_us,
                targets[t]->idle_p99_us - direct.idle_p99_us,
                targets[t]->p50_us - direct.p50_us, targets[t]->p99_us - direct.p99_us);
    }
  printf ("(common rate %.0f datagrams/s, half the lowest maximum; direct loopback p50/p99 "
          "%.1f / %.1f us at 2000/s, %.1f / %.1f us at the common rate)\n", common,
          direct.idle_p50_us, direct.idle_p99_us, direct.p50_us, direct.p99_us);
  if (bare.max_rate > 0)
    printf ("lanrage-relay / bare     = %.2f (--threads 2: %.2f)  (aim >= 0.80)\n",
            relay.max_rate / bare.max_rate, relay2.max_rate / bare.max_rate);
  if (coturn.available && coturn.max_rate > 0)
    printf ("lanrage-relay / coturn   = %.2f (--threads 2: %.2f)  (aim >= 1.50)\n",
            relay.max_rate / coturn.max_rate, relay2.max_rate / coturn.max_rate);
  if (coturn.available && relay.cpu_ns > 0 && bare.cpu_ns > 0)
    printf ("CPU per datagram: coturn / lanrage-relay = %.2f, lanrage-relay / bare = %.2f\n",
            coturn.cpu_ns / relay.cpu_ns, relay.cpu_ns / bare.cpu_ns);

  for (guint p = 0; p < bench.pairs; p++)
    {
      close (bench.senders[p]);
      close (bench.receivers[p]);
    }
  {
    g_autofree char *secret = g_build_filename (dir, "secret", NULL);

    g_unlink (secret);
    g_rmdir (dir);
  }
  g_free (bench.samples);
  return 0;
}
