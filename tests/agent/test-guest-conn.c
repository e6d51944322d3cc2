/* test-guest-conn.c - the guest's end of the host link as a pure core
 * (agent/guest/guest-conn.c): bytes in, lines and effects out, the time
 * passed in. No port, no main loop. Also the cold-restart phase names
 * (agent/core/cold-restart-phase.c). */
#include "config.h"

#include <gio/gio.h>

#include "cold-restart-phase.h"
#include "guest-conn.h"
#include "hostlink-guest.h"

#define T0 (G_GINT64_CONSTANT (1000) * G_USEC_PER_SEC)
#define S(n) ((gint64) (n) *G_USEC_PER_SEC)

#define HELLO_FACTS                                                                                \
  "host=pve vmid=100 enabled=1 cool-off-min=5 cool-off-max=120 cool-off-default=10 rate-max=3 "    \
  "rate-window=3600 day-max=6 rate-left=2 next-allowed-in=0"
#define HELLO_V2 "proto=2 proto-min=1 " HELLO_FACTS

#define HELLO_ARGS                                                                                 \
  "proto=1 proto-min=1 host=pve vmid=100 enabled=1 cool-off-min=5 cool-off-max=120 "               \
  "cool-off-default=10 rate-max=3 rate-window=3600 day-max=6 rate-left=2 next-allowed-in=0"

typedef struct
{
  PdGuestConn *conn;
  GString *out;
  GPtrArray *effects; /* "event KIND: TEXT", "progress PHASE: TEXT", "answered ...", "changed",
                         "reported ID TIME" */
  gint64 now;         /* when fed bytes arrive */
} Fixture;

static void
on_event (gpointer data, const char *kind, const char *text)
{
  Fixture *f = data;
  g_ptr_array_add (f->effects, g_strdup_printf ("event %s: %s", kind, text));
}

static void
on_progress (gpointer data, PdColdRestartPhase phase, const char *wire, const char *text)
{
  Fixture *f = data;
  /* The enum and the wire string agree for every phase this build knows. */
  if (phase != PD_COLD_RESTART_PHASE_UNKNOWN)
    g_assert_cmpstr (wire, ==, pd_cold_restart_phase_to_string (phase));
  g_ptr_array_add (f->effects,
                   g_strdup_printf ("progress %s%s: %s", wire,
                                    phase == PD_COLD_RESTART_PHASE_UNKNOWN ? "?" : "", text));
}

static void
on_answered (gpointer data, GError *error)
{
  Fixture *f = data;
  if (error == NULL)
    g_ptr_array_add (f->effects, g_strdup ("answered ok"));
  else if (error->domain == PD_HOSTLINK_ERROR)
    g_ptr_array_add (f->effects,
                     g_strdup_printf ("answered hostlink-%d: %s", error->code, error->message));
  else
    g_ptr_array_add (f->effects,
                     g_strdup_printf ("answered %s-%d: %s", g_quark_to_string (error->domain),
                                      error->code, error->message));
  g_clear_error (&error);
}

static void
on_changed (gpointer data)
{
  Fixture *f = data;
  g_ptr_array_add (f->effects, g_strdup ("changed"));
}

static void
on_reported (gpointer data, guint32 last_id, guint32 last_time)
{
  Fixture *f = data;
  g_ptr_array_add (f->effects, g_strdup_printf ("reported %u %u", last_id, last_time));
}

static const PdGuestConnOps ops = { on_event, on_progress, on_answered, on_changed, on_reported };

static void
setup (Fixture *f, gconstpointer data)
{
  f->conn = pd_guest_conn_new (&ops, f, 41); /* first request id: 42 */
  f->out = g_string_new (NULL);
  f->effects = g_ptr_array_new_with_free_func (g_free);
  f->now = T0;
}

static void
teardown (Fixture *f, gconstpointer data)
{
  pd_guest_conn_free (f->conn);
  g_string_free (f->out, TRUE);
  g_ptr_array_unref (f->effects);
}

/* Returns what was written since the last call, and forgets it. */
static char *
take_out (Fixture *f)
{
  char *s = g_strdup (f->out->str);
  g_string_truncate (f->out, 0);
  return s;
}

/* Checks the effects since the last call: NULL-terminated list. */
static void
assert_effects (Fixture *f, ...)
{
  va_list ap;
  va_start (ap, f);
  guint i = 0;
  const char *want;
  while ((want = va_arg (ap, const char *)))
    {
      if (i >= f->effects->len)
        g_error ("missing effect #%u: %s", i, want);
      g_assert_cmpstr (g_ptr_array_index (f->effects, i), ==, want);
      i++;
    }
  va_end (ap);
  if (i < f->effects->len)
    g_error ("unexpected effect: %s", (char *) g_ptr_array_index (f->effects, i));
  g_ptr_array_set_size (f->effects, 0);
}

static void
feed (Fixture *f, const char *s)
{
  pd_guest_conn_feed (f->conn, s, strlen (s), f->now, f->out);
}

static void
handshake (Fixture *f)
{
  pd_guest_conn_connect (f->conn, FALSE, T0, f->out);
  feed (f, "\nHELLO 7 " HELLO_ARGS "\n");
  g_assert_true (pd_guest_conn_is_ready (f->conn));
  g_string_truncate (f->out, 0);
  g_ptr_array_set_size (f->effects, 0);
}

