/* agent-client.c - a PdDbusAgent1 proxy for the agent's clients. */
#include "agent-client.h"

#include "agent-errors.h"

static gboolean
use_session (gboolean session)
{
  return session || g_strcmp0 (g_getenv ("PASSDESK_BUS"), "session") == 0;
}

const char *
pd_agent_client_bus_name (gboolean session)
{
  return use_session (session) ? "session" : "system";
}

const char *
pd_agent_client_start_command (gboolean session)
{
  return use_session (session) ? PD_AGENT_START_SESSION : PD_AGENT_START_SYSTEM;
}

PdDbusAgent1 *
pd_agent_client_connect (gboolean session, gboolean need_owner, PdAgentClientStatus *status,
                         GError **error)
{
  (void) PD_AGENT_ERROR; /* map the agent's D-Bus errors back to PD_AGENT_ERROR */
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (
      use_session (session) ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, error);
  if (bus == NULL)
    {
      *status = PD_AGENT_CLIENT_NO_BUS;
      return NULL;
    }
  g_autoptr (PdDbusAgent1) proxy
      = pd_dbus_agent1_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, PD_AGENT_BUS_NAME,
                                       PD_AGENT_OBJECT_PATH, NULL, error);
  if (proxy == NULL)
    {
      *status = PD_AGENT_CLIENT_NO_BUS;
      return NULL;
    }
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));
  if (owner == NULL && need_owner)
    {
      *status = PD_AGENT_CLIENT_NO_AGENT;
      return NULL;
    }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), 30000);
  *status = PD_AGENT_CLIENT_OK;
  return g_steal_pointer (&proxy);
}

void
pd_agent_client_new_async (GBusType bus_type, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  (void) PD_AGENT_ERROR;
  /* The agent is a system service; its clients never start it. */
  pd_dbus_agent1_proxy_new_for_bus (bus_type, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                    PD_AGENT_BUS_NAME, PD_AGENT_OBJECT_PATH, cancellable, callback,
                                    user_data);
}

PdDbusAgent1 *
pd_agent_client_new_finish (GAsyncResult *result, GError **error)
{
  return pd_dbus_agent1_proxy_new_for_bus_finish (result, error);
}
