/* agent-bus.h - where org.passdesk.Agent1 lives: the one spelling of its bus
 * name, object path and interface, for the agent that owns them and for
 * every client (the CLI, the tray). The interface itself is
 * data/org.passdesk.Agent1.xml, bound as PdDbusAgent1 (pd-dbus.h). */
#pragma once

#define PD_AGENT_BUS_NAME "org.passdesk.Agent1"
#define PD_AGENT_OBJECT_PATH "/org/passdesk/Agent1"
#define PD_AGENT_INTERFACE "org.passdesk.Agent1"

/* How to start the agent a client looks for: the system service, or a
 * development instance, which must run on the client's own session bus. */
#define PD_AGENT_START_SYSTEM "sudo systemctl start passdesk-agent"
#define PD_AGENT_START_SESSION "passdesk-agent --session &"
