/* lanragectl.c: the command line of lanrage-helper
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A thin client of io.lanrage.Helper1 through the generated proxies, for people and for
 * scripts (--json). It has no main loop to keep responsive, so it calls synchronously.
 * Exit status: 0 on success, 1 when the helper refused or failed (the error's message on
 * standard error, and with --json its D-Bus name and message on standard output), 2 for
 * a usage error.
 */
#include <json-glib/json-glib.h>
#include <locale.h>

#include "lrd-dbus-generated.h"
#include "lrd-error.h"

#define BUS_NAME    "io.lanrage.Helper1"
#define OBJECT_PATH "/io/lanrage/Helper1"
/* Mutating calls may wait for an authentication dialog: no timeout. */
#define INTERACTIVE_TIMEOUT_MS G_MAXINT

typedef struct
{
  gboolean         json;
  gboolean         session_bus;
  char            *bus_name;
  char            *display_name;
  GDBusConnection *connection;
  LrdHelper1      *helper;
} Ctl;

static void
print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

static int
fail (Ctl    *ctl,
      GError *error)
{
  g_autofree char *name = g_dbus_error_get_remote_error (error);

  g_dbus_error_strip_remote_error (error);
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    {
      g_free (error->message);
      error->message = g_strdup_printf ("lanrage-helper is not running and could not be "
                                        "started (%s); is LANrage installed?", ctl->bus_name);
    }
  if (name == NULL && error->domain == LRD_ERROR)
    name = g_strdup (lrd_error_get_dbus_name (error->code));

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "error");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, name != NULL ? name : "");
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, error->message);
      json_builder_end_object (builder);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      print_json (root);
    }
  g_printerr ("lanragectl: %s\n", error->message);
  return 1;
}

static const char *
lookup_string (GVariant   *dict,
               const char *key)
{
  const char *value = NULL;

  if (!g_variant_lookup (dict, key, "&s", &value) || value == NULL || value[0] == '\0')
    return "-";
  return value;
}

/* "198.18.0.1:3478, 12.3 ms (lowest round-trip time of 2 answering relays)", or what is
 * wrong while there is none. */
static void
print_relay (GVariant *status)
{
  const char *relay = lookup_string (status, "Relay");
  const char *reason = lookup_string (status, "RelayReason");
  double rtt = -1;

  g_variant_lookup (status, "RelayRttMs", "d", &rtt);
  if (g_str_equal (relay, "-"))
    g_print ("Relay:           %s\n", g_str_equal (reason, "-") ? "-" : reason);
  else if (rtt >= 0)
    g_print ("Relay:           %s, %.1f ms (%s)\n", relay, rtt, reason);
  else
    g_print ("Relay:           %s (%s)\n", relay, reason);
}

/* "bridging, 1 game, 3 destinations seen; every port but 19 denied ranges" */
static void
print_lan (GVariant *status)
{
  g_autoptr(GVariant) games = g_variant_lookup_value (status, "Games", G_VARIANT_TYPE ("a(sssqssx)"));
  g_autoptr(GVariant) ports = g_variant_lookup_value (status, "BridgedPorts",
                                                      G_VARIANT_TYPE ("a(sqstx)"));
  g_autoptr(GVariant) deny = g_variant_lookup_value (status, "DenyList", G_VARIANT_TYPE ("a(qqss)"));
  const char *bridge = lookup_string (status, "LanBridge");
  /* A helper without the switch always bridges. */
  gboolean enabled = TRUE;
  gboolean known_only = FALSE;
  gsize n_games = games != NULL ? g_variant_n_children (games) : 0;
  gsize n_ports = ports != NULL ? g_variant_n_children (ports) : 0;
  gsize n_deny = deny != NULL ? g_variant_n_children (deny) : 0;
  g_autofree char *scope = NULL;

  g_variant_lookup (status, "LanDiscovery", "b", &enabled);
  g_variant_lookup (status, "KnownTitlesOnly", "b", &known_only);
  scope = known_only ? g_strdup ("known titles only")
                     : g_strdup_printf ("every port but %zu denied range%s", n_deny,
                                        n_deny == 1 ? "" : "s");
  if (!enabled)
    g_print ("LAN discovery:   turned off (lanragectl lan on); %s\n", scope);
  else if (g_str_equal (bridge, "on"))
    g_print ("LAN discovery:   bridging, %zu game%s, %zu destination%s seen; %s\n", n_games,
             n_games == 1 ? "" : "s", n_ports, n_ports == 1 ? "" : "s", scope);
  else if (g_str_equal (bridge, "failed"))
    g_print ("LAN discovery:   not bridged, the bridge failed (see the helper's log); %s\n",
             scope);
  else
    g_print ("LAN discovery:   off until a party is up; %s\n", scope);
}

