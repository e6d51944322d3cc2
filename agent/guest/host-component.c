/* host-component.c - the `host` health component's words: what the host
 * doctor (`passdesk-hostd doctor` on the Proxmox host) found for this VM and
 * its host, from the summary hostd sends (PROTOCOL.md 4a); no I/O.
 *
 * Each finding becomes one advice: the host's sentence, and its fix as the
 * command, said to run on the Proxmox host (not in this VM). */
#include "guest-private.h"
#include "pd-i18n.h"

#include "detail-keys.h"

static void
word_no_report (PdComponent *c, const PdGuestHostView *v)
{
  if (v->state == PD_GUEST_LINK_READY && v->proto >= PD_HL_PROTOCOL_VERSION_HOST_REPORT)
    {
      pd_component_set_state (c, PD_STATE_UNKNOWN,
                              "Waiting for the host's report (the host doctor runs when the VM "
                              "connects)");
      return;
    }
  if (v->state == PD_GUEST_LINK_READY)
    {
      pd_component_set_state (c, PD_STATE_UNKNOWN,
                              "The host's passdesk-hostd is older and sends no host report");
      pd_component_add_advice (c,
                               "Update passdesk on the Proxmox host, then run “systemctl restart "
                               "passdesk-hostd” there; until then, run “passdesk-hostd doctor” "
                               "on the host to see its findings.",
                               "systemctl restart passdesk-hostd");
      return;
    }
  pd_component_set_state (c, PD_STATE_UNKNOWN,
                          "No report from the host: its host helper is not connected");
  pd_component_add_advice (c,
                           "The host doctor's findings arrive over the host link: connect it "
                           "(see Host link), or run “passdesk-hostd doctor” on the Proxmox "
                           "host.",
                           "passdesk-hostd doctor");
}

static char *
findings_text (const PdHostReport *r)
{
  /* TRANSLATORS: the plural follows the number of warnings (the second). */
  return pd_i18n_nprintf ("%u ok, %u warning, %u failed", "%u ok, %u warnings, %u failed",
                          r->n_warn, r->n_ok, r->n_warn, r->n_fail);
}

static void
set_summary (PdComponent *c, const PdHostReport *r, PdHostReportState worst)
{
  /* Counts by ngettext (pd_i18n_nprintf): languages differ in more than
   * an "s". */
  if (worst == PD_HOST_REPORT_OK)
    {
      g_autofree char *text = pd_i18n_nprintf (
          "The host doctor found nothing wrong (%u check passed)",
          "The host doctor found nothing wrong (%u checks passed)", r->n_ok, r->n_ok);
      pd_component_set_state (c, PD_STATE_OK, text);
      return;
    }
  PdState state = worst == PD_HOST_REPORT_FAIL ? PD_STATE_FAILED : PD_STATE_DEGRADED;
  g_autofree char *fails
      = pd_i18n_nprintf ("%u failed check", "%u failed checks", r->n_fail, r->n_fail);
  g_autofree char *warns = pd_i18n_nprintf ("%u warning", "%u warnings", r->n_warn, r->n_warn);
  g_autofree char *text = NULL;
  if (r->n_fail > 0 && r->n_warn > 0)
    /* TRANSLATORS: "3 failed checks", "1 warning" */
    text = pd_i18n_sprintf ("The host doctor found %s and %s", fails, warns);
  else if (r->n_fail > 0)
    text = pd_i18n_sprintf ("The host doctor found %s", fails);
  else if (r->n_warn > 0)
    text = pd_i18n_sprintf ("The host doctor found %s", warns);
  pd_component_set_state (c, state, text ? text : N_ ("The host doctor found problems"));
}

static void
word_report (PdComponent *c, const PdGuestHostView *v)
{
  const PdHostReport *r = v->report;
  set_summary (c, r, pd_host_report_worst (r));

  if (v->host)
    pd_component_set_detail (c, PD_DETAIL_HOST, v->host->host);
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (r->time);
  g_autofree char *when = dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M") : NULL;
  if (when)
    pd_component_set_detail (c, PD_DETAIL_CHECKED, when);
  g_autofree char *findings = findings_text (r);
  pd_component_set_detail (c, PD_DETAIL_FINDINGS, findings);

  /* "vm-hookscript (VM 100), network-reset (host)": which checks, about what. */
  g_autoptr (GString) problems = g_string_new (NULL);
  guint32 vmid = v->host ? v->host->vmid : 0;
  for (guint i = 0; i < r->n_items; i++)
    {
      const PdHostReportItem *it = r->items[i];
      if (it == NULL)
        continue;
      if (problems->len)
        g_string_append (problems, ", ");
      if (it->vmid)
        g_string_append_printf (problems, "%s (VM %u)", it->check, it->vmid);
      else
        g_string_append_printf (problems, "%s (host)", it->check);
      if (vmid == 0)
        vmid = it->vmid;

      /* The host's recipes, fresh in the book for the component to take. */
      if (it->text_msg)
        pd_i18n_book_add (pd_msg_copy (it->text_msg));
      if (it->fix_msg)
        pd_i18n_book_add (pd_msg_copy (it->fix_msg));
      if (it->fix)
        {
          g_autofree char *text = pd_i18n_sprintf ("%s On the Proxmox host:", it->text);
          pd_component_add_advice (c, text, it->fix);
        }
      else
        pd_component_add_advice (c, it->text, NULL);
    }
  if (problems->len)
    pd_component_set_detail (c, PD_DETAIL_PROBLEMS, problems->str);

  GString *report = g_string_new (NULL);
  if (pd_host_report_is_complete (r))
    g_string_append (report, "complete");
  else
    g_string_append_printf (report,
                            _ ("%u of %u findings arrived before the host helper disconnected"),
                            r->n_received, r->n_items);
  if (v->state != PD_GUEST_LINK_READY)
    g_string_append (report,
                     _ ("; the host helper is not connected now, so this is its last word"));
  g_autofree char *report_text = g_string_free (report, FALSE);
  pd_component_set_detail (c, PD_DETAIL_REPORT, report_text);

  if (pd_host_report_worst (r) != PD_HOST_REPORT_OK || !pd_host_report_is_complete (r))
    {
      g_autofree char *cmd = vmid ? g_strdup_printf ("passdesk-hostd doctor %u", vmid)
                                  : g_strdup ("passdesk-hostd doctor");
      g_autofree char *text = pd_i18n_sprintf (
          "Every check and its fix: run “%s” on the Proxmox host. After fixing, "
          "“systemctl restart passdesk-hostd” there sends this VM a fresh report.",
          cmd);
      pd_component_add_advice (c, text, cmd);
    }
}

PdComponent *
pd_host_component_new (const PdGuestHostView *v)
{
  PdComponent *c = pd_component_new (PD_COMPONENT_HOST, PD_STATE_UNKNOWN, NULL);
  if (v->report)
    word_report (c, v);
  else
    word_no_report (c, v);
  return c;
}
