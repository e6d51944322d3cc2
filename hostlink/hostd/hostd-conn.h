/* hostd-conn.h - the host's end of one hostlink connection, as a pure core.
 *
 * Bytes from the guest go in (pd_hostd_conn_feed), lines for the guest come
 * out (appended to a GString), and the few things only the daemon can do
 * come out as calls through PdHostdConnOps: "start a cycle". No I/O, no main
 * loop, no clock of its own (the caller passes the time), so it can be
 * fuzzed whole (tests/fuzz/fuzz-hostd-conn.c).
 *
 * It speaks PROTOCOL.md with the codec: sends LF + HELLO on start, answers
 * RESYNC with LF + a new HELLO, answers nothing but READY and RESYNC before
 * the handshake (ERROR not-ready), then serves
 * RESTART (policy, rate limit and busy checks decide; ACCEPT or REFUSE;
 * kind=reboot only for a VM whose reboots the host converts, see
 * PdVmPolicy.reboot_cold, else REFUSE disabled and the guest reboots in
 * place),
 * CANCEL (the daemon decides: OK and PROGRESS cancelled before the point of
 * no return, REFUSE too-late after it, unknown-request otherwise), STATUS
 * and PING. A host-only verb from the guest gets ERROR unexpected even when
 * its arguments are wrong for it. Lines over the limit, bad grammar, unknown verbs
 * and verbs from the wrong side get an ERROR; more than a burst of bad lines
 * (16, refilled one per 10 s) closes the connection.
 *
 * The handshake completes on a READY to any HELLO sent on this connection
 * (not only the latest): a RESYNC crossing our HELLO makes the guest answer
 * the older one, and it is in sync either way.
 *
 * Rate figures: when an ACCEPT, a rate-limited REFUSE or a successful CANCEL
 * finds the budget changed from what the latest HELLO said (cycles allowed
 * now, left today), a fresh HELLO follows the answer, so the
 * guest never shows a budget the host no longer has. The guest counts
 * next-allowed-in down itself; time alone sends nothing.
 */
#pragma once

#include "hostd-config.h"
#include "hostd-cycle.h"

#include <glib.h>

G_BEGIN_DECLS

/* What the host knows about the VM right now, for HELLO, STATUS-REPLY and
 * for deciding a RESTART. */
typedef struct
{
  const char *host_name;
  guint vmid;
  PdVmPolicy policy;
  guint rate_left;       /* cycles allowed right now (0 or 1) */
  guint day_left;        /* cycles left in the 24 h window */
  guint next_allowed_in; /* seconds; 0: now */
  const char *cycle;     /* "idle" or the PROGRESS phase of a running cycle */
  const char *vm_state;  /* "running", "stopped", ... or "unknown" */
  /* The last finished cycle's result; NULL when none, and while a cycle
   * runs (then it is older than the cycle in flight, PROTOCOL.md). */
  const PdCycleResult *last;
} PdHostdView;

typedef enum
{
  PD_HOSTD_CANCEL_UNKNOWN,   /* no cycle of this VM was started by that request */
  PD_HOSTD_CANCEL_TOO_LATE,  /* its `qm shutdown` has started: past the point of no return */
  PD_HOSTD_CANCEL_CANCELLED, /* withdrawn; nothing was run */
} PdHostdCancelResult;

typedef struct
{
  /* Fills @view (strings must live until the next call into the core). */
  void (*view) (gpointer user_data, PdHostdView *view);
  /* A RESTART passed every check: start the cycle now. @reboot: it came
   * with kind=reboot (the guest is on its way to a reboot the host
   * converts). Returns FALSE (with a sentence in *@why, owned by the
   * caller) when it could not start. */
  gboolean (*restart) (gpointer user_data, guint32 request_id, guint cool_off, const char *reason,
                       gboolean reboot, char **why);
  /* Optional: called when a protocol 2 guest completes the handshake; the
   * doctor's latest findings for this VM (PdDoctorFinding, host and VM) to
   * send as HOST-REPORT, or NULL when there are none yet (the daemon may
   * start a run and push its result with pd_hostd_conn_report later).
   * *@checked_at: Unix time of the run. */
  GPtrArray *(*report) (gpointer user_data, gint64 *checked_at);
  /* CANCEL of @request_id: the daemon knows the VM's cycle across
   * connections (a guest that reconnected cancels what it asked before). */
  PdHostdCancelResult (*cancel) (gpointer user_data, guint32 request_id);
} PdHostdConnOps;

typedef struct _PdHostdConn PdHostdConn;

PdHostdConn *pd_hostd_conn_new (const PdHostdConnOps *ops, gpointer user_data);
void pd_hostd_conn_free (PdHostdConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdHostdConn, pd_hostd_conn_free)

/* The connection was made: resets the line assembler (dropping the first
 * partial line) and writes LF + HELLO to @out. */
void pd_hostd_conn_start (PdHostdConn *conn, GString *out);
/* Sends a new HELLO: a re-handshake before READY came, or new facts (a
 * cycle's result) on a ready connection, which stays ready. */
void pd_hostd_conn_rehello (PdHostdConn *conn, GString *out);

/* Feeds bytes from the guest at time @now_us (monotonic). Replies go to
 * @out; *@lines counts the lines seen (for the caller's flood budget).
 * Returns FALSE when the connection must be closed (too many bad lines). */
gboolean pd_hostd_conn_feed (PdHostdConn *conn, const char *data, gsize len, gint64 now_us,
                             GString *out, guint *lines);
/* Same, but stops after @max_lines lines; *@used says how many bytes of
 * @data were taken (the caller keeps the rest for later). */
gboolean pd_hostd_conn_feed_some (PdHostdConn *conn, const char *data, gsize len, guint max_lines,
                                  gint64 now_us, GString *out, guint *lines, gsize *used);

/* Reports a step of the cycle started for @request_id (PROGRESS). */
void pd_hostd_conn_progress (PdHostdConn *conn, guint32 request_id, const char *phase,
                             const char *text, GString *out);

/* Sends the doctor's summary (HOST-REPORT + HOST-ITEMs for the warn and fail
 * findings, fails first, at most PD_HL_MAX_REPORT_ITEMS) if the guest is ready
 * and speaks protocol 2; otherwise nothing. */
void pd_hostd_conn_report (PdHostdConn *conn, GPtrArray *findings, gint64 checked_at, GString *out);
/* The protocol version the guest chose in READY (0 before). */
guint pd_hostd_conn_get_proto (PdHostdConn *conn);

gboolean pd_hostd_conn_is_ready (PdHostdConn *conn);
/* Counts the READYs accepted on this connection (a guest agent restarted
 * behind a RESYNC answers again, possibly as another version). */
guint pd_hostd_conn_get_handshakes (PdHostdConn *conn);
/* The guest's agent version from READY (or NULL). */
const char *pd_hostd_conn_get_agent (PdHostdConn *conn);

typedef enum
{
  PD_HOSTD_GUEST_REBOOT_UNSAID = 0, /* READY without reboot-cold: an agent before the conversion */
  PD_HOSTD_GUEST_REBOOT_NO,         /* READY reboot-cold=0: this agent will not convert */
  PD_HOSTD_GUEST_REBOOT_YES,        /* READY reboot-cold=1: it will */
} PdHostdGuestReboot;

/* What the guest's READY said about turning reboots into cold restarts. */
PdHostdGuestReboot pd_hostd_conn_get_guest_reboot (PdHostdConn *conn);

G_END_DECLS
