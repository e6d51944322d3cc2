/* test-gpu-scan.c - the sysfs GPU/display scan and the gpu and display
 * components, on the fixture trees (tests/fixtures/<machine>/sys, dev) and on
 * temporary copies of them changed in one way each. */
#include <glib/gstdio.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu-scan.h"
#include "sysroot.h"

static char *
fixture_path (const char *machine)
{
  const char *dir = g_getenv ("PASSDESK_TEST_FIXTURES");
  g_assert_nonnull (dir);
  return g_build_filename (dir, machine, NULL);
}

static void
use_sysroot (const char *root)
{
  g_setenv ("PASSDESK_SYSROOT", root, TRUE);
  pd_sysroot_reset ();
}

static void
use_fixture (const char *machine)
{
  g_autofree char *root = fixture_path (machine);
  g_assert_true (g_file_test (root, G_FILE_TEST_IS_DIR));
  use_sysroot (root);
}

/* A writable copy of a fixture tree, symlinks kept as they are. */
static char *
copy_fixture (const char *machine)
{
  g_autofree char *src = fixture_path (machine);
  g_autoptr (GError) error = NULL;
  char *dst = g_dir_make_tmp ("passdesk-gpu-XXXXXX", &error);
  g_assert_no_error (error);
  /* Readable by others: one test drops root to "nobody" and scans it. */
  g_assert_cmpint (g_chmod (dst, 0755), ==, 0);
  g_autofree char *src_dot = g_build_filename (src, ".", NULL);
  const char *argv[] = { "cp", "-a", src_dot, dst, NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return dst;
}

static void
remove_tree (const char *dir)
{
  const char *argv[] = { "rm", "-rf", dir, NULL };
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                NULL);
}

static void
tree_write (const char *root, const char *rel, const char *contents)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
tree_remove (const char *root, const char *rel)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  remove_tree (path);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
}

static void
tree_relink (const char *root, const char *rel, const char *target)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (symlink (target, path), ==, 0);
}

static gboolean
has_advice (const PdComponent *c, const char *needle)
{
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = c->advice->pdata[i];
      if (strstr (a->text, needle) || (a->command && strstr (a->command, needle)))
        return TRUE;
    }
  return FALSE;
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("“%s” does not contain “%s”", haystack ? haystack : "(null)", needle);
}

static const PdConnector *
find_connector (const PdGpuDevice *d, const char *name)
{
  for (guint i = 0; i < d->connectors->len; i++)
    if (strcmp (((PdConnector *) d->connectors->pdata[i])->name, name) == 0)
      return d->connectors->pdata[i];
  return NULL;
}

/* --- names --- */

static void
test_names (void)
{
  PdGpuGeneration gen;
  g_autofree char *kbl = pd_gpu_name_for_ids (0x8086, 0x5912, &gen);
  g_assert_cmpstr (kbl, ==, "Intel HD Graphics 630 (Kaby Lake GT2)");
  g_assert_cmpint (gen, ==, PD_GPU_GEN_KABY_LAKE);
  const guint16 adln[] = { 0x46d0, 0x46d1, 0x46d2 };
  for (guint i = 0; i < G_N_ELEMENTS (adln); i++)
    {
      g_autofree char *n = pd_gpu_name_for_ids (0x8086, adln[i], &gen);
      g_assert_cmpstr (n, ==, "Intel UHD Graphics (Alder Lake-N)");
      g_assert_cmpint (gen, ==, PD_GPU_GEN_ALDER_LAKE_N);
    }
  g_autofree char *fallback = pd_gpu_name_for_ids (0x8086, 0xabcd, &gen);
  g_assert_cmpstr (fallback, ==, "Intel GPU 8086:abcd");
  g_assert_cmpint (gen, ==, PD_GPU_GEN_OTHER_INTEL);
  g_autofree char *vga = pd_gpu_name_for_ids (0x1234, 0x1111, &gen);
  g_assert_cmpstr (vga, ==, "QEMU standard VGA");
  g_assert_cmpint (gen, ==, PD_GPU_GEN_UNKNOWN);
  g_autofree char *other = pd_gpu_name_for_ids (0x10de, 0x1c82, NULL);
  g_assert_cmpstr (other, ==, "display device 10de:1c82");
  g_assert_cmpstr (pd_gpu_generation_to_string (PD_GPU_GEN_ALDER_LAKE_N), ==, "alder-lake-n");
}