static void
print_status (GVariant *status)
{
  g_autoptr(GVariant) peers = g_variant_lookup_value (status, "Peers", G_VARIANT_TYPE ("aa{sv}"));

  g_print ("State:           %s\n", lookup_string (status, "State"));
  g_print ("Party:           %s\n", lookup_string (status, "PartyName"));
  g_print ("Invite code:     %s\n", lookup_string (status, "InviteCode"));
  g_print ("Virtual address: %s\n", lookup_string (status, "VirtualAddress"));
  g_print ("NAT type:        %s\n", lookup_string (status, "NatType"));
  g_print ("Public endpoint: %s\n", lookup_string (status, "PublicEndpoint"));
  print_relay (status);
  g_print ("Backend:         %s\n", lookup_string (status, "Backend"));
  g_print ("Peers:           %zu\n", peers != NULL ? g_variant_n_children (peers) : 0);
  print_lan (status);
  if (g_strcmp0 (lookup_string (status, "LastError"), "-") != 0)
    g_print ("Last error:      %s\n", lookup_string (status, "LastError"));
}

static int
show_status (Ctl *ctl)
{
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GError) error = NULL;

  if (!lrd_helper1_call_get_status_sync (ctl->helper, &status, NULL, &error))
    return fail (ctl, error);

  if (ctl->json)
    {
      g_autoptr(JsonNode) node = json_gvariant_serialize (status);

      print_json (node);
    }
  else
    print_status (status);
  return 0;
}

/* The generated _sync calls send no flags; mutating calls must allow interactive
 * authorization, so they go through the proxy with the flag. */
static gboolean
call_mutating (Ctl         *ctl,
               const char  *method,
               GVariant    *parameters,
               GError     **error)
{
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (ctl->helper), method, parameters,
                                  G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
                                  INTERACTIVE_TIMEOUT_MS, NULL, error);
  return reply != NULL;
}

static int
cmd_create (Ctl        *ctl,
            const char *name)
{
  g_autoptr(GError) error = NULL;

  if (!call_mutating (ctl, "CreateParty",
                      g_variant_new ("(ss)", name, ctl->display_name ? ctl->display_name : ""),
                      &error))
    return fail (ctl, error);
  if (!ctl->json)
    g_print ("Created the party. Share the invite code below with your friends.\n\n");
  return show_status (ctl);
}

static int
cmd_join (Ctl        *ctl,
          const char *code)
{
  g_autoptr(GError) error = NULL;

  if (!call_mutating (ctl, "JoinParty",
                      g_variant_new ("(ss)", code, ctl->display_name ? ctl->display_name : ""),
                      &error))
    return fail (ctl, error);
  if (!ctl->json)
    g_print ("Joined the party.\n\n");
  return show_status (ctl);
}

static int
cmd_leave (Ctl *ctl)
{
  g_autoptr(GError) error = NULL;

  if (!call_mutating (ctl, "LeaveParty", NULL, &error))
    return fail (ctl, error);
  if (!ctl->json)
    {
      g_print ("Left the party.\n");
      return 0;
    }
  return show_status (ctl);
}

static int
cmd_lan (Ctl        *ctl,
         const char *value)
{
  g_autoptr(GError) error = NULL;
  gboolean enabled = g_str_equal (value, "on");

  if (!call_mutating (ctl, "SetLanDiscovery", g_variant_new ("(b)", enabled), &error))
    return fail (ctl, error);
  if (!ctl->json)
    {
      if (enabled)
        g_print ("LAN discovery is on: games announced here and by the party's members are "
                 "carried while a party is up.\n");
      else
        g_print ("LAN discovery is off: nothing is carried to or from the party.\n");
      return 0;
    }
  return show_status (ctl);
}

