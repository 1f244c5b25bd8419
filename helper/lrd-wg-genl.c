/* lrd-wg-genl.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdWgGenl reads a kernel WireGuard interface's peers (counters, last handshake, the
 * endpoint the kernel currently uses) the way `wg show` does: a WG_CMD_GET_DEVICE dump on
 * the "wireguard" generic netlink family, whose id the generic netlink controller gives
 * (CTRL_CMD_GETFAMILY) the first time it is needed.
 *
 * Asynchronous on the main loop, through a NETLINK_GENERIC LrdNetlink (non-blocking, no
 * worker thread, in the namespace of the thread that created it): the kernel writes each
 * part of a dump in microseconds, and waiting for the parts on the main loop rather than
 * in a blocking recv() keeps a caller that asks every 2 s from ever stalling the helper,
 * even if the kernel is slow or never answers (a timeout ends the request).
 *
 * A kernel without WireGuard has no such family: the controller answers ENOENT, the answer
 * is kept for the object's lifetime and every call finishes at once with
 * G_IO_ERROR_NOT_SUPPORTED without asking the kernel again. Create a new LrdWgGenl to ask
 * again (the NetworkManager backend does at each up).
 */
#include "lrd-wg-genl-private.h"
#include "lrd-wg-genl-dump.h"
#include "lrd-netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <string.h>

/* A dump that keeps being interrupted by changes to the device gives up after this many
 * tries; the next call tries again. wireguard-tools retries without a limit. */
#define DUMP_ATTEMPTS 3

typedef enum
{
  FAMILY_UNKNOWN,
  FAMILY_KNOWN,
  FAMILY_ABSENT,
} FamilyState;

struct _LrdWgGenl
{
  GObject      parent_instance;

  LrdNetlink  *netlink;
  char        *family_name;
  FamilyState  family;
  guint16      family_id;
};

G_DEFINE_FINAL_TYPE (LrdWgGenl, lrd_wg_genl, G_TYPE_OBJECT)

typedef struct
{
  LrdWgGenl     *self;
  char          *ifname;
  guint16        family_id;        /* the controller's answer */
  LrdWgGenlDump *dump;             /* the current attempt's */
  guint          attempts;
} Request;

static void
request_free (Request *request)
{
  g_free (request->ifname);
  g_clear_pointer (&request->dump, lrd_wg_genl_dump_free);
  g_free (request);
}

static GError *
absent_error (LrdWgGenl *self)
{
  return g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                      "This kernel has no “%s” generic netlink family (no WireGuard module)",
                      self->family_name);
}

/* The controller's answer to CTRL_CMD_GETFAMILY: the family's attributes, or an error. */
static gboolean
resolve_answer_cb (const guint8  *datagram,
                   gsize          length,
                   guint32        seq,
                   guint32        portid,
                   gpointer       user_data,
                   gboolean      *out_done,
                   GError       **error)
{
  Request *request = user_data;
  const struct nlmsghdr *nlh = (const struct nlmsghdr *) datagram;
  int remaining = (int) length;

  for (; mnl_nlmsg_ok (nlh, remaining); nlh = mnl_nlmsg_next (nlh, &remaining))
    {
      const struct nlattr *attr;

      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
        continue;

      if (nlh->nlmsg_type == NLMSG_ERROR)
        {
          struct nlmsgerr answer = { 0 };

          if (mnl_nlmsg_get_payload_len (nlh) >= sizeof answer)
            memcpy (&answer, mnl_nlmsg_get_payload (nlh), sizeof answer);
          if (answer.error == -ENOENT)
            g_propagate_error (error, absent_error (request->self));
          else
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-answer.error),
                         "Looking up the “%s” generic netlink family failed: %s",
                         request->self->family_name, g_strerror (-answer.error));
          return FALSE;
        }

      if (nlh->nlmsg_type != GENL_ID_CTRL || mnl_nlmsg_get_payload_len (nlh) < GENL_HDRLEN)
        continue;

      mnl_attr_for_each (attr, nlh, GENL_HDRLEN)
        {
          if (mnl_attr_get_type (attr) == CTRL_ATTR_FAMILY_ID &&
              mnl_attr_validate (attr, MNL_TYPE_U16) == 0)
            {
              request->family_id = mnl_attr_get_u16 (attr);
              *out_done = TRUE;
              return TRUE;
            }
        }

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The generic netlink controller gave no id for “%s”",
                   request->self->family_name);
      return FALSE;
    }

  return TRUE;
}

static gboolean
dump_answer_cb (const guint8  *datagram,
                gsize          length,
                guint32        seq,
                guint32        portid,
                gpointer       user_data,
                gboolean      *out_done,
                GError       **error)
{
  Request *request = user_data;

  if (request->dump == NULL)
    request->dump = lrd_wg_genl_dump_new (request->self->family_id, seq, portid);
  return lrd_wg_genl_dump_feed (request->dump, datagram, length, out_done, error);
}

static void dumped_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data);

static void
send_dump (GTask *task)
{
  LrdWgGenl *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  guint8 message[LRD_WG_GENL_REQUEST_SIZE];

  request->attempts++;
  g_clear_pointer (&request->dump, lrd_wg_genl_dump_free);
  lrd_wg_genl_dump_build_request (message, sizeof message, self->family_id, 0,
                                  request->ifname);
  lrd_netlink_request_async (self->netlink, message, dump_answer_cb, request,
                             g_task_get_cancellable (task), dumped_cb, task);
}

