/* lrd-netlink.h: one netlink socket on the main loop, requests answered one at a time
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * LrdNetlinkAnswerFunc:
 * @datagram: one datagram read from the socket while the request is the current one
 * @seq: the request's sequence number; @portid: the socket's port
 * @out_done: set to %TRUE when the answer is complete
 *
 * Reads the part of the answer that @datagram holds, skipping what answers another
 * request. Returns %FALSE with @error to end the request with that error.
 */
typedef gboolean (*LrdNetlinkAnswerFunc) (const guint8  *datagram,
                                          gsize          length,
                                          guint32        seq,
                                          guint32        portid,
                                          gpointer       user_data,
                                          gboolean      *out_done,
                                          GError       **error);

#define LRD_TYPE_NETLINK (lrd_netlink_get_type ())
G_DECLARE_FINAL_TYPE (LrdNetlink, lrd_netlink, LRD, NETLINK, GObject)

LrdNetlink *lrd_netlink_new            (int                    protocol,
                                        GError               **error);

void        lrd_netlink_request_async  (LrdNetlink            *self,
                                        const guint8          *message,
                                        LrdNetlinkAnswerFunc   answer,
                                        gpointer               answer_data,
                                        GCancellable          *cancellable,
                                        GAsyncReadyCallback    callback,
                                        gpointer               user_data);
gboolean    lrd_netlink_request_finish (LrdNetlink            *self,
                                        GAsyncResult          *result,
                                        GError               **error);

G_END_DECLS
