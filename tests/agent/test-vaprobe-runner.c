/* test-vaprobe-runner.c - the VA probe runner against fake children that
 * hang, crash, exit non-zero, print garbage or flood, and print valid
 * reports; the real passdesk-vaprobe on this machine (no GPU). */
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sysroot.h"
#include "vaapi-check.h"
#include "vaprobe-report.h"
#include "vaprobe-runner.h"

static char *orig_asan_options;

static const char ok_report[]
    = "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"status\":\"ok\",\"error\":null,"
      "\"device\":\"/dev/dri/renderD129\",\"user\":\"nobody\",\"va_api_version\":\"1.17\","
      "\"vendor\":\"Intel iHD driver for Intel(R) Gen Graphics - 23.1.1 ()\",\"driver\":\"iHD\","
      "\"driver_path\":\"/usr/lib/x86_64-linux-gnu/dri/iHD_drv_video.so\","
      "\"decode\":[\"H.264\",\"HEVC\",\"HEVC 10-bit\",\"VP9\",\"AV1\",\"JPEG\"],"
      "\"encode\":[\"H.264\",\"HEVC\",\"JPEG\"],\"video_processing\":true,\"profiles\":{},"
      "\"functional_test\":{\"name\":\"vpp-scale-nv12\",\"ran\":true,\"passed\":true,"
      "\"duration_ms\":2.5,\"message\":\"fine\"},\"duration_ms\":40.5}";

typedef struct
{
  char *tmpdir;
  char *fake;
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  g_assert_nonnull (builddir);
  fx->fake = g_build_filename (builddir, "tests", "fakes", "fake-vaprobe", NULL);
  g_assert_true (g_file_test (fx->fake, G_FILE_TEST_IS_EXECUTABLE));
  fx->tmpdir = g_dir_make_tmp ("vaprobe-runner-XXXXXX", NULL);
  g_assert_nonnull (fx->tmpdir);
  g_setenv ("PASSDESK_VAPROBE", fx->fake, TRUE);
  g_unsetenv ("FAKE_VAPROBE_EXIT");
  g_unsetenv ("FAKE_VAPROBE_ARGS");
  g_unsetenv ("FAKE_VAPROBE_PIDFILE");
  g_unsetenv ("FAKE_VAPROBE_JSON");
}

static void
rm_rf (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, n, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  rm_rf (fx->tmpdir);
  g_free (fx->tmpdir);
  g_free (fx->fake);
  g_unsetenv ("PASSDESK_VAPROBE");
}

static void
on_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (res);
}

/* Runs the runner on the default context, as the agent's main loop would. */
static PdVaprobeResult *
run_probe (const char *device, guint timeout_ms, GCancellable *cancel, GError **error,
           gint64 *elapsed_ms)
{
  GAsyncResult *res = NULL;
  gint64 t0 = g_get_monotonic_time ();
  pd_vaprobe_run_async (device, timeout_ms, cancel, on_done, &res);
  while (res == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (elapsed_ms)
    *elapsed_ms = (g_get_monotonic_time () - t0) / 1000;
  PdVaprobeResult *r = pd_vaprobe_run_finish (res, error);
  g_object_unref (res);
  return r;
}

static PdVaprobeResult *
run_mode (const char *mode, guint timeout_ms, gint64 *elapsed_ms)
{
  g_setenv ("FAKE_VAPROBE_MODE", mode, TRUE);
  g_autoptr (GError) error = NULL;
  PdVaprobeResult *r = run_probe ("/dev/dri/renderD128", timeout_ms, NULL, &error, elapsed_ms);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

/* Gone, or a zombie nobody has reaped yet: either way it runs no more. */
static gboolean
process_gone (int pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
    return TRUE;
  const char *close = strrchr (stat, ')');
  return close != NULL && (close[2] == 'Z' || close[2] == 'X');
}

static gboolean
wait_gone (int pid)
{
  /* SIGKILL is delivered at once, but reaping by init may lag on a busy machine. */
  for (int i = 0; i < 200; i++)
    {
      if (process_gone (pid))
        return TRUE;
      g_usleep (10 * 1000);
    }
  return FALSE;
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("“%s” does not contain “%s”", haystack ? haystack : "(null)", needle);
}

static void
test_hang_killed_at_deadline (Fixture *fx, gconstpointer data)
{
  gint64 elapsed = 0;
  g_autoptr (PdVaprobeResult) r = run_mode ("hang", 300, &elapsed);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_TIMEOUT);
  assert_contains (r->message, "the GPU did not answer within 300 ms: a GPU hang is likely");
  g_assert_cmpint (elapsed, >=, 290);
  /* Generous for a loaded machine, far below "never". */
  g_assert_cmpint (elapsed, <, 5000);
  g_assert_null (r->report);
}

static void
test_hang_whole_group_killed (Fixture *fx, gconstpointer data)
{
  g_autofree char *pidfile = g_build_filename (fx->tmpdir, "pids", NULL);
  g_setenv ("FAKE_VAPROBE_PIDFILE", pidfile, TRUE);
  /* Long enough for a slow start to write the pid file before the kill. */
  g_autoptr (PdVaprobeResult) r = run_mode ("hang", 2000, NULL);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_TIMEOUT);
  assert_contains (r->message, "the GPU did not answer within 2 s: a GPU hang is likely");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (pidfile, &text, NULL, NULL));
  int pid = 0, grandchild = 0;
  g_assert_cmpint (sscanf (text, "%d %d", &pid, &grandchild), ==, 2);
  g_assert_cmpint (pid, >, 1);
  g_assert_cmpint (grandchild, >, 1);
  g_assert_true (wait_gone (pid));
  g_assert_true (wait_gone (grandchild));
}

