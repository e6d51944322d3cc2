/* hostd-qm.c - run qm with a deadline and bounded output. */
#include "hostd-qm.h"
#include "pd-i18n.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct
{
  GSubprocess *proc;
  GInputStream *out;
  GByteArray *buf;
  guint8 chunk[4096];
  GCancellable *cancel;
  guint timeout_id;
  guint grace_id;
  pid_t pgid;
  gboolean exited;
  gboolean eof;
  gboolean timed_out;
  gint64 start_us;
  PdQmCallback callback;
  gpointer user_data;
} QmRun;

void
pd_qm_result_free (PdQmResult *r)
{
  if (r == NULL)
    return;
  g_free (r->output);
  g_free (r);
}

static void
child_setup (gpointer data)
{
  /* Own process group: a timeout kills qm and everything it started. */
  setpgid (0, 0);
}

static void
run_finish (QmRun *run)
{
  if (!run->exited || !run->eof)
    return;
  g_clear_handle_id (&run->timeout_id, g_source_remove);
  g_clear_handle_id (&run->grace_id, g_source_remove);

  PdQmResult *r = g_new0 (PdQmResult, 1);
  r->elapsed_us = g_get_monotonic_time () - run->start_us;
  if (run->timed_out)
    {
      r->outcome = PD_QM_TIMED_OUT;
      r->exit_status = -1;
    }
  else
    {
      r->outcome = PD_QM_EXITED;
      if (g_subprocess_get_if_exited (run->proc))
        r->exit_status = g_subprocess_get_exit_status (run->proc);
      else if (g_subprocess_get_if_signaled (run->proc))
        r->exit_status = 128 + g_subprocess_get_term_sig (run->proc);
      else
        r->exit_status = -1;
    }
  g_byte_array_append (run->buf, (const guint8 *) "", 1);
  r->output = (char *) g_byte_array_free (run->buf, FALSE);
  run->buf = NULL;

  /* Whatever is left of the group (a grandchild that outlived qm) goes too. */
  if (run->pgid > 0)
    kill (-run->pgid, SIGKILL);

  run->callback (r, run->user_data);
  g_clear_object (&run->out);
  g_clear_object (&run->proc);
  g_clear_object (&run->cancel);
  g_free (run);
}

static gboolean
on_grace (gpointer data)
{
  /* qm ended but something still holds its output pipe: stop reading. */
  QmRun *run = data;
  run->grace_id = 0;
  g_cancellable_cancel (run->cancel);
  return G_SOURCE_REMOVE;
}

static void
on_read (GObject *src, GAsyncResult *res, gpointer data)
{
  QmRun *run = data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (src), res, &error);
  if (n <= 0)
    {
      run->eof = TRUE;
      run_finish (run);
      return;
    }
  if (run->buf->len < PD_QM_OUTPUT_MAX)
    g_byte_array_append (run->buf, run->chunk, MIN ((gsize) n, PD_QM_OUTPUT_MAX - run->buf->len));
  g_input_stream_read_async (run->out, run->chunk, sizeof run->chunk, G_PRIORITY_DEFAULT,
                             run->cancel, on_read, run);
}

static void
on_wait (GObject *src, GAsyncResult *res, gpointer data)
{
  QmRun *run = data;
  g_subprocess_wait_finish (G_SUBPROCESS (src), res, NULL);
  run->exited = TRUE;
  if (!run->eof)
    run->grace_id = g_timeout_add (run->timed_out ? 10 : 1000, on_grace, run);
  run_finish (run);
}

static gboolean
on_timeout (gpointer data)
{
  QmRun *run = data;
  run->timeout_id = 0;
  run->timed_out = TRUE;
  if (run->pgid > 0)
    kill (-run->pgid, SIGKILL);
  g_subprocess_force_exit (run->proc);
  return G_SOURCE_REMOVE;
}

static gboolean
report_spawn_failure (gpointer data)
{
  QmRun *run = data;
  PdQmResult *r = g_new0 (PdQmResult, 1);
  r->outcome = PD_QM_SPAWN_FAILED;
  r->exit_status = -1;
  g_byte_array_append (run->buf, (const guint8 *) "", 1);
  r->output = (char *) g_byte_array_free (run->buf, FALSE);
  run->callback (r, run->user_data);
  g_free (run);
  return G_SOURCE_REMOVE;
}

