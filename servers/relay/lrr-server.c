/* lrr-server.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The main-loop side of the relay: sockets, workers, the maintenance timer (idle expiry,
 * freeing retired tables), the deny list, /metrics and registration. The workers never touch
 * this object; they see only the LrrContext.
 */
#include "lrr-server.h"

#include "lr-control-models.h"
#include "lr-token.h"
#include "lrr-context.h"
#include "lrr-registration.h"
#include "lrr-worker.h"

#include <errno.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Socket buffers: a burst of a few thousand datagrams must fit while a worker is busy.
 * 4 MiB held 0 % loss at the bench's highest rates here. */
#define SOCKET_BUFFER_BYTES (4 * 1024 * 1024)
#define MAINTENANCE_MS      200

struct _LrrServer
{
  GObject          parent_instance;

  LrrServerOptions options;
  LrrContext       context;
  GPtrArray       *workers;
  int              stop_fd;
  guint            main_reader;
  gboolean         running;
  char            *listen_address;
  char            *metrics_address;
  SoupServer      *metrics;
  LrrRegistration *registration;
  guint            maintenance_id;
  gint64           last_sweep_ms;
};

G_DEFINE_FINAL_TYPE (LrrServer, lrr_server, G_TYPE_OBJECT)

void
lrr_server_options_init (LrrServerOptions *options)
{
  memset (options, 0, sizeof *options);
  options->threads = MAX (g_get_num_processors (), 1);
  options->max_clients = LRR_DEFAULT_MAX_CLIENTS;
  options->client_pps = LRR_DEFAULT_CLIENT_PPS;
  options->client_bps = LRR_DEFAULT_CLIENT_BPS;
  options->idle_timeout_s = LRR_DEFAULT_IDLE_TIMEOUT;
  options->error_rate = LRR_DEFAULT_ERROR_RATE;
  options->stun_rate = LRR_DEFAULT_STUN_RATE;
  options->registration_interval_s = LRR_REGISTRATION_INTERVAL_S;
}

void
lrr_server_options_clear (LrrServerOptions *options)
{
  g_clear_pointer (&options->listen, g_free);
  g_clear_pointer (&options->alt_address, g_free);
  g_clear_pointer (&options->public_endpoint, g_free);
  g_clear_pointer (&options->control_url, g_free);
  g_clear_pointer (&options->secret_file, g_free);
  g_clear_pointer (&options->id, g_free);
  g_clear_pointer (&options->region, g_free);
  g_clear_pointer (&options->metrics, g_free);
  g_clear_pointer (&options->deny_file, g_free);
}

static void
close_sockets (LrrServer *self)
{
  for (guint s = 0; s < LRR_N_SOCKETS; s++)
    {
      /* Socket 0 belongs to worker 0 and is closed with the workers. */
      if (s != LRR_SOCKET_PRIMARY && self->context.sockets[s] >= 0)
        close (self->context.sockets[s]);
      self->context.sockets[s] = -1;
    }
}

static void
lrr_server_dispose (GObject *object)
{
  LrrServer *self = LRR_SERVER (object);

  lrr_server_stop (self);
  if (self->registration != NULL)
    lrr_registration_stop (self->registration);
  g_clear_object (&self->registration);
  g_clear_object (&self->metrics);

  G_OBJECT_CLASS (lrr_server_parent_class)->dispose (object);
}

static void
lrr_server_finalize (GObject *object)
{
  LrrServer *self = LRR_SERVER (object);

  g_clear_pointer (&self->workers, g_ptr_array_unref);
  close_sockets (self);
  if (self->stop_fd >= 0)
    close (self->stop_fd);
  g_clear_pointer (&self->context.peers, lrr_peer_table_free);
  g_clear_pointer (&self->context.deny, lrr_deny_list_free);
  g_clear_pointer (&self->context.epoch, lrr_epoch_free);
  g_clear_pointer (&self->context.secret, g_bytes_unref);
  lrr_server_options_clear (&self->options);
  g_free (self->listen_address);
  g_free (self->metrics_address);

  G_OBJECT_CLASS (lrr_server_parent_class)->finalize (object);
}

