/* hostd-doctor-run.c - collecting and rendering one doctor run. */
#include "hostd-doctor-run.h"
#include "pd-i18n.h"

#include "hostd-doctor-read.h"
#include "hostd-qm.h"

#include <stdio.h>
#include <string.h>

void
pd_doctor_report_free (PdDoctorReport *r)
{
  if (r == NULL)
    return;
  pd_doctor_host_free (r->host);
  g_ptr_array_unref (r->vms);
  g_ptr_array_unref (r->findings);
  g_free (r);
}

GPtrArray *
pd_doctor_report_for_vm (PdDoctorReport *r, guint vmid)
{
  GPtrArray *a = g_ptr_array_new ();
  for (guint i = 0; i < r->findings->len; i++)
    {
      PdDoctorFinding *f = r->findings->pdata[i];
      if (f->vmid == 0 || f->vmid == vmid)
        g_ptr_array_add (a, f);
    }
  return a;
}

const char *
pd_doctor_root (const char *option)
{
  if (option)
    return option;
  const char *env = g_getenv ("PASSDESK_HOST_ROOT");
  return env ? env : "";
}

typedef struct
{
  char *qm;
  guint timeout_ms;
  char *socket_dir;
  GArray *ids;     /* to ask qm about */
  gboolean pick;   /* keep only candidates */
  guint n_configs; /* VM configs looked at when picking */
  guint next;
  PdDoctorReport *report;
  PdDoctorDone done;
  gpointer user_data;
} Run;

static void ask_next (Run *run);

static void
finish (Run *run)
{
  PdDoctorReport *r = run->report;
  for (guint i = 0; i < r->vms->len; i++)
    pd_doctor_read_vm (r->host, r->vms->pdata[i]);
  pd_doctor_judge_host (r->host, r->vms, r->findings);
  if (run->pick && r->vms->len == 0)
    pd_doctor_judge_no_vms (r->host, run->n_configs, r->findings);
  for (guint i = 0; i < r->vms->len; i++)
    pd_doctor_judge_vm (r->host, r->vms->pdata[i], run->socket_dir, r->findings);
  r->checked_at = g_get_real_time () / G_USEC_PER_SEC;
  run->done (r, run->user_data);
  g_free (run->qm);
  g_free (run->socket_dir);
  g_array_unref (run->ids);
  g_free (run);
}

static void
on_config (PdQmResult *res, gpointer data)
{
  Run *run = data;
  guint vmid = g_array_index (run->ids, guint, run->next - 1);
  g_autoptr (PdDoctorVm) vm = pd_doctor_vm_new (vmid);
  if (res->outcome == PD_QM_EXITED && res->exit_status == 0)
    vm->config = pd_doctor_clean_text (res->output);
  else
    {
      g_autofree char *summary = pd_qm_output_summary (res->output, 200);
      g_autofree char *clean = pd_doctor_clean_text (summary);
      vm->config_error
          = res->outcome == PD_QM_TIMED_OUT
                ? g_strdup_printf (_ ("%s did not answer in time and was killed"), run->qm)
            : res->outcome == PD_QM_SPAWN_FAILED
                ? g_strdup_printf (_ ("%s could not be run (%s)"), run->qm, clean)
                : g_strdup_printf (_ ("%s exited with status %d (%s)"), run->qm, res->exit_status,
                                   clean);
    }
  pd_qm_result_free (res);
  /* When qm failed, nobody knows whether it is a candidate: report it. */
  if (!run->pick || vm->config == NULL || pd_doctor_vm_is_candidate (vm->config))
    g_ptr_array_add (run->report->vms, g_steal_pointer (&vm));
  ask_next (run);
}

static void
ask_next (Run *run)
{
  if (run->next >= run->ids->len)
    {
      finish (run);
      return;
    }
  char id[16];
  g_snprintf (id, sizeof id, "%u", g_array_index (run->ids, guint, run->next));
  run->next++;
  const char *args[] = { "config", id, NULL };
  pd_qm_run (run->qm, args, run->timeout_ms, on_config, run);
}

static void
vm_free (gpointer p)
{
  pd_doctor_vm_free (p);
}

