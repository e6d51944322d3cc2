/* agent-kernel.c - kernel-log findings -> overlays and history.
 *
 * What a finding does is its kind's row in logscan-rules.c (component,
 * state, a second component, what clears it, whether the monitor is told);
 * nothing here looks at a kind's name. Live findings raise overlays; the
 * boot log is history only. Events are rate-bounded; states follow every
 * finding. */
#include "config.h"

#include "agent-private.h"
#include "pd-i18n.h"

#include "monitor.h"

#include <string.h>

/* Kernel-log events: a burst of this many, then one per REFILL_US. The
 * scanner already folds repeats of one kind on one device into one incident;
 * this bounds floods of many kinds or devices. States still follow every
 * finding. */
#define LOG_EVENT_BURST 10
#define LOG_EVENT_REFILL_US (6 * G_USEC_PER_SEC)
/* Boot-log findings recorded as history at start. */
#define BOOT_LOG_EVENTS_MAX 50

static gboolean
take_log_event_token (PdAgentDaemon *self)
{
  gint64 now = g_get_monotonic_time ();
  if (self->tokens_time == 0)
    {
      self->tokens = LOG_EVENT_BURST;
      self->tokens_time = now;
    }
  gint64 refill = (now - self->tokens_time) / LOG_EVENT_REFILL_US;
  if (refill > 0)
    {
      self->tokens = (guint) MIN ((gint64) LOG_EVENT_BURST, self->tokens + refill);
      self->tokens_time += refill * LOG_EVENT_REFILL_US;
    }
  if (self->tokens == 0)
    return FALSE;
  self->tokens--;
  return TRUE;
}

static gboolean on_hold_over (gpointer user_data);

/* One timer, for the overlay that ends first; none while nothing is held. */
static void
schedule_hold (PdAgentDaemon *self)
{
  g_clear_handle_id (&self->hold_id, g_source_remove);
  gint64 next = G_MAXINT64;
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      const Overlay *o = &self->overlay[i];
      if (o->active && o->kind->clears == PD_LOG_CLEARS_AFTER_HOLD)
        next = MIN (next, o->until);
    }
  if (next == G_MAXINT64)
    return;
  gint64 delay_ms = (next - g_get_monotonic_time ()) / 1000 + 1;
  self->hold_id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) CLAMP (delay_ms, 1, G_MAXINT),
                                      on_hold_over, self, NULL);
}

static gboolean
on_hold_over (gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  self->hold_id = 0;
  gint64 now = g_get_monotonic_time ();
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      Overlay *o = &self->overlay[i];
      if (o->active && o->kind->clears == PD_LOG_CLEARS_AFTER_HOLD && o->until <= now)
        pd_agent_overlay_clear (o);
    }
  schedule_hold (self);
  pd_agent_daemon_update (self);
  return G_SOURCE_REMOVE;
}

/* After a GPU finding, the driver's reset takes a moment: the probe that
 * decides runs this long after the (last) finding. */
#define REPROBE_SETTLE_MS 1500

static void
raise_overlay (PdAgentDaemon *self, PdComponentId id, const PdLogKind *kind, PdState state,
               const char *summary, const char *device, const char *line)
{
  Overlay *o = &self->overlay[id];
  if (!o->active || state >= o->state)
    {
      g_free (o->summary);
      o->summary = g_strdup (summary);
      g_free (o->device);
      o->device = g_strdup (device);
      g_free (o->line);
      o->line = line != NULL && *line ? g_strdup (line) : NULL;
      o->kind = kind;
      o->state = state;
    }
  o->active = TRUE;
  o->saw_down = FALSE;
  o->until = g_get_monotonic_time () + self->kernel_hold_us;
  o->gen = ++self->overlay_gen;
}

static gboolean
reprobe_cb (gpointer data)
{
  PdAgentDaemon *self = data;
  self->reprobe_id = 0;
  pd_agent_daemon_request_checks (self, NULL);
  return G_SOURCE_REMOVE;
}

/* "GPU HANG: ecode 9:1:85dffffb, in firefox-esr [2216]": the program whose
 * work hung, or NULL. */
static char *
hung_program (const char *excerpt)
{
  const char *in = excerpt ? strstr (excerpt, ", in ") : NULL;
  if (in == NULL)
    return NULL;
  in += strlen (", in ");
  gsize len = strcspn (in, " [");
  if (len == 0 || len > 64)
    return NULL;
  g_autofree char *name = g_strndup (in, len);
  return g_utf8_make_valid (name, -1);
}

