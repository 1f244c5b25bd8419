/* lr-test-helper.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "lr-test-helper.h"
#include "lr-test-lab.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKITD     "/usr/lib/polkit-1/polkitd"

void
lr_test_helper_require_root (void)
{
  g_autofree char *dbus_daemon = g_find_program_in_path ("dbus-daemon");

  if (geteuid () != 0)
    {
      /* TAP's way of skipping a whole program; meson also reads exit status 77. */
      g_print ("1..0 # SKIP the helper tests need root (polkitd, mount namespaces, "
               "switching users)\n");
      exit (77);
    }
  if (!g_file_test (POLKITD, G_FILE_TEST_IS_EXECUTABLE) ||
      dbus_daemon == NULL)
    {
      g_print ("1..0 # SKIP the helper tests need dbus-daemon and polkitd "
               "(tools/install-deps)\n");
      exit (77);
    }
}

/* Every helper this test program starts creates a real WireGuard interface (UAPI backend,
 * wireguard-go). The program runs in a network namespace of its own, with its own loopback
 * (where lanrage-control listens) and its own /run/wireguard, so no interface or socket
 * ever appears on the machine, and the kernel removes them with the program. */
void
lr_test_helper_isolate (void)
{
  g_autoptr(GError) error = NULL;
  int status = 0;
  const char *argv[] = { "ip", "link", "set", "lo", "up", NULL };

  g_assert_cmpint (unshare (CLONE_NEWNET | CLONE_NEWNS), ==, 0);
  g_assert_cmpint (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents ("/run/wireguard", 0755), ==, 0);
  g_assert_cmpint (mount ("tmpfs", "/run/wireguard", "tmpfs", MS_NOSUID | MS_NODEV,
                          "mode=0755"), ==, 0);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
}

gboolean
lr_test_wait_for (gboolean (*check) (gpointer data),
                  gpointer  data,
                  guint     timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!check (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      /* Deliver what arrived (PropertiesChanged, InterfacesAdded), then look again. */
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (5000);
    }
  return TRUE;
}

static void
write_file (const char *path,
            const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error);
  g_assert_no_error (error);
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Appends @launcher's standard error (and its standard output, with @also_stdout) to
 * @log_path, created with @mode. */
static void
log_output_to (GSubprocessLauncher *launcher,
               const char          *log_path,
               int                  mode,
               gboolean             also_stdout)
{
  int log_fd = g_open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);

  g_assert_cmpint (log_fd, >=, 0);
  if (also_stdout)
    g_subprocess_launcher_take_stdout_fd (launcher, dup (log_fd));
  g_subprocess_launcher_take_stderr_fd (launcher, log_fd);
}

/* The bus daemon and polkitd are not under test: they are simply killed. */
static void
stop_process (GSubprocess *process)
{
  if (process == NULL)
    return;
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
}

/* The bus */

struct _LrTestBus
{
  char            *tmpdir;
  char            *address;
  char            *actions_dir;
  char            *rules_dir;
  GSubprocess     *dbus_daemon;
  GSubprocess     *polkitd;
  GDBusConnection *connection;
};

static gboolean
name_has_owner (GDBusConnection *connection,
                const char      *name)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean has_owner = FALSE;

  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", g_variant_new ("(s)", name),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                       NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &has_owner);
  return has_owner;
}

typedef struct
{
  GDBusConnection *connection;
  const char      *name;
  GSubprocess     *process;
} OwnerWait;

static gboolean
owner_appeared (gpointer data)
{
  OwnerWait *wait = data;

  if (wait->process != NULL && g_subprocess_get_identifier (wait->process) == NULL)
    return TRUE;  /* exited: the caller asserts on the name */
  return name_has_owner (wait->connection, wait->name);
}

typedef struct
{
  const char *actions_dir;
  const char *rules_dir;
} PolkitMounts;

/* Runs in polkitd's child between fork and exec: a mount namespace of its own, where the
 * test's folders hide the system's. Only async-signal-safe calls. */
