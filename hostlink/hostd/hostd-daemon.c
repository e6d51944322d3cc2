/* hostd-daemon.c - passdesk-hostd's main-loop side. */
#define G_LOG_DOMAIN "passdesk-hostd"

#include "config.h"
#include "hostd-daemon.h"
#include "pd-i18n.h"

#include "codec.h"
#include "hostd-conn.h"
#include "hostd-cycle.h"
#include "hostd-discovery.h"
#include "hostd-doctor-run.h"
#include "hostd-link.h"
#include "hostd-qm.h"
#include "hostd-state.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct
{
  PdHostd *hostd;
  guint vmid;
  char vmid_str[16];
  PdHostdLink *link;
  PdCycle *cycle;
  guint32 request_id;      /* the RESTART that started the cycle */
  guint generation;        /* the link connection that accepted it */
  guint start_id;          /* idle that starts an accepted cycle */
  PdDoctorReport *doctor;  /* the doctor's last run for this VM */
  GPtrArray *doctor_items; /* its findings for this VM (host's and ours) */
  gboolean doctor_running;
} HostdVm;

struct _PdHostd
{
  PdHostdConfig *config;
  PdHostdState *state;
  PdDiscovery *discovery;
  GHashTable *vms; /* vmid → HostdVm* */
  char *host_name;
  int lock_fd;    /* STATE_DIR/hostd.lock, flock()ed while we run */
  PdSched *sched; /* the guests' overall line budget */
};

static void
save_state (PdHostd *h)
{
  g_autoptr (GError) error = NULL;
  if (!pd_hostd_state_save (h->state, &error))
    g_warning ("%s", error->message);
}

/* Cycles still running when hostd stops: their phase is in the state file
 * for the next hostd; a qm call may still hold a pointer to them, so they are
 * parked here, not freed. */
static GPtrArray *parked_cycles;

static void
vm_free (HostdVm *vm)
{
  pd_hostd_link_free (vm->link);
  g_clear_handle_id (&vm->start_id, g_source_remove);
  g_clear_pointer (&vm->doctor_items, g_ptr_array_unref);
  g_clear_pointer (&vm->doctor, pd_doctor_report_free);
  if (vm->cycle)
    {
      if (parked_cycles == NULL)
        parked_cycles = g_ptr_array_new ();
      g_ptr_array_add (parked_cycles, vm->cycle);
    }
  g_free (vm);
}

static HostdVm *
get_vm (PdHostd *h, guint vmid)
{
  HostdVm *vm = g_hash_table_lookup (h->vms, GUINT_TO_POINTER (vmid));
  if (vm == NULL)
    {
      vm = g_new0 (HostdVm, 1);
      vm->hostd = h;
      vm->vmid = vmid;
      g_snprintf (vm->vmid_str, sizeof vm->vmid_str, "%u", vmid);
      g_hash_table_insert (h->vms, GUINT_TO_POINTER (vmid), vm);
    }
  return vm;
}

static const char *
cycle_wire_phase (PdCycle *cycle)
{
  if (cycle == NULL)
    return "idle";
  switch (pd_cycle_get_phase (cycle))
    {
    case PD_CYCLE_SHUTTING_DOWN:
    case PD_CYCLE_FORCE_STOPPING:
      return PD_HL_PHASE_SHUTTING_DOWN;
    case PD_CYCLE_COOLING_OFF:
      return PD_HL_PHASE_COOLING_OFF;
    case PD_CYCLE_STARTING:
    case PD_CYCLE_CONFIRMING:
    default:
      return PD_HL_PHASE_STARTING;
    }
}

/* ---- cycle callbacks ---- */

static void
progress (HostdVm *vm, const char *phase, const char *text)
{
  if (vm->link && vm->request_id)
    pd_hostd_link_progress (vm->link, vm->generation, vm->request_id, phase, text);
}

