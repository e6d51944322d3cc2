/* tray-window.c - the status window. */
#include "tray-window.h"
#include "pd-i18n.h"

#include "detail-keys.h"
#include "tray-words.h"

#include <string.h>

#define MAX_HISTORY_ROWS 200

struct _PdTrayWindow
{
  GtkApplicationWindow parent_instance;
  GtkWidget *headline_icon;
  GtkWidget *headline;
  GtkWidget *notice;     /* why the agent's components are missing */
  GtkWidget *components; /* GtkListBox */
  GtkWidget *placeholder;
  GtkWidget *rows[PD_N_COMPONENTS]; /* NULL: not shown */
  PdComponent *shown[PD_N_COMPONENTS];
  GtkWidget *history; /* GtkListBox */
  GtkWidget *message;
  GHashTable *expanded;     /* component ids whose details the user opened */
  GHashTable *collapsed;    /* ... and closed (problems start open) */
  GtkSizeGroup *key_column; /* the detail labels of every section */
  GtkWidget *restart;
  GtkWidget *restart_why; /* why "Cold restart VM…" is greyed */
};

G_DEFINE_TYPE (PdTrayWindow, pd_tray_window, GTK_TYPE_APPLICATION_WINDOW)

static GtkWidget *
label_new (const char *text, gboolean wrap, gboolean selectable)
{
  GtkWidget *label = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (label), wrap);
  gtk_label_set_selectable (GTK_LABEL (label), selectable);
  return label;
}

static void
copy_clicked (GtkButton *button, GtkEntry *entry)
{
  GtkClipboard *clip = gtk_widget_get_clipboard (GTK_WIDGET (button), GDK_SELECTION_CLIPBOARD);
  gtk_clipboard_set_text (clip, gtk_entry_get_text (entry), -1);
}

static void
expander_toggled (GtkExpander *expander, GParamSpec *pspec, PdTrayWindow *self)
{
  const char *id = g_object_get_data (G_OBJECT (expander), "component");
  if (gtk_expander_get_expanded (expander))
    {
      g_hash_table_add (self->expanded, g_strdup (id));
      g_hash_table_remove (self->collapsed, id);
    }
  else
    {
      g_hash_table_remove (self->expanded, id);
      g_hash_table_add (self->collapsed, g_strdup (id));
    }
}

/* The advice, each with its command in a field and a Copy button. */
static void
add_advice (GtkWidget *vbox, const PdComponent *c)
{
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = g_ptr_array_index (c->advice, i);
      GtkWidget *text = label_new (a->text, TRUE, TRUE);
      gtk_label_set_line_wrap_mode (GTK_LABEL (text), PANGO_WRAP_WORD_CHAR);
      gtk_widget_set_margin_top (text, 2);
      gtk_box_pack_start (GTK_BOX (vbox), text, FALSE, FALSE, 0);
      if (a->command != NULL && *a->command)
        {
          GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
          GtkWidget *entry = gtk_entry_new ();
          GtkWidget *copy = gtk_button_new_with_label (_ ("Copy"));
          gtk_entry_set_text (GTK_ENTRY (entry), a->command);
          /* Narrow at least, the whole command where there is room: a long
           * command must not widen the window (the entry scrolls). */
          gtk_entry_set_width_chars (GTK_ENTRY (entry), 16);
          gtk_entry_set_max_width_chars (GTK_ENTRY (entry),
                                         (int) MIN (g_utf8_strlen (a->command, -1) + 1, 56));
          gtk_editable_set_editable (GTK_EDITABLE (entry), FALSE);
          gtk_widget_set_hexpand (entry, TRUE);
          gtk_style_context_add_class (gtk_widget_get_style_context (entry), "monospace");
          gtk_widget_set_tooltip_text (copy, _ ("Copy the command to the clipboard"));
          g_signal_connect (copy, "clicked", G_CALLBACK (copy_clicked), entry);
          gtk_box_pack_start (GTK_BOX (line), entry, TRUE, TRUE, 0);
          gtk_box_pack_start (GTK_BOX (line), copy, FALSE, FALSE, 0);
          gtk_box_pack_start (GTK_BOX (vbox), line, FALSE, FALSE, 0);
        }
    }
}

