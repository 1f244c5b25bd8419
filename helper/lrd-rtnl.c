/* lrd-rtnl.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A non-blocking NETLINK_ROUTE socket watched by the main loop: no worker thread, and the
 * socket stays in the network namespace of the thread that created it (a thread pool's
 * threads would not follow a setns() of the main thread). Requests go out one at a time,
 * each with NLM_F_ACK, so every request ends with exactly one ack or error and replies
 * match requests by sequence number alone.
 */
#include "lrd-rtnl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <glib-unix.h>

/* The kernel answers in microseconds; this only guards against a lost reply. */
#define REQUEST_TIMEOUT_SECONDS 5

struct _LrdRtnl
{
  GObject             parent_instance;

  struct mnl_socket  *socket;
  guint               portid;
  guint               seq;
  guint               watch_id;
  guint               timeout_id;

  GQueue              pending;     /* (element-type GTask) waiting to be sent */
  GTask              *current;     /* sent, waiting for its ack */
};

G_DEFINE_FINAL_TYPE (LrdRtnl, lrd_rtnl, G_TYPE_OBJECT)

typedef struct
{
  GByteArray *message;
  int         ifindex;             /* RTM_GETLINK's answer */
} Request;

static void
request_free (Request *request)
{
  g_clear_pointer (&request->message, g_byte_array_unref);
  g_free (request);
}

static void send_next (LrdRtnl *self);

static void
finish_current (LrdRtnl *self,
                GError  *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->current);

  g_clear_handle_id (&self->timeout_id, g_source_remove);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    {
      Request *request = g_task_get_task_data (task);

      g_task_return_int (task, request->ifindex);
    }

  send_next (self);
}

static int
link_cb (const struct nlmsghdr *nlh,
         void                  *data)
{
  Request *request = data;
  const struct ifinfomsg *ifi;

  if (nlh->nlmsg_type != RTM_NEWLINK ||
      mnl_nlmsg_get_payload_len (nlh) < sizeof (struct ifinfomsg))
    return MNL_CB_OK;

  ifi = mnl_nlmsg_get_payload (nlh);
  request->ifindex = ifi->ifi_index;
  return MNL_CB_OK;
}

static gboolean
socket_readable_cb (int          fd,
                    GIOCondition condition,
                    gpointer     user_data)
{
  LrdRtnl *self = user_data;
  char buffer[MNL_SOCKET_BUFFER_SIZE];

  for (;;)
    {
      ssize_t n = mnl_socket_recvfrom (self->socket, buffer, sizeof buffer);
      int ret;

      if (n < 0)
        {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && self->current)
            finish_current (self, g_error_new (G_IO_ERROR, g_io_error_from_errno (errno),
                                               "Reading from rtnetlink failed: %s",
                                               g_strerror (errno)));
          break;
        }

      if (self->current == NULL)
        continue;   /* a late answer to nothing we wait for */

      ret = mnl_cb_run (buffer, n, self->seq, self->portid, link_cb,
                        g_task_get_task_data (self->current));
      if (ret == MNL_CB_STOP)
        finish_current (self, NULL);
      else if (ret < 0 && errno != ESRCH)
        {
          int saved = errno;

          /* GIO has no mapping of ENODEV; the caller wants to know "it is not there". */
          finish_current (self, g_error_new (G_IO_ERROR,
                                             saved == ENODEV ? G_IO_ERROR_NOT_FOUND
                                                             : g_io_error_from_errno (saved),
                                             "%s", g_strerror (saved)));
        }
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  LrdRtnl *self = user_data;

  self->timeout_id = 0;
  finish_current (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                             "The kernel did not answer an rtnetlink request"));
  return G_SOURCE_REMOVE;
}

static void
send_next (LrdRtnl *self)
{
  while (self->current == NULL && !g_queue_is_empty (&self->pending))
    {
      g_autoptr(GTask) task = g_queue_pop_head (&self->pending);
      Request *request = g_task_get_task_data (task);
      struct nlmsghdr *nlh = (struct nlmsghdr *) request->message->data;

      if (g_task_return_error_if_cancelled (task))
        continue;

      nlh->nlmsg_seq = ++self->seq;
      if (mnl_socket_sendto (self->socket, nlh, nlh->nlmsg_len) < 0)
        {
          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errno),
                                   "Sending an rtnetlink request failed: %s",
                                   g_strerror (errno));
          continue;
        }

      self->current = g_steal_pointer (&task);
      self->timeout_id = g_timeout_add_seconds (REQUEST_TIMEOUT_SECONDS, timeout_cb, self);
    }
}

static struct nlmsghdr *
request_start (GByteArray *message,
               guint16     type,
               guint16     flags)
{
  struct nlmsghdr *nlh;

  g_byte_array_set_size (message, MNL_SOCKET_BUFFER_SIZE);
  memset (message->data, 0, message->len);
  nlh = mnl_nlmsg_put_header (message->data);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return nlh;
}

static void
queue_request (LrdRtnl             *self,
               GByteArray          *message,
               gpointer             source_tag,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Request *request = g_new0 (Request, 1);

  g_task_set_source_tag (task, source_tag);
  request->message = message;
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  g_queue_push_tail (&self->pending, g_steal_pointer (&task));
  send_next (self);
}

/* Finishes a request that answers with no more than an acknowledgement; a failure says
 * what was being done (@prefix). */
static gboolean
finish_prefixed (GAsyncResult  *result,
                 const char    *prefix,
                 GError       **error)
{
  g_autoptr(GError) local_error = NULL;

  g_task_propagate_int (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s", prefix);
      return FALSE;
    }

  return TRUE;
}

