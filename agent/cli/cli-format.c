/* cli-format.c - times, history entries, usage errors and wrapped text as the CLI prints them. */
#include "cli-format.h"
#include "pd-i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

char *
pd_cli_format_time (gint64 time_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);
  if (dt == NULL)
    return g_strdup ("?");
  return g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
}

JsonNode *
pd_cli_event_to_json (gint64 time_us, const char *kind, const char *component, const char *text)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GDateTime) sec = g_date_time_new_from_unix_utc (time_us / G_USEC_PER_SEC);
  g_autoptr (GDateTime) dt = sec ? g_date_time_add (sec, time_us % G_USEC_PER_SEC) : NULL;
  g_autofree char *iso = dt ? g_date_time_format_iso8601 (dt) : NULL;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "event");
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, iso ? iso : "");
  json_builder_set_member_name (b, "time_us");
  json_builder_add_int_value (b, time_us);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, kind);
  json_builder_set_member_name (b, "component");
  json_builder_add_string_value (b, component);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

guint
pd_cli_output_width (int fd)
{
  if (!isatty (fd))
    return 0;
  /* $COLUMNS first, as systemctl does: it lets a user (or a test under a
   * pty) choose, and it is what the shell says after a resize. */
  const char *env = g_getenv ("COLUMNS");
  guint64 cols = 0;
  if (env && g_ascii_string_to_unsigned (env, 10, 1, 10000, &cols, NULL))
    return (guint) cols;
  struct winsize ws;
  if (ioctl (fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 80;
}

static guint
char_width (gunichar c)
{
  if (g_unichar_iszerowidth (c))
    return 0;
  return g_unichar_iswide (c) ? 2 : 1;
}

guint
pd_cli_text_width (const char *text)
{
  guint w = 0;
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    w += char_width (g_utf8_get_char (p));
  return w;
}

void
pd_cli_append_wrapped (GString *out, const char *text, guint col, guint indent, guint width)
{
  if (width == 0 || width < indent + 20 || width < col + 10)
    {
      g_string_append (out, text);
      return;
    }
  /* Walk words; a word is everything up to the next space. */
  const char *p = text;
  gboolean first_word = TRUE;
  while (*p)
    {
      const char *start = p;
      while (*start == ' ')
        start++;
      if (*start == '\0')
        break;
      const char *end = start;
      guint w = 0;
      gboolean in_code = FALSE;
      while (*end && (*end != ' ' || in_code))
        {
          /* `a command` stays on one line: it is pasted as it is */
          if (*end == '`' && (in_code || strchr (end + 1, '`')))
            in_code = !in_code;
          w += char_width (g_utf8_get_char (end));
          end = g_utf8_next_char (end);
        }
      if (!first_word && col + 1 + w > width)
        {
          g_string_append_c (out, '\n');
          g_string_append_printf (out, "%*s", (int) indent, "");
          col = indent;
        }
      else if (!first_word)
        {
          g_string_append_c (out, ' ');
          col++;
        }
      g_string_append_len (out, start, end - start);
      col += w;
      first_word = FALSE;
      p = end;
    }
}

int
pd_cli_usage_error (const char *command, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (command)
    {
      fprintf (stderr, "passdesk %s: %s\n", command, msg);
      /* TRANSLATORS: after a usage error; %s is a command such as "status" */
      fprintf (stderr, _ ("Try 'passdesk %s --help'."), command);
    }
  else
    {
      fprintf (stderr, "passdesk: %s\n", msg);
      fputs (_ ("Try 'passdesk --help'."), stderr);
    }
  fputc ('\n', stderr);
  return 2;
}
