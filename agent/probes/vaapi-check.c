/* vaapi-check.c - the `vaapi` component: probe result + packages + apt
 * sources + firmware -> state, summary, details and advice. */
#include "vaapi-check.h"
#include "pd-i18n.h"

#include <string.h>

#include "apt-sources.h"
#include "detail-keys.h"
#include "dpkg-status.h"
#include "sysroot.h"

/* --- what the machine has installed and configured ------------------------- */

typedef struct
{
  const PdGpuDevice *dev;
  const PdVaprobeResult *result;
  const PdVaprobeReport *report; /* result's report, or NULL */
  PdDpkgStatus *dpkg;            /* NULL when unreadable */
  PdAptSources *apt;
  char *forced_driver; /* LIBVA_DRIVER_NAME from /etc/environment */
} Facts;

static void
facts_clear (Facts *f)
{
  pd_dpkg_status_free (f->dpkg);
  pd_apt_sources_free (f->apt);
  g_free (f->forced_driver);
}

static gboolean
installed (const Facts *f, const char *pkg)
{
  return pd_dpkg_status_is_installed (f->dpkg, pkg);
}

/* LIBVA_DRIVER_NAME=... in /etc/environment (where users force a driver). */
static char *
read_forced_driver (void)
{
  g_autofree char *text = pd_sysroot_read_attr ("/etc/environment", 64 * 1024, NULL);
  if (text == NULL)
    return NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  char *found = NULL;
  for (guint i = 0; lines[i]; i++)
    {
      char *l = g_strstrip (lines[i]);
      if (g_str_has_prefix (l, "export "))
        l = g_strchug (l + 7);
      if (!g_str_has_prefix (l, "LIBVA_DRIVER_NAME="))
        continue;
      char *v = l + strlen ("LIBVA_DRIVER_NAME=");
      gsize n = strlen (v);
      if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
        {
          v[n - 1] = '\0';
          v++;
        }
      g_free (found);
      found = g_strdup (v); /* the last assignment wins */
    }
  if (found != NULL && (found[0] == '\0' || strlen (found) > 64))
    g_clear_pointer (&found, g_free);
  return found;
}

/* --- firmware ----------------------------------------------------------------- */

typedef struct
{
  const char *what;   /* "GuC" */
  const char *prefix; /* "kbl_guc" */
} FirmwareNeed;

static const FirmwareNeed kbl_firmware[] = {
  { "GuC", "kbl_guc" },
  { "HuC", "kbl_huc" },
  { "DMC", "kbl_dmc" },
  { NULL, NULL },
};
/* Alder Lake-N loads the ADL-P GuC and DMC and the Tiger Lake HuC. */
static const FirmwareNeed adln_firmware[] = {
  { "GuC", "adlp_guc" },
  { "HuC", "tgl_huc" },
  { "DMC", "adlp_dmc" },
  { NULL, NULL },
};

/* Names (prefixes) of the needed firmware files that are not in
 * /lib/firmware/i915; NULL when nothing is missing or nothing is needed. */
static char *
missing_firmware (PdGpuGeneration gen)
{
  const FirmwareNeed *need = gen == PD_GPU_GEN_KABY_LAKE      ? kbl_firmware
                             : gen == PD_GPU_GEN_ALDER_LAKE_N ? adln_firmware
                                                              : NULL;
  if (need == NULL)
    return NULL;
  g_autofree char *dir_path = pd_sysroot_path ("/lib/firmware/i915");
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  if (dir != NULL)
    {
      const char *n;
      while ((n = g_dir_read_name (dir)) != NULL && names->len < 4096)
        g_ptr_array_add (names, g_strdup (n));
    }
  g_autoptr (GString) missing = g_string_new (NULL);
  for (guint i = 0; need[i].what; i++)
    {
      gboolean have = FALSE;
      for (guint j = 0; j < names->len && !have; j++)
        have = g_str_has_prefix (names->pdata[j], need[i].prefix);
      if (!have)
        g_string_append_printf (missing, "%s%s (%s_*.bin)", missing->len ? ", " : "", need[i].what,
                                need[i].prefix);
    }
  return missing->len ? g_string_free (g_steal_pointer (&missing), FALSE) : NULL;
}

