/* tray-agent-client.c - follows org.passdesk.Agent1 through the generated
 * PdDbusAgent1 proxy (agent/dbus/agent-client.h).
 *
 * GDBusProxy already tracks the name owner and reloads the cached properties
 * when the agent comes back, so there is no name watching of our own. The
 * report and the events are decoded by agent/dbus/components-variant.h,
 * which bounds and validates what the bus carries.
 *
 * The Components property is English. Unless we run in the C locale, each
 * change is followed by GetComponents with our LC_MESSAGES locale, and
 * "changed" is emitted only once that answer (or, from an agent without the
 * method, the property with its plain sentences looked up here) is in.
 */
#include "tray-agent-client.h"

#include "agent-client.h"
#include "pd-i18n.h"

#define MAX_EVENTS 200

struct _PdTrayAgent
{
  GObject parent_instance;
  PdDbusAgent1 *proxy;
  GCancellable *cancellable;
  PdReport *report;
  char *cold_restart_state;
  GPtrArray *events;
  gboolean connected;
  const char *start_command; /* static: how to start the agent on our bus */
  guint components_serial;   /* drops answers overtaken by a newer change */
};

G_DEFINE_TYPE (PdTrayAgent, pd_tray_agent, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  SIGNAL_EVENT,
  SIGNAL_COLD_RESTART_PROGRESS,
  SIGNAL_EVENTS_RESET,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
reload_properties (PdTrayAgent *self)
{
  GDBusProxy *proxy = G_DBUS_PROXY (self->proxy);
  g_autoptr (GVariant) comps = g_dbus_proxy_get_cached_property (proxy, "Components");
  g_autoptr (GVariant) crs = g_dbus_proxy_get_cached_property (proxy, "ColdRestartState");
  g_autofree char *owner = g_dbus_proxy_get_name_owner (proxy);

  /* In another language the agent words the components for us (changed());
   * until it has, the tray keeps what it had: the English property would
   * reach a notification or the window whenever something else (an event)
   * makes the tray look before the worded ones arrive. */
  if (*pd_i18n_messages_locale () == '\0' || owner == NULL || self->report == NULL)
    {
      pd_report_free (self->report);
      self->report = *pd_i18n_messages_locale () == '\0' || owner == NULL
                         ? pd_report_from_components_variant (comps, "agent")
                         : pd_report_from_components_variant (NULL, "agent");
    }
  g_free (self->cold_restart_state);
  self->cold_restart_state
      = g_strdup (crs != NULL && g_variant_is_of_type (crs, G_VARIANT_TYPE_STRING)
                      ? g_variant_get_string (crs, NULL)
                      : "idle");
  self->connected = owner != NULL;
}

/* Event and progress texts are the agent's or the host's English: plain
 * sentences are msgids of our domain (pd-i18n.h). */
static void
localize_text (char **text)
{
  const char *t = pd_i18n_text (*text);
  if (t != *text)
    {
      char *copy = g_strdup (t);
      g_free (*text);
      *text = copy;
    }
}

static void
add_event (PdTrayAgent *self, PdEventEntry *e)
{
  localize_text (&e->text);
  if (self->events->len >= MAX_EVENTS)
    g_ptr_array_remove_index (self->events, 0);
  g_ptr_array_add (self->events, e);
}

static void fetch_events_english (PdTrayAgent *self);

static void
take_events (PdTrayAgent *self, GVariant *events)
{
  GVariantIter iter;
  GVariant *v;
  g_ptr_array_set_size (self->events, 0);
  g_variant_iter_init (&iter, events);
  while ((v = g_variant_iter_next_value (&iter)) != NULL)
    {
      PdEventEntry *e = pd_event_entry_from_variant (v);
      if (e != NULL)
        add_event (self, e);
      g_variant_unref (v);
    }
  g_signal_emit (self, signals[SIGNAL_EVENTS_RESET], 0);
}

static void
get_events_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) events = NULL;
  if (!pd_dbus_agent1_call_get_events_finish (PD_DBUS_AGENT1 (source), &events, res, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("GetEvents failed: %s", error->message);
      return;
    }
  take_events (PD_TRAY_AGENT (user_data), events);
}

/* The history in our language (GetEventList); an agent without it gives
 * the English history, its plain sentences looked up here. */
