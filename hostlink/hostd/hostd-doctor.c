/* hostd-doctor.c - judging the host and its VMs against the guide. */
#include "hostd-doctor.h"
#include "pd-i18n.h"

#include "hostd-setup.h"

#include <string.h>

const char *
pd_doctor_state_to_string (PdDoctorState state)
{
  switch (state)
    {
    case PD_DOCTOR_OK:
      return "ok";
    case PD_DOCTOR_WARN:
      return "warn";
    case PD_DOCTOR_FAIL:
    default:
      return "fail";
    }
}

void
pd_doctor_finding_free (PdDoctorFinding *f)
{
  if (f == NULL)
    return;
  g_free (f->check);
  g_free (f->text);
  g_free (f->fix);
  pd_msg_free (f->text_msg);
  pd_msg_free (f->fix_msg);
  g_free (f);
}

char *
pd_doctor_clean_text (const char *s)
{
  char *v = g_utf8_make_valid (s, -1);
  for (char *p = v; *p; p++)
    if (((guchar) *p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
      *p = '?';
  return v;
}

/* Takes @text and @fix. */
static void
add (GPtrArray *out, const char *check, guint vmid, PdDoctorState state, char *text, char *fix)
{
  PdDoctorFinding *f = g_new0 (PdDoctorFinding, 1);
  f->check = g_strdup (check);
  f->vmid = vmid;
  f->state = state;
  f->text = text;
  f->fix = state == PD_DOCTOR_OK ? (g_free (fix), NULL) : fix;
  /* Looked up at once: the book keeps only the latest sentences. */
  f->text_msg = pd_i18n_book_lookup (f->text);
  f->fix_msg = f->fix ? pd_i18n_book_lookup (f->fix) : NULL;
  g_ptr_array_add (out, f);
}

/* The findings are English with their recipes in the sentence book
 * (pd-i18n.h): the CLI words them in its user's language, the daemon sends
 * them to each guest, whose clients may speak another. */
#define P(...) pd_i18n_sprintf (__VA_ARGS__)

PdDoctorState
pd_doctor_worst (GPtrArray *findings, guint vmid)
{
  PdDoctorState w = PD_DOCTOR_OK;
  for (guint i = 0; i < findings->len; i++)
    {
      PdDoctorFinding *f = findings->pdata[i];
      if ((vmid == 0 || f->vmid == 0 || f->vmid == vmid) && f->state > w)
        w = f->state;
    }
  return w;
}

/* --- kernel command lines --- */

/* The value of parameter @name ("" for a bare flag), NULL when absent. The
 * last one wins, as in the kernel. */
static char *
param (const char *cmdline, const char *name)
{
  if (cmdline == NULL)
    return NULL;
  char *found = NULL;
  g_auto (GStrv) w = g_strsplit_set (cmdline, " \t\n", -1);
  gsize n = strlen (name);
  for (guint i = 0; w[i]; i++)
    if (strncmp (w[i], name, n) == 0 && (w[i][n] == '=' || w[i][n] == '\0'))
      {
        g_free (found);
        found = g_strdup (w[i][n] == '=' ? w[i] + n + 1 : "");
      }
  return found;
}

static gboolean
has_param (const char *cmdline, const char *name, const char *value)
{
  g_autofree char *v = param (cmdline, name);
  return v && g_str_equal (v, value);
}

typedef struct
{
  gboolean sdboot;
  const char *file;       /* where the command line is configured */
  const char *apply;      /* what to run after editing it */
  const char *configured; /* its value there, NULL: unknown */
} Boot;

static Boot
boot_of (const PdDoctorHost *h)
{
  Boot b;
  b.sdboot = h->proxmox_boot && h->kernel_cmdline != NULL;
  b.file = b.sdboot ? "/etc/kernel/cmdline" : "/etc/default/grub";
  b.apply = b.sdboot ? "proxmox-boot-tool refresh" : "update-grub";
  b.configured = b.sdboot ? h->kernel_cmdline : h->grub_cmdline;
  return b;
}

/* "add X to ..., run ... and reboot" for parameters @params. */
static char *
cmdline_fix (const Boot *b, const char *params)
{
  if (b->sdboot)
    return P (N_ ("Add %s to the line in /etc/kernel/cmdline, run `proxmox-boot-tool refresh` and "
                  "reboot."),
              params);
  return P (N_ ("Add %s to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run `update-grub` and "
                "reboot."),
            params);
}

/* --- PCI --- */

static const PdDoctorPci *
pci_find (const PdDoctorHost *h, const char *addr)
{
  for (guint i = 0; i < h->pci->len; i++)
    {
      const PdDoctorPci *p = h->pci->pdata[i];
      if (g_str_equal (p->addr, addr))
        return p;
    }
  return NULL;
}

static const PdDoctorPci *
find_gpu (const PdDoctorHost *h)
{
  const PdDoctorPci *p = pci_find (h, "0000:00:02.0");
  return p && p->vendor == 0x8086 && (p->class_code >> 16) == 0x03 ? p : NULL;
}

/* The HD-Audio function: the first audio-class (04xx) device at 00:1f. */
static const PdDoctorPci *
find_audio (const PdDoctorHost *h)
{
  for (guint i = 0; i < h->pci->len; i++)
    {
      const PdDoctorPci *p = h->pci->pdata[i];
      if (g_str_has_prefix (p->addr, "0000:00:1f.") && (p->class_code >> 16) == 0x04)
        return p;
    }
  return NULL;
}

const char *
pd_doctor_machine (const PdDoctorHost *h)
{
  const PdDoctorPci *gpu = find_gpu (h);
  if (gpu == NULL)
    return NULL;
  if (gpu->device == 0x46d1)
    return "n100";
  if (gpu->device == 0x5912)
    return "esprimo";
  return "intel";
}

const char *
pd_doctor_machine_name (const char *machine)
{
  if (g_strcmp0 (machine, "n100") == 0)
    return "Intel N100 mini PC";
  if (g_strcmp0 (machine, "esprimo") == 0)
    return "Fujitsu Esprimo Q957";
  if (g_strcmp0 (machine, "intel") == 0)
    return "Intel iGPU (not one of the guide's machines)";
  return "no Intel iGPU";
}

/* Other devices in @p's group, as "0000:00:1f.0 (0601 8086:5481, driver)"
 * and plain addresses. */
static GPtrArray *
group_others (const PdDoctorHost *h, const PdDoctorPci *p)
{
  GPtrArray *o = g_ptr_array_new ();
  for (guint i = 0; p->group >= 0 && i < h->pci->len; i++)
    {
      const PdDoctorPci *q = h->pci->pdata[i];
      if (q != p && q->group == p->group)
        g_ptr_array_add (o, (gpointer) q);
    }
  return o;
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *
describe_list (GPtrArray *devs)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < devs->len; i++)
    {
      const PdDoctorPci *q = devs->pdata[i];
      /* Words of no language: the list goes into sentences of any. A
       * network controller (class 02) says so, the network-reset check
       * explains what that costs. */
      if (i)
        g_string_append (s, ", ");
      g_string_append_printf (s, "%s [%04x:%04x%s]", q->addr + 5, q->vendor, q->device,
                              (q->class_code >> 16) == 0x02 ? ", Ethernet" : "");
    }
  return g_string_free (s, FALSE);
}

/* --- the remove/rescan workaround --- */

/* Addresses a script removes ("echo 1 > /sys/bus/pci/devices/0000\:00\:1f.3/remove")
 * when it also rescans; scripts it sources or runs (absolute .sh paths found
 * in @scripts) count as its own text, one level deep. */
static GHashTable *
workaround_removes (const char *text, GHashTable *scripts, int depth)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (text == NULL)
    return set;
  g_autoptr (GString) clean = g_string_new (NULL);
  for (const char *p = text; *p; p++)
    if (!(*p == '\\' && p[1] == ':'))
      g_string_append_c (clean, *p);
  gboolean rescan = FALSE;
  g_auto (GStrv) lines = g_strsplit (clean->str, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *l = g_strstrip (lines[i]);
      if (*l == '#')
        continue;
      if (strstr (l, "/sys/bus/pci/rescan"))
        rescan = TRUE;
      const char *d = strstr (l, "/sys/bus/pci/devices/");
      const char *r = d ? strstr (d, "/remove") : NULL;
      if (d && r)
        {
          const char *a = d + strlen ("/sys/bus/pci/devices/");
          g_hash_table_add (set, g_strndup (a, (gsize) (r - a)));
        }
      if (depth == 0 && scripts)
        {
          GHashTableIter it;
          gpointer k, v;
          g_hash_table_iter_init (&it, scripts);
          while (g_hash_table_iter_next (&it, &k, &v))
            if (strstr (l, k))
              {
                g_autoptr (GHashTable) sub = workaround_removes (v, NULL, 1);
                if (g_hash_table_size (sub) > 0)
                  rescan = TRUE;
                GHashTableIter j;
                gpointer a;
                g_hash_table_iter_init (&j, sub);
                while (g_hash_table_iter_next (&j, &a, NULL))
                  g_hash_table_add (set, g_strdup (a));
              }
        }
    }
  if (!rescan)
    g_hash_table_remove_all (set);
  return set;
}

