/* hostd-link.h - the I/O of one VM's channel: connect, read, write, reconnect.
 *
 * hostd is the client of QEMU's chardev socket. A link connects when its
 * socket appears (discovery), without blocking; when the connection is lost
 * while the socket is still there it tries again a few times with a growing
 * delay (QEMU may not listen yet right after the socket file appears), then
 * waits for the next discovery event: no endless retry loop.
 *
 * Reads are bounded per main-loop iteration (4 KiB, and at most
 * PD_SCHED_GRANT_MAX lines handled; the rest is kept for a later pass) and
 * paced by a token bucket per link (bytes and lines), so a flooding guest
 * only slows itself, and by the overall budget all links share fairly
 * (hostd-sched.h), so many flooding guests together cannot slow the others.
 * A connection QEMU closes before any handshake (a socket that accepts and
 * closes) is retried after 200 ms, doubling up to 60 s; after the third
 * such close in a row its connect/disconnect lines go to the debug level.
 * Only a socket itself is connected to: a symlink is not followed.
 * Output waiting for a slow guest is capped; past the cap, or after too many
 * bad lines (see hostd-conn.h), the link is closed and retried after a minute.
 * While the handshake is not complete HELLO is repeated after 5, 10 and 20 s,
 * then no more (a guest agent that starts later sends RESYNC); once READY
 * came, no timer runs.
 */
#pragma once

#include "hostd-conn.h"
#include "hostd-sched.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PdHostdLink PdHostdLink;

typedef void (*PdHostdLinkStateFunc) (PdHostdLink *link, gboolean connected, gpointer user_data);

/* @sched: the overall budget all links share; must outlive the link. */
PdHostdLink *pd_hostd_link_new (guint vmid, const char *path, const PdHostdConnOps *ops,
                                PdSched *sched, PdHostdLinkStateFunc state_func,
                                gpointer user_data);
void pd_hostd_link_free (PdHostdLink *link);

/* Discovery: the socket file appeared (connect now) or went (disconnect, and
 * wait for it to appear again). */
void pd_hostd_link_set_present (PdHostdLink *link, gboolean present);

/* Sends PROGRESS for @request_id if the connection that accepted it
 * (@generation, see below) is still the current one. */
void pd_hostd_link_progress (PdHostdLink *link, guint generation, guint32 request_id,
                             const char *phase, const char *text);
/* Counts connections: changes with every new connection. */
guint pd_hostd_link_get_generation (PdHostdLink *link);

/* Sends a fresh HELLO (new facts, e.g. a cycle's result) if connected. */
void pd_hostd_link_rehello (PdHostdLink *link);

/* Sends the doctor's summary (pd_hostd_conn_report) if connected. */
void pd_hostd_link_report (PdHostdLink *link, GPtrArray *findings, gint64 checked_at);

gboolean pd_hostd_link_is_connected (PdHostdLink *link);
gboolean pd_hostd_link_is_ready (PdHostdLink *link);
guint pd_hostd_link_get_vmid (PdHostdLink *link);
const char *pd_hostd_link_get_agent (PdHostdLink *link);
/* What the ready guest said about converting reboots (UNSAID when not ready). */
PdHostdGuestReboot pd_hostd_link_get_guest_reboot (PdHostdLink *link);

G_END_DECLS