static void
get_event_list_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) events = NULL;
  if (!pd_dbus_agent1_call_get_event_list_finish (PD_DBUS_AGENT1 (source), &events, res, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_debug ("GetEventList failed: %s", error->message);
      fetch_events_english (PD_TRAY_AGENT (user_data));
      return;
    }
  take_events (PD_TRAY_AGENT (user_data), events);
}

static GVariant *
event_list_options (guint32 newest)
{
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "locale", g_variant_new_string (pd_i18n_messages_locale ()));
  if (newest > 0)
    g_variant_builder_add (&b, "{sv}", "newest", g_variant_new_uint32 (newest));
  return g_variant_builder_end (&b);
}

/* The generated calls take the proxy's default timeout. */
static void
set_timeout (PdTrayAgent *self, int timeout_ms)
{
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (self->proxy), timeout_ms);
}

static void
fetch_events_english (PdTrayAgent *self)
{
  set_timeout (self, 10000);
  pd_dbus_agent1_call_get_events (self->proxy, self->cancellable, get_events_cb, self);
}

static void
fetch_events (PdTrayAgent *self)
{
  if (*pd_i18n_messages_locale () == '\0')
    {
      fetch_events_english (self);
      return;
    }
  set_timeout (self, 10000);
  pd_dbus_agent1_call_get_event_list (self->proxy, event_list_options (0), self->cancellable,
                                      get_event_list_cb, self);
}

/* A new event in our language: the agent words the newest few again and
 * the one matching the signal replaces the English text. Replies come in
 * the order of the calls, so events stay in order. */
#define EVENT_LOOKBACK 8

typedef struct
{
  PdTrayAgent *self; /* a reference */
  PdEventEntry *e;   /* from the signal, English */
} EventCall;

static void
publish_event (PdTrayAgent *self, PdEventEntry *e)
{
  add_event (self, e);
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, e->time, e->kind, e->component, e->text);
}

static void
get_new_event_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  EventCall *call = user_data;
  g_autoptr (PdTrayAgent) self = call->self;
  PdEventEntry *e = call->e;
  g_free (call);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) events = NULL;
  if (!pd_dbus_agent1_call_get_event_list_finish (PD_DBUS_AGENT1 (source), &events, res, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      pd_event_entry_free (e);
      return;
    }
  for (gsize i = events ? g_variant_n_children (events) : 0; i > 0; i--)
    {
      g_autoptr (GVariant) v = g_variant_get_child_value (events, i - 1);
      g_autoptr (PdEventEntry) w = pd_event_entry_from_variant (v);
      if (w != NULL && w->time == e->time && g_strcmp0 (w->kind, e->kind) == 0
          && g_strcmp0 (w->component, e->component) == 0)
        {
          g_free (e->text);
          e->text = g_steal_pointer (&w->text);
          break;
        }
    }
  publish_event (self, e);
}

/* Takes @p. */
static void
publish_progress (PdTrayAgent *self, PdEventEntry *p)
{
  localize_text (&p->text);
  g_signal_emit (self, signals[SIGNAL_COLD_RESTART_PROGRESS], 0, p->kind, p->text);
  pd_event_entry_free (p);
}

static void
get_progress_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  EventCall *call = user_data;
  g_autoptr (PdTrayAgent) self = call->self;
  PdEventEntry *p = call->e;
  g_free (call);
  g_autoptr (GError) error = NULL;
  g_autofree char *phase = NULL, *text = NULL;
  if (!pd_dbus_agent1_call_get_cold_restart_progress_finish (PD_DBUS_AGENT1 (source), &phase, &text,
                                                             res, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          pd_event_entry_free (p);
          return;
        }
      g_debug ("GetColdRestartProgress failed: %s", error->message);
    }
  /* A newer phase may have come meanwhile: its own call words it. */
  else if (g_strcmp0 (phase, p->kind) == 0)
    {
      g_free (p->text);
      p->text = g_steal_pointer (&text);
    }
  publish_progress (self, p);
}

typedef struct
{
  PdTrayAgent *self; /* a reference */
  guint serial;
} ComponentsCall;

static void
get_components_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ComponentsCall *call = user_data;
  g_autoptr (PdTrayAgent) self = call->self;
  guint serial = call->serial;
  g_free (call);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) comps = NULL;
  gboolean ok
      = pd_dbus_agent1_call_get_components_finish (PD_DBUS_AGENT1 (source), &comps, res, &error);
  if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (serial != self->components_serial)
    return;
  if (ok)
    {
      pd_report_free (self->report);
      self->report = pd_report_from_components_variant (comps, "agent");
    }
  else
    {
      /* An older agent: its plain sentences are msgids we can look up. */
      g_debug ("GetComponents failed: %s", error->message);
      g_autoptr (GVariant) property
          = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (self->proxy), "Components");
      g_autoptr (PdReport) english = pd_report_from_components_variant (property, "agent");
      pd_report_free (self->report);
      self->report = pd_report_localize (english);
    }
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