/* The phase branch of a hookscript's `case "$phase" in` that runs the
 * workaround for @addr, or NULL. */
static char *
hook_workaround_phase (const char *hook, GHashTable *scripts, const char *addr)
{
  static const char *const phases[] = { "pre-start", "post-start", "pre-stop", "post-stop" };
  for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      g_autofree char *label = g_strconcat (phases[i], ")", NULL);
      const char *start = strstr (hook, label);
      /* Also `pre-stop|post-stop)` and quoted labels: find the label's line. */
      if (start == NULL)
        {
          g_autofree char *alt = g_strconcat (phases[i], "|", NULL);
          start = strstr (hook, alt);
        }
      if (start == NULL)
        continue;
      const char *end = strstr (start, ";;");
      g_autofree char *branch = end ? g_strndup (start, (gsize) (end - start)) : g_strdup (start);
      g_autoptr (GHashTable) set = workaround_removes (branch, scripts, 0);
      if (g_hash_table_contains (set, addr))
        return g_strdup (phases[i]);
    }
  return NULL;
}

/* The @reboot job that runs the workaround for @addr, or NULL. */
static const char *
boot_workaround (const PdDoctorHost *h, const char *addr)
{
  for (guint i = 0; i < h->reboot_jobs->len; i++)
    {
      g_autoptr (GHashTable) set = workaround_removes (h->reboot_jobs->pdata[i], h->scripts, 0);
      if (g_hash_table_contains (set, addr))
        return h->reboot_jobs->pdata[i];
    }
  return NULL;
}

/* A command that writes the guide's script for this host's group: the
 * remove lines for every function in it, lowest first, then the rescan
 * (and the network restart when a NIC is among them). One line, so it also
 * fits the wire. */
static char *
workaround_script (GPtrArray *others, const char *addr)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  gboolean nic = FALSE;
  for (guint i = 0; i < others->len; i++)
    {
      const PdDoctorPci *q = others->pdata[i];
      g_ptr_array_add (all, q->addr);
      nic |= (q->class_code >> 16) == 0x02;
    }
  g_ptr_array_add (all, (gpointer) addr);
  g_ptr_array_sort (all, cmp_str);
  GString *s = g_string_new ("printf '%s\\n' '#!/usr/bin/bash'");
  for (guint i = 0; i < all->len; i++)
    {
      g_auto (GStrv) parts = g_strsplit (all->pdata[i], ":", -1);
      g_autofree char *esc = g_strjoinv ("\\:", parts);
      g_string_append_printf (s, " 'echo 1 > /sys/bus/pci/devices/%s/remove'", esc);
    }
  g_string_append (s, " 'echo 1 > /sys/bus/pci/rescan'");
  if (nic)
    g_string_append (s, " 'systemctl restart networking'");
  g_string_append (s, " 'sleep 10' > /root/passthrough-tweak.sh && chmod +x "
                      "/root/passthrough-tweak.sh");
  return g_string_free (s, FALSE);
}

/* --- modprobe --- */

static const char *
blacklisted_in (const PdDoctorHost *h, const char *module)
{
  for (guint i = 0; i < h->blacklist->len; i++)
    {
      const char *e = h->blacklist->pdata[i];
      const char *tab = strchr (e, '\t');
      if (tab && (gsize) (tab - e) == strlen (module) && strncmp (e, module, strlen (module)) == 0)
        return tab + 1;
    }
  g_autofree char *list = param (h->cmdline, "modprobe.blacklist");
  if (list)
    {
      g_auto (GStrv) mods = g_strsplit (list, ",", -1);
      if (g_strv_contains ((const char *const *) mods, module))
        return "modprobe.blacklist="; /* the same word in every language */
    }
  return NULL;
}

static gboolean
ids_contain (const char *ids, guint vendor, guint device)
{
  char want[16];
  g_snprintf (want, sizeof want, "%04x:%04x", vendor, device);
  g_auto (GStrv) l = g_strsplit (ids, ",", -1);
  for (guint i = 0; l[i]; i++)
    if (g_ascii_strcasecmp (g_strstrip (l[i]), want) == 0)
      return TRUE;
  return FALSE;
}

/* --- host --- */

/* Whole sentences per device, not "The %s %s": the device's name is part of
 * the sentence in other languages (gender, case). */
static void
judge_driver (const PdDoctorPci *p, const char *check, gboolean audio, GPtrArray *out)
{
  if (p->driver == NULL)
    add (out, check, 0, PD_DOCTOR_OK,
         audio ? P (N_ ("The HD-Audio function %s has no driver bound; vfio-pci takes it when the "
                        "VM starts."),
                    p->addr)
               : P (N_ ("The iGPU %s has no driver bound; vfio-pci takes it when the VM starts."),
                    p->addr),
         NULL);
  else if (g_str_equal (p->driver, "vfio-pci"))
    add (out, check, 0, PD_DOCTOR_OK,
         audio ? P (N_ ("The HD-Audio function %s is bound to vfio-pci."), p->addr)
               : P (N_ ("The iGPU %s is bound to vfio-pci."), p->addr),
         NULL);
  else
    add (out, check, 0, PD_DOCTOR_FAIL,
         audio ? P (N_ ("The HD-Audio function %s is bound to %s, so the host holds it and the VM "
                        "cannot get it."),
                    p->addr, p->driver)
               : P (N_ ("The iGPU %s is bound to %s, so the host holds it and the VM cannot get "
                        "it."),
                    p->addr, p->driver),
         P (N_ ("Add `blacklist %s` to /etc/modprobe.d/vfio.conf, run `update-initramfs -u -k all` "
                "and reboot; `lspci -nnk -s %s` must then say “Kernel driver in use: vfio-pci” or "
                "name no driver in use."),
            p->driver, p->addr + 5));
}

