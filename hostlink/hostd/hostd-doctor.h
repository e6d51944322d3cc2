/* hostd-doctor.h - `passdesk-hostd doctor`: the guide's host checks, judged.
 *
 * Pure core: facts about the host (PdDoctorHost, filled by
 * hostd-doctor-read.h from a root prefix) and the text `qm config VMID`
 * printed (plus the few files that config names, in PdDoctorVm) go in; a
 * list of findings comes out. Each finding is ok, warn or fail, carries one
 * sentence naming the cause and, when it is not ok, the exact command or
 * file edit that fixes it, with this machine's values (PCI addresses, VMID,
 * paths). No I/O here: the judging is tested on fixture trees and fed the
 * same way by the CLI and by the daemon (which sends a VM's summary to its
 * guest, PROTOCOL.md HOST-REPORT).
 *
 * The machines the guide knows: "n100" (Intel N100, iGPU 8086:46d1; q35,
 * hostpci all functions with pcie=1,x-vga=1) and "esprimo" (Fujitsu Esprimo
 * Q957, HD 630 8086:5912 and HD-Audio 8086:a2f0; machine pc, audio with
 * rombar=0, vga: none). Other Intel iGPUs get the checks that do not depend
 * on the machine.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  PD_DOCTOR_OK = 0,
  PD_DOCTOR_WARN,
  PD_DOCTOR_FAIL,
} PdDoctorState;

const char *pd_doctor_state_to_string (PdDoctorState state);

typedef struct
{
  char *check; /* stable id, e.g. "iommu-cmdline", "vm-hookscript" */
  guint vmid;  /* 0: a host finding */
  PdDoctorState state;
  char *text; /* one sentence (or two) naming the cause */
  char *fix;  /* the command or edit that fixes it; NULL when ok */
  /* English above; their recipes (pd-i18n.h), NULL for a plain msgid or a
   * text put together from pieces: the CLI words them with
   * pd_i18n_localize_text, the daemon sends them to the guest (hl-text.h). */
  struct _PdMsg *text_msg;
  struct _PdMsg *fix_msg;
} PdDoctorFinding;

void pd_doctor_finding_free (PdDoctorFinding *f);

/* --- facts, filled by the reader --- */

typedef struct
{
  char *addr; /* "0000:00:1f.3" */
  guint vendor, device;
  guint class_code; /* e.g. 0x040300 */
  char *driver;     /* bound driver, NULL: none */
  int group;        /* IOMMU group, -1: none */
} PdDoctorPci;

typedef struct
{
  char *name; /* sysfs name: "1-4.1" */
  guint vendor, product;
  guint speed_mbit; /* 1.5 → 1 */
  gboolean is_hub;
  gboolean port_usb3; /* its root port has a SuperSpeed peer, or it is on a SuperSpeed bus */
  guint root_speed;   /* the root hub's speed (Mbit/s) */
} PdDoctorUsb;

typedef struct
{
  char *root;          /* the prefix, "" for / */
  gboolean is_proxmox; /* /etc/pve exists */
  char *cmdline;       /* /proc/cmdline, NULL: unreadable */
  char *cmdline_error;
  gboolean has_grub;      /* /etc/default/grub exists */
  char *grub_cmdline;     /* GRUB_CMDLINE_LINUX_DEFAULT's value (unquoted) */
  gboolean proxmox_boot;  /* /etc/kernel/proxmox-boot-uuids exists */
  char *kernel_cmdline;   /* /etc/kernel/cmdline, NULL: none */
  GPtrArray *iommu_units; /* char*: entries of /sys/class/iommu */
  guint n_groups;         /* entries of /sys/kernel/iommu_groups */
  gboolean have_pci;      /* /sys/bus/pci/devices was readable */
  GPtrArray *pci;         /* PdDoctorPci */
  GPtrArray *blacklist;   /* char*: "module\tfile" from /etc/modprobe.d */
  char *vfio_ids;         /* "8086:5912,8086:a2f0" from `options vfio-pci ids=` */
  char *vfio_ids_file;
  gboolean has_modules;   /* /etc/modules exists */
  GPtrArray *modules;     /* char*: module names in /etc/modules */
  char *osrelease;        /* running kernel */
  char *initrd_path;      /* /boot/initrd.img-<osrelease> */
  gint64 initrd_mtime;    /* 0: missing */
  char *newest_conf_path; /* newest of /etc/modprobe.d/ *.conf and /etc/modules */
  gint64 newest_conf_mtime;
  GPtrArray *reboot_jobs; /* char*: commands of @reboot lines in root's crontab */
  GHashTable *scripts;    /* path (host view) → text, for scripts that the
                             crontab and hookscripts name */
  gboolean have_usb;
  GPtrArray *usb; /* PdDoctorUsb */
} PdDoctorHost;