static void
on_cycle_phase (PdCycle *cycle, gpointer data)
{
  HostdVm *vm = data;
  PdVmState *st = pd_hostd_state_vm (vm->hostd->state, vm->vmid);
  /* The first phase was written when the request was accepted: no second
   * fsync between the request and `qm shutdown`. */
  gboolean same = st->cycle_running && st->phase == pd_cycle_get_phase (cycle);
  st->cycle_running = TRUE;
  st->phase = pd_cycle_get_phase (cycle);
  st->cycle_started = pd_cycle_get_started (cycle);
  st->phase_since = pd_cycle_get_phase_since (cycle);
  st->cool_off = pd_cycle_get_cool_off (cycle);
  st->forced = pd_cycle_get_forced (cycle);
  if (!same)
    save_state (vm->hostd);
  if (st->phase == PD_CYCLE_COOLING_OFF)
    {
      g_autofree char *t
          = pd_i18n_sprintf ("Keeping the VM off for %u s.", pd_cycle_get_cool_off (cycle));
      progress (vm, PD_HL_PHASE_COOLING_OFF, t);
    }
}

static void
on_cycle_event (PdCycle *cycle, PdCycleEvent ev, const char *message, gpointer data)
{
  HostdVm *vm = data;
  const char *phase = NULL;
  switch (ev)
    {
    case PD_CYCLE_EVENT_SHUTTING_DOWN:
    case PD_CYCLE_EVENT_FORCE_STOPPING:
      phase = PD_HL_PHASE_SHUTTING_DOWN;
      break;
    case PD_CYCLE_EVENT_STOPPED:
      phase = PD_HL_PHASE_STOPPED;
      break;
    case PD_CYCLE_EVENT_STARTING:
      phase = PD_HL_PHASE_STARTING;
      break;
    case PD_CYCLE_EVENT_RUNNING:
      phase = PD_HL_PHASE_DONE;
      break;
    case PD_CYCLE_EVENT_FAILED:
    default:
      phase = PD_HL_PHASE_FAILED;
      break;
    }
  /* The cycle's messages are sentences in English with their recipes in
   * the book (the guest words them); anything else is made one. */
  if (g_ascii_isupper (message[0]) && g_str_has_suffix (message, "."))
    {
      progress (vm, phase, message);
      return;
    }
  g_autofree char *text = g_strdup_printf ("%c%s.", g_ascii_toupper (message[0]), message + 1);
  if (g_str_has_suffix (message, "."))
    text[strlen (text) - 1] = '\0';
  progress (vm, phase, text);
}

static void
on_cycle_done (PdCycle *cycle, const PdCycleResult *result, gpointer data)
{
  HostdVm *vm = data;
  PdVmState *st = pd_hostd_state_vm (vm->hostd->state, vm->vmid);
  pd_vm_state_set_result (st, result);
  /* One cycle at a time: the latest accepted is this one. */
  if (st->serial == 0)
    st->serial = 1;
  st->last->serial = st->serial;
  st->cycle_running = FALSE;
  st->request = 0;
  st->forced = FALSE;
  save_state (vm->hostd);
  g_log_structured (G_LOG_DOMAIN, result->ok ? G_LOG_LEVEL_MESSAGE : G_LOG_LEVEL_WARNING,
                    "PASSDESK_VMID", vm->vmid_str, "PASSDESK_RESULT", result->ok ? "ok" : "failed",
                    "MESSAGE", "VM %u: cold restart %s after %" G_GINT64_FORMAT " ms: %s", vm->vmid,
                    result->ok ? "succeeded" : "failed", result->duration_ms, result->message);
  pd_cycle_free (vm->cycle);
  vm->cycle = NULL;
  vm->request_id = 0;
  /* The guest may have connected before the result was known: tell it now. */
  if (vm->link)
    pd_hostd_link_rehello (vm->link);
}

static const PdCycleCallbacks cycle_callbacks = {
  .phase = on_cycle_phase,
  .event = on_cycle_event,
  .done = on_cycle_done,
};

