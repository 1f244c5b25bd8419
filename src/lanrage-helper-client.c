/* lanrage-helper-client.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The only object of the app that talks to lanrage-helper. It watches the helper's bus
 * name, so the app picks the helper up whenever it starts (and notices when it stops), and
 * turns the generated proxies into GObject properties and a list model of LanragePeer: the
 * widgets bind to those and never see D-Bus.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-deny-entry.h"
#include "lanrage-enums.h"
#include "lanrage-game.h"
#include "lanrage-helper-client.h"
#include "lanrage-peer-private.h"
#include "lrd-dbus-generated.h"
#include "lrd-error.h"

#define HELPER_OBJECT_PATH "/io/lanrage/Helper1"
/* CreateParty and JoinParty return once the party is up, which includes reaching the
 * control server and the relays and possibly a polkit authentication dialog: give a person
 * time to type a password. */
#define CALL_TIMEOUT_MS (2 * 60 * 1000)
/* The helper lists the party's members from the control server's first snapshot, a moment
 * after it reports "connected": peers that appear this soon after were already there. The
 * D-Bus API has no join time to tell them apart more precisely. */
#define ALREADY_THERE_US (3 * G_USEC_PER_SEC / 2)
/* A lost party reaches the app as its members' objects going, then State "idle" with
 * LastError: the helper does both in one turn of its loop, so they arrive within
 * milliseconds. Members that go are announced this much later, unless the party went
 * with them. */
#define LEFT_GRACE_MS 500

struct _LanrageHelperClient
{
  GObject              parent_instance;

  GDBusConnection     *connection;
  char                *bus_name;
  guint                watch_id;
  gboolean             name_known;      /* the bus said whether the name has an owner */
  GCancellable        *cancellable;     /* for the proxies of the current owner */
  LrdHelper1          *proxy;
  GDBusObjectManager  *manager;
  GListStore          *peers;
  gboolean             peers_synced;    /* the peers there at first are in the list */
  GListStore          *games;
  gboolean             games_synced;    /* the games there at first are in the list */
  LanrageHelperStatus  status;
  gint64               connected_at_us; /* when status last became CONNECTED */
  GPtrArray           *departed;        /* LanragePeer that went, not announced yet */
  guint                departed_id;
};

G_DEFINE_FINAL_TYPE (LanrageHelperClient, lanrage_helper_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONNECTION,
  PROP_BUS_NAME,
  PROP_STATUS,
  /* From here on the names are the generated proxy's: a change there is a change here. */
  PROP_PARTY_NAME,
  PROP_INVITE_CODE,
  PROP_VIRTUAL_ADDRESS,
  PROP_NAT_TYPE,
  PROP_PUBLIC_ENDPOINT,
  PROP_RELAY,
  PROP_RELAY_RTT_MS,
  PROP_BACKEND,
  PROP_LAST_ERROR,
  PROP_CONTROL_URL,
  PROP_LAN_DISCOVERY,
  PROP_LAN_BRIDGE,
  PROP_KNOWN_TITLES_ONLY,
  PROP_DENY_LIST,
  PROP_PEERS,
  PROP_GAMES,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum {
  PEER_JOINED,
  PEER_LEFT,
  PEER_FELL_BACK,
  GAME_APPEARED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *
nonnull (const char *text)
{
  return text != NULL ? text : "";
}

static LanrageHelperStatus
compute_status (LanrageHelperClient *self)
{
  const char *state;

  if (self->proxy == NULL)
    return self->name_known ? LANRAGE_HELPER_STATUS_ABSENT : LANRAGE_HELPER_STATUS_STARTING;

  state = nonnull (lrd_helper1_get_state (self->proxy));
  if (g_str_equal (state, "connected"))
    return LANRAGE_HELPER_STATUS_CONNECTED;
  if (g_str_equal (state, "joining"))
    return LANRAGE_HELPER_STATUS_JOINING;
  if (g_str_equal (state, "error"))
    return LANRAGE_HELPER_STATUS_ERROR;
  /* "idle", and anything a newer helper may add: the app offers to create or join. */
  return LANRAGE_HELPER_STATUS_IDLE;
}

static void
forget_departed (LanrageHelperClient *self)
{
  g_clear_handle_id (&self->departed_id, g_source_remove);
  g_ptr_array_set_size (self->departed, 0);
}

static void
update_status (LanrageHelperClient *self)
{
  LanrageHelperStatus status = compute_status (self);

  if (status == self->status)
    return;
  self->status = status;
  if (status == LANRAGE_HELPER_STATUS_CONNECTED)
    self->connected_at_us = g_get_monotonic_time ();
  else
    /* They went with the party. */
    forget_departed (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATUS]);
}

static void
notify_all (LanrageHelperClient *self)
{
  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = PROP_PARTY_NAME; i <= PROP_DENY_LIST; i++)
    g_object_notify_by_pspec (G_OBJECT (self), props[i]);
  update_status (self);
  g_object_thaw_notify (G_OBJECT (self));
}

