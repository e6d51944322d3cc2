/* tray-app.h - passdesk-tray, the GtkApplication (org.passdesk.Tray).
 *
 * Single instance: a second launch opens the status window in the first.
 * Ties the agent client and the session's sound server to the views (tray
 * icon, menu, status window, notifications) through one PdTrayState.
 *
 * Application actions (also reachable over D-Bus through org.gtk.Actions on
 * /org/passdesk/Tray): status, run-checks, cold-restart, switch-audio, quit,
 * and confirm-cold-restart, which presses "Cold restart VM" in an open
 * confirmation dialog (for tests and accessibility tools; it does nothing
 * unless the user already opened the dialog).
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PD_TYPE_TRAY_APP (pd_tray_app_get_type ())
G_DECLARE_FINAL_TYPE (PdTrayApp, pd_tray_app, PD, TRAY_APP, GtkApplication)

PdTrayApp *pd_tray_app_new (void);

G_END_DECLS