static void
lrr_server_class_init (LrrServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrr_server_dispose;
  object_class->finalize = lrr_server_finalize;
}

static void
lrr_server_init (LrrServer *self)
{
  self->stop_fd = -1;
  for (guint s = 0; s < LRR_N_SOCKETS; s++)
    self->context.sockets[s] = -1;
}

static void
set_buffer (int fd,
            int option,
            int force_option)
{
  int size = SOCKET_BUFFER_BYTES;

  /* The FORCE variant passes net.core.rmem_max when running as root. */
  if (setsockopt (fd, SOL_SOCKET, force_option, &size, sizeof size) != 0)
    setsockopt (fd, SOL_SOCKET, option, &size, sizeof size);
}

static int
open_socket (LrStunAddress  *address,
             gboolean        reuse_port,
             GError        **error)
{
  LrrAddr addr;
  int one = 1, zero = 0;
  int fd;
  int saved_errno;

  addr.length = lr_stun_address_to_sockaddr (address, &addr.u, sizeof addr.u);
  fd = socket (addr.u.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot open a UDP socket: %s", g_strerror (saved_errno));
      return -1;
    }

  if (addr.u.sa.sa_family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (reuse_port)
    setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  set_buffer (fd, SO_RCVBUF, SO_RCVBUFFORCE);
  set_buffer (fd, SO_SNDBUF, SO_SNDBUFFORCE);

  if (bind (fd, &addr.u.sa, addr.length) != 0)
    {
      g_autofree char *text = lr_stun_address_to_string (address);

      saved_errno = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot listen on %s: %s", text, g_strerror (saved_errno));
      return -1;
    }

  /* Port 0: learn the one the kernel chose, so the next sockets share it. */
  addr.length = sizeof addr.u;
  if (getsockname (fd, &addr.u.sa, &addr.length) == 0)
    address->port = addr.u.sa.sa_family == AF_INET ? ntohs (addr.u.sin.sin_port)
                                                   : ntohs (addr.u.sin6.sin6_port);
  return fd;
}

static gboolean
is_wildcard (const LrStunAddress *address)
{
  static const guint8 zero[16] = { 0 };

  return memcmp (address->address, zero, address->family == LR_STUN_FAMILY_IPV4 ? 4 : 16) == 0;
}

static void
removed_cb (LrrRegistration *registration,
            GArray          *removals,
            gpointer         user_data)
{
  LrrServer *self = user_data;
  guint unbound;

  unbound = lrr_peer_table_remove (self->context.peers,
                                   (const LrRelayRemoval *) removals->data, removals->len,
                                   g_get_real_time () / G_USEC_PER_SEC);
  if (unbound > 0)
    g_message ("Unbound %u peers removed from their parties", unbound);
}

LrrServer *
lrr_server_new (const LrrServerOptions  *options,
                GError                 **error)
{
  g_autoptr(LrrServer) self = g_object_new (LRR_TYPE_SERVER, NULL);
  LrrContext *context = &self->context;
  LrStunAddress primary, alternate = { 0 };
  g_autoptr(GError) local_error = NULL;

  self->options = *options;
  /* NULL options take their defaults here, so a GOptionEntry can write straight into them. */
  self->options.listen = g_strdup (options->listen != NULL ? options->listen
                                                           : LRR_DEFAULT_LISTEN);
  self->options.alt_address = g_strdup (options->alt_address);
  self->options.public_endpoint = g_strdup (options->public_endpoint);
  self->options.control_url = g_strdup (options->control_url);
  self->options.secret_file = g_strdup (options->secret_file);
  self->options.id = g_strdup (options->id);
  self->options.region = g_strdup (options->region);
  self->options.metrics = g_strdup (options->metrics);
  self->options.deny_file = g_strdup (options->deny_file);

  if (options->threads < 1 || options->threads > 256)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--threads must be between 1 and 256");
      return NULL;
    }
  if (options->max_clients < 1 || options->idle_timeout_s < 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--max-clients and --idle-timeout must be at least 1");
      return NULL;
    }

  if (!lr_stun_address_parse (&primary, self->options.listen))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--listen: “%s” must be an address and port, like 0.0.0.0:3478",
                   self->options.listen);
      return NULL;
    }

  if (options->alt_address != NULL)
    {
      /* RFC 5780 section 4.1: the second address and port must both differ. */
      if (!lr_stun_address_parse (&alternate, options->alt_address) ||
          alternate.family != primary.family || alternate.port == 0 || primary.port == 0 ||
          alternate.port == primary.port || is_wildcard (&primary) || is_wildcard (&alternate) ||
          memcmp (alternate.address, primary.address, 16) == 0)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--alt-address: RFC 5780 needs a second address and a second port, "
                       "both different from --listen's, of the same family and not wildcards");
          return NULL;
        }
      context->rfc5780 = TRUE;
    }

  if (options->secret_file != NULL)
    {
      context->secret = lr_secret_load_file (options->secret_file, error);
      if (context->secret == NULL)
        return NULL;
    }

  if (options->control_url != NULL)
    {
      g_autofree char *endpoint = NULL;

      if (context->secret == NULL || options->public_endpoint == NULL)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--control needs --relay-secret-file and --public-endpoint");
          return NULL;
        }
      endpoint = lr_endpoint_normalize (options->public_endpoint, &local_error);
      if (endpoint == NULL)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--public-endpoint: %s",
                       local_error->message);
          return NULL;
        }
      if (options->registration_interval_s < 1 || options->registration_interval_s > 3600)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--registration-interval must be between 1 and 3600 seconds");
          return NULL;
        }
      self->registration = lrr_registration_new (options->control_url, context->secret,
                                                 options->id, options->region, endpoint,
                                                 options->registration_interval_s,
                                                 &local_error);
      if (self->registration == NULL)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "Cannot register with these options: %s", local_error->message);
          return NULL;
        }
      g_signal_connect_object (self->registration, "removed", G_CALLBACK (removed_cb), self,
                               G_CONNECT_DEFAULT);
    }

  if (options->deny_file != NULL)
    {
      context->deny = lrr_deny_list_load_file (options->deny_file, error);
      if (context->deny == NULL)
        return NULL;
    }
  else
    context->deny = lrr_deny_list_new_empty ();

  context->max_clients = options->max_clients;
  context->client_pps = options->client_pps;
  context->client_bps = options->client_bps;
  context->idle_ms = (gint64) options->idle_timeout_s * 1000;
  context->error_rate = options->error_rate;
  context->stun_rate = options->stun_rate;

  /* One reader slot per worker, plus one for the main thread (/metrics). */
  self->main_reader = options->threads;
  context->epoch = lrr_epoch_new (options->threads + 1);
  context->peers = lrr_peer_table_new (options->max_clients, context->epoch);

  self->stop_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (self->stop_fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "eventfd: %s",
                   g_strerror (saved_errno));
      return NULL;
    }

  self->workers = g_ptr_array_new_with_free_func ((GDestroyNotify) lrr_worker_free);
  for (guint i = 0; i < options->threads; i++)
    {
      int fd = open_socket (&primary, TRUE, error);

      if (fd < 0)
        return NULL;
      if (i == 0)
        {
          context->sockets[LRR_SOCKET_PRIMARY] = fd;
          context->addresses[LRR_SOCKET_PRIMARY] = primary;
        }
      g_ptr_array_add (self->workers, lrr_worker_new (context, i, fd, self->stop_fd));
    }

  if (context->rfc5780)
    {
      LrStunAddress addresses[LRR_N_SOCKETS] = { primary, primary, alternate, alternate };

      addresses[1].port = alternate.port;
      addresses[2].port = primary.port;
      for (guint s = 1; s < LRR_N_SOCKETS; s++)
        {
          context->sockets[s] = open_socket (&addresses[s], FALSE, error);
          if (context->sockets[s] < 0)
            return NULL;
          context->addresses[s] = addresses[s];
        }
    }

  self->listen_address = lr_stun_address_to_string (&primary);
  return g_steal_pointer (&self);
}