/* Peers */

static int
compare_peers (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  int by_name = g_utf8_collate (lanrage_peer_get_name ((LanragePeer *) a),
                                lanrage_peer_get_name ((LanragePeer *) b));

  if (by_name != 0)
    return by_name;
  return g_strcmp0 (lanrage_peer_get_id ((LanragePeer *) a),
                    lanrage_peer_get_id ((LanragePeer *) b));
}

static gboolean
find_peer (LanrageHelperClient *self,
           const char          *id,
           guint               *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->peers));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LanragePeer) peer = g_list_model_get_item (G_LIST_MODEL (self->peers), i);

      if (g_str_equal (lanrage_peer_get_id (peer), id))
        {
          *position = i;
          return TRUE;
        }
    }
  return FALSE;
}

static void
peer_fell_back_cb (LanrageHelperClient *self,
                   LanragePeer         *peer)
{
  g_signal_emit (self, signals[PEER_FELL_BACK], 0, peer);
}

static void
add_peer_object (LanrageHelperClient *self,
                 GDBusObject         *object)
{
  LrdHelper1Peer *proxy = lrd_object_peek_helper1_peer (LRD_OBJECT (object));
  g_autoptr(LanragePeer) peer = NULL;
  guint position;

  if (proxy == NULL)
    return;
  peer = lanrage_peer_new (proxy);
  if (find_peer (self, lanrage_peer_get_id (peer), &position))
    return;
  g_signal_connect_object (peer, "fell-back", G_CALLBACK (peer_fell_back_cb), self,
                           G_CONNECT_SWAPPED);
  g_list_store_insert_sorted (self->peers, peer, compare_peers, NULL);
  /* The members already there when this machine joins are not news. */
  if (self->peers_synced && self->status == LANRAGE_HELPER_STATUS_CONNECTED &&
      g_get_monotonic_time () - self->connected_at_us > ALREADY_THERE_US)
    g_signal_emit (self, signals[PEER_JOINED], 0, peer);
}

static void
object_added_cb (LanrageHelperClient *self,
                 GDBusObject         *object)
{
  add_peer_object (self, object);
}

static void
announce_departed_cb (gpointer user_data)
{
  LanrageHelperClient *self = user_data;
  g_autoptr(GPtrArray) departed = g_steal_pointer (&self->departed);

  self->departed_id = 0;
  self->departed = g_ptr_array_new_with_free_func (g_object_unref);
  if (self->status != LANRAGE_HELPER_STATUS_CONNECTED)
    return;
  for (guint i = 0; i < departed->len; i++)
    g_signal_emit (self, signals[PEER_LEFT], 0, departed->pdata[i]);
}

static void
object_removed_cb (LanrageHelperClient *self,
                   GDBusObject         *object)
{
  LrdHelper1Peer *proxy = lrd_object_peek_helper1_peer (LRD_OBJECT (object));
  guint position;

  g_autoptr(LanragePeer) peer = NULL;

  if (proxy == NULL || !find_peer (self, nonnull (lrd_helper1_peer_get_id (proxy)), &position))
    return;
  peer = g_list_model_get_item (G_LIST_MODEL (self->peers), position);
  g_list_store_remove (self->peers, position);
  g_ptr_array_add (self->departed, g_steal_pointer (&peer));
  if (self->departed_id == 0)
    self->departed_id = g_timeout_add_once (LEFT_GRACE_MS, announce_departed_cb, self);
}

