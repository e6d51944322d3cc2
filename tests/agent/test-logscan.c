/* test-logscan.c - the kernel-log scanner (C API) and `passdesk scan-log` (black box).
 *
 * The logs in tests/fixtures/logs/ are written by hand from the kernel's format
 * strings; the expected findings live here, next to the reasons. */
#include "config.h"

#include <pty.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "logscan-rules.h"
#include "logscan.h"

/* ---- helpers ---- */

typedef struct
{
  const char *kind;
  guint line;
  const char *device; /* NULL: no device */
} Expect;

/* All findings of @text fed line by line ('\n' split, CRs left in). */
static GPtrArray *
scan_text (const char *text, gsize len)
{
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) pd_log_finding_free);
  g_autoptr (PdLogScanner) s = pd_log_scanner_new ();
  const char *p = text, *end = text + len;
  guint lineno = 0;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      gsize n = nl ? (gsize) (nl - p) : (gsize) (end - p);
      g_autoptr (GPtrArray) found = pd_log_scanner_feed_line (s, p, n, ++lineno);
      if (found)
        {
          g_ptr_array_set_free_func (found, NULL);
          g_ptr_array_extend_and_steal (all, g_steal_pointer (&found));
        }
      p += n + 1;
    }
  return all;
}

static GPtrArray *
scan_string (const char *text)
{
  return scan_text (text, strlen (text));
}

static char *
log_path (const char *name)
{
  return g_build_filename (LOGS_DIR, name, NULL);
}

static void
assert_findings (GPtrArray *found, const Expect *expect, guint n_expect, const char *what)
{
  for (guint i = 0; i < MAX (found->len, n_expect); i++)
    {
      const PdLogFinding *f = i < found->len ? found->pdata[i] : NULL;
      const Expect *e = i < n_expect ? &expect[i] : NULL;
      if (f == NULL || e == NULL || strcmp (f->kind->kind, e->kind) != 0 || f->line != e->line
          || g_strcmp0 (f->device, e->device) != 0)
        g_error ("%s: finding %u: got %s line %u device %s, expected %s line %u device %s", what, i,
                 f ? f->kind->kind : "(none)", f ? f->line : 0,
                 f && f->device ? f->device : "(null)", e ? e->kind : "(none)", e ? e->line : 0,
                 e && e->device ? e->device : "(null)");
      /* excerpts: bounded, valid UTF-8, no control characters (TAB separates fields) */
      g_assert_cmpuint (strlen (f->excerpt), <=, PD_LOG_EXCERPT_MAX);
      g_assert_true (g_utf8_validate (f->excerpt, -1, NULL));
      for (const char *c = f->excerpt; *c; c++)
        g_assert_cmpint ((guchar) *c, >=, 0x20);
    }
}

/* ---- the table ---- */

/* What every kind means, written out: the agent acts on these fields alone
 * (no meaning from the id's prefix), so a row that changes shows here. */
static void
test_kinds (void)
{
#define NONE PD_N_COMPONENTS
#define PROBE PD_LOG_CLEARS_PROBE_PASSES
#define BACK PD_LOG_CLEARS_DEVICE_BACK
#define HOLD PD_LOG_CLEARS_AFTER_HOLD
#define DEG PD_STATE_DEGRADED
#define FAIL PD_STATE_FAILED
  static const struct
  {
    const char *id;
    PdComponentId component;
    PdState state;
    PdComponentId also;
    PdLogClears clears;
    gboolean tell_monitor;
  } rows[] = {
    { "usb.controller-died", PD_COMPONENT_USB, FAIL, NONE, BACK, TRUE },
    /* passing USB trouble: the agent holds it a minute, the monitor is not told */
    { "usb.enumeration-failed", PD_COMPONENT_USB, DEG, NONE, HOLD, FALSE },
    { "usb.cable-bad", PD_COMPONENT_USB, DEG, NONE, HOLD, FALSE },
    { "usb.over-current", PD_COMPONENT_USB, DEG, NONE, HOLD, FALSE },
    { "usb.port-disabled-emi", PD_COMPONENT_USB, DEG, NONE, HOLD, FALSE },
    { "usb.reset-loop", PD_COMPONENT_USB, DEG, NONE, HOLD, FALSE },
    { "usb.reconnect-storm", PD_COMPONENT_USB, DEG, NONE, HOLD, FALSE },
    { "usb.hub-error", PD_COMPONENT_USB, DEG, NONE, HOLD, FALSE },
    /* a GPU hang also makes video acceleration untrustworthy until a probe passes */
    { "gpu.hang", PD_COMPONENT_GPU, DEG, PD_COMPONENT_VAAPI, PROBE, FALSE },
    { "gpu.reset-failed", PD_COMPONENT_GPU, FAIL, PD_COMPONENT_VAAPI, PROBE, FALSE },
    { "gpu.wedged", PD_COMPONENT_GPU, FAIL, PD_COMPONENT_VAAPI, PROBE, FALSE },
    { "gpu.firmware-missing", PD_COMPONENT_GPU, DEG, PD_COMPONENT_VAAPI, PROBE, FALSE },
    { "display.fifo-underrun", PD_COMPONENT_DISPLAY, DEG, NONE, BACK, FALSE },
    /* the agent publishes HDMI audio the kernel complains about as failed */
    { "audio.codec-timeout", PD_COMPONENT_AUDIO, FAIL, NONE, BACK, TRUE },
    { "audio.codec-probe-failed", PD_COMPONENT_AUDIO, FAIL, NONE, BACK, TRUE },
    { "audio.spurious-response", PD_COMPONENT_AUDIO, FAIL, NONE, BACK, TRUE },
    { "audio.no-i915-binding", PD_COMPONENT_AUDIO, FAIL, NONE, BACK, TRUE },
    { "vfio.rom-invalid", PD_COMPONENT_GPU, DEG, NONE, PROBE, FALSE },
    { "vfio.probe-failed", PD_COMPONENT_GPU, FAIL, NONE, PROBE, FALSE },
    /* lines only the Proxmox host's kernel prints (issue 15) */
    { "vfio.reset-timeout", PD_COMPONENT_GPU, FAIL, NONE, PROBE, FALSE },
    { "vfio.bar-busy", PD_COMPONENT_GPU, FAIL, NONE, PROBE, FALSE },
    { "vfio.dmar-fault", PD_COMPONENT_GPU, DEG, NONE, PROBE, FALSE },
  };
  guint n;
  const PdLogKind *kinds = pd_log_kinds (&n);
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (rows));
  g_assert_cmpuint (n, <=, PD_LOG_MAX_KINDS);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const PdLogKind *k = pd_log_kind_lookup (rows[i].id);
      g_assert_nonnull (k);
      g_assert_true (k == &kinds[i]); /* table order */
      g_assert_cmpstr (k->kind, ==, rows[i].id);
      g_assert_true (k->summary && k->summary[0]);
      g_assert_cmpint (k->component, ==, rows[i].component);
      g_assert_cmpint (k->state, ==, rows[i].state);
      g_assert_cmpint (k->also, ==, rows[i].also);
      g_assert_cmpint (k->clears, ==, rows[i].clears);
      g_assert_cmpint (k->tell_monitor, ==, rows[i].tell_monitor);
      /* every kind has a heading in words, not its id */
      g_assert_cmpstr (pd_log_kind_title (k), !=, k->kind);
      g_assert_true (g_ascii_isupper (pd_log_kind_title (k)[0])
                     || g_str_has_prefix (pd_log_kind_title (k), "vfio-pci"));
      /* the host's kinds say what to do on the host */
      if (g_str_has_prefix (k->kind, "vfio.") && strcmp (k->kind, "vfio.rom-invalid") != 0
          && strcmp (k->kind, "vfio.probe-failed") != 0)
        g_assert_true (k->next_step && strstr (k->next_step, "Proxmox host"));
      /* a probe can only vouch for the GPU and video acceleration */
      if (k->clears == PD_LOG_CLEARS_PROBE_PASSES)
        g_assert_cmpint (k->component, ==, PD_COMPONENT_GPU);
    }
  g_assert_null (pd_log_kind_lookup ("gpu.nope"));
  g_assert_null (pd_log_kind_lookup (NULL));
  guint n_patterns;
  pd_log_patterns (&n_patterns);
  g_assert_cmpuint (n_patterns, <=, PD_LOG_MAX_PATTERNS);
