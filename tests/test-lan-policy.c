/* test-lan-policy.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"
#include "lr-lan-frame.h"
#include "lr-lan-policy.h"

#define OWN   G_GUINT64_CONSTANT (0x1111111111111111)
#define OTHER G_GUINT64_CONSTANT (0x2222222222222222)
/* Members' virtual addresses, host byte order */
#define MEMBER   0x0a420002u
#define MEMBER_2 0x0a420003u
#define BROADCAST 0xffffffffu
#define MINECRAFT_GROUP 0xe000023cu
#define START_US (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC)

typedef struct
{
  LrClock     *clock;
  LrLanPolicy *policy;
} Fixture;

/* A frame from @member's bridge @sender to the broadcast address, @port. */
static LrLanVerdict
incoming (Fixture *f,
          guint32  member,
          guint64  sender,
          guint32  sequence,
          guint16  port,
          gsize    length)
{
  return lr_lan_policy_check_incoming (f->policy, member, sender, sequence, BROADCAST, port,
                                       length, FALSE);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->clock = lr_clock_new_manual (START_US);
  f->policy = lr_lan_policy_new (f->clock, OWN);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  lr_lan_policy_free (f->policy);
  lr_clock_unref (f->clock);
}

static void
test_deny_list_default (Fixture       *f,
                        gconstpointer  data)
{
  static const guint16 denied[] = { 67, 68, 137, 138, 1900, 3702, 5353, 5355, 17500, 57621,
                                    1716, LR_LAN_FRAME_PORT };
  static const guint16 bridged[] = { 4445, 19132, 6112, 27015, 27020, 34197, 12345 };
  const LrLanDenyEntry *entries;
  guint n;

  for (guint i = 0; i < G_N_ELEMENTS (denied); i++)
    {
      const LrLanDenyEntry *entry = lr_lan_policy_find_denial (f->policy, BROADCAST, denied[i]);

      g_assert_nonnull (entry);
      g_assert_cmpuint (strlen (entry->reason), >, 10);
      g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, denied[i], 10, FALSE),
                       ==, LR_LAN_VERDICT_DENIED);
      g_assert_cmpint (incoming (f, MEMBER, OTHER, i, denied[i], 10), ==, LR_LAN_VERDICT_DENIED);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bridged); i++)
    g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, bridged[i], 10, FALSE),
                     ==, LR_LAN_VERDICT_BRIDGE);
  /* mDNS is denied whatever the group, Minecraft's group bridged. */
  g_assert_nonnull (lr_lan_policy_find_denial (f->policy, 0xe00000fb, 5353));
  g_assert_null (lr_lan_policy_find_denial (f->policy, MINECRAFT_GROUP, 4445));

  /* Every built-in entry is one that set_deny_list accepts. */
  entries = lr_lan_policy_get_default_deny_list (&n);
  g_assert_cmpuint (n, >=, 15);
  g_assert_true (lr_lan_policy_set_deny_list (f->policy, entries, n, NULL));
}

static void
test_deny_list_edit (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const LrLanDenyEntry good[] = {
    { 4445, 4445, MINECRAFT_GROUP, (char *) "No Minecraft tonight" },
    { 27015, 27020, 0, (char *) "Source servers stay home" },
  };
  LrLanDenyEntry bad;
  const LrLanDenyEntry *list;
  g_autofree char *long_reason = g_strnfill (LR_LAN_POLICY_MAX_REASON + 1, 'x');
  guint n;

  g_assert_true (lr_lan_policy_set_deny_list (f->policy, good, G_N_ELEMENTS (good), &error));
  g_assert_no_error (error);
  list = lr_lan_policy_get_deny_list (f->policy, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (list[1].reason, ==, "Source servers stay home");
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, MINECRAFT_GROUP, 4445, 50, TRUE), ==,
                   LR_LAN_VERDICT_DENIED);
  /* The group entry leaves the same port on another destination alone. */
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 4445, 50, TRUE), ==,
                   LR_LAN_VERDICT_BRIDGE);
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 27017, 50, TRUE), ==,
                   LR_LAN_VERDICT_DENIED);
  /* DHCP is no longer on the list the user gave. */
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 67, 50, FALSE), ==,
                   LR_LAN_VERDICT_BRIDGE);

  /* Each bad entry is refused with a message naming it, and nothing changes. */
