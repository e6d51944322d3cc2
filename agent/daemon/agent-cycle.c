/* agent-cycle.c - the agent's check cycle: GPU and display rescan, then the
 * VA-API probe. Cycles never overlap: requests during one are coalesced into
 * one more after it. */
#include "config.h"

#include "agent-private.h"
#include "pd-i18n.h"

#include "detail-keys.h"
#include "vaapi-check.h"

#include <string.h>

static void start_cycle (PdAgentDaemon *self);

static void
rescan_gpu (PdAgentDaemon *self)
{
  g_clear_pointer (&self->scan, pd_gpu_scan_free);
  self->scan = pd_gpu_scan ();
  pd_agent_daemon_set_base (self, pd_gpu_component (self->scan));
  pd_agent_daemon_set_base (self, pd_display_component (self->scan));
}

/* A connector changed: the outputs are read again (no probe needed); a
 * display that reads well after it did not ends a kernel-log overlay whose
 * kind clears when the device is back. */
void
pd_agent_daemon_rescan_display (PdAgentDaemon *self)
{
  PdState before = self->base[PD_COMPONENT_DISPLAY] ? self->base[PD_COMPONENT_DISPLAY]->state
                                                    : PD_STATE_UNKNOWN;
  g_clear_pointer (&self->scan, pd_gpu_scan_free);
  self->scan = pd_gpu_scan ();
  pd_agent_daemon_set_base (self, pd_display_component (self->scan));
  Overlay *o = &self->overlay[PD_COMPONENT_DISPLAY];
  if (o->active && o->kind->clears == PD_LOG_CLEARS_DEVICE_BACK
      && self->base[PD_COMPONENT_DISPLAY]->state == PD_STATE_OK && before != PD_STATE_OK)
    pd_agent_overlay_clear (o);
}

static void
complete_waiters (GPtrArray *waiters)
{
  for (guint i = 0; i < waiters->len; i++)
    g_task_return_boolean (g_ptr_array_index (waiters, i), TRUE);
  g_ptr_array_set_size (waiters, 0);
}

static void
finish_cycle (PdAgentDaemon *self)
{
  self->cycle_running = FALSE;
  self->check_time = g_get_real_time ();
  pd_agent_daemon_update (self);
  /* A caller of RunChecks reads the properties when it returns. */
  if (self->waiters_now->len > 0)
    pd_agent_daemon_flush_signals (self);
  complete_waiters (self->waiters_now);
  if (self->rerun || self->waiters_next->len > 0)
    start_cycle (self);
}

/* An overlay's summary without the "checking" its probe has now answered:
 * the finding as the kernel told it (device, hung program). */
static char *
finding_only (const char *summary)
{
  const char *checking = strstr (summary, " Checking whether");
  return checking ? g_strndup (summary, checking - summary) : g_strdup (summary);
}

