/* agent-dbus.h - publishes the agent's state as org.passdesk.Agent1 at
 * /org/passdesk/Agent1 (the gdbus-codegen skeleton of
 * data/org.passdesk.Agent1.xml) and answers its methods. ColdRestart and
 * CancelColdRestart are checked with polkit (org.passdesk.cold-restart). */
#pragma once

#include <gio/gio.h>
#include "agent-daemon.h"

G_BEGIN_DECLS

#define PD_AGENT_BUS_NAME "org.passdesk.Agent1"
#define PD_AGENT_OBJECT_PATH "/org/passdesk/Agent1"

typedef struct _PdAgentDbus PdAgentDbus;

/* @system_bus: whether it will be exported on the system bus (polkit subjects). */
PdAgentDbus *pd_agent_dbus_new (PdAgentDaemon *daemon, gboolean system_bus);
gboolean pd_agent_dbus_export (PdAgentDbus *self, GDBusConnection *connection, GError **error);
void pd_agent_dbus_free (PdAgentDbus *self);

/* The Components property value (a(sssa(ss)a(ss))) for a report. */
GVariant *pd_agent_dbus_components_variant (const PdReport *report);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdAgentDbus, pd_agent_dbus_free)

G_END_DECLS
