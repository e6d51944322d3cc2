/* health.c - the health model and its JSON form. */
#include "health.h"

#include "pd-i18n.h"

#include <string.h>

static const char *const state_names[] = {
  [PD_STATE_OK] = "ok",
  [PD_STATE_UNKNOWN] = "unknown",
  [PD_STATE_DEGRADED] = "degraded",
  [PD_STATE_FAILED] = "failed",
};

static const struct
{
  const char *id;
  const char *title;
} component_names[PD_N_COMPONENTS] = {
  [PD_COMPONENT_GPU] = { "gpu", N_ ("GPU") },
  [PD_COMPONENT_DISPLAY] = { "display", N_ ("Display") },
  [PD_COMPONENT_VAAPI] = { "vaapi", N_ ("Video acceleration") },
  [PD_COMPONENT_AUDIO] = { "audio", N_ ("Audio") },
  [PD_COMPONENT_USB] = { "usb", N_ ("USB") },
  [PD_COMPONENT_HOSTLINK] = { "hostlink", N_ ("Host link") },
  [PD_COMPONENT_HOST] = { "host", N_ ("Proxmox host") },
};

const char *
pd_state_to_string (PdState state)
{
  g_return_val_if_fail (state <= PD_STATE_FAILED, "unknown");
  return state_names[state];
}

gboolean
pd_state_from_string (const char *str, PdState *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (state_names); i++)
    if (g_strcmp0 (str, state_names[i]) == 0)
      {
        *out = (PdState) i;
        return TRUE;
      }
  return FALSE;
}

PdState
pd_state_worst (PdState a, PdState b)
{
  return MAX (a, b);
}

const char *
pd_component_id_to_string (PdComponentId id)
{
  g_return_val_if_fail (id < PD_N_COMPONENTS, "unknown");
  return component_names[id].id;
}

gboolean
pd_component_id_from_string (const char *str, PdComponentId *out)
{
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (g_strcmp0 (str, component_names[i].id) == 0)
      {
        *out = (PdComponentId) i;
        return TRUE;
      }
  return FALSE;
}

const char *
pd_component_title (PdComponentId id)
{
  g_return_val_if_fail (id < PD_N_COMPONENTS, "Unknown");
  return component_names[id].title;
}

const char *
pd_component_title_localized (PdComponentId id)
{
  return pd_i18n_text (pd_component_title (id));
}

static gboolean
text_unused (gpointer key, gpointer value, gpointer user_data)
{
  const PdComponent *c = user_data;
  if (g_strcmp0 (c->summary, key) == 0)
    return FALSE;
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = g_ptr_array_index (c->advice, i);
      if (g_strcmp0 (a->text, key) == 0 || g_strcmp0 (a->command, key) == 0)
        return FALSE;
    }
  for (guint i = 0; i < c->details->len; i++)
    if (g_strcmp0 (((PdDetail *) g_ptr_array_index (c->details, i))->value, key) == 0)
      return FALSE;
  return TRUE;
}

/* Keeps @m (taken) as the recipe of its English sentence. A long-lived
 * component rewords itself often: recipes of sentences it no longer holds
 * are dropped before they pile up. */
static void
remember (PdComponent *c, PdMsg *m)
{
  if (c->msgs == NULL)
    c->msgs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) pd_msg_free);
  if (g_hash_table_size (c->msgs) >= 16)
    g_hash_table_foreach_remove (c->msgs, text_unused, c);
  g_hash_table_replace (c->msgs, m->english, m);
}

/* A text made with pd_i18n_sprintf() elsewhere (a probe, the kernel-log
 * overlay) keeps its recipe with the component that now holds it. */
static void
remember_from_book (PdComponent *c, const char *text)
{
  PdMsg *m = pd_i18n_book_lookup (text);
  if (m != NULL)
    remember (c, m);
}

static void
detail_free (gpointer p)
{
  PdDetail *d = p;
  g_free (d->key);
  g_free (d->value);
  g_free (d);
}

static void
advice_free (gpointer p)
{
  PdAdvice *a = p;
  g_free (a->text);
  g_free (a->command);
  g_free (a);
}

