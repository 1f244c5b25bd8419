/* lr-lan-policy.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-lan-policy.h"

#include "lr-error.h"
#include "lr-lan-frame.h"

#include <string.h>

/* System chatter that stays on its own LAN. Each reason says what the traffic is and why a
 * party has no use for it; the numbers are those of the cited specification or vendor
 * documentation. */
static const LrLanDenyEntry default_deny_list[] = {
  { 7, 7, 0,
    (char *) "Wake-on-LAN magic packets (echo port): waking machines is for their own LAN" },
  { 9, 9, 0,
    (char *) "Wake-on-LAN magic packets (discard port): waking machines is for their own LAN" },
  { 67, 68, 0, (char *) "DHCP (RFC 2131): each LAN's own server hands out its addresses" },
  { 123, 123, 0, (char *) "NTP broadcast mode (RFC 5905): time service of the local network" },
  { 137, 138, 0,
    (char *) "NetBIOS name and datagram service (RFC 1002): Windows names and shares" },
  { 427, 427, 0, (char *) "SLP (RFC 2608): printer and service location" },
  { 520, 520, 0, (char *) "RIP (RFC 2453): routing updates" },
  { 1716, 1716, 0,
    (char *) "KDE Connect device discovery (UDP 1716): phones and desktops pairing" },
  { 1900, 1900, 0, (char *) "SSDP (UPnP Device Architecture): routers, TVs and media servers" },
  { 3702, 3702, 0, (char *) "WS-Discovery (OASIS WS-Discovery 1.1): Windows printers and devices" },
  { 5350, 5351, 0,
    (char *) "NAT-PMP and PCP (RFC 6886, RFC 6887): the local router's announcements" },
  { 5353, 5353, 0, (char *) "mDNS (RFC 6762): local host names and services" },
  { 5355, 5355, 0, (char *) "LLMNR (RFC 4795): Windows local name resolution" },
  { 6771, 6771, 0, (char *) "BitTorrent Local Service Discovery (BEP 14): peers on the same LAN" },
  { LR_LAN_FRAME_PORT, LR_LAN_FRAME_PORT, 0,
    (char *) "LANrage's own bridge port: a frame is never bridged again" },
  { 17500, 17500, 0,
    (char *) "Dropbox LAN sync discovery (UDP 17500): file sync between desktops" },
  { 32410, 32414, 0, (char *) "Plex GDM network discovery (UDP 32410-32414): media servers" },
  { 57621, 57621, 0, (char *) "Spotify Connect local discovery (UDP 57621): music players" },
};

typedef struct
{
  gint64 updated_us;
  double tokens;
} Bucket;

/* One party member, by the virtual address its frames come from: its rate cap, and the
 * sequence window of its bridge's current sender id. */
typedef struct
{
  Bucket  bucket;
  guint64 sender_id;
  guint32 highest;
  guint64 seen;       /* bit i: highest - i was seen */
  gboolean any;
  gint64  last_us;
} Sender;

struct _LrLanPolicy
{
  LrClock     *clock;
  guint64      own_sender;
  LrLanLimits  limits;
  gboolean     known_only;
  GArray      *deny;          /* LrLanDenyEntry, owning the reasons */
  GHashTable  *ports;         /* destination port | direction << 16 -> Bucket */
  Bucket       outgoing;      /* this host as a sender */
  GHashTable  *senders;       /* member address (GUINT_TO_POINTER) -> Sender */
};

void
lr_lan_limits_init_default (LrLanLimits *limits)
{
  limits->max_size = LR_LAN_POLICY_DEFAULT_MAX_SIZE;
  limits->port_rate = LR_LAN_POLICY_DEFAULT_PORT_RATE;
  limits->port_burst = LR_LAN_POLICY_DEFAULT_PORT_BURST;
  limits->sender_rate = LR_LAN_POLICY_DEFAULT_SENDER_RATE;
  limits->sender_burst = LR_LAN_POLICY_DEFAULT_SENDER_BURST;
}

