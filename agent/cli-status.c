/* cli-status.c - `passdesk status [--json]`. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "checks.h"
#include "cli.h"
#include "report-table.h"

int
pd_cli_status (int argc, char **argv)
{
  gboolean json = FALSE;
  gboolean no_vaprobe = FALSE;
  int timeout_s = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the report as JSON", NULL },
    { "no-vaprobe", 0, 0, G_OPTION_ARG_NONE, &no_vaprobe,
      "Do not run the VA-API probe (leaves video acceleration unknown)", NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
      "Seconds the VA-API probe may take before it is killed (default 5)", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- check the passed-through GPU");
  g_option_context_set_summary (ctx, "Checks the passed-through GPU, its display outputs and "
                                     "hardware video acceleration,\nand prints state and advice.");
  g_option_context_set_description (ctx, "Exit status: 0 all ok, 1 something is degraded or "
                                         "failed, 2 usage error.");
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

  PdChecksOptions opts = {
    .skip_vaprobe = no_vaprobe,
    .vaprobe_timeout_ms = (guint) timeout_s * 1000,
  };
  g_autoptr (PdReport) report = pd_checks_run (&opts);

  if (json)
    {
      g_autofree char *s = pd_report_to_json_string (report, TRUE);
      printf ("%s\n", s);
    }
  else
    {
      g_autofree char *s = pd_report_format_table (report, isatty (STDOUT_FILENO));
      fputs (s, stdout);
    }
  return pd_report_overall (report) == PD_STATE_OK ? PD_EXIT_OK : PD_EXIT_PROBLEM;
}