static void
finding_free (gpointer p)
{
  pd_doctor_finding_free (p);
}

void
pd_doctor_run (const char *root, const char *qm, guint qm_timeout_ms, const char *socket_dir,
               const guint *vmids, guint n_vmids, PdDoctorDone done, gpointer user_data)
{
  Run *run = g_new0 (Run, 1);
  run->qm = g_strdup (qm);
  run->timeout_ms = qm_timeout_ms;
  run->socket_dir = g_strdup (socket_dir);
  run->done = done;
  run->user_data = user_data;
  run->report = g_new0 (PdDoctorReport, 1);
  run->report->host = pd_doctor_read_host (root);
  run->report->vms = g_ptr_array_new_with_free_func (vm_free);
  run->report->findings = g_ptr_array_new_with_free_func (finding_free);
  if (n_vmids > 0)
    {
      run->ids = g_array_new (FALSE, FALSE, sizeof (guint));
      g_array_append_vals (run->ids, vmids, n_vmids);
    }
  else
    {
      /* Not a Proxmox host: no VM to look for (the "proxmox" finding says so). */
      run->ids = run->report->host->is_proxmox
                     ? pd_doctor_list_vms (run->report->host->root, TRUE, &run->n_configs)
                     : g_array_new (FALSE, FALSE, sizeof (guint));
      run->pick = TRUE;
    }
  ask_next (run);
}

/* --- rendering --- */

static void
count (PdDoctorReport *r, guint n[3])
{
  n[0] = n[1] = n[2] = 0;
  for (guint i = 0; i < r->findings->len; i++)
    n[((PdDoctorFinding *) r->findings->pdata[i])->state]++;
}

char *
pd_doctor_format_text (PdDoctorReport *r)
{
  GString *s = g_string_new (NULL);
  const char *m = pd_doctor_machine (r->host);
  g_string_append_printf (s, _ ("passdesk-hostd doctor: %s%s%s%s\n"),
                          r->host->is_proxmox ? "" : "not a Proxmox VE host, ",
                          pd_doctor_machine_name (m), *r->host->root ? ", host tree " : "",
                          r->host->root);
  guint shown_vm = G_MAXUINT;
  for (guint i = 0; i < r->findings->len; i++)
    {
      PdDoctorFinding *f = r->findings->pdata[i];
      if (i == 0)
        g_string_append (s, "\nHost\n");
      if (f->vmid != 0 && f->vmid != shown_vm)
        {
          shown_vm = f->vmid;
          const char *name = NULL;
          g_autoptr (GHashTable) cfg = NULL;
          for (guint v = 0; v < r->vms->len; v++)
            {
              PdDoctorVm *vm = r->vms->pdata[v];
              if (vm->vmid == f->vmid && vm->config)
                {
                  cfg = pd_doctor_parse_config (vm->config);
                  name = g_hash_table_lookup (cfg, "name");
                }
            }
          g_string_append_printf (s, "\nVM %u%s%s%s\n", f->vmid, name ? " (" : "", name ? name : "",
                                  name ? ")" : "");
        }
      static const char *const tag[] = { "ok  ", "WARN", "FAIL" };
      /* The findings are English; the user reads them in their language. */
      g_autofree char *text
          = f->text_msg ? pd_msg_localize (f->text_msg) : pd_i18n_localize_text (f->text);
      g_string_append_printf (s, "  %s  %s [%s]\n", tag[f->state], text, f->check);
      if (f->fix)
        {
          g_autofree char *fix
              = f->fix_msg ? pd_msg_localize (f->fix_msg) : pd_i18n_localize_text (f->fix);
          /* TRANSLATORS: the label before a doctor finding's fix */
          g_string_append_printf (s, "        %s %s\n", _ ("fix:"), fix);
        }
    }
  guint n[3];
  count (r, n);
  g_string_append_c (s, '\n');
  /* English with its recipe (the sentence book), then worded for the reader. */
  g_autofree char *english = pd_i18n_nprintf (
      "%u failed, %u warning, %u ok.", "%u failed, %u warnings, %u ok.", n[1], n[2], n[1], n[0]);
  g_autofree char *counts = pd_i18n_localize_text (english);
  g_string_append (s, counts);
  if (n[2])
    g_string_append_printf (s, " %s",
                            _ ("Fix the failed checks first, then run the doctor again."));
  g_string_append_c (s, '\n');
  return g_string_free (s, FALSE);
}