/* --- the guide's two machines --- */

static void
test_esprimo (void)
{
  use_fixture ("esprimo");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  /* The HD-Audio function (class 0x0403) and the rest are not display devices. */
  g_assert_cmpuint (scan->devices->len, ==, 1);
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_nonnull (d);
  g_assert_cmpstr (d->pci_slot, ==, "0000:00:02.0");
  g_assert_cmphex (d->vendor, ==, 0x8086);
  g_assert_cmphex (d->device, ==, 0x5912);
  g_assert_cmphex (d->pci_class, ==, 0x030000);
  g_assert_true (d->ids_known);
  g_assert_cmpstr (d->name, ==, "Intel HD Graphics 630 (Kaby Lake GT2)");
  g_assert_cmpint (d->generation, ==, PD_GPU_GEN_KABY_LAKE);
  g_assert_cmpstr (d->driver, ==, "i915");
  g_assert_cmpstr (d->card_node, ==, "/dev/dri/card0");
  g_assert_cmpstr (d->render_node, ==, "/dev/dri/renderD128");
  g_assert_true (d->render_exists);
  g_assert_true (d->render_accessible);
  g_assert_cmpuint (d->notes->len, ==, 0);
  g_assert_cmpuint (d->display_notes->len, ==, 0);
  g_assert_cmpuint (scan->notes->len, ==, 0);

  g_assert_cmpuint (d->connectors->len, ==, 2);
  const PdConnector *hdmi = find_connector (d, "HDMI-A-1");
  const PdConnector *dp = find_connector (d, "DP-1");
  g_assert_nonnull (hdmi);
  g_assert_nonnull (dp);
  g_assert_cmpstr (hdmi->status, ==, "connected");
  g_assert_true (hdmi->enabled);
  g_assert_cmpstr (hdmi->preferred_mode, ==, "1920x1080");
  g_assert_cmpstr (dp->status, ==, "disconnected");
  g_assert_false (dp->enabled);
  g_assert_null (dp->preferred_mode);

  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_OK);
  assert_contains (gpu->summary, "Intel HD Graphics 630 (Kaby Lake GT2)");
  assert_contains (gpu->summary, "i915");
  g_assert_cmpuint (gpu->advice->len, ==, 0);
  g_assert_cmpstr (pd_component_get_detail (gpu, "pci-slot"), ==, "0000:00:02.0");
  g_assert_cmpstr (pd_component_get_detail (gpu, "ids"), ==, "8086:5912");
  g_assert_cmpstr (pd_component_get_detail (gpu, "name"), ==,
                   "Intel HD Graphics 630 (Kaby Lake GT2)");
  g_assert_cmpstr (pd_component_get_detail (gpu, "driver"), ==, "i915");
  g_assert_cmpstr (pd_component_get_detail (gpu, "card"), ==, "/dev/dri/card0");
  g_assert_cmpstr (pd_component_get_detail (gpu, "render-node"), ==, "/dev/dri/renderD128");
  g_assert_cmpstr (pd_component_get_detail (gpu, "render-access"), ==, "read-write");
  g_assert_null (pd_component_get_detail (gpu, "problems"));

  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_OK);
  g_assert_cmpstr (display->summary, ==, "HDMI-A-1 connected, enabled, 1920x1080");
  g_assert_cmpstr (pd_component_get_detail (display, "HDMI-A-1"), ==,
                   "connected, enabled, 1920x1080");
  g_assert_cmpstr (pd_component_get_detail (display, "DP-1"), ==, "disconnected");
  g_assert_cmpuint (display->advice->len, ==, 0);
}

static void
test_n100 (void)
{
  use_fixture ("n100");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_assert_cmpuint (scan->devices->len, ==, 1);
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_nonnull (d);
  /* q35 with pcie=1: behind a root port, and i915 is card1 after simpledrm. */
  g_assert_cmpstr (d->pci_slot, ==, "0000:01:00.0");
  g_assert_cmphex (d->device, ==, 0x46d1);
  g_assert_cmpstr (d->name, ==, "Intel UHD Graphics (Alder Lake-N)");
  g_assert_cmpint (d->generation, ==, PD_GPU_GEN_ALDER_LAKE_N);
  g_assert_cmpstr (d->driver, ==, "i915");
  g_assert_cmpstr (d->card_node, ==, "/dev/dri/card1");
  g_assert_cmpstr (d->render_node, ==, "/dev/dri/renderD128");
  g_assert_true (d->render_accessible);

  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_OK);
  assert_contains (gpu->summary, "Alder Lake-N");
  g_assert_cmpstr (pd_component_get_detail (gpu, "generation"), ==, "alder-lake-n");

  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_OK);
  g_assert_cmpstr (display->summary, ==, "DP-1 connected, enabled, 2560x1440");
  g_assert_cmpstr (pd_component_get_detail (display, "HDMI-A-1"), ==, "disconnected");
  g_assert_cmpstr (pd_component_get_detail (display, "card"), ==, "/dev/dri/card1");
}

