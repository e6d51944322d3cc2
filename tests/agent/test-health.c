/* test-health.c - the health model: states, overall, details, advice, JSON. */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "health.h"
#include "report-table.h"
#include "sysroot.h"

static void
test_worst_is_overall (void)
{
  g_autoptr (PdReport) r = pd_report_new (NULL);
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_UNKNOWN);

  pd_report_take (r, pd_component_new (PD_COMPONENT_GPU, PD_STATE_OK, "fine"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_OK);
  pd_report_take (r, pd_component_new (PD_COMPONENT_DISPLAY, PD_STATE_DEGRADED, "no monitor"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_DEGRADED);
  pd_report_take (r, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN, "skipped"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_DEGRADED);
  pd_report_take (r, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_FAILED, "hang"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_FAILED);
  /* Replacing a component replaces its state too. */
  pd_report_take (r, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_OK, "works"));
  g_assert_cmpint (pd_report_overall (r), ==, PD_STATE_DEGRADED);
}

static void
test_names_round_trip (void)
{
  for (PdState s = PD_STATE_OK; s <= PD_STATE_FAILED; s++)
    {
      PdState back;
      g_assert_true (pd_state_from_string (pd_state_to_string (s), &back));
      g_assert_cmpint (back, ==, s);
    }
  for (PdComponentId id = 0; id < PD_N_COMPONENTS; id++)
    {
      PdComponentId back;
      g_assert_true (pd_component_id_from_string (pd_component_id_to_string (id), &back));
      g_assert_cmpint (back, ==, id);
    }
  PdState s;
  g_assert_false (pd_state_from_string ("broken", &s));
  g_assert_false (pd_state_from_string (NULL, &s));
}

static void
test_details_and_advice (void)
{
  g_autoptr (PdComponent) c = pd_component_new (PD_COMPONENT_GPU, PD_STATE_OK, "ok");
  pd_component_set_detail (c, "driver", "i915");
  pd_component_set_detail (c, "render", "/dev/dri/renderD128");
  pd_component_set_detail (c, "driver", "xe");
  g_assert_cmpuint (c->details->len, ==, 2);
  g_assert_cmpstr (pd_component_get_detail (c, "driver"), ==, "xe");
  g_assert_cmpstr (((PdDetail *) c->details->pdata[0])->key, ==, "driver");
  g_assert_null (pd_component_get_detail (c, "missing"));

  pd_component_add_advice (c, "Install the driver.", "apt install x");
  pd_component_add_advice (c, "Install the driver.", "apt install y");
  pd_component_add_advice (c, "Reboot.", "");
  g_assert_cmpuint (c->advice->len, ==, 2);
  g_assert_null (((PdAdvice *) c->advice->pdata[1])->command);

  pd_component_raise (c, PD_STATE_DEGRADED, "worse");
  pd_component_raise (c, PD_STATE_UNKNOWN, "not worse");
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  g_assert_cmpstr (c->summary, ==, "worse");

  g_autoptr (PdComponent) copy = pd_component_copy (c);
  g_assert_true (pd_component_equal (c, copy));
  pd_component_set_detail (copy, "driver", "i915");
  g_assert_false (pd_component_equal (c, copy));
}

static void
test_json_round_trip (void)
{
  g_autoptr (PdReport) r = pd_report_new ("in-process");
  PdComponent *gpu = pd_component_new (PD_COMPONENT_GPU, PD_STATE_FAILED, "no driver “bound”");
  pd_component_set_detail (gpu, "pci", "0000:00:02.0");
  pd_component_add_advice (gpu, "Load i915.", "sudo modprobe i915\necho done");
  pd_report_take (r, gpu);
  pd_report_take (r, pd_component_new (PD_COMPONENT_DISPLAY, PD_STATE_OK, "HDMI-A-1 connected"));

  g_autofree char *json = pd_report_to_json_string (r, FALSE);
  g_assert_nonnull (strstr (json, "\"overall\":\"failed\""));
  g_assert_nonnull (strstr (json, "\"id\":\"gpu\""));

  g_autoptr (GError) error = NULL;
  g_autoptr (PdReport) back = pd_report_from_json_string (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->source, ==, "in-process");
  g_assert_cmpint (pd_report_overall (back), ==, PD_STATE_FAILED);
  g_assert_true (pd_component_equal (pd_report_get (r, PD_COMPONENT_GPU),
                                     pd_report_get (back, PD_COMPONENT_GPU)));
  g_assert_true (pd_component_equal (pd_report_get (r, PD_COMPONENT_DISPLAY),
                                     pd_report_get (back, PD_COMPONENT_DISPLAY)));
  g_assert_null (pd_report_get (back, PD_COMPONENT_VAAPI));
  g_assert_cmpint (back->time / G_USEC_PER_SEC, ==, r->time / G_USEC_PER_SEC);
}