#undef NONE
#undef PROBE
#undef BACK
#undef HOLD
#undef DEG
#undef FAIL
}

/* ---- each format, mixed incidents ---- */

typedef struct
{
  const char *file;
  const Expect *expect;
  guint n;
} FormatCase;

static const Expect plain[] = {
  { "gpu.firmware-missing", 4, "0000:01:00.0" }, /* GuC fetch failure on line 5 joins it */
  { "audio.no-i915-binding", 7, "0000:01:00.1" },
  { "gpu.hang", 10, "0000:01:00.0" },    /* Resetting rcs0, context reset: same burst */
  { "display.fifo-underrun", 13, NULL }, /* CPU + PCH underrun: one incident */
  { "gpu.hang", 15, "0000:01:00.0" },    /* 125 s later: a new incident */
  { "gpu.reset-failed", 16, "0000:01:00.0" },
  { "gpu.wedged", 20, "0000:01:00.0" },
  /* line 21 "Resetting bus for ..." is no engine reset */
};
static const Expect dmesg_t[] = {
  { "usb.enumeration-failed", 2, "1-4" }, /* lines 3-5 (usb1-port4 = 1-4) join */
  { "usb.enumeration-failed", 6, "1-5" }, /* another device */
  { "usb.enumeration-failed", 7, "1-4" }, /* 2 min later */
  { "usb.cable-bad", 8, "1-2" },          /* Japanese date */
  { "usb.over-current", 9, "1-2" },       /* French date */
  { "usb.port-disabled-emi", 10, "1-2" },
  { "usb.hub-error", 11, "1-0" },
  { "usb.controller-died", 12, "0000:00:14.0" },
};
static const Expect dmesg_h[] = {
  { "usb.reset-loop", 2, "1-4" },               /* 4 resets in 15 s: one loop */
  { "audio.codec-timeout", 6, "0000:00:1b.0" }, /* +30 s, next minute: same incident */
  { "audio.spurious-response", 9, "0000:00:1b.0" },
  { "audio.spurious-response", 10, "0000:00:1b.0" }, /* [01:06] -> [01:08] */
  /* the codec hdaudioC0D2 is the controller's (the log named one): its
   * incident, 4 minutes after line 8, so a new one; rt5640's regmap line 12
   * is not HDA */
  { "audio.codec-timeout", 11, "0000:00:1b.0" },
};
static const Expect journal[] = {
  { "usb.reconnect-storm", 3, "1-2" }, /* the hub's child 1-2.1 storms with it: not again */
  /* 1-3 re-enumerated only twice */
  { "vfio.rom-invalid", 20, "0000:01:00.0" },
  { "display.fifo-underrun", 21, "0000:01:00.0" },
};
static const Expect journal_iso[] = {
  { "gpu.hang", 1, "0000:01:00.0" },
  { "gpu.reset-failed", 3, "0000:01:00.0" },
  { "gpu.wedged", 4, "0000:01:00.0" },
  { "gpu.hang", 5, "0000:01:00.0" }, /* line 6 is 01:05:30Z in +02:00: same incident */
  { "gpu.hang", 7, "0000:01:00.0" }, /* the next day */
  { "gpu.firmware-missing", 8, "0000:01:00.0" },
  { "audio.codec-probe-failed", 9, "0000:00:1b.0" }, /* RFC 5424 lines 9-10 */
};
static const Expect journal_mono[] = {
  { "gpu.firmware-missing", 1,
    "0000:00:02.0" }, /* DMC and GuC lines join; fwupd's line 4 is not ours */
  { "vfio.probe-failed", 5, "0000:00:1f.3" },
  { "vfio.probe-failed", 6, "0000:00:1f.4" },
};
static const Expect kernlog[] = {
  { "usb.controller-died", 2, "0000:00:14.0" },
  { "audio.codec-timeout", 5, "0000:00:1f.3" }, /* 23:59:50 -> 00:00:20: same incident */
  { "audio.codec-timeout", 7, "0000:00:1f.3" }, /* 100 s later */
  { "vfio.rom-invalid", 8, "0000:00:02.0" },
};
static const Expect priority[] = {
  { "usb.enumeration-failed", 2, "1-1" },
  { "audio.codec-probe-failed", 3, "0000:00:1f.3" },
  { "usb.enumeration-failed", 5, "1-1" }, /* 77.5 s after line 2 */
};
static const Expect no_ts[] = {
  { "usb.enumeration-failed", 1, "1-6" }, /* cut first line; line 2 is its neighbour */
  { "gpu.hang", 3, "0000:00:02.0" },
  { "audio.spurious-response", 5, "0000:00:1f.3" },
};

/* Pasted from the Proxmox host (journalctl -k there, kernel 6.8): the BAR
 * is held by efifb, DMAR faults at VM start, the audio function lost after
 * its FLR. The "waiting" lines before "giving up" are no incident. */
static const Expect host[] = {
  { "vfio.bar-busy", 13, "0000:00:02.0" },   /* lines 14-15 join */
  { "vfio.dmar-fault", 17, "0000:00:02.0" }, /* line 18 joins */
  { "vfio.dmar-fault", 19, "0000:00:1f.3" }, /* another device */
  { "vfio.reset-timeout", 28, "0000:00:1f.3" },
};
/* The same from an older host (5.15, dmesg): the older formats. */
static const Expect host_dmesg[] = {
  { "vfio.bar-busy", 4, "0000:00:02.0" },
  { "vfio.dmar-fault", 6, "0000:00:02.0" },
  { "vfio.reset-timeout", 7, "0000:00:02.0" },
};

