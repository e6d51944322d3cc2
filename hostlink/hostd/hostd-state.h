/* hostd-state.h - what passdesk-hostd must not forget across restarts.
 *
 * One GKeyFile, STATE_DIR/hostd-state, a [vm VMID] group per VM: the cycle
 * in flight (phase, start, phase start, cool-off), the last result, the
 * cycles' serial number (the guest reports each result once by it), the
 * start times of the cycles in the last 24 hours (rate limits), and the link
 * state for `passdesk-hostd status`. Written whole and atomically
 * (g_file_set_contents_full: temp file, rename) after every change. Read
 * only as a regular file of at most 4 MiB (hostd-file.h). A file that cannot
 * be used (unparsable, too large, a FIFO, a device or a symlink to one) is
 * kept aside as hostd-state.corrupt by the daemon, never lost; `status`
 * reports it and changes nothing.
 */
#pragma once

#include "hostd-config.h"
#include "hostd-cycle.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint vmid;
  GArray *history;     /* gint64 wall µs of accepted cycles, oldest first, ≤ 24 h old */
  PdCycleResult *last; /* NULL when no cycle has finished */
  guint32 serial;      /* the latest accepted cycle's number: counts up, never reused */
  gboolean cycle_running;
  PdCyclePhase phase;
  gint64 cycle_started; /* wall µs */
  gint64 phase_since;   /* wall µs */
  guint cool_off;
  guint32 request; /* the guest's RESTART id, for a CANCEL after a restart */
  gboolean forced; /* the cycle stopped the VM with `qm stop` */
  gboolean connected;
  gint64 link_since; /* wall µs of the last connect or disconnect */
  char *guest_name;  /* what the guest said in its handshake, for status only */
  /* Its READY's reboot-cold, for status only: 0 not said (an agent from
   * before the conversion), 1 no, 2 yes (PdHostdGuestReboot). */
  guint guest_reboot;
} PdVmState;

typedef struct
{
  char *path;
  gint64 daemon_pid;     /* the hostd that wrote the file */
  gint64 daemon_started; /* wall µs when it started (and read hostd.conf); 0: unknown */
  GHashTable *vms;       /* GUINT_TO_POINTER(vmid) → PdVmState* */
} PdHostdState;

/* Loads STATE_DIR/hostd-state. A missing file gives an empty state; an
 * unparsable one is renamed to hostd-state.corrupt (with a warning) and an
 * empty state is returned. Fails only when the directory cannot be made. */
PdHostdState *pd_hostd_state_load (const char *state_dir, GError **error);
/* Read-only load for `status`: no repair, no directory creation. */
PdHostdState *pd_hostd_state_peek (const char *state_dir, GError **error);
gboolean pd_hostd_state_save (PdHostdState *state, GError **error);
void pd_hostd_state_free (PdHostdState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdHostdState, pd_hostd_state_free)

/* The VM's record, created empty when absent. */
PdVmState *pd_hostd_state_vm (PdHostdState *state, guint vmid);
/* Sorted VMIDs with a record. */
GArray *pd_hostd_state_vmids (PdHostdState *state);

void pd_vm_state_set_result (PdVmState *vm, const PdCycleResult *result);

/* Rate limits: TRUE when a cycle may start at @now (wall µs); else FALSE and
 * *@retry_after_s says in how many seconds one may (at least 1). Drops
 * history older than 24 h. */
gboolean pd_vm_state_rate_allows (PdVmState *vm, const PdVmPolicy *policy, gint64 now,
                                  guint *retry_after_s);
/* Cycles left in the current 24 h window, and seconds until the next allowed one (0: now). */
void pd_vm_state_rate_budget (PdVmState *vm, const PdVmPolicy *policy, gint64 now, guint *left,
                              guint *next_in_s);
/* What the guest is told (PROTOCOL.md, HELLO): cycles allowed right now
 * (0 or 1: one per min-interval), cycles left today, seconds until the next
 * allowed one. */
void pd_vm_state_rate_figures (PdVmState *vm, const PdVmPolicy *policy, gint64 now,
                               guint *rate_left, guint *day_left, guint *next_in_s);
void pd_vm_state_note_cycle (PdVmState *vm, gint64 now);

G_END_DECLS
