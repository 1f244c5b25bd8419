/* lrd-wg-auto.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Whether NetworkManager can create a WireGuard device is only known when it tries: its
 * activation fails with "Operation not supported" on a kernel without WireGuard. So the
 * choice is made at up: LrdWgAuto brings up the primary backend (NetworkManager) and, on
 * LRD_WG_ERROR_NO_WIREGUARD, the fallback (UAPI with wireguard-go) if there is one. Every
 * later call goes to whichever came up; get_name says which.
 */
#include "lrd-wg-auto.h"
#include "lrd-wg-backend-private.h"

#include <sodium.h>
#include <string.h>

struct _LrdWgAuto
{
  GObject       parent_instance;

  LrdWgBackend *primary;
  LrdWgBackend *fallback;   /* nullable */
  LrdWgBackend *current;    /* primary until the fallback took over */
};

static void lrd_wg_auto_backend_init (LrdWgBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LrdWgAuto, lrd_wg_auto, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LRD_TYPE_WG_BACKEND,
                                                      lrd_wg_auto_backend_init))

typedef struct
{
  LrKey     private_key;
  guint16   listen_port;
  char     *address_cidr;
} UpData;

static void
up_data_free (UpData *data)
{
  sodium_memzero (&data->private_key, sizeof data->private_key);
  g_free (data->address_cidr);
  g_free (data);
}

static void
fallback_up_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!lrd_wg_backend_up_finish (LRD_WG_BACKEND (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
primary_up_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdWgAuto *self = g_task_get_source_object (task);
  UpData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  GError *error = NULL;

  if (lrd_wg_backend_up_finish (LRD_WG_BACKEND (object), result, &error))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (!g_error_matches (error, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD))
    {
      g_task_return_error (task, error);
      return;
    }

  if (self->fallback == NULL)
    {
      g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD,
                               "This kernel has no WireGuard and wireguard-go is not "
                               "installed; install it with “apt install wireguard-go”");
      g_error_free (error);
      return;
    }

  g_message ("%s; falling back to %s", error->message, lrd_wg_backend_get_name (self->fallback));
  g_error_free (error);
  self->current = self->fallback;
  lrd_wg_backend_up_async (self->current, &data->private_key, data->listen_port,
                           data->address_cidr, cancellable, fallback_up_cb,
                           g_steal_pointer (&task));
}

static void
auto_up_async (LrdWgBackend        *backend,
               const LrKey         *private_key,
               guint16              listen_port,
               const char          *address_cidr,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  LrdWgAuto *self = LRD_WG_AUTO (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  UpData *data = g_new0 (UpData, 1);

  g_task_set_source_tag (task, auto_up_async);
  data->private_key = *private_key;
  data->listen_port = listen_port;
  data->address_cidr = g_strdup (address_cidr);
  g_task_set_task_data (task, data, (GDestroyNotify) up_data_free);

  /* Once fallen back, stay there: the kernel will not grow WireGuard meanwhile. */
  lrd_wg_backend_up_async (self->current, private_key, listen_port, address_cidr, cancellable,
                           self->current == self->primary ? primary_up_cb : fallback_up_cb,
                           task);
}

static const char *
auto_get_name (LrdWgBackend *backend)
{
  return lrd_wg_backend_get_name (LRD_WG_AUTO (backend)->current);
}

/* Everything else goes straight to the current backend, so its own tasks come back to the
 * caller with the current backend as their source object. */
static void
auto_set_peer_async (LrdWgBackend          *backend,
                     const LrdWgPeerConfig *peer,
                     GCancellable          *cancellable,
                     GAsyncReadyCallback    callback,
                     gpointer               user_data)
{
  lrd_wg_backend_set_peer_async (LRD_WG_AUTO (backend)->current, peer, cancellable, callback,
                                 user_data);
}

static gboolean
auto_set_peer_finish (LrdWgBackend  *backend,
                      GAsyncResult  *result,
                      GError       **error)
{
  return lrd_wg_backend_set_peer_finish (LRD_WG_AUTO (backend)->current, result, error);
}

static void
auto_remove_peer_async (LrdWgBackend        *backend,
                        const LrKey         *public_key,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  lrd_wg_backend_remove_peer_async (LRD_WG_AUTO (backend)->current, public_key, cancellable,
                                    callback, user_data);
}

static gboolean
auto_remove_peer_finish (LrdWgBackend  *backend,
                         GAsyncResult  *result,
                         GError       **error)
{
  return lrd_wg_backend_remove_peer_finish (LRD_WG_AUTO (backend)->current, result, error);
}

static void
auto_get_stats_async (LrdWgBackend        *backend,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  lrd_wg_backend_get_stats_async (LRD_WG_AUTO (backend)->current, cancellable, callback,
                                  user_data);
}

static GArray *
auto_get_stats_finish (LrdWgBackend  *backend,
                       GAsyncResult  *result,
                       GError       **error)
{
  return lrd_wg_backend_get_stats_finish (LRD_WG_AUTO (backend)->current, result, error);
}

static void
auto_down_async (LrdWgBackend        *backend,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  lrd_wg_backend_down_async (LRD_WG_AUTO (backend)->current, cancellable, callback, user_data);
}

static gboolean
auto_down_finish (LrdWgBackend  *backend,
                  GAsyncResult  *result,
                  GError       **error)
{
  return lrd_wg_backend_down_finish (LRD_WG_AUTO (backend)->current, result, error);
}

static void
lrd_wg_auto_backend_init (LrdWgBackendInterface *iface)
{
  iface->get_name = auto_get_name;
  iface->up_async = auto_up_async;
  iface->up_finish = lrd_wg_backend_task_finish_boolean;
  iface->set_peer_async = auto_set_peer_async;
  iface->set_peer_finish = auto_set_peer_finish;
  iface->remove_peer_async = auto_remove_peer_async;
  iface->remove_peer_finish = auto_remove_peer_finish;
  iface->get_stats_async = auto_get_stats_async;
  iface->get_stats_finish = auto_get_stats_finish;
  iface->down_async = auto_down_async;
  iface->down_finish = auto_down_finish;
}

static void
lrd_wg_auto_dispose (GObject *object)
{
  LrdWgAuto *self = LRD_WG_AUTO (object);

  self->current = NULL;
  g_clear_object (&self->primary);
  g_clear_object (&self->fallback);

  G_OBJECT_CLASS (lrd_wg_auto_parent_class)->dispose (object);
}

static void
lrd_wg_auto_class_init (LrdWgAutoClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = lrd_wg_auto_dispose;
}

static void
lrd_wg_auto_init (LrdWgAuto *self)
{
}

LrdWgAuto *
lrd_wg_auto_new (LrdWgBackend *primary,
                 LrdWgBackend *fallback)
{
  LrdWgAuto *self = g_object_new (LRD_TYPE_WG_AUTO, NULL);

  self->primary = g_object_ref (primary);
  self->fallback = fallback != NULL ? g_object_ref (fallback) : NULL;
  self->current = self->primary;
  return self;
}
