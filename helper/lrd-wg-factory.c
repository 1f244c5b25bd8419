/* lrd-wg-factory.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-wg-factory.h"
#include "lrd-wg-auto.h"
#include "lrd-wg-backend-private.h"
#include "lrd-wg-nm.h"
#include "lrd-wg-uapi.h"

/* auto: NetworkManager first, UAPI when NetworkManager does not run */


typedef struct
{
  char    *ifname;
  char    *wireguard_go;   /* resolved path, or NULL when not installed */
  LrdWgUapi *uapi;         /* created at once: it belongs to the caller's network namespace */
} AutoData;

static void
auto_data_free (AutoData *data)
{
  g_free (data->ifname);
  g_free (data->wireguard_go);
  g_clear_object (&data->uapi);
  g_free (data);
}

static void
auto_nm_ready_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AutoData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdWgNm) nm = lrd_wg_nm_new_finish (result, &error);

  if (nm != NULL && lrd_wg_nm_is_running (nm))
    {
      g_debug ("WireGuard backend: NetworkManager%s", data->uapi != NULL
               ? ", falling back to wireguard-go if the kernel has no WireGuard" : "");
      g_task_return_pointer (task, lrd_wg_auto_new (LRD_WG_BACKEND (nm),
                                                    LRD_WG_BACKEND (data->uapi)),
                             g_object_unref);
      return;
    }

  if (error != NULL)
    g_debug ("NetworkManager unavailable: %s", error->message);

  if (data->uapi != NULL)
    {
      g_debug ("WireGuard backend: UAPI with %s", data->wireguard_go);
      g_task_return_pointer (task, g_steal_pointer (&data->uapi), g_object_unref);
      return;
    }

  g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD,
                           "Neither NetworkManager nor wireguard-go is available to run "
                           "WireGuard; install wireguard-go with “apt install wireguard-go”");
}

static void
new_auto (GTask           *task,
          const char      *ifname,
          const char      *wireguard_go,
          GDBusConnection *system_bus,
          GCancellable    *cancellable)
{
  AutoData *data = g_new0 (AutoData, 1);
  GError *error = NULL;

  g_task_set_task_data (task, data, (GDestroyNotify) auto_data_free);

  if (!lrd_wg_check_ifname (ifname, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  data->ifname = g_strdup (ifname);
  data->wireguard_go = g_find_program_in_path (wireguard_go != NULL ? wireguard_go
                                                                    : "wireguard-go");
  if (data->wireguard_go != NULL)
    {
      data->uapi = lrd_wg_uapi_new (ifname, data->wireguard_go, &error);
      if (data->uapi == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }

  lrd_wg_nm_new_async (ifname, system_bus, cancellable, auto_nm_ready_cb,
                       g_object_ref (task));
}

static void
nm_ready_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  LrdWgNm *nm = lrd_wg_nm_new_finish (result, &error);

  if (nm == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, nm, g_object_unref);
}

/**
 * lrd_wg_factory_new_async:
 * @kind: "auto", "networkmanager" or "uapi" (the configuration's backend=)
 * @wireguard_go: path or name looked up in PATH, %NULL for "wireguard-go"
 * @system_bus: (nullable): %NULL for the system bus (tests pass a private one)
 *
 * "auto" picks: NetworkManager when it runs (falling back to UAPI when
 * activation fails for lack of kernel WireGuard and @wireguard_go exists), else UAPI when
 * @wireguard_go exists, else %LRD_WG_ERROR_NO_WIREGUARD.
 */
void
lrd_wg_factory_new_async (const char          *kind,
                          const char          *ifname,
                          const char          *wireguard_go,
                          GDBusConnection     *system_bus,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, lrd_wg_factory_new_async);

  if (g_strcmp0 (kind, "networkmanager") == 0)
    lrd_wg_nm_new_async (ifname, system_bus, cancellable, nm_ready_cb, g_object_ref (task));
  else if (g_strcmp0 (kind, "uapi") == 0)
    {
      GError *error = NULL;
      LrdWgUapi *uapi = lrd_wg_uapi_new (ifname, wireguard_go, &error);

      if (uapi == NULL)
        g_task_return_error (task, error);
      else
        g_task_return_pointer (task, uapi, g_object_unref);
    }
  else if (g_strcmp0 (kind, "auto") == 0)
    new_auto (task, ifname, wireguard_go, system_bus, cancellable);
  else
    g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_FAILED,
                             "No WireGuard backend is called “%s”", kind);
}

/* Returns: (transfer full): the backend, or %NULL with @error set */
LrdWgBackend *
lrd_wg_factory_new_finish (GAsyncResult  *result,
                           GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
