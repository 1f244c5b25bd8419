/* lrd-wg-genl.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdWgGenl reads a kernel WireGuard interface's peers (counters, last handshake, the
 * endpoint the kernel currently uses) the way `wg show` does: a WG_CMD_GET_DEVICE dump on
 * the "wireguard" generic netlink family, whose id the generic netlink controller gives
 * (CTRL_CMD_GETFAMILY) the first time it is needed.
 *
 * Asynchronous on the main loop, like LrdRtnl: a non-blocking NETLINK_GENERIC socket
 * watched with g_unix_fd_add(), requests one at a time, no worker thread (so the socket
 * stays in the network namespace of the thread that created it). The kernel writes each
 * part of a dump in microseconds; waiting for the parts on the main loop rather than in a
 * blocking recv() keeps a caller that asks every 2 s from ever stalling the helper, even
 * if the kernel is slow or never answers (a timeout ends the request).
 *
 * A kernel without WireGuard has no such family: the controller answers ENOENT, the
 * answer is kept for the object's lifetime and every call finishes at once with
 * G_IO_ERROR_NOT_SUPPORTED without asking the kernel again. Create a new LrdWgGenl to ask
 * again (the NetworkManager backend does at each up).
 *
 * The dump carries the device's private key: the receive buffer is wiped after each
 * datagram and nothing but counters, keys of peers and endpoints leaves the parser.
 */
#include "lrd-wg-genl-private.h"
#include "lrd-wg-genl-dump.h"

#include <errno.h>
#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <sodium.h>
#include <string.h>

/* The kernel answers in microseconds; this only guards against a lost answer. */
#define REQUEST_TIMEOUT_SECONDS 5

/* The kernel sizes later parts of a dump to the reader's buffer, up to 32 KiB
 * (net/netlink/af_netlink.c); the first part fits in a page. */
#define RECEIVE_BUFFER_SIZE (32 * 1024)

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
  GObject             parent_instance;

  struct mnl_socket  *socket;
  guint               portid;
  guint               seq;
  guint               watch_id;
  guint               timeout_id;
  guint8             *buffer;

  char               *family_name;
  FamilyState         family;
  guint16             family_id;

  GQueue              pending;     /* (element-type GTask) waiting to be sent */
  GTask              *current;     /* sent, waiting for its answer */
};

G_DEFINE_FINAL_TYPE (LrdWgGenl, lrd_wg_genl, G_TYPE_OBJECT)

typedef struct
{
  char          *ifname;
  LrdWgGenlDump *dump;             /* NULL while the family is being resolved */
  guint          attempts;
} Request;

static void
request_free (Request *request)
{
  g_free (request->ifname);
  g_clear_pointer (&request->dump, lrd_wg_genl_dump_free);
  g_free (request);
}

static void send_next (LrdWgGenl *self);

static void
finish_current (LrdWgGenl *self,
                GArray    *peers,
                GError    *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->current);

  g_clear_handle_id (&self->timeout_id, g_source_remove);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, peers, (GDestroyNotify) g_array_unref);

  send_next (self);
}

static GError *
absent_error (LrdWgGenl *self)
{
  return g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                      "This kernel has no “%s” generic netlink family (no WireGuard module)",
                      self->family_name);
}

static gboolean
timeout_cb (gpointer user_data)
{
  LrdWgGenl *self = user_data;

  self->timeout_id = 0;
  finish_current (self, NULL,
                  g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                       "The kernel did not answer a WireGuard netlink request"));
  return G_SOURCE_REMOVE;
}

static gboolean
send_message (LrdWgGenl  *self,
              guint8     *message,
              GError    **error)
{
  struct nlmsghdr *nlh = (struct nlmsghdr *) message;

  if (mnl_socket_sendto (self->socket, nlh, nlh->nlmsg_len) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Sending a generic netlink request failed: %s", g_strerror (saved));
      return FALSE;
    }

  g_clear_handle_id (&self->timeout_id, g_source_remove);
  self->timeout_id = g_timeout_add_seconds (REQUEST_TIMEOUT_SECONDS, timeout_cb, self);
  return TRUE;
}