static void
deny_entry_clear (gpointer data)
{
  LrLanDenyEntry *entry = data;

  g_clear_pointer (&entry->reason, g_free);
}

static GArray *
deny_list_copy (const LrLanDenyEntry *entries,
                guint                 n_entries)
{
  GArray *deny = g_array_sized_new (FALSE, FALSE, sizeof (LrLanDenyEntry), n_entries);

  g_array_set_clear_func (deny, deny_entry_clear);
  for (guint i = 0; i < n_entries; i++)
    {
      LrLanDenyEntry copy = entries[i];

      copy.reason = g_strdup (entries[i].reason);
      g_array_append_val (deny, copy);
    }
  return deny;
}

/**
 * lr_lan_policy_new:
 * @own_sender: the sender id this host's bridge writes in its frames
 *
 * A policy with the default limits and deny list, bridging every other port.
 */
LrLanPolicy *
lr_lan_policy_new (LrClock *clock,
                   guint64  own_sender)
{
  LrLanPolicy *self = g_new0 (LrLanPolicy, 1);

  self->clock = lr_clock_ref (clock);
  self->own_sender = own_sender;
  lr_lan_limits_init_default (&self->limits);
  self->deny = deny_list_copy (default_deny_list, G_N_ELEMENTS (default_deny_list));
  self->ports = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->senders = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  return self;
}

void
lr_lan_policy_free (LrLanPolicy *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->deny);
  g_hash_table_unref (self->ports);
  g_hash_table_unref (self->senders);
  lr_clock_unref (self->clock);
  g_free (self);
}

/* The id that marks our own frames when they come back. */
void
lr_lan_policy_set_own_sender (LrLanPolicy *self,
                              guint64      own_sender)
{
  self->own_sender = own_sender;
}

const LrLanLimits *
lr_lan_policy_get_limits (LrLanPolicy *self)
{
  return &self->limits;
}

gboolean
lr_lan_policy_set_limits (LrLanPolicy        *self,
                          const LrLanLimits  *limits,
                          GError            **error)
{
  if (limits->max_size == 0 || limits->max_size > LR_LAN_FRAME_MAX_PAYLOAD)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "max-size: must be 1 to %u bytes",
                   LR_LAN_FRAME_MAX_PAYLOAD);
      return FALSE;
    }
  if (limits->port_rate == 0 || limits->port_burst < 1 || limits->sender_rate == 0 ||
      limits->sender_burst < 1 || limits->port_rate > 100000 || limits->sender_rate > 100000 ||
      limits->port_burst > 100000 || limits->sender_burst > 100000)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "rates and bursts: must be 1 to 100000 datagrams");
      return FALSE;
    }
  self->limits = *limits;
  return TRUE;
}

gboolean
lr_lan_policy_get_known_only (LrLanPolicy *self)
{
  return self->known_only;
}

void
lr_lan_policy_set_known_only (LrLanPolicy *self,
                              gboolean     known_only)
{
  self->known_only = !!known_only;
}

const LrLanDenyEntry *
lr_lan_policy_get_deny_list (LrLanPolicy *self,
                             guint       *n_entries)
{
  *n_entries = self->deny->len;
  return (const LrLanDenyEntry *) self->deny->data;
}

const LrLanDenyEntry *
lr_lan_policy_get_default_deny_list (guint *n_entries)
{
  *n_entries = G_N_ELEMENTS (default_deny_list);
  return default_deny_list;
}