static void
polkitd_child_setup (gpointer user_data)
{
  const PolkitMounts *mounts = user_data;
  static const char failure[] = "lr-test-helper: cannot set up polkitd's mount namespace\n";

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (unshare (CLONE_NEWNS) != 0 ||
      mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount (mounts->actions_dir, "/usr/share/polkit-1/actions", NULL, MS_BIND, NULL) != 0 ||
      mount (mounts->rules_dir, "/usr/share/polkit-1/rules.d", NULL, MS_BIND, NULL) != 0 ||
      mount (mounts->rules_dir, "/etc/polkit-1/rules.d", NULL, MS_BIND, NULL) != 0)
    {
      if (write (STDERR_FILENO, failure, sizeof failure - 1) < 0)
        _exit (126);
      _exit (126);
    }
}

static const char bus_config_template[] =
  "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
  " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
  "<!-- A copy of /usr/share/dbus-1/system.conf on a socket of the test's own, without\n"
  "     forking, user switching, syslog or activation helper. -->\n"
  "<busconfig>\n"
  "  <type>system</type>\n"
  "  <auth>EXTERNAL</auth>\n"
  "  <listen>unix:path=%s/system_bus_socket</listen>\n"
  "  <policy context=\"default\">\n"
  "    <allow user=\"*\"/>\n"
  "    <deny own=\"*\"/>\n"
  "    <deny send_type=\"method_call\"/>\n"
  "    <allow send_type=\"signal\"/>\n"
  "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
  "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
  "    <allow receive_type=\"method_call\"/>\n"
  "    <allow receive_type=\"method_return\"/>\n"
  "    <allow receive_type=\"error\"/>\n"
  "    <allow receive_type=\"signal\"/>\n"
  "    <allow send_destination=\"org.freedesktop.DBus\"\n"
  "           send_interface=\"org.freedesktop.DBus\"/>\n"
  "    <allow send_destination=\"org.freedesktop.DBus\"\n"
  "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
  "    <allow send_destination=\"org.freedesktop.DBus\"\n"
  "           send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
  "    <deny send_destination=\"org.freedesktop.DBus\"\n"
  "          send_interface=\"org.freedesktop.DBus\"\n"
  "          send_member=\"UpdateActivationEnvironment\"/>\n"
  "  </policy>\n"
  "  <includedir>/usr/share/dbus-1/system.d</includedir>\n"
  "  <includedir>/etc/dbus-1/system.d</includedir>\n"
  "  <includedir>%s/system.d</includedir>\n"
  "</busconfig>\n";

/* The second helper's name, for two helpers on one bus: the same rules as the shipped
 * io.lanrage.Helper1.conf. */
static const char second_name_config[] =
  "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
  " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
  "<busconfig>\n"
  "  <policy user=\"root\">\n"
  "    <allow own=\"" LR_TEST_HELPER_BUS_NAME_2 "\"/>\n"
  "  </policy>\n"
  "  <policy context=\"default\">\n"
  "    <allow send_destination=\"" LR_TEST_HELPER_BUS_NAME_2 "\"/>\n"
  "  </policy>\n"
  "</busconfig>\n";

static char *
data_path (const char *name)
{
  const char *data_dir = g_getenv ("LANRAGE_DATA_DIR");

  if (data_dir == NULL)
    g_error ("LANRAGE_DATA_DIR is not set: run the tests with meson test");
  return g_build_filename (data_dir, name, NULL);
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (from, &contents, NULL, &error);
  g_assert_no_error (error);
  write_file (to, contents);
}

