/* lrr-deny-list.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrr-deny-list.h"

#include "lr-error.h"

#include <arpa/inet.h>

typedef struct
{
  int    family;
  guint  prefix;
  guint8 address[16];
} Prefix;

struct _LrrDenyList
{
  guint  n;
  Prefix prefixes[];
};

LrrDenyList *
lrr_deny_list_new_empty (void)
{
  return g_malloc0 (sizeof (LrrDenyList));
}

void
lrr_deny_list_free (LrrDenyList *self)
{
  g_free (self);
}

guint
lrr_deny_list_get_length (const LrrDenyList *self)
{
  return self->n;
}

static gboolean
parse_prefix (const char *text,
              Prefix     *out)
{
  g_auto(GStrv) parts = g_strsplit (text, "/", 2);
  guint64 bits;
  guint max;

  memset (out, 0, sizeof *out);
  if (inet_pton (AF_INET, parts[0], out->address) == 1)
    {
      out->family = AF_INET;
      max = 32;
    }
  else if (inet_pton (AF_INET6, parts[0], out->address) == 1)
    {
      out->family = AF_INET6;
      max = 128;
    }
  else
    return FALSE;

  if (parts[1] == NULL)
    bits = max;
  else if (!g_ascii_string_to_unsigned (parts[1], 10, 0, max, &bits, NULL))
    return FALSE;
  out->prefix = bits;
  return TRUE;
}

LrrDenyList *
lrr_deny_list_parse (const char  *text,
                     GError     **error)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(GArray) prefixes = g_array_new (FALSE, FALSE, sizeof (Prefix));
  LrrDenyList *self;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *hash = strchr (lines[i], '#');
      char *line;
      Prefix prefix;

      if (hash != NULL)
        *hash = '\0';
      line = g_strstrip (lines[i]);
      if (*line == '\0')
        continue;
      if (!parse_prefix (line, &prefix))
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                       "line %u: “%s” is not an address or CIDR prefix", i + 1, line);
          return NULL;
        }
      g_array_append_val (prefixes, prefix);
    }

  self = g_malloc0 (sizeof (LrrDenyList) + prefixes->len * sizeof (Prefix));
  self->n = prefixes->len;
  if (prefixes->len > 0)
    memcpy (self->prefixes, prefixes->data, prefixes->len * sizeof (Prefix));
  return self;
}

LrrDenyList *
lrr_deny_list_load_file (const char  *path,
                         GError     **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;
  LrrDenyList *self;

  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  self = lrr_deny_list_parse (text, &local_error);
  if (self == NULL)
    g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "%s: %s", path, local_error->message);
  return self;
}

static gboolean
prefix_matches (const Prefix *prefix,
                const guint8 *address)
{
  guint whole = prefix->prefix / 8;
  guint rest = prefix->prefix % 8;

  if (memcmp (prefix->address, address, whole) != 0)
    return FALSE;
  if (rest == 0)
    return TRUE;
  return ((prefix->address[whole] ^ address[whole]) & (0xff << (8 - rest))) == 0;
}

gboolean
lrr_deny_list_contains (const LrrDenyList *self,
                        const LrrAddr     *addr)
{
  const guint8 *address;
  int family = addr->u.sa.sa_family;

  if (self->n == 0)
    return FALSE;

  if (family == AF_INET)
    address = (const guint8 *) &addr->u.sin.sin_addr;
  else if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED (&addr->u.sin6.sin6_addr))
    {
      family = AF_INET;
      address = addr->u.sin6.sin6_addr.s6_addr + 12;
    }
  else if (family == AF_INET6)
    address = addr->u.sin6.sin6_addr.s6_addr;
  else
    return FALSE;

  for (guint i = 0; i < self->n; i++)
    {
      if (self->prefixes[i].family == family && prefix_matches (&self->prefixes[i], address))
        return TRUE;
    }
  return FALSE;
}
