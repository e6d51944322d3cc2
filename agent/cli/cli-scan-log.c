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

typedef enum
{
  FORMAT_TEXT, /* incidents in words: kind, count, times, meaning, next step */
  FORMAT_TSV,  /* KIND<TAB>LINE<TAB>EXCERPT, one incident per line, as it is found */
  FORMAT_JSON, /* JSON lines, one object per incident, as it is found */
} Format;

/* Incidents kept per input for the text form; a log that names more gets
 * a count of the rest (memory stays bounded whatever the input). */
#define MAX_INCIDENTS 2000
/* Programs named per incident (GPU hangs: "in Xorg [766]"). */
#define MAX_PROGRAMS 4

typedef struct
{
  const PdLogKind *kind;
  char *device;
  char *excerpt; /* the first line's */
  guint first_line, last_line;
  gint64 first_us, last_us;
  PdLogClock clock;
  guint count;
  GPtrArray *programs;
} Incident;

typedef struct
{
  Format format;
  gboolean show_file; /* several inputs: say which one */
  guint columns;      /* wrap text at this width; 0: not a terminal, no wrapping */
  JsonGenerator *gen;
  guint n_found;
  /* FORMAT_TEXT, per input: */
  GPtrArray *incidents; /* Incident, in the order they opened */
  guint first_id;       /* the scanner's number of incidents[0] */
  guint dropped;
} Output;

static void
incident_free (gpointer p)
{
  Incident *i = p;
  g_free (i->device);
  g_free (i->excerpt);
  g_ptr_array_unref (i->programs);
  g_free (i);
}

/* "GPU HANG: ecode 9:1:85dffffb, in Xorg [766]", "Timedout job: ... in mpv
 * [1234]", "[drm] Xorg[766] context reset due to GPU hang": the program, or NULL. */
static char *
program_of (const char *excerpt)
{
  const char *in = g_strrstr (excerpt, " in ");
  if (in)
    {
      const char *name = in + 4;
      gsize len = strcspn (name, " [");
      if (len > 0 && len <= 64 && name[len] == ' ' && name[len + 1] == '['
          && g_ascii_isdigit (name[len + 2]))
        return g_strndup (name, len);
    }
  const char *ctx = strstr (excerpt, "] context reset");
  if (ctx)
    {
      const char *open = ctx;
      while (open > excerpt && open[-1] != '[')
        open--;
      const char *name_end = open > excerpt ? open - 1 : NULL;
      const char *name = name_end;
      while (name && name > excerpt && name[-1] != ' ')
        name--;
      if (name && name_end > name && name_end - name <= 64)
        return g_strndup (name, name_end - name);
    }
  return NULL;
}

static void
add_program (Incident *inc, const char *excerpt)
{
  g_autofree char *prog = program_of (excerpt);
  if (prog == NULL || inc->programs->len >= MAX_PROGRAMS)
    return;
  for (guint i = 0; i < inc->programs->len; i++)
    if (strcmp (inc->programs->pdata[i], prog) == 0)
      return;
  g_ptr_array_add (inc->programs, g_steal_pointer (&prog));
}

static void
record_incident (Output *o, const PdLogFinding *f)
{
  if (!f->repeat)
    {
      if (o->incidents->len == 0 && o->dropped == 0)
        o->first_id = f->incident;
      if (o->incidents->len >= MAX_INCIDENTS)
        {
          o->dropped++;
          return;
        }
      Incident *inc = g_new0 (Incident, 1);
      inc->kind = f->kind;
      inc->device = g_strdup (f->device);
      inc->excerpt = g_strdup (f->excerpt);
      inc->first_line = inc->last_line = f->line;
      inc->first_us = inc->last_us = f->timestamp_us;
      inc->clock = f->clock;
      inc->count = f->hits;
      inc->programs = g_ptr_array_new_with_free_func (g_free);
      add_program (inc, f->excerpt);
      g_ptr_array_add (o->incidents, inc);
      return;
    }
  /* Incidents are numbered in order from first_id: their index. */
  if (f->incident < o->first_id || f->incident - o->first_id >= o->incidents->len)
    return;
  Incident *inc = o->incidents->pdata[f->incident - o->first_id];
  inc->count += f->hits;
  inc->last_line = MAX (inc->last_line, f->line);
  if (f->clock == inc->clock && f->timestamp_us >= 0)
    inc->last_us = f->timestamp_us;
  add_program (inc, f->excerpt);
}