static GtkWidget *
component_row (PdTrayWindow *self, const PdComponent *c)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *hbox = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *vbox = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *icon
      = gtk_image_new_from_icon_name (pd_tray_state_icon_for (c->state), GTK_ICON_SIZE_DND);
  g_autofree char *title = g_markup_printf_escaped (
      "<b>%s</b> — %s", pd_component_title_localized (c->id), pd_tray_state_label (c->state));
  GtkWidget *title_label = label_new (NULL, FALSE, FALSE);
  GtkWidget *summary = label_new (c->summary ? c->summary : "", TRUE, TRUE);
  GtkWidget *grid = gtk_grid_new ();
  int y = 0;

  gtk_label_set_markup (GTK_LABEL (title_label), title);
  gtk_label_set_line_wrap_mode (GTK_LABEL (summary), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_name (row, pd_component_id_to_string (c->id));
  gtk_widget_set_name (icon, "state-icon");
  gtk_image_set_pixel_size (GTK_IMAGE (icon), 32);
  gtk_widget_set_valign (icon, GTK_ALIGN_START);
  g_object_set (hbox, "margin", 8, NULL);
  gtk_box_pack_start (GTK_BOX (hbox), icon, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (hbox), vbox, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), title_label, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (vbox), summary, FALSE, FALSE, 0);
  /* A part that is not ok: its advice is what to do now, seen without
   * opening Details. An ok part's advice is an improvement: in Details. */
  gboolean problem = c->state != PD_STATE_OK;
  GtkWidget *inner = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  if (problem)
    add_advice (vbox, c);

  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  g_object_set (grid, "margin-top", 6, "margin-start", 12, NULL);
  for (guint i = 0; i < c->details->len; i++)
    {
      const PdDetail *d = g_ptr_array_index (c->details, i);
      if (!pd_detail_key_is_shown (d->key))
        continue;
      g_autofree char *label = pd_detail_label (d->key);
      g_autofree char *value = pd_tray_detail_value (d->key, d->value);
      GtkWidget *k = label_new (label, TRUE, FALSE);
      GtkWidget *v = label_new (value, TRUE, TRUE);
      gtk_style_context_add_class (gtk_widget_get_style_context (k), "dim-label");
      gtk_widget_set_valign (k, GTK_ALIGN_START);
      /* Every section's values start at the same x: one column width for
       * the labels of all sections. */
      gtk_size_group_add_widget (self->key_column, k);
      gtk_label_set_line_wrap_mode (GTK_LABEL (v), PANGO_WRAP_WORD_CHAR);
      gtk_widget_set_hexpand (v, TRUE);
      gtk_grid_attach (GTK_GRID (grid), k, 0, y, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), v, 1, y++, 1, 1);
    }
  if (y > 0)
    gtk_box_pack_start (GTK_BOX (inner), grid, FALSE, FALSE, 0);
  else
    {
      /* Never parented: drop the floating reference. */
      g_object_ref_sink (grid);
      g_object_unref (grid);
    }
  if (!problem)
    add_advice (inner, c);
  if (y > 0 || (!problem && c->advice->len > 0))
    {
      GtkWidget *expander = gtk_expander_new_with_mnemonic (_ ("_Details"));
      gtk_container_add (GTK_CONTAINER (expander), inner);
      g_object_set_data_full (G_OBJECT (expander), "component",
                              g_strdup (pd_component_id_to_string (c->id)), g_free);
      const char *cid = pd_component_id_to_string (c->id);
      gtk_expander_set_expanded (
          GTK_EXPANDER (expander),
          g_hash_table_contains (self->expanded, cid)
              || (c->state >= PD_STATE_DEGRADED && !g_hash_table_contains (self->collapsed, cid)));
      g_signal_connect (expander, "notify::expanded", G_CALLBACK (expander_toggled), self);
      gtk_box_pack_start (GTK_BOX (vbox), expander, FALSE, FALSE, 0);
    }
  else
    {
      g_object_ref_sink (inner);
      g_object_unref (inner);
    }
  gtk_container_add (GTK_CONTAINER (row), hbox);
  /* Rows are containers; focus goes to what is inside. */
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_show_all (row);
  return row;
}

