/* lrd-netlink.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A non-blocking netlink socket watched by the main loop: no worker thread, and the socket
 * stays in the network namespace of the thread that created it (a thread pool's threads
 * would not follow a setns() of the main thread). Requests go out one at a time, so every
 * datagram that arrives belongs to the current request or to none (a late answer to a
 * request that timed out); the caller's answer function reads it and says when the answer
 * is complete. The kernel answers in microseconds; a timeout only guards against a lost
 * answer, so a caller that asks every few seconds never stalls the main loop.
 *
 * Answers may hold secrets (WireGuard's dump carries the device's private key): the
 * receive buffer is wiped after each datagram.
 */
#include "lrd-netlink.h"

#include <errno.h>
#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <sodium.h>

#define REQUEST_TIMEOUT_SECONDS 5

/* The kernel sizes each part of a dump to the reader's buffer, up to 32 KiB
 * (net/netlink/af_netlink.c); the first part fits in a page. */
#define RECEIVE_BUFFER_SIZE (32 * 1024)

struct _LrdNetlink
{
  GObject             parent_instance;

  struct mnl_socket  *socket;
  guint32             portid;
  guint32             seq;
  guint               watch_id;
  guint               timeout_id;
  guint8             *buffer;

  GQueue              pending;     /* (element-type GTask) waiting to be sent */
  GTask              *current;     /* sent, waiting for the rest of its answer */
};

G_DEFINE_FINAL_TYPE (LrdNetlink, lrd_netlink, G_TYPE_OBJECT)

typedef struct
{
  struct nlmsghdr      *message;
  LrdNetlinkAnswerFunc  answer;
  gpointer              answer_data;
} Request;

static void
request_free (Request *request)
{
  g_free (request->message);
  g_free (request);
}

static void send_next (LrdNetlink *self);

static void
finish_current (LrdNetlink *self,
                GError     *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->current);

  g_clear_handle_id (&self->timeout_id, g_source_remove);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);

  send_next (self);
}

static gboolean
timeout_cb (gpointer user_data)
{
  LrdNetlink *self = user_data;

  self->timeout_id = 0;
  finish_current (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                             "The kernel did not answer a netlink request"));
  return G_SOURCE_REMOVE;
}

static gboolean
socket_readable_cb (int          fd,
                    GIOCondition condition,
                    gpointer     user_data)
{
  LrdNetlink *self = user_data;

  for (;;)
    {
      ssize_t n = mnl_socket_recvfrom (self->socket, self->buffer, RECEIVE_BUFFER_SIZE);
      Request *request;
      GError *error = NULL;
      gboolean done = FALSE;

      if (n < 0)
        {
          int saved = errno;

          if (saved == EINTR)
            continue;
          if (saved != EAGAIN && saved != EWOULDBLOCK && self->current != NULL)
            finish_current (self, g_error_new (G_IO_ERROR, g_io_error_from_errno (saved),
                                               "Reading from netlink failed: %s",
                                               g_strerror (saved)));
          break;
        }

      /* A late answer to nothing we wait for is dropped. */
      if (self->current != NULL)
        {
          request = g_task_get_task_data (self->current);
          if (!request->answer (self->buffer, n, self->seq, self->portid, request->answer_data,
                                &done, &error))
            finish_current (self, error);
          else if (done)
            finish_current (self, NULL);
        }

      sodium_memzero (self->buffer, n);
    }

  return G_SOURCE_CONTINUE;
}

static void
send_next (LrdNetlink *self)
{
  while (self->current == NULL && !g_queue_is_empty (&self->pending))
    {
      g_autoptr(GTask) task = g_queue_pop_head (&self->pending);
      Request *request = g_task_get_task_data (task);
      struct nlmsghdr *nlh = request->message;

      if (g_task_return_error_if_cancelled (task))
        continue;

      nlh->nlmsg_seq = ++self->seq;
      if (mnl_socket_sendto (self->socket, nlh, nlh->nlmsg_len) < 0)
        {
          int saved = errno;

          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                                   "Sending a netlink request failed: %s", g_strerror (saved));
          continue;
        }

      self->current = g_steal_pointer (&task);
      self->timeout_id = g_timeout_add_seconds (REQUEST_TIMEOUT_SECONDS, timeout_cb, self);
    }
}

/**
 * lrd_netlink_request_async:
 * @message: a whole netlink message (its length in its header); copied, and its sequence
 *   number set when it is sent
 * @answer: called on the main loop with each datagram until the answer is complete
 * @answer_data: for @answer; it must live until @callback is called
 *
 * Requests are sent one at a time, in call order.
 */
void
lrd_netlink_request_async (LrdNetlink           *self,
                           const guint8         *message,
                           LrdNetlinkAnswerFunc  answer,
                           gpointer              answer_data,
                           GCancellable         *cancellable,
                           GAsyncReadyCallback   callback,
                           gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (LRD_IS_NETLINK (self));
  g_return_if_fail (answer != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_netlink_request_async);
  request = g_new0 (Request, 1);
  request->message = g_memdup2 (message, ((const struct nlmsghdr *) message)->nlmsg_len);
  request->answer = answer;
  request->answer_data = answer_data;
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  g_queue_push_tail (&self->pending, g_steal_pointer (&task));
  send_next (self);
}

gboolean
lrd_netlink_request_finish (LrdNetlink    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
lrd_netlink_dispose (GObject *object)
{
  LrdNetlink *self = LRD_NETLINK (object);
  GTask *task;

  g_clear_handle_id (&self->watch_id, g_source_remove);
  g_clear_handle_id (&self->timeout_id, g_source_remove);

  /* Pending tasks hold a reference to self, so dispose only runs once they are done. */
  while ((task = g_queue_pop_head (&self->pending)) != NULL)
    g_object_unref (task);
  g_clear_object (&self->current);

  G_OBJECT_CLASS (lrd_netlink_parent_class)->dispose (object);
}

static void
lrd_netlink_finalize (GObject *object)
{
  LrdNetlink *self = LRD_NETLINK (object);

  g_clear_pointer (&self->socket, mnl_socket_close);
  g_free (self->buffer);

  G_OBJECT_CLASS (lrd_netlink_parent_class)->finalize (object);
}

static void
lrd_netlink_class_init (LrdNetlinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_netlink_dispose;
  object_class->finalize = lrd_netlink_finalize;
}

static void
lrd_netlink_init (LrdNetlink *self)
{
  g_queue_init (&self->pending);
}

/**
 * lrd_netlink_new:
 * @protocol: NETLINK_ROUTE, NETLINK_GENERIC, ...
 *
 * Opens the socket in the network namespace of the calling thread; it stays there.
 */
LrdNetlink *
lrd_netlink_new (int      protocol,
                 GError **error)
{
  g_autoptr(LrdNetlink) self = g_object_new (LRD_TYPE_NETLINK, NULL);

  self->socket = mnl_socket_open2 (protocol, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (self->socket == NULL || mnl_socket_bind (self->socket, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not open a netlink socket: %s", g_strerror (saved));
      return NULL;
    }

  self->buffer = g_malloc (RECEIVE_BUFFER_SIZE);
  self->portid = mnl_socket_get_portid (self->socket);
  self->seq = g_random_int () >> 1;
  self->watch_id = g_unix_fd_add (mnl_socket_get_fd (self->socket), G_IO_IN,
                                  socket_readable_cb, self);
  return g_steal_pointer (&self);
}