static const FormatCase format_cases[] = {
  { "dmesg-plain.log", plain, G_N_ELEMENTS (plain) },
  { "dmesg-T.log", dmesg_t, G_N_ELEMENTS (dmesg_t) },
  { "dmesg-H.log", dmesg_h, G_N_ELEMENTS (dmesg_h) },
  { "journalctl.log", journal, G_N_ELEMENTS (journal) },
  { "journalctl-iso.log", journal_iso, G_N_ELEMENTS (journal_iso) },
  { "journalctl-monotonic.log", journal_mono, G_N_ELEMENTS (journal_mono) },
  { "kern.log", kernlog, G_N_ELEMENTS (kernlog) },
  { "priority.log", priority, G_N_ELEMENTS (priority) },
  { "no-timestamps.log", no_ts, G_N_ELEMENTS (no_ts) },
  { "proxmox-host.log", host, G_N_ELEMENTS (host) },
  { "proxmox-host-dmesg.log", host_dmesg, G_N_ELEMENTS (host_dmesg) },
};

static void
test_format (gconstpointer data)
{
  const FormatCase *c = data;
  g_autofree char *path = log_path (c->file);
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &text, &len, &error));
  g_assert_no_error (error);
  g_autoptr (GPtrArray) found = scan_text (text, len);
  assert_findings (found, c->expect, c->n, c->file);
}

static void
test_timestamps (void)
{
  g_autoptr (GPtrArray) a = scan_string ("[   45.100310] i915 0000:01:00.0: [drm] GPU HANG: x\n");
  g_assert_cmpuint (a->len, ==, 1);
  g_assert_cmpint (((PdLogFinding *) a->pdata[0])->timestamp_us, ==, 45100310);

  g_autoptr (GPtrArray) b = scan_string (
      "2026-11-24T03:03:17.25+02:00 h kernel: i915 0000:01:00.0: [drm] GPU HANG: x\n");
  g_autoptr (GDateTime) dt = g_date_time_new_utc (2026, 11, 24, 1, 3, 17);
  g_assert_cmpuint (b->len, ==, 1);
  g_assert_cmpint (((PdLogFinding *) b->pdata[0])->timestamp_us, ==,
                   g_date_time_to_unix (dt) * G_USEC_PER_SEC + 250000);

  g_autoptr (GPtrArray) c = scan_string ("i915 0000:01:00.0: [drm] GPU HANG: x\n");
  g_assert_cmpint (((PdLogFinding *) c->pdata[0])->timestamp_us, ==, -1);
  /* the excerpt is the message, without time, host and tag */
  g_autoptr (GPtrArray) d = scan_string (
      "<3>Nov 24 01:03:17.123456 desk kernel: [ 9.1] i915 0000:01:00.0: [drm] GPU HANG: x\r\n");
  g_assert_cmpstr (((PdLogFinding *) d->pdata[0])->excerpt, ==,
                   "i915 0000:01:00.0: [drm] GPU HANG: x");
  /* dmesg --time-format iso has no host or tag; printk caller ids are skipped */
  g_autoptr (GPtrArray) e = scan_string (
      "2026-11-24T01:03:17,123456+01:00 usb 1-4: device descriptor read/64, error -71\n"
      "[   12.000000] [    T812] usb 1-5: device descriptor read/64, error -71\n"
      "Nov 24 01:03:17 desk systemd[1]: vfio-pci: probe of 0000:00:02.0 failed with error -22\n"
      "    \t[   13.000000] usb 1-5: device descriptor read/64, error -71\n" /* indented paste */
      "    [  100.000000] usb 1-5: device descriptor read/64, error -71\n"
      /* journalctl -o short-full, then -o short-precise 30 s later: same incident */
      "Tue 2026-11-24 01:03:17 UTC desk kernel: hub 2-0:1.0: hub_ext_port_status failed (err = "
      "-110)\n"
      "Nov 24 01:03:47.250000 desk kernel: hub 2-0:1.0: hub_ext_port_status failed (err = -110)\n");
  Expect ee[] = { { "usb.enumeration-failed", 1, "1-4" },
                  { "usb.enumeration-failed", 2, "1-5" },
                  { "vfio.probe-failed", 3, "0000:00:02.0" },
                  /* line 4 joins line 2 (1 s later): its time was read */
                  { "usb.enumeration-failed", 5, "1-5" },
                  { "usb.hub-error", 6, "2-0" } };
  assert_findings (e, ee, G_N_ELEMENTS (ee), "iso dmesg and caller ids");
  g_assert_cmpstr (((PdLogFinding *) e->pdata[0])->excerpt, ==,
                   "usb 1-4: device descriptor read/64, error -71");
  g_assert_cmpstr (((PdLogFinding *) e->pdata[1])->excerpt, ==,
                   "usb 1-5: device descriptor read/64, error -71");
  g_assert_cmpstr (((PdLogFinding *) e->pdata[2])->excerpt, ==,
                   "vfio-pci: probe of 0000:00:02.0 failed with error -22");
  g_assert_cmpstr (((PdLogFinding *) e->pdata[4])->excerpt, ==,
                   "hub 2-0:1.0: hub_ext_port_status failed (err = -110)");
  g_assert_cmpint (((PdLogFinding *) e->pdata[4])->timestamp_us, ==,
                   (gint64) (1 * 3600 + 3 * 60 + 17) * G_USEC_PER_SEC);
}

/* ---- burst grouping ---- */

static void
test_burst_same_device (void)
{
  g_autoptr (GPtrArray) f
      = scan_string ("[  100.000000] usb 1-4: device descriptor read/64, error -71\n"
                     "[  120.000000] usb 1-4: device descriptor read/64, error -71\n"
                     "[  159.000000] usb 1-4: device not accepting address 9, error -71\n");
  Expect e[] = { { "usb.enumeration-failed", 1, "1-4" } };
  assert_findings (f, e, G_N_ELEMENTS (e), "same device within a minute");
}

static void
test_burst_different_devices (void)
{
  g_autoptr (GPtrArray) f
      = scan_string ("[  100.000000] usb 1-4: device descriptor read/64, error -71\n"
                     "[  100.500000] usb 1-5: device descriptor read/64, error -71\n"
                     "[  101.000000] usb 1-4: device descriptor read/64, error -71\n");
  Expect e[] = { { "usb.enumeration-failed", 1, "1-4" }, { "usb.enumeration-failed", 2, "1-5" } };
  assert_findings (f, e, G_N_ELEMENTS (e), "different devices");
}

static void
test_burst_after_a_minute (void)
{
  g_autoptr (GPtrArray) f
      = scan_string ("[  100.000000] usb 1-4: device descriptor read/64, error -71\n"
                     "[  160.000001] usb 1-4: device descriptor read/64, error -71\n");
  Expect e[] = { { "usb.enumeration-failed", 1, "1-4" }, { "usb.enumeration-failed", 2, "1-4" } };
  assert_findings (f, e, G_N_ELEMENTS (e), "after a minute");

  /* A different kind on the same device is its own incident. */
  g_autoptr (GPtrArray) g
      = scan_string ("[  1.0] usb usb1-port4: Cannot enable. Maybe the USB cable is bad?\n"
                     "[  1.1] usb 1-4: device descriptor read/64, error -71\n");
  Expect e2[] = { { "usb.cable-bad", 1, "1-4" }, { "usb.enumeration-failed", 2, "1-4" } };
  assert_findings (g, e2, G_N_ELEMENTS (e2), "different kinds");

  /* The clock going back (a new boot in the same paste) starts over. */
  g_autoptr (GPtrArray) h
      = scan_string ("[  500.0] usb 1-4: device descriptor read/64, error -71\n"
                     "[    3.0] usb 1-4: device descriptor read/64, error -71\n");
  g_assert_cmpuint (h->len, ==, 2);
}

