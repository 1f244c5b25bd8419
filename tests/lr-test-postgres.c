/* lr-test-postgres.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-test-postgres.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The PostgreSQL user the tests and lanrage-control connect as (trust on the socket). */
#define ROLE "lanrage"

struct _LrTestPostgres
{
  char        *bindir;
  char        *dir;          /* the socket lives here, the data in dir/data */
  GSubprocess *postmaster;
  uid_t        uid;          /* who runs the server: nobody under root, else ourselves */
  gid_t        gid;
  guint        n_databases;
};

static LrTestPostgres *default_cluster;

/* Debian installs the server under /usr/lib/postgresql/VERSION/bin; take the newest. */
static char *
find_bindir (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/usr/lib/postgresql", 0, NULL);
  g_autofree char *best = NULL;
  guint64 best_version = 0;
  const char *name;

  if (g_getenv ("LR_TEST_POSTGRES_BINDIR") != NULL)
    return g_strdup (g_getenv ("LR_TEST_POSTGRES_BINDIR"));

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *initdb = g_build_filename ("/usr/lib/postgresql", name, "bin", "initdb",
                                                  NULL);
      guint64 version = g_ascii_strtoull (name, NULL, 10);

      if (g_file_test (initdb, G_FILE_TEST_IS_EXECUTABLE) && version > best_version)
        {
          best_version = version;
          g_free (best);
          best = g_build_filename ("/usr/lib/postgresql", name, "bin", NULL);
        }
    }

  return g_steal_pointer (&best);
}

gboolean
lr_test_postgres_is_available (char **why_not)
{
  g_autofree char *bindir = find_bindir ();

  if (bindir != NULL)
    return TRUE;
  *why_not = g_strdup ("PostgreSQL's server binaries (Debian's postgresql) are not installed");
  return FALSE;
}

typedef struct
{
  uid_t uid;
  gid_t gid;
} Identity;

/* Runs in the child between fork and exec: become the cluster's owner, then die with the
 * test program (after the change of user, which would clear the death signal). */
static void
become_owner (gpointer data)
{
  Identity *identity = data;

  if (geteuid () == 0 && identity->uid != 0)
    {
      if (setgroups (0, NULL) != 0 || setgid (identity->gid) != 0 || setuid (identity->uid) != 0)
        _exit (126);
    }
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn (LrTestPostgres  *self,
       const char      *log_name,
       GError         **error,
       const char      *program,
       ...)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *log = g_build_filename (self->dir, log_name, NULL);
  Identity *identity = g_new0 (Identity, 1);
  const char *arg;
  va_list args;

  identity->uid = self->uid;
  identity->gid = self->gid;
  g_ptr_array_add (argv, g_build_filename (self->bindir, program, NULL));
  va_start (args, program);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_cwd (launcher, self->dir);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_child_setup (launcher, become_owner, identity, g_free);
  return g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
}

static void
run_or_fail (LrTestPostgres *self,
             GSubprocess    *process,
             GError         *error,
             const char     *what)
{
  g_autofree char *log = NULL;
  g_autofree char *log_path = g_build_filename (self->dir, "setup.log", NULL);

  g_assert_no_error (error);
  g_subprocess_wait (process, NULL, NULL);
  if (g_subprocess_get_successful (process))
    return;

  g_file_get_contents (log_path, &log, NULL, NULL);
  g_error ("%s failed: %s", what, log != NULL ? log : "(no output)");
}

static void
stop_at_exit (void)
{
  if (default_cluster == NULL)
    return;

  lr_test_postgres_stop (default_cluster);
  if (g_getenv ("LR_TEST_KEEP_TMPDIR") == NULL)
    {
      g_autofree char *command = g_strdup_printf ("rm -rf '%s'", default_cluster->dir);

      /* The folder is a temporary one of ours, named without quotes. */
      g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL);
    }
}

/* The first line that matches decides: LR_TEST_POSTGRES_PASSWORD_ROLE's goes first. */
static void
require_password (LrTestPostgres *self,
                  const char     *data)
{
  g_autofree char *path = g_build_filename (data, "pg_hba.conf", NULL);
  g_autofree char *old = NULL;
  g_autofree char *new = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &old, NULL, &error);
  g_assert_no_error (error);
  new = g_strconcat ("local all " LR_TEST_POSTGRES_PASSWORD_ROLE " scram-sha-256\n", old, NULL);
  g_file_set_contents_full (path, new, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chown (path, self->uid, self->gid), ==, 0);
}