/* ---- protocol core callbacks ---- */

static void
conn_view (gpointer data, PdHostdView *view)
{
  HostdVm *vm = data;
  PdHostd *h = vm->hostd;
  PdVmState *st = pd_hostd_state_vm (h->state, vm->vmid);
  view->host_name = h->host_name;
  view->vmid = vm->vmid;
  view->policy = *pd_hostd_config_policy (h->config, vm->vmid);
  pd_vm_state_rate_figures (st, &view->policy, g_get_real_time (), &view->rate_left,
                            &view->day_left, &view->next_allowed_in);
  view->cycle = cycle_wire_phase (vm->cycle);
  /* A guest that talks runs; during a cycle the cycle knows better. */
  view->vm_state = vm->cycle ? "unknown" : "running";
  /* While a cycle runs the recorded result is an older cycle's: a guest
   * that connects now (the new boot, as soon as `qm start` made the socket)
   * must not take it for this cycle's. Its result follows in a fresh HELLO
   * when the cycle ends. */
  view->last = vm->cycle ? NULL : st->last;
}

static gboolean
start_cycle (gpointer data)
{
  HostdVm *vm = data;
  vm->start_id = 0;
  pd_cycle_start (vm->cycle);
  return G_SOURCE_REMOVE;
}

/* Guest text made fit for one log line: valid UTF-8, every control
 * character (C0, DEL, C1: newlines, escapes, CSI) a '?'. */
static char *
printable_line (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *s = g_string_new (NULL);
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iscntrl (c))
        g_string_append_c (s, '?');
      else
        g_string_append_unichar (s, c);
    }
  return g_string_free (s, FALSE);
}

static gboolean
conn_restart (gpointer data, guint32 request_id, guint cool_off, const char *reason,
              gboolean reboot, char **why)
{
  HostdVm *vm = data;
  PdHostd *h = vm->hostd;
  if (vm->cycle)
    {
      *why = g_strdup (N_ ("A cold restart of this VM is already running. Wait for it to finish."));
      return FALSE;
    }
  /* Accept only what the host can do: a missing or non-executable qm would
   * let the guest power itself off and stay off. */
  g_autoptr (GError) qm_error = NULL;
  if (!pd_qm_check (h->config->qm, &qm_error))
    {
      g_warning ("VM %u: refusing a cold restart: %s", vm->vmid, qm_error->message);
      *why = pd_i18n_sprintf ("The host cannot run qm, so nothing was done: %s", qm_error->message);
      return FALSE;
    }
  PdVmState *st = pd_hostd_state_vm (h->state, vm->vmid);
  gint64 now = g_get_real_time ();
  const PdVmPolicy *policy = pd_hostd_config_policy (h->config, vm->vmid);

  /* Persist before acting: a cycle that cannot be written down is refused
   * rather than risked being lost. */
  pd_vm_state_note_cycle (st, now);
  st->serial++;
  st->cycle_running = TRUE;
  st->phase = PD_CYCLE_SHUTTING_DOWN;
  st->cycle_started = now;
  st->phase_since = now;
  st->cool_off = cool_off;
  st->request = request_id;
  st->forced = FALSE;
  g_autoptr (GError) error = NULL;
  if (!pd_hostd_state_save (h->state, &error))
    {
      st->cycle_running = FALSE;
      st->request = 0;
      st->serial--;
      g_array_set_size (st->history, st->history->len - 1);
      g_warning ("VM %u: refusing a cold restart: %s", vm->vmid, error->message);
      *why = pd_i18n_sprintf ("The host cannot record the cycle (%s); nothing was done.",
                              error->message);
      return FALSE;
    }
  g_autofree char *reason_escaped = g_strescape (reason, NULL); /* guest text */
  /* The reason in the message itself: `journalctl -u passdesk-hostd` shows
   * messages, not fields. Guest text, so one line of printable characters. */
  g_autofree char *reason_text = printable_line (reason);
  g_autofree char *said
      = *reason_text ? g_strdup_printf ("\"%s\"", reason_text) : g_strdup ("no reason given");
  if (reboot)
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "PASSDESK_VMID", vm->vmid_str,
                      "PASSDESK_REASON", reason_escaped, "PASSDESK_KIND", "reboot", "MESSAGE",
                      "VM %u: the guest is rebooting; turning the reboot into a cold restart "
                      "(request %u, cool-off %u s): %s",
                      vm->vmid, request_id, cool_off,
                      *reason_text ? reason_text : "no reason given");
  else
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "PASSDESK_VMID", vm->vmid_str,
                      "PASSDESK_REASON", reason_escaped, "PASSDESK_KIND", "request", "MESSAGE",
                      "VM %u: the guest asks for a cold restart: %s (request %u, cool-off %u s)",
                      vm->vmid, said, request_id, cool_off);
  vm->request_id = request_id;
  vm->generation = vm->link ? pd_hostd_link_get_generation (vm->link) : 0;
  vm->cycle = pd_cycle_new (vm->vmid, h->config, policy, cool_off, &cycle_callbacks, vm);
  /* From the main loop, so the guest gets ACCEPT before the first PROGRESS. */
  vm->start_id = g_idle_add (start_cycle, vm);
  return TRUE;
}

