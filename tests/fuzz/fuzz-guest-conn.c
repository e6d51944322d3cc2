/* fuzz-guest-conn.c - libFuzzer target for the guest's end of the host link
 * (agent/guest/guest-conn.c), the part that eats host bytes.
 *
 * Input: byte 0 picks the setup (bit 0: the port was freshly opened; bit 1:
 * ask for a cold restart as soon as the link is ready), byte 1 the chunk
 * size; the rest is what the host sends, fed in chunks with the clock moving
 * on and the core's timers run when due. A chunk that starts with 0xFE asks
 * for a cold restart, 0xFD cancels, 0xFC abandons the wait, 0xFB drops and
 * remakes the connection.
 * Checked: every line the guest writes decodes and is a guest verb; before
 * the handshake it writes only READY, RESYNC and ERROR; at most 5 ERRORs per
 * connection; the output stays bounded; the pending request is answered
 * exactly once and only while one is pending; the core's idea of "pending"
 * matches ours; the host's facts exist exactly while ready; the host
 * report stays within its bounds (at most 16 items, each taken once, texts
 * within 400 bytes) and never exists while a version 1 host is connected. */
#include <stdint.h>
#include <string.h>

#include <gio/gio.h>

#include "codec.h"
#include "guest-conn.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  PdGuestConn *conn;
  gboolean pending;
  guint answers;
  guint requests;
} Fake;

static void
fake_event (gpointer data, const char *kind, const char *text)
{
  g_assert_true (g_str_has_prefix (kind, "hostlink."));
}

static void
fake_progress (gpointer data, PdColdRestartPhase phase, const char *wire, const char *text)
{
  g_assert_nonnull (wire);
  if (phase != PD_COLD_RESTART_PHASE_UNKNOWN)
    g_assert_cmpstr (wire, ==, pd_cold_restart_phase_to_string (phase));
}

static void
fake_answered (gpointer data, GError *error)
{
  Fake *f = data;
  g_assert_true (f->pending);
  g_assert_false (pd_guest_conn_has_pending (f->conn));
  f->pending = FALSE;
  f->answers++;
  g_clear_error (&error);
}

static void
fake_changed (gpointer data)
{
  Fake *f = data;
  g_assert_true (pd_guest_conn_is_ready (f->conn) == (pd_guest_conn_get_host (f->conn) != NULL));
}

static void
check_report (PdGuestConn *conn)
{
  const PdHostReport *r = pd_guest_conn_get_report (conn);
  if (r == NULL)
    return;
  g_assert_cmpuint (r->n_items, <=, PD_HL_MAX_REPORT_ITEMS);
  guint present = 0;
  for (guint i = 0; i < PD_HL_MAX_REPORT_ITEMS; i++)
    {
      const PdHostReportItem *it = r->items[i];
      if (it == NULL)
        continue;
      g_assert_cmpuint (i, <, r->n_items);
      g_assert_cmpuint (strlen (it->text), <=, PD_HL_MAX_REPORT_TEXT);
      g_assert_true (it->fix == NULL || strlen (it->fix) <= PD_HL_MAX_REPORT_TEXT);
      g_assert_true (it->state == PD_HOST_REPORT_WARN || it->state == PD_HOST_REPORT_FAIL);
      present++;
    }
  g_assert_cmpuint (present, ==, r->n_received);
  /* A version 1 host's connection never has one. */
  g_assert_true (pd_guest_conn_get_proto (conn) != 1);
}

static const PdGuestConnOps ops = { fake_event, fake_progress, fake_answered, fake_changed };

/* Checks the lines written since *@checked; counts ERRORs of this connection. */
static void
check_output (Fake *f, GString *out, gsize *checked, guint *errors)
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
        g_error ("guest wrote a line that does not decode (%s): %.*s", error->message, (int) len,
                 start);
      g_assert_true (pd_hl_verb_sent_by_guest (m->verb));
      if (m->verb == PD_HL_VERB_ERROR)
        g_assert_cmpuint (++*errors, <=, PD_GUEST_CONN_MAX_ERRORS_SENT);
    }
}

static void
act (Fake *f, guint8 what, gint64 now, GString *out, guint *errors)
{
  switch (what)
    {
    case 0xFE:
      if (pd_guest_conn_is_ready (f->conn) && !f->pending)
        {
          g_autoptr (GError) error = NULL;
          g_assert_true (pd_guest_conn_request (f->conn, "fuzz", 30, now, out, &error));
          f->pending = TRUE;
          f->requests++;
        }
      break;
    case 0xFD:
      pd_guest_conn_cancel (f->conn, out);
      g_assert_false (f->pending);
      break;
    case 0xFC:
      pd_guest_conn_abandon (f->conn);
      f->pending = FALSE;
      break;
    case 0xFB:
      pd_guest_conn_disconnect (f->conn);
      g_assert_false (f->pending);
      g_assert_false (pd_guest_conn_is_ready (f->conn));
      pd_guest_conn_connect (f->conn, TRUE, now, out);
      *errors = 0;
      break;
    default:
      break;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  guint8 mode = data[0];
  gsize chunk = 1 + data[1] % 64;
  data += 2;
  size -= 2;

  Fake f = { 0 };
  g_autoptr (GString) out = g_string_new (NULL);
  gsize checked = 0;
  guint errors = 0;
  gint64 now = 1000000;
  f.conn = pd_guest_conn_new (&ops, &f, 41);
  pd_guest_conn_connect (f.conn, mode & 1, now, out);
  check_output (&f, out, &checked, &errors);

  gsize fed = 0;
  guint actions = 0;
  while (fed < size)
    {
      gsize n = MIN (chunk, size - fed);
      if (data[fed] >= 0xFB)
        {
          act (&f, data[fed], now, out, &errors);
          actions++;
        }
      gboolean was_ready = pd_guest_conn_is_ready (f.conn);
      gsize before = out->len;
      pd_guest_conn_feed (f.conn, (const char *) data + fed, n, now, out);
      if (!was_ready && !pd_guest_conn_is_ready (f.conn))
        {
          /* Before the handshake: nothing but READY, RESYNC, ERROR. */
          for (gsize i = before; i < out->len; i++)
            if (i == before || out->str[i - 1] == '\n')
              g_assert_true (out->str[i] == '\n' || g_str_has_prefix (out->str + i, "READY ")
                             || g_str_has_prefix (out->str + i, "RESYNC ")
                             || g_str_has_prefix (out->str + i, "ERROR "));
        }
      if ((mode & 2) && pd_guest_conn_is_ready (f.conn) && f.requests == 0)
        act (&f, 0xFE, now, out, &errors);
      fed += n;
      now += (data[fed - 1] & 0x0F) * 500000;
      gint64 next = pd_guest_conn_next_wakeup (f.conn);
      if (next >= 0 && next <= now)
        {
          pd_guest_conn_tick (f.conn, now, out);
          actions++;
        }
      g_assert_true (f.pending == pd_guest_conn_has_pending (f.conn));
      g_assert_true (pd_guest_conn_is_ready (f.conn) == (pd_guest_conn_get_host (f.conn) != NULL));
      check_report (f.conn);
      check_output (&f, out, &checked, &errors);
      /* Each host byte makes at most one reply line (≤ 1024 bytes), plus
       * what each action or timer writes. */
      g_assert_cmpuint (out->len, <=, 2048 * (fed + 4 + 2 * actions));
    }
  g_assert_cmpuint (f.answers, <=, f.requests);
  pd_guest_conn_free (f.conn);
  return 0;
}
