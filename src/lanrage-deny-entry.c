/* lanrage-deny-entry.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-deny-entry.h"

LanrageDenyEntry *
lanrage_deny_entry_new (guint16     first_port,
                        guint16     last_port,
                        const char *group,
                        const char *reason)
{
  LanrageDenyEntry *entry = g_new0 (LanrageDenyEntry, 1);

  entry->first_port = first_port;
  entry->last_port = last_port;
  entry->group = g_strdup (group != NULL ? group : "");
  entry->reason = g_strdup (reason != NULL ? reason : "");
  return entry;
}

LanrageDenyEntry *
lanrage_deny_entry_copy (const LanrageDenyEntry *entry)
{
  return lanrage_deny_entry_new (entry->first_port, entry->last_port, entry->group,
                                 entry->reason);
}

void
lanrage_deny_entry_free (LanrageDenyEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->group);
  g_free (entry->reason);
  g_free (entry);
}

gboolean
lanrage_deny_entry_equal (const LanrageDenyEntry *a,
                          const LanrageDenyEntry *b)
{
  return a->first_port == b->first_port && a->last_port == b->last_port &&
         g_str_equal (a->group, b->group) && g_str_equal (a->reason, b->reason);
}

char *
lanrage_deny_entry_describe (const LanrageDenyEntry *entry)
{
  g_autofree char *ports = NULL;

  if (entry->first_port == entry->last_port)
    /* Translators: a port that LAN discovery never carries. */
    ports = g_strdup_printf (_("Port %u"), entry->first_port);
  else
    /* Translators: a range of ports that LAN discovery never carries. */
    ports = g_strdup_printf (_("Ports %u–%u"), entry->first_port, entry->last_port);
  if (*entry->group == '\0')
    return g_steal_pointer (&ports);
  /* Translators: ports, then the multicast group they are denied on. */
  return g_strdup_printf (_("%s · %s"), ports, entry->group);
}

static gboolean
parse_port (const char *text,
            guint16    *out_port)
{
  guint64 value;
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  if (!g_ascii_string_to_unsigned (stripped, 10, 1, G_MAXUINT16, &value, NULL))
    return FALSE;
  *out_port = (guint16) value;
  return TRUE;
}

gboolean
lanrage_deny_entry_parse_ports (const char *text,
                                guint16    *out_first,
                                guint16    *out_last)
{
  g_autofree char *normal = NULL;
  g_auto(GStrv) parts = NULL;
  guint16 first, last;

  g_return_val_if_fail (text != NULL, FALSE);

  /* An en dash, as the list shows ranges, is a hyphen too. */
  {
    g_auto(GStrv) dashed = g_strsplit (text, "–", -1);

    normal = g_strjoinv ("-", dashed);
  }
  parts = g_strsplit (normal, "-", -1);
  if (g_strv_length (parts) == 1)
    {
      if (!parse_port (parts[0], &first))
        return FALSE;
      last = first;
    }
  else if (g_strv_length (parts) == 2)
    {
      if (!parse_port (parts[0], &first) || !parse_port (parts[1], &last) || first > last)
        return FALSE;
    }
  else
    return FALSE;
  *out_first = first;
  *out_last = last;
  return TRUE;
}