static void
judge_groups (const PdDoctorHost *h, const Boot *b, GPtrArray *vms, const PdDoctorPci *gpu,
              const PdDoctorPci *audio, GPtrArray *out)
{
  if (gpu->group >= 0)
    {
      g_autoptr (GPtrArray) o = group_others (h, gpu);
      if (o->len == 0)
        add (out, "iommu-group-gpu", 0, PD_DOCTOR_OK,
             P (N_ ("The iGPU %s is alone in IOMMU group %d."), gpu->addr, gpu->group), NULL);
      else
        {
          g_autofree char *l = describe_list (o);
          add (out, "iommu-group-gpu", 0, PD_DOCTOR_WARN,
               P (N_ ("The iGPU %s shares IOMMU group %d with %s; a group goes to a VM whole."),
                  gpu->addr, gpu->group, l),
               g_strdup (N_ ("List the groups with `pvesh get /nodes/$(hostname)/hardware/pci "
                             "--pci-class-blacklist \"\"` and pass the other devices too, or keep "
                             "them off the host.")));
        }
    }
  if (audio == NULL || audio->group < 0)
    return;
  g_autoptr (GPtrArray) o = group_others (h, audio);
  if (o->len == 0)
    {
      add (out, "iommu-group-audio", 0, PD_DOCTOR_OK,
           P (N_ ("The HD-Audio function %s is alone in IOMMU group %d."), audio->addr,
              audio->group),
           NULL);
      return;
    }
  g_autofree char *l = describe_list (o);
  const char *job = boot_workaround (h, audio->addr);
  if (job == NULL)
    {
      g_autofree char *script = workaround_script (o, audio->addr);
      add (
          out, "iommu-group-audio", 0, PD_DOCTOR_FAIL,
          P (N_ ("The HD-Audio function %s shares IOMMU group %d with %s, and nothing in root's "
                 "crontab runs the guide's remove/rescan workaround at boot, so the audio device "
                 "cannot be handed to the VM."),
             audio->addr, audio->group, l),
          P (N_ ("Run `%s`, add `@reboot /root/passthrough-tweak.sh` with `crontab -e`, and "
                 "source the script in the hookscript's pre-stop phase (see vm-hookscript). "
                 "(pcie_acs_override=downstream,multifunction in %s would split the group instead, "
                 "but it gives up the isolation between these devices.)"),
             script, b->file));
    }
  else
    add (out, "iommu-group-audio", 0, PD_DOCTOR_OK,
         P (N_ ("The HD-Audio function %s shares IOMMU group %d with %s; the guide's remove/rescan "
                "workaround runs at boot (crontab: @reboot %s)."),
            audio->addr, audio->group, l, job),
         NULL);

  /* The network side effect: the workaround removes the host's NIC. */
  for (guint i = 0; i < o->len; i++)
    {
      const PdDoctorPci *q = o->pdata[i];
      if ((q->class_code >> 16) != 0x02)
        continue;
      gboolean removed = job && boot_workaround (h, q->addr) != NULL;
      for (guint v = 0; vms && v < vms->len && !removed; v++)
        {
          const PdDoctorVm *vm = vms->pdata[v];
          g_autofree char *ph
              = vm->hook_text ? hook_workaround_phase (vm->hook_text, h->scripts, q->addr) : NULL;
          removed = ph != NULL;
        }
      if (removed)
        add (
            out, "network-reset", 0, PD_DOCTOR_WARN,
            P (N_ ("The workaround also removes %s, the host's network card%s%s%s, so each VM stop "
                   "resets host networking for a moment (connections may drop)."),
               q->addr, q->driver ? " (" : "", q->driver ? q->driver : "", q->driver ? ")" : ""),
            P (N_ ("Give the host a USB network adapter and leave %s unused (then drop its remove "
                   "line and `systemctl restart networking` from /root/passthrough-tweak.sh), or "
                   "accept the short reset."),
               q->addr));
    }
}

