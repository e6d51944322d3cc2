/* agent-dbus.c - the org.passdesk.Agent1 skeleton and its method handlers. */
#include "config.h"

#include "agent-dbus.h"
#include "pd-i18n.h"

#include "agent-bus.h"
#include "agent-errors.h"
#include "agent-polkit.h"
#include "components-variant.h"
#include "pd-dbus.h"

#define REASON_MAX_BYTES 200
#define COOL_OFF_MAX_S 3600
/* ColdRestart takes three options; more entries are refused before anything
 * else looks at them. */
#define OPTIONS_MAX 3
#define LOCALE_MAX_BYTES 64
/* Authorizations waiting for polkit (which waits for a person at an
 * authentication dialog, without a time limit): per caller and overall. */
#define PENDING_PER_CALLER_MAX 2
#define PENDING_MAX 16

struct _PdAgentDbus
{
  PdAgentDaemon *daemon;
  gboolean system_bus; /* polkit subjects: bus names there, processes elsewhere */
  PdDbusAgent1 *skeleton;
  GCancellable *cancellable;
  GHashTable *pending; /* caller's unique name -> authorizations waiting (GUINT) */
  GPtrArray *waiting;  /* Call, not owned: those counted there */
  /* The latest ColdRestartProgress, for GetColdRestartProgress: the text's
   * recipe is taken from the book at once (it keeps only recent ones). */
  char *progress_phase;
  char *progress_text;
  PdMsg *progress_msg;
};

/* What an async method handler needs after the handler returned. */
typedef struct
{
  PdAgentDaemon *daemon;
  PdDbusAgent1 *skeleton;
  PdAgentDbus *owner; /* while counted in its pending authorizations */
  char *sender;
  GDBusMethodInvocation *invocation;
  char *reason;
  guint cool_off;
  char *locale; /* ColdRestart's "locale": the language of its error */
  gboolean cancel;
} Call;

static Call *
call_new (PdAgentDbus *self, GDBusMethodInvocation *invocation)
{
  Call *c = g_new0 (Call, 1);
  c->daemon = g_object_ref (self->daemon);
  c->skeleton = g_object_ref (self->skeleton);
  c->invocation = invocation;
  return c;
}

static void authorization_done (Call *c);

static void
call_free (Call *c)
{
  authorization_done (c);
  g_object_unref (c->daemon);
  g_object_unref (c->skeleton);
  g_free (c->reason);
  g_free (c->locale);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

static void
publish_state (PdAgentDbus *self)
{
  g_autoptr (PdReport) report = pd_agent_daemon_get_report (self->daemon);
  pd_dbus_agent1_set_overall_state (self->skeleton,
                                    pd_state_to_string (pd_report_overall (report)));
  pd_dbus_agent1_set_components (self->skeleton, pd_components_to_variant (report));
}

static void
on_component_changed (PdAgentDaemon *daemon, guint id, gpointer user_data)
{
  PdAgentDbus *self = user_data;
  const PdComponent *c = pd_agent_daemon_get_component (daemon, id);
  publish_state (self);
  /* The property is current (and PropertiesChanged sent) before the signal. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  pd_dbus_agent1_emit_component_changed (self->skeleton, pd_component_id_to_string (id),
                                         c ? pd_state_to_string (c->state) : "unknown",
                                         c && c->summary ? c->summary : "");
}

static void
on_event (PdAgentDaemon *daemon, const PdAgentEvent *e, gpointer user_data)
{
  PdAgentDbus *self = user_data;
  pd_dbus_agent1_emit_event (self->skeleton, e->time, e->kind,
                             pd_component_id_to_string (e->component), e->text);
}

static void
on_cold_restart_progress (PdAgentDaemon *daemon, const char *phase, const char *text,
                          gpointer user_data)
{
  PdAgentDbus *self = user_data;
  g_free (self->progress_phase);
  g_free (self->progress_text);
  pd_msg_free (self->progress_msg);
  self->progress_phase = g_strdup (phase);
  self->progress_text = g_strdup (text ? text : "");
  self->progress_msg = pd_i18n_book_lookup (self->progress_text);
  pd_dbus_agent1_set_cold_restart_state (self->skeleton, phase);
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  pd_dbus_agent1_emit_cold_restart_progress (self->skeleton, phase, text ? text : "");
}

/* ---- pending authorizations ---- */

/* Counts @c as waiting for polkit, or FALSE when its caller (or everyone
 * together) already has as many waiting as allowed. */
static gboolean
authorization_start (PdAgentDbus *self, Call *c, GError **error)
{
  const char *sender = g_dbus_method_invocation_get_sender (c->invocation);
  if (sender == NULL)
    sender = "";
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->pending, sender));
  if (n >= PENDING_PER_CALLER_MAX || self->waiting->len >= PENDING_MAX)
    {
      g_set_error (error, PD_AGENT_ERROR, PD_AGENT_ERROR_BUSY,
                   _ ("%s cold-restart requests are already waiting for authorization; "
                      "answer or dismiss the authentication dialog, then try again."),
                   n >= PENDING_PER_CALLER_MAX ? "Your" : "Too many");
      return FALSE;
    }
  c->owner = self;
  c->sender = g_strdup (sender);
  g_hash_table_insert (self->pending, g_strdup (sender), GUINT_TO_POINTER (n + 1));
  g_ptr_array_add (self->waiting, c);
  return TRUE;
}