static void
manager_ready_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(LanrageHelperClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusObjectManager) manager = lrd_object_manager_client_new_finish (result, &error);
  GList *objects;

  if (manager == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot follow the helper's peers: %s", error->message);
      return;
    }

  self->manager = g_steal_pointer (&manager);
  g_signal_connect_object (self->manager, "object-added", G_CALLBACK (object_added_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->manager, "object-removed", G_CALLBACK (object_removed_cb),
                           self, G_CONNECT_SWAPPED);
  objects = g_dbus_object_manager_get_objects (self->manager);
  for (GList *l = objects; l != NULL; l = l->next)
    add_peer_object (self, l->data);
  g_list_free_full (objects, g_object_unref);
  /* From now on, a new object is someone joining. */
  self->peers_synced = TRUE;
}

/* Games */

static LanragePeer *
peer_with_address (LanrageHelperClient *self,
                   const char          *address)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->peers));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LanragePeer) peer = g_list_model_get_item (G_LIST_MODEL (self->peers), i);

      if (g_str_equal (lanrage_peer_get_virtual_address (peer), address))
        return peer;
    }
  return NULL;
}

static void
name_game_hosts (LanrageHelperClient *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->games));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LanrageGame) game = g_list_model_get_item (G_LIST_MODEL (self->games), i);
      LanragePeer *host = peer_with_address (self, lanrage_game_get_host (game));

      lanrage_game_set_host_name (game, host != NULL ? lanrage_peer_get_name (host) : "");
    }
}

static LanrageGame *
find_game (LanrageHelperClient *self,
           const char          *title_id,
           const char          *host,
           guint16              port)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->games));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LanrageGame) game = g_list_model_get_item (G_LIST_MODEL (self->games), i);

      if (lanrage_game_is (game, title_id, host, port))
        return game;
    }
  return NULL;
}

static gboolean
games_list (GVariant    *games,
            LanrageGame *game)
{
  const char *id, *title, *host, *name, *details;
  guint16 port;
  gint64 last_seen;
  GVariantIter iter;

  g_variant_iter_init (&iter, games);
  while (g_variant_iter_next (&iter, "(&s&s&sq&s&sx)", &id, &title, &host, &port, &name,
                              &details, &last_seen))
    if (lanrage_game_is (game, id, host, port))
      return TRUE;
  return FALSE;
}

/* Brings the list of games in line with the helper's Games: a game that stays keeps its
 * object (its name and details change in place), so rows do not flicker when the helper
 * refreshes a game's last-seen time every second. */
static void
sync_games (LanrageHelperClient *self)
{
  GVariant *games = self->proxy != NULL ? lrd_helper1_get_games (self->proxy) : NULL;
  g_autoptr(GPtrArray) appeared = g_ptr_array_new_with_free_func (g_object_unref);
  const char *id, *title, *host, *name, *details;
  guint16 port;
  gint64 last_seen;
  GVariantIter iter;
  gboolean news;

  /* No games at all, rather than a list the app cannot read. */
  if (games != NULL && !g_variant_is_of_type (games, G_VARIANT_TYPE ("a(sssqssx)")))
    games = NULL;

  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->games)); i > 0; i--)
    {
      g_autoptr(LanrageGame) game = g_list_model_get_item (G_LIST_MODEL (self->games), i - 1);

      if (games == NULL || !games_list (games, game))
        g_list_store_remove (self->games, i - 1);
    }

  if (games != NULL)
    {
      g_variant_iter_init (&iter, games);
      while (g_variant_iter_next (&iter, "(&s&s&sq&s&sx)", &id, &title, &host, &port, &name,
                                  &details, &last_seen))
        {
          LanrageGame *game = find_game (self, id, host, port);

          if (game == NULL)
            {
              g_autoptr(LanrageGame) added = lanrage_game_new (id, title, host, port);

              g_list_store_append (self->games, added);
              g_ptr_array_add (appeared, g_object_ref (added));
              game = added;
            }
          lanrage_game_set_name (game, name);
          lanrage_game_set_details (game, details);
        }
    }
  name_game_hosts (self);

  /* The games already announced when the app started or joined are not news. */
  news = self->games_synced && self->status == LANRAGE_HELPER_STATUS_CONNECTED &&
         g_get_monotonic_time () - self->connected_at_us > ALREADY_THERE_US;
  self->games_synced = self->proxy != NULL;
  if (news)
    for (guint i = 0; i < appeared->len; i++)
      g_signal_emit (self, signals[GAME_APPEARED], 0, appeared->pdata[i]);
}

