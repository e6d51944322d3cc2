/* The CLI's report table (agent/cli/report-table.c). */
#include <string.h>

#include "health.h"
#include "report-table.h"

static void
test_table (void)
{
  g_autoptr (PdReport) r = pd_report_new ("in-process");
  PdComponent *v = pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_DEGRADED, "no HEVC encode");
  pd_component_add_advice (v, "Install the non-free driver.",
                           "sudo apt update\nsudo apt install intel-media-va-driver-non-free");
  pd_report_take (r, v);
  g_autofree char *t = pd_report_format_table (r, FALSE, 0);
  g_assert_nonnull (strstr (t, "Video acceleration  degraded   no HEVC encode\n"));
  g_assert_nonnull (strstr (t, "-> Install the non-free driver.\n"));
  g_assert_nonnull (strstr (t, "sudo apt install intel-media-va-driver-non-free\n"));
  g_assert_nonnull (strstr (t, "Overall: degraded (checked in-process)\n"));
  g_assert_null (strstr (t, "\033["));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/report-table", test_table);
  return g_test_run ();
}
