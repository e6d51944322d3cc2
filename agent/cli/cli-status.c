/* cli-status.c - `passdesk status [--json] [--local]`: the running agent's
 * report when one answers on the bus, in-process checks otherwise. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "agent-client.h"
#include "pd-i18n.h"
#include "checks.h"
#include "cli-format.h"
#include "cli.h"
#include "components-variant.h"
#include "report-table.h"

/* The agent's components worded in our language (GetComponents), or NULL
 * when the agent is older than that method. */
static PdReport *
localized_from_agent (PdDbusAgent1 *proxy)
{
  GVariantDict opts;
  g_variant_dict_init (&opts, NULL);
  g_variant_dict_insert (&opts, "locale", "s", pd_i18n_messages_locale ());
  g_autoptr (GVariant) comps = NULL;
  g_autoptr (GError) error = NULL;
  if (!pd_dbus_agent1_call_get_components_sync (proxy, g_variant_dict_end (&opts), &comps, NULL,
                                                &error))
    {
      g_debug ("GetComponents: %s", error->message);
      return NULL;
    }
  return pd_report_from_components_variant (comps, "agent");
}

/* The agent's report, or NULL (with a note on stderr when the agent exists
 * but its answer was unusable). */
static PdReport *
report_from_agent (gboolean session, gboolean json)
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
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), 10000);
  /* JSON is for programs and stays English; the table is for people. */
  if (!json)
    {
      PdReport *localized = localized_from_agent (proxy);
      if (localized != NULL)
        return localized;
    }
  g_autofree char *text = NULL;
  if (!pd_dbus_agent1_call_get_report_sync (proxy, &text, NULL, &error))
    {
      g_dbus_error_strip_remote_error (error);
      fprintf (stderr, _ ("passdesk status: the agent did not answer (%s); checking in-process.\n"),
               error->message);
      return NULL;
    }
  PdReport *report = pd_report_from_json_string (text, &error);
  if (report == NULL)
    {
      fprintf (stderr,
               _ ("passdesk status: the agent's report is unreadable (%s); checking "
                  "in-process.\n"),
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
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print the report as JSON"), NULL },
    { "local", 0, 0, G_OPTION_ARG_NONE, &local, N_ ("Check in-process even when the agent runs"),
      NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session,
      N_ ("Ask the agent on the session bus (also PASSDESK_BUS=session)"), NULL },
    { "no-vaprobe", 0, 0, G_OPTION_ARG_NONE, &no_vaprobe,
      N_ ("Do not run the VA-API probe in-process (leaves video acceleration unknown)"), NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
      N_ ("Seconds the in-process VA-API probe may take before it is killed (default 5)"),
      N_ ("S") },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (N_ ("- check the passed-through GPU"));
  g_option_context_set_summary (ctx,
                                N_ ("Checks the passed-through GPU, its display outputs and "
                                    "hardware video acceleration,\nand prints state and advice. "
                                    "Asks the running passdesk-agent when one answers\non the "
                                    "bus, and checks in-process otherwise; the footer says "
                                    "which."));
  g_option_context_set_description (ctx, N_ ("Exit status: 0 nothing is degraded or failed, "
                                             "1 something is degraded or failed, 2 usage error."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (pd_terminal_handle_help (ctx, argc, argv))
    return 0;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      return pd_cli_usage_error ("status", "%s", error->message);
    }
  if (argc > 1)
    {
      return pd_cli_usage_error ("status", _ ("unexpected argument “%s”"), argv[1]);
    }
  if (timeout_s < 0 || timeout_s > 600)
    {
      return pd_cli_usage_error ("status", _ ("--timeout must be between 1 and 600 seconds"));
    }

  g_autoptr (PdReport) report = local ? NULL : report_from_agent (session, json);
  if (report == NULL)
    {
      PdChecksOptions opts = {
        .skip_vaprobe = no_vaprobe,
        .vaprobe_timeout_ms = (guint) timeout_s * 1000,
        .start_agent = pd_agent_client_start_command (session),
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
      guint columns = pd_terminal_width (STDOUT_FILENO);
      g_autoptr (PdReport) localized = pd_report_localize (report);
      g_autofree char *s = pd_report_format_table (localized, isatty (STDOUT_FILENO), columns);
      fputs (s, stdout);
      if (g_strcmp0 (report->source, "agent") != 0)
        {
          /* the msgid keeps its newline (the catalogue has it); wrapped without */
          g_autofree char *text = g_strdup_printf (
              _ ("Without the running agent, these are not checked: the kernel log (GPU hangs, "
                 "HD-Audio codec timeouts, USB resets), USB faults over time and the host "
                 "helper's answer. Start it with “%s”.\n"),
              pd_agent_client_start_command (session));
          g_autoptr (GString) note = g_string_new (NULL);
          pd_terminal_append_wrapped (note, g_strchomp (text), 0, 0, columns);
          printf ("%s\n", note->str);
        }
    }
  /* Unknown (e.g. a skipped probe) is not a problem: only degraded or
   * failed components make the exit status 1. */
  return pd_report_overall (report) >= PD_STATE_DEGRADED ? PD_EXIT_PROBLEM : PD_EXIT_OK;
}
