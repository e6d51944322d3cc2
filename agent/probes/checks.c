/* checks.c - the in-process health checks, in order: gpu, display, vaapi,
 * audio, usb, hostlink. */
#include "checks.h"

#include "audio-read.h"
#include "detail-keys.h"
#include "gpu-scan.h"
#include "sysroot.h"
#include "usb-read.h"
#include "vaapi-check.h"

/* The channel's presence is all a program without the agent can see: the
 * handshake with passdesk-hostd is the agent's (one reader at a time). */
static PdComponent *
hostlink_presence (const char *start_agent)
{
  g_autofree char *port = pd_sysroot_path (PD_CHECKS_HOSTLINK_PORT);
  PdComponent *c;

  if (g_file_test (port, G_FILE_TEST_EXISTS))
    {
      c = pd_component_new (PD_COMPONENT_HOSTLINK, PD_STATE_UNKNOWN,
                            "The host channel exists; whether passdesk-hostd answers is known "
                            "only to the running agent.");
      pd_component_add_advice (c, "Start the agent to check the host link.",
                               start_agent ? start_agent : "sudo systemctl start passdesk-agent");
    }
  else
    {
      c = pd_component_new (PD_COMPONENT_HOSTLINK, PD_STATE_UNKNOWN,
                            "No host channel configured: “Cold restart VM” cannot work.");
      pd_component_add_advice (c,
                               "On the Proxmox host, add the channel to this VM with "
                               "“passdesk-hostd setup VMID”, then stop and start the VM.",
                               "passdesk-hostd setup VMID");
    }
  pd_component_set_detail (c, PD_DETAIL_PORT, PD_CHECKS_HOSTLINK_PORT);
  return c;
}

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
  pd_report_take (report, pd_audio_component_read ());
  pd_report_take (report, pd_usb_component_read ());
  pd_report_take (report, hostlink_presence (options->start_agent));
  return report;
}