static void
test_handshake (Fixture *f, gconstpointer data)
{
  pd_guest_conn_connect (f->conn, FALSE, T0, f->out);
  g_assert_cmpstr (f->out->str, ==, "");
  g_assert_true (pd_guest_conn_is_connected (f->conn));
  g_assert_null (pd_guest_conn_get_host (f->conn));
  /* A stale half line from an earlier host, then things that are not HELLO:
   * dropped without a word before the handshake. */
  feed (f, "GO 3 half\nPING 3\nACCEPT 5 cool-off=10 shutdown-timeout=180 text=x\ngarbage\n");
  g_assert_cmpstr (f->out->str, ==, "");
  assert_effects (f, NULL);
  g_assert_false (pd_guest_conn_is_ready (f->conn));

  feed (f, "HELLO 7 " HELLO_ARGS "\n");
  g_autofree char *out = take_out (f);
  g_assert_cmpstr (out, ==, "\nREADY 7 proto=1 agent=" PACKAGE_VERSION "\n");
  assert_effects (f, "changed",
                  "event hostlink.connected: Connected to the host helper on pve (VM 100).", NULL);

  const PdHostInfo *h = pd_guest_conn_get_host (f->conn);
  g_assert_nonnull (h);
  g_assert_cmpstr (h->host, ==, "pve");
  g_assert_cmpuint (h->vmid, ==, 100);
  g_assert_true (h->enabled);
  g_assert_cmpuint (h->cool_off_min, ==, 5);
  g_assert_cmpuint (h->cool_off_max, ==, 120);
  g_assert_cmpuint (h->cool_off_default, ==, 10);
  g_assert_cmpuint (h->rate_max, ==, 3);
  g_assert_cmpuint (h->rate_window, ==, 3600);
  g_assert_cmpuint (h->day_max, ==, 6);
  g_assert_cmpuint (h->rate_left, ==, 2);
  g_assert_cmpuint (h->next_allowed_in, ==, 0);
  g_assert_false (h->has_last);
  g_assert_false (h->reboot_cold); /* a host that does not say converts nothing */

  /* Ready: PING gets PONG, and no timer is left. */
  feed (f, "PING 8\n");
  g_autofree char *pong = take_out (f);
  g_assert_cmpstr (pong, ==, "PONG 8\n");
  g_assert_cmpint (pd_guest_conn_next_wakeup (f->conn), ==, -1);

  /* A second HELLO replaces the facts; no second "connected". */
  feed (f, "HELLO 9 " HELLO_ARGS " last=failed last-time=1795999999 last-duration=61 "
           "last-text=qm%20start%20failed\n");
  g_autofree char *ready2 = take_out (f);
  g_assert_cmpstr (ready2, ==, "\nREADY 9 proto=1 agent=" PACKAGE_VERSION "\n");
  assert_effects (f, "changed", "reported 0 1795999999",
                  "event hostlink.last-cycle: The last cold restart failed. qm start failed", NULL);
  h = pd_guest_conn_get_host (f->conn);
  g_assert_true (h->has_last);
  g_assert_false (h->last_ok);
  g_assert_true (h->has_last_time);
  g_assert_cmpuint (h->last_time, ==, 1795999999);
  g_assert_cmpuint (h->last_duration, ==, 61);
  g_assert_cmpstr (h->last_text, ==, "qm start failed");
  g_assert_false (h->reboot_cold);
  /* The host turns this VM's reboots into cold restarts. */
  feed (f, "HELLO 11 " HELLO_ARGS " reboot-cold=1\n");
  g_assert_true (pd_guest_conn_get_host (f->conn)->reboot_cold);
  assert_effects (f, "changed", NULL);
  /* The same result again is not news. */
  feed (f, "HELLO 12 " HELLO_ARGS " last=failed last-time=1795999999 reboot-cold=0\n");
  g_assert_false (pd_guest_conn_get_host (f->conn)->reboot_cold);
  assert_effects (f, "changed", NULL);
}

static void
test_bad_version (Fixture *f, gconstpointer data)
{
  pd_guest_conn_connect (f->conn, FALSE, T0, f->out);
  /* A host that speaks only versions after ours. */
  feed (f, "\nHELLO 5 proto=3 proto-min=3 host=pve vmid=100 enabled=1 cool-off-min=5 "
           "cool-off-max=120 cool-off-default=10 rate-max=3 rate-window=3600 day-max=6 "
           "rate-left=2 next-allowed-in=0\n");
  g_autofree char *out = take_out (f);
  g_assert_true (g_str_has_prefix (out, "ERROR 5 code=unsupported-version text="));
  g_assert_false (pd_guest_conn_is_ready (f->conn));
  assert_effects (f,
                  "event hostlink.protocol-error: The host helper speaks another protocol "
                  "version; update passdesk on the host or in the VM so both match.",
                  NULL);
}

