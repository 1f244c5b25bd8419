/* lrc-token-cache.h: bearer tokens the database said are valid, for heartbeats
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "lr-id.h"
#include "lr-token.h"

G_BEGIN_DECLS

typedef struct _LrcTokenCache LrcTokenCache;

LrcTokenCache *lrc_token_cache_new          (gint64         lifetime_us);
void           lrc_token_cache_free         (LrcTokenCache *self);
guint64        lrc_token_cache_get_epoch    (LrcTokenCache *self);
gboolean       lrc_token_cache_lookup       (LrcTokenCache *self,
                                             const guint8   hash[LR_TOKEN_HASH_LENGTH],
                                             gint64         now_us,
                                             char           party_id[LR_ID_LENGTH + 1],
                                             char           peer_id[LR_ID_LENGTH + 1]);
void           lrc_token_cache_remember     (LrcTokenCache *self,
                                             const guint8   hash[LR_TOKEN_HASH_LENGTH],
                                             const char    *party_id,
                                             const char    *peer_id,
                                             guint64        epoch,
                                             gint64         now_us);
void           lrc_token_cache_forget_peer  (LrcTokenCache *self,
                                             const char    *peer_id);
void           lrc_token_cache_forget_party (LrcTokenCache *self,
                                             const char    *party_id);
void           lrc_token_cache_clear        (LrcTokenCache *self);
void           lrc_token_cache_expire       (LrcTokenCache *self,
                                             gint64         now_us);
guint          lrc_token_cache_get_size     (LrcTokenCache *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrcTokenCache, lrc_token_cache_free)

G_END_DECLS
