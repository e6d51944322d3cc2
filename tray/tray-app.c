/* tray-app.c - passdesk-tray: wiring of agent, audio and views. */
#include "tray-app.h"

#include "pd-i18n.h"
#include "pd-terminal.h"

#include <stdlib.h>

#include "detail-keys.h"
#include "tray-agent-client.h"
#include "tray-audio.h"
#include "tray-menu-model.h"
#include "tray-notify.h"
#include "tray-restart-dialog.h"
#include "tray-settings.h"
#include "tray-sni.h"
#include "tray-state.h"
#include "tray-statusicon.h"
#include "tray-window.h"

#include "config.h"

#include <string.h>

/* How long a StatusNotifierWatcher may take to appear (panels often start
 * after autostart programs), or an XEmbed tray to take the fallback icon,
 * before we tell the user there is no tray at all (one-shot timer). */
#define TRAY_GRACE_S 3

struct _PdTrayApp
{
  GtkApplication parent_instance;
  GBusType agent_bus;
  gboolean show_status_on_start;
  gboolean activated_once;

  PdTrayAgent *agent;
  PdTrayAudio *audio;
  PdTrayMenuModel *menu;
  PdTraySni *sni;
  PdTrayStatusIcon *status_icon;
  PdTrayNotify *notify;
  PdTrayWindow *window;
  PdTrayRestartDialog *dialog;
  PdTrayState *state;
  PdTraySettings *settings;
  char *keepable_sink; /* the output "keep-output" remembers, or NULL */
  /* The host's rate-limit facts as last seen, and when they arrived: the
   * dialog counts next-allowed-in down from then. */
  char *rate_facts;
  gint64 rate_facts_time;
  GCancellable *cancellable;
  guint embed_check_id;
  gboolean told_no_tray;
};

G_DEFINE_TYPE (PdTrayApp, pd_tray_app, GTK_TYPE_APPLICATION)

