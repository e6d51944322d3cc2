/* test-hostd-doctor.c - `passdesk-hostd doctor`'s judging core on the
 * fixture host trees (tests/fixtures/hosts/make-host-trees.py): the guide's
 * N100 and Esprimo Q957 as set up, each broken variant with the state,
 * sentence and fix it must get, and the wire summary (HOST-REPORT) the
 * connection core sends to protocol 2 guests only. */
#include <glib/gstdio.h>
#include <string.h>

#include "codec.h"
#include "hostd-conn.h"
#include "hostd-doctor-read.h"
#include "hostd-doctor.h"

static char *trees; /* generated once for the whole run */

static void
make_trees (void)
{
  const char *fix = g_getenv ("PASSDESK_TEST_FIXTURES");
  g_assert_nonnull (fix);
  g_autoptr (GError) error = NULL;
  trees = g_dir_make_tmp ("doctor-hosts-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *script = g_build_filename (fix, "hosts", "make-host-trees.py", NULL);
  const char *argv[] = { script, trees, NULL };
  int status = 0;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* A private copy of tree @name (for tests that change it): "own/NAME". */
static char *
own_tree (const char *name)
{
  const char *fix = g_getenv ("PASSDESK_TEST_FIXTURES");
  g_autofree char *script = g_build_filename (fix, "hosts", "make-host-trees.py", NULL);
  g_autofree char *out = g_build_filename (trees, "own", NULL);
  const char *argv[] = { script, out, name, NULL };
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return g_strconcat ("own/", name, NULL);
}

typedef struct
{
  PdDoctorHost *host;
  PdDoctorVm *vm;
  GPtrArray *findings;
} Run;

static void
run_clear (Run *r)
{
  pd_doctor_host_free (r->host);
  pd_doctor_vm_free (r->vm);
  g_ptr_array_unref (r->findings);
}

static void
finding_free (gpointer p)
{
  pd_doctor_finding_free (p);
}

/* Judges @tree's host and VM 100 (config as `qm config` prints it: the file
 * fake-qm would print). @edit may change the facts before judging. */
static Run
judge_tree (const char *tree, void (*edit) (Run *r))
{
  Run r;
  g_autofree char *root = g_build_filename (trees, tree, NULL);
  r.host = pd_doctor_read_host (root);
  r.vm = pd_doctor_vm_new (100);
  g_autofree char *conf = g_build_filename (root, "etc/pve/qemu-server/100.conf", NULL);
  g_assert_true (g_file_get_contents (conf, &r.vm->config, NULL, NULL));
  if (edit)
    edit (&r);
  pd_doctor_read_vm (r.host, r.vm);
  r.findings = g_ptr_array_new_with_free_func (finding_free);
  g_autoptr (GPtrArray) vms = g_ptr_array_new ();
  g_ptr_array_add (vms, r.vm);
  pd_doctor_judge_host (r.host, vms, r.findings);
  pd_doctor_judge_vm (r.host, r.vm, "/run/qemu-server", r.findings);
  return r;
}

static const PdDoctorFinding *
find (Run *r, const char *check)
{
  for (guint i = 0; i < r->findings->len; i++)
    {
      const PdDoctorFinding *f = r->findings->pdata[i];
      if (g_str_equal (f->check, check))
        return f;
    }
  return NULL;
}

static void dump (Run *r);

static const PdDoctorFinding *
must_find (Run *r, const char *check)
{
  const PdDoctorFinding *f = find (r, check);
  if (f == NULL)
    {
      dump (r);
      g_error ("no finding %s", check);
    }
  return f;
}

static void
dump (Run *r)
{
  for (guint i = 0; i < r->findings->len; i++)
    {
      const PdDoctorFinding *f = r->findings->pdata[i];
      g_test_message ("%s %s: %s | %s", pd_doctor_state_to_string (f->state), f->check, f->text,
                      f->fix ? f->fix : "");
    }
}

/* Asserts @check's state, and that its text and fix hold the given pieces. */
static void
expect (Run *r, const char *check, PdDoctorState state, const char *text_has, const char *fix_has)
{
  const PdDoctorFinding *f = find (r, check);
  if (f == NULL)
    {
      dump (r);
      g_error ("no finding %s", check);
    }
  if (f->state != state)
    dump (r);
  g_assert_cmpstr (pd_doctor_state_to_string (f->state), ==, pd_doctor_state_to_string (state));
  if (text_has && !strstr (f->text, text_has))
    g_error ("%s: text \"%s\" lacks \"%s\"", check, f->text, text_has);
  if (state == PD_DOCTOR_OK)
    g_assert_null (f->fix);
  else
    g_assert_nonnull (f->fix);
  if (fix_has && !strstr (f->fix, fix_has))
    g_error ("%s: fix \"%s\" lacks \"%s\"", check, f->fix, fix_has);
}

/* Only the listed checks may be non-ok. */
static void
expect_only (Run *r, const char *const *allowed)
{
  for (guint i = 0; i < r->findings->len; i++)
    {
      const PdDoctorFinding *f = r->findings->pdata[i];
      if (f->state != PD_DOCTOR_OK && !g_strv_contains (allowed, f->check))
        {
          dump (r);
          g_error ("unexpected %s finding %s: %s", pd_doctor_state_to_string (f->state), f->check,
                   f->text);
        }
    }
}

/* --- the guide's machines as set up --- */

static void
test_n100 (void)
{
  Run r = judge_tree ("n100", NULL);
  g_assert_cmpstr (pd_doctor_machine (r.host), ==, "n100");
  const char *allowed[] = { "acs-override", NULL };
  expect_only (&r, allowed);
  expect (&r, "acs-override", PD_DOCTOR_WARN, "pcie_acs_override=downstream,multifunction",
          "from /etc/default/grub, run `update-grub`");
  expect (&r, "iommu-cmdline", PD_DOCTOR_OK, "intel_iommu=on", NULL);
  expect (&r, "iommu-kernel", PD_DOCTOR_OK, "dmar0, dmar1", NULL);
  expect (&r, "iommu-group-audio", PD_DOCTOR_OK, "@reboot /root/passthrough-tweak.sh", NULL);
  expect (&r, "blacklist", PD_DOCTOR_OK, "modprobe.blacklist=", NULL);
  expect (&r, "vm-machine", PD_DOCTOR_OK, "q35", NULL);
  expect (&r, "vm-gpu", PD_DOCTOR_OK, "hostpci0: 0000:00:02,pcie=1,x-vga=1", NULL);
  expect (&r, "vm-audio", PD_DOCTOR_OK, "0000:00:1f,pcie=1", NULL);
  expect (&r, "vm-hookscript", PD_DOCTOR_OK, "in pre-stop", NULL);
  expect (&r, "vm-channel", PD_DOCTOR_OK, NULL, NULL);
  expect (&r, "vm-usb-hub", PD_DOCTOR_OK, "[05e3:0610] at 1-4", NULL);
  expect (&r, "vm-usb-hub", PD_DOCTOR_OK, "a USB 2 port (480 Mbit/s)", NULL);
  g_assert_null (find (&r, "network-reset")); /* the N100's NIC is not at 00:1f.6 */
  g_assert_cmpint (pd_doctor_worst (r.findings, 100), ==, PD_DOCTOR_WARN);
  run_clear (&r);
}

static void
test_esprimo (void)
{
  Run r = judge_tree ("esprimo", NULL);
  g_assert_cmpstr (pd_doctor_machine (r.host), ==, "esprimo");
  const char *allowed[] = { "network-reset", NULL };
  expect_only (&r, allowed);
  expect (&r, "network-reset", PD_DOCTOR_WARN, "0000:00:1f.6, the host's network card (e1000e)",
          "USB network adapter");
  expect (&r, "vfio-ids", PD_DOCTOR_OK, "ids=8086:5912,8086:a2f0", NULL);
  expect (&r, "blacklist", PD_DOCTOR_OK, "/etc/modprobe.d/vfio.conf", NULL);
  expect (&r, "vm-machine", PD_DOCTOR_OK, "machine pc", NULL);
  expect (&r, "vm-vga", PD_DOCTOR_OK, NULL, NULL);
  expect (&r, "vm-audio", PD_DOCTOR_OK, "0000:00:1f.3,rombar=0", NULL);
  expect (&r, "vm-hookscript", PD_DOCTOR_OK, "in pre-stop", NULL);
  expect (&r, "vm-usb-hub", PD_DOCTOR_OK, "[2109:2813] at 1-2", NULL);
  run_clear (&r);
}

/* --- broken variants, both machines --- */

typedef struct
{
  const char *variant;
  const char *check;
  PdDoctorState state;
  const char *text_has;
  const char *fix_has;
} Case;

static const Case cases[] = {
  { "iommu-off", "iommu-cmdline", PD_DOCTOR_FAIL, "lacks intel_iommu=on",
    "Add intel_iommu=on iommu=pt to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run "
    "`update-grub` and reboot." },
  { "iommu-off", "iommu-kernel", PD_DOCTOR_FAIL, "reports no IOMMU",
    "dmesg | grep -e DMAR -e IOMMU" },
  { "iommu-off", "iommu-pt", PD_DOCTOR_WARN, "iommu=pt", "update-grub" },
  { "i915-bound", "driver-igpu", PD_DOCTOR_FAIL, "0000:00:02.0 is bound to i915",
    "`blacklist i915` to /etc/modprobe.d/vfio.conf, run `update-initramfs -u -k all`" },
  { "no-blacklist", "blacklist", PD_DOCTOR_FAIL, "blacklists i915 and snd_hda_intel",
    "`printf 'blacklist %s\\n' i915 snd_hda_intel >> /etc/modprobe.d/vfio.conf` and "
    "`update-initramfs -u -k all`" },
  { "stale-initramfs", "initramfs", PD_DOCTOR_FAIL,
    "was changed after /boot/initrd.img-6.17.2-1-pve was built", "update-initramfs -u -k all" },
  { "shared-group", "iommu-group-audio", PD_DOCTOR_FAIL,
    "nothing in root's crontab runs the guide's remove/rescan workaround",
    "'echo 1 > /sys/bus/pci/devices/0000\\:00\\:1f.3/remove'" },
  { "shared-group", "iommu-group-audio", PD_DOCTOR_FAIL, NULL, "'echo 1 > /sys/bus/pci/rescan'" },
  { "shared-group", "iommu-group-audio", PD_DOCTOR_FAIL, NULL,
    "'sleep 10' > /root/passthrough-tweak.sh && chmod +x /root/passthrough-tweak.sh`" },
  { "shared-group", "iommu-group-audio", PD_DOCTOR_FAIL, NULL,
    "`@reboot /root/passthrough-tweak.sh` with `crontab -e`" },
  { "shared-group", "vm-hookscript", PD_DOCTOR_FAIL, "does not run the remove/rescan workaround",
    "Add `source /root/passthrough-tweak.sh` to the pre-stop) branch of "
    "/var/lib/vz/snippets/vm100-hooks.sh" },
  { "hookscript-missing", "vm-hookscript", PD_DOCTOR_FAIL,
    "local:snippets/vm100-hooks.sh (/var/lib/vz/snippets/vm100-hooks.sh) is missing",
    "chmod +x /var/lib/vz/snippets/vm100-hooks.sh" },
  { "hookscript-not-executable", "vm-hookscript", PD_DOCTOR_FAIL, "is not executable",
    "Run `chmod +x /var/lib/vz/snippets/vm100-hooks.sh`." },
  { "channel-missing", "vm-channel", PD_DOCTOR_FAIL, "lack the passdesk channel",
    "`passdesk-hostd setup 100`, then `qm shutdown 100 && qm start 100`" },
  { "hub-on-usb3", "vm-usb-hub", PD_DOCTOR_WARN, "a USB 3 port; the guide warns", "USB 2.0 port" },
  { "systemd-boot", "boot-config", PD_DOCTOR_OK, "/etc/kernel/cmdline", NULL },
};

static void
test_variant (gconstpointer data)
{
  const char *machine = data;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autofree char *tree = g_strdup_printf ("%s-%s", machine, c->variant);
      g_test_message ("%s: %s", tree, c->check);
      Run r = judge_tree (tree, NULL);
      expect (&r, c->check, c->state, c->text_has, c->fix_has);
      /* The machine's real values: the Esprimo's hub is at 1-2 (usb1 by port),
       * the N100's at 1-4 in front of a device passed by id. */
      if (g_str_equal (c->variant, "hub-on-usb3"))
        expect (&r, "vm-usb-hub", PD_DOCTOR_WARN,
                g_str_equal (machine, "n100") ? "at 1-4" : "at 1-2",
                g_str_equal (machine, "n100") ? NULL : "`qm set 100 --usb1 host=BUS-PORT`");
      if (g_str_equal (c->variant, "stale-initramfs"))
        expect (&r, "initramfs", PD_DOCTOR_FAIL,
                g_str_equal (machine, "n100") ? "/etc/modules" : "/etc/modprobe.d/vfio.conf", NULL);
      if (g_str_equal (c->variant, "shared-group") && g_str_equal (machine, "esprimo"))
        expect (&r, "iommu-group-audio", PD_DOCTOR_FAIL, "00:1f.6 [8086:15b7, Ethernet]",
                "'echo 1 > /sys/bus/pci/devices/0000\\:00\\:1f.6/remove' 'echo 1 > "
                "/sys/bus/pci/rescan' 'systemctl restart networking'");
      if (c->state == PD_DOCTOR_FAIL)
        g_assert_cmpint (pd_doctor_worst (r.findings, 100), ==, PD_DOCTOR_FAIL);
      run_clear (&r);
    }
}

/* The fix for a shared group, run as printed (with the tree as /root),
 * makes the check pass: the doctor recognises the script it asks for. */
static void
test_group_fix_applies (gconstpointer data)
{
  const char *machine = data;
  g_autofree char *name = g_strdup_printf ("%s-shared-group", machine);
  g_autofree char *tree = own_tree (name);
  Run r = judge_tree (tree, NULL);
  expect (&r, "iommu-group-audio", PD_DOCTOR_FAIL, NULL, "Run `");
  const char *start = strstr (must_find (&r, "iommu-group-audio")->fix, "Run `");
  const char *end = start ? strstr (start, "`, add") : NULL;
  g_assert_nonnull (end);
  g_autofree char *cmd = g_strndup (start + 5, (gsize) (end - start - 5));
  g_autofree char *root = g_build_filename (trees, tree, NULL);
  g_autofree char *script = g_build_filename (root, "root", "passthrough-tweak.sh", NULL);
  g_autofree char *dir = g_path_get_dirname (script);
  g_mkdir_with_parents (dir, 0755);
  g_auto (GStrv) pieces = g_strsplit (cmd, "/root/passthrough-tweak.sh", -1);
  g_autofree char *local = g_strjoinv (script, pieces);
  const char *argv[] = { "/bin/bash", "-c", local, NULL };
  int status = 1;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autofree char *cron = g_build_filename (root, "var/spool/cron/crontabs/root", NULL);
  g_autofree char *cron_dir = g_path_get_dirname (cron);
  g_mkdir_with_parents (cron_dir, 0755);
  g_assert_true (g_file_set_contents (cron, "@reboot /root/passthrough-tweak.sh\n", -1, NULL));
  run_clear (&r);

  Run fixed = judge_tree (tree, NULL);
  expect (&fixed, "iommu-group-audio", PD_DOCTOR_OK, "@reboot /root/passthrough-tweak.sh", NULL);
  if (g_str_equal (machine, "esprimo"))
    expect (&fixed, "network-reset", PD_DOCTOR_WARN, "0000:00:1f.6", NULL);
  run_clear (&fixed);
}

/* The blacklist fix, run as printed, blacklists both drivers; the initramfs
 * is then older than vfio.conf, as the fix's second command says. */
static void
test_blacklist_fix_applies (void)
{
  g_autofree char *tree = own_tree ("esprimo-no-blacklist");
  Run r = judge_tree (tree, NULL);
  expect (&r, "blacklist", PD_DOCTOR_FAIL, NULL, "Run `printf");
  const char *start = strstr (must_find (&r, "blacklist")->fix, "Run `");
  const char *end = start ? strchr (start + 5, '`') : NULL;
  g_assert_nonnull (end);
  g_autofree char *cmd = g_strndup (start + 5, (gsize) (end - start - 5));
  g_autofree char *root = g_build_filename (trees, tree, NULL);
  g_autofree char *conf = g_build_filename (root, "etc/modprobe.d/vfio.conf", NULL);
  g_auto (GStrv) pieces = g_strsplit (cmd, "/etc/modprobe.d/vfio.conf", -1);
  g_autofree char *local = g_strjoinv (conf, pieces);
  const char *argv[] = { "/bin/bash", "-c", local, NULL };
  int status = 1;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  run_clear (&r);

  Run fixed = judge_tree (tree, NULL);
  expect (&fixed, "blacklist", PD_DOCTOR_OK, "/etc/modprobe.d/vfio.conf", NULL);
  expect (&fixed, "initramfs", PD_DOCTOR_FAIL, "/etc/modprobe.d/vfio.conf was changed",
          "update-initramfs -u -k all");
  run_clear (&fixed);
}

/* --- facts edited: what the trees do not cover --- */

static void
edit_sdboot_iommu_off (Run *r)
{
  g_free (r->host->cmdline);
  r->host->cmdline = g_strdup ("initrd=\\EFI\\proxmox\\initrd.img root=ZFS=rpool/ROOT/pve-1 "
                               "boot=zfs quiet");
  g_free (r->host->kernel_cmdline);
  r->host->kernel_cmdline = g_strdup ("root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet");
  g_free (r->host->grub_cmdline);
  r->host->grub_cmdline = g_strdup ("quiet intel_iommu=on iommu=pt");
  /* ... and the kernel did not turn it on by itself. */
  g_ptr_array_set_size (r->host->iommu_units, 0);
  r->host->n_groups = 0;
}

static void
edit_not_applied (Run *r)
{
  g_free (r->host->cmdline);
  r->host->cmdline = g_strdup ("BOOT_IMAGE=/boot/vmlinuz root=/dev/mapper/pve-root ro quiet");
  g_free (r->host->grub_cmdline);
  r->host->grub_cmdline = g_strdup ("quiet intel_iommu=on iommu=pt");
}

/* Proxmox VE kernels since 6.8 turn the Intel IOMMU on without the
 * parameter; the kernel's word counts. */
static void
edit_default_on (Run *r)
{
  g_free (r->host->cmdline);
  r->host->cmdline = g_strdup ("BOOT_IMAGE=/boot/vmlinuz root=/dev/mapper/pve-root ro quiet");
  g_free (r->host->grub_cmdline);
  r->host->grub_cmdline = g_strdup ("quiet");
}

static void
edit_iommu_off (Run *r)
{
  g_free (r->host->cmdline);
  r->host->cmdline = g_strdup ("BOOT_IMAGE=/boot/vmlinuz ro quiet intel_iommu=off");
}

static void
test_boot_config (void)
{
  Run d = judge_tree ("esprimo", edit_default_on);
  expect (&d, "iommu-cmdline", PD_DOCTOR_OK, "turned the IOMMU on by itself", NULL);
  run_clear (&d);
  Run o = judge_tree ("esprimo-iommu-off", edit_iommu_off);
  expect (&o, "iommu-cmdline", PD_DOCTOR_FAIL, "intel_iommu=off",
          "Replace intel_iommu=off with intel_iommu=on in /etc/default/grub, run `update-grub`");
  run_clear (&o);
  Run r = judge_tree ("n100-systemd-boot", edit_sdboot_iommu_off);
  expect (&r, "iommu-cmdline", PD_DOCTOR_FAIL, "does not read that file",
          "to the line in /etc/kernel/cmdline, run `proxmox-boot-tool refresh` and reboot");
  run_clear (&r);
  /* Configured, not applied: a warning while the kernel has the IOMMU on
   * by itself, a failure when it is off. */
  Run w = judge_tree ("esprimo", edit_not_applied);
  expect (&w, "iommu-cmdline", PD_DOCTOR_WARN,
          "is in /etc/default/grub but not in the command line in effect",
          "Run `update-grub` and reboot");
  run_clear (&w);
  Run r2 = judge_tree ("esprimo-iommu-off", edit_not_applied);
  expect (&r2, "iommu-cmdline", PD_DOCTOR_FAIL,
          "is in /etc/default/grub but not in the command line in effect",
          "Run `update-grub` and reboot");
  run_clear (&r2);
}

static void
replace_line (char **config, const char *prefix, const char *line)
{
  g_auto (GStrv) lines = g_strsplit (*config, "\n", -1);
  GString *s = g_string_new (NULL);
  for (guint i = 0; lines[i]; i++)
    {
      if (g_str_has_prefix (lines[i], prefix))
        {
          if (line)
            g_string_append_printf (s, "%s\n", line);
        }
      else if (*lines[i])
        g_string_append_printf (s, "%s\n", lines[i]);
    }
  g_free (*config);
  *config = g_string_free (s, FALSE);
}

static void
edit_n100_vm (Run *r)
{
  replace_line (&r->vm->config, "machine:", NULL);
  replace_line (&r->vm->config, "bios:", NULL);
  replace_line (&r->vm->config, "hostpci0:", "hostpci0: 0000:00:02.0,romfile=gop.rom");
  replace_line (&r->vm->config, "usb0:", "usb0: host=dead:beef");
}

static void
edit_esprimo_vm (Run *r)
{
  /* Another function of 00:1f first: the audio line is still found. */
  replace_line (&r->vm->config, "hostpci1:", "hostpci1: 0000:00:1f.0\nhostpci2: 0000:00:1f.3");
  replace_line (&r->vm->config, "vga:", "vga: std");
}

static void
test_vm_config (void)
{
  Run r = judge_tree ("n100", edit_n100_vm);
  expect (&r, "vm-machine", PD_DOCTOR_FAIL, "machine pc (the default)",
          "`qm set 100 --machine q35`");
  expect (&r, "vm-bios", PD_DOCTOR_FAIL, "SeaBIOS", "`qm set 100 --bios ovmf");
  expect (&r, "vm-gpu", PD_DOCTOR_FAIL, "all functions pcie=1 x-vga=1",
          "`qm set 100 --hostpci0 0000:00:02,pcie=1,x-vga=1`");
  expect (&r, "vm-romfile", PD_DOCTOR_FAIL, "/usr/share/kvm/gop.rom, which does not exist",
          "/usr/share/kvm/gop.rom");
  expect (&r, "vm-usb", PD_DOCTOR_WARN, "usb0 (dead:beef)", "`qm set 100 --delete usb0`");
  run_clear (&r);

  Run e = judge_tree ("esprimo", edit_esprimo_vm);
  expect (&e, "vm-audio", PD_DOCTOR_WARN, "without rombar=0",
          "`qm set 100 --hostpci2 0000:00:1f.3,rombar=0`");
  expect (&e, "vm-vga", PD_DOCTOR_FAIL, "vga: std", "`qm set 100 --vga none`");
  run_clear (&e);
}

static void
edit_no_config (Run *r)
{
  g_free (r->vm->config);
  r->vm->config = NULL;
}

static void
test_vm_config_failed (void)
{
  Run r = judge_tree ("n100", edit_no_config);
  r.vm->config_error = NULL;
  expect (&r, "vm-config", PD_DOCTOR_FAIL, "`qm config 100` did not work", "qm list");
  run_clear (&r);
}

static void
test_hook_phase (void)
{
  /* The workaround in another phase than the guide's pre-stop: a warning. */
  Run r = judge_tree ("n100", NULL);
  g_ptr_array_set_size (r.findings, 0);
  g_free (r.vm->hook_text);
  r.vm->hook_text = g_strdup ("case \"$2\" in\npost-start)\nsource /root/passthrough-tweak.sh\n;;\n"
                              "pre-stop)\n;;\nesac\n");
  pd_doctor_judge_vm (r.host, r.vm, "/run/qemu-server", r.findings);
  expect (&r, "vm-hookscript", PD_DOCTOR_WARN, "in post-start, not in pre-stop",
          "Move `source /root/passthrough-tweak.sh` into the pre-stop) branch");
  run_clear (&r);
}

static void
test_parse_config (void)
{
  g_autoptr (GHashTable) c = pd_doctor_parse_config (
      "bios: ovmf\nhostpci0: 0000:00:02,pcie=1\n# comment: x\nbad line\n[snap1]\nbios: seabios\n");
  g_assert_cmpstr (g_hash_table_lookup (c, "bios"), ==, "ovmf");
  g_assert_cmpstr (g_hash_table_lookup (c, "hostpci0"), ==, "0000:00:02,pcie=1");
  g_assert_cmpuint (g_hash_table_size (c), ==, 2);
  g_assert_true (pd_doctor_vm_is_candidate ("hostpci3: 0000:00:02.0\n"));
  g_assert_true (pd_doctor_vm_is_candidate ("args: -device x,name=org.passdesk.hostlink.0\n"));
  g_assert_false (pd_doctor_vm_is_candidate ("hostpci0: 0000:01:00.0\n"));
}

/* Where status finds the channel in a VM's config file: current args, or
 * only pending ones (qm set on a running VM), never a snapshot's. */
static void
test_config_channel (void)
{
  const char *port = "args: -device virtserialport,name=org.passdesk.hostlink.0\n";
  g_autofree char *current = g_strconcat ("boot: order=scsi0\n", port, NULL);
  g_autofree char *pending
      = g_strconcat ("boot: order=scsi0\n\n[PENDING]\n", port, "\n[snap1]\nboot: c\n", NULL);
  g_autofree char *only_pending = g_strconcat ("[PENDING]\n", port, NULL);
  g_autofree char *snapshot = g_strconcat ("boot: order=scsi0\n\n[before]\n", port, NULL);
  g_autofree char *snapshot_then_pending
      = g_strconcat ("boot: c\n\n[PENDING]\nmemory: 4096\n\n[snap]\n", port, NULL);
  g_assert_cmpint (pd_doctor_config_channel (current), ==, PD_CHANNEL_CURRENT);
  g_assert_cmpint (pd_doctor_config_channel (pending), ==, PD_CHANNEL_PENDING);
  g_assert_cmpint (pd_doctor_config_channel (only_pending), ==, PD_CHANNEL_PENDING);
  g_assert_cmpint (pd_doctor_config_channel (snapshot), ==, PD_CHANNEL_NONE);
  g_assert_cmpint (pd_doctor_config_channel (snapshot_then_pending), ==, PD_CHANNEL_NONE);
  g_assert_cmpint (pd_doctor_config_channel ("args: -cpu host\n"), ==, PD_CHANNEL_NONE);
  g_assert_cmpint (pd_doctor_config_channel (""), ==, PD_CHANNEL_NONE);
  g_assert_cmpint (pd_doctor_config_channel (NULL), ==, PD_CHANNEL_NONE);
}

static void
test_not_proxmox (void)
{
  /* An empty root: no /etc/pve, no /proc, no /sys. */
  g_autoptr (GError) error = NULL;
  g_autofree char *empty = g_dir_make_tmp ("doctor-empty-XXXXXX", &error);
  g_assert_no_error (error);
  g_autoptr (PdDoctorHost) h = pd_doctor_read_host (empty);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (finding_free);
  g_autoptr (GPtrArray) vms = g_ptr_array_new ();
  pd_doctor_judge_host (h, vms, out);
  Run r = { NULL, NULL, out };
  expect (&r, "proxmox", PD_DOCTOR_FAIL, "not a Proxmox VE host", NULL);
  expect (&r, "iommu-cmdline", PD_DOCTOR_FAIL, "/proc/cmdline could not be read", NULL);
  expect (&r, "igpu", PD_DOCTOR_FAIL, "/sys/bus/pci/devices could not be read", NULL);
  g_rmdir (empty);
}

/* --- the summary on the wire --- */

typedef struct
{
  GPtrArray *findings;
  guint asked; /* report op calls: each may cost the daemon a doctor run */
} ReportHost;

static void
rh_view (gpointer data, PdHostdView *v)
{
  v->host_name = "pve";
  v->vmid = 100;
  v->policy.enabled = TRUE;
}

static gboolean
rh_restart (gpointer d, guint32 id, guint cool_off, const char *reason, gboolean reboot, char **why)
{
  return FALSE;
}

static GPtrArray *
rh_report (gpointer data, gint64 *when)
{
  ReportHost *h = data;
  h->asked++;
  *when = 1796000000;
  return h->findings;
}

static const PdHostdConnOps report_ops = {
  .view = rh_view,
  .restart = rh_restart,
  .report = rh_report,
};

static GPtrArray *
decode_all (const char *text)
{
  GPtrArray *msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) pd_hl_message_free);
  g_auto (GStrv) ls = g_strsplit (text, "\n", -1);
  for (guint i = 0; ls[i]; i++)
    {
      if (*ls[i] == '\0')
        continue;
      g_assert_cmpuint (strlen (ls[i]) + 1, <=, PD_HL_MAX_LINE);
      g_autoptr (GError) error = NULL;
      PdHlMessage *m = pd_hl_decode (ls[i], strlen (ls[i]), NULL, &error);
      g_assert_no_error (error);
      g_ptr_array_add (msgs, m);
    }
  return msgs;
}

