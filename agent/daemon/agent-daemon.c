/* agent-daemon.c - the agent's state, its check cycle and the monitors. */
#include "config.h"

#include "agent-daemon.h"

#include "agent-errors.h"
#include "detail-keys.h"
#include "kmsg-monitor.h"
#include "gpu-scan.h"
#include "logscan.h"
#include "vaapi-check.h"

#include "audio-monitor.h"
#include "drm-monitor.h"
#include "monitor.h"
#include "usb-monitor.h"
#include "hostlink-guest.h"
#include "logind-poweroff.h"

/* Kernel-log events: a burst of this many, then one per REFILL_US. The
 * scanner already folds repeats of one kind on one device into one incident;
 * this bounds floods of many kinds or devices. States still follow every
 * finding. */
#define LOG_EVENT_BURST 10
#define LOG_EVENT_REFILL_US (6 * G_USEC_PER_SEC)
/* Boot-log findings recorded as history at start. */
#define BOOT_LOG_EVENTS_MAX 50

typedef struct
{
  gboolean active;
  PdState state;
  char *summary;
  const PdLogKind *kind; /* what raised it (logscan-rules.c): says what clears it */
  guint gen;             /* when it was set (compared with a probe's start) */
  gboolean saw_down;     /* the monitor reported the device not ok since then */
} Overlay;

struct _PdAgentDaemon
{
  GObject parent_instance;

  gboolean no_vaprobe;
  guint vaprobe_timeout_ms;
  char *kmsg_path;
  char *hostlink_port;
  gboolean no_hotplug;

  PdComponent *base[PD_N_COMPONENTS];    /* what the checks and monitors say */
  Overlay overlay[PD_N_COMPONENTS];      /* what the kernel log says */
  PdComponent *current[PD_N_COMPONENTS]; /* published: the worst of both */
  gint64 check_time;

  PdAgentHistory *history;
  PdGpuScan *scan;
  PdKmsgMonitor *kmsg;
  guint boot_log_events;

  /* log-event rate bound */
  guint tokens;
  gint64 tokens_time;
  guint suppressed;

  /* check cycle */
  gboolean cycle_running;
  gboolean rerun;
  GPtrArray *waiters_now;  /* GTask: complete when the running cycle ends */
  GPtrArray *waiters_next; /* GTask: complete when the next cycle ends */
  guint overlay_gen;
  guint probe_gen;
  GCancellable *cancellable;

  GDBusConnection *system_bus;
  guint sleep_subscription;

  char *cold_restart_state;

  GPtrArray *monitors; /* PdMonitor, the ones that started */
  PdHostlinkGuest *hostlink;
};

enum
{
  SIGNAL_COMPONENT_CHANGED,
  SIGNAL_EVENT,
  SIGNAL_COLD_RESTART_PROGRESS,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PdAgentDaemon, pd_agent_daemon, G_TYPE_OBJECT)

static void start_cycle (PdAgentDaemon *self);
static void refresh_monitors (PdAgentDaemon *self);

/* ---- publishing ---- */

static void
overlay_clear (Overlay *o)
{
  g_clear_pointer (&o->summary, g_free);
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
      pd_component_set_detail (c, PD_DETAIL_KERNEL_LOG, o->summary);
    }
  return c;
}

static void
add_event (PdAgentDaemon *self, gint64 time, const char *kind, PdComponentId component,
           const char *text, gboolean boot_log)
{
  PdAgentEvent *e
      = pd_agent_event_new (time > 0 ? time : g_get_real_time (), kind, component, text);
  e->boot_log = boot_log;
  const PdAgentEvent *added = pd_agent_history_add (self->history, e);
  g_debug ("event %s [%s]: %s", kind, pd_component_id_to_string (component), text);
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, added);
}

/* Recomputes every published component; signals the ones that changed. */
static void
update (PdAgentDaemon *self)
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
          g_autofree char *text
              = g_strdup_printf ("%s is now %s (was %s): %s", pd_component_title (i),
                                 pd_state_to_string (self->current[i]->state),
                                 pd_state_to_string (old_state), self->current[i]->summary);
          add_event (self, 0, kind, i, text, FALSE);
        }
      g_signal_emit (self, signals[SIGNAL_COMPONENT_CHANGED], 0, i);
      pd_component_free (old);
    }
}

