/* audio-monitor.c - the audio component kept current: a thin monitor over
 * probes/audio-read.
 *
 * ALSA has no change notification for ELD state, so reads happen at start
 * and on pd_audio_monitor_refresh(), which the agent calls on DRM hotplug
 * and on audio kernel-log findings. Nothing runs while idle.
 */
#include "config.h"

#include "audio-monitor.h"

struct _PdAudioMonitor
{
  GObject parent_instance;
  PdComponent *component;
  gboolean started;
};

enum
{
  SIGNAL_COMPONENT_CHANGED,
  SIGNAL_EVENT,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (PdAudioMonitor, pd_audio_monitor, G_TYPE_OBJECT)

static void
emit_event (PdAudioMonitor *self, const char *kind, const char *text)
{
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, kind, text);
}

/* History entries for what changed between two components. */
static void
describe_change (PdAudioMonitor *self, const PdComponent *old, const PdComponent *now)
{
  if (now->state == PD_STATE_FAILED && old->state != PD_STATE_FAILED)
    emit_event (self, "audio.device-gone", now->summary);
  else if (old->state == PD_STATE_FAILED && now->state != PD_STATE_FAILED)
    {
      g_autofree char *text = g_strdup_printf ("HDMI audio device is back: %s", now->summary);
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
  g_signal_emit (self, signals[SIGNAL_COMPONENT_CHANGED], 0);
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
  signals[SIGNAL_COMPONENT_CHANGED]
      = g_signal_new ("component-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_EVENT]
      = g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
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