static gboolean
send_resolve (LrdWgGenl  *self,
              GError    **error)
{
  guint8 message[LRD_WG_GENL_REQUEST_SIZE] = { 0 };
  struct nlmsghdr *nlh = mnl_nlmsg_put_header (message);
  struct genlmsghdr *genl;

  nlh->nlmsg_type = GENL_ID_CTRL;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = ++self->seq;
  genl = mnl_nlmsg_put_extra_header (nlh, sizeof *genl);
  genl->cmd = CTRL_CMD_GETFAMILY;
  genl->version = 1;
  mnl_attr_put_strz (nlh, CTRL_ATTR_FAMILY_NAME, self->family_name);
  return send_message (self, message, error);
}

static gboolean
send_dump (LrdWgGenl  *self,
           GError    **error)
{
  Request *request = g_task_get_task_data (self->current);
  guint8 message[LRD_WG_GENL_REQUEST_SIZE];

  request->attempts++;
  lrd_wg_genl_dump_build_request (message, sizeof message, self->family_id, ++self->seq,
                                  request->ifname);
  g_clear_pointer (&request->dump, lrd_wg_genl_dump_free);
  request->dump = lrd_wg_genl_dump_new (self->family_id, self->seq, self->portid);
  return send_message (self, message, error);
}

static void
send_next (LrdWgGenl *self)
{
  while (self->current == NULL && !g_queue_is_empty (&self->pending))
    {
      GError *error = NULL;

      self->current = g_queue_pop_head (&self->pending);
      if (g_task_return_error_if_cancelled (self->current))
        g_clear_object (&self->current);
      else if (self->family == FAMILY_ABSENT)
        finish_current (self, NULL, absent_error (self));
      else if (!(self->family == FAMILY_KNOWN ? send_dump (self, &error)
                                              : send_resolve (self, &error)))
        finish_current (self, NULL, error);
    }
}

/* The controller's answer to CTRL_CMD_GETFAMILY: the family's attributes, or an error. */
static void
resolve_answer (LrdWgGenl             *self,
                const struct nlmsghdr *nlh)
{
  const struct nlattr *attr;

  if (nlh->nlmsg_type == NLMSG_ERROR)
    {
      struct nlmsgerr answer = { 0 };

      if (mnl_nlmsg_get_payload_len (nlh) >= sizeof answer)
        memcpy (&answer, mnl_nlmsg_get_payload (nlh), sizeof answer);
      if (answer.error == -ENOENT)
        {
          self->family = FAMILY_ABSENT;
          finish_current (self, NULL, absent_error (self));
        }
      else
        finish_current (self, NULL,
                        g_error_new (G_IO_ERROR, g_io_error_from_errno (-answer.error),
                                     "Looking up the “%s” generic netlink family failed: %s",
                                     self->family_name, g_strerror (-answer.error)));
      return;
    }

  if (nlh->nlmsg_type != GENL_ID_CTRL ||
      mnl_nlmsg_get_payload_len (nlh) < GENL_HDRLEN)
    return;

  mnl_attr_for_each (attr, nlh, GENL_HDRLEN)
    {
      if (mnl_attr_get_type (attr) == CTRL_ATTR_FAMILY_ID &&
          mnl_attr_validate (attr, MNL_TYPE_U16) == 0)
        {
          GError *error = NULL;

          self->family_id = mnl_attr_get_u16 (attr);
          self->family = FAMILY_KNOWN;
          g_debug ("Generic netlink family “%s” has id %u", self->family_name,
                   self->family_id);
          if (!send_dump (self, &error))
            finish_current (self, NULL, error);
          return;
        }
    }

  finish_current (self, NULL,
                  g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "The generic netlink controller gave no id for “%s”",
                               self->family_name));
}