static void run_doctor (HostdVm *vm);

/* A report younger than this is sent again as it is; an older one is sent
 * and a fresh run follows (a guest's RESYNCs cannot make qm calls pile up:
 * one run at a time, and RESYNC spends the guest's bad-line allowance). */
#define DOCTOR_FRESH_S 60

/* Called when a protocol 2 guest completes the handshake. */
static GPtrArray *
conn_report (gpointer data, gint64 *checked_at)
{
  HostdVm *vm = data;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  if (vm->doctor == NULL || now - vm->doctor->checked_at >= DOCTOR_FRESH_S
      || now < vm->doctor->checked_at)
    run_doctor (vm); /* its result is pushed when it is in */
  if (vm->doctor == NULL)
    return NULL;
  *checked_at = vm->doctor->checked_at;
  return vm->doctor_items;
}

/* The point of no return is spawning `qm shutdown` (start_cycle): until
 * then an accepted request is only a record in the state file, and CANCEL
 * takes it back, from any connection of the VM. */
static PdHostdCancelResult
conn_cancel (gpointer data, guint32 request_id)
{
  HostdVm *vm = data;
  PdHostd *h = vm->hostd;
  PdVmState *st = pd_hostd_state_vm (h->state, vm->vmid);
  if (vm->cycle == NULL || st->request != request_id)
    return PD_HOSTD_CANCEL_UNKNOWN;
  if (vm->start_id == 0)
    return PD_HOSTD_CANCEL_TOO_LATE;
  g_clear_handle_id (&vm->start_id, g_source_remove);
  pd_cycle_free (vm->cycle);
  vm->cycle = NULL;
  vm->request_id = 0;
  st->cycle_running = FALSE;
  st->request = 0;
  /* A withdrawn request does not count against the rate limit. */
  if (st->history->len > 0
      && g_array_index (st->history, gint64, st->history->len - 1) == st->cycle_started)
    g_array_set_size (st->history, st->history->len - 1);
  save_state (h);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "PASSDESK_VMID", vm->vmid_str, "MESSAGE",
                    "VM %u: the guest cancelled its cold restart (request %u) before the "
                    "shutdown started; nothing was done",
                    vm->vmid, request_id);
  return PD_HOSTD_CANCEL_CANCELLED;
}

static const PdHostdConnOps conn_ops = {
  .view = conn_view,
  .restart = conn_restart,
  .report = conn_report,
  .cancel = conn_cancel,
};

/* ---- the doctor, for guests that take its summary (protocol 2) ---- */

/* A VM's doctor run may outlive its HostdVm (hostd stopping): it carries
 * the hostd and the VMID, not the VM. */
