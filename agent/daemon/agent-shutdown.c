/* agent-shutdown.c - what the agent does when systemd stops it.
 *
 * Two jobs, both only while the guest is going down:
 *
 * 1. The hold (issue 13). `qm shutdown` runs the VM's pre-stop hook and
 *    only then presses the ACPI power button. A guest that powered itself
 *    off on ACCEPT could be gone before the hook ran. So after an ACCEPT the
 *    agent opens the power button's input device (power-button.h), and when
 *    systemd stops passdesk-agent.service during that shutdown it does not
 *    exit until KEY_POWER arrives (the hook has run) or a deadline derived
 *    from ACCEPT's shutdown-timeout passes. The unit is ordered before
 *    shutdown.target (default dependencies), and systemd-poweroff.service /
 *    systemd-reboot.service after it, so the final power off waits for this
 *    stop; everything else stops meanwhile. Nothing is opened or read while
 *    no cycle is accepted.
 *
 * 2. The reboot conversion (issue 14). When the host said `reboot-cold=1`
 *    and systemd's job queue holds a start job for reboot.target (the
 *    shutdown transaction is running: that is why we are being stopped),
 *    the agent sends RESTART kind=reboot and waits at most
 *    REBOOT_ANSWER_S. On ACCEPT it makes this shutdown end in a power off
 *    (a runtime drop-in giving systemd-reboot.service
 *    SuccessAction=poweroff-force, then daemon-reload: every service is
 *    still stopped cleanly, only the last step differs) and holds as in 1.
 *    On anything else the reboot goes on untouched and a record under
 *    /var/lib/passdesk tells the next boot why it was a plain restart. A
 *    power off is never touched.
 */
#include "config.h"

#include "agent-private.h"
#include "pd-i18n.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "sysroot.h"

/* How long a guest on its way to a reboot waits for the host's answer. */
#define REBOOT_ANSWER_S 5
/* systemd's answers (ListJobs at once; Reload takes a second or two). */
#define LIST_JOBS_TIMEOUT_MS 5000
#define RELOAD_TIMEOUT_MS 30000

#define PLAIN_RESTART_RECORD "/var/lib/passdesk/plain-restart"
/* The host's last word on converting reboots, for a boot in which the host
 * helper never connected (it was stopped): that reboot was expected to be
 * cold, and the next boot says why it was not. */
#define HOST_REBOOT_COLD_RECORD "/var/lib/passdesk/host-reboot-cold"
#define PLAIN_RESTART_MAX 2048
#define REBOOT_DROPIN_DIR "/run/systemd/system/systemd-reboot.service.d"
#define REBOOT_DROPIN REBOOT_DROPIN_DIR "/50-passdesk-cold-restart.conf"

/* ---- the hold ---- */

static void
end_key_wait (PdAgentDaemon *self)
{
  g_clear_pointer (&self->key_wait, pd_power_key_wait_free);
}

static void
on_key_wait (PdPowerKeyWaitStage stage, const GError *error, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  switch (stage)
    {
    case PD_POWER_KEY_WAIT_NO_INHIBITOR:
      g_message ("Could not keep logind from acting on the power button itself (%s); the "
                 "agent powers off on it anyway.",
                 error->message);
      break;
    case PD_POWER_KEY_WAIT_DEADLINE:
      g_message ("The host did not press the power button in time: powering off now. (A VM with "
                 "`agent: 1` in its Proxmox config is shut down through the QEMU guest agent "
                 "instead of the button.)");
      break;
    case PD_POWER_KEY_WAIT_DONE:
      if (error)
        g_message ("%s", error->message);
      end_key_wait (self);
      break;
    }
}

void
pd_agent_daemon_power_off_on_key (PdAgentDaemon *self)
{
  end_key_wait (self);
  gint64 left = self->hold_deadline - g_get_monotonic_time ();
  /* While waiting, logind must not act on that press itself (HandlePowerKey
   * may say suspend), nor may the desktop suspend the VM: the wait holds
   * logind's block. */
  self->key_wait = pd_power_key_wait_new ((guint) CLAMP (left / 1000, 0, G_MAXINT),
                                          self->cancellable, on_key_wait, self);
  g_message ("The guest powers off when the host presses the power button, which Proxmox does "
             "after the VM's pre-stop hook has run.");
}

