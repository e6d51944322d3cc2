/* report-table.h - the human-readable form of a report, as `passdesk status`
 * prints it. */
#pragma once

#include "health.h"

G_BEGIN_DECLS

/* One line per component (title, state, summary), each advice item below
 * it with its command on a line of its own. @color adds ANSI colours.
 * @columns > 0 wraps summaries and advice to that width, continued lines
 * indented under their first word (commands stay whole); 0: one line each. */
char *pd_report_format_table (const PdReport *report, gboolean color, guint columns);

G_END_DECLS
