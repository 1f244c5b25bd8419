/* lrd-state.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The files are read synchronously once, at start-up, before the helper takes its bus
 * name; afterwards every write goes through GIO's async calls, off the main loop.
 */
#include "lrd-state.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <sys/stat.h>

#define KEYS_FILE  "keys"
#define PARTY_FILE "party"

gboolean
lrd_state_dir_ensure (const char  *state_dir,
                      GError     **error)
{
  if (g_mkdir_with_parents (state_dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create the state folder %s: %s", state_dir,
                   g_strerror (saved_errno));
      return FALSE;
    }
  /* It was perhaps created by someone else with a looser mode. */
  if (g_chmod (state_dir, 0700) != 0)
    g_warning ("Cannot make %s private: %s", state_dir, g_strerror (errno));
  return TRUE;
}

static gboolean
read_private_key (GKeyFile   *keyfile,
                  const char *group,
                  LrKey      *private_key,
                  LrKey      *public_key)
{
  g_autofree char *text = g_key_file_get_string (keyfile, group, "private-key", NULL);
  gboolean ok = lr_key_from_base64 (text, private_key);

  if (text != NULL)
    sodium_memzero (text, strlen (text));
  if (!ok)
    return FALSE;
  /* The public half is always derived, never trusted from the file. */
  crypto_scalarmult_base (public_key->bytes, private_key->bytes);
  return TRUE;
}

static void
write_private_key (GKeyFile       *keyfile,
                   const char     *group,
                   const LrKey    *private_key,
                   const LrKey    *public_key)
{
  g_autofree char *private_text = lr_key_to_base64 (private_key);
  g_autofree char *public_text = lr_key_to_base64 (public_key);

  g_key_file_set_string (keyfile, group, "private-key", private_text);
  g_key_file_set_string (keyfile, group, "public-key", public_text);
  sodium_memzero (private_text, strlen (private_text));
}

/**
 * lrd_keys_load_or_create:
 *
 * Loads both key pairs, or creates them (crypto_box_keypair: X25519, the curve of
 * WireGuard and of disco's crypto_box) when the file does not exist yet. A file that
 * exists but cannot be read is an error: silently replacing a key would change this
 * machine's identity in every party.
 */
gboolean
lrd_keys_load_or_create (LrdKeys     *keys,
                         const char  *state_dir,
                         GError     **error)
{
  g_autofree char *path = g_build_filename (state_dir, KEYS_FILE, NULL);
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;
  GStatBuf st;

  if (g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &local_error))
    {
      if (g_stat (path, &st) == 0 && (st.st_mode & 077) != 0)
        {
          g_warning ("%s could be read by others; making it private", path);
          g_chmod (path, 0600);
        }
      if (!read_private_key (keyfile, "wireguard", &keys->wg_private, &keys->wg_public) ||
          !read_private_key (keyfile, "disco", &keys->disco_private, &keys->disco_public))
        {
          lrd_keys_clear (keys);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: the key pairs are damaged; move the file away to make new ones",
                       path);
          return FALSE;
        }
      return TRUE;
    }

  if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return FALSE;
    }

  crypto_box_keypair (keys->wg_public.bytes, keys->wg_private.bytes);
  crypto_box_keypair (keys->disco_public.bytes, keys->disco_private.bytes);

  write_private_key (keyfile, "wireguard", &keys->wg_private, &keys->wg_public);
  write_private_key (keyfile, "disco", &keys->disco_private, &keys->disco_public);
  data = g_key_file_to_data (keyfile, &length, NULL);
  if (!g_file_set_contents_full (path, data, length, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 error))
    {
      sodium_memzero (data, length);
      lrd_keys_clear (keys);
      return FALSE;
    }
  sodium_memzero (data, length);
  g_message ("Created new WireGuard and disco key pairs in %s", path);
  return TRUE;
}

void
lrd_keys_clear (LrdKeys *keys)
{
  sodium_memzero (keys, sizeof *keys);
}

/* The saved party */

void
lrd_saved_party_free (LrdSavedParty *self)
{
  if (self == NULL)
    return;
  g_free (self->control_url);
  g_free (self->party_id);
  g_free (self->party_name);
  g_free (self->invite_code);
  g_free (self->peer_id);
  g_free (self->peer_name);
  if (self->token != NULL)
    sodium_memzero (self->token, strlen (self->token));
  g_free (self->token);
  g_free (self->virtual_ip);
  g_free (self);
}

