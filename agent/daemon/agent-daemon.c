/* agent-daemon.c - the agent's state: base + kernel-log overlay -> published,
 * its signals, its monitors and host link, and the public API. The check
 * cycle is in agent-cycle.c, kernel-log findings in agent-kernel.c. */
#include "config.h"

#include "agent-private.h"
#include "pd-i18n.h"

#include "agent-errors.h"
#include "detail-keys.h"
#include "audio-monitor.h"
#include "cold-restart-phase.h"
#include "drm-monitor.h"
#include "logind-poweroff.h"
#include "monitor.h"
#include "usb-monitor.h"

enum
{
  SIGNAL_COMPONENT_CHANGED,
  SIGNAL_EVENT,
  SIGNAL_COLD_RESTART_PROGRESS,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PdAgentDaemon, pd_agent_daemon, G_TYPE_OBJECT)

/* ---- publishing ---- */

void
pd_agent_overlay_clear (Overlay *o)
{
  g_clear_pointer (&o->summary, g_free);
  g_clear_pointer (&o->device, g_free);
  g_clear_pointer (&o->line, g_free);
  o->kind = NULL;
  o->active = FALSE;
  o->state = PD_STATE_OK;
  o->saw_down = FALSE;
}

static PdComponent *
merge (const PdComponent *base, const Overlay *o, PdComponentId id)
{
  if (base == NULL && !o->active)
    return NULL;
  PdComponent *c = base ? pd_component_copy (base)
                        : pd_component_new (id, PD_STATE_UNKNOWN, "Not checked yet");
  if (o->active)
    {
      pd_component_raise (c, o->state, o->summary);
      /* The summary already says what it means; the detail is the evidence. */
      pd_component_set_detail (c, PD_DETAIL_KERNEL_LOG, o->line ? o->line : o->summary);
      /* the device goes in a detail, not in the sentence */
      if (o->device)
        pd_component_set_detail (c, PD_DETAIL_DEVICE, o->device);
      if (o->kind->next_step != NULL)
        {
          /* The kernel's finding is what went wrong now: its step first. */
          pd_component_add_advice (c, o->kind->next_step, NULL);
          PdAdvice *a = g_ptr_array_steal_index (c->advice, c->advice->len - 1);
          g_ptr_array_insert (c->advice, 0, a);
        }
    }
  return c;
}

void
pd_agent_daemon_add_event (PdAgentDaemon *self, gint64 time, const char *kind,
                           PdComponentId component, const char *text, gboolean boot_log)
{
  PdAgentEvent *e
      = pd_agent_event_new (time > 0 ? time : g_get_real_time (), kind, component, text);
  e->boot_log = boot_log;
  const PdAgentEvent *added = pd_agent_history_add (self->history, e);
  g_debug ("event %s [%s]: %s", kind, pd_component_id_to_string (component), text);
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, added);
}

/* A component's change signals are rate-bounded: a flood of findings on
 * ever new device names (each a new summary) would otherwise send one
 * ComponentChanged and one full PropertiesChanged per finding. A burst of
 * SIGNAL_BURST goes out at once (a change after a quiet spell is never
 * delayed), then one per SIGNAL_INTERVAL_US; a held-back change goes out
 * when its turn comes, with the state of that moment, so the last state is
 * always sent. The published state itself (GetReport) is always current. */
#define SIGNAL_BURST 8
#define SIGNAL_INTERVAL_US (G_USEC_PER_SEC / 4)
/* Components due within this much of the timer go out with it: one
 * PropertiesChanged for components that change together. */
#define SIGNAL_SLACK_US (SIGNAL_INTERVAL_US / 4)

/* When component @id may signal next (GCRA: signal_tat is the bucket's
 * theoretical arrival time). */
static gint64
signal_due (PdAgentDaemon *self, PdComponentId id)
{
  return self->signal_tat[id] - (SIGNAL_BURST - 1) * SIGNAL_INTERVAL_US;
}

static gboolean on_signal_due (gpointer user_data);

