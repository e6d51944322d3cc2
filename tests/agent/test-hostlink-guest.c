/* test-hostlink-guest.c - the guest end of the hostlink channel against a
 * stand-in for the virtio-serial port.
 *
 * The stand-in is a pty: the guest opens /dev/ptmx as its "port" (a pty
 * master), the test finds that fd in /proc/self/fd and plays the host on the
 * slave side. A pty master behaves like a virtio port where it matters: while
 * no slave is open (no host connected) read() fails and poll() reports
 * POLLHUP continuously; data the "host" sends raises SIGIO on an O_ASYNC
 * master; bytes written while nobody listens stay in the stream (stale half
 * lines). Only the SIGIO on a bare connect (virtio's PORT_OPEN) has no pty
 * equivalent, so every "host connects" here sends its HELLO, as hostd does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "codec.h"
#include "hostlink-guest.h"

#define HELLO_ARGS                                                                                 \
  "proto=1 proto-min=1 host=pve1 vmid=101 enabled=1 cool-off-min=5 cool-off-max=120 "              \
  "cool-off-default=10 rate-max=1 rate-window=300 day-max=6 rate-left=1 next-allowed-in=0"

/* --- waiting on the main loop --- */

static gboolean
flag_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*CondFunc) (gpointer data);

/* Iterates the default main context until @cond holds or @ms pass. */
static gboolean
wait_until (CondFunc cond, gpointer data, guint ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (ms, flag_timeout, &timed_out);
  while (!cond (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return cond (data);
}

static void
spin_for (guint ms)
{
  gboolean done = FALSE;
  g_timeout_add (ms, flag_timeout, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* --- the fake host on the pty slave --- */

typedef struct
{
  int master; /* the guest's fd (not ours to close) */
  int slave;
  guint watch;
  GString *in; /* what the guest wrote, CR stripped */
} FakeHost;

/* The guest's port fd: the one fd of ours that is a pty master. */
static int
find_guest_master (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  g_assert_nonnull (dir);
  const char *name;
  int found = -1;
  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *link = g_strdup_printf ("/proc/self/fd/%s", name);
      g_autofree char *target = g_file_read_link (link, NULL);
      if (target && (strcmp (target, "/dev/ptmx") == 0 || strcmp (target, "/dev/pts/ptmx") == 0))
        {
          g_assert_cmpint (found, ==, -1);
          found = atoi (name);
        }
    }
  return found;
}

static gboolean
on_host_readable (int fd, GIOCondition cond, gpointer data)
{
  FakeHost *h = data;
  char buf[4096];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] != '\r')
        g_string_append_c (h->in, buf[i]);
  if (n == 0 || (n < 0 && errno != EAGAIN))
    {
      h->watch = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* The host connects: opens the slave in raw mode. */
static void
host_connect (FakeHost *h)
{
  if (h->master < 0)
    h->master = find_guest_master ();
  g_assert_cmpint (h->master, >=, 0);
  g_assert_cmpint (unlockpt (h->master), ==, 0);
  h->slave = ioctl (h->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (h->slave, >=, 0);
  struct termios t;
  g_assert_cmpint (tcgetattr (h->slave, &t), ==, 0);
  cfmakeraw (&t);
  g_assert_cmpint (tcsetattr (h->slave, TCSANOW, &t), ==, 0);
  if (!h->in)
    h->in = g_string_new (NULL);
  h->watch = g_unix_fd_add (h->slave, G_IO_IN, on_host_readable, h);
}

static void
host_disconnect (FakeHost *h)
{
  if (h->watch)
    g_source_remove (h->watch);
  h->watch = 0;
  if (h->slave >= 0)
    close (h->slave);
  h->slave = -1;
}

static void
host_free (FakeHost *h)
{
  host_disconnect (h);
  if (h->in)
    g_string_free (h->in, TRUE);
  g_free (h);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeHost, host_free)

static FakeHost *
host_new (void)
{
  FakeHost *h = g_new0 (FakeHost, 1);
  h->master = -1;
  h->slave = -1;
  return h;
}

static void
host_send (FakeHost *h, const char *data)
{
  gsize len = strlen (data);
  while (len > 0)
    {
      ssize_t n = write (h->slave, data, len);
      if (n < 0 && errno == EAGAIN)
        {
          g_main_context_iteration (NULL, FALSE);
          continue;
        }
      g_assert_cmpint (n, >, 0);
      data += n;
      len -= (gsize) n;
    }
}

typedef struct
{
  FakeHost *h;
  const char *prefix;
  char *line; /* the first complete line starting with prefix, taken out */
} ExpectLine;

static gboolean
have_line (gpointer data)
{
  ExpectLine *e = data;
  if (e->line)
    return TRUE;
  const char *s = e->h->in->str;
  while (*s)
    {
      const char *lf = strchr (s, '\n');
      if (!lf)
        return FALSE;
      if (g_str_has_prefix (s, e->prefix))
        {
          e->line = g_strndup (s, (gsize) (lf - s));
          g_string_erase (e->h->in, 0, lf + 1 - e->h->in->str);
          return TRUE;
        }
      s = lf + 1;
    }
  return FALSE;
}

/* Waits for the guest to send a line starting with @prefix; returns it
 * decoded (asserting it is valid). Lines before it are dropped. */
static PdHlMessage *
host_expect (FakeHost *h, const char *prefix, guint ms)
{
  ExpectLine e = { h, prefix, NULL };
  if (!wait_until (have_line, &e, ms))
    g_error ("the guest did not send “%s” within %u ms; it sent: “%s”", prefix, ms, h->in->str);
  g_autofree char *line = e.line;
  g_autoptr (GError) error = NULL;
  PdHlMessage *m = pd_hl_decode (line, strlen (line), NULL, &error);
  if (!m)
    g_error ("the guest sent a bad line “%s”: %s", line, error->message);
  return m;
}

/* --- the guest under test --- */

typedef struct
{
  PdHostlinkGuest *guest;
  FakeHost *host;
  GPtrArray *events;   /* "kind: text" */
  GPtrArray *progress; /* "phase: text" */
  guint changes;
  char *tmpdir;
} Fixture;

static void
on_event (PdHostlinkGuest *g, const char *kind, const char *text, Fixture *f)
{
  g_ptr_array_add (f->events, g_strdup_printf ("%s: %s", kind, text));
}

static void
on_progress (PdHostlinkGuest *g, const char *phase, const char *text, Fixture *f)
{
  g_ptr_array_add (f->progress, g_strdup_printf ("%s: %s", phase, text));
}

static void
on_changed (PdHostlinkGuest *g, Fixture *f)
{
  f->changes++;
}

static void
fixture_init (Fixture *f, const char *port)
{
  f->events = g_ptr_array_new_with_free_func (g_free);
  f->progress = g_ptr_array_new_with_free_func (g_free);
  f->host = host_new ();
  f->guest = pd_hostlink_guest_new (port);
  g_signal_connect (f->guest, "event", G_CALLBACK (on_event), f);
  g_signal_connect (f->guest, "progress", G_CALLBACK (on_progress), f);
  g_signal_connect (f->guest, "component-changed", G_CALLBACK (on_changed), f);
}

/* The port: a symlink to /dev/ptmx in a directory of our own, so the guest's
 * watch on the port's directory sees nothing of what other tests do in /dev. */
static void
setup_pty (Fixture *f, gconstpointer data)
{
  f->tmpdir = g_dir_make_tmp ("hostlink-guest-XXXXXX", NULL);
  g_autofree char *port = g_build_filename (f->tmpdir, "org.passdesk.hostlink.0", NULL);
  g_assert_cmpint (symlink ("/dev/ptmx", port), ==, 0);
  fixture_init (f, port);
  g_autoptr (GError) error = NULL;
  g_assert_true (pd_hostlink_guest_start (f->guest, &error));
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_object_unref (f->guest);
  host_free (f->host);
  g_ptr_array_unref (f->events);
  g_ptr_array_unref (f->progress);
  if (f->tmpdir)
    {
      g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->tmpdir);
      g_assert_cmpint (system (cmd), ==, 0);
      g_free (f->tmpdir);
    }
  /* Let cancelled sources go. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static PdState
guest_state (Fixture *f, char **summary)
{
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (f->guest);
  g_assert_cmpint (c->id, ==, PD_COMPONENT_HOSTLINK);
  if (summary)
    *summary = g_strdup (c->summary);
  return c->state;
}

static gboolean
is_ready (gpointer data)
{
  Fixture *f = data;
  g_autofree char *summary = NULL;
  return guest_state (f, &summary) == PD_STATE_OK && g_str_has_prefix (summary, "Connected to");
}

static gboolean
is_disconnected (gpointer data)
{
  Fixture *f = data;
  g_autofree char *summary = NULL;
  guest_state (f, &summary);
  return g_strcmp0 (summary, "Host helper not connected") == 0;
}

static gboolean
has_event (Fixture *f, const char *kind)
{
  for (guint i = 0; i < f->events->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (f->events, i), kind))
      return TRUE;
  return FALSE;
}

/* Connects the host and completes the handshake (HELLO id 1 + extra). */
static void
handshake (Fixture *f, const char *extra)
{
  if (f->host->slave < 0)
    host_connect (f->host);
  g_autofree char *hello
      = g_strdup_printf ("\nHELLO 1 " HELLO_ARGS "%s%s\n", extra ? " " : "", extra ? extra : "");
  host_send (f->host, hello);
  g_autoptr (PdHlMessage) ready = host_expect (f->host, "READY 1 ", 5000);
  g_assert_cmpstr (pd_hl_message_get (ready, "proto"), ==, "1");
  g_assert_true (wait_until (is_ready, f, 5000));
}

/* Takes the host from connected to disconnected and waits for the guest to
 * see it. */
static void
make_disconnected (Fixture *f)
{
  if (f->host->slave < 0)
    host_connect (f->host);
  host_disconnect (f->host);
  g_assert_true (wait_until (is_disconnected, f, 5000));
}

/* --- tests --- */

static void
test_handshake (Fixture *f, gconstpointer data)
{
  host_connect (f->host);
  /* Half a line left over from an earlier connection, then the host's LF
   * and HELLO: the guest must resync on the LF. A non-HELLO line before the
   * handshake is ignored, not acted on. */
  host_send (f->host, "PROGRESS 9 phase=shutting-down text=x\nPING 4\nstale half");
  host_send (f->host, "\nHELLO 7 " HELLO_ARGS "\n");
  g_autoptr (PdHlMessage) ready = host_expect (f->host, "READY ", 5000);
  g_assert_cmpuint (ready->id, ==, 7);
  g_assert_cmpstr (pd_hl_message_get (ready, "proto"), ==, "1");
  g_assert_true (wait_until (is_ready, f, 5000));
  g_assert_null (strstr (f->host->in->str, "PONG 4"));
  g_assert_cmpuint (f->progress->len, ==, 0);

  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (f->guest);
  g_assert_cmpstr (c->summary, ==, "Connected to pve1 (VM 101)");
  g_assert_cmpstr (pd_component_get_detail (c, "host"), ==, "pve1");
  g_assert_cmpstr (pd_component_get_detail (c, "vmid"), ==, "101");
  g_assert_cmpstr (pd_component_get_detail (c, "cold-restart"), ==, "allowed");
  g_assert_cmpstr (pd_component_get_detail (c, "rate-limit"), ==,
                   "1 per 300 s, 6 per day; 1 allowed now");
  g_assert_cmpstr (pd_component_get_detail (c, "cool-off"), ==, "10 s (allowed 5-120 s)");
  g_assert_true (
      has_event (f, "hostlink.connected: Connected to the host helper on pve1 (VM 101)"));

  /* After the handshake the guest answers PING. */
  host_send (f->host, "PING 12\n");
  g_autoptr (PdHlMessage) pong = host_expect (f->host, "PONG ", 5000);
  g_assert_cmpuint (pong->id, ==, 12);
}

static void
test_resync_across_reconnect (Fixture *f, gconstpointer data)
{
  handshake (f, NULL);
  /* The host dies mid-line. */
  host_send (f->host, "PROGRESS 9 phase=sto");
  make_disconnected (f);
  g_assert_true (has_event (f, "hostlink.disconnected"));
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (f->guest);
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  g_assert_cmpuint (c->advice->len, >=, 2);
  gboolean setup_advice = FALSE;
  for (guint i = 0; i < c->advice->len; i++)
    {
      PdAdvice *a = g_ptr_array_index (c->advice, i);
      if (g_strcmp0 (a->command, "passdesk-hostd setup VMID") == 0)
        setup_advice = TRUE;
    }
  g_assert_true (setup_advice);

  /* A new host connection: LF + HELLO after the stale half line. */
  g_string_truncate (f->host->in, 0);
  host_connect (f->host);
  host_send (f->host, "\nHELLO 8 " HELLO_ARGS "\n");
  g_autoptr (PdHlMessage) ready = host_expect (f->host, "READY ", 5000);
  g_assert_cmpuint (ready->id, ==, 8);
  g_assert_true (wait_until (is_ready, f, 5000));
  g_assert_cmpuint (f->progress->len, ==, 0); /* the stale PROGRESS was never acted on */
}

static void
request_done (GObject *source, GAsyncResult *res, gpointer data)
{
  GError **out = data;
  gboolean ok
      = pd_hostlink_guest_request_cold_restart_finish (PD_HOSTLINK_GUEST (source), res, out);
  if (ok)
    *out = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "accepted");
}

/* Result slot: NULL while pending; "accepted" as G_IO_ERROR_EXISTS. */
static gboolean
result_in (gpointer data)
{
  return *(GError **) data != NULL;
}

static void
test_refusal (Fixture *f, gconstpointer data)
{
  handshake (f, NULL);
  GError *result = NULL;
  pd_hostlink_guest_request_cold_restart_async (f->guest, "GPU stuck, 100% sure", 15, NULL,
                                                request_done, &result);
  g_autoptr (PdHlMessage) req = host_expect (f->host, "RESTART ", 5000);
  g_assert_cmpstr (pd_hl_message_get (req, "reason"), ==, "GPU stuck, 100% sure");
  g_assert_cmpstr (pd_hl_message_get (req, "cool-off"), ==, "15");

  /* A second request while the first waits: BUSY. */
  GError *second = NULL;
  pd_hostlink_guest_request_cold_restart_async (f->guest, NULL, 0, NULL, request_done, &second);
  g_assert_true (wait_until (result_in, &second, 5000));
  g_assert_error (second, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_BUSY);
  g_clear_error (&second);

  g_autofree char *refuse = g_strdup_printf (
      "REFUSE %u code=rate-limited text=Only%%20one%%20cold%%20restart%%20per%%205%%20minutes. "
      "retry-in=240\n",
      req->id);
  host_send (f->host, refuse);
  g_assert_true (wait_until (result_in, &result, 5000));
  g_assert_error (result, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_REFUSED);
  g_assert_cmpstr (result->message, ==, "Only one cold restart per 5 minutes.");
  g_clear_error (&result);
  g_assert_cmpuint (f->progress->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->progress, 0), ==,
                   "requested: Asked the host for a cold restart.");
  g_assert_cmpstr (g_ptr_array_index (f->progress, 1), ==,
                   "refused: Only one cold restart per 5 minutes.");
}

/* CANCEL @cancel names @req. */
static gboolean
is_request_for (PdHlMessage *cancel, PdHlMessage *req)
{
  guint32 id = 0;
  return pd_hl_message_get_uint (cancel, "request", &id) && id == req->id;
}

static void
test_accept_progress_cancel (Fixture *f, gconstpointer data)
{
  handshake (f, NULL);
  GError *result = NULL;
  pd_hostlink_guest_request_cold_restart_async (f->guest, NULL, 0, NULL, request_done, &result);
  g_autoptr (PdHlMessage) req = host_expect (f->host, "RESTART ", 5000);
  g_assert_null (pd_hl_message_get (req, "cool-off")); /* 0: the host's default */
  g_autofree char *accept = g_strdup_printf ("ACCEPT %u cool-off=10 shutdown-timeout=180 "
                                             "text=The%%20host%%20will%%20restart%%20the%%20VM.\n",
                                             req->id);
  host_send (f->host, accept);
  g_assert_true (wait_until (result_in, &result, 5000));
  g_assert_error (result, G_IO_ERROR, G_IO_ERROR_EXISTS); /* i.e. accepted */
  g_clear_error (&result);

  g_autofree char *progress
      = g_strdup_printf ("PROGRESS %u phase=shutting-down text=Running%%20qm%%20shutdown%%20101.\n"
                         "PROGRESS 999 phase=failed text=not%%20ours\n",
                         req->id);
  host_send (f->host, progress);
  spin_for (300);
  g_assert_cmpuint (f->progress->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (f->progress, 1), ==,
                   "accepted: The host will restart the VM.");
  g_assert_cmpstr (g_ptr_array_index (f->progress, 2), ==,
                   "shutting-down: Running qm shutdown 101.");

  g_autoptr (GError) error = NULL;
  g_assert_true (pd_hostlink_guest_cancel_cold_restart (f->guest, &error));
  g_assert_no_error (error);
  g_autoptr (PdHlMessage) cancel = host_expect (f->host, "CANCEL ", 5000);
  g_assert_true (is_request_for (cancel, req));
  g_autofree char *cancelled = g_strdup_printf (
      "OK %u\nPROGRESS %u phase=cancelled text=Cancelled.\n", cancel->id, req->id);
  host_send (f->host, cancelled);
  spin_for (300);
  g_assert_cmpstr (g_ptr_array_index (f->progress, f->progress->len - 1), ==,
                   "cancelled: Cancelled.");
  /* Nothing left to cancel. */
  g_assert_false (pd_hostlink_guest_cancel_cold_restart (f->guest, &error));
  g_assert_error (error, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE);
}

static void
test_cancellable (Fixture *f, gconstpointer data)
{
  handshake (f, NULL);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  GError *result = NULL;
  pd_hostlink_guest_request_cold_restart_async (f->guest, NULL, 0, cancellable, request_done,
                                                &result);
  g_autoptr (PdHlMessage) req = host_expect (f->host, "RESTART ", 5000);
  g_cancellable_cancel (cancellable);
  g_assert_true (wait_until (result_in, &result, 5000));
  g_assert_error (result, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&result);
  /* The guest is free for the next request; the host's late answer to the
   * abandoned one changes nothing. */
  g_autofree char *accept
      = g_strdup_printf ("ACCEPT %u cool-off=10 shutdown-timeout=180 text=late\n", req->id);
  host_send (f->host, accept);
  spin_for (200);
  pd_hostlink_guest_request_cold_restart_async (f->guest, NULL, 0, NULL, request_done, &result);
  g_autoptr (PdHlMessage) req2 = host_expect (f->host, "RESTART ", 5000);
  g_assert_cmpuint (req2->id, !=, req->id);
  g_autofree char *refuse = g_strdup_printf ("REFUSE %u code=busy text=Busy.\n", req2->id);
  host_send (f->host, refuse);
  g_assert_true (wait_until (result_in, &result, 5000));
  g_assert_error (result, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_REFUSED);
  g_clear_error (&result);
}

static void
test_timeout (Fixture *f, gconstpointer data)
{
  handshake (f, NULL);
  GError *result = NULL;
  gint64 start = g_get_monotonic_time ();
  pd_hostlink_guest_request_cold_restart_async (f->guest, "x", 0, NULL, request_done, &result);
  g_autoptr (PdHlMessage) req = host_expect (f->host, "RESTART ", 5000);
  g_assert_true (wait_until (result_in, &result, 20000));
  gint64 took = g_get_monotonic_time () - start;
  g_assert_error (result, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (result->message, "nothing was done"));
  g_clear_error (&result);
  g_assert_cmpint (took, >=, 9 * G_USEC_PER_SEC);
  /* It withdraws the request so a late host cannot act on it. */
  g_autoptr (PdHlMessage) cancel = host_expect (f->host, "CANCEL ", 5000);
  g_assert_true (is_request_for (cancel, req));
  /* A late ACCEPT is answered with another CANCEL and reported. */
  g_autofree char *late
      = g_strdup_printf ("ACCEPT %u cool-off=10 shutdown-timeout=180 text=late\n", req->id);
  host_send (f->host, late);
  g_autoptr (PdHlMessage) cancel2 = host_expect (f->host, "CANCEL ", 5000);
  g_assert_true (is_request_for (cancel2, req));
  g_assert_true (has_event (f, "hostlink.late-accept"));
}

static void
test_unavailable (Fixture *f, gconstpointer data)
{
  make_disconnected (f);
  GError *result = NULL;
  pd_hostlink_guest_request_cold_restart_async (f->guest, NULL, 0, NULL, request_done, &result);
  g_assert_true (wait_until (result_in, &result, 5000));
  g_assert_error (result, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (result->message, "passdesk-hostd"));
  g_clear_error (&result);

  /* The host goes away while a request waits: UNAVAILABLE, not a hang. */
  handshake (f, NULL);
  pd_hostlink_guest_request_cold_restart_async (f->guest, NULL, 0, NULL, request_done, &result);
  g_autoptr (PdHlMessage) req = host_expect (f->host, "RESTART ", 5000);
  g_assert_cmpint (req->verb, ==, PD_HL_VERB_RESTART);
  host_disconnect (f->host);
  g_assert_true (wait_until (result_in, &result, 5000));
  g_assert_error (result, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE);
  g_clear_error (&result);
}

static void
test_last_cycle (Fixture *f, gconstpointer data)
{
  handshake (f, "last=failed last-time=1795999999 last-duration=200 "
                "last-text=qm%20start%20failed%3A%20the%20VM%20config%20stayed%20locked.");
  g_assert_true (has_event (f, "hostlink.last-cycle: The last cold restart failed. qm start "
                               "failed: the VM config stayed locked."));
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (f->guest);
  g_assert_cmpint (c->state, ==, PD_STATE_OK);
  g_assert_cmpstr (c->summary, ==, "Connected to pve1 (VM 101); the last cold restart failed");
  const char *detail = pd_component_get_detail (c, "last-cycle");
  g_assert_nonnull (detail);
  g_assert_true (g_str_has_prefix (detail, "failed in 200 s"));
  g_assert_nonnull (strstr (detail, "stayed locked"));
  /* The same result in a repeated HELLO is not a new event. */
  guint n = f->events->len;
  host_send (f->host, "\nHELLO 2 " HELLO_ARGS " last=failed last-time=1795999999 last-text=x\n");
  g_autoptr (PdHlMessage) ready = host_expect (f->host, "READY 2 ", 5000);
  g_assert_cmpuint (ready->id, ==, 2);
  g_assert_cmpuint (f->events->len, ==, n);
  /* A newer result is; a disabled host says so, with advice. */
  host_send (f->host, "\nHELLO 3 proto=1 proto-min=1 host=pve1 vmid=101 enabled=0 "
                      "cool-off-min=5 cool-off-max=120 cool-off-default=10 rate-max=1 "
                      "rate-window=300 day-max=6 rate-left=0 next-allowed-in=240 last=ok "
                      "last-time=1796000100 last-duration=52\n");
  g_autoptr (PdHlMessage) ready3 = host_expect (f->host, "READY 3 ", 5000);
  g_assert_cmpuint (ready3->id, ==, 3);
  g_assert_cmpuint (f->events->len, ==, n + 1);
  g_assert_cmpstr (g_ptr_array_index (f->events, n), ==,
                   "hostlink.last-cycle: The last cold restart succeeded.");
  g_autoptr (PdComponent) c3 = pd_hostlink_guest_get_component (f->guest);
  g_assert_cmpint (c3->state, ==, PD_STATE_OK);
  g_assert_cmpstr (c3->summary, ==, "Connected to pve1 (VM 101)");
  g_assert_cmpstr (pd_component_get_detail (c3, "cold-restart"), ==, "disabled on the host");
  g_assert_cmpstr (pd_component_get_detail (c3, "next-allowed-in"), ==, "240 s");
  g_assert_true (g_str_has_prefix (pd_component_get_detail (c3, "last-cycle"), "ok in 52 s"));
  g_assert_cmpuint (c3->advice->len, ==, 1);
}

/* Issue 13: each cycle's result is reported once per boot, also when the
 * agent restarts (systemctl restart passdesk-agent): what was reported is
 * kept in the state directory (the unit's RuntimeDirectory) and read by the
 * next life. */
static void
test_reported_across_restart (Fixture *f, gconstpointer data)
{
  g_autofree char *run = g_build_filename (f->tmpdir, "run", NULL);
  g_assert_cmpint (g_mkdir (run, 0700), ==, 0);
  g_autofree char *port = g_build_filename (f->tmpdir, "org.passdesk.hostlink.0", NULL);
  g_autofree char *kept = g_build_filename (run, "hostlink-reported", NULL);
  pd_hostlink_guest_set_state_dir (f->guest, run);
  handshake (f, "last=ok last-id=5 last-time=1796000100");
  g_assert_true (has_event (f, "hostlink.last-cycle: The last cold restart succeeded."));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (kept, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "5 1796000100\n");

  /* The agent restarts; hostd stays connected and answers its RESYNC with
   * the same result. */
  host_disconnect (f->host);
  g_clear_object (&f->guest);
  host_free (f->host);
  f->host = host_new ();
  g_ptr_array_set_size (f->events, 0);
  f->guest = pd_hostlink_guest_new (port);
  g_signal_connect (f->guest, "event", G_CALLBACK (on_event), f);
  pd_hostlink_guest_set_state_dir (f->guest, run);
  g_autoptr (GError) error = NULL;
  g_assert_true (pd_hostlink_guest_start (f->guest, &error));
  g_assert_no_error (error);
  handshake (f, "last=ok last-id=5 last-time=1796000100");
  g_assert_true (has_event (f, "hostlink.connected"));
  g_assert_false (has_event (f, "hostlink.last-cycle"));

  /* The next cycle's result is news; an older one after it is not. */
  host_send (f->host, "\nHELLO 2 " HELLO_ARGS " last=failed last-id=6 last-time=1796000500\n");
  g_autoptr (PdHlMessage) r2 = host_expect (f->host, "READY 2 ", 5000);
  host_send (f->host, "\nHELLO 3 " HELLO_ARGS " last=ok last-id=5 last-time=1796000100\n");
  g_autoptr (PdHlMessage) r3 = host_expect (f->host, "READY 3 ", 5000);
  g_assert_cmpuint (f->events->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->events, 1), ==,
                   "hostlink.last-cycle: The last cold restart failed.");
  g_free (text);
  text = NULL;
  g_assert_true (g_file_get_contents (kept, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "6 1796000500\n");
}

/* Issue 13: the wait the host named counts down from the HELLO, worded when
 * the component is asked for; no timer runs for it. */
static void
test_rate_countdown (Fixture *f, gconstpointer data)
{
  host_connect (f->host);
  host_send (f->host, "\nHELLO 1 proto=1 proto-min=1 host=pve1 vmid=101 enabled=1 "
                      "cool-off-min=5 cool-off-max=120 cool-off-default=10 rate-max=1 "
                      "rate-window=120 day-max=6 rate-left=0 day-left=5 next-allowed-in=69\n");
  g_autoptr (PdHlMessage) ready = host_expect (f->host, "READY 1 ", 5000);
  g_assert_true (wait_until (is_ready, f, 5000));
  guint changes = f->changes;
  spin_for (1600);
  g_assert_cmpuint (f->changes, ==, changes);
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (f->guest);
  const char *next = pd_component_get_detail (c, "next-allowed-in");
  g_assert_nonnull (next);
  guint secs = (guint) g_ascii_strtoull (next, NULL, 10);
  g_assert_cmpuint (secs, <=, 68);
  g_assert_cmpuint (secs, >=, 50);
  g_assert_cmpstr (pd_component_get_detail (c, "rate-limit"), ==,
                   "1 per 120 s, 6 per day; none allowed now, 5 left today");
}

static gboolean
guest_has_port (gpointer data)
{
  return find_guest_master () >= 0;
}

static void
test_port_appears (Fixture *f, gconstpointer data)
{
  f->tmpdir = g_dir_make_tmp ("hostlink-guest-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (f->tmpdir, "virtio-ports", NULL);
  g_autofree char *port = g_build_filename (dir, "org.passdesk.hostlink.0", NULL);
  fixture_init (f, port);
  g_autoptr (GError) error = NULL;
  g_assert_true (pd_hostlink_guest_start (f->guest, &error));

  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (f->guest);
  g_assert_cmpstr (c->summary, ==, "No host channel configured");
  g_assert_cmpint (c->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpuint (c->advice->len, ==, 1);
  PdAdvice *a = g_ptr_array_index (c->advice, 0);
  g_assert_cmpstr (a->command, ==, "passdesk-hostd setup VMID");
  g_assert_nonnull (strstr (a->text, "stop this VM and start it again"));

  /* udev creates the directory, then the symlink to the port. */
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  spin_for (200);
  g_assert_cmpint (symlink ("/dev/ptmx", port), ==, 0);
  gint64 start = g_get_monotonic_time ();
  g_assert_true (wait_until (guest_has_port, NULL, 5000));
  handshake (f, NULL);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);

  /* And it goes away again (unplug). */
  g_assert_cmpint (g_unlink (port), ==, 0);
  g_autoptr (PdComponent) gone = NULL;
  for (int i = 0; i < 100; i++)
    {
      g_clear_pointer (&gone, pd_component_free);
      spin_for (50);
      gone = pd_hostlink_guest_get_component (f->guest);
      if (g_strcmp0 (gone->summary, "No host channel configured") == 0)
        break;
    }
  g_assert_cmpstr (gone->summary, ==, "No host channel configured");
}

static gboolean
ready_after_connect (gpointer data)
{
  return is_ready (data);
}

static guint poll_calls;
static GPollFunc real_poll;

static gint
counting_poll (GPollFD *fds, guint n, gint timeout)
{
  poll_calls++;
  return real_poll (fds, n, timeout);
}

static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec
         + ru.ru_stime.tv_usec / 1e6;
}

static void
test_no_spin_while_disconnected (Fixture *f, gconstpointer data)
{
  handshake (f, NULL);
  make_disconnected (f);
  /* POLLHUP is constant on the port now. Over 3 s the main loop must sleep:
   * count its wakeups (poll calls) and the CPU time. */
  real_poll = g_main_context_get_poll_func (NULL);
  g_main_context_set_poll_func (NULL, counting_poll);
  poll_calls = 0;
  double cpu0 = cpu_seconds ();
  spin_for (3000);
  double cpu = cpu_seconds () - cpu0;
  g_main_context_set_poll_func (NULL, real_poll);
  g_test_message ("3 s disconnected: %u main-loop wakeups, %.3f s CPU", poll_calls, cpu);
  g_assert_cmpuint (poll_calls, <=, 4);
  g_assert_cmpfloat (cpu, <, 0.3);

  /* A host connecting is noticed within 2 s. */
  gint64 start = g_get_monotonic_time ();
  host_connect (f->host);
  host_send (f->host, "\nHELLO 3 " HELLO_ARGS "\n");
  g_assert_true (wait_until (ready_after_connect, f, 10000));
  gint64 took = g_get_monotonic_time () - start;
  g_test_message ("host connect noticed after %.3f s", took / 1e6);
  g_assert_cmpint (took, <, 2 * G_USEC_PER_SEC);
}

/* Idle with no port: activity in the watched directory that is not the port
 * (files written, closed, touched) must not wake the agent. */
static void
test_no_wakeups_from_dir_noise (Fixture *f, gconstpointer data)
{
  f->tmpdir = g_dir_make_tmp ("hostlink-guest-XXXXXX", NULL);
  g_autofree char *port = g_build_filename (f->tmpdir, "org.passdesk.hostlink.0", NULL);
  g_autofree char *noise = g_build_filename (f->tmpdir, "null", NULL);
  g_assert_true (g_file_set_contents (noise, "", 0, NULL));
  fixture_init (f, port);
  g_autoptr (GError) error = NULL;
  g_assert_true (pd_hostlink_guest_start (f->guest, &error));
  g_autofree char *summary = NULL;
  guest_state (f, &summary);
  g_assert_cmpstr (summary, ==, "No host channel configured");

  real_poll = g_main_context_get_poll_func (NULL);
  g_main_context_set_poll_func (NULL, counting_poll);
  poll_calls = 0;
  /* Wakeups of any thread (GLib's worker thread included) end in a
   * voluntary context switch. */
  struct rusage ru0, ru1;
  getrusage (RUSAGE_SELF, &ru0);
  /* What a desktop does to /dev all day: write and close /dev/null, touch
   * device nodes, spread out over time. Another process makes the noise, so
   * only our own wakeups count. */
  g_autofree char *script = g_strdup_printf (
      "for i in $(seq 40); do echo x > '%s'; touch '%s'; sleep 0.02; done", noise, noise);
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  GPid pid;
  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &pid, &error));
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  spin_for (300);
  getrusage (RUSAGE_SELF, &ru1);
  g_main_context_set_poll_func (NULL, real_poll);
  long switches = ru1.ru_nvcsw - ru0.ru_nvcsw;
  g_test_message ("40 writes next to the missing port: %u main-loop wakeups, %ld voluntary "
                  "context switches",
                  poll_calls, switches);
  g_assert_cmpuint (poll_calls, <=, 3);
  g_assert_cmpint (switches, <=, 10);

  /* The port itself appearing does wake it. */
  g_assert_cmpint (symlink ("/dev/ptmx", port), ==, 0);
  g_assert_true (wait_until (guest_has_port, NULL, 5000));
}

