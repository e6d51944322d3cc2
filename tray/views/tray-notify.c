/* tray-notify.c - incident notifications over org.freedesktop.Notifications. */
#include "tray-notify.h"

#define NOTIFY_NAME "org.freedesktop.Notifications"
#define NOTIFY_PATH "/org/freedesktop/Notifications"
#define FLAP_WINDOW_US (60 * G_USEC_PER_SEC)

typedef struct
{
  PdComponentId component;
  guint32 id;          /* the server's id; 0 while none is shown */
  gboolean active;     /* the incident is open */
  gboolean suppressed; /* open, but a flap within a minute: not announced */
  guint flap_timer_id; /* announces a suppressed incident that outlasts the minute */
  PdTrayNotify *owner;
  char *key;        /* what was (or will be) shown, for change detection */
  gboolean quiet;   /* open, but already announced before this tray started */
  guint expire_id;  /* withdraws a critical notification after a while */
  gboolean pending; /* a Notify call is in flight */
  gboolean dirty;   /* content changed while in flight */
  gboolean close_after;
  gint64 last_time; /* monotonic time of the last announcement */
  char *last_key;   /* what it announced */
  char *summary;
  char *text;         /* what happened (the component's summary) */
  char *next;         /* the next step (the component's first advice), or NULL */
  char *hint_item;    /* the menu item named when the server has no actions */
  GPtrArray *actions; /* extra actions: key, label, key, label ... */
  PdState state;
} Incident;

struct _PdTrayNotify
{
  GObject parent_instance;
  GDBusConnection *connection;
  GCancellable *cancellable;
  guint watch_id;
  guint action_sub;
  guint closed_sub;
  gboolean caps_known;
  gboolean have_actions;
  gboolean have_icon;
  Incident incidents[PD_N_COMPONENTS];
  guint32 message_id;
  PdTraySettings *settings; /* not owned */
  GKeyFile *announced;      /* component -> key of the incident last announced */
  char *announced_path;
};

G_DEFINE_TYPE (PdTrayNotify, pd_tray_notify, G_TYPE_OBJECT)

static guint action_signal;

static void send_incident (PdTrayNotify *self, Incident *inc);

typedef struct
{
  PdTrayNotify *self;
  Incident *inc; /* NULL for a message */
} NotifyCall;

static void
close_notification (PdTrayNotify *self, guint32 id)
{
  g_dbus_connection_call (self->connection, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
                          "CloseNotification", g_variant_new ("(u)", id), NULL,
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, NULL, NULL);
}

static void
notify_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autofree NotifyCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  guint32 id = 0;

  if (ret == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (ret == NULL)
    g_message ("Cannot show a notification: %s", error->message);
  else
    g_variant_get (ret, "(u)", &id);

  if (call->inc == NULL)
    {
      call->self->message_id = id;
      return;
    }
  Incident *inc = call->inc;
  inc->pending = FALSE;
  inc->id = id;
  if (inc->close_after)
    {
      inc->close_after = FALSE;
      if (inc->id != 0)
        close_notification (call->self, inc->id);
      inc->id = 0;
    }
  else if (inc->dirty)
    send_incident (call->self, inc);
}

/* Servers differ in what they do with "default": the spec makes it the click
 * on the notification, xfce4-notifyd also draws it as a button. So it is the
 * only way to the details, and every other action has a label of its own:
 * one button per action everywhere. */
static void
call_notify (PdTrayNotify *self, Incident *inc, guint32 replaces, const char *icon,
             const char *summary, const char *body, GPtrArray *extra, guchar urgency)
{
  GVariantBuilder acts, hints;
  NotifyCall *call = g_new0 (NotifyCall, 1);

  call->self = self;
  call->inc = inc;
  g_variant_builder_init (&acts, G_VARIANT_TYPE ("as"));
  if (self->have_actions)
    {
      g_variant_builder_add (&acts, "s", "default");
      g_variant_builder_add (&acts, "s", "Details");
      for (guint i = 0; extra != NULL && i < extra->len; i++)
        g_variant_builder_add (&acts, "s", (const char *) g_ptr_array_index (extra, i));
    }
  g_variant_builder_init (&hints, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&hints, "{sv}", "desktop-entry",
                         g_variant_new_string ("org.passdesk.Tray"));
  g_variant_builder_add (&hints, "{sv}", "urgency", g_variant_new_byte (urgency));
  g_dbus_connection_call (self->connection, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME, "Notify",
                          g_variant_new ("(susssasa{sv}i)", "passdesk", replaces, icon, summary,
                                         body, &acts, &hints, -1),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 10000, self->cancellable,
                          notify_cb, call);
}

