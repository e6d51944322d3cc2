/* report-table.c - the human-readable status table. */
#include "report-table.h"

#include "cli-format.h"
#include "detail-keys.h"

#include <string.h>

#include "pd-i18n.h"

/* The state as people read it in the table. */
static const char *
state_label (PdState s)
{
  switch (s)
    {
    case PD_STATE_OK:
      /* TRANSLATORS: a component's state in `passdesk status` */
      return _ ("ok");
    case PD_STATE_DEGRADED:
      /* TRANSLATORS: a component's state in `passdesk status` */
      return _ ("degraded");
    case PD_STATE_FAILED:
      /* TRANSLATORS: a component's state in `passdesk status` */
      return _ ("failed");
    case PD_STATE_UNKNOWN:
    default:
      /* TRANSLATORS: a component's state in `passdesk status` */
      return _ ("unknown");
    }
}

/* @text padded with spaces to @width characters (not bytes: translations
 * carry umlauts). */
static void
append_padded (GString *out, const char *text, int width)
{
  g_string_append (out, text);
  for (long n = (long) g_utf8_strlen (text, -1); n < width; n++)
    g_string_append_c (out, ' ');
}

static int
state_width (void)
{
  int w = 0;
  for (PdState s = PD_STATE_OK; s <= PD_STATE_FAILED; s++)
    w = MAX (w, (int) g_utf8_strlen (state_label (s), -1));
  return w;
}

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
  if (color)
    g_string_append (out, state_color (s));
  append_padded (out, state_label (s), MAX (9, state_width ()));
  if (color)
    g_string_append (out, "\033[0m");
}

char *
pd_report_format_table (const PdReport *report, gboolean color, guint columns)
{
  GString *out = g_string_new (NULL);
  int width = 0;

  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    if (report->components[i])
      width = MAX (width, (int) g_utf8_strlen (pd_component_title_localized (i), -1));
  /* TRANSLATORS: column headings of `passdesk status`, in capitals */
  const char *h_component = _ ("COMPONENT"), *h_state = _ ("STATE"), *h_summary = _ ("SUMMARY");
  width = MAX (width, (int) g_utf8_strlen (h_component, -1));

  append_padded (out, h_component, width);
  g_string_append (out, "  ");
  append_padded (out, h_state, MAX (9, state_width ()));
  g_string_append_printf (out, "  %s\n", h_summary);
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      const PdComponent *c = report->components[i];
      if (c == NULL)
        continue;
      append_padded (out, pd_component_title_localized (c->id), width);
      g_string_append (out, "  ");
      append_state (out, c->state, color);
      g_string_append (out, "  ");
      /* Wrapped lines of the summary line up under its first word. */
      guint col = width + 2 + MAX (9, state_width ()) + 2;
      pd_terminal_append_wrapped (out, c->summary, col, col, columns);
      g_string_append_c (out, '\n');
      /* What the user should know before acting (what Restart will do). */
      for (guint j = 0; j < c->details->len; j++)
        {
          const PdDetail *d = g_ptr_array_index (c->details, j);
          if (pd_detail_key_is_status_line (d->key))
            {
              g_string_append_printf (out, "%*s", col, "");
              pd_terminal_append_wrapped (out, d->value, col, col, columns);
              g_string_append_c (out, '\n');
            }
        }
      for (guint j = 0; j < c->advice->len; j++)
        {
          const PdAdvice *a = g_ptr_array_index (c->advice, j);
          g_string_append_printf (out, "%*s  -> ", width, "");
          pd_terminal_append_wrapped (out, a->text, width + 5, width + 5, columns);
          g_string_append_c (out, '\n');
          if (a->command)
            {
              /* Multi-line commands keep their own lines, indented alike. */
              g_auto (GStrv) lines = g_strsplit (a->command, "\n", -1);
              for (guint k = 0; lines[k]; k++)
                g_string_append_printf (out, "%*s       %s\n", width, "", lines[k]);
            }
        }
    }
  /* TRANSLATORS: the table's last line starts "Overall: degraded (checked by the agent)" */
  g_string_append_printf (out, "\n%s ", _ ("Overall:"));
  /* the state unpadded: nothing follows it in its column */
  PdState overall = pd_report_overall (report);
  if (color)
    g_string_append_printf (out, "%s%s\033[0m", state_color (overall), state_label (overall));
  else
    g_string_append (out, state_label (overall));
  if (g_strcmp0 (report->source, "agent") == 0)
    g_string_append_printf (out, " %s\n", _ ("(checked agent)"));
  else if (g_strcmp0 (report->source, "in-process") == 0)
    g_string_append_printf (out, " %s\n", _ ("(checked in-process)"));
  else
    g_string_append_printf (out, " (%s)\n", report->source);
  return g_string_free (out, FALSE);
}
