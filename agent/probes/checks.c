/* checks.c - the in-process health checks, in order: gpu, display, vaapi. */
#include "checks.h"

#include "gpu-scan.h"
#include "vaapi-check.h"

PdReport *
pd_checks_run (const PdChecksOptions *options)
{
  PdChecksOptions defaults = { 0 };
  if (options == NULL)
    options = &defaults;

  PdReport *report = pd_report_new ("in-process");
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();

  pd_report_take (report, pd_gpu_component (scan));
  pd_report_take (report, pd_display_component (scan));

  if (options->skip_vaprobe)
    pd_report_take (
        report, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN, "VA-API probe skipped"));
  else
    pd_report_take (report, pd_vaapi_check_sync (scan, options->vaprobe_timeout_ms
                                                           ? options->vaprobe_timeout_ms
                                                           : PD_VAPROBE_DEFAULT_TIMEOUT_MS));
  return report;
}