static void
set_base (PdAgentDaemon *self, PdComponent *c)
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
        overlay_clear (o);
    }
  pd_component_free (self->base[id]);
  self->base[id] = c;
}

/* ---- the check cycle ---- */

static void
rescan_gpu (PdAgentDaemon *self)
{
  g_clear_pointer (&self->scan, pd_gpu_scan_free);
  self->scan = pd_gpu_scan ();
  set_base (self, pd_gpu_component (self->scan));
  set_base (self, pd_display_component (self->scan));
}

static void
complete_waiters (GPtrArray *waiters)
{
  for (guint i = 0; i < waiters->len; i++)
    g_task_return_boolean (g_ptr_array_index (waiters, i), TRUE);
  g_ptr_array_set_size (waiters, 0);
}

static void
finish_cycle (PdAgentDaemon *self)
{
  self->cycle_running = FALSE;
  self->check_time = g_get_real_time ();
  update (self);
  complete_waiters (self->waiters_now);
  if (self->rerun || self->waiters_next->len > 0)
    start_cycle (self);
}

static void
on_probe_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PdAgentDaemon) self = user_data;
  PdComponent *c = pd_vaapi_check_finish (result);
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      pd_component_free (c);
      return;
    }
  if (c == NULL)
    c = pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN, "The VA-API probe gave no result");
  c->id = PD_COMPONENT_VAAPI;
  if (c->state == PD_STATE_OK)
    {
      /* A probe that started after a GPU hang and passed: the GPU works again. */
      gboolean cleared = FALSE;
      for (guint i = 0; i < PD_N_COMPONENTS; i++)
        {
          Overlay *o = &self->overlay[i];
          if (o->active && o->kind->clears == PD_LOG_CLEARS_PROBE_PASSES
              && o->gen <= self->probe_gen)
            {
              overlay_clear (o);
              cleared = TRUE;
            }
        }
      if (cleared)
        add_event (self, 0, "vaapi.recovered", PD_COMPONENT_VAAPI,
                   "The VA-API probe passed again after the kernel reported GPU trouble.", FALSE);
    }
  set_base (self, c);
  finish_cycle (self);
}

static void
start_cycle (PdAgentDaemon *self)
{
  g_assert (!self->cycle_running);
  gboolean explicit = self->waiters_next->len > 0;
  g_ptr_array_extend_and_steal (self->waiters_now, g_steal_pointer (&self->waiters_next));
  self->waiters_next = g_ptr_array_new_with_free_func (g_object_unref);
  self->rerun = FALSE;
  self->cycle_running = TRUE;

  rescan_gpu (self);
  refresh_monitors (self);
  if (explicit)
    {
      /* Someone asked for a re-check: kernel-log overlays on hardware that
       * reads well now are history. */
      for (guint i = 0; i < PD_N_COMPONENTS; i++)
        {
          Overlay *o = &self->overlay[i];
          if (o->active && o->kind->clears == PD_LOG_CLEARS_DEVICE_BACK && self->base[i]
              && self->base[i]->state == PD_STATE_OK)
            overlay_clear (o);
        }
    }

  if (self->no_vaprobe)
    {
      set_base (self, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN,
                                        "VA-API probe skipped (--no-vaprobe)"));
      finish_cycle (self);
      return;
    }
  self->probe_gen = self->overlay_gen;
  if (self->base[PD_COMPONENT_VAAPI] == NULL)
    set_base (self, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN,
                                      "Checking video acceleration (the VA-API probe runs)"));
  update (self);
  pd_vaapi_check_async (self->scan,
                        self->vaprobe_timeout_ms ? self->vaprobe_timeout_ms
                                                 : PD_VAPROBE_DEFAULT_TIMEOUT_MS,
                        self->cancellable, on_probe_done, g_object_ref (self));
}

static void
request_checks (PdAgentDaemon *self, GTask *task)
{
  if (task)
    g_ptr_array_add (self->waiters_next, task);
  if (self->cycle_running)
    self->rerun = TRUE;
  else
    start_cycle (self);
}

void
pd_agent_daemon_run_checks_async (PdAgentDaemon *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_agent_daemon_run_checks_async);
  request_checks (self, task);
}

