/* logscan-rules.c - the kernel-log rule table shared by scan-log and the live monitor.
 *
 * The needles are verbatim pieces of the kernel's format strings:
 * drivers/usb/host/xhci*.c, drivers/usb/core/hub.c, drivers/gpu/drm/i915 and
 * drivers/gpu/drm/xe, sound/pci/hda, drivers/base/regmap (regcache sync),
 * drivers/pci/rom.c and the driver core's "probe of ... failed"; from the
 * Proxmox host's kernel: drivers/pci/pci.c (pci_dev_wait's "not ready %dms
 * after %s; giving up", __pci_request_region's "BAR %d: can't reserve %pR")
 * and drivers/iommu/intel/dmar.c (dmar_fault_do_one's "[%s NO_PASID] Request
 * device [%02x:%02x.%d] fault addr ...", older "[%s] Request device ...").
 */
#include "logscan-rules.h"

#include <string.h>

enum
{
  K_USB_CONTROLLER_DIED,
  K_USB_ENUMERATION_FAILED,
  K_USB_CABLE_BAD,
  K_USB_OVER_CURRENT,
  K_USB_PORT_DISABLED_EMI,
  K_USB_RESET_LOOP,
  K_USB_RECONNECT_STORM,
  K_USB_HUB_ERROR,
  K_GPU_HANG,
  K_GPU_RESET_FAILED,
  K_GPU_WEDGED,
  K_GPU_FIRMWARE_MISSING,
  K_DISPLAY_FIFO_UNDERRUN,
  K_AUDIO_CODEC_TIMEOUT,
  K_AUDIO_CODEC_PROBE_FAILED,
  K_AUDIO_SPURIOUS_RESPONSE,
  K_AUDIO_NO_I915_BINDING,
  K_VFIO_ROM_INVALID,
  K_VFIO_PROBE_FAILED,
  K_VFIO_RESET_TIMEOUT,
  K_VFIO_BAR_BUSY,
  K_VFIO_DMAR_FAULT,
  K_N_KINDS
};

/* Row helpers: what the agent does with a finding of each family. Every row
 * still spells out component, state and summary; these only fill in the
 * effects so that a row cannot half-say them.
 *  USB:   passing USB trouble: degraded for PD_LOG_HOLD_US (a minute)
 *         after the last finding; the agent alone holds it.
 *  USB_CONTROLLER: the USB monitor is told (a dead controller is part of
 *         its tree, until the root hub returns); the overlay ends when USB
 *         reads bad and then well again, or a re-check finds it well.
 *  GPU:   video acceleration cannot be trusted either (unknown); the agent
 *         re-probes VA-API shortly after, and a probe that passes ends both
 *         overlays, one that fails says acceleration did not survive.
 *  VFIO:  about the passed-through GPU; a passing probe ends it.
 *  VFIO_HOST: the same, for lines only the Proxmox host's kernel prints
 *         (pasted from the host: `journalctl -k` there); the next step is
 *         on the host.
 *  AUDIO: the agent publishes FAILED (HDMI audio the kernel says misbehaves is
 *         not to be trusted); the audio monitor re-reads /proc/asound.
 *  DISPLAY: ends when the outputs read well again. */
#define USB(id, st, text)                                                                          \
  {                                                                                                \
    id, PD_COMPONENT_USB, st, PD_N_COMPONENTS, PD_LOG_CLEARS_AFTER_HOLD, FALSE, text               \
  }
#define USB_CONTROLLER(id, st, text)                                                               \
  {                                                                                                \
    id, PD_COMPONENT_USB, st, PD_N_COMPONENTS, PD_LOG_CLEARS_DEVICE_BACK, TRUE, text               \
  }
#define GPU(id, st, text)                                                                          \
  {                                                                                                \
    id, PD_COMPONENT_GPU, st, PD_COMPONENT_VAAPI, PD_LOG_CLEARS_PROBE_PASSES, FALSE, text, TRUE    \
  }
#define VFIO(id, st, text)                                                                         \
  {                                                                                                \
    id, PD_COMPONENT_GPU, st, PD_N_COMPONENTS, PD_LOG_CLEARS_PROBE_PASSES, FALSE, text             \
  }
#define VFIO_HOST(id, st, text, step)                                                              \
  {                                                                                                \
    id, PD_COMPONENT_GPU, st, PD_N_COMPONENTS, PD_LOG_CLEARS_PROBE_PASSES, FALSE, text, FALSE,     \
        step                                                                                       \
  }
