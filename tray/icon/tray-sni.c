/* tray-sni.c - org.kde.StatusNotifierItem over GDBus. */
#include "tray-sni.h"
#include "pd-i18n.h"

#include "tray-dbusmenu.h"

#include <unistd.h>

#define SNI_PATH "/StatusNotifierItem"
#define MENU_PATH "/MenuBar"
#define SNI_IFACE "org.kde.StatusNotifierItem"
#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH "/StatusNotifierWatcher"

static const char introspection_xml[]
    = "<node>"
      " <interface name='org.kde.StatusNotifierItem'>"
      "  <property name='Category' type='s' access='read'/>"
      "  <property name='Id' type='s' access='read'/>"
      "  <property name='Title' type='s' access='read'/>"
      "  <property name='Status' type='s' access='read'/>"
      "  <property name='WindowId' type='i' access='read'/>"
      "  <property name='IconName' type='s' access='read'/>"
      "  <property name='IconThemePath' type='s' access='read'/>"
      "  <property name='OverlayIconName' type='s' access='read'/>"
      "  <property name='AttentionIconName' type='s' access='read'/>"
      "  <property name='AttentionMovieName' type='s' access='read'/>"
      "  <property name='ToolTip' type='(sa(iiay)ss)' access='read'/>"
      "  <property name='ItemIsMenu' type='b' access='read'/>"
      "  <property name='Menu' type='o' access='read'/>"
      "  <method name='ContextMenu'><arg type='i' direction='in'/><arg type='i' "
      "direction='in'/></method>"
      "  <method name='Activate'><arg type='i' direction='in'/><arg type='i' "
      "direction='in'/></method>"
      "  <method name='SecondaryActivate'><arg type='i' direction='in'/><arg type='i' "
      "direction='in'/></method>"
      "  <method name='Scroll'><arg type='i' direction='in'/><arg type='s' "
      "direction='in'/></method>"
      "  <signal name='NewTitle'/>"
      "  <signal name='NewIcon'/>"
      "  <signal name='NewAttentionIcon'/>"
      "  <signal name='NewOverlayIcon'/>"
      "  <signal name='NewToolTip'/>"
      "  <signal name='NewStatus'><arg type='s'/></signal>"
      " </interface>"
      "</node>";

struct _PdTraySni
{
  GObject parent_instance;
  GDBusConnection *connection;
  GActionGroup *actions;
  PdTrayDbusmenu *menu;
  GCancellable *cancellable;
  char *bus_name;
  guint own_id;
  guint watch_id;
  guint registration_id;
  gboolean name_acquired;
  gboolean watcher_present;
  gboolean watcher_known;
  gboolean registered;
  char *title;
  char *status;
  char *icon_name;
  char *tooltip_title;
  char *tooltip_body;
  char *icon_theme_path; /* where panels find our icons; "" when installed where they look */
};

G_DEFINE_TYPE (PdTraySni, pd_tray_sni, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_REGISTERED,
  PROP_WATCHER_PRESENT,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static void
set_registered (PdTraySni *self, gboolean registered)
{
  if (self->registered == registered)
    return;
  self->registered = registered;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_REGISTERED]);
}

