/* lanrage-nat.h: NAT types in words
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @nat_type is the helper's classic name ("port-restricted cone", "unknown", ...). */
const char *lanrage_nat_type_get_name        (const char *nat_type);
const char *lanrage_nat_type_get_explanation (const char *nat_type);

G_END_DECLS