static void
test_burst_without_timestamps (void)
{
  GString *s = g_string_new ("usb 1-4: device descriptor read/64, error -71\n");
  for (guint i = 0; i < PD_LOG_BURST_WINDOW_LINES - 1; i++)
    g_string_append (s, "random: crng init done\n");
  /* line WINDOW+1: still the same incident; the window slides from there */
  g_string_append (s, "usb 1-4: device descriptor read/64, error -71\n");
  for (guint i = 0; i < PD_LOG_BURST_WINDOW_LINES; i++)
    g_string_append (s, "random: crng init done\n");
  guint last = 2 * PD_LOG_BURST_WINDOW_LINES + 2;
  g_string_append (s, "usb 1-4: device descriptor read/64, error -71\n");
  g_autoptr (GPtrArray) f = scan_text (s->str, s->len);
  Expect e[]
      = { { "usb.enumeration-failed", 1, "1-4" }, { "usb.enumeration-failed", last, "1-4" } };
  assert_findings (f, e, G_N_ELEMENTS (e), "no timestamps");
  g_string_free (s, TRUE);
}

/* ---- repeat thresholds ---- */

static char *
resets (guint n, const char *device)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (
      s, "[   10.0] usb %s: new high-speed USB device number 5 using xhci_hcd\n", device);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (
        s, "[   %u.5] usb %s: reset high-speed USB device number 5 using xhci_hcd\n", 11 + i * 5,
        device);
  return g_string_free (s, FALSE);
}

static void
test_reset_loop (void)
{
  g_autofree char *two = resets (2, "1-4");
  g_autoptr (GPtrArray) f2 = scan_string (two);
  g_assert_cmpuint (f2->len, ==, 0);

  g_autofree char *three = resets (3, "1-4");
  g_autoptr (GPtrArray) f3 = scan_string (three);
  Expect e[] = { { "usb.reset-loop", 2, "1-4" } };
  assert_findings (f3, e, G_N_ELEMENTS (e), "3 resets");
  g_assert_cmpint (((PdLogFinding *) f3->pdata[0])->timestamp_us, ==, 11500000);

  g_autofree char *six = resets (6, "1-4");
  g_autoptr (GPtrArray) f6 = scan_string (six);
  assert_findings (f6, e, G_N_ELEMENTS (e), "6 resets in a row");

  /* Two resets each on two devices are no loop. */
  g_autoptr (GPtrArray) g
      = scan_string ("[ 1.0] usb 1-4: reset high-speed USB device number 5 using xhci_hcd\n"
                     "[ 1.1] usb 1-5: reset full-speed USB device number 6 using xhci_hcd\n"
                     "[ 1.2] usb 1-4: reset high-speed USB device number 5 using xhci_hcd\n"
                     "[ 1.3] usb 1-5: reset full-speed USB device number 6 using xhci_hcd\n");
  g_assert_cmpuint (g->len, ==, 0);

  /* Resets minutes apart are no loop either. */
  g_autoptr (GPtrArray) h
      = scan_string ("[ 100.0] usb 1-4: reset SuperSpeed USB device number 2 using xhci_hcd\n"
                     "[ 200.0] usb 1-4: reset SuperSpeed USB device number 2 using xhci_hcd\n"
                     "[ 300.0] usb 1-4: reset SuperSpeed USB device number 2 using xhci_hcd\n");
  g_assert_cmpuint (h->len, ==, 0);
}

static char *
reconnects (guint n)
{
  GString *s = g_string_new ("Nov 24 01:00:00 desk kernel: usb 3-1: new SuperSpeed USB device "
                             "number 2 using xhci_hcd\n");
  for (guint i = 0; i < n; i++)
    g_string_append_printf (s,
                            "Nov 24 01:00:%02u desk kernel: usb 3-1: USB disconnect, device number "
                            "%u\n"
                            "Nov 24 01:00:%02u desk kernel: usb 3-1: new SuperSpeed USB device "
                            "number %u using xhci_hcd\n",
                            1 + i * 4, 2 + i, 3 + i * 4, 3 + i);
  return g_string_free (s, FALSE);
}

static void
test_reconnect_storm (void)
{
  g_autofree char *two = reconnects (2);
  g_autoptr (GPtrArray) f2 = scan_string (two);
  g_assert_cmpuint (f2->len, ==, 0);

  g_autofree char *three = reconnects (3);
  g_autoptr (GPtrArray) f3 = scan_string (three);
  Expect e[] = { { "usb.reconnect-storm", 2, "3-1" } }; /* the first disconnect */
  assert_findings (f3, e, G_N_ELEMENTS (e), "3 reconnects");

  g_autofree char *five = reconnects (5);
  g_autoptr (GPtrArray) f5 = scan_string (five);
  assert_findings (f5, e, G_N_ELEMENTS (e), "5 reconnects");

  /* Plugging in three devices is no storm, nor are disconnects without return. */
  g_autoptr (GPtrArray) g
      = scan_string ("usb 1-1: new high-speed USB device number 2 using xhci_hcd\n"
                     "usb 1-1: new high-speed USB device number 3 using xhci_hcd\n"
                     "usb 1-1: new high-speed USB device number 4 using xhci_hcd\n"
                     "usb 1-2: USB disconnect, device number 5\n"
                     "usb 1-2: USB disconnect, device number 6\n"
                     "usb 1-2: USB disconnect, device number 7\n");
  g_assert_cmpuint (g->len, ==, 0);
}

/* ---- /dev/kmsg records ---- */

static void
test_feed_message (void)
{
  g_autoptr (PdLogScanner) s = pd_log_scanner_new ();
  const char *msg = "xhci_hcd 0000:00:14.0: HC died; cleaning up";
  g_autoptr (GPtrArray) a = pd_log_scanner_feed_message (s, msg, strlen (msg), 5000000, 1);
  g_assert_nonnull (a);
  g_assert_cmpuint (a->len, ==, 1);
  PdLogFinding *f = a->pdata[0];
  g_assert_cmpstr (f->kind->kind, ==, "usb.controller-died");
  g_assert_cmpstr (f->device, ==, "0000:00:14.0");
  g_assert_cmpint (f->timestamp_us, ==, 5000000);
  g_assert_cmpstr (f->excerpt, ==, msg);
  /* 30 s later: same incident; 61 s after that: a new one */
  g_autoptr (GPtrArray) b = pd_log_scanner_feed_message (s, msg, strlen (msg), 35000000, 2);
  g_assert_null (b);
  g_autoptr (GPtrArray) c = pd_log_scanner_feed_message (s, msg, strlen (msg), 96000001, 3);
  g_assert_nonnull (c);
  /* a message is not parsed as a line: no header is stripped */
  const char *bracket = "[drm] *ERROR* CPU pipe A FIFO underrun";
  g_autoptr (GPtrArray) d = pd_log_scanner_feed_message (s, bracket, strlen (bracket), 1, 4);
  g_assert_cmpstr (((PdLogFinding *) d->pdata[0])->excerpt, ==, bracket);
  g_assert_null (pd_log_scanner_feed_message (s, "random: crng init done", 22, 1, 5));
}

