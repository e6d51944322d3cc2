/* report-table.c - the human-readable status table. */
#include "report-table.h"

#include <string.h>

static const char *
state_color (PdState s)
{
  switch (s)
    {
    case PD_STATE_OK:
      return "\033[32m";
    case PD_STATE_DEGRADED:
      return "\033[33m";
    case PD_STATE_FAILED:
      return "\033[1;31m";
    case PD_STATE_UNKNOWN:
    default:
      return "\033[2m";
    }
}

static void
append_state (GString *out, PdState s, gboolean color)
{
  const char *name = pd_state_to_string (s);
  if (color)
    g_string_append_printf (out, "%s%-9s\033[0m", state_color (s), name);
  else
    g_string_append_printf (out, "%-9s", name);
}

char *
pd_report_format_table (const PdReport *report, gboolean color)
{
  GString *out = g_string_new (NULL);
  int width = 0;

  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (report->components[i])
      width = MAX (width, (int) strlen (pd_component_title (i)));

  g_string_append_printf (out, "%-*s  %-9s  %s\n", width, "COMPONENT", "STATE", "SUMMARY");
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      const PdComponent *c = report->components[i];
      if (c == NULL)
        continue;
      g_string_append_printf (out, "%-*s  ", width, pd_component_title (c->id));
      append_state (out, c->state, color);
      g_string_append_printf (out, "  %s\n", c->summary);
      for (guint j = 0; j < c->advice->len; j++)
        {
          const PdAdvice *a = g_ptr_array_index (c->advice, j);
          g_string_append_printf (out, "%*s  -> %s\n", width, "", a->text);
          if (a->command)
            {
              /* Multi-line commands keep their own lines, indented alike. */
              g_auto (GStrv) lines = g_strsplit (a->command, "\n", -1);
              for (guint k = 0; lines[k]; k++)
                g_string_append_printf (out, "%*s       %s\n", width, "", lines[k]);
            }
        }
    }
  g_string_append (out, "\nOverall: ");
  append_state (out, pd_report_overall (report), color);
  g_string_truncate (out, strlen (g_strchomp (out->str)));
  g_string_append_printf (out, " (checked %s)\n", report->source);
  return g_string_free (out, FALSE);
}