PdComponent *
pd_component_new (PdComponentId id, PdState state, const char *summary)
{
  PdComponent *c = g_new0 (PdComponent, 1);
  c->id = id;
  c->state = state;
  c->summary = g_strdup (summary ? summary : "");
  c->details = g_ptr_array_new_with_free_func (detail_free);
  c->advice = g_ptr_array_new_with_free_func (advice_free);
  remember_from_book (c, c->summary);
  return c;
}

void
pd_component_free (PdComponent *c)
{
  if (c == NULL)
    return;
  g_free (c->summary);
  g_clear_pointer (&c->msgs, g_hash_table_unref);
  g_ptr_array_unref (c->details);
  g_ptr_array_unref (c->advice);
  g_free (c);
}

PdComponent *
pd_component_copy (const PdComponent *c)
{
  PdComponent *copy = pd_component_new (c->id, c->state, c->summary);
  for (guint i = 0; i < c->details->len; i++)
    {
      const PdDetail *d = g_ptr_array_index (c->details, i);
      pd_component_set_detail (copy, d->key, d->value);
    }
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = g_ptr_array_index (c->advice, i);
      pd_component_add_advice (copy, a->text, a->command);
    }
  if (c->msgs != NULL)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, c->msgs);
      while (g_hash_table_iter_next (&it, &k, &v))
        remember (copy, pd_msg_copy (v));
    }
  return copy;
}

/* The sentence @english in the current thread's language. */
static char *
localize_text (const PdComponent *c, const char *english)
{
  const PdMsg *m = c->msgs ? g_hash_table_lookup (c->msgs, english) : NULL;
  if (m != NULL)
    return pd_msg_localize (m);
  return pd_i18n_localize_text (english);
}

PdComponent *
pd_component_localize (const PdComponent *c)
{
  g_autofree char *summary = localize_text (c, c->summary);
  PdComponent *copy = pd_component_new (c->id, c->state, summary);
  for (guint i = 0; i < c->details->len; i++)
    {
      const PdDetail *d = g_ptr_array_index (c->details, i);
      g_autofree char *value = localize_text (c, d->value);
      pd_component_set_detail (copy, d->key, value);
    }
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = g_ptr_array_index (c->advice, i);
      g_autofree char *text = localize_text (c, a->text);
      /* A command stays as it is, unless it is a sentence with a recipe
       * (the host doctor's fix: "Add ... to /etc/default/grub, run ..."). */
      g_autofree char *command = a->command && c->msgs && g_hash_table_contains (c->msgs, a->command)
                                     ? localize_text (c, a->command)
                                     : g_strdup (a->command);
      pd_component_add_advice (copy, text, command);
    }
  return copy;
}

PdReport *
pd_report_localize (const PdReport *r)
{
  PdReport *copy = pd_report_new (r->source);
  copy->time = r->time;
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (r->components[i] != NULL)
      pd_report_take (copy, pd_component_localize (r->components[i]));
  return copy;
}

gboolean
pd_component_equal (const PdComponent *a, const PdComponent *b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL)
    return FALSE;
  if (a->id != b->id || a->state != b->state || g_strcmp0 (a->summary, b->summary) != 0)
    return FALSE;
  if (a->details->len != b->details->len || a->advice->len != b->advice->len)
    return FALSE;
  for (guint i = 0; i < a->details->len; i++)
    {
      const PdDetail *da = g_ptr_array_index (a->details, i);
      const PdDetail *db = g_ptr_array_index (b->details, i);
      if (g_strcmp0 (da->key, db->key) != 0 || g_strcmp0 (da->value, db->value) != 0)
        return FALSE;
    }
  for (guint i = 0; i < a->advice->len; i++)
    {
      const PdAdvice *aa = g_ptr_array_index (a->advice, i);
      const PdAdvice *ab = g_ptr_array_index (b->advice, i);
      if (g_strcmp0 (aa->text, ab->text) != 0 || g_strcmp0 (aa->command, ab->command) != 0)
        return FALSE;
    }
  return TRUE;
}

void
pd_component_set_state (PdComponent *c, PdState state, const char *summary)
{
  c->state = state;
  if (summary != NULL)
    {
      g_free (c->summary);
      c->summary = g_strdup (summary);
      remember_from_book (c, summary);
    }
}