static void
print_finding (Output *o, const char *file, const PdLogFinding *f)
{
  if (o->format == FORMAT_TEXT)
    {
      if (!f->repeat)
        o->n_found++;
      record_incident (o, f);
      return;
    }
  if (f->repeat)
    return;
  o->n_found++;
  if (o->format == FORMAT_TSV)
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
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, pd_log_kind_title (f->kind));
  json_builder_set_member_name (b, "summary");
  json_builder_add_string_value (b, f->kind->summary);
  json_builder_set_member_name (b, "next_step");
  if (f->kind->next_step)
    json_builder_add_string_value (b, f->kind->next_step);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (o->gen, root);
  g_autofree char *s = json_generator_to_data (o->gen, NULL);
  printf ("%s\n", s);
}

/* A time on its clock, as people read it. */
static char *
format_stamp (PdLogClock clock, gint64 us)
{
  gint64 s = us / G_USEC_PER_SEC;
  switch (clock)
    {
    case PD_LOG_CLOCK_BOOT:
      if (us < 100 * G_USEC_PER_SEC)
        /* TRANSLATORS: when a kernel log line was written, on its since-boot clock */
        return g_strdup_printf (_ ("%.1f s after boot"), us / (double) G_USEC_PER_SEC);
      if (s < 3600)
        return g_strdup_printf (_ ("%d min %02d s after boot"), (int) (s / 60), (int) (s % 60));
      return g_strdup_printf (_ ("%d h %02d min after boot"), (int) (s / 3600),
                              (int) (s / 60 % 60));
    case PD_LOG_CLOCK_TIME_OF_DAY:
    case PD_LOG_CLOCK_HUMAN:
      {
        /* the scanner counts days from the first one seen */
        gint64 day = s / 86400, tod = s % 86400;
        g_autofree char *hms = g_strdup_printf ("%02d:%02d:%02d", (int) (tod / 3600),
                                                (int) (tod / 60 % 60), (int) (tod % 60));
        /* dmesg -H gives minutes: the seconds are an estimate */
        if (clock == PD_LOG_CLOCK_HUMAN)
          {
            /* TRANSLATORS: an estimated time of day, "about 01:03:15" */
            g_autofree char *about = g_strdup_printf (_ ("about %s"), hms);
            g_free (hms);
            hms = g_steal_pointer (&about);
          }
        if (day == 0)
          return g_steal_pointer (&hms);
        /* TRANSLATORS: a time of day on a later day of the log, "01:03:15, 1 day later" */
        return g_strdup_printf (ngettext ("%s, %d day later", "%s, %d days later", (gulong) day),
                                hms, (int) day);
      }
    case PD_LOG_CLOCK_ABSOLUTE:
      {
        g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (s);
        if (dt)
          return g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
        return g_strdup ("?");
      }
    case PD_LOG_CLOCK_NONE:
    default:
      return NULL;
    }
}

/* "2 times, 45.1 s to 72.0 s after boot (lines 10 to 15)" */
static char *
describe_span (const Incident *inc)
{
  GString *s = g_string_new (NULL);
  if (inc->count == 1)
    /* TRANSLATORS: how often an incident's lines came: "once", "3 times" */
    g_string_append (s, _ ("once"));
  else
    g_string_append_printf (s, ngettext ("%u time", "%u times", inc->count), inc->count);
  g_autofree char *first = format_stamp (inc->clock, inc->first_us);
  g_autofree char *last = format_stamp (inc->clock, inc->last_us);
  if (g_strcmp0 (first, last) == 0)
    g_clear_pointer (&last, g_free); /* within the shown precision: one time */
  if (first && last)
    {
      /* "45.1 s after boot to 72.0 s after boot" reads badly: share the tail */
      /* TRANSLATORS: the end of "45.1 s after boot" (with its leading space), left off the
       * first of two times: "45.1 s to 72.0 s after boot" */
      const char *tail = inc->clock == PD_LOG_CLOCK_BOOT ? _ (" after boot") : NULL;
      if (tail && g_str_has_suffix (first, tail))
        first[strlen (first) - strlen (tail)] = '\0';
      /* ...and "2026-11-24 01:05:00 to 01:05:30" on the same day */
      const char *last_shown = last;
      if (inc->clock == PD_LOG_CLOCK_ABSOLUTE && strlen (first) > 11
          && strncmp (first, last, 11) == 0)
        last_shown = last + 11;
      /* TRANSLATORS: after the count: ", 45.1 s to 72.0 s after boot" */
      g_string_append_printf (s, _ (", %s to %s"), first, last_shown);
    }
  else if (first)
    /* TRANSLATORS: after the count: ", at 45.1 s after boot" */
    g_string_append_printf (s, _ (", at %s"), first);
  if (inc->last_line != inc->first_line)
    g_string_append_printf (s, _ (" (lines %u to %u)"), inc->first_line, inc->last_line);
  else
    g_string_append_printf (s, _ (" (line %u)"), inc->first_line);
  return g_string_free (s, FALSE);
}

