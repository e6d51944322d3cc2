/* hostd-doctor-read.h - reads the facts the doctor judges from a host tree.
 *
 * Every path goes through one root prefix (PASSDESK_HOST_ROOT or --root;
 * "" or "/" is the real host), so fixture trees stand in for a Proxmox host
 * in tests. Reads are bounded (PD_DOCTOR_READ_MAX per file, PD_DOCTOR_MAX_ENTRIES
 * per directory) and never follow a file the host did not name: sysfs, the
 * boot and modprobe configuration, root's crontab, /etc/pve/storage.cfg, the
 * hookscript a VM config names and the scripts it and the crontab run. A
 * missing or unreadable file is a fact (NULL / FALSE), never an error.
 */
#pragma once

#include "hostd-doctor.h"

G_BEGIN_DECLS

#define PD_DOCTOR_READ_MAX (64 * 1024)
#define PD_DOCTOR_MAX_ENTRIES 512

PdDoctorHost *pd_doctor_read_host (const char *root);
/* Resolves what @vm->config names (hookscript volume, romfiles) and reads
 * the hookscript; scripts the hookscript runs are added to @h->scripts. */
void pd_doctor_read_vm (PdDoctorHost *h, PdDoctorVm *vm);
/* The VMIDs of /etc/pve/qemu-server/ *.conf, sorted. With @candidates, only
 * those whose config file looks like a desktop VM (pd_doctor_vm_is_candidate)
 * or cannot be read, so qm is asked about few VMs on a busy host;
 * *@n_configs counts all. */
GArray *pd_doctor_list_vms (const char *root, gboolean candidates, guint *n_configs);
/* The VMs whose config file has the passdesk channel, for `status`:
 * GUINT_TO_POINTER (vmid) → GINT_TO_POINTER (PdChannelConfig), never NONE. */
GHashTable *pd_doctor_list_channel_vms (const char *root);

G_END_DECLS
