/* test-components-variant.c - the report's D-Bus forms (agent/dbus/
 * components-variant.h): what the agent encodes, the CLI and the tray decode
 * to the same components; what comes off the bus is validated and bounded. */
#include "components-variant.h"

#include <string.h>

static GVariant *
entry (const char *id, const char *state, const char *summary, guint n_details, gsize detail_len)
{
  GVariantBuilder details, advice;
  g_autofree char *value = g_strnfill (detail_len, 'v');

  g_variant_builder_init (&details, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i < n_details; i++)
    {
      g_autofree char *key = g_strdup_printf ("key%u", i);
      g_variant_builder_add (&details, "(ss)", key, value);
    }
  g_variant_builder_init (&advice, G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (&advice, "(ss)", "Install the iHD driver.",
                         "sudo apt install intel-media-va-driver-non-free");
  g_variant_builder_add (&advice, "(ss)", "Re-plug the monitor.", "");
  return g_variant_ref_sink (g_variant_new ("(sss@a(ss)@a(ss))", id, state, summary,
                                            g_variant_builder_end (&details),
                                            g_variant_builder_end (&advice)));
}

/* A report with three components, details in a deliberate order, advice
 * with and without a command. */
static PdReport *
sample_report (void)
{
  PdReport *r = pd_report_new ("agent");
  PdComponent *gpu = pd_component_new (PD_COMPONENT_GPU, PD_STATE_OK, "Intel UHD 630 on i915");
  pd_component_set_detail (gpu, "pci-slot", "0000:00:02.0");
  pd_component_set_detail (gpu, "driver", "i915");
  pd_component_set_detail (gpu, "card", "/dev/dri/card0");
  pd_report_take (r, gpu);
  PdComponent *vaapi = pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_FAILED, "No VA driver");
  pd_component_set_detail (vaapi, "driver", "");
  pd_component_add_advice (vaapi, "Install the iHD driver.",
                           "sudo apt install intel-media-va-driver-non-free");
  pd_component_add_advice (vaapi, "Then log out and in.", NULL);
  pd_report_take (r, vaapi);
  pd_report_take (r, pd_component_new (PD_COMPONENT_HOSTLINK, PD_STATE_UNKNOWN, NULL));
  return r;
}

static void
test_round_trip (void)
{
  g_autoptr (PdReport) r = sample_report ();
  g_autoptr (GVariant) v = g_variant_ref_sink (pd_components_to_variant (r));

  g_assert_cmpstr (g_variant_get_type_string (v), ==, PD_COMPONENTS_VARIANT_TYPE);
  g_assert_cmpuint (g_variant_n_children (v), ==, 3);
  /* In PdComponentId order, ids and states as strings. */
  const char *id, *state, *summary;
  g_variant_get_child (v, 1, "(&s&s&s@a(ss)@a(ss))", &id, &state, &summary, NULL, NULL);
  g_assert_cmpstr (id, ==, "vaapi");
  g_assert_cmpstr (state, ==, "failed");

  g_autoptr (PdReport) back = pd_report_from_components_variant (v, "agent");
  g_assert_cmpstr (back->source, ==, "agent");
  g_assert_cmpint (back->time, >, 0);
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      const PdComponent *a = pd_report_get (r, i), *b = pd_report_get (back, i);
      if (a == NULL)
        {
          g_assert_null (b);
          continue;
        }
      g_assert_nonnull (b);
      /* A NULL summary crosses as "": the only change on the way. */
      if (a->summary == NULL)
        g_assert_cmpstr (b->summary, ==, "");
      else
        g_assert_true (pd_component_equal (a, b));
    }
  const PdComponent *gpu = pd_report_get (back, PD_COMPONENT_GPU);
  g_assert_cmpstr (((PdDetail *) gpu->details->pdata[0])->key, ==, "pci-slot");
  g_assert_cmpstr (((PdDetail *) gpu->details->pdata[2])->key, ==, "card");
  const PdComponent *vaapi = pd_report_get (back, PD_COMPONENT_VAAPI);
  g_assert_null (((PdAdvice *) vaapi->advice->pdata[1])->command);
}

static void
test_decode_valid (void)
{
  g_autoptr (GVariant) v = entry ("vaapi", "failed", "The VA-API probe failed.", 2, 8);
  g_autoptr (PdComponent) c = pd_component_from_variant (v);

  g_assert_nonnull (c);
  g_assert_cmpint (c->id, ==, PD_COMPONENT_VAAPI);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  g_assert_cmpstr (c->summary, ==, "The VA-API probe failed.");
  g_assert_cmpuint (c->details->len, ==, 2);
  g_assert_cmpstr (pd_component_get_detail (c, "key1"), ==, "vvvvvvvv");
  g_assert_cmpuint (c->advice->len, ==, 2);
  g_assert_cmpstr (((PdAdvice *) c->advice->pdata[0])->command, ==,
                   "sudo apt install intel-media-va-driver-non-free");
  /* An empty command means none. */
  g_assert_null (((PdAdvice *) c->advice->pdata[1])->command);
}

