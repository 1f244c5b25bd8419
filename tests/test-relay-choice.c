/* test-relay-choice.c: which relay a client sends through, on a manual clock
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-choice.h"

/* The choice, with a manual clock: no waiting. */
static void
test_hysteresis (void)
{
  g_autoptr(LrClock) clock = lr_clock_new_manual (1000 * G_USEC_PER_SEC);
  LrRelayChoice choice;
  LrRelayMeasure m[3];
  LrRelayChoiceReason reason;
  gint64 now;
  int chosen;

  lr_relay_choice_init (&choice, clock);
  now = lr_clock_now_us (clock);
  m[0] = (LrRelayMeasure) { 1.0, now, 0 };
  m[1] = (LrRelayMeasure) { 0.5, now, 0 };
  m[2] = (LrRelayMeasure) { -1, 0, 0 };

  /* Nothing is chosen before a round is done. */
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, -1, FALSE, &reason), ==, -1);
  g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_KEEP);
  /* 0.5 ms is lower but not clearly: the one listed first wins. */
  chosen = lr_relay_choice_choose (&choice, m, 3, -1, TRUE, &reason);
  g_assert_cmpint (chosen, ==, 0);
  g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_FIRST);

  /* Clearly lower: the lowest wins. */
  m[0].rtt_ms = 40;
  m[1].rtt_ms = 20;
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, -1, TRUE, &reason), ==, 1);

  /* Current 0 at 40 ms; 1 at 35 ms is only slightly better, round after round. */
  m[1].rtt_ms = 35;
  for (guint round = 0; round < 5; round++)
    {
      lr_clock_advance (clock, 30 * G_USEC_PER_SEC);
      now = lr_clock_now_us (clock);
      m[0].last_answer_us = m[1].last_answer_us = now;
      g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 0, TRUE, &reason), ==, 0);
      g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_KEEP);
    }

  /* 25 ms is clearly better (≥ 25 % and ≥ 10 ms lower): once is not enough ... */
  m[1].rtt_ms = 25;
  lr_clock_advance (clock, 30 * G_USEC_PER_SEC);
  now = lr_clock_now_us (clock);
  m[0].last_answer_us = m[1].last_answer_us = now;
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 0, TRUE, &reason), ==, 0);
  g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_KEEP);
  /* ... and between rounds nothing moves ... */
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 0, FALSE, &reason), ==, 0);
  /* ... a round where it is not clearly better starts the count again ... */
  m[1].rtt_ms = 38;
  lr_clock_advance (clock, 30 * G_USEC_PER_SEC);
  now = lr_clock_now_us (clock);
  m[0].last_answer_us = m[1].last_answer_us = now;
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 0, TRUE, &reason), ==, 0);
  m[1].rtt_ms = 25;
  lr_clock_advance (clock, 30 * G_USEC_PER_SEC);
  now = lr_clock_now_us (clock);
  m[0].last_answer_us = m[1].last_answer_us = now;
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 0, TRUE, &reason), ==, 0);
  /* ... and the second round in a row switches. */
  lr_clock_advance (clock, 30 * G_USEC_PER_SEC);
  now = lr_clock_now_us (clock);
  m[0].last_answer_us = m[1].last_answer_us = now;
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 0, TRUE, &reason), ==, 1);
  g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_BETTER);

  /* A clearly better relay that did not answer in this round does not count. */
  m[0].rtt_ms = 5;
  lr_clock_advance (clock, 30 * G_USEC_PER_SEC);
  now = lr_clock_now_us (clock);
  m[1].last_answer_us = now;
  m[0].last_answer_us = now - 20 * G_USEC_PER_SEC;
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 1, TRUE, &reason), ==, 1);
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 1, TRUE, &reason), ==, 1);

  /* The current one stops answering: the best other at once, between rounds too. */
  m[0].rtt_ms = 50;
  m[0].last_answer_us = now;
  lr_clock_advance (clock, 2 * G_USEC_PER_SEC);
  now = lr_clock_now_us (clock);
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 1, FALSE, &reason), ==, 1);
  lr_clock_advance (clock, 2 * G_USEC_PER_SEC);
  now = lr_clock_now_us (clock);
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 1, FALSE, &reason), ==, 0);
  g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_DEAD);

  /* A refusing relay (full) is left at once too. */
  m[0].last_answer_us = now;
  m[0].unusable_until_us = now + 60 * G_USEC_PER_SEC;
  m[1].last_answer_us = now;
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 0, FALSE, &reason), ==, 1);
  g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_DEAD);

  /* Nobody answers any more. */
  lr_clock_advance (clock, 120 * G_USEC_PER_SEC);
  now = lr_clock_now_us (clock);
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, 1, FALSE, &reason), ==, -1);
  g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_NONE);
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 3, -1, TRUE, &reason), ==, -1);
  g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_NONE);
  g_assert_cmpint (lr_relay_choice_choose (&choice, m, 0, -1, TRUE, &reason), ==, -1);
  g_assert_cmpint (reason, ==, LR_RELAY_CHOICE_NONE);
  lr_relay_choice_clear (&choice);
}