static int
compare_peers (gconstpointer a,
               gconstpointer b)
{
  LrdHelper1Peer *pa = *(LrdHelper1Peer * const *) a;
  LrdHelper1Peer *pb = *(LrdHelper1Peer * const *) b;

  return g_strcmp0 (lrd_helper1_peer_get_virtual_address (pa),
                    lrd_helper1_peer_get_virtual_address (pb));
}

static int
cmd_peers (Ctl *ctl)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusObjectManager) manager = NULL;
  g_autoptr(GPtrArray) peers = g_ptr_array_new_with_free_func (g_object_unref);
  GList *objects;

  manager = lrd_object_manager_client_new_sync (ctl->connection,
                                                G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                                                ctl->bus_name, OBJECT_PATH, NULL, &error);
  if (manager == NULL)
    return fail (ctl, error);

  objects = g_dbus_object_manager_get_objects (manager);
  for (GList *l = objects; l != NULL; l = l->next)
    {
      LrdHelper1Peer *peer = lrd_object_get_helper1_peer (LRD_OBJECT (l->data));

      if (peer != NULL)
        g_ptr_array_add (peers, peer);
    }
  g_list_free_full (objects, g_object_unref);
  g_ptr_array_sort (peers, compare_peers);

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_array (builder);
      for (guint i = 0; i < peers->len; i++)
        {
          GDBusProxy *proxy = G_DBUS_PROXY (peers->pdata[i]);
          g_auto(GStrv) names = g_dbus_proxy_get_cached_property_names (proxy);

          json_builder_begin_object (builder);
          for (guint j = 0; names != NULL && names[j] != NULL; j++)
            {
              g_autoptr(GVariant) value = g_dbus_proxy_get_cached_property (proxy, names[j]);

              json_builder_set_member_name (builder, names[j]);
              json_builder_add_value (builder, json_gvariant_serialize (value));
            }
          json_builder_set_member_name (builder, "ObjectPath");
          json_builder_add_string_value (builder, g_dbus_proxy_get_object_path (proxy));
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      root = json_builder_get_root (builder);
      print_json (root);
      return 0;
    }

  if (peers->len == 0)
    {
      g_print ("No peers.\n");
      return 0;
    }
  g_print ("%-12s %-16s %-3s %-10s %-22s %-9s %-8s %-6s %-4s %-9s %s\n", "ADDRESS", "NAME",
           "ON", "PATH", "ENDPOINT/RELAY", "LATENCY", "JITTER", "LOSS", "QUAL", "DIRECT/FB",
           "NAT");
  for (guint i = 0; i < peers->len; i++)
    {
      LrdHelper1Peer *peer = peers->pdata[i];
      double latency = lrd_helper1_peer_get_latency_ms (peer);
      double jitter = lrd_helper1_peer_get_jitter_ms (peer);
      double loss = lrd_helper1_peer_get_loss_percent (peer);
      gint score = lrd_helper1_peer_get_quality_score (peer);
      const char *path = lrd_helper1_peer_get_path (peer);
      const char *where = g_strcmp0 (path, "direct") == 0 ? lrd_helper1_peer_get_endpoint (peer)
                                                          : lrd_helper1_peer_get_relay (peer);
      g_autofree char *latency_text = latency < 0 ? g_strdup ("-")
                                                  : g_strdup_printf ("%.1f ms", latency);
      g_autofree char *jitter_text = jitter < 0 ? g_strdup ("-")
                                                : g_strdup_printf ("%.1f ms", jitter);
      g_autofree char *loss_text = loss < 0 ? g_strdup ("-") : g_strdup_printf ("%.0f %%", loss);
      g_autofree char *score_text = score < 0 ? g_strdup ("-") : g_strdup_printf ("%d", score);
      g_autofree char *counts = g_strdup_printf ("%u/%u",
                                                 lrd_helper1_peer_get_direct_attempts (peer),
                                                 lrd_helper1_peer_get_fallbacks (peer));
      GVariant *history = lrd_helper1_peer_get_path_history (peer);
      gsize n = history != NULL ? g_variant_n_children (history) : 0;

      g_print ("%-12s %-16s %-3s %-10s %-22s %-9s %-8s %-6s %-4s %-9s %s\n",
               lrd_helper1_peer_get_virtual_address (peer), lrd_helper1_peer_get_name (peer),
               lrd_helper1_peer_get_online (peer) ? "yes" : "no", path,
               where != NULL && where[0] != '\0' ? where : "-", latency_text, jitter_text,
               loss_text, score_text, counts, lrd_helper1_peer_get_nat_type (peer));
      /* The last few path changes, newest last. */
      for (gsize j = n > 3 ? n - 3 : 0; j < n; j++)
        {
          gint64 time_us;
          const char *from, *to, *endpoint, *reason;
          g_autoptr(GDateTime) when = NULL;
          g_autofree char *when_text = NULL;

          g_variant_get_child (history, j, "(x&s&s&s&s)", &time_us, &from, &to, &endpoint,
                               &reason);
          when = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);
          when_text = when != NULL ? g_date_time_format (when, "%H:%M:%S") : g_strdup ("?");
          g_print ("    %s %s -> %s%s%s: %s\n", when_text, from, to,
                   endpoint[0] != '\0' ? " " : "", endpoint, reason);
        }
    }
  return 0;
}