static void
peers_changed_cb (LanrageHelperClient *self)
{
  name_game_hosts (self);
}

/* The helper itself */

static void
proxy_notify_cb (LanrageHelperClient *self,
                 GParamSpec          *proxy_pspec)
{
  GParamSpec *pspec;

  if (g_str_equal (proxy_pspec->name, "state"))
    {
      update_status (self);
      return;
    }
  if (g_str_equal (proxy_pspec->name, "games"))
    {
      sync_games (self);
      return;
    }

  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (self), proxy_pspec->name);
  if (pspec != NULL && pspec != props[PROP_CONNECTION] && pspec != props[PROP_BUS_NAME] &&
      pspec != props[PROP_PEERS] && pspec != props[PROP_GAMES] && pspec != props[PROP_STATUS])
    g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

static void
proxy_ready_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(LanrageHelperClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdHelper1) proxy = lrd_helper1_proxy_new_finish (result, &error);

  if (proxy == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot talk to the helper: %s", error->message);
      return;
    }

  self->proxy = g_steal_pointer (&proxy);
  /* Calls can take long (see CALL_TIMEOUT_MS); property reads are cached. */
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (self->proxy), CALL_TIMEOUT_MS);
  g_signal_connect_object (self->proxy, "notify", G_CALLBACK (proxy_notify_cb), self,
                           G_CONNECT_SWAPPED);
  notify_all (self);
  sync_games (self);
}

static void
forget_helper (LanrageHelperClient *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);
  g_clear_object (&self->manager);
  if (self->proxy != NULL)
    g_signal_handlers_disconnect_by_data (self->proxy, self);
  g_clear_object (&self->proxy);
  self->peers_synced = FALSE;
  g_list_store_remove_all (self->peers);
  self->games_synced = FALSE;
  g_list_store_remove_all (self->games);
}

static void
name_appeared_cb (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  LanrageHelperClient *self = user_data;

  g_debug ("The helper appeared as %s", owner);
  forget_helper (self);
  self->name_known = TRUE;
  self->cancellable = g_cancellable_new ();
  /* Both follow the owner that is there now: a restarted helper is a new owner, and we
   * come back here for it. */
  lrd_helper1_proxy_new (connection, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, owner,
                         HELPER_OBJECT_PATH, self->cancellable, proxy_ready_cb,
                         g_object_ref (self));
  lrd_object_manager_client_new (connection, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                                 owner, HELPER_OBJECT_PATH, self->cancellable, manager_ready_cb,
                                 g_object_ref (self));
}

static void
name_vanished_cb (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  LanrageHelperClient *self = user_data;

  g_debug ("The helper is not on the bus");
  forget_helper (self);
  self->name_known = TRUE;
  notify_all (self);
}

static void
watch (LanrageHelperClient *self)
{
  self->watch_id = g_bus_watch_name_on_connection (self->connection, self->bus_name,
                                                   G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                   name_appeared_cb, name_vanished_cb,
                                                   self, NULL);
}

static void
bus_ready_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(LanrageHelperClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) connection = g_bus_get_finish (result, &error);

  if (connection == NULL)
    {
      /* No system bus at all: to a person, that is a helper that cannot run. */
      g_warning ("Cannot connect to the system bus: %s", error->message);
      self->name_known = TRUE;
      notify_all (self);
      return;
    }
  if (self->watch_id != 0 || self->connection != NULL)
    return;
  self->connection = g_steal_pointer (&connection);
  watch (self);
}

