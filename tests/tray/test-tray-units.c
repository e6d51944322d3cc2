/* test-tray-units.c - the tray's model without a display: the menu's
 * wording and sensitivity, the state's icon names. (Reading the agent's
 * Components entries is tests/agent/test-components-variant.c.) */
#include "tray-agent-client.h"
#include "tray-menu-model.h"
#include "tray-settings.h"
#include "tray-state.h"
#include "tray-words.h"

#include "detail-keys.h"

#include <glib/gstdio.h>

#include <string.h>

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

/* The item right after the one labelled @plain_prefix. */
static const PdTrayMenuItem *
item_after (PdTrayMenuModel *model, const char *plain_prefix)
{
  for (guint i = 0; i + 1 < pd_tray_menu_model_get_n_items (model); i++)
    {
      g_autofree char *plain
          = pd_tray_menu_label_plain (pd_tray_menu_model_get_item (model, i)->label);
      if (g_str_has_prefix (plain, plain_prefix))
        return pd_tray_menu_model_get_item (model, i + 1);
    }
  return NULL;
}

/* Issue 14: the menu says what Restart will do where the host converts
 * this VM's reboots; nothing where it does not or no host is there. */
static void
test_menu_restart_note (void)
{
  g_autoptr (PdTrayMenuModel) model = pd_tray_menu_model_new ();
  g_autoptr (PdTrayState) state = pd_tray_state_new ();
  state->agent_connected = TRUE;
  PdComponent *link = pd_component_new (PD_COMPONENT_HOSTLINK, PD_STATE_OK, "Connected");
  pd_component_set_detail (link, "restart",
                           "Restart will be a cold restart: the VM stays off for 10 s.");
  pd_component_set_detail (link, "reboot-cold", "yes");
  pd_report_take (state->report, link);
  pd_tray_menu_model_update (model, state);
  const PdTrayMenuItem *note = item_after (model, "Cold restart VM");
  g_assert_nonnull (note);
  g_assert_true (note->visible);
  g_assert_false (note->enabled);
  g_assert_null (note->action);
  g_assert_cmpstr (note->label, ==, "Restart will be a cold restart: the VM stays off for 10 s.");
  gboolean converted;
  g_assert_nonnull (pd_tray_state_restart_note (state, &converted));
  g_assert_true (converted);

  /* Rate-limited: still converted, the sentence says it is plain for now. */
  pd_component_set_detail (link, "restart",
                           "Restart is a plain restart for now: the host allows the next cold "
                           "restart in 240 s.");
  pd_component_set_detail (link, "reboot-cold", "later");
  pd_tray_menu_model_update (model, state);
  g_assert_true (find_item (model, "Restart is a plain restart for now")->visible);

  /* Not converted: the line goes (the dialog explains instead). */
  pd_component_set_detail (link, "reboot-cold", "no");
  pd_tray_menu_model_update (model, state);
  g_assert_false (item_after (model, "Cold restart VM")->visible);
  g_assert_nonnull (pd_tray_state_restart_note (state, &converted));
  g_assert_false (converted);

  /* No agent: nothing is known. */
  pd_component_set_detail (link, "reboot-cold", "yes");
  state->agent_connected = FALSE;
  pd_tray_menu_model_update (model, state);
  g_assert_false (item_after (model, "Cold restart VM")->visible);
  g_assert_null (pd_tray_state_restart_note (state, &converted));
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

/* A tray looking for `passdesk-agent --session` says to start that, not
 * the system service it does not look for. */
static void
test_agent_start_words (void)
{
  g_autoptr (PdTrayState) state = pd_tray_state_new ();
  g_autofree char *system_body = pd_tray_state_tooltip_body (state);
  g_assert_nonnull (strstr (system_body, "“sudo systemctl start passdesk-agent”"));

  /* Nothing runs on this address: the proxy is never made, the words are. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/passdesk-test-bus", TRUE);
  PdTrayAgent *agent = pd_tray_agent_new (G_BUS_TYPE_SESSION);
  state->agent_start = pd_tray_agent_get_start_command (agent);
  g_autofree char *session_body = pd_tray_state_tooltip_body (state);
  g_object_unref (agent);
  g_assert_nonnull (strstr (session_body, "“passdesk-agent --session &”"));
  g_assert_null (strstr (session_body, "systemctl"));
}

/* Issue 15: the tooltip names each part once: "Audio fell back…", not
 * "Audio: Audio fell back…"; a summary that does not name it keeps its title. */
static void
test_tooltip_subject_once (void)
{
  g_autoptr (PdTrayState) state = pd_tray_state_new ();
  state->agent_connected = TRUE;
  g_autoptr (PdReport) r = pd_report_new ("agent");
  pd_report_take (r, pd_component_new (PD_COMPONENT_AUDIO, PD_STATE_DEGRADED,
                                       "Audio fell back to Dummy Output: the sound server has no "
                                       "HDMI/DP output."));
  pd_report_take (r, pd_component_new (PD_COMPONENT_GPU, PD_STATE_DEGRADED,
                                       "The GPU hung and the driver reset an engine or context."));
  pd_report_take (r, pd_component_new (PD_COMPONENT_DISPLAY, PD_STATE_DEGRADED,
                                       "No monitor is connected (HDMI-A-1: disconnected)"));
  pd_report_take (r, pd_component_new (PD_COMPONENT_USB, PD_STATE_OK, "2 USB devices"));
  g_clear_pointer (&state->report, pd_report_free);
  state->report = g_steal_pointer (&r);
  g_autofree char *body = pd_tray_state_tooltip_body (state);
  g_assert_cmpstr (body, ==,
                   "The GPU hung and the driver reset an engine or context.\n"
                   "Display: No monitor is connected (HDMI-A-1: disconnected)\n"
                   "Audio fell back to Dummy Output: the sound server has no HDMI/DP output.");
}

/* What the user told the tray survives a restart (a new PdTraySettings on
 * the same file); bad input is ignored, the list of outputs is bounded. */
static void
test_settings (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pd-tray-settings-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "sub", "tray.ini", NULL);
  {
    g_autoptr (PdTraySettings) s = pd_tray_settings_new (path);
    g_assert_false (pd_tray_settings_get_muted (s, PD_COMPONENT_USB));
    g_assert_cmpuint (pd_tray_settings_get_critical_seconds (s), ==, 900);
    pd_tray_settings_set_muted (s, PD_COMPONENT_USB, TRUE);
    pd_tray_settings_set_muted (s, PD_COMPONENT_AUDIO, TRUE);
    pd_tray_settings_set_muted (s, PD_COMPONENT_AUDIO, FALSE);
    for (int i = 0; i < 20; i++)
      {
        g_autofree char *name = g_strdup_printf ("sink-%d", i);
        pd_tray_settings_choose_output (s, name);
      }
    pd_tray_settings_choose_output (s, "usb-headset");
    pd_tray_settings_choose_output (s, "bad;name");
    pd_tray_settings_choose_output (s, "");
  }
  g_autoptr (PdTraySettings) s = pd_tray_settings_new (path);
  g_assert_true (pd_tray_settings_get_muted (s, PD_COMPONENT_USB));
  g_assert_false (pd_tray_settings_get_muted (s, PD_COMPONENT_AUDIO));
  g_assert_true (pd_tray_settings_output_chosen (s, "usb-headset"));
  g_assert_true (pd_tray_settings_output_chosen (s, "sink-19"));
  g_assert_false (pd_tray_settings_output_chosen (s, "sink-0")); /* the oldest went */
  g_assert_false (pd_tray_settings_output_chosen (s, "bad;name"));
  g_assert_false (pd_tray_settings_output_chosen (s, NULL));

  /* A broken file gives the defaults, never a crash. */
  g_assert_true (g_file_set_contents (path, "[notifications\ncritical-seconds=soon\n", -1, NULL));
  g_autoptr (PdTraySettings) broken = pd_tray_settings_new (path);
  g_assert_false (pd_tray_settings_get_muted (broken, PD_COMPONENT_USB));
  g_assert_cmpuint (pd_tray_settings_get_critical_seconds (broken), ==, 900);
  g_unlink (path);
  g_autofree char *sub = g_path_get_dirname (path);
  g_rmdir (sub);
  g_rmdir (dir);
}

/* Durations in the units people count in; ids in values as words. */
static void
test_words (void)
{
  struct
  {
    guint64 s;
    const char *words;
  } d[] = { { 0, "0 s" },     { 45, "45 s" },  { 60, "1 min" },       { 258, "4 min 18 s" },
            { 300, "5 min" }, { 3600, "1 h" }, { 3720, "1 h 2 min" }, { 86399, "23 h 59 min" } };
  for (guint i = 0; i < G_N_ELEMENTS (d); i++)
    {
      g_autofree char *w = pd_tray_duration_words (d[i].s);
      g_assert_cmpstr (w, ==, d[i].words);
    }
  struct
  {
    const char *key, *value, *words;
  } v[] = {
    { "probe-status", "no-device", "no render device found" },
    { "probe-status", "ok", "works" },
    { "probe", "timeout", "did not answer in time" },
    { "render-access", "read-write", "read and write" },
    { "next-allowed-in", "258 s", "4 min 18 s" },
    { "next-allowed-in", "soon", "soon" },  /* not a count: as it is */
    { "driver", "no-device", "no-device" }, /* only the keys that carry ids */
    { "probe-user", "nobody", "nobody" },   /* a user name stays one */
    { "probe-status", "new-status", "new-status" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    {
      g_autofree char *w = pd_tray_detail_value (v[i].key, v[i].value);
      g_assert_cmpstr (w, ==, v[i].words);
    }
  /* Every key the agent knows has a label that is not its id (the window
   * never shows "pci-slot"); the families read as words too. */
  guint n;
  const PdDetailKey *keys = pd_detail_keys (&n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = pd_detail_label (keys[i].id);
      g_assert_cmpstr (label, !=, keys[i].id);
    }
  g_autofree char *eld = pd_detail_label ("eld#2.0");
  g_assert_cmpstr (eld, ==, "HDMI audio pin 2.0");
  g_autofree char *usb = pd_detail_label ("1-4.1");
  g_assert_cmpstr (usb, ==, "USB port 1-4.1");
}

/* The host's rate limit, read from the hostlink facts and counted down
 * from when they arrived. */
static void
test_rate_wait (void)
{
  g_autoptr (PdComponent) link = pd_component_new (PD_COMPONENT_HOSTLINK, PD_STATE_OK, "Connected");
  PdTrayRateWait w = pd_tray_rate_wait (NULL, 0);
  g_assert_false (w.known);
  g_assert_false (w.blocked);
  pd_component_set_detail (link, PD_DETAIL_RATE_LEFT, "1");
  w = pd_tray_rate_wait (link, 0);
  g_assert_true (w.known);
  g_assert_false (w.blocked);
  g_assert_null (pd_tray_rate_wait_sentence (&w));

  pd_component_set_detail (link, PD_DETAIL_RATE_LEFT, "0");
  pd_component_set_detail (link, PD_DETAIL_NEXT_ALLOWED_IN, "258 s");
  w = pd_tray_rate_wait (link, 0);
  g_assert_true (w.blocked);
  g_assert_cmpuint (w.wait_s, ==, 258);
  g_autofree char *sentence = pd_tray_rate_wait_sentence (&w);
  g_assert_cmpstr (sentence, ==,
                   "The host's rate limit allows the next cold restart in 4 min 18 s.");
  w = pd_tray_rate_wait (link, 200);
  g_assert_cmpuint (w.wait_s, ==, 58);
  w = pd_tray_rate_wait (link, 258);
  g_assert_false (w.blocked); /* the time has come: the host will say if not */

  /* No time given and none left: blocked, without a count. */
  g_autoptr (PdComponent) day = pd_component_new (PD_COMPONENT_HOSTLINK, PD_STATE_OK, "Connected");
  pd_component_set_detail (day, PD_DETAIL_RATE_LEFT, "0");
  w = pd_tray_rate_wait (day, 0);
  g_assert_true (w.blocked);
  g_assert_cmpuint (w.wait_s, ==, 0);
  g_autofree char *later = pd_tray_rate_wait_sentence (&w);
  g_assert_nonnull (strstr (later, "no more cold restarts"));

  /* Values that are not counts block nothing. */
  pd_component_set_detail (day, PD_DETAIL_RATE_LEFT, "-1");
  pd_component_set_detail (day, PD_DETAIL_NEXT_ALLOWED_IN, "99999999999 s");
  w = pd_tray_rate_wait (day, 0);
  g_assert_false (w.blocked);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tray/menu", test_menu);
  g_test_add_func ("/tray/menu/restart-note", test_menu_restart_note);
  g_test_add_func ("/tray/state", test_state_words);
  g_test_add_func ("/tray/state/agent-start", test_agent_start_words);
  g_test_add_func ("/tray/tooltip-subject-once", test_tooltip_subject_once);
  g_test_add_func ("/tray/settings", test_settings);
  g_test_add_func ("/tray/words", test_words);
  g_test_add_func ("/tray/rate-wait", test_rate_wait);
  return g_test_run ();
}
