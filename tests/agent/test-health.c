/* test-health.c - the health model: states, overall, details, advice, JSON. */
#include <string.h>

#include "health.h"

static void
test_worst_is_overall (void)
{
  g_autoptr (PdReport) r = pd_report_new (NULL);
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_UNKNOWN);

  pd_report_take (r, pd_component_new (PD_COMPONENT_GPU, PD_STATE_OK, "fine"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_OK);
  pd_report_take (r, pd_component_new (PD_COMPONENT_DISPLAY, PD_STATE_DEGRADED, "no monitor"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_DEGRADED);
  pd_report_take (r, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN, "skipped"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_DEGRADED);
  pd_report_take (r, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_FAILED, "hang"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_FAILED);
  /* Replacing a component replaces its state too. */
  pd_report_take (r, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_OK, "works"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_DEGRADED);
}

static void
test_names_round_trip (void)
{
  for (PdState s = PD_STATE_OK; s <= PD_STATE_FAILED; s++)
    {
      PdState back;
      g_assert_true (pd_state_from_string (pd_state_to_string (s), &back));
      g_assert_cmpint (back, ==, s);
    }
  for (PdComponentId id = 0; id < PD_N_COMPONENTS; id++)
    {
      PdComponentId back;
      g_assert_true (pd_component_id_from_string (pd_component_id_to_string (id), &back));
      g_assert_cmpint (back, ==, id);
    }
  PdState s;
  g_assert_false (pd_state_from_string ("broken", &s));
  g_assert_false (pd_state_from_string (NULL, &s));
}

static void
test_details_and_advice (void)
{
  g_autoptr (PdComponent) c = pd_component_new (PD_COMPONENT_GPU, PD_STATE_OK, "ok");
  pd_component_set_detail (c, "driver", "i915");
  pd_component_set_detail (c, "render", "/dev/dri/renderD128");
  pd_component_set_detail (c, "driver", "xe");
  g_assert_cmpuint (c->details->len, ==, 2);
  g_assert_cmpstr (pd_component_get_detail (c, "driver"), ==, "xe");
  g_assert_cmpstr (((PdDetail *) c->details->pdata[0])->key, ==, "driver");
  g_assert_null (pd_component_get_detail (c, "missing"));

  pd_component_add_advice (c, "Install the driver.", "apt install x");
  pd_component_add_advice (c, "Install the driver.", "apt install y");
  pd_component_add_advice (c, "Reboot.", "");
  g_assert_cmpuint (c->advice->len, ==, 2);
  g_assert_null (((PdAdvice *) c->advice->pdata[1])->command);

  pd_component_raise (c, PD_STATE_DEGRADED, "worse");
  pd_component_raise (c, PD_STATE_UNKNOWN, "not worse");
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  g_assert_cmpstr (c->summary, ==, "worse");

  g_autoptr (PdComponent) copy = pd_component_copy (c);
  g_assert_true (pd_component_equal (c, copy));
  pd_component_set_detail (copy, "driver", "i915");
  g_assert_false (pd_component_equal (c, copy));
}

/* Sentences made from a format keep format and arguments (pd-i18n.h): the
 * English text is exact, each argument formatted by its own conversion, and
 * a localized copy in the C locale is the English one. */
static void
test_msg_recipes (void)
{
  g_autoptr (PdMsg) m = pd_msg_new_printf ("%s at %04x:%04x, %u%% in %.1f s, %ld/%zu %c", "card0",
                                           0x8086u, 0x3e92u, 50u, 1.25, -3L, (gsize) 7, 'x');
  g_assert_cmpstr (m->english, ==, "card0 at 8086:3e92, 50% in 1.2 s, -3/7 x");
  g_assert_cmpuint (g_strv_length (m->args), ==, 8);
  g_assert_cmpstr (m->args[1], ==, "8086");
  g_autofree char *again = pd_msg_localize (m);
  g_assert_cmpstr (again, ==, m->english);

  g_autoptr (PdMsg) p = pd_msg_new_plural ("%u device", "%u devices", 2, 2u);
  g_assert_cmpstr (p->english, ==, "2 devices");

  /* The component keeps the recipe with its copy, and drops recipes of
   * sentences it no longer holds before they pile up. */
  g_autoptr (PdComponent) c = pd_component_new (PD_COMPONENT_USB, PD_STATE_OK, "");
  for (guint i = 0; i < 100; i++)
    pd_component_set_summary_printf (c, "%u USB devices", i);
  pd_component_add_advice_printf (c, "lsusb", "Check port %s", "1-4");
  g_assert_cmpstr (c->summary, ==, "99 USB devices");
  g_assert_cmpuint (g_hash_table_size (c->msgs), <=, 17);
  g_autoptr (PdComponent) copy = pd_component_copy (c);
  g_autoptr (PdComponent) local = pd_component_localize (copy);
  g_assert_true (pd_component_equal (c, local));
  g_assert_cmpstr (((PdAdvice *) local->advice->pdata[0])->text, ==, "Check port 1-4");
}

static void
test_json_round_trip (void)
{
  g_autoptr (PdReport) r = pd_report_new ("in-process");
  PdComponent *gpu = pd_component_new (PD_COMPONENT_GPU, PD_STATE_FAILED, "no driver “bound”");
  pd_component_set_detail (gpu, "pci", "0000:00:02.0");
  pd_component_add_advice (gpu, "Load i915.", "sudo modprobe i915\necho done");
  pd_report_take (r, gpu);
  pd_report_take (r, pd_component_new (PD_COMPONENT_DISPLAY, PD_STATE_OK, "HDMI-A-1 connected"));

  g_autofree char *json = pd_report_to_json_string (r, FALSE);
  g_assert_nonnull (strstr (json, "\"overall\":\"failed\""));
  g_assert_nonnull (strstr (json, "\"id\":\"gpu\""));

  g_autoptr (GError) error = NULL;
  g_autoptr (PdReport) back = pd_report_from_json_string (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->source, ==, "in-process");
  g_assert_cmpint (pd_report_overall (back), ==, PD_STATE_FAILED);
  g_assert_true (pd_component_equal (pd_report_get (r, PD_COMPONENT_GPU),
                                     pd_report_get (back, PD_COMPONENT_GPU)));
  g_assert_true (pd_component_equal (pd_report_get (r, PD_COMPONENT_DISPLAY),
                                     pd_report_get (back, PD_COMPONENT_DISPLAY)));
  g_assert_null (pd_report_get (back, PD_COMPONENT_VAAPI));
  g_assert_cmpint (back->time / G_USEC_PER_SEC, ==, r->time / G_USEC_PER_SEC);
}

static void
test_json_rejects_bad_input (void)
{
  const char *bad[] = {
    "",
    "[]",
    "{\"components\": 3}",
    "{\"components\": [{\"id\": \"toaster\", \"state\": \"ok\"}]}",
    "{\"components\": [{\"id\": \"gpu\", \"state\": \"sad\"}]}",
    "{\"components\": [42]}",
    "{\"components\": [{\"id\": \"gpu\"",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PdReport) r = pd_report_from_json_string (bad[i], &error);
      g_assert_null (r);
      g_assert_nonnull (error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/health/overall-is-worst", test_worst_is_overall);
  g_test_add_func ("/health/names-round-trip", test_names_round_trip);
  g_test_add_func ("/health/details-and-advice", test_details_and_advice);
  g_test_add_func ("/health/json-round-trip", test_json_round_trip);
  g_test_add_func ("/health/msg-recipes", test_msg_recipes);
  g_test_add_func ("/health/json-rejects-bad-input", test_json_rejects_bad_input);
  return g_test_run ();
}