static void
lanrage_helper_client_constructed (GObject *object)
{
  LanrageHelperClient *self = LANRAGE_HELPER_CLIENT (object);

  G_OBJECT_CLASS (lanrage_helper_client_parent_class)->constructed (object);

  /* Registers the helper's named errors, so calls fail with LRD_ERROR codes. */
  (void) LRD_ERROR;
  if (self->bus_name == NULL)
    self->bus_name = g_strdup (LANRAGE_HELPER_BUS_NAME);
  if (self->connection != NULL)
    watch (self);
  else
    g_bus_get (G_BUS_TYPE_SYSTEM, NULL, bus_ready_cb, g_object_ref (self));
}

static void
lanrage_helper_client_dispose (GObject *object)
{
  LanrageHelperClient *self = LANRAGE_HELPER_CLIENT (object);

  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  forget_helper (self);
  forget_departed (self);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (lanrage_helper_client_parent_class)->dispose (object);
}

static void
lanrage_helper_client_finalize (GObject *object)
{
  LanrageHelperClient *self = LANRAGE_HELPER_CLIENT (object);

  g_clear_object (&self->peers);
  g_clear_object (&self->games);
  g_clear_pointer (&self->departed, g_ptr_array_unref);
  g_free (self->bus_name);
  G_OBJECT_CLASS (lanrage_helper_client_parent_class)->finalize (object);
}