/* --- summary pieces ----------------------------------------------------------- */

static char *
join_or (char **list, const char *none)
{
  if (list == NULL || list[0] == NULL)
    return g_strdup (none);
  return g_strjoinv (", ", list);
}

static const char *
driver_label (const PdVaprobeReport *r)
{
  return r && r->driver ? r->driver : "the VA-API";
}

static void
set_report_details (PdComponent *c, const PdVaprobeResult *res)
{
  const PdVaprobeReport *r = res->report;
  pd_component_set_detail (c, PD_DETAIL_PROBE, pd_vaprobe_result_kind_to_string (res->kind));
  pd_component_set_detail_printf (c, PD_DETAIL_PROBE_TIME,
                                  "%" G_GINT64_FORMAT " ms (deadline %u ms)", res->elapsed_ms,
                                  res->timeout_ms);
  if (res->kind == PD_VAPROBE_RESULT_REPORT)
    {
      pd_component_set_detail (c, PD_DETAIL_PROBE_STATUS, r->status);
      if (r->device)
        pd_component_set_detail (c, PD_DETAIL_DEVICE, r->device);
      if (r->user)
        pd_component_set_detail (c, PD_DETAIL_PROBE_USER, r->user);
      if (r->driver)
        pd_component_set_detail (c, PD_DETAIL_DRIVER, r->driver);
      if (r->vendor)
        pd_component_set_detail (c, PD_DETAIL_VENDOR, r->vendor);
      if (r->va_api_version)
        pd_component_set_detail (c, PD_DETAIL_VA_API_VERSION, r->va_api_version);
      if (g_str_equal (r->status, "ok") || g_str_equal (r->status, "functional-failed"))
        {
          g_autofree char *dec = join_or (r->decode, "none");
          g_autofree char *enc = join_or (r->encode, "none");
          pd_component_set_detail (c, PD_DETAIL_DECODE, dec);
          pd_component_set_detail (c, PD_DETAIL_ENCODE, enc);
          pd_component_set_detail (c, PD_DETAIL_VIDEO_PROCESSING,
                                   r->video_processing ? "yes" : "no");
          if (r->functional_ran)
            pd_component_set_detail_printf (c, PD_DETAIL_FUNCTIONAL_TEST, "%s: %s in %.1f ms",
                                            r->functional_name ? r->functional_name : "?",
                                            r->functional_passed ? "passed" : "FAILED",
                                            r->functional_ms);
          else
            pd_component_set_detail (c, PD_DETAIL_FUNCTIONAL_TEST, "not run");
        }
      if (r->error)
        pd_component_set_detail (c, PD_DETAIL_ERROR, r->error);
    }
  else
    {
      if (res->probe_path)
        pd_component_set_detail (c, PD_DETAIL_PROBE_PATH, res->probe_path);
      if (res->kind == PD_VAPROBE_RESULT_FAILED)
        pd_component_set_detail_printf (c, PD_DETAIL_EXIT_STATUS, "%d", res->exit_status);
      if (res->kind == PD_VAPROBE_RESULT_CRASHED)
        pd_component_set_detail_printf (c, PD_DETAIL_SIGNAL, "%d", res->signal_number);
    }
  if (res->stderr_tail)
    {
      /* The last line is what a driver said last; enough for a table. */
      const char *last = strrchr (res->stderr_tail, '\n');
      pd_component_set_detail (c, PD_DETAIL_PROBE_STDERR, last ? last + 1 : res->stderr_tail);
    }
}

static gboolean
list_has (char **list, const char *codec)
{
  return list != NULL && g_strv_contains ((const char *const *) list, codec);
}