static gboolean
reason_is_valid (const char *reason)
{
  gsize length;

  if (reason == NULL)
    return FALSE;
  length = strlen (reason);
  if (length == 0 || length > LR_LAN_POLICY_MAX_REASON || !g_utf8_validate (reason, -1, NULL))
    return FALSE;
  for (const char *p = reason; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

gboolean
lr_lan_policy_set_deny_list (LrLanPolicy           *self,
                             const LrLanDenyEntry  *entries,
                             guint                  n_entries,
                             GError               **error)
{
  if (n_entries > LR_LAN_POLICY_MAX_DENY_ENTRIES)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE,
                   "deny list: at most %u entries", LR_LAN_POLICY_MAX_DENY_ENTRIES);
      return FALSE;
    }
  for (guint i = 0; i < n_entries; i++)
    {
      const LrLanDenyEntry *entry = &entries[i];

      if (entry->first_port == 0 || entry->first_port > entry->last_port)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                       "deny list entry %u: ports must be 1 to 65535, first no more than last",
                       i);
          return FALSE;
        }
      if (entry->group != 0 &&
          lr_lan_destination_classify (entry->group) != LR_LAN_DESTINATION_MULTICAST)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                       "deny list entry %u: group must be an IPv4 multicast address", i);
          return FALSE;
        }
      if (!reason_is_valid (entry->reason))
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                       "deny list entry %u: reason must be 1 to %u bytes of printable UTF-8",
                       i, LR_LAN_POLICY_MAX_REASON);
          return FALSE;
        }
    }
  g_array_unref (self->deny);
  self->deny = deny_list_copy (entries, n_entries);
  return TRUE;
}

/**
 * lr_lan_policy_dup_deny_list_variant:
 *
 * Returns: (transfer full): the deny list as a(qqss), not floating.
 */
GVariant *
lr_lan_policy_dup_deny_list_variant (LrLanPolicy *self)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(qqss)"));
  for (guint i = 0; i < self->deny->len; i++)
    {
      const LrLanDenyEntry *entry = &g_array_index (self->deny, LrLanDenyEntry, i);
      g_autofree char *group = NULL;

      if (entry->group != 0)
        group = g_strdup_printf ("%u.%u.%u.%u", entry->group >> 24, (entry->group >> 16) & 0xff,
                                 (entry->group >> 8) & 0xff, entry->group & 0xff);
      g_variant_builder_add (&builder, "(qqss)", entry->first_port, entry->last_port,
                             group != NULL ? group : "", entry->reason);
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* A dotted quad of four decimal numbers 0..255, nothing else ("" is 0). */
static gboolean
group_parse (const char *text,
             guint32    *group)
{
  g_auto(GStrv) parts = NULL;
  guint32 value = 0;

  if (text[0] == '\0')
    {
      *group = 0;
      return TRUE;
    }
  parts = g_strsplit (text, ".", 5);
  if (g_strv_length (parts) != 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    {
      guint64 octet;

      if (parts[i][0] == '\0' || strlen (parts[i]) > 3 ||
          !g_ascii_string_to_unsigned (parts[i], 10, 0, 255, &octet, NULL))
        return FALSE;
      value = (value << 8) | (guint32) octet;
    }
  *group = value;
  return TRUE;
}

gboolean
lr_lan_policy_set_deny_list_variant (LrLanPolicy  *self,
                                     GVariant     *entries,
                                     GError      **error)
{
  g_autoptr(GArray) list = NULL;
  GVariantIter iter;
  guint16 first, last;
  const char *group, *reason;

  if (!g_variant_is_of_type (entries, G_VARIANT_TYPE ("a(qqss)")))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "deny list: must be a(qqss), not %s",
                   g_variant_get_type_string (entries));
      return FALSE;
    }
  if (g_variant_n_children (entries) > LR_LAN_POLICY_MAX_DENY_ENTRIES)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE,
                   "deny list: at most %u entries", LR_LAN_POLICY_MAX_DENY_ENTRIES);
      return FALSE;
    }

  list = g_array_sized_new (FALSE, FALSE, sizeof (LrLanDenyEntry),
                            g_variant_n_children (entries));
  g_variant_iter_init (&iter, entries);
  while (g_variant_iter_next (&iter, "(qq&s&s)", &first, &last, &group, &reason))
    {
      LrLanDenyEntry entry = { first, last, 0, (char *) reason };

      if (!group_parse (group, &entry.group))
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                       "deny list entry %u: group must be empty or an IPv4 address",
                       list->len);
          return FALSE;
        }
      g_array_append_val (list, entry);
    }
  /* The reasons point into @entries, which outlives the call; set_deny_list copies them. */
  return lr_lan_policy_set_deny_list (self, (const LrLanDenyEntry *) list->data, list->len,
                                      error);
}