/* --- broken variants --- */

static void
test_no_gpu (void)
{
  use_fixture ("no-gpu");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  /* QEMU's standard VGA is a display device, but not a passed-through GPU. */
  g_assert_cmpuint (scan->devices->len, ==, 1);
  g_assert_null (pd_gpu_scan_primary (scan));

  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (gpu->summary, "No GPU was passed through");
  g_assert_true (has_advice (gpu, "qm set 100 --hostpci0 0000:00:02.0"));
  g_assert_true (has_advice (gpu, "0000:00:02,pcie=1,x-vga=1"));
  g_assert_true (has_advice (gpu, "qm start 100"));
  g_assert_true (has_advice (gpu, "reboot inside the guest"));
  assert_contains (pd_component_get_detail (gpu, "other-display-devices"),
                   "QEMU standard VGA (1234:1111), driver bochs-drm");

  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_UNKNOWN);
  assert_contains (display->summary, "no passed-through GPU");
}

static void
test_vfio_bound (void)
{
  use_fixture ("vfio-bound");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_nonnull (d);
  g_assert_cmpstr (d->driver, ==, "vfio-pci");
  g_assert_null (d->card_node);
  g_assert_null (d->render_node);

  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (gpu->summary, "vfio-pci");
  g_assert_true (has_advice (gpu, "/etc/modprobe.d/vfio.conf"));
  g_assert_true (has_advice (gpu, "update-initramfs -u"));
  g_assert_cmpstr (pd_component_get_detail (gpu, "driver"), ==, "vfio-pci");
  g_assert_cmpstr (pd_component_get_detail (gpu, "render-node"), ==, "none");

  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_UNKNOWN);
}

static void
test_no_driver (void)
{
  use_fixture ("no-driver");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_nonnull (d);
  g_assert_null (d->driver);
  g_assert_cmpuint (d->notes->len, ==, 0);

  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (gpu->summary, "no kernel driver");
  g_assert_true (has_advice (gpu, "sudo modprobe i915"));
  g_assert_true (has_advice (gpu, "blacklist i915"));
  g_assert_true (has_advice (gpu, "lspci -nnk"));
  g_assert_cmpstr (pd_component_get_detail (gpu, "driver"), ==, "none");

  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_UNKNOWN);
  assert_contains (display->summary, "no working driver");
}

static void
test_no_render_node (void)
{
  use_fixture ("no-render-node");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_nonnull (d);
  g_assert_true (d->render_in_sysfs);
  g_assert_false (d->render_exists);
  g_assert_false (d->render_accessible);

  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (gpu->summary, "/dev/dri/renderD128 is missing");
  g_assert_true (has_advice (gpu, "udevadm trigger"));
  g_assert_cmpstr (pd_component_get_detail (gpu, "render-access"), ==, "missing");

  /* The outputs are still there. */
  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_OK);
}

static void
test_all_disconnected (void)
{
  use_fixture ("all-disconnected");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_OK);

  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_DEGRADED);
  assert_contains (display->summary, "No monitor is connected");
  assert_contains (display->summary, "DP-1, HDMI-A-1");
  g_assert_true (has_advice (display, "cable"));
  g_assert_true (has_advice (display, "host's HDMI"));
  g_assert_true (has_advice (display, "qm shutdown 100 && qm start 100"));
  g_assert_cmpstr (pd_component_get_detail (display, "HDMI-A-1"), ==, "disconnected");
}

static void
test_unidentified (void)
{
  use_fixture ("unidentified");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_assert_cmpuint (scan->devices->len, ==, 1);
  const PdGpuDevice *d = scan->devices->pdata[0];
  g_assert_false (d->ids_known);
  g_assert_null (pd_gpu_scan_primary (scan));

  /* We cannot tell whether it is the passed-through GPU: unknown, not failed. */
  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_UNKNOWN);
  assert_contains (gpu->summary, "could not be identified");
  assert_contains (pd_component_get_detail (gpu, "problems"),
                   "/sys/bus/pci/devices/0000:00:02.0/vendor: not a hexadecimal id");
}

