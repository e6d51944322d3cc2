/* test-status-cli.c - the built `passdesk status` run against each fixture
 * tree (PASSDESK_SYSROOT): exit codes, table text and JSON.
 *
 * The system bus is pointed at a socket that does not exist: the CLI will
 * first ask the agent there and fall back to checking in-process.
 */
#include <json-glib/json-glib.h>
#include <pty.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "detail-keys.h"
#include "health.h"

typedef struct
{
  int exit_status;
  char *out;
  char *err;
} RunResult;

static void
run_result_clear (RunResult *r)
{
  g_free (r->out);
  g_free (r->err);
}

static char *
fixture_path (const char *machine)
{
  const char *dir = g_getenv ("PASSDESK_TEST_FIXTURES");
  g_assert_nonnull (dir);
  return g_build_filename (dir, machine, NULL);
}

/* Runs passdesk with @args (NULL-terminated) on fixture @machine. */
static RunResult
run_passdesk (const char *machine, const char *const *args)
{
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  g_assert_nonnull (builddir);
  g_autofree char *exe = g_build_filename (builddir, "agent", "cli", "passdesk", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, exe);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autofree char *root = fixture_path (machine);
  g_assert_true (g_file_test (root, G_FILE_TEST_IS_DIR));
  g_subprocess_launcher_setenv (launcher, "PASSDESK_SYSROOT", root, TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent",
                                TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);

  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc
      = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  RunResult r = { 0 };
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &r.out, &r.err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  r.exit_status = g_subprocess_get_exit_status (proc);
  return r;
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("output does not contain “%s”:\n%s", needle, haystack ? haystack : "(null)");
}

/* The table line of a component: "GPU    failed   summary". */
static void
assert_table_row (const char *out, const char *title, const char *state, const char *summary)
{
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (!g_str_has_prefix (lines[i], title))
        continue;
      g_auto (GStrv) words = g_strsplit_set (lines[i] + strlen (title), " ", -1);
      const char *first = NULL;
      for (guint k = 0; words[k] && first == NULL; k++)
        if (*words[k])
          first = words[k];
      if (g_strcmp0 (first, state) == 0 && strstr (lines[i], summary))
        return;
    }
  g_error ("no row “%s  %s  …%s…” in:\n%s", title, state, summary, out);
}