/* ---- one incident per device, counts ---- */

/* Issue 15: a codec timeout on the controller and the codec's own line are
 * one incident of the controller, not two of "0000:00:1f.3" and "hdaudioC0D2". */
static void
test_codec_is_its_controller (void)
{
  g_autoptr (GPtrArray) f = scan_string (
      "[ 5.000000] snd_hda_intel 0000:00:1f.3: bound 0000:00:02.0 (ops "
      "i915_audio_component_bind_ops)\n"
      "[ 60.000000] snd_hda_intel 0000:00:1f.3: azx_get_response timeout, switching to polling "
      "mode: last cmd=0x20270503\n"
      "[ 62.000000] snd_hda_codec_hdmi hdaudioC0D2: Unable to sync register 0x2f0d00. -11\n");
  Expect e[] = { { "audio.codec-timeout", 2, "0000:00:1f.3" } };
  assert_findings (f, e, G_N_ELEMENTS (e), "codec and controller");

  /* the codec first, before the log named its controller: its own name */
  g_autoptr (GPtrArray) g = scan_string (
      "[ 62.000000] snd_hda_codec_hdmi hdaudioC0D2: Unable to sync register 0x2f0d00. -11\n");
  Expect e2[] = { { "audio.codec-timeout", 1, "hdaudioC0D2" } };
  assert_findings (g, e2, G_N_ELEMENTS (e2), "codec alone");

  /* two controllers named: which card is C0 is not known, the codec keeps its name */
  g_autoptr (GPtrArray) h = scan_string (
      "[ 5.0] snd_hda_intel 0000:00:1f.3: enabling device (0000 -> 0002)\n"
      "[ 5.1] snd_hda_intel 0000:01:00.1: enabling device (0000 -> 0002)\n"
      "[ 60.0] snd_hda_intel 0000:00:1f.3: azx_get_response timeout, switching to polling mode\n"
      "[ 61.0] snd_hda_codec_hdmi hdaudioC0D2: Unable to sync register 0x2f0d00. -11\n");
  Expect e3[] = { { "audio.codec-timeout", 3, "0000:00:1f.3" },
                  { "audio.codec-timeout", 4, "hdaudioC0D2" } };
  assert_findings (h, e3, G_N_ELEMENTS (e3), "two controllers");
}

/* With repeats reported, every line of an incident comes back with the
 * incident's number: what scan-log counts. Without, nothing changes. */
static void
test_repeats (void)
{
  const char *text
      = "[ 100.000000] i915 0000:00:02.0: [drm] GPU HANG: ecode 9:1:85dffffb, in Xorg [766]\n"
        "[ 130.000000] i915 0000:00:02.0: [drm] GPU HANG: ecode 9:1:85dffffb, in firefox-esr "
        "[2216]\n"
        "[ 300.000000] i915 0000:00:02.0: [drm] GPU HANG: ecode 9:1:85dffffb, in mpv [3000]\n";
  g_autoptr (PdLogScanner) s = pd_log_scanner_new ();
  pd_log_scanner_set_report_repeats (s, TRUE);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint ids[3];
  gboolean repeat[3];
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (GPtrArray) f = pd_log_scanner_feed_line (s, lines[i], strlen (lines[i]), i + 1);
      g_assert_nonnull (f);
      g_assert_cmpuint (f->len, ==, 1);
      PdLogFinding *x = f->pdata[0];
      ids[i] = x->incident;
      repeat[i] = x->repeat;
      g_assert_cmpint (x->clock, ==, PD_LOG_CLOCK_BOOT);
      g_assert_cmpuint (x->hits, ==, 1);
    }
  /* 30 s apart: one incident; 170 s later: the next */
  g_assert_cmpuint (ids[0], ==, 1);
  g_assert_cmpuint (ids[1], ==, 1);
  g_assert_cmpuint (ids[2], ==, 2);
  g_assert_false (repeat[0]);
  g_assert_true (repeat[1]);
  g_assert_false (repeat[2]);

  /* a reset loop opens with the 3 resets it stands for; the 4th is a repeat */
  g_autofree char *four = resets (4, "1-4");
  g_autoptr (PdLogScanner) r = pd_log_scanner_new ();
  pd_log_scanner_set_report_repeats (r, TRUE);
  g_auto (GStrv) rl = g_strsplit (four, "\n", -1);
  guint hits = 0, opened = 0;
  for (guint i = 0; rl[i] && rl[i][0]; i++)
    {
      g_autoptr (GPtrArray) f = pd_log_scanner_feed_line (r, rl[i], strlen (rl[i]), i + 1);
      for (guint j = 0; f && j < f->len; j++)
        {
          PdLogFinding *x = f->pdata[j];
          hits += x->hits;
          opened += !x->repeat;
          g_assert_cmpuint (x->incident, ==, 1);
        }
    }
  g_assert_cmpuint (opened, ==, 1);
  g_assert_cmpuint (hits, ==, 4);

  /* off (the agent's way): one finding for the first two lines */
  g_autoptr (GPtrArray) plain_scan = scan_string (text);
  g_assert_cmpuint (plain_scan->len, ==, 2);
}

/* ---- benign text and bad input ---- */

static void
test_no_false_positives (void)
{
  g_autoptr (GPtrArray) f = scan_string (
      "[ 1.0] usb 1-4: reset high-speed USB device number 5 using xhci_hcd\n"
      "[ 1.1] i915 0000:00:02.0: [drm] Finished loading DMC firmware i915/kbl_dmc_ver1_04.bin\n"
      "[ 1.2] Resetting rcs0 on a test rig, as planned\n" /* no " for " */
      "[ 1.3] systemd[1]: fetch failed for GuC-less firmware\n"
      "[ 1.4] rt5640 i2c-10EC5640:00: Unable to sync register 0x3. -5\n"
      "[ 1.5] the door is wedged shut\n"
      "[ 1.6] r8169 0000:02:00.0: probe of something failed\n"
      "[ 1.7] xhci_hcd 0000:00:14.0: xHCI host not responding to stop endpoint command\n");
  for (guint i = 0; i < f->len; i++)
    g_printerr ("unexpected: %s %s\n", ((PdLogFinding *) f->pdata[i])->kind->kind,
                ((PdLogFinding *) f->pdata[i])->excerpt);
  g_assert_cmpuint (f->len, ==, 0);
}