void
pd_doctor_judge_host (const PdDoctorHost *h, GPtrArray *vms, GPtrArray *out)
{
  Boot b = boot_of (h);

  if (h->is_proxmox)
    add (out, "proxmox", 0, PD_DOCTOR_OK,
         g_strdup (N_ ("This is a Proxmox VE host (/etc/pve exists).")), NULL);
  else
    add (out, "proxmox", 0, PD_DOCTOR_FAIL,
         g_strdup (
             N_ ("This machine is not a Proxmox VE host (there is no /etc/pve), so no VM could "
                 "be checked; the host checks below describe this machine only. "
                 "passdesk-hostd belongs on the Proxmox host that runs your desktop VM.")),
         g_strdup (N_ ("Run `passdesk-hostd doctor` on the Proxmox VE host that runs the desktop "
                       "VM.")));

  /* Where the command line is configured. */
  if (b.sdboot)
    add (out, "boot-config", 0, PD_DOCTOR_OK,
         g_strdup (
             N_ ("This host boots through proxmox-boot-tool (systemd-boot): its kernel command "
                 "line is /etc/kernel/cmdline, applied with `proxmox-boot-tool refresh`; "
                 "/etc/default/grub is not used.")),
         NULL);
  else if (h->has_grub)
    add (out, "boot-config", 0, PD_DOCTOR_OK,
         g_strdup (
             N_ ("This host boots with GRUB: its kernel command line is "
                 "GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, applied with `update-grub`.")),
         NULL);
  else
    add (out, "boot-config", 0, PD_DOCTOR_WARN,
         g_strdup (N_ ("Neither /etc/default/grub nor /etc/kernel/cmdline with proxmox-boot-tool "
                       "exists, so where this host's kernel command line is configured could not "
                       "be checked.")),
         g_strdup (N_ ("See how the host boots with `proxmox-boot-tool status` and set "
                       "intel_iommu=on iommu=pt there.")));

  /* IOMMU on the command line in effect. */
  gboolean on = has_param (h->cmdline, "intel_iommu", "on");
  gboolean configured = has_param (b.configured, "intel_iommu", "on");
  gboolean known_config = b.sdboot || h->has_grub;
  gboolean kernel_on = h->iommu_units->len > 0 && h->n_groups > 0;
  if (h->cmdline == NULL)
    add (out, "iommu-cmdline", 0, PD_DOCTOR_FAIL,
         P (N_ ("/proc/cmdline could not be read (%s), so the kernel command line in effect is "
                "unknown."),
            h->cmdline_error ? h->cmdline_error : "unknown error"),
         g_strdup (N_ ("Run the doctor on the host itself, with /proc mounted.")));
  else if (has_param (h->cmdline, "intel_iommu", "off"))
    add (out, "iommu-cmdline", 0, PD_DOCTOR_FAIL,
         g_strdup (
             N_ ("intel_iommu=off is on the kernel command line in effect, so the IOMMU is off "
                 "and nothing can be passed through.")),
         known_config
             ? P (N_ ("Replace intel_iommu=off with intel_iommu=on in %s, run `%s` and reboot."),
                  b.file, b.apply)
             : g_strdup (N_ ("Replace intel_iommu=off with intel_iommu=on on the kernel "
                             "command line of the boot loader this host uses and reboot.")));
  else if (on && (configured || !known_config))
    add (out, "iommu-cmdline", 0, PD_DOCTOR_OK,
         known_config
             ? P (N_ ("The kernel command line in effect has intel_iommu=on, as configured in "
                      "%s."),
                  b.file)
             : g_strdup (N_ ("The kernel command line in effect has intel_iommu=on.")),
         NULL);
  else if (on)
    add (out, "iommu-cmdline", 0, PD_DOCTOR_WARN,
         P (N_ ("intel_iommu=on is in effect but not in %s, so the next boot loses it."), b.file),
         cmdline_fix (&b, "intel_iommu=on iommu=pt"));
  else if (configured)
    add (out, "iommu-cmdline", 0, kernel_on ? PD_DOCTOR_WARN : PD_DOCTOR_FAIL,
         P (N_ ("intel_iommu=on is in %s but not in the command line in effect (/proc/cmdline): "
                "`%s` was not run or the host was not rebooted since."),
            b.file, b.apply),
         P (N_ ("Run `%s` and reboot; `cat /proc/cmdline` must then show intel_iommu=on."),
            b.apply));
  else if (kernel_on)
    add (out, "iommu-cmdline", 0, PD_DOCTOR_OK,
         g_strdup (
             N_ ("The kernel command line in effect lacks intel_iommu=on, but the kernel turned "
                 "the IOMMU on by itself (Proxmox VE kernels do since 6.8), so nothing is "
                 "missing.")),
         NULL);
  else
    {
      g_autofree char *fix = cmdline_fix (&b, "intel_iommu=on iommu=pt");
      gboolean grub_has = b.sdboot && has_param (h->grub_cmdline, "intel_iommu", "on");
      add (out, "iommu-cmdline", 0, PD_DOCTOR_FAIL,
           P (N_ ("The kernel command line in effect (/proc/cmdline) lacks intel_iommu=on, so the "
                  "IOMMU is off and nothing can be passed through%s."),
              grub_has ? " (/etc/default/grub has it, but this host boots through "
                         "proxmox-boot-tool and does not read that file)"
                       : ""),
           known_config ? g_strdup (fix)
                        : g_strdup (N_ ("Add intel_iommu=on iommu=pt to the kernel command line of "
                                        "the boot loader this host uses and reboot.")));
    }

  if (h->cmdline)
    {
      if (has_param (h->cmdline, "iommu", "pt"))
        add (out, "iommu-pt", 0, PD_DOCTOR_OK,
             g_strdup (N_ ("iommu=pt is on the kernel command line in effect.")), NULL);
      else
        add (
            out, "iommu-pt", 0, PD_DOCTOR_WARN,
            g_strdup (N_ ("iommu=pt is not on the kernel command line in effect, so the host's own "
                          "devices go through IOMMU translation too (slower); the guide sets it.")),
            known_config ? cmdline_fix (&b, "iommu=pt")
                         : g_strdup (N_ ("Add iommu=pt to the kernel command line of the boot "
                                         "loader this host uses and reboot.")));
    }

  /* The kernel's own word. */
  if (h->iommu_units->len > 0 && h->n_groups > 0)
    {
      GString *u = g_string_new (NULL);
      for (guint i = 0; i < h->iommu_units->len; i++)
        g_string_append_printf (u, "%s%s", i ? ", " : "", (char *) h->iommu_units->pdata[i]);
      add (out, "iommu-kernel", 0, PD_DOCTOR_OK,
           P (N_ ("The kernel reports the IOMMU on: %s in /sys/class/iommu, %u IOMMU groups."),
              u->str, h->n_groups),
           NULL);
      g_string_free (u, TRUE);
    }
  else if (on)
    add (out, "iommu-kernel", 0, PD_DOCTOR_FAIL,
         g_strdup (N_ ("The kernel did not turn the IOMMU on although intel_iommu=on is set "
                       "(/sys/class/iommu is empty): VT-d is off in the firmware or missing.")),
         g_strdup (
             N_ ("Enable VT-d (Intel Virtualization Technology for Directed I/O) in the firmware "
                 "setup (F2 at boot); after the reboot `dmesg | grep -e DMAR -e IOMMU` must show "
                 "“DMAR: IOMMU enabled”.")));
  else
    add (out, "iommu-kernel", 0, PD_DOCTOR_FAIL,
         g_strdup (N_ ("The kernel reports no IOMMU (/sys/class/iommu is empty and there are no "
                       "IOMMU groups), so no device can be passed through and the IOMMU group "
                       "checks were skipped.")),
         g_strdup (
             N_ ("Put intel_iommu=on on the kernel command line (see iommu-cmdline); after the "
                 "reboot `dmesg | grep -e DMAR -e IOMMU` must show “DMAR: IOMMU enabled”.")));

  g_autofree char *acs = param (h->cmdline, "pcie_acs_override");
  if (acs)
    add (
        out, "acs-override", 0, PD_DOCTOR_WARN,
        P (N_ ("pcie_acs_override=%s is on the kernel command line: the kernel splits IOMMU groups "
               "it cannot prove isolated, so a passed-through device may still reach others (such "
               "as the host's network card) by DMA."),
           acs),
        P (N_ ("If the remove/rescan workaround keeps the groups usable, remove "
               "pcie_acs_override=%s from %s, run `%s` and reboot; otherwise keep it knowing the "
               "VM "
               "is not isolated from those devices."),
           acs, b.file, b.apply));

  /* The devices. */
  const PdDoctorPci *gpu = find_gpu (h);
  const PdDoctorPci *audio = find_audio (h);
  if (gpu == NULL)
    {
      add (
          out, "igpu", 0, PD_DOCTOR_FAIL,
          h->have_pci ? g_strdup (N_ ("There is no Intel iGPU at 0000:00:02.0, so the IOMMU group, "
                                      "driver and vfio checks were skipped."))
                      : g_strdup (N_ ("/sys/bus/pci/devices could not be read, so the iGPU, its "
                                      "IOMMU group, driver and vfio checks were skipped.")),
          h->have_pci ? g_strdup (N_ ("Enable the iGPU in the firmware setup (Display: Auto); "
                                      "`lspci -nn | grep VGA` must list 00:02.0 with vendor 8086."))
                      : g_strdup (N_ ("Run the doctor on the host itself, with /sys mounted.")));
    }
  else
    {
      const char *m = pd_doctor_machine (h);
      add (out, "igpu", 0, PD_DOCTOR_OK,
           P (N_ ("The iGPU at %s is [%04x:%04x]: %s."), gpu->addr, gpu->vendor, gpu->device,
              pd_doctor_machine_name (m)),
           NULL);
      if (audio == NULL)
        add (
            out, "audio", 0, PD_DOCTOR_WARN,
            g_strdup (N_ ("There is no HD-Audio function at 0000:00:1f, so HDMI/DP audio cannot be "
                          "passed through.")),
            g_strdup (
                N_ ("Enable the onboard audio in the firmware setup; `lspci -nn | grep Audio` "
                    "must list 00:1f.3.")));
      if (h->iommu_units->len > 0 && h->n_groups > 0)
        judge_groups (h, &b, vms, gpu, audio, out);
      judge_driver (gpu, "driver-igpu", FALSE, out);
      if (audio)
        judge_driver (audio, "driver-audio", TRUE, out);

      /* Blacklist: the guide's modprobe.d file or modprobe.blacklist=. */
      const char *need[] = { "i915", audio ? "snd_hda_intel" : NULL };
      GString *missing = g_string_new (NULL), *where = g_string_new (NULL);
      for (guint i = 0; i < G_N_ELEMENTS (need) && need[i]; i++)
        {
          const char *in = blacklisted_in (h, need[i]);
          if (in == NULL)
            g_string_append_printf (missing, "%s%s", missing->len ? " " : "", need[i]);
          else if (!strstr (where->str, in))
            g_string_append_printf (where, "%s%s", where->len ? ", " : "", in);
        }
      if (missing->len == 0)
        add (out, "blacklist", 0, PD_DOCTOR_OK,
             P (N_ ("The host drivers of the passed devices are blacklisted (in %s)."), where->str),
             NULL);
      else
        {
          g_autofree char *names = g_strdup (missing->str);
          char *sp = strchr (names, ' ');
          if (sp)
            {
              *sp = '\0';
              g_autofree char *both = g_strconcat (names, " and ", sp + 1, NULL);
              g_free (g_steal_pointer (&names));
              names = g_steal_pointer (&both);
            }
          add (out, "blacklist", 0, PD_DOCTOR_FAIL,
               P (N_ ("Neither /etc/modprobe.d nor the kernel command line blacklists %s, so the "
                      "host "
                      "driver can take the device at the next boot."),
                  names),
               P (N_ ("Run `printf 'blacklist %%s\\n' %s >> /etc/modprobe.d/vfio.conf` and "
                      "`update-initramfs -u -k all`, then reboot."),
                  missing->str));
        }
      g_string_free (missing, TRUE);
      g_string_free (where, TRUE);

      /* options vfio-pci ids= */
      g_autofree char *ids = audio ? P ("%04x:%04x,%04x:%04x", gpu->vendor, gpu->device,
                                        audio->vendor, audio->device)
                                   : P ("%04x:%04x", gpu->vendor, gpu->device);
      if (h->vfio_ids == NULL)
        {
          if (g_strcmp0 (m, "esprimo") == 0)
            add (out, "vfio-ids", 0, PD_DOCTOR_WARN,
                 g_strdup (N_ ("No `options vfio-pci ids=` line in /etc/modprobe.d, so vfio-pci "
                               "does not claim the devices at boot (the guide's step 2 for the "
                               "Esprimo).")),
                 P (N_ ("Add `options vfio-pci ids=%s disable_vga=1` to /etc/modprobe.d/vfio.conf, "
                        "run `update-initramfs -u -k all` and reboot."),
                    ids));
          else
            add (
                out, "vfio-ids", 0, PD_DOCTOR_OK,
                g_strdup (N_ ("No `options vfio-pci ids=` line; Proxmox binds vfio-pci when the VM "
                              "starts, which works while the host drivers are blacklisted.")),
                NULL);
        }
      else
        {
          gboolean ok
              = ids_contain (h->vfio_ids, gpu->vendor, gpu->device)
                && (audio == NULL || ids_contain (h->vfio_ids, audio->vendor, audio->device));
          if (ok)
            add (out, "vfio-ids", 0, PD_DOCTOR_OK,
                 audio ? P (N_ ("%s has `options vfio-pci ids=%s`, which names the iGPU and "
                                "the HD-Audio function."),
                            h->vfio_ids_file, h->vfio_ids)
                       : P (N_ ("%s has `options vfio-pci ids=%s`, which names the iGPU."),
                            h->vfio_ids_file, h->vfio_ids),
                 NULL);
          else
            add (out, "vfio-ids", 0, PD_DOCTOR_WARN,
                 P (N_ ("`options vfio-pci ids=%s` in %s does not name every passed device (this "
                        "host's are %s), so vfio-pci does not claim them all at boot."),
                    h->vfio_ids, h->vfio_ids_file, ids),
                 P (N_ ("Change the line in %s to `options vfio-pci ids=%s disable_vga=1`, run "
                        "`update-initramfs -u -k all` and reboot."),
                    h->vfio_ids_file, ids));
        }
    }

  /* /etc/modules */
  const char *want[] = { "vfio", "vfio_iommu_type1", "vfio_pci" };
  GString *lack = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      gboolean found = FALSE;
      for (guint j = 0; j < h->modules->len && !found; j++)
        found = g_str_equal (h->modules->pdata[j], want[i])
                || (g_str_equal (want[i], "vfio_pci")
                    && g_str_equal (h->modules->pdata[j], "vfio-pci"));
      if (!found)
        g_string_append_printf (lack, "%s%s", lack->len ? ", " : "", want[i]);
    }
  if (lack->len == 0)
    add (out, "modules", 0, PD_DOCTOR_OK,
         g_strdup (N_ ("/etc/modules loads vfio, vfio_iommu_type1 and vfio_pci at boot.")), NULL);
  else
    add (out, "modules", 0, PD_DOCTOR_WARN,
         P (N_ ("/etc/modules %s %s, so the vfio modules are not loaded at boot as the guide sets "
                "up."),
            h->has_modules ? "lacks" : "does not exist and so lacks", lack->str),
         P (N_ ("Add one line each for %s to /etc/modules and run `update-initramfs -u -k all` "
                "(vfio_virqfd is part of vfio since kernel 6.2 and may be left out)."),
            lack->str));
  g_string_free (lack, TRUE);

  /* The initramfs must be newer than the files it copies. */
  if (h->osrelease == NULL || h->initrd_mtime == 0)
    add (out, "initramfs", 0, PD_DOCTOR_WARN,
         P (N_ ("No initramfs was found for the running kernel (%s), so whether it holds the "
                "current "
                "blacklist and vfio settings could not be checked."),
            h->initrd_path ? h->initrd_path : "/proc/sys/kernel/osrelease unreadable"),
         g_strdup (N_ ("Run `update-initramfs -u -k all` and reboot.")));
  else if (h->newest_conf_mtime > h->initrd_mtime)
    add (out, "initramfs", 0, PD_DOCTOR_FAIL,
         P (N_ ("%s was changed after %s was built, so the initramfs may still hold the old "
                "blacklist, vfio and module settings and boot with them."),
            h->newest_conf_path, h->initrd_path),
         g_strdup (N_ ("Run `update-initramfs -u -k all` and reboot.")));
  else
    add (out, "initramfs", 0, PD_DOCTOR_OK,
         P (N_ ("%s is newer than /etc/modprobe.d and /etc/modules."), h->initrd_path), NULL);
}