static void
lanrage_helper_client_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  LanrageHelperClient *self = LANRAGE_HELPER_CLIENT (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;
    case PROP_BUS_NAME:
      g_value_set_string (value, self->bus_name);
      break;
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case PROP_PARTY_NAME:
      g_value_set_string (value, lanrage_helper_client_get_party_name (self));
      break;
    case PROP_INVITE_CODE:
      g_value_set_string (value, lanrage_helper_client_get_invite_code (self));
      break;
    case PROP_VIRTUAL_ADDRESS:
      g_value_set_string (value, lanrage_helper_client_get_virtual_address (self));
      break;
    case PROP_NAT_TYPE:
      g_value_set_string (value, lanrage_helper_client_get_nat_type (self));
      break;
    case PROP_PUBLIC_ENDPOINT:
      g_value_set_string (value, lanrage_helper_client_get_public_endpoint (self));
      break;
    case PROP_RELAY:
      g_value_set_string (value, lanrage_helper_client_get_relay (self));
      break;
    case PROP_RELAY_RTT_MS:
      g_value_set_double (value, lanrage_helper_client_get_relay_rtt_ms (self));
      break;
    case PROP_BACKEND:
      g_value_set_string (value, lanrage_helper_client_get_backend (self));
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, lanrage_helper_client_get_last_error (self));
      break;
    case PROP_CONTROL_URL:
      g_value_set_string (value, lanrage_helper_client_get_control_url (self));
      break;
    case PROP_LAN_DISCOVERY:
      g_value_set_boolean (value, lanrage_helper_client_get_lan_discovery (self));
      break;
    case PROP_LAN_BRIDGE:
      g_value_set_string (value, lanrage_helper_client_get_lan_bridge (self));
      break;
    case PROP_KNOWN_TITLES_ONLY:
      g_value_set_boolean (value, lanrage_helper_client_get_known_titles_only (self));
      break;
    case PROP_DENY_LIST:
      g_value_take_boxed (value, lanrage_helper_client_dup_deny_list (self));
      break;
    case PROP_PEERS:
      g_value_set_object (value, self->peers);
      break;
    case PROP_GAMES:
      g_value_set_object (value, self->games);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lanrage_helper_client_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  LanrageHelperClient *self = LANRAGE_HELPER_CLIENT (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      self->connection = g_value_dup_object (value);
      break;
    case PROP_BUS_NAME:
      self->bus_name = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
string_property (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, "", G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static void
lanrage_helper_client_class_init (LanrageHelperClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = lanrage_helper_client_constructed;
  object_class->dispose = lanrage_helper_client_dispose;
  object_class->finalize = lanrage_helper_client_finalize;
  object_class->get_property = lanrage_helper_client_get_property;
  object_class->set_property = lanrage_helper_client_set_property;

  /* NULL: the system bus, where the real helper lives. Tests pass a private bus. */
  props[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL, G_TYPE_DBUS_CONNECTION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_BUS_NAME] =
    g_param_spec_string ("bus-name", NULL, NULL, LANRAGE_HELPER_BUS_NAME,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL, LANRAGE_TYPE_HELPER_STATUS,
                       LANRAGE_HELPER_STATUS_STARTING,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_PARTY_NAME] = string_property ("party-name");
  props[PROP_INVITE_CODE] = string_property ("invite-code");
  props[PROP_VIRTUAL_ADDRESS] = string_property ("virtual-address");
  props[PROP_NAT_TYPE] = string_property ("nat-type");
  props[PROP_PUBLIC_ENDPOINT] = string_property ("public-endpoint");
  props[PROP_RELAY] = string_property ("relay");
  props[PROP_RELAY_RTT_MS] =
    g_param_spec_double ("relay-rtt-ms", NULL, NULL, -1, G_MAXDOUBLE, -1,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_BACKEND] = string_property ("backend");
  props[PROP_LAST_ERROR] = string_property ("last-error");
  props[PROP_CONTROL_URL] = string_property ("control-url");
  /* Whether the user lets the helper bridge LAN discovery at all. */
  props[PROP_LAN_DISCOVERY] =
    g_param_spec_boolean ("lan-discovery", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* "off", "on", "disabled" (switched off) or "failed": whether the helper bridges LAN
   * discovery now. */
  props[PROP_LAN_BRIDGE] = string_property ("lan-bridge");
  props[PROP_KNOWN_TITLES_ONLY] =
    g_param_spec_boolean ("known-titles-only", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* A GPtrArray of LanrageDenyEntry, a new one on each read. */
  props[PROP_DENY_LIST] =
    g_param_spec_boxed ("deny-list", NULL, NULL, G_TYPE_PTR_ARRAY,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_PEERS] =
    g_param_spec_object ("peers", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_GAMES] =
    g_param_spec_object ("games", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* Someone joined or left the party while we watched (not the members already there
   * when the app started or joined), or their direct link fell back to a relay. */
  signals[PEER_JOINED] = g_signal_new ("peer-joined", G_TYPE_FROM_CLASS (klass),
                                       G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 1, LANRAGE_TYPE_PEER);
  signals[PEER_LEFT] = g_signal_new ("peer-left", G_TYPE_FROM_CLASS (klass),
                                     G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                     G_TYPE_NONE, 1, LANRAGE_TYPE_PEER);
  signals[PEER_FELL_BACK] = g_signal_new ("peer-fell-back", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 1, LANRAGE_TYPE_PEER);
  /* A member started announcing a game while we watched (not the games already
   * announced when the app started or joined). */
  signals[GAME_APPEARED] = g_signal_new ("game-appeared", G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 1, LANRAGE_TYPE_GAME);
}

static void
lanrage_helper_client_init (LanrageHelperClient *self)
{
  self->peers = g_list_store_new (LANRAGE_TYPE_PEER);
  self->departed = g_ptr_array_new_with_free_func (g_object_unref);
  self->games = g_list_store_new (LANRAGE_TYPE_GAME);
  /* A game's host is named after the member with its address, who may show up later. */
  g_signal_connect_object (self->peers, "items-changed", G_CALLBACK (peers_changed_cb), self,
                           G_CONNECT_SWAPPED);
}

LanrageHelperClient *
lanrage_helper_client_new (GDBusConnection *connection,
                           const char      *bus_name)
{
  return g_object_new (LANRAGE_TYPE_HELPER_CLIENT,
                       "connection", connection,
                       "bus-name", bus_name,
                       NULL);
}

LanrageHelperStatus
lanrage_helper_client_get_status (LanrageHelperClient *self)
{
  g_return_val_if_fail (LANRAGE_IS_HELPER_CLIENT (self), LANRAGE_HELPER_STATUS_STARTING);
  return self->status;
}

#define PROXY_STRING(getter) \
  (self->proxy != NULL ? nonnull (getter (self->proxy)) : "")

const char *
lanrage_helper_client_get_party_name (LanrageHelperClient *self)
{
  return PROXY_STRING (lrd_helper1_get_party_name);
}

const char *
lanrage_helper_client_get_invite_code (LanrageHelperClient *self)
{
  return PROXY_STRING (lrd_helper1_get_invite_code);
}

char *
lanrage_helper_client_dup_invite_link (LanrageHelperClient *self)
{
  const char *code = lanrage_helper_client_get_invite_code (self);

  if (*code == '\0')
    return NULL;
  return g_strconcat ("lanrage://join/", code, NULL);
}

const char *
lanrage_helper_client_get_virtual_address (LanrageHelperClient *self)
{
  return PROXY_STRING (lrd_helper1_get_virtual_address);
}

const char *
lanrage_helper_client_get_nat_type (LanrageHelperClient *self)
{
  const char *nat_type = PROXY_STRING (lrd_helper1_get_nat_type);

  return *nat_type != '\0' ? nat_type : "unknown";
}

const char *
lanrage_helper_client_get_public_endpoint (LanrageHelperClient *self)
{
  return PROXY_STRING (lrd_helper1_get_public_endpoint);
}

const char *
lanrage_helper_client_get_relay (LanrageHelperClient *self)
{
  return PROXY_STRING (lrd_helper1_get_relay);
}

double
lanrage_helper_client_get_relay_rtt_ms (LanrageHelperClient *self)
{
  return self->proxy != NULL ? lrd_helper1_get_relay_rtt_ms (self->proxy) : -1;
}

const char *
lanrage_helper_client_get_backend (LanrageHelperClient *self)
{
  return PROXY_STRING (lrd_helper1_get_backend);
}

const char *
lanrage_helper_client_get_last_error (LanrageHelperClient *self)
{
  return PROXY_STRING (lrd_helper1_get_last_error);
}

const char *
lanrage_helper_client_get_control_url (LanrageHelperClient *self)
{
  return PROXY_STRING (lrd_helper1_get_control_url);
}

GListModel *
lanrage_helper_client_get_peers (LanrageHelperClient *self)
{
  return G_LIST_MODEL (self->peers);
}

GListModel *
lanrage_helper_client_get_games (LanrageHelperClient *self)
{
  return G_LIST_MODEL (self->games);
}

const char *
lanrage_helper_client_get_lan_bridge (LanrageHelperClient *self)
{
  const char *bridge = PROXY_STRING (lrd_helper1_get_lan_bridge);

  return *bridge != '\0' ? bridge : "off";
}

/* A helper that has no switch bridges whenever a party is up. */
gboolean
lanrage_helper_client_get_lan_discovery (LanrageHelperClient *self)
{
  g_autoptr(GVariant) value = NULL;

  if (self->proxy == NULL)
    return TRUE;
  value = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (self->proxy), "LanDiscovery");
  return value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN) ||
         g_variant_get_boolean (value);
}

gboolean
lanrage_helper_client_get_known_titles_only (LanrageHelperClient *self)
{
  return self->proxy != NULL && lrd_helper1_get_known_titles_only (self->proxy);
}

GPtrArray *
lanrage_helper_client_dup_deny_list (LanrageHelperClient *self)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) lanrage_deny_entry_free);
  GVariant *list = self->proxy != NULL ? lrd_helper1_get_deny_list (self->proxy) : NULL;
  const char *group, *reason;
  guint16 first, last;
  GVariantIter iter;

  if (list == NULL || !g_variant_is_of_type (list, G_VARIANT_TYPE ("a(qqss)")))
    return entries;
  g_variant_iter_init (&iter, list);
  while (g_variant_iter_next (&iter, "(qq&s&s)", &first, &last, &group, &reason))
    g_ptr_array_add (entries, lanrage_deny_entry_new (first, last, group, reason));
  return entries;
}

