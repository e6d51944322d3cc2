/* tray-state.h - what the tray knows at one moment, and how it is worded.
 *
 * PdTrayState is the one snapshot every view (SNI, status icon, menu, window,
 * notifications) renders: the agent's report with the session's audio view
 * merged in, plus the few facts the views need to decide what to offer.
 */
#pragma once

#include "health.h"

G_BEGIN_DECLS

/* The application's own icon (windows, menu entry): neutral, not a state. */
#define PD_TRAY_APP_ICON "org.passdesk.Tray"

typedef struct
{
  gboolean agent_connected;
  const char *agent_start;      /* how to start the agent the tray looks for (static) */
  PdReport *report;             /* merged; never NULL (empty while no agent) */
  PdState overall;              /* PD_STATE_UNKNOWN while the agent is away */
  gboolean audio_fallback;      /* output fell back to Dummy Output or non-HDMI */
  gboolean can_switch_audio;    /* an HDMI/DP output exists to switch to */
  gboolean audio_codec_missing; /* the agent sees the codec, the server no HDMI/DP */
  char *audio_keepable;         /* a non-HDMI output the user may keep, or NULL */
  gboolean audio_repairable;    /* the agent says the HD-Audio hardware failed */
  char *cold_restart_state;     /* as the agent reports it ("idle", ...) */
  char *cold_restart_blocked;   /* why a cold restart cannot start, or NULL */
  gint64 hostlink_facts_time;   /* monotonic time the host's rate-limit facts arrived */
} PdTrayState;

PdTrayState *pd_tray_state_new (void);
void pd_tray_state_free (PdTrayState *state);

/* A cold-restart cycle is under way (requested .. starting). */
gboolean pd_tray_cold_restart_active (const char *phase);

/* What the desktop's Restart will do, as the agent words it from the host's
 * facts (the host link's "restart" detail), or NULL while the agent or the
 * host is not there. *@converted: the host turns this VM's reboots into
 * cold restarts (now, or once its rate limit allows: reboot-cold yes or
 * later). */
const char *pd_tray_state_restart_note (const PdTrayState *state, gboolean *converted);

/* Icon names: passdesk-ok, -degraded, -failed, -unknown, -restarting. */
const char *pd_tray_state_icon_name (const PdTrayState *state);
const char *pd_tray_state_icon_for (PdState state);
/* "OK", "Degraded", "Failed", "Unknown". */
const char *pd_tray_state_label (PdState state);
/* One short line for titles and tooltips. */
char *pd_tray_state_headline (const PdTrayState *state);
/* Tooltip body: one line per component that is not ok. */
char *pd_tray_state_tooltip_body (const PdTrayState *state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdTrayState, pd_tray_state_free)

G_END_DECLS