static void
test_decode_rejected (void)
{
  g_autoptr (GVariant) bad_id = entry ("gpu2", "ok", "x", 0, 0);
  g_autoptr (GVariant) bad_state = entry ("gpu", "broken", "x", 0, 0);
  g_autoptr (GVariant) bad_type = g_variant_ref_sink (g_variant_new ("(sss)", "gpu", "ok", "x"));
  g_autoptr (GVariant) good = entry ("usb", "ok", "fine", 0, 0);

  g_assert_null (pd_component_from_variant (bad_id));
  g_assert_null (pd_component_from_variant (bad_state));
  g_assert_null (pd_component_from_variant (bad_type));
  g_assert_null (pd_component_from_variant (NULL));

  /* A property of the wrong type gives an empty report; bad entries are
   * skipped, good ones kept. */
  g_autoptr (PdReport) none = pd_report_from_components_variant (bad_type, "agent");
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    g_assert_null (pd_report_get (none, i));
  GVariant *items[] = { bad_id, good, bad_state };
  g_autoptr (GVariant) mixed = g_variant_ref_sink (
      g_variant_new_array (G_VARIANT_TYPE (PD_COMPONENT_VARIANT_TYPE), items, 3));
  g_autoptr (PdReport) some = pd_report_from_components_variant (mixed, "agent");
  g_assert_nonnull (pd_report_get (some, PD_COMPONENT_USB));
  g_assert_null (pd_report_get (some, PD_COMPONENT_GPU));
}

static void
test_decode_bounded (void)
{
  g_autofree char *huge = g_strnfill (100000, 's');
  g_autoptr (GVariant) v = entry ("usb", "degraded", huge, 1000, 100000);
  g_autoptr (PdComponent) c = pd_component_from_variant (v);

  g_assert_nonnull (c);
  g_assert_cmpuint (strlen (c->summary), <=, PD_VARIANT_MAX_TEXT + 3);
  g_assert_true (g_utf8_validate (c->summary, -1, NULL));
  g_assert_cmpuint (c->details->len, <=, PD_VARIANT_MAX_DETAILS);
  g_assert_cmpuint (strlen (((PdDetail *) c->details->pdata[0])->value), <=,
                    PD_VARIANT_MAX_TEXT + 3);
}

static void
test_event_round_trip (void)
{
  g_autoptr (GVariant) v = g_variant_ref_sink (pd_event_to_variant (
      1700000000123456, "gpu.hang", PD_COMPONENT_GPU, "The GPU hung; i915 reset it."));
  g_assert_cmpstr (g_variant_get_type_string (v), ==, PD_EVENT_VARIANT_TYPE);

  g_autoptr (PdEventEntry) e = pd_event_entry_from_variant (v);
  g_assert_nonnull (e);
  g_assert_cmpint (e->time, ==, 1700000000123456);
  g_assert_cmpstr (e->kind, ==, "gpu.hang");
  g_assert_cmpstr (e->component, ==, "gpu");
  g_assert_cmpstr (e->text, ==, "The GPU hung; i915 reset it.");

  g_autoptr (GVariant) wrong = g_variant_ref_sink (g_variant_new ("(sss)", "a", "b", "c"));
  g_assert_null (pd_event_entry_from_variant (wrong));

  /* A component id from a newer agent is kept as it is, to be shown. */
  g_autofree char *huge = g_strnfill (100000, 't');
  g_autoptr (GVariant) odd
      = g_variant_ref_sink (g_variant_new ("(xsss)", (gint64) 1, "storage.gone", "storage", huge));
  g_autoptr (PdEventEntry) o = pd_event_entry_from_variant (odd);
  g_assert_cmpstr (o->component, ==, "storage");
  g_assert_cmpuint (strlen (o->text), <=, PD_VARIANT_MAX_TEXT + 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/components-variant/round-trip", test_round_trip);
  g_test_add_func ("/components-variant/decode-valid", test_decode_valid);
  g_test_add_func ("/components-variant/decode-rejected", test_decode_rejected);
  g_test_add_func ("/components-variant/decode-bounded", test_decode_bounded);
  g_test_add_func ("/components-variant/event-round-trip", test_event_round_trip);
  return g_test_run ();
}