static PdReport *
parse_report (const char *json)
{
  g_autoptr (GError) error = NULL;
  PdReport *report = pd_report_from_json_string (json, &error);
  g_assert_no_error (error);
  g_assert_nonnull (report);
  return report;
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

/* One fixture: what the table and the JSON must say. */
typedef struct
{
  const char *machine;
  PdState gpu;
  const char *gpu_summary;
  const char *gpu_advice; /* a piece of some advice, or NULL for none at all */
  PdState display;
  const char *display_summary;
  const char *display_advice;
} Case;

static const Case cases[] = {
  { "esprimo", PD_STATE_OK, "Intel HD Graphics 630 (Kaby Lake GT2) on i915", NULL, PD_STATE_OK,
    "HDMI-A-1 connected, enabled, 1920x1080", NULL },
  { "n100", PD_STATE_OK, "Intel UHD Graphics (Alder Lake-N) on i915", NULL, PD_STATE_OK,
    "DP-1 connected, enabled, 2560x1440", NULL },
  { "no-gpu", PD_STATE_FAILED, "No GPU was passed through", "qm set 100 --hostpci0",
    PD_STATE_UNKNOWN, "no passed-through GPU", NULL },
  { "vfio-bound", PD_STATE_FAILED, "bound to vfio-pci inside the guest",
    "/etc/modprobe.d/vfio.conf", PD_STATE_UNKNOWN, "no working driver", NULL },
  { "no-driver", PD_STATE_FAILED, "has no kernel driver bound", "sudo modprobe i915",
    PD_STATE_UNKNOWN, "no working driver", NULL },
  { "no-render-node", PD_STATE_FAILED, "/dev/dri/renderD128 is missing", "udevadm trigger",
    PD_STATE_OK, "HDMI-A-1 connected", NULL },
  { "all-disconnected", PD_STATE_OK, "on i915", NULL, PD_STATE_DEGRADED, "No monitor is connected",
    "cable" },
  { "unidentified", PD_STATE_UNKNOWN, "could not be identified", "lspci -nnk", PD_STATE_UNKNOWN,
    "no passed-through GPU", NULL },
  { "malformed", PD_STATE_OK, "on i915", NULL, PD_STATE_UNKNOWN,
    "Cannot tell whether a monitor is connected", NULL },
};

static void
check_component (const PdReport *report, PdComponentId id, PdState state, const char *summary,
                 const char *advice)
{
  const PdComponent *c = pd_report_get (report, id);
  g_assert_nonnull (c);
  g_assert_cmpstr (pd_state_to_string (c->state), ==, pd_state_to_string (state));
  assert_contains (c->summary, summary);
  if (advice)
    g_assert_true (has_advice (c, advice));
  else if (state == PD_STATE_OK)
    g_assert_cmpuint (c->advice->len, ==, 0);
}

/* The exit status the issue asks for: 0 unless something is degraded or
 * failed (the VA probe is skipped here, so vaapi is always unknown). */
static void
check_exit (const Case *tc, int exit_status)
{
  /* Audio is read in-process too: a tree without /proc/asound has no sound
   * card, and that is a failure of its own. */
  g_autofree char *asound
      = g_build_filename (g_getenv ("PASSDESK_TEST_FIXTURES"), tc->machine, "proc", "asound", NULL);
  gboolean problem = tc->gpu >= PD_STATE_DEGRADED || tc->display >= PD_STATE_DEGRADED
                     || !g_file_test (asound, G_FILE_TEST_IS_DIR);
  if (problem)
    {
      g_assert_cmpint (exit_status, ==, 1);
      return;
    }
  g_assert_cmpint (exit_status, ==, 0);
}

static void
test_fixture_text (gconstpointer data)
{
  const Case *tc = data;
  const char *args[] = { "status", "--no-vaprobe", NULL };
  RunResult r = run_passdesk (tc->machine, args);
  assert_table_row (r.out, "GPU", pd_state_to_string (tc->gpu), tc->gpu_summary);
  assert_table_row (r.out, "Display", pd_state_to_string (tc->display), tc->display_summary);
  assert_table_row (r.out, "Video acceleration", "unknown", "skipped");
  if (tc->gpu_advice)
    assert_contains (r.out, tc->gpu_advice);
  if (tc->display_advice)
    assert_contains (r.out, tc->display_advice);
  /* Not a terminal: no colour codes. */
  g_assert_null (strchr (r.out, '\033'));
  g_assert_cmpstr (r.err, ==, "");
  check_exit (tc, r.exit_status);
  run_result_clear (&r);
}

static void
test_fixture_json (gconstpointer data)
{
  const Case *tc = data;
  const char *args[] = { "status", "--json", "--no-vaprobe", NULL };
  RunResult r = run_passdesk (tc->machine, args);
  g_autoptr (PdReport) report = parse_report (r.out);
  check_component (report, PD_COMPONENT_GPU, tc->gpu, tc->gpu_summary, tc->gpu_advice);
  check_component (report, PD_COMPONENT_DISPLAY, tc->display, tc->display_summary,
                   tc->display_advice);
  const PdComponent *va = pd_report_get (report, PD_COMPONENT_VAAPI);
  g_assert_nonnull (va);
  g_assert_cmpint (va->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpstr (report->source, ==, "in-process");
  g_assert_cmpstr (r.err, ==, "");
  check_exit (tc, r.exit_status);
  /* Issue 15: every summary starts like a sentence, with a capital (or a
   * digit or a name such as "HDMI-A-1"), never lower-case. */
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (report->components[i])
      {
        const char *sum = report->components[i]->summary;
        if (g_unichar_islower (g_utf8_get_char (sum)))
          g_error ("%s: the %s summary starts in lower case: “%s”", tc->machine,
                   pd_component_id_to_string (i), sum);
      }
  /* Every detail key is declared in agent/core/detail-keys.c. */
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    for (guint k = 0; report->components[i] && k < report->components[i]->details->len; k++)
      {
        const PdDetail *d = report->components[i]->details->pdata[k];
        g_test_message ("%s: %s", pd_component_id_to_string (i), d->key);
        g_assert_true (pd_detail_key_is_known (d->key));
      }
  run_result_clear (&r);
}

/* The details the issue names, through the JSON. */
static void
test_esprimo_details (void)
{
  const char *args[] = { "status", "--json", "--no-vaprobe", NULL };
  RunResult r = run_passdesk ("esprimo", args);
  g_autoptr (PdReport) report = parse_report (r.out);
  const PdComponent *gpu = pd_report_get (report, PD_COMPONENT_GPU);
  g_assert_cmpstr (pd_component_get_detail (gpu, "pci-slot"), ==, "0000:00:02.0");
  g_assert_cmpstr (pd_component_get_detail (gpu, "ids"), ==, "8086:5912");
  g_assert_cmpstr (pd_component_get_detail (gpu, "driver"), ==, "i915");
  g_assert_cmpstr (pd_component_get_detail (gpu, "card"), ==, "/dev/dri/card0");
  g_assert_cmpstr (pd_component_get_detail (gpu, "render-node"), ==, "/dev/dri/renderD128");
  const PdComponent *display = pd_report_get (report, PD_COMPONENT_DISPLAY);
  g_assert_cmpstr (pd_component_get_detail (display, "HDMI-A-1"), ==,
                   "connected, enabled, 1920x1080");
  g_assert_cmpstr (pd_component_get_detail (display, "DP-1"), ==, "disconnected");
  run_result_clear (&r);
}

/* Without the agent, what can be read in-process is (USB from sysfs, the
 * host channel's presence), and the rest is named as needing the agent. */
static void
test_without_agent_reads_more (void)
{
  const char *args[] = { "status", "--no-vaprobe", NULL };
  RunResult r = run_passdesk ("esprimo", args);
  assert_table_row (r.out, "Audio", "ok", "HDMI audio on DELL P2419H");
  assert_table_row (r.out, "USB", "ok", "2 USB devices on 2 controllers");
  assert_table_row (r.out, "Host link", "unknown", "No host channel configured");
  assert_contains (r.out, "passdesk-hostd setup VMID");
  assert_contains (r.out, "Without the running agent, these are not checked: the kernel log");
  run_result_clear (&r);

  const char *json_args[] = { "status", "--json", "--no-vaprobe", NULL };
  r = run_passdesk ("esprimo", json_args);
  g_autoptr (PdReport) report = parse_report (r.out);
  const PdComponent *usb = pd_report_get (report, PD_COMPONENT_USB);
  g_assert_nonnull (usb);
  g_assert_cmpstr (pd_component_get_detail (usb, "1-4"), ==, "046d:c52b USB Receiver, 12 Mbit/s");
  g_assert_cmpstr (pd_component_get_detail (usb, "1-5"), ==, "0b0e:245e Jabra Link 370, 12 Mbit/s");
  const PdComponent *audio = pd_report_get (report, PD_COMPONENT_AUDIO);
  g_assert_nonnull (audio);
  g_assert_cmpstr (pd_component_get_detail (audio, "hdmi-codec-present"), ==, "yes");
  g_assert_nonnull (pd_report_get (report, PD_COMPONENT_HOSTLINK));
  run_result_clear (&r);

  /* No sound card at all: said, not left out (and a problem: exit 1). */
  r = run_passdesk ("esprimo-no-sound-card", args);
  assert_table_row (r.out, "Audio", "failed", "");
  g_assert_cmpint (r.exit_status, ==, 1);
  run_result_clear (&r);

  /* A machine whose sysfs has no USB bus says so rather than leaving it out. */
  r = run_passdesk ("n100", args);
  assert_table_row (r.out, "USB", "unknown", "No USB bus in sysfs");
  run_result_clear (&r);
}

/* What CI (no Intel GPU) sees: a plain sentence and exit 1. */
static void
test_no_gpu_plainly (void)
{
  const char *args[] = { "status", "--no-vaprobe", NULL };
  RunResult r = run_passdesk ("no-gpu", args);
  g_assert_cmpint (r.exit_status, ==, 1);
  assert_contains (r.out, "No GPU was passed through");
  assert_contains (r.out, "qm set 100 --hostpci0 0000:00:02.0");
  assert_contains (r.out, "qm set 100 --hostpci0 0000:00:02,pcie=1,x-vga=1");
  assert_contains (r.out, "Overall: failed");
  run_result_clear (&r);
}

/* Runs passdesk on fixture @machine with its output on a terminal of @cols
 * columns (a pty); @columns_env sets $COLUMNS (NULL: unset). */
static char *
run_on_pty (const char *machine, const char *const *args, unsigned short cols,
            const char *columns_env)
{
  int master, slave;
  struct winsize ws = { .ws_row = 50, .ws_col = cols };
  g_assert_cmpint (openpty (&master, &slave, NULL, NULL, &ws), ==, 0);
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  g_autofree char *exe = g_build_filename (builddir, "agent", "cli", "passdesk", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, exe);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autofree char *root = fixture_path (machine);
  g_subprocess_launcher_setenv (launcher, "PASSDESK_SYSROOT", root, TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent",
                                TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  if (columns_env)
    g_subprocess_launcher_setenv (launcher, "COLUMNS", columns_env, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "COLUMNS");
  g_subprocess_launcher_take_stdout_fd (launcher, slave);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc
      = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_clear_object (&launcher); /* closes our copy of the slave: EOF (EIO) when the child ends */
  GString *out = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  while ((n = read (master, buf, sizeof buf)) > 0)
    g_string_append_len (out, buf, n);
  close (master);
  g_subprocess_wait (proc, NULL, NULL);
  /* the pty turns \n into \r\n; colours are escapes of no width */
  g_autoptr (GRegex) esc = g_regex_new ("\033\\[[0-9;]*m|\r", 0, 0, NULL);
  char *plain = g_regex_replace_literal (esc, out->str, -1, 0, "", 0, NULL);
  g_string_free (out, TRUE);
  return plain;
}

/* The widest line; command lines (indented 25, under their advice) and
 * `code` are never broken and do not count when @skip_commands. */
static guint
longest_line_full (const char *text, gboolean skip_commands)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint max = 0;
  for (guint i = 0; lines[i]; i++)
    {
      /* at a narrow width a `code span` longer than the room stays whole */
      if (skip_commands && (strspn (lines[i], " ") == 25 || strchr (lines[i], '`')))
        continue;
      max = MAX (max, (guint) g_utf8_strlen (lines[i], -1));
    }
  return max;
}

static guint
longest_line (const char *text)
{
  return longest_line_full (text, FALSE);
}

/* Issue 15: on a terminal, status wraps summaries and advice to its width
 * (continued lines indented); a pipe keeps one record per line. */
static void
test_wraps_on_terminal (void)
{
  const char *args[] = { "status", "--local", "--no-vaprobe", NULL };
  RunResult piped = run_passdesk ("no-gpu", args);
  g_assert_cmpuint (longest_line (piped.out), >, 150); /* the advice runs long */

  g_autofree char *tty80 = run_on_pty ("no-gpu", args, 80, NULL);
  if (longest_line (tty80) > 80)
    g_error ("a line is wider than the 80-column terminal:\n%s", tty80);
  /* nothing lost: the words are the same, only the line breaks differ */
  g_autoptr (GRegex) ws = g_regex_new ("\\s+", 0, 0, NULL);
  g_autofree char *a = g_regex_replace_literal (ws, piped.out, -1, 0, " ", 0, NULL);
  g_autofree char *b = g_regex_replace_literal (ws, tty80, -1, 0, " ", 0, NULL);
  g_assert_cmpstr (g_strstrip (a), ==, g_strstrip (b));
  /* a continued summary line starts under the summary's first word */
  assert_contains (tty80, "\n                               ");
  /* `lspci -nnk -s 00:02.0` in a sentence is not broken apart */
  assert_contains (tty80, "`lspci -nnk`");

  g_autofree char *tty60 = run_on_pty ("no-gpu", args, 132, "60");
  g_assert_cmpuint (longest_line_full (tty60, TRUE), <=, 60);
  g_autofree char *tty132 = run_on_pty ("no-gpu", args, 132, NULL);
  g_assert_cmpuint (longest_line (tty132), <=, 132);
  g_assert_cmpuint (longest_line (tty132), >, 100);
  run_result_clear (&piped);
}

/* Issue 15: -V, `help COMMAND`, and usage errors that point at --help. */
static void
test_help_and_version (void)
{
  const char *v[] = { "-V", NULL };
  RunResult r = run_passdesk ("esprimo", v);
  g_assert_cmpint (r.exit_status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "passdesk "));
  const char *version[] = { "--version", NULL };
  RunResult r2 = run_passdesk ("esprimo", version);
  g_assert_cmpstr (r.out, ==, r2.out);
  run_result_clear (&r);
  run_result_clear (&r2);

  const char *help_status[] = { "help", "status", NULL };
  const char *status_help[] = { "status", "--help", NULL };
  r = run_passdesk ("esprimo", help_status);
  r2 = run_passdesk ("esprimo", status_help);
  g_assert_cmpint (r.exit_status, ==, 0);
  g_assert_cmpstr (r.out, ==, r2.out);
  assert_contains (r.out, "--no-vaprobe");
  run_result_clear (&r);
  run_result_clear (&r2);

  const char *const bad[][4] = {
    { "status", "--bogus", NULL },       { "scan-log", "--jsn", NULL },
    { "watch", "--bogus", NULL },        { "events", "extra", NULL },
    { "cold-restart", "--bogus", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      r = run_passdesk ("esprimo", bad[i]);
      g_assert_cmpint (r.exit_status, ==, 2);
      g_autofree char *want = g_strdup_printf ("\nTry 'passdesk %s --help'.\n", bad[i][0]);
      assert_contains (r.err, want);
      run_result_clear (&r);
    }
  const char *const top[][3] = { { "frob", NULL }, { "--bogus", NULL }, { "help", "frob", NULL } };
  for (guint i = 0; i < G_N_ELEMENTS (top); i++)
    {
      r = run_passdesk ("esprimo", top[i]);
      g_assert_cmpint (r.exit_status, ==, 2);
      assert_contains (r.err, "Try 'passdesk --help'.");
      run_result_clear (&r);
    }
}

/* The long options a --help lists ("  --json  ...", "  -V, --version"). */
static GPtrArray *
options_of (const char *help)
{
  GPtrArray *opts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GRegex) re
      = g_regex_new ("^\\s+(?:-[A-Za-z], )?(--[a-z][a-z-]*)", G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) m = NULL;
  g_regex_match (re, help, 0, &m);
  while (g_match_info_matches (m))
    {
      char *o = g_match_info_fetch (m, 1);
      if (strcmp (o, "--help") == 0 || g_str_has_prefix (o, "--help-"))
        g_free (o);
      else
        g_ptr_array_add (opts, o);
      g_match_info_next (m, NULL);
    }
  return opts;
}

static char *
man_page (const char *name)
{
  g_autofree char *path
      = g_build_filename (g_getenv ("PASSDESK_TEST_FIXTURES"), "..", "..", "data", name, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* "--no-hotplug" as roff writes it: "\-\-no\-hotplug". */
static char *
roff_option (const char *opt)
{
  g_auto (GStrv) parts = g_strsplit (opt, "-", -1);
  return g_strjoinv ("\\-", parts);
}

/* Issue 15: the man pages name every option the programs take: passdesk(1)
 * each command's and -V/--version; passdesk-agent(8) in its synopsis. */
static void
test_man_pages_name_every_option (void)
{
  g_autofree char *page = man_page ("passdesk.1");
  static const char *const commands[] = { "status", "scan-log", "watch", "events", "cold-restart" };
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      const char *args[] = { commands[i], "--help", NULL };
      RunResult r = run_passdesk ("esprimo", args);
      g_autoptr (GPtrArray) opts = options_of (r.out);
      g_assert_cmpuint (opts->len, >, 0);
      for (guint k = 0; k < opts->len; k++)
        {
          g_autofree char *roff = roff_option (opts->pdata[k]);
          if (!strstr (page, roff))
            g_error ("passdesk.1 does not mention %s of %s", (char *) opts->pdata[k], commands[i]);
        }
      run_result_clear (&r);
    }
  g_assert_nonnull (strstr (page, "\\-V"));
  g_assert_nonnull (strstr (page, "\\-\\-version"));
  g_assert_nonnull (strstr (page, ".B passdesk help"));

  g_autofree char *agent_page = man_page ("passdesk-agent.8");
  const char *synopsis = strstr (agent_page, ".SH SYNOPSIS");
  const char *synopsis_end = synopsis ? strstr (synopsis, ".SH DESCRIPTION") : NULL;
  g_assert_nonnull (synopsis_end);
  g_autofree char *syn = g_strndup (synopsis, synopsis_end - synopsis);
  const char *options_sec = strstr (agent_page, ".SH OPTIONS");
  g_assert_nonnull (options_sec);
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  g_autofree char *agent = g_build_filename (builddir, "agent", "daemon", "passdesk-agent", NULL);
  g_autofree char *help = NULL;
  g_autoptr (GError) error = NULL;
  const char *argv[] = { agent, "--help", NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               &help, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GPtrArray) opts = options_of (help);
  g_assert_cmpuint (opts->len, >=, 7);
  for (guint k = 0; k < opts->len; k++)
    {
      g_autofree char *roff = roff_option (opts->pdata[k]);
      if (!strstr (syn, roff) || !strstr (options_sec, roff))
        g_error ("passdesk-agent.8 does not name %s in SYNOPSIS and OPTIONS",
                 (char *) opts->pdata[k]);
    }
}

static void
test_usage_errors (void)
{
  const char *const bad[][4] = {
    { "status", "--bogus", NULL },
    { "status", "extra-argument", NULL },
    { "status", "--timeout", "9999", NULL },
    { "status", "--timeout", "soon", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      RunResult r = run_passdesk ("esprimo", bad[i]);
      g_assert_cmpint (r.exit_status, ==, 2);
      g_assert_cmpstr (r.out, ==, "");
      assert_contains (r.err, "passdesk status:");
      run_result_clear (&r);
    }
  const char *help[] = { "status", "--help", NULL };
  RunResult r = run_passdesk ("esprimo", help);
  g_assert_cmpint (r.exit_status, ==, 0);
  assert_contains (r.out, "--json");
  assert_contains (r.out, "--no-vaprobe");
  run_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("/status-cli/text/%s", cases[i].machine);
      g_autofree char *json = g_strdup_printf ("/status-cli/json/%s", cases[i].machine);
      g_test_add_data_func (text, &cases[i], test_fixture_text);
      g_test_add_data_func (json, &cases[i], test_fixture_json);
    }
  g_test_add_func ("/status-cli/esprimo-details", test_esprimo_details);
  g_test_add_func ("/status-cli/no-gpu-plainly", test_no_gpu_plainly);
  g_test_add_func ("/status-cli/without-agent-reads-more", test_without_agent_reads_more);
  g_test_add_func ("/status-cli/usage-errors", test_usage_errors);
  g_test_add_func ("/status-cli/wraps-on-terminal", test_wraps_on_terminal);
  g_test_add_func ("/status-cli/help-and-version", test_help_and_version);
  g_test_add_func ("/status-cli/man-pages-name-every-option", test_man_pages_name_every_option);
  return g_test_run ();
}
