/* tray-audio.h - the session's sound server as the tray needs it.
 *
 * Talks to PulseAudio or pipewire-pulse through libpulse on the GLib main
 * loop. Follows cards (profiles, ports and their availability), sinks and the
 * default sink through subscriptions, and reconnects with a backoff when the
 * server goes away (the backoff timer exists only while disconnected).
 *
 * Signal "changed" () fires (coalesced) after any change it follows.
 */
#pragma once

#include <gio/gio.h>

#include "health.h"

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
} PdTrayAudioView;

/* Merges the session's view with the agent's audio component (may be NULL):
 * failed when the agent sees the HDMI codec but the server has no HDMI/DP
 * sink or available profile; degraded when the default sink is auto_null or
 * not HDMI/DP while an HDMI/DP output is available; the agent's state
 * otherwise. Returns FALSE (and leaves @view empty) when there is nothing to
 * say: no agent component and no server. */
gboolean pd_tray_audio_merge (PdTrayAudio *self, const PdComponent *agent_audio,
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
