/* fuzz-hostd-conn.c - libFuzzer target for passdesk-hostd's per-connection
 * state machine (hostlink/hostd/hostd-conn.c), the part that eats guest bytes.
 *
 * Input: byte 0 picks the host's view (enabled, a cycle running, rate budget
 * spent, whether starting a cycle fails), byte 1 the chunk size; the rest is
 * what the guest sends, fed in chunks with the clock moving on. A chunk that
 * starts with 0xFF also injects a PROGRESS and a re-HELLO from the host side.
 * The doctor has findings (long, non-ASCII), sent as HOST-REPORT to a guest
 * that answers READY proto=2.
 * Mode bit 64: a CANCEL comes too late; bit 128: bytes are fed a few lines
 * at a time (pd_hostd_conn_feed_some), as a link under its budget does.
 * Checked: every line the host writes decodes and is a host verb; the output
 * stays bounded; a cycle is only started after the handshake, when policy,
 * rate limits and "no cycle running" allow it, and with a cool-off in range. */
#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "hostd-conn.h"
#include "hostd-doctor.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  PdHostdConn *conn;
  guint8 mode;
  gboolean cycle_running;
  guint32 cycle_request;
  PdCycleResult last;
  GPtrArray *findings;
} Fake;

static void
fake_view (gpointer data, PdHostdView *v)
{
  Fake *f = data;
  v->host_name = "pve";
  v->vmid = 100;
  v->policy.enabled = !(f->mode & 1);
  v->policy.cool_off = 10;
  v->policy.cool_off_min = 5;
  v->policy.cool_off_max = 120;
  v->policy.shutdown_timeout = 180;
  v->policy.min_interval = 300;
  v->policy.max_per_day = 6;
  v->rate_left = (f->mode & 4) ? 0 : 6;
  v->next_allowed_in = (f->mode & 4) ? 250 : 0;
  v->cycle = f->cycle_running ? "shutting-down" : "idle";
  v->vm_state = "running";
  v->last = (f->mode & 16) ? &f->last : NULL;
}

static gboolean
fake_restart (gpointer data, guint32 id, guint cool_off, const char *reason, gboolean reboot,
              char **why)
{
  Fake *f = data;
  g_assert_true (pd_hostd_conn_is_ready (f->conn));
  g_assert_false (f->mode & 1);
  g_assert_false (f->mode & 4);
  g_assert_false (f->cycle_running);
  g_assert_cmpuint (cool_off, >=, 5);
  g_assert_cmpuint (cool_off, <=, 120);
  g_assert_nonnull (reason);
  if (f->mode & 8)
    {
      *why = g_strdup ("The state file cannot be written.");
      return FALSE;
    }
  f->cycle_running = TRUE;
  f->cycle_request = id;
  return TRUE;
}

static GPtrArray *
fake_report (gpointer data, gint64 *when)
{
  Fake *f = data;
  *when = 1795999999;
  return f->findings;
}

static void
add_finding (GPtrArray *a, PdDoctorState state, const char *text, const char *fix)
{
  PdDoctorFinding *x = g_new0 (PdDoctorFinding, 1);
  x->check = g_strdup ("vm-hookscript");
  x->vmid = 100;
  x->state = state;
  x->text = g_strdup (text);
  x->fix = g_strdup (fix);
  g_ptr_array_add (a, x);
}

static PdHostdCancelResult
fake_cancel (gpointer data, guint32 id)
{
  Fake *f = data;
  g_assert_cmpuint (id, !=, 0);
  if (!f->cycle_running || id != f->cycle_request)
    return PD_HOSTD_CANCEL_UNKNOWN;
  /* Mode bit 64: the shutdown has started. */
  if (f->mode & 64)
    return PD_HOSTD_CANCEL_TOO_LATE;
  f->cycle_running = FALSE;
  return PD_HOSTD_CANCEL_CANCELLED;
}

static const PdHostdConnOps ops = {
  .view = fake_view,
  .restart = fake_restart,
  .report = fake_report,
  .cancel = fake_cancel,
};

static void
check_output (GString *out, gsize *checked)
{
  while (*checked < out->len)
    {
      const char *start = out->str + *checked;
      const char *nl = memchr (start, '\n', out->len - *checked);
      g_assert_nonnull (nl);
      gsize len = (gsize) (nl - start);
      g_assert_cmpuint (len + 1, <=, PD_HL_MAX_LINE);
      *checked += len + 1;
      if (len == 0)
        continue; /* the resync LF */
      g_autoptr (GError) error = NULL;
      g_autoptr (PdHlMessage) m = pd_hl_decode (start, len, NULL, &error);
      if (m == NULL)
        g_error ("host wrote a line that does not decode (%s): %.*s", error->message, (int) len,
                 start);
      g_assert_true (pd_hl_verb_sent_by_host (m->verb));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  Fake f = { .mode = data[0] };
  f.last = (PdCycleResult){ .vmid = 100,
                            .ok = FALSE,
                            .step = (char *) "start",
                            .message = (char *) "The VM could not be started: qm start failed "
                                                "with exit status 255 (can't lock file).",
                            .started = G_GINT64_CONSTANT (1795999999) * G_USEC_PER_SEC,
                            .duration_ms = 61000 };
  f.findings = g_ptr_array_new_with_free_func ((GDestroyNotify) pd_doctor_finding_free);
  g_autoptr (GString) longtext = g_string_new (NULL);
  for (guint i = 0; i < 120; i++)
    g_string_append (longtext, "ä %=; ");
  for (guint i = 0; i < 20; i++)
    add_finding (f.findings, i % 3, longtext->str, i % 2 ? longtext->str : NULL);
  gsize chunk = 1 + data[1] % 64;
  data += 2;
  size -= 2;

  g_autoptr (GString) out = g_string_new (NULL);
  gsize checked = 0;
  f.conn = pd_hostd_conn_new (&ops, &f);
  pd_hostd_conn_start (f.conn, out);
  gint64 now = 1000000;
  gsize fed = 0;
  while (fed < size)
    {
      gsize n = MIN (chunk, size - fed);
      if (data[fed] == 0xFF)
        {
          pd_hostd_conn_progress (f.conn, 7, PD_HL_PHASE_STOPPED, "The VM has stopped.", out);
          pd_hostd_conn_rehello (f.conn, out);
          if (f.mode & 32)
            f.cycle_running = FALSE;
        }
      guint lines = 0;
      gboolean keep = TRUE;
      if (f.mode & 128)
        {
          /* As the link feeds under its budget: a few lines at a time, the
           * rest kept and fed again. */
          gsize done = 0;
          guint max = 1 + data[fed] % 4;
          while (keep && done < n)
            {
              guint got = 0;
              gsize used = 0;
              keep = pd_hostd_conn_feed_some (f.conn, (const char *) data + fed + done, n - done,
                                              max, now, out, &got, &used);
              g_assert_cmpuint (got, <=, max);
              g_assert_cmpuint (used, <=, n - done);
              g_assert_true (used > 0 || !keep);
              done += used;
              lines += got;
            }
        }
      else
        keep = pd_hostd_conn_feed (f.conn, (const char *) data + fed, n, now, out, &lines);
      g_assert_cmpuint (lines, <=, n);
      fed += n;
      now += (data[fed - 1] & 0x0F) * 100000;
      check_output (out, &checked);
      /* Each guest byte makes at most one reply line (≤ 1024 bytes), plus the HELLOs. */
      g_assert_cmpuint (out->len, <=, 2048 * (fed + 4));
      if (!keep)
        break;
    }
  pd_hostd_conn_free (f.conn);
  g_ptr_array_unref (f.findings);
  return 0;
}
