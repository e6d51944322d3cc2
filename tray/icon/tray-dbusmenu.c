/* tray-dbusmenu.c - com.canonical.dbusmenu over GDBus. */
#include "tray-dbusmenu.h"

#include <string.h>

static const char introspection_xml[]
    = "<node>"
      " <interface name='com.canonical.dbusmenu'>"
      "  <property name='Version' type='u' access='read'/>"
      "  <property name='TextDirection' type='s' access='read'/>"
      "  <property name='Status' type='s' access='read'/>"
      "  <property name='IconThemePath' type='as' access='read'/>"
      "  <method name='GetLayout'>"
      "   <arg type='i' name='parentId' direction='in'/>"
      "   <arg type='i' name='recursionDepth' direction='in'/>"
      "   <arg type='as' name='propertyNames' direction='in'/>"
      "   <arg type='u' name='revision' direction='out'/>"
      "   <arg type='(ia{sv}av)' name='layout' direction='out'/>"
      "  </method>"
      "  <method name='GetGroupProperties'>"
      "   <arg type='ai' name='ids' direction='in'/>"
      "   <arg type='as' name='propertyNames' direction='in'/>"
      "   <arg type='a(ia{sv})' name='properties' direction='out'/>"
      "  </method>"
      "  <method name='GetProperty'>"
      "   <arg type='i' name='id' direction='in'/>"
      "   <arg type='s' name='name' direction='in'/>"
      "   <arg type='v' name='value' direction='out'/>"
      "  </method>"
      "  <method name='Event'>"
      "   <arg type='i' name='id' direction='in'/>"
      "   <arg type='s' name='eventId' direction='in'/>"
      "   <arg type='v' name='data' direction='in'/>"
      "   <arg type='u' name='timestamp' direction='in'/>"
      "  </method>"
      "  <method name='EventGroup'>"
      "   <arg type='a(isvu)' name='events' direction='in'/>"
      "   <arg type='ai' name='idErrors' direction='out'/>"
      "  </method>"
      "  <method name='AboutToShow'>"
      "   <arg type='i' name='id' direction='in'/>"
      "   <arg type='b' name='needUpdate' direction='out'/>"
      "  </method>"
      "  <method name='AboutToShowGroup'>"
      "   <arg type='ai' name='ids' direction='in'/>"
      "   <arg type='ai' name='updatesNeeded' direction='out'/>"
      "   <arg type='ai' name='idErrors' direction='out'/>"
      "  </method>"
      "  <signal name='ItemsPropertiesUpdated'>"
      "   <arg type='a(ia{sv})' name='updatedProps'/>"
      "   <arg type='a(ias)' name='removedProps'/>"
      "  </signal>"
      "  <signal name='LayoutUpdated'>"
      "   <arg type='u' name='revision'/>"
      "   <arg type='i' name='parent'/>"
      "  </signal>"
      "  <signal name='ItemActivationRequested'>"
      "   <arg type='i' name='id'/>"
      "   <arg type='u' name='timestamp'/>"
      "  </signal>"
      " </interface>"
      "</node>";

#define MAX_GROUP_IDS 256

struct _PdTrayDbusmenu
{
  GDBusConnection *connection;
  char *path;
  guint registration_id;
  PdTrayMenuModel *model;
  GActionGroup *actions;
  gulong changed_id;
  guint32 revision;
  char *icon_theme_path; /* the item's, for the items' icons; NULL: none */
};

static gboolean
wanted (const char *const *names, const char *name)
{
  return names == NULL || names[0] == NULL || g_strv_contains (names, name);
}

/* Properties of one item; defaults (enabled, visible, standard) are left out
 * as the spec allows. */
static GVariant *
item_properties (PdTrayDbusmenu *menu, guint id, const char *const *names)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  if (id == 0)
    {
      if (wanted (names, "children-display"))
        g_variant_builder_add (&b, "{sv}", "children-display", g_variant_new_string ("submenu"));
      return g_variant_builder_end (&b);
    }
  const PdTrayMenuItem *item = pd_tray_menu_model_lookup (menu->model, id);
  if (item == NULL)
    return g_variant_builder_end (&b);
  if (item->type == PD_TRAY_MENU_ITEM_SEPARATOR)
    {
      if (wanted (names, "type"))
        g_variant_builder_add (&b, "{sv}", "type", g_variant_new_string ("separator"));
    }
  else
    {
      if (wanted (names, "label"))
        g_variant_builder_add (&b, "{sv}", "label", g_variant_new_string (item->label));
      if (item->icon_name != NULL && wanted (names, "icon-name"))
        g_variant_builder_add (&b, "{sv}", "icon-name", g_variant_new_string (item->icon_name));
    }
  /* Always sent so that a host applying ItemsPropertiesUpdated sees the
   * current value, not a stale one it never got told to drop. */
  if (wanted (names, "enabled"))
    g_variant_builder_add (&b, "{sv}", "enabled", g_variant_new_boolean (item->enabled));
  if (wanted (names, "visible"))
    g_variant_builder_add (&b, "{sv}", "visible", g_variant_new_boolean (item->visible));
  return g_variant_builder_end (&b);
}