void
pd_component_raise (PdComponent *c, PdState state, const char *summary)
{
  if (state > c->state)
    pd_component_set_state (c, state, summary);
}

void
pd_component_set_summary_printf (PdComponent *c, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  PdMsg *m = pd_msg_new_valist (fmt, ap);
  va_end (ap);
  g_free (c->summary);
  c->summary = g_strdup (m->english);
  pd_i18n_book_add (pd_msg_copy (m)); /* for a sentence that quotes it */
  remember (c, m);
}

void
pd_component_add_advice_printf (PdComponent *c, const char *command, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  PdMsg *m = pd_msg_new_valist (fmt, ap);
  va_end (ap);
  pd_component_add_advice (c, m->english, command);
  remember (c, m);
}

void
pd_component_set_state_printf (PdComponent *c, PdState state, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  PdMsg *m = pd_msg_new_valist (fmt, ap);
  va_end (ap);
  pd_component_set_state (c, state, m->english);
  pd_i18n_book_add (pd_msg_copy (m));
  remember (c, m);
}

void
pd_component_remember (PdComponent *c, const PdMsg *m)
{
  remember (c, pd_msg_copy (m));
}

void
pd_component_set_detail (PdComponent *c, const char *key, const char *value)
{
  g_return_if_fail (key != NULL);
  for (guint i = 0; i < c->details->len; i++)
    {
      PdDetail *d = g_ptr_array_index (c->details, i);
      if (strcmp (d->key, key) == 0)
        {
          g_free (d->value);
          d->value = g_strdup (value ? value : "");
          remember_from_book (c, value);
          return;
        }
    }
  PdDetail *d = g_new0 (PdDetail, 1);
  d->key = g_strdup (key);
  d->value = g_strdup (value ? value : "");
  g_ptr_array_add (c->details, d);
  remember_from_book (c, value);
}

void
pd_component_set_detail_printf (PdComponent *c, const char *key, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  PdMsg *m = pd_msg_new_valist (fmt, ap);
  va_end (ap);
  pd_component_set_detail (c, key, m->english);
  remember (c, m);
}

const char *
pd_component_get_detail (const PdComponent *c, const char *key)
{
  for (guint i = 0; i < c->details->len; i++)
    {
      const PdDetail *d = g_ptr_array_index (c->details, i);
      if (strcmp (d->key, key) == 0)
        return d->value;
    }
  return NULL;
}

void
pd_component_add_advice (PdComponent *c, const char *text, const char *command)
{
  g_return_if_fail (text != NULL);
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = g_ptr_array_index (c->advice, i);
      if (strcmp (a->text, text) == 0)
        return;
    }
  PdAdvice *a = g_new0 (PdAdvice, 1);
  a->text = g_strdup (text);
  a->command = (command && *command) ? g_strdup (command) : NULL;
  g_ptr_array_add (c->advice, a);
  remember_from_book (c, text);
  if (a->command)
    remember_from_book (c, a->command);
}

PdReport *
pd_report_new (const char *source)
{
  PdReport *r = g_new0 (PdReport, 1);
  r->time = g_get_real_time ();
  r->source = g_strdup (source ? source : "in-process");
  return r;
}

void
pd_report_free (PdReport *r)
{
  if (r == NULL)
    return;
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    pd_component_free (r->components[i]);
  g_free (r->source);
  g_free (r);
}

void
pd_report_take (PdReport *r, PdComponent *c)
{
  g_return_if_fail (c != NULL && c->id < PD_N_COMPONENTS);
  pd_component_free (r->components[c->id]);
  r->components[c->id] = c;
}

const PdComponent *
pd_report_get (const PdReport *r, PdComponentId id)
{
  g_return_val_if_fail (id < PD_N_COMPONENTS, NULL);
  return r->components[id];
}

PdState
pd_report_overall (const PdReport *r)
{
  PdState worst = PD_STATE_OK;
  gboolean any = FALSE;
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (r->components[i] != NULL)
      {
        worst = pd_state_worst (worst, r->components[i]->state);
        any = TRUE;
      }
  return any ? worst : PD_STATE_UNKNOWN;
}

/* ---- JSON ---- */