/* State and summary from the probe's outcome. */
static void
judge_probe (PdComponent *c, const Facts *f)
{
  const PdVaprobeResult *res = f->result;
  const PdGpuDevice *dev = f->dev;

  if (dev == NULL)
    {
      pd_component_set_state (c, PD_STATE_UNKNOWN,
                              "Not checked: no Intel GPU was found (see the gpu component)");
      return;
    }
  if (res == NULL && dev->render_node != NULL)
    {
      pd_component_set_summary_printf (c,
                                       "Not checked: the kernel registered %s for %s, but that "
                                       "device file does not exist",
                                       dev->render_node, dev->name ? dev->name : "the GPU");
      return;
    }
  if (res == NULL)
    {
      pd_component_set_summary_printf (c, "Not checked: %s has no render node (kernel driver: %s)",
                                       dev->name ? dev->name : "the GPU",
                                       dev->driver ? dev->driver : "none");
      return;
    }
  set_report_details (c, res);

  switch (res->kind)
    {
    case PD_VAPROBE_RESULT_NOT_FOUND:
      pd_component_set_state (c, PD_STATE_UNKNOWN, res->message);
      pd_component_add_advice (c, "The VA-API probe program is missing; reinstall passdesk.",
                               "sudo apt install --reinstall passdesk");
      return;
    case PD_VAPROBE_RESULT_TIMEOUT:
      pd_component_set_state (c, PD_STATE_FAILED, res->message);
      pd_component_add_advice (c,
                               "Look for a GPU hang in the kernel log; if the GPU stays "
                               "stuck, cold-restart the VM (`passdesk cold-restart`, or "
                               "“Cold restart VM…” in the passdesk menu) so the host resets "
                               "the iGPU.",
                               "sudo dmesg | passdesk scan-log");
      return;
    case PD_VAPROBE_RESULT_CRASHED:
    case PD_VAPROBE_RESULT_FAILED:
    case PD_VAPROBE_RESULT_GARBAGE:
      pd_component_set_state (c, PD_STATE_FAILED, res->message);
      pd_component_add_advice (c,
                               "Check the kernel log for GPU errors, and that the VA driver "
                               "packages are complete; `vainfo` shows the driver's own "
                               "error.",
                               "sudo dmesg | passdesk scan-log");
      return;
    case PD_VAPROBE_RESULT_REPORT:
      break;
    }

  const PdVaprobeReport *r = res->report;
  const char *drv = driver_label (r);
  if (g_str_equal (r->status, "no-device"))
    {
      pd_component_set_state (c, PD_STATE_UNKNOWN, "");
      pd_component_set_summary_printf (c, "Not checked: %s", r->error ? r->error : "no device");
      return;
    }
  if (g_str_equal (r->status, "privileges-failed"))
    {
      pd_component_set_state (c, PD_STATE_UNKNOWN, "");
      pd_component_set_summary_printf (c, "Not checked: %s",
                                       r->error ? r->error : "could not drop privileges");
      return;
    }
  if (g_str_equal (r->status, "open-failed"))
    {
      pd_component_set_state (c, PD_STATE_FAILED, "");
      pd_component_set_summary_printf (c, "VA-API cannot be used: %s", r->error ? r->error : "");
      pd_component_add_advice (c,
                               "The render node must be readable and writable by the users "
                               "of video acceleration: add them to the render group (then "
                               "log in again).",
                               "sudo adduser \"$USER\" render");
      return;
    }
  if (g_str_equal (r->status, "init-failed"))
    {
      pd_component_set_state (c, PD_STATE_FAILED, "");
      pd_component_set_summary_printf (c, "VA-API could not start: %s",
                                       r->error ? r->error : "vaInitialize failed");
      return;
    }
  if (g_str_equal (r->status, "functional-failed"))
    {
      pd_component_set_state (c, PD_STATE_FAILED, "");
      pd_component_set_summary_printf (c, "VA-API started (%s driver) but its test failed: %s", drv,
                                       r->functional_message ? r->functional_message
                                                             : "no reason given");
      pd_component_add_advice (c,
                               "The GPU accepted work but did not produce the right result; "
                               "check the kernel log for GPU errors and cold-restart the VM "
                               "if they appear.",
                               "sudo dmesg | passdesk scan-log");
      return;
    }

  /* status "ok": VA-API works; how well? */
  g_autofree char *dec = join_or (r->decode, N_ ("nothing"));
  g_autofree char *enc = join_or (r->encode, N_ ("nothing"));
  g_autoptr (GPtrArray) lacks = g_ptr_array_new ();
  if (r->encode[0] == NULL)
    g_ptr_array_add (lacks, (gpointer) N_ ("cannot encode video"));
  else if (!list_has (r->encode, "H.264") && !list_has (r->encode, "HEVC"))
    g_ptr_array_add (lacks, (gpointer) N_ ("cannot encode H.264 or HEVC"));
  if (!r->video_processing)
    g_ptr_array_add (lacks, (gpointer) N_ ("has no video processing (scaling, colour conversion)"));
  if (r->decode[0] == NULL)
    g_ptr_array_add (lacks, (gpointer) N_ ("cannot decode video"));
  /* "A and B": each part and the "and" are words of the clients' language. */
  PdI18nJoin *join = pd_i18n_join_new ();
  for (guint i = 0; i < lacks->len; i++)
    {
      if (i > 0)
        /* TRANSLATORS: between the things VA-API lacks ("cannot encode video and ...") */
        pd_i18n_join_append (join, N_ (" and "));
      pd_i18n_join_append (join, lacks->pdata[i]);
    }
  g_autofree char *what = pd_i18n_join_finish (join);

  if (!r->functional_ran)
    {
      pd_component_set_state (c, PD_STATE_DEGRADED, "");
      pd_component_set_summary_printf (c,
                                       "VA-API starts (%s driver) but %s; without video "
                                       "processing or JPEG decoding the GPU could not be given "
                                       "a test job; decodes %s",
                                       drv, what[0] ? what : N_ ("offers no functional test"), dec);
      return;
    }
  if (lacks->len > 0)
    {
      pd_component_set_state (c, PD_STATE_DEGRADED, "");
      pd_component_set_summary_printf (c,
                                       "%s driver works (test frame correct in %.0f ms) but %s; "
                                       "decodes %s",
                                       drv, r->functional_ms, what, dec);
      return;
    }
  pd_component_set_state (c, PD_STATE_OK, "");
  pd_component_set_summary_printf (c,
                                   "%s driver works: the GPU scaled a test frame correctly in "
                                   "%.0f ms; decodes %s; encodes %s",
                                   drv, r->functional_ms, dec, enc);
}

