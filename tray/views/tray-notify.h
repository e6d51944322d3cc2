/* tray-notify.h - desktop notifications (org.freedesktop.Notifications).
 *
 * One notification per incident: a component turning failed or degraded
 * (video acceleration, GPU, display, audio, USB; the host link only while a
 * cold-restart cycle runs), naming what happened and the next step (the
 * component's first advice). It is replaced in place when the incident
 * changes and withdrawn when the component recovers; the same incident coming
 * back within a minute of its last notification is not announced again
 * unless it is still there when that minute is over. What was announced is
 * kept in $XDG_STATE_HOME/passdesk/announced.ini, so an unchanged incident is
 * not announced again after a tray restart or a new login. A muted kind of
 * incident (tray-settings.h) is not announced; a failure's (critical)
 * notification is withdrawn after the configured time, the icon still shows it.
 *
 * Actions (when the server has the "actions" capability): "default"
 * ("Details") on every notification, and only actions that can work in the
 * state at hand: "repair-audio" (rebind the HD-Audio driver through pkexec)
 * when the agent says the HD-Audio hardware failed, "cold-restart" on
 * GPU/acceleration failures and on audio
 * failures with nothing to switch to, "switch-hdmi" when an HDMI/DP output
 * exists to switch to, "keep-output" for a non-HDMI output the user may want.
 * Without actions, the body says where to click.
 *
 * Signal "action" (const char *action, const char *component_id).
 */
#pragma once

#include <gio/gio.h>

#include "tray-settings.h"
#include "tray-state.h"

G_BEGIN_DECLS

#define PD_TYPE_TRAY_NOTIFY (pd_tray_notify_get_type ())
G_DECLARE_FINAL_TYPE (PdTrayNotify, pd_tray_notify, PD, TRAY_NOTIFY, GObject)

/* @settings (not owned, may be NULL) says what is muted and how long a
 * failure's notification stays. */
PdTrayNotify *pd_tray_notify_new (GDBusConnection *session, PdTraySettings *settings);
void pd_tray_notify_update (PdTrayNotify *self, const PdTrayState *state);
/* Whether the user has a tray icon to click (changes the "where to click"). */
void pd_tray_notify_set_have_icon (PdTrayNotify *self, gboolean have_icon);
/* A one-off message with a "details" action (not tied to an incident). */
void pd_tray_notify_message (PdTrayNotify *self, const char *summary, const char *body);

G_END_DECLS
