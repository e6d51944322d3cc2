/* vaprobe-runner.c - spawn passdesk-vaprobe with a deadline, read it bounded. */
#include "config.h"

#include "vaprobe-runner.h"
#include "pd-i18n.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void
pd_vaprobe_result_free (PdVaprobeResult *r)
{
  if (r == NULL)
    return;
  g_free (r->probe_path);
  g_free (r->stderr_tail);
  g_free (r->message);
  pd_vaprobe_report_free (r->report);
  g_free (r);
}

const char *
pd_vaprobe_result_kind_to_string (PdVaprobeResultKind kind)
{
  switch (kind)
    {
    case PD_VAPROBE_RESULT_REPORT:
      return "report";
    case PD_VAPROBE_RESULT_NOT_FOUND:
      return "not-found";
    case PD_VAPROBE_RESULT_TIMEOUT:
      return "timeout";
    case PD_VAPROBE_RESULT_CRASHED:
      return "crashed";
    case PD_VAPROBE_RESULT_FAILED:
      return "failed";
    case PD_VAPROBE_RESULT_GARBAGE:
      return "garbage";
    }
  return "unknown";
}

static gboolean
is_executable_file (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_REGULAR) && access (path, X_OK) == 0;
}

char *
pd_vaprobe_find (GError **error)
{
  const char *env = g_getenv ("PASSDESK_VAPROBE");
  if (env != NULL && env[0] != '\0')
    {
      if (is_executable_file (env))
        return g_strdup (env);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _ ("PASSDESK_VAPROBE names %s, which is not an executable file"), env);
      return NULL;
    }
  /* Our own executable, not host data: no sysroot prefix here. */
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  if (self != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self);
      g_autofree char *beside = g_build_filename (dir, "passdesk-vaprobe", NULL);
      if (is_executable_file (beside))
        return g_steal_pointer (&beside);
      /* Run from the build tree: the probe is built in its own folder. */
      if (g_str_has_prefix (self, PASSDESK_BUILDDIR "/")
          && is_executable_file (PASSDESK_BUILD_VAPROBE))
        return g_strdup (PASSDESK_BUILD_VAPROBE);
    }
  g_autofree char *installed = g_build_filename (PASSDESK_LIBEXECDIR, "passdesk-vaprobe", NULL);
  if (is_executable_file (installed))
    return g_steal_pointer (&installed);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               _ ("the VA-API probe passdesk-vaprobe is not installed in %s; reinstall passdesk"),
               PASSDESK_LIBEXECDIR);
  return NULL;
}

typedef struct
{
  GSubprocess *proc;
  pid_t pid;
  GCancellable *io_cancel; /* ends our reads when the child is killed */
  GByteArray *out;
  GByteArray *err;
  gboolean out_done, err_done, wait_done;
  gboolean timed_out, overflow, cancelled, killed, returned;
  GSource *timeout_source;
  GSource *cancel_source;
  gint64 start_us;
  guint timeout_ms;
  char *probe_path;
} Run;

static void
run_free (gpointer p)
{
  Run *run = p;
  if (run->timeout_source != NULL)
    {
      g_source_destroy (run->timeout_source);
      g_source_unref (run->timeout_source);
    }
  if (run->cancel_source != NULL)
    {
      g_source_destroy (run->cancel_source);
      g_source_unref (run->cancel_source);
    }
  g_clear_object (&run->proc);
  g_clear_object (&run->io_cancel);
  if (run->out)
    g_byte_array_unref (run->out);
  if (run->err)
    g_byte_array_unref (run->err);
  g_free (run->probe_path);
  g_free (run);
}

static void
child_setup (gpointer data)
{
  /* Own process group: the deadline kills the probe and anything it forked. */
  setpgid (0, 0);
}

/* Kills the child's whole process group (while the group can still exist). */
static void
run_kill (Run *run)
{
  if (run->proc == NULL || run->pid <= 0)
    return;
  run->killed = TRUE;
  if (kill (-run->pid, SIGKILL) != 0 && !run->wait_done)
    g_subprocess_force_exit (run->proc);
  g_cancellable_cancel (run->io_cancel);
}

static char *
utf8_tail (GByteArray *err)
{
  if (err == NULL || err->len == 0)
    return NULL;
  g_autofree char *raw = g_strndup ((const char *) err->data, err->len);
  char *valid = g_utf8_make_valid (raw, -1);
  g_strstrip (valid);
  if (valid[0] == '\0')
    {
      g_free (valid);
      return NULL;
    }
  return valid;
}

static const char *
signal_name (int sig)
{
  switch (sig)
    {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGILL:
      return "SIGILL";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGTERM:
      return "SIGTERM";
    case SIGTRAP:
      return "SIGTRAP";
    default:
      return "another signal";
    }
}

