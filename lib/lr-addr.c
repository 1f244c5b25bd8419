/* lr-addr.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-addr.h"

#include <arpa/inet.h>

static gboolean
parse_port (const char *text,
            guint16    *out)
{
  guint value = 0;

  if (*text == '\0' || strlen (text) > 5)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      value = value * 10 + (*p - '0');
    }
  if (value == 0 || value > G_MAXUINT16)
    return FALSE;
  *out = value;
  return TRUE;
}

/**
 * lr_addr_parse:
 * @text: `1.2.3.4:51820` or `[2001:db8::1]:51820`
 *
 * Numeric only (nothing here ever needs a resolver): IPv4 as a dotted quad, IPv6 only in
 * brackets, a port of 1..65535. @out is left as it was on failure.
 */
gboolean
lr_addr_parse (const char *text,
               LrAddr     *out)
{
  const char *colon;
  g_autofree char *host = NULL;
  LrAddr addr = { 0 };
  guint16 port;

  if (text == NULL)
    return FALSE;
  colon = strrchr (text, ':');
  if (colon == NULL || colon == text || !parse_port (colon + 1, &port))
    return FALSE;

  if (text[0] == '[')
    {
      if (colon - text < 3 || colon[-1] != ']')
        return FALSE;
      host = g_strndup (text + 1, colon - text - 2);
      if (inet_pton (AF_INET6, host, &addr.u.sin6.sin6_addr) != 1)
        return FALSE;
      addr.u.sin6.sin6_family = AF_INET6;
      addr.u.sin6.sin6_port = htons (port);
      addr.length = sizeof addr.u.sin6;
    }
  else
    {
      host = g_strndup (text, colon - text);
      if (strchr (host, ':') != NULL || inet_pton (AF_INET, host, &addr.u.sin.sin_addr) != 1)
        return FALSE;
      addr.u.sin.sin_family = AF_INET;
      addr.u.sin.sin_port = htons (port);
      addr.length = sizeof addr.u.sin;
    }
  *out = addr;
  return TRUE;
}

/* Writes the text form, or "" for no address. */
void
lr_addr_format (const LrAddr *self,
                char          out[LR_ADDR_STRING_SIZE])
{
  char host[INET6_ADDRSTRLEN] = "";

  out[0] = '\0';
  if (self->length == 0)
    return;
  if (self->u.sa.sa_family == AF_INET6 &&
      inet_ntop (AF_INET6, &self->u.sin6.sin6_addr, host, sizeof host) != NULL)
    g_snprintf (out, LR_ADDR_STRING_SIZE, "[%s]:%u", host, ntohs (self->u.sin6.sin6_port));
  else if (self->u.sa.sa_family == AF_INET &&
           inet_ntop (AF_INET, &self->u.sin.sin_addr, host, sizeof host) != NULL)
    g_snprintf (out, LR_ADDR_STRING_SIZE, "%s:%u", host, ntohs (self->u.sin.sin_port));
}

/* Returns: (transfer full): the text form, "" for no address */
char *
lr_addr_to_string (const LrAddr *self)
{
  char text[LR_ADDR_STRING_SIZE];

  lr_addr_format (self, text);
  return g_strdup (text);
}

/* From what recvfrom() or getsockname() gave; FALSE (and no address) for another family. */
gboolean
lr_addr_from_sockaddr (LrAddr     *self,
                       const void *sockaddr,
                       socklen_t   length)
{
  const struct sockaddr *sa = sockaddr;

  memset (self, 0, sizeof *self);
  if (length >= sizeof self->u.sin && sa->sa_family == AF_INET)
    self->length = sizeof self->u.sin;
  else if (length >= sizeof self->u.sin6 && sa->sa_family == AF_INET6)
    self->length = sizeof self->u.sin6;
  else
    return FALSE;
  memcpy (&self->u, sockaddr, self->length);
  return TRUE;
}

gboolean
lr_addr_from_gaddress (LrAddr             *self,
                       GInetSocketAddress *address)
{
  struct sockaddr_storage native;

  memset (self, 0, sizeof *self);
  if (address == NULL ||
      !g_socket_address_to_native (G_SOCKET_ADDRESS (address), &native, sizeof native, NULL))
    return FALSE;
  return lr_addr_from_sockaddr (self, &native, g_socket_address_get_native_size (
                                                 G_SOCKET_ADDRESS (address)));
}

/* Returns: (transfer full) (nullable): the address for GIO, %NULL for no address */
GInetSocketAddress *
lr_addr_to_gaddress (const LrAddr *self)
{
  if (self->length == 0)
    return NULL;
  return G_INET_SOCKET_ADDRESS (g_socket_address_new_from_native ((gpointer) &self->u,
                                                                  self->length));
}

void
lr_addr_set_ipv4 (LrAddr  *self,
                  guint32  host_order_address,
                  guint16  port)
{
  memset (self, 0, sizeof *self);
  self->u.sin.sin_family = AF_INET;
  self->u.sin.sin_addr.s_addr = htonl (host_order_address);
  self->u.sin.sin_port = htons (port);
  self->length = sizeof self->u.sin;
}

guint16
lr_addr_get_port (const LrAddr *self)
{
  if (self->length == 0)
    return 0;
  return ntohs (self->u.sa.sa_family == AF_INET6 ? self->u.sin6.sin6_port
                                                 : self->u.sin.sin_port);
}

gboolean
lr_addr_is_set (const LrAddr *self)
{
  return self->length != 0;
}

/* Family, address and port; an IPv6 scope or flow label does not tell two apart. */
gboolean
lr_addr_equal (const LrAddr *a,
               const LrAddr *b)
{
  if (a->length == 0 || b->length == 0)
    return a->length == b->length;
  if (a->u.sa.sa_family != b->u.sa.sa_family)
    return FALSE;
  if (a->u.sa.sa_family == AF_INET)
    return a->u.sin.sin_port == b->u.sin.sin_port &&
           a->u.sin.sin_addr.s_addr == b->u.sin.sin_addr.s_addr;
  return a->u.sin6.sin6_port == b->u.sin6.sin6_port &&
         memcmp (&a->u.sin6.sin6_addr, &b->u.sin6.sin6_addr, sizeof a->u.sin6.sin6_addr) == 0;
}

/* For GHashTable: consistent with lr_addr_equal(). */
guint
lr_addr_hash (const LrAddr *self)
{
  guint hash = lr_addr_get_port (self);

  if (self->length == 0)
    return 0;
  if (self->u.sa.sa_family == AF_INET)
    return hash ^ (self->u.sin.sin_addr.s_addr * 2654435761u);
  for (guint i = 0; i < sizeof self->u.sin6.sin6_addr; i++)
    hash = hash * 31 + self->u.sin6.sin6_addr.s6_addr[i];
  return hash;
}