static const char *
where_to_click (PdTrayNotify *self, const char *menu_item)
{
  if (self->have_actions)
    return NULL;
  if (!self->have_icon)
    return _ ("Open “passdesk” from the applications menu to see the details.");
  if (g_strcmp0 (menu_item, "switch-hdmi") == 0)
    return _ ("Click the passdesk icon and choose “Switch audio to HDMI”.");
  if (g_strcmp0 (menu_item, "cold-restart") == 0)
    return _ ("Click the passdesk icon and choose “Cold restart VM…”.");
  return _ ("Click the passdesk icon and choose “Status…” for the details.");
}

/* ---- what was announced, across tray restarts and logins ---- */

static void
announced_save (PdTrayNotify *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (self->announced_path);

  if (g_mkdir_with_parents (dir, 0700) != 0
      || !g_key_file_save_to_file (self->announced, self->announced_path, &error))
    g_debug ("Cannot remember the announced incidents in %s: %s", self->announced_path,
             error ? error->message : _ ("cannot create the folder"));
}

static void
announced_set (PdTrayNotify *self, PdComponentId id, const char *key)
{
  const char *name = pd_component_id_to_string (id);
  g_autofree char *old = g_key_file_get_string (self->announced, "announced", name, NULL);

  if (g_strcmp0 (old, key) == 0)
    return;
  if (key != NULL)
    g_key_file_set_string (self->announced, "announced", name, key);
  else
    g_key_file_remove_key (self->announced, "announced", name, NULL);
  announced_save (self);
}

static gboolean
announced_is (PdTrayNotify *self, PdComponentId id, const char *key)
{
  g_autofree char *old
      = g_key_file_get_string (self->announced, "announced", pd_component_id_to_string (id), NULL);
  return old != NULL && g_strcmp0 (old, key) == 0;
}

/* ---- sending ---- */

static gboolean
expire_cb (gpointer data)
{
  Incident *inc = data;

  /* A failure's notification is critical (it stays on screen), but not for
   * ever: the icon keeps showing the incident after this. */
  inc->expire_id = 0;
  if (inc->pending)
    inc->close_after = TRUE;
  else if (inc->id != 0)
    {
      close_notification (inc->owner, inc->id);
      inc->id = 0;
    }
  return G_SOURCE_REMOVE;
}

static void
send_incident (PdTrayNotify *self, Incident *inc)
{
  if (!self->caps_known)
    {
      inc->dirty = TRUE; /* sent when the capabilities arrive */
      return;
    }
  if (inc->pending)
    {
      inc->dirty = TRUE;
      return;
    }
  const char *hint = where_to_click (self, inc->hint_item);
  g_autofree char *body
      = g_strdup_printf ("%s%s%s%s%s", inc->text, inc->next ? "\n" : "", inc->next ? inc->next : "",
                         hint ? "\n" : "", hint ? hint : "");
  inc->dirty = FALSE;
  inc->pending = TRUE;
  inc->last_time = g_get_monotonic_time ();
  g_free (inc->last_key);
  inc->last_key = g_strdup (inc->key);
  announced_set (self, inc->component, inc->key);
  call_notify (self, inc, inc->id, pd_tray_state_icon_for (inc->state), inc->summary, body,
               inc->actions, inc->state == PD_STATE_FAILED ? 2 : 1);
  g_clear_handle_id (&inc->expire_id, g_source_remove);
  guint expire_s = self->settings ? pd_tray_settings_get_critical_seconds (self->settings) : 0;
  if (inc->state == PD_STATE_FAILED && expire_s > 0)
    inc->expire_id = g_timeout_add_seconds (expire_s, expire_cb, inc);
}

