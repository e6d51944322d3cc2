/* agent-errors.h - the agent's GError domain and its D-Bus error names.
 *
 * Errors in PD_AGENT_ERROR cross the bus as the names in
 * data/org.passdesk.Agent1.xml (org.passdesk.Agent1.Error.*) and come back
 * as the same GError in clients that call pd_agent_error_quark() once
 * (PD_AGENT_ERROR does that).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PD_AGENT_ERROR (pd_agent_error_quark ())

typedef enum
{
  PD_AGENT_ERROR_HOST_LINK_UNAVAILABLE, /* no host helper is connected */
  PD_AGENT_ERROR_NOT_AUTHORIZED,        /* polkit said no */
  PD_AGENT_ERROR_REFUSED,               /* the host refused */
  PD_AGENT_ERROR_TIMEOUT,               /* the host did not answer in time */
  PD_AGENT_ERROR_BUSY,                  /* a cycle or a check is already running */
  PD_AGENT_ERROR_INVALID_ARGS,          /* bad option name, type or value */
} PdAgentError;

#define PD_AGENT_N_ERRORS (PD_AGENT_ERROR_INVALID_ARGS + 1)

GQuark pd_agent_error_quark (void);

G_END_DECLS