static void
test_garbage (Fixture *f, gconstpointer data)
{
  handshake (f, NULL);
  /* Binary junk, NULs, an unknown verb, a 5000-byte line, a guest-only verb,
   * lines that break the grammar, and an ERROR (never answered). */
  static const char junk[] = "\x01\x02\xff\xfe\x00\x00 \t\r\n";
  gsize n = 0;
  while (n < sizeof junk - 1)
    {
      ssize_t w = write (f->host->slave, junk + n, sizeof junk - 1 - n);
      g_assert_cmpint (w, >, 0);
      n += (gsize) w;
    }
  host_send (f->host, "FROB 5 a=b\n");
  g_autoptr (GString) longline = g_string_new ("PING 6 a=");
  for (int i = 0; i < 5000; i++)
    g_string_append_c (longline, 'x');
  g_string_append_c (longline, '\n');
  host_send (f->host, longline->str);
  host_send (f->host, "RESTART 7\n");
  host_send (f->host, "ERROR 8 code=%zz\n");
  host_send (f->host, "ACCEPT 99999 cool-off=1 shutdown-timeout=1 text=nobody%20asked\n");

  g_autoptr (PdHlMessage) e1 = host_expect (f->host, "ERROR ", 5000);
  g_assert_cmpstr (pd_hl_message_get (e1, "code"), ==, "bad-syntax");
  g_autoptr (PdHlMessage) e2 = host_expect (f->host, "ERROR 5 ", 5000);
  g_assert_cmpstr (pd_hl_message_get (e2, "code"), ==, "unknown-verb");
  g_autoptr (PdHlMessage) e3 = host_expect (f->host, "ERROR 0 ", 5000);
  g_assert_cmpstr (pd_hl_message_get (e3, "code"), ==, "line-too-long");
  g_autoptr (PdHlMessage) e4 = host_expect (f->host, "ERROR 7 ", 5000);
  g_assert_cmpstr (pd_hl_message_get (e4, "code"), ==, "unexpected");
  g_assert_true (has_event (f, "hostlink.protocol-error"));

  /* Still serving, still connected, nothing acted on. */
  host_send (f->host, "PING 9\n");
  g_autoptr (PdHlMessage) pong = host_expect (f->host, "PONG 9", 5000);
  g_assert_cmpuint (pong->id, ==, 9);
  g_assert_null (strstr (f->host->in->str, "ERROR 8"));
  g_assert_true (is_ready (f));
  g_assert_cmpuint (f->progress->len, ==, 0);
}