void
pd_tray_window_update (PdTrayWindow *self, const PdTrayState *state)
{
  g_autofree char *headline = pd_tray_state_headline (state);
  g_autofree char *body = pd_tray_state_tooltip_body (state);
  int position = 0;

  gtk_label_set_text (GTK_LABEL (self->headline), headline);
  gtk_image_set_from_icon_name (GTK_IMAGE (self->headline_icon), pd_tray_state_icon_name (state),
                                GTK_ICON_SIZE_DIALOG);
  gtk_label_set_text (GTK_LABEL (self->placeholder), body);
  gtk_label_set_text (GTK_LABEL (self->notice), body);
  gtk_widget_set_visible (self->notice, !state->agent_connected);

  /* Greyed with the reason, as the tray menu says it. */
  if (state->cold_restart_blocked != NULL)
    {
      g_autofree char *why = g_strdup_printf (_ ("Cold restart is not possible now: %s."),
                                              state->cold_restart_blocked);
      gtk_label_set_text (GTK_LABEL (self->restart_why), why);
      gtk_widget_set_tooltip_text (self->restart, why);
    }
  else
    gtk_widget_set_tooltip_text (self->restart,
                                 _ ("Power the VM off cleanly and start it again, so that the "
                                    "host resets the GPU and audio (asks first)"));
  gtk_widget_set_visible (self->restart_why, state->cold_restart_blocked != NULL);

  /* Rows are replaced only when their component changed, so keyboard focus
   * and scrolling survive updates of other components. */
  for (PdComponentId id = 0; id < PD_N_COMPONENTS; id++)
    {
      const PdComponent *c = pd_report_get (state->report, id);
      gboolean same
          = (c == NULL && self->shown[id] == NULL)
            || (c != NULL && self->shown[id] != NULL && pd_component_equal (c, self->shown[id]));
      if (!same)
        {
          if (self->rows[id] != NULL)
            gtk_widget_destroy (self->rows[id]);
          self->rows[id] = NULL;
          g_clear_pointer (&self->shown[id], pd_component_free);
          if (c != NULL)
            {
              self->shown[id] = pd_component_copy (c);
              self->rows[id] = component_row (self, c);
              gtk_list_box_insert (GTK_LIST_BOX (self->components), self->rows[id], position);
            }
        }
      if (self->rows[id] != NULL)
        position++;
    }
}

static GtkWidget *
history_row (const PdEventEntry *e)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (e->time / G_USEC_PER_SEC);
  g_autofree char *when = dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
  PdComponentId cid;
  const char *comp = pd_component_id_from_string (e->component, &cid)
                         ? pd_component_title_localized (cid)
                         : e->component;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *hbox = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *time_label = label_new (when, FALSE, FALSE);
  GtkWidget *comp_label = label_new (comp, FALSE, FALSE);
  GtkWidget *text = label_new (e->text, TRUE, TRUE);

  gtk_style_context_add_class (gtk_widget_get_style_context (time_label), "dim-label");
  gtk_label_set_width_chars (GTK_LABEL (comp_label), 16);
  gtk_label_set_xalign (GTK_LABEL (text), 0.0);
  gtk_label_set_line_wrap_mode (GTK_LABEL (text), PANGO_WRAP_WORD_CHAR);
  g_object_set (hbox, "margin", 4, NULL);
  gtk_box_pack_start (GTK_BOX (hbox), time_label, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (hbox), comp_label, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (hbox), text, TRUE, TRUE, 0);
  gtk_container_add (GTK_CONTAINER (row), hbox);
  gtk_widget_set_tooltip_text (row, e->kind);
  gtk_widget_show_all (row);
  return row;
}

