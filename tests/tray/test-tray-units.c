/* test-tray-units.c - the tray's model without a display: reading the
 * agent's Components entries (outside input: bounded and validated), the
 * menu's wording and sensitivity, the state's icon names. */
#include "tray-agent-client.h"
#include "tray-menu-model.h"
#include "tray-state.h"

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

static void
test_component_valid (void)
{
  g_autoptr (GVariant) v = entry ("vaapi", "failed", "The VA-API probe failed.", 2, 8);
  g_autoptr (PdComponent) c = pd_tray_component_from_variant (v);

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
test_component_rejected (void)
{
  g_autoptr (GVariant) bad_id = entry ("gpu2", "ok", "x", 0, 0);
  g_autoptr (GVariant) bad_state = entry ("gpu", "broken", "x", 0, 0);
  g_autoptr (GVariant) bad_type = g_variant_ref_sink (g_variant_new ("(sss)", "gpu", "ok", "x"));

  g_assert_null (pd_tray_component_from_variant (bad_id));
  g_assert_null (pd_tray_component_from_variant (bad_state));
  g_assert_null (pd_tray_component_from_variant (bad_type));
}

static void
test_component_bounded (void)
{
  g_autofree char *huge = g_strnfill (100000, 's');
  g_autoptr (GVariant) v = entry ("usb", "degraded", huge, 1000, 100000);
  g_autoptr (PdComponent) c = pd_tray_component_from_variant (v);

  g_assert_nonnull (c);
  g_assert_cmpuint (strlen (c->summary), <=, 4096 + 3);
  g_assert_true (g_utf8_validate (c->summary, -1, NULL));
  g_assert_cmpuint (c->details->len, <=, 64);
  g_assert_cmpuint (strlen (((PdDetail *) c->details->pdata[0])->value), <=, 4096 + 3);
}

static void
count_changes (PdTrayMenuModel *model, GArray *ids, gboolean layout, gpointer data)
{
  guint *n = data;
  *n += ids->len;
}

static const PdTrayMenuItem *
find_item (PdTrayMenuModel *model, const char *plain_prefix)
{
  for (guint i = 0; i < pd_tray_menu_model_get_n_items (model); i++)
    {
      const PdTrayMenuItem *item = pd_tray_menu_model_get_item (model, i);
      g_autofree char *plain = pd_tray_menu_label_plain (item->label);
      if (g_str_has_prefix (plain, plain_prefix))
        return item;
    }
  return NULL;
}

static void
test_menu (void)
{
  g_autoptr (PdTrayMenuModel) model = pd_tray_menu_model_new ();
  g_autoptr (PdTrayState) state = pd_tray_state_new ();
  guint changes = 0;

  g_signal_connect (model, "changed", G_CALLBACK (count_changes), &changes);
  state->agent_connected = TRUE;
  pd_report_take (state->report, pd_component_new (PD_COMPONENT_GPU, PD_STATE_OK, "fine"));
  pd_report_take (state->report,
                  pd_component_new (PD_COMPONENT_AUDIO, PD_STATE_DEGRADED, "Dummy Output"));
  state->overall = pd_report_overall (state->report);
  pd_tray_menu_model_update (model, state);
  g_assert_cmpuint (changes, >, 0);

  const PdTrayMenuItem *gpu = find_item (model, "GPU");
  g_assert_cmpstr (gpu->label, ==, "GPU: OK");
  g_assert_cmpstr (gpu->icon_name, ==, "passdesk-ok");
  g_assert_true (gpu->visible);
  g_assert_cmpstr (find_item (model, "Audio")->label, ==, "Audio: Degraded");
  g_assert_false (find_item (model, "USB")->visible); /* not checked: hidden */
  g_assert_false (find_item (model, "Switch audio to HDMI")->visible);
  g_assert_true (find_item (model, "Cold restart VM…")->enabled);
  g_assert_cmpstr (find_item (model, "Cold restart VM…")->action, ==, "app.cold-restart");

  /* Nothing changed: no signal. */
  changes = 0;
  pd_tray_menu_model_update (model, state);
  g_assert_cmpuint (changes, ==, 0);

  /* Host link down: insensitive, the reason in the label (underscores kept
   * literal, not mnemonics). */
  state->can_switch_audio = TRUE;
  state->cold_restart_blocked = g_strdup ("host_link down");
  pd_tray_menu_model_update (model, state);
  const PdTrayMenuItem *restart = find_item (model, "Cold restart VM");
  g_autofree char *plain = pd_tray_menu_label_plain (restart->label);
  g_assert_false (restart->enabled);
  g_assert_cmpstr (plain, ==, "Cold restart VM (host_link down)");
  g_assert_true (find_item (model, "Switch audio to HDMI")->visible);
  g_assert_cmpuint (changes, ==, 2);
}

static void
test_state_words (void)
{
  g_autoptr (PdTrayState) state = pd_tray_state_new ();
  g_autofree char *away = pd_tray_state_headline (state);

  g_assert_cmpstr (pd_tray_state_icon_name (state), ==, "passdesk-unknown");
  g_assert_cmpstr (away, ==, "passdesk: the agent is not running");
  state->agent_connected = TRUE;
  state->overall = PD_STATE_FAILED;
  g_assert_cmpstr (pd_tray_state_icon_name (state), ==, "passdesk-failed");
  g_free (state->cold_restart_state);
  state->cold_restart_state = g_strdup ("shutting-down");
  g_assert_cmpstr (pd_tray_state_icon_name (state), ==, "passdesk-restarting");
  g_assert_true (pd_tray_cold_restart_active ("accepted"));
  g_assert_false (pd_tray_cold_restart_active ("refused"));
  g_assert_false (pd_tray_cold_restart_active ("idle"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tray/component/valid", test_component_valid);
  g_test_add_func ("/tray/component/rejected", test_component_rejected);
  g_test_add_func ("/tray/component/bounded", test_component_bounded);
  g_test_add_func ("/tray/menu", test_menu);
  g_test_add_func ("/tray/state", test_state_words);
  return g_test_run ();
}