const char *
lrr_server_get_listen_address (LrrServer *self)
{
  return self->listen_address;
}

const char *
lrr_server_get_metrics_address (LrrServer *self)
{
  return self->metrics_address;
}

static guint64
sum_counter (LrrServer  *self,
             LrrCounter  counter)
{
  guint64 total = 0;

  for (guint i = 0; i < self->workers->len; i++)
    total += lrr_worker_get_counter (g_ptr_array_index (self->workers, i), counter);
  return total;
}

/* Prometheus text exposition format 0.0.4. */
GString *
lrr_server_render_metrics (LrrServer *self)
{
  GString *text = g_string_new (NULL);
  const LrrPeerSnapshot *snapshot;
  guint bound, parties;

  for (LrrCounter c = 0; c < LRR_COUNTER_FIRST_DROP; c++)
    {
      const char *name = lrr_counter_get_name (c);

      g_string_append_printf (text, "# TYPE lanrage_relay_%s_total counter\n", name);
      g_string_append_printf (text, "lanrage_relay_%s_total %" G_GUINT64_FORMAT "\n", name,
                              sum_counter (self, c));
    }

  g_string_append (text, "# HELP lanrage_relay_dropped_packets_total Datagrams dropped, "
                         "by reason.\n# TYPE lanrage_relay_dropped_packets_total counter\n");
  for (LrrCounter c = LRR_COUNTER_FIRST_DROP; c < LRR_N_COUNTERS; c++)
    g_string_append_printf (text,
                            "lanrage_relay_dropped_packets_total{reason=\"%s\"} %"
                            G_GUINT64_FORMAT "\n",
                            lrr_counter_get_name (c), sum_counter (self, c));

  lrr_epoch_enter (self->context.epoch, self->main_reader);
  snapshot = lrr_peer_table_get (self->context.peers);
  bound = snapshot->n_bindings;
  parties = snapshot->n_parties;
  lrr_epoch_leave (self->context.epoch, self->main_reader);

  g_string_append_printf (text, "# TYPE lanrage_relay_bound_peers gauge\n"
                                "lanrage_relay_bound_peers %u\n", bound);
  g_string_append_printf (text, "# TYPE lanrage_relay_parties gauge\n"
                                "lanrage_relay_parties %u\n", parties);
  g_string_append_printf (text, "# TYPE lanrage_relay_workers gauge\n"
                                "lanrage_relay_workers %u\n", self->workers->len);
  return text;
}

