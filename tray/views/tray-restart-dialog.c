/* tray-restart-dialog.c - the cold-restart confirmation and progress. */
#include "tray-restart-dialog.h"
#include "pd-i18n.h"

#include "agent-errors.h"
#include "tray-words.h"

enum
{
  MODE_ASK,
  MODE_RUNNING,
  MODE_DONE,
};

struct _PdTrayRestartDialog
{
  GtkDialog parent_instance;
  PdTrayAgent *agent;
  GCancellable *cancellable;
  GtkWidget *title;
  GtkWidget *body;
  GtkWidget *hostlink;
  GtkWidget *limit; /* the host's rate limit, before anyone confirms */
  GtkWidget *restart_note; /* how the desktop's Restart compares (issue 14) */
  GtkWidget *spinner;
  GtkWidget *progress;
  GtkWidget *confirm;
  GtkWidget *cancel;
  int mode;
  gboolean allowed;
  gulong progress_id;
  /* The host's rate limit, counted down while the dialog asks. */
  PdComponent *link;   /* hostlink as last reported, or NULL */
  gint64 link_seen_us; /* monotonic time its facts arrived */
  char *blocked;       /* why the tray cannot ask now (tray-app), or NULL */
  guint countdown_id;
};

G_DEFINE_TYPE (PdTrayRestartDialog, pd_tray_restart_dialog, GTK_TYPE_DIALOG)

/* The heading and the sentence under it say where the cycle is: asking,
 * under way, or over without a restart. */
static void
set_heading (PdTrayRestartDialog *self, const char *heading, const char *body)
{
  g_autofree char *markup = g_markup_printf_escaped ("<b><big>%s</big></b>", heading);
  gtk_label_set_markup (GTK_LABEL (self->title), markup);
  gtk_label_set_text (GTK_LABEL (self->body), body);
}

static void
show_progress (PdTrayRestartDialog *self, const char *text, gboolean spinning)
{
  gtk_label_set_text (GTK_LABEL (self->progress), text);
  gtk_widget_show (self->progress);
  gtk_widget_set_visible (self->spinner, spinning);
  if (spinning)
    gtk_spinner_start (GTK_SPINNER (self->spinner));
  else
    gtk_spinner_stop (GTK_SPINNER (self->spinner));
}

static void
finish_with (PdTrayRestartDialog *self, const char *heading, const char *body, const char *text)
{
  self->mode = MODE_DONE;
  g_clear_handle_id (&self->countdown_id, g_source_remove);
  set_heading (self, heading, body);
  gtk_widget_hide (self->limit);
  gtk_widget_hide (self->restart_note);
  gtk_widget_hide (self->hostlink);
  show_progress (self, text, FALSE);
  gtk_widget_hide (self->confirm);
  /* GTK's own words and translations for its standard buttons. */
  gtk_button_set_label (GTK_BUTTON (self->cancel), g_dgettext ("gtk30", "_Close"));
  gtk_widget_set_sensitive (self->cancel, TRUE);
}

static void
on_progress (PdTrayAgent *agent, const char *phase, const char *text, PdTrayRestartDialog *self)
{
  if (self->mode != MODE_RUNNING)
    return;
  if (g_strcmp0 (phase, "refused") == 0)
    {
      finish_with (self, _ ("The host refused the cold restart"),
                   _ ("Nothing was changed: the VM keeps running. The host's reason:"), text);
      return;
    }
  if (g_strcmp0 (phase, "cancelled") == 0)
    {
      finish_with (self, _ ("The cold restart was cancelled"), _ ("The VM keeps running."), text);
      return;
    }
  if (g_strcmp0 (phase, "failed") == 0)
    {
      finish_with (self, _ ("The cold restart failed"),
                   _ ("The host could not finish the cycle. What it reported:"), text);
      return;
    }
  show_progress (self, text, TRUE);
}

static void
cold_restart_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  PdTrayRestartDialog *self;

  if (!pd_tray_agent_cold_restart_finish (PD_TRAY_AGENT (source), res, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = PD_TRAY_RESTART_DIALOG (user_data);
      /* The message is the agent's or the host's own sentence. */
      if (g_error_matches (error, PD_AGENT_ERROR, PD_AGENT_ERROR_REFUSED))
        finish_with (self, _ ("The host refused the cold restart"),
                     _ ("Nothing was changed: the VM keeps running. The host's reason:"),
                     error->message);
      else if (g_error_matches (error, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED))
        finish_with (self, _ ("The cold restart was not authorised"),
                     _ ("Nothing was changed: the VM keeps running. The reason:"), error->message);
      else
        finish_with (self, _ ("The cold restart did not start"),
                     _ ("Nothing was changed: the VM keeps running. The reason:"), error->message);
      return;
    }
  self = PD_TRAY_RESTART_DIALOG (user_data);
  show_progress (self,
                 _ ("The host accepted. The VM is shutting down cleanly; it will start again after "
                    "the cool-off."),
                 TRUE);
}

