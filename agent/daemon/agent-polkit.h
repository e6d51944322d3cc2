/* agent-polkit.h - asks polkit whether a D-Bus caller may do an action. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PD_POLKIT_ACTION_COLD_RESTART "org.passdesk.cold-restart"

/* Checks @action_id for the caller @sender (a unique name on @connection),
 * allowing interactive authentication. On the system bus the subject is the
 * caller's bus name; on another bus (--session) polkit cannot resolve that
 * name, so the subject is the caller's process (pid and uid from the bus).
 * Finishes TRUE when authorized; otherwise FALSE with
 * PD_AGENT_ERROR_NOT_AUTHORIZED and a sentence saying why (denied,
 * dismissed, or polkit unreachable). */
void pd_agent_polkit_check_async (GDBusConnection *connection, gboolean system_bus,
                                  const char *sender, const char *action_id,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean pd_agent_polkit_check_finish (GAsyncResult *result, GError **error);

G_END_DECLS
