/* hostd-cycle.c - the cold-restart cycle of one VM. */
#define G_LOG_DOMAIN "passdesk-hostd"

#include "hostd-cycle.h"
#include "pd-i18n.h"

#include "hostd-qm.h"

#include <string.h>

/* How long after `qm shutdown --timeout T` was issued we still accept the VM
 * stopping on its own before applying on-timeout: a quarter of T, 1..10 s. */
#define SHUTDOWN_GRACE_S (MIN (10, 1 + c->policy.shutdown_timeout / 4))
/* A resumed shutdown phase asks the guest again for at least this long
 * (or the whole shutdown-timeout when that is shorter). */
#define RESUME_SHUTDOWN_MIN_S 10

struct _PdCycle
{
  guint vmid;
  char vmid_str[16];
  const PdHostdConfig *config;
  PdVmPolicy policy;
  guint cool_off;
  PdCycleCallbacks cb;
  gpointer user_data;

  PdCyclePhase phase;
  gint64 started;         /* wall µs */
  gint64 phase_since;     /* wall µs */
  gint64 started_mono;    /* monotonic µs, for the duration */
  gint64 deadline_mono;   /* of the current wait */
  gint64 start_first_try; /* monotonic µs of the first `qm start` */
  guint timer_id;
  gboolean busy; /* a qm call is running */
  gboolean finished;
  char *start_failure; /* why `qm start` failed, while its status is checked */
  gboolean resumed;    /* continued from a previous hostd's state file */
  gboolean forced;     /* the VM was stopped with `qm stop`, not shut down */
};

/* clang-format off */
static const char *phase_names[] = {
  [PD_CYCLE_SHUTTING_DOWN] = "shutting-down",
  [PD_CYCLE_FORCE_STOPPING] = "force-stopping",
  [PD_CYCLE_COOLING_OFF] = "cooling-off",
  [PD_CYCLE_STARTING] = "starting",
  [PD_CYCLE_CONFIRMING] = "confirming",
};
/* clang-format on */

const char *
pd_cycle_phase_to_string (PdCyclePhase phase)
{
  return phase < PD_CYCLE_N_PHASES ? phase_names[phase] : "unknown";
}

gboolean
pd_cycle_phase_from_string (const char *s, PdCyclePhase *phase)
{
  for (guint i = 0; i < PD_CYCLE_N_PHASES; i++)
    if (g_strcmp0 (s, phase_names[i]) == 0)
      {
        *phase = i;
        return TRUE;
      }
  return FALSE;
}

PdCycleResult *
pd_cycle_result_copy (const PdCycleResult *r)
{
  PdCycleResult *c = g_new0 (PdCycleResult, 1);
  *c = *r;
  c->step = g_strdup (r->step);
  c->message = g_strdup (r->message);
  if (r->message_msg)
    c->message_msg = pd_msg_copy (r->message_msg);
  else if (r->message)
    c->message_msg = pd_i18n_book_lookup (r->message);
  return c;
}

void
pd_cycle_result_free (PdCycleResult *r)
{
  if (r == NULL)
    return;
  g_free (r->step);
  g_free (r->message);
  pd_msg_free (r->message_msg);
  g_free (r);
}

