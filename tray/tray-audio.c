/* tray-audio.c - PulseAudio / pipewire-pulse through libpulse on GLib. */
#include "tray-audio.h"
#include "pd-i18n.h"

#include <pulse/glib-mainloop.h>
#include <pulse/pulseaudio.h>
#include <string.h>

#include "detail-keys.h"
#include "tray-state.h"

#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 30
#define PROFILE_WAIT_MS 5000

typedef struct
{
  guint32 index;
  char *name;
  char *description;
  char *port_description; /* active port, or NULL */
  guint32 card;
  gboolean hdmi;
  gboolean available; /* active port not reported unavailable */
} Sink;

typedef struct
{
  char *name;
  gboolean hdmi;
  gboolean available;
  char *port_descriptions; /* of the HDMI ports that list this profile, joined */
} Profile;

typedef struct
{
  guint32 index;
  char *name;
  char *active_profile;
  GPtrArray *profiles; /* Profile */
} Card;

struct _PdTrayAudio
{
  GObject parent_instance;
  pa_glib_mainloop *mainloop;
  pa_context *ctx;
  pa_context *dead_ctx; /* released when the reconnect timer fires */
  gboolean connected;   /* ready and the first listings are in */
  int initial_pending;  /* first listings (server, cards, sinks) still out */
  guint reconnect_id;
  guint backoff_s;
  guint changed_id;
  GHashTable *sinks; /* index -> Sink */
  GHashTable *cards; /* index -> Card */
  char *default_sink;
  GTask *pending_switch; /* waiting for a card's HDMI sink to appear */
  guint32 pending_card;
  char *pending_monitor;
  guint pending_timeout_id;
};

G_DEFINE_TYPE (PdTrayAudio, pd_tray_audio, G_TYPE_OBJECT)

static guint changed_signal;
static guint chosen_signal;

static void connect_context (PdTrayAudio *self);

static void
sink_free (gpointer p)
{
  Sink *s = p;
  g_free (s->name);
  g_free (s->description);
  g_free (s->port_description);
  g_free (s);
}

static void
profile_free (gpointer p)
{
  Profile *pr = p;
  g_free (pr->name);
  g_free (pr->port_descriptions);
  g_free (pr);
}

static void
card_free (gpointer p)
{
  Card *c = p;
  g_free (c->name);
  g_free (c->active_profile);
  g_ptr_array_unref (c->profiles);
  g_free (c);
}

static gboolean
contains_ci (const char *haystack, const char *needle)
{
  if (haystack == NULL || needle == NULL || *needle == '\0')
    return FALSE;
  g_autofree char *h = g_utf8_casefold (haystack, -1);
  g_autofree char *n = g_utf8_casefold (needle, -1);
  return strstr (h, n) != NULL;
}

/* HDMI and DisplayPort share one name in PulseAudio ("hdmi-stereo-extra1",
 * "HDMI / DisplayPort 2"); null sinks in tests carry it in name/description. */
static gboolean
text_is_hdmi (const char *s)
{
  return contains_ci (s, "hdmi") || contains_ci (s, "displayport");
}

static gboolean
sink_is_dummy (const Sink *s)
{
  return s == NULL || g_strcmp0 (s->name, "auto_null") == 0
         || g_strcmp0 (s->description, "Dummy Output") == 0;
}

static gboolean
emit_changed_idle (gpointer data)
{
  PdTrayAudio *self = data;
  self->changed_id = 0;
  g_signal_emit (self, changed_signal, 0);
  return G_SOURCE_REMOVE;
}

static void
queue_changed (PdTrayAudio *self)
{
  /* Several events arrive in a burst (sink removed, auto_null added, server
   * changed): tell the views once. */
  if (self->changed_id == 0)
    self->changed_id = g_idle_add (emit_changed_idle, self);
}

/* ---- the switch ---- */

typedef struct
{
  PdTrayAudio *self;
  char *sink_name;
  guint32 sink_index;
  int pending;
  gboolean failed;
} MoveOp;

static void
move_op_done (MoveOp *op, GTask *task)
{
  if (--op->pending > 0)
    return;
  if (op->failed)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                             _ ("The sound server refused to switch to “%s”. Choose the HDMI "
                                "output in the sound settings instead."),
                             op->sink_name);
  else
    g_task_return_boolean (task, TRUE);
  g_free (op->sink_name);
  g_free (op);
  g_object_unref (task);
}