/* Calls */

static void
call_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);

  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Takes @parameters (floating) whatever happens. */
static void
call (LanrageHelperClient *self,
      const char          *method,
      GVariant            *parameters,
      GCancellable        *cancellable,
      GAsyncReadyCallback  callback,
      gpointer             user_data,
      gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  if (self->proxy == NULL)
    {
      if (parameters != NULL)
        g_variant_unref (g_variant_ref_sink (parameters));
      g_task_return_new_error (task, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN,
                               _("The LANrage helper is not running."));
      return;
    }

  /* The helper asks polkit, which may need the person to authenticate: let it ask. */
  g_dbus_proxy_call (G_DBUS_PROXY (self->proxy), method, parameters,
                     G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, CALL_TIMEOUT_MS,
                     cancellable, call_done_cb, g_steal_pointer (&task));
}

void
lanrage_helper_client_create_party (LanrageHelperClient *self,
                                    const char          *name,
                                    const char          *display_name,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (LANRAGE_IS_HELPER_CLIENT (self));
  g_return_if_fail (name != NULL && display_name != NULL);

  call (self, "CreateParty", g_variant_new ("(ss)", name, display_name), cancellable,
        callback, user_data, lanrage_helper_client_create_party);
}

gboolean
lanrage_helper_client_create_party_finish (LanrageHelperClient *self,
                                           GAsyncResult        *result,
                                           GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lanrage_helper_client_join_party (LanrageHelperClient *self,
                                  const char          *invite_code,
                                  const char          *display_name,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (LANRAGE_IS_HELPER_CLIENT (self));
  g_return_if_fail (invite_code != NULL && display_name != NULL);

  call (self, "JoinParty", g_variant_new ("(ss)", invite_code, display_name), cancellable,
        callback, user_data, lanrage_helper_client_join_party);
}

gboolean
lanrage_helper_client_join_party_finish (LanrageHelperClient *self,
                                         GAsyncResult        *result,
                                         GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lanrage_helper_client_leave_party (LanrageHelperClient *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (LANRAGE_IS_HELPER_CLIENT (self));

  call (self, "LeaveParty", NULL, cancellable, callback, user_data,
        lanrage_helper_client_leave_party);
}

gboolean
lanrage_helper_client_leave_party_finish (LanrageHelperClient *self,
                                          GAsyncResult        *result,
                                          GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lanrage_helper_client_set_control_url (LanrageHelperClient *self,
                                       const char          *url,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_return_if_fail (LANRAGE_IS_HELPER_CLIENT (self));
  g_return_if_fail (url != NULL);

  call (self, "SetControlUrl", g_variant_new ("(s)", url), cancellable, callback, user_data,
        lanrage_helper_client_set_control_url);
}

gboolean
lanrage_helper_client_set_control_url_finish (LanrageHelperClient *self,
                                              GAsyncResult        *result,
                                              GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lanrage_helper_client_set_lan_discovery (LanrageHelperClient *self,
                                         gboolean             enabled,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_return_if_fail (LANRAGE_IS_HELPER_CLIENT (self));

  call (self, "SetLanDiscovery", g_variant_new ("(b)", enabled), cancellable, callback,
        user_data, lanrage_helper_client_set_lan_discovery);
}

void
lanrage_helper_client_set_deny_list (LanrageHelperClient *self,
                                     GPtrArray           *entries,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  GVariantBuilder builder;

  g_return_if_fail (LANRAGE_IS_HELPER_CLIENT (self));
  g_return_if_fail (entries != NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(qqss)"));
  for (guint i = 0; i < entries->len; i++)
    {
      const LanrageDenyEntry *entry = entries->pdata[i];

      g_variant_builder_add (&builder, "(qqss)", entry->first_port, entry->last_port,
                             entry->group, entry->reason);
    }
  call (self, "SetDenyList", g_variant_new ("(a(qqss))", &builder), cancellable, callback,
        user_data, lanrage_helper_client_set_deny_list);
}

void
lanrage_helper_client_reset_deny_list (LanrageHelperClient *self,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_return_if_fail (LANRAGE_IS_HELPER_CLIENT (self));

  call (self, "ResetDenyList", NULL, cancellable, callback, user_data,
        lanrage_helper_client_reset_deny_list);
}

void
lanrage_helper_client_set_known_titles_only (LanrageHelperClient *self,
                                             gboolean             enabled,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  g_return_if_fail (LANRAGE_IS_HELPER_CLIENT (self));

  call (self, "SetKnownTitlesOnly", g_variant_new ("(b)", enabled), cancellable, callback,
        user_data, lanrage_helper_client_set_known_titles_only);
}

/* The finish of every call above that returns nothing: SetLanDiscovery, SetDenyList,
 * ResetDenyList and SetKnownTitlesOnly. */
gboolean
lanrage_helper_client_call_finish (LanrageHelperClient *self,
                                   GAsyncResult        *result,
                                   GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