/* --- VM config --- */

GHashTable *
pd_doctor_parse_config (const char *text)
{
  GHashTable *cfg = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (text == NULL)
    return cfg;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];
      if (l[0] == '[')
        break; /* snapshots and pending changes follow */
      const char *colon = strstr (l, ": ");
      if (l[0] == '#' || colon == NULL || colon == l)
        continue;
      g_autofree char *key = g_strndup (l, (gsize) (colon - l));
      gboolean key_ok = TRUE;
      for (const char *k = key; *k; k++)
        key_ok &= g_ascii_isalnum (*k) || *k == '-' || *k == '_';
      if (key_ok && !g_hash_table_contains (cfg, key))
        g_hash_table_insert (cfg, g_steal_pointer (&key), g_strstrip (g_strdup (colon + 2)));
    }
  return cfg;
}

/* The host address a hostpci value names ("0000:00:02" → "00:02"), without
 * the domain; NULL for mapped devices. */
static char *
hostpci_addr (const char *value)
{
  g_auto (GStrv) opts = g_strsplit (value, ",", -1);
  const char *host = NULL;
  for (guint i = 0; opts[i] && host == NULL; i++)
    if (g_str_has_prefix (opts[i], "host="))
      host = opts[i] + 5;
    else if (i == 0 && strchr (opts[i], '=') == NULL)
      host = opts[i];
  if (host == NULL)
    return NULL;
  g_autofree char *first = g_strndup (host, strcspn (host, ";"));
  if (g_str_has_prefix (first, "0000:"))
    return g_strdup (first + 5);
  return g_strdup (first);
}

static gboolean
hostpci_has (const char *value, const char *opt)
{
  g_auto (GStrv) opts = g_strsplit (value, ",", -1);
  return g_strv_contains ((const char *const *) opts, opt);
}

/* The hostpciN key whose device is the slot @slot ("00:02") or a function of
 * it (@function, e.g. "00:1f.3"; NULL: any); *@all_functions says whether it
 * names the slot. */
static const char *
find_hostpci (GHashTable *cfg, const char *slot, const char *function, const char **value,
              gboolean *all_functions)
{
  for (guint i = 0; i < 16; i++)
    {
      g_autofree char *k = g_strdup_printf ("hostpci%u", i);
      const char *v = g_hash_table_lookup (cfg, k);
      g_autofree char *a = v ? hostpci_addr (v) : NULL;
      gboolean match
          = a && g_str_has_prefix (a, slot)
            && (a[strlen (slot)] == '\0'
                || (a[strlen (slot)] == '.' && (function == NULL || g_str_equal (a, function))));
      if (match)
        {
          *value = v;
          *all_functions = a[strlen (slot)] == '\0';
          static const char *const keys[]
              = { "hostpci0",  "hostpci1",  "hostpci2",  "hostpci3", "hostpci4",  "hostpci5",
                  "hostpci6",  "hostpci7",  "hostpci8",  "hostpci9", "hostpci10", "hostpci11",
                  "hostpci12", "hostpci13", "hostpci14", "hostpci15" };
          return keys[i];
        }
    }
  return NULL;
}