/* --- advice from packages, sources and firmware --------------------------------- */

/* What the guide asks for: the non-free VA driver and i965 shaders live in
 * non-free (their helpers in contrib), the i915 firmware in non-free-firmware. */
static const char *const wanted_components[]
    = { "main", "contrib", "non-free", "non-free-firmware", NULL };

/* The apt-sources advice, once, naming only the packages that really have
 * no installation candidate: those whose component the release's entry
 * lacks. @packages: the non-free packages to install, NULL-terminated. */
static void
advise_sources (PdComponent *c, const Facts *f, const char *const *packages)
{
  gboolean lacks_non_free = !pd_apt_sources_has_component (f->apt, "non-free");
  gboolean lacks_firmware = !pd_apt_sources_has_component (f->apt, "non-free-firmware");
  g_autoptr (GPtrArray) blocked = g_ptr_array_new ();
  for (guint i = 0; packages[i]; i++)
    if (g_str_equal (packages[i], "firmware-misc-nonfree") ? lacks_firmware : lacks_non_free)
      g_ptr_array_add (blocked, (gpointer) packages[i]);
  if (blocked->len == 0)
    return;
  gboolean need_non_free = FALSE, need_firmware = FALSE;
  for (guint i = 0; i < blocked->len; i++)
    if (g_str_equal (blocked->pdata[i], "firmware-misc-nonfree"))
      need_firmware = TRUE;
    else
      need_non_free = TRUE;

  /* contrib goes with non-free, as the guide's sources line has it. */
  const char *wanted[5] = { "main" };
  guint n = 1;
  if (need_non_free)
    {
      wanted[n++] = "contrib";
      wanted[n++] = "non-free";
    }
  if (need_firmware)
    wanted[n++] = "non-free-firmware";
  wanted[n] = NULL;
  g_autofree char *explanation = NULL;
  g_autofree char *command = NULL;
  if (!pd_apt_sources_plan_components (f->apt, wanted, &explanation, &command))
    return;

  /* One whole sentence per case (at most three packages), so that each
   * translates as one; the explanation is the apt-sources module's. */
  const char *const *p = (const char *const *) blocked->pdata;
  if (blocked->len == 3)
    pd_component_add_advice_printf (c, command,
                                    "%s, %s and %s have no installation candidate until apt has "
                                    "the non-free and non-free-firmware components. %s",
                                    p[0], p[1], p[2], explanation);
  else if (blocked->len == 2 && need_firmware)
    pd_component_add_advice_printf (c, command,
                                    "%s and %s have no installation candidate until apt has the "
                                    "non-free and non-free-firmware components. %s",
                                    p[0], p[1], explanation);
  else if (blocked->len == 2)
    pd_component_add_advice_printf (c, command,
                                    "%s and %s have no installation candidate until apt has the "
                                    "non-free component. %s",
                                    p[0], p[1], explanation);
  else if (need_firmware)
    pd_component_add_advice_printf (c, command,
                                    "%s has no installation candidate until apt has the "
                                    "non-free-firmware component. %s",
                                    p[0], explanation);
  else
    pd_component_add_advice_printf (c, command,
                                    "%s has no installation candidate until apt has the non-free "
                                    "component. %s",
                                    p[0], explanation);
}

