/* hostd-conn.c - the per-connection protocol core of passdesk-hostd. */
#include "hostd-conn.h"
#include "pd-i18n.h"

#include "codec.h"
#include "hl-text.h"
#include "hostd-doctor.h"

#include <string.h>

/* Bad lines a guest may send in a burst, and how fast that allowance refills. */
#define ERROR_BURST 16
#define ERROR_REFILL_US (10 * G_USEC_PER_SEC)

struct _PdHostdConn
{
  PdHostdConnOps ops;
  gpointer user_data;
  PdHlLineBuf *lines;
  guint32 next_id;  /* for HELLO */
  guint32 hello_id; /* the latest HELLO's id */
  gboolean ready;
  guint proto; /* chosen by the guest's READY */
  char *agent;
  PdHostdGuestReboot guest_reboot; /* from READY */
  guint handshakes;                /* READYs accepted */
  guint error_tokens;
  gint64 error_refill_at;
  guint sent_rate_left; /* the figures of the latest HELLO */
  guint sent_day_left;
  /* The latest refusal made from a format and its KEY-spans: a guest that
   * repeats a refused request gets the same sentence, whose recipe is then
   * not worked out again (cheap refusals keep a flood cheap). */
  char *refusal_text;
  char *refusal_spans;
};

PdHostdConn *
pd_hostd_conn_new (const PdHostdConnOps *ops, gpointer user_data)
{
  PdHostdConn *c = g_new0 (PdHostdConn, 1);
  c->ops = *ops;
  c->user_data = user_data;
  c->lines = pd_hl_line_buf_new ();
  c->next_id = 1;
  c->error_tokens = ERROR_BURST;
  return c;
}

void
pd_hostd_conn_free (PdHostdConn *c)
{
  if (c == NULL)
    return;
  pd_hl_line_buf_free (c->lines);
  g_free (c->agent);
  g_free (c->refusal_text);
  g_free (c->refusal_spans);
  g_free (c);
}

gboolean
pd_hostd_conn_is_ready (PdHostdConn *c)
{
  return c->ready;
}

guint
pd_hostd_conn_get_handshakes (PdHostdConn *c)
{
  return c->handshakes;
}

guint
pd_hostd_conn_get_proto (PdHostdConn *c)
{
  return c->ready ? c->proto : 0;
}

const char *
pd_hostd_conn_get_agent (PdHostdConn *c)
{
  return c->agent;
}

PdHostdGuestReboot
pd_hostd_conn_get_guest_reboot (PdHostdConn *c)
{
  return c->ready ? c->guest_reboot : PD_HOSTD_GUEST_REBOOT_UNSAID;
}

/* Encodes @msg onto @out. A message that does not fit the line limit is cut
 * down by dropping its longest text value step by step; messages built here
 * are otherwise valid, so a failure is a bug and is only logged. */
static void
send_msg (PdHostdConn *c, PdHlMessage *msg, GString *out)
{
  for (int attempt = 0; attempt < 6; attempt++)
    {
      gsize len;
      g_autoptr (GError) error = NULL;
      g_autofree char *line = pd_hl_encode (msg, &len, &error);
      if (line)
        {
          g_string_append_len (out, line, (gssize) len);
          return;
        }
      /* Recipes go first: the guest then shows the English text. */
      if (pd_hl_text_drop_recipe (msg, "fix") || pd_hl_text_drop_recipe (msg, "last-text")
          || pd_hl_text_drop_recipe (msg, "text"))
        {
          attempt--;
          continue;
        }
      /* Shorten the longest value (texts are the only long ones). */
      PdHlArg *longest = NULL;
      for (guint i = 0; i < msg->args->len; i++)
        {
          PdHlArg *a = msg->args->pdata[i];
          if (longest == NULL || strlen (a->value) > strlen (longest->value))
            longest = a;
        }
      if (longest == NULL || strlen (longest->value) < 8)
        {
          g_warning ("hostd-conn: cannot encode %s: %s", pd_hl_verb_to_string (msg->verb),
                     error->message);
          return;
        }
      /* Cut at a UTF-8 boundary, keeping a third. */
      gsize keep = strlen (longest->value) / 3;
      const char *end = g_utf8_find_prev_char (longest->value, longest->value + keep + 1);
      gsize cut = end ? (gsize) (end - longest->value) : 0;
      g_autofree char *shorter = g_strndup (longest->value, cut);
      g_free (longest->value);
      longest->value = g_strconcat (shorter, "...", NULL);
    }
}

