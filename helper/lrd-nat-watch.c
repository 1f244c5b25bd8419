/* lrd-nat-watch.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-nat-watch.h"
#include "lrd-nat-prober.h"

#include "lr-addr.h"

#include <ifaddrs.h>
#include <net/if.h>

/* GNetworkMonitor says "changed" several times for one change (an address, then a route):
 * one probe after it settles. */
#define NETWORK_SETTLE_MS 500

enum
{
  SIGNAL_CHANGED,
  SIGNAL_NETWORK_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _LrdNatWatch
{
  GObject          parent_instance;

  LrdHelper1      *iface;
  LrdRelayClient  *relay;       /* nullable: no data plane */
  guint16          port;
  LrClock         *clock;

  gboolean         started;
  LrdSharedPort   *shared_port; /* while started, when the raw sockets could be had */
  LrdNatProber    *prober;
  GCancellable    *cancellable; /* of the probe or check in flight */
  gboolean         probing;
  gboolean         checking;    /* of the public endpoint alone */
  gboolean         probe_again;
  LrAddr           probed_relay; /* the STUN server of the last probe */
  guint            interval_id;
  guint            check_id;
  guint            settle_id;
  gulong           network_handler;
  gulong           relay_handler;

  LrNatTypeResult  result;
  GStrv            lan;         /* the interfaces' addresses, "a.b.c.d:W" */
};

G_DEFINE_FINAL_TYPE (LrdNatWatch, lrd_nat_watch, G_TYPE_OBJECT)

static void
lrd_nat_watch_dispose (GObject *object)
{
  LrdNatWatch *self = LRD_NAT_WATCH (object);

  lrd_nat_watch_stop (self);
  g_clear_object (&self->relay);
  g_clear_object (&self->iface);

  G_OBJECT_CLASS (lrd_nat_watch_parent_class)->dispose (object);
}

static void
lrd_nat_watch_finalize (GObject *object)
{
  LrdNatWatch *self = LRD_NAT_WATCH (object);

  g_strfreev (self->lan);
  g_clear_pointer (&self->clock, lr_clock_unref);

  G_OBJECT_CLASS (lrd_nat_watch_parent_class)->finalize (object);
}

static void
lrd_nat_watch_class_init (LrdNatWatchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_nat_watch_dispose;
  object_class->finalize = lrd_nat_watch_finalize;

  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_NETWORK_CHANGED] =
    g_signal_new ("network-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
}

static void
lrd_nat_watch_init (LrdNatWatch *self)
{
  self->lan = g_new0 (char *, 1);
}

static void
show (LrdNatWatch *self)
{
  const LrNatTypeResult *r = &self->result;
  g_autofree char *endpoint = r->reachable ? lr_stun_address_to_string (&r->public_endpoint)
                                           : g_strdup ("");

  lrd_helper1_set_nat_mapping (self->iface, lr_nat_behaviour_to_string (r->mapping));
  lrd_helper1_set_nat_filtering (self->iface, lr_nat_behaviour_to_string (r->filtering));
  lrd_helper1_set_nat_type (self->iface, lr_nat_type_to_string (r->type));
  lrd_helper1_set_public_endpoint (self->iface, endpoint);
}

static void
forget (LrdNatWatch *self)
{
  memset (&self->result, 0, sizeof self->result);
  self->result.mapping = LR_NAT_UNKNOWN;
  self->result.filtering = LR_NAT_UNKNOWN;
  self->result.type = LR_NAT_TYPE_UNKNOWN;
  show (self);
}

/**
 * lrd_nat_watch_new:
 * @port: WireGuard's listen port
 */
LrdNatWatch *
lrd_nat_watch_new (LrdHelper1     *iface,
                   LrdRelayClient *relay,
                   guint16         port,
                   LrClock        *clock)
{
  LrdNatWatch *self = g_object_new (LRD_TYPE_NAT_WATCH, NULL);

  self->iface = g_object_ref (iface);
  self->relay = relay != NULL ? g_object_ref (relay) : NULL;
  self->port = port;
  self->clock = clock != NULL ? lr_clock_ref (clock) : lr_clock_new_system ();
  forget (self);
  return self;
}

/* The interfaces' addresses on port W: where a peer behind the same NAT reaches this
 * machine. Not loopback, not link-local IPv6 (it needs a scope), not the party's own
 * network (that is the tunnel). */
static GStrv
read_lan_addresses (LrdNatWatch *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  struct ifaddrs *list = NULL;
  guint n = 0;

  if (getifaddrs (&list) != 0)
    return g_strv_builder_end (builder);

  for (struct ifaddrs *i = list; i != NULL && n < LRD_NAT_WATCH_MAX_CANDIDATES - 1;
       i = i->ifa_next)
    {
      LrAddr addr;
      char text[LR_ADDR_STRING_SIZE];

      if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
        continue;
      if (i->ifa_addr->sa_family == AF_INET)
        {
          const struct sockaddr_in *sin = (const struct sockaddr_in *) i->ifa_addr;
          guint32 host = g_ntohl (sin->sin_addr.s_addr);

          /* 10.66.0.0/16: the party network */
          if ((host & 0xffff0000u) == 0x0a420000u)
            continue;
          lr_addr_set_ipv4 (&addr, host, self->port);
        }
      else if (i->ifa_addr->sa_family == AF_INET6)
        {
          struct sockaddr_in6 sin6 = *(const struct sockaddr_in6 *) i->ifa_addr;

          if (IN6_IS_ADDR_LINKLOCAL (&sin6.sin6_addr) || IN6_IS_ADDR_LOOPBACK (&sin6.sin6_addr))
            continue;
          sin6.sin6_port = g_htons (self->port);
          sin6.sin6_scope_id = 0;
          if (!lr_addr_from_sockaddr (&addr, &sin6, sizeof sin6))
            continue;
        }
      else
        {
          continue;
        }
      lr_addr_format (&addr, text);
      g_strv_builder_add (builder, text);
      n++;
    }
  freeifaddrs (list);
  return g_strv_builder_end (builder);
}

/* Returns whether the interfaces' addresses changed (and says so with "changed"). */
static gboolean
refresh_lan (LrdNatWatch *self)
{
  g_auto(GStrv) lan = read_lan_addresses (self);

  if (g_strv_equal ((const char * const *) lan, (const char * const *) self->lan))
    return FALSE;
  g_strfreev (self->lan);
  self->lan = g_steal_pointer (&lan);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

static void probe (LrdNatWatch *self);

/* What peers are told: the public endpoint and the behaviour. */
static gboolean
same_result (const LrNatTypeResult *a,
             const LrNatTypeResult *b)
{
  return a->reachable == b->reachable &&
         lr_stun_address_equal (&a->public_endpoint, &b->public_endpoint) &&
         a->mapping == b->mapping && a->filtering == b->filtering;
}

/* The public endpoint comes seconds before the rest: peers can start probing it at once. */
static void
public_endpoint_cb (LrdNatProber        *prober,
                    const LrStunAddress *endpoint,
                    gpointer             user_data)
{
  LrdNatWatch *self = user_data;

  if (self->result.reachable && lr_stun_address_equal (endpoint, &self->result.public_endpoint))
    return;
  self->result.reachable = TRUE;
  self->result.public_endpoint = *endpoint;
  show (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
probe_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(LrdNatWatch) self = user_data;
  g_autoptr(GError) error = NULL;
  LrNatTypeResult nat;
  gboolean changed;

  self->probing = FALSE;
  if (!lrd_nat_prober_probe_finish (LRD_NAT_PROBER (source), result, &nat, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot probe the NAT: %s", error->message);
      return;
    }
  if (!self->started)
    return;

  if (!nat.reachable)
    {
      /* The relay's STUN did not answer: keep what was known, try at the next occasion. */
      g_info ("The relay's STUN service did not answer the NAT probe");
    }
  else
    {
      g_autofree char *endpoint = NULL;

      /* A server without RFC 5780 (a relay with no second address) tells only the public
       * endpoint: the behaviour found before still stands while the endpoint is the same. */
      if (!nat.rfc5780 && self->result.rfc5780 &&
          lr_stun_address_equal (&nat.public_endpoint, &self->result.public_endpoint))
        {
          nat.rfc5780 = TRUE;
          nat.mapping = self->result.mapping;
          nat.filtering = self->result.filtering;
          nat.type = self->result.type;
        }
      endpoint = lr_stun_address_to_string (&nat.public_endpoint);
      changed = !same_result (&nat, &self->result);
      self->result = nat;
      g_info ("NAT: %s (mapping %s, filtering %s), public endpoint %s",
              lr_nat_type_to_string (nat.type), lr_nat_behaviour_to_string (nat.mapping),
              lr_nat_behaviour_to_string (nat.filtering), endpoint);
      show (self);
      if (changed)
        g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
    }

  if (self->probe_again)
    probe (self);
}

/* One probe against the chosen relay's STUN service; none while no relay is chosen (the
 * relay client's "changed" brings the first). */
static void
probe (LrdNatWatch *self)
{
  LrStunAddress server;
  LrAddr relay;

  refresh_lan (self);
  if (self->prober == NULL || !lrd_relay_client_get_relay_address (self->relay, &relay))
    return;
  if (self->probing)
    {
      self->probe_again = TRUE;
      return;
    }
  if (!lr_stun_address_from_sockaddr (&server, &relay.u.sa, relay.length))
    return;
  if (self->checking)
    {
      self->probe_again = TRUE;
      return;
    }

  self->probe_again = FALSE;
  self->probing = TRUE;
  self->probed_relay = relay;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  lrd_nat_prober_probe_async (self->prober, &server, self->cancellable, probe_cb,
                              g_object_ref (self));
}

static gboolean
interval_cb (gpointer user_data)
{
  probe (user_data);
  return G_SOURCE_CONTINUE;
}

static void
check_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(LrdNatWatch) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *now = NULL;
  LrNatTypeResult nat;

  self->checking = FALSE;
  if (!lrd_nat_prober_probe_finish (LRD_NAT_PROBER (source), result, &nat, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_warning ("Cannot check the public endpoint: %s", error->message);
      nat.reachable = FALSE;
    }
  if (!self->started)
    return;

  /* No answer says nothing of the NAT (the relay may be busy or gone: its client finds
   * another); the same endpoint says all is as published. A probe asked for meanwhile
   * runs now. */
  if (nat.reachable &&
      !(self->result.reachable &&
        lr_stun_address_equal (&nat.public_endpoint, &self->result.public_endpoint)))
    {
      before = self->result.reachable
                 ? lr_stun_address_to_string (&self->result.public_endpoint)
                 : g_strdup ("unknown");
      now = lr_stun_address_to_string (&nat.public_endpoint);
      g_info ("The public endpoint moved from %s to %s: probing the NAT and the direct paths "
              "again", before, now);
      self->result.reachable = TRUE;
      self->result.public_endpoint = nat.public_endpoint;
      show (self);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
      g_signal_emit (self, signals[SIGNAL_NETWORK_CHANGED], 0);
      self->probe_again = TRUE;
    }
  if (self->probe_again)
    probe (self);
}

/* The public endpoint alone, between probes; not while one runs (it finds the endpoint). */
static gboolean
check_interval_cb (gpointer user_data)
{
  LrdNatWatch *self = user_data;
  LrStunAddress server;
  LrAddr relay;

  if (self->probing || self->checking || self->prober == NULL ||
      !lrd_relay_client_get_relay_address (self->relay, &relay) ||
      !lr_stun_address_from_sockaddr (&server, &relay.u.sa, relay.length))
    return G_SOURCE_CONTINUE;

  self->checking = TRUE;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  lrd_nat_prober_check_endpoint_async (self->prober, &server, self->cancellable, check_cb,
                                       g_object_ref (self));
  return G_SOURCE_CONTINUE;
}

static gboolean
settle_cb (gpointer user_data)
{
  LrdNatWatch *self = user_data;

  self->settle_id = 0;
  /* GNetworkMonitor also reports routes that change nothing for this machine's NAT, such
   * as WireGuard's own interface coming up; and each probe opens the NAT's filter towards
   * the server's second address, so the next one within the mapping's lifetime would see
   * less filtering than there is. A new network shows as new local addresses. */
  if (!refresh_lan (self))
    return G_SOURCE_REMOVE;
  g_info ("The network changed: probing the NAT and the direct paths again");
  g_signal_emit (self, signals[SIGNAL_NETWORK_CHANGED], 0);
  probe (self);
  return G_SOURCE_REMOVE;
}

static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    gpointer         user_data)
{
  LrdNatWatch *self = user_data;

  g_clear_handle_id (&self->settle_id, g_source_remove);
  self->settle_id = g_timeout_add (NETWORK_SETTLE_MS, settle_cb, self);
}

/* The first probe once a relay is bound, and a new one when the party moves to another
 * relay (its STUN service may see the NAT from elsewhere). */
static void
relay_changed_cb (LrdRelayClient *relay,
                  gpointer        user_data)
{
  LrdNatWatch *self = user_data;
  LrAddr current;

  if (lrd_relay_client_get_state (relay) != LRD_RELAY_CLIENT_BOUND ||
      !lrd_relay_client_get_relay_address (relay, &current))
    return;
  if (lr_addr_equal (&current, &self->probed_relay))
    return;
  probe (self);
}

/**
 * lrd_nat_watch_start:
 *
 * WireGuard's interface is up: opens the shared port on its listen port and probes as soon
 * as a relay is bound. Without the raw sockets (no CAP_NET_RAW) there are no direct paths;
 * the party stays relayed.
 */
void
lrd_nat_watch_start (LrdNatWatch *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (LRD_IS_NAT_WATCH (self));

  if (self->started || self->relay == NULL)
    return;
  self->started = TRUE;

  self->shared_port = lrd_shared_port_new (self->port, &error);
  if (self->shared_port == NULL)
    {
      g_message ("No direct paths: cannot share WireGuard's port %u: %s", self->port,
                 error->message);
      return;
    }
  self->prober = lrd_nat_prober_new (self->shared_port, self->clock);
  g_signal_connect (self->prober, "public-endpoint", G_CALLBACK (public_endpoint_cb), self);
  self->network_handler = g_signal_connect (g_network_monitor_get_default (),
                                            "network-changed",
                                            G_CALLBACK (network_changed_cb), self);
  self->relay_handler = g_signal_connect (self->relay, "changed",
                                          G_CALLBACK (relay_changed_cb), self);
  self->interval_id = g_timeout_add_seconds (LRD_NAT_WATCH_INTERVAL_S, interval_cb, self);
  self->check_id = g_timeout_add_seconds (LRD_NAT_WATCH_CHECK_S, check_interval_cb, self);
  probe (self);
}

/**
 * lrd_nat_watch_stop:
 *
 * WireGuard goes down: closes the shared port and forgets the NAT.
 */
void
lrd_nat_watch_stop (LrdNatWatch *self)
{
  g_return_if_fail (LRD_IS_NAT_WATCH (self));

  if (!self->started)
    return;
  self->started = FALSE;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->probing = FALSE;
  self->checking = FALSE;
  self->probe_again = FALSE;
  memset (&self->probed_relay, 0, sizeof self->probed_relay);
  g_clear_handle_id (&self->interval_id, g_source_remove);
  g_clear_handle_id (&self->check_id, g_source_remove);
  g_clear_handle_id (&self->settle_id, g_source_remove);
  g_clear_signal_handler (&self->network_handler, g_network_monitor_get_default ());
  if (self->relay != NULL)
    g_clear_signal_handler (&self->relay_handler, self->relay);
  g_clear_object (&self->prober);
  g_clear_object (&self->shared_port);
  g_strfreev (self->lan);
  self->lan = g_new0 (char *, 1);
  forget (self);
}

LrdSharedPort *
lrd_nat_watch_get_port (LrdNatWatch *self)
{
  g_return_val_if_fail (LRD_IS_NAT_WATCH (self), NULL);
  return self->shared_port;
}

const LrNatTypeResult *
lrd_nat_watch_get_result (LrdNatWatch *self)
{
  g_return_val_if_fail (LRD_IS_NAT_WATCH (self), NULL);
  return &self->result;
}

GStrv
lrd_nat_watch_dup_candidates (LrdNatWatch *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint n = 0;

  g_return_val_if_fail (LRD_IS_NAT_WATCH (self), NULL);

  if (self->result.reachable)
    {
      g_autofree char *text = lr_stun_address_to_string (&self->result.public_endpoint);

      g_strv_builder_add (builder, text);
      n++;
    }
  for (guint i = 0; self->lan[i] != NULL && n < LRD_NAT_WATCH_MAX_CANDIDATES; i++, n++)
    g_strv_builder_add (builder, self->lan[i]);
  return g_strv_builder_end (builder);
}
