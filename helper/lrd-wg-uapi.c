/* lrd-wg-uapi.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdWgUapi configures a userspace WireGuard through its control socket
 * /run/wireguard/IFNAME.sock and sets the interface's address and link state over
 * rtnetlink. When given the path of wireguard-go it starts `wireguard-go -f IFNAME` itself,
 * so the daemon lives exactly as long as the helper needs it; otherwise it takes over a
 * daemon that is already listening.
 *
 * Everything it does happens in the network namespace of the thread that created it: the
 * rtnetlink socket is opened by lrd_wg_uapi_new() and wireguard-go inherits the namespace
 * of the thread that spawns it. UAPI requests run one at a time, in the order they were
 * made, on a fresh connection each, so a set_peer followed by a remove_peer can never be
 * reordered.
 */
#include "lrd-wg-uapi.h"
#include "lrd-rtnl.h"
#include "lrd-wg-backend-private.h"

#include "lr-error.h"
#include "lr-wg-uapi.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sodium.h>
#include <string.h>

/* wireguard-go creates its socket about 20 ms after starting here; a loaded machine may
 * take much longer, a daemon that cannot start exits at once. */
#define SOCKET_WAIT_TIMEOUT_MS   5000
#define SOCKET_POLL_INTERVAL_MS  10
/* wireguard-go exits within milliseconds of SIGTERM; after this it gets SIGKILL. */
#define STOP_TIMEOUT_MS          3000

struct _LrdWgUapi
{
  GObject        parent_instance;

  char          *ifname;
  char          *wireguard_go;     /* nullable: do not start a daemon */
  char          *socket_path;

  LrdRtnl       *rtnl;
  GSubprocess   *daemon;           /* nullable: the wireguard-go we started */
  gboolean       daemon_exited;
  char          *daemon_last_line;
  GCancellable  *cancellable;      /* cancelled on dispose: our own reads and waits */

  GQueue         transactions;     /* (element-type GTask) UAPI requests waiting to run */
  gboolean       transaction_running;
};

static void lrd_wg_uapi_backend_init (LrdWgBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LrdWgUapi, lrd_wg_uapi, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LRD_TYPE_WG_BACKEND,
                                                      lrd_wg_uapi_backend_init))

/* ------------------------------------------------------------------------------------ */
/* One UAPI request and its answer                                                         */

typedef struct
{
  GString          *request;       /* may hold a private key: wiped when freed */
  GSocketConnection *connection;
  GByteArray       *answer;        /* may hold a private key: wiped when freed */
  guint8            buffer[4096];
} Transaction;

static void
transaction_free (Transaction *transaction)
{
  if (transaction->request != NULL)
    {
      sodium_memzero (transaction->request->str, transaction->request->allocated_len);
      g_string_free (transaction->request, TRUE);
    }
  if (transaction->answer != NULL)
    {
      sodium_memzero (transaction->answer->data, transaction->answer->len);
      g_byte_array_unref (transaction->answer);
    }
  sodium_memzero (transaction->buffer, sizeof transaction->buffer);
  if (transaction->connection != NULL)
    g_io_stream_close (G_IO_STREAM (transaction->connection), NULL, NULL);
  g_clear_object (&transaction->connection);
  g_free (transaction);
}

static void run_next_transaction (LrdWgUapi *self);

/* Connects to the daemon's control socket. */
static void
connect_socket_async (LrdWgUapi           *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (self->socket_path);

  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (address), cancellable, callback,
                                 user_data);
}

static void
transaction_done (GTask  *task,
                  GError *error)
{
  LrdWgUapi *self = g_task_get_source_object (task);
  Transaction *transaction = g_task_get_task_data (task);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task,
                           g_bytes_new (transaction->answer->data, transaction->answer->len),
                           (GDestroyNotify) g_bytes_unref);

  self->transaction_running = FALSE;
  g_object_unref (task);
  run_next_transaction (self);
}

static void read_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data);

