/* agent-client.h - how a client (the CLI, the tray) finds the running agent
 * on the bus: a PdDbusAgent1 proxy for PD_AGENT_BUS_NAME at
 * PD_AGENT_OBJECT_PATH (agent-bus.h).
 *
 * The system bus by default; the session bus when @session is TRUE or
 * PASSDESK_BUS=session (the CLI), or as the caller's GBusType says (the
 * tray). Never starts the agent (no D-Bus activation), neither when the
 * proxy is made nor on method calls. The agent's D-Bus errors come back as
 * PD_AGENT_ERROR.
 */
#pragma once

#include <gio/gio.h>

#include "agent-bus.h"
#include "pd-dbus.h"

G_BEGIN_DECLS

typedef enum
{
  PD_AGENT_CLIENT_OK,
  PD_AGENT_CLIENT_NO_BUS,   /* the bus itself is unreachable */
  PD_AGENT_CLIENT_NO_AGENT, /* nobody owns org.passdesk.Agent1 */
} PdAgentClientStatus;

/* "system" or "session". */
const char *pd_agent_client_bus_name (gboolean session);
/* The command that starts the agent this client would look for
 * (PD_AGENT_START_SYSTEM or PD_AGENT_START_SESSION). */
const char *pd_agent_client_start_command (gboolean session);

/* A proxy for the agent, or NULL with @status (and @error for NO_BUS). With
 * @need_owner FALSE a proxy is returned even when no agent runs yet (watch). */
PdDbusAgent1 *pd_agent_client_connect (gboolean session, gboolean need_owner,
                                       PdAgentClientStatus *status, GError **error);

/* Without blocking: a proxy on @bus_type whether or not an agent runs yet;
 * it follows the agent as it comes and goes (g-name-owner). */
void pd_agent_client_new_async (GBusType bus_type, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
PdDbusAgent1 *pd_agent_client_new_finish (GAsyncResult *result, GError **error);

G_END_DECLS
