/* test-control-token-cache.c: verified tokens remembered for heartbeats
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The cache is a plain structure on explicit times; the service's use of it (forgetting on
 * leave, removal and close, through this instance or another) is covered against the real
 * binary by /control/peer/heartbeat-after-removal and /control/instances/revoked-tokens.
 */
#include "lrc-token-cache.h"

#include <string.h>

#define LIFETIME_US (G_GINT64_CONSTANT (120) * G_USEC_PER_SEC)
#define T0          (G_GINT64_CONSTANT (1800000000) * G_USEC_PER_SEC)

static const char *party_a = "aaaaaaaaaaaaaaaa";
static const char *party_b = "bbbbbbbbbbbbbbbb";
static const char *peer_1 = "1111111111111111";
static const char *peer_2 = "2222222222222222";
static const char *peer_3 = "3333333333333333";

static void
hash_of (const char *token,
         guint8      out[LR_TOKEN_HASH_LENGTH])
{
  lr_token_hash (token, out);
}

static gboolean
known (LrcTokenCache *cache,
       const char    *token,
       gint64         now_us,
       const char    *expected_peer)
{
  guint8 hash[LR_TOKEN_HASH_LENGTH];
  char party_id[LR_ID_LENGTH + 1] = "";
  char peer_id[LR_ID_LENGTH + 1] = "";
  gboolean found;

  hash_of (token, hash);
  found = lrc_token_cache_lookup (cache, hash, now_us, party_id, peer_id);
  if (found && expected_peer != NULL)
    g_assert_cmpstr (peer_id, ==, expected_peer);
  return found;
}

static void
remember (LrcTokenCache *cache,
          const char    *token,
          const char    *party_id,
          const char    *peer_id,
          guint64        epoch,
          gint64         now_us)
{
  guint8 hash[LR_TOKEN_HASH_LENGTH];

  hash_of (token, hash);
  lrc_token_cache_remember (cache, hash, party_id, peer_id, epoch, now_us);
}

static void
test_remember_and_lookup (void)
{
  g_autoptr(LrcTokenCache) cache = lrc_token_cache_new (LIFETIME_US);
  guint64 epoch = lrc_token_cache_get_epoch (cache);
  guint8 hash[LR_TOKEN_HASH_LENGTH];
  char party_id[LR_ID_LENGTH + 1];
  char peer_id[LR_ID_LENGTH + 1];

  g_assert_false (known (cache, "token-one", T0, NULL));
  remember (cache, "token-one", party_a, peer_1, epoch, T0);
  remember (cache, "token-two", party_a, peer_2, epoch, T0);

  hash_of ("token-one", hash);
  g_assert_true (lrc_token_cache_lookup (cache, hash, T0 + 1, party_id, peer_id));
  g_assert_cmpstr (party_id, ==, party_a);
  g_assert_cmpstr (peer_id, ==, peer_1);
  g_assert_true (known (cache, "token-two", T0 + 1, peer_2));
  g_assert_false (known (cache, "token-three", T0 + 1, NULL));
  g_assert_cmpuint (lrc_token_cache_get_size (cache), ==, 2);

  /* Ids that are not ids are not remembered. */
  remember (cache, "token-bad", party_a, "short", epoch, T0);
  g_assert_false (known (cache, "token-bad", T0, NULL));
}

static void
test_lifetime (void)
{
  g_autoptr(LrcTokenCache) cache = lrc_token_cache_new (LIFETIME_US);

  remember (cache, "token-one", party_a, peer_1, lrc_token_cache_get_epoch (cache), T0);
  g_assert_true (known (cache, "token-one", T0 + LIFETIME_US - 1, peer_1));
  g_assert_false (known (cache, "token-one", T0 + LIFETIME_US, NULL));
  g_assert_cmpuint (lrc_token_cache_get_size (cache), ==, 0);

  /* A clock that went back trusts nothing it remembered. */
  remember (cache, "token-one", party_a, peer_1, lrc_token_cache_get_epoch (cache), T0);
  g_assert_false (known (cache, "token-one", T0 - 1, NULL));

  /* expire() drops what nobody asks for any more. */
  remember (cache, "token-one", party_a, peer_1, lrc_token_cache_get_epoch (cache), T0);
  remember (cache, "token-two", party_a, peer_2, lrc_token_cache_get_epoch (cache),
            T0 + LIFETIME_US / 2);
  lrc_token_cache_expire (cache, T0 + LIFETIME_US);
  g_assert_cmpuint (lrc_token_cache_get_size (cache), ==, 1);
  g_assert_true (known (cache, "token-two", T0 + LIFETIME_US, peer_2));
}