#define AUDIO(id, st, text, step)                                                                  \
  {                                                                                                \
    id, PD_COMPONENT_AUDIO, st, PD_N_COMPONENTS, PD_LOG_CLEARS_DEVICE_BACK, TRUE, text, FALSE,     \
        step                                                                                       \
  }
/* What helps a codec that stopped answering, least disruptive first: the
 * monitor's own HDMI wake-up (it re-reads the ELD and often revives the
 * codec), then rebinding the driver (passdesk-rebind-audio, through the
 * tray), then a real stop and start of the VM, which resets the HD-Audio
 * function (a reboot inside the VM does not). */
#define CODEC_STEP                                                                                   \
  N_ ("Turn the monitor off and on again (or choose its input again), then play a sound. Still "     \
      "silent: choose “Repair HDMI audio” on the passdesk notification (it resets the HD-Audio " \
      "controller; the password may be asked). Still silent after that: cold-restart the VM "        \
      "(“Cold "                                                                                    \
      "restart VM…”); a reboot inside the VM does not reset the HD-Audio function.")
#define DISPLAY(id, st, text)                                                                      \
  {                                                                                                \
    id, PD_COMPONENT_DISPLAY, st, PD_N_COMPONENTS, PD_LOG_CLEARS_DEVICE_BACK, FALSE, text          \
  }