static void
start (PdTrayRestartDialog *self)
{
  self->mode = MODE_RUNNING;
  g_clear_handle_id (&self->countdown_id, g_source_remove);
  gtk_widget_hide (self->limit);
  gtk_widget_hide (self->restart_note);
  gtk_widget_hide (self->hostlink);
  set_heading (self, _ ("Cold restart under way"),
               _ ("Applications are closing and the VM powers off cleanly. It stays off for the "
                  "cool-off, so that the host can reset the graphics and audio devices, and then "
                  "starts again."));
  gtk_widget_set_sensitive (self->confirm, FALSE);
  gtk_widget_set_sensitive (self->cancel, FALSE);
  show_progress (self, _ ("Asking the host…"), TRUE);
  pd_tray_agent_cold_restart (self->agent, _ ("requested from the passdesk tray"),
                              self->cancellable, cold_restart_cb, self);
}

static void
pd_tray_restart_dialog_response (GtkDialog *dialog, int response)
{
  PdTrayRestartDialog *self = PD_TRAY_RESTART_DIALOG (dialog);

  if (response == GTK_RESPONSE_ACCEPT && self->mode == MODE_ASK && self->allowed)
    {
      start (self);
      return;
    }
  if (self->mode == MODE_RUNNING && response != GTK_RESPONSE_DELETE_EVENT)
    return;
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

gboolean
pd_tray_restart_dialog_confirm (PdTrayRestartDialog *self)
{
  if (self->mode != MODE_ASK || !self->allowed)
    return FALSE;
  gtk_dialog_response (GTK_DIALOG (self), GTK_RESPONSE_ACCEPT);
  return TRUE;
}

static gboolean countdown_cb (gpointer data);

/* While asking: Confirm only when the tray and the host's rate limit allow
 * it, and the reason beside it when not. */
static void
refresh_ask (PdTrayRestartDialog *self)
{
  guint64 elapsed
      = (guint64) MAX (0, g_get_monotonic_time () - self->link_seen_us) / G_USEC_PER_SEC;
  PdTrayRateWait wait = pd_tray_rate_wait (self->link, elapsed);
  g_autofree char *limit = pd_tray_rate_wait_sentence (&wait);

  self->allowed = self->blocked == NULL && !wait.blocked;
  gtk_widget_set_sensitive (self->confirm, self->allowed);
  if (limit != NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->limit), limit);
      gtk_widget_set_tooltip_text (self->confirm, limit);
    }
  else
    gtk_widget_set_tooltip_text (self->confirm, NULL);
  gtk_widget_set_visible (self->limit, limit != NULL);
  if (self->blocked != NULL)
    {
      g_autofree char *why
          = g_strdup_printf (_ ("A cold restart is not possible now: %s."), self->blocked);
      show_progress (self, why, FALSE);
      gtk_widget_set_tooltip_text (self->confirm, why);
    }
  else
    gtk_widget_hide (self->progress);
  /* Counted down once a second, only while there is a wait to show. */
  if (wait.blocked && wait.wait_s > 0 && self->countdown_id == 0)
    self->countdown_id = g_timeout_add_seconds (1, countdown_cb, self);
  else if (!(wait.blocked && wait.wait_s > 0))
    g_clear_handle_id (&self->countdown_id, g_source_remove);
}

static gboolean
countdown_cb (gpointer data)
{
  PdTrayRestartDialog *self = data;
  self->countdown_id = 0;
  if (self->mode == MODE_ASK)
    refresh_ask (self);
  return G_SOURCE_REMOVE;
}

void
pd_tray_restart_dialog_update (PdTrayRestartDialog *self, const PdTrayState *state)
{
  const PdComponent *link = pd_report_get (state->report, PD_COMPONENT_HOSTLINK);
  g_autofree char *text = NULL;

  if (link != NULL)
    text = g_strdup_printf (_ ("Host link: %s — %s"), pd_tray_state_label (link->state),
                            link->summary ? link->summary : "");
  else
    text = g_strdup (state->agent_connected ? _ ("Host link: not reported by the agent.")
                                            : _ ("Host link: unknown — the passdesk agent is not "
                                                 "running."));
  gtk_label_set_text (GTK_LABEL (self->hostlink), text);
  g_clear_pointer (&self->link, pd_component_free);
  self->link = link != NULL ? pd_component_copy (link) : NULL;
  self->link_seen_us = state->hostlink_facts_time;
  g_free (self->blocked);
  self->blocked = g_strdup (state->cold_restart_blocked);
  /* Where the host converts reboots, Restart does the same and the dialog
   * says so; elsewhere it says why Restart is not enough. */
  gboolean converted;
  const char *note = pd_tray_state_restart_note (state, &converted);
  if (note != NULL && converted)
    gtk_label_set_text (GTK_LABEL (self->restart_note), note);
  else if (note != NULL)
    gtk_label_set_text (GTK_LABEL (self->restart_note),
                        _ ("Restart from the desktop menu is not the same: it reboots the VM "
                           "in place, and the graphics and audio devices are not reset."));
  /* Both belong to the question; once it is answered, the body is followed
   * by what happened (the host's reason right under "The host's reason:"). */
  gtk_widget_set_visible (self->restart_note, note != NULL && self->mode == MODE_ASK);
  gtk_widget_set_visible (self->hostlink, self->mode == MODE_ASK);
  if (self->mode == MODE_ASK)
    refresh_ask (self);
}