static gboolean
flap_over_cb (gpointer data)
{
  Incident *inc = data;

  inc->flap_timer_id = 0;
  if (inc->active && inc->suppressed)
    {
      inc->suppressed = FALSE;
      send_incident (inc->owner, inc);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
incident_wanted (const PdTrayState *state, PdComponentId id, const PdComponent *c)
{
  if (c == NULL || (c->state != PD_STATE_FAILED && c->state != PD_STATE_DEGRADED))
    return FALSE;
  /* The host link is down whenever no host helper runs; that only matters
   * to the user while a cold restart depends on it. */
  if (id == PD_COMPONENT_HOSTLINK)
    return pd_tray_cold_restart_active (state->cold_restart_state);
  return TRUE;
}

static void
withdraw (PdTrayNotify *self, Incident *inc)
{
  inc->active = FALSE;
  inc->suppressed = FALSE;
  inc->quiet = FALSE;
  g_clear_handle_id (&inc->flap_timer_id, g_source_remove);
  g_clear_handle_id (&inc->expire_id, g_source_remove);
  g_clear_pointer (&inc->key, g_free);
  if (inc->pending)
    inc->close_after = TRUE;
  else if (inc->id != 0)
    {
      close_notification (self, inc->id);
      inc->id = 0;
    }
  inc->dirty = FALSE;
}

static void
add_action (GPtrArray *actions, const char *key, const char *label)
{
  g_ptr_array_add (actions, g_strdup (key));
  g_ptr_array_add (actions, g_strdup (label));
}

void
pd_tray_notify_update (PdTrayNotify *self, const PdTrayState *state)
{
  for (PdComponentId id = 0; id < PD_N_COMPONENTS; id++)
    {
      Incident *inc = &self->incidents[id];
      const PdComponent *c = pd_report_get (state->report, id);

      /* The agent going away (a restart, an upgrade), or not having
       * reported a component yet, says nothing about the hardware: the
       * incident stays as it is until the component is reported again. Audio
       * is also seen by the session itself. */
      if ((!state->agent_connected && id != PD_COMPONENT_AUDIO) || c == NULL)
        continue;

      gboolean muted = self->settings != NULL && pd_tray_settings_get_muted (self->settings, id);
      if (!incident_wanted (state, id, c) || muted)
        {
          if (inc->active)
            withdraw (self, inc);
          /* Recovered (or muted): the next time is news again. */
          if (!muted)
            announced_set (self, id, NULL);
          continue;
        }

      g_autoptr (GPtrArray) actions = g_ptr_array_new_with_free_func (g_free);
      const char *hint_item = NULL;
      gboolean can_cold_restart = state->cold_restart_blocked == NULL;
      if ((id == PD_COMPONENT_GPU || id == PD_COMPONENT_VAAPI) && c->state == PD_STATE_FAILED
          && can_cold_restart)
        {
          add_action (actions, "cold-restart", _ ("Cold restart VM"));
          hint_item = "cold-restart";
        }
      if (id == PD_COMPONENT_AUDIO)
        {
          /* Only what can work in this state: a switch needs an HDMI/DP
           * output to switch to; without one, or when the codec itself
           * misbehaves, the cold restart is the step that resets it. */
          /* The HD-Audio hardware failed (codec timeout, spurious
           * answers, no codec): rebinding its driver resets the controller
           * and probes the codecs again, without a restart. */
          if (state->audio_repairable && state->agent_connected)
            add_action (actions, "repair-audio", _ ("Repair HDMI audio"));
          if (state->can_switch_audio && state->audio_fallback)
            {
              add_action (actions, "switch-hdmi", _ ("Switch to HDMI"));
              hint_item = "switch-hdmi";
            }
          else if (c->state == PD_STATE_FAILED && can_cold_restart)
            {
              add_action (actions, "cold-restart", _ ("Cold restart VM"));
              hint_item = "cold-restart";
            }
          if (state->audio_keepable != NULL)
            {
              g_autofree char *label = g_strdup_printf (_ ("Keep “%s”"), state->audio_keepable);
              add_action (actions, "keep-output", label);
            }
        }

      const PdAdvice *advice = c->advice->len > 0 ? g_ptr_array_index (c->advice, 0) : NULL;
      /* TRANSLATORS: a notification's title; %s is a component ("GPU", "Audio") */
      g_autofree char *summary
          = c->state == PD_STATE_FAILED
                ? g_strdup_printf (_ ("%s failed"), pd_component_title_localized (id))
                : g_strdup_printf (_ ("%s degraded"), pd_component_title_localized (id));
      g_autoptr (GString) key = g_string_new (NULL);
      g_string_append_printf (key, "%d|%s|%s|%s", c->state, summary, c->summary ? c->summary : "",
                              advice ? advice->text : "");
      for (guint i = 0; i < actions->len; i += 2)
        g_string_append_printf (key, "|%s", (const char *) g_ptr_array_index (actions, i));

      if (inc->active && g_strcmp0 (inc->key, key->str) == 0)
        continue;

      gboolean fresh = !inc->active;
      inc->active = TRUE;
      g_free (inc->key);
      inc->key = g_strdup (key->str);
      g_free (inc->summary);
      inc->summary = g_steal_pointer (&summary);
      g_free (inc->text);
      inc->text = g_strdup (c->summary ? c->summary : "");
      g_free (inc->next);
      inc->next = advice ? g_strdup (advice->text) : NULL;
      g_free (inc->hint_item);
      inc->hint_item = g_strdup (hint_item);
      g_clear_pointer (&inc->actions, g_ptr_array_unref);
      inc->actions = g_ptr_array_ref (actions);
      inc->state = c->state;

      if (fresh && announced_is (self, id, inc->key))
        {
          /* Announced before this tray started (an earlier login, a tray
           * restart) and unchanged since: the icon shows it, the user has
           * been told. */
          inc->quiet = TRUE;
          continue;
        }
      inc->quiet = FALSE;
      if (fresh && inc->last_time != 0 && g_strcmp0 (inc->last_key, inc->key) == 0
          && g_get_monotonic_time () - inc->last_time < FLAP_WINDOW_US)
        {
          /* The same incident came back within a minute of its last
           * announcement: a flapping link or sink. The icon shows it; the
           * user is told again only if it is still there when the minute is
           * over (a one-shot timer that exists only in this case). */
          gint64 left_us = FLAP_WINDOW_US - (g_get_monotonic_time () - inc->last_time);
          inc->suppressed = TRUE;
          g_clear_handle_id (&inc->flap_timer_id, g_source_remove);
          inc->flap_timer_id = g_timeout_add ((guint) (left_us / 1000) + 1, flap_over_cb, inc);
          continue;
        }
      if (inc->suppressed && !fresh)
        {
          /* Changed while suppressed: a real change, announce it. */
          inc->suppressed = FALSE;
          g_clear_handle_id (&inc->flap_timer_id, g_source_remove);
        }
      send_incident (self, inc);
    }
}

void
pd_tray_notify_set_have_icon (PdTrayNotify *self, gboolean have_icon)
{
  self->have_icon = have_icon;
}

void
pd_tray_notify_message (PdTrayNotify *self, const char *summary, const char *body)
{
  call_notify (self, NULL, self->message_id, "passdesk-unknown", summary, body, NULL, 1);
}

static void
on_signal (GDBusConnection *connection, const char *sender, const char *path, const char *interface,
           const char *signal, GVariant *params, gpointer user_data)
{
  PdTrayNotify *self = user_data;
  guint32 id;

  if (g_strcmp0 (signal, "ActionInvoked") == 0
      && g_variant_is_of_type (params, G_VARIANT_TYPE ("(us)")))
    {
      const char *key;
      g_variant_get (params, "(u&s)", &id, &key);
      if (id == 0)
        return;
      const char *action = g_strcmp0 (key, "default") == 0 ? "details" : key;
      if (id == self->message_id)
        {
          g_signal_emit (self, action_signal, 0, action, "");
          return;
        }
      for (PdComponentId c = 0; c < PD_N_COMPONENTS; c++)
        if (self->incidents[c].id == id)
          {
            g_signal_emit (self, action_signal, 0, action, pd_component_id_to_string (c));
            return;
          }
    }
  else if (g_strcmp0 (signal, "NotificationClosed") == 0
           && g_variant_is_of_type (params, G_VARIANT_TYPE ("(uu)")))
    {
      g_variant_get (params, "(uu)", &id, NULL);
      if (id == 0)
        return;
      if (id == self->message_id)
        self->message_id = 0;
      /* The incident stays open: dismissing it is not a recovery. */
      for (PdComponentId c = 0; c < PD_N_COMPONENTS; c++)
        if (self->incidents[c].id == id && !self->incidents[c].pending)
          self->incidents[c].id = 0;
    }
}

static void
caps_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  PdTrayNotify *self;

  if (ret == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PD_TRAY_NOTIFY (user_data);
  self->have_actions = FALSE;
  if (ret != NULL)
    {
      g_autofree const char **caps = NULL;
      g_variant_get (ret, "(^a&s)", &caps);
      self->have_actions = g_strv_contains (caps, "actions");
    }
  else
    g_debug ("GetCapabilities failed: %s", error->message);
  self->caps_known = TRUE;
  for (PdComponentId c = 0; c < PD_N_COMPONENTS; c++)
    if (self->incidents[c].active && self->incidents[c].dirty && !self->incidents[c].suppressed
        && !self->incidents[c].quiet)
      send_incident (self, &self->incidents[c]);
}

static void
query_caps (PdTrayNotify *self)
{
  g_dbus_connection_call (self->connection, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
                          "GetCapabilities", NULL, G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE,
                          5000, self->cancellable, caps_cb, self);
}

static void
server_appeared_cb (GDBusConnection *connection, const char *name, const char *owner,
                    gpointer user_data)
{
  /* A new server (restart, or another daemon) may differ in capabilities,
   * and it has forgotten our ids. */
  PdTrayNotify *self = user_data;
  for (PdComponentId c = 0; c < PD_N_COMPONENTS; c++)
    if (!self->incidents[c].pending)
      self->incidents[c].id = 0;
  self->message_id = 0;
  query_caps (self);
}

static void
pd_tray_notify_dispose (GObject *object)
{
  PdTrayNotify *self = PD_TRAY_NOTIFY (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  for (PdComponentId c = 0; c < PD_N_COMPONENTS; c++)
    {
      g_clear_handle_id (&self->incidents[c].flap_timer_id, g_source_remove);
      g_clear_handle_id (&self->incidents[c].expire_id, g_source_remove);
    }
  if (self->connection != NULL)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->action_sub);
      g_dbus_connection_signal_unsubscribe (self->connection, self->closed_sub);
      self->action_sub = self->closed_sub = 0;
    }
  g_clear_object (&self->cancellable);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (pd_tray_notify_parent_class)->dispose (object);
}

static void
pd_tray_notify_finalize (GObject *object)
{
  PdTrayNotify *self = PD_TRAY_NOTIFY (object);

  for (PdComponentId c = 0; c < PD_N_COMPONENTS; c++)
    {
      Incident *inc = &self->incidents[c];
      g_free (inc->key);
      g_free (inc->last_key);
      g_free (inc->summary);
      g_free (inc->text);
      g_free (inc->next);
      g_free (inc->hint_item);
      g_clear_pointer (&inc->actions, g_ptr_array_unref);
    }
  g_key_file_unref (self->announced);
  g_free (self->announced_path);
  G_OBJECT_CLASS (pd_tray_notify_parent_class)->finalize (object);
}

static void
pd_tray_notify_class_init (PdTrayNotifyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pd_tray_notify_dispose;
  object_class->finalize = pd_tray_notify_finalize;
  action_signal = g_signal_new ("action", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
pd_tray_notify_init (PdTrayNotify *self)
{
  self->cancellable = g_cancellable_new ();
  self->have_icon = TRUE;
  for (PdComponentId c = 0; c < PD_N_COMPONENTS; c++)
    {
      self->incidents[c].component = c;
      self->incidents[c].owner = self;
    }
}

PdTrayNotify *
pd_tray_notify_new (GDBusConnection *session, PdTraySettings *settings)
{
  PdTrayNotify *self = g_object_new (PD_TYPE_TRAY_NOTIFY, NULL);

  self->settings = settings;
  self->announced_path
      = g_build_filename (g_get_user_state_dir (), "passdesk", "announced.ini", NULL);
  self->announced = g_key_file_new ();
  /* Missing or unreadable: everything open is news. */
  g_key_file_load_from_file (self->announced, self->announced_path, G_KEY_FILE_NONE, NULL);

  self->connection = g_object_ref (session);
  /* Sender left open: GDBus cannot match a well-known sender name before it
   * knows the owner; path and interface are specific enough. */
  self->action_sub = g_dbus_connection_signal_subscribe (
      session, NULL, NOTIFY_NAME, "ActionInvoked", NOTIFY_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
      on_signal, self, NULL);
  self->closed_sub = g_dbus_connection_signal_subscribe (
      session, NULL, NOTIFY_NAME, "NotificationClosed", NOTIFY_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
      on_signal, self, NULL);
  /* Notification servers are often D-Bus activated: ask right away (which
   * may start one), and again whenever a new one takes the name. */
  query_caps (self);
  self->watch_id = g_bus_watch_name_on_connection (
      session, NOTIFY_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE, server_appeared_cb, NULL, self, NULL);
  return self;
}