static void
move_success_cb (pa_context *c, int success, void *userdata)
{
  GTask *task = userdata;
  MoveOp *op = g_task_get_task_data (task);
  if (!success)
    op->failed = TRUE;
  move_op_done (op, task);
}

static void
sink_input_list_cb (pa_context *c, const pa_sink_input_info *i, int eol, void *userdata)
{
  GTask *task = userdata;
  MoveOp *op = g_task_get_task_data (task);

  if (eol != 0)
    {
      move_op_done (op, task);
      return;
    }
  if (i->sink == op->sink_index)
    return;
  op->pending++;
  pa_operation *o
      = pa_context_move_sink_input_by_index (c, i->index, op->sink_index, move_success_cb, task);
  if (o != NULL)
    pa_operation_unref (o);
  else
    {
      op->failed = TRUE;
      op->pending--;
    }
}

static void
set_default_cb (pa_context *c, int success, void *userdata)
{
  GTask *task = userdata;
  MoveOp *op = g_task_get_task_data (task);

  if (!success)
    op->failed = TRUE;
  /* Then move every stream that plays elsewhere. */
  pa_operation *o = pa_context_get_sink_input_info_list (c, sink_input_list_cb, task);
  if (o != NULL)
    pa_operation_unref (o);
  else
    move_op_done (op, task);
}

static void
switch_to_sink (PdTrayAudio *self, GTask *task, const Sink *sink)
{
  MoveOp *op = g_new0 (MoveOp, 1);
  op->self = self;
  op->sink_name = g_strdup (sink->name);
  op->sink_index = sink->index;
  op->pending = 1; /* the stream listing */
  g_task_set_task_data (task, op, NULL);

  pa_operation *o = pa_context_set_default_sink (self->ctx, sink->name, set_default_cb, task);
  if (o != NULL)
    pa_operation_unref (o);
  else
    {
      op->failed = TRUE;
      move_op_done (op, task);
    }
}

static const Sink *
pick_hdmi_sink (PdTrayAudio *self, const char *monitor, gint64 card)
{
  GHashTableIter iter;
  gpointer value;
  const Sink *best = NULL;

  g_hash_table_iter_init (&iter, self->sinks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const Sink *s = value;
      if (!s->hdmi || !s->available || (card >= 0 && s->card != (guint32) card))
        continue;
      if (contains_ci (s->port_description, monitor) || contains_ci (s->description, monitor))
        return s;
      if (best == NULL || s->index < best->index)
        best = s;
    }
  return best;
}

static void
pending_switch_finish (PdTrayAudio *self, const Sink *sink)
{
  GTask *task = g_steal_pointer (&self->pending_switch);

  g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
  g_clear_pointer (&self->pending_monitor, g_free);
  if (sink != NULL)
    switch_to_sink (self, task, sink);
  else
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               _ ("The HDMI profile was selected but no HDMI sink appeared. Check "
                                  "that the monitor is on; if audio stays silent, cold-restart the "
                                  "VM."));
      g_object_unref (task);
    }
}

static gboolean
pending_timeout_cb (gpointer data)
{
  PdTrayAudio *self = data;
  self->pending_timeout_id = 0;
  pending_switch_finish (self, NULL);
  return G_SOURCE_REMOVE;
}

static void
set_profile_cb (pa_context *c, int success, void *userdata)
{
  PdTrayAudio *self = userdata;

  if (self->pending_switch == NULL)
    return;
  if (!success)
    {
      GTask *task = g_steal_pointer (&self->pending_switch);
      g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _ ("The sound server refused the HDMI profile. Choose it in the "
                                  "sound settings instead."));
      g_object_unref (task);
      return;
    }
  /* The sink may already be there. */
  const Sink *s = pick_hdmi_sink (self, self->pending_monitor, self->pending_card);
  if (s != NULL)
    pending_switch_finish (self, s);
}