static void
authorization_done (Call *c)
{
  PdAgentDbus *self = c->owner;
  if (self == NULL)
    return;
  c->owner = NULL;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->pending, c->sender));
  if (n > 1)
    g_hash_table_insert (self->pending, g_strdup (c->sender), GUINT_TO_POINTER (n - 1));
  else
    g_hash_table_remove (self->pending, c->sender);
  g_ptr_array_remove_fast (self->waiting, c);
  g_clear_pointer (&c->sender, g_free);
}

/* ---- methods ---- */

static gboolean
handle_get_report (PdDbusAgent1 *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  PdAgentDbus *self = user_data;
  g_autoptr (PdReport) report = pd_agent_daemon_get_report (self->daemon);
  g_autofree char *json = pd_report_to_json_string (report, TRUE);
  pd_dbus_agent1_complete_get_report (skeleton, invocation, json);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_components (PdDbusAgent1 *skeleton, GDBusMethodInvocation *invocation, GVariant *options,
                       gpointer user_data)
{
  PdAgentDbus *self = user_data;
  const char *locale = NULL;
  if (!g_variant_lookup (options, "locale", "&s", &locale))
    locale = NULL;
  g_autoptr (PdReport) report = pd_agent_daemon_get_report (self->daemon);
  /* A locale the agent does not know, or a malformed one, gives English:
   * pd_i18n_use_locale() checks the name before newlocale() sees it. */
  gpointer use = pd_i18n_use_locale (locale);
  g_autoptr (PdReport) localized = pd_report_localize (report);
  GVariant *v = pd_components_to_variant (localized);
  pd_i18n_restore (use);
  pd_dbus_agent1_complete_get_components (skeleton, invocation, v);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_checks_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Call) call = user_data;
  g_autoptr (GError) error = NULL;
  if (!pd_agent_daemon_run_checks_finish (PD_AGENT_DAEMON (source), result, &error))
    g_dbus_method_invocation_return_gerror (call->invocation, error);
  else
    pd_dbus_agent1_complete_run_checks (call->skeleton, call->invocation);
}

