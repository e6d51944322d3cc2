/* tray-window.h - the status window.
 *
 * One row per component (state icon, summary, expandable details and advice
 * whose commands sit in selectable fields with a Copy button), the event
 * history, and "Run checks now" / "Cold restart VM…" buttons bound to the
 * application's actions.
 */
#pragma once

#include <gtk/gtk.h>

#include "tray-agent-client.h"
#include "tray-state.h"

G_BEGIN_DECLS

#define PD_TYPE_TRAY_WINDOW (pd_tray_window_get_type ())
G_DECLARE_FINAL_TYPE (PdTrayWindow, pd_tray_window, PD, TRAY_WINDOW, GtkApplicationWindow)

PdTrayWindow *pd_tray_window_new (GtkApplication *app);
void pd_tray_window_update (PdTrayWindow *self, const PdTrayState *state);
/* Replaces the history with @events (PdEventEntry, oldest first). */
void pd_tray_window_set_events (PdTrayWindow *self, GPtrArray *events);
void pd_tray_window_add_event (PdTrayWindow *self, const PdEventEntry *event);
/* Shows a sentence under the buttons (e.g. why "Run checks" failed). */
void pd_tray_window_set_message (PdTrayWindow *self, const char *message);

G_END_DECLS
