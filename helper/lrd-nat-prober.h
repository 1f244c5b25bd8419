/* lrd-nat-prober.h: the NAT type and public endpoint of WireGuard's port
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdNatProber runs lib/lr-nat-type.h's RFC 5780 tests from WireGuard's own port, through
 * LrdSharedPort, against a STUN server (a relay's STUN service: lanrage-relay answers RFC
 * 5780 when it has --alt-address; any RFC 5780 server such as coturn does). The answer is
 * the public endpoint WireGuard's datagrams really get and the NAT's mapping, filtering and
 * classic name (LrNatTypeResult). Timeouts come from the STUN step machine; the prober only
 * sends what it says and schedules its wake-ups on the thread-default main context.
 *
 * One probe at a time: a second lrd_nat_prober_probe_async() while one runs fails with
 * G_IO_ERROR_PENDING. A full probe takes a few seconds (two silent filtering tests on a
 * restricting NAT, 1.75 s each), and opens the NAT's filter towards the server's alternate
 * address for as long as the NAT keeps the mapping; probes closer together than that see
 * less filtering than there is (lr-nat-type.h).
 *
 * How the helper uses it: the owner of the party's network state (the session, or the
 * object that owns the relay candidates) keeps one prober on the LrdSharedPort of the
 * interface, probes when the interface comes up, when GNetworkMonitor says the network
 * changed, and every five minutes, against the chosen relay's STUN address; it writes
 * NatMapping, NatFiltering, NatType and PublicEndpoint on D-Bus from the result and
 * publishes mapping and filtering to the party (LrPeerUpdate.nat), and hands the public
 * endpoint to the disco layer as this machine's STUN candidate for call-me-maybe.
 */
#pragma once

#include <gio/gio.h>

#include "lr-clock.h"
#include "lr-nat-type.h"
#include "lrd-shared-port.h"

G_BEGIN_DECLS

#define LRD_TYPE_NAT_PROBER (lrd_nat_prober_get_type ())
G_DECLARE_FINAL_TYPE (LrdNatProber, lrd_nat_prober, LRD, NAT_PROBER, GObject)

/* @clock: NULL for the system clock. */
LrdNatProber *lrd_nat_prober_new          (LrdSharedPort        *port,
                                           LrClock              *clock);
void          lrd_nat_prober_probe_async  (LrdNatProber         *self,
                                           const LrStunAddress  *server,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
/* Only the public endpoint: test 1 alone (one Binding to @server's primary address, which
 * every probe contacts anyway, so the NAT's filter towards the alternate address stays as
 * it was). Finished with lrd_nat_prober_probe_finish(): mapping and filtering unknown,
 * rfc5780 FALSE. Emits no ::public-endpoint. */
void          lrd_nat_prober_check_endpoint_async (LrdNatProber        *self,
                                                   const LrStunAddress *server,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
/* Fails only when the probe could not run (no route, cancelled, another one running); an
 * unreachable server is a result with reachable FALSE. */
gboolean      lrd_nat_prober_probe_finish (LrdNatProber         *self,
                                           GAsyncResult         *result,
                                           LrNatTypeResult      *out,
                                           GError              **error);

G_END_DECLS