static void
set_action_enabled (PdTrayApp *self, const char *name, gboolean enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  if (action != NULL)
    g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

/* The monitor the agent read from the ELD is the one to prefer. */
static char *
preferred_monitor (const PdComponent *audio)
{
  if (audio == NULL)
    return NULL;
  return g_strdup (pd_component_get_detail (audio, PD_DETAIL_MONITOR_NAME));
}

static void
recompute (PdTrayApp *self)
{
  g_autoptr (PdTrayState) state = pd_tray_state_new ();
  const PdReport *agent_report = pd_tray_agent_get_report (self->agent);
  PdTrayAudioView view;

  state->agent_connected = pd_tray_agent_is_connected (self->agent);
  state->agent_start = pd_tray_agent_get_start_command (self->agent);
  for (PdComponentId id = 0; id < PD_N_COMPONENTS; id++)
    if (agent_report->components[id] != NULL)
      pd_report_take (state->report, pd_component_copy (agent_report->components[id]));
  state->report->time = agent_report->time;
  /* An agent that is not running has no view of the hardware: the merge
   * says so rather than trusting what it said last. */
  const PdComponent *agent_audio
      = state->agent_connected ? agent_report->components[PD_COMPONENT_AUDIO] : NULL;
  g_clear_pointer (&self->keepable_sink, g_free);
  state->audio_repairable = agent_audio != NULL && agent_audio->state == PD_STATE_FAILED;
  if (pd_tray_audio_merge (self->audio, agent_audio, state->agent_start, self->settings, &view))
    {
      /* The tray's own words are English in the model, like the agent's. */
      pd_report_take (state->report, pd_component_localize (view.component));
      pd_component_free (view.component);
      state->audio_fallback = view.fallback;
      state->can_switch_audio = view.can_switch;
      state->audio_codec_missing = view.codec_missing;
      state->audio_keepable = view.keepable;
      self->keepable_sink = view.keepable_sink;
    }
  g_free (state->cold_restart_state);
  state->cold_restart_state = g_strdup (pd_tray_agent_get_cold_restart_state (self->agent));
  state->overall = state->agent_connected ? pd_report_overall (state->report) : PD_STATE_UNKNOWN;

  const PdComponent *link = pd_report_get (state->report, PD_COMPONENT_HOSTLINK);
  const char *next = link ? pd_component_get_detail (link, PD_DETAIL_NEXT_ALLOWED_IN) : NULL;
  const char *left = link ? pd_component_get_detail (link, PD_DETAIL_RATE_LEFT) : NULL;
  g_autofree char *facts = g_strconcat (next ? next : "-", "/", left ? left : "-", NULL);
  if (g_strcmp0 (facts, self->rate_facts) != 0)
    {
      g_free (self->rate_facts);
      self->rate_facts = g_steal_pointer (&facts);
      self->rate_facts_time = g_get_monotonic_time ();
    }
  state->hostlink_facts_time = self->rate_facts_time;
  if (!state->agent_connected)
    state->cold_restart_blocked = g_strdup (_ ("the passdesk agent is not running"));
  else if (pd_tray_cold_restart_active (state->cold_restart_state))
    state->cold_restart_blocked = g_strdup (_ ("a restart is under way"));
  else if (link != NULL && link->state == PD_STATE_UNKNOWN)
    state->cold_restart_blocked
        = g_strdup (_ ("no host link")); /* not set up, or not checked yet */
  else if (link != NULL && link->state != PD_STATE_OK)
    state->cold_restart_blocked = g_strdup (_ ("host link down"));

  pd_tray_state_free (self->state);
  self->state = g_steal_pointer (&state);

  set_action_enabled (self, "run-checks", self->state->agent_connected);
  set_action_enabled (self, "keep-output", self->keepable_sink != NULL);
  set_action_enabled (self, "cold-restart", self->state->cold_restart_blocked == NULL);
  pd_tray_menu_model_update (self->menu, self->state);
  pd_tray_sni_update (self->sni, self->state);
  if (self->status_icon != NULL)
    pd_tray_status_icon_update (self->status_icon, self->state);
  if (self->window != NULL)
    pd_tray_window_update (self->window, self->state);
  if (self->dialog != NULL)
    pd_tray_restart_dialog_update (self->dialog, self->state);
  pd_tray_notify_update (self->notify, self->state);
}

/* ---- tray presence ---- */

static void
tell_no_tray (PdTrayApp *self)
{
  if (self->told_no_tray)
    return;
  self->told_no_tray = TRUE;
  pd_tray_notify_set_have_icon (self->notify, FALSE);
  pd_tray_notify_message (
      self->notify, _ ("passdesk cannot show its tray icon"),
      _ ("This desktop has no system tray. On GNOME, install and enable the “AppIndicator and "
         "KStatusNotifierItem Support” extension (package gnome-shell-extension-appindicator), "
         "then "
         "log out and back in. Until then passdesk reports problems as notifications; open "
         "“passdesk” from the applications menu to see the status window."));
}

static gboolean
embed_check_cb (gpointer data)
{
  PdTrayApp *self = data;

  self->embed_check_id = 0;
  if (!pd_tray_sni_get_watcher_present (self->sni)
      && (self->status_icon == NULL || !pd_tray_status_icon_is_embedded (self->status_icon)))
    tell_no_tray (self);
  return G_SOURCE_REMOVE;
}

static void
decide_presence (PdTrayApp *self)
{
  if (!pd_tray_sni_get_watcher_known (self->sni))
    return;
  if (pd_tray_sni_get_watcher_present (self->sni))
    {
      g_clear_pointer (&self->status_icon, pd_tray_status_icon_free);
      g_clear_handle_id (&self->embed_check_id, g_source_remove);
      pd_tray_notify_set_have_icon (self->notify, TRUE);
      return;
    }
  if (self->status_icon == NULL)
    {
      /* NULL when the display is not X11: then only a watcher can help. */
      self->status_icon = pd_tray_status_icon_new (self->menu, G_ACTION_GROUP (self));
      if (self->status_icon != NULL)
        pd_tray_status_icon_update (self->status_icon, self->state);
    }
  if (!self->told_no_tray && self->embed_check_id == 0)
    self->embed_check_id = g_timeout_add_seconds (TRAY_GRACE_S, embed_check_cb, self);
}

static void
on_sni_notify (GObject *sni, GParamSpec *pspec, PdTrayApp *self)
{
  decide_presence (self);
}

/* ---- actions ---- */

static void
show_status (PdTrayApp *self)
{
  if (self->window == NULL)
    {
      self->window = pd_tray_window_new (GTK_APPLICATION (self));
      g_object_add_weak_pointer (G_OBJECT (self->window), (gpointer *) &self->window);
      pd_tray_window_update (self->window, self->state);
      pd_tray_window_set_events (self->window, pd_tray_agent_get_events (self->agent));
    }
  gtk_window_present (GTK_WINDOW (self->window));
}

static void
status_activated (GSimpleAction *action, GVariant *param, gpointer data)
{
  show_status (PD_TRAY_APP (data));
}

static void
run_checks_cb (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = pd_tray_agent_run_checks_finish (PD_TRAY_AGENT (source), res, &error);
  PdTrayApp *self;

  if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PD_TRAY_APP (data);
  if (self->window != NULL)
    pd_tray_window_set_message (self->window, ok ? "Checks finished." : error->message);
  else if (!ok)
    pd_tray_notify_message (self->notify, _ ("passdesk could not run the checks"), error->message);
}

static void
run_checks_activated (GSimpleAction *action, GVariant *param, gpointer data)
{
  PdTrayApp *self = data;

  if (self->window != NULL)
    pd_tray_window_set_message (self->window, "Running checks…");
  pd_tray_agent_run_checks (self->agent, self->cancellable, run_checks_cb, self);
}

static void
cold_restart_activated (GSimpleAction *action, GVariant *param, gpointer data)
{
  PdTrayApp *self = data;

  if (self->dialog == NULL)
    {
      self->dialog = pd_tray_restart_dialog_new (self->window ? GTK_WINDOW (self->window) : NULL,
                                                 self->agent);
      g_object_add_weak_pointer (G_OBJECT (self->dialog), (gpointer *) &self->dialog);
      gtk_window_set_application (GTK_WINDOW (self->dialog), GTK_APPLICATION (self));
      pd_tray_restart_dialog_update (self->dialog, self->state);
    }
  gtk_window_present (GTK_WINDOW (self->dialog));
}

static void
confirm_cold_restart_activated (GSimpleAction *action, GVariant *param, gpointer data)
{
  PdTrayApp *self = data;

  if (self->dialog == NULL || !pd_tray_restart_dialog_confirm (self->dialog))
    g_message ("confirm-cold-restart: no confirmation dialog is waiting");
}

static void
switch_audio_cb (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  PdTrayApp *self;

  if (pd_tray_audio_switch_to_hdmi_finish (PD_TRAY_AUDIO (source), res, &error))
    return; /* the sound server's events update every view */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PD_TRAY_APP (data);
  pd_tray_notify_message (self->notify, _ ("Audio could not be switched to HDMI"), error->message);
  if (self->window != NULL)
    pd_tray_window_set_message (self->window, error->message);
}

static void
switch_audio_activated (GSimpleAction *action, GVariant *param, gpointer data)
{
  PdTrayApp *self = data;
  const PdComponent *audio = pd_tray_agent_get_report (self->agent)->components[PD_COMPONENT_AUDIO];
  g_autofree char *monitor = preferred_monitor (audio);

  pd_tray_audio_switch_to_hdmi (self->audio, monitor, self->cancellable, switch_audio_cb, self);
}

/* ---- repairing HDMI audio without a restart ---- */

static void
rebind_done_cb (GObject *source, GAsyncResult *res, gpointer data)
{
  GSubprocess *proc = G_SUBPROCESS (source);
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  PdTrayApp *self;

  if (!g_subprocess_communicate_utf8_finish (proc, res, &out, &err, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PD_TRAY_APP (data);
  if (error == NULL && g_subprocess_get_if_exited (proc)
      && g_subprocess_get_exit_status (proc) == 0)
    {
      pd_tray_notify_message (self->notify, _ ("HDMI audio was reset"), g_strstrip (out));
      /* The agent reads the card and codec again; a codec that answers ends
       * its kernel-log finding. */
      g_action_group_activate_action (G_ACTION_GROUP (self), "run-checks", NULL);
      return;
    }
  int status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  const char *why;
  if (error != NULL)
    why = error->message;
  else if (status == 126 || status == 127)
    why = _ ("Authentication was cancelled or refused; nothing was changed.");
  else
    why = err != NULL && *g_strstrip (err) ? err : _ ("The repair failed.");
  g_autofree char *body = g_strdup_printf ("%.600s", why);
  pd_tray_notify_message (self->notify, _ ("HDMI audio could not be repaired"), body);
}

static void
repair_audio_activated (GSimpleAction *action, GVariant *param, gpointer data)
{
  PdTrayApp *self = data;
  g_autoptr (GError) error = NULL;
  const char *helper = g_getenv ("PASSDESK_REBIND_AUDIO");
  g_autofree char *installed
      = g_build_filename (PASSDESK_LIBEXECDIR, "passdesk-rebind-audio", NULL);

  /* pkexec asks polkit (org.passdesk.rebind-audio) and runs the helper as
   * root; the helper takes no arguments from us. */
  g_autoptr (GSubprocess) proc
      = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                          "pkexec", helper != NULL && *helper ? helper : installed, NULL);
  if (proc == NULL)
    {
      g_autofree char *body = g_strdup_printf (_ ("pkexec could not be started (%s). Install the "
                                                  "pkexec package, or cold-restart the VM."),
                                               error->message);
      pd_tray_notify_message (self->notify, _ ("HDMI audio could not be repaired"), body);
      return;
    }
  g_subprocess_communicate_utf8_async (proc, NULL, self->cancellable, rebind_done_cb, self);
}

static void
keep_output_activated (GSimpleAction *action, GVariant *param, gpointer data)
{
  PdTrayApp *self = data;

  if (self->keepable_sink == NULL)
    return;
  pd_tray_settings_choose_output (self->settings, self->keepable_sink);
  recompute (self);
}

/* "notify-<component>": a boolean state, TRUE while that kind of incident
 * is announced; the status window's check buttons are bound to it. */
static void
notify_kind_change_state (GSimpleAction *action, GVariant *value, gpointer data)
{
  PdTrayApp *self = data;
  PdComponentId id;

  if (!pd_component_id_from_string (g_action_get_name (G_ACTION (action)) + strlen ("notify-"),
                                    &id))
    return;
  pd_tray_settings_set_muted (self->settings, id, !g_variant_get_boolean (value));
  g_simple_action_set_state (action, value);
  recompute (self);
}

static void
add_notify_kind_actions (PdTrayApp *self)
{
  for (PdComponentId id = 0; id < PD_N_COMPONENTS; id++)
    {
      g_autofree char *name = g_strdup_printf ("notify-%s", pd_component_id_to_string (id));
      GSimpleAction *action = g_simple_action_new_stateful (
          name, NULL, g_variant_new_boolean (!pd_tray_settings_get_muted (self->settings, id)));
      g_signal_connect (action, "change-state", G_CALLBACK (notify_kind_change_state), self);
      g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (action));
      g_object_unref (action);
    }
}

static void
on_output_chosen (PdTrayAudio *audio, const char *sink_name, PdTrayApp *self)
{
  pd_tray_settings_choose_output (self->settings, sink_name);
}

static void
quit_activated (GSimpleAction *action, GVariant *param, gpointer data)
{
  g_application_quit (G_APPLICATION (data));
}

static const GActionEntry app_actions[] = {
  { "status", status_activated, NULL, NULL, NULL, { 0 } },
  { "run-checks", run_checks_activated, NULL, NULL, NULL, { 0 } },
  { "cold-restart", cold_restart_activated, NULL, NULL, NULL, { 0 } },
  { "confirm-cold-restart", confirm_cold_restart_activated, NULL, NULL, NULL, { 0 } },
  { "switch-audio", switch_audio_activated, NULL, NULL, NULL, { 0 } },
  { "keep-output", keep_output_activated, NULL, NULL, NULL, { 0 } },
  { "repair-audio", repair_audio_activated, NULL, NULL, NULL, { 0 } },
  { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
};

static void
on_notify_action (PdTrayNotify *notify, const char *action, const char *component, PdTrayApp *self)
{
  if (g_strcmp0 (action, "cold-restart") == 0)
    g_action_group_activate_action (G_ACTION_GROUP (self), "cold-restart", NULL);
  else if (g_strcmp0 (action, "switch-hdmi") == 0)
    g_action_group_activate_action (G_ACTION_GROUP (self), "switch-audio", NULL);
  else if (g_strcmp0 (action, "repair-audio") == 0)
    g_action_group_activate_action (G_ACTION_GROUP (self), "repair-audio", NULL);
  else if (g_strcmp0 (action, "keep-output") == 0)
    g_action_group_activate_action (G_ACTION_GROUP (self), "keep-output", NULL);
  else
    show_status (self);
}

static void
on_agent_event (PdTrayAgent *agent, gint64 time, const char *kind, const char *component,
                const char *text, PdTrayApp *self)
{
  GPtrArray *events = pd_tray_agent_get_events (agent);
  if (self->window != NULL && events->len > 0)
    pd_tray_window_add_event (self->window, g_ptr_array_index (events, events->len - 1));
}

static void
on_agent_changed (PdTrayAgent *agent, PdTrayApp *self)
{
  recompute (self);
}

static void
on_agent_events_reset (PdTrayAgent *agent, PdTrayApp *self)
{
  if (self->window != NULL)
    pd_tray_window_set_events (self->window, pd_tray_agent_get_events (agent));
}

static void
on_audio_changed (PdTrayAudio *audio, PdTrayApp *self)
{
  recompute (self);
}

/* ---- GApplication ---- */

/* The folder holding hicolor/ with our icons: PASSDESK_TRAY_ICON_DIR when
 * set, the source tree's data/icons when this program runs from the build
 * tree (nothing is installed yet), the installed one otherwise. Panels read
 * it as the item's IconThemePath: without it a panel that only knows the
 * installed themes shows an empty slot. */
static char *
icon_theme_dir (gboolean *uninstalled)
{
  const char *env = g_getenv ("PASSDESK_TRAY_ICON_DIR");
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);

  *uninstalled = TRUE;
  if (env != NULL && *env)
    return g_strdup (env);
  if (self != NULL && g_str_has_prefix (self, PASSDESK_BUILDDIR "/"))
    return g_strdup (PASSDESK_BUILD_ICON_DIR);
  *uninstalled = FALSE;
  return g_build_filename (PASSDESK_DATADIR, "icons", NULL);
}

static void
pd_tray_app_startup (GApplication *app)
{
  PdTrayApp *self = PD_TRAY_APP (app);
  gboolean uninstalled;
  g_autofree char *icon_dir = icon_theme_dir (&uninstalled);

  G_APPLICATION_CLASS (pd_tray_app_parent_class)->startup (app);

  /* Runs without windows: the tray icon is the main surface. */
  g_application_hold (app);
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  if (uninstalled)
    gtk_icon_theme_prepend_search_path (gtk_icon_theme_get_default (), icon_dir);
  gtk_window_set_default_icon_name (PD_TRAY_APP_ICON);

  self->cancellable = g_cancellable_new ();
  self->settings = pd_tray_settings_new (NULL);
  add_notify_kind_actions (self);
  self->state = pd_tray_state_new ();
  self->menu = pd_tray_menu_model_new ();
  self->notify = pd_tray_notify_new (g_application_get_dbus_connection (app), self->settings);
  self->sni = pd_tray_sni_new (g_application_get_dbus_connection (app), self->menu,
                               G_ACTION_GROUP (self));
  pd_tray_sni_set_icon_theme_path (self->sni, icon_dir);
  self->agent = pd_tray_agent_new (self->agent_bus);
  self->audio = pd_tray_audio_new ();

  g_signal_connect (self->agent, "changed", G_CALLBACK (on_agent_changed), self);
  g_signal_connect (self->agent, "event", G_CALLBACK (on_agent_event), self);
  g_signal_connect (self->agent, "events-reset", G_CALLBACK (on_agent_events_reset), self);
  g_signal_connect (self->audio, "changed", G_CALLBACK (on_audio_changed), self);
  g_signal_connect (self->audio, "output-chosen", G_CALLBACK (on_output_chosen), self);
  g_signal_connect (self->notify, "action", G_CALLBACK (on_notify_action), self);
  g_signal_connect (self->sni, "notify::registered", G_CALLBACK (on_sni_notify), self);
  g_signal_connect (self->sni, "notify::watcher-present", G_CALLBACK (on_sni_notify), self);
  recompute (self);
}

static void
pd_tray_app_activate (GApplication *app)
{
  PdTrayApp *self = PD_TRAY_APP (app);

  /* The first activation is the launch itself (autostart): the tray icon is
   * enough. Any later launch means the user wants the window. */
  if (!self->activated_once && !self->show_status_on_start)
    {
      self->activated_once = TRUE;
      return;
    }
  self->activated_once = TRUE;
  show_status (self);
}

static void
pd_tray_app_shutdown (GApplication *app)
{
  PdTrayApp *self = PD_TRAY_APP (app);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->embed_check_id, g_source_remove);
  if (self->dialog != NULL)
    gtk_widget_destroy (GTK_WIDGET (self->dialog));
  if (self->window != NULL)
    gtk_widget_destroy (GTK_WIDGET (self->window));
  g_clear_pointer (&self->status_icon, pd_tray_status_icon_free);
  if (self->sni != NULL)
    g_signal_handlers_disconnect_by_data (self->sni, self);
  if (self->agent != NULL)
    g_signal_handlers_disconnect_by_data (self->agent, self);
  if (self->audio != NULL)
    g_signal_handlers_disconnect_by_data (self->audio, self);
  if (self->notify != NULL)
    g_signal_handlers_disconnect_by_data (self->notify, self);
  g_clear_object (&self->sni);
  g_clear_object (&self->notify);
  g_clear_object (&self->agent);
  g_clear_object (&self->audio);
  g_clear_object (&self->menu);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->state, pd_tray_state_free);
  g_clear_pointer (&self->settings, pd_tray_settings_free);
  g_clear_pointer (&self->keepable_sink, g_free);
  g_clear_pointer (&self->rate_facts, g_free);
  G_APPLICATION_CLASS (pd_tray_app_parent_class)->shutdown (app);
}