static void
method_call (GDBusConnection *connection, const char *sender, const char *object_path,
             const char *interface_name, const char *method_name, GVariant *parameters,
             GDBusMethodInvocation *invocation, gpointer user_data)
{
  PdTraySni *self = user_data;

  /* A left click (Activate) or middle click opens the status window; the
   * host shows the menu itself for ContextMenu. */
  if (g_strcmp0 (method_name, "Activate") == 0 || g_strcmp0 (method_name, "SecondaryActivate") == 0)
    g_action_group_activate_action (self->actions, "status", NULL);
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static GVariant *
get_property (GDBusConnection *connection, const char *sender, const char *object_path,
              const char *interface_name, const char *property_name, GError **error,
              gpointer user_data)
{
  PdTraySni *self = user_data;
  const char *name = property_name;

  if (g_str_equal (name, "Category"))
    return g_variant_new_string ("Hardware");
  if (g_str_equal (name, "Id"))
    return g_variant_new_string ("passdesk");
  if (g_str_equal (name, "Title"))
    return g_variant_new_string (self->title);
  if (g_str_equal (name, "Status"))
    return g_variant_new_string (self->status);
  if (g_str_equal (name, "WindowId"))
    return g_variant_new_int32 (0);
  if (g_str_equal (name, "IconName") || g_str_equal (name, "AttentionIconName"))
    return g_variant_new_string (self->icon_name);
  if (g_str_equal (name, "IconThemePath"))
    return g_variant_new_string (self->icon_theme_path ? self->icon_theme_path : "");
  if (g_str_equal (name, "OverlayIconName") || g_str_equal (name, "AttentionMovieName"))
    return g_variant_new_string ("");
  if (g_str_equal (name, "ToolTip"))
    return g_variant_new ("(s@a(iiay)ss)", self->icon_name,
                          g_variant_new_array (G_VARIANT_TYPE ("(iiay)"), NULL, 0),
                          self->tooltip_title, self->tooltip_body);
  if (g_str_equal (name, "ItemIsMenu"))
    return g_variant_new_boolean (FALSE);
  if (g_str_equal (name, "Menu"))
    return g_variant_new_object_path (MENU_PATH);
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s.", name);
  return NULL;
}

static const GDBusInterfaceVTable vtable = { method_call, get_property, NULL, { 0 } };

static void
register_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  PdTraySni *self;

  if (ret == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PD_TRAY_SNI (user_data);
  if (ret == NULL)
    {
      g_message ("The StatusNotifierWatcher refused the tray icon: %s", error->message);
      set_registered (self, FALSE);
      return;
    }
  set_registered (self, self->watcher_present);
}

static void
try_register (PdTraySni *self)
{
  if (!self->watcher_present || !self->name_acquired)
    return;
  g_dbus_connection_call (self->connection, WATCHER_NAME, WATCHER_PATH, WATCHER_NAME,
                          "RegisterStatusNotifierItem", g_variant_new ("(s)", self->bus_name), NULL,
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, 10000, self->cancellable, register_cb,
                          self);
}

static void
name_acquired_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  PdTraySni *self = user_data;
  self->name_acquired = TRUE;
  try_register (self);
}

static void
watcher_appeared_cb (GDBusConnection *connection, const char *name, const char *owner,
                     gpointer user_data)
{
  PdTraySni *self = user_data;

  self->watcher_present = TRUE;
  self->watcher_known = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_WATCHER_PRESENT]);
  try_register (self);
}

static void
watcher_vanished_cb (GDBusConnection *connection, const char *name, gpointer user_data)
{
  PdTraySni *self = user_data;

  self->watcher_present = FALSE;
  self->watcher_known = TRUE;
  set_registered (self, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_WATCHER_PRESENT]);
}

