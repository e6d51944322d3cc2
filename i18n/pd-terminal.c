/* pd-terminal.c - wrapping text for a terminal; see pd-terminal.h. */
#include "pd-terminal.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

guint
pd_terminal_width (int fd)
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
pd_terminal_text_width (const char *text)
{
  guint w = 0;
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    w += char_width (g_utf8_get_char (p));
  return w;
}

void
pd_terminal_append_wrapped (GString *out, const char *text, guint col, guint indent, guint width)
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

/* The column where a help line's text starts after its label: after the
 * first gap of two or more spaces that follows the leading indent ("  -c,
 * --config=FILE   Configuration file", "  run (default)   serve ..."); the
 * leading indent itself for plain text. */
static guint
help_text_column (const char *line, const char **text)
{
  const char *p = line;
  while (*p == ' ')
    p++;
  const char *label = p;
  if (p != line)
    for (const char *q = label; *q; q++)
      if (q[0] == ' ' && q[1] == ' ')
        {
          const char *t = q;
          while (*t == ' ')
            t++;
          if (*t == '\0')
            break;
          *text = t;
          g_autofree char *head = g_strndup (line, (gsize) (t - line));
          return pd_terminal_text_width (head);
        }
  *text = label;
  g_autofree char *head = g_strndup (line, (gsize) (label - line));
  return pd_terminal_text_width (head);
}

static guint
leading_spaces (const char *line)
{
  guint n = 0;
  while (line[n] == ' ')
    n++;
  return n;
}

char *
pd_terminal_wrap_help (const char *help, guint width)
{
  GString *out = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (help, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (i > 0)
        g_string_append_c (out, '\n');
      if (*lines[i] == '\0')
        continue; /* a blank line between sections stays one */
      const char *text = lines[i];
      guint col = help_text_column (lines[i], &text);
      /* An item: its first line and the lines continuing its text at the
       * same column (a hand-wrapped description). Reflowed only when one of
       * them is too wide, so a layout that fits stays as it was written. */
      guint end = i + 1;
      gboolean too_wide = pd_terminal_text_width (lines[i]) > width;
      while (lines[end] && *lines[end] && leading_spaces (lines[end]) == col)
        {
          const char *t = NULL;
          if (help_text_column (lines[end], &t) != col)
            break; /* a new label at the text's column */
          too_wide |= pd_terminal_text_width (lines[end]) > width;
          end++;
        }
      if (width == 0 || !too_wide)
        {
          for (guint k = i; k < end; k++)
            g_string_append_printf (out, k > i ? "\n%s" : "%s", lines[k]);
          i = end - 1;
          continue;
        }
      g_autoptr (GString) item = g_string_new (text);
      for (guint k = i + 1; k < end; k++)
        g_string_append_printf (item, " %s", lines[k] + col);
      g_string_append_len (out, lines[i], text - lines[i]);
      pd_terminal_append_wrapped (out, item->str, col, col, width);
      i = end - 1;
    }
  return g_string_free (out, FALSE);
}

gboolean
pd_terminal_handle_help (GOptionContext *ctx, int argc, char **argv)
{
  gboolean asked = FALSE;
  for (int i = 1; i < argc && argv[i]; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        break;
      if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "-?") == 0
          || strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "--help-all") == 0)
        asked = TRUE;
    }
  if (!asked)
    return FALSE;
  if (g_get_prgname () == NULL && argc > 0 && argv[0])
    {
      g_autofree char *base = g_path_get_basename (argv[0]);
      g_set_prgname (base);
    }
  guint width = pd_terminal_width (STDOUT_FILENO);
  g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
  g_autofree char *wrapped = pd_terminal_wrap_help (help, width ? width : 80);
  fputs (wrapped, stdout);
  return TRUE;
}
