/* tray-statusicon.h - the X11 fallback icon (GtkStatusIcon / XEmbed).
 *
 * Used only when no StatusNotifierWatcher exists and the display is X11.
 * Left click opens the status window; right click pops up the menu built
 * from the same PdTrayMenuModel the dbusmenu export uses.
 */
#pragma once

#include <gtk/gtk.h>

#include "tray-menu-model.h"
#include "tray-state.h"

G_BEGIN_DECLS

typedef struct _PdTrayStatusIcon PdTrayStatusIcon;

/* NULL when the display is not X11. */
PdTrayStatusIcon *pd_tray_status_icon_new (PdTrayMenuModel *model, GActionGroup *actions);
void pd_tray_status_icon_update (PdTrayStatusIcon *icon, const PdTrayState *state);
/* TRUE once a system tray (XEmbed) has taken the icon. */
gboolean pd_tray_status_icon_is_embedded (PdTrayStatusIcon *icon);
void pd_tray_status_icon_free (PdTrayStatusIcon *icon);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdTrayStatusIcon, pd_tray_status_icon_free)

G_END_DECLS
