/* tray-audio.h - the session's sound server as the tray needs it.
 *
 * Talks to PulseAudio or pipewire-pulse through libpulse on the GLib main
 * loop. Follows cards (profiles, ports and their availability), sinks and the
 * default sink through subscriptions, and reconnects with a backoff when the
 * server goes away (the backoff timer exists only while disconnected).
 *
 * Signal "changed" () fires (coalesced) after any change it follows.
 * Signal "output-chosen" (const char *sink_name) fires when the default sink
 * moves while the old default is still there: a choice, not a fallback.
 */
#pragma once

#include <gio/gio.h>

#include "health.h"
#include "tray-settings.h"

G_BEGIN_DECLS

#define PD_TYPE_TRAY_AUDIO (pd_tray_audio_get_type ())
G_DECLARE_FINAL_TYPE (PdTrayAudio, pd_tray_audio, PD, TRAY_AUDIO, GObject)

PdTrayAudio *pd_tray_audio_new (void);

gboolean pd_tray_audio_is_connected (PdTrayAudio *self);

typedef struct
{
  PdComponent *component; /* merged audio component (owned by the caller) */
  gboolean fallback;      /* default is Dummy Output, or not HDMI while HDMI exists */
  gboolean can_switch;    /* an HDMI/DP sink or available profile to switch to */
  gboolean codec_missing; /* the agent sees the codec, the server no HDMI/DP output */
  char *keepable;         /* description of a non-HDMI default the user may keep (owned) */
  char *keepable_sink;    /* ... and its sink name (owned) */
} PdTrayAudioView;

/* Merges the session's view with the agent's audio component (NULL: the
 * agent is not running, and the result says so instead of guessing, with
 * @agent_start as the command that starts it):
 * Dummy Output is never OK (failed without an HDMI/DP output, degraded with
 * one); a non-HDMI default that @settings lists as chosen is OK; a
 * non-HDMI default the server fell back to, or that was never chosen, is
 * degraded and keepable; the agent's state otherwise. Returns FALSE (and
 * leaves @view empty) when there is nothing to say: no agent component and
 * no server. */
gboolean pd_tray_audio_merge (PdTrayAudio *self, const PdComponent *agent_audio,
                              const char *agent_start, PdTraySettings *settings,
                              PdTrayAudioView *view);

/* Picks the HDMI/DP output (preferring one whose port or description names
 * @preferred_monitor), activates its card profile when needed, makes its sink
 * the default and moves the streams to it. */
void pd_tray_audio_switch_to_hdmi (PdTrayAudio *self, const char *preferred_monitor,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean pd_tray_audio_switch_to_hdmi_finish (PdTrayAudio *self, GAsyncResult *result,
                                              GError **error);

G_END_DECLS
