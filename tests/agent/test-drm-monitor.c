/* test-drm-monitor.c - PdDrmMonitor against a umockdev testbed.
 *
 * Runs under umockdev-wrapper. The testbed mirrors the Esprimo guest: the
 * HD Graphics 630 (8086:5912) at 0000:00:02.0 bound to i915, card0 with
 * HDMI-A-1 and DP-1, and the PCH audio function 0000:00:1f.3 (not display).
 *
 * PASSDESK_SYSROOT is left unset, so pd_gpu_scan() reads umockdev's /sys:
 * the test changes the connector there and checks that the display state a
 * "hotplug" handler reads follows within 100 ms of the uevent.
 */
#include "config.h"

#include <umockdev.h>

#include "drm-monitor.h"
#include "gpu-scan.h"
#include "sysroot.h"

#define WAIT_US (15 * G_USEC_PER_SEC)
#define HOTPLUG_LATENCY_US (100 * 1000)

typedef struct
{
  UMockdevTestbed *tb;
  PdDrmMonitor *mon;
  GPtrArray *changes; /* what */
  gint64 last_change_time;
  char *hdmi_state; /* the display detail for HDMI-A-1 read in the handler */
  char *gpu;        /* the GPU, its card and connector paths */
  char *card;
  char *hdmi;
  char *audio;
} Fixture;

