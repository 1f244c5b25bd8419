/* lrd-nat-watch.h: this machine's NAT, as WireGuard's port meets it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdNatWatch owns what the direct path needs to know of this machine's own network while
 * the data plane is up: the LrdSharedPort on WireGuard's listen port (STUN and disco from
 * port W) and an LrdNatProber on it. It probes against the chosen relay's STUN service (the
 * relay's own address and port: lanrage-relay answers STUN there) when the relay client is
 * first bound, when GNetworkMonitor reports a change, when the relay changes and every five
 * minutes (lr-nat-type.h: closer probes see less filtering than there is), and writes
 * NatMapping, NatFiltering, NatType and PublicEndpoint on io.lanrage.Helper1, being their
 * only writer.
 *
 * Between probes it asks the relay's STUN service for the public endpoint alone every
 * LRD_NAT_WATCH_CHECK_S: a NAT that moves its mapping (its table flushed, a new public
 * address from the provider) changes nothing GNetworkMonitor sees on this machine, and
 * peers can only reach the new endpoint once they are told it. When it moved, the watch
 * says so ("changed"), asks for the direct paths to be probed again ("network-changed") and
 * probes the NAT's behaviour again.
 *
 * It also knows this machine's candidates for direct paths: the public endpoint of the last
 * probe and the addresses of its interfaces (LAN candidates), all on port W.
 *
 * Signals:
 *   "changed" ()           the NAT type or the candidates changed: publish them
 *   "network-changed" ()   the network changed: direct paths should be probed again
 */
#pragma once

#include <gio/gio.h>

#include "lr-clock.h"
#include "lr-nat-type.h"
#include "lrd-dbus-generated.h"
#include "lrd-relay-client.h"
#include "lrd-shared-port.h"

G_BEGIN_DECLS

/* lr-nat-type.h: a probe opens the NAT's filter towards the server for as long as the NAT
 * keeps the mapping, so probes are spaced by more than that. */
#define LRD_NAT_WATCH_INTERVAL_S (5 * 60)
/* One Binding of about 100 bytes each way to the relay's primary address, which opens no
 * filter a probe has not opened: a public endpoint that moved is published within this
 * time (measured in tests/test-helper-lab.c's recovery case). */
#define LRD_NAT_WATCH_CHECK_S    10
/* The control API takes at most 8 endpoints of a peer (docs/control-api.md). */
#define LRD_NAT_WATCH_MAX_CANDIDATES 8

#define LRD_TYPE_NAT_WATCH (lrd_nat_watch_get_type ())
G_DECLARE_FINAL_TYPE (LrdNatWatch, lrd_nat_watch, LRD, NAT_WATCH, GObject)

/* @relay: (nullable): without a relay client (no data plane) the watch only shows
 * "unknown". @clock: (nullable). */
LrdNatWatch    *lrd_nat_watch_new            (LrdHelper1      *iface,
                                              LrdRelayClient  *relay,
                                              guint16          port,
                                              LrClock         *clock);
void            lrd_nat_watch_start          (LrdNatWatch     *self);
void            lrd_nat_watch_stop           (LrdNatWatch     *self);

/* Returns: (nullable) (transfer none): the shared port while started and usable */
LrdSharedPort  *lrd_nat_watch_get_port       (LrdNatWatch     *self);
/* The last probe's result; mapping and filtering LR_NAT_UNKNOWN before the first. */
const LrNatTypeResult *
                lrd_nat_watch_get_result     (LrdNatWatch     *self);
/* Returns: (transfer full): "a.b.c.d:port" texts, the public endpoint first, then the
 * interfaces' addresses; at most LRD_NAT_WATCH_MAX_CANDIDATES. */
GStrv           lrd_nat_watch_dup_candidates (LrdNatWatch     *self);

G_END_DECLS
