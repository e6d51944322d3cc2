/* cli-format.h - how the CLI writes times and history entries, shared by
 * `passdesk events` and `passdesk watch` so both print them alike. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Local time "YYYY-MM-DD HH:MM:SS" of a microseconds-since-epoch time. */
char *pd_cli_format_time (gint64 time_us);
/* {"type":"event","time":ISO 8601 UTC,"time_us","kind","component","text"} */
JsonNode *pd_cli_event_to_json (gint64 time_us, const char *kind, const char *component,
                                const char *text);

G_END_DECLS
