/* test-nat-type.c: RFC 5780 discovery against simulated NATs and STUN servers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each case is a row of a table: a NAT (mapping and filtering behaviour, whether it keeps
 * the local port, or no NAT at all), a STUN server (a full RFC 5780 one like lanrage-relay
 * with --alt-address, one without a second address, one that ignores CHANGE-REQUEST, one that
 * refuses PADDING) and the path's losses. The simulation answers each request the way the
 * server and the NAT would, on a manual clock with a 20 ms round trip, and the probe's verdict
 * must be the row's. The real NATs of the lab are in test-nat-prober-lab.c.
 */
#include "lr-error.h"
#include "lr-nat-type.h"

#include <arpa/inet.h>
#include <string.h>

typedef enum
{
  SERVER_RFC5780,
  SERVER_BASIC,             /* no second address: no OTHER-ADDRESS */
  SERVER_IGNORES_CHANGE,    /* sends OTHER-ADDRESS but answers from where it was asked */
  SERVER_REFUSES_PADDING,   /* a 420 for PADDING, like a server without RFC 5780's */
  SERVER_PADDED_ANSWER_LOST, /* answers padding with fragments the path loses */
} ServerKind;

typedef struct
{
  const char     *name;
  int             family;          /* AF_INET or AF_INET6 */
  gboolean        nat;             /* FALSE: the host has a public address */
  LrNatBehaviour  mapping;
  LrNatBehaviour  filtering;
  gboolean        keeps_port;
  gboolean        blocked;         /* every datagram dropped */
  ServerKind      server;
  guint           lose_first;      /* the first N datagrams towards the server are lost */
  /* The verdict. */
  gboolean        reachable;
  gboolean        rfc5780;
  LrNatBehaviour  want_mapping;
  LrNatBehaviour  want_filtering;
  LrNatType       want_type;
  gboolean        want_port_preserved;
} Row;

#define EI  LR_NAT_ENDPOINT_INDEPENDENT
#define AD  LR_NAT_ADDRESS_DEPENDENT
#define APD LR_NAT_ADDRESS_AND_PORT_DEPENDENT
#define UNK LR_NAT_UNKNOWN