static void
send_error (PdHostdConn *c, guint32 id, const char *code, const char *text, GString *out)
{
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_ERROR, id);
  pd_hl_message_set (m, "code", code);
  if (text)
    pd_hl_message_set (m, "text", text);
  send_msg (c, m, out);
}

static void
send_refuse (PdHostdConn *c, guint32 id, const char *code, const char *text, guint retry_in,
             GString *out)
{
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_REFUSE, id);
  pd_hl_message_set (m, "code", code);
  pd_hl_text_set (m, "text", text, NULL);
  if (retry_in)
    pd_hl_message_set_uint (m, "retry-in", retry_in);
  send_msg (c, m, out);
}

static void send_refuse_printf (PdHostdConn *c, guint32 id, const char *code, guint retry_in,
                                GString *out, const char *fmt, ...) G_GNUC_PRINTF (6, 7);

/* A refusal made from @fmt (an English msgid), with its recipe. */
static void
send_refuse_printf (PdHostdConn *c, guint32 id, const char *code, guint retry_in, GString *out,
                    const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *text = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (g_strcmp0 (text, c->refusal_text) != 0)
    {
      va_start (ap, fmt);
      g_autoptr (PdMsg) m = pd_msg_new_valist (fmt, ap);
      va_end (ap);
      g_autoptr (PdHlMessage) tmp = pd_hl_message_new (PD_HL_VERB_REFUSE, id);
      pd_hl_text_set (tmp, "text", m->english, m);
      g_free (c->refusal_text);
      g_free (c->refusal_spans);
      c->refusal_text = g_strdup (text);
      c->refusal_spans = g_strdup (pd_hl_message_get (tmp, "text-spans"));
    }
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_REFUSE, id);
  pd_hl_message_set (m, "code", code);
  pd_hl_message_set (m, "text", text);
  if (c->refusal_spans)
    pd_hl_message_set (m, "text-spans", c->refusal_spans);
  if (retry_in)
    pd_hl_message_set_uint (m, "retry-in", retry_in);
  send_msg (c, m, out);
}

/* The fields HELLO and STATUS-REPLY share. */
static void
set_policy_fields (PdHlMessage *m, const PdHostdView *v)
{
  pd_hl_message_set (m, "enabled", v->policy.enabled ? "1" : "0");
  pd_hl_message_set_uint (m, "cool-off-min", v->policy.cool_off_min);
  pd_hl_message_set_uint (m, "cool-off-max", v->policy.cool_off_max);
  pd_hl_message_set_uint (m, "cool-off-default", v->policy.cool_off);
  pd_hl_message_set_uint (m, "rate-max", 1);
  pd_hl_message_set_uint (m, "rate-window", v->policy.min_interval);
  pd_hl_message_set_uint (m, "day-max", v->policy.max_per_day);
  pd_hl_message_set_uint (m, "rate-left", v->rate_left);
  pd_hl_message_set_uint (m, "day-left", v->day_left);
  pd_hl_message_set_uint (m, "next-allowed-in", v->next_allowed_in);
  if (v->last)
    {
      const PdCycleResult *r = v->last;
      gint64 ended = r->started / G_USEC_PER_SEC + r->duration_ms / 1000;
      pd_hl_message_set (m, "last", r->ok ? "ok" : "failed");
      if (r->serial)
        pd_hl_message_set_uint (m, "last-id", r->serial);
      pd_hl_message_set_uint (m, "last-time", (guint32) CLAMP (ended, 0, G_MAXUINT32));
      pd_hl_message_set_uint (m, "last-duration",
                              (guint32) CLAMP ((r->duration_ms + 500) / 1000, 0, G_MAXUINT32));
      if (r->message && *r->message)
        pd_hl_text_set (m, "last-text", r->message, r->message_msg);
    }
}

