/* lr-disco.h: disco, the small authenticated messages between helpers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Every disco packet starts with these 8 bytes. The first byte is not a WireGuard message
 * type (1 to 4) and its top bits are not STUN's 00 (RFC 8489 section 5), so one look tells
 * the three apart on WireGuard's port; LrdSharedPort's BPF filter compares the two 32-bit
 * words. The last byte is the format's version. */
#define LR_DISCO_MAGIC        "LRdisco\x01"
#define LR_DISCO_MAGIC_SIZE   8
#define LR_DISCO_MAGIC_WORD0  0x4c526469u  /* "LRdi", big-endian */
#define LR_DISCO_MAGIC_WORD1  0x73636f01u  /* "sco\x01" */

G_END_DECLS
