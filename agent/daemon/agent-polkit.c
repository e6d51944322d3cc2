/* agent-polkit.c - polkit checks for the agent's privileged methods. */
#include "agent-polkit.h"

#include <polkit/polkit.h>

#include "agent-errors.h"

typedef struct
{
  char *sender;
  char *action_id;
  PolkitSubject *subject;
} CheckData;

static void
check_data_free (CheckData *d)
{
  g_free (d->sender);
  g_free (d->action_id);
  g_clear_object (&d->subject);
  g_free (d);
}

static void
on_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CheckData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (PolkitAuthorizationResult) res
      = polkit_authority_check_authorization_finish (POLKIT_AUTHORITY (source), result, &error);
  if (res == NULL)
    {
      g_task_return_new_error (task, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED,
                               "Could not ask polkit whether you may do this (%s): %s. "
                               "Check that polkitd is running.",
                               d->action_id, error->message);
      return;
    }
  if (polkit_authorization_result_get_is_authorized (res))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (polkit_authorization_result_get_dismissed (res))
    g_task_return_new_error (task, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED,
                             "Not authorized: the authentication dialog for %s was dismissed. "
                             "Try again and enter an administrator's password.",
                             d->action_id);
  else
    g_task_return_new_error (task, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED,
                             "Not authorized: polkit does not allow you %s (action %s). "
                             "Use the VM's local desktop session, or ask an administrator.",
                             g_str_equal (d->action_id, "org.passdesk.cold-restart")
                                 ? "to cold-restart this VM"
                                 : "this action",
                             d->action_id);
}

static void
on_authority (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CheckData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (PolkitAuthority) authority = polkit_authority_get_finish (result, &error);
  if (authority == NULL)
    {
      g_task_return_new_error (task, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED,
                               "Could not reach polkit to check %s: %s. "
                               "Check that polkitd is running.",
                               d->action_id, error->message);
      return;
    }
  GCancellable *cancellable = g_task_get_cancellable (task);
  polkit_authority_check_authorization (authority, d->subject, d->action_id, NULL,
                                        POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION,
                                        cancellable, on_checked, g_steal_pointer (&task));
}

static void
on_credentials (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CheckData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  guint32 pid = 0, uid = 0;
  g_autoptr (GVariant) creds = reply ? g_variant_get_child_value (reply, 0) : NULL;
  if (creds == NULL || !g_variant_lookup (creds, "ProcessID", "u", &pid)
      || !g_variant_lookup (creds, "UnixUserID", "u", &uid))
    {
      g_task_return_new_error (task, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED,
                               "Cannot tell who is asking (%s): the bus did not give the "
                               "caller's process and user.",
                               error ? error->message : "no credentials");
      return;
    }
  d->subject = polkit_unix_process_new_for_owner ((gint) pid, 0, (gint) uid);
  GCancellable *cancellable = g_task_get_cancellable (task);
  polkit_authority_get_async (cancellable, on_authority, g_steal_pointer (&task));
}

void
pd_agent_polkit_check_async (GDBusConnection *connection, gboolean system_bus, const char *sender,
                             const char *action_id, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_agent_polkit_check_async);
  CheckData *d = g_new0 (CheckData, 1);
  d->sender = g_strdup (sender);
  d->action_id = g_strdup (action_id);
  g_task_set_task_data (task, d, (GDestroyNotify) check_data_free);
  if (system_bus)
    {
      d->subject = polkit_system_bus_name_new (sender);
      polkit_authority_get_async (cancellable, on_authority, task);
      return;
    }
  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionCredentials",
                          g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE, -1, cancellable, on_credentials, task);
}

gboolean
pd_agent_polkit_check_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
