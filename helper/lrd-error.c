/* lrd-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-error.h"

static const GDBusErrorEntry error_entries[] = {
  { LRD_ERROR_FAILED, "io.lanrage.Helper1.Error.Failed" },
  { LRD_ERROR_NOT_AUTHORIZED, "io.lanrage.Helper1.Error.NotAuthorized" },
  { LRD_ERROR_INVALID_INVITE_CODE, "io.lanrage.Helper1.Error.InvalidInviteCode" },
  { LRD_ERROR_INVALID_NAME, "io.lanrage.Helper1.Error.InvalidName" },
  { LRD_ERROR_SERVER_UNREACHABLE, "io.lanrage.Helper1.Error.ServerUnreachable" },
  { LRD_ERROR_NO_WIREGUARD, "io.lanrage.Helper1.Error.NoWireGuard" },
  { LRD_ERROR_ALREADY_IN_PARTY, "io.lanrage.Helper1.Error.AlreadyInParty" },
  { LRD_ERROR_NOT_IN_PARTY, "io.lanrage.Helper1.Error.NotInParty" },
  { LRD_ERROR_PARTY_NOT_FOUND, "io.lanrage.Helper1.Error.PartyNotFound" },
  { LRD_ERROR_INVALID_URL, "io.lanrage.Helper1.Error.InvalidUrl" },
  { LRD_ERROR_INVALID_DENY_LIST, "io.lanrage.Helper1.Error.InvalidDenyList" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (error_entries) == LRD_ERROR_N_ERRORS);

GQuark
lrd_error_quark (void)
{
  static gsize quark = 0;

  /* Registration happens once, before anyone can raise or receive one of these errors. */
  g_dbus_error_register_error_domain ("lrd-error-quark", &quark, error_entries,
                                      G_N_ELEMENTS (error_entries));
  return (GQuark) quark;
}

const char *
lrd_error_get_dbus_name (LrdError code)
{
  for (guint i = 0; i < G_N_ELEMENTS (error_entries); i++)
    if (error_entries[i].error_code == (gint) code)
      return error_entries[i].dbus_error_name;
  return error_entries[0].dbus_error_name;
}
