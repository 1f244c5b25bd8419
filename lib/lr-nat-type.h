/* lr-nat-type.h: RFC 5780 NAT behaviour discovery as a step machine
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrNatTypeProbe finds out how the NAT in front of one local UDP port behaves: its public
 * endpoint, its mapping and filtering behaviour (RFC 4787 sections 4.1 and 5, discovered as
 * RFC 5780 section 4 says), the classic name gamers know, and whether the public port equals
 * the local one. It does no I/O: it says which STUN Binding request to send next (to which
 * of the server's addresses, with which CHANGE-REQUEST, with the bytes ready), takes the
 * answers it is given, and decides timeouts on an injected LrClock.
 *
 * The helper runs it on WireGuard's port through LrdSharedPort (LrdNatProber does that):
 *
 *   probe = lr_nat_type_probe_new (clock, &server, &local);
 *   loop:
 *     switch (lr_nat_type_probe_next (probe, &request, &wake_us))
 *       SEND: send request.data to request.destination from the local port, then ask again
 *       WAIT: ask again at wake_us, or as soon as an answer comes
 *       DONE: read lr_nat_type_probe_get_result ()
 *   on every STUN datagram: lr_nat_type_probe_handle (probe, data, length, &from)
 *
 * The tests run in this order, all from the one local port:
 *   1. Binding to the primary address: the public endpoint, and OTHER-ADDRESS (the server's
 *      alternate address and port). Without OTHER-ADDRESS the server cannot do RFC 5780:
 *      the public endpoint is all there is to know.
 *   2. Filtering (RFC 5780 section 4.4), before the client has sent anything to the
 *      alternate address (a datagram sent there would open the filter for its answer):
 *      CHANGE-REQUEST "IP and port"; an answer means endpoint-independent filtering. If none,
 *      CHANGE-REQUEST "port"; an answer means address-dependent, none
 *      address-and-port-dependent.
 *   3. Mapping (section 4.3): a Binding to the alternate address with the primary port; the
 *      same public endpoint as test 1 means endpoint-independent mapping. Otherwise a Binding
 *      to the alternate address and port: the same endpoint as in the previous test means
 *      address-dependent, a different one address-and-port-dependent.
 *
 * Because test 3 opens the NAT's filter towards the alternate address for as long as the NAT
 * keeps the mapping, a second probe from the same port within that time (30 s to a few
 * minutes on real NATs) would see endpoint-independent filtering that is not there: callers
 * space full probes by more than that.
 */
#pragma once

#include "lr-clock.h"
#include "lr-control-models.h"
#include "lr-stun.h"

G_BEGIN_DECLS

/* RFC 8489 section 6.2.1 retransmits a request with a doubling timeout; a filtering test
 * expects silence as one of its answers, so each test is bounded: sent at 0, 250 and
 * 750 ms, given up at 1750 ms. Test 1 is asked once more without padding before the server
 * counts as unreachable. A full probe takes at most about 9 s. */
#define LR_NAT_TYPE_RTO_US         (250 * G_TIME_SPAN_MILLISECOND)
#define LR_NAT_TYPE_TRANSMISSIONS  3
#define LR_NAT_TYPE_TEST_TIMEOUT_US (1750 * G_TIME_SPAN_MILLISECOND)

/* Requests are padded (RFC 5780 section 7.6) to this size, at least as large as any answer
 * lanrage-relay gives, so the relay's amplification budget never drops an answer. Other
 * servers may answer a padded request with a much larger answer (coturn pads it to about
 * 1600 bytes). */
#define LR_NAT_TYPE_REQUEST_SIZE   100

/* The classic (RFC 3489) names. "open" is no NAT and no filtering; a host with no NAT
 * behind a stateful firewall is named by its filtering, as a cone NAT would be, since it
 * behaves like one for hole punching. */
typedef enum
{
  LR_NAT_TYPE_UNKNOWN,
  LR_NAT_TYPE_OPEN,
  LR_NAT_TYPE_FULL_CONE,
  LR_NAT_TYPE_RESTRICTED_CONE,
  LR_NAT_TYPE_PORT_RESTRICTED_CONE,
  LR_NAT_TYPE_SYMMETRIC,
} LrNatType;

const char *lr_nat_type_to_string (LrNatType      type);
LrNatType   lr_nat_type_classify  (LrNatBehaviour mapping,
                                   LrNatBehaviour filtering,
                                   gboolean       behind_nat);

typedef struct
{
  /* TRUE when the server answered test 1: public_endpoint is then set. */
  gboolean       reachable;
  LrStunAddress  public_endpoint;
  /* The public endpoint differs from the local one. */
  gboolean       behind_nat;
  /* The public port equals the local port (with or without a NAT). */
  gboolean       port_preserved;
  /* The server offered OTHER-ADDRESS and honoured CHANGE-REQUEST. */
  gboolean       rfc5780;
  LrNatBehaviour mapping;
  LrNatBehaviour filtering;
  LrNatType      type;
} LrNatTypeResult;

typedef enum
{
  LR_NAT_TYPE_PROBE_SEND,
  LR_NAT_TYPE_PROBE_WAIT,
  LR_NAT_TYPE_PROBE_DONE,
} LrNatTypeProbeAction;

/* Which test a request belongs to, for logs and tests. */
typedef enum
{
  LR_NAT_TYPE_TEST_BINDING,           /* test 1 */
  LR_NAT_TYPE_TEST_FILTERING_IP_PORT, /* test 2, change IP and port */
  LR_NAT_TYPE_TEST_FILTERING_PORT,    /* test 2, change port */
  LR_NAT_TYPE_TEST_MAPPING_IP,        /* test 3, alternate address, primary port */
  LR_NAT_TYPE_TEST_MAPPING_IP_PORT,   /* test 3, alternate address and port */
} LrNatTypeTest;

typedef struct
{
  LrNatTypeTest test;
  LrStunAddress destination;
  guint32       change_request;   /* LR_STUN_CHANGE_IP | LR_STUN_CHANGE_PORT, or 0 */
  guint8        transaction_id[LR_STUN_TRANSACTION_SIZE];
  gsize         length;
  guint8        data[LR_NAT_TYPE_REQUEST_SIZE];
} LrNatTypeRequest;

typedef struct _LrNatTypeProbe LrNatTypeProbe;

LrNatTypeProbe       *lr_nat_type_probe_new        (LrClock               *clock,
                                                    const LrStunAddress   *server,
                                                    const LrStunAddress   *local);
void                  lr_nat_type_probe_free       (LrNatTypeProbe        *self);
LrNatTypeProbeAction  lr_nat_type_probe_next       (LrNatTypeProbe        *self,
                                                    LrNatTypeRequest      *request,
                                                    gint64                *wake_us);
gboolean              lr_nat_type_probe_handle     (LrNatTypeProbe        *self,
                                                    const guint8          *data,
                                                    gsize                  length,
                                                    const LrStunAddress   *from);
gboolean              lr_nat_type_probe_is_done    (LrNatTypeProbe        *self);
const LrNatTypeResult *lr_nat_type_probe_get_result (LrNatTypeProbe       *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrNatTypeProbe, lr_nat_type_probe_free)

G_END_DECLS
