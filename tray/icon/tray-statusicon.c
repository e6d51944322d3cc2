/* tray-statusicon.c - GtkStatusIcon fallback for X11 trays without SNI. */
#include "tray-statusicon.h"

#ifdef GDK_WINDOWING_X11
#include <gdk/gdkx.h>
#endif

/* GtkStatusIcon is deprecated in GTK 3 but is the only XEmbed tray API; it
 * is exactly the fallback we want for old X11 panels. */
G_GNUC_BEGIN_IGNORE_DEPRECATIONS

struct _PdTrayStatusIcon
{
  GtkStatusIcon *icon;
  PdTrayMenuModel *model;
  GActionGroup *actions;
  GtkWidget *menu;
};

static void
item_activate (GtkMenuItem *mi, PdTrayStatusIcon *icon)
{
  const char *action = g_object_get_data (G_OBJECT (mi), "action");
  if (action != NULL && g_str_has_prefix (action, "app."))
    g_action_group_activate_action (icon->actions, action + 4, NULL);
}

static void
popup_menu (GtkStatusIcon *status_icon, guint button, guint32 time, PdTrayStatusIcon *icon)
{
  /* Built fresh from the model: it is small, and always current. */
  if (icon->menu != NULL)
    gtk_widget_destroy (icon->menu);
  icon->menu = gtk_menu_new ();
  for (guint n = 0; n < pd_tray_menu_model_get_n_items (icon->model); n++)
    {
      const PdTrayMenuItem *item = pd_tray_menu_model_get_item (icon->model, n);
      GtkWidget *mi;

      if (!item->visible)
        continue;
      if (item->type == PD_TRAY_MENU_ITEM_SEPARATOR)
        mi = gtk_separator_menu_item_new ();
      else
        {
          mi = gtk_menu_item_new_with_mnemonic (item->label);
          gtk_widget_set_sensitive (mi, item->enabled);
          g_object_set_data (G_OBJECT (mi), "action", (gpointer) item->action);
          g_signal_connect (mi, "activate", G_CALLBACK (item_activate), icon);
        }
      gtk_menu_shell_append (GTK_MENU_SHELL (icon->menu), mi);
    }
  gtk_widget_show_all (icon->menu);
  gtk_menu_popup (GTK_MENU (icon->menu), NULL, NULL, gtk_status_icon_position_menu, status_icon,
                  button, time);
}

static void
activate (GtkStatusIcon *status_icon, PdTrayStatusIcon *icon)
{
  g_action_group_activate_action (icon->actions, "status", NULL);
}

PdTrayStatusIcon *
pd_tray_status_icon_new (PdTrayMenuModel *model, GActionGroup *actions)
{
#ifdef GDK_WINDOWING_X11
  GdkDisplay *display = gdk_display_get_default ();
  if (display == NULL || !GDK_IS_X11_DISPLAY (display))
    return NULL;

  PdTrayStatusIcon *icon = g_new0 (PdTrayStatusIcon, 1);
  icon->model = g_object_ref (model);
  icon->actions = g_object_ref (actions);
  icon->icon = gtk_status_icon_new_from_icon_name ("passdesk-unknown");
  gtk_status_icon_set_title (icon->icon, "passdesk");
  gtk_status_icon_set_name (icon->icon, "passdesk");
  g_signal_connect (icon->icon, "activate", G_CALLBACK (activate), icon);
  g_signal_connect (icon->icon, "popup-menu", G_CALLBACK (popup_menu), icon);
  return icon;
#else
  return NULL;
#endif
}

void
pd_tray_status_icon_update (PdTrayStatusIcon *icon, const PdTrayState *state)
{
  g_autofree char *headline = pd_tray_state_headline (state);
  g_autofree char *body = pd_tray_state_tooltip_body (state);
  g_autofree char *tip = g_strdup_printf ("%s\n%s", headline, body);

  gtk_status_icon_set_from_icon_name (icon->icon, pd_tray_state_icon_name (state));
  gtk_status_icon_set_tooltip_text (icon->icon, tip);
}

gboolean
pd_tray_status_icon_is_embedded (PdTrayStatusIcon *icon)
{
  return gtk_status_icon_is_embedded (icon->icon);
}

void
pd_tray_status_icon_free (PdTrayStatusIcon *icon)
{
  if (icon == NULL)
    return;
  if (icon->menu != NULL)
    gtk_widget_destroy (icon->menu);
  g_signal_handlers_disconnect_by_data (icon->icon, icon);
  g_object_unref (icon->icon);
  g_object_unref (icon->model);
  g_object_unref (icon->actions);
  g_free (icon);
}

G_GNUC_END_IGNORE_DEPRECATIONS