static void
advise_packages (PdComponent *c, const Facts *f)
{
  const PdGpuDevice *dev = f->dev;
  const PdVaprobeReport *r = f->report;
  const char *driver = r && r->driver ? r->driver : NULL;
  gboolean media = installed (f, "intel-media-va-driver");
  gboolean media_nf = installed (f, "intel-media-va-driver-non-free");
  gboolean fw_pkg = installed (f, "firmware-misc-nonfree");
  PdGpuGeneration gen = dev ? dev->generation : PD_GPU_GEN_UNKNOWN;
  const char *non_free_pkgs[4] = { NULL }; /* to install from non-free(-firmware) */
  guint n_non_free = 0;
  /* Advice that follows the apt-sources advice: sentence (a PdMsg, so the
   * agent can word it in each client's language) and command pairs. */
  g_autoptr (GPtrArray) later = g_ptr_array_new ();

  if (f->dpkg == NULL)
    return;

  if (gen == PD_GPU_GEN_ALDER_LAKE_N)
    {
      if (!media && !media_nf)
        pd_component_add_advice (c,
                                 "Alder Lake-N (N100) video acceleration needs the iHD driver "
                                 "from intel-media-va-driver; the older i965 driver does not "
                                 "support this GPU.",
                                 "sudo apt install intel-media-va-driver");
      if (f->forced_driver && g_ascii_strcasecmp (f->forced_driver, "iHD") != 0)
        pd_component_add_advice (c,
                                 "/etc/environment forces a VA-API driver "
                                 "(LIBVA_DRIVER_NAME) that does not support Alder Lake-N; set "
                                 "it to iHD and log in again.",
                                 "sudo sed -i 's/^\\(export \\)\\{0,1\\}LIBVA_DRIVER_NAME=.*/"
                                 "LIBVA_DRIVER_NAME=iHD/' /etc/environment");
      else if (driver && g_str_equal (driver, "i965") && (media || media_nf))
        pd_component_add_advice (c,
                                 "The i965 driver was chosen although iHD is installed; "
                                 "i965 does not support Alder Lake-N, so make iHD the "
                                 "VA-API driver and log in again.",
                                 "echo LIBVA_DRIVER_NAME=iHD | sudo tee -a /etc/environment");
    }

  if (gen == PD_GPU_GEN_OTHER_INTEL && !media && !media_nf && !installed (f, "i965-va-driver"))
    pd_component_add_advice (c,
                             "No Intel VA-API driver is installed; intel-media-va-driver "
                             "(iHD) covers Broadwell and newer Intel GPUs.",
                             "sudo apt install intel-media-va-driver");

  if (gen == PD_GPU_GEN_KABY_LAKE && !media_nf)
    {
      non_free_pkgs[n_non_free++] = "intel-media-va-driver-non-free";
      const char *have = media ? N_ ("The free build intel-media-va-driver is installed, but on "
                                     "Kaby Lake (HD Graphics 630) it lacks")
                         : installed (f, "i965-va-driver")
                             ? N_ ("Only the i965 driver is installed; the Intel media driver's "
                                   "non-free build adds")
                             : N_ ("No Intel VA-API driver package is installed; Kaby Lake (HD "
                                   "Graphics 630) needs intel-media-va-driver-non-free for");
      g_ptr_array_add (later, pd_msg_new_printf ("%s H.264 and HEVC encoding and video processing "
                                                 "(scaling, deinterlacing, colour conversion): "
                                                 "install intel-media-va-driver-non-free from "
                                                 "Debian's non-free component.",
                                                 have));
      g_ptr_array_add (later, (gpointer) "sudo apt install intel-media-va-driver-non-free");
    }
  if (gen == PD_GPU_GEN_KABY_LAKE && driver && g_str_equal (driver, "i965")
      && !installed (f, "i965-va-driver-shaders"))
    {
      /* i965 is what runs now; its encoders need the prebuilt shaders. */
      non_free_pkgs[n_non_free++] = "i965-va-driver-shaders";
      g_ptr_array_add (later, pd_msg_new_printf ("The i965 driver in use encodes only with its "
                                                 "prebuilt shaders from i965-va-driver-shaders "
                                                 "(Debian's non-free component)."));
      g_ptr_array_add (later, (gpointer) "sudo apt install i965-va-driver-shaders");
    }

  g_autofree char *fw_missing = missing_firmware (gen);
  if (fw_missing != NULL
      || ((gen == PD_GPU_GEN_KABY_LAKE || gen == PD_GPU_GEN_ALDER_LAKE_N) && !fw_pkg))
    {
      non_free_pkgs[n_non_free++] = "firmware-misc-nonfree";
      /* With the component already in the sources, "no installation
       * candidate" means package lists older than it: apt update first. A
       * reboot inside the VM leaves a passed-through GPU as it was; new
       * firmware loads cleanly into a GPU the host has reset. */
      gboolean have_component
          = f->apt != NULL && pd_apt_sources_has_component (f->apt, "non-free-firmware");
      PdMsg *m;
      if (fw_missing && have_component)
        m = pd_msg_new_printf ("i915 firmware is missing from /lib/firmware/i915: %s; without "
                               "GuC/HuC the GPU cannot use its media engines fully and hangs are "
                               "more likely. The apt sources already have non-free-firmware: "
                               "update the package lists and install firmware-misc-nonfree, then "
                               "cold-restart the VM (`passdesk cold-restart`, or “Cold restart "
                               "VM…” in the passdesk menu) so the firmware loads into a freshly "
                               "reset GPU; a reboot inside the VM does not reset a "
                               "passed-through GPU.",
                               fw_missing);
      else if (fw_missing)
        m = pd_msg_new_printf ("i915 firmware is missing from /lib/firmware/i915: %s; without "
                               "GuC/HuC the GPU cannot use its media engines fully and hangs are "
                               "more likely. Once apt has non-free-firmware, install "
                               "firmware-misc-nonfree, then cold-restart the VM (`passdesk "
                               "cold-restart`, or “Cold restart VM…” in the passdesk menu) so "
                               "the firmware loads into a freshly reset GPU; a reboot inside the "
                               "VM does not reset a passed-through GPU.",
                               fw_missing);
      else if (have_component)
        m = pd_msg_new_printf ("firmware-misc-nonfree, which carries the i915 GuC/HuC firmware, "
                               "is not installed, so firmware updates do not reach this machine. "
                               "The apt sources already have non-free-firmware: update the "
                               "package lists and install firmware-misc-nonfree.");
      else
        m = pd_msg_new_printf ("firmware-misc-nonfree, which carries the i915 GuC/HuC firmware, "
                               "is not installed, so firmware updates do not reach this machine. "
                               "Once apt has non-free-firmware, install firmware-misc-nonfree.");
      g_ptr_array_add (later, m);
      g_ptr_array_add (later,
                       (gpointer) (have_component ? "sudo apt update && sudo apt install "
                                                    "firmware-misc-nonfree"
                                                  : "sudo apt install firmware-misc-nonfree"));
    }

  non_free_pkgs[n_non_free] = NULL;
  if (n_non_free > 0 && f->apt != NULL)
    advise_sources (c, f, non_free_pkgs);

  for (guint i = 0; i + 1 < later->len; i += 2)
    {
      PdMsg *m = later->pdata[i];
      pd_component_add_advice (c, m->english, later->pdata[i + 1]);
      pd_component_remember (c, m);
      pd_msg_free (m);
    }

  if (!installed (f, "vainfo"))
    pd_component_add_advice (c,
                             "vainfo is not installed; it shows what VA-API offers when you "
                             "want to check by hand.",
                             "sudo apt install vainfo");
}