static void
test_malformed (void)
{
  use_fixture ("malformed");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_nonnull (d);
  g_assert_cmpstr (d->pci_slot, ==, "0000:00:02.0");

  const PdConnector *hdmi = find_connector (d, "HDMI-A-1");
  const PdConnector *dp = find_connector (d, "DP-1");
  g_assert_nonnull (hdmi);
  g_assert_nonnull (dp);
  g_assert_cmpstr (hdmi->status, ==, "unknown"); /* binary garbage */
  g_assert_null (hdmi->preferred_mode);          /* modes larger than a page */
  g_assert_false (dp->enabled);                  /* NUL inside the value */

  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_OK);
  const char *problems = pd_component_get_detail (gpu, "problems");
  assert_contains (problems, "0000:00:03.0/vendor: not a hexadecimal id");
  assert_contains (problems, "0000:00:04.0/class: value longer than");
  assert_contains (pd_component_get_detail (gpu, "other-display-devices"),
                   "0000:00:03.0 unidentified display device");

  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_UNKNOWN);
  problems = pd_component_get_detail (display, "problems");
  assert_contains (problems, "card0-HDMI-A-1/status: unexpected value");
  assert_contains (problems, "card0-HDMI-A-1/modes: value longer than 4096 bytes");
  assert_contains (problems, "card0-DP-1/enabled: value holds a NUL byte");
  /* Garbage is never echoed into what we print. */
  g_assert_null (strchr (problems, '\033'));
  g_assert_cmpstr (pd_component_get_detail (display, "HDMI-A-1"), ==, "unknown, enabled");
}

/* --- variants made on a copy of the Esprimo tree --- */

static void
test_render_not_accessible (void)
{
  if (g_test_subprocess ())
    {
      /* As root, access() always allows: scan as "nobody" instead. */
      if (geteuid () == 0)
        {
          g_assert_cmpint (setgroups (0, NULL), ==, 0);
          g_assert_cmpint (setgid (65534), ==, 0);
          g_assert_cmpint (setuid (65534), ==, 0);
        }
      pd_sysroot_reset ();
      g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
      const PdGpuDevice *d = pd_gpu_scan_primary (scan);
      g_assert_nonnull (d);
      g_assert_true (d->render_exists);
      g_assert_false (d->render_accessible);
      g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
      g_assert_cmpint (gpu->state, ==, PD_STATE_DEGRADED);
      assert_contains (gpu->summary, "you may not open /dev/dri/renderD128");
      g_assert_true (has_advice (gpu, "sudo usermod -aG render $USER"));
      g_assert_true (has_advice (gpu, "log out and back in"));
      g_assert_true (has_advice (gpu, "active local desktop session"));
      g_assert_cmpstr (pd_component_get_detail (gpu, "render-access"), ==, "denied");
      return;
    }
  g_autofree char *root = copy_fixture ("esprimo");
  g_autofree char *node = g_build_filename (root, "dev/dri/renderD128", NULL);
  g_assert_cmpint (g_chmod (node, 0000), ==, 0);
  use_sysroot (root);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  remove_tree (root);
  g_test_trap_assert_passed ();
}

static void
test_no_render_in_sysfs (void)
{
  g_autofree char *root = copy_fixture ("esprimo");
  tree_remove (root, "sys/devices/pci0000:00/0000:00:02.0/drm/renderD128");
  tree_remove (root, "sys/class/drm/renderD128");
  use_sysroot (root);
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_null (d->render_node);
  g_assert_false (d->render_in_sysfs);
  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (gpu->summary, "has no render node");
  g_assert_cmpuint (gpu->advice->len, >, 0);
  remove_tree (root);
}

static void
test_driver_without_card (void)
{
  g_autofree char *root = copy_fixture ("esprimo");
  tree_remove (root, "sys/devices/pci0000:00/0000:00:02.0/drm");
  use_sysroot (root);
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (gpu->summary, "created no DRM device");
  g_assert_true (has_advice (gpu, "dmesg"));
  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_UNKNOWN);
  remove_tree (root);
}