static void
run_maybe_finish (GTask *task)
{
  Run *run = g_task_get_task_data (task);
  if (!(run->wait_done && run->out_done && run->err_done))
    return;
  if (run->returned)
    return;
  run->returned = TRUE;

  if (run->timeout_source != NULL)
    {
      g_source_destroy (run->timeout_source);
      g_clear_pointer (&run->timeout_source, g_source_unref);
    }
  if (run->cancel_source != NULL)
    {
      g_source_destroy (run->cancel_source);
      g_clear_pointer (&run->cancel_source, g_source_unref);
    }

  if (run->cancelled)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "the VA-API probe was cancelled");
      return;
    }

  g_autoptr (PdVaprobeResult) r = g_new0 (PdVaprobeResult, 1);
  r->probe_path = g_strdup (run->probe_path);
  r->timeout_ms = run->timeout_ms;
  r->elapsed_ms = (g_get_monotonic_time () - run->start_us) / 1000;
  r->stderr_tail = utf8_tail (run->err);

  gboolean exited = g_subprocess_get_if_exited (run->proc);
  gboolean signaled = g_subprocess_get_if_signaled (run->proc);
  if (exited)
    r->exit_status = g_subprocess_get_exit_status (run->proc);

  if (run->timed_out)
    {
      r->kind = PD_VAPROBE_RESULT_TIMEOUT;
      if (run->timeout_ms % 1000 == 0)
        r->message = pd_i18n_sprintf ("the GPU did not answer within %u s: a GPU hang is likely",
                                      run->timeout_ms / 1000);
      else
        r->message = pd_i18n_sprintf ("the GPU did not answer within %u ms: a GPU hang is likely",
                                      run->timeout_ms);
    }
  else if (run->overflow)
    {
      r->kind = PD_VAPROBE_RESULT_GARBAGE;
      r->message = pd_i18n_sprintf ("the VA-API probe printed more than %u KiB, which is not a "
                                    "report; it was stopped",
                                    PD_VAPROBE_STDOUT_MAX / 1024);
    }
  else if (signaled)
    {
      r->kind = PD_VAPROBE_RESULT_CRASHED;
      r->signal_number = g_subprocess_get_term_sig (run->proc);
      r->message = pd_i18n_sprintf ("the VA-API probe crashed (signal %d, %s): the VA driver or "
                                    "the GPU failed while it was being used",
                                    r->signal_number, signal_name (r->signal_number));
    }
  else
    {
      g_autoptr (GError) error = NULL;
      r->report = pd_vaprobe_report_parse ((const char *) run->out->data, run->out->len, &error);
      if (r->report != NULL)
        r->kind = PD_VAPROBE_RESULT_REPORT;
      else if (r->exit_status != 0)
        {
          r->kind = PD_VAPROBE_RESULT_FAILED;
          r->message = pd_i18n_sprintf ("the VA-API probe exited with status %d without a "
                                        "report (%s)",
                                        r->exit_status, error->message);
        }
      else
        {
          r->kind = PD_VAPROBE_RESULT_GARBAGE;
          r->message
              = pd_i18n_sprintf ("the VA-API probe printed no usable report: %s", error->message);
        }
    }
  g_task_return_pointer (task, g_steal_pointer (&r), (GDestroyNotify) pd_vaprobe_result_free);
}

static void read_next (GTask *task, gboolean is_stdout);

static void
on_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Run *run = g_task_get_task_data (task);
  gboolean is_stdout = G_INPUT_STREAM (source) == g_subprocess_get_stdout_pipe (run->proc);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes
      = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, &error);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      /* EOF, a read error, or our own cancel after a kill: this stream is done. */
      if (is_stdout)
        run->out_done = TRUE;
      else
        run->err_done = TRUE;
      run_maybe_finish (task);
      return;
    }

  gsize n = 0;
  const guint8 *data = g_bytes_get_data (bytes, &n);
  if (is_stdout)
    {
      if (run->out->len + n > PD_VAPROBE_STDOUT_MAX)
        {
          run->overflow = TRUE;
          run->out_done = TRUE;
          run_kill (run);
          run_maybe_finish (task);
          return;
        }
      g_byte_array_append (run->out, data, (guint) n);
    }
  else
    {
      g_byte_array_append (run->err, data, (guint) n);
      if (run->err->len > PD_VAPROBE_STDERR_KEEP)
        g_byte_array_remove_range (run->err, 0, run->err->len - PD_VAPROBE_STDERR_KEEP);
    }
  read_next (task, is_stdout);
}

