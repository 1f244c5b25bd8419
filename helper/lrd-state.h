/* lrd-state.h: what the helper keeps in its state folder (/var/lib/lanrage)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `keys`: the WireGuard and disco X25519 key pairs (libsodium), created on first start.
 * `party`: the party the helper is in, so a restarted helper rejoins it. Both are keyfiles
 * with mode 0600 in a 0700 folder: they hold a private key and a bearer token. `lan`, the
 * LAN discovery settings, is LrdLanDiscovery's, written with lrd_private_file_write_async.
 */
#pragma once

#include <gio/gio.h>

#include "lrd-wg-backend.h"

G_BEGIN_DECLS

typedef struct
{
  LrKey wg_private;
  LrKey wg_public;
  LrKey disco_private;
  LrKey disco_public;
} LrdKeys;

gboolean lrd_keys_load_or_create (LrdKeys     *keys,
                                  const char  *state_dir,
                                  GError     **error);
void     lrd_keys_clear          (LrdKeys     *keys);

typedef struct
{
  char *control_url;
  char *party_id;
  char *party_name;
  char *invite_code;
  char *peer_id;
  char *peer_name;
  char *token;
  char *virtual_ip;
} LrdSavedParty;

void           lrd_saved_party_free (LrdSavedParty *self);
LrdSavedParty *lrd_saved_party_copy (const LrdSavedParty *self);
LrdSavedParty *lrd_saved_party_load (const char    *state_dir,
                                     GError       **error);

void     lrd_saved_party_save_async   (const LrdSavedParty *self,
                                       const char          *state_dir,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
gboolean lrd_saved_party_save_finish  (GAsyncResult        *result,
                                       GError             **error);
void     lrd_saved_party_forget_async (const char          *state_dir,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
gboolean lrd_saved_party_forget_finish (GAsyncResult       *result,
                                        GError            **error);

gboolean lrd_state_dir_ensure (const char  *state_dir,
                               GError     **error);

void     lrd_private_file_write_async  (const char          *path,
                                        char                *data,
                                        gsize                length,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean lrd_private_file_write_finish (GAsyncResult        *result,
                                        GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrdSavedParty, lrd_saved_party_free)

G_END_DECLS