static guint
free_hostpci (GHashTable *cfg)
{
  for (guint i = 0; i < 16; i++)
    {
      g_autofree char *k = g_strdup_printf ("hostpci%u", i);
      if (!g_hash_table_contains (cfg, k))
        return i;
    }
  return 15;
}

gboolean
pd_doctor_vm_is_candidate (const char *config_text)
{
  g_autoptr (GHashTable) cfg = pd_doctor_parse_config (config_text);
  const char *args = g_hash_table_lookup (cfg, "args");
  if (args && strstr (args, "org.passdesk.hostlink.0"))
    return TRUE;
  const char *v;
  gboolean all;
  return find_hostpci (cfg, "00:02", NULL, &v, &all) != NULL;
}

static gboolean
args_have_channel (const char *section_text)
{
  g_autoptr (GHashTable) cfg = pd_doctor_parse_config (section_text);
  const char *args = g_hash_table_lookup (cfg, "args");
  return args && strstr (args, "org.passdesk.hostlink.0");
}

PdChannelConfig
pd_doctor_config_channel (const char *config_text)
{
  if (config_text == NULL)
    return PD_CHANNEL_NONE;
  if (args_have_channel (config_text))
    return PD_CHANNEL_CURRENT;
  /* The file, unlike `qm config`, keeps pending changes apart. */
  const char *pending = g_str_has_prefix (config_text, "[PENDING]\n")
                            ? config_text
                            : strstr (config_text, "\n[PENDING]\n");
  if (pending)
    pending = strchr (pending + 1, '\n') + 1;
  return pending && args_have_channel (pending) ? PD_CHANNEL_PENDING : PD_CHANNEL_NONE;
}

static void
judge_hookscript (const PdDoctorHost *h, const PdDoctorVm *vm, GHashTable *cfg,
                  const PdDoctorPci *audio, gboolean shared, GPtrArray *out)
{
  guint id = vm->vmid;
  const char *hook = g_hash_table_lookup (cfg, "hookscript");
  PdDoctorState need = shared ? PD_DOCTOR_FAIL : PD_DOCTOR_WARN;
  g_autofree char *create
      = P (N_ ("Create /var/lib/vz/snippets/vm%u-hooks.sh (the guide's hookscript, with `source "
               "/root/passthrough-tweak.sh` in its pre-stop) branch), `chmod +x "
               "/var/lib/vz/snippets/vm%u-hooks.sh` and run `qm set %u --hookscript "
               "local:snippets/vm%u-hooks.sh`."),
           id, id, id, id);
  if (hook == NULL)
    {
      add (out, "vm-hookscript", id, need,
           P (N_ ("VM %u has no hookscript, so the guide's remove/rescan workaround does not run "
                  "when "
                  "it stops and a cold restart will not reset the audio device."),
              id),
           g_strdup (create));
      return;
    }
  if (vm->hook_path == NULL)
    {
      add (out, "vm-hookscript", id, PD_DOCTOR_FAIL,
           P (N_ ("VM %u's hookscript %s cannot be resolved to a file: %s."), id, hook,
              vm->hook_error ? vm->hook_error : "unknown storage"),
           P (N_ ("Point it at a directory storage with snippets: `qm set %u --hookscript "
                  "local:snippets/vm%u-hooks.sh`."),
              id, id));
      return;
    }
  if (!vm->hook_exists)
    {
      add (out, "vm-hookscript", id, PD_DOCTOR_FAIL,
           P (N_ ("VM %u's hookscript %s (%s) is missing, so Proxmox refuses to start the VM and "
                  "the audio workaround never runs."),
              id, hook, vm->hook_path),
           P (N_ ("Create %s (the guide's hookscript, with `source /root/passthrough-tweak.sh` in "
                  "its pre-stop) branch) and `chmod +x %s`."),
              vm->hook_path, vm->hook_path));
      return;
    }
  if (!vm->hook_executable)
    {
      add (out, "vm-hookscript", id, PD_DOCTOR_FAIL,
           P (N_ ("VM %u's hookscript %s is not executable, so Proxmox refuses to start the VM."),
              id, vm->hook_path),
           P ("Run `chmod +x %s`.", vm->hook_path));
      return;
    }
  g_autofree char *phase = audio && vm->hook_text
                               ? hook_workaround_phase (vm->hook_text, h->scripts, audio->addr)
                               : NULL;
  if (phase && g_str_equal (phase, "pre-stop"))
    add (
        out, "vm-hookscript", id, PD_DOCTOR_OK,
        P (N_ ("VM %u's hookscript %s runs the remove/rescan workaround for %s in pre-stop, as the "
               "guide does."),
           id, vm->hook_path, audio->addr),
        NULL);
  else if (phase)
    add (out, "vm-hookscript", id, PD_DOCTOR_WARN,
         P (N_ ("VM %u's hookscript %s runs the remove/rescan workaround in %s, not in pre-stop "
                "where the guide runs it."),
            id, vm->hook_path, phase),
         P (N_ ("Move `source /root/passthrough-tweak.sh` into the pre-stop) branch of %s."),
            vm->hook_path));
  else if (shared)
    add (out, "vm-hookscript", id, PD_DOCTOR_FAIL,
         P (N_ ("VM %u's hookscript %s does not run the remove/rescan workaround, so stopping the "
                "VM "
                "leaves the audio device's shared IOMMU group as it was."),
            id, vm->hook_path),
         P (N_ ("Add `source /root/passthrough-tweak.sh` to the pre-stop) branch of %s."),
            vm->hook_path));
  else
    add (out, "vm-hookscript", id, PD_DOCTOR_OK,
         P (N_ ("VM %u's hookscript %s exists and is executable."), id, vm->hook_path), NULL);
}

