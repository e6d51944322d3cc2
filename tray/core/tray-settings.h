/* tray-settings.h - what the user told the tray, kept across logins.
 *
 * One key file, $XDG_CONFIG_HOME/passdesk/tray.ini:
 *   [notifications] muted=gpu;audio;      kinds of incident not announced
 *                   critical-seconds=900  how long a failure's notification
 *                                         stays before the tray withdraws it
 *                                         (the icon keeps showing it)
 *   [audio]         chosen-outputs=...;   sound-server sinks the user picked
 *                                         on purpose (not flagged)
 * Read once at start; every change is written at once. A missing or broken
 * file gives the defaults (the error is logged, never fatal).
 */
#pragma once

#include "health.h"

G_BEGIN_DECLS

typedef struct _PdTraySettings PdTraySettings;

/* @path NULL: the default location under g_get_user_config_dir(). */
PdTraySettings *pd_tray_settings_new (const char *path);
void pd_tray_settings_free (PdTraySettings *self);

gboolean pd_tray_settings_get_muted (PdTraySettings *self, PdComponentId id);
void pd_tray_settings_set_muted (PdTraySettings *self, PdComponentId id, gboolean muted);
/* Seconds; 0 means never withdrawn. */
guint pd_tray_settings_get_critical_seconds (PdTraySettings *self);

gboolean pd_tray_settings_output_chosen (PdTraySettings *self, const char *sink_name);
/* Remembers @sink_name (the newest first; at most 16 are kept). */
void pd_tray_settings_choose_output (PdTraySettings *self, const char *sink_name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdTraySettings, pd_tray_settings_free)

G_END_DECLS
