/* lr-path-policy.h: which path one peer's WireGuard datagrams take, relay or direct
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrPathPolicy is the pure per-peer state machine of the direct path. It decides, it does
 * no I/O: the caller feeds it the peer's candidate addresses, disco pongs, the relay's
 * round trip and network changes, and carries out what it says (send a disco ping to X, set
 * WireGuard's endpoint to the relay or to Y). Time comes from an injected LrClock, so tests
 * run hours of protocol time in milliseconds.
 *
 * The policy:
 * - Start on the relay at once (the relay is bound for every peer in advance), so a new peer
 *   is reachable within a fraction of a second whatever the NATs are.
 * - While relayed, probe every candidate with a disco ping from WireGuard's port: at once,
 *   again 0.5 s later, then every 2 s for the next 10 s, then backing off (4, 8, 16, 32 s) to
 *   once a minute; back to "at once" when the network changes or the candidates change. The
 *   early second round is for a NAT that filters by address: it lets the peer's pings in
 *   only once ours left for the peer, and the peer's first ping usually comes before.
 * - On the first pong, go direct to the address the pong came from (the peer's packets
 *   come from there, so its NAT lets ours in).
 * - While direct, heartbeat the direct address every 250 ms and fall back to the relay as
 *   soon as no pong came for LR_PATH_DEAD_US (900 ms, or four round trips on a slow path):
 *   the relay path is already up, so the game sees a gap of about a second.
 * - Prefer a LAN address: both peers behind one NAT reach each other on their LAN
 *   addresses, with no hairpin through the NAT. While direct on a public address the LAN
 *   candidates are still probed (on the backed-off schedule); a LAN pong moves the path
 *   there, and a public pong never moves it off a LAN address.
 * - Quality decides too: when the direct path is much worse than the relay for 10 s in a
 *   row (loss at least 10 points above the relay's over the last 20 heartbeats, that is
 *   the last 5 s, or a smoothed round trip over 1.5 times the relay's plus 20 ms), fall
 *   back and say why; come
 *   back only after a quality hold-down (30 s, doubling to 10 min while it keeps happening)
 *   and with a pong faster than the relay plus 10 ms (hysteresis).
 * - Against flapping and against a peer or a network forcing endless cycles: after a
 *   fallback the path may go direct again only after a hold-down (1 s, doubling for each
 *   direct path that lasted under 5 minutes, up to 5 minutes), and at most
 *   LR_PATH_MAX_SWITCHES_PER_MINUTE switches (either way) happen in any minute; falling
 *   back to the relay is never held back.
 * Every transition is recorded with its time and reason (lr_path_policy_get_history).
 *
 * How the helper uses it: each LrdPeerLink owns one LrPathPolicy and is its only driver.
 * The link feeds it the peer's candidates (its call-me-maybe and the endpoints the control
 * server lists), the pongs that the disco layer opened for this peer, the relay client's
 * round trip to the peer, and network changes; after every input, and when the wake-up
 * time comes, it drains lr_path_policy_next(): PING -> seal a disco ping and send it through
 * LrdSharedPort; USE_RELAY -> set the WireGuard endpoint to the relay client's loopback
 * socket for the peer; USE_DIRECT -> set it to the action's address. It exports Path,
 * Endpoint, LatencyMs, JitterMs, LossPercent, Quality, the counters and the history on the
 * peer's D-Bus object from lr_path_policy_get_state(), _get_metrics() and _get_history().
 */
#pragma once

#include "lr-clock.h"
#include "lr-stun.h"

G_BEGIN_DECLS

#define LR_PATH_PROBE_RETRY_US         (500 * G_TIME_SPAN_MILLISECOND)
#define LR_PATH_PROBE_FAST_US          (2 * G_TIME_SPAN_SECOND)
#define LR_PATH_PROBE_FAST_ROUNDS      6
#define LR_PATH_PROBE_MAX_US           (60 * G_TIME_SPAN_SECOND)
#define LR_PATH_HEARTBEAT_US           (250 * G_TIME_SPAN_MILLISECOND)
#define LR_PATH_DEAD_US                (900 * G_TIME_SPAN_MILLISECOND)
/* A ping with no pong after this long is lost (for the loss figure) and forgotten. */
#define LR_PATH_PING_TIMEOUT_US        (2 * G_TIME_SPAN_SECOND)
#define LR_PATH_HOLDDOWN_MIN_US        (1 * G_TIME_SPAN_SECOND)
#define LR_PATH_HOLDDOWN_MAX_US        (5 * G_TIME_SPAN_MINUTE)
/* A direct path that lasts this long ends the fallback streak. */
#define LR_PATH_STABLE_US              (5 * G_TIME_SPAN_MINUTE)
#define LR_PATH_MAX_SWITCHES_PER_MINUTE 6
#define LR_PATH_QUALITY_SUSTAIN_US     (10 * G_TIME_SPAN_SECOND)
#define LR_PATH_QUALITY_HOLD_MIN_US    (30 * G_TIME_SPAN_SECOND)
#define LR_PATH_QUALITY_HOLD_MAX_US    (10 * G_TIME_SPAN_MINUTE)
#define LR_PATH_LOSS_WINDOW            20
#define LR_PATH_MAX_CANDIDATES         16
#define LR_PATH_HISTORY_SIZE           16
#define LR_PATH_TRANSACTION_SIZE       12

