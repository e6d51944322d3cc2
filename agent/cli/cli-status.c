/* cli-status.c - `passdesk status [--json] [--local]`: the running agent's
 * report when one answers on the bus, in-process checks otherwise. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "agent-client.h"
#include "checks.h"
#include "cli.h"
#include "report-table.h"

/* The agent's report, or NULL (with a note on stderr when the agent exists
 * but its answer was unusable). */
static PdReport *
report_from_agent (gboolean session)
{
  PdAgentClientStatus status;
  g_autoptr (GError) error = NULL;
  g_autoptr (PdDbusAgent1) proxy = pd_agent_client_connect (session, TRUE, &status, &error);
  if (proxy == NULL)
    {
      /* No bus or no agent: the in-process checks answer, quietly. */
      g_debug ("no agent: %s", error ? error->message : "nobody owns the name");
      return NULL;
    }
  g_autofree char *json = NULL;
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), 10000);
  if (!pd_dbus_agent1_call_get_report_sync (proxy, &json, NULL, &error))
    {
      g_dbus_error_strip_remote_error (error);
      fprintf (stderr, "passdesk status: the agent did not answer (%s); checking in-process.\n",
               error->message);
      return NULL;
    }
  PdReport *report = pd_report_from_json_string (json, &error);
  if (report == NULL)
    {
      fprintf (stderr,
               "passdesk status: the agent's report is unreadable (%s); checking "
               "in-process.\n",
               error->message);
      return NULL;
    }
  g_free (report->source);
  report->source = g_strdup ("agent");
  return report;
}

int
pd_cli_status (int argc, char **argv)
{
  gboolean json = FALSE;
  gboolean no_vaprobe = FALSE;
  gboolean local = FALSE;
  gboolean session = FALSE;
  int timeout_s = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the report as JSON", NULL },
    { "local", 0, 0, G_OPTION_ARG_NONE, &local, "Check in-process even when the agent runs", NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session,
      "Ask the agent on the session bus (also PASSDESK_BUS=session)", NULL },
    { "no-vaprobe", 0, 0, G_OPTION_ARG_NONE, &no_vaprobe,
      "Do not run the VA-API probe in-process (leaves video acceleration unknown)", NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
      "Seconds the in-process VA-API probe may take before it is killed (default 5)", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- check the passed-through GPU");
  g_option_context_set_summary (ctx, "Checks the passed-through GPU, its display outputs and "
                                     "hardware video acceleration,\nand prints state and advice. "
                                     "Asks the running passdesk-agent when one answers\non the "
                                     "bus, and checks in-process otherwise; the footer says "
                                     "which.");
  g_option_context_set_description (ctx, "Exit status: 0 nothing is degraded or failed, "
                                         "1 something is degraded or failed, 2 usage error.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "passdesk status: %s\n", error->message);
      return PD_EXIT_USAGE;
    }
  if (argc > 1)
    {
      fprintf (stderr, "passdesk status: unexpected argument “%s”\n", argv[1]);
      return PD_EXIT_USAGE;
    }
  if (timeout_s < 0 || timeout_s > 600)
    {
      fprintf (stderr, "passdesk status: --timeout must be between 1 and 600 seconds\n");
      return PD_EXIT_USAGE;
    }

  g_autoptr (PdReport) report = local ? NULL : report_from_agent (session);
  if (report == NULL)
    {
      PdChecksOptions opts = {
        .skip_vaprobe = no_vaprobe,
        .vaprobe_timeout_ms = (guint) timeout_s * 1000,
      };
      report = pd_checks_run (&opts);
    }

  if (json)
    {
      g_autofree char *s = pd_report_to_json_string (report, TRUE);
      printf ("%s\n", s);
    }
  else
    {
      g_autofree char *s = pd_report_format_table (report, isatty (STDOUT_FILENO));
      fputs (s, stdout);
      if (g_strcmp0 (report->source, "agent") != 0)
        fputs ("Without the running agent, these are not checked: the kernel log (GPU hangs, "
               "HD-Audio codec timeouts, USB resets), USB faults over time and the host "
               "helper's answer. Start it with “sudo systemctl start passdesk-agent”.\n",
               stdout);
    }
  /* Unknown (e.g. a skipped probe) is not a problem: only degraded or
   * failed components make the exit status 1. */
  return pd_report_overall (report) >= PD_STATE_DEGRADED ? PD_EXIT_PROBLEM : PD_EXIT_OK;
}