static void
schedule_signals (PdAgentDaemon *self)
{
  if (self->signal_id)
    return;
  gint64 next = G_MAXINT64;
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (self->pending[i])
      next = MIN (next, signal_due (self, i));
  if (next == G_MAXINT64)
    return;
  gint64 delay_ms = (next - g_get_monotonic_time () + 999) / 1000;
  self->signal_id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) CLAMP (delay_ms, 0, 1000),
                                        on_signal_due, self, NULL);
}

static void
signal_component (PdAgentDaemon *self, PdComponentId id, gint64 now)
{
  self->pending[id] = FALSE;
  self->signal_tat[id] = MAX (self->signal_tat[id], now) + SIGNAL_INTERVAL_US;
  g_signal_emit (self, signals[SIGNAL_COMPONENT_CHANGED], 0, id);
}

static gboolean
on_signal_due (gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  self->signal_id = 0;
  gint64 now = g_get_monotonic_time ();
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (self->pending[i] && signal_due (self, i) <= now + SIGNAL_SLACK_US)
      signal_component (self, i, now);
  schedule_signals (self);
  return G_SOURCE_REMOVE;
}

void
pd_agent_daemon_flush_signals (PdAgentDaemon *self)
{
  g_clear_handle_id (&self->signal_id, g_source_remove);
  gint64 now = g_get_monotonic_time ();
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (self->pending[i])
      signal_component (self, i, now);
}

static void
component_changed (PdAgentDaemon *self, PdComponentId id)
{
  gint64 now = g_get_monotonic_time ();
  if (!self->pending[id] && signal_due (self, id) <= now)
    {
      signal_component (self, id, now);
      return;
    }
  self->pending[id] = TRUE;
  schedule_signals (self);
}

/* Recomputes every published component; signals the ones that changed. */
void
pd_agent_daemon_update (PdAgentDaemon *self)
{
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      g_autoptr (PdComponent) merged = merge (self->base[i], &self->overlay[i], i);
      PdComponent *old = self->current[i];
      if (merged == NULL && old == NULL)
        continue;
      if (merged != NULL && old != NULL && pd_component_equal (merged, old))
        continue;

      PdState old_state = old ? old->state : PD_STATE_UNKNOWN;
      gboolean state_changed = old != NULL && merged != NULL && old->state != merged->state;
      self->current[i] = g_steal_pointer (&merged);
      if (state_changed)
        {
          g_autofree char *kind
              = g_strdup_printf ("%s.state-changed", pd_component_id_to_string (i));
          /* TRANSLATORS: a component's title, its new state, its old state,
           * its summary; the states are the words of `passdesk status`. */
          g_autofree char *text
              = pd_i18n_sprintf ("%s is now %s (was %s): %s", pd_component_title (i),
                                 pd_state_to_string (self->current[i]->state),
                                 pd_state_to_string (old_state), self->current[i]->summary);
          pd_agent_daemon_add_event (self, 0, kind, i, text, FALSE);
        }
      pd_component_free (old);
      component_changed (self, i);
    }
}

void
pd_agent_daemon_set_base (PdAgentDaemon *self, PdComponent *c)
{
  PdComponentId id = c->id;
  Overlay *o = &self->overlay[id];
  /* Device gone and back (or failed then well) clears a kernel-log overlay
   * whose kind says so. */
  if (o->active && o->kind->clears == PD_LOG_CLEARS_DEVICE_BACK)
    {
      if (c->state != PD_STATE_OK)
        o->saw_down = TRUE;
      else if (o->saw_down)
        pd_agent_overlay_clear (o);
    }
  pd_component_free (self->base[id]);
  self->base[id] = c;
}

/* ---- monitors ---- */

static void
on_monitor_component_changed (PdMonitor *monitor, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  PdComponent *c = pd_monitor_get_component (monitor);
  if (c == NULL)
    return;
  pd_agent_daemon_set_base (self, c);
  pd_agent_daemon_update (self);
}

static void
on_monitor_event (PdMonitor *monitor, const char *kind, const char *text, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  pd_agent_daemon_add_event (self, 0, kind, pd_monitor_get_component_id (monitor), text, FALSE);
}