static void
test_json_rejects_bad_input (void)
{
  const char *bad[] = {
    "",
    "[]",
    "{\"components\": 3}",
    "{\"components\": [{\"id\": \"toaster\", \"state\": \"ok\"}]}",
    "{\"components\": [{\"id\": \"gpu\", \"state\": \"sad\"}]}",
    "{\"components\": [42]}",
    "{\"components\": [{\"id\": \"gpu\"",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PdReport) r = pd_report_from_json_string (bad[i], &error);
      g_assert_null (r);
      g_assert_nonnull (error);
    }
}

static void
test_table (void)
{
  g_autoptr (PdReport) r = pd_report_new ("in-process");
  PdComponent *v = pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_DEGRADED, "no HEVC encode");
  pd_component_add_advice (v, "Install the non-free driver.",
                           "sudo apt update\nsudo apt install intel-media-va-driver-non-free");
  pd_report_take (r, v);
  g_autofree char *t = pd_report_format_table (r, FALSE);
  g_assert_nonnull (strstr (t, "Video acceleration  degraded   no HEVC encode\n"));
  g_assert_nonnull (strstr (t, "-> Install the non-free driver.\n"));
  g_assert_nonnull (strstr (t, "sudo apt install intel-media-va-driver-non-free\n"));
  g_assert_nonnull (strstr (t, "Overall: degraded (checked in-process)\n"));
  g_assert_null (strstr (t, "\033["));
}

static void
test_sysroot (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pd-sysroot-XXXXXX", NULL);
  g_autofree char *sys = g_build_filename (dir, "sys", NULL);
  g_assert_cmpint (g_mkdir_with_parents (sys, 0755), ==, 0);
  g_autofree char *f = g_build_filename (sys, "attr", NULL);
  g_assert_true (g_file_set_contents (f, "0x8086\n", -1, NULL));
  g_autofree char *big = g_build_filename (sys, "big", NULL);
  g_autofree char *bigdata = g_strnfill (5000, 'x');
  g_assert_true (g_file_set_contents (big, bigdata, -1, NULL));
  g_autofree char *nul = g_build_filename (sys, "nul", NULL);
  g_assert_true (g_file_set_contents (nul, "a\0b", 3, NULL));

  g_autofree char *with_slash = g_strconcat (dir, "//", NULL);
  g_setenv ("PASSDESK_SYSROOT", with_slash, TRUE);
  pd_sysroot_reset ();
  g_assert_cmpstr (pd_sysroot (), ==, dir);
  g_autofree char *p = pd_sysroot_path ("/sys/attr");
  g_assert_cmpstr (p, ==, f);

  g_autoptr (GError) error = NULL;
  g_autofree char *v = pd_sysroot_read_attr ("/sys/attr", 64, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (v, ==, "0x8086");

  g_autofree char *v2 = pd_sysroot_read_attr ("/sys/big", 4096, &error);
  g_assert_null (v2);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_autofree char *v3 = pd_sysroot_read_attr ("/sys/nul", 64, &error);
  g_assert_null (v3);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_autofree char *v4 = pd_sysroot_read_attr ("/sys/none", 64, &error);
  g_assert_null (v4);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);

  g_clear_error (&error);

  /* The general reader: truncation, NUL bytes as data, growth past the
   * first chunk, and a FIFO that must be refused without blocking. */
  gsize len = 0;
  g_autofree char *head
      = pd_sysroot_read_file ("/sys/big", 10, PD_SYSROOT_READ_TRUNCATE, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, 10);
  g_assert_cmpstr (head, ==, "xxxxxxxxxx");
  g_autofree char *whole = pd_sysroot_read_file ("/sys/big", 1 << 20, 0, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, 5000);
  g_autofree char *bin
      = pd_sysroot_read_file ("/sys/nul", 64, PD_SYSROOT_READ_ALLOW_NUL, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, 3);
  g_assert_cmpmem (bin, 4, "a\0b\0", 4);
  g_autofree char *fifo = g_build_filename (sys, "fifo", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_autofree char *none = pd_sysroot_read_file ("/sys/fifo", 64, 0, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_remove (fifo);

  g_unsetenv ("PASSDESK_SYSROOT");
  pd_sysroot_reset ();
  g_assert_cmpstr (pd_sysroot (), ==, "");

  g_remove (f);
  g_remove (big);
  g_remove (nul);
  g_rmdir (sys);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/health/overall-is-worst", test_worst_is_overall);
  g_test_add_func ("/health/names-round-trip", test_names_round_trip);
  g_test_add_func ("/health/details-and-advice", test_details_and_advice);
  g_test_add_func ("/health/json-round-trip", test_json_round_trip);
  g_test_add_func ("/health/json-rejects-bad-input", test_json_rejects_bad_input);
  g_test_add_func ("/health/table", test_table);
  g_test_add_func ("/sysroot/prefix-and-bounded-read", test_sysroot);
  return g_test_run ();
}