/* The time is the caller's: RESYNC at 5 s, silent at 10 s, nothing before. */
static void
test_hello_timers (Fixture *f, gconstpointer data)
{
  pd_guest_conn_connect (f->conn, TRUE, T0, f->out);
  g_autofree char *first = take_out (f);
  g_assert_cmpstr (first, ==, "\nRESYNC 42\n");
  g_assert_cmpint (pd_guest_conn_next_wakeup (f->conn), ==, T0 + S (5));

  pd_guest_conn_tick (f->conn, T0 + S (5) - 1, f->out);
  g_assert_cmpstr (f->out->str, ==, "");
  pd_guest_conn_tick (f->conn, T0 + S (5), f->out);
  g_autofree char *second = take_out (f);
  g_assert_cmpstr (second, ==, "\nRESYNC 43\n");
  g_assert_cmpint (pd_guest_conn_next_wakeup (f->conn), ==, T0 + S (10));
  g_assert_false (pd_guest_conn_is_silent (f->conn));
  assert_effects (f, NULL);

  pd_guest_conn_tick (f->conn, T0 + S (9), f->out);
  g_assert_false (pd_guest_conn_is_silent (f->conn));
  pd_guest_conn_tick (f->conn, T0 + S (10), f->out);
  g_assert_true (pd_guest_conn_is_silent (f->conn));
  assert_effects (f, "changed", NULL);
  g_assert_cmpstr (f->out->str, ==, ""); /* only one RESYNC per wait */
  g_assert_cmpint (pd_guest_conn_next_wakeup (f->conn), ==, -1);

  /* A late HELLO (after hostd's LF) still completes the handshake. */
  feed (f, "\nHELLO 7 " HELLO_ARGS "\n");
  g_assert_true (pd_guest_conn_is_ready (f->conn));
  g_assert_false (pd_guest_conn_is_silent (f->conn));
}

static void
test_request_accepted (Fixture *f, gconstpointer data)
{
  handshake (f);
  g_autoptr (GError) error = NULL;
  g_assert_true (pd_guest_conn_request (f->conn, "new kernel", 30, T0 + S (1), f->out, &error));
  g_assert_no_error (error);
  g_autofree char *req = take_out (f);
  g_assert_cmpstr (req, ==, "RESTART 42 reason=new%20kernel cool-off=30\n");
  assert_effects (f, "progress requested: Asked the host for a cold restart.", NULL);
  g_assert_true (pd_guest_conn_has_pending (f->conn));
  g_assert_cmpint (pd_guest_conn_next_wakeup (f->conn), ==, T0 + S (11));

  feed (f, "ACCEPT 41 cool-off=10 shutdown-timeout=180 text=wrong\nACCEPT 42 cool-off=10 "
           "shutdown-timeout=180 text=Stopping%20in%2010%20s.\n");
  assert_effects (f, "progress accepted: Stopping in 10 s.", "answered ok", NULL);
  g_assert_false (pd_guest_conn_has_pending (f->conn));
  g_assert_cmpint (pd_guest_conn_next_wakeup (f->conn), ==, -1);

  feed (f, "PROGRESS 42 phase=shutting-down text=a\nPROGRESS 99 phase=stopped text=other\n"
           "PROGRESS 42 phase=warp text=new\nPROGRESS 42 phase=done text=b\n"
           "PROGRESS 42 phase=stopped text=after\n");
  assert_effects (f, "progress shutting-down: a", "progress warp?: new", "progress done: b", NULL);
  g_assert_cmpstr (f->out->str, ==, "");
}

/* Issue 14: READY says the agent converts reboots once asked to; a reboot
 * request carries kind=reboot and the host's default cool-off; ACCEPT's
 * shutdown-timeout is kept for the hold (issue 13). */
