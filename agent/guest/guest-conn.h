/* guest-conn.h - the guest's end of one hostlink connection, as a pure core.
 *
 * Bytes from the host go in (pd_guest_conn_feed), lines for the host come out
 * (appended to a GString), and what the rest of the agent must hear comes out
 * as calls through PdGuestConnOps: events, cold-restart phases, the answer to
 * the pending request, "the facts changed". No I/O, no main loop, no clock of
 * its own (the caller passes the time and asks when to call back), so it can
 * be fuzzed whole (tests/fuzz/fuzz-guest-conn.c).
 *
 * It speaks PROTOCOL.md with the codec: after pd_guest_conn_connect it drops
 * input up to the first LF, ignores everything but a well-formed HELLO until
 * the handshake, answers HELLO with LF + READY (or ERROR unsupported-version),
 * sends RESYNC on a fresh open and again when no HELLO came within 5 s, and
 * calls the host silent after 10 s. Once ready it answers PING, reports bad
 * lines (at most 5 ERRORs per connection, never an ERROR to an ERROR) and
 * matches ACCEPT / REFUSE / PROGRESS / ERROR to its one pending RESTART (10 s
 * to answer, then CANCEL and a timeout) or its latest accepted one.
 *
 * HELLO is parsed once into a PdHostInfo; the latest HELLO's facts replace
 * the earlier ones.
 *
 * Versions: it answers a host offering proto-min..proto with the highest
 * version both speak (2, else 1), so version 1 hosts keep working. With
 * version 2 it collects the host doctor's summary (HOST-REPORT and its
 * HOST-ITEMs, host-report.h), never answering them; a report is shown
 * (changed is called) once all its items came, or with what came when the
 * connection ends. The shown report outlives the connection: a host helper
 * that reconnects (restarted, upgraded) sends a fresh one at once, and until
 * then the last word of the host stays more useful than none. A version 1
 * host drops it, since it would never be replaced.
 */
#pragma once

#include <glib.h>

#include "codec.h"
#include "cold-restart-phase.h"
#include "host-report.h"

G_BEGIN_DECLS

#define PD_GUEST_CONN_RESYNC_AFTER_S 5
#define PD_GUEST_CONN_SILENT_AFTER_S 10
#define PD_GUEST_CONN_REQUEST_TIMEOUT_S 10
#define PD_GUEST_CONN_MAX_ERRORS_SENT 5

/* What the host told us in its latest HELLO. */
typedef struct
{
  char *host; /* the host's name */
  guint32 vmid;
  gboolean enabled;                                     /* cold restarts allowed for this VM */
  guint32 cool_off_min, cool_off_max, cool_off_default; /* seconds */
  guint32 rate_max, rate_window, day_max;               /* cycles per window (s), per day */
  guint32 rate_left;       /* cycles allowed right now, when the HELLO came */
  gboolean has_day_left;   /* FALSE: a host from before day-left (its rate-left is the day's) */
  guint32 day_left;        /* cycles left today */
  guint32 next_allowed_in; /* seconds from received_at; 0: now */
  gint64 received_at;      /* monotonic µs: when the HELLO came (figures count from it) */
  /* HELLO reboot-cold=1: the host turns this VM's reboots into cold
   * restarts (RESTART kind=reboot); absent or 0: it does not. */
  gboolean reboot_cold;
  /* The last cycle of this VM, if one ran. */
  gboolean has_last;
  gboolean last_ok;
  gboolean has_last_id;
  guint32 last_id; /* the cycle's serial number on the host (increasing per VM) */
  gboolean has_last_time;
  guint32 last_time; /* Unix time, seconds */
  gboolean has_last_duration;
  guint32 last_duration; /* seconds */
  char *last_text;       /* may be NULL */
} PdHostInfo;

/* NULL unless @hello is a HELLO (pd_hl_decode checked its keys and types);
 * @now_us: when it came (monotonic). */
PdHostInfo *pd_host_info_new_from_hello (const PdHlMessage *hello, gint64 now_us);
/* The rate figures at @now_us (monotonic), counted down from when the HELLO
 * came: no timer runs for them, they are computed when asked. Seconds until
 * the next cycle is allowed (0: now), cycles allowed now, cycles left today. */
guint32 pd_host_info_next_allowed_in (const PdHostInfo *info, gint64 now_us);
guint32 pd_host_info_allowed_now (const PdHostInfo *info, gint64 now_us);
guint32 pd_host_info_day_left (const PdHostInfo *info);
void pd_host_info_free (PdHostInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdHostInfo, pd_host_info_free)