/* One paragraph, wrapped on a terminal: @indent before the first line,
 * @hang before the others. */
static void
append_para (GString *out, guint indent, guint hang, const char *text, guint columns)
{
  g_string_append_printf (out, "%*s", (int) indent, "");
  pd_terminal_append_wrapped (out, text, indent, hang, columns);
  g_string_append_c (out, '\n');
}

static void
print_incidents (Output *o, const char *file)
{
  if (o->format != FORMAT_TEXT)
    return;
  g_autoptr (GString) out = g_string_new (NULL);
  if (o->show_file)
    g_string_append_printf (out, "%s:\n", file);
  guint base = o->show_file ? 2 : 0;
  for (guint i = 0; i < o->incidents->len; i++)
    {
      const Incident *inc = o->incidents->pdata[i];
      if (out->len > 0 && !(o->show_file && i == 0))
        g_string_append_c (out, '\n');
      g_autofree char *span = describe_span (inc);
      g_autofree char *head
          = inc->device
                ? /* TRANSLATORS: an incident's heading: "GPU hang on 0000:00:02.0: 2 times, ..." */
                g_strdup_printf (_ ("%s on %s: %s"), _ (pd_log_kind_title (inc->kind)), inc->device,
                                 span)
                : g_strdup_printf (_ ("%s: %s"), _ (pd_log_kind_title (inc->kind)), span);
      append_para (out, base, base + 4, head, o->columns);
      GString *what = g_string_new (_ (inc->kind->summary));
      if (inc->programs->len > 0)
        {
          g_autoptr (GString) list = g_string_new (NULL);
          for (guint j = 0; j < inc->programs->len; j++)
            g_string_append_printf (list, "%s%s", j ? ", " : "",
                                    (const char *) inc->programs->pdata[j]);
          g_string_append_c (what, ' ');
          /* TRANSLATORS: the programs whose GPU work hung: "Programs: Xorg, mpv." */
          g_string_append_printf (
              what, ngettext ("Program: %s.", "Programs: %s.", inc->programs->len), list->str);
        }
      append_para (out, base + 2, base + 4, what->str, o->columns);
      g_string_free (what, TRUE);
      /* TRANSLATORS: followed by the kernel's own line, untranslated */
      g_autofree char *line = g_strdup_printf (_ ("Kernel log: %s"), inc->excerpt);
      append_para (out, base + 2, base + 4, line, o->columns);
      if (inc->kind->next_step)
        {
          g_autofree char *step = g_strdup_printf (_ ("What to do: %s"), _ (inc->kind->next_step));
          append_para (out, base + 2, base + 4, step, o->columns);
        }
    }
  if (o->dropped > 0)
    {
      g_string_append_printf (out, "\n%*s", (int) base, "");
      g_string_append_printf (out,
                              ngettext ("… and %u more incident (use --format=tsv for all).",
                                        "… and %u more incidents (use --format=tsv for all).",
                                        o->dropped),
                              o->dropped);
      g_string_append_c (out, '\n');
    }
  if (o->incidents->len == 0)
    g_string_append_printf (out, "%*s%s\n", (int) base, "", _ ("No known problem found."));
  fputs (out->str, stdout);
  g_ptr_array_set_size (o->incidents, 0);
  o->dropped = 0;
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
  /* counts and last times need every line of an incident */
  pd_log_scanner_set_report_repeats (s, o->format == FORMAT_TEXT);
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

static gboolean
parse_format (const char *name, Format *format)
{
  static const struct
  {
    const char *name;
    Format format;
  } names[] = { { "text", FORMAT_TEXT }, { "tsv", FORMAT_TSV }, { "json", FORMAT_JSON } };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (name, names[i].name) == 0)
      {
        *format = names[i].format;
        return TRUE;
      }
  return FALSE;
}