static void
get_view (PdHostdConn *c, PdHostdView *v)
{
  memset (v, 0, sizeof *v);
  c->ops.view (c->user_data, v);
  if (v->host_name == NULL)
    v->host_name = "host";
  if (v->cycle == NULL)
    v->cycle = "idle";
  if (v->vm_state == NULL)
    v->vm_state = "unknown";
}

static void
send_hello (PdHostdConn *c, GString *out)
{
  PdHostdView v;
  get_view (c, &v);
  c->hello_id = c->next_id++;
  if (c->next_id == 0)
    c->next_id = 1;
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_HELLO, c->hello_id);
  pd_hl_message_set_uint (m, "proto", PD_HL_PROTOCOL_VERSION_HOST_REPORT);
  pd_hl_message_set_uint (m, "proto-min", PD_HL_PROTOCOL_VERSION);
  pd_hl_message_set (m, "host", v.host_name);
  pd_hl_message_set_uint (m, "vmid", v.vmid);
  set_policy_fields (m, &v);
  pd_hl_message_set (m, "reboot-cold", v.policy.reboot_cold ? "1" : "0");
  send_msg (c, m, out);
  c->sent_rate_left = v.rate_left;
  c->sent_day_left = v.day_left;
}

/* After an ACCEPT, a rate-limited REFUSE or a successful CANCEL (the answers
 * that can change the budget, or show the guest's was stale): a fresh HELLO
 * when the budget the guest was told no longer holds. Other refusals cost
 * no second view, so a flood of them stays cheap. */
static void
refresh_figures (PdHostdConn *c, GString *out)
{
  PdHostdView v;
  get_view (c, &v);
  if (c->ready && (v.rate_left != c->sent_rate_left || v.day_left != c->sent_day_left))
    send_hello (c, out);
}

void
pd_hostd_conn_start (PdHostdConn *c, GString *out)
{
  pd_hl_line_buf_reset (c->lines, TRUE);
  c->ready = FALSE;
  g_string_append_c (out, '\n');
  send_hello (c, out);
}

void
pd_hostd_conn_rehello (PdHostdConn *c, GString *out)
{
  /* On a ready connection a repeated HELLO only brings new facts (a
   * cycle's result): requests racing with it are still served. */
  send_hello (c, out);
}

void
pd_hostd_conn_progress (PdHostdConn *c, guint32 request_id, const char *phase, const char *text,
                        GString *out)
{
  if (request_id == 0)
    return;
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_PROGRESS, request_id);
  pd_hl_message_set (m, "phase", phase);
  pd_hl_text_set (m, "text", text, NULL);
  send_msg (c, m, out);
}

/* ---- the doctor's summary (protocol 2) ---- */

static gint
cmp_severity (gconstpointer a, gconstpointer b)
{
  const PdDoctorFinding *x = *(PdDoctorFinding *const *) a, *y = *(PdDoctorFinding *const *) b;
  return (int) y->state - (int) x->state;
}

/* Cuts @s to at most @max bytes at a UTF-8 boundary, marking the cut. */
static char *
bounded_text (const char *s, gsize max)
{
  if (strlen (s) <= max)
    return g_strdup (s);
  const char *end = g_utf8_find_prev_char (s, s + max - 3 + 1);
  g_autofree char *head = g_strndup (s, end ? (gsize) (end - s) : 0);
  return g_strconcat (head, "...", NULL);
}

static gboolean
fits (const PdHlMessage *m)
{
  g_autofree char *line = pd_hl_encode (m, NULL, NULL);
  return line != NULL;
}

static void
remove_key (PdHlMessage *m, const char *key)
{
  for (guint k = m->args->len; k-- > 0;)
    if (strcmp (((PdHlArg *) m->args->pdata[k])->key, key) == 0)
      g_ptr_array_remove_index (m->args, k);
}