typedef struct
{
  PdHostd *hostd;
  guint vmid;
} DoctorJob;

static GHashTable *live_hostds; /* PdHostd* that are not freed yet */

static void
on_doctor_done (PdDoctorReport *r, gpointer data)
{
  DoctorJob *job = data;
  HostdVm *vm = live_hostds && g_hash_table_contains (live_hostds, job->hostd)
                    ? g_hash_table_lookup (job->hostd->vms, GUINT_TO_POINTER (job->vmid))
                    : NULL;
  g_free (job);
  if (vm == NULL)
    {
      pd_doctor_report_free (r);
      return;
    }
  vm->doctor_running = FALSE;
  g_clear_pointer (&vm->doctor_items, g_ptr_array_unref);
  g_clear_pointer (&vm->doctor, pd_doctor_report_free);
  vm->doctor = r;
  vm->doctor_items = pd_doctor_report_for_vm (r, vm->vmid);
  PdDoctorState worst = pd_doctor_worst (vm->doctor_items, vm->vmid);
  g_log_structured (G_LOG_DOMAIN, worst == PD_DOCTOR_OK ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_MESSAGE,
                    "PASSDESK_VMID", vm->vmid_str, "MESSAGE",
                    "VM %u: the doctor says %s (`passdesk-hostd doctor %u` for the details)",
                    vm->vmid, pd_doctor_state_to_string (worst), vm->vmid);
  if (vm->link)
    pd_hostd_link_report (vm->link, vm->doctor_items, r->checked_at);
}

static void
run_doctor (HostdVm *vm)
{
  if (vm->doctor_running)
    return;
  PdHostdConfig *c = vm->hostd->config;
  DoctorJob *job = g_new0 (DoctorJob, 1);
  job->hostd = vm->hostd;
  job->vmid = vm->vmid;
  vm->doctor_running = TRUE;
  pd_doctor_run (pd_doctor_root (NULL), c->qm, c->qm_timeout * 1000, c->socket_dir, &vm->vmid, 1,
                 on_doctor_done, job);
}

/* ---- links and discovery ---- */

/* Guest text shown to an admin's terminal: printable ASCII only (the codec
 * lets C1 controls and other UTF-8 through), and short. */
static char *
printable_ascii (const char *text, gsize max)
{
  if (text == NULL)
    return NULL;
  GString *s = g_string_new (NULL);
  for (const char *p = text; *p && s->len < max; p++)
    g_string_append_c (s, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
  return g_string_free (s, FALSE);
}

static void
on_link_state (PdHostdLink *link, gboolean connected, gpointer data)
{
  HostdVm *vm = data;
  PdVmState *st = pd_hostd_state_vm (vm->hostd->state, vm->vmid);
  st->connected = connected;
  st->link_since = g_get_real_time ();
  if (connected)
    {
      g_free (st->guest_name);
      st->guest_name = printable_ascii (pd_hostd_link_get_agent (link), 64);
      st->guest_reboot = pd_hostd_link_get_guest_reboot (link);
    }
  else
    st->guest_reboot = PD_HOSTD_GUEST_REBOOT_UNSAID;
  save_state (vm->hostd);
}

static void
on_socket (guint vmid, const char *path, gboolean present, gpointer data)
{
  PdHostd *h = data;
  HostdVm *vm = get_vm (h, vmid);
  if (vm->link == NULL)
    {
      if (!present)
        return;
      vm->link = pd_hostd_link_new (vmid, path, &conn_ops, h->sched, on_link_state, vm);
    }
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "PASSDESK_VMID", vm->vmid_str, "MESSAGE",
                    "VM %u: channel socket %s %s", vmid, path, present ? "present" : "removed");
  pd_hostd_link_set_present (vm->link, present);
}