static void
test_bad_input (void)
{
  g_autoptr (PdLogScanner) s = pd_log_scanner_new ();
  g_assert_null (pd_log_scanner_feed_line (s, "", 0, 1));
  g_assert_null (pd_log_scanner_feed_line (s, "\r\n", 2, 2));
  g_assert_null (pd_log_scanner_feed_line (s, NULL, 0, 3));

  /* binary garbage, with NULs and a needle inside: no crash, excerpt made valid */
  GRand *r = g_rand_new_with_seed (7);
  guint8 garbage[8192];
  for (guint i = 0; i < sizeof garbage; i++)
    garbage[i] = g_rand_int_range (r, 0, 256);
  static const char planted[] = "\xff\xfe[ 1.0] \x80usb 1-4: HC died\x00\x01";
  memcpy (garbage + 1000, planted, sizeof planted - 1);
  for (gsize off = 0; off < sizeof garbage; off += 97)
    {
      g_autoptr (GPtrArray) f = pd_log_scanner_feed_line (s, (const char *) garbage + off,
                                                          MIN (500, sizeof garbage - off), off);
      for (guint i = 0; f && i < f->len; i++)
        g_assert_true (g_utf8_validate (((PdLogFinding *) f->pdata[i])->excerpt, -1, NULL));
    }
  g_rand_free (r);

  /* invalid UTF-8 in a real message: found, excerpt valid */
  g_autoptr (PdLogScanner) s2 = pd_log_scanner_new ();
  const char *bad = "[ 2.0] usb 1-4: device descriptor read/64, error -71 \xc3\x28\xff\xfe";
  g_autoptr (GPtrArray) f = pd_log_scanner_feed_line (s2, bad, strlen (bad), 1);
  g_assert_nonnull (f);
  g_assert_true (g_utf8_validate (((PdLogFinding *) f->pdata[0])->excerpt, -1, NULL));

  /* a 1 MB line: scanned up to PD_LOG_LINE_MAX, excerpt bounded */
  gsize big = 1024 * 1024;
  char *line = g_malloc (big);
  memset (line, 'a', big);
  memcpy (line, "usb 1-9: device descriptor read/64, error -71 ", 46);
  memcpy (line + big - 100, "GPU HANG", 8); /* beyond the bound: not seen */
  g_autoptr (PdLogScanner) s3 = pd_log_scanner_new ();
  g_autoptr (GPtrArray) g = pd_log_scanner_feed_line (s3, line, big, 1);
  g_assert_nonnull (g);
  g_assert_cmpuint (g->len, ==, 1);
  g_assert_cmpstr (((PdLogFinding *) g->pdata[0])->kind->kind, ==, "usb.enumeration-failed");
  g_assert_cmpuint (strlen (((PdLogFinding *) g->pdata[0])->excerpt), <=, PD_LOG_EXCERPT_MAX);
  g_free (line);

  /* a multibyte character across the excerpt bound is cut whole */
  GString *m = g_string_new ("[ 3.0] usb 1-7: device descriptor read/64, error -71 ");
  while (m->len < 400)
    g_string_append (m, "ä");
  g_autoptr (GPtrArray) h = scan_text (m->str, m->len);
  g_assert_cmpuint (h->len, ==, 1);
  g_assert_true (g_utf8_validate (((PdLogFinding *) h->pdata[0])->excerpt, -1, NULL));
  g_string_free (m, TRUE);
}

/* ---- the CLI, as a black box ---- */

static char *
passdesk_path (void)
{
  const char *b = g_getenv ("PASSDESK_BUILDDIR");
  return g_build_filename (b ? b : PASSDESK_BUILDDIR, "agent", "cli", "passdesk", NULL);
}

/* Runs passdesk with @argv (NULL-terminated, after "passdesk"), @input on stdin. */
static int
run_cli (const char *const *args, GBytes *input, char **out, char **err)
{
  g_autofree char *exe = passdesk_path ();
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, exe);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p
      = g_subprocess_newv ((const char *const *) argv->pdata,
                           G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                               | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                           &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) obytes = NULL, ebytes = NULL;
  g_autoptr (GBytes) none = g_bytes_new_static ("", 0);
  g_subprocess_communicate (p, input ? input : none, NULL, &obytes, &ebytes, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (p));
  if (out)
    *out = g_bytes_get_size (obytes)
               ? g_strndup (g_bytes_get_data (obytes, NULL), g_bytes_get_size (obytes))
               : g_strdup ("");
  if (err)
    *err = g_bytes_get_size (ebytes)
               ? g_strndup (g_bytes_get_data (ebytes, NULL), g_bytes_get_size (ebytes))
               : g_strdup ("");
  return g_subprocess_get_exit_status (p);
}

/* passdesk with its standard output on a terminal of @cols columns. */
static char *
run_cli_pty (const char *const *args, unsigned short cols)
{
  int master, slave;
  struct winsize ws = { .ws_row = 50, .ws_col = cols };
  g_assert_cmpint (openpty (&master, &slave, NULL, NULL, &ws), ==, 0);
  g_autofree char *exe = passdesk_path ();
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, exe);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_unsetenv (l, "COLUMNS");
  g_subprocess_launcher_setenv (l, "TZ", "UTC", TRUE);
  g_subprocess_launcher_take_stdout_fd (l, slave);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p
      = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_clear_object (&l); /* our copy of the slave: the child's end closes it */
  GString *out = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  while ((n = read (master, buf, sizeof buf)) > 0)
    g_string_append_len (out, buf, n);
  close (master);
  g_subprocess_wait (p, NULL, NULL);
  g_autoptr (GRegex) cr = g_regex_new ("\r", 0, 0, NULL);
  char *text = g_regex_replace_literal (cr, out->str, -1, 0, "", 0, NULL);
  g_string_free (out, TRUE);
  return text;
}

static void
test_cli_text (void)
{
  g_autofree char *path = log_path ("dmesg-plain.log");
  g_autofree char *out = NULL;
  const char *args[] = { "scan-log", path, NULL };
  g_assert_cmpint (run_cli (args, NULL, &out, NULL), ==, 1);
  g_assert_true (g_str_has_prefix (
      out, "gpu.firmware-missing\t4\ti915 0000:01:00.0: Direct firmware load for "
           "i915/kbl_guc_70.1.1.bin failed with error -2\n"
           "audio.no-i915-binding\t7\tsnd_hda_intel 0000:01:00.1: couldn't bind with audio "
           "component\n"));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (plain) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (plain); i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 3);
      g_assert_cmpstr (f[0], ==, plain[i].kind);
      g_assert_cmpuint (atoi (f[1]), ==, plain[i].line);
    }
}

static void
test_cli_stdin (void)
{
  g_autofree char *path = log_path ("kern.log");
  g_autofree char *text = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  g_autoptr (GBytes) in = g_bytes_new (text, len);
  g_autofree char *from_file = NULL, *from_stdin = NULL, *from_dash = NULL;
  const char *a1[] = { "scan-log", path, NULL };
  const char *a2[] = { "scan-log", NULL };
  const char *a3[] = { "scan-log", "-", NULL };
  g_assert_cmpint (run_cli (a1, NULL, &from_file, NULL), ==, 1);
  g_assert_cmpint (run_cli (a2, in, &from_stdin, NULL), ==, 1);
  g_assert_cmpint (run_cli (a3, in, &from_dash, NULL), ==, 1);
  g_assert_cmpstr (from_stdin, ==, from_file);
  g_assert_cmpstr (from_dash, ==, from_file);
  g_assert_true (g_str_has_prefix (from_file, "usb.controller-died\t2\txhci_hcd 0000:00:14.0: "));
}

