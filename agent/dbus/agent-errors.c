/* agent-errors.c - registers PD_AGENT_ERROR with GDBus. */
#include "agent-errors.h"

static const GDBusErrorEntry pd_agent_error_entries[] = {
  { PD_AGENT_ERROR_HOST_LINK_UNAVAILABLE, "org.passdesk.Agent1.Error.HostLinkUnavailable" },
  { PD_AGENT_ERROR_NOT_AUTHORIZED, "org.passdesk.Agent1.Error.NotAuthorized" },
  { PD_AGENT_ERROR_REFUSED, "org.passdesk.Agent1.Error.Refused" },
  { PD_AGENT_ERROR_TIMEOUT, "org.passdesk.Agent1.Error.Timeout" },
  { PD_AGENT_ERROR_BUSY, "org.passdesk.Agent1.Error.Busy" },
  { PD_AGENT_ERROR_INVALID_ARGS, "org.passdesk.Agent1.Error.InvalidArgs" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (pd_agent_error_entries) == PD_AGENT_N_ERRORS);

GQuark
pd_agent_error_quark (void)
{
  static gsize quark = 0;
  g_dbus_error_register_error_domain ("pd-agent-error-quark", &quark, pd_agent_error_entries,
                                      G_N_ELEMENTS (pd_agent_error_entries));
  return (GQuark) quark;
}
