/* tray-agent-client.c - follows org.passdesk.Agent1 through a GDBusProxy.
 *
 * GDBusProxy already tracks the name owner and reloads the cached properties
 * when the agent comes back, so there is no name watching of our own.
 */
#include "tray-agent-client.h"

#include <string.h>

#define AGENT_NAME "org.passdesk.Agent1"
#define AGENT_PATH "/org/passdesk/Agent1"
#define AGENT_IFACE "org.passdesk.Agent1"
#define MAX_EVENTS 200
#define MAX_TEXT 4096 /* longer strings from the bus are cut */

struct _PdTrayAgent
{
  GObject parent_instance;
  GDBusProxy *proxy;
  GCancellable *cancellable;
  PdReport *report;
  char *cold_restart_state;
  GPtrArray *events;
  gboolean connected;
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
event_free (gpointer p)
{
  PdTrayEvent *e = p;
  g_free (e->kind);
  g_free (e->component);
  g_free (e->text);
  g_free (e);
}

static char *
bounded (const char *s)
{
  if (s == NULL)
    return g_strdup ("");
  if (strlen (s) <= MAX_TEXT)
    return g_strdup (s);
  return g_utf8_make_valid (s, MAX_TEXT);
}

PdComponent *
pd_tray_component_from_variant (GVariant *entry)
{
  const char *id, *state, *summary;
  g_autoptr (GVariantIter) details = NULL;
  g_autoptr (GVariantIter) advice = NULL;
  PdComponentId cid;
  PdState st;
  const char *a, *b;

  if (!g_variant_is_of_type (entry, G_VARIANT_TYPE ("(sssa(ss)a(ss))")))
    return NULL;
  g_variant_get (entry, "(&s&s&sa(ss)a(ss))", &id, &state, &summary, &details, &advice);
  if (!pd_component_id_from_string (id, &cid) || !pd_state_from_string (state, &st))
    return NULL;

  g_autofree char *sum = bounded (summary);
  PdComponent *c = pd_component_new (cid, st, sum);
  for (guint n = 0; n < 64 && g_variant_iter_next (details, "(&s&s)", &a, &b); n++)
    {
      g_autofree char *k = bounded (a), *v = bounded (b);
      pd_component_set_detail (c, k, v);
    }
  for (guint n = 0; n < 32 && g_variant_iter_next (advice, "(&s&s)", &a, &b); n++)
    {
      g_autofree char *t = bounded (a), *cmd = bounded (b);
      pd_component_add_advice (c, t, *cmd ? cmd : NULL);
    }
  return c;
}

static void
reload_properties (PdTrayAgent *self)
{
  g_autoptr (GVariant) comps = g_dbus_proxy_get_cached_property (self->proxy, "Components");
  g_autoptr (GVariant) crs = g_dbus_proxy_get_cached_property (self->proxy, "ColdRestartState");
  g_autofree char *owner = g_dbus_proxy_get_name_owner (self->proxy);

  pd_report_free (self->report);
  self->report = pd_report_new ("agent");
  self->report->time = g_get_real_time ();
  if (comps != NULL && g_variant_is_of_type (comps, G_VARIANT_TYPE ("a(sssa(ss)a(ss))")))
    {
      GVariantIter iter;
      GVariant *entry;
      g_variant_iter_init (&iter, comps);
      while ((entry = g_variant_iter_next_value (&iter)) != NULL)
        {
          PdComponent *c = pd_tray_component_from_variant (entry);
          if (c != NULL)
            pd_report_take (self->report, c);
          g_variant_unref (entry);
        }
    }
  g_free (self->cold_restart_state);
  self->cold_restart_state
      = g_strdup (crs != NULL && g_variant_is_of_type (crs, G_VARIANT_TYPE_STRING)
                      ? g_variant_get_string (crs, NULL)
                      : "idle");
  self->connected = owner != NULL;
}

static void
add_event (PdTrayAgent *self, gint64 time, const char *kind, const char *component,
           const char *text)
{
  PdTrayEvent *e = g_new0 (PdTrayEvent, 1);
  e->time = time;
  e->kind = bounded (kind);
  e->component = bounded (component);
  e->text = bounded (text);
  if (self->events->len >= MAX_EVENTS)
    g_ptr_array_remove_index (self->events, 0);
  g_ptr_array_add (self->events, e);
}

static void
get_events_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) ret = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), res, &error);
  PdTrayAgent *self;
  g_autoptr (GVariantIter) iter = NULL;
  gint64 t;
  const char *kind, *comp, *text;

  if (ret == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("GetEvents failed: %s", error->message);
      return;
    }
  self = PD_TRAY_AGENT (user_data);
  g_ptr_array_set_size (self->events, 0);
  g_variant_get (ret, "(a(xsss))", &iter);
  while (g_variant_iter_next (iter, "(x&s&s&s)", &t, &kind, &comp, &text))
    add_event (self, t, kind, comp, text);
  g_signal_emit (self, signals[SIGNAL_EVENTS_RESET], 0);
}

