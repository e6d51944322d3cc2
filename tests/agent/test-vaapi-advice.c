/* test-vaapi-advice.c - the `vaapi` component on fixture trees: state from
 * the probe's report, advice from dpkg status, apt sources (deb822 and
 * one-line, with and without non-free), firmware files and /etc/environment. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sysroot.h"
#include "vaapi-check.h"

static const PdGpuDevice kaby_lake = {
  .pci_slot = (char *) "0000:00:02.0",
  .vendor = 0x8086,
  .device = 0x5912,
  .name = (char *) "Intel HD Graphics 630 (Kaby Lake GT2)",
  .generation = PD_GPU_GEN_KABY_LAKE,
  .driver = (char *) "i915",
  .card_node = (char *) "/dev/dri/card0",
  .render_node = (char *) "/dev/dri/renderD128",
  .ids_known = TRUE,
};

static const PdGpuDevice n100 = {
  .pci_slot = (char *) "0000:00:02.0",
  .vendor = 0x8086,
  .device = 0x46d1,
  .name = (char *) "Intel UHD Graphics (Alder Lake-N)",
  .generation = PD_GPU_GEN_ALDER_LAKE_N,
  .driver = (char *) "i915",
  .card_node = (char *) "/dev/dri/card1",
  .render_node = (char *) "/dev/dri/renderD128",
  .ids_known = TRUE,
};

/* What the real probe prints for each situation (fields it always has). */
#define REPORT_HEAD                                                                                \
  "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"device\":\"/dev/dri/"                            \
  "renderD128\",\"user\":\"nobody\","

static const char full_ihd[]
    = REPORT_HEAD "\"status\":\"ok\",\"error\":null,\"va_api_version\":\"1.22\","
                  "\"vendor\":\"Intel iHD driver for Intel(R) Gen Graphics - 25.2.3 ()\","
                  "\"driver\":\"iHD\",\"decode\":[\"H.264\",\"HEVC\",\"HEVC 10-bit\",\"VP8\","
                  "\"VP9\",\"MPEG-2\",\"VC-1\",\"JPEG\"],\"encode\":[\"H.264\",\"HEVC\","
                  "\"JPEG\"],\"video_processing\":true,\"functional_test\":{\"name\":"
                  "\"vpp-scale-nv12\",\"ran\":true,\"passed\":true,\"duration_ms\":3.2,"
                  "\"message\":\"ok\"},\"duration_ms\":48.0}";

/* The free intel-media build on Kaby Lake: decode only, no VPP; the probe
 * falls back to decoding its test JPEG. */
static const char free_ihd_kbl[]
    = REPORT_HEAD "\"status\":\"ok\",\"va_api_version\":\"1.22\",\"driver\":\"iHD\","
                  "\"vendor\":\"Intel iHD driver for Intel(R) Gen Graphics - 25.2.3 ()\","
                  "\"decode\":[\"H.264\",\"HEVC\",\"VP8\",\"VP9\",\"MPEG-2\",\"VC-1\",\"JPEG\"],"
                  "\"encode\":[],\"video_processing\":false,\"functional_test\":{\"name\":"
                  "\"jpeg-decode\",\"ran\":true,\"passed\":true,\"duration_ms\":1.8,"
                  "\"message\":\"decoded\"},\"duration_ms\":30.0}";

/* A driver with neither VideoProc nor JPEG decoding: no test job possible. */
static const char no_test_possible[]
    = REPORT_HEAD "\"status\":\"ok\",\"driver\":\"i965\",\"decode\":[\"H.264\",\"MPEG-2\"],"
                  "\"encode\":[\"H.264\"],\"video_processing\":false,\"functional_test\":{"
                  "\"name\":null,\"ran\":false,\"passed\":false,\"duration_ms\":0,"
                  "\"message\":\"no test\"}}";

/* i965 tried on Alder Lake-N: no such device for it. */
static const char i965_on_n100[]
    = REPORT_HEAD "\"status\":\"init-failed\",\"error\":\"vaInitialize failed: unknown libva "
                  "error (driver i965); libva said “error: va_openDriver() returns -1”\","
                  "\"driver\":\"i965\",\"driver_path\":\"/usr/lib/x86_64-linux-gnu/dri/"
                  "i965_drv_video.so\",\"decode\":[],\"encode\":[]}";