static void
judge_usb (const PdDoctorHost *h, const PdDoctorVm *vm, GHashTable *cfg, GPtrArray *out)
{
  guint id = vm->vmid;
  guint passed = 0;
  GString *absent = g_string_new (NULL), *absent_keys = g_string_new (NULL);
  g_autoptr (GHashTable) hubs_seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean any_hub = FALSE;
  for (guint i = 0; i < 32; i++)
    {
      g_autofree char *k = g_strdup_printf ("usb%u", i);
      const char *v = g_hash_table_lookup (cfg, k);
      if (v == NULL || !g_str_has_prefix (v, "host="))
        continue;
      g_autofree char *host = g_strndup (v + 5, strcspn (v + 5, ","));
      passed++;
      const PdDoctorUsb *dev = NULL;
      guint vid = 0, pid = 0;
      gboolean by_id = strchr (host, ':') != NULL;
      if (by_id)
        {
          vid = (guint) g_ascii_strtoull (host, NULL, 16);
          pid = (guint) g_ascii_strtoull (strchr (host, ':') + 1, NULL, 16);
        }
      for (guint j = 0; j < h->usb->len && dev == NULL; j++)
        {
          const PdDoctorUsb *u = h->usb->pdata[j];
          if (by_id ? (u->vendor == vid && u->product == pid) : g_str_equal (u->name, host))
            dev = u;
        }
      if (dev == NULL)
        {
          g_string_append_printf (absent, "%s%s (%s)", absent->len ? ", " : "", k, host);
          g_string_append_printf (absent_keys, "%s%s", absent_keys->len ? "," : "", k);
          continue;
        }
      /* The hubs in the chain: the device itself and every parent. */
      g_autofree char *name = g_strdup (dev->name);
      for (;;)
        {
          const PdDoctorUsb *u = NULL;
          for (guint j = 0; j < h->usb->len && u == NULL; j++)
            if (g_str_equal (((PdDoctorUsb *) h->usb->pdata[j])->name, name))
              u = h->usb->pdata[j];
          if (u && u->is_hub && !g_hash_table_contains (hubs_seen, u->name))
            {
              g_hash_table_add (hubs_seen, u->name);
              any_hub = TRUE;
              g_autofree char *port = g_strndup (u->name, strcspn (u->name, "."));
              if (u->port_usb3)
                add (
                    out, "vm-usb-hub", id, PD_DOCTOR_WARN,
                    P (N_ ("The USB hub [%04x:%04x] at %s (%s of VM %u%s) hangs on host port %s, a "
                           "USB 3 port; the guide warns that a monitor's USB hub on a USB 3.0 port "
                           "can crash the system."),
                       u->vendor, u->product, u->name, k, id,
                       u == dev ? "" : ", in front of the passed device", port),
                    by_id ? g_strdup (N_ ("Plug the hub (the monitor's USB cable) into a USB 2.0 "
                                          "port of the host."))
                          : P (N_ ("Plug the hub (the monitor's USB cable) into a USB 2.0 port of "
                                   "the host, then point %s at the new port: `qm set %u --%s "
                                   "host=BUS-PORT` (see `lsusb -t`)."),
                               k, id, k));
              else
                add (out, "vm-usb-hub", id, PD_DOCTOR_OK,
                     P (N_ ("The USB hub [%04x:%04x] at %s (%s of VM %u) hangs on host port %s, a "
                            "USB "
                            "2 port (%u Mbit/s), as the guide advises."),
                        u->vendor, u->product, u->name, k, id, port, u->root_speed),
                     NULL);
            }
          char *dot = strrchr (name, '.');
          if (dot == NULL)
            break;
          *dot = '\0';
        }
    }
  if (absent->len)
    add (out, "vm-usb", id, PD_DOCTOR_WARN,
         P (N_ ("VM %u passes through USB devices that are not plugged into the host: %s."), id,
            absent->str),
         P (N_ ("Plug them in, or remove them with `qm set %u --delete %s`."), id,
            absent_keys->str));
  else if (passed > 0 && !any_hub)
    add (out, "vm-usb", id, PD_DOCTOR_OK,
         P (N_ ("VM %u passes through %u USB device(s), all plugged in, none behind a hub."), id,
            passed),
         NULL);
  else if (passed > 0)
    add (out, "vm-usb", id, PD_DOCTOR_OK,
         P (N_ ("VM %u passes through %u USB device(s), all plugged in."), id, passed), NULL);
  g_string_free (absent, TRUE);
  g_string_free (absent_keys, TRUE);
}

void
pd_doctor_judge_vm (const PdDoctorHost *h, const PdDoctorVm *vm, const char *socket_dir,
                    GPtrArray *out)
{
  guint id = vm->vmid;
  if (vm->config == NULL)
    {
      add (out, "vm-config", id, PD_DOCTOR_FAIL,
           P (N_ ("`qm config %u` did not work: %s."), id,
              vm->config_error ? vm->config_error : "unknown error"),
           P (N_ ("Check that VM %u exists with `qm list`."), id));
      return;
    }
  g_autoptr (GHashTable) cfg = pd_doctor_parse_config (vm->config);
  const char *m = pd_doctor_machine (h);
  gboolean n100 = g_strcmp0 (m, "n100") == 0, esprimo = g_strcmp0 (m, "esprimo") == 0;
  const PdDoctorPci *audio = find_audio (h);

  const char *bios = g_hash_table_lookup (cfg, "bios");
  if (g_strcmp0 (bios, "ovmf") == 0)
    add (out, "vm-bios", id, PD_DOCTOR_OK, P (N_ ("VM %u boots with OVMF (UEFI)."), id), NULL);
  else
    add (out, "vm-bios", id, PD_DOCTOR_FAIL,
         P (N_ ("VM %u boots with SeaBIOS; the guide's passthrough needs OVMF (UEFI) with an EFI "
                "disk."),
            id),
         P (N_ ("With the VM stopped: `qm set %u --bios ovmf --efidisk0 "
                "local-lvm:1,efitype=4m,pre-enrolled-keys=1` (the guest must be installed for UEFI "
                "boot)."),
            id));

  const char *machine = g_hash_table_lookup (cfg, "machine");
  gboolean q35 = machine && (g_str_has_prefix (machine, "q35") || strstr (machine, "-q35"));
  if (n100 && !q35)
    add (out, "vm-machine", id, PD_DOCTOR_FAIL,
         P (N_ ("VM %u uses machine %s; on the N100 the guide needs q35, so the iGPU goes in as a "
                "PCI Express device with x-vga."),
            id, machine ? machine : "pc (the default)"),
         P ("`qm set %u --machine q35`.", id));
  else if (esprimo && q35)
    add (out, "vm-machine", id, PD_DOCTOR_WARN,
         P (N_ ("VM %u uses machine %s; the guide's working Esprimo config uses machine pc."), id,
            machine),
         P (N_ ("`qm set %u --machine pc` (and drop pcie=1 from its hostpci lines)."), id));
  else if (n100 || esprimo)
    add (out, "vm-machine", id, PD_DOCTOR_OK,
         P (N_ ("VM %u uses machine %s, as the guide does on this machine."), id,
            machine ? machine : "pc"),
         NULL);

  /* The iGPU. */
  const char *gv = NULL;
  gboolean gall = FALSE;
  const char *gk = find_hostpci (cfg, "00:02", NULL, &gv, &gall);
  guint free_idx = free_hostpci (cfg);
  if (gk == NULL)
    add (out, "vm-gpu", id, PD_DOCTOR_FAIL,
         P (N_ ("VM %u has no hostpci line for the iGPU 0000:00:02.0."), id),
         n100 ? P ("`qm set %u --hostpci%u 0000:00:02,pcie=1,x-vga=1`.", id, free_idx)
              : P (N_ ("`qm set %u --hostpci%u 0000:00:02.0` and `qm set %u --vga none`."), id,
                   free_idx, id));
  else if (n100)
    {
      gboolean pcie = hostpci_has (gv, "pcie=1"), xvga = hostpci_has (gv, "x-vga=1");
      if (gall && pcie && xvga)
        add (out, "vm-gpu", id, PD_DOCTOR_OK,
             P (N_ ("VM %u gets the iGPU as the guide's N100 config has it (%s: %s)."), id, gk, gv),
             NULL);
      else
        add (out, "vm-gpu", id, PD_DOCTOR_FAIL,
             P (N_ ("VM %u's %s is “%s”; the N100 needs all functions of 00:02, pcie=1 and x-vga=1 "
                    "(%s%s%s missing)."),
                id, gk, gv, gall ? "" : "all functions ", pcie ? "" : "pcie=1 ",
                xvga ? "" : "x-vga=1 "),
             P ("`qm set %u --%s 0000:00:02,pcie=1,x-vga=1`.", id, gk));
    }
  else if (esprimo && hostpci_has (gv, "pcie=1") && !q35)
    add (out, "vm-gpu", id, PD_DOCTOR_FAIL,
         P (N_ ("VM %u's %s has pcie=1, which machine pc cannot take, so the VM will not start."),
            id, gk),
         P ("`qm set %u --%s 0000:00:02.0`.", id, gk));
  else
    add (out, "vm-gpu", id, PD_DOCTOR_OK, P (N_ ("VM %u gets the iGPU (%s: %s)."), id, gk, gv),
         NULL);

  if (esprimo)
    {
      const char *vga = g_hash_table_lookup (cfg, "vga");
      if (g_strcmp0 (vga, "none") == 0)
        add (out, "vm-vga", id, PD_DOCTOR_OK,
             P (N_ ("VM %u has no emulated display (vga: none), so the iGPU is its only display."),
                id),
             NULL);
      else
        add (
            out, "vm-vga", id, PD_DOCTOR_FAIL,
            P (N_ ("VM %u has an emulated display (vga: %s); on the Esprimo the guide sets Display "
                   "to none so the iGPU is the VM's primary display."),
               id, vga ? vga : "default"),
            P (N_ ("`qm set %u --vga none`."), id));
    }

  /* The HD-Audio function. */
  if (audio)
    {
      const char *av = NULL;
      gboolean aall = FALSE;
      const char *ak = find_hostpci (cfg, "00:1f", audio->addr + 5, &av, &aall);
      if (ak == NULL)
        add (out, "vm-audio", id, PD_DOCTOR_FAIL,
             P (N_ ("VM %u does not get the HD-Audio function %s, so HDMI/DP audio stays on the "
                    "host."),
                id, audio->addr),
             n100 ? P ("`qm set %u --hostpci%u 0000:00:1f,pcie=1`.", id, free_idx + (gk == NULL))
                  : P ("`qm set %u --hostpci%u %s,rombar=0`.", id, free_idx + (gk == NULL),
                       audio->addr));
      else if (n100 && !(aall && hostpci_has (av, "pcie=1")))
        add (
            out, "vm-audio", id, PD_DOCTOR_WARN,
            P (N_ ("VM %u's %s is “%s”; the guide's N100 config passes all functions of 00:1f with "
                   "pcie=1."),
               id, ak, av),
            P ("`qm set %u --%s 0000:00:1f,pcie=1`.", id, ak));
      else if (esprimo && !hostpci_has (av, "rombar=0"))
        add (out, "vm-audio", id, PD_DOCTOR_WARN,
             P (N_ ("VM %u's %s is “%s” without rombar=0; the guide's Esprimo config sets it for "
                    "the "
                    "audio function, which has no option ROM."),
                id, ak, av),
             P ("`qm set %u --%s %s,rombar=0`.", id, ak, audio->addr));
      else
        add (out, "vm-audio", id, PD_DOCTOR_OK,
             P (N_ ("VM %u gets the HD-Audio function (%s: %s)."), id, ak, av), NULL);
    }

  for (guint i = 0; i < vm->missing_roms->len; i++)
    add (out, "vm-romfile", id, PD_DOCTOR_FAIL,
         P (N_ ("VM %u names the ROM file %s, which does not exist, so the VM will not start."), id,
            (char *) vm->missing_roms->pdata[i]),
         P (N_ ("Put the ROM file at %s (the guide's step 3) or remove romfile= from the hostpci "
                "line."),
            (char *) vm->missing_roms->pdata[i]));

  gboolean shared = FALSE;
  if (audio && audio->group >= 0)
    {
      g_autoptr (GPtrArray) o = group_others (h, audio);
      shared = o->len > 0;
    }
  judge_hookscript (h, vm, cfg, audio, shared, out);

  /* The passdesk channel. */
  PdSetupPlan plan;
  g_autofree char *old_args = NULL, *new_args = NULL;
  g_autoptr (GError) error = NULL;
  if (!pd_setup_plan (vm->config, id, socket_dir, &plan, &old_args, &new_args, &error))
    {
      /* setup's message quotes config text cut at a byte count. */
      g_autofree char *why = pd_doctor_clean_text (error->message);
      add (out, "vm-channel", id, PD_DOCTOR_FAIL,
           P (N_ ("VM %u's args cannot take the passdesk channel: %s"), id, why),
           P (N_ ("Fix the args line (`qm config %u`), then run `passdesk-hostd setup %u`."), id,
              id));
    }
  else if (plan == PD_SETUP_ALREADY_DONE)
    add (out, "vm-channel", id, PD_DOCTOR_OK,
         P (N_ ("VM %u's args have the passdesk channel (org.passdesk.hostlink.0)."), id), NULL);
  else
    add (out, "vm-channel", id, PD_DOCTOR_FAIL,
         P (N_ ("VM %u's args lack the passdesk channel, so the guest cannot reach passdesk-hostd "
                "(no "
                "cold restart from the desktop, no host report)."),
            id),
         P (N_ ("`passdesk-hostd setup %u`, then `qm shutdown %u && qm start %u`."), id, id, id));

  judge_usb (h, vm, cfg, out);
}

