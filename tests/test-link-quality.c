/* test-link-quality.c: latency, jitter and loss of a path, on a manual clock
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-link-quality.h"

#define MS 1000

typedef struct
{
  LrClock       *clock;
  LrLinkQuality  quality;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->clock = lr_clock_new_manual (1000 * G_USEC_PER_SEC);
  lr_link_quality_init (&f->quality, f->clock);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  lr_link_quality_clear (&f->quality);
  lr_clock_unref (f->clock);
}

/* One probe answered after @rtt_ms. */
static void
round_trip (Fixture *f,
            guint64  id,
            gint64   rtt_ms)
{
  gint64 sent = lr_link_quality_sent (&f->quality, id);

  lr_clock_advance (f->clock, rtt_ms * MS);
  g_assert_true (lr_link_quality_answered (&f->quality, id, sent));
}

static void
test_latency (Fixture       *f,
              gconstpointer  data)
{
  g_assert_cmpfloat (f->quality.latency_ms, <, 0);
  g_assert_cmpfloat (f->quality.jitter_ms, <, 0);

  round_trip (f, 1, 40);
  g_assert_cmpfloat_with_epsilon (f->quality.latency_ms, 40, 1e-9);
  /* One sample: no jitter yet. */
  g_assert_cmpfloat (f->quality.jitter_ms, <, 0);

  /* RFC 6298: 40 + (48 - 40) / 8 = 41. */
  round_trip (f, 2, 48);
  g_assert_cmpfloat_with_epsilon (f->quality.latency_ms, 41, 1e-9);
  /* The first deviation is the jitter; then RFC 3550's 1/16 gain: 8 + (0 - 8) / 16. */
  g_assert_cmpfloat_with_epsilon (f->quality.jitter_ms, 8, 1e-9);
  round_trip (f, 3, 48);
  g_assert_cmpfloat_with_epsilon (f->quality.jitter_ms, 7.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (f->quality.loss_percent, 0, 1e-9);
}

static void
test_forged (Fixture       *f,
             gconstpointer  data)
{
  gint64 sent = lr_link_quality_sent (&f->quality, 7);

  lr_clock_advance (f->clock, 10 * MS);
  /* Wrong id, wrong time: nothing. */
  g_assert_false (lr_link_quality_answered (&f->quality, 8, sent));
  g_assert_false (lr_link_quality_answered (&f->quality, 7, sent + 1));
  g_assert_cmpfloat (f->quality.latency_ms, <, 0);
  g_assert_true (lr_link_quality_answered (&f->quality, 7, sent));
  /* A repeated answer counts once. */
  lr_clock_advance (f->clock, 100 * MS);
  g_assert_false (lr_link_quality_answered (&f->quality, 7, sent));
  g_assert_cmpfloat_with_epsilon (f->quality.latency_ms, 10, 1e-9);
}

static void
test_loss (Fixture       *f,
           gconstpointer  data)
{
  /* Four answered, one waiting: no loss yet. */
  for (guint64 id = 0; id < 4; id++)
    round_trip (f, id, 5);
  lr_link_quality_sent (&f->quality, 100);
  lr_clock_advance (f->clock, LR_LINK_PROBE_TIMEOUT_US - 1);
  g_assert_false (lr_link_quality_update_loss (&f->quality));
  g_assert_cmpfloat_with_epsilon (f->quality.loss_percent, 0, 1e-9);

  /* It times out: one in five. */
  lr_clock_advance (f->clock, 1);
  g_assert_true (lr_link_quality_update_loss (&f->quality));
  g_assert_cmpfloat_with_epsilon (f->quality.loss_percent, 20, 1e-9);
  g_assert_false (lr_link_quality_update_loss (&f->quality));

  /* The window holds the last ten: ten answered ones push the lost one out. */
  for (guint64 id = 200; id < 210; id++)
    round_trip (f, id, 5);
  g_assert_cmpfloat_with_epsilon (f->quality.loss_percent, 0, 1e-9);

  /* A path that dies: every probe lost. Hours of them change nothing more. */
  for (guint i = 0; i < 3600; i++)
    {
      lr_link_quality_sent (&f->quality, 1000 + i);
      lr_clock_advance (f->clock, 2 * G_USEC_PER_SEC);
      lr_link_quality_update_loss (&f->quality);
    }
  g_assert_cmpfloat_with_epsilon (f->quality.loss_percent, 100, 1e-9);
}

/* Probes sent before the path ever answered (the peer did not know us yet) are not lost;
 * once it has answered, every probe counts. */
static void
test_first_answer (Fixture       *f,
                   gconstpointer  data)
{
  lr_link_quality_sent (&f->quality, 1);
  lr_clock_advance (f->clock, LR_LINK_PROBE_TIMEOUT_US);
  lr_link_quality_sent (&f->quality, 2);
  lr_clock_advance (f->clock, LR_LINK_PROBE_TIMEOUT_US);
  /* Unanswered so far: lost, as far as anyone can tell. */
  g_assert_true (lr_link_quality_update_loss (&f->quality));
  g_assert_cmpfloat_with_epsilon (f->quality.loss_percent, 100, 1e-9);

  round_trip (f, 3, 5);
  g_assert_cmpfloat_with_epsilon (f->quality.loss_percent, 0, 1e-9);
  g_assert_cmpfloat_with_epsilon (f->quality.latency_ms, 5, 1e-9);
  /* A late answer to a forgotten probe measures nothing. */
  g_assert_false (lr_link_quality_answered (&f->quality, 1,
                                            f->quality.probes[0].sent_us));

  /* Later losses count. */
  round_trip (f, 4, 5);
  lr_link_quality_sent (&f->quality, 5);
  lr_clock_advance (f->clock, LR_LINK_PROBE_TIMEOUT_US);
  g_assert_true (lr_link_quality_update_loss (&f->quality));
  g_assert_cmpfloat_with_epsilon (f->quality.loss_percent, 100.0 / 3, 1e-9);
}

static void
test_name (void)
{
  g_assert_cmpstr (lr_link_quality_name (-1, 0), ==, "unknown");
  g_assert_cmpstr (lr_link_quality_name (0.5, 0), ==, "excellent");
  g_assert_cmpstr (lr_link_quality_name (29.9, 0.9), ==, "excellent");
  g_assert_cmpstr (lr_link_quality_name (30, 0), ==, "good");
  g_assert_cmpstr (lr_link_quality_name (10, 1), ==, "good");
  g_assert_cmpstr (lr_link_quality_name (80, 0), ==, "fair");
  g_assert_cmpstr (lr_link_quality_name (10, 3), ==, "fair");
  g_assert_cmpstr (lr_link_quality_name (150, 0), ==, "poor");
  g_assert_cmpstr (lr_link_quality_name (10, 10), ==, "poor");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/lr/link-quality/latency", test_latency);
  ADD ("/lr/link-quality/forged", test_forged);
  ADD ("/lr/link-quality/loss", test_loss);
  ADD ("/lr/link-quality/first-answer", test_first_answer);
#undef ADD
  g_test_add_func ("/lr/link-quality/name", test_name);

  return g_test_run ();
}
