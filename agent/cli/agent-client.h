/* agent-client.h - how the CLI finds the running agent on the bus.
 *
 * The system bus by default; the session bus when @session is TRUE or
 * PASSDESK_BUS=session. Never starts the agent (no D-Bus activation).
 */
#pragma once

#include <json-glib/json-glib.h>

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

/* A proxy for the agent, or NULL with @status (and @error for NO_BUS). With
 * @need_owner FALSE a proxy is returned even when no agent runs yet (watch). */
PdDbusAgent1 *pd_agent_client_connect (gboolean session, gboolean need_owner,
                                       PdAgentClientStatus *status, GError **error);

/* Local time "YYYY-MM-DD HH:MM:SS" of a microseconds-since-epoch time. */
char *pd_cli_format_time (gint64 time_us);
/* {"type":"event","time":ISO 8601 UTC,"time_us","kind","component","text"} */
JsonNode *pd_cli_event_to_json (gint64 time_us, const char *kind, const char *component,
                                const char *text);

G_END_DECLS