static GVariant *
layout_node (PdTrayDbusmenu *menu, guint id, int depth, const char *const *names)
{
  GVariantBuilder children;

  g_variant_builder_init (&children, G_VARIANT_TYPE ("av"));
  if (id == 0 && depth != 0)
    for (guint n = 0; n < pd_tray_menu_model_get_n_items (menu->model); n++)
      {
        const PdTrayMenuItem *item = pd_tray_menu_model_get_item (menu->model, n);
        g_variant_builder_add (&children, "v",
                               layout_node (menu, item->id, depth < 0 ? -1 : depth - 1, names));
      }
  return g_variant_new ("(i@a{sv}av)", (gint32) id, item_properties (menu, id, names), &children);
}

static gboolean
valid_id (PdTrayDbusmenu *menu, gint32 id)
{
  return id == 0 || pd_tray_menu_model_lookup (menu->model, (guint) MAX (id, 0)) != NULL;
}

static gboolean
handle_event (PdTrayDbusmenu *menu, gint32 id, const char *event_id)
{
  if (!valid_id (menu, id))
    return FALSE;
  if (g_strcmp0 (event_id, "clicked") != 0 || id == 0)
    return TRUE; /* opened, closed, hovered: nothing to do */
  const PdTrayMenuItem *item = pd_tray_menu_model_lookup (menu->model, id);
  if (item->action == NULL || !item->enabled || !item->visible)
    return TRUE;
  g_autofree char *name = NULL;
  g_autoptr (GVariant) target = NULL;
  if (g_action_parse_detailed_name (item->action, &name, &target, NULL))
    g_action_group_activate_action (menu->actions,
                                    g_str_has_prefix (name, "app.") ? name + 4 : name, target);
  return TRUE;
}

static void
method_call (GDBusConnection *connection, const char *sender, const char *object_path,
             const char *interface_name, const char *method_name, GVariant *parameters,
             GDBusMethodInvocation *invocation, gpointer user_data)
{
  PdTrayDbusmenu *menu = user_data;

  if (g_strcmp0 (method_name, "GetLayout") == 0)
    {
      gint32 parent, depth;
      g_autofree const char **names = NULL;
      g_variant_get (parameters, "(ii^a&s)", &parent, &depth, &names);
      if (!valid_id (menu, parent))
        {
          g_dbus_method_invocation_return_error (
              invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "No menu item %d.", parent);
          return;
        }
      g_dbus_method_invocation_return_value (
          invocation, g_variant_new ("(u@(ia{sv}av))", menu->revision,
                                     layout_node (menu, (guint) parent, depth, names)));
    }
  else if (g_strcmp0 (method_name, "GetGroupProperties") == 0)
    {
      g_autoptr (GVariantIter) ids = NULL;
      g_autofree const char **names = NULL;
      GVariantBuilder b;
      gint32 id;
      guint n = 0;
      g_variant_get (parameters, "(ai^a&s)", &ids, &names);
      g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ia{sv})"));
      while (n++ < MAX_GROUP_IDS && g_variant_iter_next (ids, "i", &id))
        if (valid_id (menu, id))
          g_variant_builder_add (&b, "(i@a{sv})", id, item_properties (menu, (guint) id, names));
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(ia{sv}))", &b));
    }
  else if (g_strcmp0 (method_name, "GetProperty") == 0)
    {
      gint32 id;
      const char *name;
      g_variant_get (parameters, "(i&s)", &id, &name);
      const char *names[] = { name, NULL };
      g_autoptr (GVariant) props
          = valid_id (menu, id) ? g_variant_ref_sink (item_properties (menu, id, names)) : NULL;
      g_autoptr (GVariant) value = props ? g_variant_lookup_value (props, name, NULL) : NULL;
      if (value == NULL)
        g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                               "Menu item %d has no property “%s”.", id, name);
      else
        g_dbus_method_invocation_return_value (invocation, g_variant_new ("(v)", value));
    }
  else if (g_strcmp0 (method_name, "Event") == 0)
    {
      gint32 id;
      const char *event_id;
      g_variant_get (parameters, "(i&svu)", &id, &event_id, NULL, NULL);
      if (!handle_event (menu, id, event_id))
        g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                               "No menu item %d.", id);
      else
        g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_strcmp0 (method_name, "EventGroup") == 0)
    {
      g_autoptr (GVariantIter) events = NULL;
      GVariantBuilder errors;
      gint32 id;
      const char *event_id;
      guint n = 0;
      g_variant_get (parameters, "(a(isvu))", &events);
      g_variant_builder_init (&errors, G_VARIANT_TYPE ("ai"));
      while (n++ < MAX_GROUP_IDS
             && g_variant_iter_next (events, "(i&svu)", &id, &event_id, NULL, NULL))
        if (!handle_event (menu, id, event_id))
          g_variant_builder_add (&errors, "i", id);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ai)", &errors));
    }
  else if (g_strcmp0 (method_name, "AboutToShow") == 0)
    {
      /* The model is always current: nothing to refresh. */
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(b)", FALSE));
    }
  else if (g_strcmp0 (method_name, "AboutToShowGroup") == 0)
    {
      g_dbus_method_invocation_return_value (
          invocation,
          g_variant_new ("(@ai@ai)", g_variant_new_array (G_VARIANT_TYPE_INT32, NULL, 0),
                         g_variant_new_array (G_VARIANT_TYPE_INT32, NULL, 0)));
    }
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "No method %s.", method_name);
}