void
pd_doctor_judge_no_vms (const PdDoctorHost *h, guint n_configs, GPtrArray *out)
{
  if (!h->is_proxmox)
    return; /* "proxmox" already says no VM could be checked */
  add (out, "vms", 0, PD_DOCTOR_WARN,
       P (N_ ("None of the %u VM configs in /etc/pve/qemu-server has the passdesk channel or a "
              "hostpci line for the iGPU 00:02, so no VM was checked."),
          n_configs),
       g_strdup (N_ ("Name the desktop VM: `passdesk-hostd doctor VMID`.")));
}

/* --- facts --- */

static void
pci_free (gpointer p)
{
  PdDoctorPci *d = p;
  g_free (d->addr);
  g_free (d->driver);
  g_free (d);
}

static void
usb_free (gpointer p)
{
  PdDoctorUsb *u = p;
  g_free (u->name);
  g_free (u);
}

PdDoctorHost *
pd_doctor_host_new (const char *root)
{
  PdDoctorHost *h = g_new0 (PdDoctorHost, 1);
  /* "/" and "" are the real host; strip a trailing slash so paths join. */
  h->root = g_strdup (root ? root : "");
  gsize n = strlen (h->root);
  while (n > 0 && h->root[n - 1] == '/')
    h->root[--n] = '\0';
  h->iommu_units = g_ptr_array_new_with_free_func (g_free);
  h->pci = g_ptr_array_new_with_free_func (pci_free);
  h->blacklist = g_ptr_array_new_with_free_func (g_free);
  h->modules = g_ptr_array_new_with_free_func (g_free);
  h->reboot_jobs = g_ptr_array_new_with_free_func (g_free);
  h->scripts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  h->usb = g_ptr_array_new_with_free_func (usb_free);
  return h;
}

void
pd_doctor_host_free (PdDoctorHost *h)
{
  if (h == NULL)
    return;
  g_free (h->root);
  g_free (h->cmdline);
  g_free (h->cmdline_error);
  g_free (h->grub_cmdline);
  g_free (h->kernel_cmdline);
  g_ptr_array_unref (h->iommu_units);
  g_ptr_array_unref (h->pci);
  g_ptr_array_unref (h->blacklist);
  g_free (h->vfio_ids);
  g_free (h->vfio_ids_file);
  g_ptr_array_unref (h->modules);
  g_free (h->osrelease);
  g_free (h->initrd_path);
  g_free (h->newest_conf_path);
  g_ptr_array_unref (h->reboot_jobs);
  g_hash_table_unref (h->scripts);
  g_ptr_array_unref (h->usb);
  g_free (h);
}

PdDoctorVm *
pd_doctor_vm_new (guint vmid)
{
  PdDoctorVm *vm = g_new0 (PdDoctorVm, 1);
  vm->vmid = vmid;
  vm->missing_roms = g_ptr_array_new_with_free_func (g_free);
  return vm;
}

void
pd_doctor_vm_free (PdDoctorVm *vm)
{
  if (vm == NULL)
    return;
  g_free (vm->config);
  g_free (vm->config_error);
  g_free (vm->hook_path);
  g_free (vm->hook_error);
  g_free (vm->hook_text);
  g_ptr_array_unref (vm->missing_roms);
  g_free (vm);
}
