/* logind-poweroff.c - PowerOff(false) on org.freedesktop.login1. */
#include "logind-poweroff.h"

static void
power_off_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (!ret)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "systemd-logind did not power the VM off: %s. Shut the VM down "
                               "from the desktop's menu instead; the host runs its cycle anyway.",
                               error->message);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
got_bus (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_finish (res, &error);
  if (!bus)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "Cannot reach the system bus to ask systemd-logind for a "
                               "poweroff: %s.",
                               error->message);
      return;
    }
  g_dbus_connection_call (
      bus, "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
      "PowerOff", g_variant_new ("(b)", FALSE), G_VARIANT_TYPE ("()"), G_DBUS_CALL_FLAGS_NONE,
      30000, g_task_get_cancellable (task), power_off_done, g_object_ref (task));
}

void
pd_logind_power_off_async (GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_logind_power_off_async);
  g_bus_get (G_BUS_TYPE_SYSTEM, cancellable, got_bus, task);
}

gboolean
pd_logind_power_off_finish (GAsyncResult *res, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (res, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (res), error);
}
