/* lr-test-wg.h: a wireguard-go for lab tests, configured over its UAPI socket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For tests that need WireGuard to own a port (and send its own handshakes) next to the code
 * under test, without going through the helper's backends. Needs a private /run/wireguard
 * (lr_test_lab_enter_private_run) and root.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LR_TEST_WG_KEY_LENGTH 32

typedef struct
{
  guint8 private_key[LR_TEST_WG_KEY_LENGTH];
  guint8 public_key[LR_TEST_WG_KEY_LENGTH];
} LrTestWgKeys;

void         lr_test_wg_keys_generate (LrTestWgKeys       *keys);

/* Starts wireguard-go -f @ifname in namespace @netns (dies with the test), sets its private
 * key and @port, gives the interface @address (CIDR) and brings it up. */
GSubprocess *lr_test_wg_start        (const char         *netns,
                                      const char         *ifname,
                                      const LrTestWgKeys *keys,
                                      guint16             port,
                                      const char         *address,
                                      const char         *log_path);

/* Adds or updates a peer: @endpoint "addr:port" (or NULL), @allowed_ip a CIDR. */
void         lr_test_wg_set_peer     (const char         *ifname,
                                      const guint8       *public_key,
                                      const char         *endpoint,
                                      const char         *allowed_ip);

char        *lr_test_wg_dup_endpoint  (const char         *ifname);

G_END_DECLS