void
pd_tray_audio_switch_to_hdmi (PdTrayAudio *self, const char *preferred_monitor,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_tray_audio_switch_to_hdmi);

  if (!self->connected)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               _ ("The sound server is not running. Log out and back in, or run "
                                  "“systemctl --user restart pipewire-pulse” (PipeWire) or "
                                  "“pulseaudio --start”."));
      g_object_unref (task);
      return;
    }
  if (self->pending_switch != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_BUSY,
                               _ ("A switch to HDMI is already under way."));
      g_object_unref (task);
      return;
    }

  const Sink *sink = pick_hdmi_sink (self, preferred_monitor, -1);
  if (sink != NULL)
    {
      switch_to_sink (self, task, sink);
      return;
    }

  /* No sink: look for a card whose HDMI profile is available. */
  GHashTableIter iter;
  gpointer value;
  const Card *card = NULL;
  const Profile *profile = NULL;
  g_hash_table_iter_init (&iter, self->cards);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const Card *c = value;
      for (guint i = 0; i < c->profiles->len; i++)
        {
          const Profile *p = g_ptr_array_index (c->profiles, i);
          if (!p->hdmi || !p->available)
            continue;
          if (contains_ci (p->port_descriptions, preferred_monitor))
            {
              card = c, profile = p;
              goto found;
            }
          if (profile == NULL)
            card = c, profile = p;
        }
    }
found:
  if (profile == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _ ("No HDMI or DisplayPort output is available: the sound server "
                                  "lists none. Check that the monitor is on and connected; if it "
                                  "stays missing, cold-restart the VM."));
      g_object_unref (task);
      return;
    }
  self->pending_switch = task;
  self->pending_card = card->index;
  self->pending_monitor = g_strdup (preferred_monitor);
  self->pending_timeout_id = g_timeout_add (PROFILE_WAIT_MS, pending_timeout_cb, self);
  pa_operation *o = pa_context_set_card_profile_by_index (self->ctx, card->index, profile->name,
                                                          set_profile_cb, self);
  if (o != NULL)
    pa_operation_unref (o);
}

