/* audio-monitor.c - the audio component kept current: a thin monitor over
 * probes/audio-read.
 *
 * ALSA has no change notification for ELD state, so reads happen at start
 * and on pd_audio_monitor_refresh(), which the agent calls on DRM hotplug
 * and on audio kernel-log findings. Nothing runs while idle.
 */
#include "config.h"

#include "audio-monitor.h"
#include "pd-i18n.h"
#include "monitor.h"

struct _PdAudioMonitor
{
  GObject parent_instance;
  PdComponent *component;
  gboolean started;
};

static void pd_audio_monitor_iface_init (PdMonitorInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PdAudioMonitor, pd_audio_monitor, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (PD_TYPE_MONITOR, pd_audio_monitor_iface_init))

static void
emit_event (PdAudioMonitor *self, const char *kind, const char *text)
{
  pd_monitor_emit_event (PD_MONITOR (self), kind, text);
}

/* History entries for what changed between two components. */
static void
describe_change (PdAudioMonitor *self, const PdComponent *old, const PdComponent *now)
{
  if (now->state == PD_STATE_FAILED && old->state != PD_STATE_FAILED)
    emit_event (self, "audio.device-gone", now->summary);
  else if (old->state == PD_STATE_FAILED && now->state != PD_STATE_FAILED)
    {
      g_autofree char *text = pd_i18n_sprintf ("HDMI audio device is back: %s", now->summary);
      emit_event (self, "audio.device-back", text);
    }
  else if (now->state == PD_STATE_DEGRADED && old->state != PD_STATE_DEGRADED)
    emit_event (self, "audio.no-monitor", now->summary);
  else if (now->state == PD_STATE_OK && old->state == PD_STATE_DEGRADED)
    emit_event (self, "audio.monitor-present", now->summary);
}

void
pd_audio_monitor_refresh (PdAudioMonitor *self)
{
  g_return_if_fail (PD_IS_AUDIO_MONITOR (self));

  g_autoptr (PdComponent) c = pd_audio_component_read ();
  if (self->component != NULL && pd_component_equal (self->component, c))
    return;
  g_autoptr (PdComponent) old = g_steal_pointer (&self->component);
  self->component = g_steal_pointer (&c);
  if (old == NULL)
    return; /* the first read is the baseline, not a change */
  describe_change (self, old, self->component);
  pd_monitor_emit_component_changed (PD_MONITOR (self));
}

gboolean
pd_audio_monitor_start (PdAudioMonitor *self, GError **error)
{
  g_return_val_if_fail (PD_IS_AUDIO_MONITOR (self), FALSE);
  self->started = TRUE;
  g_clear_pointer (&self->component, pd_component_free);
  self->component = pd_audio_component_read ();
  return TRUE;
}

PdComponent *
pd_audio_monitor_get_component (PdAudioMonitor *self)
{
  g_return_val_if_fail (PD_IS_AUDIO_MONITOR (self), NULL);
  if (self->component == NULL)
    self->component = pd_audio_component_read ();
  return pd_component_copy (self->component);
}

static void
pd_audio_monitor_finalize (GObject *object)
{
  PdAudioMonitor *self = PD_AUDIO_MONITOR (object);
  g_clear_pointer (&self->component, pd_component_free);
  G_OBJECT_CLASS (pd_audio_monitor_parent_class)->finalize (object);
}

static void
pd_audio_monitor_class_init (PdAudioMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pd_audio_monitor_finalize;
}

static PdComponentId
audio_get_component_id (PdMonitor *monitor)
{
  return PD_COMPONENT_AUDIO;
}

/* /proc/asound has no events: an audio kernel-log finding re-reads it. */
static void
audio_note_kernel_finding (PdMonitor *monitor, const PdLogKind *kind, const char *device)
{
  pd_audio_monitor_refresh (PD_AUDIO_MONITOR (monitor));
}

static gboolean
audio_start (PdMonitor *monitor, GError **error)
{
  return pd_audio_monitor_start (PD_AUDIO_MONITOR (monitor), error);
}

static PdComponent *
audio_get_component (PdMonitor *monitor)
{
  return pd_audio_monitor_get_component (PD_AUDIO_MONITOR (monitor));
}

static void
audio_refresh (PdMonitor *monitor)
{
  pd_audio_monitor_refresh (PD_AUDIO_MONITOR (monitor));
}

static void
pd_audio_monitor_iface_init (PdMonitorInterface *iface)
{
  iface->start = audio_start;
  iface->get_component_id = audio_get_component_id;
  iface->get_component = audio_get_component;
  iface->refresh = audio_refresh;
  iface->note_kernel_finding = audio_note_kernel_finding;
}

static void
pd_audio_monitor_init (PdAudioMonitor *self)
{
}

PdAudioMonitor *
pd_audio_monitor_new (void)
{
  return g_object_new (PD_TYPE_AUDIO_MONITOR, NULL);
}