void
pd_hostd_conn_report (PdHostdConn *c, GPtrArray *findings, gint64 checked_at, GString *out)
{
  if (!c->ready || c->proto < PD_HL_PROTOCOL_VERSION_HOST_REPORT)
    return;
  guint n[3] = { 0, 0, 0 };
  g_autoptr (GPtrArray) items = g_ptr_array_new ();
  for (guint i = 0; i < findings->len; i++)
    {
      PdDoctorFinding *f = findings->pdata[i];
      n[MIN ((guint) f->state, 2u)]++;
      if (f->state != PD_DOCTOR_OK)
        g_ptr_array_add (items, f);
    }
  /* Stable: fails first, then warnings, each in the doctor's order. */
  g_ptr_array_sort (items, cmp_severity);
  guint count = MIN (items->len, (guint) PD_HL_MAX_REPORT_ITEMS);
  guint32 id = c->next_id++;
  if (c->next_id == 0)
    c->next_id = 1;
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_HOST_REPORT, id);
  pd_hl_message_set (m, "state", n[2] ? "fail" : n[1] ? "warn" : "ok");
  pd_hl_message_set_uint (m, "time", (guint32) CLAMP (checked_at, 0, G_MAXUINT32));
  pd_hl_message_set_uint (m, "ok", n[0]);
  pd_hl_message_set_uint (m, "warn", n[1]);
  pd_hl_message_set_uint (m, "fail", n[2]);
  pd_hl_message_set_uint (m, "items", count);
  send_msg (c, m, out);
  for (guint i = 0; i < count; i++)
    {
      PdDoctorFinding *f = items->pdata[i];
      g_autoptr (PdHlMessage) it = pd_hl_message_new (PD_HL_VERB_HOST_ITEM, id);
      g_autofree char *text = bounded_text (f->text, PD_HL_MAX_REPORT_TEXT);
      pd_hl_message_set_uint (it, "n", i);
      pd_hl_message_set (it, "check", f->check);
      pd_hl_message_set_uint (it, "vmid", f->vmid);
      pd_hl_message_set (it, "state", pd_doctor_state_to_string (f->state));
      pd_hl_text_set (it, "text", text, f->text_msg);
      /* The fix goes along when the line has room for it; the sentence
       * matters more to the guest than the host's command. */
      if (f->fix)
        {
          g_autofree char *fix = bounded_text (f->fix, PD_HL_MAX_REPORT_TEXT);
          pd_hl_text_set (it, "fix", fix, f->fix_msg);
          /* What goes when the line is too long, in turn: the fix's
           * recipe, the text's, then the fix itself (with the text's
           * recipe back in the room it leaves). */
          if (!fits (it))
            pd_hl_text_drop_recipe (it, "fix");
          if (!fits (it))
            pd_hl_text_drop_recipe (it, "text");
          if (!fits (it))
            {
              remove_key (it, "fix");
              pd_hl_text_set (it, "text", text, f->text_msg);
            }
        }
      send_msg (c, it, out);
    }
}

/* ---- requests ---- */