static void
finish_stop (PdAgentDaemon *self)
{
  g_clear_handle_id (&self->hold_timer, g_source_remove);
  g_clear_handle_id (&self->reboot_timer, g_source_remove);
  g_clear_pointer (&self->button, pd_power_button_free);
  self->hold_armed = FALSE;
  GTask *task = g_steal_pointer (&self->stop_task);
  if (task)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

static void
on_button_pressed (gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  self->key_seen = TRUE;
  /* Called from the device's own watch, which allows freeing it here. */
  g_clear_pointer (&self->button, pd_power_button_free);
  if (self->key_wait && !self->stop_task)
    {
      if (!pd_power_key_wait_is_powering_off (self->key_wait))
        g_message ("The host pressed the power button: its pre-stop hook has run; powering off.");
      pd_power_key_wait_pressed (self->key_wait);
      return;
    }
  end_key_wait (self);
  double held = self->hold_started ? (g_get_monotonic_time () - self->hold_started) / 1e6 : 0;
  if (self->stop_task && self->hold_started)
    {
      g_message ("The host pressed the power button after %.1f s: its pre-stop hook has run; "
                 "the shutdown continues.",
                 held);
      finish_stop (self);
    }
  else
    g_message ("The host pressed the power button: its pre-stop hook has run.");
}

gboolean
pd_agent_daemon_arm_hold (PdAgentDaemon *self, guint shutdown_timeout_s)
{
  guint hold_s = pd_power_key_hold_seconds (shutdown_timeout_s);
  self->hold_armed = TRUE;
  self->key_seen = FALSE;
  self->hold_deadline = g_get_monotonic_time () + (gint64) hold_s * G_USEC_PER_SEC;
  if (self->button)
    return TRUE;
  g_autoptr (GError) error = NULL;
  self->button = pd_power_button_open (&error);
  if (!self->button)
    {
      g_message ("%s: the guest shuts down without waiting for the host's pre-stop hook, so "
                 "the hook may run after the guest is off.",
                 error->message);
      return FALSE;
    }
  g_message ("Cold restart accepted: watching the power button %s; when systemd stops the agent "
             "it waits for the host's press (after the VM's pre-stop hook) for at most %u s.",
             pd_power_button_get_path (self->button), hold_s);
  pd_power_button_watch (self->button, on_button_pressed, self);
  return TRUE;
}

void
pd_agent_daemon_disarm_hold (PdAgentDaemon *self, const char *why)
{
  if (!self->hold_armed)
    return;
  g_message ("No longer waiting for the host's power button: %s", why);
  end_key_wait (self);
  if (self->stop_task)
    finish_stop (self);
  else
    {
      self->hold_armed = FALSE;
      g_clear_pointer (&self->button, pd_power_button_free);
    }
}

static gboolean
on_hold_deadline (gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  self->hold_timer = 0;
  g_message ("The host did not press the power button within %.0f s of the agent's stop: the "
             "shutdown continues. (A VM with `agent: 1` in its Proxmox config is shut down "
             "through the QEMU guest agent instead of the button.)",
             (g_get_monotonic_time () - self->hold_started) / 1e6);
  finish_stop (self);
  return G_SOURCE_REMOVE;
}

static void
begin_hold (PdAgentDaemon *self)
{
  if (self->key_seen)
    {
      g_message ("Stopping: the host pressed the power button already, so its pre-stop hook "
                 "has run.");
      finish_stop (self);
      return;
    }
  if (!self->button)
    {
      finish_stop (self); /* arming said why */
      return;
    }
  gint64 now = g_get_monotonic_time ();
  gint64 left = self->hold_deadline - now;
  if (left <= 0)
    {
      g_message ("Stopping: the wait for the host's power button ended before the agent was "
                 "stopped.");
      finish_stop (self);
      return;
    }
  self->hold_started = now;
  guint left_ms = (guint) MIN (left / 1000, G_MAXUINT);
  g_message ("Holding this shutdown until the host presses the power button, which Proxmox does "
             "after the VM's pre-stop hook has run (at most %.0f s more).",
             left_ms / 1000.0);
  self->hold_timer = g_timeout_add (left_ms, on_hold_deadline, self);
}

/* ---- the record for the next boot ---- */

static void
write_plain_restart (const char *reason)
{
  g_autofree char *path = pd_sysroot_path (PLAIN_RESTART_RECORD);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;
  g_message ("This reboot stays a plain restart: %s", reason);
  if (g_mkdir_with_parents (dir, 0755) < 0
      || !g_file_set_contents_full (path, reason, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
    g_message ("Cannot record for the next boot why this restart was a plain one (%s): %s", path,
               error ? error->message : g_strerror (errno));
}

void
pd_agent_daemon_report_plain_restart (PdAgentDaemon *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = pd_sysroot_read_file (PLAIN_RESTART_RECORD, PLAIN_RESTART_MAX,
                                                  PD_SYSROOT_READ_TRUNCATE, NULL, &error);
  if (!reason)
    return;
  g_autofree char *path = pd_sysroot_path (PLAIN_RESTART_RECORD);
  /* Once: gone before anyone hears it, so a crash cannot repeat it. */
  if (g_unlink (path) < 0)
    g_message ("Cannot remove %s: %s", path, g_strerror (errno));
  g_strstrip (reason);
  if (!g_utf8_validate (reason, -1, NULL) || *reason == '\0')
    return;
  g_autofree char *text = g_strdup_printf (_ ("This restart was a plain restart: %s"), reason);
  pd_agent_daemon_add_event (self, 0, "hostlink.plain-restart", PD_COMPONENT_HOSTLINK, text, FALSE);
}

/* ---- the reboot conversion ---- */

static void
on_reloaded (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (PdAgentDaemon) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (!ret)
    {
      g_dbus_error_strip_remote_error (error);
      g_message ("The host accepted the cold restart, but systemd did not reload (%s): this "
                 "reboot stays a reboot, and the host's cycle will shut the VM down after it.",
                 error->message);
      finish_stop (self);
      return;
    }
  g_message ("This reboot ends in a power off: the host restarts the VM cold.");
  pd_agent_daemon_arm_hold (self, pd_hostlink_guest_get_shutdown_timeout (self->hostlink));
  begin_hold (self);
}

static void
make_reboot_power_off (PdAgentDaemon *self, GDBusConnection *bus)
{
  g_autofree char *dir = pd_sysroot_path (REBOOT_DROPIN_DIR);
  g_autofree char *path = pd_sysroot_path (REBOOT_DROPIN);
  g_autoptr (GError) error = NULL;
  static const char dropin[]
      = "# Written by passdesk-agent while the guest went down: the host helper accepted\n"
        "# turning this reboot into a cold restart, so it ends in a clean power off.\n"
        "# /run is empty again after the next boot.\n"
        "[Unit]\n"
        "SuccessAction=poweroff-force\n";
  if (g_mkdir_with_parents (dir, 0755) < 0
      || !g_file_set_contents_full (path, dropin, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
    {
      g_message ("The host accepted the cold restart, but %s cannot be written (%s): this "
                 "reboot stays a reboot, and the host's cycle will shut the VM down after it.",
                 path, error ? error->message : g_strerror (errno));
      finish_stop (self);
      return;
    }
  g_dbus_connection_call (bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                          "org.freedesktop.systemd1.Manager", "Reload", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NONE, RELOAD_TIMEOUT_MS, NULL, on_reloaded,
                          g_object_ref (self));
}

static gboolean
finish_stop_idle (gpointer user_data)
{
  finish_stop (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
on_reboot_answer_late (gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  self->reboot_timer = 0;
  self->reboot_timed_out = TRUE;
  /* Withdraws the request (CANCEL), so a late ACCEPT does not start a
   * cycle on the restarted guest; the request finishes as cancelled. */
  if (!pd_hostlink_guest_cancel_cold_restart (self->hostlink, NULL))
    {
      write_plain_restart (_ ("the host helper did not answer in time."));
      finish_stop (self);
    }
  return G_SOURCE_REMOVE;
}

static void
on_reboot_answered (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (PdAgentDaemon) self = user_data;
  g_autoptr (GError) error = NULL;
  g_clear_handle_id (&self->reboot_timer, g_source_remove);
  if (!self->stop_task)
    return; /* disposed meanwhile */
  if (!pd_hostlink_guest_request_cold_restart_finish (PD_HOSTLINK_GUEST (source), res, &error))
    {
      g_autofree char *reason = NULL;
      if (self->reboot_timed_out
          || g_error_matches (error, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_TIMEOUT))
        reason = g_strdup_printf (_ ("the host helper did not answer within %d s. Check "
                                     "“systemctl status passdesk-hostd” on the host."),
                                  REBOOT_ANSWER_S);
      else if (g_error_matches (error, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_REFUSED))
        reason = g_strdup_printf (_ ("the host refused a cold restart. %s"), error->message);
      else if (g_error_matches (error, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE))
        reason = g_strdup (_ ("the host helper was not connected to this VM. Check “systemctl "
                              "status passdesk-hostd” on the host."));
      else
        reason = g_strdup (error->message);
      write_plain_restart (reason);
      /* A withdrawn request ends here from inside the CANCEL's own call,
       * before that line is written to the port: stop only after it. */
      g_idle_add_full (G_PRIORITY_DEFAULT, finish_stop_idle, g_object_ref (self), g_object_unref);
      return;
    }
  GDBusConnection *bus = g_task_get_task_data (self->stop_task);
  make_reboot_power_off (self, bus);
}

static gboolean
jobs_have_reboot (GVariant *jobs)
{
  g_autoptr (GVariantIter) iter = NULL;
  const char *unit, *type;
  g_variant_get (jobs, "(a(usssoo))", &iter);
  while (g_variant_iter_loop (iter, "(u&s&s&s&o&o)", NULL, &unit, &type, NULL, NULL, NULL))
    if (g_strcmp0 (unit, "reboot.target") == 0 && g_strcmp0 (type, "start") == 0)
      return TRUE;
  return FALSE;
}

static void
on_jobs (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (PdAgentDaemon) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) jobs
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (!self->stop_task)
    return;
  if (!jobs)
    {
      g_dbus_error_strip_remote_error (error);
      g_message ("Cannot ask systemd whether the guest is rebooting (%s); stopping.",
                 error->message);
      finish_stop (self);
      return;
    }
  if (!jobs_have_reboot (jobs))
    {
      finish_stop (self); /* a power off, or just this service: nothing to do */
      return;
    }
  g_message ("The guest is rebooting and the host turns reboots into cold restarts: asking it.");
  g_task_set_task_data (self->stop_task, g_object_ref (source), g_object_unref);
  self->reboot_timed_out = FALSE;
  self->reboot_timer = g_timeout_add_seconds (REBOOT_ANSWER_S, on_reboot_answer_late, self);
  pd_hostlink_guest_request_reboot_async (self->hostlink, "The guest is rebooting.", NULL,
                                          on_reboot_answered, g_object_ref (self));
}

static void
on_stop_bus (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (PdAgentDaemon) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_finish (res, &error);
  if (!self->stop_task)
    return;
  if (!bus)
    {
      g_message ("No system bus to ask systemd whether the guest is rebooting (%s); stopping.",
                 error->message);
      finish_stop (self);
      return;
    }
  g_dbus_connection_call (bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                          "org.freedesktop.systemd1.Manager", "ListJobs", NULL,
                          G_VARIANT_TYPE ("(a(usssoo))"), G_DBUS_CALL_FLAGS_NONE,
                          LIST_JOBS_TIMEOUT_MS, NULL, on_jobs, g_object_ref (self));
}

/* ---- the stop ---- */

/* Whether the host converts this VM's reboots: its HELLO in this agent's
 * life, remembered for the next (one write per life, at the stop); without
 * one, what the last life heard. */
static gboolean
host_converts_reboots (PdAgentDaemon *self)
{
  gboolean known = FALSE;
  gboolean cold = self->hostlink && pd_hostlink_guest_get_host_reboot_cold (self->hostlink, &known);
  g_autofree char *path = pd_sysroot_path (HOST_REBOOT_COLD_RECORD);
  if (!known)
    return g_file_test (path, G_FILE_TEST_EXISTS);
  g_autofree char *dir = g_path_get_dirname (path);
  if (!cold)
    {
      if (g_unlink (path) < 0 && errno != ENOENT)
        g_message ("Cannot remove %s: %s", path, g_strerror (errno));
    }
  else if (!g_file_test (path, G_FILE_TEST_EXISTS)
           && (g_mkdir_with_parents (dir, 0755) < 0
               || !g_file_set_contents_full (path, "1\n", -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                             NULL)))
    g_message ("Cannot remember in %s that the host converts reboots.", path);
  return cold;
}

void
pd_agent_daemon_stop_async (PdAgentDaemon *self, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, pd_agent_daemon_stop_async);
  if (self->stop_task)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "Already stopping.");
      g_object_unref (task);
      return;
    }
  self->stop_task = task;
  if (self->hold_armed)
    {
      begin_hold (self);
      return;
    }
  if (host_converts_reboots (self))
    {
      g_bus_get (G_BUS_TYPE_SYSTEM, NULL, on_stop_bus, g_object_ref (self));
      return;
    }
  finish_stop (self);
}

gboolean
pd_agent_daemon_stop_finish (PdAgentDaemon *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pd_agent_daemon_clear_shutdown (PdAgentDaemon *self)
{
  end_key_wait (self);
  g_clear_handle_id (&self->hold_timer, g_source_remove);
  g_clear_handle_id (&self->reboot_timer, g_source_remove);
  g_clear_pointer (&self->button, pd_power_button_free);
  GTask *task = g_steal_pointer (&self->stop_task);
  if (task)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}