static void
test_segv (Fixture *fx, gconstpointer data)
{
  g_autoptr (PdVaprobeResult) r = run_mode ("segv", 10000, NULL);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_CRASHED);
  g_assert_cmpint (r->signal_number, ==, SIGSEGV);
  assert_contains (r->message, "the VA-API probe crashed (signal 11, SIGSEGV)");
}

static void
test_abort (Fixture *fx, gconstpointer data)
{
  g_autoptr (PdVaprobeResult) r = run_mode ("abort", 10000, NULL);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_CRASHED);
  g_assert_cmpint (r->signal_number, ==, SIGABRT);
  assert_contains (r->message, "SIGABRT");
}

static void
test_exit_nonzero (Fixture *fx, gconstpointer data)
{
  g_autoptr (PdVaprobeResult) r = run_mode ("exit", 10000, NULL);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_FAILED);
  g_assert_cmpint (r->exit_status, ==, 7);
  assert_contains (r->message, "the VA-API probe exited with status 7 without a report");
  assert_contains (r->stderr_tail, "fake: the driver exploded");
}

static void
test_garbage (Fixture *fx, gconstpointer data)
{
  g_autoptr (PdVaprobeResult) r = run_mode ("garbage", 10000, NULL);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_GARBAGE);
  assert_contains (r->message, "the VA-API probe printed no usable report");
  assert_contains (r->message, "not JSON");
}

static void
test_flood (Fixture *fx, gconstpointer data)
{
  gint64 elapsed = 0;
  g_autoptr (PdVaprobeResult) r = run_mode ("flood", 20000, &elapsed);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_GARBAGE);
  assert_contains (r->message, "more than 64 KiB");
  /* Stopped at the bound, not at the deadline. */
  g_assert_cmpint (elapsed, <, 15000);
}

