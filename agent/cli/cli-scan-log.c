/* cli-scan-log.c - `passdesk scan-log [--json] [FILE...]`: known problems in a pasted kernel log.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "cli-format.h"
#include "cli.h"
#include "logscan-rules.h"
#include "pd-i18n.h"
#include "logscan.h"

/* Big reads: a 200 MB log should cost a few hundred read () calls. */
#define READ_CHUNK (1024 * 1024)

typedef struct
{
  gboolean json;
  gboolean show_file; /* several inputs: say which one */
  JsonGenerator *gen;
  guint n_found;
} Output;

static void
print_finding (Output *o, const char *file, const PdLogFinding *f)
{
  o->n_found++;
  if (!o->json)
    {
      if (o->show_file)
        printf ("%s\t", file);
      printf ("%s\t%u\t%s\n", f->kind->kind, f->line, f->excerpt);
      return;
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, f->kind->kind);
  json_builder_set_member_name (b, "line");
  json_builder_add_int_value (b, f->line);
  json_builder_set_member_name (b, "excerpt");
  json_builder_add_string_value (b, f->excerpt);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, file);
  json_builder_set_member_name (b, "device");
  if (f->device)
    json_builder_add_string_value (b, f->device);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "component");
  json_builder_add_string_value (b, pd_component_id_to_string (f->kind->component));
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, pd_state_to_string (f->kind->state));
  json_builder_set_member_name (b, "summary");
  json_builder_add_string_value (b, f->kind->summary);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (o->gen, root);
  g_autofree char *s = json_generator_to_data (o->gen, NULL);
  printf ("%s\n", s);
}

static void
feed (PdLogScanner *s, Output *o, const char *file, const char *line, gsize len, guint lineno)
{
  g_autoptr (GPtrArray) found = pd_log_scanner_feed_line (s, line, len, lineno);
  if (found)
    for (guint i = 0; i < found->len; i++)
      print_finding (o, file, found->pdata[i]);
}

/* Scans one input; FALSE with @error when it cannot be read. */
static gboolean
scan_fd (int fd, const char *file, Output *o, char *buf, GError **error)
{
  g_autoptr (PdLogScanner) s = pd_log_scanner_new ();
  gsize fill = 0;
  guint lineno = 0;
  gboolean skipping = FALSE; /* inside the rest of an over-long line */

  for (;;)
    {
      gssize r = read (fd, buf + fill, READ_CHUNK - fill);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("cannot read %s: %s"),
                       file, g_strerror (saved));
          return FALSE;
        }
      if (r == 0)
        break;
      fill += r;

      gsize start = 0;
      const char *nl;
      while ((nl = memchr (buf + start, '\n', fill - start)) != NULL)
        {
          if (skipping)
            skipping = FALSE;
          else
            feed (s, o, file, buf + start, nl - buf - start, ++lineno);
          start = nl - buf + 1;
        }
      if (start == 0 && fill == READ_CHUNK)
        {
          /* No newline in a whole chunk: scan its start, drop the rest. */
          if (!skipping)
            feed (s, o, file, buf, fill, ++lineno);
          skipping = TRUE;
          fill = 0;
        }
      else
        {
          memmove (buf, buf + start, fill - start);
          fill -= start;
        }
    }
  if (fill > 0 && !skipping)
    feed (s, o, file, buf, fill, ++lineno);
  return TRUE;
}

static void
list_kinds (void)
{
  guint n;
  const PdLogKind *kinds = pd_log_kinds (&n);
  for (guint i = 0; i < n; i++)
    printf ("%-26s %-8s %-9s %s\n", kinds[i].kind, pd_component_id_to_string (kinds[i].component),
            pd_state_to_string (kinds[i].state), _ (kinds[i].summary));
}

static void
list_patterns (void)
{
  guint n;
  const PdLogPattern *pats = pd_log_patterns (&n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *ere = pd_log_pattern_to_ere (&pats[i]);
      printf ("%s\n", ere);
    }
}

