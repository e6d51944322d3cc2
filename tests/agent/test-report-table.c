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

/* Issue 14: what Restart will do is printed under the host link's summary;
 * other details stay in --json and the status window. */
static void
test_restart_line (void)
{
  g_autoptr (PdReport) r = pd_report_new ("agent");
  PdComponent *c
      = pd_component_new (PD_COMPONENT_HOSTLINK, PD_STATE_OK, "Connected to pve (VM 100)");
  pd_component_set_detail (c, "host", "pve");
  pd_component_set_detail (c, "restart",
                           "Restart will be a cold restart: the VM stays off for 10 s.");
  pd_component_set_detail (c, "reboot-cold", "yes");
  pd_report_take (r, c);
  g_autofree char *t = pd_report_format_table (r, FALSE, 0);
  g_assert_nonnull (strstr (t, "Connected to pve (VM 100)\n"));
  g_assert_nonnull (strstr (t, "  Restart will be a cold restart: the VM stays off for 10 s.\n"));
  g_assert_null (strstr (t, "pve\n"));
  g_assert_null (strstr (t, "yes"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/report-table", test_table);
  g_test_add_func ("/cli/report-table/restart-line", test_restart_line);
  return g_test_run ();
}
