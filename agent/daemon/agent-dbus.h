/* agent-dbus.h - publishes the agent's state as org.passdesk.Agent1 at
 * /org/passdesk/Agent1 (agent-bus.h; the gdbus-codegen skeleton of
 * data/org.passdesk.Agent1.xml, the report encoded by components-variant.h)
 * and answers its methods. ColdRestart and
 * CancelColdRestart are checked with polkit (org.passdesk.cold-restart). */
#pragma once

#include <gio/gio.h>
#include "agent-bus.h"
#include "agent-daemon.h"

G_BEGIN_DECLS

typedef struct _PdAgentDbus PdAgentDbus;

/* @system_bus: whether it will be exported on the system bus (polkit subjects). */
PdAgentDbus *pd_agent_dbus_new (PdAgentDaemon *daemon, gboolean system_bus);
gboolean pd_agent_dbus_export (PdAgentDbus *self, GDBusConnection *connection, GError **error);
void pd_agent_dbus_free (PdAgentDbus *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdAgentDbus, pd_agent_dbus_free)

G_END_DECLS