static const char wrong_pixels[]
    = REPORT_HEAD "\"status\":\"functional-failed\",\"error\":\"the GPU returned wrong pixels\","
                  "\"driver\":\"iHD\",\"decode\":[\"H.264\"],\"encode\":[\"H.264\"],"
                  "\"video_processing\":true,\"functional_test\":{\"name\":\"vpp-scale-nv12\","
                  "\"ran\":true,\"passed\":false,\"duration_ms\":4.0,\"message\":\"the GPU "
                  "returned wrong pixels: 384 of 400 checked samples differ; luma at (0,0) is "
                  "16, expected 50\"}}";

static const char open_denied[]
    = REPORT_HEAD "\"status\":\"open-failed\",\"error\":\"cannot open /dev/dri/renderD128 as "
                  "user nobody: Permission denied\"}";

static void
use_fixture (const char *machine)
{
  const char *dir = g_getenv ("PASSDESK_TEST_FIXTURES");
  g_assert_nonnull (dir);
  g_autofree char *root = g_build_filename (dir, machine, NULL);
  g_assert_true (g_file_test (root, G_FILE_TEST_IS_DIR));
  g_setenv ("PASSDESK_SYSROOT", root, TRUE);
  pd_sysroot_reset ();
}

static PdVaprobeResult *
result_from (const char *json)
{
  PdVaprobeResult *r = g_new0 (PdVaprobeResult, 1);
  g_autoptr (GError) error = NULL;
  r->kind = PD_VAPROBE_RESULT_REPORT;
  r->timeout_ms = 5000;
  r->elapsed_ms = 60;
  r->report = pd_vaprobe_report_parse (json, strlen (json), &error);
  g_assert_no_error (error);
  return r;
}

static PdComponent *
check (const char *machine, const PdGpuDevice *dev, const char *json)
{
  use_fixture (machine);
  g_autoptr (PdVaprobeResult) r = json ? result_from (json) : NULL;
  return pd_vaapi_component (dev, r);
}

static const PdAdvice *
find_advice_cmd (const PdComponent *c, const char *command)
{
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = c->advice->pdata[i];
      if (g_strcmp0 (a->command, command) == 0)
        return a;
    }
  return NULL;
}

static const PdAdvice *
find_advice_text (const PdComponent *c, const char *needle)
{
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = c->advice->pdata[i];
      if (strstr (a->text, needle) != NULL)
        return a;
    }
  return NULL;
}

static const PdAdvice *
must_cmd (const PdComponent *c, const char *command)
{
  const PdAdvice *a = find_advice_cmd (c, command);
  if (a == NULL)
    g_error ("no advice with the command “%s”", command);
  return a;
}

static const PdAdvice *
must_text (const PdComponent *c, const char *needle)
{
  const PdAdvice *a = find_advice_text (c, needle);
  if (a == NULL)
    g_error ("no advice saying “%s”", needle);
  return a;
}

static void
dump (const PdComponent *c)
{
  g_test_message ("state %s: %s", pd_state_to_string (c->state), c->summary);
  for (guint i = 0; i < c->advice->len; i++)
    {
      const PdAdvice *a = c->advice->pdata[i];
      g_test_message ("  -> %s\n     %s", a->text, a->command ? a->command : "");
    }
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("“%s” does not contain “%s”", haystack ? haystack : "(null)", needle);
}

/* Everything in place: ok, and nothing to advise. */
static void
test_kaby_lake_complete (void)
{
  g_autoptr (PdComponent) c = check ("esprimo-deb822-nonfree", &kaby_lake, full_ihd);
  dump (c);
  g_assert_cmpint (c->state, ==, PD_STATE_OK);
  assert_contains (c->summary, "iHD driver works: the GPU scaled a test frame correctly in 3 ms");
  assert_contains (c->summary, "encodes H.264, HEVC, JPEG");
  g_assert_cmpuint (c->advice->len, ==, 0);
  g_assert_cmpstr (pd_component_get_detail (c, "video-processing"), ==, "yes");
  g_assert_cmpstr (pd_component_get_detail (c, "apt-sources"), ==,
                   "deb822, trixie: main contrib non-free non-free-firmware");
  assert_contains (pd_component_get_detail (c, "packages-installed"),
                   "intel-media-va-driver-non-free 25.2.3+ds1-1");
}

/* Kaby Lake, free build, deb822 sources without non-free, firmware missing,
 * no vainfo (the `esprimo` tree). */
