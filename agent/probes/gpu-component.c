/* gpu-component.c - the `gpu` and `display` components from a PdGpuScan:
 * the judgement (state), the words (summary, details) and the advice, for
 * the machine the Proxmox passthrough guide describes. Reads nothing: what
 * the scan (gpu-scan.c) found is all it knows.
 */
#include "gpu-scan.h"
#include "pd-i18n.h"

#include <string.h>

#include "detail-keys.h"

/* Proxmox host settings from the guide; 100 is the guide's VM ID. */
#define HOST_RESTART_CMD "qm shutdown 100 && qm start 100"

static void
append_notes (GString *s, const GPtrArray *notes)
{
  for (guint i = 0; i < notes->len; i++)
    {
      if (s->len)
        g_string_append (s, "; ");
      g_string_append (s, notes->pdata[i]);
    }
}

/* The "problems" detail of the gpu component: what could not be read about
 * any PCI device. */
static void
add_gpu_problems_detail (PdComponent *c, const PdGpuScan *scan)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < scan->devices->len; i++)
    append_notes (s, ((PdGpuDevice *) scan->devices->pdata[i])->notes);
  append_notes (s, scan->notes);
  if (s->len)
    pd_component_set_detail (c, PD_DETAIL_PROBLEMS, s->str);
}

static void
add_device_details (PdComponent *c, const PdGpuDevice *d)
{
  pd_component_set_detail (c, PD_DETAIL_PCI_SLOT, d->pci_slot);
  if (d->ids_known)
    pd_component_set_detail_printf (c, PD_DETAIL_IDS, "%04x:%04x", d->vendor, d->device);
  else
    pd_component_set_detail (c, PD_DETAIL_IDS, "unknown");
  pd_component_set_detail (c, PD_DETAIL_NAME, d->name);
  pd_component_set_detail (c, PD_DETAIL_GENERATION, pd_gpu_generation_to_string (d->generation));
  pd_component_set_detail (c, PD_DETAIL_DRIVER, d->driver ? d->driver : "none");
  pd_component_set_detail (c, PD_DETAIL_CARD, d->card_node ? d->card_node : "none");
  pd_component_set_detail (c, PD_DETAIL_RENDER_NODE, d->render_node ? d->render_node : "none");
  if (d->render_node)
    pd_component_set_detail (c, PD_DETAIL_RENDER_ACCESS,
                             !d->render_exists      ? "missing"
                             : d->render_accessible ? "read-write"
                                                    : "denied");
}

/* The display devices that are not the one we check: in a VM without
 * passthrough, QEMU's emulated VGA. */
static void
add_other_devices_detail (PdComponent *c, const PdGpuScan *scan, const PdGpuDevice *primary)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < scan->devices->len; i++)
    {
      const PdGpuDevice *d = scan->devices->pdata[i];
      if (d == primary)
        continue;
      if (s->len)
        g_string_append (s, "; ");
      g_string_append_printf (s, "%s %s", d->pci_slot, d->name);
      if (d->ids_known)
        g_string_append_printf (s, " (%04x:%04x)", d->vendor, d->device);
      g_string_append_printf (s, ", driver %s", d->driver ? d->driver : "none");
    }
  if (s->len)
    pd_component_set_detail (c, PD_DETAIL_OTHER_DISPLAY_DEVICES, s->str);
}

static void
advise_no_gpu (PdComponent *c)
{
  pd_component_add_advice (
      c,
      "On the Proxmox host, pass the iGPU to this VM (use your VM's ID for 100). "
      "Fujitsu Esprimo Q957 (machine type pc, vga: none), as in the guide:",
      "qm set 100 --hostpci0 0000:00:02.0");
  pd_component_add_advice (c,
                           "N100 mini PC (machine type q35): the VM config needs "
                           "`hostpci0: 0000:00:02,pcie=1,x-vga=1`:",
                           "qm set 100 --hostpci0 0000:00:02,pcie=1,x-vga=1");
  pd_component_add_advice (
      c,
      "Then stop the VM completely and start it again from the host: a reboot inside the "
      "guest does not attach new PCI devices and skips the hookscripts.",
      HOST_RESTART_CMD);
  pd_component_add_advice (
      c,
      "On the host, the iGPU must be bound to vfio-pci (guide step 2): `lspci -nnk` "
      "should show \"Kernel driver in use: vfio-pci\" or no driver for 00:02.0.",
      "lspci -nnk -s 00:02.0");
}

/* Specific advice from what find_driver_blocks() found; FALSE when it found
 * nothing. modprobe.d lines are commented out with sed, keeping the old file
 * as *.passdesk-bak (modprobe reads only *.conf). */