/* Emits "changed" now (C locale, or no agent), or once the agent has worded
 * the components in our language. */
static void
changed (PdTrayAgent *self)
{
  const char *locale = pd_i18n_messages_locale ();
  self->components_serial++;
  if (*locale == '\0' || !self->connected)
    {
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
      return;
    }
  GVariantDict opts;
  g_variant_dict_init (&opts, NULL);
  g_variant_dict_insert (&opts, "locale", "s", locale);
  ComponentsCall *call = g_new0 (ComponentsCall, 1);
  call->self = g_object_ref (self);
  call->serial = self->components_serial;
  pd_dbus_agent1_call_get_components (self->proxy, g_variant_dict_end (&opts), self->cancellable,
                                      get_components_cb, call);
}

static void
on_properties_changed (GDBusProxy *proxy, GVariant *changed_props, GStrv invalidated,
                       PdTrayAgent *self)
{
  reload_properties (self);
  changed (self);
}

static void
on_name_owner (GObject *proxy, GParamSpec *pspec, PdTrayAgent *self)
{
  reload_properties (self);
  if (self->connected)
    fetch_events (self);
  changed (self);
}

/* The raw g-signal, so each signal's arguments go through the codec's checks
 * before anything uses them. */
static void
on_signal (GDBusProxy *proxy, const char *sender, const char *name, GVariant *params,
           PdTrayAgent *self)
{
  if (g_strcmp0 (name, "Event") == 0)
    {
      PdEventEntry *e = pd_event_entry_from_variant (params);
      if (e == NULL)
        return;
      if (*pd_i18n_messages_locale () == '\0')
        {
          publish_event (self, e);
          return;
        }
      EventCall *call = g_new0 (EventCall, 1);
      call->self = g_object_ref (self);
      call->e = e;
      set_timeout (self, 10000);
      pd_dbus_agent1_call_get_event_list (self->proxy, event_list_options (EVENT_LOOKBACK),
                                          self->cancellable, get_new_event_cb, call);
    }
  else if (g_strcmp0 (name, "ColdRestartProgress") == 0
           && g_variant_is_of_type (params, G_VARIANT_TYPE ("(ss)")))
    {
      const char *phase, *text;
      g_variant_get (params, "(&s&s)", &phase, &text);
      PdEventEntry *p = pd_event_entry_new (0, phase, "", text);
      if (*pd_i18n_messages_locale () == '\0')
        {
          publish_progress (self, p);
          return;
        }
      /* The host's sentences have arguments: the agent words them. */
      EventCall *call = g_new0 (EventCall, 1);
      call->self = g_object_ref (self);
      call->e = p;
      GVariantBuilder b;
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "locale",
                             g_variant_new_string (pd_i18n_messages_locale ()));
      set_timeout (self, 10000);
      pd_dbus_agent1_call_get_cold_restart_progress (self->proxy, g_variant_builder_end (&b),
                                                     self->cancellable, get_progress_cb, call);
    }
  /* ComponentChanged needs no handling: PropertiesChanged carries the data. */
}

static void
proxy_ready_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  PdDbusAgent1 *proxy = pd_agent_client_new_finish (res, &error);
  PdTrayAgent *self;

  if (proxy == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot reach the bus of the passdesk agent: %s", error->message);
      return;
    }
  self = PD_TRAY_AGENT (user_data);
  self->proxy = proxy;
  g_signal_connect (proxy, "g-properties-changed", G_CALLBACK (on_properties_changed), self);
  g_signal_connect (proxy, "notify::g-name-owner", G_CALLBACK (on_name_owner), self);
  g_signal_connect (proxy, "g-signal", G_CALLBACK (on_signal), self);
  on_name_owner (G_OBJECT (proxy), NULL, self);
}

static void
pd_tray_agent_dispose (GObject *object)
{
  PdTrayAgent *self = PD_TRAY_AGENT (object);

  g_cancellable_cancel (self->cancellable);
  if (self->proxy != NULL)
    g_signal_handlers_disconnect_by_data (self->proxy, self);
  g_clear_object (&self->proxy);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (pd_tray_agent_parent_class)->dispose (object);
}