static void
test_kaby_lake_free_build_deb822 (void)
{
  g_autoptr (PdComponent) c = check ("esprimo", &kaby_lake, free_ihd_kbl);
  dump (c);
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  assert_contains (c->summary, "iHD driver works (test frame correct in 2 ms) but cannot encode "
                               "video and has no video processing (scaling, colour conversion); "
                               "decodes H.264, HEVC");

  /* Sources first, with exactly the missing components. */
  const PdAdvice *src = must_cmd (
      c, "sudo sed -i -e 's|^Components: main non-free-firmware$|Components: main "
         "non-free-firmware contrib non-free|' /etc/apt/sources.list.d/debian.sources && sudo "
         "apt update");
  g_assert_nonnull (src);
  /* The tree has non-free-firmware: only the VA driver lacks a candidate. */
  assert_contains (src->text, "intel-media-va-driver-non-free has no installation candidate "
                              "until apt has the non-free component.");
  g_assert_null (strstr (src->text, "firmware-misc-nonfree"));
  assert_contains (src->text, "/etc/apt/sources.list.d/debian.sources");
  g_assert_true (src == c->advice->pdata[0]);

  const PdAdvice *nf = must_cmd (c, "sudo apt install intel-media-va-driver-non-free");
  g_assert_nonnull (nf);
  assert_contains (nf->text, "The free build intel-media-va-driver is installed, but on Kaby "
                             "Lake (HD Graphics 630) it lacks H.264 and HEVC encoding and video "
                             "processing");

  /* Its component is there: stale package lists are what is left. */
  const PdAdvice *fw = must_cmd (c, "sudo apt update && sudo apt install firmware-misc-nonfree");
  g_assert_nonnull (fw);
  assert_contains (fw->text, "GuC (kbl_guc_*.bin), HuC (kbl_huc_*.bin), DMC (kbl_dmc_*.bin)");
  assert_contains (fw->text, "The apt sources already have non-free-firmware");
  /* New firmware needs a GPU the host reset: a cold restart, named for the
   * terminal and for the menu, not a reboot. */
  assert_contains (fw->text, "then cold-restart the VM (`passdesk cold-restart`, or “Cold "
                             "restart VM…” in the passdesk menu)");
  assert_contains (fw->text, "a reboot inside the VM does not reset a passed-through GPU");
  g_assert_null (strstr (fw->text, "reboot the VM"));

  g_assert_nonnull (find_advice_cmd (c, "sudo apt install vainfo"));
}

/* The same driver situation on a one-line sources.list with only main. */
static void
test_kaby_lake_free_build_oneline (void)
{
  g_autoptr (PdComponent) c = check ("esprimo-oneline-main", &kaby_lake, free_ihd_kbl);
  dump (c);
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  const PdAdvice *src = must_text (c, "Enable the Debian components contrib non-free "
                                      "non-free-firmware");
  g_assert_nonnull (src);
  assert_contains (src->text, "adds them to the 3 Debian lines of /etc/apt/sources.list");
  assert_contains (src->command, "|deb http://deb.debian.org/debian/ bookworm main contrib "
                                 "non-free non-free-firmware|");
  g_assert_true (g_str_has_prefix (src->command, "sudo sed -i -e 's|^deb http://deb\\.debian\\."
                                                 "org/debian/ bookworm main$|"));
  g_assert_true (g_str_has_suffix (src->command, " /etc/apt/sources.list && sudo apt update"));
  g_assert_null (find_advice_text (c, "debian.sources"));
  g_assert_nonnull (find_advice_cmd (c, "sudo apt install intel-media-va-driver-non-free"));
  /* Firmware files are there, the package that updates them is not; its
   * component is missing too, so the sources advice comes first. */
  const PdAdvice *fw = must_cmd (c, "sudo apt install firmware-misc-nonfree");
  g_assert_nonnull (fw);
  assert_contains (fw->text, "Once apt has non-free-firmware, install firmware-misc-nonfree");
  assert_contains (src->text, "intel-media-va-driver-non-free and firmware-misc-nonfree have no "
                              "installation candidate until apt has the non-free and "
                              "non-free-firmware components.");
  assert_contains (fw->text, "firmware-misc-nonfree, which carries the i915 GuC/HuC firmware, "
                             "is not installed");
  /* vainfo is installed there. */
  g_assert_null (find_advice_cmd (c, "sudo apt install vainfo"));
}