static const Row rows[] = {
  { "open", AF_INET, FALSE, EI, EI, TRUE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, EI, EI, LR_NAT_TYPE_OPEN, TRUE },
  { "firewall", AF_INET, FALSE, EI, APD, TRUE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, EI, APD, LR_NAT_TYPE_PORT_RESTRICTED_CONE, TRUE },
  { "full-cone", AF_INET, TRUE, EI, EI, TRUE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, EI, EI, LR_NAT_TYPE_FULL_CONE, TRUE },
  { "restricted-cone", AF_INET, TRUE, EI, AD, TRUE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, EI, AD, LR_NAT_TYPE_RESTRICTED_CONE, TRUE },
  { "port-restricted", AF_INET, TRUE, EI, APD, TRUE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, EI, APD, LR_NAT_TYPE_PORT_RESTRICTED_CONE, TRUE },
  { "port-restricted-translated", AF_INET, TRUE, EI, APD, FALSE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, EI, APD, LR_NAT_TYPE_PORT_RESTRICTED_CONE, FALSE },
  { "symmetric", AF_INET, TRUE, APD, APD, FALSE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, APD, APD, LR_NAT_TYPE_SYMMETRIC, FALSE },
  /* Keeps the local port for the first mapping only, like Linux's masquerade random. */
  { "symmetric-first-port-kept", AF_INET, TRUE, APD, APD, TRUE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, APD, APD, LR_NAT_TYPE_SYMMETRIC, TRUE },
  { "address-dependent-mapping", AF_INET, TRUE, AD, AD, FALSE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, AD, AD, LR_NAT_TYPE_SYMMETRIC, FALSE },
  { "symmetric-open-filter", AF_INET, TRUE, APD, EI, FALSE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, APD, EI, LR_NAT_TYPE_SYMMETRIC, FALSE },
  { "blocked", AF_INET, TRUE, EI, APD, TRUE, TRUE, SERVER_RFC5780, 0,
    FALSE, FALSE, UNK, UNK, LR_NAT_TYPE_UNKNOWN, FALSE },
  { "basic-server", AF_INET, TRUE, EI, APD, TRUE, FALSE, SERVER_BASIC, 0,
    TRUE, FALSE, UNK, UNK, LR_NAT_TYPE_UNKNOWN, TRUE },
  /* Would read "full cone" if the answer's origin were not checked. */
  { "server-ignores-change-request", AF_INET, TRUE, EI, APD, TRUE, FALSE,
    SERVER_IGNORES_CHANGE, 0, TRUE, FALSE, UNK, UNK, LR_NAT_TYPE_UNKNOWN, TRUE },
  { "server-refuses-padding", AF_INET, TRUE, EI, AD, TRUE, FALSE, SERVER_REFUSES_PADDING, 0,
    TRUE, TRUE, EI, AD, LR_NAT_TYPE_RESTRICTED_CONE, TRUE },
  { "padded-answers-lost", AF_INET, TRUE, EI, AD, TRUE, FALSE, SERVER_PADDED_ANSWER_LOST, 0,
    TRUE, TRUE, EI, AD, LR_NAT_TYPE_RESTRICTED_CONE, TRUE },
  { "lossy", AF_INET, TRUE, EI, EI, TRUE, FALSE, SERVER_RFC5780, 2,
    TRUE, TRUE, EI, EI, LR_NAT_TYPE_FULL_CONE, TRUE },
  { "ipv6-firewall", AF_INET6, FALSE, EI, APD, TRUE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, EI, APD, LR_NAT_TYPE_PORT_RESTRICTED_CONE, TRUE },
  { "ipv6-symmetric", AF_INET6, TRUE, APD, APD, FALSE, FALSE, SERVER_RFC5780, 0,
    TRUE, TRUE, APD, APD, LR_NAT_TYPE_SYMMETRIC, FALSE },
};

#define RTT_US (20 * G_TIME_SPAN_MILLISECOND)

typedef struct
{
  LrStunAddress remote;      /* what the mapping is keyed on (per its behaviour) */
  guint16       public_port;
} Mapping;

typedef struct
{
  gint64        at_us;
  LrStunAddress from;
  guint8        data[256];
  gsize         length;
} Delivery;

typedef struct
{
  const Row     *row;
  LrClock       *clock;
  LrStunAddress  local;
  LrStunAddress  public_host;      /* the NAT's address, port unused */
  LrStunAddress  server[4];        /* 0 primary, ^1 the other port, ^2 the other address */
  GArray        *mappings;         /* Mapping */
  GArray        *permissions;      /* LrStunAddress the host has sent to */
  GQueue         in_flight;        /* Delivery, by time */
  guint          to_server;        /* datagrams sent so far */
  GArray        *tests;            /* LrNatTypeTest of every request, in order */
} Sim;

static void
make_address (LrStunAddress *out,
              int            family,
              const char    *text,
              guint16        port)
{
  memset (out, 0, sizeof *out);
  out->family = family == AF_INET ? LR_STUN_FAMILY_IPV4 : LR_STUN_FAMILY_IPV6;
  out->port = port;
  g_assert_cmpint (inet_pton (family, text, out->address), ==, 1);
}

static gboolean
same_host (const LrStunAddress *a,
           const LrStunAddress *b)
{
  LrStunAddress c = *b;

  c.port = a->port;
  return lr_stun_address_equal (a, &c);
}