JsonNode *
pd_component_to_json (const PdComponent *c)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, pd_component_id_to_string (c->id));
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, pd_component_title (c->id));
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, pd_state_to_string (c->state));
  json_builder_set_member_name (b, "summary");
  json_builder_add_string_value (b, c->summary);
  json_builder_set_member_name (b, "details");
  json_builder_begin_object (b);
  for (guint i = 0; i < c->details->len; i++)
    {
      const PdDetail *d = g_ptr_array_index (c->details, i);
      json_builder_set_member_name (b, d->key);
      json_builder_add_string_value (b, d->value);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "advice");
  json_builder_begin_array (b);
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = g_ptr_array_index (c->advice, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, a->text);
      json_builder_set_member_name (b, "command");
      if (a->command)
        json_builder_add_string_value (b, a->command);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
pd_report_to_json (const PdReport *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (r->time / G_USEC_PER_SEC);
  g_autofree char *iso = dt ? g_date_time_format_iso8601 (dt) : g_strdup ("");

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "overall");
  json_builder_add_string_value (b, pd_state_to_string (pd_report_overall (r)));
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, iso);
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, r->source);
  json_builder_set_member_name (b, "components");
  json_builder_begin_array (b);
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (r->components[i] != NULL)
      json_builder_add_value (b, pd_component_to_json (r->components[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

char *
pd_report_to_json_string (const PdReport *r, gboolean pretty)
{
  g_autoptr (JsonNode) root = pd_report_to_json (r);
  return json_to_string (root, pretty);
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

PdComponent *
pd_component_from_json (JsonNode *node, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _ ("component is not a JSON object"));
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  PdComponentId id;
  PdState state;
  if (!pd_component_id_from_string (member_string (o, "id"), &id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("unknown component id “%s”"),
                   member_string (o, "id") ? member_string (o, "id") : "(none)");
      return NULL;
    }
  if (!pd_state_from_string (member_string (o, "state"), &state))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _ ("component “%s” has no valid state"), pd_component_id_to_string (id));
      return NULL;
    }

  g_autoptr (PdComponent) c = pd_component_new (id, state, member_string (o, "summary"));

  JsonNode *details = json_object_get_member (o, "details");
  if (details != NULL && JSON_NODE_HOLDS_OBJECT (details))
    {
      JsonObject *dobj = json_node_get_object (details);
      g_autoptr (GList) keys = json_object_get_members (dobj);
      for (GList *l = keys; l; l = l->next)
        {
          const char *v = member_string (dobj, l->data);
          if (v != NULL)
            pd_component_set_detail (c, l->data, v);
        }
    }

  JsonNode *advice = json_object_get_member (o, "advice");
  if (advice != NULL && JSON_NODE_HOLDS_ARRAY (advice))
    {
      JsonArray *arr = json_node_get_array (advice);
      for (guint i = 0; i < json_array_get_length (arr); i++)
        {
          JsonNode *an = json_array_get_element (arr, i);
          if (!JSON_NODE_HOLDS_OBJECT (an))
            continue;
          JsonObject *ao = json_node_get_object (an);
          const char *text = member_string (ao, "text");
          if (text != NULL)
            pd_component_add_advice (c, text, member_string (ao, "command"));
        }
    }
  return g_steal_pointer (&c);
}

PdReport *
pd_report_from_json_string (const char *json, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, json, -1, error))
    return NULL;

  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _ ("report is not a JSON object"));
      return NULL;
    }
  JsonObject *o = json_node_get_object (root);
  g_autoptr (PdReport) r = pd_report_new (member_string (o, "source"));

  const char *time = member_string (o, "time");
  if (time != NULL)
    {
      g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (time, NULL);
      if (dt != NULL)
        r->time = g_date_time_to_unix (dt) * G_USEC_PER_SEC;
    }

  JsonNode *comps = json_object_get_member (o, "components");
  if (comps == NULL || !JSON_NODE_HOLDS_ARRAY (comps))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _ ("report has no components array"));
      return NULL;
    }
  JsonArray *arr = json_node_get_array (comps);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      PdComponent *c = pd_component_from_json (json_array_get_element (arr, i), error);
      if (c == NULL)
        return NULL;
      pd_report_take (r, c);
    }
  return g_steal_pointer (&r);
}