static void
set_package_details (PdComponent *c, const Facts *f)
{
  if (f->dpkg == NULL)
    return;
  static const char *const pkgs[] = { "intel-media-va-driver",
                                      "intel-media-va-driver-non-free",
                                      "i965-va-driver",
                                      "i965-va-driver-shaders",
                                      "firmware-misc-nonfree",
                                      "vainfo",
                                      NULL };
  g_autoptr (GString) have = g_string_new (NULL);
  g_autoptr (GString) lack = g_string_new (NULL);
  for (guint i = 0; pkgs[i]; i++)
    {
      const char *v = pd_dpkg_status_version (f->dpkg, pkgs[i]);
      if (v)
        g_string_append_printf (have, "%s%s %s", have->len ? ", " : "", pkgs[i], v);
      else
        g_string_append_printf (lack, "%s%s", lack->len ? ", " : "", pkgs[i]);
    }
  pd_component_set_detail (c, PD_DETAIL_PACKAGES_INSTALLED, have->len ? have->str : "none");
  pd_component_set_detail (c, PD_DETAIL_PACKAGES_MISSING, lack->len ? lack->str : "none");

  PdAptFormat fmt;
  if (f->apt && pd_apt_sources_debian_format (f->apt, &fmt))
    {
      const char *suite = pd_apt_sources_debian_suite (f->apt);
      g_autoptr (GString) comps = g_string_new (NULL);
      for (guint i = 0; wanted_components[i]; i++)
        if (pd_apt_sources_has_component (f->apt, wanted_components[i]))
          g_string_append_printf (comps, " %s", wanted_components[i]);
      pd_component_set_detail_printf (c, PD_DETAIL_APT_SOURCES, "%s, %s:%s",
                                      fmt == PD_APT_FORMAT_DEB822 ? "deb822" : "one-line",
                                      suite ? suite : "?", comps->str);
    }
  if (f->forced_driver)
    pd_component_set_detail (c, PD_DETAIL_LIBVA_DRIVER_NAME, f->forced_driver);
}