static void
handle_restart (PdHostdConn *c, const PdHlMessage *msg, GString *out)
{
  PdHostdView v;
  get_view (c, &v);
  guint32 asked = 0;
  gboolean has_cool_off = pd_hl_message_get (msg, "cool-off") != NULL;
  if (has_cool_off && !pd_hl_message_get_uint (msg, "cool-off", &asked))
    {
      send_refuse (c, msg->id, PD_HL_REFUSE_BAD_REQUEST,
                   N_ ("The cool-off value is not a number; this is a bug in the guest agent."), 0,
                   out);
      return;
    }
  /* kind=reboot: the guest is going down for a reboot and converts it only
   * with the host's word; refused, it reboots in place. */
  const char *kind = pd_hl_message_get (msg, "kind");
  gboolean reboot = g_strcmp0 (kind, "reboot") == 0;
  if (kind && !reboot && strcmp (kind, "request") != 0)
    {
      send_refuse (c, msg->id, PD_HL_REFUSE_BAD_REQUEST,
                   N_ ("The request is of a kind this host does not know (it knows request and "
                       "reboot); update passdesk on the host or in the VM so both match."),
                   0, out);
      return;
    }
  if (reboot && !v.policy.reboot_cold)
    {
      send_refuse_printf (
          c, msg->id, PD_HL_REFUSE_DISABLED, 0, out,
          "The host does not turn VM %u's reboots into cold restarts, so this reboot is a plain "
          "one. To change that, run passdesk-hostd setup %u --reboot-as-cold-restart on the "
          "host.",
          v.vmid, v.vmid);
      return;
    }
  if (!v.policy.enabled)
    {
      send_refuse_printf (
          c, msg->id, PD_HL_REFUSE_DISABLED, 0, out,
          "Cold restart is disabled for VM %u on this host. Ask the host's administrator to set "
          "enabled=true in /etc/passdesk/hostd.conf.",
          v.vmid);
      return;
    }
  if (g_strcmp0 (v.cycle, "idle") != 0)
    {
      send_refuse (c, msg->id, PD_HL_REFUSE_BUSY,
                   N_ ("A cold restart of this VM is already running. Wait for it to finish."), 0,
                   out);
      return;
    }
  guint cool_off = asked ? asked : v.policy.cool_off;
  if (asked && (asked < v.policy.cool_off_min || asked > v.policy.cool_off_max))
    {
      send_refuse_printf (
          c, msg->id, PD_HL_REFUSE_OUT_OF_RANGE, 0, out,
          "The host allows a cool-off from %u to %u s; %u s was asked. Ask for a value in that "
          "range or none for the default (%u s).",
          v.policy.cool_off_min, v.policy.cool_off_max, asked, v.policy.cool_off);
      return;
    }
  if (v.next_allowed_in > 0)
    {
      send_refuse_printf (
          c, msg->id, PD_HL_REFUSE_RATE_LIMITED, v.next_allowed_in, out,
          "This VM may be cold-restarted at most once per %u s and %u times a day; the next one "
          "is allowed in %u s. Try again then.",
          v.policy.min_interval, v.policy.max_per_day, v.next_allowed_in);
      refresh_figures (c, out);
      return;
    }
  g_autofree char *why = NULL;
  const char *reason = pd_hl_message_get (msg, "reason");
  if (!c->ops.restart (c->user_data, msg->id, cool_off, reason ? reason : "", reboot, &why))
    {
      send_refuse (c, msg->id, PD_HL_REFUSE_HOST_ERROR,
                   why ? why : N_ ("The host could not start the cycle; see its journal."), 0, out);
      return;
    }
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_ACCEPT, msg->id);
  g_autofree char *text = NULL;
  pd_hl_message_set_uint (m, "cool-off", cool_off);
  pd_hl_message_set_uint (m, "shutdown-timeout", v.policy.shutdown_timeout);
  if (reboot)
    text = pd_i18n_sprintf ("The host turns this reboot into a cold restart: it will shut this VM "
                            "down, keep it off for %u s and start it again.",
                            cool_off);
  else
    text = pd_i18n_sprintf (
        "The host will shut this VM down, keep it off for %u s and start it again.", cool_off);
  pd_hl_text_set (m, "text", text, NULL);
  send_msg (c, m, out);
  refresh_figures (c, out);
}

static void
handle_cancel (PdHostdConn *c, const PdHlMessage *msg, GString *out)
{
  guint32 req = 0;
  if (!pd_hl_message_get_uint (msg, "request", &req))
    {
      send_refuse (c, msg->id, PD_HL_REFUSE_BAD_REQUEST,
                   N_ ("CANCEL needs request=ID; this is a bug in the guest agent."), 0, out);
      return;
    }
  switch (req != 0 ? c->ops.cancel (c->user_data, req) : PD_HOSTD_CANCEL_UNKNOWN)
    {
    case PD_HOSTD_CANCEL_CANCELLED:
      {
        g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_OK, msg->id);
        send_msg (c, m, out);
        pd_hostd_conn_progress (c, req, PD_HL_PHASE_CANCELLED,
                                N_ ("The cold restart was cancelled before the shutdown started; "
                                    "nothing was done."),
                                out);
        refresh_figures (c, out);
      }
      break;
    case PD_HOSTD_CANCEL_TOO_LATE:
      send_refuse (c, msg->id, PD_HL_REFUSE_TOO_LATE,
                   N_ ("The shutdown has already started; the VM will be started again when it has "
                       "stopped."),
                   0, out);
      break;
    case PD_HOSTD_CANCEL_UNKNOWN:
    default:
      send_refuse (c, msg->id, PD_HL_REFUSE_UNKNOWN_REQUEST,
                   N_ ("No running cold restart has that request id; nothing was cancelled."), 0,
                   out);
      break;
    }
}