int
pd_cli_scan_log (int argc, char **argv)
{
  gboolean json = FALSE;
  gboolean kinds = FALSE;
  gboolean patterns = FALSE;
  g_auto (GStrv) files = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print one JSON object per finding (JSON lines)"),
      NULL },
    { "list-kinds", 0, 0, G_OPTION_ARG_NONE, &kinds,
      N_ ("List the kinds of problem found, with component, state and meaning"), NULL },
    { "list-patterns", 0, 0, G_OPTION_ARG_NONE, &patterns,
      N_ ("Print the rules as extended regexes, one per line (for grep -E -f)"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "[FILE…]" },
    { NULL },
  };
  g_set_prgname ("passdesk scan-log"); /* for the "Usage:" line */
  g_autoptr (GOptionContext) ctx
      = g_option_context_new (N_ ("- find known problems in a kernel log"));
  g_option_context_set_summary (
      ctx,
      N_ ("Reads kernel logs as people paste them and reports known GPU, display, USB, audio\n"
          "and VFIO problems. Reads standard input when no FILE is given or FILE is “-”.\n\n"
          "Accepted line formats (mixed freely): dmesg “[   12.345678] msg”; dmesg -T\n"
          "“[Tue Nov 24 01:03:17 2026] msg” (dates in any language); dmesg -H “[Nov24 01:03] msg”\n"
          "and “[  +0.000123] msg”; journalctl and syslog/kern.log “Nov 24 01:03:17 host kernel:\n"
          "msg”, ISO “2026-11-24T01:03:17+0000 host kernel: msg”, “[   12.345678] host kernel:\n"
          "msg”; “<N>” priority prefixes; lines without timestamps; a cut first line.\n"
          "Lines longer than 4096 bytes are scanned up to there; CRLF and invalid UTF-8 are "
          "fine."));
  g_option_context_set_description (
      ctx,
      N_ ("Output: one finding per line, KIND<TAB>LINE<TAB>EXCERPT, where LINE is the 1-based\n"
          "number of the first matching line in its file. With more than one FILE each line\n"
          "starts with FILE<TAB>. --json prints JSON lines with kind, line, excerpt, file\n"
          "(“-” for standard input), device (or null), component, state and summary.\n\n"
          "One finding per incident: repeats of a kind about the same device (\"1-4\",\n"
          "\"0000:00:02.0\") are one incident while each follows the previous one within a\n"
          "minute; lines without timestamps, while each is within 200 lines of the previous.\n"
          "usb.reset-loop: the same device reset 3 or more times in a row like that;\n"
          "usb.reconnect-storm: the same port disconnected and re-enumerated 3 or more times.\n"
          "Run with --list-kinds for all kinds.\n\n"
          "Exit status: 0 no problem found, 1 problems found, 2 usage error or unreadable input."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      return pd_cli_usage_error ("scan-log", "%s", error->message);
    }
  if (kinds || patterns)
    {
      if (kinds)
        list_kinds ();
      if (patterns)
        list_patterns ();
      return PD_EXIT_OK;
    }

  static const char *const stdin_only[] = { "-", NULL };
  const char *const *inputs = files && files[0] ? (const char *const *) files : stdin_only;
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  Output o = {
    .json = json,
    .show_file = g_strv_length ((char **) inputs) > 1,
    .gen = gen,
  };
  g_autofree char *buf = g_malloc (READ_CHUNK);
  gboolean failed = FALSE;

  for (guint i = 0; inputs[i]; i++)
    {
      const char *name = inputs[i];
      gboolean is_stdin = strcmp (name, "-") == 0;
      if (is_stdin && isatty (STDIN_FILENO))
        fprintf (stderr, _ ("passdesk scan-log: reading a kernel log from the terminal; paste it, "
                            "then press Ctrl-D (or give a FILE).\n"));
      int fd = is_stdin ? STDIN_FILENO : g_open (name, O_RDONLY | O_CLOEXEC, 0);
      if (fd < 0)
        {
          int saved = errno;
          fprintf (stderr,
                   _ ("passdesk scan-log: cannot open %s: %s. Check the path and that you "
                      "may read it.\n"),
                   name, g_strerror (saved));
          failed = TRUE;
          continue;
        }
      g_autoptr (GError) read_error = NULL;
      if (!scan_fd (fd, name, &o, buf, &read_error))
        {
          fprintf (stderr,
                   _ ("passdesk scan-log: %s. Give a kernel log file or “-” for standard "
                      "input.\n"),
                   read_error->message);
          failed = TRUE;
        }
      if (!is_stdin)
        close (fd);
    }
  fflush (stdout);
  if (failed)
    return PD_EXIT_USAGE;
  return o.n_found > 0 ? PD_EXIT_PROBLEM : PD_EXIT_OK;
}
