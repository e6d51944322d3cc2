/* components-variant.c - PdComponent and history entries to and from their
 * D-Bus forms. */
#include "components-variant.h"

#include <string.h>

/* A bounded, valid UTF-8 copy ("" for NULL): the bus may carry anything. */
static char *
bounded (const char *s)
{
  if (s == NULL)
    return g_strdup ("");
  if (strlen (s) <= PD_VARIANT_MAX_TEXT)
    return g_utf8_make_valid (s, -1);
  return g_utf8_make_valid (s, PD_VARIANT_MAX_TEXT);
}

GVariant *
pd_component_to_variant (const PdComponent *c)
{
  GVariantBuilder details, advice;
  g_variant_builder_init (&details, G_VARIANT_TYPE ("a(ss)"));
  for (guint d = 0; d < c->details->len; d++)
    {
      const PdDetail *detail = g_ptr_array_index (c->details, d);
      g_variant_builder_add (&details, "(ss)", detail->key, detail->value ? detail->value : "");
    }
  g_variant_builder_init (&advice, G_VARIANT_TYPE ("a(ss)"));
  for (guint a = 0; a < c->advice->len; a++)
    {
      const PdAdvice *adv = g_ptr_array_index (c->advice, a);
      g_variant_builder_add (&advice, "(ss)", adv->text, adv->command ? adv->command : "");
    }
  return g_variant_new ("(sssa(ss)a(ss))", pd_component_id_to_string (c->id),
                        pd_state_to_string (c->state), c->summary ? c->summary : "", &details,
                        &advice);
}

GVariant *
pd_components_to_variant (const PdReport *report)
{
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE (PD_COMPONENTS_VARIANT_TYPE));
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      const PdComponent *c = pd_report_get (report, i);
      if (c != NULL)
        g_variant_builder_add_value (&b, pd_component_to_variant (c));
    }
  return g_variant_builder_end (&b);
}

PdComponent *
pd_component_from_variant (GVariant *entry)
{
  const char *id, *state, *summary;
  g_autoptr (GVariantIter) details = NULL;
  g_autoptr (GVariantIter) advice = NULL;
  PdComponentId cid;
  PdState st;
  const char *a, *b;

  if (entry == NULL || !g_variant_is_of_type (entry, G_VARIANT_TYPE (PD_COMPONENT_VARIANT_TYPE)))
    return NULL;
  g_variant_get (entry, "(&s&s&sa(ss)a(ss))", &id, &state, &summary, &details, &advice);
  if (!pd_component_id_from_string (id, &cid) || !pd_state_from_string (state, &st))
    return NULL;

  g_autofree char *sum = bounded (summary);
  PdComponent *c = pd_component_new (cid, st, sum);
  for (guint n = 0; n < PD_VARIANT_MAX_DETAILS && g_variant_iter_next (details, "(&s&s)", &a, &b);
       n++)
    {
      g_autofree char *k = bounded (a), *v = bounded (b);
      pd_component_set_detail (c, k, v);
    }
  for (guint n = 0; n < PD_VARIANT_MAX_ADVICE && g_variant_iter_next (advice, "(&s&s)", &a, &b);
       n++)
    {
      g_autofree char *t = bounded (a), *cmd = bounded (b);
      pd_component_add_advice (c, t, *cmd ? cmd : NULL);
    }
  return c;
}

PdReport *
pd_report_from_components_variant (GVariant *components, const char *source)
{
  PdReport *report = pd_report_new (source);
  report->time = g_get_real_time ();
  if (components == NULL
      || !g_variant_is_of_type (components, G_VARIANT_TYPE (PD_COMPONENTS_VARIANT_TYPE)))
    return report;

  GVariantIter iter;
  GVariant *entry;
  g_variant_iter_init (&iter, components);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      PdComponent *c = pd_component_from_variant (entry);
      if (c != NULL)
        pd_report_take (report, c);
      g_variant_unref (entry);
    }
  return report;
}

PdEventEntry *
pd_event_entry_new (gint64 time, const char *kind, const char *component, const char *text)
{
  PdEventEntry *e = g_new0 (PdEventEntry, 1);
  e->time = time;
  e->kind = bounded (kind);
  e->component = bounded (component);
  e->text = bounded (text);
  return e;
}

void
pd_event_entry_free (PdEventEntry *e)
{
  if (e == NULL)
    return;
  g_free (e->kind);
  g_free (e->component);
  g_free (e->text);
  g_free (e);
}

GVariant *
pd_event_to_variant (gint64 time, const char *kind, PdComponentId component, const char *text)
{
  return g_variant_new ("(xsss)", time, kind, pd_component_id_to_string (component), text);
}

PdEventEntry *
pd_event_entry_from_variant (GVariant *v)
{
  gint64 t;
  const char *kind, *comp, *text;

  if (v == NULL || !g_variant_is_of_type (v, G_VARIANT_TYPE (PD_EVENT_VARIANT_TYPE)))
    return NULL;
  g_variant_get (v, "(x&s&s&s)", &t, &kind, &comp, &text);
  return pd_event_entry_new (t, kind, comp, text);
}