/* Reads the next piece of the answer into the transaction's buffer. */
static void
read_more (GTask *task)
{
  Transaction *transaction = g_task_get_task_data (task);
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (transaction->connection));

  g_input_stream_read_async (input, transaction->buffer, sizeof transaction->buffer,
                             G_PRIORITY_DEFAULT, g_task_get_cancellable (task), read_cb, task);
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  Transaction *transaction = g_task_get_task_data (task);
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);
  gssize complete;

  if (n < 0)
    {
      transaction_done (task, error);
      return;
    }

  g_byte_array_append (transaction->answer, transaction->buffer, n);
  sodium_memzero (transaction->buffer, n);
  complete = lr_wg_uapi_answer_length ((const char *) transaction->answer->data,
                                       transaction->answer->len);

  if (complete >= 0)
    {
      /* Anything after the empty line is the start of nothing we asked for. */
      g_byte_array_set_size (transaction->answer, complete);
      transaction_done (task, NULL);
      return;
    }

  if (n == 0)
    {
      transaction_done (task, g_error_new_literal (LRD_WG_ERROR, LRD_WG_ERROR_PROTOCOL,
                                                   "WireGuard closed its socket mid-answer"));
      return;
    }

  if (transaction->answer->len > LR_WG_UAPI_MAX_ANSWER_SIZE)
    {
      transaction_done (task, g_error_new_literal (LRD_WG_ERROR, LRD_WG_ERROR_PROTOCOL,
                                                   "WireGuard's answer is too large"));
      return;
    }

  read_more (task);
}

static void
write_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      transaction_done (task, error);
      return;
    }

  read_more (task);
}

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *task = user_data;
  Transaction *transaction = g_task_get_task_data (task);
  GError *error = NULL;

  transaction->connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result,
                                                            &error);
  if (transaction->connection == NULL)
    {
      LrdWgUapi *self = g_task_get_source_object (task);

      g_prefix_error (&error, "Cannot reach WireGuard on %s: ", self->socket_path);
      transaction_done (task, error);
      return;
    }

  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (transaction->connection)),
                                   transaction->request->str, transaction->request->len,
                                   G_PRIORITY_DEFAULT, g_task_get_cancellable (task), write_cb,
                                   task);
}

static void
run_next_transaction (LrdWgUapi *self)
{
  GTask *task;

  if (self->transaction_running)
    return;

  while ((task = g_queue_pop_head (&self->transactions)) != NULL)
    {
      if (g_task_return_error_if_cancelled (task))
        {
          g_object_unref (task);
          continue;
        }

      self->transaction_running = TRUE;
      connect_socket_async (self, g_task_get_cancellable (task), connect_cb, task);
      return;
    }
}

/* Takes @request (and wipes it when done). Finishes with the raw answer as GBytes. */
static void
transact_async (LrdWgUapi           *self,
                GString             *request,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Transaction *transaction = g_new0 (Transaction, 1);

  g_task_set_source_tag (task, transact_async);
  transaction->request = request;
  transaction->answer = g_byte_array_new ();
  g_task_set_task_data (task, transaction, (GDestroyNotify) transaction_free);
  g_queue_push_tail (&self->transactions, task);
  run_next_transaction (self);
}

static GBytes *
transact_finish (LrdWgUapi     *self,
                 GAsyncResult  *result,
                 GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Checks the answer to a set=1 request. */
static gboolean
check_set_answer (GBytes  *answer,
                  GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize length;
  const char *text = g_bytes_get_data (answer, &length);
  int answer_errno = 0;

  if (!lr_wg_uapi_parse_set (text, length, &answer_errno, &local_error))
    {
      g_set_error (error, LRD_WG_ERROR, LRD_WG_ERROR_PROTOCOL,
                   "WireGuard answered something unexpected: %s", local_error->message);
      return FALSE;
    }

  if (answer_errno != 0)
    {
      g_set_error (error, LRD_WG_ERROR, LRD_WG_ERROR_REFUSED,
                   "WireGuard refused the configuration: errno %d (%s)",
                   answer_errno, g_strerror (ABS (answer_errno)));
      return FALSE;
    }

  return TRUE;
}

/* Sends a set=1 request and checks its answer. */
static void
set_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GBytes) answer = NULL;
  GError *error = NULL;

  answer = transact_finish (LRD_WG_UAPI (object), result, &error);
  if (answer == NULL || !check_set_answer (answer, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
set_async (LrdWgUapi           *self,
           GString             *request,
           gpointer             source_tag,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  transact_async (self, request, cancellable, set_cb, task);
}

/* ------------------------------------------------------------------------------------ */
/* The wireguard-go we start                                                               */

/* The daemon's output and exit are watched for as long as it runs, which may outlive us:
 * the callbacks hold only a weak reference. */
static GWeakRef *
weak_ref_new (gpointer object)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  g_weak_ref_init (ref, object);
  return ref;
}

static void
weak_ref_free (GWeakRef *ref)
{
  g_weak_ref_clear (ref);
  g_free (ref);
}

static void
daemon_output_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GDataInputStream *stream = G_DATA_INPUT_STREAM (object);
  GWeakRef *ref = user_data;
  g_autoptr(LrdWgUapi) self = g_weak_ref_get (ref);
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (stream, result, NULL, NULL);

  if (self == NULL || line == NULL)
    {
      /* We are gone, or the daemon is (end of output, or not UTF-8). */
      weak_ref_free (ref);
      return;
    }

  /* wireguard-go runs with LOG_LEVEL=error and logs no keys at that level. */
  g_debug ("wireguard-go %s: %s", self->ifname, line);
  g_free (self->daemon_last_line);
  self->daemon_last_line = g_steal_pointer (&line);

  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, self->cancellable,
                                       daemon_output_cb, ref);
}