static void
sim_init (Sim       *sim,
          const Row *row)
{
  gboolean v4 = row->family == AF_INET;

  memset (sim, 0, sizeof *sim);
  sim->row = row;
  sim->clock = lr_clock_new_manual (1700000000 * G_TIME_SPAN_SECOND);
  if (row->nat)
    make_address (&sim->local, row->family, v4 ? "192.168.1.2" : "fd00::2", 51820);
  else
    make_address (&sim->local, row->family, v4 ? "203.0.113.7" : "2001:db8:7::7", 51820);
  make_address (&sim->public_host, row->family, v4 ? "203.0.113.7" : "2001:db8:7::7", 0);
  make_address (&sim->server[0], row->family, v4 ? "198.51.100.1" : "2001:db8:1::1", 3478);
  make_address (&sim->server[1], row->family, v4 ? "198.51.100.1" : "2001:db8:1::1", 3479);
  make_address (&sim->server[2], row->family, v4 ? "198.51.100.2" : "2001:db8:1::2", 3478);
  make_address (&sim->server[3], row->family, v4 ? "198.51.100.2" : "2001:db8:1::2", 3479);
  sim->mappings = g_array_new (FALSE, FALSE, sizeof (Mapping));
  sim->permissions = g_array_new (FALSE, FALSE, sizeof (LrStunAddress));
  sim->tests = g_array_new (FALSE, FALSE, sizeof (LrNatTypeTest));
}

static void
sim_clear (Sim *sim)
{
  g_queue_clear_full (&sim->in_flight, g_free);
  g_array_unref (sim->mappings);
  g_array_unref (sim->permissions);
  g_array_unref (sim->tests);
  lr_clock_unref (sim->clock);
}

/* The NAT's outbound side: the public endpoint a datagram to @to leaves with. */
static LrStunAddress
sim_map (Sim                 *sim,
         const LrStunAddress *to)
{
  LrStunAddress key = *to;
  LrStunAddress out = sim->public_host;
  Mapping mapping;

  g_array_append_val (sim->permissions, *to);
  if (!sim->row->nat)
    return sim->local;

  if (sim->row->mapping == EI)
    memset (&key, 0, sizeof key);
  else if (sim->row->mapping == AD)
    key.port = 0;
  for (guint i = 0; i < sim->mappings->len; i++)
    {
      Mapping *m = &g_array_index (sim->mappings, Mapping, i);

      if (lr_stun_address_equal (&m->remote, &key))
        {
          out.port = m->public_port;
          return out;
        }
    }
  mapping.remote = key;
  mapping.public_port = sim->row->keeps_port && sim->mappings->len == 0
                        ? sim->local.port : 20000 + sim->mappings->len * 7;
  g_array_append_val (sim->mappings, mapping);
  out.port = mapping.public_port;
  return out;
}

/* The inbound side: does the filter let a datagram from @from in? */
static gboolean
sim_filter_passes (Sim                 *sim,
                   const LrStunAddress *from)
{
  for (guint i = 0; i < sim->permissions->len; i++)
    {
      const LrStunAddress *p = &g_array_index (sim->permissions, LrStunAddress, i);

      switch (sim->row->filtering)
        {
        case EI:
          return TRUE;
        case AD:
          if (same_host (p, from))
            return TRUE;
          break;
        default:
          if (lr_stun_address_equal (p, from))
            return TRUE;
          break;
        }
    }
  return FALSE;
}