PdComponent *
pd_vaapi_component (const PdGpuDevice *dev, const PdVaprobeResult *result)
{
  PdComponent *c = pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN, "Not checked");
  Facts f = { 0 };
  f.dev = dev;
  f.result = result;
  f.report = result && result->kind == PD_VAPROBE_RESULT_REPORT ? result->report : NULL;

  judge_probe (c, &f);
  if (dev == NULL)
    return c; /* nothing to advise about without an Intel GPU */

  g_autoptr (GError) error = NULL;
  f.dpkg = pd_dpkg_status_load (&error);
  if (f.dpkg == NULL)
    pd_component_set_detail_printf (c, PD_DETAIL_PACKAGES, "unknown: %s", error->message);
  f.apt = pd_apt_sources_load ();
  f.forced_driver = read_forced_driver ();
  set_package_details (c, &f);
  advise_packages (c, &f);
  facts_clear (&f);
  return c;
}

/* --- running it ------------------------------------------------------------------ */

/* What we keep of the GPU device while the probe runs (the scan may go). */
static PdGpuDevice *
device_copy (const PdGpuDevice *d)
{
  PdGpuDevice *c = g_new0 (PdGpuDevice, 1);
  c->pci_slot = g_strdup (d->pci_slot);
  c->vendor = d->vendor;
  c->device = d->device;
  c->name = g_strdup (d->name);
  c->generation = d->generation;
  c->driver = g_strdup (d->driver);
  c->card_node = g_strdup (d->card_node);
  c->render_node = g_strdup (d->render_node);
  c->render_accessible = d->render_accessible;
  c->connectors = NULL;
  c->pci_class = d->pci_class;
  c->ids_known = d->ids_known;
  c->render_in_sysfs = d->render_in_sysfs;
  c->render_exists = d->render_exists;
  return c;
}

