/* test-audio-monitor.c - HDMI audio from /proc/asound on fixture trees.
 *
 * Fixture trees (tests/fixtures/<machine>/proc/asound) mirror the guests of
 * the guide's machines: the Esprimo Q957 (HDA Intel PCH with a Realtek ALC671
 * and the "Intel Kabylake HDMI" codec) and an N100 mini PC ("Intel
 * Alderlake-P HDMI", the codec id 8086:281c the kernel names so on ADL-N).
 * The ELD flip test works on a copy of the Esprimo tree (proc and sys), so
 * the DRM connector state the monitor compares with comes from the same root.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "audio-monitor.h"
#include "sysroot.h"

static char *
fixture (const char *machine)
{
  const char *dir = g_getenv ("PASSDESK_TEST_FIXTURES");
  g_assert_nonnull (dir);
  return g_build_filename (dir, machine, NULL);
}

static void
use_root (const char *root)
{
  g_setenv ("PASSDESK_SYSROOT", root, TRUE);
  pd_sysroot_reset ();
}

static PdComponent *
read_machine (const char *machine)
{
  g_autofree char *root = fixture (machine);
  use_root (root);
  return pd_audio_component_read ();
}

static void
test_esprimo (void)
{
  g_autoptr (PdComponent) c = read_machine ("esprimo");
  g_assert_cmpint (c->id, ==, PD_COMPONENT_AUDIO);
  g_assert_cmpint (c->state, ==, PD_STATE_OK);
  g_assert_nonnull (strstr (c->summary, "DELL P2419H"));
  g_assert_cmpstr (pd_component_get_detail (c, "card"), ==, "card0 HDA Intel PCH (HDA-Intel)");
  g_assert_cmpstr (pd_component_get_detail (c, "hdmi-codec"), ==, "Intel Kabylake HDMI (codec#2)");
  g_assert_cmpstr (pd_component_get_detail (c, "eld#2.0"), ==, "no monitor");
  g_assert_cmpstr (pd_component_get_detail (c, "eld#2.1"), ==, "monitor DELL P2419H");
  /* The facts programs read, apart from the words: the tray picks its sink
   * by the monitor's name and trusts the codec by the flag. */
  g_assert_cmpstr (pd_component_get_detail (c, "monitor-name"), ==, "DELL P2419H");
  g_assert_cmpstr (pd_component_get_detail (c, "hdmi-codec-present"), ==, "yes");
  g_assert_cmpuint (c->advice->len, ==, 0);
}

static void
test_n100 (void)
{
  g_autoptr (PdComponent) c = read_machine ("n100");
  g_assert_cmpint (c->state, ==, PD_STATE_OK);
  g_assert_cmpstr (pd_component_get_detail (c, "hdmi-codec"), ==,
                   "Intel Alderlake-P HDMI (codec#2)");
  g_assert_cmpstr (pd_component_get_detail (c, "eld#2.0"), ==, "monitor LG HDR 4K");
  g_assert_cmpstr (pd_component_get_detail (c, "eld#2.3"), ==, "no monitor");
  g_assert_cmpstr (pd_component_get_detail (c, "monitor-name"), ==, "LG HDR 4K");
}

/* The card is there but the HDMI codec is gone: failed, with advice. */
static void
test_no_hdmi_codec (void)
{
  g_autoptr (PdComponent) c = read_machine ("esprimo-no-hdmi-codec");
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  g_assert_nonnull (strstr (c->summary, "HDMI codec"));
  g_assert_cmpstr (pd_component_get_detail (c, "hdmi-codec"), ==, "none");
  g_assert_cmpstr (pd_component_get_detail (c, "hdmi-codec-present"), ==, "no");
  g_assert_null (pd_component_get_detail (c, "monitor-name"));
  g_assert_cmpuint (c->advice->len, >, 0);
}

static void
test_no_card (void)
{
  g_autoptr (PdComponent) c = read_machine ("esprimo-no-sound-card");
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  g_assert_nonnull (strstr (c->summary, "No HD-Audio card"));
  g_assert_cmpuint (c->advice->len, >, 0);

  /* No /proc/asound at all (snd not loaded): the same. */
  g_autoptr (PdComponent) none = read_machine ("no-such-machine");
  g_assert_cmpint (none->state, ==, PD_STATE_FAILED);
}

/* --- the ELD flip, on a copy ------------------------------------------------ */