gboolean
pd_agent_daemon_run_checks_finish (PdAgentDaemon *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- kernel log ---- */

static gboolean
take_log_event_token (PdAgentDaemon *self)
{
  gint64 now = g_get_monotonic_time ();
  if (self->tokens_time == 0)
    {
      self->tokens = LOG_EVENT_BURST;
      self->tokens_time = now;
    }
  gint64 refill = (now - self->tokens_time) / LOG_EVENT_REFILL_US;
  if (refill > 0)
    {
      self->tokens = (guint) MIN ((gint64) LOG_EVENT_BURST, self->tokens + refill);
      self->tokens_time += refill * LOG_EVENT_REFILL_US;
    }
  if (self->tokens == 0)
    return FALSE;
  self->tokens--;
  return TRUE;
}

static void
raise_overlay (PdAgentDaemon *self, PdComponentId id, const PdLogKind *kind, const char *summary)
{
  Overlay *o = &self->overlay[id];
  if (!o->active || kind->state >= o->state)
    {
      g_free (o->summary);
      o->summary = g_strdup (summary);
      o->kind = kind;
      o->state = kind->state;
    }
  o->active = TRUE;
  o->saw_down = FALSE;
  o->gen = ++self->overlay_gen;
}

static void
on_log_finding (PdKmsgMonitor *kmsg, const PdLogFinding *f, gboolean boot_log, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  const PdLogKind *kind = f->kind;
  g_autoptr (GString) text = g_string_new (kind->summary);
  if (f->device)
    g_string_append_printf (text, " (device %s)", f->device);
  if (f->excerpt && *f->excerpt)
    g_string_append_printf (text, " Kernel log: “%s”", f->excerpt);

  if (boot_log)
    {
      /* History only: earlier trouble in this boot raises no alarm now. */
      if (self->boot_log_events++ >= BOOT_LOG_EVENTS_MAX)
        return;
      gint64 time = 0;
      if (f->timestamp_us >= 0)
        {
          gint64 age = g_get_monotonic_time () - f->timestamp_us;
          if (age >= 0)
            time = g_get_real_time () - age;
        }
      g_string_prepend (text, "Earlier in this boot: ");
      add_event (self, time, kind->kind, kind->component, text->str, TRUE);
      return;
    }

  g_autofree char *summary = f->device
                                 ? g_strdup_printf ("%s (device %s)", kind->summary, f->device)
                                 : g_strdup (kind->summary);
  /* What the finding means is the kind's row (logscan-rules.c), nothing else. */
  raise_overlay (self, kind->component, kind, summary);
  if (kind->also < PD_N_COMPONENTS)
    raise_overlay (self, kind->also, kind, summary);
  if (kind->tell_monitor)
    for (guint i = 0; i < self->monitors->len; i++)
      {
        PdMonitor *m = g_ptr_array_index (self->monitors, i);
        if (pd_monitor_get_component_id (m) == kind->component)
          pd_monitor_note_kernel_finding (m, kind, f->device);
      }

  if (take_log_event_token (self))
    {
      if (self->suppressed > 0)
        {
          g_autofree char *note = g_strdup_printf (
              "%u more kernel-log findings came too fast to list one by one; "
              "run `passdesk scan-log` on `journalctl -k` output for all of them.",
              self->suppressed);
          add_event (self, 0, "kernel.flood", kind->component, note, FALSE);
          self->suppressed = 0;
        }
      add_event (self, 0, kind->kind, kind->component, text->str, FALSE);
    }
  else
    self->suppressed++;
  update (self);
}

/* ---- monitors ---- */

static void
on_monitor_component_changed (PdMonitor *monitor, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  PdComponent *c = pd_monitor_get_component (monitor);
  if (c == NULL)
    return;
  set_base (self, c);
  update (self);
}

static void
on_monitor_event (PdMonitor *monitor, const char *kind, const char *text, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  add_event (self, 0, kind, pd_monitor_get_component_id (monitor), text, FALSE);
}

/* Sources without change notification (/proc/asound) read again. */
static void
refresh_monitors (PdAgentDaemon *self)
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
      request_checks (self, NULL);
      return;
    }
  /* A connector changed: re-read the outputs now (no probe needed). */
  PdState before = self->base[PD_COMPONENT_DISPLAY] ? self->base[PD_COMPONENT_DISPLAY]->state
                                                    : PD_STATE_UNKNOWN;
  g_clear_pointer (&self->scan, pd_gpu_scan_free);
  self->scan = pd_gpu_scan ();
  set_base (self, pd_display_component (self->scan));
  if (self->overlay[PD_COMPONENT_DISPLAY].active
      && self->base[PD_COMPONENT_DISPLAY]->state == PD_STATE_OK && before != PD_STATE_OK)
    overlay_clear (&self->overlay[PD_COMPONENT_DISPLAY]);
  refresh_monitors (self);
  update (self);
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
        set_base (self, c);
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
  set_base (self, c);
  update (self);
}