static GVariant *
get_property (GDBusConnection *connection, const char *sender, const char *object_path,
              const char *interface_name, const char *property_name, GError **error,
              gpointer user_data)
{
  if (g_strcmp0 (property_name, "Version") == 0)
    return g_variant_new_uint32 (3);
  if (g_strcmp0 (property_name, "TextDirection") == 0)
    return g_variant_new_string ("ltr");
  if (g_strcmp0 (property_name, "Status") == 0)
    return g_variant_new_string ("normal");
  if (g_strcmp0 (property_name, "IconThemePath") == 0)
    {
      PdTrayDbusmenu *menu = user_data;
      const char *dirs[] = { menu->icon_theme_path, NULL };
      return g_variant_new_strv (dirs, menu->icon_theme_path != NULL ? 1 : 0);
    }
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s.",
               property_name);
  return NULL;
}

static const GDBusInterfaceVTable vtable = { method_call, get_property, NULL, { 0 } };

static void
on_model_changed (PdTrayMenuModel *model, GArray *ids, gboolean layout, PdTrayDbusmenu *menu)
{
  GVariantBuilder updated, removed;

  menu->revision++;
  if (layout)
    {
      g_dbus_connection_emit_signal (menu->connection, NULL, menu->path, "com.canonical.dbusmenu",
                                     "LayoutUpdated", g_variant_new ("(ui)", menu->revision, 0),
                                     NULL);
      return;
    }
  g_variant_builder_init (&updated, G_VARIANT_TYPE ("a(ia{sv})"));
  g_variant_builder_init (&removed, G_VARIANT_TYPE ("a(ias)"));
  for (guint n = 0; n < ids->len; n++)
    {
      guint id = g_array_index (ids, guint, n);
      const PdTrayMenuItem *item = pd_tray_menu_model_lookup (model, id);
      g_variant_builder_add (&updated, "(i@a{sv})", (gint32) id, item_properties (menu, id, NULL));
      if (item->icon_name == NULL && item->type == PD_TRAY_MENU_ITEM_STANDARD)
        {
          const char *gone[] = { "icon-name", NULL };
          g_variant_builder_add (&removed, "(i^as)", (gint32) id, gone);
        }
    }
  g_dbus_connection_emit_signal (menu->connection, NULL, menu->path, "com.canonical.dbusmenu",
                                 "ItemsPropertiesUpdated",
                                 g_variant_new ("(a(ia{sv})a(ias))", &updated, &removed), NULL);
}

PdTrayDbusmenu *
pd_tray_dbusmenu_export (GDBusConnection *connection, const char *object_path,
                         PdTrayMenuModel *model, GActionGroup *actions, GError **error)
{
  static GDBusNodeInfo *info;
  g_autoptr (PdTrayDbusmenu) menu = g_new0 (PdTrayDbusmenu, 1);

  if (info == NULL)
    info = g_dbus_node_info_new_for_xml (introspection_xml, NULL);
  menu->connection = g_object_ref (connection);
  menu->path = g_strdup (object_path);
  menu->model = g_object_ref (model);
  menu->actions = g_object_ref (actions);
  menu->revision = 1;
  menu->registration_id = g_dbus_connection_register_object (
      connection, object_path, info->interfaces[0], &vtable, menu, NULL, error);
  if (menu->registration_id == 0)
    return NULL;
  menu->changed_id = g_signal_connect (model, "changed", G_CALLBACK (on_model_changed), menu);
  return g_steal_pointer (&menu);
}

void
pd_tray_dbusmenu_free (PdTrayDbusmenu *menu)
{
  if (menu == NULL)
    return;
  if (menu->registration_id != 0)
    g_dbus_connection_unregister_object (menu->connection, menu->registration_id);
  g_clear_signal_handler (&menu->changed_id, menu->model);
  g_clear_object (&menu->model);
  g_clear_object (&menu->actions);
  g_clear_object (&menu->connection);
  g_free (menu->path);
  g_free (menu->icon_theme_path);
  g_free (menu);
}

void
pd_tray_dbusmenu_set_icon_theme_path (PdTrayDbusmenu *menu, const char *path)
{
  g_free (menu->icon_theme_path);
  menu->icon_theme_path = path != NULL && *path ? g_strdup (path) : NULL;
}