static void
test_xe_and_unknown_intel_id (void)
{
  g_autofree char *root = copy_fixture ("esprimo");
  tree_relink (root, "sys/devices/pci0000:00/0000:00:02.0/driver", "../../../bus/pci/drivers/xe");
  tree_write (root, "sys/devices/pci0000:00/0000:00:02.0/device", "0x9999\n");
  use_sysroot (root);
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_nonnull (d);
  g_assert_cmpstr (d->driver, ==, "xe");
  g_assert_cmpstr (d->name, ==, "Intel GPU 8086:9999");
  g_assert_cmpint (d->generation, ==, PD_GPU_GEN_OTHER_INTEL);
  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_OK);
  assert_contains (gpu->summary, "Intel GPU 8086:9999 on xe");
  remove_tree (root);
}

static void
test_other_driver (void)
{
  g_autofree char *root = copy_fixture ("no-driver");
  g_autofree char *link
      = g_build_filename (root, "sys/devices/pci0000:00/0000:00:02.0/driver", NULL);
  g_assert_cmpint (symlink ("../../../bus/pci/drivers/pci-stub", link), ==, 0);
  use_sysroot (root);
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (gpu->summary, "bound to pci-stub, not to i915");
  g_assert_true (has_advice (gpu, "modprobe i915"));
  remove_tree (root);
}

static void
test_connected_but_off (void)
{
  g_autofree char *root = copy_fixture ("esprimo");
  tree_write (root, "sys/devices/pci0000:00/0000:00:02.0/drm/card0/card0-HDMI-A-1/enabled",
              "disabled\n");
  use_sysroot (root);
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_DEGRADED);
  assert_contains (display->summary, "connected on HDMI-A-1 but the output is off");
  g_assert_cmpuint (display->advice->len, >, 0);
  g_assert_cmpstr (pd_component_get_detail (display, "HDMI-A-1"), ==,
                   "connected, disabled, 1920x1080");
  remove_tree (root);
}

static void
test_no_connectors (void)
{
  g_autofree char *root = copy_fixture ("esprimo");
  tree_remove (root, "sys/class/drm/card0-HDMI-A-1");
  tree_remove (root, "sys/class/drm/card0-DP-1");
  use_sysroot (root);
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_OK);
  g_autoptr (PdComponent) display = pd_display_component (scan);
  g_assert_cmpint (display->state, ==, PD_STATE_FAILED);
  assert_contains (display->summary, "no display outputs");
  g_assert_true (has_advice (display, "x-vga=1"));
  remove_tree (root);
}

/* The guide's host vfio.conf, copied into the guest by mistake. */
static const char guide_vfio_conf[] = "# don't load driver for iGPU and sound card\n"
                                      "blacklist i915\n"
                                      "blacklist snd_hda_intel\n"
                                      "blacklist snd_sof_pci_intel_cnl\n"
                                      "# load vfio-pci driver instead\n"
                                      "options vfio-pci ids=8086:5912,8086:a2f0 disable_vga=1\n";

static void
add_guest_blocks (const char *root)
{
  g_autofree char *dir = g_build_filename (root, "etc/modprobe.d", NULL);
  g_autofree char *proc = g_build_filename (root, "proc", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (proc, 0755), ==, 0);
  tree_write (root, "etc/modprobe.d/vfio.conf", guide_vfio_conf);
  tree_write (root, "etc/modprobe.d/pcspkr.conf", "blacklist pcspkr\n");
  /* Another device's id that merely starts like ours. */
  tree_write (root, "etc/modprobe.d/other-gpu.conf", "options vfio-pci ids=8086:59120\n");
  /* modprobe reads only *.conf */
  tree_write (root, "etc/modprobe.d/old.conf.disabled", "blacklist i915\n");
  tree_write (root, "proc/cmdline",
              "BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 root=UUID=0b1c ro quiet nomodeset\n");
}

/* The advice whose command contains @needle; fails the test without one. */
static const PdAdvice *
find_advice (const PdComponent *c, const char *needle)
{
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = c->advice->pdata[i];
      if (a->command && strstr (a->command, needle))
        return a;
    }
  g_error ("no advice command contains “%s”", needle);
}

