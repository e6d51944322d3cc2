/* agent-daemon.h - the agent's state: the merged health report, the event
 * history, the check cycle (GPU/display scan + VA-API probe) and the monitors.
 *
 * Each component the agent publishes is the worst of what its monitor or
 * check says and an overlay from the kernel log. Which components a
 * kernel-log kind raises, to which state, and what clears the overlay again
 * (a VA-API probe that passes; or the device going away and coming back, or
 * an explicit re-check (RunChecks) that finds the hardware well) is the
 * kind's row in logscan-rules.c.
 *
 * Checks never run twice at once: requests during a cycle are coalesced
 * into one more cycle after it.
 */
#pragma once

#include <gio/gio.h>
#include "agent-history.h"
#include "health.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean no_vaprobe;       /* leave `vaapi` unknown */
  guint vaprobe_timeout_ms;  /* 0: PD_VAPROBE_DEFAULT_TIMEOUT_MS */
  const char *kmsg_path;     /* NULL: /dev/kmsg under the sysroot prefix */
  const char *hostlink_port; /* NULL: the default virtio port */
  gboolean no_hotplug;       /* tests: no udev and libusb monitors */
  gint64 kernel_hold_us;     /* tests; 0: PD_LOG_HOLD_US (logscan.h) */
} PdAgentOptions;

#define PD_TYPE_AGENT_DAEMON (pd_agent_daemon_get_type ())
G_DECLARE_FINAL_TYPE (PdAgentDaemon, pd_agent_daemon, PD, AGENT_DAEMON, GObject)

PdAgentDaemon *pd_agent_daemon_new (const PdAgentOptions *options);

/* Starts the monitors, reads the boot log and starts the first check cycle.
 * Parts that cannot start are logged and left out; never fails. */
void pd_agent_daemon_start (PdAgentDaemon *self);

/* The published component, or NULL when the agent does not check it. */
const PdComponent *pd_agent_daemon_get_component (PdAgentDaemon *self, PdComponentId id);
PdState pd_agent_daemon_get_overall (PdAgentDaemon *self);
/* A copy of the current report, source "agent". */
PdReport *pd_agent_daemon_get_report (PdAgentDaemon *self);
const PdAgentHistory *pd_agent_daemon_get_history (PdAgentDaemon *self);
const char *pd_agent_daemon_get_cold_restart_state (PdAgentDaemon *self);

/* Runs a full check cycle (or joins the next one); completes when it is done. */
void pd_agent_daemon_run_checks_async (PdAgentDaemon *self, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
gboolean pd_agent_daemon_run_checks_finish (PdAgentDaemon *self, GAsyncResult *result,
                                            GError **error);

/* Asks the host to cold-restart the VM (@reason may be NULL, @cool_off_s 0
 * for the host's default). On acceptance the guest is powered off through
 * logind. Errors are in PD_AGENT_ERROR. */
void pd_agent_daemon_cold_restart_async (PdAgentDaemon *self, const char *reason, guint cool_off_s,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
gboolean pd_agent_daemon_cold_restart_finish (PdAgentDaemon *self, GAsyncResult *result,
                                              GError **error);
gboolean pd_agent_daemon_cancel_cold_restart (PdAgentDaemon *self, GError **error);

/* systemd is stopping the agent (SIGTERM). Completes at once, unless the
 * guest is going down for a cycle the host accepted: then it completes when
 * the host presses the ACPI power button (its pre-stop hook has run) or a
 * deadline passes; and when the host turns reboots into cold restarts and
 * this is a reboot, it first asks the host (agent-shutdown.c). Never fails. */
void pd_agent_daemon_stop_async (PdAgentDaemon *self, GAsyncReadyCallback callback,
                                 gpointer user_data);
gboolean pd_agent_daemon_stop_finish (PdAgentDaemon *self, GAsyncResult *result, GError **error);

/* Signals:
 *  "component-changed" (guint id)             a published component changed
 *  "event" (const PdAgentEvent *event)        a new history entry
 *  "cold-restart-progress" (const char *phase, const char *text) */

G_END_DECLS
