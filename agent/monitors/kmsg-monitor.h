/* kmsg-monitor.h - the live kernel log: /dev/kmsg records classified with the
 * scan-log rule table (logscan.h).
 *
 * At start the records already in the buffer (the boot log) are read once and
 * reported as history (boot_log TRUE); then new records are followed as they
 * arrive (an fd source on POLLIN, never a timer). The same parser reads a
 * FIFO (followed; reopened when its writer goes away) or a regular file (read
 * once, as history) standing in for /dev/kmsg in tests. Records are
 * "PRI,SEQ,TS_US[,FLAGS...];message" with continuation lines starting with a
 * space; other lines are scanned as pasted log text. Overwritten records
 * (EPIPE) are skipped.
 *
 * Not a PdMonitor (monitor.h): it owns no component; a finding touches the
 * components its kind's row names (logscan-rules.c), which the agent applies.
 */
#pragma once

#include <glib-object.h>
#include "logscan.h"

G_BEGIN_DECLS

#define PD_TYPE_KMSG_MONITOR (pd_kmsg_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PdKmsgMonitor, pd_kmsg_monitor, PD, KMSG_MONITOR, GObject)

/* @path: the log to read; NULL for /dev/kmsg under the sysroot prefix. */
PdKmsgMonitor *pd_kmsg_monitor_new (const char *path);

/* Opens the log, classifies what is already there (emitting "finding" with
 * boot_log TRUE) and starts following it. FALSE with @error when it cannot
 * be opened. */
gboolean pd_kmsg_monitor_start (PdKmsgMonitor *self, GError **error);

/* Records read so far (for tests and logging). */
guint64 pd_kmsg_monitor_get_n_records (PdKmsgMonitor *self);

/* Signals:
 *  "finding" (const PdLogFinding *finding, gboolean boot_log)
 *      a finding that opens a new incident (the scanner groups repeats). */

G_END_DECLS