static void
on_probe_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PdAgentDaemon) self = user_data;
  PdComponent *c = pd_vaapi_check_finish (result);
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      pd_component_free (c);
      return;
    }
  if (c == NULL)
    c = pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN, "The VA-API probe gave no result");
  c->id = PD_COMPONENT_VAAPI;
  if (c->state == PD_STATE_OK)
    {
      /* A probe that started after a GPU hang and passed: the GPU works again. */
      g_autofree char *what = NULL;
      for (guint i = 0; i < PD_N_COMPONENTS; i++)
        {
          Overlay *o = &self->overlay[i];
          if (o->active && o->kind->clears == PD_LOG_CLEARS_PROBE_PASSES
              && o->gen <= self->probe_gen)
            {
              if (what == NULL && o->kind->component == (PdComponentId) i)
                what = finding_only (o->summary);
              pd_agent_overlay_clear (o);
            }
        }
      if (what != NULL || self->lost_after != NULL)
        {
          g_autofree char *text = pd_i18n_sprintf (
              "Video acceleration works again: the VA-API probe passed after the kernel "
              "reported GPU trouble (%s)",
              what ? what : self->lost_after);
          pd_agent_daemon_add_event (self, 0, "vaapi.recovered", PD_COMPONENT_VAAPI, text, FALSE);
        }
      g_clear_pointer (&self->lost_after, g_free);
      g_clear_pointer (&self->lost_line, g_free);
    }
  else if (c->state >= PD_STATE_DEGRADED)
    {
      /* The probe that was to decide a GPU finding failed: acceleration did
       * not survive it. One component says so, with the step that works (a
       * cold restart resets the GPU); the GPU's own "checking" ends here. */
      for (guint i = 0; i < PD_N_COMPONENTS; i++)
        {
          Overlay *o = &self->overlay[i];
          if (!o->active || !o->kind->reprobe || o->gen > self->probe_gen
              || o->state >= PD_STATE_DEGRADED)
            continue;
          if (o->kind->component == (PdComponentId) i)
            {
              g_free (self->lost_after);
              self->lost_after = finding_only (o->summary);
              g_free (self->lost_line);
              self->lost_line = g_strdup (o->line);
              g_autofree char *text = pd_i18n_sprintf (
                  "Video acceleration did not survive the GPU trouble (%s): %s", self->lost_after,
                  c->summary ? c->summary : "the VA-API probe failed");
              pd_agent_daemon_add_event (self, 0, "vaapi.lost", PD_COMPONENT_VAAPI, text, FALSE);
            }
          pd_agent_overlay_clear (o);
        }
      if (self->lost_after != NULL)
        {
          g_autofree char *probe = g_strdup (c->summary ? c->summary : "");
          gsize n = strlen (probe);
          if (n > 0 && probe[n - 1] == '.')
            probe[n - 1] = '\0';
          if (*probe)
            pd_component_set_summary_printf (
                c, "Video acceleration is gone since the GPU hung (%s).", probe);
          else
            pd_component_set_summary_printf (c, "Video acceleration is gone since the GPU hung.");
          pd_component_set_detail (c, PD_DETAIL_KERNEL_LOG,
                                   self->lost_line ? self->lost_line : self->lost_after);
          pd_component_add_advice (c,
                                   "Only a real stop and start of the VM resets the GPU (a reboot "
                                   "inside the VM does not): cold-restart the VM "
                                   "(`passdesk cold-restart`, or “Cold restart VM…” in the "
                                   "passdesk menu).",
                                   "passdesk cold-restart");
          PdAdvice *a = g_ptr_array_steal_index (c->advice, c->advice->len - 1);
          g_ptr_array_insert (c->advice, 0, a);
        }
    }
  pd_agent_daemon_set_base (self, c);
  finish_cycle (self);
}

static void
start_cycle (PdAgentDaemon *self)
{
  g_assert (!self->cycle_running);
  gboolean explicit = self->waiters_next->len > 0;
  g_ptr_array_extend_and_steal (self->waiters_now, g_steal_pointer (&self->waiters_next));
  self->waiters_next = g_ptr_array_new_with_free_func (g_object_unref);
  self->rerun = FALSE;
  self->cycle_running = TRUE;

  rescan_gpu (self);
  pd_agent_daemon_refresh_monitors (self);
  if (explicit)
    {
      /* Someone asked for a re-check: kernel-log overlays on hardware that
       * reads well now are history. */
      for (guint i = 0; i < PD_N_COMPONENTS; i++)
        {
          Overlay *o = &self->overlay[i];
          if (o->active && o->kind->clears == PD_LOG_CLEARS_DEVICE_BACK && self->base[i]
              && self->base[i]->state == PD_STATE_OK)
            pd_agent_overlay_clear (o);
        }
    }

  if (self->no_vaprobe)
    {
      pd_agent_daemon_set_base (self, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN,
                                                        "VA-API probe skipped (--no-vaprobe)"));
      finish_cycle (self);
      return;
    }
  self->probe_gen = self->overlay_gen;
  if (self->base[PD_COMPONENT_VAAPI] == NULL)
    pd_agent_daemon_set_base (
        self, pd_component_new (PD_COMPONENT_VAAPI, PD_STATE_UNKNOWN,
                                "Checking video acceleration (the VA-API probe runs)"));
  pd_agent_daemon_update (self);
  pd_vaapi_check_async (self->scan,
                        self->vaprobe_timeout_ms ? self->vaprobe_timeout_ms
                                                 : PD_VAPROBE_DEFAULT_TIMEOUT_MS,
                        self->cancellable, on_probe_done, g_object_ref (self));
}

void
pd_agent_daemon_request_checks (PdAgentDaemon *self, GTask *task)
{
  if (task)
    g_ptr_array_add (self->waiters_next, task);
  if (self->cycle_running)
    self->rerun = TRUE;
  else
    start_cycle (self);
}

void
pd_agent_daemon_run_checks_async (PdAgentDaemon *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_agent_daemon_run_checks_async);
  pd_agent_daemon_request_checks (self, task);
}

gboolean
pd_agent_daemon_run_checks_finish (PdAgentDaemon *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
