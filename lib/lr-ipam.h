/* lr-ipam.h: virtual address allocation inside one party
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The party network: 10.66.0.0/16 (DESIGN.md). */
#define LR_VIRTUAL_NETWORK        0x0a420000u
#define LR_VIRTUAL_PREFIX_LENGTH  16

typedef struct _LrIpam LrIpam;

LrIpam   *lr_ipam_new        (guint32       network,
                              guint         prefix_length);
void      lr_ipam_free       (LrIpam       *self);
gboolean  lr_ipam_is_usable  (LrIpam       *self,
                              guint32       address);
gboolean  lr_ipam_reserve    (LrIpam       *self,
                              guint32       address,
                              GError      **error);
void      lr_ipam_release    (LrIpam       *self,
                              guint32       address);
void      lr_ipam_set_cursor (LrIpam       *self,
                              guint32       address);
guint32   lr_ipam_allocate   (LrIpam       *self,
                              guint32       preferred,
                              GError      **error);
guint     lr_ipam_get_n_used (LrIpam       *self);

gboolean  lr_ipv4_parse      (const char   *text,
                              guint32      *out);
char     *lr_ipv4_to_string  (guint32       address);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrIpam, lr_ipam_free)

G_END_DECLS