static void
fetch_events (PdTrayAgent *self)
{
  g_dbus_proxy_call (self->proxy, "GetEvents", NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, 10000,
                     self->cancellable, get_events_cb, self);
}

static void
on_properties_changed (GDBusProxy *proxy, GVariant *changed, GStrv invalidated, PdTrayAgent *self)
{
  reload_properties (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_name_owner (GObject *proxy, GParamSpec *pspec, PdTrayAgent *self)
{
  reload_properties (self);
  if (self->connected)
    fetch_events (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_signal (GDBusProxy *proxy, const char *sender, const char *name, GVariant *params,
           PdTrayAgent *self)
{
  if (g_strcmp0 (name, "Event") == 0 && g_variant_is_of_type (params, G_VARIANT_TYPE ("(xsss)")))
    {
      gint64 t;
      const char *kind, *comp, *text;
      g_variant_get (params, "(x&s&s&s)", &t, &kind, &comp, &text);
      add_event (self, t, kind, comp, text);
      PdTrayEvent *e = g_ptr_array_index (self->events, self->events->len - 1);
      g_signal_emit (self, signals[SIGNAL_EVENT], 0, e->time, e->kind, e->component, e->text);
    }
  else if (g_strcmp0 (name, "ColdRestartProgress") == 0
           && g_variant_is_of_type (params, G_VARIANT_TYPE ("(ss)")))
    {
      const char *phase, *text;
      g_variant_get (params, "(&s&s)", &phase, &text);
      g_autofree char *p = bounded (phase), *t = bounded (text);
      g_signal_emit (self, signals[SIGNAL_COLD_RESTART_PROGRESS], 0, p, t);
    }
  /* ComponentChanged needs no handling: PropertiesChanged carries the data. */
}

static void
proxy_ready_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  GDBusProxy *proxy = g_dbus_proxy_new_for_bus_finish (res, &error);
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
  self->events = g_ptr_array_new_with_free_func (event_free);
}

PdTrayAgent *
pd_tray_agent_new (GBusType bus_type)
{
  PdTrayAgent *self = g_object_new (PD_TYPE_TRAY_AGENT, NULL);

  /* The agent is a system service; the tray never starts it itself. */
  g_dbus_proxy_new_for_bus (bus_type, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, NULL, AGENT_NAME,
                            AGENT_PATH, AGENT_IFACE, self->cancellable, proxy_ready_cb, self);
  return self;
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
  GError *error = NULL;
  g_autoptr (GVariant) ret = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), res, &error);

  if (ret == NULL)
    {
      /* The agent's (and the host's) sentence is the message; the D-Bus error
       * name prefix means nothing to a person. */
      if (g_dbus_error_is_remote_error (error))
        g_dbus_error_strip_remote_error (error);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
call_method (PdTrayAgent *self, const char *method, GVariant *params, int timeout_ms, gpointer tag,
             GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);

  if (self->proxy == NULL || !self->connected)
    {
      if (params != NULL)
        g_variant_unref (g_variant_ref_sink (params));
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               "The passdesk agent is not running. Start it with "
                               "“sudo systemctl start passdesk-agent” and try again.");
      g_object_unref (task);
      return;
    }
  g_dbus_proxy_call (self->proxy, method, params, G_DBUS_CALL_FLAGS_NO_AUTO_START, timeout_ms,
                     cancellable, call_cb, task);
}

void
pd_tray_agent_run_checks (PdTrayAgent *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  /* Checks include the VA-API probe with its own deadline; allow for it. */
  call_method (self, "RunChecks", NULL, 120000, pd_tray_agent_run_checks, cancellable, callback,
               user_data);
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
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  if (reason != NULL)
    g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (reason));
  /* The host answers once it accepted; polkit may ask first. */
  call_method (self, "ColdRestart", g_variant_new ("(a{sv})", &b), 120000,
               pd_tray_agent_cold_restart, cancellable, callback, user_data);
}

gboolean
pd_tray_agent_cold_restart_finish (PdTrayAgent *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