void
lr_lan_policy_reset_deny_list (LrLanPolicy *self)
{
  g_array_unref (self->deny);
  self->deny = deny_list_copy (default_deny_list, G_N_ELEMENTS (default_deny_list));
}

const LrLanDenyEntry *
lr_lan_policy_find_denial (LrLanPolicy *self,
                           guint32      destination,
                           guint16      port)
{
  for (guint i = 0; i < self->deny->len; i++)
    {
      const LrLanDenyEntry *entry = &g_array_index (self->deny, LrLanDenyEntry, i);

      if (port >= entry->first_port && port <= entry->last_port &&
          (entry->group == 0 || entry->group == destination))
        return entry;
    }
  return NULL;
}

/* A token bucket: @rate tokens a second up to @burst; a full bucket is an idle one. A new
 * bucket (updated_us 0) starts full. */
static gboolean
bucket_take (Bucket *bucket,
             gint64  now_us,
             guint   rate,
             guint   burst)
{
  if (bucket->updated_us == 0)
    bucket->tokens = burst;
  else if (now_us > bucket->updated_us)
    bucket->tokens = MIN ((double) burst, bucket->tokens + (now_us - bucket->updated_us) *
                                            (double) rate / G_USEC_PER_SEC);
  bucket->updated_us = now_us;
  if (bucket->tokens < 1.0)
    return FALSE;
  bucket->tokens -= 1.0;
  return TRUE;
}

static gboolean
bucket_is_full (Bucket *bucket,
                gint64  now_us,
                guint   rate,
                guint   burst)
{
  return bucket->tokens + (now_us - bucket->updated_us) * (double) rate / G_USEC_PER_SEC >= burst;
}

/* The bucket of @port in one direction. Idle (full) buckets are forgotten once there are
 * more than a few thousand, so the table stays small whatever ports a member floods. */
static Bucket *
port_bucket (LrLanPolicy *self,
             guint16      port,
             gboolean     incoming,
             gint64       now_us)
{
  gpointer key = GUINT_TO_POINTER (port | (incoming ? 0x10000u : 0));
  Bucket *bucket = g_hash_table_lookup (self->ports, key);

  if (bucket != NULL)
    return bucket;
  if (g_hash_table_size (self->ports) >= 4096)
    {
      GHashTableIter iter;

      g_hash_table_iter_init (&iter, self->ports);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &bucket))
        if (bucket_is_full (bucket, now_us, self->limits.port_rate, self->limits.port_burst))
          g_hash_table_iter_remove (&iter);
    }
  bucket = g_new0 (Bucket, 1);
  g_hash_table_insert (self->ports, key, bucket);
  return bucket;
}

/* The checks both directions share, in order of cost to the network: what is never bridged,
 * then what is too much. A port's bucket is only spent once the sender's allowed it. */
static LrLanVerdict
check_common (LrLanPolicy *self,
              Bucket      *sender,
              gboolean     incoming,
              guint32      destination,
              guint16      port,
              gsize        payload_length,
              gboolean     known)
{
  gint64 now_us = lr_clock_now_us (self->clock);

  if (lr_lan_policy_find_denial (self, destination, port) != NULL)
    return LR_LAN_VERDICT_DENIED;
  if (self->known_only && !known)
    return LR_LAN_VERDICT_NOT_KNOWN;
  if (payload_length > self->limits.max_size)
    return LR_LAN_VERDICT_TOO_LARGE;
  if (!bucket_take (sender, now_us, self->limits.sender_rate, self->limits.sender_burst))
    return LR_LAN_VERDICT_SENDER_RATE;
  if (!bucket_take (port_bucket (self, port, incoming, now_us), now_us, self->limits.port_rate,
                    self->limits.port_burst))
    return LR_LAN_VERDICT_PORT_RATE;
  return LR_LAN_VERDICT_BRIDGE;
}

