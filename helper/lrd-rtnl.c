/* lrd-rtnl.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The requests go through one NETLINK_ROUTE LrdNetlink (non-blocking, on the main loop, in
 * the namespace of the thread that created it), one at a time, each with NLM_F_ACK, so
 * every request ends with exactly one ack or error and answers match requests by sequence
 * number alone.
 */
#include "lrd-rtnl.h"
#include "lrd-netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

/* Room for the largest request here: RTM_NEWADDR with two IPv6 addresses. */
#define REQUEST_SIZE 256

struct _LrdRtnl
{
  GObject     parent_instance;

  LrdNetlink *netlink;
};

G_DEFINE_FINAL_TYPE (LrdRtnl, lrd_rtnl, G_TYPE_OBJECT)

typedef struct
{
  guint8 message[REQUEST_SIZE];
  int    ifindex;                  /* RTM_GETLINK's answer */
} Request;

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
answer_cb (const guint8  *datagram,
           gsize          length,
           guint32        seq,
           guint32        portid,
           gpointer       user_data,
           gboolean      *out_done,
           GError       **error)
{
  int ret = mnl_cb_run (datagram, length, seq, portid, link_cb, user_data);

  if (ret == MNL_CB_STOP)
    *out_done = TRUE;
  else if (ret < 0 && errno != ESRCH)
    {
      int saved = errno;

      /* GIO has no mapping of ENODEV; the caller wants to know "it is not there". */
      g_set_error (error, G_IO_ERROR,
                   saved == ENODEV ? G_IO_ERROR_NOT_FOUND : g_io_error_from_errno (saved),
                   "%s", g_strerror (saved));
      return FALSE;
    }

  return TRUE;
}

static void
request_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  GError *error = NULL;

  if (!lrd_netlink_request_finish (LRD_NETLINK (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_int (task, request->ifindex);
}

static Request *
request_new (void)
{
  return g_new0 (Request, 1);
}

static struct nlmsghdr *
request_start (Request *request,
               guint16  type,
               guint16  flags)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (request->message);

  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return nlh;
}

static void
send_request (LrdRtnl             *self,
              Request             *request,
              gpointer             source_tag,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, request, g_free);
  lrd_netlink_request_async (self->netlink, request->message, answer_cb, request, cancellable,
                             request_done_cb, task);
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
  Request *request;
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifi;

  g_return_if_fail (LRD_IS_RTNL (self));
  g_return_if_fail (ifname != NULL && strlen (ifname) < IFNAMSIZ);

  request = request_new ();
  nlh = request_start (request, RTM_GETLINK, 0);
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, ifname);
  send_request (self, request, lrd_rtnl_get_link_async, cancellable, callback, user_data);
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
  gsize size = g_inet_address_get_native_size (address);
  Request *request;
  struct nlmsghdr *nlh;
  struct ifaddrmsg *ifa;

  g_return_if_fail (LRD_IS_RTNL (self));
  g_return_if_fail (prefix_length <= size * 8);

  request = request_new ();
  nlh = request_start (request, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  ifa = mnl_nlmsg_put_extra_header (nlh, sizeof *ifa);
  ifa->ifa_family = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 ? AF_INET6
                                                                                : AF_INET;
  ifa->ifa_prefixlen = prefix_length;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = ifindex;
  /* What `ip address add` sends for a point-to-point-less interface: local == address. */
  mnl_attr_put (nlh, IFA_LOCAL, size, g_inet_address_to_bytes (address));
  mnl_attr_put (nlh, IFA_ADDRESS, size, g_inet_address_to_bytes (address));
  send_request (self, request, lrd_rtnl_add_address_async, cancellable, callback, user_data);
}

gboolean
lrd_rtnl_add_address_finish (LrdRtnl       *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return finish_prefixed (result, "Could not set the interface address: ", error);
}

static Request *
link_request (guint16 type,
              int     ifindex,
              guint   flags,
              guint   change)
{
  Request *request = request_new ();
  struct nlmsghdr *nlh = request_start (request, type, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);

  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  ifi->ifi_flags = flags;
  ifi->ifi_change = change;
  return request;
}

void
lrd_rtnl_set_link_up_async (LrdRtnl             *self,
                            int                  ifindex,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (LRD_IS_RTNL (self));

  send_request (self, link_request (RTM_NEWLINK, ifindex, IFF_UP, IFF_UP),
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

  send_request (self, link_request (RTM_DELLINK, ifindex, 0, 0),
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

  g_clear_object (&self->netlink);

  G_OBJECT_CLASS (lrd_rtnl_parent_class)->dispose (object);
}

static void
lrd_rtnl_class_init (LrdRtnlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_rtnl_dispose;
}

static void
lrd_rtnl_init (LrdRtnl *self)
{
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

  self->netlink = lrd_netlink_new (NETLINK_ROUTE, error);
  if (self->netlink == NULL)
    {
      g_prefix_error (error, "rtnetlink: ");
      return NULL;
    }

  return g_steal_pointer (&self);
}
