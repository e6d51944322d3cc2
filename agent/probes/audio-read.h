/* audio-read.h - HDMI audio at the hardware level, read once from
 * /proc/asound (through the sysroot prefix). GLib only: the CLI's checks can
 * link it, the agent's audio monitor re-reads through it.
 *
 * Reads the ALSA cards, the HD-Audio card ("HDA Intel PCH" / "HDA-Intel"),
 * its HDMI codec (cardN/codec#M) and the ELD state of each HDMI pin
 * (cardN/eld#M.P: monitor_present, eld_valid, monitor_name), and the DRM
 * connectors' state (gpu-scan.h). The `audio` component is failed when the
 * card or the HDMI codec is gone, degraded when no HDMI pin has a monitor
 * present while a DRM connector is connected, ok otherwise.
 *
 * Details (detail-keys.h): "card" or "cards", "hdmi-codec", one per HDMI pin
 * ("eld#2.0": "monitor NAME" or "no monitor"), "connected-outputs", and the
 * facts programs read: "hdmi-codec-present" and "monitor-name".
 */
#pragma once

#include "health.h"

G_BEGIN_DECLS

/* The `audio` component (PD_COMPONENT_AUDIO) from the current sysroot.
 * Never fails: missing hardware is a component state. */
PdComponent *pd_audio_component_read (void);

G_END_DECLS