static void cycle_log (PdCycle *c, GLogLevelFlags level, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static void
cycle_log (PdCycle *c, GLogLevelFlags level, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_log_structured (G_LOG_DOMAIN, level, "PASSDESK_VMID", c->vmid_str, "PASSDESK_PHASE",
                    pd_cycle_phase_to_string (c->phase), "MESSAGE", "VM %u: %s", c->vmid, msg);
}

static void
emit (PdCycle *c, PdCycleEvent ev, const char *message)
{
  cycle_log (c, ev == PD_CYCLE_EVENT_FAILED ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE, "%s",
             message);
  if (c->cb.event)
    c->cb.event (c, ev, message, c->user_data);
}

static void
set_phase (PdCycle *c, PdCyclePhase phase)
{
  c->phase = phase;
  c->phase_since = g_get_real_time ();
  if (c->cb.phase)
    c->cb.phase (c, c->user_data);
}

static void
finish (PdCycle *c, gboolean ok, const char *step, const char *message)
{
  g_return_if_fail (!c->finished);
  c->finished = TRUE;
  g_clear_handle_id (&c->timer_id, g_source_remove);
  g_autofree char *resumed_message = NULL;
  if (!ok && c->resumed && g_strcmp0 (step, "hostd") != 0)
    message = resumed_message = g_strconcat (
        message, " (passdesk-hostd was restarted during the cycle and resumed it.)", NULL);
  PdCycleResult r = {
    .vmid = c->vmid,
    .ok = ok,
    .step = (char *) step,
    .message = (char *) message,
    .started = c->started,
    .duration_ms = (g_get_monotonic_time () - c->started_mono) / 1000,
  };
  if (!ok)
    emit (c, PD_CYCLE_EVENT_FAILED, message);
  else
    cycle_log (c, G_LOG_LEVEL_MESSAGE, "cold restart finished in %" G_GINT64_FORMAT " ms",
               r.duration_ms);
  c->cb.done (c, &r, c->user_data);
}

static void
run_qm (PdCycle *c, guint timeout_s, PdQmCallback cb, const char *const *args)
{
  g_autofree char *argv_text = g_strjoinv (" ", (char **) args);
  cycle_log (c, G_LOG_LEVEL_INFO, "running %s %s", c->config->qm, argv_text);
  c->busy = TRUE;
  pd_qm_run (c->config->qm, args, timeout_s * 1000, cb, c);
}

static void
after (PdCycle *c, guint ms, GSourceFunc fn)
{
  g_clear_handle_id (&c->timer_id, g_source_remove);
  c->timer_id = g_timeout_add (ms, fn, c);
}

static char *
describe_failure (const char *what, PdQmResult *r)
{
  g_autofree char *summary = pd_qm_output_summary (r->output, 160);
  switch (r->outcome)
    {
    case PD_QM_TIMED_OUT:
      return pd_i18n_sprintf ("%s did not finish in time and was killed", what);
    case PD_QM_SPAWN_FAILED:
      return pd_i18n_sprintf ("%s could not be run (%s)", what, summary);
    case PD_QM_EXITED:
    default:
      return pd_i18n_sprintf ("%s failed with exit status %d (%s)", what, r->exit_status, summary);
    }
}

/* qm could not even be started (removed or made non-executable while the
 * cycle runs): no later step can work, so the cycle ends now, saying so,
 * rather than waiting out every deadline and blaming the VM. */
static gboolean
qm_unrunnable (PdCycle *c, PdQmResult *r)
{
  if (r->outcome != PD_QM_SPAWN_FAILED)
    return FALSE;
  g_autofree char *summary = pd_qm_output_summary (r->output, 160);
  g_autofree char *m = pd_i18n_sprintf (
      "The host could not run qm (%s: %s) during the cycle, so it could not finish. Check qm "
      "and, if VM %u is off, start it with `qm start %u`.",
      c->config->qm, summary, c->vmid, c->vmid);
  finish (c, FALSE, "hostd", m);
  return TRUE;
}

/* ---- waiting for a status ---- */

static void wait_status_poll (PdCycle *c);
static void on_stopped (PdCycle *c);
static void on_stop_wait_expired (PdCycle *c);
static void enter_starting (PdCycle *c);
static void enter_cooling_off (PdCycle *c, guint remaining_ms);

static const char *
wanted_status (PdCycle *c)
{
  return c->phase == PD_CYCLE_CONFIRMING ? "running" : "stopped";
}

static void
wait_status_reached (PdCycle *c)
{
  if (c->phase == PD_CYCLE_CONFIRMING)
    {
      emit (c, PD_CYCLE_EVENT_RUNNING, N_ ("The VM is running again."));
      if (c->forced)
        {
          /* Never reported as a clean shutdown: the guest lost what it had not saved. */
          g_autofree char *m = pd_i18n_sprintf ("The guest did not shut down within %u s, so "
                                                "the VM was stopped hard (qm stop) and "
                                                "started again.",
                                                c->policy.shutdown_timeout);
          finish (c, TRUE, NULL, m);
        }
      else
        finish (c, TRUE, NULL, N_ ("The VM was shut down and started again."));
    }
  else
    on_stopped (c);
}

static void
wait_status_expired (PdCycle *c)
{
  if (c->phase == PD_CYCLE_CONFIRMING && c->start_failure)
    finish (c, FALSE, "start", c->start_failure);
  else if (c->phase == PD_CYCLE_CONFIRMING)
    {
      g_autofree char *m = pd_i18n_sprintf ("qm start succeeded but the VM did not report "
                                            "running within %u s. Check `qm status %u` "
                                            "and the task log on the host.",
                                            c->config->confirm_timeout, c->vmid);
      finish (c, FALSE, "confirm", m);
    }
  else
    on_stop_wait_expired (c);
}

static void
on_status_result (PdQmResult *r, gpointer data)
{
  g_autoptr (PdQmResult) owned = r;
  PdCycle *c = data;
  c->busy = FALSE;
  if (qm_unrunnable (c, r))
    return;
  g_autofree char *status = r->outcome == PD_QM_EXITED ? pd_qm_parse_status (r->output) : NULL;
  if (status == NULL)
    {
      g_autofree char *why = describe_failure ("qm status", r);
      cycle_log (c, G_LOG_LEVEL_INFO, "%s; asking again", why);
    }
  if (g_strcmp0 (status, wanted_status (c)) == 0)
    {
      wait_status_reached (c);
      return;
    }
  if (g_get_monotonic_time () >= c->deadline_mono)
    {
      wait_status_expired (c);
      return;
    }
  wait_status_poll (c);
}

static gboolean
on_poll_timer (gpointer data)
{
  PdCycle *c = data;
  c->timer_id = 0;
  const char *args[] = { "status", c->vmid_str, NULL };
  run_qm (c, MIN (c->config->qm_timeout, 30), on_status_result, args);
  return G_SOURCE_REMOVE;
}

static void
wait_status_poll (PdCycle *c)
{
  after (c, c->config->poll_interval_ms, on_poll_timer);
}

/* Asks `qm status` now, then every poll interval, until the phase's status or
 * the deadline. */
static void
wait_status (PdCycle *c, gint64 deadline_mono)
{
  c->deadline_mono = deadline_mono;
  on_poll_timer (c);
}

/* ---- shutdown ---- */

static void
on_shutdown_result (PdQmResult *r, gpointer data)
{
  g_autoptr (PdQmResult) owned = r;
  PdCycle *c = data;
  c->busy = FALSE;
  if (qm_unrunnable (c, r))
    return;
  if (r->outcome == PD_QM_EXITED && pd_qm_output_says_not_running (r->output, c->vmid))
    {
      /* The guest powered itself off before qm looked (qemu-server prints
       * "VM VMID not running"; a qm that exits 255 with it means the same).
       * Not a failure: the VM is down once `qm status` confirms it, and the
       * cycle goes on with the cool-off. */
      cycle_log (c, G_LOG_LEVEL_MESSAGE,
                 "qm shutdown says the VM is not running (exit status %d): the guest powered "
                 "off first; confirming with qm status",
                 r->exit_status);
    }
  else if (r->outcome != PD_QM_EXITED || r->exit_status != 0)
    {
      /* `qm shutdown` fails when the guest did not stop within its timeout;
       * the status poll below decides what that means. */
      g_autofree char *why = describe_failure ("qm shutdown", r);
      cycle_log (c, G_LOG_LEVEL_MESSAGE, "%s", why);
    }
  wait_status (c, c->deadline_mono);
}

/* Runs `qm shutdown --timeout @timeout_s` and waits for stopped until the
 * timeout plus the grace. */
static void
send_shutdown (PdCycle *c, guint timeout_s)
{
  c->deadline_mono
      = g_get_monotonic_time () + (gint64) (timeout_s + SHUTDOWN_GRACE_S) * G_USEC_PER_SEC;
  g_autofree char *t = g_strdup_printf ("%u", timeout_s);
  const char *args[] = { "shutdown", c->vmid_str, "--timeout", t, NULL };
  run_qm (c, timeout_s + SHUTDOWN_GRACE_S, on_shutdown_result, args);
}

static void
enter_shutting_down (PdCycle *c)
{
  set_phase (c, PD_CYCLE_SHUTTING_DOWN);
  g_autofree char *m
      = pd_i18n_sprintf ("Shutting down (qm shutdown, up to %u s).", c->policy.shutdown_timeout);
  emit (c, PD_CYCLE_EVENT_SHUTTING_DOWN, m);
  send_shutdown (c, c->policy.shutdown_timeout);
}

/* ---- force stop ---- */

static void
on_stop_result (PdQmResult *r, gpointer data)
{
  g_autoptr (PdQmResult) owned = r;
  PdCycle *c = data;
  c->busy = FALSE;
  if (qm_unrunnable (c, r))
    return;
  if (r->outcome != PD_QM_EXITED || r->exit_status != 0)
    {
      g_autofree char *why = describe_failure ("qm stop", r);
      cycle_log (c, G_LOG_LEVEL_WARNING, "%s", why);
    }
  wait_status (c, g_get_monotonic_time () + (gint64) c->config->confirm_timeout * G_USEC_PER_SEC);
}

static void
send_stop (PdCycle *c)
{
  c->forced = TRUE;
  const char *args[] = { "stop", c->vmid_str, NULL };
  run_qm (c, c->config->qm_timeout, on_stop_result, args);
}

static void
enter_force_stopping (PdCycle *c)
{
  c->forced = TRUE; /* before set_phase, so the state file has it */
  set_phase (c, PD_CYCLE_FORCE_STOPPING);
  g_autofree char *m = pd_i18n_sprintf (
      "The guest did not stop within %u s; stopping it hard (qm stop, on-timeout=force-stop).",
      c->policy.shutdown_timeout);
  emit (c, PD_CYCLE_EVENT_FORCE_STOPPING, m);
  send_stop (c);
}

static void
on_stop_wait_expired (PdCycle *c)
{
  if (c->phase == PD_CYCLE_FORCE_STOPPING)
    {
      g_autofree char *m = pd_i18n_sprintf (
          "The VM did not stop even after qm stop (waited %u s). Check `qm status %u` and the "
          "task log on the host.",
          c->config->confirm_timeout, c->vmid);
      finish (c, FALSE, "stop", m);
      return;
    }
  if (c->policy.on_timeout == PD_ON_TIMEOUT_FORCE_STOP)
    {
      enter_force_stopping (c);
      return;
    }
  g_autofree char *m = pd_i18n_sprintf (
      "The guest did not shut down within %u s and was left running (on-timeout=leave-running). "
      "Close what blocks the shutdown in the guest and try again.",
      c->policy.shutdown_timeout);
  finish (c, FALSE, "shutdown", m);
}

static void
on_stopped (PdCycle *c)
{
  emit (c, PD_CYCLE_EVENT_STOPPED, N_ ("The VM has stopped."));
  enter_cooling_off (c, c->cool_off * 1000);
}

/* ---- cool-off ---- */

static gboolean
on_cool_off_done (gpointer data)
{
  PdCycle *c = data;
  c->timer_id = 0;
  enter_starting (c);
  return G_SOURCE_REMOVE;
}

static void
enter_cooling_off (PdCycle *c, guint remaining_ms)
{
  set_phase (c, PD_CYCLE_COOLING_OFF);
  cycle_log (c, G_LOG_LEVEL_MESSAGE, "cooling off for %u ms", remaining_ms);
  after (c, remaining_ms, on_cool_off_done);
}

/* ---- start ---- */

static void try_start (PdCycle *c);

static gboolean
on_start_retry (gpointer data)
{
  PdCycle *c = data;
  c->timer_id = 0;
  try_start (c);
  return G_SOURCE_REMOVE;
}

static void
enter_confirming (PdCycle *c)
{
  set_phase (c, PD_CYCLE_CONFIRMING);
  wait_status (c, g_get_monotonic_time () + (gint64) c->config->confirm_timeout * G_USEC_PER_SEC);
}

static void
on_start_result (PdQmResult *r, gpointer data)
{
  g_autoptr (PdQmResult) owned = r;
  PdCycle *c = data;
  c->busy = FALSE;
  if (qm_unrunnable (c, r))
    return;
  if (r->outcome == PD_QM_EXITED && r->exit_status == 0)
    {
      enter_confirming (c);
      return;
    }
  gint64 waited = g_get_monotonic_time () - c->start_first_try;
  if (r->outcome == PD_QM_EXITED && pd_qm_output_says_locked (r->output)
      && waited < (gint64) c->config->start_lock_timeout * G_USEC_PER_SEC)
    {
      cycle_log (c, G_LOG_LEVEL_MESSAGE, "the VM config is locked; trying qm start again");
      after (c, MAX (c->config->poll_interval_ms, 500), on_start_retry);
      return;
    }
  /* Maybe it started anyway (qm hung after the start, or someone else
   * started it): one look at the status decides. */
  g_autofree char *why = describe_failure ("qm start", r);
  cycle_log (c, G_LOG_LEVEL_WARNING, "%s", why);
  set_phase (c, PD_CYCLE_CONFIRMING);
  c->deadline_mono = 0; /* one status query only */
  g_autofree char *m = NULL;
  if (pd_qm_output_says_locked (r->output))
    m = pd_i18n_sprintf ("The VM could not be started: its config stayed locked for %u s (%s). "
                         "Start it by hand with `qm start %u` once the lock is gone.",
                         c->config->start_lock_timeout, why, c->vmid);
  else
    m = pd_i18n_sprintf ("The VM could not be started: %s. Start it by hand with `qm start %u` "
                         "and read its task log.",
                         why, c->vmid);
  /* The failure sentence is kept for when the status is not running. */
  g_free (c->start_failure);
  c->start_failure = g_steal_pointer (&m);
  const char *args[] = { "status", c->vmid_str, NULL };
  c->busy = TRUE;
  pd_qm_run (c->config->qm, args, MIN (c->config->qm_timeout, 30) * 1000, on_status_result, c);
}

static void
try_start (PdCycle *c)
{
  const char *args[] = { "start", c->vmid_str, NULL };
  run_qm (c, c->config->qm_timeout, on_start_result, args);
}

static void
enter_starting (PdCycle *c)
{
  set_phase (c, PD_CYCLE_STARTING);
  emit (c, PD_CYCLE_EVENT_STARTING, N_ ("Starting the VM (qm start)."));
  c->start_first_try = g_get_monotonic_time ();
  try_start (c);
}

/* ---- resume ---- */

static void
on_resume_status (PdQmResult *r, gpointer data)
{
  g_autoptr (PdQmResult) owned = r;
  PdCycle *c = data;
  c->busy = FALSE;
  if (qm_unrunnable (c, r))
    return;
  g_autofree char *status = r->outcome == PD_QM_EXITED ? pd_qm_parse_status (r->output) : NULL;
  gint64 now = g_get_real_time ();
  gint64 in_phase_us = MAX (0, now - c->phase_since);
  cycle_log (c, G_LOG_LEVEL_MESSAGE, "resuming the cycle left in phase %s; qm status says %s",
             pd_cycle_phase_to_string (c->phase), status ? status : "nothing usable");

  switch (c->phase)
    {
    case PD_CYCLE_SHUTTING_DOWN:
    case PD_CYCLE_FORCE_STOPPING:
      if (g_strcmp0 (status, "stopped") == 0)
        {
          on_stopped (c);
          return;
        }
      /* The previous hostd may never have run its qm command (it stopped
       * between recording the phase and spawning qm), or its qm was killed
       * with it: the phase sends its command again. Both are idempotent on
       * Proxmox. The shutdown gets what is left of its timeout, but at least
       * RESUME_SHUTDOWN_MIN_S, so a guest is always asked before a hard stop. */
      if (c->phase == PD_CYCLE_FORCE_STOPPING)
        {
          cycle_log (c, G_LOG_LEVEL_MESSAGE, "sending qm stop again");
          send_stop (c);
          return;
        }
      {
        gint64 left_us = (gint64) c->policy.shutdown_timeout * G_USEC_PER_SEC - in_phase_us;
        guint left_s = left_us > 0 ? (guint) ((left_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC) : 0;
        guint timeout_s = MAX (left_s, MIN (c->policy.shutdown_timeout, RESUME_SHUTDOWN_MIN_S));
        cycle_log (c, G_LOG_LEVEL_MESSAGE, "sending qm shutdown again (up to %u s)", timeout_s);
        send_shutdown (c, timeout_s);
      }
      return;
    case PD_CYCLE_COOLING_OFF:
      if (g_strcmp0 (status, "stopped") == 0)
        {
          gint64 left_ms = MAX (0, (gint64) c->cool_off * 1000 - in_phase_us / 1000);
          enter_cooling_off (c, (guint) left_ms);
          return;
        }
      break;
    case PD_CYCLE_STARTING:
    case PD_CYCLE_CONFIRMING:
    default:
      break;
    }
  if (g_strcmp0 (status, "running") == 0)
    {
      enter_confirming (c);
      return;
    }
  if (g_strcmp0 (status, "stopped") == 0)
    {
      enter_starting (c);
      return;
    }
  g_autofree char *m = pd_i18n_sprintf (
      "passdesk-hostd was restarted during the cycle (phase %s) and qm status gives no usable "
      "answer now. Check `qm status %u` and start the VM by hand if it is stopped.",
      pd_cycle_phase_to_string (c->phase), c->vmid);
  finish (c, FALSE, "hostd", m);
}

void
pd_cycle_resume (PdCycle *c, PdCyclePhase phase, gint64 started, gint64 phase_since,
                 gboolean forced)
{
  c->forced = forced;
  c->phase = phase < PD_CYCLE_N_PHASES ? phase : PD_CYCLE_CONFIRMING;
  c->resumed = TRUE;
  c->started = started;
  c->phase_since = phase_since;
  /* The duration counts from the original start. */
  c->started_mono = g_get_monotonic_time () - MAX (0, g_get_real_time () - started);
  const char *args[] = { "status", c->vmid_str, NULL };
  run_qm (c, MIN (c->config->qm_timeout, 30), on_resume_status, args);
}

void
pd_cycle_start (PdCycle *c)
{
  c->started = g_get_real_time ();
  c->started_mono = g_get_monotonic_time ();
  cycle_log (c, G_LOG_LEVEL_MESSAGE, "cold restart accepted (cool-off %u s)", c->cool_off);
  enter_shutting_down (c);
}

PdCycle *
pd_cycle_new (guint vmid, const PdHostdConfig *config, const PdVmPolicy *policy, guint cool_off,
              const PdCycleCallbacks *callbacks, gpointer user_data)
{
  PdCycle *c = g_new0 (PdCycle, 1);
  c->vmid = vmid;
  g_snprintf (c->vmid_str, sizeof c->vmid_str, "%u", vmid);
  c->config = config;
  c->policy = *policy;
  c->cool_off = cool_off;
  c->cb = *callbacks;
  c->user_data = user_data;
  return c;
}

void
pd_cycle_free (PdCycle *c)
{
  if (c == NULL)
    return;
  g_return_if_fail (!c->busy);
  g_clear_handle_id (&c->timer_id, g_source_remove);
  g_free (c->start_failure);
  g_free (c);
}

guint
pd_cycle_get_vmid (PdCycle *c)
{
  return c->vmid;
}

PdCyclePhase
pd_cycle_get_phase (PdCycle *c)
{
  return c->phase;
}

gint64
pd_cycle_get_started (PdCycle *c)
{
  return c->started;
}

gint64
pd_cycle_get_phase_since (PdCycle *c)
{
  return c->phase_since;
}

guint
pd_cycle_get_cool_off (PdCycle *c)
{
  return c->cool_off;
}

gboolean
pd_cycle_get_forced (PdCycle *c)
{
  return c->forced;
}