/* The name of the peer at @address, from GetStatus's "Peers", or NULL. */
static const char *
peer_name (GVariant   *peers,
           const char *address)
{
  GVariantIter iter;
  GVariant *peer;

  if (peers == NULL)
    return NULL;
  g_variant_iter_init (&iter, peers);
  while (g_variant_iter_next (&iter, "@a{sv}", &peer))
    {
      g_autoptr(GVariant) owned = peer;
      const char *peer_address = NULL;
      const char *name = NULL;

      if (g_variant_lookup (peer, "VirtualAddress", "&s", &peer_address) &&
          g_strcmp0 (peer_address, address) == 0 &&
          g_variant_lookup (peer, "Name", "&s", &name))
        return name;   /* lives as long as @peers */
    }
  return NULL;
}

static int
cmd_games (Ctl *ctl)
{
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) games = NULL;
  g_autoptr(GVariant) peers = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const char *id, *title, *host, *name, *details;
  GVariantIter iter;
  guint16 port;
  gint64 last_seen;

  if (!lrd_helper1_call_get_status_sync (ctl->helper, &status, NULL, &error))
    return fail (ctl, error);
  games = g_variant_lookup_value (status, "Games", G_VARIANT_TYPE ("a(sssqssx)"));
  peers = g_variant_lookup_value (status, "Peers", G_VARIANT_TYPE ("aa{sv}"));

  if (!ctl->json && (games == NULL || g_variant_n_children (games) == 0))
    {
      g_print ("No games announced in this party.\n");
      return 0;
    }
  if (!ctl->json)
    g_print ("%-26s %-28s %-22s %s\n", "TITLE", "HOST", "CONNECT TO", "NAME");
  json_builder_begin_array (builder);
  if (games != NULL)
    {
      g_variant_iter_init (&iter, games);
      while (g_variant_iter_next (&iter, "(&s&s&sq&s&sx)", &id, &title, &host, &port, &name,
                                  &details, &last_seen))
        {
          const char *host_name = peer_name (peers, host);
          g_autofree char *connect = g_strdup_printf ("%s:%u", host, port);

          if (!ctl->json)
            {
              g_autofree char *who = host_name != NULL ? g_strdup_printf ("%s (%s)", host,
                                                                          host_name)
                                                       : g_strdup (host);

              g_print ("%-26s %-28s %-22s %s%s%s\n", title, who, connect, name,
                       details[0] != '\0' ? ", " : "", details);
              continue;
            }
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "TitleId");
          json_builder_add_string_value (builder, id);
          json_builder_set_member_name (builder, "Title");
          json_builder_add_string_value (builder, title);
          json_builder_set_member_name (builder, "Host");
          json_builder_add_string_value (builder, host);
          json_builder_set_member_name (builder, "HostName");
          json_builder_add_string_value (builder, host_name != NULL ? host_name : "");
          json_builder_set_member_name (builder, "Port");
          json_builder_add_int_value (builder, port);
          json_builder_set_member_name (builder, "Address");
          json_builder_add_string_value (builder, connect);
          json_builder_set_member_name (builder, "Name");
          json_builder_add_string_value (builder, name);
          json_builder_set_member_name (builder, "Details");
          json_builder_add_string_value (builder, details);
          json_builder_set_member_name (builder, "LastSeen");
          json_builder_add_int_value (builder, last_seen);
          json_builder_end_object (builder);
        }
    }
  json_builder_end_array (builder);
  if (ctl->json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (builder);

      print_json (root);
    }
  return 0;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Ctl ctl = { 0 };
  const char *command;
  int status;
  const GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &ctl.json, "Print JSON, for scripts", NULL },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &ctl.display_name,
      "How this computer is shown to the party (create, join; default: the host name)",
      "NAME" },
    { "session", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &ctl.session_bus,
      "Talk to a helper on the session bus (its test mode)", NULL },
    { "bus-name", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &ctl.bus_name,
      "Talk to the helper that owns NAME (tests)", "NAME" },
    { NULL }
  };

  setlocale (LC_ALL, "");
  (void) LRD_ERROR;

  context = g_option_context_new ("status|create NAME|join CODE|leave|peers|games|lan on|lan off");
  g_option_context_set_summary (context, "Create, join and leave LANrage parties, and turn LAN "
                                "game discovery on or off.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("lanragectl: %s\n", error->message);
      g_free (ctl.bus_name);
      g_free (ctl.display_name);
      return 2;
    }

  command = argc > 1 ? argv[1] : "status";
  if (!((g_str_equal (command, "status") && argc <= 2) ||
        (g_str_equal (command, "create") && argc == 3) ||
        (g_str_equal (command, "join") && argc == 3) ||
        (g_str_equal (command, "leave") && argc == 2) ||
        (g_str_equal (command, "peers") && argc == 2) ||
        (g_str_equal (command, "games") && argc == 2) ||
        (g_str_equal (command, "lan") && argc == 3 &&
         (g_str_equal (argv[2], "on") || g_str_equal (argv[2], "off")))))
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

      g_printerr ("%s", help);
      g_free (ctl.bus_name);
      g_free (ctl.display_name);
      return 2;
    }

  if (ctl.bus_name == NULL)
    ctl.bus_name = g_strdup (BUS_NAME);

  ctl.connection = g_bus_get_sync (ctl.session_bus ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM,
                                   NULL, &error);
  if (ctl.connection == NULL)
    {
      status = fail (&ctl, error);
      g_free (ctl.bus_name);
      g_free (ctl.display_name);
      return status;
    }

  ctl.helper = lrd_helper1_proxy_new_sync (ctl.connection, G_DBUS_PROXY_FLAGS_NONE,
                                           ctl.bus_name, OBJECT_PATH, NULL, &error);
  if (ctl.helper == NULL)
    status = fail (&ctl, error);
  else if (g_str_equal (command, "status"))
    status = show_status (&ctl);
  else if (g_str_equal (command, "create"))
    status = cmd_create (&ctl, argv[2]);
  else if (g_str_equal (command, "join"))
    status = cmd_join (&ctl, argv[2]);
  else if (g_str_equal (command, "leave"))
    status = cmd_leave (&ctl);
  else if (g_str_equal (command, "games"))
    status = cmd_games (&ctl);
  else if (g_str_equal (command, "lan"))
    status = cmd_lan (&ctl, argv[2]);
  else
    status = cmd_peers (&ctl);

  g_clear_object (&ctl.helper);
  g_clear_object (&ctl.connection);
  g_free (ctl.bus_name);
  g_free (ctl.display_name);
  return status;
}
