/* lr-nat-type.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-nat-type.h"

#include <sodium.h>
#include <string.h>

struct _LrNatTypeProbe
{
  LrClock         *clock;
  LrStunAddress    primary;
  LrStunAddress    local;
  LrStunAddress    other;        /* OTHER-ADDRESS from test 1 */
  LrStunAddress    mapped_ip;    /* the answer to LR_NAT_TYPE_TEST_MAPPING_IP */

  LrNatTypeTest    test;
  guint            sent;         /* transmissions of the current test so far */
  gint64           started_us;   /* its first transmission */
  guint8           transaction_id[LR_STUN_TRANSACTION_SIZE];
  gboolean         pad;          /* PADDING in requests, until a server refuses it */
  gboolean         done;

  LrNatTypeResult  result;
};

static const char * const type_names[] = {
  [LR_NAT_TYPE_UNKNOWN] = "unknown",
  [LR_NAT_TYPE_OPEN] = "open",
  [LR_NAT_TYPE_FULL_CONE] = "full cone",
  [LR_NAT_TYPE_RESTRICTED_CONE] = "restricted cone",
  [LR_NAT_TYPE_PORT_RESTRICTED_CONE] = "port-restricted cone",
  [LR_NAT_TYPE_SYMMETRIC] = "symmetric",
};

const char *
lr_nat_type_to_string (LrNatType type)
{
  if ((guint) type >= G_N_ELEMENTS (type_names))
    return "unknown";
  return type_names[type];
}

/**
 * lr_nat_type_classify:
 *
 * The classic name of a mapping and filtering pair: any mapping that depends on the
 * destination is "symmetric" (RFC 3489 section 5); an endpoint-independent mapping is a
 * cone named by its filtering, or "open" when there is no NAT and nothing filters.
 */
LrNatType
lr_nat_type_classify (LrNatBehaviour mapping,
                      LrNatBehaviour filtering,
                      gboolean       behind_nat)
{
  if (mapping == LR_NAT_UNKNOWN || filtering == LR_NAT_UNKNOWN)
    return LR_NAT_TYPE_UNKNOWN;
  if (mapping != LR_NAT_ENDPOINT_INDEPENDENT)
    return LR_NAT_TYPE_SYMMETRIC;
  switch (filtering)
    {
    case LR_NAT_ENDPOINT_INDEPENDENT:
      return behind_nat ? LR_NAT_TYPE_FULL_CONE : LR_NAT_TYPE_OPEN;
    case LR_NAT_ADDRESS_DEPENDENT:
      return LR_NAT_TYPE_RESTRICTED_CONE;
    case LR_NAT_ADDRESS_AND_PORT_DEPENDENT:
    case LR_NAT_UNKNOWN:
    default:
      return LR_NAT_TYPE_PORT_RESTRICTED_CONE;
    }
}

LrNatTypeProbe *
lr_nat_type_probe_new (LrClock             *clock,
                       const LrStunAddress *server,
                       const LrStunAddress *local)
{
  LrNatTypeProbe *self;

  g_return_val_if_fail (clock != NULL && server != NULL && local != NULL, NULL);

  self = g_new0 (LrNatTypeProbe, 1);
  self->clock = lr_clock_ref (clock);
  self->primary = *server;
  self->local = *local;
  self->test = LR_NAT_TYPE_TEST_BINDING;
  self->pad = TRUE;
  return self;
}

void
lr_nat_type_probe_free (LrNatTypeProbe *self)
{
  if (self == NULL)
    return;
  lr_clock_unref (self->clock);
  g_free (self);
}

static void
start_test (LrNatTypeProbe *self,
            LrNatTypeTest   test)
{
  self->test = test;
  self->sent = 0;
}

static void
finish (LrNatTypeProbe *self)
{
  LrNatTypeResult *result = &self->result;

  self->done = TRUE;
  result->type = lr_nat_type_classify (result->mapping, result->filtering, result->behind_nat);
}