static void
device_free (gpointer p)
{
  PdGpuDevice *d = p;
  g_free (d->pci_slot);
  g_free (d->name);
  g_free (d->driver);
  g_free (d->card_node);
  g_free (d->render_node);
  g_free (d);
}

/* One check: the device (or NULL) and, once the probe is back, its result. */
typedef struct
{
  PdGpuDevice *dev;
  PdVaprobeResult *result;
} Job;

static void
job_free (gpointer p)
{
  Job *job = p;
  if (job->dev)
    device_free (job->dev);
  pd_vaprobe_result_free (job->result);
  g_free (job);
}

/* Reading the dpkg status file (megabytes) and the rest is file I/O: done in
 * a worker thread so the caller's main loop never waits for the disk. */
static void
build_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  g_task_return_pointer (task, pd_vaapi_component (job->dev, job->result),
                         (GDestroyNotify) pd_component_free);
}

static void
on_probe_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  job->result = pd_vaprobe_run_finish (res, &error);
  if (job->result == NULL)
    {
      g_task_return_pointer (
          task,
          pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN, "The VA-API check was cancelled"),
          (GDestroyNotify) pd_component_free);
      return;
    }
  g_task_run_in_thread (task, build_in_thread);
}

void
pd_vaapi_check_async (const PdGpuScan *scan, guint timeout_ms, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_vaapi_check_async);
  /* Cancellation gives an `unknown` component, not an error. */
  g_task_set_check_cancellable (task, FALSE);
  /* Settle the cached root prefix here, before any worker thread reads it. */
  (void) pd_sysroot ();
  const PdGpuDevice *dev = scan ? pd_gpu_scan_primary (scan) : NULL;
  Job *job = g_new0 (Job, 1);
  job->dev = dev ? device_copy (dev) : NULL;
  g_task_set_task_data (task, job, job_free);
  /* No render node, or the scan saw it in sysfs but not in /dev: nothing
   * to probe; the component says why. */
  if (dev == NULL || dev->render_node == NULL || (dev->render_in_sysfs && !dev->render_exists))
    {
      g_task_run_in_thread (task, build_in_thread);
      return;
    }
  /* The desktop session gets its VA driver choice from /etc/environment; the
   * probe must try what the session will use (our own environment wins). */
  g_autofree char *forced = g_getenv ("LIBVA_DRIVER_NAME") ? NULL : read_forced_driver ();
  g_autofree char *forced_env = forced ? g_strconcat ("LIBVA_DRIVER_NAME=", forced, NULL) : NULL;
  const char *env[] = { forced_env, NULL };
  pd_vaprobe_run_env_async (job->dev->render_node, env, timeout_ms, cancellable, on_probe_done,
                            g_object_ref (task));
}

PdComponent *
pd_vaapi_check_finish (GAsyncResult *result)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  PdComponent *c = g_task_propagate_pointer (G_TASK (result), NULL);
  if (c == NULL)
    c = pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN, "The VA-API check was cancelled");
  return c;
}

static void
on_sync_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (res);
}

PdComponent *
pd_vaapi_check_sync (const PdGpuScan *scan, guint timeout_ms)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  GAsyncResult *res = NULL;
  pd_vaapi_check_async (scan, timeout_ms, NULL, on_sync_done, &res);
  while (res == NULL)
    g_main_context_iteration (ctx, TRUE);
  PdComponent *c = pd_vaapi_check_finish (res);
  g_object_unref (res);
  g_main_context_pop_thread_default (ctx);
  return c;
}
