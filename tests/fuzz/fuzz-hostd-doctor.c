/* fuzz-hostd-doctor.c - libFuzzer target for the host doctor's judging of
 * what it reads (hostlink/hostd/hostd-doctor.c): the `qm config` text, the
 * hookscript and a script it sources, and the kernel command line, on a
 * host shaped like the guide's N100 (iGPU 8086:46d1, HD-Audio in a shared
 * group with a network card).
 *
 * Input: up to four parts separated by NUL bytes: qm config, hookscript,
 * /root/passthrough-tweak.sh, /proc/cmdline, each cleaned the way the reader
 * and the run module clean what they read (pd_doctor_clean_text). Checked: every finding has a
 * check name that is a wire token, a state, a non-empty valid UTF-8 text, and a fix exactly when it
 * is not ok; and the summary the host sends a protocol 2 guest (HOST-REPORT) is lines that decode,
 * within the line limit. */
#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "hostd-conn.h"
#include "hostd-doctor.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static PdDoctorPci *
pci (const char *addr, guint cls, guint dev, int group, const char *driver)
{
  PdDoctorPci *p = g_new0 (PdDoctorPci, 1);
  p->addr = g_strdup (addr);
  p->vendor = 0x8086;
  p->device = dev;
  p->class_code = cls;
  p->group = group;
  p->driver = g_strdup (driver);
  return p;
}

static PdDoctorUsb *
usb (const char *name, guint vid, guint pid, gboolean hub, gboolean usb3)
{
  PdDoctorUsb *u = g_new0 (PdDoctorUsb, 1);
  u->name = g_strdup (name);
  u->vendor = vid;
  u->product = pid;
  u->is_hub = hub;
  u->port_usb3 = usb3;
  u->root_speed = 480;
  return u;
}

static void
view (gpointer d, PdHostdView *v)
{
  v->vmid = 100;
}

static gboolean
restart (gpointer d, guint32 id, guint c, const char *r, gboolean rb, char **why)
{
  return FALSE;
}

static GPtrArray *
report (gpointer d, gint64 *when)
{
  *when = 1;
  return d;
}

static const PdHostdConnOps ops = {
  .view = view,
  .restart = restart,
  .report = report,
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size > 64 * 1024)
    return 0;
  char *parts[4] = { NULL, NULL, NULL, NULL };
  gsize start = 0;
  for (guint i = 0; i < 4 && start <= size; i++)
    {
      const uint8_t *nul = memchr (data + start, 0, size - start);
      gsize end = nul ? (gsize) (nul - data) : size;
      g_autofree char *raw = g_strndup ((const char *) data + start, end - start);
      parts[i] = pd_doctor_clean_text (raw);
      start = end + 1;
    }

  g_autoptr (PdDoctorHost) h = pd_doctor_host_new ("/nonexistent");
  h->is_proxmox = TRUE;
  h->has_grub = TRUE;
  h->grub_cmdline = g_strdup ("quiet intel_iommu=on");
  h->cmdline = parts[3] ? g_steal_pointer (&parts[3]) : g_strdup ("intel_iommu=on");
  g_ptr_array_add (h->iommu_units, g_strdup ("dmar0"));
  h->n_groups = 3;
  h->have_pci = TRUE;
  g_ptr_array_add (h->pci, pci ("0000:00:02.0", 0x030000, 0x46d1, 0, "vfio-pci"));
  g_ptr_array_add (h->pci, pci ("0000:00:1f.0", 0x060100, 0x5481, 12, NULL));
  g_ptr_array_add (h->pci, pci ("0000:00:1f.3", 0x040300, 0x54c8, 12, NULL));
  g_ptr_array_add (h->pci, pci ("0000:00:1f.6", 0x020000, 0x15b7, 12, "e1000e"));
  g_ptr_array_add (h->usb, usb ("1-4", 0x05e3, 0x0610, TRUE, TRUE));
  g_ptr_array_add (h->usb, usb ("1-4.1", 0x046d, 0xc52b, FALSE, TRUE));
  g_ptr_array_add (h->reboot_jobs, g_strdup ("/root/passthrough-tweak.sh"));
  if (parts[2])
    g_hash_table_insert (h->scripts, g_strdup ("/root/passthrough-tweak.sh"),
                         g_steal_pointer (&parts[2]));

  g_autoptr (PdDoctorVm) vm = pd_doctor_vm_new (100);
  vm->config = g_strdup (parts[0] ? parts[0] : "");
  vm->hook_path = g_strdup ("/var/lib/vz/snippets/vm100-hooks.sh");
  vm->hook_exists = vm->hook_executable = TRUE;
  vm->hook_text = parts[1] ? g_steal_pointer (&parts[1]) : NULL;
  g_ptr_array_add (vm->missing_roms, g_strdup ("/usr/share/kvm/x.rom"));

  GPtrArray *findings = g_ptr_array_new_with_free_func ((GDestroyNotify) pd_doctor_finding_free);
  g_autoptr (GPtrArray) vms = g_ptr_array_new ();
  g_ptr_array_add (vms, vm);
  pd_doctor_judge_host (h, vms, findings);
  pd_doctor_judge_vm (h, vm, "/run/qemu-server", findings);
  for (guint i = 0; i < findings->len; i++)
    {
      PdDoctorFinding *f = findings->pdata[i];
      g_assert_nonnull (f->check);
      for (const char *p = f->check; *p; p++)
        g_assert_true ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
      g_assert_true (f->state <= PD_DOCTOR_FAIL);
      if (!(f->text && *f->text && g_utf8_validate (f->text, -1, NULL)))
        g_error ("bad text in %s: %s", f->check, f->text);
      g_assert_true ((f->fix != NULL) == (f->state != PD_DOCTOR_OK));
      g_assert_true (f->fix == NULL || g_utf8_validate (f->fix, -1, NULL));
    }

  /* The wire: a protocol 2 guest's handshake brings the report. */
  PdHostdConn *c = pd_hostd_conn_new (&ops, findings);
  GString *out = g_string_new (NULL);
  pd_hostd_conn_start (c, out);
  const char *ready = "\nREADY 1 proto=2\n";
  g_assert_true (pd_hostd_conn_feed (c, ready, strlen (ready), 0, out, NULL));
  g_auto (GStrv) lines = g_strsplit (out->str, "\n", -1);
  guint reports = 0;
  for (guint i = 0; lines[i]; i++)
    {
      if (*lines[i] == '\0')
        continue;
      g_assert_cmpuint (strlen (lines[i]) + 1, <=, PD_HL_MAX_LINE);
      g_autoptr (GError) error = NULL;
      g_autoptr (PdHlMessage) m = pd_hl_decode (lines[i], strlen (lines[i]), NULL, &error);
      if (m == NULL)
        g_error ("host wrote a line that does not decode (%s): %s", error->message, lines[i]);
      reports += m->verb == PD_HL_VERB_HOST_REPORT;
    }
  g_assert_cmpuint (reports, ==, 1);
  pd_hostd_conn_free (c);
  g_string_free (out, TRUE);
  g_ptr_array_unref (findings);
  for (guint i = 0; i < 4; i++)
    g_free (parts[i]);
  return 0;
}