gboolean
pd_tray_audio_switch_to_hdmi_finish (PdTrayAudio *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- following the server ---- */

/* Until the server, card and sink listings are all in, the view would be
 * half a picture (a default sink without its sink: "Dummy Output"), and a
 * restart of the sound server would flash a false notification. */
static void
initial_listing_done (PdTrayAudio *self)
{
  if (self->initial_pending > 0 && --self->initial_pending == 0)
    {
      self->connected = TRUE;
      queue_changed (self);
    }
}

static void add_sink (PdTrayAudio *self, const pa_sink_info *i);
static const Sink *find_sink_by_name (PdTrayAudio *self, const char *name);
static void add_card (PdTrayAudio *self, const pa_card_info *i);
static void set_server (PdTrayAudio *self, const pa_server_info *i);

static void
sink_info_cb (pa_context *c, const pa_sink_info *i, int eol, void *userdata)
{
  if (eol != 0)
    queue_changed (userdata);
  else
    add_sink (userdata, i);
}

static void
sink_list_initial_cb (pa_context *c, const pa_sink_info *i, int eol, void *userdata)
{
  if (eol != 0)
    initial_listing_done (userdata);
  else
    add_sink (userdata, i);
}

static void
card_info_cb (pa_context *c, const pa_card_info *i, int eol, void *userdata)
{
  if (eol != 0)
    queue_changed (userdata);
  else
    add_card (userdata, i);
}

static void
card_list_initial_cb (pa_context *c, const pa_card_info *i, int eol, void *userdata)
{
  if (eol != 0)
    initial_listing_done (userdata);
  else
    add_card (userdata, i);
}

static void
server_info_cb (pa_context *c, const pa_server_info *i, void *userdata)
{
  set_server (userdata, i);
  queue_changed (userdata);
}

static void
server_info_initial_cb (pa_context *c, const pa_server_info *i, void *userdata)
{
  set_server (userdata, i);
  initial_listing_done (userdata);
}

static void
add_sink (PdTrayAudio *self, const pa_sink_info *i)
{
  Sink *s = g_new0 (Sink, 1);
  s->index = i->index;
  s->name = g_strdup (i->name);
  s->description = g_strdup (i->description);
  s->card = i->card;
  s->available = TRUE;
  if (i->active_port != NULL)
    {
      s->port_description = g_strdup (i->active_port->description);
      s->available = i->active_port->available != PA_PORT_AVAILABLE_NO;
    }
  s->hdmi = text_is_hdmi (i->name) || text_is_hdmi (i->description)
            || (i->active_port != NULL && text_is_hdmi (i->active_port->name));
  g_hash_table_replace (self->sinks, GUINT_TO_POINTER (i->index), s);

  if (self->pending_switch != NULL && s->card == self->pending_card && s->hdmi && s->available)
    pending_switch_finish (self, s);
}

static void
add_card (PdTrayAudio *self, const pa_card_info *i)
{
  Card *card = g_new0 (Card, 1);
  card->index = i->index;
  card->name = g_strdup (i->name);
  card->active_profile = g_strdup (i->active_profile2 ? i->active_profile2->name : NULL);
  card->profiles = g_ptr_array_new_with_free_func (profile_free);
  for (guint32 n = 0; n < i->n_profiles && n < 256; n++)
    {
      const pa_card_profile_info2 *pi = i->profiles2[n];
      Profile *p = g_new0 (Profile, 1);
      GString *ports = g_string_new (NULL);
      p->name = g_strdup (pi->name);
      p->hdmi = text_is_hdmi (pi->name);
      p->available = pi->available != 0;
      for (guint32 k = 0; k < i->n_ports && k < 256; k++)
        for (guint32 m = 0; m < i->ports[k]->n_profiles; m++)
          if (i->ports[k]->profiles2[m] == pi && text_is_hdmi (i->ports[k]->name))
            g_string_append_printf (ports, "%s;", i->ports[k]->description);
      p->port_descriptions = g_string_free (ports, FALSE);
      g_ptr_array_add (card->profiles, p);
    }
  g_hash_table_replace (self->cards, GUINT_TO_POINTER (i->index), card);
}

static void
set_server (PdTrayAudio *self, const pa_server_info *i)
{
  if (i == NULL)
    return;
  /* The default moved while the old default is still there: someone chose
   * the new one (the user, or the server on the user's plug-in). When the
   * old one went away first, the server fell back by itself: not a choice.
   * (Servers post the sink's removal before the reply to our query.) */
  if (self->connected && self->default_sink != NULL && i->default_sink_name != NULL
      && g_strcmp0 (self->default_sink, i->default_sink_name) != 0
      && g_strcmp0 (i->default_sink_name, "auto_null") != 0
      && !sink_is_dummy (find_sink_by_name (self, self->default_sink)))
    g_signal_emit (self, chosen_signal, 0, i->default_sink_name);
  g_free (self->default_sink);
  self->default_sink = g_strdup (i->default_sink_name);
}

static void
unref_op (pa_operation *o)
{
  if (o != NULL)
    pa_operation_unref (o);
}

static void
subscribe_cb (pa_context *c, pa_subscription_event_type_t t, uint32_t idx, void *userdata)
{
  PdTrayAudio *self = userdata;
  pa_subscription_event_type_t facility = t & PA_SUBSCRIPTION_EVENT_FACILITY_MASK;
  gboolean removed = (t & PA_SUBSCRIPTION_EVENT_TYPE_MASK) == PA_SUBSCRIPTION_EVENT_REMOVE;

  switch (facility)
    {
    case PA_SUBSCRIPTION_EVENT_SINK:
      if (removed)
        {
          g_hash_table_remove (self->sinks, GUINT_TO_POINTER (idx));
          queue_changed (self);
        }
      else
        unref_op (pa_context_get_sink_info_by_index (c, idx, sink_info_cb, self));
      break;
    case PA_SUBSCRIPTION_EVENT_CARD:
      if (removed)
        {
          g_hash_table_remove (self->cards, GUINT_TO_POINTER (idx));
          queue_changed (self);
        }
      else
        unref_op (pa_context_get_card_info_by_index (c, idx, card_info_cb, self));
      break;
    case PA_SUBSCRIPTION_EVENT_SERVER:
      unref_op (pa_context_get_server_info (c, server_info_cb, self));
      break;
    default:
      break;
    }
}

static gboolean
reconnect_cb (gpointer data)
{
  PdTrayAudio *self = data;

  self->reconnect_id = 0;
  connect_context (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (PdTrayAudio *self)
{
  if (self->reconnect_id != 0)
    return;
  self->backoff_s
      = self->backoff_s == 0 ? RECONNECT_MIN_S : MIN (self->backoff_s * 2, RECONNECT_MAX_S);
  self->reconnect_id = g_timeout_add_seconds (self->backoff_s, reconnect_cb, self);
}

static void
forget_server (PdTrayAudio *self)
{
  g_hash_table_remove_all (self->sinks);
  g_hash_table_remove_all (self->cards);
  g_clear_pointer (&self->default_sink, g_free);
  self->connected = FALSE;
  self->initial_pending = 0;
  if (self->pending_switch != NULL)
    {
      GTask *task = g_steal_pointer (&self->pending_switch);
      g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
      g_clear_pointer (&self->pending_monitor, g_free);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               _ ("The sound server went away during the switch; try again once "
                                  "it is back."));
      g_object_unref (task);
    }
  queue_changed (self);
}

static void
context_state_cb (pa_context *c, void *userdata)
{
  PdTrayAudio *self = userdata;

  switch (pa_context_get_state (c))
    {
    case PA_CONTEXT_READY:
      self->initial_pending = 3;
      self->backoff_s = 0;
      pa_context_set_subscribe_callback (c, subscribe_cb, self);
      unref_op (pa_context_subscribe (
          c, PA_SUBSCRIPTION_MASK_SINK | PA_SUBSCRIPTION_MASK_CARD | PA_SUBSCRIPTION_MASK_SERVER,
          NULL, NULL));
      unref_op (pa_context_get_server_info (c, server_info_initial_cb, self));
      unref_op (pa_context_get_card_info_list (c, card_list_initial_cb, self));
      unref_op (pa_context_get_sink_info_list (c, sink_list_initial_cb, self));
      break;
    case PA_CONTEXT_FAILED:
    case PA_CONTEXT_TERMINATED:
      /* The context cannot be reused; release it outside its own callback. */
      pa_context_set_state_callback (c, NULL, NULL);
      pa_context_set_subscribe_callback (c, NULL, NULL);
      if (self->dead_ctx != NULL)
        pa_context_unref (self->dead_ctx);
      self->dead_ctx = self->ctx;
      self->ctx = NULL;
      forget_server (self);
      schedule_reconnect (self);
      break;
    default:
      break;
    }
}

static void
connect_context (PdTrayAudio *self)
{
  g_clear_pointer (&self->dead_ctx, pa_context_unref);

  pa_proplist *props = pa_proplist_new ();
  pa_proplist_sets (props, PA_PROP_APPLICATION_NAME, "passdesk tray");
  pa_proplist_sets (props, PA_PROP_APPLICATION_ID, "org.passdesk.Tray");
  pa_proplist_sets (props, PA_PROP_APPLICATION_ICON_NAME, PD_TRAY_APP_ICON);
  self->ctx = pa_context_new_with_proplist (pa_glib_mainloop_get_api (self->mainloop),
                                            "passdesk tray", props);
  pa_proplist_free (props);
  if (self->ctx == NULL)
    {
      /* libpulse gives no context without memory for its pool, or when
       * used across a fork: the sound server counts as not reachable (the
       * agent's view is shown), and the tray tries again later. */
      schedule_reconnect (self);
      g_message ("Cannot create a PulseAudio client context (libpulse is out of memory or was "
                 "used across a fork): the session's sound server counts as not reachable; "
                 "trying again in %u s.",
                 self->backoff_s);
      return;
    }
  pa_context_set_state_callback (self->ctx, context_state_cb, self);
  if (pa_context_connect (self->ctx, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0)
    {
      pa_context_set_state_callback (self->ctx, NULL, NULL);
      self->dead_ctx = g_steal_pointer (&self->ctx);
      schedule_reconnect (self);
    }
}

/* ---- the merged view ---- */

static const Sink *
find_sink_by_name (PdTrayAudio *self, const char *name)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->sinks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_strcmp0 (((Sink *) value)->name, name) == 0)
      return value;
  return NULL;
}

/* The agent says in its "hdmi-codec-present" detail whether the card has an
 * HDMI codec; an agent without that detail is trusted by state. */
static gboolean
agent_sees_codec (const PdComponent *agent_audio)
{
  const char *present;

  if (agent_audio == NULL)
    return FALSE;
  present = pd_component_get_detail (agent_audio, PD_DETAIL_HDMI_CODEC_PRESENT);
  if (present != NULL)
    return g_strcmp0 (present, "no") != 0;
  return agent_audio->state != PD_STATE_FAILED;
}

/* The session's finding goes first: it is what the user hears. */
static void
lead_with_advice (PdComponent *c, const char *text, const char *command)
{
  pd_component_add_advice (c, text, command);
  PdAdvice *a = g_ptr_array_steal_index (c->advice, c->advice->len - 1);
  g_ptr_array_insert (c->advice, 0, a);
}

static const char *
sink_label (const Sink *s)
{
  return s->description ? s->description : s->name;
}

gboolean
pd_tray_audio_merge (PdTrayAudio *self, const PdComponent *agent_audio, const char *agent_start,
                     PdTraySettings *settings, PdTrayAudioView *view)
{
  memset (view, 0, sizeof *view);

  if (!self->connected)
    {
      if (agent_audio == NULL)
        return FALSE;
      view->component = pd_component_copy (agent_audio);
      pd_component_set_detail (view->component, PD_DETAIL_SOUND_SERVER,
                               "not reachable from the session");
      return TRUE;
    }

  gboolean codec_seen = agent_sees_codec (agent_audio);
  const Sink *def = find_sink_by_name (self, self->default_sink);
  gboolean default_dummy = sink_is_dummy (def);
  gboolean default_hdmi = def != NULL && def->hdmi;
  gboolean hdmi_sink = pick_hdmi_sink (self, NULL, -1) != NULL;
  gboolean hdmi_profile = FALSE;
  GString *outputs = g_string_new (NULL);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->sinks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Sink *) value)->hdmi)
      g_string_append_printf (outputs, "%s%s", outputs->len ? ", " : "", ((Sink *) value)->name);
  g_hash_table_iter_init (&iter, self->cards);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const Card *c = value;
      for (guint i = 0; i < c->profiles->len; i++)
        {
          const Profile *p = g_ptr_array_index (c->profiles, i);
          if (p->hdmi && p->available)
            hdmi_profile = TRUE;
        }
    }
  gboolean hdmi_output = hdmi_sink || hdmi_profile;
  gboolean chosen = !default_dummy && !default_hdmi && settings != NULL
                    && pd_tray_settings_output_chosen (settings, def->name);

  PdComponent *c = agent_audio != NULL ? pd_component_copy (agent_audio)
                                       : pd_component_new (PD_COMPONENT_AUDIO, PD_STATE_OK,
                                                           "The session plays through HDMI/DP.");
  if (default_dummy)
    {
      /* Dummy Output plays to nowhere: never OK, whatever else is known. */
      if (hdmi_output)
        {
          pd_component_raise (c, PD_STATE_DEGRADED,
                              "Audio plays to Dummy Output (silence) although an HDMI/DP output "
                              "exists.");
          lead_with_advice (c, _ ("Choose “Switch audio to HDMI” in the passdesk menu."), NULL);
        }
      else if (codec_seen)
        {
          pd_component_raise (c, PD_STATE_FAILED,
                              "Audio fell back to Dummy Output: the sound server has no HDMI/DP "
                              "output although the HDMI codec is present.");
          lead_with_advice (
              c,
              _ ("Check that the monitor is on and set to this input: its HDMI output "
                 "comes back by itself when it wakes. If it stays missing, "
                 "cold-restart the VM."),
              "pactl list short sinks");
          view->codec_missing = TRUE;
        }
      else if (agent_audio == NULL)
        {
          pd_component_set_state (c, PD_STATE_FAILED,
                                  "Audio plays to Dummy Output (silence): the sound server has no "
                                  "output. The passdesk agent is not running, so whether the HDMI "
                                  "codec answers is not known.");
          lead_with_advice (c,
                            _ ("Start the agent to check the HDMI codec; check that the monitor is "
                               "on and set to this input."),
                            agent_start);
        }
      else
        {
          pd_component_raise (c, PD_STATE_FAILED,
                              "Audio plays to Dummy Output (silence): the sound server has no "
                              "output, and the agent sees no HDMI codec.");
        }
      view->fallback = TRUE;
    }
  else if (chosen)
    {
      /* The user picked this output on purpose: respected, not flagged. */
      if (c->state == PD_STATE_OK)
        pd_component_set_summary_printf (c, "Audio plays to “%s”, the output you chose.",
                                         sink_label (def));
    }
  else if (codec_seen && !hdmi_output && !default_hdmi)
    {
      g_autofree char *summary
          = g_strdup_printf (_ ("Audio fell back to “%s”: the sound server has no HDMI/DP output "
                                "although the HDMI codec is present."),
                             sink_label (def));
      pd_component_raise (c, PD_STATE_DEGRADED, summary);
      lead_with_advice (c,
                        _ ("Check that the monitor is on and set to this input: its HDMI output "
                           "comes back by itself when it wakes. If it stays missing, cold-restart "
                           "the VM."),
                        "pactl list short sinks");
      view->fallback = TRUE;
      view->keepable = g_strdup (sink_label (def));
    }
  else if (hdmi_output && !default_hdmi)
    {
      g_autofree char *summary
          = g_strdup_printf (_ ("Audio plays to “%s”, not to HDMI/DP."), sink_label (def));
      g_autofree char *advice
          = g_strdup_printf (_ ("Choose “Switch audio to HDMI” in the passdesk menu, or keep “%s” "
                                "if you want this output."),
                             sink_label (def));
      pd_component_raise (c, PD_STATE_DEGRADED, summary);
      lead_with_advice (c, advice, NULL);
      view->fallback = TRUE;
      view->keepable = g_strdup (sink_label (def));
    }
  view->can_switch = hdmi_output && !default_hdmi;
  if (view->keepable != NULL)
    view->keepable_sink = g_strdup (def->name);

  pd_component_set_detail (c, PD_DETAIL_DEFAULT_OUTPUT,
                           def != NULL ? sink_label (def) : N_ ("none"));
  pd_component_set_detail (c, PD_DETAIL_HDMI_SINKS, outputs->len ? outputs->str : N_ ("none"));
  if (agent_audio == NULL)
    pd_component_set_detail (c, PD_DETAIL_HDA_HARDWARE,
                             N_ ("not checked: the passdesk agent is not running"));
  g_string_free (outputs, TRUE);
  view->component = c;
  return TRUE;
}