static void
destination_of (LrNatTypeProbe *self,
                LrNatTypeTest   test,
                LrStunAddress  *out,
                guint32        *change_request)
{
  *change_request = 0;
  *out = self->primary;
  switch (test)
    {
    case LR_NAT_TYPE_TEST_BINDING:
      break;
    case LR_NAT_TYPE_TEST_FILTERING_IP_PORT:
      *change_request = LR_STUN_CHANGE_IP | LR_STUN_CHANGE_PORT;
      break;
    case LR_NAT_TYPE_TEST_FILTERING_PORT:
      *change_request = LR_STUN_CHANGE_PORT;
      break;
    case LR_NAT_TYPE_TEST_MAPPING_IP:
      memcpy (out->address, self->other.address, sizeof out->address);
      break;
    case LR_NAT_TYPE_TEST_MAPPING_IP_PORT:
      *out = self->other;
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
build_request (LrNatTypeProbe   *self,
               LrNatTypeRequest *request)
{
  static const guint8 zeros[LR_NAT_TYPE_REQUEST_SIZE];
  LrStunBuilder builder;

  memset (request, 0, sizeof *request);
  request->test = self->test;
  destination_of (self, self->test, &request->destination, &request->change_request);
  memcpy (request->transaction_id, self->transaction_id, LR_STUN_TRANSACTION_SIZE);

  lr_stun_builder_init (&builder, request->data, sizeof request->data, LR_STUN_METHOD_BINDING,
                        LR_STUN_CLASS_REQUEST, self->transaction_id);
  if (request->change_request != 0)
    lr_stun_builder_add_u32 (&builder, LR_STUN_ATTR_CHANGE_REQUEST, request->change_request);
  if (self->pad)
    {
      /* What is left after the PADDING header and the 8-byte FINGERPRINT. */
      gsize padding = LR_NAT_TYPE_REQUEST_SIZE - builder.length - 4 - 8;

      lr_stun_builder_add (&builder, LR_STUN_ATTR_PADDING, zeros, padding);
    }
  lr_stun_builder_add_fingerprint (&builder);
  request->length = lr_stun_builder_finish (&builder);
  g_assert (request->length > 0);
}

/* What silence means for each test. */
static void
time_out (LrNatTypeProbe *self)
{
  LrNatTypeResult *result = &self->result;

  switch (self->test)
    {
    case LR_NAT_TYPE_TEST_BINDING:
      /* Some servers answer a padded request with a padded answer (coturn sends about
       * 1600 bytes), which a path that drops IP fragments loses: ask once more without
       * padding before calling the server unreachable from this port. */
      if (self->pad)
        {
          self->pad = FALSE;
          start_test (self, LR_NAT_TYPE_TEST_BINDING);
          break;
        }
      finish (self);
      break;
    case LR_NAT_TYPE_TEST_FILTERING_IP_PORT:
      start_test (self, LR_NAT_TYPE_TEST_FILTERING_PORT);
      break;
    case LR_NAT_TYPE_TEST_FILTERING_PORT:
      result->filtering = LR_NAT_ADDRESS_AND_PORT_DEPENDENT;
      start_test (self, LR_NAT_TYPE_TEST_MAPPING_IP);
      break;
    case LR_NAT_TYPE_TEST_MAPPING_IP:
    case LR_NAT_TYPE_TEST_MAPPING_IP_PORT:
      /* Nothing filters an answer from where the request went: the alternate address is
       * down or the path lost every try. The mapping stays unknown. */
      finish (self);
      break;
    default:
      g_assert_not_reached ();
    }
}

LrNatTypeProbeAction
lr_nat_type_probe_next (LrNatTypeProbe   *self,
                        LrNatTypeRequest *request,
                        gint64           *wake_us)
{
  g_return_val_if_fail (self != NULL && request != NULL && wake_us != NULL,
                        LR_NAT_TYPE_PROBE_DONE);

  for (;;)
    {
      gint64 now = lr_clock_now_us (self->clock);
      gint64 retransmit_us;
      gint64 timeout_us;

      if (self->done)
        return LR_NAT_TYPE_PROBE_DONE;

      if (self->sent == 0)
        {
          randombytes_buf (self->transaction_id, sizeof self->transaction_id);
          self->started_us = now;
          self->sent = 1;
          build_request (self, request);
          return LR_NAT_TYPE_PROBE_SEND;
        }

      timeout_us = self->started_us + LR_NAT_TYPE_TEST_TIMEOUT_US;
      if (now >= timeout_us)
        {
          time_out (self);
          continue;
        }

      /* The n-th retransmission goes out at RTO * (2^n - 1), as RFC 8489 section 6.2.1. */
      retransmit_us = self->started_us + LR_NAT_TYPE_RTO_US * ((1 << self->sent) - 1);
      if (self->sent < LR_NAT_TYPE_TRANSMISSIONS && now >= retransmit_us)
        {
          self->sent++;
          build_request (self, request);
          return LR_NAT_TYPE_PROBE_SEND;
        }

      *wake_us = self->sent < LR_NAT_TYPE_TRANSMISSIONS ? MIN (retransmit_us, timeout_us)
                                                        : timeout_us;
      return LR_NAT_TYPE_PROBE_WAIT;
    }
}

static gboolean
same_host (const LrStunAddress *a,
           const LrStunAddress *b)
{
  LrStunAddress b_on_a_port = *b;

  b_on_a_port.port = a->port;
  return lr_stun_address_equal (a, &b_on_a_port);
}

/* An error answer: 420 naming PADDING means a server without RFC 5780's padding (ask
 * again without); 420 on a CHANGE-REQUEST means no behaviour discovery. */
static void
handle_error (LrNatTypeProbe      *self,
              const LrStunMessage *message)
{
  guint code = 0;

  lr_stun_message_get_error (message, &code, NULL);
  if (code == 420 && self->pad)
    {
      g_debug ("STUN server refuses an attribute; asking again without padding");
      self->pad = FALSE;
      start_test (self, self->test);
      return;
    }
  /* Whatever was measured so far stands; the rest stays unknown. */
  finish (self);
}

static void
handle_success (LrNatTypeProbe      *self,
                const LrStunMessage *message,
                const LrStunAddress *mapped,
                const LrStunAddress *from)
{
  LrNatTypeResult *result = &self->result;
  LrStunAddress other;

  switch (self->test)
    {
    case LR_NAT_TYPE_TEST_BINDING:
      result->reachable = TRUE;
      result->public_endpoint = *mapped;
      result->behind_nat = !lr_stun_address_equal (mapped, &self->local);
      result->port_preserved = mapped->port == self->local.port;
      /* RFC 5780 section 4.2: without OTHER-ADDRESS the server cannot do discovery. An
       * alternate that shares the primary's address or port could not tell behaviours
       * apart either. */
      if (!lr_stun_message_get_address (message, LR_STUN_ATTR_OTHER_ADDRESS, &other) ||
          other.family != self->primary.family || other.port == self->primary.port ||
          same_host (&other, &self->primary))
        {
          finish (self);
          return;
        }
      self->other = other;
      start_test (self, LR_NAT_TYPE_TEST_FILTERING_IP_PORT);
      break;

    case LR_NAT_TYPE_TEST_FILTERING_IP_PORT:
      /* An answer from the primary address means the server ignored CHANGE-REQUEST: it
       * would make every NAT look open, so nothing more is believed. */
      if (same_host (from, &self->primary) || from->port == self->primary.port)
        {
          finish (self);
          return;
        }
      result->rfc5780 = TRUE;
      result->filtering = LR_NAT_ENDPOINT_INDEPENDENT;
      start_test (self, LR_NAT_TYPE_TEST_MAPPING_IP);
      break;

    case LR_NAT_TYPE_TEST_FILTERING_PORT:
      if (!same_host (from, &self->primary) || from->port == self->primary.port)
        {
          finish (self);
          return;
        }
      result->rfc5780 = TRUE;
      result->filtering = LR_NAT_ADDRESS_DEPENDENT;
      start_test (self, LR_NAT_TYPE_TEST_MAPPING_IP);
      break;

    case LR_NAT_TYPE_TEST_MAPPING_IP:
      result->rfc5780 = TRUE;
      if (lr_stun_address_equal (mapped, &result->public_endpoint))
        {
          result->mapping = LR_NAT_ENDPOINT_INDEPENDENT;
          finish (self);
          return;
        }
      self->mapped_ip = *mapped;
      start_test (self, LR_NAT_TYPE_TEST_MAPPING_IP_PORT);
      break;

    case LR_NAT_TYPE_TEST_MAPPING_IP_PORT:
      result->mapping = lr_stun_address_equal (mapped, &self->mapped_ip)
                        ? LR_NAT_ADDRESS_DEPENDENT : LR_NAT_ADDRESS_AND_PORT_DEPENDENT;
      finish (self);
      break;

    default:
      g_assert_not_reached ();
    }
}

/**
 * lr_nat_type_probe_handle:
 * @from: where the datagram came from
 *
 * Takes a datagram that arrived on the local port. Returns TRUE when it was the answer to
 * the current test (call lr_nat_type_probe_next() again), FALSE when it is not ours: not
 * STUN, malformed, another transaction, or an answer from where no answer may come.
 */
gboolean
lr_nat_type_probe_handle (LrNatTypeProbe      *self,
                          const guint8        *data,
                          gsize                length,
                          const LrStunAddress *from)
{
  LrStunMessage message;
  LrStunAddress mapped;
  LrStunAddress expected;
  guint32 change_request;

  g_return_val_if_fail (self != NULL && from != NULL, FALSE);

  if (self->done || self->sent == 0 || data == NULL ||
      !lr_stun_message_parse (&message, data, length, NULL) ||
      message.method != LR_STUN_METHOD_BINDING ||
      (message.klass != LR_STUN_CLASS_SUCCESS && message.klass != LR_STUN_CLASS_ERROR) ||
      memcmp (message.transaction_id, self->transaction_id, LR_STUN_TRANSACTION_SIZE) != 0)
    return FALSE;
  if (lr_stun_message_find (&message, LR_STUN_ATTR_FINGERPRINT) != NULL &&
      !lr_stun_message_check_fingerprint (&message))
    return FALSE;

  /* A request without CHANGE-REQUEST is answered from where it went. */
  destination_of (self, self->test, &expected, &change_request);
  if (change_request == 0 && !lr_stun_address_equal (from, &expected))
    return FALSE;

  if (message.klass == LR_STUN_CLASS_ERROR)
    {
      handle_error (self, &message);
      return TRUE;
    }

  if (!lr_stun_message_get_address (&message, LR_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) &&
      !lr_stun_message_get_address (&message, LR_STUN_ATTR_MAPPED_ADDRESS, &mapped))
    return FALSE;
  if (mapped.family != self->primary.family)
    return FALSE;

  handle_success (self, &message, &mapped, from);
  return TRUE;
}

gboolean
lr_nat_type_probe_is_done (LrNatTypeProbe *self)
{
  return self->done;
}

const LrNatTypeResult *
lr_nat_type_probe_get_result (LrNatTypeProbe *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return &self->result;
}