static void
pd_tray_restart_dialog_dispose (GObject *object)
{
  PdTrayRestartDialog *self = PD_TRAY_RESTART_DIALOG (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_signal_handler (&self->progress_id, self->agent);
  g_clear_handle_id (&self->countdown_id, g_source_remove);
  g_clear_pointer (&self->link, pd_component_free);
  g_clear_pointer (&self->blocked, g_free);
  g_clear_object (&self->agent);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (pd_tray_restart_dialog_parent_class)->dispose (object);
}

static void
pd_tray_restart_dialog_class_init (PdTrayRestartDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pd_tray_restart_dialog_dispose;
  /* The agent's D-Bus errors come back as PD_AGENT_ERROR once registered. */
  (void) PD_AGENT_ERROR;
  GTK_DIALOG_CLASS (klass)->response = pd_tray_restart_dialog_response;
}

static void
pd_tray_restart_dialog_init (PdTrayRestartDialog *self)
{
  GtkWidget *area = gtk_dialog_get_content_area (GTK_DIALOG (self));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *title = self->title = gtk_label_new (NULL);
  GtkWidget *body = self->body = gtk_label_new (
      _ ("All applications will close. The VM powers off cleanly, stays off for the cool-off "
         "(about 10 seconds) so that the host can reset the graphics and audio devices, and then "
         "starts again.\n\nSave your work before you continue."));
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);

  self->cancellable = g_cancellable_new ();
  gtk_window_set_title (GTK_WINDOW (self), _ ("Cold restart VM"));
  gtk_window_set_icon_name (GTK_WINDOW (self), PD_TRAY_APP_ICON);
  gtk_window_set_resizable (GTK_WINDOW (self), FALSE);
  g_object_set (box, "margin", 18, NULL);
  gtk_label_set_markup (GTK_LABEL (title), _ ("<b><big>Cold restart this VM?</big></b>"));
  gtk_label_set_xalign (GTK_LABEL (title), 0.0);
  gtk_label_set_xalign (GTK_LABEL (body), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (body), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (body), 60);
  self->hostlink = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (self->hostlink), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (self->hostlink), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (self->hostlink), 60);
  self->limit = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (self->limit), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (self->limit), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (self->limit), 60);
  gtk_widget_set_name (self->limit, "rate-limit");
  self->restart_note = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (self->restart_note), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (self->restart_note), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (self->restart_note), 60);
  self->spinner = gtk_spinner_new ();
  self->progress = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (self->progress), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (self->progress), TRUE);
  gtk_label_set_selectable (GTK_LABEL (self->progress), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (self->progress), 60);
  gtk_box_pack_start (GTK_BOX (row), self->spinner, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (row), self->progress, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (box), title, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), body, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), self->restart_note, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), self->hostlink, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), self->limit, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), row, FALSE, FALSE, 0);
  gtk_container_add (GTK_CONTAINER (area), box);
  gtk_widget_show_all (box);
  gtk_widget_hide (self->spinner);
  gtk_widget_hide (self->progress);
  gtk_widget_hide (self->limit);
  gtk_widget_hide (self->restart_note);

  self->cancel = gtk_dialog_add_button (GTK_DIALOG (self), g_dgettext ("gtk30", "_Cancel"),
                                        GTK_RESPONSE_CANCEL);
  self->confirm
      = gtk_dialog_add_button (GTK_DIALOG (self), _ ("Cold _restart VM"), GTK_RESPONSE_ACCEPT);
  gtk_style_context_add_class (gtk_widget_get_style_context (self->confirm), "destructive-action");
  /* Cancel is the safe default for Enter. */
  gtk_dialog_set_default_response (GTK_DIALOG (self), GTK_RESPONSE_CANCEL);
}

PdTrayRestartDialog *
pd_tray_restart_dialog_new (GtkWindow *parent, PdTrayAgent *agent)
{
  PdTrayRestartDialog *self
      = g_object_new (PD_TYPE_TRAY_RESTART_DIALOG, "use-header-bar", FALSE, NULL);
  self->agent = g_object_ref (agent);
  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  self->progress_id
      = g_signal_connect (agent, "cold-restart-progress", G_CALLBACK (on_progress), self);
  return self;
}