static void
sim_send (Sim                    *sim,
          const LrNatTypeRequest *request)
{
  LrStunMessage message;
  LrStunBuilder builder;
  LrStunAddress mapped;
  Delivery *delivery;
  guint32 change = 0;
  guint index = 4;
  guint reply_index;

  g_array_append_val (sim->tests, request->test);
  g_assert_true (lr_stun_message_parse (&message, request->data, request->length, NULL));
  g_assert_true (lr_stun_message_check_fingerprint (&message));
  g_assert_cmpint (message.klass, ==, LR_STUN_CLASS_REQUEST);
  g_assert_cmpmem (message.transaction_id, 12, request->transaction_id, 12);
  /* Padded to the size of the largest answer, unless the server refused padding. */
  if (lr_stun_message_find (&message, LR_STUN_ATTR_PADDING) != NULL)
    g_assert_cmpuint (request->length, ==, LR_NAT_TYPE_REQUEST_SIZE);

  if (sim->to_server++ < sim->row->lose_first || sim->row->blocked)
    return;
  if (sim->row->server == SERVER_PADDED_ANSWER_LOST &&
      lr_stun_message_find (&message, LR_STUN_ATTR_PADDING) != NULL)
    return;
  mapped = sim_map (sim, &request->destination);

  for (guint i = 0; i < 4; i++)
    if (lr_stun_address_equal (&sim->server[i], &request->destination))
      index = i;
  g_assert_cmpuint (index, <, 4);
  lr_stun_message_get_u32 (&message, LR_STUN_ATTR_CHANGE_REQUEST, &change);
  g_assert_cmpuint (change, ==, request->change_request);

  delivery = g_new0 (Delivery, 1);
  delivery->at_us = lr_clock_now_us (sim->clock) + RTT_US;
  reply_index = index;
  if (sim->row->server != SERVER_IGNORES_CHANGE)
    reply_index ^= ((change & LR_STUN_CHANGE_PORT) ? 1 : 0) |
                   ((change & LR_STUN_CHANGE_IP) ? 2 : 0);
  delivery->from = sim->server[reply_index];

  if ((sim->row->server == SERVER_BASIC && change != 0) ||
      (sim->row->server == SERVER_REFUSES_PADDING &&
       lr_stun_message_find (&message, LR_STUN_ATTR_PADDING) != NULL))
    {
      guint16 unknown = GUINT16_TO_BE (change != 0 && sim->row->server == SERVER_BASIC
                                       ? LR_STUN_ATTR_CHANGE_REQUEST : LR_STUN_ATTR_PADDING);

      lr_stun_builder_init (&builder, delivery->data, sizeof delivery->data,
                            LR_STUN_METHOD_BINDING, LR_STUN_CLASS_ERROR, message.transaction_id);
      lr_stun_builder_add_error (&builder, 420, "Unknown Attribute");
      lr_stun_builder_add (&builder, LR_STUN_ATTR_UNKNOWN_ATTRIBUTES, &unknown, 2);
    }
  else
    {
      lr_stun_builder_init (&builder, delivery->data, sizeof delivery->data,
                            LR_STUN_METHOD_BINDING, LR_STUN_CLASS_SUCCESS, message.transaction_id);
      lr_stun_builder_add_xor_address (&builder, LR_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
      if (sim->row->server != SERVER_BASIC)
        {
          lr_stun_builder_add_address (&builder, LR_STUN_ATTR_RESPONSE_ORIGIN, &delivery->from);
          lr_stun_builder_add_address (&builder, LR_STUN_ATTR_OTHER_ADDRESS,
                                       &sim->server[index ^ 3]);
        }
    }
  lr_stun_builder_add_fingerprint (&builder);
  delivery->length = lr_stun_builder_finish (&builder);
  g_assert_cmpuint (delivery->length, >, 0);

  if (!sim_filter_passes (sim, &delivery->from))
    {
      g_free (delivery);
      return;
    }
  g_queue_push_tail (&sim->in_flight, delivery);
}

/* Runs the probe to its end; returns the protocol time it took. */
static gint64
sim_run (Sim            *sim,
         LrNatTypeProbe *probe)
{
  gint64 start = lr_clock_now_us (sim->clock);

  for (guint steps = 0; steps < 1000; steps++)
    {
      LrNatTypeRequest request;
      gint64 wake_us = 0;
      Delivery *next;

      switch (lr_nat_type_probe_next (probe, &request, &wake_us))
        {
        case LR_NAT_TYPE_PROBE_DONE:
          g_assert_true (lr_nat_type_probe_is_done (probe));
          return lr_clock_now_us (sim->clock) - start;
        case LR_NAT_TYPE_PROBE_SEND:
          sim_send (sim, &request);
          break;
        case LR_NAT_TYPE_PROBE_WAIT:
          g_assert_cmpint (wake_us, >, lr_clock_now_us (sim->clock));
          next = g_queue_peek_head (&sim->in_flight);
          if (next != NULL && next->at_us <= wake_us)
            {
              g_queue_pop_head (&sim->in_flight);
              lr_clock_advance (sim->clock, next->at_us - lr_clock_now_us (sim->clock));
              g_assert_true (lr_nat_type_probe_handle (probe, next->data, next->length,
                                                       &next->from));
              g_free (next);
            }
          else
            {
              lr_clock_advance (sim->clock, wake_us - lr_clock_now_us (sim->clock));
            }
          break;
        default:
          g_assert_not_reached ();
        }
    }
  g_assert_not_reached ();
}

static void
test_row (gconstpointer data)
{
  const Row *row = data;
  g_autoptr(LrNatTypeProbe) probe = NULL;
  const LrNatTypeResult *result;
  g_autofree char *endpoint = NULL;
  gint64 took;
  Sim sim;

  sim_init (&sim, row);
  probe = lr_nat_type_probe_new (sim.clock, &sim.server[0], &sim.local);
  took = sim_run (&sim, probe);
  result = lr_nat_type_probe_get_result (probe);

  g_test_message ("%s: %s, %s/%s, %u requests, %" G_GINT64_FORMAT " ms", row->name,
                  lr_nat_type_to_string (result->type),
                  lr_nat_behaviour_to_string (result->mapping),
                  lr_nat_behaviour_to_string (result->filtering), sim.tests->len,
                  took / 1000);
  g_assert_cmpint (result->reachable, ==, row->reachable);
  g_assert_cmpint (result->rfc5780, ==, row->rfc5780);
  g_assert_cmpint (result->mapping, ==, row->want_mapping);
  g_assert_cmpint (result->filtering, ==, row->want_filtering);
  g_assert_cmpint (result->type, ==, row->want_type);
  g_assert_cmpint (result->port_preserved, ==, row->want_port_preserved);
  if (row->reachable)
    {
      LrStunAddress expected = sim.local;

      if (row->nat)
        {
          expected = sim.public_host;
          expected.port = g_array_index (sim.mappings, Mapping, 0).public_port;
        }
      g_assert_true (lr_stun_address_equal (&result->public_endpoint, &expected));
      g_assert_cmpint (result->behind_nat, ==, row->nat);
    }
  /* Bounded: five tests of at most 1.75 s each, plus test 1 again without padding. */
  g_assert_cmpint (took, <=, 6 * LR_NAT_TYPE_TEST_TIMEOUT_US);

  sim_clear (&sim);
}

/* The order RFC 5780 needs: filtering before anything is sent to the other address. */
static void
test_order (void)
{
  static const LrNatTypeTest want[] = {
    LR_NAT_TYPE_TEST_BINDING,
    LR_NAT_TYPE_TEST_FILTERING_IP_PORT, LR_NAT_TYPE_TEST_FILTERING_IP_PORT,
    LR_NAT_TYPE_TEST_FILTERING_IP_PORT,
    LR_NAT_TYPE_TEST_FILTERING_PORT, LR_NAT_TYPE_TEST_FILTERING_PORT,
    LR_NAT_TYPE_TEST_FILTERING_PORT,
    LR_NAT_TYPE_TEST_MAPPING_IP,
    LR_NAT_TYPE_TEST_MAPPING_IP_PORT,
  };
  const Row *row = NULL;
  g_autoptr(LrNatTypeProbe) probe = NULL;
  gint64 took;
  Sim sim;

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    if (g_str_equal (rows[i].name, "symmetric"))
      row = &rows[i];
  sim_init (&sim, row);
  probe = lr_nat_type_probe_new (sim.clock, &sim.server[0], &sim.local);
  took = sim_run (&sim, probe);
  g_assert_cmpmem (sim.tests->data, sim.tests->len * sizeof (LrNatTypeTest), want, sizeof want);
  /* Two silent filtering tests, three answered ones at one round trip each. */
  g_assert_cmpint (took, ==, 2 * LR_NAT_TYPE_TEST_TIMEOUT_US + 3 * RTT_US);
  sim_clear (&sim);
}

/* What is not the answer to the current test is refused and changes nothing. */
static void
test_refusals (void)
{
  g_autoptr(LrClock) clock = lr_clock_new_manual (0);
  g_autoptr(LrNatTypeProbe) probe = NULL;
  LrStunAddress server, local, other, mapped;
  LrNatTypeRequest request;
  LrStunBuilder builder;
  guint8 reply[128];
  guint8 wrong_id[12] = { 1 };
  gint64 wake_us;
  gsize length;

  lr_stun_address_parse (&server, "198.51.100.1:3478");
  lr_stun_address_parse (&other, "198.51.100.9:3478");
  lr_stun_address_parse (&local, "192.168.1.2:51820");
  lr_stun_address_parse (&mapped, "203.0.113.7:51820");
  probe = lr_nat_type_probe_new (clock, &server, &local);

  /* Nothing was asked yet. */
  g_assert_false (lr_nat_type_probe_handle (probe, (const guint8 *) "x", 1, &server));
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==,
                   LR_NAT_TYPE_PROBE_SEND);
  g_assert_cmpint (request.test, ==, LR_NAT_TYPE_TEST_BINDING);
  g_assert_cmpuint (request.length, ==, LR_NAT_TYPE_REQUEST_SIZE);
  g_assert_true (lr_stun_address_equal (&request.destination, &server));

  /* Not STUN, truncated, another transaction, a request, from elsewhere. */
  g_assert_false (lr_nat_type_probe_handle (probe, (const guint8 *) "hello world, no stun",
                                            20, &server));
  g_assert_false (lr_nat_type_probe_handle (probe, request.data, 10, &server));
  lr_stun_builder_init (&builder, reply, sizeof reply, LR_STUN_METHOD_BINDING,
                        LR_STUN_CLASS_SUCCESS, wrong_id);
  lr_stun_builder_add_xor_address (&builder, LR_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
  length = lr_stun_builder_finish (&builder);
  g_assert_false (lr_nat_type_probe_handle (probe, reply, length, &server));
  g_assert_false (lr_nat_type_probe_handle (probe, request.data, request.length, &server));

  lr_stun_builder_init (&builder, reply, sizeof reply, LR_STUN_METHOD_BINDING,
                        LR_STUN_CLASS_SUCCESS, request.transaction_id);
  lr_stun_builder_add_xor_address (&builder, LR_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
  length = lr_stun_builder_finish (&builder);
  g_assert_false (lr_nat_type_probe_handle (probe, reply, length, &other));
  /* A bad fingerprint. */
  lr_stun_builder_add_fingerprint (&builder);
  length = lr_stun_builder_finish (&builder);
  reply[length - 1] ^= 1;
  g_assert_false (lr_nat_type_probe_handle (probe, reply, length, &server));
  reply[length - 1] ^= 1;
  g_assert_false (lr_nat_type_probe_is_done (probe));

  /* The answer itself: no OTHER-ADDRESS, so that is all. */
  g_assert_true (lr_nat_type_probe_handle (probe, reply, length, &server));
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==,
                   LR_NAT_TYPE_PROBE_DONE);
  g_assert_true (lr_nat_type_probe_get_result (probe)->reachable);
  g_assert_true (lr_stun_address_equal (&lr_nat_type_probe_get_result (probe)->public_endpoint,
                                        &mapped));
  g_assert_false (lr_nat_type_probe_handle (probe, reply, length, &server));
}

/* The retransmission schedule of one test on the clock. */
static void
test_schedule (void)
{
  g_autoptr(LrClock) clock = lr_clock_new_manual (0);
  g_autoptr(LrNatTypeProbe) probe = NULL;
  LrStunAddress server, local;
  LrNatTypeRequest request;
  guint8 first_id[12];
  gint64 wake_us = -1;

  lr_stun_address_parse (&server, "198.51.100.1:3478");
  lr_stun_address_parse (&local, "192.168.1.2:51820");
  probe = lr_nat_type_probe_new (clock, &server, &local);

  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_SEND);
  memcpy (first_id, request.transaction_id, 12);
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_WAIT);
  g_assert_cmpint (wake_us, ==, 250000);
  lr_clock_advance (clock, 249999);
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_WAIT);
  lr_clock_advance (clock, 1);
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_SEND);
  g_assert_cmpmem (request.transaction_id, 12, first_id, 12);
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_WAIT);
  g_assert_cmpint (wake_us, ==, 750000);
  lr_clock_advance (clock, 500000);
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_SEND);
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_WAIT);
  g_assert_cmpint (wake_us, ==, LR_NAT_TYPE_TEST_TIMEOUT_US);
  lr_clock_advance (clock, LR_NAT_TYPE_TEST_TIMEOUT_US - 750000);
  /* Once more without padding, a new transaction, then the server is unreachable. */
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_SEND);
  g_assert_cmpint (request.test, ==, LR_NAT_TYPE_TEST_BINDING);
  g_assert_cmpuint (request.length, <, LR_NAT_TYPE_REQUEST_SIZE);
  g_assert_true (memcmp (request.transaction_id, first_id, 12) != 0);
  for (guint i = 1; i < LR_NAT_TYPE_TRANSMISSIONS; i++)
    {
      g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==,
                       LR_NAT_TYPE_PROBE_WAIT);
      lr_clock_advance (clock, wake_us - lr_clock_now_us (clock));
      g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==,
                       LR_NAT_TYPE_PROBE_SEND);
    }
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_WAIT);
  lr_clock_advance (clock, wake_us - lr_clock_now_us (clock));
  g_assert_cmpint (lr_nat_type_probe_next (probe, &request, &wake_us), ==, LR_NAT_TYPE_PROBE_DONE);
  g_assert_cmpint (lr_clock_now_us (clock), ==, 2 * LR_NAT_TYPE_TEST_TIMEOUT_US);
  g_assert_false (lr_nat_type_probe_get_result (probe)->reachable);
  g_assert_cmpint (lr_nat_type_probe_get_result (probe)->type, ==, LR_NAT_TYPE_UNKNOWN);
}