typedef enum
{
  LR_PATH_CONNECTING,
  LR_PATH_RELAYED,
  LR_PATH_DIRECT,
} LrPathState;

typedef enum
{
  LR_PATH_CANDIDATE_PUBLIC,   /* a STUN (public) address, or one the control server saw */
  LR_PATH_CANDIDATE_LAN,      /* an address of one of the peer's interfaces */
} LrPathCandidateKind;

typedef struct
{
  LrStunAddress       address;
  LrPathCandidateKind kind;
} LrPathCandidate;

typedef enum
{
  LR_PATH_ACTION_PING,        /* send a disco ping with transaction_id to address */
  LR_PATH_ACTION_USE_RELAY,   /* set the WireGuard endpoint to the relay */
  LR_PATH_ACTION_USE_DIRECT,  /* set the WireGuard endpoint to address */
} LrPathActionType;

typedef struct
{
  LrPathActionType type;
  LrStunAddress    address;
  guint8           transaction_id[LR_PATH_TRANSACTION_SIZE];
} LrPathAction;

typedef struct
{
  gint64        time_us;
  LrPathState   from;
  LrPathState   to;
  LrStunAddress address;      /* the direct endpoint, for transitions to DIRECT */
  char          reason[96];
} LrPathTransition;

typedef struct
{
  /* The direct path's, from heartbeats (0 while never direct). */
  double latency_ms;          /* smoothed round trip (EWMA, 1/8) */
  double jitter_ms;           /* smoothed change between round trips (RFC 3550, 1/16) */
  double loss_percent;        /* of the last LR_PATH_LOSS_WINDOW heartbeats */
  guint  n_probe_rounds;      /* direct attempts: rounds of pings to the candidates, and
                               * pings back to a peer that pinged first */
  guint  n_direct;            /* switches to a direct path */
  guint  n_fallbacks;         /* falls back to the relay */
} LrPathMetrics;

const char *lr_path_state_to_string (LrPathState state);

/* 0 to 100: 100 minus twice the loss in percent, minus half the latency over 30 ms, minus
 * the jitter in ms; clamped. A LAN path scores 100, a 150 ms path with 2 % loss 36. */
guint       lr_path_quality_score   (double latency_ms,
                                     double jitter_ms,
                                     double loss_percent);

typedef struct _LrPathPolicy LrPathPolicy;

LrPathPolicy *lr_path_policy_new             (LrClock               *clock);
void          lr_path_policy_free            (LrPathPolicy          *self);

void          lr_path_policy_set_candidates  (LrPathPolicy          *self,
                                              const LrPathCandidate *candidates,
                                              guint                  n_candidates);
void          lr_path_policy_network_changed (LrPathPolicy          *self);
/* The relay path's round trip and loss, as the relay client measures them; before the first
 * call, quality cannot be compared and only liveness decides. */
void          lr_path_policy_set_relay_metrics (LrPathPolicy        *self,
                                                double               rtt_ms,
                                                double               loss_percent);
/* A pong that opened (lr_disco_open) from this peer, from @from. Returns FALSE when it
 * answers no ping this policy still waits for. */
gboolean      lr_path_policy_pong_received   (LrPathPolicy          *self,
                                              const guint8          *transaction_id,
                                              const LrStunAddress   *from);

/* A ping that opened from this peer, from @from (the disco layer answers it with a pong).
 * While relayed, the peer is probing this way right now: one ping back to @from at once
 * (at most one a second) lets both NATs open at the same time instead of at the next
 * round. */
void          lr_path_policy_ping_received   (LrPathPolicy          *self,
                                              const LrStunAddress   *from);

/* What to do now, one action at a time: TRUE with @action filled, FALSE when there is
 * nothing; then call again at lr_path_policy_get_wake_us() or after the next input. */
gboolean      lr_path_policy_next            (LrPathPolicy          *self,
                                              LrPathAction          *action);
gint64        lr_path_policy_get_wake_us     (LrPathPolicy          *self);

LrPathState   lr_path_policy_get_state       (LrPathPolicy          *self);
/* The direct endpoint, while DIRECT. */
gboolean      lr_path_policy_get_endpoint    (LrPathPolicy          *self,
                                              LrStunAddress         *out);
void          lr_path_policy_get_metrics     (LrPathPolicy          *self,
                                              LrPathMetrics         *out);
/* Oldest first; at most LR_PATH_HISTORY_SIZE. */
const LrPathTransition *
              lr_path_policy_get_history     (LrPathPolicy          *self,
                                              guint                 *n_transitions);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrPathPolicy, lr_path_policy_free)

G_END_DECLS