static gboolean
advise_driver_blocks (PdComponent *c, const PdGpuDevice *d)
{
  if (d->driver_blocks->len == 0)
    return FALSE;
  g_autoptr (GString) found = g_string_new (NULL);
  g_autoptr (GString) cmdline = g_string_new (NULL);
  g_autoptr (GString) fix = g_string_new (NULL);
  /* path -> "-e 'Ns/^/# /' ..." in first-seen order */
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) edits = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < d->driver_blocks->len; i++)
    {
      const char *block = d->driver_blocks->pdata[i];
      if (found->len)
        g_string_append (found, "; ");
      g_string_append (found, block);
      if (g_str_has_prefix (block, "/proc/cmdline: "))
        {
          if (cmdline->len)
            g_string_append (cmdline, " ");
          g_string_append (cmdline, block + strlen ("/proc/cmdline: "));
          continue;
        }
      /* "/etc/modprobe.d/NAME.conf:LINE: text"; NAME is a plain name. */
      const char *colon = strchr (block, ':');
      if (colon == NULL)
        continue;
      g_autofree char *path = g_strndup (block, (gsize) (colon - block));
      guint line = (guint) strtoul (colon + 1, NULL, 10);
      guint k;
      for (k = 0; k < paths->len; k++)
        if (strcmp (paths->pdata[k], path) == 0)
          break;
      if (k == paths->len)
        {
          g_ptr_array_add (paths, g_steal_pointer (&path));
          g_ptr_array_add (edits, g_strdup (""));
        }
      char *old = edits->pdata[k];
      edits->pdata[k] = g_strdup_printf ("%s-e '%us/^/# /' ", old, line);
      g_free (old);
    }
  pd_component_set_detail (c, PD_DETAIL_DRIVER_BLOCKED_BY, found->str);

  for (guint k = 0; k < paths->len; k++)
    g_string_append_printf (fix, "sudo sed -i.passdesk-bak %s%s\n", (char *) edits->pdata[k],
                            (char *) paths->pdata[k]);
  if (fix->len)
    {
      g_string_append (fix, "sudo update-initramfs -u");
      g_autofree char *text = pd_i18n_sprintf (
          "This guest's modprobe.d keeps i915 off the GPU (%s); vfio-pci and these blacklists "
          "belong on the Proxmox host only. Comment those lines out (the old file is kept as "
          ".passdesk-bak), rebuild the initramfs, then stop and start the VM:",
          found->str);
      pd_component_add_advice (c, text, fix->str);
    }
  if (cmdline->len)
    {
      g_autofree char *text = pd_i18n_sprintf (
          "The guest's kernel command line has `%s`, which keeps i915 off the GPU: remove it "
          "from GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, update GRUB and restart the "
          "VM:",
          cmdline->str);
      pd_component_add_advice (c, text, "sudoedit /etc/default/grub\nsudo update-grub");
    }
  return TRUE;
}

static void
advise_no_driver (PdComponent *c, const PdGpuDevice *d)
{
  gboolean specific = advise_driver_blocks (c, d);
  g_autofree char *load = g_strdup_printf ("sudo modprobe i915\nlspci -nnk -s %s", d->pci_slot);
  pd_component_add_advice (
      c,
      "Load the i915 kernel module in this guest and check that lspci then shows "
      "\"Kernel driver in use: i915\":",
      load);
  if (!specific)
    pd_component_add_advice (
        c,
        "If i915 is blacklisted in the guest (a `blacklist i915` line in /etc/modprobe.d, often "
        "copied from the host's vfio.conf, or modprobe.blacklist=i915 on the guest's kernel "
        "command line), remove that, rebuild the initramfs and restart the VM:",
        "grep -rn i915 /etc/modprobe.d /proc/cmdline\nsudo update-initramfs -u");
  pd_component_add_advice (
      c, "The kernel log tells why i915 did not take the device (firmware, unsupported kernel):",
      "sudo dmesg | grep -i -e i915 -e drm");
}

static void
advise_vfio_in_guest (PdComponent *c, const PdGpuDevice *d)
{
  if (advise_driver_blocks (c, d))
    return;
  pd_component_add_advice (
      c,
      "vfio-pci belongs on the Proxmox host, not in the guest: a modprobe.d file in this "
      "guest (usually /etc/modprobe.d/vfio.conf copied from the host, with `options vfio-pci "
      "ids=...` and `blacklist i915`) hands the GPU to vfio-pci. Move it away, remove vfio "
      "lines from the guest's /etc/modules, rebuild the initramfs and restart the VM:",
      "grep -rln -e vfio -e i915 /etc/modprobe.d /etc/modules\n"
      "sudo mv /etc/modprobe.d/vfio.conf /root/vfio.conf.disabled\n"
      "sudo update-initramfs -u");
}