#define REFUSED(first, last, group, why) \
  G_STMT_START { \
    bad = (LrLanDenyEntry) { first, last, group, (char *) (why) }; \
    g_assert_false (lr_lan_policy_set_deny_list (f->policy, &bad, 1, &error)); \
    g_assert_error (error, LR_ERROR, LR_ERROR_INVALID); \
    g_assert_nonnull (strstr (error->message, "entry 0")); \
    g_clear_error (&error); \
    lr_lan_policy_get_deny_list (f->policy, &n); \
    g_assert_cmpuint (n, ==, 2); \
  } G_STMT_END
  REFUSED (0, 10, 0, "zero port");
  REFUSED (20, 10, 0, "backwards");
  REFUSED (20, 20, 0x0a000001, "unicast group");
  REFUSED (20, 20, 0, "");
  REFUSED (20, 20, 0, NULL);
  REFUSED (20, 20, 0, "bell\a");
  REFUSED (20, 20, 0, "\xff\xfe not UTF-8");
  REFUSED (20, 20, 0, long_reason);
#undef REFUSED

  lr_lan_policy_reset_deny_list (f->policy);
  lr_lan_policy_get_deny_list (f->policy, &n);
  g_assert_cmpuint (n, >=, 15);
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 67, 50, FALSE), ==,
                   LR_LAN_VERDICT_DENIED);
}

static void
test_deny_list_variant (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) list = lr_lan_policy_dup_deny_list_variant (f->policy);
  g_autoptr(GVariant) edited = NULL;
  g_autoptr(GVariant) again = NULL;
  g_autofree char *text = NULL;
  guint n;
  static const char * const refused[] = {
    "[(uint16 4445, uint16 4445, '224.0.2', 'short group')]",
    "[(uint16 4445, uint16 4445, '224.0.2.600', 'octet too large')]",
    "[(uint16 4445, uint16 4445, '224.0.2.60.1', 'five octets')]",
    "[(uint16 4445, uint16 4445, '224.0.2.+6', 'a sign')]",
    "[(uint16 4445, uint16 4445, '10.0.0.1', 'not multicast')]",
    "[(uint16 0, uint16 4445, '', 'port 0')]",
    "[(uint16 4445, uint16 4445, '', '')]",
  };

  /* The built-in list survives a round trip through its printed form, as a settings file
   * would keep it. */
  lr_lan_policy_get_deny_list (f->policy, &n);
  g_assert_cmpuint (g_variant_n_children (list), ==, n);
  text = g_variant_print (list, TRUE);
  again = g_variant_parse (NULL, text, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lr_lan_policy_set_deny_list_variant (f->policy, again, &error));
  g_assert_no_error (error);

  edited = g_variant_ref_sink (g_variant_new_parsed (
    "[(uint16 4445, uint16 4445, '224.0.2.60', 'No Minecraft tonight'),"
    " (uint16 27015, uint16 27020, '', 'Source servers stay home')]"));
  g_assert_true (lr_lan_policy_set_deny_list_variant (f->policy, edited, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, MINECRAFT_GROUP, 4445, 10, TRUE), ==,
                   LR_LAN_VERDICT_DENIED);
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 4445, 10, TRUE), ==,
                   LR_LAN_VERDICT_BRIDGE);
  g_clear_pointer (&list, g_variant_unref);
  list = lr_lan_policy_dup_deny_list_variant (f->policy);
  g_assert_true (g_variant_equal (list, edited));

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(GVariant) bad = g_variant_ref_sink (g_variant_new_parsed (refused[i]));

      g_assert_false (lr_lan_policy_set_deny_list_variant (f->policy, bad, &error));
      g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
      g_clear_error (&error);
    }
  {
    g_autoptr(GVariant) wrong = g_variant_ref_sink (g_variant_new_parsed ("[(1, 2, 'x')]"));

    g_assert_false (lr_lan_policy_set_deny_list_variant (f->policy, wrong, &error));
    g_assert_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE);
    g_clear_error (&error);
  }
  /* Nothing refused changed the list. */
  g_clear_pointer (&list, g_variant_unref);
  list = lr_lan_policy_dup_deny_list_variant (f->policy);
  g_assert_true (g_variant_equal (list, edited));
}

static void
test_known_only (Fixture       *f,
                 gconstpointer  data)
{
  g_assert_false (lr_lan_policy_get_known_only (f->policy));
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 40000, 10, FALSE), ==,
                   LR_LAN_VERDICT_BRIDGE);
  lr_lan_policy_set_known_only (f->policy, TRUE);
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 40000, 10, FALSE), ==,
                   LR_LAN_VERDICT_NOT_KNOWN);
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 1, 40000, 10), ==, LR_LAN_VERDICT_NOT_KNOWN);
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, MINECRAFT_GROUP, 4445, 10, TRUE), ==,
                   LR_LAN_VERDICT_BRIDGE);
  /* The deny list still wins over a known title. */
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 5353, 10, TRUE), ==,
                   LR_LAN_VERDICT_DENIED);
}

