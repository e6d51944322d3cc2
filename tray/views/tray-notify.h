/* tray-notify.h - desktop notifications (org.freedesktop.Notifications).
 *
 * One notification per incident: a component turning failed or degraded
 * (video acceleration, GPU, display, audio, USB; the host link only while a
 * cold-restart cycle runs). It is replaced in place when the incident
 * changes and withdrawn when the component recovers; the same incident coming
 * back within a minute of its last notification is not announced again
 * unless it is still there when that minute is over.
 *
 * Actions (when the server has the "actions" capability): "details" on every
 * notification, "cold-restart" on GPU/acceleration failures, "switch-hdmi" on
 * an audio fallback. Without actions, the body says where to click.
 *
 * Signal "action" (const char *action, const char *component_id).
 */
#pragma once

#include <gio/gio.h>

#include "tray-state.h"

G_BEGIN_DECLS

#define PD_TYPE_TRAY_NOTIFY (pd_tray_notify_get_type ())
G_DECLARE_FINAL_TYPE (PdTrayNotify, pd_tray_notify, PD, TRAY_NOTIFY, GObject)

PdTrayNotify *pd_tray_notify_new (GDBusConnection *session);
void pd_tray_notify_update (PdTrayNotify *self, const PdTrayState *state);
/* Whether the user has a tray icon to click (changes the "where to click"). */
void pd_tray_notify_set_have_icon (PdTrayNotify *self, gboolean have_icon);
/* A one-off message with a "details" action (not tied to an incident). */
void pd_tray_notify_message (PdTrayNotify *self, const char *summary, const char *body);

G_END_DECLS