/* One-line sources that already have non-free: no sources advice, just the package. */
static void
test_kaby_lake_oneline_nonfree_present (void)
{
  g_autoptr (PdComponent) c = check ("esprimo-oneline-nonfree", &kaby_lake, free_ihd_kbl);
  dump (c);
  g_assert_null (find_advice_text (c, "Enable the Debian components"));
  g_assert_null (find_advice_text (c, "no installation candidate"));
  g_assert_nonnull (find_advice_cmd (c, "sudo apt install intel-media-va-driver-non-free"));
  g_assert_null (find_advice_cmd (c, "sudo apt install firmware-misc-nonfree"));
  g_assert_cmpstr (pd_component_get_detail (c, "apt-sources"), ==,
                   "one-line, bookworm: main contrib non-free non-free-firmware");
}

/* N100 with only i965 installed: VA-API fails, install iHD. */
static void
test_n100_i965_only (void)
{
  g_autoptr (PdComponent) c = check ("n100", &n100, i965_on_n100);
  dump (c);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  assert_contains (c->summary, "VA-API could not start: vaInitialize failed");
  const PdAdvice *a = must_cmd (c, "sudo apt install intel-media-va-driver");
  g_assert_nonnull (a);
  assert_contains (a->text, "Alder Lake-N (N100) video acceleration needs the iHD driver");
  /* One piece of advice for one fix. */
  g_assert_null (find_advice_text (c, "The i965 driver was chosen"));
  /* Nothing about Kaby Lake's non-free build, firmware or sources here. */
  g_assert_null (find_advice_text (c, "non-free"));
  g_assert_null (find_advice_cmd (c, "sudo apt install firmware-misc-nonfree"));
}

/* N100 with iHD installed but i965 forced in /etc/environment. */
static void
test_n100_i965_forced (void)
{
  g_autoptr (PdComponent) c = check ("n100-i965-forced", &n100, i965_on_n100);
  dump (c);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  g_assert_null (find_advice_cmd (c, "sudo apt install intel-media-va-driver"));
  const PdAdvice *a = must_text (c, "/etc/environment forces a VA-API driver");
  g_assert_nonnull (a);
  assert_contains (a->command, "LIBVA_DRIVER_NAME=iHD");
  assert_contains (a->command, "/etc/environment");
  g_assert_cmpstr (pd_component_get_detail (c, "libva-driver-name"), ==, "i965");
}

/* N100 on a machine where i965 was picked without being forced. */
/* i965 picked although the Intel media driver is installed (nothing forced
 * in /etc/environment): make iHD the driver. The esprimo-deb822-nonfree
 * tree has intel-media-va-driver-non-free installed. */
static void
test_n100_i965_in_use_with_ihd_installed (void)
{
  g_autoptr (PdComponent) c = check ("esprimo-deb822-nonfree", &n100, i965_on_n100);
  dump (c);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  const PdAdvice *a = must_text (c, "The i965 driver was chosen although iHD is installed");
  g_assert_cmpstr (a->command, ==, "echo LIBVA_DRIVER_NAME=iHD | sudo tee -a /etc/environment");
  g_assert_null (find_advice_cmd (c, "sudo apt install intel-media-va-driver"));
}

static void
test_firmware_missing_n100 (void)
{
  /* The esprimo tree's firmware directory has no ADL-N files either. */
  g_autoptr (PdComponent) c = check ("esprimo", &n100, full_ihd);
  dump (c);
  const PdAdvice *fw = must_cmd (c, "sudo apt update && sudo apt install firmware-misc-nonfree");
  g_assert_nonnull (fw);
  assert_contains (fw->text, "GuC (adlp_guc_*.bin), HuC (tgl_huc_*.bin), DMC (adlp_dmc_*.bin)");
  /* The firmware needs only non-free-firmware, which that tree has. */
  g_assert_null (find_advice_text (c, "Enable the Debian components"));
  g_assert_null (find_advice_text (c, "no installation candidate"));
}

static void
test_no_test_possible (void)
{
  g_autoptr (PdComponent) c = check ("esprimo-deb822-nonfree", &kaby_lake, no_test_possible);
  dump (c);
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  assert_contains (c->summary, "VA-API starts (i965 driver) but has no video processing "
                               "(scaling, colour conversion); without video processing or JPEG "
                               "decoding the GPU could not be given a test job");
  g_assert_cmpstr (pd_component_get_detail (c, "functional-test"), ==, "not run");
}