typedef struct
{
  /* An event for the history: "hostlink.connected", ".last-cycle",
   * ".protocol-error", ".late-accept", ".cancel-refused", ".disconnected". */
  void (*event) (gpointer user_data, const char *kind, const char *text);
  /* A phase of the latest request. @wire is the phase as the host spelled
   * it (kept for phases this build does not know: @phase is UNKNOWN then). */
  void (*progress) (gpointer user_data, PdColdRestartPhase phase, const char *wire,
                    const char *text);
  /* The pending request has its answer: @error NULL for accepted, else
   * PD_HOSTLINK_ERROR (REFUSED, TIMEOUT, PROTOCOL, UNAVAILABLE) or
   * G_IO_ERROR_CANCELLED. Transfer full. */
  void (*answered) (gpointer user_data, GError *error);
  /* Ready, silent, the host's facts or its report changed: word the
   * components again. */
  void (*changed) (gpointer user_data);
  /* Optional: a last cycle was reported ("hostlink.last-cycle"); keep
   * @last_id / @last_time for pd_guest_conn_set_reported in a later agent
   * life of this boot. */
  void (*reported) (gpointer user_data, guint32 last_id, guint32 last_time);
} PdGuestConnOps;

typedef struct _PdGuestConn PdGuestConn;

/* @first_id: the first request id is @first_id + 1 (the caller picks it at
 * random so two agent lives do not reuse ids). */
PdGuestConn *pd_guest_conn_new (const PdGuestConnOps *ops, gpointer user_data, guint32 first_id);
void pd_guest_conn_free (PdGuestConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdGuestConn, pd_guest_conn_free)

/* A host client is there (at @now_us, monotonic): starts waiting for HELLO,
 * dropping input up to the first LF. @fresh_open: we just opened the port
 * and the host was there already, so its HELLO may have gone to an earlier
 * opener: LF + RESYNC goes to @out at once. */
void pd_guest_conn_connect (PdGuestConn *conn, gboolean fresh_open, gint64 now_us, GString *out);
/* The host went away: forgets its facts, fails the pending request
 * (UNAVAILABLE) and, if the handshake was done, reports
 * "hostlink.disconnected". Does not call changed (the caller words the
 * new link state). Harmless when not connected. */
void pd_guest_conn_disconnect (PdGuestConn *conn);

/* Feeds bytes from the host that arrived at @now_us (monotonic; it stamps a
 * HELLO's figures). Replies go to @out. What is due later runs from
 * pd_guest_conn_tick. Several HELLOs in one feed (queued while the port was
 * closed) are answered each, but the last cycle is judged by the latest. */
void pd_guest_conn_feed (PdGuestConn *conn, const char *data, gsize len, gint64 now_us,
                         GString *out);
/* The newest cycle result already reported in this boot (an earlier agent
 * life): "hostlink.last-cycle" comes once per cycle, never for an older
 * cycle after a newer one. A result counts as newer by its last-id, or by
 * its time for a host that sends no last-id (or whose numbering restarted). */
void pd_guest_conn_set_reported (PdGuestConn *conn, guint32 last_id, guint32 last_time);
/* Runs what is due at @now_us (RESYNC, silent, request timeout). */
void pd_guest_conn_tick (PdGuestConn *conn, gint64 now_us, GString *out);
/* When pd_guest_conn_tick has something to do next (monotonic µs), or -1. */
gint64 pd_guest_conn_next_wakeup (PdGuestConn *conn);

/* FALSE with G_IO_ERROR_INVALID_ARGUMENT when @reason (NULL: none) is over
 * PD_HL_MAX_REASON bytes or not UTF-8. */
gboolean pd_guest_conn_check_reason (const char *reason, GError **error);
/* Sends RESTART. Call only when ready and nothing is pending. FALSE with
 * G_IO_ERROR_INVALID_ARGUMENT when @reason is too long, not UTF-8 or cannot
 * be sent (control characters). Emits the "requested" phase. */
gboolean pd_guest_conn_request (PdGuestConn *conn, const char *reason, guint cool_off_s,
                                gint64 now_us, GString *out, GError **error);
/* The caller stopped waiting for the pending request (its cancellable):
 * forgets it without telling the host; a later answer is ignored, its
 * PROGRESS still reported. */
void pd_guest_conn_abandon (PdGuestConn *conn);
/* Withdraws the latest request (CANCEL); the pending one, if any, is
 * answered with G_IO_ERROR_CANCELLED. FALSE when there is none. */
gboolean pd_guest_conn_cancel (PdGuestConn *conn, GString *out);

gboolean pd_guest_conn_is_connected (PdGuestConn *conn);
gboolean pd_guest_conn_is_ready (PdGuestConn *conn);
/* Connected, no HELLO for over PD_GUEST_CONN_SILENT_AFTER_S. */
gboolean pd_guest_conn_is_silent (PdGuestConn *conn);
gboolean pd_guest_conn_has_pending (PdGuestConn *conn);
/* The latest HELLO's facts while ready, else NULL. */
const PdHostInfo *pd_guest_conn_get_host (PdGuestConn *conn);
/* The protocol version chosen with the host while ready (1 or 2), else 0. */
guint32 pd_guest_conn_get_proto (PdGuestConn *conn);
/* The host doctor's latest summary, or NULL: none since the agent started,
 * or the host speaks version 1. Kept while no host is connected. */
const PdHostReport *pd_guest_conn_get_report (PdGuestConn *conn);

G_END_DECLS