static gboolean
is_silent (gpointer data)
{
  g_autofree char *summary = NULL;
  guest_state (data, &summary);
  return g_strcmp0 (summary, "The host side is connected but does not answer") == 0;
}

static void
test_silent_host_resync (Fixture *f, gconstpointer data)
{
  /* A host that is connected but never greets: after 5 s the guest asks with
   * RESYNC (the pty is "connected" from the start; the guest also sends one
   * when it opens a port that is already connected). */
  host_connect (f->host);
  g_autoptr (PdHlMessage) r1 = host_expect (f->host, "RESYNC ", 2000);
  g_string_truncate (f->host->in, 0);
  g_autoptr (PdHlMessage) r2 = host_expect (f->host, "RESYNC ", 15000);
  g_assert_cmpuint (r2->id, !=, r1->id);
  g_assert_true (wait_until (is_silent, f, 10000));
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (f->guest);
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  host_send (f->host, "\nHELLO 4 " HELLO_ARGS "\n");
  g_autoptr (PdHlMessage) ready = host_expect (f->host, "READY 4 ", 5000);
  g_assert_cmpuint (ready->id, ==, 4);
}

/* EBUSY: a tty in exclusive mode refuses a second open without
 * CAP_SYS_ADMIN, like a virtio port that is already open. */