/**
 * lr_test_postgres_get_default:
 *
 * Returns: (transfer none): the test program's cluster, started on first call
 */
LrTestPostgres *
lr_test_postgres_get_default (void)
{
  LrTestPostgres *self;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) initdb = NULL;
  g_autofree char *data = NULL;

  if (default_cluster != NULL)
    return default_cluster;

  self = g_new0 (LrTestPostgres, 1);
  self->bindir = find_bindir ();
  if (self->bindir == NULL)
    g_error ("PostgreSQL's server binaries are not installed (Debian's postgresql)");

  self->dir = g_dir_make_tmp ("lanrage-postgres-XXXXXX", &error);
  g_assert_no_error (error);
  self->uid = geteuid ();
  self->gid = getegid ();
  if (self->uid == 0)
    {
      struct passwd *nobody = getpwnam ("nobody");
      struct group *nogroup = getgrnam ("nogroup");

      if (nobody == NULL)
        g_error ("Running as root, the cluster needs the user nobody, which does not exist");
      self->uid = nobody->pw_uid;
      self->gid = nogroup != NULL ? nogroup->gr_gid : nobody->pw_gid;
      /* The server's owner must reach the folder and own it; lanrage-control runs as root. */
      g_assert_cmpint (chown (self->dir, self->uid, self->gid), ==, 0);
      g_assert_cmpint (g_chmod (self->dir, 0755), ==, 0);
    }

  data = g_build_filename (self->dir, "data", NULL);
  initdb = spawn (self, "setup.log", &error, "initdb", "-D", data, "-A", "trust", "-U", ROLE,
                  "--no-sync", NULL);
  run_or_fail (self, initdb, g_steal_pointer (&error), "initdb");
  require_password (self, data);

  default_cluster = self;
  atexit (stop_at_exit);
  lr_test_postgres_start (self);
  return self;
}

/* Starts the postmaster (again) and waits until it takes connections. */
void
lr_test_postgres_start (LrTestPostgres *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = g_build_filename (self->dir, "data", NULL);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  g_assert_null (self->postmaster);

  /* fsync off: the tests stop PostgreSQL cleanly, never pull its power; what they check is
   * lanrage-control's own durability, and fsync would only slow a shared 2-core machine. */
  self->postmaster = spawn (self, "postgres.log", &error, "postgres", "-D", data, "-k", self->dir,
                            "-c", "listen_addresses=", "-c", "fsync=off",
                            "-c", "max_connections=200", NULL);
  g_assert_no_error (error);

  for (;;)
    {
      g_autoptr(GSubprocess) ready = spawn (self, "setup.log", &error, "pg_isready", "-q",
                                            "-h", self->dir, "-U", ROLE, NULL);

      g_assert_no_error (error);
      g_subprocess_wait (ready, NULL, NULL);
      if (g_subprocess_get_successful (ready))
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("PostgreSQL did not take connections within 20 s; see %s/postgres.log",
                 self->dir);
      g_usleep (50 * 1000);
    }
}

/* A fast shutdown: sessions are ended, everything committed is kept. */
void
lr_test_postgres_stop (LrTestPostgres *self)
{
  if (self->postmaster == NULL)
    return;

  g_subprocess_send_signal (self->postmaster, SIGINT);
  g_subprocess_wait (self->postmaster, NULL, NULL);
  g_clear_object (&self->postmaster);
}

/**
 * lr_test_postgres_create_database:
 *
 * Returns: a connection URI of a new, empty database
 */
char *
lr_test_postgres_create_database (LrTestPostgres *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) createdb = NULL;
  g_autofree char *name = g_strdup_printf ("control_%d_%u", (int) getpid (), ++self->n_databases);

  createdb = spawn (self, "setup.log", &error, "createdb", "-h", self->dir, "-U", ROLE, name,
                    NULL);
  run_or_fail (self, createdb, g_steal_pointer (&error), "createdb");

  return g_strdup_printf ("postgresql:///%s?host=%s&user=" ROLE, name, self->dir);
}