static void
test_driver_blocked_in_guest (void)
{
  g_autofree char *root = copy_fixture ("no-driver");
  add_guest_blocks (root);
  use_sysroot (root);
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_assert_nonnull (d);
  g_assert_cmpuint (d->driver_blocks->len, ==, 3);
  g_assert_cmpstr (d->driver_blocks->pdata[0], ==, "/etc/modprobe.d/vfio.conf:2: blacklist i915");
  g_assert_cmpstr (d->driver_blocks->pdata[1], ==,
                   "/etc/modprobe.d/vfio.conf:6: options vfio-pci ids=8086:5912,8086:a2f0 "
                   "disable_vga=1");
  g_assert_cmpstr (d->driver_blocks->pdata[2], ==, "/proc/cmdline: nomodeset");

  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (pd_component_get_detail (gpu, "driver-blocked-by"), "vfio.conf:2");
  const PdAdvice *fix = find_advice (gpu, "sed -i.passdesk-bak");
  g_assert_cmpstr (fix->command, ==,
                   "sudo sed -i.passdesk-bak -e '2s/^/# /' -e '6s/^/# /' "
                   "/etc/modprobe.d/vfio.conf\n"
                   "sudo update-initramfs -u");
  g_assert_false (has_advice (gpu, "pcspkr"));
  g_assert_false (has_advice (gpu, "old.conf"));
  g_assert_true (has_advice (gpu, "`nomodeset`"));
  g_assert_true (has_advice (gpu, "sudo update-grub"));
  g_assert_true (has_advice (gpu, "sudo modprobe i915"));

  /* The command does what it says: run its sed line on the copy. */
  g_autofree char *conf = g_build_filename (root, "etc/modprobe.d/vfio.conf", NULL);
  g_autofree char *sed_line = g_strndup (fix->command, strcspn (fix->command, "\n"));
  g_autofree char *quoted = g_shell_quote (conf);
  g_autofree char *cmd = g_strconcat (sed_line + strlen ("sudo "), NULL);
  char *at = strstr (cmd, "/etc/modprobe.d/vfio.conf");
  g_assert_nonnull (at);
  *at = '\0';
  g_autofree char *run = g_strconcat (cmd, quoted, NULL);
  int status;
  g_autoptr (GError) error = NULL;
  const char *argv[] = { "/bin/sh", "-c", run, NULL };
  g_assert_true (
      g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (conf, &after, NULL, NULL));
  assert_contains (after, "\n# blacklist i915\nblacklist snd_hda_intel\n");
  assert_contains (after, "\n# options vfio-pci ids=");
  g_autofree char *backup = g_strconcat (conf, ".passdesk-bak", NULL);
  g_autofree char *kept = NULL;
  g_assert_true (g_file_get_contents (backup, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, guide_vfio_conf);

  /* After the fix, nothing in modprobe.d blocks it any more. */
  g_autoptr (PdGpuScan) again = pd_gpu_scan ();
  d = pd_gpu_scan_primary (again);
  g_assert_cmpuint (d->driver_blocks->len, ==, 1);
  g_assert_cmpstr (d->driver_blocks->pdata[0], ==, "/proc/cmdline: nomodeset");
  remove_tree (root);
}

static void
test_vfio_conf_in_guest (void)
{
  g_autofree char *root = copy_fixture ("vfio-bound");
  add_guest_blocks (root);
  tree_write (root, "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro quiet\n");
  use_sysroot (root);
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (gpu->summary, "vfio-pci");
  find_advice (gpu, "-e '2s/^/# /' -e '6s/^/# /' /etc/modprobe.d/vfio.conf");
  g_assert_true (has_advice (gpu, "belong on the Proxmox host"));
  g_assert_false (has_advice (gpu, "update-grub"));
  remove_tree (root);
  g_free (root);

  /* With i915 bound, the guest's settings are not read at all. */
  root = copy_fixture ("esprimo");
  add_guest_blocks (root);
  use_sysroot (root);
  g_autoptr (PdGpuScan) fine = pd_gpu_scan ();
  g_assert_cmpuint (pd_gpu_scan_primary (fine)->driver_blocks->len, ==, 0);
  g_autoptr (PdComponent) ok = pd_gpu_component (fine);
  g_assert_cmpint (ok->state, ==, PD_STATE_OK);
  remove_tree (root);
}

/* Random bytes (NULs, control characters, values longer than any bound)
 * in the attributes the scan reads: it must never crash, and every state,
 * summary and detail stays printable UTF-8. */
static void
test_random_garbage (void)
{
  static const char *const attrs[] = {
    "sys/devices/pci0000:00/0000:00:02.0/class",
    "sys/devices/pci0000:00/0000:00:02.0/vendor",
    "sys/devices/pci0000:00/0000:00:02.0/device",
    "sys/devices/pci0000:00/0000:00:02.0/drm/card0/card0-HDMI-A-1/status",
    "sys/devices/pci0000:00/0000:00:02.0/drm/card0/card0-HDMI-A-1/enabled",
    "sys/devices/pci0000:00/0000:00:02.0/drm/card0/card0-HDMI-A-1/modes",
    "sys/devices/pci0000:00/0000:00:02.0/drm/card0/card0-DP-1/status",
    "sys/devices/pci0000:00/0000:00:1f.3/class",
  };
  g_autofree char *root = copy_fixture ("esprimo");
  use_sysroot (root);
  for (guint round = 0; round < 120; round++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (attrs); i++)
        {
          if (g_test_rand_int_range (0, 3) != 0)
            continue;
          gsize len = (gsize) g_test_rand_int_range (0, g_test_rand_bit () ? 24 : 6000);
          g_autofree guint8 *bytes = g_malloc (len + 1);
          for (gsize k = 0; k < len; k++)
            bytes[k] = (guint8) g_test_rand_int_range (0, 256);
          g_autofree char *path = g_build_filename (root, attrs[i], NULL);
          g_autoptr (GError) error = NULL;
          g_file_set_contents (path, (const char *) bytes, (gssize) len, &error);
          g_assert_no_error (error);
        }
      g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
      g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
      g_autoptr (PdComponent) display = pd_display_component (scan);
      const PdComponent *both[] = { gpu, display };
      for (guint c = 0; c < G_N_ELEMENTS (both); c++)
        {
          g_assert_true (g_utf8_validate (both[c]->summary, -1, NULL));
          for (guint k = 0; k < both[c]->details->len; k++)
            {
              const PdDetail *det = both[c]->details->pdata[k];
              g_assert_true (g_utf8_validate (det->value, -1, NULL));
              for (const char *p = det->value; *p; p++)
                g_assert_true (g_ascii_isprint (*p));
            }
          g_autoptr (JsonNode) json = pd_component_to_json (both[c]);
          g_assert_nonnull (json);
        }
    }
  remove_tree (root);
}