/* Usable: answered, not refusing, and recently enough for its role. */
static void
test_usable (void)
{
  gint64 now = 1000 * G_USEC_PER_SEC;
  LrRelayMeasure never = { -1, 0, 0 };
  LrRelayMeasure fresh = { 3.0, now, 0 };
  LrRelayMeasure refusing = { 3.0, now, now + 1 };
  LrRelayMeasure quiet = { 3.0, now - LR_RELAY_DEAD_AFTER_US - 1, 0 };

  g_assert_false (lr_relay_measure_is_usable (&never, FALSE, now));
  g_assert_true (lr_relay_measure_is_usable (&fresh, TRUE, now));
  g_assert_false (lr_relay_measure_is_usable (&refusing, FALSE, now));
  g_assert_true (lr_relay_measure_is_usable (&refusing, FALSE, now + 1));
  /* The chosen relay is dead after a few seconds of silence; another is only stale after
   * two rounds. */
  g_assert_false (lr_relay_measure_is_usable (&quiet, TRUE, now));
  g_assert_true (lr_relay_measure_is_usable (&quiet, FALSE, now));
  g_assert_false (lr_relay_measure_is_usable (&quiet, FALSE,
                                              now + LR_RELAY_STALE_AFTER_US));
}

/* The relay that takes over when the chosen one goes quiet is the one the choice would
 * take if it died: never the chosen one, never an unusable one, the list order among the
 * about as near. */
static void
test_standby (void)
{
  g_autoptr(LrClock) clock = lr_clock_new_manual (1000 * G_USEC_PER_SEC);
  gint64 now = lr_clock_now_us (clock);
  LrRelayMeasure m[4];

  m[0] = (LrRelayMeasure) { 10.0, now, 0 };
  m[1] = (LrRelayMeasure) { 30.0, now, 0 };
  m[2] = (LrRelayMeasure) { 12.0, now, 0 };
  m[3] = (LrRelayMeasure) { 1.0, 0, 0 };                    /* never answered */
  g_assert_cmpint (lr_relay_choice_standby (m, 4, 0, now), ==, 2);
  g_assert_cmpint (lr_relay_choice_standby (m, 4, 2, now), ==, 0);
  /* 1 is about as near as 2 and listed first. */
  m[1].rtt_ms = 11.0;
  g_assert_cmpint (lr_relay_choice_standby (m, 4, 0, now), ==, 1);
  /* Refused us for a while, or stale: not a standby. */
  m[1].unusable_until_us = now + G_USEC_PER_SEC;
  g_assert_cmpint (lr_relay_choice_standby (m, 4, 0, now), ==, 2);
  m[2].last_answer_us = now - LR_RELAY_STALE_AFTER_US - 1;
  g_assert_cmpint (lr_relay_choice_standby (m, 4, 0, now), ==, -1);
  g_assert_cmpint (lr_relay_choice_standby (m, 0, -1, now), ==, -1);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lr/relay-choice/hysteresis", test_hysteresis);
  g_test_add_func ("/lr/relay-choice/usable", test_usable);
  g_test_add_func ("/lr/relay-choice/standby", test_standby);

  return g_test_run ();
}
