/* lrd-error.h: the helper's errors, as named D-Bus errors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LRD_ERROR (lrd_error_quark ())

/**
 * LrdError:
 * @LRD_ERROR_FAILED: anything else; the message says what (`io.lanrage.Helper1.Error.Failed`)
 * @LRD_ERROR_NOT_AUTHORIZED: polkit refused the caller, or authentication is needed
 * @LRD_ERROR_INVALID_INVITE_CODE: the invite code is not one
 * @LRD_ERROR_INVALID_NAME: a party or display name is empty, too long or has control characters
 * @LRD_ERROR_SERVER_UNREACHABLE: the control server cannot be reached
 * @LRD_ERROR_NO_WIREGUARD: no WireGuard is available on this machine
 * @LRD_ERROR_ALREADY_IN_PARTY: the helper is in (or joining) a party already
 * @LRD_ERROR_NOT_IN_PARTY: there is no party to leave or refresh
 * @LRD_ERROR_PARTY_NOT_FOUND: no party has this invite code, or the party is gone
 * @LRD_ERROR_INVALID_URL: a server address is not an http:// or https:// URL
 * @LRD_ERROR_INVALID_DENY_LIST: a LAN discovery deny-list entry is not one
 *
 * Registered with GDBus, so each travels as `io.lanrage.Helper1.Error.<Name>` and a client
 * that links this library gets the same #GError back.
 */
typedef enum
{
  LRD_ERROR_FAILED,
  LRD_ERROR_NOT_AUTHORIZED,
  LRD_ERROR_INVALID_INVITE_CODE,
  LRD_ERROR_INVALID_NAME,
  LRD_ERROR_SERVER_UNREACHABLE,
  LRD_ERROR_NO_WIREGUARD,
  LRD_ERROR_ALREADY_IN_PARTY,
  LRD_ERROR_NOT_IN_PARTY,
  LRD_ERROR_PARTY_NOT_FOUND,
  LRD_ERROR_INVALID_URL,
  LRD_ERROR_INVALID_DENY_LIST,
} LrdError;

#define LRD_ERROR_N_ERRORS (LRD_ERROR_INVALID_DENY_LIST + 1)

GQuark      lrd_error_quark        (void);
const char *lrd_error_get_dbus_name (LrdError code);

G_END_DECLS