static const PdLogKind kinds[K_N_KINDS] = {
  [K_USB_CONTROLLER_DIED]
  = USB_CONTROLLER ("usb.controller-died", PD_STATE_FAILED,
                    N_ ("The USB host controller stopped answering and the kernel gave it "
                        "up; every device on it is gone until the VM restarts.")),
  [K_USB_ENUMERATION_FAILED]
  = USB ("usb.enumeration-failed", PD_STATE_DEGRADED,
         N_ ("A USB device could not be enumerated (descriptor read or "
             "address errors): often a bad cable, hub or a USB 3 port.")),
  [K_USB_CABLE_BAD] = USB ("usb.cable-bad", PD_STATE_DEGRADED,
                           N_ ("The kernel could not enable a USB port and suspects the cable.")),
  [K_USB_OVER_CURRENT]
  = USB ("usb.over-current", PD_STATE_DEGRADED,
         N_ ("A USB port reported over-current: a device draws more power than "
             "the port gives.")),
  [K_USB_PORT_DISABLED_EMI]
  = USB ("usb.port-disabled-emi", PD_STATE_DEGRADED,
         N_ ("A USB port was disabled by its hub for electrical interference "
             "(EMI) and re-enabled.")),
  [K_USB_RESET_LOOP] = USB ("usb.reset-loop", PD_STATE_DEGRADED,
                            N_ ("The same USB device was reset again and again.")),
  [K_USB_RECONNECT_STORM]
  = USB ("usb.reconnect-storm", PD_STATE_DEGRADED,
         N_ ("A USB device kept disconnecting and coming back; a monitor's hub "
             "on a USB 3 port often does this: try a USB 2.0 port.")),
  [K_USB_HUB_ERROR]
  = USB ("usb.hub-error", PD_STATE_DEGRADED, N_ ("A USB hub failed to report its port status.")),
  [K_GPU_HANG] = GPU ("gpu.hang", PD_STATE_DEGRADED,
                      N_ ("The GPU hung and the driver reset an engine or context.")),
  [K_GPU_RESET_FAILED] = GPU ("gpu.reset-failed", PD_STATE_FAILED,
                              N_ ("The GPU driver had to reset the whole chip or a reset did not "
                                  "complete.")),
  [K_GPU_WEDGED]
  = GPU ("gpu.wedged", PD_STATE_FAILED,
         N_ ("The GPU driver declared the GPU wedged: it takes no more work until the "
             "VM is cold-restarted.")),
  [K_GPU_FIRMWARE_MISSING] = GPU ("gpu.firmware-missing", PD_STATE_DEGRADED,
                                  N_ ("GPU firmware (GuC/HuC/DMC) could not be loaded; install "
                                      "firmware-misc-nonfree.")),
  [K_DISPLAY_FIFO_UNDERRUN] = DISPLAY ("display.fifo-underrun", PD_STATE_DEGRADED,
                                       N_ ("The display engine ran out of pixels (FIFO underrun): "
                                           "flicker or a black screen.")),
  [K_AUDIO_CODEC_TIMEOUT]
  = AUDIO ("audio.codec-timeout", PD_STATE_FAILED,
           N_ ("The HD-Audio codec stopped answering the controller."), CODEC_STEP),
  [K_AUDIO_CODEC_PROBE_FAILED]
  = AUDIO ("audio.codec-probe-failed", PD_STATE_FAILED,
           N_ ("No HD-Audio codec came up: HDMI/DP audio is missing."),
           N_ ("Check that the monitor was on when the VM started, then "
               "cold-restart the VM (“Cold restart VM…”): the codec is "
               "probed only when the HD-Audio function starts.")),
  [K_AUDIO_SPURIOUS_RESPONSE]
  = AUDIO ("audio.spurious-response", PD_STATE_FAILED,
           N_ ("The HD-Audio controller got answers nobody asked for."), CODEC_STEP),
  [K_AUDIO_NO_I915_BINDING]
  = AUDIO ("audio.no-i915-binding", PD_STATE_FAILED,
           N_ ("HD-Audio could not bind to the i915 display driver, so "
               "HDMI/DP audio cannot work."),
           N_ ("Check that the i915 driver loads (lsmod | grep i915); if it "
               "does, cold-restart the VM (“Cold restart VM…”).")),
  [K_VFIO_ROM_INVALID]
  = VFIO ("vfio.rom-invalid", PD_STATE_DEGRADED,
          N_ ("The passed-through device's option ROM is invalid (check romfile= "
              "in the VM's hostpci line).")),
  [K_VFIO_PROBE_FAILED]
  = VFIO ("vfio.probe-failed", PD_STATE_FAILED, N_ ("vfio-pci failed to take a device.")),
  [K_VFIO_RESET_TIMEOUT] = VFIO_HOST (
      "vfio.reset-timeout", PD_STATE_FAILED,
      N_ ("A passed-through device did not come back from its reset (FLR or bus reset) on the "
          "Proxmox host; the VM cannot use it until the host resets it again."),
      N_ ("On the Proxmox host: stop the VM (“qm stop VMID”) and reboot the host; a full "
          "power-off resets the device when a reboot does not. To make it rarer, shut the VM "
          "down cleanly (“qm shutdown VMID”, or `passdesk cold-restart` from inside) instead of "
          "resetting it.")),
  [K_VFIO_BAR_BUSY] = VFIO_HOST (
      "vfio.bar-busy", PD_STATE_FAILED,
      N_ ("vfio-pci on the Proxmox host could not reserve the device's memory (BAR): the host's "
          "own framebuffer (efifb, simplefb or simpledrm) still holds it."),
      N_ ("On the Proxmox host: add “initcall_blacklist=sysfb_init” (and video=efifb:off "
          "video=simplefb:off) to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub as in the "
          "guide's step 1, run “update-grub” (“proxmox-boot-tool refresh” on systemd-boot), "
          "reboot the host, and check that `grep -i -e efifb -e simple /proc/iomem` prints "
          "nothing.")),
  [K_VFIO_DMAR_FAULT] = VFIO_HOST (
      "vfio.dmar-fault", PD_STATE_DEGRADED,
      N_ ("The Proxmox host's IOMMU blocked a memory access of a passed-through device (DMAR "
          "fault): the device used memory its VM has not mapped for it."),
      N_ ("A few faults while the VM starts are common and harmless. If they go on: on the "
          "Proxmox host check that `cat /proc/cmdline` has intel_iommu=on iommu=pt (the guide's "
          "step 1) and that the VM's hostpci line and ROM file match the guide (steps 3 to 5), "
          "then stop and start the VM (“qm shutdown VMID && qm start VMID”).")),
};

#undef USB
#undef USB_CONTROLLER
#undef GPU
#undef VFIO
#undef VFIO_HOST
#undef AUDIO
#undef CODEC_STEP
#undef DISPLAY