static void
test_wire_report (void)
{
  Run r = judge_tree ("esprimo-hookscript-missing", NULL);
  ReportHost rh = { r.findings, 0 };
  g_autoptr (GString) out = g_string_new (NULL);

  /* A version 1 guest never sees the new verbs. */
  g_autoptr (PdHostdConn) old = pd_hostd_conn_new (&report_ops, &rh);
  pd_hostd_conn_start (old, out);
  g_assert_true (strstr (out->str, "HELLO 1 proto=2 proto-min=1 ") != NULL);
  g_string_truncate (out, 0);
  g_assert_true (pd_hostd_conn_feed (old, "\nREADY 1 proto=1\n", 17, 0, out, NULL));
  g_assert_cmpstr (out->str, ==, "");
  g_assert_cmpuint (pd_hostd_conn_get_proto (old), ==, 1);
  pd_hostd_conn_report (old, r.findings, 1, out);
  g_assert_cmpstr (out->str, ==, "");
  g_assert_cmpuint (rh.asked, ==, 0);

  /* A version 2 guest gets the report on READY: fails first. */
  g_autoptr (PdHostdConn) c = pd_hostd_conn_new (&report_ops, &rh);
  pd_hostd_conn_start (c, out);
  g_string_truncate (out, 0);
  g_assert_true (pd_hostd_conn_feed (c, "\nREADY 1 proto=2\n", 17, 0, out, NULL));
  g_assert_cmpuint (pd_hostd_conn_get_proto (c), ==, 2);
  g_assert_cmpuint (rh.asked, ==, 1);
  g_autoptr (GPtrArray) msgs = decode_all (out->str);
  g_assert_cmpuint (msgs->len, >=, 3);
  PdHlMessage *rep = msgs->pdata[0];
  g_assert_cmpint (rep->verb, ==, PD_HL_VERB_HOST_REPORT);
  g_assert_cmpstr (pd_hl_message_get (rep, "state"), ==, "fail");
  g_assert_cmpstr (pd_hl_message_get (rep, "time"), ==, "1796000000");
  guint32 items = 0, fails = 0, warns = 0;
  g_assert_true (pd_hl_message_get_uint (rep, "items", &items));
  g_assert_true (pd_hl_message_get_uint (rep, "fail", &fails));
  g_assert_true (pd_hl_message_get_uint (rep, "warn", &warns));
  g_assert_cmpuint (fails, ==, 1);
  g_assert_cmpuint (warns, ==, 1); /* the Esprimo's network reset */
  g_assert_cmpuint (items, ==, 2);
  g_assert_cmpuint (msgs->len, ==, 1 + items);
  PdHlMessage *first = msgs->pdata[1];
  g_assert_cmpint (first->verb, ==, PD_HL_VERB_HOST_ITEM);
  g_assert_cmpuint (first->id, ==, rep->id);
  g_assert_cmpstr (pd_hl_message_get (first, "n"), ==, "0");
  g_assert_cmpstr (pd_hl_message_get (first, "check"), ==, "vm-hookscript");
  g_assert_cmpstr (pd_hl_message_get (first, "vmid"), ==, "100");
  g_assert_cmpstr (pd_hl_message_get (first, "state"), ==, "fail");
  g_assert_true (strstr (pd_hl_message_get (first, "text"), "is missing") != NULL);
  g_assert_true (strstr (pd_hl_message_get (first, "fix"), "chmod +x") != NULL);
  PdHlMessage *second = msgs->pdata[2];
  g_assert_cmpstr (pd_hl_message_get (second, "check"), ==, "network-reset");
  g_assert_cmpstr (pd_hl_message_get (second, "state"), ==, "warn");
  run_clear (&r);
}