PdComponent *
pd_gpu_component (const PdGpuScan *scan)
{
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_autoptr (PdComponent) c = pd_component_new (PD_COMPONENT_GPU, PD_STATE_OK, "");

  if (d == NULL)
    {
      const PdGpuDevice *unidentified = NULL;
      for (guint i = 0; i < scan->devices->len && unidentified == NULL; i++)
        if (!((PdGpuDevice *) scan->devices->pdata[i])->ids_known)
          unidentified = scan->devices->pdata[i];
      add_other_devices_detail (c, scan, NULL);
      add_gpu_problems_detail (c, scan);
      if (unidentified)
        {
          pd_component_set_state (c, PD_STATE_UNKNOWN, "");
          pd_component_set_summary_printf (
              c,
              "The display device at %s could not be identified (its vendor or device id "
              "is unreadable)",
              unidentified->pci_slot);
          g_autofree char *cmd = g_strdup_printf ("lspci -nnk -s %s", unidentified->pci_slot);
          pd_component_add_advice (c, "Check what lspci says about it:", cmd);
          return g_steal_pointer (&c);
        }
      pd_component_set_state (c, PD_STATE_FAILED,
                              "No GPU was passed through: this VM has no Intel display device");
      advise_no_gpu (c);
      return g_steal_pointer (&c);
    }

  add_device_details (c, d);
  add_other_devices_detail (c, scan, d);
  add_gpu_problems_detail (c, scan);

  if (d->driver == NULL)
    {
      pd_component_set_state (c, PD_STATE_FAILED, "");
      pd_component_set_summary_printf (c, "%s at %s has no kernel driver bound", d->name,
                                       d->pci_slot);
      advise_no_driver (c, d);
    }
  else if (strcmp (d->driver, "vfio-pci") == 0)
    {
      pd_component_set_state (c, PD_STATE_FAILED, "");
      pd_component_set_summary_printf (c, "%s is bound to vfio-pci inside the guest, not to i915",
                                       d->name);
      advise_vfio_in_guest (c, d);
    }
  else if (!pd_gpu_device_has_gpu_driver (d))
    {
      pd_component_set_state (c, PD_STATE_FAILED, "");
      pd_component_set_summary_printf (c, "%s is bound to %s, not to i915", d->name, d->driver);
      advise_no_driver (c, d);
    }
  else if (d->card_node == NULL)
    {
      pd_component_set_state (c, PD_STATE_FAILED, "");
      pd_component_set_summary_printf (c, "%s is bound to %s but it created no DRM device", d->name,
                                       d->driver);
      pd_component_add_advice (c, "The kernel log tells why the driver gave up on the device:",
                               "sudo dmesg | grep -i -e i915 -e xe -e drm");
    }
  else if (!d->render_in_sysfs)
    {
      pd_component_set_state (c, PD_STATE_FAILED, "");
      pd_component_set_summary_printf (c, "%s has no render node: %s registered none", d->name,
                                       d->driver);
      pd_component_add_advice (c, "The kernel log tells why the driver registered no render node:",
                               "sudo dmesg | grep -i -e i915 -e xe -e drm");
    }
  else if (!d->render_exists)
    {
      pd_component_set_state (c, PD_STATE_FAILED, "");
      pd_component_set_summary_printf (c, "The render node %s is missing", d->render_node);
      pd_component_add_advice (
          c,
          "The kernel has the render node but its device file was not created (udev); "
          "have udev create the DRM device files again:",
          "sudo udevadm trigger --subsystem-match=drm --action=add\nls -l /dev/dri");
    }
  else if (!d->render_accessible)
    {
      pd_component_set_state (c, PD_STATE_DEGRADED, "");
      pd_component_set_summary_printf (c,
                                       "%s works, but you may not open %s (video acceleration "
                                       "and GPU rendering need it)",
                                       d->name, d->render_node);
      pd_component_add_advice (c, "Add yourself to the render group, then log out and back in:",
                               "sudo usermod -aG render $USER");
      pd_component_add_advice (c,
                               "Or run it from the active local desktop session: logind gives "
                               "that session's user access to the GPU.",
                               NULL);
    }
  else
    pd_component_set_summary_printf (c, "%s on %s, render node %s", d->name, d->driver,
                                     d->render_node);
  return g_steal_pointer (&c);
}

static char *
describe_connector (const PdConnector *con)
{
  /* The kernel's words, as msgids: clients read them in their language
   * (pd_i18n_join). */
  static const char *const words[] = { N_ ("connected"), N_ ("disconnected"), N_ ("unknown") };
  (void) words;
  if (strcmp (con->status, "disconnected") == 0)
    return g_strdup ("disconnected");
  PdI18nJoin *j = pd_i18n_join_new ();
  pd_i18n_join_append (j, con->status);
  pd_i18n_join_append (j, con->enabled ? N_ (", enabled") : N_ (", disabled"));
  if (con->preferred_mode)
    {
      pd_i18n_join_append (j, ", ");
      pd_i18n_join_append (j, con->preferred_mode);
    }
  return pd_i18n_join_finish (j);
}

