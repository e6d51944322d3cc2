/* hostd-cycle.h - one VM's cold-restart cycle, as a state machine over qm calls.
 *
 *   SHUTTING_DOWN  `qm shutdown VMID --timeout T`, then `qm status` every
 *                  poll interval until "stopped" or T (+grace) has passed;
 *                  then on-timeout: force-stop → FORCE_STOPPING, or
 *                  leave-running → failed.
 *   FORCE_STOPPING `qm stop VMID`, then `qm status` until "stopped".
 *   COOLING_OFF    a timer of cool-off seconds.
 *   STARTING       `qm start VMID`, retried while qm says the config lock is
 *                  held, up to start-lock-timeout seconds.
 *   CONFIRMING     `qm status` until "running".
 *
 * Every step is logged to the journal (structured, PASSDESK_VMID=) and
 * reported through the event callback; the cycle ends exactly once through
 * the done callback with a result. Nothing is retried forever: every wait has
 * a deadline. qm runs only while a cycle runs. A result never calls a hard
 * stop (`qm stop`) a shutdown, also when the cycle was resumed.
 */
#pragma once

#include "hostd-config.h"

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  PD_CYCLE_SHUTTING_DOWN,
  PD_CYCLE_FORCE_STOPPING,
  PD_CYCLE_COOLING_OFF,
  PD_CYCLE_STARTING,
  PD_CYCLE_CONFIRMING,
  PD_CYCLE_N_PHASES,
} PdCyclePhase;

const char *pd_cycle_phase_to_string (PdCyclePhase phase);
gboolean pd_cycle_phase_from_string (const char *s, PdCyclePhase *phase);

typedef enum
{
  PD_CYCLE_EVENT_SHUTTING_DOWN,
  PD_CYCLE_EVENT_FORCE_STOPPING,
  PD_CYCLE_EVENT_STOPPED,
  PD_CYCLE_EVENT_STARTING,
  PD_CYCLE_EVENT_RUNNING,
  PD_CYCLE_EVENT_FAILED,
} PdCycleEvent;

typedef struct
{
  guint vmid;
  gboolean ok;
  char *step;     /* where it failed: shutdown, stop, start, confirm, hostd; NULL when ok */
  char *message;  /* one sentence for people */
  guint32 serial; /* the cycle's number for this VM (hostd-state.h); 0: none known */
  gint64 started; /* wall clock, µs since the epoch */
  gint64 duration_ms;
  /* @message's recipe (pd-i18n.h), kept with it (and in the state file) so
   * that the guest can word it in its users' languages; NULL: none.
   * pd_cycle_result_copy() takes it from the sentence book when unset. */
  struct _PdMsg *message_msg;
} PdCycleResult;

PdCycleResult *pd_cycle_result_copy (const PdCycleResult *r);
void pd_cycle_result_free (PdCycleResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdCycleResult, pd_cycle_result_free)

typedef struct _PdCycle PdCycle;

typedef struct
{
  /* The phase changed (to persist it); may be NULL. */
  void (*phase) (PdCycle *cycle, gpointer user_data);
  /* A step happened, to log and report to the guest. */
  void (*event) (PdCycle *cycle, PdCycleEvent event, const char *message, gpointer user_data);
  /* The cycle ended; @result is owned by the cycle. The cycle may be freed here. */
  void (*done) (PdCycle *cycle, const PdCycleResult *result, gpointer user_data);
} PdCycleCallbacks;

/* @config must outlive the cycle; the policy is copied. */
PdCycle *pd_cycle_new (guint vmid, const PdHostdConfig *config, const PdVmPolicy *policy,
                       guint cool_off, const PdCycleCallbacks *callbacks, gpointer user_data);
/* Must not be called while a qm call of the cycle runs: only after done. */
void pd_cycle_free (PdCycle *cycle);

void pd_cycle_start (PdCycle *cycle);
/* Continues a cycle that a previous hostd left in @phase (from the state
 * file), based on what `qm status` says now: a shutdown or stop phase sends
 * its qm command again (the previous hostd may have stopped before running
 * it, or its qm was killed with it; both commands are idempotent), the
 * shutdown with what is left of its timeout but at least 10 s; a cool-off
 * runs for what is left of it; a start phase (re)starts and confirms.
 * @forced: the previous hostd had stopped the VM hard. Times are wall µs. */
void pd_cycle_resume (PdCycle *cycle, PdCyclePhase phase, gint64 started, gint64 phase_since,
                      gboolean forced);

guint pd_cycle_get_vmid (PdCycle *cycle);
PdCyclePhase pd_cycle_get_phase (PdCycle *cycle);
gint64 pd_cycle_get_started (PdCycle *cycle);
gint64 pd_cycle_get_phase_since (PdCycle *cycle);
guint pd_cycle_get_cool_off (PdCycle *cycle);
/* Whether the VM was stopped with `qm stop` (a result never says "shut down" then). */
gboolean pd_cycle_get_forced (PdCycle *cycle);

G_END_DECLS