static void
test_request_reboot (Fixture *f, gconstpointer data)
{
  pd_guest_conn_connect (f->conn, FALSE, T0, f->out);
  feed (f, "\nHELLO 7 " HELLO_ARGS " reboot-cold=1\n");
  g_autofree char *ready = take_out (f);
  g_assert_null (strstr (ready, "reboot-cold"));
  pd_guest_conn_set_reboot_cold (f->conn, TRUE);
  feed (f, "HELLO 8 " HELLO_ARGS " reboot-cold=1\n");
  g_autofree char *ready2 = take_out (f);
  g_assert_nonnull (strstr (ready2, "READY 8 proto=1 "));
  g_assert_nonnull (strstr (ready2, " reboot-cold=1"));
  g_assert_true (pd_guest_conn_get_host (f->conn)->reboot_cold);
  g_ptr_array_set_size (f->effects, 0);

  g_assert_cmpuint (pd_guest_conn_get_shutdown_timeout (f->conn), ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_true (
      pd_guest_conn_request_reboot (f->conn, "The guest is rebooting.", T0 + S (1), f->out, &error));
  g_assert_no_error (error);
  g_autofree char *req = take_out (f);
  g_assert_cmpstr (req, ==, "RESTART 42 reason=The%20guest%20is%20rebooting. kind=reboot\n");
  assert_effects (f, "progress requested: Asked the host for a cold restart.", NULL);
  feed (f, "ACCEPT 42 cool-off=10 shutdown-timeout=90 text=ok\n");
  assert_effects (f, "progress accepted: ok", "answered ok", NULL);
  g_assert_cmpuint (pd_guest_conn_get_shutdown_timeout (f->conn), ==, 90);
  /* A plain request says no kind (absent = request, PROTOCOL.md). */
  g_assert_true (pd_guest_conn_request (f->conn, NULL, 0, T0 + S (2), f->out, &error));
  g_autofree char *plain = take_out (f);
  g_assert_cmpstr (plain, ==, "RESTART 43\n");
}

static void
test_request_refused (Fixture *f, gconstpointer data)
{
  handshake (f);
  g_autoptr (GError) error = NULL;
  g_assert_true (pd_guest_conn_request (f->conn, NULL, 0, T0, f->out, &error));
  g_autofree char *req = take_out (f);
  g_assert_cmpstr (req, ==, "RESTART 42\n");
  g_ptr_array_set_size (f->effects, 0);
  feed (f, "REFUSE 42 code=rate-limited text=Wait%2010%20minutes.\n");
  assert_effects (f, "progress refused: Wait 10 minutes.", "answered hostlink-1: Wait 10 minutes.",
                  NULL);
  /* Nothing left to cancel. */
  g_assert_false (pd_guest_conn_cancel (f->conn, f->out));
  g_assert_cmpstr (f->out->str, ==, "");
}

static void
test_request_invalid (Fixture *f, gconstpointer data)
{
  handshake (f);
  g_autoptr (GError) error = NULL;
  g_autofree char *long_reason = g_strnfill (PD_HL_MAX_REASON + 1, 'x');
  g_assert_false (pd_guest_conn_request (f->conn, long_reason, 0, T0, f->out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (pd_guest_conn_request (f->conn, "bell\a", 0, T0, f->out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (f->out->str, ==, "");
  g_assert_false (pd_guest_conn_has_pending (f->conn));
  assert_effects (f, NULL);
}

/* No answer within 10 s of the caller's clock: CANCEL, "failed", TIMEOUT;
 * a late ACCEPT is cancelled again. */
static void
test_request_timeout (Fixture *f, gconstpointer data)
{
  handshake (f);
  g_autoptr (GError) error = NULL;
  g_assert_true (pd_guest_conn_request (f->conn, NULL, 0, T0 + S (100), f->out, &error));
  g_string_truncate (f->out, 0);
  g_ptr_array_set_size (f->effects, 0);

  pd_guest_conn_tick (f->conn, T0 + S (109), f->out);
  g_assert_true (pd_guest_conn_has_pending (f->conn));
  assert_effects (f, NULL);
  pd_guest_conn_tick (f->conn, T0 + S (110), f->out);
  g_autofree char *cancel = take_out (f);
  g_assert_cmpstr (cancel, ==, "CANCEL 43 request=42\n");
  g_assert_cmpuint (f->effects->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->effects, 0), ==,
                   "progress failed: The host did not answer in time.");
  g_assert_true (g_str_has_prefix (g_ptr_array_index (f->effects, 1), "answered hostlink-2: "));
  g_ptr_array_set_size (f->effects, 0);
  g_assert_false (pd_guest_conn_has_pending (f->conn));

  feed (f, "ACCEPT 42 cool-off=10 shutdown-timeout=180 text=late\n");
  g_autofree char *again = take_out (f);
  g_assert_cmpstr (again, ==, "CANCEL 44 request=42\n");
  assert_effects (f,
                  "event hostlink.late-accept: The host accepted a cold restart after the "
                  "request had timed out; it was asked to cancel it.",
                  NULL);
}

static void
test_cancel_and_abandon (Fixture *f, gconstpointer data)
{
  handshake (f);
  g_assert_true (pd_guest_conn_request (f->conn, NULL, 0, T0, f->out, NULL));
  pd_guest_conn_abandon (f->conn);
  g_assert_false (pd_guest_conn_has_pending (f->conn));
  g_assert_cmpint (pd_guest_conn_next_wakeup (f->conn), ==, -1);
  g_string_truncate (f->out, 0);
  g_ptr_array_set_size (f->effects, 0);
  /* Abandoned, not withdrawn: the answer is ignored, the request can still
   * be cancelled. */
  feed (f, "ACCEPT 42 cool-off=10 shutdown-timeout=180 text=ok\n");
  assert_effects (f, NULL);
  g_assert_true (pd_guest_conn_cancel (f->conn, f->out));
  g_autofree char *out = take_out (f);
  g_assert_cmpstr (out, ==, "CANCEL 43 request=42\n");

  g_assert_true (pd_guest_conn_request (f->conn, NULL, 0, T0, f->out, NULL));
  g_string_truncate (f->out, 0);
  g_ptr_array_set_size (f->effects, 0);
  g_assert_true (pd_guest_conn_cancel (f->conn, f->out));
  g_autofree char *out2 = take_out (f);
  g_assert_cmpstr (out2, ==, "CANCEL 45 request=44\n");
  assert_effects (f, "answered g-io-error-quark-19: The cold-restart request was withdrawn.", NULL);
  feed (f, "REFUSE 45 code=too-late text=Too%20late.\n");
  assert_effects (f, "event hostlink.cancel-refused: Too late.", NULL);
}

static void
test_disconnect (Fixture *f, gconstpointer data)
{
  handshake (f);
  g_assert_true (pd_guest_conn_request (f->conn, NULL, 0, T0, f->out, NULL));
  g_ptr_array_set_size (f->effects, 0);
  pd_guest_conn_disconnect (f->conn);
  assert_effects (f,
                  "answered hostlink-0: The host link went away before the host answered; "
                  "nothing was done.",
                  "event hostlink.disconnected: The host helper disconnected.", NULL);
  g_assert_false (pd_guest_conn_is_ready (f->conn));
  g_assert_false (pd_guest_conn_is_connected (f->conn));
  g_assert_null (pd_guest_conn_get_host (f->conn));
  g_assert_cmpint (pd_guest_conn_next_wakeup (f->conn), ==, -1);
  /* Bytes after the end are not read. */
  feed (f, "\nHELLO 7 " HELLO_ARGS "\n");
  g_assert_false (pd_guest_conn_is_ready (f->conn));
  pd_guest_conn_disconnect (f->conn);
  assert_effects (f, NULL);
}

/* Bad lines once ready: one event, at most 5 ERRORs, never an ERROR back
 * to an ERROR, ERROR to verbs the host may not send. */
static void
test_bad_lines (Fixture *f, gconstpointer data)
{
  handshake (f);
  feed (f, "ERROR x y\n");
  g_assert_cmpstr (f->out->str, ==, "");
  assert_effects (f,
                  "event hostlink.protocol-error: The host helper sent a line this agent "
                  "cannot read: The id is not a number from 0 to 4294967295.",
                  NULL);
  feed (f, "RESTART 4\n");
  g_autofree char *unexpected = take_out (f);
  g_assert_cmpstr (
      unexpected, ==,
      "ERROR 4 code=unexpected text=The%20guest%20does%20not%20accept%20this%20verb.\n");
  g_autofree char *too_long = g_strnfill (2000, 'A');
  feed (f, too_long);
  feed (f, "\n");
  g_autofree char *tl = take_out (f);
  g_assert_cmpstr (tl, ==, "ERROR 0 code=line-too-long\n");
  for (int i = 0; i < 10; i++)
    feed (f, "FOO 1\n");
  g_autofree char *rest = take_out (f);
  /* 2 sent above, 3 more, then silence. */
  guint n = 0;
  for (const char *p = rest; (p = strstr (p, "ERROR ")); p++)
    n++;
  g_assert_cmpuint (n, ==, 3);
  assert_effects (f, NULL);
  /* A host ERROR is reported, not answered. */
  feed (f, "ERROR 0 code=bad-syntax text=huh\n");
  g_assert_cmpstr (f->out->str, ==, "");
  assert_effects (f,
                  "event hostlink.protocol-error: The host helper reported a protocol error "
                  "(bad-syntax): huh",
                  NULL);
}

/* Version 2 with a host that offers it (proto-min 1 or 2), version 1 with a
 * host that offers only 1 or that offers 1..3; nothing with a host whose
 * lowest is above 2. */
static void
test_versions (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *offer;
    const char *ready; /* NULL: refused */
  } cases[] = {
    { "proto=1 proto-min=1", "proto=1" }, { "proto=2 proto-min=1", "proto=2" },
    { "proto=2 proto-min=2", "proto=2" }, { "proto=3 proto-min=1", "proto=2" },
    { "proto=7 proto-min=2", "proto=2" }, { "proto=3 proto-min=3", NULL },
    { "proto=0 proto-min=0", NULL },      { "proto=1 proto-min=2", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      pd_guest_conn_disconnect (f->conn);
      pd_guest_conn_connect (f->conn, FALSE, T0, f->out);
      g_autofree char *hello = g_strdup_printf ("\nHELLO 5 %s " HELLO_FACTS "\n", cases[i].offer);
      feed (f, hello);
      g_autofree char *out = take_out (f);
      if (cases[i].ready)
        {
          g_autofree char *want
              = g_strdup_printf ("\nREADY 5 %s agent=" PACKAGE_VERSION "\n", cases[i].ready);
          g_assert_cmpstr (out, ==, want);
          g_assert_cmpuint (pd_guest_conn_get_proto (f->conn), ==, cases[i].ready[6] - '0');
        }
      else
        {
          g_assert_true (g_str_has_prefix (out, "ERROR 5 code=unsupported-version text="));
          g_assert_false (pd_guest_conn_is_ready (f->conn));
          g_assert_cmpuint (pd_guest_conn_get_proto (f->conn), ==, 0);
        }
      g_ptr_array_set_size (f->effects, 0);
    }
}

#define ITEM0                                                                                      \
  "HOST-ITEM 3 n=0 check=vm-hookscript vmid=100 state=fail "                                       \
  "text=VM%20100%27s%20hookscript%20is%20missing. fix=chmod%20+x%20/x.sh\n"
#define ITEM1 "HOST-ITEM 3 n=1 check=network-reset vmid=0 state=warn text=NIC%20reset.\n"

static void
handshake_v2 (Fixture *f)
{
  pd_guest_conn_connect (f->conn, FALSE, T0, f->out);
  feed (f, "\nHELLO 7 " HELLO_V2 "\n");
  g_assert_cmpuint (pd_guest_conn_get_proto (f->conn), ==, 2);
  g_string_truncate (f->out, 0);
  g_ptr_array_set_size (f->effects, 0);
}

/* A report is shown once all its items came; nothing is ever answered;
 * items of other reports, out of range or repeated are ignored. */
static void
test_report (Fixture *f, gconstpointer data)
{
  handshake_v2 (f);
  g_assert_null (pd_guest_conn_get_report (f->conn));
  feed (f, "HOST-REPORT 3 state=fail time=1796000000 ok=21 warn=1 fail=1 items=2\n");
  g_assert_null (pd_guest_conn_get_report (f->conn));
  feed (f, ITEM0);
  feed (f, "HOST-ITEM 2 n=1 check=other vmid=0 state=fail text=old%20report\n"); /* other id */
  feed (f, "HOST-ITEM 3 n=2 check=other vmid=0 state=fail text=out%20of%20range\n");
  feed (f, "HOST-ITEM 3 n=0 check=other vmid=0 state=fail text=repeated\n");
  assert_effects (f, NULL);
  g_assert_null (pd_guest_conn_get_report (f->conn));
  feed (f, ITEM1);
  assert_effects (f, "changed", NULL);
  g_assert_cmpstr (f->out->str, ==, ""); /* never answered */

  const PdHostReport *r = pd_guest_conn_get_report (f->conn);
  g_assert_nonnull (r);
  g_assert_cmpuint (r->id, ==, 3);
  g_assert_cmpint (r->state, ==, PD_HOST_REPORT_FAIL);
  g_assert_cmpuint (r->time, ==, 1796000000);
  g_assert_cmpuint (r->n_ok, ==, 21);
  g_assert_cmpuint (r->n_warn, ==, 1);
  g_assert_cmpuint (r->n_fail, ==, 1);
  g_assert_true (pd_host_report_is_complete (r));
  g_assert_cmpstr (r->items[0]->check, ==, "vm-hookscript");
  g_assert_cmpuint (r->items[0]->vmid, ==, 100);
  g_assert_cmpint (r->items[0]->state, ==, PD_HOST_REPORT_FAIL);
  g_assert_cmpstr (r->items[0]->text, ==, "VM 100's hookscript is missing.");
  g_assert_cmpstr (r->items[0]->fix, ==, "chmod +x /x.sh");
  g_assert_cmpstr (r->items[1]->check, ==, "network-reset");
  g_assert_cmpuint (r->items[1]->vmid, ==, 0);
  g_assert_null (r->items[1]->fix);
  g_assert_null (r->items[2]);

  /* A new report replaces it once complete; unknown words read as warn. */
  feed (f, "HOST-REPORT 9 state=maybe time=1796000100 ok=22 warn=1 fail=0 items=1\n");
  g_assert_cmpuint (pd_guest_conn_get_report (f->conn)->id, ==, 3);
  feed (f, "HOST-ITEM 9 n=0 check=new-check vmid=0 state=odd text=Something%20new.\n");
  assert_effects (f, "changed", NULL);
  r = pd_guest_conn_get_report (f->conn);
  g_assert_cmpuint (r->id, ==, 9);
  g_assert_cmpint (r->state, ==, PD_HOST_REPORT_WARN);
  g_assert_cmpint (r->items[0]->state, ==, PD_HOST_REPORT_WARN);
  g_assert_cmpint (pd_host_report_worst (r), ==, PD_HOST_REPORT_WARN);

  /* No items: shown at once; a host saying ok with a failed item is failed. */
  feed (f, "HOST-REPORT 10 state=ok time=1796000200 ok=23 warn=0 fail=0 items=0\n");
  assert_effects (f, "changed", NULL);
  g_assert_cmpint (pd_host_report_worst (pd_guest_conn_get_report (f->conn)), ==,
                   PD_HOST_REPORT_OK);
  feed (f, "HOST-REPORT 11 state=ok time=1796000300 ok=23 warn=0 fail=0 items=1\n"
           "HOST-ITEM 11 n=0 check=x vmid=0 state=fail text=Broken.\n");
  g_assert_cmpint (pd_host_report_worst (pd_guest_conn_get_report (f->conn)), ==,
                   PD_HOST_REPORT_FAIL);
  /* Over the bounds: the codec refuses, the guest says bad-args. */
  g_string_truncate (f->out, 0);
  feed (f, "HOST-REPORT 12 state=fail time=1 ok=0 warn=0 fail=17 items=17\n");
  g_assert_true (g_str_has_prefix (f->out->str, "ERROR 12 code=bad-args"));
  g_assert_cmpuint (pd_guest_conn_get_report (f->conn)->id, ==, 11);
}

/* The connection ends mid-report: what came is shown; the report outlives
 * the connection and a reconnect, until a new one is complete; a version 1
 * host drops it. */
static void
test_report_reconnect (Fixture *f, gconstpointer data)
{
  handshake_v2 (f);
  feed (f, "HOST-REPORT 3 state=fail time=1796000000 ok=21 warn=1 fail=1 items=2\n" ITEM0);
  g_assert_null (pd_guest_conn_get_report (f->conn));
  pd_guest_conn_disconnect (f->conn);
  const PdHostReport *r = pd_guest_conn_get_report (f->conn);
  g_assert_nonnull (r);
  g_assert_false (pd_host_report_is_complete (r));
  g_assert_cmpuint (r->n_received, ==, 1);
  g_assert_nonnull (r->items[0]);
  g_assert_null (r->items[1]);
  /* Late items after the end are not taken (no connection, and another
   * connection's report would carry another id anyway). */
  g_assert_cmpuint (pd_guest_conn_get_proto (f->conn), ==, 0);

  handshake_v2 (f);
  g_assert_true (pd_guest_conn_get_report (f->conn) == r);
  feed (f, "HOST-REPORT 1 state=ok time=1796000500 ok=23 warn=0 fail=0 items=0\n");
  g_assert_cmpuint (pd_guest_conn_get_report (f->conn)->id, ==, 1);

  /* A downgraded host sends no reports: the old one goes. */
  pd_guest_conn_disconnect (f->conn);
  g_assert_nonnull (pd_guest_conn_get_report (f->conn));
  handshake (f);
  g_assert_cmpuint (pd_guest_conn_get_proto (f->conn), ==, 1);
  g_assert_null (pd_guest_conn_get_report (f->conn));
  /* ... and what it would send anyway is ignored without an answer. */
  feed (f, "HOST-REPORT 3 state=fail time=1796000000 ok=21 warn=1 fail=1 items=0\n");
  g_assert_null (pd_guest_conn_get_report (f->conn));
  g_assert_cmpstr (f->out->str, ==, "");
  assert_effects (f, NULL);
}

static void
test_phase_names (void)
{
  const char *const all[] = { "requested",   "accepted", "refused", "shutting-down", "stopped",
                              "cooling-off", "starting", "done",    "failed",        "cancelled" };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      PdColdRestartPhase p = pd_cold_restart_phase_from_string (all[i]);
      g_assert_cmpint (p, !=, PD_COLD_RESTART_PHASE_UNKNOWN);
      g_assert_cmpstr (pd_cold_restart_phase_to_string (p), ==, all[i]);
    }
  g_assert_cmpint (pd_cold_restart_phase_from_string ("idle"), ==, PD_COLD_RESTART_PHASE_UNKNOWN);
  g_assert_cmpint (pd_cold_restart_phase_from_string (NULL), ==, PD_COLD_RESTART_PHASE_UNKNOWN);
  g_assert_null (pd_cold_restart_phase_to_string (PD_COLD_RESTART_PHASE_UNKNOWN));
  /* The tray's list of "under way", as it was. */
  const char *const active[] = { "requested", "accepted", "shutting-down", "stopped", "starting" };
  guint n_active = 0;
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    if (pd_cold_restart_phase_is_active (pd_cold_restart_phase_from_string (all[i])))
      {
        g_assert_true (g_strv_contains (active, all[i]) || FALSE);
        n_active++;
      }
  g_assert_cmpuint (n_active, ==, G_N_ELEMENTS (active));
  g_assert_false (pd_cold_restart_phase_is_active (PD_COLD_RESTART_PHASE_UNKNOWN));
  g_assert_true (pd_cold_restart_phase_is_final (PD_COLD_RESTART_PHASE_DONE));
  g_assert_true (pd_cold_restart_phase_is_final (PD_COLD_RESTART_PHASE_FAILED));
  g_assert_true (pd_cold_restart_phase_is_final (PD_COLD_RESTART_PHASE_CANCELLED));
  g_assert_false (pd_cold_restart_phase_is_final (PD_COLD_RESTART_PHASE_STOPPED));
}

/* Issue 13, defect 1: HELLOs queued in the port while the guest booted
 * (the previous cycle's result, then this one's) arrive in one read. Each
 * is answered, but only the latest result is reported, once. */
static void
test_queued_hellos (Fixture *f, gconstpointer data)
{
  pd_guest_conn_connect (f->conn, FALSE, T0, f->out);
  feed (f, "\nHELLO 1 " HELLO_ARGS " last=failed last-id=4 last-time=1795990000 "
           "last-text=qm%20start%20failed\n"
           "\nHELLO 2 " HELLO_ARGS " last=ok last-id=5 last-time=1795999999 "
           "last-text=The%20VM%20was%20shut%20down%20and%20started%20again.\n");
  g_autofree char *out = take_out (f);
  g_assert_cmpstr (out, ==,
                   "\nREADY 1 proto=1 agent=" PACKAGE_VERSION "\n"
                   "\nREADY 2 proto=1 agent=" PACKAGE_VERSION "\n");
  assert_effects (
      f, "changed", "event hostlink.connected: Connected to the host helper on pve (VM 100).",
      "changed", "reported 5 1795999999",
      "event hostlink.last-cycle: The last cold restart succeeded. The VM was shut down "
      "and started again.",
      NULL);
  /* The older cycle's result arriving late is not news either. */
  feed (f, "HELLO 3 " HELLO_ARGS " last=failed last-id=4 last-time=1795990000\n");
  assert_effects (f, "changed", NULL);
  g_assert_cmpuint (pd_guest_conn_get_host (f->conn)->last_id, ==, 4);
}

/* Once per cycle and boot: a later agent life (pd_guest_conn_set_reported
 * from what the earlier one kept) does not report it again. */
static void
test_reported_once (Fixture *f, gconstpointer data)
{
  pd_guest_conn_set_reported (f->conn, 5, 1795999999);
  pd_guest_conn_connect (f->conn, FALSE, T0, f->out);
  feed (f, "\nHELLO 1 " HELLO_ARGS " last=ok last-id=5 last-time=1795999999\n");
  assert_effects (f, "changed",
                  "event hostlink.connected: Connected to the host helper on pve (VM 100).", NULL);
  feed (f, "HELLO 2 " HELLO_ARGS " last=failed last-id=6 last-time=1796000100\n");
  assert_effects (f, "changed", "reported 6 1796000100",
                  "event hostlink.last-cycle: The last cold restart failed.", NULL);
  /* Reconnecting (hostd restarted) brings the same result: not news. */
  pd_guest_conn_disconnect (f->conn);
  pd_guest_conn_connect (f->conn, FALSE, T0 + S (5), f->out);
  feed (f, "\nHELLO 1 " HELLO_ARGS " last=failed last-id=6 last-time=1796000100\n");
  assert_effects (f, "event hostlink.disconnected: The host helper disconnected.", "changed",
                  "event hostlink.connected: Connected to the host helper on pve (VM 100).", NULL);
  /* A host without last-id: a later end time is news, the same one is not. */
  feed (f, "HELLO 2 " HELLO_ARGS " last=ok last-time=1796000100\n");
  assert_effects (f, "changed", NULL);
  feed (f, "HELLO 3 " HELLO_ARGS " last=ok last-time=1796000200\n");
  assert_effects (f, "changed", "reported 0 1796000200",
                  "event hostlink.last-cycle: The last cold restart succeeded.", NULL);
}

/* Issue 13, defect 2: the figures count down from when the HELLO came,
 * computed when asked (no timer); rate-left is what is allowed now,
 * day-left the day's budget. A host without day-left sent the day's budget
 * as rate-left. */
static void
test_rate_countdown (Fixture *f, gconstpointer data)
{
  pd_guest_conn_connect (f->conn, FALSE, T0, f->out);
  f->now = T0 + S (2);
  feed (f, "\nHELLO 1 proto=1 proto-min=1 host=pve vmid=100 enabled=1 cool-off-min=5 "
           "cool-off-max=120 cool-off-default=10 rate-max=1 rate-window=120 day-max=6 "
           "rate-left=0 day-left=5 next-allowed-in=54\n");
  const PdHostInfo *h = pd_guest_conn_get_host (f->conn);
  g_assert_cmpint (pd_guest_conn_next_wakeup (f->conn), ==, -1);
  g_assert_cmpuint (pd_host_info_next_allowed_in (h, T0 + S (2)), ==, 54);
  g_assert_cmpuint (pd_host_info_next_allowed_in (h, T0 + S (17)), ==, 39);
  g_assert_cmpuint (pd_host_info_next_allowed_in (h, T0 + S (17) + 1), ==, 39);
  g_assert_cmpuint (pd_host_info_allowed_now (h, T0 + S (17)), ==, 0);
  g_assert_cmpuint (pd_host_info_next_allowed_in (h, T0 + S (56)), ==, 0);
  g_assert_cmpuint (pd_host_info_allowed_now (h, T0 + S (56)), ==, 1);
  g_assert_cmpuint (pd_host_info_day_left (h), ==, 5);

  feed (f, "HELLO 2 proto=1 proto-min=1 host=pve vmid=100 enabled=1 cool-off-min=5 "
           "cool-off-max=120 cool-off-default=10 rate-max=1 rate-window=120 day-max=6 "
           "rate-left=6 next-allowed-in=0\n");
  h = pd_guest_conn_get_host (f->conn);
  g_assert_cmpuint (pd_host_info_allowed_now (h, T0 + S (3)), ==, 1);
  g_assert_cmpuint (pd_host_info_day_left (h), ==, 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/guest-conn/handshake", test_handshake);
  ADD ("/guest-conn/bad-version", test_bad_version);
  ADD ("/guest-conn/versions", test_versions);
  ADD ("/guest-conn/report", test_report);
  ADD ("/guest-conn/report-reconnect", test_report_reconnect);
  ADD ("/guest-conn/hello-timers", test_hello_timers);
  ADD ("/guest-conn/request-accepted", test_request_accepted);
  ADD ("/guest-conn/request-refused", test_request_refused);
  ADD ("/guest-conn/request-reboot", test_request_reboot);
  ADD ("/guest-conn/request-invalid", test_request_invalid);
  ADD ("/guest-conn/request-timeout", test_request_timeout);
  ADD ("/guest-conn/cancel-and-abandon", test_cancel_and_abandon);
  ADD ("/guest-conn/disconnect", test_disconnect);
  ADD ("/guest-conn/bad-lines", test_bad_lines);
  ADD ("/guest-conn/queued-hellos", test_queued_hellos);
  ADD ("/guest-conn/reported-once", test_reported_once);
  ADD ("/guest-conn/rate-countdown", test_rate_countdown);
  g_test_add_func ("/cold-restart-phase/names", test_phase_names);
  return g_test_run ();
}
