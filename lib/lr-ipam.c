/* lr-ipam.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-ipam.h"
#include "lr-error.h"

#include <arpa/inet.h>

/*
 * Each party has the whole virtual network to itself: addresses are unique within a party,
 * not across parties. Addresses are handed out in order after a cursor (10.66.0.1, .2, ...)
 * because people read them and type them into games' "direct connect" boxes; the cursor
 * also means a departed peer's address is not handed to a newcomer until the pool wraps
 * round, so a stale route somewhere never delivers a game's packets to a stranger. A peer
 * may ask for a preferred address (the one it had before) and gets it while it is free.
 *
 * Host parts whose last octet is 0 or 255 are never used: some games and some stacks treat
 * x.x.x.0 and x.x.x.255 as network or broadcast addresses even inside a /16.
 */
struct _LrIpam
{
  guint32  network;
  guint32  size;
  guint32  cursor;   /* offset of the last address handed out */
  guint    n_used;
  guint8  *bitmap;
};

LrIpam *
lr_ipam_new (guint32 network,
             guint   prefix_length)
{
  LrIpam *self;

  g_return_val_if_fail (prefix_length >= 16 && prefix_length <= 30, NULL);

  self = g_new0 (LrIpam, 1);
  self->size = 1u << (32 - prefix_length);
  self->network = network & ~(self->size - 1);
  self->bitmap = g_malloc0 (self->size / 8);
  return self;
}

void
lr_ipam_free (LrIpam *self)
{
  if (self == NULL)
    return;
  g_free (self->bitmap);
  g_free (self);
}

gboolean
lr_ipam_is_usable (LrIpam  *self,
                   guint32  address)
{
  guint8 last = address & 0xff;

  if ((address & ~(self->size - 1)) != self->network)
    return FALSE;

  return last != 0 && last != 255;
}

static gboolean
is_used (LrIpam  *self,
         guint32  offset)
{
  return (self->bitmap[offset / 8] >> (offset % 8)) & 1;
}

static void
mark (LrIpam   *self,
      guint32   offset,
      gboolean  used)
{
  if (used)
    self->bitmap[offset / 8] |= 1u << (offset % 8);
  else
    self->bitmap[offset / 8] &= ~(1u << (offset % 8));
}

gboolean
lr_ipam_reserve (LrIpam   *self,
                 guint32   address,
                 GError  **error)
{
  guint32 offset = address - self->network;

  if (!lr_ipam_is_usable (self, address))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "Address is outside the party network or not a host address");
      return FALSE;
    }

  if (is_used (self, offset))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "Address is already taken");
      return FALSE;
    }

  mark (self, offset, TRUE);
  self->n_used++;
  return TRUE;
}

void
lr_ipam_release (LrIpam  *self,
                 guint32  address)
{
  guint32 offset = address - self->network;

  if (!lr_ipam_is_usable (self, address) || !is_used (self, offset))
    return;

  mark (self, offset, FALSE);
  self->n_used--;
}

void
lr_ipam_set_cursor (LrIpam  *self,
                    guint32  address)
{
  if ((address & ~(self->size - 1)) == self->network)
    self->cursor = address - self->network;
}

/**
 * lr_ipam_allocate:
 * @preferred: an address the peer had before, or 0
 *
 * Returns: the address, reserved, or 0 with %LR_ERROR_EXHAUSTED when the party is full
 */
guint32
lr_ipam_allocate (LrIpam   *self,
                  guint32   preferred,
                  GError  **error)
{
  if (preferred != 0 && lr_ipam_is_usable (self, preferred) &&
      !is_used (self, preferred - self->network))
    {
      mark (self, preferred - self->network, TRUE);
      self->n_used++;
      return preferred;
    }

  for (guint32 step = 1; step <= self->size; step++)
    {
      guint32 offset = (self->cursor + step) & (self->size - 1);
      guint32 address = self->network + offset;

      if (!lr_ipam_is_usable (self, address) || is_used (self, offset))
        continue;

      mark (self, offset, TRUE);
      self->n_used++;
      self->cursor = offset;
      return address;
    }

  g_set_error (error, LR_ERROR, LR_ERROR_EXHAUSTED, "The party has no free address left");
  return 0;
}

guint
lr_ipam_get_n_used (LrIpam *self)
{
  return self->n_used;
}

gboolean
lr_ipv4_parse (const char *text,
               guint32    *out)
{
  struct in_addr in;

  if (text == NULL || inet_pton (AF_INET, text, &in) != 1)
    return FALSE;
  *out = g_ntohl (in.s_addr);
  return TRUE;
}

char *
lr_ipv4_to_string (guint32 address)
{
  return g_strdup_printf ("%u.%u.%u.%u", address >> 24, (address >> 16) & 0xff,
                          (address >> 8) & 0xff, address & 0xff);
}
