/* lanrage-deny-entry.h: one entry of the helper's LAN discovery deny list
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint16  first_port;
  guint16  last_port;
  char    *group;      /* a multicast group, or "" for any destination */
  char    *reason;
} LanrageDenyEntry;

LanrageDenyEntry *lanrage_deny_entry_new          (guint16                 first_port,
                                                   guint16                 last_port,
                                                   const char             *group,
                                                   const char             *reason);
LanrageDenyEntry *lanrage_deny_entry_copy         (const LanrageDenyEntry *entry);
void              lanrage_deny_entry_free         (LanrageDenyEntry       *entry);
gboolean          lanrage_deny_entry_equal        (const LanrageDenyEntry *a,
                                                   const LanrageDenyEntry *b);
/* "Port 5353", "Ports 137–138", with " · 239.255.255.250" for a group. */
char             *lanrage_deny_entry_describe     (const LanrageDenyEntry *entry);
/* Reads what a person types for ports: "27015", "27015-27020", "27015–27020", spaces
 * allowed. FALSE for anything else (0, above 65535, a range backwards). */
gboolean          lanrage_deny_entry_parse_ports  (const char             *text,
                                                   guint16                *out_first,
                                                   guint16                *out_last);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LanrageDenyEntry, lanrage_deny_entry_free)

G_END_DECLS
