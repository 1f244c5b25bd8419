/* lrd-rtnl.h: the few rtnetlink requests the UAPI backend needs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LRD_TYPE_RTNL (lrd_rtnl_get_type ())
G_DECLARE_FINAL_TYPE (LrdRtnl, lrd_rtnl, LRD, RTNL, GObject)

LrdRtnl  *lrd_rtnl_new                 (GError             **error);

void      lrd_rtnl_get_link_async      (LrdRtnl             *self,
                                        const char          *ifname,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
int       lrd_rtnl_get_link_finish     (LrdRtnl             *self,
                                        GAsyncResult        *result,
                                        GError             **error);

void      lrd_rtnl_add_address_async   (LrdRtnl             *self,
                                        int                  ifindex,
                                        GInetAddress        *address,
                                        guint                prefix_length,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean  lrd_rtnl_add_address_finish  (LrdRtnl             *self,
                                        GAsyncResult        *result,
                                        GError             **error);

void      lrd_rtnl_set_link_up_async   (LrdRtnl             *self,
                                        int                  ifindex,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean  lrd_rtnl_set_link_up_finish  (LrdRtnl             *self,
                                        GAsyncResult        *result,
                                        GError             **error);

void      lrd_rtnl_delete_link_async   (LrdRtnl             *self,
                                        int                  ifindex,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean  lrd_rtnl_delete_link_finish  (LrdRtnl             *self,
                                        GAsyncResult        *result,
                                        GError             **error);

G_END_DECLS