gboolean
pd_tray_audio_is_connected (PdTrayAudio *self)
{
  return self->connected;
}

static void
pd_tray_audio_dispose (GObject *object)
{
  PdTrayAudio *self = PD_TRAY_AUDIO (object);

  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  g_clear_handle_id (&self->changed_id, g_source_remove);
  g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
  if (self->pending_switch != NULL)
    {
      GTask *task = g_steal_pointer (&self->pending_switch);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _ ("Shutting down."));
      g_object_unref (task);
    }
  g_clear_pointer (&self->pending_monitor, g_free);
  if (self->ctx != NULL)
    {
      pa_context_set_state_callback (self->ctx, NULL, NULL);
      pa_context_set_subscribe_callback (self->ctx, NULL, NULL);
      pa_context_disconnect (self->ctx);
      g_clear_pointer (&self->ctx, pa_context_unref);
    }
  g_clear_pointer (&self->dead_ctx, pa_context_unref);
  g_clear_pointer (&self->mainloop, pa_glib_mainloop_free);
  G_OBJECT_CLASS (pd_tray_audio_parent_class)->dispose (object);
}

static void
pd_tray_audio_finalize (GObject *object)
{
  PdTrayAudio *self = PD_TRAY_AUDIO (object);

  g_hash_table_unref (self->sinks);
  g_hash_table_unref (self->cards);
  g_free (self->default_sink);
  G_OBJECT_CLASS (pd_tray_audio_parent_class)->finalize (object);
}

static void
pd_tray_audio_class_init (PdTrayAudioClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pd_tray_audio_dispose;
  object_class->finalize = pd_tray_audio_finalize;
  changed_signal = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                 NULL, NULL, G_TYPE_NONE, 0);
  chosen_signal = g_signal_new ("output-chosen", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
pd_tray_audio_init (PdTrayAudio *self)
{
  self->sinks = g_hash_table_new_full (NULL, NULL, NULL, sink_free);
  self->cards = g_hash_table_new_full (NULL, NULL, NULL, card_free);
}

PdTrayAudio *
pd_tray_audio_new (void)
{
  PdTrayAudio *self = g_object_new (PD_TYPE_TRAY_AUDIO, NULL);

  self->mainloop = pa_glib_mainloop_new (NULL);
  connect_context (self);
  return self;
}