static void
read_next (GTask *task, gboolean is_stdout)
{
  Run *run = g_task_get_task_data (task);
  GInputStream *in = is_stdout ? g_subprocess_get_stdout_pipe (run->proc)
                               : g_subprocess_get_stderr_pipe (run->proc);
  g_input_stream_read_bytes_async (in, 8192, G_PRIORITY_DEFAULT, run->io_cancel, on_read,
                                   g_object_ref (task));
}

static void
on_wait (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Run *run = g_task_get_task_data (task);
  /* wait_async only fails when cancelled, and we never cancel it. */
  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  run->wait_done = TRUE;
  run_maybe_finish (task);
}

static gboolean
on_deadline (gpointer user_data)
{
  GTask *task = user_data;
  Run *run = g_task_get_task_data (task);
  g_clear_pointer (&run->timeout_source, g_source_unref);
  /* A probe that exited but left something holding its pipes open is not a
   * GPU hang; only a probe still running at the deadline is. */
  if (!run->wait_done)
    run->timed_out = TRUE;
  run_kill (run);
  return G_SOURCE_REMOVE;
}

static gboolean
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  Run *run = g_task_get_task_data (task);
  run->cancelled = TRUE;
  run_kill (run);
  return G_SOURCE_REMOVE;
}

void
pd_vaprobe_run_async (const char *device, guint timeout_ms, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  pd_vaprobe_run_env_async (device, NULL, timeout_ms, cancellable, callback, user_data);
}

void
pd_vaprobe_run_env_async (const char *device, const char *const *env, guint timeout_ms,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_vaprobe_run_async);
  /* We report cancellation ourselves, after the child is dead. */
  g_task_set_check_cancellable (task, FALSE);
  Run *run = g_new0 (Run, 1);
  g_task_set_task_data (task, run, run_free);
  run->timeout_ms = timeout_ms ? timeout_ms : PD_VAPROBE_DEFAULT_TIMEOUT_MS;
  run->start_us = g_get_monotonic_time ();
  run->out = g_byte_array_new ();
  run->err = g_byte_array_new ();
  run->io_cancel = g_cancellable_new ();

  g_autoptr (GError) error = NULL;
  run->probe_path = pd_vaprobe_find (&error);
  if (run->probe_path == NULL)
    {
      PdVaprobeResult *r = g_new0 (PdVaprobeResult, 1);
      r->kind = PD_VAPROBE_RESULT_NOT_FOUND;
      r->timeout_ms = run->timeout_ms;
      r->message = g_strdup (error->message);
      g_task_return_pointer (task, r, (GDestroyNotify) pd_vaprobe_result_free);
      return;
    }

  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, run->probe_path);
  if (device != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--device");
      g_ptr_array_add (argv, (gpointer) device);
    }
  g_ptr_array_add (argv, (gpointer) "--json");
  g_ptr_array_add (argv, NULL);

  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      const char *eq = strchr (env[i], '=');
      if (eq == NULL || eq == env[i])
        continue;
      g_autofree char *name = g_strndup (env[i], (gsize) (eq - env[i]));
      g_subprocess_launcher_setenv (launcher, name, eq + 1, TRUE);
    }
  run->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  if (run->proc == NULL)
    {
      PdVaprobeResult *r = g_new0 (PdVaprobeResult, 1);
      r->kind = PD_VAPROBE_RESULT_NOT_FOUND;
      r->probe_path = g_strdup (run->probe_path);
      r->timeout_ms = run->timeout_ms;
      r->message = pd_i18n_sprintf ("the VA-API probe %s could not be started: %s", run->probe_path,
                                    error->message);
      g_task_return_pointer (task, r, (GDestroyNotify) pd_vaprobe_result_free);
      return;
    }
  const char *ident = g_subprocess_get_identifier (run->proc);
  run->pid = ident ? (pid_t) g_ascii_strtoll (ident, NULL, 10) : 0;
  /* Also from the parent, so the group exists before any kill (the classic
   * race); fails harmlessly once the child has exec'd. */
  if (run->pid > 0)
    setpgid (run->pid, run->pid);

  run->timeout_source = g_timeout_source_new (run->timeout_ms);
  g_task_attach_source (task, run->timeout_source, on_deadline);
  if (cancellable != NULL)
    {
      run->cancel_source = g_cancellable_source_new (cancellable);
      g_task_attach_source (task, run->cancel_source, G_SOURCE_FUNC (on_cancelled));
    }

  g_subprocess_wait_async (run->proc, NULL, on_wait, g_object_ref (task));
  read_next (task, TRUE);
  read_next (task, FALSE);
}

PdVaprobeResult *
pd_vaprobe_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