LrLanVerdict
lr_lan_policy_check_outgoing (LrLanPolicy *self,
                              guint32      destination,
                              guint16      port,
                              gsize        payload_length,
                              gboolean     known)
{
  return check_common (self, &self->outgoing, FALSE, destination, port, payload_length, known);
}

/* Forgets members idle for a minute (they left, or stopped announcing). */
static void
prune_senders (LrLanPolicy *self,
               gint64       now_us)
{
  GHashTableIter iter;
  Sender *sender;

  g_hash_table_iter_init (&iter, self->senders);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &sender))
    if (now_us - sender->last_us > 60 * G_USEC_PER_SEC)
      g_hash_table_iter_remove (&iter);
}

static gboolean
sequence_is_new (const Sender *sender,
                 guint32       sequence)
{
  guint32 behind;

  if (!sender->any || sequence > sender->highest)
    return TRUE;
  behind = sender->highest - sequence;
  if (behind >= LR_LAN_POLICY_SEQUENCE_WINDOW)
    return FALSE;
  return (sender->seen & (G_GUINT64_CONSTANT (1) << behind)) == 0;
}

static void
sequence_mark (Sender  *sender,
               guint32  sequence)
{
  if (!sender->any)
    {
      sender->any = TRUE;
      sender->highest = sequence;
      sender->seen = 1;
    }
  else if (sequence > sender->highest)
    {
      guint32 ahead = sequence - sender->highest;

      sender->seen = ahead >= LR_LAN_POLICY_SEQUENCE_WINDOW ? 0 : sender->seen << ahead;
      sender->seen |= 1;
      sender->highest = sequence;
    }
  else
    sender->seen |= G_GUINT64_CONSTANT (1) << (sender->highest - sequence);
}

LrLanVerdict
lr_lan_policy_check_incoming (LrLanPolicy *self,
                              guint32      member,
                              guint64      sender_id,
                              guint32      sequence,
                              guint32      destination,
                              guint16      port,
                              gsize        payload_length,
                              gboolean     known)
{
  gint64 now_us = lr_clock_now_us (self->clock);
  Sender *sender;

  if (sender_id == self->own_sender)
    return LR_LAN_VERDICT_LOOP;

  sender = g_hash_table_lookup (self->senders, GUINT_TO_POINTER (member));
  if (sender == NULL)
    {
      if (g_hash_table_size (self->senders) >= LR_LAN_POLICY_MAX_SENDERS)
        prune_senders (self, now_us);
      if (g_hash_table_size (self->senders) >= LR_LAN_POLICY_MAX_SENDERS)
        return LR_LAN_VERDICT_SENDER_RATE;
      sender = g_new0 (Sender, 1);
      sender->sender_id = sender_id;
      g_hash_table_insert (self->senders, GUINT_TO_POINTER (member), sender);
    }
  /* The member's bridge started again with a new id: its numbers start again, its rate cap
   * does not (a member cannot escape it by changing ids). */
  if (sender->sender_id != sender_id)
    {
      sender->sender_id = sender_id;
      sender->any = FALSE;
    }
  sender->last_us = now_us;

  if (!sequence_is_new (sender, sequence))
    return LR_LAN_VERDICT_DUPLICATE;
  sequence_mark (sender, sequence);
  return check_common (self, &sender->bucket, TRUE, destination, port, payload_length, known);
}

const char *
lr_lan_verdict_to_string (LrLanVerdict verdict)
{
  switch (verdict)
    {
    case LR_LAN_VERDICT_BRIDGE:
      return "bridge";
    case LR_LAN_VERDICT_DENIED:
      return "denied";
    case LR_LAN_VERDICT_NOT_KNOWN:
      return "not-known";
    case LR_LAN_VERDICT_TOO_LARGE:
      return "too-large";
    case LR_LAN_VERDICT_SENDER_RATE:
      return "sender-rate";
    case LR_LAN_VERDICT_PORT_RATE:
      return "port-rate";
    case LR_LAN_VERDICT_LOOP:
      return "loop";
    case LR_LAN_VERDICT_DUPLICATE:
      return "duplicate";
    default:
      return "unknown";
    }
}