static void
json_str (GString *s, const char *v)
{
  if (v == NULL)
    {
      g_string_append (s, "null");
      return;
    }
  g_string_append_c (s, '"');
  for (const guchar *p = (const guchar *) v; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (s, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf (s, "\\u%04x", *p);
      else
        g_string_append_c (s, (char) *p);
    }
  g_string_append_c (s, '"');
}

char *
pd_doctor_format_json (PdDoctorReport *r)
{
  GString *s = g_string_new ("{\"root\": ");
  json_str (s, *r->host->root ? r->host->root : "/");
  g_string_append (s, ", \"proxmox\": ");
  g_string_append (s, r->host->is_proxmox ? "true" : "false");
  g_string_append (s, ", \"machine\": ");
  json_str (s, pd_doctor_machine (r->host));
  g_string_append_printf (s, ", \"checked_at\": %" G_GINT64_FORMAT ", \"vms\": [", r->checked_at);
  for (guint i = 0; i < r->vms->len; i++)
    g_string_append_printf (s, "%s%u", i ? ", " : "", ((PdDoctorVm *) r->vms->pdata[i])->vmid);
  g_string_append (s, "],\n \"findings\": [");
  for (guint i = 0; i < r->findings->len; i++)
    {
      PdDoctorFinding *f = r->findings->pdata[i];
      g_string_append (s, i ? ",\n  {\"check\": " : "\n  {\"check\": ");
      json_str (s, f->check);
      g_string_append_printf (s, ", \"vmid\": %u, \"state\": ", f->vmid);
      json_str (s, pd_doctor_state_to_string (f->state));
      g_string_append (s, ", \"text\": ");
      json_str (s, f->text);
      g_string_append (s, ", \"fix\": ");
      json_str (s, f->fix);
      g_string_append_c (s, '}');
    }
  guint n[3];
  count (r, n);
  g_string_append_printf (s,
                          "],\n \"summary\": {\"ok\": %u, \"warn\": %u, \"fail\": %u, "
                          "\"state\": \"%s\"}}\n",
                          n[0], n[1], n[2],
                          n[2]   ? "fail"
                          : n[1] ? "warn"
                                 : "ok");
  return g_string_free (s, FALSE);
}

/* --- the command --- */

typedef struct
{
  GMainLoop *loop;
  PdDoctorReport *report;
} Wait;

static void
on_command_done (PdDoctorReport *r, gpointer data)
{
  Wait *w = data;
  w->report = r;
  g_main_loop_quit (w->loop);
}

int
pd_doctor_command (PdHostdConfig *config, int n_vmids, char **vmids, gboolean json,
                   const char *root)
{
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint));
  for (int i = 0; i < n_vmids; i++)
    {
      guint vmid;
      if (!pd_vmid_parse (vmids[i], &vmid))
        {
          g_printerr (_ ("passdesk-hostd doctor: \"%s\" is not a VMID (a number from %u to %u).\n"),
                      vmids[i], PD_VMID_MIN, PD_VMID_MAX);
          return 2;
        }
      g_array_append_val (ids, vmid);
    }
  Wait w = { g_main_loop_new (NULL, FALSE), NULL };
  pd_doctor_run (pd_doctor_root (root), config->qm, config->qm_timeout * 1000, config->socket_dir,
                 (const guint *) (gpointer) ids->data, ids->len, on_command_done, &w);
  if (w.report == NULL)
    g_main_loop_run (w.loop);
  g_main_loop_unref (w.loop);
  g_autoptr (PdDoctorReport) r = w.report;
  g_autofree char *text = json ? pd_doctor_format_json (r) : pd_doctor_format_text (r);
  fputs (text, stdout);
  return pd_doctor_worst (r->findings, 0) == PD_DOCTOR_FAIL ? 1 : 0;
}