static char *
write_tmp (Fixture *fx, const char *name, const char *text)
{
  char *path = g_build_filename (fx->tmpdir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_valid_report (Fixture *fx, gconstpointer data)
{
  g_autofree char *json = write_tmp (fx, "report.json", ok_report);
  g_autofree char *args = g_build_filename (fx->tmpdir, "args", NULL);
  g_setenv ("FAKE_VAPROBE_JSON", json, TRUE);
  g_setenv ("FAKE_VAPROBE_ARGS", args, TRUE);
  g_setenv ("FAKE_VAPROBE_MODE", "json", TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (PdVaprobeResult) r = run_probe ("/dev/dri/renderD129", 10000, NULL, &error, NULL);
  g_assert_no_error (error);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_REPORT);
  g_assert_nonnull (r->report);
  g_assert_cmpstr (r->report->status, ==, "ok");
  g_assert_cmpstr (r->report->driver, ==, "iHD");
  g_assert_true (r->report->video_processing);
  g_assert_true (r->report->functional_passed);
  g_assert_cmpfloat (r->report->functional_ms, ==, 2.5);
  g_assert_cmpuint (g_strv_length (r->report->encode), ==, 3);

  g_autofree char *argv_text = NULL;
  g_assert_true (g_file_get_contents (args, &argv_text, NULL, NULL));
  assert_contains (argv_text, "\n--device\n/dev/dri/renderD129\n--json\n");
}

/* A report with a non-zero exit (e.g. "no device", 3) is still a report. */
static void
test_report_with_exit_code (Fixture *fx, gconstpointer data)
{
  g_autofree char *json
      = write_tmp (fx, "nodev.json",
                   "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"status\":\"no-device\","
                   "\"error\":\"the render node /dev/dri/renderD128 does not exist\"}");
  g_setenv ("FAKE_VAPROBE_JSON", json, TRUE);
  g_setenv ("FAKE_VAPROBE_EXIT", "3", TRUE);
  g_autoptr (PdVaprobeResult) r = run_mode ("json", 10000, NULL);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_REPORT);
  g_assert_cmpint (r->exit_status, ==, 3);
  g_assert_cmpstr (r->report->status, ==, "no-device");
}

static void
test_not_found (Fixture *fx, gconstpointer data)
{
  g_setenv ("PASSDESK_VAPROBE", "/nonexistent/passdesk-vaprobe", TRUE);
  g_autoptr (PdVaprobeResult) r = run_mode ("json", 10000, NULL);
  g_assert_cmpint (r->kind, ==, PD_VAPROBE_RESULT_NOT_FOUND);
  assert_contains (r->message, "PASSDESK_VAPROBE names /nonexistent/passdesk-vaprobe");
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_kills (Fixture *fx, gconstpointer data)
{
  g_autofree char *pidfile = g_build_filename (fx->tmpdir, "pids", NULL);
  g_setenv ("FAKE_VAPROBE_PIDFILE", pidfile, TRUE);
  g_setenv ("FAKE_VAPROBE_MODE", "hang", TRUE);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  /* Cancel once the child is surely running: when its pid file appears. */
  GAsyncResult *res = NULL;
  pd_vaprobe_run_async (NULL, 20000, cancel, on_done, &res);
  gint64 give_up = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (!g_file_test (pidfile, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < give_up)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
  g_assert_true (g_file_test (pidfile, G_FILE_TEST_EXISTS));
  g_idle_add (cancel_cb, cancel);
  gint64 t0 = g_get_monotonic_time ();
  while (res == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint ((g_get_monotonic_time () - t0) / 1000, <, 10000);
  g_autoptr (GError) error = NULL;
  g_autoptr (PdVaprobeResult) r = pd_vaprobe_run_finish (res, &error);
  g_object_unref (res);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (r);

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (pidfile, &text, NULL, NULL));
  int pid = 0, grandchild = 0;
  g_assert_cmpint (sscanf (text, "%d %d", &pid, &grandchild), ==, 2);
  g_assert_true (wait_gone (pid));
  g_assert_true (wait_gone (grandchild));
}

/* Two runs at once: each gets its own child and its own result. */
static void
test_concurrent (Fixture *fx, gconstpointer data)
{
  g_autofree char *json = write_tmp (fx, "report.json", ok_report);
  g_setenv ("FAKE_VAPROBE_JSON", json, TRUE);
  g_setenv ("FAKE_VAPROBE_MODE", "hang", TRUE);
  GAsyncResult *res_hang = NULL, *res_ok = NULL;
  pd_vaprobe_run_async (NULL, 800, NULL, on_done, &res_hang);
  g_setenv ("FAKE_VAPROBE_MODE", "json", TRUE);
  pd_vaprobe_run_async (NULL, 10000, NULL, on_done, &res_ok);
  while (res_hang == NULL || res_ok == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_autoptr (PdVaprobeResult) a = pd_vaprobe_run_finish (res_hang, NULL);
  g_autoptr (PdVaprobeResult) b = pd_vaprobe_run_finish (res_ok, NULL);
  g_object_unref (res_hang);
  g_object_unref (res_ok);
  g_assert_cmpint (a->kind, ==, PD_VAPROBE_RESULT_TIMEOUT);
  g_assert_cmpint (b->kind, ==, PD_VAPROBE_RESULT_REPORT);
}

/* The vaapi component turns a hang into a failed state with the sentence. */
static void
test_component_from_hang (Fixture *fx, gconstpointer data)
{
  g_setenv ("FAKE_VAPROBE_MODE", "hang", TRUE);
  PdGpuDevice dev = { .pci_slot = (char *) "0000:00:02.0",
                      .vendor = 0x8086,
                      .device = 0x5912,
                      .name = (char *) "Intel HD Graphics 630 (Kaby Lake GT2)",
                      .generation = PD_GPU_GEN_KABY_LAKE,
                      .driver = (char *) "i915",
                      .render_node = (char *) "/dev/dri/renderD128",
                      .ids_known = TRUE };
  g_autoptr (PdVaprobeResult) r = run_mode ("hang", 1000, NULL);
  g_autoptr (PdComponent) c = pd_vaapi_component (&dev, r);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  g_assert_cmpstr (c->summary, ==, "the GPU did not answer within 1 s: a GPU hang is likely");
  g_assert_cmpstr (pd_component_get_detail (c, "probe"), ==, "timeout");
  g_autoptr (PdComponent) crash = NULL;
  {
    g_autoptr (PdVaprobeResult) s = run_mode ("segv", 10000, NULL);
    crash = pd_vaapi_component (&dev, s);
  }
  g_assert_cmpint (crash->state, ==, PD_STATE_FAILED);
  assert_contains (crash->summary, "crashed");
}

/* The agent's path: pd_vaapi_check_async on the running main context,
 * cancelled while the probe hangs: an `unknown` component, child gone. */
static void
test_check_async_cancel (Fixture *fx, gconstpointer data)
{
  g_autofree char *pidfile = g_build_filename (fx->tmpdir, "pids", NULL);
  g_setenv ("FAKE_VAPROBE_PIDFILE", pidfile, TRUE);
  g_setenv ("FAKE_VAPROBE_MODE", "hang", TRUE);
  PdGpuDevice dev = { .pci_slot = (char *) "0000:00:02.0",
                      .vendor = 0x8086,
                      .device = 0x46d1,
                      .name = (char *) "Intel UHD Graphics (Alder Lake-N)",
                      .generation = PD_GPU_GEN_ALDER_LAKE_N,
                      .driver = (char *) "i915",
                      .render_node = (char *) "/dev/dri/renderD128",
                      .ids_known = TRUE };
  g_autoptr (GPtrArray) devices = g_ptr_array_new ();
  g_ptr_array_add (devices, &dev);
  PdGpuScan scan = { .devices = devices };
  g_assert_nonnull (pd_gpu_scan_primary (&scan));
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  GAsyncResult *res = NULL;
  pd_vaapi_check_async (&scan, 20000, cancel, on_done, &res);
  gint64 give_up = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (!g_file_test (pidfile, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < give_up)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
  g_assert_true (g_file_test (pidfile, G_FILE_TEST_EXISTS));
  g_cancellable_cancel (cancel);
  while (res == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_autoptr (PdComponent) c = pd_vaapi_check_finish (res);
  g_object_unref (res);
  g_assert_cmpint (c->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpstr (c->summary, ==, "The VA-API check was cancelled");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (pidfile, &text, NULL, NULL));
  int pid = 0, grandchild = 0;
  g_assert_cmpint (sscanf (text, "%d %d", &pid, &grandchild), ==, 2);
  g_assert_true (wait_gone (pid));
  g_assert_true (wait_gone (grandchild));
}

/* What the probe writes, passdesk reads back field for field: the writer
 * and the parser share one struct. */
static void
test_report_round_trip (void)
{
  char *decode[] = { (char *) "H.264", (char *) "HEVC", NULL };
  char *encode[] = { NULL };
  PdVaprobeReport r = {
    .status = (char *) "functional-failed",
    .error = (char *) "the GPU returned a wrong pixel",
    .device = (char *) "/dev/dri/renderD128",
    .user = (char *) "nobody",
    .va_api_version = (char *) "1.17",
    .vendor = (char *) "Intel iHD driver",
    .driver = (char *) "iHD",
    .driver_path = (char *) "/usr/lib/x86_64-linux-gnu/dri/iHD_drv_video.so",
    .decode = decode,
    .encode = encode,
    .video_processing = TRUE,
    .functional_ran = TRUE,
    .functional_passed = FALSE,
    .functional_name = (char *) "vpp-scale-nv12",
    .functional_message = (char *) "the GPU returned a wrong pixel",
    .functional_ms = 12.5,
    .duration_ms = 40.25,
  };
  const char *messages[] = { "libva info: VA-API version 1.17.0", NULL };
  g_autofree char *json = pd_vaprobe_report_to_json (&r, NULL, messages, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (PdVaprobeReport) back = pd_vaprobe_report_parse (json, strlen (json), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->status, ==, r.status);
  g_assert_cmpstr (back->error, ==, r.error);
  g_assert_cmpstr (back->device, ==, r.device);
  g_assert_cmpstr (back->user, ==, r.user);
  g_assert_cmpstr (back->va_api_version, ==, r.va_api_version);
  g_assert_cmpstr (back->vendor, ==, r.vendor);
  g_assert_cmpstr (back->driver, ==, r.driver);
  g_assert_cmpstr (back->driver_path, ==, r.driver_path);
  g_assert_cmpuint (g_strv_length (back->decode), ==, 2);
  g_assert_cmpstr (back->decode[1], ==, "HEVC");
  g_assert_cmpuint (g_strv_length (back->encode), ==, 0);
  g_assert_true (back->video_processing);
  g_assert_true (back->functional_ran);
  g_assert_false (back->functional_passed);
  g_assert_cmpstr (back->functional_name, ==, r.functional_name);
  g_assert_cmpstr (back->functional_message, ==, r.functional_message);
  g_assert_cmpfloat (back->functional_ms, ==, 12.5);
  g_assert_cmpfloat (back->duration_ms, ==, 40.25);
}

/* The parser refuses what is not a report. */
static void
test_report_parser (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PdVaprobeReport) ok = pd_vaprobe_report_parse (ok_report, strlen (ok_report), &error);
  g_assert_no_error (error);
  g_assert_nonnull (ok);

  const char *bad[] = {
    "",
    "[]",
    "{\"probe\":\"other\",\"format\":1,\"status\":\"ok\"}",
    "{\"probe\":\"passdesk-vaprobe\",\"format\":2,\"status\":\"ok\"}",
    "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"status\":\"fine\"}",
    "{\"probe\":\"passdesk-vaprobe\",\"format\":1}",
    "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"status\":\"ok\",\"decode\":\"H.264\"}",
    "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"status\":\"ok\",\"decode\":[1]}",
    "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"status\":\"ok\",\"video_processing\":\"yes\"}",
    "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"status\":\"ok\",\"duration_ms\":-1}",
    "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"status\":\"ok\","
    "\"functional_test\":{\"ran\":false,\"passed\":true}}",
    "{\"probe\":\"passdesk-vaprobe\",\"format\":1,\"status\":\"ok\"} trailing",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (PdVaprobeReport) r = pd_vaprobe_report_parse (bad[i], strlen (bad[i]), &e);
      if (r != NULL)
        g_error ("accepted bad report %u: %s", i, bad[i]);
      g_assert_error (e, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }
  /* Too many list entries. */
  g_autoptr (GString) big = g_string_new ("{\"probe\":\"passdesk-vaprobe\",\"format\":1,"
                                          "\"status\":\"ok\",\"decode\":[");
  for (int i = 0; i < 100; i++)
    g_string_append_printf (big, "%s\"c%d\"", i ? "," : "", i);
  g_string_append (big, "]}");
  g_autoptr (GError) e2 = NULL;
  g_autoptr (PdVaprobeReport) r2 = pd_vaprobe_report_parse (big->str, big->len, &e2);
  g_assert_null (r2);
  g_assert_error (e2, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

/* The real passdesk-vaprobe here: no GPU, so its documented "no device"
 * exit code and a valid report saying so. */
static void
test_real_probe_no_device (void)
{
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  g_autofree char *probe
      = g_build_filename (builddir, "agent", "vaprobe", "passdesk-vaprobe", NULL);
  g_autofree char *root = g_dir_make_tmp ("vaprobe-root-XXXXXX", NULL);
  /* The probe drops to "nobody" when run as root: it must be able to look. */
  g_assert_cmpint (g_chmod (root, 0755), ==, 0);
  const char *argv[] = { probe, "--json", "--device", "/dev/dri/renderD128", NULL };
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  /* The real probe gets the sanitizer settings of the test suite back. */
  if (orig_asan_options)
    g_subprocess_launcher_setenv (l, "ASAN_OPTIONS", orig_asan_options, TRUE);
  /* An empty root: no /dev/dri at all, as on CI; this machine has none either. */
  g_subprocess_launcher_setenv (l, "PASSDESK_SYSROOT", root, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_rmdir (root);
  g_assert_true (g_subprocess_get_if_exited (p));
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, PD_VAPROBE_EXIT_NO_DEVICE);
  g_autoptr (PdVaprobeReport) r = pd_vaprobe_report_parse (out, strlen (out), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r->status, ==, "no-device");
  assert_contains (r->error, "/dev/dri/renderD128 does not exist");
  g_assert_cmpstr (r->device, ==, "/dev/dri/renderD128");
  g_assert_false (r->functional_ran);
  /* Started as root, it ran as nobody. */
  if (geteuid () == 0)
    g_assert_cmpstr (r->user, ==, "nobody");

  /* The real host root too, if this machine has no render node (like CI). */
  if (!g_file_test ("/dev/dri/renderD128", G_FILE_TEST_EXISTS))
    {
      const char *argv2[] = { probe, "--json", NULL };
      g_autoptr (GSubprocessLauncher) l2
          = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
      g_subprocess_launcher_unsetenv (l2, "PASSDESK_SYSROOT");
      if (orig_asan_options)
        g_subprocess_launcher_setenv (l2, "ASAN_OPTIONS", orig_asan_options, TRUE);
      g_autoptr (GSubprocess) p2 = g_subprocess_launcher_spawnv (l2, argv2, &error);
      g_assert_no_error (error);
      g_autofree char *out2 = NULL;
      g_assert_true (g_subprocess_communicate_utf8 (p2, NULL, NULL, &out2, NULL, &error));
      g_assert_cmpint (g_subprocess_get_exit_status (p2), ==, PD_VAPROBE_EXIT_NO_DEVICE);
      g_autoptr (PdVaprobeReport) r2 = pd_vaprobe_report_parse (out2, strlen (out2), &error);
      g_assert_no_error (error);
      g_assert_cmpstr (r2->status, ==, "no-device");
    }
}

/* Without --json: the same report as text. */
static void
test_real_probe_text (void)
{
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  g_autofree char *probe
      = g_build_filename (builddir, "agent", "vaprobe", "passdesk-vaprobe", NULL);
  g_autofree char *root = g_dir_make_tmp ("vaprobe-root-XXXXXX", NULL);
  g_assert_cmpint (g_chmod (root, 0755), ==, 0);
  const char *argv[] = { probe, "--device", "/dev/dri/renderD129", NULL };
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (l, "PASSDESK_SYSROOT", root, TRUE);
  if (orig_asan_options)
    g_subprocess_launcher_setenv (l, "ASAN_OPTIONS", orig_asan_options, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error));
  g_rmdir (root);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, PD_VAPROBE_EXIT_NO_DEVICE);
  assert_contains (out, "status:           no-device\n");
  assert_contains (out, "error:            the render node /dev/dri/renderD129 does not exist");
  assert_contains (out, "device:           /dev/dri/renderD129 (as ");
}

static void
test_real_probe_usage (void)
{
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  g_autofree char *probe
      = g_build_filename (builddir, "agent", "vaprobe", "passdesk-vaprobe", NULL);
  const char *argv[] = { probe, "--device", "/etc/shadow", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (
      argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (p, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, PD_VAPROBE_EXIT_USAGE);
}

/* The real runner + real probe via pd_vaapi_check_sync: a GPU whose render
 * node is not a device here gives a clear `unknown`, never a crash. */
static void
test_real_check_sync (void)
{
  const char *builddir = g_getenv ("PASSDESK_BUILDDIR");
  g_autofree char *probe
      = g_build_filename (builddir, "agent", "vaprobe", "passdesk-vaprobe", NULL);
  g_setenv ("PASSDESK_VAPROBE", probe, TRUE);
  if (orig_asan_options)
    g_setenv ("ASAN_OPTIONS", orig_asan_options, TRUE);
  g_autofree char *root = g_dir_make_tmp ("vaprobe-root-XXXXXX", NULL);
  g_assert_cmpint (g_chmod (root, 0755), ==, 0);
  g_setenv ("PASSDESK_SYSROOT", root, TRUE);
  pd_sysroot_reset ();

  PdGpuDevice dev = { .pci_slot = (char *) "0000:00:02.0",
                      .vendor = 0x8086,
                      .device = 0x46d1,
                      .name = (char *) "Intel UHD Graphics (Alder Lake-N)",
                      .generation = PD_GPU_GEN_ALDER_LAKE_N,
                      .driver = (char *) "i915",
                      .render_node = (char *) "/dev/dri/renderD128",
                      .ids_known = TRUE };
  g_autoptr (GPtrArray) devices = g_ptr_array_new ();
  g_ptr_array_add (devices, &dev);
  PdGpuScan scan = { .devices = devices };
  /* pd_gpu_scan_primary() picks the Intel device from the scan. */
  g_assert_nonnull (pd_gpu_scan_primary (&scan));
  g_autoptr (PdComponent) c = pd_vaapi_check_sync (&scan, 10000);
  g_assert_cmpint (c->state, ==, PD_STATE_UNKNOWN);
  assert_contains (c->summary, "Not checked: the render node /dev/dri/renderD128 does not exist");
  g_assert_cmpstr (pd_component_get_detail (c, "probe"), ==, "report");
  g_assert_cmpstr (pd_component_get_detail (c, "probe-status"), ==, "no-device");

  /* No GPU at all: no probe, and it says why. */
  PdGpuScan empty = { .devices = g_ptr_array_new () };
  g_autoptr (PdComponent) none = pd_vaapi_check_sync (&empty, 10000);
  g_ptr_array_unref (empty.devices);
  g_assert_cmpint (none->state, ==, PD_STATE_UNKNOWN);
  assert_contains (none->summary, "no Intel GPU was found");

  /* In sysfs but not in /dev: no probe, and it says so. */
  dev.render_in_sysfs = TRUE;
  dev.render_exists = FALSE;
  g_autoptr (PdComponent) nofile = pd_vaapi_check_sync (&scan, 10000);
  g_assert_null (pd_component_get_detail (nofile, "probe"));
  assert_contains (nofile->summary, "but that device file does not exist");
  dev.render_exists = TRUE;

  /* A render node the scan did not find: no probe either. */
  dev.render_node = NULL;
  g_autoptr (PdComponent) nonode = pd_vaapi_check_sync (&scan, 10000);
  g_assert_cmpint (nonode->state, ==, PD_STATE_UNKNOWN);
  assert_contains (nonode->summary, "has no render node (kernel driver: i915)");

  g_unsetenv ("PASSDESK_SYSROOT");
  pd_sysroot_reset ();
  g_unsetenv ("PASSDESK_VAPROBE");
  g_setenv ("ASAN_OPTIONS", "handle_segv=0:handle_abort=0:detect_leaks=0", TRUE);
  g_rmdir (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  orig_asan_options = g_strdup (g_getenv ("ASAN_OPTIONS"));
  /* The fake children crash on purpose: keep sanitizers out of their way. */
  g_setenv ("ASAN_OPTIONS", "handle_segv=0:handle_abort=0:detect_leaks=0", TRUE);
  g_setenv ("UBSAN_OPTIONS", "halt_on_error=1", TRUE);
#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/vaprobe-runner/hang-killed-at-deadline", test_hang_killed_at_deadline);
  ADD ("/vaprobe-runner/hang-whole-group-killed", test_hang_whole_group_killed);
  ADD ("/vaprobe-runner/crash-segv", test_segv);
  ADD ("/vaprobe-runner/crash-abort", test_abort);
  ADD ("/vaprobe-runner/exit-nonzero", test_exit_nonzero);
  ADD ("/vaprobe-runner/garbage", test_garbage);
  ADD ("/vaprobe-runner/flood", test_flood);
  ADD ("/vaprobe-runner/valid-report", test_valid_report);
  ADD ("/vaprobe-runner/report-with-exit-code", test_report_with_exit_code);
  ADD ("/vaprobe-runner/not-found", test_not_found);
  ADD ("/vaprobe-runner/cancel-kills", test_cancel_kills);
  ADD ("/vaprobe-runner/concurrent", test_concurrent);
  ADD ("/vaprobe-runner/component-from-hang", test_component_from_hang);
  ADD ("/vaprobe-runner/check-async-cancel", test_check_async_cancel);
  g_test_add_func ("/vaprobe-runner/report-round-trip", test_report_round_trip);
  g_test_add_func ("/vaprobe-runner/report-parser", test_report_parser);
  g_test_add_func ("/vaprobe/real-probe-no-device", test_real_probe_no_device);
  g_test_add_func ("/vaprobe/real-probe-text", test_real_probe_text);
  g_test_add_func ("/vaprobe/real-probe-usage", test_real_probe_usage);
  g_test_add_func ("/vaprobe/real-check-sync", test_real_check_sync);
  return g_test_run ();
}