/* Sources without change notification (/proc/asound) read again. */
void
pd_agent_daemon_refresh_monitors (PdAgentDaemon *self)
{
  for (guint i = 0; i < self->monitors->len; i++)
    pd_monitor_refresh (g_ptr_array_index (self->monitors, i));
}

static void
on_drm_changed (PdDrmMonitor *drm, const char *what, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  if (g_strcmp0 (what, "gpu") == 0)
    {
      pd_agent_daemon_request_checks (self, NULL);
      return;
    }
  /* A connector changed: re-read the outputs now (no probe needed). */
  pd_agent_daemon_rescan_display (self);
  pd_agent_daemon_refresh_monitors (self);
  pd_agent_daemon_update (self);
}

static PdMonitor *
new_audio_monitor (void)
{
  return PD_MONITOR (pd_audio_monitor_new ());
}

static PdMonitor *
new_usb_monitor (void)
{
  return PD_MONITOR (pd_usb_monitor_new ());
}

static PdMonitor *
new_drm_monitor (void)
{
  return PD_MONITOR (pd_drm_monitor_new ());
}

static void
start_monitors (PdAgentDaemon *self)
{
  static const struct
  {
    const char *name;
    gboolean hotplug; /* an event source that --no-hotplug (tests) leaves out */
    PdMonitor *(*create) (void);
  } kinds[] = {
    /* /proc/asound has no events: the audio monitor only reads the sysroot,
     * so it runs even without hotplug sources. */
    { "Audio monitor", FALSE, new_audio_monitor },
    { "USB monitor", TRUE, new_usb_monitor },
    { "DRM monitor", TRUE, new_drm_monitor },
  };
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      if (kinds[i].hotplug && self->no_hotplug)
        continue;
      g_autoptr (GError) error = NULL;
      g_autoptr (PdMonitor) m = kinds[i].create ();
      if (!pd_monitor_start (m, &error))
        {
          g_warning ("%s: %s", kinds[i].name, error->message);
          continue;
        }
      g_signal_connect_object (m, "component-changed", G_CALLBACK (on_monitor_component_changed),
                               self, 0);
      g_signal_connect_object (m, "event", G_CALLBACK (on_monitor_event), self, 0);
      /* The one signal of its own: the GPU or a connector changed. */
      if (PD_IS_DRM_MONITOR (m))
        g_signal_connect_object (m, "changed", G_CALLBACK (on_drm_changed), self, 0);
      PdComponent *c = pd_monitor_get_component (m);
      if (c)
        pd_agent_daemon_set_base (self, c);
      g_ptr_array_add (self->monitors, g_steal_pointer (&m));
    }
}

/* ---- host link ---- */

static void
on_hostlink_component_changed (PdHostlinkGuest *guest, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  PdComponent *c = pd_hostlink_guest_get_component (guest);
  if (c == NULL)
    return;
  pd_agent_daemon_set_base (self, c);
  pd_agent_daemon_update (self);
}

static void
on_host_component_changed (PdHostlinkGuest *guest, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  PdComponent *c = pd_hostlink_guest_get_host_component (guest);
  if (c == NULL)
    return;
  pd_agent_daemon_set_base (self, c);
  pd_agent_daemon_update (self);
}

static void
on_hostlink_progress (PdHostlinkGuest *guest, const char *phase, const char *text,
                      gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  g_free (self->cold_restart_state);
  /* A cold restart is under way: the loss it answers is over (cleared, not
   * just freed: finish_cycle() reads lost_after). */
  g_clear_pointer (&self->lost_after, g_free);
  g_clear_pointer (&self->lost_line, g_free);
  self->cold_restart_state = g_strdup (phase);
  PdColdRestartPhase p = pd_cold_restart_phase_from_string (phase);
  if (p == PD_COLD_RESTART_PHASE_FAILED || p == PD_COLD_RESTART_PHASE_CANCELLED)
    pd_agent_daemon_disarm_hold (self, text ? text : phase);
  g_signal_emit (self, signals[SIGNAL_COLD_RESTART_PROGRESS], 0, phase, text);
}