PdHostd *
pd_hostd_new (PdHostdConfig *config)
{
  PdHostd *h = g_new0 (PdHostd, 1);
  h->config = config;
  h->vms = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) vm_free);
  h->host_name = g_strdup (g_get_host_name ());
  h->lock_fd = -1;
  if (live_hostds == NULL)
    live_hostds = g_hash_table_new (NULL, NULL);
  g_hash_table_add (live_hostds, h);
  h->sched = pd_sched_new (PD_SCHED_SHARE, PD_SCHED_BURST_US);
  return h;
}

gboolean
pd_hostd_start (PdHostd *h, GError **error)
{
  /* Without qm hostd could accept requests it can never carry out. */
  if (!pd_qm_check (h->config->qm, error))
    return FALSE;
  /* One hostd per state directory: two would fight over every VM's socket
   * and overwrite each other's state. Taken before the state is read. */
  g_mkdir_with_parents (h->config->state_dir, 0755);
  g_autofree char *lock_path = g_build_filename (h->config->state_dir, "hostd.lock", NULL);
  h->lock_fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (h->lock_fd < 0 || flock (h->lock_fd, LOCK_EX | LOCK_NB) != 0)
    {
      int e = errno;
      if (h->lock_fd >= 0 && e == EWOULDBLOCK)
        {
          g_autoptr (PdHostdState) other = pd_hostd_state_peek (h->config->state_dir, NULL);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                       "Another passdesk-hostd (pid %" G_GINT64_FORMAT
                       ") already runs with the state directory %s. Stop it first "
                       "(systemctl stop passdesk-hostd).",
                       other ? other->daemon_pid : 0, h->config->state_dir);
        }
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e),
                     _ ("Cannot lock %s: %s. Check state-dir in the configuration."), lock_path,
                     g_strerror (e));
      return FALSE;
    }
  h->state = pd_hostd_state_load (h->config->state_dir, error);
  if (h->state == NULL)
    return FALSE;
  h->state->daemon_pid = getpid ();
  /* For status: a hostd.conf changed after this is not in force yet. */
  h->state->daemon_started = g_get_real_time ();
  /* Links from an earlier run are gone. */
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, h->state->vms);
  while (g_hash_table_iter_next (&it, NULL, &value))
    ((PdVmState *) value)->connected = FALSE;
  if (!pd_hostd_state_save (h->state, error))
    return FALSE;

  /* Cycles a previous hostd left unfinished continue, or end as failed. */
  g_autoptr (GArray) ids = pd_hostd_state_vmids (h->state);
  for (guint i = 0; i < ids->len; i++)
    {
      guint vmid = g_array_index (ids, guint, i);
      PdVmState *st = pd_hostd_state_vm (h->state, vmid);
      if (!st->cycle_running)
        continue;
      HostdVm *vm = get_vm (h, vmid);
      guint cool_off = st->cool_off;
      vm->cycle = pd_cycle_new (vmid, h->config, pd_hostd_config_policy (h->config, vmid), cool_off,
                                &cycle_callbacks, vm);
      pd_cycle_resume (vm->cycle, st->phase, st->cycle_started, st->phase_since, st->forced);
    }

  h->discovery = pd_discovery_new (h->config->socket_dir, on_socket, h, error);
  if (h->discovery == NULL)
    return FALSE;
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE",
                    "passdesk-hostd %s watching %s (qm: %s, state: %s)", PACKAGE_VERSION,
                    h->config->socket_dir, h->config->qm, h->config->state_dir);
  return TRUE;
}

void
pd_hostd_free (PdHostd *h)
{
  if (h == NULL)
    return;
  if (live_hostds)
    g_hash_table_remove (live_hostds, h);
  pd_discovery_free (h->discovery);
  g_hash_table_unref (h->vms); /* the links, before the budget they share */
  pd_sched_free (h->sched);
  pd_hostd_state_free (h->state);
  pd_hostd_config_free (h->config);
  g_free (h->host_name);
  if (h->lock_fd >= 0)
    close (h->lock_fd);
  g_free (h);
}