LrTestBus *
lr_test_bus_new (void)
{
  LrTestBus *self = g_new0 (LrTestBus, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config = NULL;
  g_autofree char *system_d = NULL;
  g_autofree char *path = NULL;
  g_autofree char *source = NULL;
  g_autofree char *log_path = NULL;
  GInputStream *stdout_pipe;
  char line[512] = { 0 };
  gsize n_read = 0;
  PolkitMounts mounts;
  OwnerWait wait;

  self->tmpdir = g_dir_make_tmp ("lanrage-helper-test-XXXXXX", &error);
  g_assert_no_error (error);
  /* Other users (lanragectl as nobody, polkitd as polkitd) reach the socket and rules. */
  g_assert_cmpint (g_chmod (self->tmpdir, 0755), ==, 0);

  system_d = g_build_filename (self->tmpdir, "system.d", NULL);
  self->actions_dir = g_build_filename (self->tmpdir, "polkit-actions", NULL);
  self->rules_dir = g_build_filename (self->tmpdir, "polkit-rules", NULL);
  g_assert_cmpint (g_mkdir (system_d, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (self->actions_dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (self->rules_dir, 0755), ==, 0);

  /* The files the package installs, as they are in data/. */
  source = data_path ("io.lanrage.Helper1.conf");
  path = g_build_filename (system_d, "io.lanrage.Helper1.conf", NULL);
  copy_file (source, path);
  g_clear_pointer (&source, g_free);
  g_clear_pointer (&path, g_free);
  source = data_path ("io.lanrage.helper.policy");
  path = g_build_filename (self->actions_dir, "io.lanrage.helper.policy", NULL);
  copy_file (source, path);
  g_clear_pointer (&path, g_free);
  path = g_build_filename (system_d, "lanrage-test.conf", NULL);
  write_file (path, second_name_config);

  config = g_strdup_printf (bus_config_template, self->tmpdir, self->tmpdir);
  config_path = g_build_filename (self->tmpdir, "bus.conf", NULL);
  write_file (config_path, config);

  log_path = g_build_filename (self->tmpdir, "bus.log", NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  log_output_to (launcher, log_path, 0600, FALSE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  self->dbus_daemon = g_subprocess_launcher_spawn (launcher, &error, "dbus-daemon",
                                                   "--nofork", "--print-address",
                                                   "--config-file", config_path, NULL);
  g_assert_no_error (error);

  /* The daemon prints its address once it listens. */
  stdout_pipe = g_subprocess_get_stdout_pipe (self->dbus_daemon);
  while (n_read < sizeof line - 1)
    {
      gssize n = g_input_stream_read (stdout_pipe, line + n_read, 1, NULL, &error);

      g_assert_no_error (error);
      if (n <= 0 || line[n_read] == '\n')
        break;
      n_read += n;
    }
  line[n_read] = '\0';
  g_assert_true (g_str_has_prefix (line, "unix:path="));
  self->address = g_strdup (line);
  g_test_message ("Private system bus at %s (folder %s)", self->address, self->tmpdir);

  self->connection = g_dbus_connection_new_for_address_sync (
    self->address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (self->connection, FALSE);

  /* polkitd, on this bus, seeing only the test's policy and rules. */
  g_clear_object (&launcher);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  log_path = (g_free (log_path), g_build_filename (self->tmpdir, "polkitd.log", NULL));
  log_output_to (launcher, log_path, 0600, TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", self->address, TRUE);
  mounts.actions_dir = self->actions_dir;
  mounts.rules_dir = self->rules_dir;
  g_subprocess_launcher_set_child_setup (launcher, polkitd_child_setup, &mounts, NULL);
  self->polkitd = g_subprocess_launcher_spawn (launcher, &error, POLKITD, "--no-debug", NULL);
  g_assert_no_error (error);

  wait.connection = self->connection;
  wait.name = POLKIT_NAME;
  wait.process = self->polkitd;
  if (!lr_test_wait_for (owner_appeared, &wait, LR_TEST_HELPER_TIMEOUT_MS) ||
      !name_has_owner (self->connection, POLKIT_NAME))
    {
      g_autofree char *log = NULL;

      g_file_get_contents (log_path, &log, NULL, NULL);
      g_error ("polkitd did not appear on the private bus; its log:\n%s", log);
    }

  return self;
}

void
lr_test_bus_free (LrTestBus *self)
{
  if (self == NULL)
    return;
  if (self->connection != NULL)
    g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  stop_process (self->polkitd);
  g_clear_object (&self->polkitd);
  stop_process (self->dbus_daemon);
  g_clear_object (&self->dbus_daemon);
  /* A failed test keeps its folder, for the logs. */
  if (!g_test_failed ())
    lr_test_remove_tree (self->tmpdir);
  g_free (self->tmpdir);
  g_free (self->address);
  g_free (self->actions_dir);
  g_free (self->rules_dir);
  g_free (self);
}

const char *
lr_test_bus_get_address (LrTestBus *self)
{
  return self->address;
}

const char *
lr_test_bus_get_tmpdir (LrTestBus *self)
{
  return self->tmpdir;
}

GDBusConnection *
lr_test_bus_get_connection (LrTestBus *self)
{
  return self->connection;
}

void
lr_test_bus_grant_join (LrTestBus  *self,
                        const char *user)
{
  g_autofree char *rule = NULL;
  g_autofree char *tmp_path = g_build_filename (self->tmpdir, "50-lanrage-test.rules.tmp", NULL);
  g_autofree char *path = g_build_filename (self->rules_dir, "50-lanrage-test.rules", NULL);

  rule = g_strdup_printf ("polkit.addRule(function(action, subject) {\n"
                          "  if (action.id == \"io.lanrage.helper.join\" &&\n"
                          "      subject.user == \"%s\")\n"
                          "    return polkit.Result.YES;\n"
                          "});\n", user);
  /* Written beside, then renamed in: polkitd reloads on the change and must never read a
   * half-written rule. */
  write_file (tmp_path, rule);
  g_assert_cmpint (g_rename (tmp_path, path), ==, 0);
}

/* The helper */

struct _LrTestHelper
{
  LrTestBus          *bus;
  char               *tmpdir;
  char               *state_dir;
  char               *config_path;
  char               *log_path;
  char               *bus_name;
  char               *interface_name;
  char               *netns;
  GSubprocess        *process;
  LrdHelper1         *proxy;
  GDBusObjectManager *manager;
};

static guint helper_counter;

LrTestHelper *
lr_test_helper_new (LrTestBus  *bus,
                    const char *control_url,
                    const char *bus_name)
{
  LrTestHelper *self = g_new0 (LrTestHelper, 1);
  g_autofree char *config = NULL;
  g_autofree char *name = NULL;

  self->bus = bus;
  self->bus_name = g_strdup (bus_name != NULL ? bus_name : LR_TEST_HELPER_BUS_NAME);
  name = g_strdup_printf ("helper-%s", self->bus_name);
  self->tmpdir = g_build_filename (lr_test_bus_get_tmpdir (bus), name, NULL);
  g_assert_cmpint (g_mkdir (self->tmpdir, 0755), ==, 0);
  self->state_dir = g_build_filename (self->tmpdir, "state", NULL);
  self->config_path = g_build_filename (self->tmpdir, "helper.conf", NULL);
  self->log_path = g_build_filename (self->tmpdir, "helper.log", NULL);

  /* Interface and port of its own, so that two helpers of one test can both be up. */
  helper_counter++;
  self->interface_name = g_strdup_printf ("lrtest%u", helper_counter);
  config = g_strdup_printf ("[helper]\ncontrol-url=%s\nbackend=auto\ninterface=%s\n"
                            "port=%u\n", control_url, self->interface_name,
                            51820 + helper_counter);
  write_file (self->config_path, config);
  return self;
}

static gboolean
helper_has_name (gpointer data)
{
  LrTestHelper *self = data;

  if (g_subprocess_get_identifier (self->process) == NULL)
    return TRUE;
  return name_has_owner (lr_test_bus_get_connection (self->bus), self->bus_name);
}

void
lr_test_helper_start (LrTestHelper *self)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GError) error = NULL;
  const char *binary = g_getenv ("LANRAGE_HELPER");
  int netns_fd = -1;

  g_assert_null (self->process);
  if (binary == NULL)
    g_error ("LANRAGE_HELPER is not set: run the tests with meson test");

  log_output_to (launcher, self->log_path, 0600, TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS",
                                lr_test_bus_get_address (self->bus), TRUE);
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "lanrage-helper", TRUE);
  if (self->netns != NULL)
    {
      /* The bus socket is a path: it is reachable from any network namespace. */
      netns_fd = lr_test_lab_open_netns (self->netns);
      g_assert_cmpint (netns_fd, >=, 0);
      g_subprocess_launcher_set_child_setup (launcher, lr_test_lab_child_setup,
                                             GINT_TO_POINTER (netns_fd), NULL);
    }
  else
    g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  self->process = g_subprocess_launcher_spawn (launcher, &error, binary,
                                               "--config", self->config_path,
                                               "--state-dir", self->state_dir,
                                               "--bus-name", self->bus_name, NULL);
  if (netns_fd >= 0)
    close (netns_fd);
  g_assert_no_error (error);

  if (!lr_test_wait_for (helper_has_name, self, LR_TEST_HELPER_TIMEOUT_MS) ||
      g_subprocess_get_identifier (self->process) == NULL)
    {
      g_autofree char *log = lr_test_helper_get_log (self);

      g_error ("lanrage-helper did not take %s; its log:\n%s", self->bus_name, log);
    }

  self->proxy = lrd_helper1_proxy_new_sync (lr_test_bus_get_connection (self->bus),
                                            G_DBUS_PROXY_FLAGS_NONE, self->bus_name,
                                            "/io/lanrage/Helper1", NULL, &error);
  g_assert_no_error (error);
  self->manager = lrd_object_manager_client_new_sync (lr_test_bus_get_connection (self->bus),
                                                      G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                                                      self->bus_name, "/io/lanrage/Helper1",
                                                      NULL, &error);
  g_assert_no_error (error);
}

void
lr_test_helper_stop (LrTestHelper *self)
{
  g_clear_object (&self->manager);
  g_clear_object (&self->proxy);
  if (self->process == NULL)
    return;
  g_subprocess_send_signal (self->process, SIGTERM);
  {
    /* GLib reaps the child in its worker thread; a helper that ignores SIGTERM fails the
     * test instead of hanging it. */
    gint64 deadline = g_get_monotonic_time () + LR_TEST_HELPER_TIMEOUT_MS * 1000;

    while (g_subprocess_get_identifier (self->process) != NULL &&
           g_get_monotonic_time () < deadline)
      g_usleep (5000);
    if (g_subprocess_get_identifier (self->process) != NULL)
      {
        g_subprocess_force_exit (self->process);
        g_test_fail_printf ("lanrage-helper %s did not stop within %d ms of SIGTERM",
                            self->bus_name, LR_TEST_HELPER_TIMEOUT_MS);
      }
    g_subprocess_wait (self->process, NULL, NULL);
  }
  {
    g_autofree char *log = lr_test_helper_get_log (self);

    /* Criticals abort the helper (G_DEBUG=fatal-criticals); warnings must be explained. */
    if (strstr (log, "WARNING") != NULL)
      g_test_message ("lanrage-helper %s warned; its log:\n%s", self->bus_name, log);
  }
  if (!g_subprocess_get_if_exited (self->process) ||
      g_subprocess_get_exit_status (self->process) != 0)
    {
      g_autofree char *log = lr_test_helper_get_log (self);

      g_test_message ("lanrage-helper log:\n%s", log);
      g_test_fail_printf ("lanrage-helper did not exit cleanly on SIGTERM");
    }
  g_clear_object (&self->process);
}

void
lr_test_helper_free (LrTestHelper *self)
{
  if (self == NULL)
    return;
  lr_test_helper_stop (self);
  g_free (self->tmpdir);
  g_free (self->state_dir);
  g_free (self->config_path);
  g_free (self->interface_name);
  g_free (self->log_path);
  g_free (self->bus_name);
  g_free (self->netns);
  g_free (self);
}

void
lr_test_helper_set_netns (LrTestHelper *self,
                          const char   *netns)
{
  g_assert_null (self->process);
  g_free (self->netns);
  self->netns = g_strdup (netns);
}

void
lr_test_helper_set_config (LrTestHelper *self,
                           const char   *config)
{
  write_file (self->config_path, config);
}

GPid
lr_test_helper_get_pid (LrTestHelper *self)
{
  const char *identifier;

  g_assert_nonnull (self->process);
  identifier = g_subprocess_get_identifier (self->process);
  return identifier != NULL ? (GPid) atoi (identifier) : 0;
}

const char *
lr_test_helper_get_bus_name (LrTestHelper *self)
{
  return self->bus_name;
}

const char *
lr_test_helper_get_interface (LrTestHelper *self)
{
  return self->interface_name;
}

const char *
lr_test_helper_get_state_dir (LrTestHelper *self)
{
  return self->state_dir;
}

LrdHelper1 *
lr_test_helper_get_proxy (LrTestHelper *self)
{
  g_assert_nonnull (self->proxy);
  return self->proxy;
}

GDBusObjectManager *
lr_test_helper_get_manager (LrTestHelper *self)
{
  g_assert_nonnull (self->manager);
  return self->manager;
}

char *
lr_test_helper_get_log (LrTestHelper *self)
{
  char *log = NULL;

  if (!g_file_get_contents (self->log_path, &log, NULL, NULL))
    return g_strdup ("(no log)");
  return log;
}

typedef struct
{
  LrTestHelper *helper;
  const char   *state;
  guint         count;
} HelperWait;

static gboolean
state_is (gpointer data)
{
  HelperWait *wait = data;

  return g_strcmp0 (lrd_helper1_get_state (wait->helper->proxy), wait->state) == 0;
}

void
lr_test_helper_wait_state (LrTestHelper *self,
                           const char   *state)
{
  HelperWait wait = { self, state, 0 };

  if (!lr_test_wait_for (state_is, &wait, LR_TEST_HELPER_TIMEOUT_MS))
    g_error ("%s stayed in state %s instead of %s", self->bus_name,
             lrd_helper1_get_state (self->proxy), state);
}

static guint
count_peers (LrTestHelper *self)
{
  GList *objects = g_dbus_object_manager_get_objects (self->manager);
  guint count = 0;

  for (GList *l = objects; l != NULL; l = l->next)
    {
      g_autoptr(LrdHelper1Peer) peer = lrd_object_get_helper1_peer (LRD_OBJECT (l->data));

      if (peer != NULL)
        count++;
    }
  g_list_free_full (objects, g_object_unref);
  return count;
}

static gboolean
peer_count_is (gpointer data)
{
  HelperWait *wait = data;

  return count_peers (wait->helper) == wait->count;
}

void
lr_test_helper_wait_peers (LrTestHelper *self,
                           guint         count)
{
  HelperWait wait = { self, NULL, count };

  if (!lr_test_wait_for (peer_count_is, &wait, LR_TEST_HELPER_TIMEOUT_MS))
    g_error ("%s exports %u peers instead of %u", self->bus_name, count_peers (self), count);
}

LrdHelper1Peer *
lr_test_helper_find_peer (LrTestHelper *self,
                          const char   *address)
{
  GList *objects = g_dbus_object_manager_get_objects (self->manager);
  LrdHelper1Peer *found = NULL;

  for (GList *l = objects; l != NULL && found == NULL; l = l->next)
    {
      g_autoptr(LrdHelper1Peer) peer = lrd_object_get_helper1_peer (LRD_OBJECT (l->data));

      if (peer != NULL && g_strcmp0 (lrd_helper1_peer_get_virtual_address (peer), address) == 0)
        found = g_steal_pointer (&peer);
    }
  g_list_free_full (objects, g_object_unref);
  return found;
}

/* lanragectl */

typedef struct
{
  uid_t uid;
  gid_t gid;
} Identity;

static void
become_user (gpointer user_data)
{
  const Identity *identity = user_data;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (setgroups (0, NULL) != 0 || setgid (identity->gid) != 0 || setuid (identity->uid) != 0)
    _exit (126);
}

/* Makes @launcher's child run as @user, or as root (the test's own user) for NULL; either
 * way it dies with the test. @identity must last until the spawn. */
static void
launcher_set_user (GSubprocessLauncher *launcher,
                   const char          *user,
                   Identity            *identity)
{
  struct passwd *pw;

  if (user == NULL)
    {
      g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
      return;
    }
  pw = getpwnam (user);
  g_assert_nonnull (pw);
  identity->uid = pw->pw_uid;
  identity->gid = pw->pw_gid;
  /* The sanitizer runtime writes its logs nowhere a user could not. */
  g_subprocess_launcher_setenv (launcher, "HOME", "/", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, become_user, identity, NULL);
}

GSubprocess *
lr_test_spawn_as (const char         *user,
                  const char * const *env,
                  const char * const *argv,
                  const char         *log_path,
                  GSubprocessFlags    flags)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) error = NULL;
  Identity identity = { 0, 0 };
  GSubprocess *process;

  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto(GStrv) pair = g_strsplit (env[i], "=", 2);

      g_subprocess_launcher_setenv (launcher, pair[0], pair[1], TRUE);
    }
  if (log_path != NULL)
    log_output_to (launcher, log_path, 0644, !(flags & G_SUBPROCESS_FLAGS_STDOUT_PIPE));
  launcher_set_user (launcher, user, &identity);

  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return process;
}

int
lr_test_ctl_run (LrTestBus          *bus,
                 const char         *bus_name,
                 const char         *user,
                 const char * const *argv,
                 char              **out_stdout,
                 char              **out_stderr)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  const char *binary = g_getenv ("LANRAGECTL");
  Identity identity = { 0, 0 };

  if (binary == NULL)
    g_error ("LANRAGECTL is not set: run the tests with meson test");

  g_ptr_array_add (args, (char *) binary);
  g_ptr_array_add (args, (char *) "--bus-name");
  g_ptr_array_add (args, (char *) bus_name);
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (char *) argv[i]);
  g_ptr_array_add (args, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS",
                                lr_test_bus_get_address (bus), TRUE);
  launcher_set_user (launcher, user, &identity);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) args->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);

  g_test_message ("lanragectl %s%s%s → %d\n%s%s", argv[0], argv[1] ? " " : "",
                  argv[1] ? argv[1] : "",
                  g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process)
                                                       : -1,
                  stdout_text, stderr_text);
  if (out_stdout != NULL)
    *out_stdout = g_steal_pointer (&stdout_text);
  if (out_stderr != NULL)
    *out_stderr = g_steal_pointer (&stderr_text);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

