/* test-detail-keys.c - the one table of detail keys (agent/core/
 * detail-keys.h): stable ids in one spelling, a label for each, the kernel-
 * named families, and the facts programs read kept out of views. */
#include "detail-keys.h"

#include <string.h>

static void
test_table (void)
{
  guint n;
  const PdDetailKey *keys = pd_detail_keys (&n);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpuint (n, >, 40);
  for (guint i = 0; i < n; i++)
    {
      const char *id = keys[i].id;
      /* One spelling: lower case words joined by '-'. */
      g_assert_true (g_ascii_islower (id[0]));
      for (const char *p = id; *p; p++)
        g_assert_true (g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-');
      g_assert_false (g_str_has_suffix (id, "-"));
      g_assert_null (strstr (id, "--"));
      g_assert_true (g_hash_table_add (seen, (gpointer) id));
      g_assert_true (keys[i].label != NULL && *keys[i].label);
      g_assert_true (pd_detail_key_lookup (id) == &keys[i]);
      g_assert_true (pd_detail_key_is_known (id));
      g_autofree char *label = pd_detail_label (id);
      g_assert_cmpstr (label, ==, keys[i].label);
    }
}

static void
test_labels (void)
{
  g_autofree char *render = pd_detail_label (PD_DETAIL_RENDER_NODE);
  g_autofree char *codec = pd_detail_label ("hdmi-codec");
  g_autofree char *eld = pd_detail_label ("eld#2.0");
  g_autofree char *usb = pd_detail_label ("1-4.1");
  g_autofree char *con = pd_detail_label ("HDMI-A-1");
  g_autofree char *newer = pd_detail_label ("from-a-newer-agent");

  g_assert_cmpstr (render, ==, "Render node");
  g_assert_cmpstr (codec, ==, "HDMI codec");
  g_assert_cmpstr (eld, ==, "HDMI audio pin 2.0");
  g_assert_cmpstr (usb, ==, "USB port 1-4.1");
  g_assert_cmpstr (con, ==, "HDMI-A-1");
  g_assert_cmpstr (newer, ==, "from-a-newer-agent");
}

static void
test_families (void)
{
  const char *known[] = { "HDMI-A-1",  "HDMI-B-2", "DP-1",     "eDP-1", "DVI-D-1", "VGA-1",
                          "Virtual-1", "eld#2.0",  "eld#0.13", "1-4",   "1-4.1",   "3-1.2.3" };
  const char *unknown[] = { "Driver",
                            "Render node",
                            "hdmi codec",
                            "LIBVA_DRIVER_NAME",
                            "HDMI-A-",
                            "HDMI-1x",
                            "-1",
                            "eld#2",
                            "eld#.0",
                            "eld#2.0x",
                            "1-",
                            "1-4.",
                            "1.4",
                            "",
                            "Default output" };
  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    g_assert_true (pd_detail_key_is_known (known[i]));
  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_test_message ("%s", unknown[i]);
      g_assert_false (pd_detail_key_is_known (unknown[i]));
    }
  g_assert_false (pd_detail_key_is_known (NULL));
}

static void
test_hidden (void)
{
  /* The machine-read facts repeat what other details show people. */
  g_assert_false (pd_detail_key_is_shown (PD_DETAIL_MONITOR_NAME));
  g_assert_false (pd_detail_key_is_shown (PD_DETAIL_HDMI_CODEC_PRESENT));
  g_assert_true (pd_detail_key_is_shown (PD_DETAIL_HDMI_CODEC));
  g_assert_true (pd_detail_key_is_shown ("eld#2.0"));
  g_assert_true (pd_detail_key_is_shown ("from-a-newer-agent"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/detail-keys/table", test_table);
  g_test_add_func ("/detail-keys/labels", test_labels);
  g_test_add_func ("/detail-keys/families", test_families);
  g_test_add_func ("/detail-keys/hidden", test_hidden);
  return g_test_run ();
}