static void
dumped_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  Request *request = g_task_get_task_data (task);
  GError *error = NULL;

  if (lrd_netlink_request_finish (LRD_NETLINK (object), result, &error))
    g_task_return_pointer (task, lrd_wg_genl_dump_steal_peers (request->dump),
                           (GDestroyNotify) g_array_unref);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY) &&
           request->attempts < DUMP_ATTEMPTS)
    {
      g_error_free (error);
      send_dump (task);
      return;
    }
  else
    g_task_return_error (task, error);

  g_object_unref (task);
}

static void
resolved_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *task = user_data;
  LrdWgGenl *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  GError *error = NULL;

  if (!lrd_netlink_request_finish (LRD_NETLINK (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
        self->family = FAMILY_ABSENT;
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  if (self->family != FAMILY_KNOWN)
    g_debug ("Generic netlink family “%s” has id %u", self->family_name, request->family_id);
  self->family = FAMILY_KNOWN;
  self->family_id = request->family_id;
  send_dump (task);
}

static void
send_resolve (GTask *task)
{
  LrdWgGenl *self = g_task_get_source_object (task);
  guint8 message[LRD_WG_GENL_REQUEST_SIZE] = { 0 };
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (message);
  struct genlmsghdr *genl;

  nlh->nlmsg_type = GENL_ID_CTRL;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  genl = mnl_nlmsg_put_extra_header (nlh, sizeof *genl);
  genl->cmd = CTRL_CMD_GETFAMILY;
  genl->version = 1;
  mnl_attr_put_strz (nlh, CTRL_ATTR_FAMILY_NAME, self->family_name);
  lrd_netlink_request_async (self->netlink, message, resolve_answer_cb,
                             g_task_get_task_data (task), g_task_get_cancellable (task),
                             resolved_cb, task);
}

/**
 * lrd_wg_genl_get_peers_async:
 * @ifname: a kernel WireGuard interface in the namespace the object was created in
 *
 * Finishes with a GArray of LrdWgPeerStats (the kernel's counters, last handshake and
 * endpoint per peer), or G_IO_ERROR_NOT_SUPPORTED when the kernel has no WireGuard,
 * G_IO_ERROR_NOT_FOUND when @ifname does not exist, G_IO_ERROR_INVALID_ARGUMENT when it is
 * not a kernel WireGuard interface (wireguard-go's, say), G_IO_ERROR_PERMISSION_DENIED
 * without CAP_NET_ADMIN.
 */
void
lrd_wg_genl_get_peers_async (LrdWgGenl           *self,
                             const char          *ifname,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;
  Request *request;

  g_return_if_fail (LRD_IS_WG_GENL (self));
  g_return_if_fail (ifname != NULL && strlen (ifname) < IFNAMSIZ);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_wg_genl_get_peers_async);
  request = g_new0 (Request, 1);
  request->self = self;
  request->ifname = g_strdup (ifname);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);

  if (self->family == FAMILY_ABSENT)
    {
      g_task_return_error (task, absent_error (self));
      g_object_unref (task);
    }
  else if (self->family == FAMILY_KNOWN)
    send_dump (task);
  else
    send_resolve (task);
}

/**
 * lrd_wg_genl_get_peers_finish:
 *
 * Returns: (transfer full): a GArray of LrdWgPeerStats
 */
GArray *
lrd_wg_genl_get_peers_finish (LrdWgGenl     *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
lrd_wg_genl_dispose (GObject *object)
{
  LrdWgGenl *self = LRD_WG_GENL (object);

  g_clear_object (&self->netlink);

  G_OBJECT_CLASS (lrd_wg_genl_parent_class)->dispose (object);
}

static void
lrd_wg_genl_finalize (GObject *object)
{
  LrdWgGenl *self = LRD_WG_GENL (object);

  g_free (self->family_name);

  G_OBJECT_CLASS (lrd_wg_genl_parent_class)->finalize (object);
}

static void
lrd_wg_genl_class_init (LrdWgGenlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_wg_genl_dispose;
  object_class->finalize = lrd_wg_genl_finalize;
}

static void
lrd_wg_genl_init (LrdWgGenl *self)
{
}

/**
 * lrd_wg_genl_new_for_family:
 * @family_name: the generic netlink family to send WG_CMD_GET_DEVICE dumps to
 *
 * Only tests want another family than WireGuard's: on a kernel without WireGuard, one that
 * exists shows the lookup's other answer and how a refused dump ends.
 */
LrdWgGenl *
lrd_wg_genl_new_for_family (const char  *family_name,
                            GError     **error)
{
  g_autoptr(LrdWgGenl) self = g_object_new (LRD_TYPE_WG_GENL, NULL);

  g_return_val_if_fail (family_name != NULL && strlen (family_name) < GENL_NAMSIZ, NULL);

  self->netlink = lrd_netlink_new (NETLINK_GENERIC, error);
  if (self->netlink == NULL)
    {
      g_prefix_error (error, "Generic netlink: ");
      return NULL;
    }

  self->family_name = g_strdup (family_name);
  return g_steal_pointer (&self);
}

/**
 * lrd_wg_genl_new:
 *
 * Opens the socket in the network namespace of the calling thread; it stays there. Does
 * not talk to the kernel yet.
 */
LrdWgGenl *
lrd_wg_genl_new (GError **error)
{
  return lrd_wg_genl_new_for_family (WG_GENL_NAME, error);
}