static void
daemon_exited_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GWeakRef *ref = user_data;
  g_autoptr(LrdWgUapi) self = g_weak_ref_get (ref);

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  weak_ref_free (ref);

  if (self == NULL || G_SUBPROCESS (object) != self->daemon)
    return;

  self->daemon_exited = TRUE;
  g_message ("wireguard-go for %s exited (%s)", self->ifname,
             self->daemon_last_line != NULL ? self->daemon_last_line : "no message");
}

/* Runs in the child between fork and exec. A helper that crashes must not leave a tunnel
 * running that nothing manages any more: the daemon goes with it. */
static void
daemon_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean
start_daemon (LrdWgUapi  *self,
              GError    **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) output = NULL;
  g_autofree char *program = NULL;

  program = g_find_program_in_path (self->wireguard_go);
  if (program == NULL)
    {
      g_set_error (error, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD,
                   "“%s” was not found; install it with “apt install wireguard-go”",
                   self->wireguard_go);
      return FALSE;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_MERGE |
                                        G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_child_setup (launcher, daemon_child_setup, NULL, NULL);
  /* Errors only: at higher levels it logs peer keys (abbreviated) and every handshake. */
  g_subprocess_launcher_setenv (launcher, "LOG_LEVEL", "error", TRUE);
  g_clear_object (&self->daemon);
  self->daemon = g_subprocess_launcher_spawn (launcher, error, program, "-f", self->ifname,
                                              NULL);
  if (self->daemon == NULL)
    return FALSE;

  self->daemon_exited = FALSE;
  g_clear_pointer (&self->daemon_last_line, g_free);
  g_debug ("Started %s -f %s (pid %s)", program, self->ifname,
           g_subprocess_get_identifier (self->daemon));

  output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->daemon));
  g_data_input_stream_read_line_async (output, G_PRIORITY_DEFAULT, self->cancellable,
                                       daemon_output_cb, weak_ref_new (self));
  g_subprocess_wait_async (self->daemon, self->cancellable, daemon_exited_cb,
                           weak_ref_new (self));
  return TRUE;
}

/* Waits until something accepts connections on the socket. */
typedef struct
{
  gint64  deadline;
  guint   timeout_id;
} SocketWait;

static void
socket_wait_free (SocketWait *wait)
{
  g_clear_handle_id (&wait->timeout_id, g_source_remove);
  g_free (wait);
}

static gboolean socket_poll_cb (gpointer user_data);