#define WAIT_FOR(cond)                                                                             \
  G_STMT_START                                                                                     \
  {                                                                                                \
    gint64 deadline_ = g_get_monotonic_time () + WAIT_US;                                          \
    while (!(cond) && g_get_monotonic_time () < deadline_)                                         \
      g_main_context_iteration (NULL, FALSE) || (g_usleep (500), TRUE);                            \
    if (!(cond))                                                                                   \
      g_error ("timed out waiting for %s", #cond);                                                 \
  }                                                                                                \
  G_STMT_END

/* What an agent does on "hotplug": re-scan and take the display component. */
static void
on_changed (PdDrmMonitor *mon, const char *what, Fixture *f)
{
  g_ptr_array_add (f->changes, g_strdup (what));
  if (g_str_equal (what, "hotplug"))
    {
      g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
      g_autoptr (PdComponent) display = pd_display_component (scan);
      g_free (f->hdmi_state);
      f->hdmi_state = g_strdup (pd_component_get_detail (display, "HDMI-A-1"));
    }
  f->last_change_time = g_get_monotonic_time (); /* the display state is known now */
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* umockdev-wrapper preloads the library that redirects /sys, /dev and uevents. */
  g_assert_nonnull (
      strstr (g_getenv ("LD_PRELOAD") ? g_getenv ("LD_PRELOAD") : "", "umockdev-preload"));
  g_unsetenv ("PASSDESK_SYSROOT");
  pd_sysroot_reset ();
  f->tb = umockdev_testbed_new ();
  f->changes = g_ptr_array_new_with_free_func (g_free);

  f->gpu = umockdev_testbed_add_device (
      f->tb, "pci", "0000:00:02.0", NULL, "vendor", "0x8086\n", "device", "0x5912\n", "class",
      "0x030000\n", "subsystem_vendor", "0x1734\n", "subsystem_device", "0x1233\n", NULL,
      "PCI_CLASS", "30000", "PCI_ID", "8086:5912", "PCI_SLOT_NAME", "0000:00:02.0", "DRIVER",
      "i915", NULL);
  umockdev_testbed_set_attribute_link (f->tb, f->gpu, "driver", "../../bus/pci/drivers/i915");
  f->card = umockdev_testbed_add_device (f->tb, "drm", "drm/card0", f->gpu, "dev", "226:0\n", NULL,
                                         "DEVNAME", "/dev/dri/card0", "DEVTYPE", "drm_minor", NULL);
  g_free (umockdev_testbed_add_device (f->tb, "drm", "drm/renderD128", f->gpu, "dev", "226:128\n",
                                       NULL, "DEVNAME", "/dev/dri/renderD128", "DEVTYPE",
                                       "drm_minor", NULL));
  f->hdmi = umockdev_testbed_add_device (f->tb, "drm", "card0-HDMI-A-1", f->card, "status",
                                         "disconnected\n", "enabled", "disabled\n", "modes", "",
                                         NULL, "DEVTYPE", "drm_connector", NULL);
  g_free (umockdev_testbed_add_device (f->tb, "drm", "card0-DP-1", f->card, "status",
                                       "disconnected\n", "enabled", "disabled\n", "modes", "", NULL,
                                       "DEVTYPE", "drm_connector", NULL));
  f->audio = umockdev_testbed_add_device (f->tb, "pci", "0000:00:1f.3", NULL, "vendor", "0x8086\n",
                                          "device", "0xa2f0\n", "class", "0x040300\n", NULL,
                                          "PCI_CLASS", "40300", "PCI_ID", "8086:A2F0", "DRIVER",
                                          "snd_hda_intel", NULL);

  f->mon = pd_drm_monitor_new ();
  g_signal_connect (f->mon, "changed", G_CALLBACK (on_changed), f);
  g_assert_true (pd_drm_monitor_start (f->mon, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->mon);
  g_clear_object (&f->tb);
  g_ptr_array_unref (f->changes);
  g_free (f->hdmi_state);
  g_free (f->gpu);
  g_free (f->card);
  g_free (f->hdmi);
  g_free (f->audio);
}

/* The gpu scan sees the testbed as a real machine would look. */
static void
test_scan_sees_testbed (Fixture *f, gconstpointer data)
{
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_nonnull (d);
  g_assert_cmphex (d->device, ==, 0x5912);
  g_assert_cmpstr (d->driver, ==, "i915");
  g_assert_cmpstr (d->card_node, ==, "/dev/dri/card0");
  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpstr (pd_component_get_detail (display, "HDMI-A-1"), ==, "disconnected");
}

/* A connector status change with a HOTPLUG uevent: "hotplug" within 100 ms,
 * and the display state read then follows. Twice, both ways. */
static void
test_hotplug (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *status, *enabled, *modes, *expect_prefix;
  } steps[] = {
    { "connected\n", "enabled\n", "1920x1080\n1280x720\n", "connected" },
    { "disconnected\n", "disabled\n", "", "disconnected" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      guint before = f->changes->len;
      umockdev_testbed_set_attribute (f->tb, f->hdmi, "status", steps[i].status);
      umockdev_testbed_set_attribute (f->tb, f->hdmi, "enabled", steps[i].enabled);
      umockdev_testbed_set_attribute (f->tb, f->hdmi, "modes", steps[i].modes);
      umockdev_testbed_set_property (f->tb, f->card, "HOTPLUG", "1");
      gint64 sent = g_get_monotonic_time ();
      umockdev_testbed_uevent (f->tb, f->card, "change");
      WAIT_FOR (f->changes->len > before);

      g_assert_cmpuint (f->changes->len, ==, before + 1);
      g_assert_cmpstr (f->changes->pdata[before], ==, "hotplug");
      gint64 latency = f->last_change_time - sent;
      g_test_message ("uevent to \"hotplug\" (with the re-scan): %.1f ms", latency / 1000.0);
      g_assert_cmpint (latency, <, HOTPLUG_LATENCY_US);
      g_assert_nonnull (f->hdmi_state);
      g_assert_true (g_str_has_prefix (f->hdmi_state, steps[i].expect_prefix));
    }
  g_assert_true (g_str_has_prefix (f->hdmi_state, "disconnected"));
}

/* Uevents that are not ours make no signal; order is kept, so a final
 * hotplug proves the earlier ones were dropped, not late. */
static void
test_ignores_others (Fixture *f, gconstpointer data)
{
  umockdev_testbed_uevent (f->tb, f->card, "change"); /* no HOTPLUG=1 */
  umockdev_testbed_uevent (f->tb, f->audio, "unbind");
  umockdev_testbed_uevent (f->tb, f->audio, "bind");
  umockdev_testbed_uevent (f->tb, f->hdmi, "add"); /* a connector is not a card */
  umockdev_testbed_set_property (f->tb, f->card, "HOTPLUG", "1");
  umockdev_testbed_uevent (f->tb, f->card, "change");
  WAIT_FOR (f->changes->len > 0);
  /* Let anything queued behind it arrive too. */
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (f->changes->len, ==, 1);
  g_assert_cmpstr (f->changes->pdata[0], ==, "hotplug");
}

/* Driver bind/unbind of the display device and DRM card add/remove: "gpu". */
static void
test_gpu_changes (Fixture *f, gconstpointer data)
{
  umockdev_testbed_uevent (f->tb, f->gpu, "unbind");
  WAIT_FOR (f->changes->len == 1);
  umockdev_testbed_uevent (f->tb, f->card, "remove");
  WAIT_FOR (f->changes->len == 2);
  umockdev_testbed_uevent (f->tb, f->gpu, "bind");
  WAIT_FOR (f->changes->len == 3);
  g_autofree char *card1
      = umockdev_testbed_add_device (f->tb, "drm", "drm/card1", f->gpu, "dev", "226:1\n", NULL,
                                     "DEVNAME", "/dev/dri/card1", "DEVTYPE", "drm_minor", NULL);
  umockdev_testbed_uevent (f->tb, card1, "add");
  WAIT_FOR (f->changes->len == 4);
  for (guint i = 0; i < f->changes->len; i++)
    g_assert_cmpstr (f->changes->pdata[i], ==, "gpu");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* umockdev logs every uevent at debug level; keep the TAP output readable. */
  g_log_set_debug_enabled (FALSE);
#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/drm-monitor/scan-sees-testbed", test_scan_sees_testbed);
  ADD ("/drm-monitor/hotplug", test_hotplug);
  ADD ("/drm-monitor/ignores-others", test_ignores_others);
  ADD ("/drm-monitor/gpu-changes", test_gpu_changes);
  return g_test_run ();
}
