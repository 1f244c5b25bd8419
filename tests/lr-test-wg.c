/* lr-test-wg.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-test-wg.h"

#include "lr-test-lab.h"

#include <gio/gunixsocketaddress.h>
#include <sodium.h>
#include <string.h>

void
lr_test_wg_keys_generate (LrTestWgKeys *keys)
{
  randombytes_buf (keys->private_key, sizeof keys->private_key);
  /* Curve25519 clamping, as `wg genkey` does. */
  keys->private_key[0] &= 248;
  keys->private_key[31] = (keys->private_key[31] & 127) | 64;
  crypto_scalarmult_base (keys->public_key, keys->private_key);
}

static void
append_hex (GString      *request,
            const char   *name,
            const guint8 *key)
{
  g_string_append_printf (request, "%s=", name);
  for (guint i = 0; i < LR_TEST_WG_KEY_LENGTH; i++)
    g_string_append_printf (request, "%02x", key[i]);
  g_string_append_c (request, '\n');
}

/* One request; returns the answer up to the empty line that ends it. */
static char *
uapi_request (const char *ifname,
              const char *request)
{
  g_autofree char *path = g_strdup_printf ("/run/wireguard/%s.sock", ifname);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  char answer[4096] = "";
  gsize length = 0;

  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  while (length < sizeof answer - 1 && strstr (answer, "\n\n") == NULL)
    {
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                      answer + length, sizeof answer - 1 - length, NULL, &error);

      g_assert_no_error (error);
      if (n == 0)
        break;
      length += n;
      answer[length] = '\0';
    }
  return g_strdup (answer);
}

/* One `set=1` request; the daemon must answer errno=0. */
static void
uapi_set (const char *ifname,
          const char *body)
{
  g_autofree char *request = g_strdup_printf ("set=1\n%s\n", body);
  g_autofree char *answer = uapi_request (ifname, request);

  g_assert_cmpstr (answer, ==, "errno=0\n\n");
}

/**
 * lr_test_wg_dup_endpoint:
 *
 * Returns: (nullable): the endpoint of @ifname's first peer as wireguard-go reports it
 *   (`get=1`), "addr:port"; %NULL when it has none
 */
char *
lr_test_wg_dup_endpoint (const char *ifname)
{
  g_autofree char *answer = uapi_request (ifname, "get=1\n\n");
  g_auto(GStrv) lines = g_strsplit (answer, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "endpoint="))
      return g_strdup (lines[i] + strlen ("endpoint="));
  return NULL;
}

GSubprocess *
lr_test_wg_start (const char         *netns,
                  const char         *ifname,
                  const LrTestWgKeys *keys,
                  guint16             port,
                  const char         *address,
                  const char         *log_path)
{
  const char *argv[] = { "wireguard-go", "-f", ifname, NULL };
  g_autofree char *socket_path = g_strdup_printf ("/run/wireguard/%s.sock", ifname);
  g_autoptr(GString) body = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  GSubprocess *process = lr_test_lab_spawn (netns, argv, log_path, G_SUBPROCESS_FLAGS_NONE);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!g_file_test (socket_path, G_FILE_TEST_EXISTS))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
  append_hex (body, "private_key", keys->private_key);
  g_string_append_printf (body, "listen_port=%u\n", port);
  uapi_set (ifname, body->str);

  lr_test_lab_run (NULL, NULL, &error, "ip", "-n", netns, "address", "add", address, "dev",
                   ifname, NULL);
  g_assert_no_error (error);
  lr_test_lab_run (NULL, NULL, &error, "ip", "-n", netns, "link", "set", ifname, "up", NULL);
  g_assert_no_error (error);
  return process;
}

void
lr_test_wg_set_peer (const char   *ifname,
                     const guint8 *public_key,
                     const char   *endpoint,
                     const char   *allowed_ip)
{
  g_autoptr(GString) body = g_string_new (NULL);

  append_hex (body, "public_key", public_key);
  if (endpoint != NULL)
    g_string_append_printf (body, "endpoint=%s\n", endpoint);
  g_string_append_printf (body, "replace_allowed_ips=true\nallowed_ip=%s\n", allowed_ip);
  uapi_set (ifname, body->str);
}