void
pd_qm_run (const char *qm, const char *const *args, guint timeout_ms, PdQmCallback callback,
           gpointer user_data)
{
  QmRun *run = g_new0 (QmRun, 1);
  run->callback = callback;
  run->user_data = user_data;
  run->buf = g_byte_array_new ();
  run->start_us = g_get_monotonic_time ();

  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) qm);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  /* stdin stays /dev/null: qm must never wait for input. */
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  g_autoptr (GError) error = NULL;
  run->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  if (run->proc == NULL)
    {
      g_byte_array_append (run->buf, (const guint8 *) error->message, strlen (error->message));
      /* Report from the main loop, as for a command that ran. */
      g_idle_add (report_spawn_failure, run);
      return;
    }
  const char *id = g_subprocess_get_identifier (run->proc);
  run->pgid = id ? (pid_t) g_ascii_strtoll (id, NULL, 10) : 0;
  run->cancel = g_cancellable_new ();
  run->out = g_object_ref (g_subprocess_get_stdout_pipe (run->proc));
  g_input_stream_read_async (run->out, run->chunk, sizeof run->chunk, G_PRIORITY_DEFAULT,
                             run->cancel, on_read, run);
  g_subprocess_wait_async (run->proc, NULL, on_wait, run);
  run->timeout_id = g_timeout_add (timeout_ms, on_timeout, run);
}

gboolean
pd_qm_check (const char *qm, GError **error)
{
  struct stat st;
  if (stat (qm, &st) != 0)
    {
      int e = errno;
      if (e == ENOENT)
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                     _ ("qm (%s) cannot be used: %s, so this is not a Proxmox VE host. "
                        "passdesk-hostd belongs on the Proxmox host that runs your desktop VM: "
                        "install the passdesk-hostd package there (in the VM, install the passdesk "
                        "package and use `passdesk status`). If qm lives elsewhere, set qm in the "
                        "configuration to its path."),
                     qm, g_strerror (e));
      else
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                     _ ("qm (%s) cannot be used: %s. Is this a Proxmox VE host? Set qm in the "
                        "configuration to the path of qm."),
                     qm, g_strerror (e));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   _ ("qm (%s) is not a regular file. Set qm in the configuration to the path of "
                      "qm."),
                   qm);
      return FALSE;
    }
  if (access (qm, X_OK) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                   _ ("qm (%s) cannot be executed: %s. Check its permissions (it must be "
                      "executable by root)."),
                   qm, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

char *
pd_qm_parse_status (const char *output)
{
  if (output == NULL)
    return NULL;
  g_auto (GStrv) lines = g_strsplit (output, "\n", 64);
  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];
      if (!g_str_has_prefix (l, "status: "))
        continue;
      const char *w = l + strlen ("status: ");
      gsize n = 0;
      while (g_ascii_islower (w[n]) || w[n] == '-')
        n++;
      if (n == 0 || n > 32 || (w[n] != '\0' && w[n] != '\r' && w[n] != ' '))
        continue;
      return g_strndup (w, n);
    }
  return NULL;
}

gboolean
pd_qm_output_says_locked (const char *output)
{
  return output
         && (strstr (output, "can't lock file") != NULL || strstr (output, "got timeout") != NULL
             || strstr (output, "trying to acquire lock") != NULL);
}

gboolean
pd_qm_output_says_not_running (const char *output, guint vmid)
{
  if (output == NULL)
    return FALSE;
  /* A whole line, so a longer id or other text around it does not count. */
  g_autofree char *want = g_strdup_printf ("VM %u not running", vmid);
  gsize n = strlen (want);
  for (const char *p = strstr (output, want); p; p = strstr (p + 1, want))
    if ((p == output || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\r' || p[n] == '\0'))
      return TRUE;
  return FALSE;
}

char *
pd_qm_output_summary (const char *output, gsize max)
{
  if (output == NULL || *output == '\0')
    return g_strdup ("(no output)");
  /* The last non-empty line is where qm puts its error. */
  const char *end = output + strlen (output);
  while (end > output && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
    end--;
  const char *start = end;
  while (start > output && start[-1] != '\n')
    start--;
  /* qm's and GLib's words may be translated (“Kindprozess … ausgeführt”):
   * valid UTF-8 is kept, only control characters become '?'. */
  g_autofree char *line = g_utf8_make_valid (start, end - start);
  GString *s = g_string_new (NULL);
  for (const char *p = line; *p && s->len < max; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iscntrl (c))
        g_string_append_c (s, '?');
      else
        g_string_append_unichar (s, c);
    }
  if (s->len == 0)
    g_string_append (s, "(no output)");
  return g_string_free (s, FALSE);
}
