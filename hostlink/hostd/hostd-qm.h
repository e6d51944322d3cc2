/* hostd-qm.h - run one `qm` command: argv (no shell), a deadline, bounded output.
 *
 * The child runs in its own process group; when the deadline passes the
 * whole group is killed (SIGKILL), so a hanging qm, or a child of it that
 * holds the output pipe, never holds the caller. Output (stdout and stderr
 * merged) is kept up to PD_QM_OUTPUT_MAX bytes; the rest is read and dropped.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PD_QM_OUTPUT_MAX (64 * 1024)

typedef enum
{
  PD_QM_EXITED,      /* ran to its end: see exit_status */
  PD_QM_TIMED_OUT,   /* killed at the deadline */
  PD_QM_SPAWN_FAILED /* could not be started: see output for the reason */
} PdQmOutcome;

typedef struct
{
  PdQmOutcome outcome;
  int exit_status; /* exit code, or 128+signal when killed by a signal */
  char *output;    /* NUL-terminated; may hold any bytes (garbage) up to the cap */
  gint64 elapsed_us;
} PdQmResult;

void pd_qm_result_free (PdQmResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdQmResult, pd_qm_result_free)

/* Runs @qm with @args (NULL-terminated, not including argv[0]). Calls
 * @callback on the thread-default main context when the command has ended,
 * was killed, or could not start; it always gets a result. */
typedef void (*PdQmCallback) (PdQmResult *result, gpointer user_data);
void pd_qm_run (const char *qm, const char *const *args, guint timeout_ms, PdQmCallback callback,
                gpointer user_data);

/* Whether @qm can be run: an existing regular file this process may execute.
 * FALSE with a sentence naming the path, the cause and the fix otherwise.
 * Checked at start, by check-config and before each RESTART is accepted. */
gboolean pd_qm_check (const char *qm, GError **error);

/* `qm status` output → "running", "stopped", ... or NULL when it holds no
 * well-formed "status: WORD" line. */
char *pd_qm_parse_status (const char *output);
/* Whether output of a failed `qm start` says the VM config lock was held. */
gboolean pd_qm_output_says_locked (const char *output);
/* Whether qm's output has the line qemu-server prints for a VM whose QEMU
 * is gone: "VM <vmid> not running" (PVE::QemuServer::Monitor::qmp_cmd, which
 * `qm shutdown` reaches through vm_is_paused, and the API's own checks). */
gboolean pd_qm_output_says_not_running (const char *output, guint vmid);
/* A short printable summary of @output for logs and messages (last line,
 * control bytes replaced, at most @max chars). */
char *pd_qm_output_summary (const char *output, gsize max);

G_END_DECLS