/* Another Intel GPU on a machine without any VA driver package. */
static void
test_other_intel_no_driver (void)
{
  g_autofree char *root = g_dir_make_tmp ("vaapi-advice-XXXXXX", NULL);
  g_autofree char *dpkg_dir = g_build_filename (root, "var", "lib", "dpkg", NULL);
  g_autofree char *status = g_build_filename (dpkg_dir, "status", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dpkg_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (status,
                                      "Package: libva2\nStatus: install ok installed\n"
                                      "Version: 2.17.0-1\n\n"
                                      "Package: i965-va-driver\nStatus: deinstall ok "
                                      "config-files\nVersion: 2.4.1+dfsg1-1\n",
                                      -1, NULL));
  g_setenv ("PASSDESK_SYSROOT", root, TRUE);
  pd_sysroot_reset ();
  PdGpuDevice other = kaby_lake;
  other.device = 0x9a49;
  other.name = (char *) "Intel GPU 8086:9a49";
  other.generation = PD_GPU_GEN_OTHER_INTEL;
  g_autoptr (PdVaprobeResult) r = result_from (i965_on_n100);
  g_autoptr (PdComponent) c = pd_vaapi_component (&other, r);
  dump (c);
  const PdAdvice *a = must_cmd (c, "sudo apt install intel-media-va-driver");
  assert_contains (a->text, "No Intel VA-API driver is installed");
  /* No Kaby Lake or Alder Lake-N specific advice for it. */
  g_assert_null (find_advice_text (c, "non-free"));
  g_assert_null (find_advice_text (c, "Alder Lake-N"));
  g_unlink (status);
  g_rmdir (dpkg_dir);
  g_autofree char *var_lib = g_path_get_dirname (dpkg_dir);
  g_autofree char *var = g_path_get_dirname (var_lib);
  g_rmdir (var_lib);
  g_rmdir (var);
  g_rmdir (root);
}

/* Kaby Lake running i965 without its shaders: both non-free packages. */
static void
test_kaby_lake_i965_without_shaders (void)
{
  g_autoptr (PdComponent) c = check ("esprimo-oneline-main", &kaby_lake, no_test_possible);
  dump (c);
  must_cmd (c, "sudo apt install i965-va-driver-shaders");
  must_cmd (c, "sudo apt install intel-media-va-driver-non-free");
  must_text (c, "have no installation candidate until apt has the non-free");
  /* iHD in use: no shaders advice. */
  g_autoptr (PdComponent) ihd = check ("esprimo-oneline-main", &kaby_lake, free_ihd_kbl);
  g_assert_null (find_advice_cmd (ihd, "sudo apt install i965-va-driver-shaders"));
}

static void
test_functional_failed (void)
{
  g_autoptr (PdComponent) c = check ("esprimo-deb822-nonfree", &kaby_lake, wrong_pixels);
  dump (c);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  assert_contains (c->summary, "VA-API started (iHD driver) but its test failed: the GPU "
                               "returned wrong pixels: 384 of 400");
  g_assert_cmpstr (pd_component_get_detail (c, "functional-test"), ==,
                   "vpp-scale-nv12: FAILED in 4.0 ms");
  g_assert_nonnull (find_advice_cmd (c, "sudo dmesg | passdesk scan-log"));
}

static void
test_open_denied (void)
{
  g_autoptr (PdComponent) c = check ("esprimo-deb822-nonfree", &kaby_lake, open_denied);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  assert_contains (c->summary, "Permission denied");
  g_assert_nonnull (find_advice_text (c, "render group"));
}