static void
test_wire_bounds (void)
{
  /* 40 long findings: at most PD_HL_MAX_REPORT_ITEMS items, each line within
   * the limit, text and fix within PD_HL_MAX_REPORT_TEXT. */
  g_autoptr (GPtrArray) many = g_ptr_array_new_with_free_func (finding_free);
  for (guint i = 0; i < 40; i++)
    {
      PdDoctorFinding *f = g_new0 (PdDoctorFinding, 1);
      f->check = g_strdup ("long");
      f->vmid = i % 2 ? 100 : 0;
      f->state = i % 3 ? PD_DOCTOR_WARN : PD_DOCTOR_FAIL;
      GString *t = g_string_new (NULL);
      for (guint k = 0; k < 60; k++)
        g_string_append (t, "word ünï ");
      f->text = g_strdup (t->str);
      f->fix = g_string_free (t, FALSE);
      g_ptr_array_add (many, f);
    }
  ReportHost rh = { many, 0 };
  g_autoptr (PdHostdConn) c = pd_hostd_conn_new (&report_ops, &rh);
  g_autoptr (GString) out = g_string_new (NULL);
  pd_hostd_conn_start (c, out);
  g_string_truncate (out, 0);
  g_assert_true (pd_hostd_conn_feed (c, "\nREADY 1 proto=2\n", 17, 0, out, NULL));
  g_autoptr (GPtrArray) msgs = decode_all (out->str);
  g_assert_cmpuint (msgs->len, ==, 1 + PD_HL_MAX_REPORT_ITEMS);
  for (guint i = 1; i < msgs->len; i++)
    {
      PdHlMessage *m = msgs->pdata[i];
      g_assert_cmpuint (strlen (pd_hl_message_get (m, "text")), <=, PD_HL_MAX_REPORT_TEXT);
      /* Fails first: 14 of the 40 are fails. */
      g_assert_cmpstr (pd_hl_message_get (m, "state"), ==, i <= 14 ? "fail" : "warn");
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  make_trees ();
  g_test_add_func ("/doctor/n100", test_n100);
  g_test_add_func ("/doctor/esprimo", test_esprimo);
  g_test_add_data_func ("/doctor/variants/n100", "n100", test_variant);
  g_test_add_data_func ("/doctor/variants/esprimo", "esprimo", test_variant);
  g_test_add_data_func ("/doctor/group-fix-applies/n100", "n100", test_group_fix_applies);
  g_test_add_data_func ("/doctor/group-fix-applies/esprimo", "esprimo", test_group_fix_applies);
  g_test_add_func ("/doctor/blacklist-fix-applies", test_blacklist_fix_applies);
  g_test_add_func ("/doctor/boot-config", test_boot_config);
  g_test_add_func ("/doctor/vm-config", test_vm_config);
  g_test_add_func ("/doctor/config-channel", test_config_channel);
  g_test_add_func ("/doctor/vm-config-failed", test_vm_config_failed);
  g_test_add_func ("/doctor/hook-phase", test_hook_phase);
  g_test_add_func ("/doctor/parse-config", test_parse_config);
  g_test_add_func ("/doctor/not-proxmox", test_not_proxmox);
  g_test_add_func ("/doctor/wire/report", test_wire_report);
  g_test_add_func ("/doctor/wire/bounds", test_wire_bounds);
  int rc = g_test_run ();
  const char *rm[] = { "rm", "-rf", trees, NULL };
  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (trees);
  return rc;
}
