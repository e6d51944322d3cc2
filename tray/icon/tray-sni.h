/* tray-sni.h - the tray icon as an org.kde.StatusNotifierItem.
 *
 * Owns org.kde.StatusNotifierItem-<pid>-1 on the session bus, exports the
 * item at /StatusNotifierItem and its menu (com.canonical.dbusmenu) at
 * /MenuBar, and registers with org.kde.StatusNotifierWatcher whenever a
 * watcher appears (so a restarted watcher gets us again).
 *
 * Signal "notify::registered": TRUE while a watcher has accepted the item.
 * pd_tray_sni_get_watcher_known() is FALSE until the watcher's presence has
 * been learnt once (so the fallback is decided on facts, not on a race).
 */
#pragma once

#include <gio/gio.h>

#include "tray-menu-model.h"
#include "tray-state.h"

G_BEGIN_DECLS

#define PD_TYPE_TRAY_SNI (pd_tray_sni_get_type ())
G_DECLARE_FINAL_TYPE (PdTraySni, pd_tray_sni, PD, TRAY_SNI, GObject)

PdTraySni *pd_tray_sni_new (GDBusConnection *connection, PdTrayMenuModel *model,
                            GActionGroup *actions);
void pd_tray_sni_update (PdTraySni *self, const PdTrayState *state);
/* The IconThemePath panels are given: the folder holding hicolor/ with our
 * icons (a build tree's data/icons when run uninstalled). Set it before the
 * item registers. */
void pd_tray_sni_set_icon_theme_path (PdTraySni *self, const char *path);
gboolean pd_tray_sni_get_registered (PdTraySni *self);
gboolean pd_tray_sni_get_watcher_known (PdTraySni *self);
gboolean pd_tray_sni_get_watcher_present (PdTraySni *self);

G_END_DECLS