LrdSavedParty *
lrd_saved_party_copy (const LrdSavedParty *self)
{
  LrdSavedParty *copy = g_new0 (LrdSavedParty, 1);

  copy->control_url = g_strdup (self->control_url);
  copy->party_id = g_strdup (self->party_id);
  copy->party_name = g_strdup (self->party_name);
  copy->invite_code = g_strdup (self->invite_code);
  copy->peer_id = g_strdup (self->peer_id);
  copy->peer_name = g_strdup (self->peer_name);
  copy->token = g_strdup (self->token);
  copy->virtual_ip = g_strdup (self->virtual_ip);
  return copy;
}

static const struct
{
  const char *key;
  gsize       offset;
} party_fields[] = {
  { "control-url", G_STRUCT_OFFSET (LrdSavedParty, control_url) },
  { "party-id", G_STRUCT_OFFSET (LrdSavedParty, party_id) },
  { "party-name", G_STRUCT_OFFSET (LrdSavedParty, party_name) },
  { "invite-code", G_STRUCT_OFFSET (LrdSavedParty, invite_code) },
  { "peer-id", G_STRUCT_OFFSET (LrdSavedParty, peer_id) },
  { "peer-name", G_STRUCT_OFFSET (LrdSavedParty, peer_name) },
  { "token", G_STRUCT_OFFSET (LrdSavedParty, token) },
  { "virtual-ip", G_STRUCT_OFFSET (LrdSavedParty, virtual_ip) },
};

/**
 * lrd_saved_party_load:
 *
 * Returns the saved party, or %NULL with no error when there is none.
 */
LrdSavedParty *
lrd_saved_party_load (const char  *state_dir,
                      GError     **error)
{
  g_autofree char *path = g_build_filename (state_dir, PARTY_FILE, NULL);
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(LrdSavedParty) party = g_new0 (LrdSavedParty, 1);

  if (!g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (party_fields); i++)
    {
      char **field = G_STRUCT_MEMBER_P (party, party_fields[i].offset);

      *field = g_key_file_get_string (keyfile, "party", party_fields[i].key, NULL);
      if (*field == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s is missing",
                       path, party_fields[i].key);
          return NULL;
        }
    }

  return g_steal_pointer (&party);
}

typedef struct
{
  char  *path;
  char  *data;
  gsize  length;
} SaveData;

static void
save_data_free (SaveData *save)
{
  g_free (save->path);
  /* It may hold a secret (the party's bearer token). */
  sodium_memzero (save->data, save->length);
  g_free (save->data);
  g_free (save);
}

/* In a worker thread: g_file_set_contents_full() writes a temporary file with mode 0600,
 * syncs it and renames it over the old one, so a crash leaves the old file or the new one,
 * never half of one. (GIO's replace does the same only when the file exists already; the
 * first save used to be written in place.) */
static void
save_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  SaveData *save = task_data;
  GError *error = NULL;

  if (!g_file_set_contents_full (save->path, save->data, save->length,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * lrd_private_file_write_async:
 * @data: (transfer full): what to write, wiped and freed once written
 *
 * Replaces @path with @data, mode 0600, atomically, off the main loop. Two writes of one
 * file in flight at once may land in either order: callers keep one at a time.
 */
void
lrd_private_file_write_async (const char          *path,
                              char                *data,
                              gsize                length,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  SaveData *save = g_new0 (SaveData, 1);

  g_task_set_source_tag (task, lrd_private_file_write_async);
  save->path = g_strdup (path);
  save->data = data;
  save->length = length;
  g_task_set_task_data (task, save, (GDestroyNotify) save_data_free);
  g_task_run_in_thread (task, save_in_thread);
}

gboolean
lrd_private_file_write_finish (GAsyncResult  *result,
                               GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lrd_saved_party_save_async (const LrdSavedParty *self,
                            const char          *state_dir,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *path = g_build_filename (state_dir, PARTY_FILE, NULL);
  char *data;
  gsize length;

  for (guint i = 0; i < G_N_ELEMENTS (party_fields); i++)
    {
      char * const *field = G_STRUCT_MEMBER_P (self, party_fields[i].offset);

      g_key_file_set_string (keyfile, "party", party_fields[i].key,
                             *field != NULL ? *field : "");
    }
  data = g_key_file_to_data (keyfile, &length, NULL);
  lrd_private_file_write_async (path, data, length, cancellable, callback, user_data);
}

gboolean
lrd_saved_party_save_finish (GAsyncResult  *result,
                             GError       **error)
{
  return lrd_private_file_write_finish (result, error);
}

static void
delete_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_delete_finish (G_FILE (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
lrd_saved_party_forget_async (const char          *state_dir,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autofree char *path = g_build_filename (state_dir, PARTY_FILE, NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, lrd_saved_party_forget_async);
  g_file_delete_async (file, G_PRIORITY_DEFAULT, cancellable, delete_cb,
                       g_steal_pointer (&task));
}

gboolean
lrd_saved_party_forget_finish (GAsyncResult  *result,
                               GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
