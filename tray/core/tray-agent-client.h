/* tray-agent-client.h - the tray's view of org.passdesk.Agent1, through the
 * agent's own client proxy and report codec (agent/dbus/).
 *
 * Follows the agent on the system bus (or the session bus with --session):
 * its Components and ColdRestartState properties, the Event and
 * ColdRestartProgress signals, and the event history. Survives the agent
 * restarting; while it is away the report is empty and connected is FALSE.
 *
 * Signals:
 *   "changed" ()                               report, state or presence changed
 *   "event" (gint64 time, kind, component, text) a new history entry
 *   "cold-restart-progress" (phase, text)
 *   "events-reset" ()                            the history was (re)loaded
 */
#pragma once

#include <gio/gio.h>

#include "components-variant.h"
#include "health.h"

G_BEGIN_DECLS

#define PD_TYPE_TRAY_AGENT (pd_tray_agent_get_type ())
G_DECLARE_FINAL_TYPE (PdTrayAgent, pd_tray_agent, PD, TRAY_AGENT, GObject)

PdTrayAgent *pd_tray_agent_new (GBusType bus_type);

gboolean pd_tray_agent_is_connected (PdTrayAgent *self);
/* The command that starts the agent this tray looks for: the system service,
 * or `passdesk-agent --session` with --session. */
const char *pd_tray_agent_get_start_command (PdTrayAgent *self);
/* The agent's report (never NULL; empty while the agent is away). */
const PdReport *pd_tray_agent_get_report (PdTrayAgent *self);
const char *pd_tray_agent_get_cold_restart_state (PdTrayAgent *self);
/* PdEventEntry, oldest first, at most 200. */
GPtrArray *pd_tray_agent_get_events (PdTrayAgent *self);

void pd_tray_agent_run_checks (PdTrayAgent *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean pd_tray_agent_run_checks_finish (PdTrayAgent *self, GAsyncResult *result, GError **error);

/* Errors carry the agent's (or the host's) sentence as their message. */
void pd_tray_agent_cold_restart (PdTrayAgent *self, const char *reason, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean pd_tray_agent_cold_restart_finish (PdTrayAgent *self, GAsyncResult *result,
                                            GError **error);

G_END_DECLS
