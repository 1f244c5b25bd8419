/* lanrage-nat.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-nat.h"

typedef struct
{
  const char *nat_type;
  const char *name;
  const char *explanation;
} NatWords;

static const NatWords nat_words[] = {
  { "open", N_("Open"), N_("Nothing in the way: everyone can reach you directly.") },
  { "full cone", N_("Full cone"), N_("Easy: direct links work with everyone.") },
  { "restricted cone", N_("Restricted cone"), N_("Easy: direct links work with almost everyone.") },
  { "port-restricted cone", N_("Port-restricted cone"),
    N_("Moderate: direct links work unless the other side’s NAT is symmetric.") },
  { "symmetric", N_("Symmetric"),
    N_("Strict: direct links rarely work, so the relay carries your games.") },
};

static const NatWords *
lookup (const char *nat_type)
{
  for (guint i = 0; i < G_N_ELEMENTS (nat_words); i++)
    if (g_strcmp0 (nat_words[i].nat_type, nat_type) == 0)
      return &nat_words[i];
  return NULL;
}

const char *
lanrage_nat_type_get_name (const char *nat_type)
{
  const NatWords *words = lookup (nat_type);

  /* Translators: the NAT type has not been measured (yet). */
  return words != NULL ? _(words->name) : C_("NAT type", "Unknown");
}

const char *
lanrage_nat_type_get_explanation (const char *nat_type)
{
  const NatWords *words = lookup (nat_type);

  return words != NULL ? _(words->explanation)
                       : _("Not measured yet: the relay carries your games meanwhile.");
}
