/* lanrage-errors.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "lanrage-accessible.h"
#include "lanrage-errors.h"
#include "lrd-error.h"

void
lanrage_describe_error (const GError  *error,
                        char         **out_heading,
                        char         **out_body)
{
  const char *heading = _("Something Went Wrong");
  g_autofree char *body = NULL;

  if (error->domain == LRD_ERROR)
    {
      switch ((LrdError) error->code)
        {
        case LRD_ERROR_NOT_AUTHORIZED:
          heading = _("Not Allowed");
          body = g_strdup (_("Your account is not allowed to change the party network on this "
                             "computer. Ask whoever looks after it to let you, or sign in "
                             "as an administrator."));
          break;
        case LRD_ERROR_INVALID_INVITE_CODE:
          heading = _("That Is Not an Invite Code");
          body = g_strdup (_("An invite code has 12 letters and digits, like "
                             "7KQM-2XWD-9RTF. Check it with your friend and try again."));
          break;
        case LRD_ERROR_PARTY_NOT_FOUND:
          heading = _("Invite Code Not Found");
          body = g_strdup (_("No party has this invite code. It may have been mistyped, or "
                             "the party is over. Ask your friend for the code again."));
          break;
        case LRD_ERROR_INVALID_NAME:
          heading = _("Check the Names");
          body = g_strdup (_("Party and player names need at least one letter, and can be "
                             "up to 64 and 32 characters long."));
          break;
        case LRD_ERROR_SERVER_UNREACHABLE:
          heading = _("Can’t Reach the Party Server");
          body = g_strdup (_("LANrage could not reach its server. Check your internet "
                             "connection, or the server address in Preferences, and try "
                             "again."));
          break;
        case LRD_ERROR_NO_WIREGUARD:
          heading = _("WireGuard Is Missing");
          body = g_strdup (_("LANrage builds the party network with WireGuard, which this "
                             "computer does not have. Install the wireguard-go or "
                             "wireguard-tools package, then try again."));
          break;
        case LRD_ERROR_ALREADY_IN_PARTY:
          heading = _("Already in a Party");
          body = g_strdup (_("Leave the party you are in before you start or join "
                             "another."));
          break;
        case LRD_ERROR_NOT_IN_PARTY:
          heading = _("Not in a Party");
          body = g_strdup (_("You have already left the party."));
          break;
        case LRD_ERROR_INVALID_URL:
          heading = _("That Is Not a Server Address");
          body = g_strdup (_("A server address starts with https:// or http://, like "
                             "https://lanrage.example.org:8666/."));
          break;
        case LRD_ERROR_INVALID_DENY_LIST:
          heading = _("That Entry Doesn’t Work");
          body = g_strdup (_("Give a port from 1 to 65535 or a range like 27015-27020, a "
                             "multicast group like 239.255.255.250 or nothing, and a short "
                             "reason."));
          break;
        case LRD_ERROR_FAILED:
        default:
          body = g_strdup (error->message);
          break;
        }
    }
  else if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    {
      heading = _("The LANrage Helper Stopped");
      body = g_strdup (_("The service that sets up the party network is not running. "
                         "Start it again (sudo systemctl start lanrage-helper) and try "
                         "again."));
    }
  else if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_AUTH_FAILED))
    {
      heading = _("Not Allowed");
      body = g_strdup (_("The system refused to let LANrage change the party network."));
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT))
    {
      heading = _("No Answer");
      body = g_strdup (_("The LANrage helper took too long to answer. Try again in a "
                         "moment."));
    }
  else
    body = g_strdup (error->message);

  *out_heading = g_strdup (heading);
  *out_body = g_steal_pointer (&body);
}

void
lanrage_show_error_dialog (GtkWindow    *parent,
                           const GError *error)
{
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  GtkWidget *dialog;

  g_return_if_fail (error != NULL);

  lanrage_describe_error (error, &heading, &body);
  g_debug ("A call to the helper failed: %s", error->message);
  dialog = adw_message_dialog_new (parent, heading, body);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_OK"));
  lanrage_accessible_name_children (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}
