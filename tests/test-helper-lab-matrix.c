/* test-helper-lab-matrix.c: the NAT matrix with full helpers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every unordered pair of the lab's NAT kinds, and two hosts behind one NAT, as a party of
 * two full helpers (lr-test-party-lab.h): each cell must end on the path the NATs allow
 * (docs/direct-path.md, "The NAT matrix"), never stuck in "connecting", with pings crossing
 * the tunnel both ways. A binary of its own, so that meson runs it beside test-helper-lab.
 *
 * Everything runs in a private mount namespace with its own tmpfs on /run/netns,
 * /run/wireguard and TMPDIR, and every process dies with the test: nothing is left on the
 * machine, even after a crash. Needs root; skips (TAP plan "1..0 # SKIP") without it.
 */
#include "lr-test-party-lab.h"

/* A pair can be punched unless one side maps per destination (symmetric) while the other
 * filters by port (port-restricted, translated or not, symmetric, hostile): the packets of
 * the side that maps per destination come from a port the other side's filter never opened.
 * A hostile router (port-restricted without the input drop rule) can move its mapping when
 * the peer's packet arrives first, so towards another port-filtering NAT either path is
 * right; towards a NAT that does not filter by port it still goes direct. */
static const LrTestPartyCase matrix[] = {
  { { "port-restricted", "port-restricted", NULL }, "direct" },
  { { "port-restricted", "port-restricted-translated", NULL }, "direct" },
  { { "port-restricted", "restricted-cone", NULL }, "direct" },
  { { "port-restricted", "full-cone", NULL }, "direct" },
  { { "port-restricted", "symmetric", NULL }, "relayed" },
  { { "port-restricted", "hostile", NULL }, NULL },
  { { "port-restricted-translated", "port-restricted-translated", NULL }, "direct" },
  { { "port-restricted-translated", "restricted-cone", NULL }, "direct" },
  { { "port-restricted-translated", "full-cone", NULL }, "direct" },
  { { "port-restricted-translated", "symmetric", NULL }, "relayed" },
  { { "port-restricted-translated", "hostile", NULL }, NULL },
  { { "restricted-cone", "restricted-cone", NULL }, "direct" },
  { { "restricted-cone", "full-cone", NULL }, "direct" },
  { { "restricted-cone", "symmetric", NULL }, "direct" },
  { { "restricted-cone", "hostile", NULL }, "direct" },
  { { "full-cone", "full-cone", NULL }, "direct" },
  { { "full-cone", "symmetric", NULL }, "direct" },
  { { "full-cone", "hostile", NULL }, "direct" },
  { { "symmetric", "symmetric", NULL }, "relayed" },
  { { "symmetric", "hostile", NULL }, "relayed" },
  { { "hostile", "hostile", NULL }, NULL },
  /* Two hosts behind one router go direct by their LAN addresses, even where no public
   * address could carry the pair. */
  { { "port-restricted", "port-restricted", NULL }, "direct", FALSE, TRUE },
  { { "symmetric", "symmetric", NULL }, "direct", FALSE, TRUE },
};

/* The table holds every unordered pair of the lab's NAT kinds (lr_test_nats and the hostile
 * one) once, so a kind added to the lab is not left out of the matrix. */
static void
test_every_pair (void)
{
  guint n_kinds = lr_test_n_nats + 1;

  for (guint a = 0; a < n_kinds; a++)
    for (guint b = a; b < n_kinds; b++)
      {
        const LrTestNat *first = a < lr_test_n_nats ? &lr_test_nats[a] : &lr_test_nat_hostile;
        const LrTestNat *second = b < lr_test_n_nats ? &lr_test_nats[b] : &lr_test_nat_hostile;
        guint found = 0;

        for (guint i = 0; i < G_N_ELEMENTS (matrix); i++)
          if (!matrix[i].same_nat
              && ((g_str_equal (matrix[i].nats[0], first->name)
                   && g_str_equal (matrix[i].nats[1], second->name))
                  || (g_str_equal (matrix[i].nats[0], second->name)
                      && g_str_equal (matrix[i].nats[1], first->name))))
            found++;
        if (found != 1)
          g_test_fail_printf ("%s + %s is in the matrix %u times", first->name, second->name,
                              found);
      }
}

int
main (int   argc,
      char *argv[])
{
  /* A test that cannot run here says so (TAP "skip") and exits 0. */
  if (!lr_test_party_init (&argc, &argv))
    return 0;
  g_test_add_func ("/helper-lab-matrix/every-pair", test_every_pair);
  for (guint i = 0; i < G_N_ELEMENTS (matrix); i++)
    {
      g_autofree char *path
          = g_strdup_printf ("/helper-lab-matrix/%s+%s%s", matrix[i].nats[0], matrix[i].nats[1],
                             matrix[i].same_nat ? "/same-nat" : "");

      g_test_add (path, LrTestParty, &matrix[i], lr_test_party_setup, lr_test_party_test_direct,
                  lr_test_party_teardown);
    }
  return g_test_run ();
}
