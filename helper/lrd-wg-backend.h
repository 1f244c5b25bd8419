/* lrd-wg-backend.h: the one interface the helper drives WireGuard through
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Implementations: LrdWgUapi (wireguard-go's text protocol on /run/wireguard/IF.sock, with
 * address and link set over rtnetlink) and LrdWgNm (a volatile, tagged NetworkManager
 * connection through libnm). lrd-wg-factory.h picks one; this interface knows none of them.
 *
 * Every call is async (GTask, GCancellable) and never blocks the main loop. Keys are raw
 * 32-byte values (LrKey); implementations never log them. A failed call leaves the
 * interface as it was before the call, or fully torn down: never half-configured.
 */
#pragma once

#include <gio/gio.h>

#include "lr-addr.h"
#include "lr-key.h"

G_BEGIN_DECLS

#define LRD_WG_ERROR (lrd_wg_error_quark ())

/**
 * LrdWgError:
 * @LRD_WG_ERROR_NO_WIREGUARD: this machine cannot run WireGuard (no kernel module, no
 *   wireguard-go); the message says what to install. Maps to
 *   `io.lanrage.Helper1.Error.NoWireGuard`.
 * @LRD_WG_ERROR_PROTOCOL: the WireGuard daemon answered something that is not the UAPI
 *   protocol
 * @LRD_WG_ERROR_REFUSED: the WireGuard daemon or NetworkManager refused a value (UAPI
 *   `errno=-22` and the like)
 * @LRD_WG_ERROR_FAILED: anything else (a daemon died, a socket vanished...)
 */
typedef enum
{
  LRD_WG_ERROR_NO_WIREGUARD,
  LRD_WG_ERROR_PROTOCOL,
  LRD_WG_ERROR_REFUSED,
  LRD_WG_ERROR_FAILED,
} LrdWgError;

GQuark lrd_wg_error_quark (void);

typedef struct
{
  LrKey           public_key;
  LrAddr          endpoint;              /* length 0: no endpoint known yet */
  char          **allowed_ips;           /* CIDR strings, e.g. "10.66.0.7/32" */
  guint           persistent_keepalive;  /* seconds, 0 = off */
} LrdWgPeerConfig;

typedef struct
{
  LrKey public_key;
  LrAddr   endpoint;                     /* length 0: none */
  guint64  rx_bytes;
  guint64  tx_bytes;
  gint64   last_handshake_unix;          /* seconds, 0 = never */
} LrdWgPeerStats;

void lrd_wg_peer_config_clear (LrdWgPeerConfig *config);
void lrd_wg_peer_stats_clear  (LrdWgPeerStats  *stats);

#define LRD_TYPE_WG_BACKEND (lrd_wg_backend_get_type ())
G_DECLARE_INTERFACE (LrdWgBackend, lrd_wg_backend, LRD, WG_BACKEND, GObject)

struct _LrdWgBackendInterface
{
  GTypeInterface parent_iface;

  const char *(*get_name)     (LrdWgBackend         *self);   /* "networkmanager", "uapi" */

  /* Creates (or takes over) the interface: private key, listen port, address/prefix
   * (e.g. "10.66.0.7/16"), link up. No peers. */
  void      (*up_async)       (LrdWgBackend         *self,
                               const LrKey          *private_key,
                               guint16               listen_port,
                               const char           *address_cidr,
                               GCancellable         *cancellable,
                               GAsyncReadyCallback   callback,
                               gpointer              user_data);
  gboolean  (*up_finish)      (LrdWgBackend         *self,
                               GAsyncResult         *result,
                               GError              **error);

  /* Adds or replaces one peer (allowed IPs replaced, endpoint updated). */
  void      (*set_peer_async) (LrdWgBackend         *self,
                               const LrdWgPeerConfig *peer,
                               GCancellable         *cancellable,
                               GAsyncReadyCallback   callback,
                               gpointer              user_data);
  gboolean  (*set_peer_finish)(LrdWgBackend         *self,
                               GAsyncResult         *result,
                               GError              **error);

  void      (*remove_peer_async)  (LrdWgBackend     *self,
                                   const LrKey      *public_key,
                                   GCancellable     *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer          user_data);
  gboolean  (*remove_peer_finish) (LrdWgBackend     *self,
                                   GAsyncResult     *result,
                                   GError          **error);

  /* Returns (transfer full) a GArray of LrdWgPeerStats (clear func set). */
  void      (*get_stats_async)  (LrdWgBackend       *self,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data);
  GArray   *(*get_stats_finish) (LrdWgBackend       *self,
                                 GAsyncResult       *result,
                                 GError            **error);

  /* Removes the interface and, for NetworkManager, the profile: nothing left behind. */
  void      (*down_async)     (LrdWgBackend         *self,
                               GCancellable         *cancellable,
                               GAsyncReadyCallback   callback,
                               gpointer              user_data);
  gboolean  (*down_finish)    (LrdWgBackend         *self,
                               GAsyncResult         *result,
                               GError              **error);
};

/* Calls through the interface, for the D-Bus service. */
const char *lrd_wg_backend_get_name           (LrdWgBackend          *self);
void        lrd_wg_backend_up_async           (LrdWgBackend          *self,
                                               const LrKey           *private_key,
                                               guint16                listen_port,
                                               const char            *address_cidr,
                                               GCancellable          *cancellable,
                                               GAsyncReadyCallback    callback,
                                               gpointer               user_data);
gboolean    lrd_wg_backend_up_finish          (LrdWgBackend          *self,
                                               GAsyncResult          *result,
                                               GError               **error);
void        lrd_wg_backend_set_peer_async     (LrdWgBackend          *self,
                                               const LrdWgPeerConfig *peer,
                                               GCancellable          *cancellable,
                                               GAsyncReadyCallback    callback,
                                               gpointer               user_data);
gboolean    lrd_wg_backend_set_peer_finish    (LrdWgBackend          *self,
                                               GAsyncResult          *result,
                                               GError               **error);
void        lrd_wg_backend_remove_peer_async  (LrdWgBackend          *self,
                                               const LrKey           *public_key,
                                               GCancellable          *cancellable,
                                               GAsyncReadyCallback    callback,
                                               gpointer               user_data);
gboolean    lrd_wg_backend_remove_peer_finish (LrdWgBackend          *self,
                                               GAsyncResult          *result,
                                               GError               **error);
void        lrd_wg_backend_get_stats_async    (LrdWgBackend          *self,
                                               GCancellable          *cancellable,
                                               GAsyncReadyCallback    callback,
                                               gpointer               user_data);
GArray     *lrd_wg_backend_get_stats_finish   (LrdWgBackend          *self,
                                               GAsyncResult          *result,
                                               GError               **error);
void        lrd_wg_backend_down_async         (LrdWgBackend          *self,
                                               GCancellable          *cancellable,
                                               GAsyncReadyCallback    callback,
                                               gpointer               user_data);
gboolean    lrd_wg_backend_down_finish        (LrdWgBackend          *self,
                                               GAsyncResult          *result,
                                               GError               **error);


G_END_DECLS
