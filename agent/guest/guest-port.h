/* guest-port.h - the virtio-serial port of the host link: all of its I/O.
 *
 * Follows the port appearing and disappearing, opens it, tells when a host
 * client connects or goes, hands the bytes read to its owner and writes what
 * the owner sends without ever blocking. It knows nothing of the protocol
 * (that is guest-conn.h). Costs nothing while idle: no timers while a host
 * is connected, one wakeup in 5 minutes while none is; a connecting host
 * is noticed at once (SIGIO, see guest-port.c).
 *
 * States and what wakes it in each:
 *   NO_PORT       the port path does not exist: inotify on the nearest
 *                 existing ancestor directory.
 *   OPEN_ERROR    open failed (not EBUSY): a retry every 60 s.
 *   BUSY          open gave EBUSY (a virtio port opens once): a retry every
 *                 60 s; "hostlink.port-busy" on entering.
 *   DISCONNECTED  open, no host client (POLLHUP): SIGIO, plus a 5 min
 *                 safety net.
 *   CONNECTED     a host client is there: the fd in the main loop.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PD_GUEST_PORT_RETRY_S 60
#define PD_GUEST_PORT_SAFETY_NET_S 300
#define PD_GUEST_PORT_MAX_OUT (64 * 1024)
/* pd_guest_port_free() waits this long for queued output to go. */
#define PD_GUEST_PORT_DRAIN_MS 1000

typedef enum
{
  PD_GUEST_PORT_STOPPED = 0,
  PD_GUEST_PORT_NO_PORT,
  PD_GUEST_PORT_OPEN_ERROR,
  PD_GUEST_PORT_BUSY,
  PD_GUEST_PORT_DISCONNECTED,
  PD_GUEST_PORT_CONNECTED,
} PdGuestPortState;

/* Called with the owner (a GObject, referenced during the call). */
typedef struct
{
  /* A host client is there; the state turns CONNECTED right after. @fresh_open:
   * the port was just opened with the host already there. */
  void (*connected) (gpointer owner, gboolean fresh_open);
  /* Bytes from the host (at most 4 KiB at a time, 64 KiB per wakeup). */
  void (*input) (gpointer owner, const char *data, gsize len);
  /* The host went away, the port failed or was unplugged; the new state
   * follows. Also called when no host was connected: it must be harmless. */
  void (*lost) (gpointer owner);
  /* The state changed (pd_guest_port_get_state). */
  void (*state_changed) (gpointer owner);
  /* "hostlink.port-busy". */
  void (*event) (gpointer owner, const char *kind, const char *text);
} PdGuestPortOps;

typedef struct _PdGuestPort PdGuestPort;

/* @owner must be a GObject that outlives the port. */
PdGuestPort *pd_guest_port_new (const char *path, const PdGuestPortOps *ops, gpointer owner);
/* Writes what is still queued first (at most PD_GUEST_PORT_DRAIN_MS). */
void pd_guest_port_free (PdGuestPort *port);

/* Starts watching and opening. Must run in the thread of the default main
 * context: it blocks SIGIO there and reads it from a signalfd; nothing else
 * in the process may use SIGIO. Fails only when that cannot be set up. */
gboolean pd_guest_port_start (PdGuestPort *port, GError **error);

/* Queues @len bytes for the host and writes what the port takes now; the
 * rest goes out when it is writable. More than PD_GUEST_PORT_MAX_OUT queued
 * means the host stopped reading: the bytes are dropped (it learns the
 * facts again by RESYNC). */
void pd_guest_port_send (PdGuestPort *port, const char *data, gsize len);

PdGuestPortState pd_guest_port_get_state (PdGuestPort *port);
const char *pd_guest_port_get_path (PdGuestPort *port);
/* Why the last open or read failed (strerror), or NULL. */
const char *pd_guest_port_get_error (PdGuestPort *port);

G_END_DECLS
