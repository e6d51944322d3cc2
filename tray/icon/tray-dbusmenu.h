/* tray-dbusmenu.h - exports a PdTrayMenuModel as com.canonical.dbusmenu.
 *
 * Hosts (KDE Plasma, the GNOME AppIndicator extension, waybar, ...) read the
 * layout with GetLayout and report clicks with Event/EventGroup; a "clicked"
 * event activates the item's action on @actions. Model changes go out as
 * ItemsPropertiesUpdated, or LayoutUpdated when visibility changed.
 */
#pragma once

#include <gio/gio.h>

#include "tray-menu-model.h"

G_BEGIN_DECLS

typedef struct _PdTrayDbusmenu PdTrayDbusmenu;

PdTrayDbusmenu *pd_tray_dbusmenu_export (GDBusConnection *connection, const char *object_path,
                                         PdTrayMenuModel *model, GActionGroup *actions,
                                         GError **error);
void pd_tray_dbusmenu_free (PdTrayDbusmenu *menu);
/* The folder (holding hicolor/) where hosts find the items' icons. */
void pd_tray_dbusmenu_set_icon_theme_path (PdTrayDbusmenu *menu, const char *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdTrayDbusmenu, pd_tray_dbusmenu_free)

G_END_DECLS