static void
pd_tray_agent_finalize (GObject *object)
{
  PdTrayAgent *self = PD_TRAY_AGENT (object);

  pd_report_free (self->report);
  g_free (self->cold_restart_state);
  g_ptr_array_unref (self->events);
  G_OBJECT_CLASS (pd_tray_agent_parent_class)->finalize (object);
}

static void
pd_tray_agent_class_init (PdTrayAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pd_tray_agent_dispose;
  object_class->finalize = pd_tray_agent_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_EVENT]
      = g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 4, G_TYPE_INT64, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_EVENTS_RESET]
      = g_signal_new ("events-reset", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_COLD_RESTART_PROGRESS]
      = g_signal_new ("cold-restart-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
pd_tray_agent_init (PdTrayAgent *self)
{
  self->cancellable = g_cancellable_new ();
  self->report = pd_report_new ("agent");
  self->cold_restart_state = g_strdup ("idle");
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) pd_event_entry_free);
}

PdTrayAgent *
pd_tray_agent_new (GBusType bus_type)
{
  PdTrayAgent *self = g_object_new (PD_TYPE_TRAY_AGENT, NULL);

  self->start_command = pd_agent_client_start_command (bus_type == G_BUS_TYPE_SESSION);
  pd_agent_client_new_async (bus_type, self->cancellable, proxy_ready_cb, self);
  return self;
}

const char *
pd_tray_agent_get_start_command (PdTrayAgent *self)
{
  return self->start_command;
}

gboolean
pd_tray_agent_is_connected (PdTrayAgent *self)
{
  return self->connected;
}

const PdReport *
pd_tray_agent_get_report (PdTrayAgent *self)
{
  return self->report;
}

const char *
pd_tray_agent_get_cold_restart_state (PdTrayAgent *self)
{
  return self->cold_restart_state;
}

GPtrArray *
pd_tray_agent_get_events (PdTrayAgent *self)
{
  return self->events;
}

static void
call_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  PdDbusAgent1 *proxy = PD_DBUS_AGENT1 (source);
  GError *error = NULL;
  gboolean ok = g_task_get_source_tag (task) == pd_tray_agent_run_checks
                    ? pd_dbus_agent1_call_run_checks_finish (proxy, res, &error)
                    : pd_dbus_agent1_call_cold_restart_finish (proxy, res, &error);

  if (!ok)
    {
      /* The agent's (and the host's) sentence is the message; the D-Bus error
       * name prefix means nothing to a person. */
      if (g_dbus_error_is_remote_error (error))
        g_dbus_error_strip_remote_error (error);
      localize_text (&error->message);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* A task for @tag, or NULL after failing it when no agent runs. */
static GTask *
start_call (PdTrayAgent *self, gpointer tag, GCancellable *cancellable,
            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);

  if (self->proxy == NULL || !self->connected)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               _ ("The passdesk agent is not running. Start it with “%s” and "
                                  "try again."),
                               self->start_command);
      g_object_unref (task);
      return NULL;
    }
  return task;
}

void
pd_tray_agent_run_checks (PdTrayAgent *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = start_call (self, pd_tray_agent_run_checks, cancellable, callback, user_data);
  if (task == NULL)
    return;
  /* Checks include the VA-API probe with its own deadline; allow for it. */
  set_timeout (self, 120000);
  pd_dbus_agent1_call_run_checks (self->proxy, cancellable, call_cb, task);
}

gboolean
pd_tray_agent_run_checks_finish (PdTrayAgent *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pd_tray_agent_cold_restart (PdTrayAgent *self, const char *reason, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = start_call (self, pd_tray_agent_cold_restart, cancellable, callback, user_data);
  GVariantBuilder b;

  if (task == NULL)
    return;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  if (reason != NULL)
    g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (reason));
  /* The host's refusal comes back in our language. */
  if (*pd_i18n_messages_locale () != '\0')
    g_variant_builder_add (&b, "{sv}", "locale", g_variant_new_string (pd_i18n_messages_locale ()));
  /* The host answers once it accepted; polkit may ask first. */
  set_timeout (self, 120000);
  pd_dbus_agent1_call_cold_restart (self->proxy, g_variant_builder_end (&b), cancellable, call_cb,
                                    task);
}

gboolean
pd_tray_agent_cold_restart_finish (PdTrayAgent *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