static void
on_hostlink_progress (PdHostlinkGuest *guest, const char *phase, const char *text,
                      gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  g_free (self->cold_restart_state);
  self->cold_restart_state = g_strdup (phase);
  g_signal_emit (self, signals[SIGNAL_COLD_RESTART_PROGRESS], 0, phase, text);
}

static void
on_hostlink_event (PdHostlinkGuest *guest, const char *kind, const char *text, gpointer user_data)
{
  add_event (user_data, 0, kind, PD_COMPONENT_HOSTLINK, text, FALSE);
}

static void
start_hostlink (PdAgentDaemon *self)
{
  g_autoptr (GError) error = NULL;
  self->hostlink = pd_hostlink_guest_new (self->hostlink_port);
  g_signal_connect_object (self->hostlink, "component-changed",
                           G_CALLBACK (on_hostlink_component_changed), self, 0);
  g_signal_connect_object (self->hostlink, "progress", G_CALLBACK (on_hostlink_progress), self, 0);
  g_signal_connect_object (self->hostlink, "event", G_CALLBACK (on_hostlink_event), self, 0);
  if (!pd_hostlink_guest_start (self->hostlink, &error))
    g_warning ("Host link: %s", error->message);
  PdComponent *c = pd_hostlink_guest_get_component (self->hostlink);
  if (c)
    set_base (self, c);
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
      g_autofree char *text = g_strdup_printf (
          "The host accepted the cold restart, but the clean power-off through logind failed: "
          "%s. The host's `qm shutdown` will ask the guest to shut down instead.",
          error->message);
      add_event (self, 0, "hostlink.poweroff-failed", PD_COMPONENT_HOSTLINK, text, FALSE);
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
  add_event (self, 0, "agent.resumed", PD_COMPONENT_GPU,
             "The system resumed from sleep; checking the GPU and video acceleration again.",
             FALSE);
  request_checks (self, NULL);
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

static void
on_kmsg_finding_cb (PdKmsgMonitor *kmsg, gpointer finding, gboolean boot_log, gpointer user_data)
{
  on_log_finding (kmsg, finding, boot_log, user_data);
}

void
pd_agent_daemon_start (PdAgentDaemon *self)
{
  start_monitors (self);
  start_hostlink (self);

  self->kmsg = pd_kmsg_monitor_new (self->kmsg_path);
  g_signal_connect_object (self->kmsg, "finding", G_CALLBACK (on_kmsg_finding_cb), self, 0);
  g_autoptr (GError) error = NULL;
  if (!pd_kmsg_monitor_start (self->kmsg, &error))
    {
      g_warning ("Kernel log: %s", error->message);
      g_clear_object (&self->kmsg);
    }
  else
    g_debug ("Kernel log: %" G_GUINT64_FORMAT " records from before the start classified, "
             "%u findings kept as history",
             pd_kmsg_monitor_get_n_records (self->kmsg), self->boot_log_events);

  g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, on_system_bus, g_object_ref (self));
  request_checks (self, NULL);
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
    if (self->current[i])
      pd_report_take (r, pd_component_copy (self->current[i]));
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
      overlay_clear (&self->overlay[i]);
    }
  g_ptr_array_unref (self->waiters_now);
  g_ptr_array_unref (self->waiters_next);
  g_ptr_array_unref (self->monitors);
  pd_agent_history_free (self->history);
  g_clear_pointer (&self->scan, pd_gpu_scan_free);
  g_free (self->kmsg_path);
  g_free (self->hostlink_port);
  g_free (self->cold_restart_state);
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
}