/**
 * lrd_rtnl_get_link_async:
 *
 * Looks @ifname up; finishes with its index, or %G_IO_ERROR_NOT_FOUND.
 */
void
lrd_rtnl_get_link_async (LrdRtnl             *self,
                         const char          *ifname,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  GByteArray *message = g_byte_array_new ();
  struct nlmsghdr *nlh = request_start (message, RTM_GETLINK, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);

  g_return_if_fail (LRD_IS_RTNL (self));
  g_return_if_fail (ifname != NULL && strlen (ifname) < IFNAMSIZ);

  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, ifname);
  queue_request (self, message, lrd_rtnl_get_link_async, cancellable, callback, user_data);
}

int
lrd_rtnl_get_link_finish (LrdRtnl       *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize ifindex = g_task_propagate_int (G_TASK (result), &local_error);

  if (local_error == NULL && ifindex <= 0)
    g_set_error_literal (&local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No such interface");

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return 0;
    }

  return (int) ifindex;
}

void
lrd_rtnl_add_address_async (LrdRtnl             *self,
                            int                  ifindex,
                            GInetAddress        *address,
                            guint                prefix_length,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GByteArray *message = g_byte_array_new ();
  struct nlmsghdr *nlh = request_start (message, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header (nlh, sizeof *ifa);
  gsize size = g_inet_address_get_native_size (address);

  g_return_if_fail (LRD_IS_RTNL (self));
  g_return_if_fail (prefix_length <= size * 8);

  ifa->ifa_family = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 ? AF_INET6
                                                                                : AF_INET;
  ifa->ifa_prefixlen = prefix_length;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = ifindex;
  /* What `ip address add` sends for a point-to-point-less interface: local == address. */
  mnl_attr_put (nlh, IFA_LOCAL, size, g_inet_address_to_bytes (address));
  mnl_attr_put (nlh, IFA_ADDRESS, size, g_inet_address_to_bytes (address));
  queue_request (self, message, lrd_rtnl_add_address_async, cancellable, callback, user_data);
}

gboolean
lrd_rtnl_add_address_finish (LrdRtnl       *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return finish_prefixed (result, "Could not set the interface address: ", error);
}

static GByteArray *
link_request (guint16 type,
              int     ifindex,
              guint   flags,
              guint   change)
{
  GByteArray *message = g_byte_array_new ();
  struct nlmsghdr *nlh = request_start (message, type, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);

  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  ifi->ifi_flags = flags;
  ifi->ifi_change = change;
  return message;
}

void
lrd_rtnl_set_link_up_async (LrdRtnl             *self,
                            int                  ifindex,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (LRD_IS_RTNL (self));

  queue_request (self, link_request (RTM_NEWLINK, ifindex, IFF_UP, IFF_UP),
                 lrd_rtnl_set_link_up_async, cancellable, callback, user_data);
}

gboolean
lrd_rtnl_set_link_up_finish (LrdRtnl       *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return finish_prefixed (result, "Could not bring the interface up: ", error);
}

void
lrd_rtnl_delete_link_async (LrdRtnl             *self,
                            int                  ifindex,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (LRD_IS_RTNL (self));

  queue_request (self, link_request (RTM_DELLINK, ifindex, 0, 0),
                 lrd_rtnl_delete_link_async, cancellable, callback, user_data);
}

gboolean
lrd_rtnl_delete_link_finish (LrdRtnl       *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return finish_prefixed (result, "Could not remove the interface: ", error);
}

static void
lrd_rtnl_dispose (GObject *object)
{
  LrdRtnl *self = LRD_RTNL (object);
  GTask *task;

  g_clear_handle_id (&self->watch_id, g_source_remove);
  g_clear_handle_id (&self->timeout_id, g_source_remove);

  /* Pending tasks hold a reference to self, so dispose only runs once they are done. */
  while ((task = g_queue_pop_head (&self->pending)) != NULL)
    g_object_unref (task);
  g_clear_object (&self->current);

  G_OBJECT_CLASS (lrd_rtnl_parent_class)->dispose (object);
}

static void
lrd_rtnl_finalize (GObject *object)
{
  LrdRtnl *self = LRD_RTNL (object);

  g_clear_pointer (&self->socket, mnl_socket_close);

  G_OBJECT_CLASS (lrd_rtnl_parent_class)->finalize (object);
}

static void
lrd_rtnl_class_init (LrdRtnlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_rtnl_dispose;
  object_class->finalize = lrd_rtnl_finalize;
}

static void
lrd_rtnl_init (LrdRtnl *self)
{
  g_queue_init (&self->pending);
}

/**
 * lrd_rtnl_new:
 *
 * Opens the socket in the network namespace of the calling thread; it stays there.
 */
LrdRtnl *
lrd_rtnl_new (GError **error)
{
  g_autoptr(LrdRtnl) self = g_object_new (LRD_TYPE_RTNL, NULL);

  self->socket = mnl_socket_open2 (NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (self->socket == NULL || mnl_socket_bind (self->socket, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not open an rtnetlink socket: %s", g_strerror (saved));
      return NULL;
    }

  self->portid = mnl_socket_get_portid (self->socket);
  self->seq = g_random_int () >> 1;
  self->watch_id = g_unix_fd_add (mnl_socket_get_fd (self->socket), G_IO_IN,
                                  socket_readable_cb, self);
  return g_steal_pointer (&self);
}
