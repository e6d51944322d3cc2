/* hostlink-guest.h - the guest end of the hostlink channel (PROTOCOL.md).
 *
 * Owns the virtio-serial port, follows it appearing and disappearing, tells
 * whether a host helper is connected (the `hostlink` health component), does
 * the handshake, sends cold-restart requests, and shows the host doctor's
 * summary that a version 2 host sends (the `host` component). Costs nothing while idle:
 * no timers while a host is connected and quiet, at most one wakeup a minute
 * while no host is connected; a connecting host is noticed at once (the
 * kernel's SIGIO on virtio port-open, see guest-port.c).
 *
 * Built from three parts, as the host end is: the port's I/O (guest-port.h),
 * the protocol as a pure core (guest-conn.h) and the component's words
 * (guest-component.c); this object ties them and offers the requests.
 *
 * It never powers the guest off itself: callers do that after acceptance
 * (agent/guest/logind-poweroff.h).
 */
#pragma once

#include <gio/gio.h>

#include "health.h"

G_BEGIN_DECLS

#define PD_TYPE_HOSTLINK_GUEST (pd_hostlink_guest_get_type ())
G_DECLARE_FINAL_TYPE (PdHostlinkGuest, pd_hostlink_guest, PD, HOSTLINK_GUEST, GObject)

#define PD_HOSTLINK_DEFAULT_PORT "/dev/virtio-ports/org.passdesk.hostlink.0"

#define PD_HOSTLINK_ERROR (pd_hostlink_error_quark ())
typedef enum
{
  PD_HOSTLINK_ERROR_UNAVAILABLE, /* no port, or no host connected / handshake not done */
  PD_HOSTLINK_ERROR_REFUSED,     /* the host said no; message is the host's sentence */
  PD_HOSTLINK_ERROR_TIMEOUT,     /* no answer in time */
  PD_HOSTLINK_ERROR_BUSY,        /* a request is already waiting for its answer */
  PD_HOSTLINK_ERROR_PROTOCOL,    /* the host broke the protocol */
} PdHostlinkError;
GQuark pd_hostlink_error_quark (void);

/* NULL: the default port, through the sysroot prefix (PASSDESK_SYSROOT).
 * A path given explicitly is used as is. */
PdHostlinkGuest *pd_hostlink_guest_new (const char *port_path);

/* Starts watching for the port and opening it. Never fails for a missing
 * port: it waits for it. Call from the thread that runs the default main
 * context: it blocks SIGIO in that thread and reads it from a signalfd (the
 * kernel's host-connect notification); nothing else in the process may use
 * SIGIO. */
gboolean pd_hostlink_guest_start (PdHostlinkGuest *self, GError **error);

/* Where this agent keeps, for its later lives in the same boot, which cycle
 * result it reported ("hostlink.last-cycle" once per cycle, also across
 * `systemctl restart passdesk-agent`): a directory that lives as long as the
 * boot (the unit's RuntimeDirectory, /run/passdesk). Reads what an earlier
 * life left there. NULL: nothing is kept (the CLI, tests). Call before
 * pd_hostlink_guest_start. */
void pd_hostlink_guest_set_state_dir (PdHostlinkGuest *self, const char *dir);

/* The `hostlink` component, transfer full. */
PdComponent *pd_hostlink_guest_get_component (PdHostlinkGuest *self);
/* The `host` component (what the host doctor found), transfer full. */
PdComponent *pd_hostlink_guest_get_host_component (PdHostlinkGuest *self);

/* Asks the host to cold-restart this VM. @reason: free text (NULL: none; at
 * most 200 bytes), @cool_off_s: 0 for the host's default. Finishes TRUE when
 * the host accepted; REFUSED / TIMEOUT / UNAVAILABLE / BUSY / PROTOCOL
 * otherwise. Cancelling @cancellable abandons the wait only (send
 * pd_hostlink_guest_cancel_cold_restart to withdraw the request). */
void pd_hostlink_guest_request_cold_restart_async (PdHostlinkGuest *self, const char *reason,
                                                   guint cool_off_s, GCancellable *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer user_data);
gboolean pd_hostlink_guest_request_cold_restart_finish (PdHostlinkGuest *self, GAsyncResult *res,
                                                        GError **error);

/* The same request with `kind=reboot` (PROTOCOL.md): the guest is going
 * down for a reboot and asks the host to make it a cold restart; the host's
 * default cool-off. Finished with pd_hostlink_guest_request_cold_restart_finish. */
void pd_hostlink_guest_request_reboot_async (PdHostlinkGuest *self, const char *reason,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback, gpointer user_data);
/* READY says `reboot-cold=1`: this agent turns reboots into cold restarts
 * when the host converts them. Takes effect with the next HELLO. */
void pd_hostlink_guest_set_reboot_cold (PdHostlinkGuest *self, gboolean will_convert);
/* The host's latest HELLO said `reboot-cold=1` (kept after it went away).
 * @known (may be NULL): FALSE while no HELLO came since the start. */
gboolean pd_hostlink_guest_get_host_reboot_cold (PdHostlinkGuest *self, gboolean *known);
/* `shutdown-timeout` (s) of the latest ACCEPT; 0 before any. */
guint pd_hostlink_guest_get_shutdown_timeout (PdHostlinkGuest *self);

/* Withdraws the latest request (pending or accepted, before the host's
 * shutdown started) by sending CANCEL. FALSE with UNAVAILABLE when there is
 * nothing to cancel or no host. The outcome arrives as "progress"
 * ("cancelled") or an "event". */
gboolean pd_hostlink_guest_cancel_cold_restart (PdHostlinkGuest *self, GError **error);

/* Signals:
 *  "component-changed" (void)      the `hostlink` component changed
 *  "host-component-changed" (void) the `host` component changed
 *  "progress" (phase, text)        a cold-restart phase (PdColdRestartPhase,
 *                                  cold-restart-phase.h, as its string): "requested",
 *                                  "accepted", "refused", then the host's
 *                                  PROGRESS phases ("shutting-down", "stopped",
 *                                  "cooling-off", "starting", "done",
 *                                  "failed", "cancelled")
 *  "event" (kind, text)            "hostlink.connected", "hostlink.disconnected",
 *                                  "hostlink.last-cycle", "hostlink.port-busy",
 *                                  "hostlink.protocol-error"
 */

G_END_DECLS
