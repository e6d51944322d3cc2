/* cli-format.h - how the CLI writes times, history entries, usage errors and
 * text for a terminal, shared by its commands so all of them print alike.
 *
 * Terminal width: text a person reads (status summaries and advice, scan-log's
 * incidents) is wrapped to the terminal's width when standard output is a
 * terminal ($COLUMNS, else the terminal's size, else 80 columns, as
 * systemctl does). Pipes and files get one record per line, never wrapped, so
 * `grep` and scripts see whole sentences. Commands are never wrapped: a
 * wrapped command line cannot be pasted. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Local time "YYYY-MM-DD HH:MM:SS" of a microseconds-since-epoch time. */
char *pd_cli_format_time (gint64 time_us);
/* {"type":"event","time":ISO 8601 UTC,"time_us","kind","component","text"} */
JsonNode *pd_cli_event_to_json (gint64 time_us, const char *kind, const char *component,
                                const char *text);

/* Columns to wrap at on @fd: 0 (no wrapping) when @fd is not a terminal. */
guint pd_cli_output_width (int fd);

/* Appends @text wrapped at @width columns: the first line goes on from
 * column @col (already written), later lines start with @indent spaces.
 * Breaks at spaces; a word longer than the room stays whole. @width 0, or
 * too little room (under 20 columns), appends @text as it is. */
void pd_cli_append_wrapped (GString *out, const char *text, guint col, guint indent, guint width);

/* Display columns of UTF-8 @text (wide characters count two). */
guint pd_cli_text_width (const char *text);

/* Prints "passdesk COMMAND: MESSAGE" and "Try 'passdesk COMMAND --help'."
 * (or 'passdesk --help' when @command is NULL) on stderr; returns the usage
 * exit status (2). */
int pd_cli_usage_error (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
