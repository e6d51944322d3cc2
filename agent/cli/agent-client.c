/* agent-client.c - a proxy for org.passdesk.Agent1 for the CLI. */
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
      = pd_dbus_agent1_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                       "org.passdesk.Agent1", "/org/passdesk/Agent1", NULL, error);
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

char *
pd_cli_format_time (gint64 time_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);
  if (dt == NULL)
    return g_strdup ("?");
  return g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
}

JsonNode *
pd_cli_event_to_json (gint64 time_us, const char *kind, const char *component, const char *text)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GDateTime) sec = g_date_time_new_from_unix_utc (time_us / G_USEC_PER_SEC);
  g_autoptr (GDateTime) dt = sec ? g_date_time_add (sec, time_us % G_USEC_PER_SEC) : NULL;
  g_autofree char *iso = dt ? g_date_time_format_iso8601 (dt) : NULL;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "event");
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, iso ? iso : "");
  json_builder_set_member_name (b, "time_us");
  json_builder_add_int_value (b, time_us);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, kind);
  json_builder_set_member_name (b, "component");
  json_builder_add_string_value (b, component);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