static void
test_no_render_node (void)
{
  PdGpuDevice vfio = kaby_lake;
  vfio.driver = (char *) "vfio-pci";
  vfio.render_node = NULL;
  g_autoptr (PdComponent) c = check ("esprimo-deb822-nonfree", &vfio, NULL);
  g_assert_cmpint (c->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpstr (c->summary, ==,
                   "Not checked: Intel HD Graphics 630 (Kaby Lake GT2) has no "
                   "render node (kernel driver: vfio-pci)");
  PdGpuDevice no_file = kaby_lake;
  no_file.render_in_sysfs = TRUE;
  no_file.render_exists = FALSE;
  g_autoptr (PdComponent) nf = check ("esprimo-deb822-nonfree", &no_file, NULL);
  g_assert_cmpint (nf->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpstr (nf->summary, ==,
                   "Not checked: the kernel registered /dev/dri/renderD128 for "
                   "Intel HD Graphics 630 (Kaby Lake GT2), but that device file "
                   "does not exist");
  g_autoptr (PdComponent) none = check ("no-gpu", NULL, NULL);
  g_assert_cmpint (none->state, ==, PD_STATE_UNKNOWN);
  assert_contains (none->summary, "no Intel GPU was found");
  g_assert_cmpuint (none->advice->len, ==, 0);
}

/* Timeouts, crashes and garbage from the runner each have their own sentence. */
static void
test_runner_outcomes (void)
{
  use_fixture ("esprimo-deb822-nonfree");
  PdVaprobeResult r = { .kind = PD_VAPROBE_RESULT_TIMEOUT,
                        .timeout_ms = 5000,
                        .elapsed_ms = 5001,
                        .message = (char *) "the GPU did not answer within 5 s: a GPU hang is "
                                            "likely" };
  g_autoptr (PdComponent) t = pd_vaapi_component (&kaby_lake, &r);
  g_assert_cmpint (t->state, ==, PD_STATE_FAILED);
  g_assert_cmpstr (t->summary, ==, "the GPU did not answer within 5 s: a GPU hang is likely");
  g_assert_nonnull (find_advice_text (t, "cold-restart the VM"));
  /* The terminal reads this too: the command, beside the menu item. */
  g_assert_nonnull (find_advice_text (t, "cold-restart the VM (`passdesk cold-restart`, or "
                                         "“Cold restart VM…” in the passdesk menu)"));
  g_assert_null (find_advice_text (t, "from the passdesk menu"));

  r.kind = PD_VAPROBE_RESULT_NOT_FOUND;
  r.message = (char *) "the VA-API probe passdesk-vaprobe is not installed";
  g_autoptr (PdComponent) nf = pd_vaapi_component (&kaby_lake, &r);
  g_assert_cmpint (nf->state, ==, PD_STATE_UNKNOWN);
  g_assert_nonnull (find_advice_text (nf, "reinstall passdesk"));
}

/* --- `passdesk status --json` end to end on the fixture trees ------------- */

typedef struct
{
  int exit_status;
  PdReport *report;
  gint64 elapsed_ms;
} StatusRun;

/* Runs the built CLI on @machine. @probe_json: a report the fake probe
 * prints (NULL: the real passdesk-vaprobe runs); @mode overrides the fake's
 * mode ("hang"). */
static StatusRun
run_status_args (const char *machine, const char *probe_json, const char *mode,
                 const char *timeout_s, char **probe_args)
{
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  const char *fixtures = g_getenv ("PASSDESK_TEST_FIXTURES");
  g_assert_nonnull (builddir);
  g_autofree char *exe = g_build_filename (builddir, "agent", "cli", "passdesk", NULL);
  g_autofree char *fake = g_build_filename (builddir, "tests", "fakes", "fake-vaprobe", NULL);
  g_autofree char *root = g_build_filename (fixtures, machine, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("vaapi-status-XXXXXX", NULL);
  g_autofree char *json_path = g_build_filename (tmp, "report.json", NULL);
  g_autofree char *args_path = g_build_filename (tmp, "args", NULL);

  g_autoptr (GSubprocessLauncher) l
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* The real probe drops to "nobody" before it opens the render node, so it
   * needs a tree nobody may enter; a checkout can live under a 0700 directory
   * (mktemp -d). Give it a copy in a directory of our own, opened up. */
  g_autofree char *copy = NULL;
  if (probe_json == NULL && mode == NULL)
    {
      copy = g_build_filename (tmp, "root", NULL);
      g_assert_cmpint (g_chmod (tmp, 0755), ==, 0);
      const char *cp[] = { "cp", "-a", root, copy, NULL };
      int wait_status = 0;
      g_assert_true (g_spawn_sync (NULL, (char **) cp, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                                   NULL, &wait_status, NULL));
      g_assert_true (g_spawn_check_wait_status (wait_status, NULL));
    }
  g_subprocess_launcher_setenv (l, "PASSDESK_SYSROOT", copy ? copy : root, TRUE);
  /* No agent answers there: the CLI checks in-process. */
  g_subprocess_launcher_setenv (l, "DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent", TRUE);
  g_subprocess_launcher_setenv (l, "LC_ALL", "C.UTF-8", TRUE);
  if (probe_json != NULL || mode != NULL)
    {
      g_subprocess_launcher_setenv (l, "PASSDESK_VAPROBE", fake, TRUE);
      g_subprocess_launcher_setenv (l, "FAKE_VAPROBE_MODE", mode ? mode : "json", TRUE);
      g_subprocess_launcher_setenv (l, "FAKE_VAPROBE_ARGS", args_path, TRUE);
      g_subprocess_launcher_unsetenv (l, "LIBVA_DRIVER_NAME");
      if (probe_json)
        {
          g_assert_true (g_file_set_contents (json_path, probe_json, -1, NULL));
          g_subprocess_launcher_setenv (l, "FAKE_VAPROBE_JSON", json_path, TRUE);
        }
    }
  else
    g_subprocess_launcher_unsetenv (l, "PASSDESK_VAPROBE");

  const char *argv[] = { exe, "status", "--json", timeout_s ? "--timeout" : NULL, timeout_s, NULL };
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  StatusRun r = { 0 };
  r.elapsed_ms = (g_get_monotonic_time () - t0) / 1000;
  if (probe_args)
    g_file_get_contents (args_path, probe_args, NULL, NULL);
  g_unlink (json_path);
  g_unlink (args_path);
  if (copy)
    {
      const char *rm[] = { "rm", "-rf", copy, NULL };
      g_assert_true (g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                                   NULL, NULL, NULL));
    }
  g_rmdir (tmp);
  g_assert_true (g_subprocess_get_if_exited (p));
  r.exit_status = g_subprocess_get_exit_status (p);
  r.report = pd_report_from_json_string (out, &error);
  if (r.report == NULL)
    g_error ("passdesk status printed no report (%s):\n%s\n%s", error->message, out, err);
  return r;
}

static StatusRun
run_status (const char *machine, const char *probe_json, const char *mode, const char *timeout_s)
{
  return run_status_args (machine, probe_json, mode, timeout_s, NULL);
}

static const PdComponent *
vaapi_of (const StatusRun *r)
{
  const PdComponent *c = pd_report_get (r->report, PD_COMPONENT_VAAPI);
  g_assert_nonnull (c);
  dump (c);
  return c;
}

static void
test_status_oneline_main (void)
{
  StatusRun r = run_status ("esprimo-oneline-main", free_ihd_kbl, NULL, NULL);
  const PdComponent *c = vaapi_of (&r);
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  g_assert_cmpint (r.exit_status, ==, 1);
  const PdAdvice *src = must_text (c, "adds them to the 3 Debian lines of /etc/apt/sources.list");
  g_assert_true (g_str_has_suffix (src->command, " /etc/apt/sources.list && sudo apt update"));
  must_cmd (c, "sudo apt install intel-media-va-driver-non-free");
  pd_report_free (r.report);
}

static void
test_status_deb822_complete_all_ok (void)
{
  StatusRun r = run_status ("esprimo-deb822-nonfree", full_ihd, NULL, NULL);
  const PdComponent *c = vaapi_of (&r);
  g_assert_cmpint (c->state, ==, PD_STATE_OK);
  g_assert_cmpuint (c->advice->len, ==, 0);
  /* gpu, display and audio come from the esprimo tree: all ok, exit 0; the
   * host link needs the running agent, so the overall state is unknown. */
  static const PdComponentId read_in_process[]
      = { PD_COMPONENT_GPU, PD_COMPONENT_DISPLAY, PD_COMPONENT_VAAPI, PD_COMPONENT_AUDIO,
          PD_COMPONENT_USB };
  for (guint i = 0; i < G_N_ELEMENTS (read_in_process); i++)
    {
      const PdComponent *comp = pd_report_get (r.report, read_in_process[i]);
      g_assert_nonnull (comp);
      g_assert_cmpint (comp->state, ==, PD_STATE_OK);
    }
  g_assert_cmpint (pd_report_overall (r.report), ==, PD_STATE_UNKNOWN);
  g_assert_cmpint (r.exit_status, ==, 0);
  pd_report_free (r.report);
}

/* The real probe on a fixture: the render node is a plain file, so "not
 * checked" with the reason, and still the advice from packages and sources. */
static void
test_status_real_probe_on_fixture (void)
{
  StatusRun r = run_status ("esprimo", NULL, NULL, NULL);
  const PdComponent *c = vaapi_of (&r);
  g_assert_cmpint (c->state, ==, PD_STATE_UNKNOWN);
  assert_contains (c->summary, "Not checked: /dev/dri/renderD128 is not a device node");
  must_cmd (c, "sudo sed -i -e 's|^Components: main non-free-firmware$|Components: main "
               "non-free-firmware contrib non-free|' /etc/apt/sources.list.d/debian.sources && "
               "sudo apt update");
  must_cmd (c, "sudo apt update && sudo apt install firmware-misc-nonfree");
  pd_report_free (r.report);
}

static void
test_status_n100_i965 (void)
{
  StatusRun r = run_status ("n100", i965_on_n100, NULL, NULL);
  const PdComponent *c = vaapi_of (&r);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  must_cmd (c, "sudo apt install intel-media-va-driver");
  g_assert_cmpint (r.exit_status, ==, 1);
  pd_report_free (r.report);
}

/* The probe tries the driver the desktop session is told to use. */
static void
test_status_forced_driver_reaches_probe (void)
{
  g_autofree char *args = NULL;
  StatusRun r = run_status_args ("n100-i965-forced", i965_on_n100, NULL, NULL, &args);
  const PdComponent *c = vaapi_of (&r);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  assert_contains (args, "\n--device\n/dev/dri/renderD128\n--json\nLIBVA_DRIVER_NAME=i965\n");
  must_text (c, "/etc/environment forces a VA-API driver");
  pd_report_free (r.report);

  /* Nothing forced: nothing passed. */
  g_autofree char *args2 = NULL;
  StatusRun r2 = run_status_args ("n100", i965_on_n100, NULL, NULL, &args2);
  g_assert_null (strstr (args2, "LIBVA_DRIVER_NAME"));
  pd_report_free (r2.report);
}

static void
test_status_hang (void)
{
  StatusRun r = run_status ("esprimo-deb822-nonfree", NULL, "hang", "1");
  const PdComponent *c = vaapi_of (&r);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  g_assert_cmpstr (c->summary, ==, "the GPU did not answer within 1 s: a GPU hang is likely");
  g_assert_cmpint (r.elapsed_ms, <, 10000);
  g_assert_cmpint (r.exit_status, ==, 1);
  pd_report_free (r.report);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vaapi-advice/kaby-lake-complete", test_kaby_lake_complete);
  g_test_add_func ("/vaapi-advice/kaby-lake-free-build-deb822", test_kaby_lake_free_build_deb822);
  g_test_add_func ("/vaapi-advice/kaby-lake-free-build-one-line",
                   test_kaby_lake_free_build_oneline);
  g_test_add_func ("/vaapi-advice/kaby-lake-one-line-non-free-present",
                   test_kaby_lake_oneline_nonfree_present);
  g_test_add_func ("/vaapi-advice/n100-i965-only", test_n100_i965_only);
  g_test_add_func ("/vaapi-advice/n100-i965-forced", test_n100_i965_forced);
  g_test_add_func ("/vaapi-advice/n100-i965-in-use", test_n100_i965_in_use_with_ihd_installed);
  g_test_add_func ("/vaapi-advice/firmware-missing-n100", test_firmware_missing_n100);
  g_test_add_func ("/vaapi-advice/functional-failed", test_functional_failed);
  g_test_add_func ("/vaapi-advice/no-test-possible", test_no_test_possible);
  g_test_add_func ("/vaapi-advice/kaby-lake-i965-without-shaders",
                   test_kaby_lake_i965_without_shaders);
  g_test_add_func ("/vaapi-advice/other-intel-no-driver", test_other_intel_no_driver);
  g_test_add_func ("/vaapi-advice/open-denied", test_open_denied);
  g_test_add_func ("/vaapi-advice/no-render-node", test_no_render_node);
  g_test_add_func ("/vaapi-advice/runner-outcomes", test_runner_outcomes);
  g_test_add_func ("/vaapi-status/one-line-main", test_status_oneline_main);
  g_test_add_func ("/vaapi-status/deb822-complete-all-ok", test_status_deb822_complete_all_ok);
  g_test_add_func ("/vaapi-status/real-probe-on-fixture", test_status_real_probe_on_fixture);
  g_test_add_func ("/vaapi-status/n100-i965", test_status_n100_i965);
  g_test_add_func ("/vaapi-status/hang", test_status_hang);
  g_test_add_func ("/vaapi-status/forced-driver-reaches-probe",
                   test_status_forced_driver_reaches_probe);
  return g_test_run ();
}