static void
on_hostlink_event (PdHostlinkGuest *guest, const char *kind, const char *text, gpointer user_data)
{
  pd_agent_daemon_add_event (user_data, 0, kind, PD_COMPONENT_HOSTLINK, text, FALSE);
}

static void
start_hostlink (PdAgentDaemon *self)
{
  g_autoptr (GError) error = NULL;
  self->hostlink = pd_hostlink_guest_new (self->hostlink_port);
  /* This agent turns reboots into cold restarts when the host asks
   * (agent-shutdown.c). */
  pd_hostlink_guest_set_reboot_cold (self->hostlink, TRUE);
  g_signal_connect_object (self->hostlink, "component-changed",
                           G_CALLBACK (on_hostlink_component_changed), self, 0);
  g_signal_connect_object (self->hostlink, "host-component-changed",
                           G_CALLBACK (on_host_component_changed), self, 0);
  g_signal_connect_object (self->hostlink, "progress", G_CALLBACK (on_hostlink_progress), self, 0);
  g_signal_connect_object (self->hostlink, "event", G_CALLBACK (on_hostlink_event), self, 0);
  /* systemd's RuntimeDirectory=passdesk (kept for the boot): which cycle
   * result was reported survives `systemctl restart passdesk-agent`. */
  pd_hostlink_guest_set_state_dir (self->hostlink, g_getenv ("RUNTIME_DIRECTORY"));
  if (!pd_hostlink_guest_start (self->hostlink, &error))
    g_warning ("Host link: %s", error->message);
  PdComponent *c = pd_hostlink_guest_get_component (self->hostlink);
  if (c)
    pd_agent_daemon_set_base (self, c);
  c = pd_hostlink_guest_get_host_component (self->hostlink);
  if (c)
    pd_agent_daemon_set_base (self, c);
}

static GError *
map_hostlink_error (GError *error)
{
  static const struct
  {
    int hostlink;
    PdAgentError agent;
  } map[] = {
    { PD_HOSTLINK_ERROR_UNAVAILABLE, PD_AGENT_ERROR_HOST_LINK_UNAVAILABLE },
    { PD_HOSTLINK_ERROR_REFUSED, PD_AGENT_ERROR_REFUSED },
    { PD_HOSTLINK_ERROR_TIMEOUT, PD_AGENT_ERROR_TIMEOUT },
    { PD_HOSTLINK_ERROR_BUSY, PD_AGENT_ERROR_BUSY },
  };
  PdAgentError code = PD_AGENT_ERROR_HOST_LINK_UNAVAILABLE;
  if (error->domain == PD_HOSTLINK_ERROR)
    for (guint i = 0; i < G_N_ELEMENTS (map); i++)
      if (error->code == map[i].hostlink)
        code = map[i].agent;
  /* The guest end checks reason and cool-off again: a bad value is the
   * caller's mistake, not a missing link. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
    code = PD_AGENT_ERROR_INVALID_ARGS;
  return g_error_new_literal (PD_AGENT_ERROR, code, error->message);
}

static void
on_power_off_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  PdAgentDaemon *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  if (!pd_logind_power_off_finish (result, &error))
    {
      /* The host shuts the VM down through ACPI anyway; say what happened. */
      g_autofree char *text = pd_i18n_sprintf (
          "The host accepted the cold restart, but the clean power-off through logind failed: "
          "%s. The host's `qm shutdown` will ask the guest to shut down instead.",
          error->message);
      pd_agent_daemon_add_event (self, 0, "hostlink.poweroff-failed", PD_COMPONENT_HOSTLINK, text,
                                 FALSE);
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_cold_restart_requested (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  if (!pd_hostlink_guest_request_cold_restart_finish (PD_HOSTLINK_GUEST (source), result, &error))
    {
      g_task_return_error (task, map_hostlink_error (error));
      return;
    }
  /* The guest goes down only after the host's pre-stop hook: Proxmox presses
   * the power button when the hook has run, and the agent powers off then,
   * whatever the desktop's power-key policy (agent-shutdown.c). Without a
   * button it powers off now. */
  PdAgentDaemon *self = g_task_get_source_object (task);
  if (pd_agent_daemon_arm_hold (self, pd_hostlink_guest_get_shutdown_timeout (self->hostlink)))
    {
      pd_agent_daemon_power_off_on_key (self);
      g_task_return_boolean (task, TRUE);
      return;
    }
  GCancellable *cancellable = g_task_get_cancellable (task);
  pd_logind_power_off_async (cancellable, on_power_off_done, g_steal_pointer (&task));
}

void
pd_agent_daemon_cold_restart_async (PdAgentDaemon *self, const char *reason, guint cool_off_s,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_agent_daemon_cold_restart_async);
  pd_hostlink_guest_request_cold_restart_async (self->hostlink, reason, cool_off_s, cancellable,
                                                on_cold_restart_requested, g_steal_pointer (&task));
}