static void
test_busy (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }
  /* Drop CAP_SYS_ADMIN from the effective set (tests may run as root). */
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct caps[2] = { { 0 } };
  g_assert_cmpint (syscall (SYS_capget, &hdr, caps), ==, 0);
  caps[CAP_TO_INDEX (CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK (CAP_SYS_ADMIN);
  g_assert_cmpint (syscall (SYS_capset, &hdr, caps), ==, 0);

  int master = posix_openpt (O_RDWR | O_NOCTTY);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  g_autofree char *slave_path = g_strdup (ptsname (master));
  int holder = open (slave_path, O_RDWR | O_NOCTTY);
  g_assert_cmpint (holder, >=, 0);
  g_assert_cmpint (ioctl (holder, TIOCEXCL), ==, 0);

  Fixture fx = { 0 };
  Fixture *f = &fx;
  fixture_init (f, slave_path);
  g_autoptr (GError) error = NULL;
  g_assert_true (pd_hostlink_guest_start (f->guest, &error));
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (f->guest);
  g_assert_cmpstr (c->summary, ==, "The host channel is in use by another program");
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  g_assert_cmpstr (pd_component_get_detail (c, "error"), ==, g_strerror (EBUSY));
  g_assert_true (has_event (f, "hostlink.port-busy"));
  GError *result = NULL;
  pd_hostlink_guest_request_cold_restart_async (f->guest, NULL, 0, NULL, request_done, &result);
  g_assert_true (wait_until (result_in, &result, 5000));
  g_assert_error (result, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE);
  g_clear_error (&result);
  teardown (f, NULL);
  close (holder);
  close (master);
}

static PdState
host_state (Fixture *f, char **report)
{
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_host_component (f->guest);
  g_assert_cmpint (c->id, ==, PD_COMPONENT_HOST);
  if (report)
    *report = g_strdup (pd_component_get_detail (c, "report"));
  return c->state;
}

static gboolean
host_failed (gpointer data)
{
  return host_state (data, NULL) == PD_STATE_FAILED;
}

static gboolean
host_ok (gpointer data)
{
  return host_state (data, NULL) == PD_STATE_OK;
}

static void
on_host_changed (PdHostlinkGuest *g, guint *n)
{
  (*n)++;
}

/* Protocol 2 through the object: the `host` component follows the host's
 * report, one change per complete report, and keeps it across a reconnect. */
static void
test_host_report (Fixture *f, gconstpointer data)
{
  guint changes = 0;
  g_signal_connect (f->guest, "host-component-changed", G_CALLBACK (on_host_changed), &changes);
  g_assert_cmpint (host_state (f, NULL), ==, PD_STATE_UNKNOWN);
  host_connect (f->host);
  host_send (f->host, "\nHELLO 1 proto=2 proto-min=1 host=pve1 vmid=101 enabled=1 cool-off-min=5 "
                      "cool-off-max=120 cool-off-default=10 rate-max=1 rate-window=300 day-max=6 "
                      "rate-left=1 next-allowed-in=0\n");
  g_autoptr (PdHlMessage) ready = host_expect (f->host, "READY 1 ", 5000);
  g_assert_cmpstr (pd_hl_message_get (ready, "proto"), ==, "2");
  g_assert_true (wait_until (is_ready, f, 5000));
  guint before = changes;
  host_send (f->host, "HOST-REPORT 2 state=fail time=1796000000 ok=21 warn=0 fail=1 items=1\n"
                      "HOST-ITEM 2 n=0 check=vm-hookscript vmid=101 state=fail "
                      "text=VM%20101%27s%20hookscript%20is%20missing. fix=chmod%20+x%20/h.sh\n");
  g_assert_true (wait_until (host_failed, f, 5000));
  g_assert_cmpuint (changes, ==, before + 1);
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_host_component (f->guest);
  g_assert_cmpstr (((PdAdvice *) g_ptr_array_index (c->advice, 0))->command, ==, "chmod +x /h.sh");
  /* Nothing was answered: the guest wrote READY only. */
  spin_for (100);
  g_assert_null (strstr (f->host->in->str, "ERROR"));

  make_disconnected (f);
  g_autofree char *report = NULL;
  g_assert_cmpint (host_state (f, &report), ==, PD_STATE_FAILED);
  g_assert_true (strstr (report, "not connected now") != NULL);

  host_connect (f->host);
  host_send (f->host, "\nHELLO 3 proto=2 proto-min=1 host=pve1 vmid=101 enabled=1 cool-off-min=5 "
                      "cool-off-max=120 cool-off-default=10 rate-max=1 rate-window=300 day-max=6 "
                      "rate-left=1 next-allowed-in=0\n");
  g_autoptr (PdHlMessage) ready3 = host_expect (f->host, "READY 3 ", 5000);
  g_assert_cmpint (host_state (f, NULL), ==, PD_STATE_FAILED);
  host_send (f->host, "HOST-REPORT 4 state=ok time=1796000100 ok=22 warn=0 fail=0 items=0\n");
  g_assert_true (wait_until (host_ok, f, 5000));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/hostlink/guest/handshake", Fixture, NULL, setup_pty, test_handshake, teardown);
  g_test_add ("/hostlink/guest/resync-across-reconnect", Fixture, NULL, setup_pty,
              test_resync_across_reconnect, teardown);
  g_test_add ("/hostlink/guest/refusal", Fixture, NULL, setup_pty, test_refusal, teardown);
  g_test_add ("/hostlink/guest/accept-progress-cancel", Fixture, NULL, setup_pty,
              test_accept_progress_cancel, teardown);
  g_test_add ("/hostlink/guest/cancellable", Fixture, NULL, setup_pty, test_cancellable, teardown);
  g_test_add ("/hostlink/guest/timeout", Fixture, NULL, setup_pty, test_timeout, teardown);
  g_test_add ("/hostlink/guest/unavailable", Fixture, NULL, setup_pty, test_unavailable, teardown);
  g_test_add ("/hostlink/guest/last-cycle", Fixture, NULL, setup_pty, test_last_cycle, teardown);
  g_test_add ("/hostlink/guest/reported-across-restart", Fixture, NULL, setup_pty,
              test_reported_across_restart, teardown);
  g_test_add ("/hostlink/guest/rate-countdown", Fixture, NULL, setup_pty, test_rate_countdown,
              teardown);
  g_test_add ("/hostlink/guest/host-report", Fixture, NULL, setup_pty, test_host_report, teardown);
  g_test_add ("/hostlink/guest/port-appears", Fixture, NULL, NULL, test_port_appears, teardown);
  g_test_add ("/hostlink/guest/no-spin-while-disconnected", Fixture, NULL, setup_pty,
              test_no_spin_while_disconnected, teardown);
  g_test_add ("/hostlink/guest/no-wakeups-from-dir-noise", Fixture, NULL, NULL,
              test_no_wakeups_from_dir_noise, teardown);
  g_test_add ("/hostlink/guest/garbage", Fixture, NULL, setup_pty, test_garbage, teardown);
  g_test_add ("/hostlink/guest/silent-host-resync", Fixture, NULL, setup_pty,
              test_silent_host_resync, teardown);
  g_test_add_func ("/hostlink/guest/port-busy", test_busy);
  return g_test_run ();
}