typedef struct
{
  char *root;
  PdAudioMonitor *mon;
  guint n_changed;
  GPtrArray *events;
} Flip;

static void
on_changed (PdAudioMonitor *mon, Flip *f)
{
  f->n_changed++;
}

static void
on_event (PdAudioMonitor *mon, const char *kind, const char *text, Flip *f)
{
  g_test_message ("event %s: %s", kind, text);
  g_ptr_array_add (f->events, g_strdup (kind));
}

static void
write_file (Flip *f, const char *rel, const char *contents)
{
  g_autofree char *path = g_build_filename (f->root, rel, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
set_eld (Flip *f, gboolean present)
{
  write_file (f, "proc/asound/card0/eld#2.1",
              present ? "monitor_present\t\t1\neld_valid\t\t1\nmonitor_name\t\tDELL P2419H\n"
                        "connection_type\t\tHDMI\n"
                      : "monitor_present\t\t0\neld_valid\t\t0\n");
}

static void
flip_setup (Flip *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = fixture ("esprimo");
  f->root = g_dir_make_tmp ("passdesk-audio-XXXXXX", &error);
  g_assert_no_error (error);
  /* cp -a keeps sysfs symlinks as they are. */
  const char *argv[] = { "cp", "-a", src, f->root, NULL };
  gint status = 0;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  char *inner = g_build_filename (f->root, "esprimo", NULL);
  g_free (f->root);
  f->root = inner;
  /* The scenario: a monitor on HDMI-A-1, as the Esprimo fixture has it. */
  write_file (f, "sys/class/drm/card0-HDMI-A-1/status", "connected\n");
  use_root (f->root);

  f->events = g_ptr_array_new_with_free_func (g_free);
  f->mon = pd_audio_monitor_new ();
  g_signal_connect (f->mon, "component-changed", G_CALLBACK (on_changed), f);
  g_signal_connect (f->mon, "event", G_CALLBACK (on_event), f);
  g_assert_true (pd_audio_monitor_start (f->mon, &error));
  g_assert_no_error (error);
}

static void
flip_teardown (Flip *f, gconstpointer data)
{
  g_clear_object (&f->mon);
  g_autofree char *parent = g_path_get_dirname (f->root);
  const char *argv[] = { "rm", "-rf", parent, NULL };
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
  g_free (f->root);
  g_ptr_array_unref (f->events);
}

static PdState
mon_state (Flip *f)
{
  g_autoptr (PdComponent) c = pd_audio_monitor_get_component (f->mon);
  return c->state;
}

static void
test_eld_flip (Flip *f, gconstpointer data)
{
  g_assert_cmpint (mon_state (f), ==, PD_STATE_OK);

  /* Nothing changed: refresh says nothing. */
  pd_audio_monitor_refresh (f->mon);
  g_assert_cmpuint (f->n_changed, ==, 0);

  /* The monitor's ELD vanishes while HDMI-A-1 stays connected: degraded. */
  set_eld (f, FALSE);
  pd_audio_monitor_refresh (f->mon);
  g_assert_cmpuint (f->n_changed, ==, 1);
  g_autoptr (PdComponent) c = pd_audio_monitor_get_component (f->mon);
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  g_assert_nonnull (strstr (c->summary, "HDMI-A-1"));
  g_assert_cmpstr (pd_component_get_detail (c, "eld#2.1"), ==, "no monitor");
  g_assert_cmpuint (c->advice->len, >, 0);
  g_assert_cmpuint (f->events->len, ==, 1);
  g_assert_cmpstr (f->events->pdata[0], ==, "audio.no-monitor");

  pd_audio_monitor_refresh (f->mon);
  g_assert_cmpuint (f->n_changed, ==, 1);

  /* And back. */
  set_eld (f, TRUE);
  pd_audio_monitor_refresh (f->mon);
  g_assert_cmpuint (f->n_changed, ==, 2);
  g_assert_cmpint (mon_state (f), ==, PD_STATE_OK);
  g_assert_cmpstr (f->events->pdata[1], ==, "audio.monitor-present");

  /* No monitor and nothing connected is fine, not degraded. */
  set_eld (f, FALSE);
  write_file (f, "sys/class/drm/card0-HDMI-A-1/status", "disconnected\n");
  pd_audio_monitor_refresh (f->mon);
  g_assert_cmpuint (f->n_changed, ==, 3);
  g_assert_cmpint (mon_state (f), ==, PD_STATE_OK);
}

/* Without eld# files there is nothing to compare with: not degraded. */
static void
test_no_eld_files (Flip *f, gconstpointer data)
{
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *eld = g_strdup_printf ("%s/proc/asound/card0/eld#2.%u", f->root, i);
      g_assert_cmpint (g_unlink (eld), ==, 0);
    }
  pd_audio_monitor_refresh (f->mon);
  g_autoptr (PdComponent) c = pd_audio_monitor_get_component (f->mon);
  g_assert_cmpint (c->state, ==, PD_STATE_OK);
  g_assert_nonnull (strstr (c->summary, "no ELD"));
}

/* The codec disappears (e.g. after a codec timeout) and comes back. */
static void
test_codec_gone (Flip *f, gconstpointer data)
{
  g_autofree char *codec = g_build_filename (f->root, "proc/asound/card0/codec#2", NULL);
  g_autofree char *saved = NULL;
  g_assert_true (g_file_get_contents (codec, &saved, NULL, NULL));
  g_assert_cmpint (g_unlink (codec), ==, 0);
  pd_audio_monitor_refresh (f->mon);
  g_assert_cmpint (mon_state (f), ==, PD_STATE_FAILED);
  g_assert_cmpuint (f->n_changed, ==, 1);
  g_assert_cmpstr (f->events->pdata[0], ==, "audio.device-gone");

  write_file (f, "proc/asound/card0/codec#2", saved);
  pd_audio_monitor_refresh (f->mon);
  g_assert_cmpint (mon_state (f), ==, PD_STATE_OK);
  g_assert_cmpstr (f->events->pdata[1], ==, "audio.device-back");
}

/* Outside input: huge, malformed and binary files are read bounded and
 * never crash. */
static void
test_malformed (Flip *f, gconstpointer data)
{
  /* A 4 MiB codec dump: only its header is read. */
  GString *big = g_string_new ("Codec: Intel Kabylake HDMI\nAddress: 2\n");
  while (big->len < 4 * 1024 * 1024)
    g_string_append (big, "Node 0x05 [Pin Complex] wcaps 0x40778d: 8-Channels Digital\n");
  write_file (f, "proc/asound/card0/codec#2", big->str);
  g_string_free (big, TRUE);
  pd_audio_monitor_refresh (f->mon);
  g_assert_cmpint (mon_state (f), ==, PD_STATE_OK);

  /* Garbage in cards: no card found, failed, no crash. */
  write_file (f, "proc/asound/cards",
              " 99999999999 [X]: - \n [\n0 [unterminated\n-1 [A ]: B - C\n");
  pd_audio_monitor_refresh (f->mon);
  g_assert_cmpint (mon_state (f), ==, PD_STATE_FAILED);

  /* Restore cards; an ELD with binary junk and an overlong name. */
  write_file (f, "proc/asound/cards",
              " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n"
              "                      HDA Intel PCH at 0xfe010000 irq 36\n");
  g_autofree char *longname = g_strnfill (5000, 'A');
  g_autofree char *eld
      = g_strdup_printf ("monitor_present\t1\nmonitor_name\t\xff\xfe%s\x01\n", longname);
  write_file (f, "proc/asound/card0/eld#2.1", eld);
  pd_audio_monitor_refresh (f->mon);
  g_autoptr (PdComponent) c = pd_audio_monitor_get_component (f->mon);
  g_assert_cmpint (c->state, ==, PD_STATE_OK);
  const char *pin = pd_component_get_detail (c, "eld#2.1");
  g_assert_nonnull (pin);
  g_assert_true (g_utf8_validate (pin, -1, NULL));
  g_assert_cmpuint (strlen (pin), <, 1024);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/audio-monitor/esprimo", test_esprimo);
  g_test_add_func ("/audio-monitor/n100", test_n100);
  g_test_add_func ("/audio-monitor/no-hdmi-codec", test_no_hdmi_codec);
  g_test_add_func ("/audio-monitor/no-card", test_no_card);
  g_test_add ("/audio-monitor/eld-flip", Flip, NULL, flip_setup, test_eld_flip, flip_teardown);
  g_test_add ("/audio-monitor/no-eld-files", Flip, NULL, flip_setup, test_no_eld_files,
              flip_teardown);
  g_test_add ("/audio-monitor/codec-gone", Flip, NULL, flip_setup, test_codec_gone, flip_teardown);
  g_test_add ("/audio-monitor/malformed", Flip, NULL, flip_setup, test_malformed, flip_teardown);
  return g_test_run ();
}