static void
metrics_cb (SoupServer        *server,
            SoupServerMessage *message,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  LrrServer *self = user_data;
  GString *text;
  gsize length;

  if (soup_server_message_get_method (message) != SOUP_METHOD_GET &&
      soup_server_message_get_method (message) != SOUP_METHOD_HEAD)
    {
      soup_server_message_set_status (message, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      return;
    }

  text = lrr_server_render_metrics (self);
  length = text->len;
  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, "text/plain; version=0.0.4; charset=utf-8",
                                    SOUP_MEMORY_TAKE, g_string_free (text, FALSE), length);
}

static gboolean
start_metrics (LrrServer  *self,
               GError    **error)
{
  LrStunAddress address;
  LrrAddr native;
  g_autoptr(GSocketAddress) socket_address = NULL;
  GSList *uris;

  if (!lr_stun_address_parse (&address, self->options.metrics))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--metrics: “%s” must be an address and port, like 127.0.0.1:9478",
                   self->options.metrics);
      return FALSE;
    }

  native.length = lr_stun_address_to_sockaddr (&address, &native.u, sizeof native.u);
  socket_address = g_socket_address_new_from_native (&native.u, native.length);
  self->metrics = soup_server_new ("server-header", "lanrage-relay", NULL);
  soup_server_add_handler (self->metrics, "/metrics", metrics_cb, self, NULL);
  if (!soup_server_listen (self->metrics, socket_address, 0, error))
    return FALSE;

  uris = soup_server_get_uris (self->metrics);
  if (uris != NULL)
    {
      GUri *uri = uris->data;

      address.port = g_uri_get_port (uri);
      self->metrics_address = lr_stun_address_to_string (&address);
    }
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return TRUE;
}