static void
socket_probe_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdWgUapi *self = g_task_get_source_object (task);
  SocketWait *wait = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, &error);
  if (connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    return;

  if (self->daemon != NULL && self->daemon_exited)
    {
      g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_FAILED,
                               "wireguard-go could not create %s: %s", self->ifname,
                               self->daemon_last_line != NULL ? self->daemon_last_line
                                                              : "it exited");
      return;
    }

  if (g_get_monotonic_time () > wait->deadline)
    {
      if (self->daemon != NULL)
        g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_FAILED,
                                 "wireguard-go did not open %s within %d ms",
                                 self->socket_path, SOCKET_WAIT_TIMEOUT_MS);
      else if (self->wireguard_go != NULL)
        g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_FAILED,
                                 "%s exists but nothing answers on it; is another WireGuard "
                                 "daemon for %s stuck?", self->socket_path, self->ifname);
      else
        g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD,
                                 "No WireGuard daemon listens on %s and none is configured "
                                 "to start; install wireguard-go (“apt install wireguard-go”)",
                                 self->socket_path);
      return;
    }

  wait->timeout_id = g_timeout_add (SOCKET_POLL_INTERVAL_MS, socket_poll_cb,
                                    g_steal_pointer (&task));
}

static gboolean
socket_poll_cb (gpointer user_data)
{
  GTask *task = user_data;
  LrdWgUapi *self = g_task_get_source_object (task);
  SocketWait *wait = g_task_get_task_data (task);

  wait->timeout_id = 0;
  connect_socket_async (self, g_task_get_cancellable (task), socket_probe_cb, task);
  return G_SOURCE_REMOVE;
}

static void
wait_for_socket_async (LrdWgUapi           *self,
                       gint                 timeout_ms,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  SocketWait *wait = g_new0 (SocketWait, 1);

  g_task_set_source_tag (task, wait_for_socket_async);
  wait->deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  g_task_set_task_data (task, wait, (GDestroyNotify) socket_wait_free);
  socket_poll_cb (task);
}

static gboolean
wait_for_socket_finish (LrdWgUapi     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Stops the daemon we started: SIGTERM (it removes its socket and interface), then SIGKILL
 * if it lingers. */
typedef struct
{
  GSubprocess *daemon;
  guint        kill_id;
} DaemonStop;

static void
daemon_stop_free (DaemonStop *stop)
{
  g_clear_handle_id (&stop->kill_id, g_source_remove);
  g_clear_object (&stop->daemon);
  g_free (stop);
}

static gboolean
daemon_kill_cb (gpointer user_data)
{
  DaemonStop *stop = user_data;

  stop->kill_id = 0;
  g_warning ("wireguard-go did not stop within %d ms; killing it", STOP_TIMEOUT_MS);
  g_subprocess_force_exit (stop->daemon);
  return G_SOURCE_REMOVE;
}

static void
daemon_stopped_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
stop_daemon_async (LrdWgUapi           *self,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  DaemonStop *stop = g_new0 (DaemonStop, 1);

  g_task_set_source_tag (task, stop_daemon_async);
  stop->daemon = g_steal_pointer (&self->daemon);
  g_task_set_task_data (task, stop, (GDestroyNotify) daemon_stop_free);

  if (stop->daemon == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  g_subprocess_send_signal (stop->daemon, SIGTERM);
  stop->kill_id = g_timeout_add (STOP_TIMEOUT_MS, daemon_kill_cb, stop);
  g_subprocess_wait_async (stop->daemon, cancellable, daemon_stopped_cb,
                           g_steal_pointer (&task));
}

static gboolean
stop_daemon_finish (LrdWgUapi     *self,
                    GAsyncResult  *result,
                    GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------------------------ */
/* up                                                                                       */

typedef struct
{
  LrKey         private_key;
  guint16       listen_port;
  GInetAddress *address;
  guint         prefix_length;
  int           ifindex;
  gboolean      started_daemon;
} UpData;

static void
up_data_free (UpData *data)
{
  sodium_memzero (&data->private_key, sizeof data->private_key);
  g_clear_object (&data->address);
  g_free (data);
}

static void
up_fail_stopped_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = g_object_steal_data (G_OBJECT (task), "lrd-error");

  stop_daemon_finish (LRD_WG_UAPI (object), result, NULL);
  g_task_return_error (task, error);
}

/* A failed up leaves nothing behind when it created the interface itself. */
static void
up_fail (GTask  *task,
         GError *error)
{
  LrdWgUapi *self = g_task_get_source_object (task);
  UpData *data = g_task_get_task_data (task);

  if (data->started_daemon)
    {
      g_object_set_data (G_OBJECT (task), "lrd-error", error);
      stop_daemon_async (self, NULL, up_fail_stopped_cb, g_object_ref (task));
    }
  else
    g_task_return_error (task, error);

  g_object_unref (task);
}

static void
up_link_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!lrd_rtnl_set_link_up_finish (LRD_RTNL (object), result, &error))
    {
      up_fail (task, error);
      return;
    }

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
up_address_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  UpData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!lrd_rtnl_add_address_finish (LRD_RTNL (object), result, &error))
    {
      up_fail (task, error);
      return;
    }

  lrd_rtnl_set_link_up_async (LRD_RTNL (object), data->ifindex, g_task_get_cancellable (task),
                              up_link_cb, task);
}