static void
on_log_finding (PdKmsgMonitor *kmsg, const PdLogFinding *f, gboolean boot_log, gpointer user_data)
{
  PdAgentDaemon *self = user_data;
  const PdLogKind *kind = f->kind;
  /* The kernel's line names the device; the sentence does not repeat it.
   * Sentences from formats (pd_i18n_sprintf): each client reads them in
   * its own language. */
  g_autofree char *text = (f->excerpt && *f->excerpt)
                              ? pd_i18n_sprintf ("%s Kernel log: “%s”", kind->summary, f->excerpt)
                              : g_strdup (kind->summary);

  if (boot_log)
    {
      /* History only: earlier trouble in this boot raises no alarm now. */
      if (self->boot_log_events++ >= BOOT_LOG_EVENTS_MAX)
        return;
      gint64 time = 0;
      if (f->timestamp_us >= 0)
        {
          gint64 age = g_get_monotonic_time () - f->timestamp_us;
          if (age >= 0)
            time = g_get_real_time () - age;
        }
      g_autofree char *earlier = pd_i18n_sprintf ("Earlier in this boot: %s", text);
      pd_agent_daemon_add_event (self, time, kind->kind, kind->component, earlier, TRUE);
      return;
    }

  g_autofree char *program = hung_program (f->excerpt);
  /* The device is a detail of the component (merge ()); the program that
   * hung reads as a sentence of its own. */
  g_autofree char *summary_text
      = program
            /* TRANSLATORS: a GPU hang's sentence, then the program whose work hung */
            ? pd_i18n_sprintf ("%s Program: %s.", kind->summary, program)
            : g_strdup (kind->summary);
  /* What the finding means is the kind's row (logscan-rules.c), nothing else.
   * Where a probe decides, the agent says it is checking (one question
   * open, no alarm) and asks the probe once the driver has settled. */
  gboolean decide = kind->reprobe && !self->no_vaprobe;
  if (decide && kind->state < PD_STATE_FAILED)
    {
      g_autofree char *checking
          = pd_i18n_sprintf ("%s Checking whether video acceleration survived it.", summary_text);
      raise_overlay (self, kind->component, kind, PD_STATE_UNKNOWN, checking, f->device,
                     f->excerpt);
    }
  else
    raise_overlay (self, kind->component, kind, kind->state, summary_text, f->device, f->excerpt);
  if (kind->also < PD_N_COMPONENTS)
    raise_overlay (self, kind->also, kind, PD_STATE_UNKNOWN,
                   decide ? N_ ("Re-checking after the GPU trouble the kernel reported.")
                          : N_ ("Not known since the GPU trouble the kernel reported."),
                   NULL, f->excerpt);
  if (decide)
    {
      g_clear_handle_id (&self->reprobe_id, g_source_remove);
      self->reprobe_id = g_timeout_add (REPROBE_SETTLE_MS, reprobe_cb, self);
    }
  schedule_hold (self);
  if (kind->tell_monitor)
    for (guint i = 0; i < self->monitors->len; i++)
      {
        PdMonitor *m = g_ptr_array_index (self->monitors, i);
        if (pd_monitor_get_component_id (m) == kind->component)
          pd_monitor_note_kernel_finding (m, kind, f->device);
      }

  if (take_log_event_token (self))
    {
      if (self->suppressed > 0)
        {
          g_autofree char *note = pd_i18n_nprintf (
              "%u more kernel-log finding came too fast to list one by one; "
              "run `passdesk scan-log` on `journalctl -k` output for all of them.",
              "%u more kernel-log findings came too fast to list one by one; "
              "run `passdesk scan-log` on `journalctl -k` output for all of them.",
              self->suppressed, self->suppressed);
          pd_agent_daemon_add_event (self, 0, "kernel.flood", kind->component, note, FALSE);
          self->suppressed = 0;
        }
      pd_agent_daemon_add_event (self, 0, kind->kind, kind->component, text, FALSE);
    }
  else
    self->suppressed++;
  pd_agent_daemon_update (self);
}

static void
on_kmsg_finding_cb (PdKmsgMonitor *kmsg, gpointer finding, gboolean boot_log, gpointer user_data)
{
  on_log_finding (kmsg, finding, boot_log, user_data);
}

void
pd_agent_daemon_start_kernel_log (PdAgentDaemon *self)
{
  g_autoptr (GError) error = NULL;
  self->kmsg = pd_kmsg_monitor_new (self->kmsg_path);
  g_signal_connect_object (self->kmsg, "finding", G_CALLBACK (on_kmsg_finding_cb), self, 0);
  if (!pd_kmsg_monitor_start (self->kmsg, &error))
    {
      g_warning ("Kernel log: %s", error->message);
      g_clear_object (&self->kmsg);
    }
  else
    g_debug ("Kernel log: %" G_GUINT64_FORMAT " records from before the start classified, "
             "%u findings kept as history",
             pd_kmsg_monitor_get_n_records (self->kmsg), self->boot_log_events);
}
