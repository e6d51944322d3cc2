/* audio-monitor.h - HDMI audio at the hardware level, kept current.
 *
 * PdAudioMonitor holds the `audio` component that probes/audio-read.h reads
 * from /proc/asound (what it reads and how it judges is described there)
 * and tells what changed.
 *
 * /proc/asound gives no change notification: the agent calls
 * pd_audio_monitor_refresh() on DRM hotplug and on audio kernel-log findings.
 *
 * Event kinds (one per state change of the component): audio.device-gone
 * (card or HDMI codec gone: failed), audio.device-back, audio.no-monitor
 * (degraded), audio.monitor-present (back to ok).
 */
#pragma once

#include <glib-object.h>
#include "audio-read.h"
#include "health.h"

G_BEGIN_DECLS

#define PD_TYPE_AUDIO_MONITOR (pd_audio_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PdAudioMonitor, pd_audio_monitor, PD, AUDIO_MONITOR, GObject)
/* Implements PdMonitor (monitor.h). */

PdAudioMonitor *pd_audio_monitor_new (void);

/* Reads the current state once. Never fails on missing hardware (that is a
 * component state); FALSE only for programming errors, with @error. */
gboolean pd_audio_monitor_start (PdAudioMonitor *self, GError **error);

/* The `audio` component (PD_COMPONENT_AUDIO). Transfer full. */
PdComponent *pd_audio_monitor_get_component (PdAudioMonitor *self);

/* Re-reads /proc/asound and the DRM connectors; emits "component-changed"
 * when the component changed and "event" for what changed (card/codec gone
 * or back, monitor present or not). */
void pd_audio_monitor_refresh (PdAudioMonitor *self);

/* Signals:
 *  "component-changed" ()
 *  "event" (const char *kind, const char *text) */

G_END_DECLS
