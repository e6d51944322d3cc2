/* power-key-wait.c - the inhibitor, the deadline and the PowerOff after an
 * accepted cold restart. */
#include "config.h"

#include "power-key-wait.h"

#include <gio/gunixfdlist.h>

#include "logind-poweroff.h"

#define INHIBIT_TIMEOUT_MS 10000

struct _PdPowerKeyWait
{
  /* One for the owner (until free), one for each logind call in flight, so
   * a late answer never touches freed memory. */
  gint ref_count;
  PdPowerKeyWaitFunc func; /* NULL once the owner freed it */
  gpointer user_data;
  GCancellable *cancellable;  /* the owner's, for PowerOff (may be NULL) */
  GCancellable *inhibit_call; /* ours: the Inhibit call ends with the wait */
  GUnixFDList *inhibitor;     /* its fd is logind's block */
  guint deadline;
  gboolean powering_off;
  gboolean refused; /* logind refused PowerOff: no block any more */
};

guint
pd_power_key_hold_seconds (guint shutdown_timeout_s)
{
  return CLAMP (shutdown_timeout_s / 2, PD_POWER_KEY_HOLD_MIN_S, PD_POWER_KEY_HOLD_MAX_S);
}

static PdPowerKeyWait *
wait_ref (PdPowerKeyWait *wait)
{
  g_atomic_int_inc (&wait->ref_count);
  return wait;
}

static void
wait_unref (PdPowerKeyWait *wait)
{
  if (!g_atomic_int_dec_and_test (&wait->ref_count))
    return;
  g_clear_object (&wait->inhibitor);
  g_clear_object (&wait->inhibit_call);
  g_clear_object (&wait->cancellable);
  g_free (wait);
}

static void
tell (PdPowerKeyWait *wait, PdPowerKeyWaitStage stage, const GError *error)
{
  if (wait->func)
    wait->func (stage, error, wait->user_data);
}

static void
on_power_off_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PdPowerKeyWait *wait = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = pd_logind_power_off_finish (result, &error);
  if (!ok)
    {
      wait->refused = TRUE;
      g_clear_object (&wait->inhibitor); /* the power key is the user's again */
    }
  tell (wait, PD_POWER_KEY_WAIT_DONE, error);
  wait_unref (wait);
}

static void
power_off (PdPowerKeyWait *wait)
{
  if (wait->powering_off)
    return;
  wait->powering_off = TRUE;
  g_clear_handle_id (&wait->deadline, g_source_remove);
  /* The block stays until logind answers: logind ignores the key while a
   * shutdown is under way, and must not suspend the VM before. */
  pd_logind_power_off_async (wait->cancellable, on_power_off_done, wait_ref (wait));
}

static gboolean
on_deadline (gpointer user_data)
{
  PdPowerKeyWait *wait = user_data;
  wait->deadline = 0;
  wait_ref (wait); /* the owner may free it from its callback */
  tell (wait, PD_POWER_KEY_WAIT_DEADLINE, NULL);
  if (wait->func)
    power_off (wait);
  wait_unref (wait);
  return G_SOURCE_REMOVE;
}

static void
on_inhibited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PdPowerKeyWait *wait = user_data;
  g_autoptr (GError) error = NULL;
  GUnixFDList *fds = NULL;
  g_autoptr (GVariant) ret = g_dbus_connection_call_with_unix_fd_list_finish (
      G_DBUS_CONNECTION (source), &fds, result, &error);
  if (!ret)
    {
      g_dbus_error_strip_remote_error (error);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        tell (wait, PD_POWER_KEY_WAIT_NO_INHIBITOR, error);
    }
  else if (wait->func && !wait->refused)
    wait->inhibitor = fds;
  else
    g_clear_object (&fds);
  wait_unref (wait);
}

static void
on_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PdPowerKeyWait *wait = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_finish (result, &error);
  if (!bus)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        tell (wait, PD_POWER_KEY_WAIT_NO_INHIBITOR, error);
      wait_unref (wait);
      return;
    }
  g_dbus_connection_call_with_unix_fd_list (
      bus, "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
      "Inhibit",
      g_variant_new ("(ssss)", "handle-power-key:sleep", "passdesk",
                     "A cold restart waits for the host", "block"),
      G_VARIANT_TYPE ("(h)"), G_DBUS_CALL_FLAGS_NONE, INHIBIT_TIMEOUT_MS, NULL, wait->inhibit_call,
      on_inhibited, user_data);
}

PdPowerKeyWait *
pd_power_key_wait_new (guint deadline_ms, GCancellable *cancellable, PdPowerKeyWaitFunc func,
                       gpointer user_data)
{
  PdPowerKeyWait *wait = g_new0 (PdPowerKeyWait, 1);
  wait->ref_count = 1;
  wait->func = func;
  wait->user_data = user_data;
  wait->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  wait->inhibit_call = g_cancellable_new ();
  wait->deadline = g_timeout_add (deadline_ms, on_deadline, wait);
  g_bus_get (G_BUS_TYPE_SYSTEM, wait->inhibit_call, on_bus, wait_ref (wait));
  return wait;
}

void
pd_power_key_wait_pressed (PdPowerKeyWait *wait)
{
  power_off (wait);
}

gboolean
pd_power_key_wait_is_powering_off (PdPowerKeyWait *wait)
{
  return wait->powering_off;
}

void
pd_power_key_wait_free (PdPowerKeyWait *wait)
{
  if (wait == NULL)
    return;
  wait->func = NULL;
  g_clear_handle_id (&wait->deadline, g_source_remove);
  g_cancellable_cancel (wait->inhibit_call);
  g_clear_object (&wait->inhibitor); /* closing the fd ends logind's block */
  wait_unref (wait);
}
