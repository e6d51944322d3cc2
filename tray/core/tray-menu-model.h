/* tray-menu-model.h - what the tray menu shows, shared by the
 * com.canonical.dbusmenu export and the GtkStatusIcon menu.
 *
 * The menu has a fixed set of items (ids never change); a state update
 * changes labels, icons, sensitivity and visibility in place. Each item
 * activates a detailed action name of the application ("app.status", ...).
 *
 * Signal "changed" (GArray *ids of guint, gboolean layout): the items whose
 * properties changed; @layout is TRUE when visibility changed as well.
 */
#pragma once

#include <glib-object.h>

#include "tray-state.h"

G_BEGIN_DECLS

typedef enum
{
  PD_TRAY_MENU_ITEM_STANDARD,
  PD_TRAY_MENU_ITEM_SEPARATOR,
} PdTrayMenuItemType;

typedef struct
{
  guint id; /* 1.. ; 0 is the root */
  PdTrayMenuItemType type;
  char *label; /* with "_" mnemonics; literal underscores doubled */
  char *icon_name;
  gboolean enabled;
  gboolean visible;
  const char *action; /* detailed action name, or NULL */
} PdTrayMenuItem;

#define PD_TYPE_TRAY_MENU_MODEL (pd_tray_menu_model_get_type ())
G_DECLARE_FINAL_TYPE (PdTrayMenuModel, pd_tray_menu_model, PD, TRAY_MENU_MODEL, GObject)

PdTrayMenuModel *pd_tray_menu_model_new (void);
void pd_tray_menu_model_update (PdTrayMenuModel *self, const PdTrayState *state);

guint pd_tray_menu_model_get_n_items (PdTrayMenuModel *self);
const PdTrayMenuItem *pd_tray_menu_model_get_item (PdTrayMenuModel *self, guint position);
const PdTrayMenuItem *pd_tray_menu_model_lookup (PdTrayMenuModel *self, guint id);

/* Label without mnemonic markers, for plain GTK labels and tests. */
char *pd_tray_menu_label_plain (const char *label);

G_END_DECLS