/* The fixture */

void
lr_test_helper_fixture_setup (LrTestHelperFixture *fixture,
                              gconstpointer        data)
{
  fixture->server = lr_test_server_new (NULL, LR_TEST_SERVER_NONE);
  lr_test_server_start (fixture->server);
  fixture->bus = lr_test_bus_new ();
  fixture->helper = lr_test_helper_new (fixture->bus, lr_test_server_get_url (fixture->server),
                                        NULL);
  lr_test_helper_start (fixture->helper);
}

void
lr_test_helper_fixture_teardown (LrTestHelperFixture *fixture,
                                 gconstpointer        data)
{
  g_clear_pointer (&fixture->helper, lr_test_helper_free);
  g_clear_pointer (&fixture->bus, lr_test_bus_free);
  if (fixture->server != NULL && lr_test_server_is_running (fixture->server))
    lr_test_server_stop (fixture->server, FALSE);
  g_clear_pointer (&fixture->server, lr_test_server_free);
}

void
lr_test_server_pin_port (LrTestServer *server)
{
  g_autoptr(GUri) uri = g_uri_parse (lr_test_server_get_url (server), G_URI_FLAGS_NONE, NULL);
  g_autofree char *listen = NULL;
  const char *args[3];

  g_assert_nonnull (uri);
  listen = g_strdup_printf ("127.0.0.1:%d", g_uri_get_port (uri));
  args[0] = "--listen";
  args[1] = listen;
  args[2] = NULL;
  /* The harness puts "--listen 127.0.0.1:0" first; the last --listen wins. */
  lr_test_server_set_extra_args (server, args);
}