static const PdLogPattern patterns[] = {
  /* xhci-ring.c / xhci.c / hcd.c */
  { K_USB_CONTROLLER_DIED, "host controller not responding", NULL },
  { K_USB_CONTROLLER_DIED, "assume dead", NULL },
  { K_USB_CONTROLLER_DIED, "HC died", NULL },
  /* hub.c: hub_port_init () and hub_port_connect () */
  { K_USB_ENUMERATION_FAILED, "device descriptor read/", NULL },
  { K_USB_ENUMERATION_FAILED, "device not accepting address", NULL },
  { K_USB_ENUMERATION_FAILED, "unable to enumerate USB device", NULL },
  { K_USB_CABLE_BAD, "Maybe the USB cable is bad", NULL },
  { K_USB_OVER_CURRENT, "over-current change", NULL },
  { K_USB_OVER_CURRENT, "over-current condition", NULL },
  { K_USB_PORT_DISABLED_EMI, "disabled by hub (EMI?)", NULL },
  { K_USB_RESET_LOOP, "USB device number", ": reset .*USB device number [0-9]+",
    PD_LOG_ACTION_USB_RESET },
  { K_USB_RECONNECT_STORM, "USB device number", ": new .*USB device number [0-9]+",
    PD_LOG_ACTION_USB_NEW },
  { K_USB_RECONNECT_STORM, "USB disconnect, device number", NULL, PD_LOG_ACTION_USB_DISCONNECT },
  { K_USB_HUB_ERROR, "hub_ext_port_status failed", NULL },
  { K_USB_HUB_ERROR, "hub_port_status failed", NULL },
  /* i915: i915_gpu_error.c, intel_reset.c, intel_execlists_submission.c; xe: xe_guc_submit.c */
  { K_GPU_HANG, "GPU HANG", NULL },
  { K_GPU_HANG, "Resetting ", "Resetting [a-z]+[0-9]+ for " },
  { K_GPU_HANG, "context reset due to GPU hang", NULL },
  { K_GPU_HANG, "GPU recovery timed out", NULL },
  { K_GPU_HANG, "Engine reset: engine_class=", NULL },
  { K_GPU_HANG, "Timedout job: seqno=", NULL },
  { K_GPU_RESET_FAILED, "reset request timed out", NULL },
  { K_GPU_RESET_FAILED, "reset failed", "([Ee]ngine|GT[0-9]+:) reset failed" },
  { K_GPU_RESET_FAILED, "Resetting chip for", NULL },
  { K_GPU_RESET_FAILED, "Failed to reset chip", NULL },
  { K_GPU_WEDGED, "wedged", "declar[a-z]* .*wedged" },
  { K_GPU_WEDGED, "Failed to initialize GPU", NULL },
  /* intel_uc_fw.c, intel_dmc.c, firmware_loader */
  { K_GPU_FIRMWARE_MISSING, "Direct firmware load for i915/", NULL },
  { K_GPU_FIRMWARE_MISSING, "Direct firmware load for xe/", NULL },
  { K_GPU_FIRMWARE_MISSING, "fetch failed", "(GuC|HuC|GSC|DMC) firmware .*fetch failed" },
  { K_GPU_FIRMWARE_MISSING, "Failed to load ", "Failed to load (GuC|HuC|GSC|DMC) firmware" },
  { K_GPU_FIRMWARE_MISSING, "uC initialization failed", NULL },
  /* intel_fifo_underrun.c */
  { K_DISPLAY_FIFO_UNDERRUN, "FIFO underrun", NULL },
  /* hda_controller.c, hda_intel.c, regcache.c (for hdaudioCxDy codecs only) */
  { K_AUDIO_CODEC_TIMEOUT, "azx_get_response timeout", NULL },
  { K_AUDIO_CODEC_TIMEOUT, "No response from codec", NULL },
  { K_AUDIO_CODEC_TIMEOUT, "CORB reset timeout", NULL },
  { K_AUDIO_CODEC_TIMEOUT, "Unable to sync register", "hdaudio[^ ]*: Unable to sync register" },
  { K_AUDIO_CODEC_PROBE_FAILED, "probe error", "Codec #[0-9]+ probe error" },
  { K_AUDIO_CODEC_PROBE_FAILED, "no codecs initialized", NULL },
  { K_AUDIO_CODEC_PROBE_FAILED, "no codecs found", NULL },
  { K_AUDIO_SPURIOUS_RESPONSE, "spurious response", NULL },
  { K_AUDIO_NO_I915_BINDING, "couldn't bind with audio component", NULL },
  /* drivers/pci/rom.c, drivers/base/dd.c */
  { K_VFIO_ROM_INVALID, "Invalid PCI ROM header signature", NULL },
  { K_VFIO_PROBE_FAILED, "vfio-pci: probe of ", "vfio-pci: probe of [^ ]+ failed",
    PD_LOG_ACTION_REPORT, PD_LOG_DEVICE_PROBE_OF },
  /* the Proxmox host: drivers/pci/pci.c (pci_dev_wait; pci_bus_wait_crs's
   * "not ready after %dms" too), __pci_request_region ("BAR 2: can't
   * reserve [mem ...]"; the regex also takes the resource before the colon,
   * in case a kernel prints it there), drivers/iommu/intel/dmar.c */
  { K_VFIO_RESET_TIMEOUT, "; giving up",
    "not ready ([0-9]+ms after [^;]+|after [0-9]+ms); giving up" },
  { K_VFIO_BAR_BUSY, "can't reserve", "BAR [0-9]+( \\[[^]]*\\])?: can't reserve" },
  { K_VFIO_DMAR_FAULT, "Request device [",
    "\\[(DMA (Read|Write)|INTR-REMAP)[^]]*\\] Request device \\[[0-9a-fx:.]+\\]",
    PD_LOG_ACTION_REPORT, PD_LOG_DEVICE_DMAR },
  /* hda_intel.c's dev_printk prefix: which HD-Audio controller codecs belong to */
  { K_AUDIO_CODEC_TIMEOUT, "snd_hda_intel ", NULL, PD_LOG_ACTION_NOTE_HDA },
};

