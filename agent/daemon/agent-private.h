/* agent-private.h - the agent daemon's state, shared by its three parts
 * (internal to the daemon; cf. gio/gdbusprivate.h).
 *
 *  agent-daemon.c  state: base + kernel-log overlay -> published, signals,
 *                  monitors, host link, public API
 *  agent-cycle.c   the check cycle: GPU/display rescan, VA-API probe,
 *                  coalescing of requests
 *  agent-kernel.c  kernel-log findings -> overlays, by the kind's row in
 *                  logscan-rules.c (the one place that says what a kind means)
 */
#pragma once

#include "agent-daemon.h"

#include "gpu-scan.h"
#include "hostlink-guest.h"
#include "kmsg-monitor.h"
#include "logscan.h"
#include "power-button.h"
#include "power-key-wait.h"

#include <gio/gunixfdlist.h>

G_BEGIN_DECLS

typedef struct
{
  gboolean active;
  PdState state;
  char *summary;
  char *device;          /* the finding's device ("0000:00:02.0", "1-4"), or NULL */
  char *line;            /* the kernel's own line (the finding's excerpt), or NULL */
  const PdLogKind *kind; /* what raised it (logscan-rules.c): says what clears it */
  guint gen;             /* when it was set (compared with a probe's start) */
  gint64 until;          /* PD_LOG_CLEARS_AFTER_HOLD: monotonic time it ends */
  gboolean saw_down;     /* the monitor reported the device not ok since then */
} Overlay;

struct _PdAgentDaemon
{
  GObject parent_instance;

  gboolean no_vaprobe;
  guint vaprobe_timeout_ms;
  char *kmsg_path;
  char *hostlink_port;
  gboolean no_hotplug;
  gint64 kernel_hold_us;

  PdComponent *base[PD_N_COMPONENTS];    /* what the checks and monitors say */
  Overlay overlay[PD_N_COMPONENTS];      /* what the kernel log says */
  PdComponent *current[PD_N_COMPONENTS]; /* published: the worst of both */
  gint64 check_time;

  /* ComponentChanged rate bound (agent-daemon.c): a burst at once, then a
   * few a second, the last state always; one timer, only while a change
   * waits. */
  gint64 signal_tat[PD_N_COMPONENTS];
  gboolean pending[PD_N_COMPONENTS];
  guint signal_id;

  PdAgentHistory *history;
  PdGpuScan *scan;
  PdKmsgMonitor *kmsg;
  guint boot_log_events;
  guint hold_id; /* ends the next PD_LOG_CLEARS_AFTER_HOLD overlay */

  /* log-event rate bound */
  guint tokens;
  gint64 tokens_time;
  guint suppressed;

  /* check cycle */
  gboolean cycle_running;
  gboolean rerun;
  GPtrArray *waiters_now;  /* GTask: complete when the running cycle ends */
  GPtrArray *waiters_next; /* GTask: complete when the next cycle ends */
  guint overlay_gen;
  guint probe_gen;
  guint reprobe_id; /* one-shot: the VA-API probe that decides a GPU finding */
  char *lost_after; /* the GPU finding video acceleration did not survive, or NULL */
  char *lost_line;  /* ... and the kernel's line of it, or NULL */
  GCancellable *cancellable;

  GDBusConnection *system_bus;
  guint sleep_subscription;

  char *cold_restart_state;

  GPtrArray *monitors; /* PdMonitor, the ones that started */
  PdHostlinkGuest *hostlink;

  /* the stop (agent-shutdown.c): the hold for the host's power button
   * after an ACCEPT, and the reboot conversion */
  GTask *stop_task;      /* systemd is stopping us */
  gboolean hold_armed;   /* a cycle was accepted: hold the stop for the key */
  gboolean key_seen;     /* the host pressed the button since */
  PdPowerButton *button; /* open only while armed */
  gint64 hold_deadline;  /* monotonic */
  gint64 hold_started;   /* when the stop began to wait, 0: not yet */
  guint hold_timer;
  /* a requested cold restart: the guest powers off on the host's key, or
   * at the hold's deadline (power-key-wait.h) */
  PdPowerKeyWait *key_wait;
  guint reboot_timer;        /* the host's answer to RESTART kind=reboot */
  gboolean reboot_timed_out;
};

/* ---- agent-daemon.c ---- */

void pd_agent_overlay_clear (Overlay *o);
/* Takes @c as what the checks or a monitor say (transfer full); may end a
 * kernel-log overlay whose kind clears when the device is back. */
void pd_agent_daemon_set_base (PdAgentDaemon *self, PdComponent *c);
/* Recomputes every published component; signals the ones that changed
 * (at most a few times a second each, the last state always). */
void pd_agent_daemon_update (PdAgentDaemon *self);
/* Sends the change signals still held back, now. */
void pd_agent_daemon_flush_signals (PdAgentDaemon *self);
void pd_agent_daemon_add_event (PdAgentDaemon *self, gint64 time, const char *kind,
                                PdComponentId component, const char *text, gboolean boot_log);
void pd_agent_daemon_refresh_monitors (PdAgentDaemon *self);

/* ---- agent-cycle.c ---- */

/* Starts a check cycle, or asks for one more after the running one; @task
 * (may be NULL, transfer full) completes when that cycle ends. */
void pd_agent_daemon_request_checks (PdAgentDaemon *self, GTask *task);
void pd_agent_daemon_rescan_display (PdAgentDaemon *self);

/* ---- agent-shutdown.c ---- */

/* A cycle was accepted: opens the power button and watches it; FALSE when
 * there is none (the journal says so). */
gboolean pd_agent_daemon_arm_hold (PdAgentDaemon *self, guint shutdown_timeout_s);
/* A requested cycle was accepted: power off when the host presses the power
 * button (after its pre-stop hook), or at the hold's deadline. */
void pd_agent_daemon_power_off_on_key (PdAgentDaemon *self);
/* The cycle failed or was cancelled: no hold (@why goes to the journal). */
void pd_agent_daemon_disarm_hold (PdAgentDaemon *self, const char *why);
/* At start: the event saying why the last restart was a plain one. */
void pd_agent_daemon_report_plain_restart (PdAgentDaemon *self);
/* At dispose: ends whatever the stop waits for. */
void pd_agent_daemon_clear_shutdown (PdAgentDaemon *self);

/* ---- agent-kernel.c ---- */

/* Opens the kernel log: boot-log findings become history, live ones overlays. */
void pd_agent_daemon_start_kernel_log (PdAgentDaemon *self);

G_END_DECLS