static void
test_empty_root (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("passdesk-gpu-XXXXXX", &error);
  g_assert_no_error (error);
  use_sysroot (root);
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_assert_cmpuint (scan->devices->len, ==, 0);
  g_autoptr (PdComponent) gpu = pd_gpu_component (scan);
  g_assert_cmpint (gpu->state, ==, PD_STATE_FAILED);
  assert_contains (pd_component_get_detail (gpu, "problems"), "/sys/bus/pci/devices");
  remove_tree (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gpu-scan/names", test_names);
  g_test_add_func ("/gpu-scan/esprimo", test_esprimo);
  g_test_add_func ("/gpu-scan/n100", test_n100);
  g_test_add_func ("/gpu-scan/no-gpu", test_no_gpu);
  g_test_add_func ("/gpu-scan/vfio-bound", test_vfio_bound);
  g_test_add_func ("/gpu-scan/no-driver", test_no_driver);
  g_test_add_func ("/gpu-scan/no-render-node", test_no_render_node);
  g_test_add_func ("/gpu-scan/all-disconnected", test_all_disconnected);
  g_test_add_func ("/gpu-scan/unidentified", test_unidentified);
  g_test_add_func ("/gpu-scan/malformed", test_malformed);
  g_test_add_func ("/gpu-scan/render-not-accessible", test_render_not_accessible);
  g_test_add_func ("/gpu-scan/no-render-in-sysfs", test_no_render_in_sysfs);
  g_test_add_func ("/gpu-scan/driver-without-card", test_driver_without_card);
  g_test_add_func ("/gpu-scan/xe-and-unknown-intel-id", test_xe_and_unknown_intel_id);
  g_test_add_func ("/gpu-scan/other-driver", test_other_driver);
  g_test_add_func ("/gpu-scan/connected-but-off", test_connected_but_off);
  g_test_add_func ("/gpu-scan/no-connectors", test_no_connectors);
  g_test_add_func ("/gpu-scan/driver-blocked-in-guest", test_driver_blocked_in_guest);
  g_test_add_func ("/gpu-scan/vfio-conf-in-guest", test_vfio_conf_in_guest);
  g_test_add_func ("/gpu-scan/random-garbage", test_random_garbage);
  g_test_add_func ("/gpu-scan/empty-root", test_empty_root);
  return g_test_run ();
}