static void
dump_answer (LrdWgGenl *self,
             gsize      length)
{
  Request *request = g_task_get_task_data (self->current);
  g_autoptr(GError) error = NULL;
  gboolean done = FALSE;

  if (lrd_wg_genl_dump_feed (request->dump, self->buffer, length, &done, &error))
    {
      if (done)
        finish_current (self, lrd_wg_genl_dump_steal_peers (request->dump), NULL);
      return;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY) && request->attempts < DUMP_ATTEMPTS)
    {
      g_clear_error (&error);
      if (send_dump (self, &error))
        return;
    }

  finish_current (self, NULL, g_steal_pointer (&error));
}

static gboolean
socket_readable_cb (int          fd,
                    GIOCondition condition,
                    gpointer     user_data)
{
  LrdWgGenl *self = user_data;

  for (;;)
    {
      ssize_t n = mnl_socket_recvfrom (self->socket, self->buffer, RECEIVE_BUFFER_SIZE);

      if (n < 0)
        {
          int saved = errno;

          if (saved == EINTR)
            continue;
          if (saved != EAGAIN && saved != EWOULDBLOCK && self->current != NULL)
            finish_current (self, NULL,
                            g_error_new (G_IO_ERROR, g_io_error_from_errno (saved),
                                         "Reading from generic netlink failed: %s",
                                         g_strerror (saved)));
          break;
        }

      if (self->current != NULL && self->family == FAMILY_KNOWN &&
          ((Request *) g_task_get_task_data (self->current))->dump != NULL)
        dump_answer (self, n);
      else if (self->current != NULL)
        {
          const struct nlmsghdr *nlh = (const struct nlmsghdr *) self->buffer;
          int remaining = n;

          for (; self->current != NULL && mnl_nlmsg_ok (nlh, remaining);
               nlh = mnl_nlmsg_next (nlh, &remaining))
            if (nlh->nlmsg_seq == self->seq && nlh->nlmsg_pid == self->portid)
              {
                resolve_answer (self, nlh);
                break;
              }
        }

      sodium_memzero (self->buffer, n);
    }

  return G_SOURCE_CONTINUE;
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
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (LRD_IS_WG_GENL (self));
  g_return_if_fail (ifname != NULL && strlen (ifname) < IFNAMSIZ);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_wg_genl_get_peers_async);
  request = g_new0 (Request, 1);
  request->ifname = g_strdup (ifname);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  g_queue_push_tail (&self->pending, g_steal_pointer (&task));
  send_next (self);
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
  GTask *task;

  g_clear_handle_id (&self->watch_id, g_source_remove);
  g_clear_handle_id (&self->timeout_id, g_source_remove);

  /* Pending tasks hold a reference to self, so dispose only runs once they are done. */
  while ((task = g_queue_pop_head (&self->pending)) != NULL)
    g_object_unref (task);
  g_clear_object (&self->current);

  G_OBJECT_CLASS (lrd_wg_genl_parent_class)->dispose (object);
}

static void
lrd_wg_genl_finalize (GObject *object)
{
  LrdWgGenl *self = LRD_WG_GENL (object);

  g_clear_pointer (&self->socket, mnl_socket_close);
  g_free (self->buffer);
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
  g_queue_init (&self->pending);
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

  self->socket = mnl_socket_open2 (NETLINK_GENERIC, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (self->socket == NULL || mnl_socket_bind (self->socket, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not open a generic netlink socket: %s", g_strerror (saved));
      return NULL;
    }

  self->family_name = g_strdup (family_name);
  self->buffer = g_malloc (RECEIVE_BUFFER_SIZE);
  self->portid = mnl_socket_get_portid (self->socket);
  self->seq = g_random_int () >> 1;
  self->watch_id = g_unix_fd_add (mnl_socket_get_fd (self->socket), G_IO_IN,
                                  socket_readable_cb, self);
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