/* Each kind in a few words, for people (scan-log's headings); English,
 * marked for translation: callers translate with _(). */
static const char *const titles[K_N_KINDS] = {
  [K_USB_CONTROLLER_DIED] = N_ ("USB controller died"),
  [K_USB_ENUMERATION_FAILED] = N_ ("USB device not recognised"),
  [K_USB_CABLE_BAD] = N_ ("USB port cannot be enabled"),
  [K_USB_OVER_CURRENT] = N_ ("USB over-current"),
  [K_USB_PORT_DISABLED_EMI] = N_ ("USB port disabled by interference"),
  [K_USB_RESET_LOOP] = N_ ("USB device reset again and again"),
  [K_USB_RECONNECT_STORM] = N_ ("USB device keeps reconnecting"),
  [K_USB_HUB_ERROR] = N_ ("USB hub error"),
  [K_GPU_HANG] = N_ ("GPU hang"),
  [K_GPU_RESET_FAILED] = N_ ("GPU reset failed"),
  [K_GPU_WEDGED] = N_ ("GPU wedged"),
  [K_GPU_FIRMWARE_MISSING] = N_ ("GPU firmware missing"),
  [K_DISPLAY_FIFO_UNDERRUN] = N_ ("Display FIFO underrun"),
  [K_AUDIO_CODEC_TIMEOUT] = N_ ("HD-Audio codec not answering"),
  [K_AUDIO_CODEC_PROBE_FAILED] = N_ ("HD-Audio codec did not come up"),
  [K_AUDIO_SPURIOUS_RESPONSE] = N_ ("HD-Audio spurious responses"),
  [K_AUDIO_NO_I915_BINDING] = N_ ("HD-Audio not bound to the GPU driver"),
  [K_VFIO_ROM_INVALID] = N_ ("Invalid option ROM"),
  [K_VFIO_PROBE_FAILED] = N_ ("vfio-pci could not take a device"),
  [K_VFIO_RESET_TIMEOUT] = N_ ("Device lost after reset (host)"),
  [K_VFIO_BAR_BUSY] = N_ ("Device memory held by the host's framebuffer (host)"),
  [K_VFIO_DMAR_FAULT] = N_ ("IOMMU fault (DMAR, host)"),
};

const char *
pd_log_kind_title (const PdLogKind *kind)
{
  g_return_val_if_fail (kind >= kinds && kind < kinds + K_N_KINDS, "?");
  const char *t = titles[kind - kinds];
  return t ? t : kind->kind;
}

/* The scanner's masks (logscan.c) hold one bit per pattern and per kind. */
G_STATIC_ASSERT (G_N_ELEMENTS (patterns) <= PD_LOG_MAX_PATTERNS);
G_STATIC_ASSERT (K_N_KINDS <= PD_LOG_MAX_KINDS);

const PdLogKind *
pd_log_kinds (guint *n_kinds)
{
  if (n_kinds)
    *n_kinds = G_N_ELEMENTS (kinds);
  return kinds;
}

const PdLogKind *
pd_log_kind_lookup (const char *kind)
{
  if (kind == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (strcmp (kinds[i].kind, kind) == 0)
      return &kinds[i];
  return NULL;
}

const PdLogPattern *
pd_log_patterns (guint *n_patterns)
{
  *n_patterns = G_N_ELEMENTS (patterns);
  return patterns;
}

char *
pd_log_pattern_to_ere (const PdLogPattern *p)
{
  if (p->regex)
    return g_strdup (p->regex);
  GString *s = g_string_new (NULL);
  for (const char *c = p->needle; *c; c++)
    {
      if (strchr ("\\.[]()*+?{}|^$", *c))
        g_string_append_c (s, '\\');
      g_string_append_c (s, *c);
    }
  return g_string_free (s, FALSE);
}