void
pd_tray_window_add_event (PdTrayWindow *self, const PdEventEntry *event)
{
  /* Newest first. */
  gtk_list_box_insert (GTK_LIST_BOX (self->history), history_row (event), 0);
  GtkListBoxRow *last
      = gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->history), MAX_HISTORY_ROWS);
  if (last != NULL)
    gtk_widget_destroy (GTK_WIDGET (last));
}

void
pd_tray_window_set_events (PdTrayWindow *self, GPtrArray *events)
{
  GList *children = gtk_container_get_children (GTK_CONTAINER (self->history));
  for (GList *l = children; l != NULL; l = l->next)
    gtk_widget_destroy (l->data);
  g_list_free (children);
  for (guint i = 0; i < events->len; i++)
    pd_tray_window_add_event (self, g_ptr_array_index (events, i));
}

void
pd_tray_window_set_message (PdTrayWindow *self, const char *message)
{
  gtk_label_set_text (GTK_LABEL (self->message), message ? message : "");
  gtk_widget_set_visible (self->message, message != NULL && *message);
}

static void
pd_tray_window_finalize (GObject *object)
{
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    g_clear_pointer (&PD_TRAY_WINDOW (object)->shown[i], pd_component_free);
  g_hash_table_unref (PD_TRAY_WINDOW (object)->expanded);
  g_hash_table_unref (PD_TRAY_WINDOW (object)->collapsed);
  g_object_unref (PD_TRAY_WINDOW (object)->key_column);
  G_OBJECT_CLASS (pd_tray_window_parent_class)->finalize (object);
}

static void
pd_tray_window_class_init (PdTrayWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pd_tray_window_finalize;
}

static GtkWidget *
framed_list (GtkWidget **list, GtkWidget **placeholder, const char *text)
{
  GtkWidget *frame = gtk_frame_new (NULL);
  GtkWidget *ph = label_new (text, TRUE, FALSE);

  *list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (*list), GTK_SELECTION_NONE);
  g_object_set (ph, "margin", 12, NULL);
  gtk_widget_show (ph);
  gtk_list_box_set_placeholder (GTK_LIST_BOX (*list), ph);
  if (placeholder != NULL)
    *placeholder = ph;
  gtk_container_add (GTK_CONTAINER (frame), *list);
  return frame;
}

