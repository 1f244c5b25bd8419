/* lrr-deny-list.h: client addresses the relay ignores
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "lrr-addr.h"

G_BEGIN_DECLS

/* An immutable list of CIDR prefixes, read from a file with one prefix per line
 * ("203.0.113.0/24", "2001:db8::/32", a bare address for one host); '#' starts a comment.
 * The relay replaces the whole list on SIGHUP and frees the old one through LrrEpoch. */
typedef struct _LrrDenyList LrrDenyList;

LrrDenyList *lrr_deny_list_new_empty  (void);
LrrDenyList *lrr_deny_list_load_file  (const char        *path,
                                       GError           **error);
LrrDenyList *lrr_deny_list_parse      (const char        *text,
                                       GError           **error);
void         lrr_deny_list_free       (LrrDenyList       *self);
guint        lrr_deny_list_get_length (const LrrDenyList *self);
gboolean     lrr_deny_list_contains   (const LrrDenyList *self,
                                       const LrrAddr     *addr);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrrDenyList, lrr_deny_list_free)

G_END_DECLS
