/* lrd-relay-client-private.h: what the relay client's tests look at
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrd-relay-client.h"

G_BEGIN_DECLS

/* For the tests: the address of the client's relay-facing IPv4 socket, or %NULL. */
GInetSocketAddress  *lrd_relay_client_dup_relay_socket_address (LrdRelayClient *self);

G_END_DECLS