static void
pd_tray_window_init (PdTrayWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *head = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *scroll = gtk_scrolled_window_new (NULL, NULL);
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *history_title = label_new (NULL, FALSE, FALSE);
  GtkWidget *buttons = gtk_button_box_new (GTK_ORIENTATION_HORIZONTAL);
  GtkWidget *run = gtk_button_new_with_mnemonic (_ ("_Run checks now"));
  GtkWidget *restart = gtk_button_new_with_mnemonic (_ ("_Cold restart VM…"));

  self->expanded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->collapsed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->key_column = gtk_size_group_new (GTK_SIZE_GROUP_HORIZONTAL);
  self->restart = restart;
  gtk_window_set_title (GTK_WINDOW (self), _ ("passdesk status"));
  gtk_window_set_icon_name (GTK_WINDOW (self), PD_TRAY_APP_ICON);
  /* Fits a 1366×768 screen with a panel or two and the title bar; what does
   * not fit scrolls. Nothing inside asks for more width than this, so the
   * window keeps its width when a section opens. */
  gtk_window_set_default_size (GTK_WINDOW (self), 620, 580);
  g_object_set (box, "margin", 12, NULL);

  self->headline_icon = gtk_image_new_from_icon_name ("passdesk-unknown", GTK_ICON_SIZE_DIALOG);
  self->headline = label_new ("", TRUE, FALSE);
  gtk_style_context_add_class (gtk_widget_get_style_context (self->headline), "title-2");
  PangoAttrList *attrs = pango_attr_list_new ();
  pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  pango_attr_list_insert (attrs, pango_attr_scale_new (1.2));
  gtk_label_set_attributes (GTK_LABEL (self->headline), attrs);
  pango_attr_list_unref (attrs);
  gtk_box_pack_start (GTK_BOX (head), self->headline_icon, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (head), self->headline, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (box), head, FALSE, FALSE, 0);
  self->notice = label_new ("", TRUE, FALSE);
  gtk_box_pack_start (GTK_BOX (box), self->notice, FALSE, FALSE, 0);

  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_box_pack_start (
      GTK_BOX (content),
      framed_list (&self->components, &self->placeholder, _ ("Waiting for the passdesk agent…")),
      FALSE, FALSE, 0);
  gtk_label_set_markup (GTK_LABEL (history_title), "<b>Events</b>");
  gtk_box_pack_start (GTK_BOX (content), history_title, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (content), framed_list (&self->history, NULL, _ ("No events yet.")),
                      FALSE, FALSE, 0);
  /* Which kinds of incident are announced (pasystray and nm-applet offer the
   * same): the icon and this window show every one regardless. */
  GtkWidget *notify_title = label_new (NULL, FALSE, FALSE);
  GtkWidget *notify_box = gtk_flow_box_new ();
  gtk_label_set_markup (GTK_LABEL (notify_title), "<b>Notifications</b>");
  gtk_box_pack_start (GTK_BOX (content), notify_title, FALSE, FALSE, 0);
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (notify_box), GTK_SELECTION_NONE);
  gtk_flow_box_set_min_children_per_line (GTK_FLOW_BOX (notify_box), 3);
  for (PdComponentId id = 0; id < PD_N_COMPONENTS; id++)
    {
      g_autofree char *action = g_strdup_printf ("app.notify-%s", pd_component_id_to_string (id));
      GtkWidget *check = gtk_check_button_new_with_label (pd_component_title_localized (id));
      gtk_widget_set_tooltip_text (check, _ ("Show a notification when this part has a problem"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (check), action);
      gtk_widget_set_name (check, action + strlen ("app."));
      gtk_container_add (GTK_CONTAINER (notify_box), check);
    }
  gtk_box_pack_start (GTK_BOX (content), notify_box, FALSE, FALSE, 0);
  gtk_container_add (GTK_CONTAINER (scroll), content);
  gtk_box_pack_start (GTK_BOX (box), scroll, TRUE, TRUE, 0);

  self->message = label_new ("", TRUE, TRUE);
  gtk_box_pack_start (GTK_BOX (box), self->message, FALSE, FALSE, 0);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (run), "app.run-checks");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (restart), "app.cold-restart");
  /* Not styled as destructive: it only opens the confirmation dialog. */
  gtk_button_box_set_layout (GTK_BUTTON_BOX (buttons), GTK_BUTTONBOX_END);
  gtk_box_set_spacing (GTK_BOX (buttons), 6);
  gtk_container_add (GTK_CONTAINER (buttons), run);
  gtk_container_add (GTK_CONTAINER (buttons), restart);
  self->restart_why = label_new ("", TRUE, FALSE);
  gtk_label_set_xalign (GTK_LABEL (self->restart_why), 1.0);
  gtk_style_context_add_class (gtk_widget_get_style_context (self->restart_why), "dim-label");
  gtk_box_pack_start (GTK_BOX (box), buttons, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), self->restart_why, FALSE, FALSE, 0);

  gtk_container_add (GTK_CONTAINER (self), box);
  gtk_widget_show_all (box);
  gtk_widget_hide (self->message);
  gtk_widget_hide (self->notice);
  gtk_widget_hide (self->restart_why);
}

PdTrayWindow *
pd_tray_window_new (GtkApplication *app)
{
  return g_object_new (PD_TYPE_TRAY_WINDOW, "application", app, NULL);
}