static void
test_names (void)
{
  g_assert_cmpstr (lr_nat_type_to_string (LR_NAT_TYPE_OPEN), ==, "open");
  g_assert_cmpstr (lr_nat_type_to_string (LR_NAT_TYPE_PORT_RESTRICTED_CONE), ==,
                   "port-restricted cone");
  g_assert_cmpstr (lr_nat_type_to_string (99), ==, "unknown");
  g_assert_cmpint (lr_nat_type_classify (EI, UNK, TRUE), ==, LR_NAT_TYPE_UNKNOWN);
  g_assert_cmpint (lr_nat_type_classify (AD, APD, TRUE), ==, LR_NAT_TYPE_SYMMETRIC);
  g_assert_cmpint (lr_nat_type_classify (EI, EI, FALSE), ==, LR_NAT_TYPE_OPEN);
  g_assert_cmpint (lr_nat_type_classify (EI, EI, TRUE), ==, LR_NAT_TYPE_FULL_CONE);
  g_assert_cmpint (lr_nat_type_classify (EI, AD, FALSE), ==, LR_NAT_TYPE_RESTRICTED_CONE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *path = g_strdup_printf ("/lr/nat-type/nat/%s", rows[i].name);

      g_test_add_data_func (path, &rows[i], test_row);
    }
  g_test_add_func ("/lr/nat-type/order", test_order);
  g_test_add_func ("/lr/nat-type/refusals", test_refusals);
  g_test_add_func ("/lr/nat-type/schedule", test_schedule);
  g_test_add_func ("/lr/nat-type/names", test_names);

  return g_test_run ();
}