static void
test_cli_json (void)
{
  g_autofree char *path = log_path ("dmesg-T.log");
  g_autofree char *out = NULL;
  const char *args[] = { "scan-log", "--json", path, NULL };
  g_assert_cmpint (run_cli (args, NULL, &out, NULL), ==, 1);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (dmesg_t) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (dmesg_t); i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, &error));
      JsonObject *o = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpstr (json_object_get_string_member (o, "kind"), ==, dmesg_t[i].kind);
      g_assert_cmpint (json_object_get_int_member (o, "line"), ==, dmesg_t[i].line);
      g_assert_cmpstr (json_object_get_string_member (o, "device"), ==, dmesg_t[i].device);
      g_assert_cmpstr (json_object_get_string_member (o, "file"), ==, path);
      g_assert_true (g_str_has_prefix (json_object_get_string_member (o, "excerpt"), "usb")
                     || g_str_has_prefix (json_object_get_string_member (o, "excerpt"), "hub")
                     || g_str_has_prefix (json_object_get_string_member (o, "excerpt"), "xhci"));
      g_assert_cmpstr (json_object_get_string_member (o, "component"), ==, "usb");
      const PdLogKind *k = pd_log_kind_lookup (dmesg_t[i].kind);
      g_assert_cmpstr (json_object_get_string_member (o, "summary"), ==, k->summary);
      g_assert_cmpstr (json_object_get_string_member (o, "state"), ==,
                       pd_state_to_string (k->state));
    }
}

static void
test_cli_several_files (void)
{
  g_autofree char *a = log_path ("priority.log");
  g_autofree char *b = log_path ("journalctl-monotonic.log");
  g_autofree char *out = NULL;
  const char *args[] = { "scan-log", a, b, NULL };
  g_assert_cmpint (run_cli (args, NULL, &out, NULL), ==, 1);
  g_autofree char *want = g_strdup_printf (
      "%s\tusb.enumeration-failed\t2\tusb 1-1: device not accepting address 2, error -71\n", a);
  g_assert_true (g_str_has_prefix (out, want));
  g_autofree char *second = g_strdup_printf ("\n%s\tvfio.probe-failed\t5\t", b);
  g_assert_nonnull (strstr (out, second)); /* line numbers restart per file */
}