static gboolean
handle_run_checks (PdDbusAgent1 *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  PdAgentDbus *self = user_data;
  pd_agent_daemon_run_checks_async (self->daemon, NULL, on_checks_done,
                                    call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_events (PdDbusAgent1 *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  PdAgentDbus *self = user_data;
  const PdAgentHistory *h = pd_agent_daemon_get_history (self->daemon);
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a" PD_EVENT_VARIANT_TYPE));
  for (guint i = 0; i < pd_agent_history_length (h); i++)
    {
      const PdAgentEvent *e = pd_agent_history_nth (h, i);
      g_variant_builder_add_value (&b,
                                   pd_event_to_variant (e->time, e->kind, e->component, e->text));
    }
  pd_dbus_agent1_complete_get_events (skeleton, invocation, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_event_list (PdDbusAgent1 *skeleton, GDBusMethodInvocation *invocation, GVariant *options,
                       gpointer user_data)
{
  PdAgentDbus *self = user_data;
  const char *locale = NULL;
  guint32 newest = PD_AGENT_HISTORY_MAX;
  if (!g_variant_lookup (options, "locale", "&s", &locale))
    locale = NULL;
  if (!g_variant_lookup (options, "newest", "u", &newest) || newest > PD_AGENT_HISTORY_MAX)
    newest = PD_AGENT_HISTORY_MAX;
  const PdAgentHistory *h = pd_agent_daemon_get_history (self->daemon);
  guint len = pd_agent_history_length (h);
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a" PD_EVENT_VARIANT_TYPE));
  gpointer use = pd_i18n_use_locale (locale);
  for (guint i = len > newest ? len - newest : 0; i < len; i++)
    {
      const PdAgentEvent *e = pd_agent_history_nth (h, i);
      g_autofree char *text = pd_agent_event_localize (e);
      g_variant_builder_add_value (&b, pd_event_to_variant (e->time, e->kind, e->component, text));
    }
  pd_i18n_restore (use);
  pd_dbus_agent1_complete_get_event_list (skeleton, invocation, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_cold_restart_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Call) call = user_data;
  g_autoptr (GError) error = NULL;
  if (!pd_agent_daemon_cold_restart_finish (PD_AGENT_DAEMON (source), result, &error))
    {
      /* The host's sentence (or ours) in the caller's language. */
      gpointer use = pd_i18n_use_locale (call->locale);
      g_autofree char *text = pd_i18n_localize_text (error->message);
      pd_i18n_restore (use);
      g_dbus_method_invocation_return_error_literal (call->invocation, error->domain, error->code,
                                                     text);
    }
  else
    pd_dbus_agent1_complete_cold_restart (call->skeleton, call->invocation);
}

static void
on_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Call) call = user_data;
  g_autoptr (GError) error = NULL;
  authorization_done (call);
  if (!pd_agent_polkit_check_finish (result, &error))
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  if (call->cancel)
    {
      if (pd_agent_daemon_cancel_cold_restart (call->daemon, &error))
        pd_dbus_agent1_complete_cancel_cold_restart (call->skeleton, call->invocation);
      else
        g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  Call *c = g_steal_pointer (&call);
  pd_agent_daemon_cold_restart_async (c->daemon, c->reason, c->cool_off, NULL, on_cold_restart_done,
                                      c);
}

static gboolean
parse_options (GVariant *options, char **reason, guint *cool_off, char **locale, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;
  /* Cheap first: the number of entries, before any is looked at. */
  gsize n = g_variant_n_children (options);
  if (n > OPTIONS_MAX)
    {
      g_set_error (error, PD_AGENT_ERROR, PD_AGENT_ERROR_INVALID_ARGS,
                   "ColdRestart got %" G_GSIZE_FORMAT " options; it takes at most %d: "
                   "“reason” (s), “cool-off” (u) and “locale” (s).",
                   n, OPTIONS_MAX);
      return FALSE;
    }
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) v = value;
      if (g_str_equal (key, "reason"))
        {
          if (!g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
            {
              g_set_error (error, PD_AGENT_ERROR, PD_AGENT_ERROR_INVALID_ARGS,
                           _ ("Option “reason” must be a string (s), not %s."),
                           g_variant_get_type_string (v));
              return FALSE;
            }
          gsize len;
          const char *s = g_variant_get_string (v, &len);
          if (len > REASON_MAX_BYTES)
            {
              g_set_error (error, PD_AGENT_ERROR, PD_AGENT_ERROR_INVALID_ARGS,
                           "Option “reason” is %" G_GSIZE_FORMAT " bytes long; at most %d are "
                           "allowed.",
                           len, REASON_MAX_BYTES);
              return FALSE;
            }
          for (gsize i = 0; i < len; i++)
            if ((guchar) s[i] < 0x20 || s[i] == 0x7f)
              {
                g_set_error_literal (error, PD_AGENT_ERROR, PD_AGENT_ERROR_INVALID_ARGS,
                                     _ ("Option “reason” must be one line of text without control "
                                        "characters."));
                return FALSE;
              }
          g_free (*reason);
          *reason = g_strdup (s);
        }
      else if (g_str_equal (key, "cool-off"))
        {
          if (!g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
            {
              g_set_error (error, PD_AGENT_ERROR, PD_AGENT_ERROR_INVALID_ARGS,
                           _ ("Option “cool-off” must be an unsigned 32-bit integer (u), not %s."),
                           g_variant_get_type_string (v));
              return FALSE;
            }
          guint32 u = g_variant_get_uint32 (v);
          if (u == 0 || u > COOL_OFF_MAX_S)
            {
              g_set_error (error, PD_AGENT_ERROR, PD_AGENT_ERROR_INVALID_ARGS,
                           _ ("Option “cool-off” is %u seconds; it must be between 1 and %d "
                              "(the host may allow less)."),
                           u, COOL_OFF_MAX_S);
              return FALSE;
            }
          *cool_off = u;
        }
      else if (g_str_equal (key, "locale"))
        {
          /* Checked again by pd_i18n_use_locale(); a bad name is English. */
          if (!g_variant_is_of_type (v, G_VARIANT_TYPE_STRING)
              || strlen (g_variant_get_string (v, NULL)) > LOCALE_MAX_BYTES)
            {
              g_set_error (error, PD_AGENT_ERROR, PD_AGENT_ERROR_INVALID_ARGS,
                           _ ("Option “locale” must be a string (s) of at most %d bytes."),
                           LOCALE_MAX_BYTES);
              return FALSE;
            }
          g_free (*locale);
          *locale = g_variant_dup_string (v, NULL);
        }
      else
        {
          g_set_error (error, PD_AGENT_ERROR, PD_AGENT_ERROR_INVALID_ARGS,
                       _ ("Unknown option “%s”; ColdRestart takes “reason” (s), “cool-off” (u) and "
                          "“locale” (s)."),
                       key);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
handle_cold_restart (PdDbusAgent1 *skeleton, GDBusMethodInvocation *invocation, GVariant *options,
                     gpointer user_data)
{
  PdAgentDbus *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *locale = NULL;
  guint cool_off = 0;
  if (!parse_options (options, &reason, &cool_off, &locale, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  Call *call = call_new (self, invocation);
  call->reason = g_steal_pointer (&reason);
  call->cool_off = cool_off;
  call->locale = g_steal_pointer (&locale);
  if (!authorization_start (self, call, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      call_free (call);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  pd_agent_polkit_check_async (g_dbus_method_invocation_get_connection (invocation),
                               self->system_bus, g_dbus_method_invocation_get_sender (invocation),
                               PD_POLKIT_ACTION_COLD_RESTART, self->cancellable, on_authorized,
                               call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_cancel_cold_restart (PdDbusAgent1 *skeleton, GDBusMethodInvocation *invocation,
                            gpointer user_data)
{
  PdAgentDbus *self = user_data;
  g_autoptr (GError) error = NULL;
  Call *call = call_new (self, invocation);
  call->cancel = TRUE;
  if (!authorization_start (self, call, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      call_free (call);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  pd_agent_polkit_check_async (g_dbus_method_invocation_get_connection (invocation),
                               self->system_bus, g_dbus_method_invocation_get_sender (invocation),
                               PD_POLKIT_ACTION_COLD_RESTART, self->cancellable, on_authorized,
                               call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_cold_restart_progress (PdDbusAgent1 *skeleton, GDBusMethodInvocation *invocation,
                                  GVariant *options, gpointer user_data)
{
  PdAgentDbus *self = user_data;
  const char *locale = NULL;
  if (!g_variant_lookup (options, "locale", "&s", &locale))
    locale = NULL;
  gpointer use = pd_i18n_use_locale (locale);
  g_autofree char *text = self->progress_msg ? pd_msg_localize (self->progress_msg)
                                             : pd_i18n_localize_text (self->progress_text);
  pd_i18n_restore (use);
  pd_dbus_agent1_complete_get_cold_restart_progress (
      skeleton, invocation,
      self->progress_phase ? self->progress_phase
                           : pd_agent_daemon_get_cold_restart_state (self->daemon),
      text ? text : "");
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- object ---- */

PdAgentDbus *
pd_agent_dbus_new (PdAgentDaemon *daemon, gboolean system_bus)
{
  PdAgentDbus *self = g_new0 (PdAgentDbus, 1);
  self->system_bus = system_bus;
  self->daemon = g_object_ref (daemon);
  self->skeleton = pd_dbus_agent1_skeleton_new ();
  self->cancellable = g_cancellable_new ();
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->waiting = g_ptr_array_new ();

  pd_dbus_agent1_set_version (self->skeleton, PACKAGE_VERSION);
  pd_dbus_agent1_set_cold_restart_state (self->skeleton,
                                         pd_agent_daemon_get_cold_restart_state (daemon));
  publish_state (self);

  g_signal_connect (self->skeleton, "handle-get-report", G_CALLBACK (handle_get_report), self);
  g_signal_connect (self->skeleton, "handle-get-components", G_CALLBACK (handle_get_components),
                    self);
  g_signal_connect (self->skeleton, "handle-run-checks", G_CALLBACK (handle_run_checks), self);
  g_signal_connect (self->skeleton, "handle-get-events", G_CALLBACK (handle_get_events), self);
  g_signal_connect (self->skeleton, "handle-get-event-list", G_CALLBACK (handle_get_event_list),
                    self);
  g_signal_connect (self->skeleton, "handle-cold-restart", G_CALLBACK (handle_cold_restart), self);
  g_signal_connect (self->skeleton, "handle-get-cold-restart-progress",
                    G_CALLBACK (handle_get_cold_restart_progress), self);
  g_signal_connect (self->skeleton, "handle-cancel-cold-restart",
                    G_CALLBACK (handle_cancel_cold_restart), self);

  g_signal_connect (daemon, "component-changed", G_CALLBACK (on_component_changed), self);
  g_signal_connect (daemon, "event", G_CALLBACK (on_event), self);
  g_signal_connect (daemon, "cold-restart-progress", G_CALLBACK (on_cold_restart_progress), self);
  return self;
}

gboolean
pd_agent_dbus_export (PdAgentDbus *self, GDBusConnection *connection, GError **error)
{
  return g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                           PD_AGENT_OBJECT_PATH, error);
}

void
pd_agent_dbus_free (PdAgentDbus *self)
{
  if (self == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_signal_handlers_disconnect_by_data (self->daemon, self);
  g_signal_handlers_disconnect_by_data (self->skeleton, self);
  if (g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)))
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  g_object_unref (self->skeleton);
  g_object_unref (self->daemon);
  g_object_unref (self->cancellable);
  g_free (self->progress_phase);
  g_free (self->progress_text);
  pd_msg_free (self->progress_msg);
  /* Calls still waiting for polkit end after us (cancelled). */
  for (guint i = 0; i < self->waiting->len; i++)
    {
      Call *c = g_ptr_array_index (self->waiting, i);
      c->owner = NULL;
      g_clear_pointer (&c->sender, g_free);
    }
  g_ptr_array_unref (self->waiting);
  g_hash_table_unref (self->pending);
  g_free (self);
}