gboolean
pd_agent_daemon_cold_restart_finish (PdAgentDaemon *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
pd_agent_daemon_cancel_cold_restart (PdAgentDaemon *self, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (!pd_hostlink_guest_cancel_cold_restart (self->hostlink, &local))
    {
      g_propagate_error (error, map_hostlink_error (local));
      return FALSE;
    }
  return TRUE;
}

/* ---- resume ---- */

static void
on_prepare_for_sleep (GDBusConnection *connection, const char *sender, const char *path,
                      const char *interface, const char *signal, GVariant *parameters,
                      gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  gboolean going_to_sleep = TRUE;
  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    return;
  g_variant_get (parameters, "(b)", &going_to_sleep);
  if (going_to_sleep)
    return;
  pd_agent_daemon_add_event (
      self, 0, "agent.resumed", PD_COMPONENT_GPU,
      "The system resumed from sleep; checking the GPU and video acceleration again.", FALSE);
  pd_agent_daemon_request_checks (self, NULL);
}

static void
on_system_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PdAgentDaemon) self = user_data;
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (result, &error);
  if (bus == NULL)
    {
      g_debug ("No system bus, so no resume notifications: %s", error->message);
      return;
    }
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_object_unref (bus);
      return;
    }
  self->system_bus = bus;
  self->sleep_subscription = g_dbus_connection_signal_subscribe (
      bus, "org.freedesktop.login1", "org.freedesktop.login1.Manager", "PrepareForSleep",
      "/org/freedesktop/login1", NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_prepare_for_sleep, self, NULL);
}

/* ---- object ---- */

void
pd_agent_daemon_start (PdAgentDaemon *self)
{
  start_monitors (self);
  start_hostlink (self);
  pd_agent_daemon_report_plain_restart (self);

  pd_agent_daemon_start_kernel_log (self);

  g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, on_system_bus, g_object_ref (self));
  pd_agent_daemon_request_checks (self, NULL);
}

PdAgentDaemon *
pd_agent_daemon_new (const PdAgentOptions *options)
{
  PdAgentDaemon *self = g_object_new (PD_TYPE_AGENT_DAEMON, NULL);
  if (options)
    {
      self->no_vaprobe = options->no_vaprobe;
      self->vaprobe_timeout_ms = options->vaprobe_timeout_ms;
      self->kmsg_path = g_strdup (options->kmsg_path);
      self->hostlink_port = g_strdup (options->hostlink_port);
      self->no_hotplug = options->no_hotplug;
      if (options->kernel_hold_us > 0)
        self->kernel_hold_us = options->kernel_hold_us;
    }
  return self;
}

const PdComponent *
pd_agent_daemon_get_component (PdAgentDaemon *self, PdComponentId id)
{
  g_return_val_if_fail (id < PD_N_COMPONENTS, NULL);
  return self->current[id];
}

PdState
pd_agent_daemon_get_overall (PdAgentDaemon *self)
{
  PdState s = PD_STATE_OK;
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (self->current[i])
      s = pd_state_worst (s, self->current[i]->state);
  return s;
}