static void
test_cli_exit_codes (void)
{
  g_autofree char *err = NULL, *out = NULL;
  /* nothing found */
  g_autoptr (GBytes) benign = g_bytes_new_static ("[ 1.0] random: crng init done\n", 30);
  const char *plain_args[] = { "scan-log", NULL };
  g_assert_cmpint (run_cli (plain_args, benign, &out, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "");
  /* empty input */
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_assert_cmpint (run_cli (plain_args, empty, NULL, NULL), ==, 0);
  /* unreadable: a clear message, exit 2, other files still scanned */
  g_autofree char *good = log_path ("priority.log");
  const char *missing[] = { "scan-log", "/nonexistent/kern.log", good, NULL };
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (missing, NULL, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "cannot open /nonexistent/kern.log: No such file or directory"));
  g_assert_nonnull (strstr (out, "usb.enumeration-failed"));
  g_clear_pointer (&err, g_free);
  const char *dir[] = { "scan-log", LOGS_DIR, NULL };
  g_assert_cmpint (run_cli (dir, NULL, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "cannot read"));
  g_clear_pointer (&err, g_free);
  const char *bad_opt[] = { "scan-log", "--bogus", NULL };
  g_assert_cmpint (run_cli (bad_opt, NULL, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--help"));
}

static void
test_cli_help_and_lists (void)
{
  g_autofree char *out = NULL;
  const char *help[] = { "scan-log", "--help", NULL };
  g_assert_cmpint (run_cli (help, NULL, &out, NULL), ==, 0);
  static const char *const words[] = { "dmesg -T",  "journalctl",   "KIND<TAB>LINE<TAB>",
                                       "FILE<TAB>", "--list-kinds", "Exit status" };
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    if (!strstr (out, words[i]))
      g_error ("--help does not mention “%s”", words[i]);
  g_clear_pointer (&out, g_free);
  const char *kinds[] = { "scan-log", "--list-kinds", NULL };
  g_assert_cmpint (run_cli (kinds, NULL, &out, NULL), ==, 0);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint n;
  pd_log_kinds (&n);
  g_assert_cmpuint (g_strv_length (lines), ==, n + 1);
  g_clear_pointer (&out, g_free);
  const char *pats[] = { "scan-log", "--list-patterns", NULL };
  g_assert_cmpint (run_cli (pats, NULL, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "disabled by hub \\(EMI\\?\\)\n"));
}

static void
test_cli_bad_input (void)
{
  /* binary garbage then a 3 MB line (longer than a read chunk), then an incident on line 3 */
  GByteArray *b = g_byte_array_new ();
  GRand *r = g_rand_new_with_seed (11);
  for (guint i = 0; i < 65536; i++)
    {
      guint8 c = g_rand_int_range (r, 0, 256);
      if (c == '\n')
        c = 0;
      g_byte_array_append (b, &c, 1);
    }
  g_rand_free (r);
  g_byte_array_append (b, (const guint8 *) "\n", 1);
  for (guint i = 0; i < 3 * 1024 * 1024 / 64; i++)
    g_byte_array_append (
        b, (const guint8 *) "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde ", 64);
  g_byte_array_append (b, (const guint8 *) "usb 1-1: HC died\n",
                       17); /* end of the long line: not seen */
  const char *inc = "[ 5.0] xhci_hcd 0000:00:14.0: HC died; cleaning up\r\n";
  g_byte_array_append (b, (const guint8 *) inc, strlen (inc));
  g_autoptr (GBytes) in = g_byte_array_free_to_bytes (b);
  g_autofree char *out = NULL;
  const char *args[] = { "scan-log", NULL };
  g_assert_cmpint (run_cli (args, in, &out, NULL), ==, 1);
  g_assert_cmpstr (out, ==,
                   "usb.controller-died\t3\txhci_hcd 0000:00:14.0: HC died; cleaning up\n");
}

/* Issue 15: the text form says what each incident is in words, how often
 * and when, what it means and what to do; two GPU hangs 30 s apart in two
 * programs are one incident counted twice that names both. */
static void
test_cli_words (void)
{
  static const char log[]
      = "[  100.000000] i915 0000:00:02.0: [drm] GPU HANG: ecode 9:1:85dffffb, in Xorg [766]\n"
        "[  100.000100] i915 0000:00:02.0: [drm] Resetting rcs0 for stopped heartbeat on rcs0\n"
        "[  130.000000] i915 0000:00:02.0: [drm] GPU HANG: ecode 9:1:85dffffb, in firefox-esr "
        "[2216]\n"
        "[  140.000000] snd_hda_intel 0000:00:1f.3: azx_get_response timeout, switching to "
        "polling mode: last cmd=0x20270503\n"
        "[  141.000000] snd_hda_codec_hdmi hdaudioC0D2: Unable to sync register 0x2f0d00. -11\n";
  g_autoptr (GBytes) in = g_bytes_new_static (log, sizeof log - 1);
  g_autofree char *out = NULL;
  const char *args[] = { "scan-log", "--format=text", NULL };
  g_assert_cmpint (run_cli (args, in, &out, NULL), ==, 1);
  /* a pipe: no wrapping, one line per part */
  g_assert_nonnull (strstr (out, "GPU hang on 0000:00:02.0: 3 times, 1 min 40 s to 2 min 10 s "
                                 "after boot (lines 1 to 3)\n"));
  g_assert_nonnull (strstr (out, "Programs: Xorg, firefox-esr."));
  g_assert_nonnull (strstr (out, "The GPU hung and the driver reset an engine or context."));
  g_assert_nonnull (strstr (out, "Kernel log: i915 0000:00:02.0: [drm] GPU HANG"));
  /* the codec's line is the controller's incident: one, counted twice */
  g_assert_nonnull (strstr (out, "HD-Audio codec not answering on 0000:00:1f.3: 2 times"));
  g_assert_null (strstr (out, "hdaudioC0D2:")); /* no incident of its own */
  g_assert_nonnull (strstr (out, "What to do: "));
  g_assert_null (strstr (out, "\t"));
  g_assert_null (strstr (out, "gpu.hang"));

  /* a host log in words, with the fix on the host */
  g_autofree char *path = log_path ("proxmox-host.log");
  g_autofree char *host_out = NULL;
  const char *hargs[] = { "scan-log", "--format", "text", path, NULL };
  g_assert_cmpint (run_cli (hargs, NULL, &host_out, NULL), ==, 1);
  g_assert_nonnull (strstr (host_out, "on 0000:00:02.0: 3 times, 08:15:41 to 08:15:42 (lines 13 "
                                      "to 15)\n"));
  g_assert_nonnull (strstr (host_out, "initcall_blacklist=sysfb_init"));
  g_assert_nonnull (strstr (host_out, "Kernel log: vfio-pci 0000:00:02.0: BAR 2: can't reserve"));
  g_assert_nonnull (
      strstr (host_out, "IOMMU fault (DMAR, host) on 0000:00:1f.3: once, at 08:15:44"));

  /* nothing found: said so */
  g_autoptr (GBytes) benign = g_bytes_new_static ("[ 1.0] random: crng init done\n", 30);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (args, benign, &out, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "No known problem found.\n");
}

/* On a terminal the default is the text form, wrapped to its width;
 * piped, the TSV (tested above); --tsv and --format=tsv|json choose. */
static void
test_cli_formats (void)
{
  g_autofree char *path = log_path ("dmesg-plain.log");
  const char *plain_args[] = { "scan-log", path, NULL };
  g_autofree char *tty = run_cli_pty (plain_args, 80);
  g_assert_nonnull (strstr (tty, "GPU hang on 0000:01:00.0: 3 times"));
  g_assert_null (strstr (tty, "\t"));
  g_auto (GStrv) lines = g_strsplit (tty, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_utf8_strlen (lines[i], -1) > 80)
      g_error ("wider than the terminal: “%s”", lines[i]);

  g_autofree char *piped = NULL, *tsv = NULL, *tsv2 = NULL, *json = NULL, *json2 = NULL;
  const char *a_tsv[] = { "scan-log", "--tsv", path, NULL };
  const char *a_tsv2[] = { "scan-log", "--format=tsv", path, NULL };
  const char *a_json[] = { "scan-log", "--json", path, NULL };
  const char *a_json2[] = { "scan-log", "--format=json", path, NULL };
  run_cli (plain_args, NULL, &piped, NULL);
  run_cli (a_tsv, NULL, &tsv, NULL);
  run_cli (a_tsv2, NULL, &tsv2, NULL);
  run_cli (a_json, NULL, &json, NULL);
  run_cli (a_json2, NULL, &json2, NULL);
  g_assert_cmpstr (piped, ==, tsv);
  g_assert_cmpstr (tsv2, ==, tsv);
  g_assert_cmpstr (json2, ==, json);
  /* --tsv on a terminal is the TSV */
  const char *tty_tsv[] = { "scan-log", "--tsv", path, NULL };
  g_autofree char *t2 = run_cli_pty (tty_tsv, 80);
  g_assert_cmpstr (t2, ==, tsv);
  /* JSON carries the heading and the next step too */
  g_assert_nonnull (strstr (json, "\"title\":\"GPU hang\""));
  g_assert_nonnull (strstr (json, "\"next_step\":"));

  g_autofree char *err = NULL;
  const char *bad[] = { "scan-log", "--format=xml", path, NULL };
  g_assert_cmpint (run_cli (bad, NULL, NULL, &err), ==, 2);
  g_assert_nonnull (strstr (err, "Try 'passdesk scan-log --help'."));
  g_clear_pointer (&err, g_free);
  const char *both[] = { "scan-log", "--tsv", "--json", path, NULL };
  g_assert_cmpint (run_cli (both, NULL, NULL, &err), ==, 2);
}

static void
add_api_tests (void)
{
  g_test_add_func ("/logscan/kinds", test_kinds);
  for (guint i = 0; i < G_N_ELEMENTS (format_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/logscan/format/%s", format_cases[i].file);
      g_test_add_data_func (name, &format_cases[i], test_format);
    }
  g_test_add_func ("/logscan/timestamps", test_timestamps);
  g_test_add_func ("/logscan/burst/same-device-within-a-minute", test_burst_same_device);
  g_test_add_func ("/logscan/burst/different-devices", test_burst_different_devices);
  g_test_add_func ("/logscan/burst/after-a-minute", test_burst_after_a_minute);
  g_test_add_func ("/logscan/burst/without-timestamps", test_burst_without_timestamps);
  g_test_add_func ("/logscan/usb/reset-loop", test_reset_loop);
  g_test_add_func ("/logscan/usb/reconnect-storm", test_reconnect_storm);
  g_test_add_func ("/logscan/feed-message", test_feed_message);
  g_test_add_func ("/logscan/codec-is-its-controller", test_codec_is_its_controller);
  g_test_add_func ("/logscan/repeats", test_repeats);
  g_test_add_func ("/logscan/no-false-positives", test_no_false_positives);
  g_test_add_func ("/logscan/bad-input", test_bad_input);
}

static void
add_cli_tests (void)
{
  g_test_add_func ("/logscan/cli/text", test_cli_text);
  g_test_add_func ("/logscan/cli/stdin", test_cli_stdin);
  g_test_add_func ("/logscan/cli/json", test_cli_json);
  g_test_add_func ("/logscan/cli/several-files", test_cli_several_files);
  g_test_add_func ("/logscan/cli/exit-codes", test_cli_exit_codes);
  g_test_add_func ("/logscan/cli/help-and-lists", test_cli_help_and_lists);
  g_test_add_func ("/logscan/cli/bad-input", test_cli_bad_input);
  g_test_add_func ("/logscan/cli/words", test_cli_words);
  g_test_add_func ("/logscan/cli/formats", test_cli_formats);
}

/* Meson runs this program twice: the C API (unit, "--api") and the CLI
 * (integration, "--cli"); without either flag, everything runs. */
int
main (int argc, char **argv)
{
  gboolean api = TRUE, cli = TRUE;
  int n = 1;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--api") == 0)
        cli = FALSE;
      else if (strcmp (argv[i], "--cli") == 0)
        api = FALSE;
      else
        argv[n++] = argv[i];
    }
  argc = n;
  argv[argc] = NULL;
  g_test_init (&argc, &argv, NULL);
  if (api)
    add_api_tests ();
  if (cli)
    add_cli_tests ();
  return g_test_run ();
}