static void
up_ifindex_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  UpData *data = g_task_get_task_data (task);
  GError *error = NULL;

  data->ifindex = lrd_rtnl_get_link_finish (LRD_RTNL (object), result, &error);
  if (data->ifindex <= 0)
    {
      g_prefix_error (&error, "The WireGuard interface is not there: ");
      up_fail (task, error);
      return;
    }

  lrd_rtnl_add_address_async (LRD_RTNL (object), data->ifindex, data->address,
                              data->prefix_length, g_task_get_cancellable (task),
                              up_address_cb, task);
}

static void
up_configured_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  LrdWgUapi *self = LRD_WG_UAPI (object);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      up_fail (task, error);
      return;
    }

  lrd_rtnl_get_link_async (self->rtnl, self->ifname, g_task_get_cancellable (task),
                           up_ifindex_cb, task);
}

static void
up_socket_ready_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  GTask *task = user_data;
  LrdWgUapi *self = LRD_WG_UAPI (object);
  UpData *data = g_task_get_task_data (task);
  GError *error = NULL;
  GString *request;

  if (!wait_for_socket_finish (self, result, &error))
    {
      up_fail (task, error);
      return;
    }

  /* replace_peers: an interface taken over starts from a clean slate too. */
  request = g_string_new ("set=1\n");
  lr_wg_uapi_append_key (request, "private_key", &data->private_key);
  g_string_append_printf (request, "listen_port=%u\nreplace_peers=true\n\n", data->listen_port);
  set_async (self, request, up_configured_cb, g_task_get_cancellable (task), up_configured_cb,
             task);
}

static void
uapi_up_async (LrdWgBackend        *backend,
               const LrKey         *private_key,
               guint16              listen_port,
               const char          *address_cidr,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  LrdWgUapi *self = LRD_WG_UAPI (backend);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  UpData *data = g_new0 (UpData, 1);
  GError *error = NULL;

  g_task_set_source_tag (task, uapi_up_async);
  g_task_set_task_data (task, data, (GDestroyNotify) up_data_free);
  data->private_key = *private_key;
  data->listen_port = listen_port;

  if (!lrd_wg_parse_interface_address (address_cidr, &data->address, &data->prefix_length,
                                       &error))
    {
      g_task_return_error (task, error);
      return;
    }

  /* A daemon already listening (ours from an earlier up, or one started by someone else)
   * is taken over; otherwise start one if we may. */
  if (self->wireguard_go != NULL &&
      (self->daemon == NULL || self->daemon_exited) &&
      !g_file_test (self->socket_path, G_FILE_TEST_EXISTS))
    {
      if (!start_daemon (self, &error))
        {
          g_task_return_error (task, error);
          return;
        }
      data->started_daemon = TRUE;
    }

  wait_for_socket_async (self, data->started_daemon ? SOCKET_WAIT_TIMEOUT_MS : 0, cancellable,
                         up_socket_ready_cb, g_steal_pointer (&task));
}

/* ------------------------------------------------------------------------------------ */
/* Peers and stats                                                                          */

static void
uapi_set_peer_async (LrdWgBackend          *backend,
                     const LrdWgPeerConfig *peer,
                     GCancellable          *cancellable,
                     GAsyncReadyCallback    callback,
                     gpointer               user_data)
{
  LrdWgUapi *self = LRD_WG_UAPI (backend);
  GString *request;
  GError *error = NULL;

  if (!lrd_wg_check_peer_config (peer, "", &error))
    {
      g_task_report_error (self, callback, user_data, uapi_set_peer_async, error);
      return;
    }

  request = g_string_new ("set=1\n");
  lr_wg_uapi_append_key (request, "public_key", &peer->public_key);
  g_string_append (request, "replace_allowed_ips=true\n");
  if (lr_addr_is_set (&peer->endpoint))
    {
      g_autofree char *endpoint = lr_addr_to_string (&peer->endpoint);

      g_string_append_printf (request, "endpoint=%s\n", endpoint);
    }
  g_string_append_printf (request, "persistent_keepalive_interval=%u\n",
                          peer->persistent_keepalive);
  for (guint i = 0; peer->allowed_ips != NULL && peer->allowed_ips[i] != NULL; i++)
    g_string_append_printf (request, "allowed_ip=%s\n", peer->allowed_ips[i]);
  g_string_append_c (request, '\n');

  set_async (self, request, uapi_set_peer_async, cancellable, callback, user_data);
}