static int
pd_tray_app_handle_local_options (GApplication *app, GVariantDict *options)
{
  PdTrayApp *self = PD_TRAY_APP (app);

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("passdesk-tray %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (g_variant_dict_contains (options, "session")
      || g_strcmp0 (g_getenv ("PASSDESK_BUS"), "session") == 0)
    self->agent_bus = G_BUS_TYPE_SESSION;
  if (g_variant_dict_contains (options, "status"))
    self->show_status_on_start = TRUE;
  return -1;
}

static void
pd_tray_app_class_init (PdTrayAppClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->startup = pd_tray_app_startup;
  app_class->activate = pd_tray_app_activate;
  app_class->shutdown = pd_tray_app_shutdown;
  app_class->handle_local_options = pd_tray_app_handle_local_options;
}

static const GOptionEntry options[] = {
  { "session", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_ ("Find the agent on the session bus (passdesk-agent --session); also PASSDESK_BUS=session"),
    NULL },
  { "status", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Open the status window"), NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Print the version and exit"), NULL },
  { NULL, 0, 0, 0, NULL, NULL, NULL },
};

static const char *
help_summary (void)
{
  return _ ("The passdesk tray icon: the health of this desktop VM (GPU, display, video "
            "acceleration, HDMI audio, USB, host link), notifications when something breaks, and "
            "a confirmed “Cold restart VM”.");
}