PdDoctorHost *pd_doctor_host_new (const char *root);
void pd_doctor_host_free (PdDoctorHost *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdDoctorHost, pd_doctor_host_free)

typedef struct
{
  guint vmid;
  char *config;       /* `qm config` output, NULL when it failed */
  char *config_error; /* why it failed */
  /* The hookscript the config names, resolved by the reader. */
  char *hook_path;  /* host path (without the root prefix); NULL: not resolvable */
  char *hook_error; /* why it could not be resolved */
  gboolean hook_exists;
  gboolean hook_executable;
  char *hook_text;
  GPtrArray *missing_roms; /* char*: romfile values that name no file */
} PdDoctorVm;

PdDoctorVm *pd_doctor_vm_new (guint vmid);
void pd_doctor_vm_free (PdDoctorVm *vm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdDoctorVm, pd_doctor_vm_free)

/* --- the pure part --- */

/* @s as valid UTF-8 with control characters other than LF and TAB replaced
 * by '?'. Everything read from the host and from qm goes through it before
 * it is judged: findings quote it, and they go to the guest. */
char *pd_doctor_clean_text (const char *s);

/* `qm config` text → key → value (the current config; snapshot sections
 * and pending changes are ignored). Never NULL. */
GHashTable *pd_doctor_parse_config (const char *text);

/* "n100", "esprimo" or "intel" (another Intel iGPU at 00:02.0), NULL: none. */
const char *pd_doctor_machine (const PdDoctorHost *h);
const char *pd_doctor_machine_name (const char *machine);

/* Whether the VM is one the doctor looks at without being asked: it has
 * the passdesk channel or a hostpci line for 00:02. */
gboolean pd_doctor_vm_is_candidate (const char *config_text);

/* Where a VM's config file (/etc/pve/qemu-server/VMID.conf) has the
 * passdesk channel in its args. */
typedef enum
{
  PD_CHANNEL_NONE = 0,
  PD_CHANNEL_CURRENT, /* in the current args: QEMU gets it whenever it starts */
  PD_CHANNEL_PENDING, /* only in the [PENDING] section: `qm set` on a running VM
                         leaves args there (they cannot be hot-plugged) until
                         the VM's next start */
} PdChannelConfig;

PdChannelConfig pd_doctor_config_channel (const char *config_text);

/* Appends host findings (PdDoctorFinding) to @out. @vms: the VMs checked,
 * for the workaround the hookscripts run (may be empty). */
void pd_doctor_judge_host (const PdDoctorHost *h, GPtrArray *vms, GPtrArray *out);
/* Appends @vm's findings to @out. @socket_dir: hostd's, for the channel. */
void pd_doctor_judge_vm (const PdDoctorHost *h, const PdDoctorVm *vm, const char *socket_dir,
                         GPtrArray *out);

/* No VM was picked without being asked (@n_configs configs looked at). */
void pd_doctor_judge_no_vms (const PdDoctorHost *h, guint n_configs, GPtrArray *out);

/* The worst state in @findings (host findings and those of @vmid; vmid 0:
 * all). */
PdDoctorState pd_doctor_worst (GPtrArray *findings, guint vmid);

G_END_DECLS