static void
test_forget (void)
{
  g_autoptr(LrcTokenCache) cache = lrc_token_cache_new (LIFETIME_US);
  guint64 epoch = lrc_token_cache_get_epoch (cache);

  remember (cache, "token-one", party_a, peer_1, epoch, T0);
  remember (cache, "token-two", party_a, peer_2, epoch, T0);
  remember (cache, "token-three", party_b, peer_3, epoch, T0);

  lrc_token_cache_forget_peer (cache, peer_1);
  g_assert_false (known (cache, "token-one", T0, NULL));
  g_assert_true (known (cache, "token-two", T0, peer_2));

  lrc_token_cache_forget_party (cache, party_a);
  g_assert_false (known (cache, "token-two", T0, NULL));
  g_assert_true (known (cache, "token-three", T0, peer_3));

  lrc_token_cache_clear (cache);
  g_assert_false (known (cache, "token-three", T0, NULL));
  g_assert_cmpuint (lrc_token_cache_get_size (cache), ==, 0);
}

/* A verification that was under way when a removal came in may have read the peer before
 * the removal committed: it must not be remembered. */
static void
test_epoch (void)
{
  g_autoptr(LrcTokenCache) cache = lrc_token_cache_new (LIFETIME_US);
  guint64 before = lrc_token_cache_get_epoch (cache);

  lrc_token_cache_forget_peer (cache, peer_1);
  remember (cache, "token-one", party_a, peer_1, before, T0);
  g_assert_false (known (cache, "token-one", T0, NULL));

  before = lrc_token_cache_get_epoch (cache);
  lrc_token_cache_forget_party (cache, party_b);
  remember (cache, "token-one", party_a, peer_1, before, T0);
  g_assert_false (known (cache, "token-one", T0, NULL));

  before = lrc_token_cache_get_epoch (cache);
  lrc_token_cache_clear (cache);
  remember (cache, "token-one", party_a, peer_1, before, T0);
  g_assert_false (known (cache, "token-one", T0, NULL));

  remember (cache, "token-one", party_a, peer_1, lrc_token_cache_get_epoch (cache), T0);
  g_assert_true (known (cache, "token-one", T0, peer_1));
}

/* One entry per token and per peer: a peer's newer token replaces its older one. */
static void
test_one_entry_per_peer (void)
{
  g_autoptr(LrcTokenCache) cache = lrc_token_cache_new (LIFETIME_US);
  guint64 epoch = lrc_token_cache_get_epoch (cache);

  remember (cache, "token-old", party_a, peer_1, epoch, T0);
  remember (cache, "token-new", party_a, peer_1, epoch, T0);
  g_assert_false (known (cache, "token-old", T0, NULL));
  g_assert_true (known (cache, "token-new", T0, peer_1));
  remember (cache, "token-new", party_a, peer_2, epoch, T0);
  g_assert_true (known (cache, "token-new", T0, peer_2));
  g_assert_cmpuint (lrc_token_cache_get_size (cache), ==, 1);

  lrc_token_cache_forget_peer (cache, peer_1);
  g_assert_true (known (cache, "token-new", T0, peer_2));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/control/token-cache/remember-and-lookup", test_remember_and_lookup);
  g_test_add_func ("/control/token-cache/lifetime", test_lifetime);
  g_test_add_func ("/control/token-cache/forget", test_forget);
  g_test_add_func ("/control/token-cache/epoch", test_epoch);
  g_test_add_func ("/control/token-cache/one-entry-per-peer", test_one_entry_per_peer);

  return g_test_run ();
}