static void
uapi_remove_peer_async (LrdWgBackend        *backend,
                        const LrKey         *public_key,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  LrdWgUapi *self = LRD_WG_UAPI (backend);
  GString *request = g_string_new ("set=1\n");

  lr_wg_uapi_append_key (request, "public_key", public_key);
  g_string_append (request, "remove=true\n\n");
  set_async (self, request, uapi_remove_peer_async, cancellable, callback, user_data);
}

static void
get_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(LrWgUapiDevice) device = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GArray) stats = NULL;
  GError *error = NULL;
  const char *text;
  gsize length;

  answer = transact_finish (LRD_WG_UAPI (object), result, &error);
  if (answer == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  text = g_bytes_get_data (answer, &length);
  device = lr_wg_uapi_parse_get (text, length, &local_error);
  /* The answer held the private key. */
  sodium_memzero ((gpointer) text, length);
  if (device == NULL)
    {
      gboolean refused = g_error_matches (local_error, LR_ERROR, LR_ERROR_FAILED);

      g_task_return_new_error (task, LRD_WG_ERROR,
                               refused ? LRD_WG_ERROR_REFUSED : LRD_WG_ERROR_PROTOCOL,
                               "%s", local_error->message);
      return;
    }

  lrd_wg_peer_stats_array_init (&stats);
  for (guint i = 0; i < device->peers->len; i++)
    {
      LrWgUapiPeer *peer = &g_array_index (device->peers, LrWgUapiPeer, i);
      LrdWgPeerStats entry = { 0 };

      entry.public_key = peer->public_key;
      entry.endpoint = peer->endpoint;
      entry.rx_bytes = peer->rx_bytes;
      entry.tx_bytes = peer->tx_bytes;
      entry.last_handshake_unix = peer->last_handshake_sec;
      g_array_append_val (stats, entry);
    }

  g_task_return_pointer (task, g_steal_pointer (&stats), (GDestroyNotify) g_array_unref);
}

static void
uapi_get_stats_async (LrdWgBackend        *backend,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  LrdWgUapi *self = LRD_WG_UAPI (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, uapi_get_stats_async);
  transact_async (self, g_string_new ("get=1\n\n"), cancellable, get_cb, task);
}

/* ------------------------------------------------------------------------------------ */
/* down                                                                                     */

static void
down_deleted_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!lrd_rtnl_delete_link_finish (LRD_RTNL (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
down_lookup_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdWgUapi *self = g_task_get_source_object (task);
  GCancellable *cancellable;
  GError *error = NULL;
  int ifindex = lrd_rtnl_get_link_finish (LRD_RTNL (object), result, &error);

  if (ifindex <= 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_clear_error (&error);
          g_task_return_boolean (task, TRUE);
        }
      else
        g_task_return_error (task, error);
      return;
    }

  /* A daemon we did not start: removing its tun device makes it exit and remove its
   * socket. */
  cancellable = g_task_get_cancellable (task);
  lrd_rtnl_delete_link_async (self->rtnl, ifindex, cancellable, down_deleted_cb,
                              g_steal_pointer (&task));
}

static void
down_stopped_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdWgUapi *self = LRD_WG_UAPI (object);
  GCancellable *cancellable;
  g_autoptr(GError) error = NULL;

  if (!stop_daemon_finish (self, result, &error))
    g_debug ("Waiting for wireguard-go failed: %s", error->message);

  /* After a SIGKILL, wireguard-go could not remove its socket. */
  if (g_unlink (self->socket_path) == 0)
    g_debug ("Removed the stale %s", self->socket_path);

  cancellable = g_task_get_cancellable (task);
  lrd_rtnl_get_link_async (self->rtnl, self->ifname, cancellable, down_lookup_cb,
                           g_steal_pointer (&task));
}