static void
handle_status (PdHostdConn *c, const PdHlMessage *msg, GString *out)
{
  PdHostdView v;
  get_view (c, &v);
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_STATUS_REPLY, msg->id);
  pd_hl_message_set (m, "vm-state", v.vm_state);
  pd_hl_message_set (m, "cycle", v.cycle);
  set_policy_fields (m, &v);
  send_msg (c, m, out);
}

/* Spends one bad-line token; FALSE when none is left (close). */
static gboolean
spend_error (PdHostdConn *c, gint64 now)
{
  if (c->error_refill_at == 0)
    c->error_refill_at = now + ERROR_REFILL_US;
  while (now >= c->error_refill_at && c->error_tokens < ERROR_BURST)
    {
      c->error_tokens++;
      c->error_refill_at += ERROR_REFILL_US;
    }
  if (c->error_tokens == ERROR_BURST)
    c->error_refill_at = now + ERROR_REFILL_US;
  if (c->error_tokens == 0)
    return FALSE;
  c->error_tokens--;
  return TRUE;
}

/* Handles one complete line; FALSE to close the connection. */
static gboolean
handle_line (PdHostdConn *c, const char *line, gsize len, gint64 now, GString *out)
{
  guint32 bad_id = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHlMessage) msg = pd_hl_decode (line, len, &bad_id, &error);
  if (msg == NULL)
    {
      if (g_error_matches (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_EMPTY))
        return TRUE;
      if (!spend_error (c, now))
        return FALSE;
      const char *code = pd_hl_codec_error_wire_code (error->code);
      /* A host's verb from the guest is answered for its direction, not
       * for arguments it could never have right (PROTOCOL.md: unexpected). */
      const char *sp = memchr (line, ' ', len);
      PdHlVerb verb;
      if (g_error_matches (error, PD_HL_CODEC_ERROR, PD_HL_CODEC_ERROR_BAD_ARGS)
          && pd_hl_verb_from_string (line, sp ? (gsize) (sp - line) : len, &verb)
          && !pd_hl_verb_sent_by_guest (verb))
        code = PD_HL_ERR_UNEXPECTED;
      send_error (c, bad_id, code ? code : PD_HL_ERR_BAD_SYNTAX, NULL, out);
      return TRUE;
    }

  if (!pd_hl_verb_sent_by_guest (msg->verb))
    {
      if (!spend_error (c, now))
        return FALSE;
      send_error (c, msg->id, PD_HL_ERR_UNEXPECTED, NULL, out);
      return TRUE;
    }

  if (msg->verb == PD_HL_VERB_READY)
    {
      /* A READY to any HELLO of this connection proves the guest read a
       * whole line of ours after the resync; requiring the latest one would
       * race with a RESYNC crossing our HELLO (the guest answers the older
       * one and goes on). The latest HELLO's facts reach it anyway. */
      if (msg->id >= 1 && msg->id <= c->hello_id)
        {
          /* The answer to a HELLO that only brought new facts: the guest
           * has the report already. */
          gboolean again = c->ready;
          c->ready = TRUE;
          c->handshakes++;
          g_free (c->agent);
          c->agent = g_strdup (pd_hl_message_get (msg, "agent"));
          /* Absent: an agent from before the conversion; unreadable: no. */
          gboolean converts = FALSE;
          if (pd_hl_message_get (msg, "reboot-cold") == NULL)
            c->guest_reboot = PD_HOSTD_GUEST_REBOOT_UNSAID;
          else if (pd_hl_message_get_bool (msg, "reboot-cold", &converts) && converts)
            c->guest_reboot = PD_HOSTD_GUEST_REBOOT_YES;
          else
            c->guest_reboot = PD_HOSTD_GUEST_REBOOT_NO;
          guint32 proto = PD_HL_PROTOCOL_VERSION;
          pd_hl_message_get_uint (msg, "proto", &proto);
          c->proto = CLAMP (proto, PD_HL_PROTOCOL_VERSION, PD_HL_PROTOCOL_VERSION_HOST_REPORT);
          gint64 when = 0;
          GPtrArray *findings
              = !again && c->ops.report && c->proto >= PD_HL_PROTOCOL_VERSION_HOST_REPORT
                    ? c->ops.report (c->user_data, &when)
                    : NULL;
          if (findings)
            pd_hostd_conn_report (c, findings, when, out);
        }
      /* Other ids: a reply to nothing, ignored (PROTOCOL.md section 2). */
      return TRUE;
    }

  /* The guest asks for a HELLO (its agent restarted, or it missed ours):
   * a bare LF and a new HELLO restart the handshake. Spends the bad-line
   * allowance, so a RESYNC flood cannot become a HELLO flood. */
  if (msg->verb == PD_HL_VERB_RESYNC)
    {
      if (!spend_error (c, now))
        return FALSE;
      c->ready = FALSE;
      g_string_append_c (out, '\n');
      send_hello (c, out);
      return TRUE;
    }

  /* Replies and errors are never answered. */
  if (msg->verb == PD_HL_VERB_PONG || msg->verb == PD_HL_VERB_ERROR || msg->verb == PD_HL_VERB_OK)
    return TRUE;

  if (!c->ready)
    {
      if (!spend_error (c, now))
        return FALSE;
      send_error (c, msg->id, PD_HL_ERR_NOT_READY, NULL, out);
      return TRUE;
    }

  switch (msg->verb)
    {
    case PD_HL_VERB_RESTART:
      handle_restart (c, msg, out);
      break;
    case PD_HL_VERB_CANCEL:
      handle_cancel (c, msg, out);
      break;
    case PD_HL_VERB_STATUS:
      handle_status (c, msg, out);
      break;
    case PD_HL_VERB_PING:
      {
        g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_PONG, msg->id);
        send_msg (c, m, out);
      }
      break;
    default:
      if (!spend_error (c, now))
        return FALSE;
      send_error (c, msg->id, PD_HL_ERR_UNEXPECTED, NULL, out);
      break;
    }
  return TRUE;
}

