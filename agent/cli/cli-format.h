/* cli-format.h - how the CLI writes times, history entries and usage errors,
 * shared by its commands so all of them print alike. Wrapping for a terminal
 * is pd-terminal.h's (text a person reads is wrapped on a terminal, never in
 * a pipe). */
#pragma once

#include <json-glib/json-glib.h>

#include "pd-terminal.h"

G_BEGIN_DECLS

/* Local time "YYYY-MM-DD HH:MM:SS" of a microseconds-since-epoch time. */
char *pd_cli_format_time (gint64 time_us);
/* {"type":"event","time":ISO 8601 UTC,"time_us","kind","component","text"} */
JsonNode *pd_cli_event_to_json (gint64 time_us, const char *kind, const char *component,
                                const char *text);

/* Prints "passdesk COMMAND: MESSAGE" and "Try 'passdesk COMMAND --help'."
 * (or 'passdesk --help' when @command is NULL) on stderr; returns the usage
 * exit status (2). */
int pd_cli_usage_error (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
