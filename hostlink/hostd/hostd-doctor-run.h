/* hostd-doctor-run.h - one doctor run: read the host, ask qm, judge.
 *
 * Reads the host tree below @root (hostd-doctor-read.h), runs `qm config`
 * for each VM asked for (or, with none asked, for every VM in
 * /etc/pve/qemu-server that has the passdesk channel or the iGPU), one at a
 * time and each with the qm deadline, and judges everything
 * (hostd-doctor.h). Asynchronous on the thread-default main context, so the
 * daemon can run it for a VM whose guest just connected; the CLI waits for
 * it. qm output is made valid UTF-8 without control characters before it is
 * judged, since the findings quote it and go to the guest.
 */
#pragma once

#include "hostd-config.h"
#include "hostd-doctor.h"

G_BEGIN_DECLS

typedef struct
{
  PdDoctorHost *host;
  GPtrArray *vms;      /* PdDoctorVm, the VMs checked */
  GPtrArray *findings; /* PdDoctorFinding: host first, then per VM */
  gint64 checked_at;   /* Unix time */
} PdDoctorReport;

void pd_doctor_report_free (PdDoctorReport *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdDoctorReport, pd_doctor_report_free)

/* The findings for one VM: the host's and those of @vmid (a new array that
 * references @r's findings; valid while @r lives). */
GPtrArray *pd_doctor_report_for_vm (PdDoctorReport *r, guint vmid);

/* Gets the report (owned by the callee). */
typedef void (*PdDoctorDone) (PdDoctorReport *report, gpointer user_data);

/* @vmids: @n_vmids VMs to check; 0: the candidates. */
void pd_doctor_run (const char *root, const char *qm, guint qm_timeout_ms, const char *socket_dir,
                    const guint *vmids, guint n_vmids, PdDoctorDone done, gpointer user_data);

/* The root prefix: @option if set, else $PASSDESK_HOST_ROOT, else "". */
const char *pd_doctor_root (const char *option);

/* `passdesk-hostd doctor [VMID...]`: runs the doctor (waiting for it on a
 * main loop of its own), prints text or JSON, and returns the exit status:
 * 0 nothing failed, 1 a check failed, 2 a VMID that is none. */
int pd_doctor_command (PdHostdConfig *config, int n_vmids, char **vmids, gboolean json,
                       const char *root);

/* Renderings: text for people, JSON for scripts. */
char *pd_doctor_format_text (PdDoctorReport *r);
char *pd_doctor_format_json (PdDoctorReport *r);

G_END_DECLS
