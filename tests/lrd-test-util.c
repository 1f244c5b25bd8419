/* lrd-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Tests may run `ip`, `ping` and friends to build and check the lab; the helper itself may
 * not (STYLE.md).
 */
#define _GNU_SOURCE
#include "lrd-test-util.h"

#include <fcntl.h>
#include <sched.h>
#include <sodium.h>
#include <sys/mount.h>
#include <unistd.h>

static int original_netns = -1;

void
lrd_test_result_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

/* Iterates the main loop until the callback stored a result; returns it (transfer full). */
GAsyncResult *
lrd_test_wait (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  return g_steal_pointer (slot);
}

static char **
collect_argv (const char *first_arg,
              va_list     args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  const char *arg;

  g_ptr_array_add (argv, g_strdup (first_arg));
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}

static char *
run_argv (char    **argv,
          GError  **error)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *command = g_strjoinv (" ", argv);
  int status = 0;

  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                     error))
    return NULL;

  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "%s: %s: ", command, err != NULL ? g_strstrip (err) : "");
      return NULL;
    }

  return g_steal_pointer (&out);
}

gboolean
lrd_test_run (GError     **error,
              const char  *first_arg,
              ...)
{
  va_list args;
  g_auto(GStrv) argv = NULL;
  g_autofree char *out = NULL;

  va_start (args, first_arg);
  argv = collect_argv (first_arg, args);
  va_end (args);

  out = run_argv (argv, error);
  return out != NULL;
}

char *
lrd_test_run_output (GError     **error,
                     const char  *first_arg,
                     ...)
{
  va_list args;
  g_auto(GStrv) argv = NULL;

  va_start (args, first_arg);
  argv = collect_argv (first_arg, args);
  va_end (args);

  return run_argv (argv, error);
}

void
lrd_test_keypair (LrKey    *private_key,
                  LrKey    *public_key)
{
  randombytes_buf (private_key->bytes, sizeof private_key->bytes);
  /* Curve25519 clamping, as `wg genkey` does. */
  private_key->bytes[0] &= 248;
  private_key->bytes[31] = (private_key->bytes[31] & 127) | 64;
  crypto_scalarmult_base (public_key->bytes, private_key->bytes);
}

/* Moves the calling thread into the named namespace (from `ip netns add`); sockets it opens
 * and processes it spawns from now on live there. */
gboolean
lrd_test_enter_netns (const char *name)
{
  g_autofree char *path = g_build_filename ("/run/netns", name, NULL);
  int fd;
  int ret;

  if (original_netns < 0)
    original_netns = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;

  ret = setns (fd, CLONE_NEWNET);
  close (fd);
  return ret == 0;
}

void
lrd_test_leave_netns (void)
{
  g_assert_cmpint (original_netns, >=, 0);
  g_assert_cmpint (setns (original_netns, CLONE_NEWNET), ==, 0);
}

/* Prints a TAP "skip everything" plan; the caller exits with what this returns. That is 0,
 * not 77: meson 1.0 runs these tests with protocol tap, where any non-zero exit status is
 * an ERROR and the plan is what says "skipped". */
int
lrd_test_skip (const char *reason)
{
  g_print ("1..0 # SKIP %s\n", reason);
  return 0;
}

/* A private mount namespace with its own tmpfs on /run/wireguard and /run/netns, so the
 * test never sees or disturbs the machine's WireGuard sockets or named namespaces, and
 * leaves nothing behind if it crashes. Must run before GLib starts any thread:
 * unshare(CLONE_NEWNS) refuses a process whose threads share its filesystem context. */
gboolean
lrd_test_enter_private_run (void)
{
  if (unshare (CLONE_NEWNS) != 0 ||
      mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return FALSE;

  for (guint i = 0; i < 2; i++)
    {
      const char *path = i == 0 ? "/run/wireguard" : "/run/netns";

      g_mkdir_with_parents (path, 0755);
      if (mount ("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
        return FALSE;
    }

  return TRUE;
}
