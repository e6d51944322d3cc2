/* agent-polkit.c - polkit checks for the agent's privileged methods.
 *
 * One D-Bus call, org.freedesktop.PolicyKit1.Authority.CheckAuthorization, as
 * systemd's daemons make it: libpolkit-gobject would pull libsystemd, gcrypt,
 * gpg-error, zstd, lz4 and lzma into the agent (about 0.9 MiB of its steady
 * RSS) for this one call.
 */
#include "agent-polkit.h"

#include <stdio.h>
#include <string.h>

#include "agent-errors.h"

#define POLKIT_BUS_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* CheckAuthorizationFlags.AllowUserInteraction */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef struct
{
  char *action_id;
  GVariant *subject; /* (sa{sv}), floating reference sunk */
} CheckData;

static void
check_data_free (CheckData *d)
{
  g_free (d->action_id);
  g_clear_pointer (&d->subject, g_variant_unref);
  g_free (d);
}

static void
on_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CheckData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED,
                               "Could not ask polkit whether you may do this (%s): %s. "
                               "Check that polkitd is running.",
                               d->action_id, error->message);
      return;
    }
  gboolean authorized = FALSE, challenge = FALSE;
  g_autoptr (GVariant) details = NULL;
  g_variant_get (reply, "((bb@a{ss}))", &authorized, &challenge, &details);
  if (authorized)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  /* polkit marks a dismissed authentication dialog in the result's details. */
  if (g_variant_lookup (details, "polkit.dismissed", "&s", NULL))
    g_task_return_new_error (task, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED,
                             "Not authorized: the authentication dialog for %s was dismissed. "
                             "Try again and enter an administrator's password.",
                             d->action_id);
  else
    g_task_return_new_error (task, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED,
                             "Not authorized: polkit does not allow you %s (action %s). "
                             "Use the VM's local desktop session, or ask an administrator.",
                             g_str_equal (d->action_id, PD_POLKIT_ACTION_COLD_RESTART)
                                 ? "to cold-restart this VM"
                                 : "this action",
                             d->action_id);
}

static void
on_system_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CheckData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_finish (result, &error);
  if (bus == NULL)
    {
      g_task_return_new_error (task, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED,
                               "Could not reach polkit to check %s: %s. "
                               "Check that polkitd is running.",
                               d->action_id, error->message);
      return;
    }
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr (GVariant) no_details = g_variant_ref_sink (g_variant_new ("a{ss}", NULL));
  /* No time limit: with user interaction allowed, polkit waits for the
   * person at the authentication dialog (as libpolkit-gobject does). */
  g_dbus_connection_call (bus, POLKIT_BUS_NAME, POLKIT_PATH, POLKIT_INTERFACE, "CheckAuthorization",
                          g_variant_new ("(@(sa{sv})s@a{ss}us)", d->subject, d->action_id,
                                         no_details, POLKIT_ALLOW_USER_INTERACTION, ""),
                          G_VARIANT_TYPE ("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT,
                          cancellable, on_checked, g_steal_pointer (&task));
}

static void
ask_polkit (GTask *task)
{
  g_bus_get (G_BUS_TYPE_SYSTEM, g_task_get_cancellable (task), on_system_bus, task);
}

/* The process's start time (field 22 of /proc/PID/stat, in clock ticks):
 * with the pid it names the process for polkit even if the pid is reused.
 * 0 when it cannot be read; polkitd then looks it up itself. */
static guint64
process_start_time (guint32 pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%u/stat", pid);
  g_autofree char *contents = NULL;
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  /* The command name (field 2) may hold spaces and parentheses: skip to the
   * last ')'. */
  const char *p = strrchr (contents, ')');
  if (p == NULL)
    return 0;
  guint64 start = 0;
  /* fields 3..21 skipped, 22 read */
  if (sscanf (p + 1,
              " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
              "%*d %*d %" G_GUINT64_FORMAT,
              &start)
      != 1)
    return 0;
  return start;
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
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&b, "{sv}", "pid", g_variant_new_uint32 (pid));
  g_variant_builder_add (&b, "{sv}", "start-time", g_variant_new_uint64 (process_start_time (pid)));
  g_variant_builder_add (&b, "{sv}", "uid", g_variant_new_int32 ((gint32) uid));
  d->subject = g_variant_ref_sink (g_variant_new ("(sa{sv})", "unix-process", &b));
  ask_polkit (g_steal_pointer (&task));
}

void
pd_agent_polkit_check_async (GDBusConnection *connection, gboolean system_bus, const char *sender,
                             const char *action_id, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_agent_polkit_check_async);
  CheckData *d = g_new0 (CheckData, 1);
  d->action_id = g_strdup (action_id);
  g_task_set_task_data (task, d, (GDestroyNotify) check_data_free);
  if (system_bus)
    {
      /* The caller's unique name: polkitd resolves it itself, no pid race. */
      GVariantBuilder b;
      g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (sender));
      d->subject = g_variant_ref_sink (g_variant_new ("(sa{sv})", "system-bus-name", &b));
      ask_polkit (task);
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