static void
uapi_down_async (LrdWgBackend        *backend,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  LrdWgUapi *self = LRD_WG_UAPI (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, uapi_down_async);

  if (self->daemon != NULL)
    stop_daemon_async (self, cancellable, down_stopped_cb, task);
  else
    lrd_rtnl_get_link_async (self->rtnl, self->ifname, cancellable, down_lookup_cb, task);
}

static const char *
uapi_get_name (LrdWgBackend *backend)
{
  return "uapi";
}

static void
lrd_wg_uapi_backend_init (LrdWgBackendInterface *iface)
{
  iface->get_name = uapi_get_name;
  iface->up_async = uapi_up_async;
  iface->up_finish = lrd_wg_backend_task_finish_boolean;
  iface->set_peer_async = uapi_set_peer_async;
  iface->set_peer_finish = lrd_wg_backend_task_finish_boolean;
  iface->remove_peer_async = uapi_remove_peer_async;
  iface->remove_peer_finish = lrd_wg_backend_task_finish_boolean;
  iface->get_stats_async = uapi_get_stats_async;
  iface->get_stats_finish = lrd_wg_backend_task_finish_stats;
  iface->down_async = uapi_down_async;
  iface->down_finish = lrd_wg_backend_task_finish_boolean;
}

/* ------------------------------------------------------------------------------------ */

static void
lrd_wg_uapi_dispose (GObject *object)
{
  LrdWgUapi *self = LRD_WG_UAPI (object);

  g_cancellable_cancel (self->cancellable);

  /* Never leave an orphaned daemon: the caller should have called down, but a helper that
   * is torn down without it must not leave the tunnel running. */
  if (self->daemon != NULL)
    {
      g_warning ("%s disposed while up; killing its wireguard-go", self->ifname);
      g_subprocess_force_exit (self->daemon);
      g_unlink (self->socket_path);
      g_clear_object (&self->daemon);
    }

  g_clear_object (&self->rtnl);

  G_OBJECT_CLASS (lrd_wg_uapi_parent_class)->dispose (object);
}

static void
lrd_wg_uapi_finalize (GObject *object)
{
  LrdWgUapi *self = LRD_WG_UAPI (object);

  g_clear_object (&self->cancellable);
  g_free (self->ifname);
  g_free (self->wireguard_go);
  g_free (self->socket_path);
  g_free (self->daemon_last_line);

  G_OBJECT_CLASS (lrd_wg_uapi_parent_class)->finalize (object);
}

static void
lrd_wg_uapi_class_init (LrdWgUapiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_wg_uapi_dispose;
  object_class->finalize = lrd_wg_uapi_finalize;
}

static void
lrd_wg_uapi_init (LrdWgUapi *self)
{
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->transactions);
}

/**
 * lrd_wg_uapi_new:
 * @ifname: the interface, e.g. `lanrage0`
 * @wireguard_go: (nullable): the daemon to start (a path, or a name looked up in PATH);
 *   %NULL to only take over a daemon that already listens on /run/wireguard/@ifname.sock
 *
 * The backend works in the network namespace of the calling thread.
 */
LrdWgUapi *
lrd_wg_uapi_new (const char  *ifname,
                 const char  *wireguard_go,
                 GError     **error)
{
  g_autoptr(LrdWgUapi) self = NULL;
  g_autoptr(LrdRtnl) rtnl = NULL;
  g_autofree char *socket_name = NULL;

  if (!lrd_wg_check_ifname (ifname, error))
    return NULL;

  rtnl = lrd_rtnl_new (error);
  if (rtnl == NULL)
    return NULL;

  self = g_object_new (LRD_TYPE_WG_UAPI, NULL);
  self->ifname = g_strdup (ifname);
  self->wireguard_go = g_strdup (wireguard_go);
  socket_name = g_strconcat (ifname, ".sock", NULL);
  self->socket_path = g_build_filename (LRD_WG_UAPI_DEFAULT_SOCKET_DIR, socket_name, NULL);
  self->rtnl = g_steal_pointer (&rtnl);
  return g_steal_pointer (&self);
}