static void
list_patterns (void)
{
  guint n;
  const PdLogPattern *pats = pd_log_patterns (&n);
  for (guint i = 0; i < n; i++)
    {
      if (pats[i].action == PD_LOG_ACTION_NOTE_HDA)
        continue; /* finds nothing by itself */
      g_autofree char *ere = pd_log_pattern_to_ere (&pats[i]);
      printf ("%s\n", ere);
    }
}

int
pd_cli_scan_log (int argc, char **argv)
{
  gboolean json = FALSE;
  gboolean tsv = FALSE;
  g_autofree char *format_name = NULL;
  gboolean kinds = FALSE;
  gboolean patterns = FALSE;
  g_auto (GStrv) files = NULL;
  const GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_name,
      N_ ("text (terminal default), tsv (pipe default) or json"), N_ ("FORMAT") },
    { "tsv", 0, 0, G_OPTION_ARG_NONE, &tsv, N_ ("The same as --format=tsv"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("The same as --format=json (JSON lines)"), NULL },
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
      N_ ("Output: on a terminal, each incident in words (--format=text): what it is, the\n"
          "device, how often and when, what it means, the kernel's line and what to do.\n"
          "Piped or redirected, one incident per line for scripts (--format=tsv):\n"
          "KIND<TAB>LINE<TAB>EXCERPT, where LINE is the 1-based number of the first\n"
          "matching line in its file; with more than one FILE each line starts with\n"
          "FILE<TAB>. --format=json prints JSON lines with kind, line, excerpt, file (“-”\n"
          "for standard input), device (or null), component, state, title, summary and\n"
          "next_step (or null). Give --format to choose regardless of the terminal.\n\n"
          "One finding per incident: repeats of a kind about the same device (\"1-4\",\n"
          "\"0000:00:02.0\") are one incident while each follows the previous one within a\n"
          "minute; lines without timestamps, while each is within 200 lines of the previous.\n"
          "An HD-Audio codec (hdaudioC0D2) counts as its controller once the log names it.\n"
          "Logs pasted from the Proxmox host are read too: devices lost after a reset,\n"
          "memory (BAR) held by the host's framebuffer, IOMMU (DMAR) faults.\n"
          "usb.reset-loop: the same device reset 3 or more times in a row like that;\n"
          "usb.reconnect-storm: the same port disconnected and re-enumerated 3 or more times.\n"
          "Run with --list-kinds for all kinds.\n\n"
          "Exit status: 0 no problem found, 1 problems found, 2 usage error or unreadable input."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (pd_terminal_handle_help (ctx, argc, argv))
    return 0;
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

  Format format = isatty (STDOUT_FILENO) ? FORMAT_TEXT : FORMAT_TSV;
  if ((json ? 1 : 0) + (tsv ? 1 : 0) + (format_name ? 1 : 0) > 1)
    return pd_cli_usage_error ("scan-log", _ ("give one of --format, --tsv and --json"));
  if (format_name && !parse_format (format_name, &format))
    return pd_cli_usage_error ("scan-log", _ ("unknown format “%s” (text, tsv or json)"),
                               format_name);
  if (json)
    format = FORMAT_JSON;
  if (tsv)
    format = FORMAT_TSV;

  static const char *const stdin_only[] = { "-", NULL };
  const char *const *inputs = files && files[0] ? (const char *const *) files : stdin_only;
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (GPtrArray) incidents = g_ptr_array_new_with_free_func (incident_free);
  Output o = {
    .format = format,
    .show_file = g_strv_length ((char **) inputs) > 1,
    .columns = pd_terminal_width (STDOUT_FILENO),
    .gen = gen,
    .incidents = incidents,
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
      if (o.show_file && i > 0 && format == FORMAT_TEXT)
        putchar ('\n');
      print_incidents (&o, name);
    }
  fflush (stdout);
  if (failed)
    return PD_EXIT_USAGE;
  return o.n_found > 0 ? PD_EXIT_PROBLEM : PD_EXIT_OK;
}