static gboolean
replace_str (char **field, const char *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static void
emit (PdTraySni *self, const char *signal, GVariant *params)
{
  g_dbus_connection_emit_signal (self->connection, NULL, SNI_PATH, SNI_IFACE, signal, params, NULL);
}

void
pd_tray_sni_update (PdTraySni *self, const PdTrayState *state)
{
  g_autofree char *headline = pd_tray_state_headline (state);
  g_autofree char *body = pd_tray_state_tooltip_body (state);
  const char *status = state->overall == PD_STATE_FAILED ? "NeedsAttention" : "Active";
  gboolean icon, tip, title, st;

  icon = replace_str (&self->icon_name, pd_tray_state_icon_name (state));
  title = replace_str (&self->title, headline);
  tip = replace_str (&self->tooltip_title, headline);
  tip |= replace_str (&self->tooltip_body, body);
  st = replace_str (&self->status, status);
  if (icon)
    {
      emit (self, "NewIcon", NULL);
      emit (self, "NewAttentionIcon", NULL);
    }
  if (title)
    emit (self, "NewTitle", NULL);
  if (tip || icon)
    emit (self, "NewToolTip", NULL);
  if (st)
    emit (self, "NewStatus", g_variant_new ("(s)", status));
}

gboolean
pd_tray_sni_get_registered (PdTraySni *self)
{
  return self->registered;
}

gboolean
pd_tray_sni_get_watcher_known (PdTraySni *self)
{
  return self->watcher_known;
}

gboolean
pd_tray_sni_get_watcher_present (PdTraySni *self)
{
  return self->watcher_present;
}

static void
pd_tray_sni_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PdTraySni *self = PD_TRAY_SNI (object);

  switch (prop_id)
    {
    case PROP_REGISTERED:
      g_value_set_boolean (value, self->registered);
      break;
    case PROP_WATCHER_PRESENT:
      g_value_set_boolean (value, self->watcher_present);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pd_tray_sni_dispose (GObject *object)
{
  PdTraySni *self = PD_TRAY_SNI (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  g_clear_handle_id (&self->own_id, g_bus_unown_name);
  if (self->registration_id != 0)
    {
      g_dbus_connection_unregister_object (self->connection, self->registration_id);
      self->registration_id = 0;
    }
  g_clear_pointer (&self->menu, pd_tray_dbusmenu_free);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->actions);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (pd_tray_sni_parent_class)->dispose (object);
}

static void
pd_tray_sni_finalize (GObject *object)
{
  PdTraySni *self = PD_TRAY_SNI (object);

  g_free (self->bus_name);
  g_free (self->title);
  g_free (self->status);
  g_free (self->icon_name);
  g_free (self->tooltip_title);
  g_free (self->tooltip_body);
  g_free (self->icon_theme_path);
  G_OBJECT_CLASS (pd_tray_sni_parent_class)->finalize (object);
}

static void
pd_tray_sni_class_init (PdTraySniClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = pd_tray_sni_get_property;
  object_class->dispose = pd_tray_sni_dispose;
  object_class->finalize = pd_tray_sni_finalize;
  props[PROP_REGISTERED] = g_param_spec_boolean ("registered", NULL, NULL, FALSE,
                                                 G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_WATCHER_PRESENT] = g_param_spec_boolean ("watcher-present", NULL, NULL, FALSE,
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
pd_tray_sni_init (PdTraySni *self)
{
  self->cancellable = g_cancellable_new ();
  self->title = g_strdup ("passdesk");
  self->status = g_strdup ("Active");
  self->icon_name = g_strdup ("passdesk-unknown");
  self->tooltip_title = g_strdup ("passdesk");
  self->tooltip_body = g_strdup ("");
}

PdTraySni *
pd_tray_sni_new (GDBusConnection *connection, PdTrayMenuModel *model, GActionGroup *actions)
{
  static GDBusNodeInfo *info;
  g_autoptr (GError) error = NULL;
  PdTraySni *self = g_object_new (PD_TYPE_TRAY_SNI, NULL);

  if (info == NULL)
    info = g_dbus_node_info_new_for_xml (introspection_xml, NULL);
  self->connection = g_object_ref (connection);
  self->actions = g_object_ref (actions);
  self->bus_name = g_strdup_printf ("org.kde.StatusNotifierItem-%d-1", (int) getpid ());
  self->registration_id = g_dbus_connection_register_object (
      connection, SNI_PATH, info->interfaces[0], &vtable, self, NULL, &error);
  if (self->registration_id == 0)
    {
      g_warning ("Cannot export the tray icon: %s", error->message);
      g_clear_error (&error);
    }
  self->menu = pd_tray_dbusmenu_export (connection, MENU_PATH, model, actions, &error);
  if (self->menu == NULL)
    g_warning ("Cannot export the tray menu: %s", error->message);
  self->own_id = g_bus_own_name_on_connection (
      connection, self->bus_name, G_BUS_NAME_OWNER_FLAGS_NONE, name_acquired_cb, NULL, self, NULL);
  self->watch_id
      = g_bus_watch_name_on_connection (connection, WATCHER_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                        watcher_appeared_cb, watcher_vanished_cb, self, NULL);
  return self;
}

void
pd_tray_sni_set_icon_theme_path (PdTraySni *self, const char *path)
{
  g_free (self->icon_theme_path);
  self->icon_theme_path = g_strdup (path);
  if (self->menu != NULL)
    pd_tray_dbusmenu_set_icon_theme_path (self->menu, path);
}