PdComponent *
pd_display_component (const PdGpuScan *scan)
{
  const PdGpuDevice *d = pd_gpu_scan_primary (scan);
  g_autoptr (PdComponent) c = pd_component_new (PD_COMPONENT_DISPLAY, PD_STATE_OK, "");

  /* When the GPU itself failed, its outputs cannot be seen: say so without
   * counting the same cause twice. */
  if (d == NULL)
    {
      pd_component_set_state (c, PD_STATE_UNKNOWN, "Not checked: no passed-through GPU");
      return g_steal_pointer (&c);
    }
  pd_component_set_detail (c, PD_DETAIL_CARD, d->card_node ? d->card_node : "none");
  if (d->card_node == NULL)
    {
      pd_component_set_state (c, PD_STATE_UNKNOWN,
                              "Not checked: the GPU has no working driver (see GPU)");
      return g_steal_pointer (&c);
    }

  PdI18nJoin *connected = pd_i18n_join_new ();
  g_autoptr (GString) off = g_string_new (NULL);
  g_autoptr (GString) unknown = g_string_new (NULL);
  g_autoptr (GString) all = g_string_new (NULL);
  for (guint i = 0; i < d->connectors->len; i++)
    {
      const PdConnector *con = d->connectors->pdata[i];
      g_autofree char *desc = describe_connector (con);
      pd_component_set_detail (c, con->name, desc);

      GString *bucket = NULL;
      if (strcmp (con->status, "connected") == 0)
        bucket = con->enabled ? NULL : off;
      else if (strcmp (con->status, "unknown") == 0)
        bucket = unknown;
      if (strcmp (con->status, "connected") == 0 && con->enabled)
        {
          if (pd_i18n_join_length (connected) > 0)
            pd_i18n_join_append (connected, "; ");
          pd_i18n_join_append (connected, con->name);
          pd_i18n_join_append (connected, " ");
          pd_i18n_join_append (connected, desc);
        }
      else if (bucket)
        {
          if (bucket->len)
            g_string_append (bucket, ", ");
          g_string_append (bucket, con->name);
        }
      if (all->len)
        g_string_append (all, ", ");
      g_string_append (all, con->name);
    }
  g_autofree char *connected_text = pd_i18n_join_finish (connected);
  if (d->display_notes->len)
    {
      g_autoptr (GString) s = g_string_new (NULL);
      append_notes (s, d->display_notes);
      pd_component_set_detail (c, PD_DETAIL_PROBLEMS, s->str);
    }

  if (d->connectors->len == 0)
    {
      pd_component_set_state (c, PD_STATE_FAILED, "The GPU reports no display outputs");
      pd_component_add_advice (
          c,
          "i915 found no outputs. On the host, pass the iGPU as the guide does (Esprimo: "
          "machine type pc, `vga: none`, `hostpci0: 0000:00:02.0`; N100: `hostpci0: "
          "0000:00:02,pcie=1,x-vga=1` with the GOP ROM from step 3), then stop and start the VM:",
          HOST_RESTART_CMD);
    }
  else if (*connected_text)
    pd_component_set_state (c, c->state, connected_text);
  else if (off->len)
    {
      pd_component_set_state (c, PD_STATE_DEGRADED, "");
      pd_component_set_summary_printf (c, "A monitor is connected on %s but the output is off",
                                       off->str);
      pd_component_add_advice (c,
                               "Turn the output on in the desktop's display settings, or log in "
                               "on the desktop: without a running session nothing lights it up.",
                               NULL);
    }
  else if (unknown->len)
    {
      pd_component_set_state (c, PD_STATE_UNKNOWN, "");
      pd_component_set_summary_printf (c, "Cannot tell whether a monitor is connected (%s)",
                                       unknown->str);
    }
  else
    {
      pd_component_set_state (c, PD_STATE_DEGRADED, "");
      pd_component_set_summary_printf (c, "No monitor is connected (%s: disconnected)", all->str);
      pd_component_add_advice (
          c,
          "Check the cable and the monitor's input source. The monitor belongs on the host's "
          "HDMI or DisplayPort port: while this VM runs, that port is the passed-through iGPU's.",
          NULL);
      pd_component_add_advice (
          c,
          "If the monitor is connected and on, the iGPU may not have been reset since an "
          "in-guest reboot: stop and start the VM from the Proxmox host.",
          HOST_RESTART_CMD);
    }
  return g_steal_pointer (&c);
}