PdReport *
pd_agent_daemon_get_report (PdAgentDaemon *self)
{
  PdReport *r = pd_report_new ("agent");
  r->time = self->check_time ? self->check_time : g_get_real_time ();
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      if (self->current[i] == NULL)
        continue;
      /* The host link's rate figures count down from the host's HELLO to
       * this moment: worded when asked, not by a timer. */
      if (i == PD_COMPONENT_HOSTLINK && self->hostlink)
        {
          g_autoptr (PdComponent) fresh = pd_hostlink_guest_get_component (self->hostlink);
          PdComponent *merged = fresh ? merge (fresh, &self->overlay[i], i) : NULL;
          if (merged)
            {
              pd_report_take (r, merged);
              continue;
            }
        }
      pd_report_take (r, pd_component_copy (self->current[i]));
    }
  return r;
}

const PdAgentHistory *
pd_agent_daemon_get_history (PdAgentDaemon *self)
{
  return self->history;
}

const char *
pd_agent_daemon_get_cold_restart_state (PdAgentDaemon *self)
{
  return self->cold_restart_state;
}

static void
pd_agent_daemon_dispose (GObject *object)
{
  PdAgentDaemon *self = PD_AGENT_DAEMON (object);
  g_cancellable_cancel (self->cancellable);
  pd_agent_daemon_clear_shutdown (self);
  g_clear_handle_id (&self->reprobe_id, g_source_remove);
  GPtrArray *lists[] = { self->waiters_now, self->waiters_next };
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    {
      for (guint i = 0; i < lists[l]->len; i++)
        g_task_return_new_error (g_ptr_array_index (lists[l], i), G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                 "The agent is shutting down.");
      g_ptr_array_set_size (lists[l], 0);
    }
  if (self->sleep_subscription)
    g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_subscription);
  self->sleep_subscription = 0;
  g_clear_object (&self->system_bus);
  g_clear_object (&self->kmsg);
  g_clear_handle_id (&self->hold_id, g_source_remove);
  g_clear_handle_id (&self->signal_id, g_source_remove);
  g_ptr_array_set_size (self->monitors, 0);
  g_clear_object (&self->hostlink);
  G_OBJECT_CLASS (pd_agent_daemon_parent_class)->dispose (object);
}

static void
pd_agent_daemon_finalize (GObject *object)
{
  PdAgentDaemon *self = PD_AGENT_DAEMON (object);
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      pd_component_free (self->base[i]);
      pd_component_free (self->current[i]);
      pd_agent_overlay_clear (&self->overlay[i]);
    }
  g_ptr_array_unref (self->waiters_now);
  g_ptr_array_unref (self->waiters_next);
  g_ptr_array_unref (self->monitors);
  pd_agent_history_free (self->history);
  g_clear_pointer (&self->scan, pd_gpu_scan_free);
  g_free (self->kmsg_path);
  g_free (self->hostlink_port);
  g_free (self->cold_restart_state);
  g_free (self->lost_after);
  g_free (self->lost_line);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (pd_agent_daemon_parent_class)->finalize (object);
}

static void
pd_agent_daemon_class_init (PdAgentDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = pd_agent_daemon_dispose;
  object_class->finalize = pd_agent_daemon_finalize;

  signals[SIGNAL_COMPONENT_CHANGED]
      = g_signal_new ("component-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[SIGNAL_EVENT] = g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_COLD_RESTART_PROGRESS]
      = g_signal_new ("cold-restart-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
pd_agent_daemon_init (PdAgentDaemon *self)
{
  self->history = pd_agent_history_new ();
  self->waiters_now = g_ptr_array_new_with_free_func (g_object_unref);
  self->waiters_next = g_ptr_array_new_with_free_func (g_object_unref);
  self->monitors = g_ptr_array_new_with_free_func (g_object_unref);
  self->cancellable = g_cancellable_new ();
  self->cold_restart_state = g_strdup ("idle");
  self->kernel_hold_us = PD_LOG_HOLD_US;
}
