/* vaprobe-runner.h - runs passdesk-vaprobe as a child with a deadline.
 *
 * The child gets its own process group; when the deadline passes (or the
 * caller cancels) the whole group is killed with SIGKILL, so a probe stuck
 * in a hung GPU, or anything it started, cannot outlive the deadline.
 * stdout is read up to 64 KiB (more is treated as garbage and the child is
 * killed), stderr's last 4 KiB are kept. Nothing blocks the caller's main
 * context: everything is event-driven on the thread-default context of the
 * caller of pd_vaprobe_run_async().
 *
 * The probe executable is, in this order: $PASSDESK_VAPROBE; passdesk-vaprobe
 * next to the running executable; for an executable run from the build tree,
 * build/agent/vaprobe/passdesk-vaprobe; PASSDESK_LIBEXECDIR/passdesk-vaprobe.
 */
#pragma once

#include <gio/gio.h>

#include "vaprobe-report.h"

G_BEGIN_DECLS

/* The probe's deadline unless the caller gives one. */
#define PD_VAPROBE_DEFAULT_TIMEOUT_MS 5000
#define PD_VAPROBE_STDOUT_MAX (64u * 1024)
#define PD_VAPROBE_STDERR_KEEP (4u * 1024)

typedef enum
{
  PD_VAPROBE_RESULT_REPORT = 0, /* the probe printed a valid report (see report->status) */
  PD_VAPROBE_RESULT_NOT_FOUND,  /* the probe could not be started */
  PD_VAPROBE_RESULT_TIMEOUT,    /* killed at the deadline */
  PD_VAPROBE_RESULT_CRASHED,    /* died from a signal */
  PD_VAPROBE_RESULT_FAILED,     /* exited non-zero without a valid report */
  PD_VAPROBE_RESULT_GARBAGE,    /* exited 0 (or overflowed) without a valid report */
} PdVaprobeResultKind;

typedef struct
{
  PdVaprobeResultKind kind;
  char *probe_path;  /* what was run (or looked for) */
  int exit_status;   /* when it exited */
  int signal_number; /* CRASHED: the signal */
  guint timeout_ms;
  gint64 elapsed_ms;       /* start to end as the parent saw it */
  char *stderr_tail;       /* last PD_VAPROBE_STDERR_KEEP bytes of stderr, valid UTF-8 */
  char *message;           /* a sentence naming what happened (not for REPORT) */
  PdVaprobeReport *report; /* REPORT only */
} PdVaprobeResult;

void pd_vaprobe_result_free (PdVaprobeResult *r);
const char *pd_vaprobe_result_kind_to_string (PdVaprobeResultKind kind);

/* The probe to run; NULL with @error when none is found. */
char *pd_vaprobe_find (GError **error);

/* @device: the render node to probe ("/dev/dri/renderD128"), or NULL for the
 * probe's default. @timeout_ms 0 means PD_VAPROBE_DEFAULT_TIMEOUT_MS. Safe to
 * call while another run is in flight (each run owns its state). */
void pd_vaprobe_run_async (const char *device, guint timeout_ms, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
/* The same with @env: extra "NAME=VALUE" entries (NULL-terminated, or NULL)
 * set in the probe's environment, e.g. the LIBVA_DRIVER_NAME the desktop
 * session gets from /etc/environment. */
void pd_vaprobe_run_env_async (const char *device, const char *const *env, guint timeout_ms,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);
/* Always a result, except G_IO_ERROR_CANCELLED when @cancellable fired (the
 * child is killed then too). */
PdVaprobeResult *pd_vaprobe_run_finish (GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdVaprobeResult, pd_vaprobe_result_free)

G_END_DECLS
