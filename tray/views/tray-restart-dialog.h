/* tray-restart-dialog.h - confirms a cold restart and follows it.
 *
 * Says what will happen and shows the host link's state; on confirmation it
 * calls ColdRestart on the agent and shows the host's progress until the
 * guest powers off. Refusals and errors are shown with the host's sentence.
 */
#pragma once

#include <gtk/gtk.h>

#include "tray-agent-client.h"
#include "tray-state.h"

G_BEGIN_DECLS

#define PD_TYPE_TRAY_RESTART_DIALOG (pd_tray_restart_dialog_get_type ())
G_DECLARE_FINAL_TYPE (PdTrayRestartDialog, pd_tray_restart_dialog, PD, TRAY_RESTART_DIALOG,
                      GtkDialog)

PdTrayRestartDialog *pd_tray_restart_dialog_new (GtkWindow *parent, PdTrayAgent *agent);
void pd_tray_restart_dialog_update (PdTrayRestartDialog *self, const PdTrayState *state);
/* Confirms as if the user pressed the button; FALSE when not asking now. */
gboolean pd_tray_restart_dialog_confirm (PdTrayRestartDialog *self);

G_END_DECLS