static gboolean
maintenance_cb (gpointer user_data)
{
  LrrServer *self = user_data;
  gint64 now_ms = g_get_monotonic_time () / 1000;
  /* Sweep four times per idle timeout, at most once a second. */
  gint64 sweep_every = CLAMP (self->context.idle_ms / 4, MAINTENANCE_MS, 1000);

  if (now_ms - self->last_sweep_ms >= sweep_every)
    {
      guint removed;

      self->last_sweep_ms = now_ms;
      /* The workers' clock is CLOCK_MONOTONIC_COARSE: same clock, a few ms behind. */
      removed = lrr_peer_table_sweep (self->context.peers, now_ms, self->context.idle_ms,
                                      g_get_real_time () / G_USEC_PER_SEC, NULL, NULL);
      if (removed > 0)
        g_debug ("Expired %u idle bindings", removed);
    }

  lrr_epoch_reclaim (self->context.epoch);
  return G_SOURCE_CONTINUE;
}

gboolean
lrr_server_start (LrrServer  *self,
                  GError    **error)
{
  g_return_val_if_fail (LRR_IS_SERVER (self), FALSE);
  g_return_val_if_fail (!self->running, FALSE);

  if (self->options.metrics != NULL && !start_metrics (self, error))
    return FALSE;

  for (guint i = 0; i < self->workers->len; i++)
    lrr_worker_start (g_ptr_array_index (self->workers, i));
  self->running = TRUE;

  self->maintenance_id = g_timeout_add (MAINTENANCE_MS, maintenance_cb, self);
  if (self->registration != NULL)
    lrr_registration_start (self->registration);

  g_message ("Relaying and answering STUN on %s with %u worker%s%s%s",
             self->listen_address, self->workers->len, self->workers->len == 1 ? "" : "s",
             self->context.secret == NULL ? " (no relay secret: STUN only)" : "",
             self->context.rfc5780 ? " (RFC 5780 behaviour discovery on)" : "");
  return TRUE;
}

/* Stops the workers and waits for them; the main loop keeps running. */
void
lrr_server_stop (LrrServer *self)
{
  guint64 one = 1;

  g_return_if_fail (LRR_IS_SERVER (self));

  if (!self->running)
    return;
  self->running = FALSE;

  __atomic_store_n (&self->context.stopping, TRUE, __ATOMIC_RELEASE);
  if (write (self->stop_fd, &one, sizeof one) != sizeof one)
    g_warning ("Cannot wake the workers: %s", g_strerror (errno));
  for (guint i = 0; i < self->workers->len; i++)
    lrr_worker_join (g_ptr_array_index (self->workers, i));

  g_clear_handle_id (&self->maintenance_id, g_source_remove);
  if (self->registration != NULL)
    lrr_registration_stop (self->registration);
  if (self->metrics != NULL)
    soup_server_disconnect (self->metrics);
}

static gboolean
address_is_denied (const LrrAddr *addr,
                   gpointer       user_data)
{
  return lrr_deny_list_contains (user_data, addr);
}

/**
 * lrr_server_reload_deny_list:
 *
 * Reads the deny file again (SIGHUP). On error the old list stays. Peers bound from an
 * address the new list denies are unbound at once.
 */
gboolean
lrr_server_reload_deny_list (LrrServer  *self,
                             GError    **error)
{
  LrrDenyList *next, *old;
  guint removed;

  if (self->options.deny_file == NULL)
    return TRUE;

  next = lrr_deny_list_load_file (self->options.deny_file, error);
  if (next == NULL)
    return FALSE;

  old = self->context.deny;
  __atomic_store_n (&self->context.deny, next, __ATOMIC_SEQ_CST);
  lrr_epoch_retire (self->context.epoch, old, (GDestroyNotify) lrr_deny_list_free);

  removed = lrr_peer_table_sweep (self->context.peers, g_get_monotonic_time () / 1000,
                                  self->context.idle_ms, g_get_real_time () / G_USEC_PER_SEC,
                                  address_is_denied, next);
  g_message ("Deny list reloaded: %u prefixes, %u bindings removed",
             lrr_deny_list_get_length (next), removed);
  return TRUE;
}