gboolean
pd_hostd_conn_feed (PdHostdConn *c, const char *data, gsize len, gint64 now_us, GString *out,
                    guint *lines)
{
  gsize used;
  return pd_hostd_conn_feed_some (c, data, len, G_MAXUINT, now_us, out, lines, &used);
}

gboolean
pd_hostd_conn_feed_some (PdHostdConn *c, const char *data, gsize len, guint max_lines,
                         gint64 now_us, GString *out, guint *lines, gsize *used_total)
{
  guint n = 0;
  const char *start = data;
  gboolean keep = TRUE;
  while (len > 0 && n < max_lines)
    {
      gsize used = 0;
      const char *line = NULL;
      gsize line_len = 0;
      PdHlLineStatus st = pd_hl_line_buf_push (c->lines, data, len, &used, &line, &line_len);
      data += used;
      len -= used;
      if (st == PD_HL_LINE_NEED_MORE || (used == 0 && st != PD_HL_LINE_READY))
        break;
      n++;
      if (st == PD_HL_LINE_TOO_LONG)
        {
          if (!spend_error (c, now_us))
            {
              keep = FALSE;
              break;
            }
          send_error (c, 0, PD_HL_ERR_LINE_TOO_LONG, NULL, out);
          continue;
        }
      if (!handle_line (c, line, line_len, now_us, out))
        {
          keep = FALSE;
          break;
        }
    }
  if (lines)
    *lines = n;
  *used_total = (gsize) (data - start);
  return keep;
}