static const char *
help_description (void)
{
  return _ ("Only one instance runs per session; launching it again opens the status window.\n"
            "Needs passdesk-agent on the system bus (org.passdesk.Agent1).\n"
            "See passdesk-tray(1).");
}

static void
pd_tray_app_init (PdTrayApp *self)
{
  self->agent_bus = G_BUS_TYPE_SYSTEM;
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_summary (G_APPLICATION (self), help_summary ());
  g_application_set_option_context_description (G_APPLICATION (self), help_description ());
}

PdTrayApp *
pd_tray_app_new (void)
{
  return g_object_new (PD_TYPE_TRAY_APP, "application-id", "org.passdesk.Tray", "flags",
                       G_APPLICATION_DEFAULT_FLAGS, NULL);
}

/* GApplication reports an unknown option with exit status 1; our CLIs use 2
 * for usage errors, so options are checked here first, and help printed. */
static gboolean
usage_ok (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) args = g_new0 (char *, argc + 1);

  for (int i = 0; i < argc; i++)
    {
      args[i] = g_strdup (argv[i]);
    }
  /* The same entries, with somewhere to store the values (GApplication's
   * entries have none: it collects them in a dictionary). */
  gboolean flags[G_N_ELEMENTS (options)];
  GOptionEntry entries[G_N_ELEMENTS (options)];
  for (guint i = 0; i < G_N_ELEMENTS (options); i++)
    {
      entries[i] = options[i];
      if (entries[i].long_name != NULL)
        entries[i].arg_data = &flags[i];
    }
  g_option_context_set_help_enabled (ctx, FALSE);
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_option_context_add_group (ctx, gtk_get_option_group (FALSE));
  /* Help is printed here, wrapped to the terminal (GApplication does not). */
  g_option_context_set_summary (ctx, help_summary ());
  g_option_context_set_description (ctx, help_description ());
  if (pd_terminal_handle_help (ctx, argc, argv))
    exit (0);
  if (!g_option_context_parse_strv (ctx, &args, &error))
    {
      g_printerr ("passdesk-tray: %s. Try “passdesk-tray --help”.\n", error->message);
      return FALSE;
    }
  if (args[0] != NULL && args[1] != NULL)
    {
      g_printerr (_ ("passdesk-tray: unexpected argument “%s”. Try “passdesk-tray --help”.\n"),
                  args[1]);
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  pd_i18n_init ();
  if (!usage_ok (argc, argv))
    return 2;

  g_autoptr (PdTrayApp) app = pd_tray_app_new ();
  g_set_prgname ("passdesk-tray");
  g_set_application_name ("passdesk");
  return g_application_run (G_APPLICATION (app), argc, argv);
}
