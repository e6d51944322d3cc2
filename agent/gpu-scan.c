/* gpu-scan.c - PLACEHOLDER until the sysfs scan lands: reports nothing found. */
#include "gpu-scan.h"

PdGpuScan *
pd_gpu_scan (void)
{
  PdGpuScan *scan = g_new0 (PdGpuScan, 1);
  scan->devices = g_ptr_array_new ();
  return scan;
}

void
pd_gpu_scan_free (PdGpuScan *scan)
{
  if (scan == NULL)
    return;
  g_ptr_array_unref (scan->devices);
  g_free (scan);
}

const PdGpuDevice *
pd_gpu_scan_primary (const PdGpuScan *scan)
{
  return NULL;
}

PdComponent *
pd_gpu_component (const PdGpuScan *scan)
{
  return pd_component_new (PD_COMPONENT_GPU, PD_STATE_UNKNOWN, "GPU scan not implemented yet");
}

PdComponent *
pd_display_component (const PdGpuScan *scan)
{
  return pd_component_new (PD_COMPONENT_DISPLAY, PD_STATE_UNKNOWN,
                           "display scan not implemented yet");
}