static void
test_size (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  LrLanLimits limits;

  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 4000, 1472, FALSE), ==,
                   LR_LAN_VERDICT_BRIDGE);
  g_assert_cmpint (lr_lan_policy_check_outgoing (f->policy, BROADCAST, 4000, 1473, FALSE), ==,
                   LR_LAN_VERDICT_TOO_LARGE);

  lr_lan_limits_init_default (&limits);
  limits.max_size = 512;
  g_assert_true (lr_lan_policy_set_limits (f->policy, &limits, &error));
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 7, 4000, 513), ==, LR_LAN_VERDICT_TOO_LARGE);

  limits.max_size = 0;
  g_assert_false (lr_lan_policy_set_limits (f->policy, &limits, &error));
  g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
  g_clear_error (&error);
  limits.max_size = 100;
  limits.port_rate = 0;
  g_assert_false (lr_lan_policy_set_limits (f->policy, &limits, &error));
  g_assert_error (error, LR_ERROR, LR_ERROR_INVALID);
  g_assert_cmpuint (lr_lan_policy_get_limits (f->policy)->max_size, ==, 512);
}

static void
test_loop (Fixture       *f,
           gconstpointer  data)
{
  /* Our own frame comes back: dropped whatever its sequence. */
  g_assert_cmpint (incoming (f, MEMBER, OWN, 1, 4000, 10), ==, LR_LAN_VERDICT_LOOP);

  /* The same frame twice, or one out of the window: duplicates. Reordering inside the window
   * is fine. */
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 100, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 100, 4000, 10), ==, LR_LAN_VERDICT_DUPLICATE);
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 102, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 101, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 101, 4000, 10), ==, LR_LAN_VERDICT_DUPLICATE);
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 102 + 63, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
  /* 102 is now 63 behind: still remembered. 101 is 64 behind: out of the window. */
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 102, 4000, 10), ==, LR_LAN_VERDICT_DUPLICATE);
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 103, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 101, 4000, 10), ==, LR_LAN_VERDICT_DUPLICATE);
  /* A jump far ahead forgets the past window. */
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 100000, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
  g_assert_cmpint (incoming (f, MEMBER, OTHER, 99999, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
  /* Another member's numbers are its own. */
  g_assert_cmpint (incoming (f, MEMBER_2, OTHER + 1, 100, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
  /* A member's bridge that started again (a new id) starts its numbers again. */
  g_assert_cmpint (incoming (f, MEMBER, OTHER + 2, 5, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
  g_assert_cmpint (incoming (f, MEMBER, OTHER + 2, 5, 4000, 10), ==, LR_LAN_VERDICT_DUPLICATE);

  /* A bridge that starts afresh as a new sender recognises its new id, not the old one. */
  lr_lan_policy_set_own_sender (f->policy, OWN + 1);
  g_assert_cmpint (incoming (f, MEMBER, OWN + 1, 1, 4000, 10), ==, LR_LAN_VERDICT_LOOP);
  g_assert_cmpint (incoming (f, MEMBER, OWN, 1, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
}

/* @sender 0: what this host sends; else frames from MEMBER (@sender) or MEMBER_2
 * (@sender OTHER + 1). */
static guint
count_bridged (Fixture *f,
               guint64  sender,
               guint32 *sequence,
               guint16  port,
               guint    n,
               gint64   step_us)
{
  guint bridged = 0;

  for (guint i = 0; i < n; i++)
    {
      LrLanVerdict verdict;

      if (sender == 0)
        verdict = lr_lan_policy_check_outgoing (f->policy, BROADCAST, port, 100, FALSE);
      else
        verdict = incoming (f, sender == OTHER + 1 ? MEMBER_2 : MEMBER, sender, (*sequence)++,
                            port, 100);
      if (verdict == LR_LAN_VERDICT_BRIDGE)
        bridged++;
      lr_clock_advance (f->clock, step_us);
    }
  return bridged;
}

static void
test_rate (Fixture       *f,
           gconstpointer  data)
{
  guint32 sequence = 1;
  guint bridged;

  /* A flood of 1000 datagrams/s on one port for 10 s: the burst, then the steady rate. */
  bridged = count_bridged (f, OTHER, &sequence, 4000, 10000, 1000);
  g_assert_cmpuint (bridged, >=, LR_LAN_POLICY_DEFAULT_PORT_BURST +
                    10 * LR_LAN_POLICY_DEFAULT_PORT_RATE - 2);
  g_assert_cmpuint (bridged, <=, LR_LAN_POLICY_DEFAULT_PORT_BURST +
                    10 * LR_LAN_POLICY_DEFAULT_PORT_RATE + 2);
  /* The same flood that came from this host is capped the same way, on its own buckets. */
  bridged = count_bridged (f, 0, NULL, 4000, 10000, 1000);
  g_assert_cmpuint (bridged, >=, LR_LAN_POLICY_DEFAULT_PORT_BURST +
                    10 * LR_LAN_POLICY_DEFAULT_PORT_RATE - 2);
  g_assert_cmpuint (bridged, <=, LR_LAN_POLICY_DEFAULT_PORT_BURST +
                    10 * LR_LAN_POLICY_DEFAULT_PORT_RATE + 2);

  /* Minecraft's pace (one every 1.5 s) is never capped, even beside the flood. */
  lr_clock_advance (f->clock, 60 * G_USEC_PER_SEC);
  g_assert_cmpuint (count_bridged (f, OTHER, &sequence, 4445, 100, 1500 * 1000), ==, 100);

  /* A sender spreading a flood over many ports meets its own cap. */
  lr_clock_advance (f->clock, 60 * G_USEC_PER_SEC);
  bridged = 0;
  for (guint i = 0; i < 20000; i++)
    {
      if (incoming (f, MEMBER, OTHER, sequence++, (guint16) (20000 + i % 10000), 100) ==
          LR_LAN_VERDICT_BRIDGE)
        bridged++;
      lr_clock_advance (f->clock, 500); /* 2000/s */
    }
  g_assert_cmpuint (bridged, >=, LR_LAN_POLICY_DEFAULT_SENDER_BURST +
                    10 * LR_LAN_POLICY_DEFAULT_SENDER_RATE - 2);
  g_assert_cmpuint (bridged, <=, LR_LAN_POLICY_DEFAULT_SENDER_BURST +
                    10 * LR_LAN_POLICY_DEFAULT_SENDER_RATE + 2);
  /* ... while another member on a quiet port is untouched. */
  sequence = 1;
  g_assert_cmpuint (count_bridged (f, OTHER + 1, &sequence, 6112, 10, 1000), ==, 10);

  /* A member that changes its sender id with every frame meets the same cap: the cap is
   * the member's, not the id's. */
  lr_clock_advance (f->clock, 60 * G_USEC_PER_SEC);
  bridged = 0;
  for (guint i = 0; i < 20000; i++)
    {
      if (incoming (f, MEMBER, 5000 + i, 1, (guint16) (20000 + i % 10000), 100) ==
          LR_LAN_VERDICT_BRIDGE)
        bridged++;
      lr_clock_advance (f->clock, 500);
    }
  g_assert_cmpuint (bridged, <=, LR_LAN_POLICY_DEFAULT_SENDER_BURST +
                    10 * LR_LAN_POLICY_DEFAULT_SENDER_RATE + 2);
}

static void
test_many_senders (Fixture       *f,
                   gconstpointer  data)
{
  guint refused = 0;

  /* A member inventing sender ids takes one place in the table, so another member that
   * comes after it is still heard. */
  for (guint i = 0; i < LR_LAN_POLICY_MAX_SENDERS + 10; i++)
    (void) incoming (f, MEMBER, 1000 + i, 1, (guint16) (30000 + i), 10);
  g_assert_cmpint (incoming (f, MEMBER_2, 7, 1, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);

  /* The table holds as many members as the limit, then takes no new one in ... */
  for (guint i = 0; i < LR_LAN_POLICY_MAX_SENDERS + 10; i++)
    if (incoming (f, 0x0b000000u + i, 1000 + i, 1, (guint16) (30000 + i), 10) ==
        LR_LAN_VERDICT_SENDER_RATE)
      refused++;
  g_assert_cmpuint (refused, ==, 12);
  /* ... until the idle ones are forgotten after a minute. */
  lr_clock_advance (f->clock, 61 * G_USEC_PER_SEC);
  g_assert_cmpint (incoming (f, MEMBER, 5, 1, 4000, 10), ==, LR_LAN_VERDICT_BRIDGE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/lr/lan-policy/deny-list/default", test_deny_list_default);
  ADD ("/lr/lan-policy/deny-list/edit", test_deny_list_edit);
  ADD ("/lr/lan-policy/deny-list/variant", test_deny_list_variant);
  ADD ("/lr/lan-policy/known-only", test_known_only);
  ADD ("/lr/lan-policy/size", test_size);
  ADD ("/lr/lan-policy/loop", test_loop);
  ADD ("/lr/lan-policy/rate", test_rate);
  ADD ("/lr/lan-policy/many-senders", test_many_senders);
#undef ADD
  return g_test_run ();
}
