/* guest-conn.c - the guest's end of one hostlink connection (pure core). */
#include "config.h"

#include "guest-conn.h"
#include "hl-text.h"
#include "pd-i18n.h"

#include <string.h>

#include "hostlink-guest.h" /* PD_HOSTLINK_ERROR */

typedef enum
{
  CONN_IDLE = 0, /* no host client */
  CONN_WAIT_HELLO,
  CONN_READY,
} ConnState;

struct _PdGuestConn
{
  const PdGuestConnOps *ops;
  gpointer user_data;

  ConnState state;
  PdHlLineBuf *linebuf;
  guint32 next_id;
  guint errors_sent;
  gboolean garbage_reported;

  gint64 connected_at;
  gint64 now;           /* of the current feed */
  gboolean resync_done; /* the RESYNC after RESYNC_AFTER_S was sent */
  gboolean silent;

  PdHostInfo *host; /* the latest HELLO of this connection */
  guint32 proto;    /* the version we answered the latest HELLO with */
  /* The host doctor's summary (protocol 2): the one shown, kept across a
   * reconnect until a newer one is complete, and the one being received. */
  PdHostReport *report;
  PdHostReport *assembling;
  /* The newest result reported ("hostlink.last-cycle"), in this life or an
   * earlier one of this boot (pd_guest_conn_set_reported). */
  gboolean reported_any;
  guint32 reported_id;
  guint32 reported_time;
  gboolean last_due; /* a HELLO came in this feed: judge its last cycle at the end */

  guint32 pending_id; /* RESTART waiting for ACCEPT/REFUSE; 0: none */
  gint64 pending_deadline;
  guint32 active_id; /* the latest RESTART (pending or accepted) */
  guint32 timed_out_id;

  gboolean reboot_cold;           /* READY says reboot-cold=1 */
  guint32 accepted_shutdown_timeout; /* of the latest ACCEPT */
};

/* --- PdHostInfo --- */

PdHostInfo *
pd_host_info_new_from_hello (const PdHlMessage *m, gint64 now_us)
{
  if (m == NULL || m->verb != PD_HL_VERB_HELLO)
    return NULL;
  PdHostInfo *info = g_new0 (PdHostInfo, 1);
  /* pd_hl_decode checked that the required keys are there with their types. */
  info->host = g_strdup (pd_hl_message_get (m, "host"));
  pd_hl_message_get_uint (m, "vmid", &info->vmid);
  pd_hl_message_get_bool (m, "enabled", &info->enabled);
  pd_hl_message_get_uint (m, "cool-off-min", &info->cool_off_min);
  pd_hl_message_get_uint (m, "cool-off-max", &info->cool_off_max);
  pd_hl_message_get_uint (m, "cool-off-default", &info->cool_off_default);
  pd_hl_message_get_uint (m, "rate-max", &info->rate_max);
  pd_hl_message_get_uint (m, "rate-window", &info->rate_window);
  pd_hl_message_get_uint (m, "day-max", &info->day_max);
  pd_hl_message_get_uint (m, "rate-left", &info->rate_left);
  info->has_day_left = pd_hl_message_get_uint (m, "day-left", &info->day_left);
  pd_hl_message_get_uint (m, "next-allowed-in", &info->next_allowed_in);
  info->received_at = now_us;
  info->has_last_id = pd_hl_message_get_uint (m, "last-id", &info->last_id);
  /* Optional (hosts before the reboot conversion do not send it). */
  pd_hl_message_get_bool (m, "reboot-cold", &info->reboot_cold);
  const char *last = pd_hl_message_get (m, "last");
  info->has_last = last != NULL;
  info->last_ok = g_strcmp0 (last, "ok") == 0;
  info->has_last_time = pd_hl_message_get_uint (m, "last-time", &info->last_time);
  info->has_last_duration = pd_hl_message_get_uint (m, "last-duration", &info->last_duration);
  /* The host's sentences are English; their recipes (hl-text.h) go into
   * the sentence book, so each client reads them in its own language. */
  info->last_text = g_strdup (pd_hl_text_book (m, "last-text"));
  return info;
}

guint32
pd_host_info_next_allowed_in (const PdHostInfo *info, gint64 now_us)
{
  gint64 passed = MAX (0, now_us - info->received_at);
  gint64 left = (gint64) info->next_allowed_in * G_USEC_PER_SEC - passed;
  return left > 0 ? (guint32) ((left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC) : 0;
}

guint32
pd_host_info_allowed_now (const PdHostInfo *info, gint64 now_us)
{
  if (pd_host_info_next_allowed_in (info, now_us) > 0)
    return 0;
  /* A host from before day-left sent the day's budget as rate-left. */
  guint32 now
      = info->has_day_left ? info->rate_left : MIN (info->rate_left, MAX (info->rate_max, 1));
  /* The wait the host named is over: the next one is allowed. */
  if (info->next_allowed_in > 0)
    now = MAX (now, 1);
  return now;
}

guint32
pd_host_info_day_left (const PdHostInfo *info)
{
  return info->has_day_left ? info->day_left : info->rate_left;
}

void
pd_host_info_free (PdHostInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->host);
  g_free (info->last_text);
  g_free (info);
}

/* --- output --- */

static void
send_msg (PdGuestConn *conn, PdHlMessage *msg, gboolean leading_lf, GString *out)
{
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  g_autofree char *line = pd_hl_encode (msg, &len, &error);
  if (!line)
    {
      g_critical ("hostlink: cannot encode %s: %s", pd_hl_verb_to_string (msg->verb),
                  error->message);
      return;
    }
  if (leading_lf)
    g_string_append_c (out, '\n');
  g_string_append_len (out, line, (gssize) len);
}

static guint32
new_id (PdGuestConn *conn)
{
  if (++conn->next_id == 0)
    conn->next_id = 1;
  return conn->next_id;
}

static void
send_resync (PdGuestConn *conn, GString *out)
{
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_RESYNC, new_id (conn));
  send_msg (conn, m, TRUE, out);
}

static void
send_error (PdGuestConn *conn, guint32 id, const char *code, const char *text, GString *out)
{
  if (conn->errors_sent >= PD_GUEST_CONN_MAX_ERRORS_SENT)
    return;
  conn->errors_sent++;
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_ERROR, id);
  pd_hl_message_set (m, "code", code);
  if (text)
    pd_hl_message_set (m, "text", text);
  send_msg (conn, m, FALSE, out);
}

static void
send_cancel (PdGuestConn *conn, guint32 request, GString *out)
{
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_CANCEL, new_id (conn));
  pd_hl_message_set_uint (m, "request", request);
  send_msg (conn, m, FALSE, out);
}

/* --- effects --- */

static void
emit_event (PdGuestConn *conn, const char *kind, const char *text)
{
  g_debug ("hostlink event %s: %s", kind, text);
  conn->ops->event (conn->user_data, kind, text);
}

static void
emit_progress (PdGuestConn *conn, PdColdRestartPhase phase, const char *wire, const char *text)
{
  conn->ops->progress (conn->user_data, phase,
                       wire ? wire : pd_cold_restart_phase_to_string (phase), text);
}

static void
finish_pending (PdGuestConn *conn, GError *error /* taken; NULL: accepted */)
{
  conn->pending_id = 0;
  conn->pending_deadline = -1;
  conn->ops->answered (conn->user_data, error);
}

/* --- life --- */

PdGuestConn *
pd_guest_conn_new (const PdGuestConnOps *ops, gpointer user_data, guint32 first_id)
{
  PdGuestConn *conn = g_new0 (PdGuestConn, 1);
  conn->ops = ops;
  conn->user_data = user_data;
  conn->linebuf = pd_hl_line_buf_new ();
  conn->next_id = first_id;
  conn->pending_deadline = -1;
  return conn;
}

void
pd_guest_conn_free (PdGuestConn *conn)
{
  if (conn == NULL)
    return;
  pd_hl_line_buf_free (conn->linebuf);
  pd_host_info_free (conn->host);
  pd_host_report_free (conn->report);
  pd_host_report_free (conn->assembling);
  g_free (conn);
}

void
pd_guest_conn_connect (PdGuestConn *conn, gboolean fresh_open, gint64 now_us, GString *out)
{
  /* The resync rule: whatever precedes the first LF may be half a line. */
  pd_hl_line_buf_reset (conn->linebuf, TRUE);
  conn->errors_sent = 0;
  conn->garbage_reported = FALSE;
  conn->silent = FALSE;
  conn->resync_done = FALSE;
  conn->connected_at = now_us;
  conn->state = CONN_WAIT_HELLO;
  /* Opened while a host was already there: its HELLO may have gone to the
   * previous opener, so ask for one (a duplicate HELLO is harmless). */
  if (fresh_open)
    send_resync (conn, out);
}

void
pd_guest_conn_disconnect (PdGuestConn *conn)
{
  gboolean was_ready = conn->state == CONN_READY;
  conn->state = CONN_IDLE;
  conn->silent = FALSE;
  conn->proto = 0;
  g_clear_pointer (&conn->host, pd_host_info_free);
  /* A report cut off by the end of the connection is shown with what came. */
  if (conn->assembling)
    {
      pd_host_report_free (conn->report);
      conn->report = g_steal_pointer (&conn->assembling);
    }
  if (conn->pending_id)
    finish_pending (conn, g_error_new_literal (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE,
                                               "The host link went away before the host "
                                               "answered; nothing was done."));
  if (was_ready)
    emit_event (conn, "hostlink.disconnected", "The host helper disconnected.");
}

/* --- incoming lines --- */

/* Whether the latest HELLO's last cycle is newer than the one reported. */
static gboolean
last_cycle_is_new (PdGuestConn *conn, const PdHostInfo *h)
{
  guint32 t = h->has_last_time ? h->last_time : 0;
  if (!conn->reported_any)
    return TRUE;
  if (h->has_last_id && h->last_id > conn->reported_id)
    return TRUE;
  /* A host without last-id, or one that numbers from 1 again (its state
   * was lost): only a later end time is news. */
  if (!h->has_last_id || h->last_id < conn->reported_id)
    return t > conn->reported_time;
  return FALSE;
}

static void
report_last_cycle (PdGuestConn *conn)
{
  const PdHostInfo *h = conn->host;
  if (!h->has_last || !last_cycle_is_new (conn, h))
    return;
  conn->reported_any = TRUE;
  conn->reported_id = h->has_last_id ? h->last_id : 0;
  conn->reported_time = h->has_last_time ? h->last_time : 0;
  if (conn->ops->reported)
    conn->ops->reported (conn->user_data, conn->reported_id, conn->reported_time);
  g_autofree char *sentence = g_strdup_printf (
      "%s %s", h->last_ok ? "The last cold restart succeeded." : "The last cold restart failed.",
      h->last_text ? h->last_text : "");
  g_strchomp (sentence);
  emit_event (conn, "hostlink.last-cycle", sentence);
}

static void
handle_hello (PdGuestConn *conn, const PdHlMessage *m, GString *out)
{
  guint32 proto = 0, proto_min = 0;
  pd_hl_message_get_uint (m, "proto", &proto);
  pd_hl_message_get_uint (m, "proto-min", &proto_min);
  /* The highest version both speak; version 1 hosts stay welcome. */
  guint32 chosen = MIN (proto, (guint32) PD_HL_PROTOCOL_VERSION_HOST_REPORT);
  if (chosen < PD_HL_PROTOCOL_VERSION || chosen < proto_min)
    {
      send_error (conn, m->id, PD_HL_ERR_UNSUPPORTED_VERSION,
                  "This guest agent speaks hostlink protocol versions 1 and 2 only.", out);
      emit_event (conn, "hostlink.protocol-error",
                  "The host helper speaks another protocol version; update passdesk on "
                  "the host or in the VM so both match.");
      return;
    }
  gboolean was_ready = conn->state == CONN_READY;

  g_autoptr (PdHlMessage) ready = pd_hl_message_new (PD_HL_VERB_READY, m->id);
  pd_hl_message_set_uint (ready, "proto", chosen);
  pd_hl_message_set (ready, "agent", PACKAGE_VERSION);
  if (conn->reboot_cold)
    pd_hl_message_set (ready, "reboot-cold", "1");
  send_msg (conn, ready, TRUE, out);

  conn->proto = chosen;
  if (chosen < PD_HL_PROTOCOL_VERSION_HOST_REPORT)
    {
      /* This host sends no reports: an earlier host's would never be
       * replaced. */
      g_clear_pointer (&conn->report, pd_host_report_free);
      g_clear_pointer (&conn->assembling, pd_host_report_free);
    }

  pd_host_info_free (conn->host);
  conn->host = pd_host_info_new_from_hello (m, conn->now);
  conn->state = CONN_READY;
  conn->ops->changed (conn->user_data);

  if (conn->host == NULL)
    return; /* the caller disconnected us from inside changed */
  if (!was_ready)
    {
      g_autofree char *text = pd_i18n_sprintf ("Connected to the host helper on %s (VM %u).",
                                               conn->host->host, conn->host->vmid);
      emit_event (conn, "hostlink.connected", text);
    }
  /* Judged when the feed is done: HELLOs queued while the port was closed
   * arrive together, and only the latest one's result counts. */
  conn->last_due = TRUE;
}

static void
handle_answer (PdGuestConn *conn, const PdHlMessage *m, GString *out)
{
  gboolean accept = m->verb == PD_HL_VERB_ACCEPT;
  const char *text = pd_hl_text_book (m, "text");
  if (conn->pending_id && m->id == conn->pending_id)
    {
      if (accept)
        {
          conn->accepted_shutdown_timeout = 0;
          pd_hl_message_get_uint (m, "shutdown-timeout", &conn->accepted_shutdown_timeout);
          emit_progress (conn, PD_COLD_RESTART_PHASE_ACCEPTED, NULL, text);
          finish_pending (conn, NULL);
        }
      else
        {
          conn->active_id = 0;
          emit_progress (conn, PD_COLD_RESTART_PHASE_REFUSED, NULL, text);
          finish_pending (conn,
                          g_error_new (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_REFUSED, "%s", text));
        }
      return;
    }
  if (accept && m->id == conn->timed_out_id)
    {
      /* We told our caller "timeout, nothing happens": hold the host to it. */
      send_cancel (conn, m->id, out);
      emit_event (conn, "hostlink.late-accept",
                  "The host accepted a cold restart after the request had timed out; "
                  "it was asked to cancel it.");
      return;
    }
  if (!accept)
    emit_event (conn, "hostlink.cancel-refused", text); /* a refused CANCEL */
}

static void
handle_reply (PdGuestConn *conn, const PdHlMessage *m, GString *out)
{
  if (m->verb == PD_HL_VERB_ACCEPT || m->verb == PD_HL_VERB_REFUSE)
    {
      handle_answer (conn, m, out);
      return;
    }
  if (m->verb == PD_HL_VERB_PROGRESS)
    {
      if (m->id != conn->active_id && m->id != conn->timed_out_id)
        return;
      const char *wire = pd_hl_message_get (m, "phase");
      PdColdRestartPhase phase = pd_cold_restart_phase_from_string (wire);
      emit_progress (conn, phase, wire, pd_hl_text_book (m, "text"));
      if (pd_cold_restart_phase_is_final (phase))
        conn->active_id = 0;
      return;
    }
  if (m->verb == PD_HL_VERB_ERROR)
    {
      const char *code = pd_hl_message_get (m, "code");
      const char *text = pd_hl_message_get (m, "text");
      g_autofree char *msg = pd_i18n_sprintf ("The host helper reported a protocol error (%s)%s%s",
                                              code, text ? ": " : ".", text ? text : "");
      if (conn->pending_id && m->id == conn->pending_id)
        {
          conn->active_id = 0;
          finish_pending (conn,
                          g_error_new (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_PROTOCOL, "%s", msg));
        }
      else
        emit_event (conn, "hostlink.protocol-error", msg);
      return;
    }
  /* OK, PONG, STATUS-REPLY: nothing waits for them here. */
}

/* The shown report changes once a report is complete, not per item. */
static void
show_if_complete (PdGuestConn *conn)
{
  if (!conn->assembling || !pd_host_report_is_complete (conn->assembling))
    return;
  pd_host_report_free (conn->report);
  conn->report = g_steal_pointer (&conn->assembling);
  conn->ops->changed (conn->user_data);
}

/* Never answered (PROTOCOL.md 4a); ignored from a version 1 host. */
static void
handle_host_report (PdGuestConn *conn, const PdHlMessage *m)
{
  if (conn->proto < PD_HL_PROTOCOL_VERSION_HOST_REPORT)
    return;
  if (m->verb == PD_HL_VERB_HOST_REPORT)
    {
      pd_host_report_free (conn->assembling);
      conn->assembling = pd_host_report_new (m);
    }
  else if (!conn->assembling || !pd_host_report_add_item (conn->assembling, m))
    return;
  show_if_complete (conn);
}

static void
handle_line (PdGuestConn *conn, const char *line, gsize len, GString *out)
{
  if (len == 0)
    return;
  g_autoptr (GError) error = NULL;
  guint32 bad_id = 0;
  g_autoptr (PdHlMessage) m = pd_hl_decode (line, len, &bad_id, &error);

  if (conn->state != CONN_READY)
    {
      /* Before the handshake only a well-formed HELLO counts. */
      if (m && m->verb == PD_HL_VERB_HELLO)
        handle_hello (conn, m, out);
      return;
    }
  if (!m)
    {
      if (!conn->garbage_reported)
        {
          conn->garbage_reported = TRUE;
          g_autofree char *text = pd_i18n_sprintf (
              "The host helper sent a line this agent cannot read: %s", error->message);
          emit_event (conn, "hostlink.protocol-error", text);
        }
      /* Never answer something that may itself be an ERROR. */
      if (!(len >= 6 && memcmp (line, "ERROR ", 6) == 0))
        send_error (conn, bad_id, pd_hl_codec_error_wire_code (error->code), error->message, out);
      return;
    }
  if (!pd_hl_verb_sent_by_host (m->verb))
    {
      send_error (conn, m->id, PD_HL_ERR_UNEXPECTED, "The guest does not accept this verb.", out);
      return;
    }
  switch (m->verb)
    {
    case PD_HL_VERB_HELLO:
      handle_hello (conn, m, out);
      break;
    case PD_HL_VERB_HOST_REPORT:
    case PD_HL_VERB_HOST_ITEM:
      handle_host_report (conn, m);
      break;
    case PD_HL_VERB_PING:
      {
        g_autoptr (PdHlMessage) pong = pd_hl_message_new (PD_HL_VERB_PONG, m->id);
        send_msg (conn, pong, FALSE, out);
      }
      break;
    default:
      handle_reply (conn, m, out);
      break;
    }
}

void
pd_guest_conn_set_reported (PdGuestConn *conn, guint32 last_id, guint32 last_time)
{
  conn->reported_any = TRUE;
  conn->reported_id = last_id;
  conn->reported_time = last_time;
}

void
pd_guest_conn_feed (PdGuestConn *conn, const char *data, gsize len, gint64 now_us, GString *out)
{
  conn->now = now_us;
  conn->last_due = FALSE;
  /* An effect may disconnect us (a caller reacting to an answer). */
  while (len > 0 && conn->state != CONN_IDLE)
    {
      gsize used = 0;
      const char *line = NULL;
      gsize line_len = 0;
      PdHlLineStatus st = pd_hl_line_buf_push (conn->linebuf, data, len, &used, &line, &line_len);
      data += used;
      len -= used;
      if (st == PD_HL_LINE_READY)
        handle_line (conn, line, line_len, out);
      else if (st == PD_HL_LINE_TOO_LONG && conn->state == CONN_READY)
        send_error (conn, 0, PD_HL_ERR_LINE_TOO_LONG, NULL, out);
    }
  if (conn->last_due && conn->state == CONN_READY && conn->host)
    report_last_cycle (conn);
  conn->last_due = FALSE;
}

/* --- time --- */

void
pd_guest_conn_tick (PdGuestConn *conn, gint64 now_us, GString *out)
{
  if (conn->state == CONN_WAIT_HELLO && !conn->resync_done
      && now_us >= conn->connected_at + PD_GUEST_CONN_RESYNC_AFTER_S * G_USEC_PER_SEC)
    {
      conn->resync_done = TRUE;
      send_resync (conn, out);
    }
  if (conn->state == CONN_WAIT_HELLO && conn->resync_done && !conn->silent
      && now_us >= conn->connected_at + PD_GUEST_CONN_SILENT_AFTER_S * G_USEC_PER_SEC)
    {
      conn->silent = TRUE;
      conn->ops->changed (conn->user_data);
    }
  if (conn->pending_id && now_us >= conn->pending_deadline)
    {
      guint32 id = conn->pending_id;
      /* Make "nothing happens" hold even if the host acts late. */
      send_cancel (conn, id, out);
      conn->timed_out_id = id;
      conn->active_id = 0;
      emit_progress (conn, PD_COLD_RESTART_PHASE_FAILED, NULL, "The host did not answer in time.");
      finish_pending (conn, g_error_new (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_TIMEOUT,
                                         "The host helper did not answer the cold-restart "
                                         "request within %d s; nothing was done. Check "
                                         "“systemctl status passdesk-hostd” on the host.",
                                         PD_GUEST_CONN_REQUEST_TIMEOUT_S));
    }
}

gint64
pd_guest_conn_next_wakeup (PdGuestConn *conn)
{
  gint64 next = -1;
  if (conn->state == CONN_WAIT_HELLO && !conn->silent)
    next = conn->connected_at
           + (conn->resync_done ? PD_GUEST_CONN_SILENT_AFTER_S : PD_GUEST_CONN_RESYNC_AFTER_S)
                 * G_USEC_PER_SEC;
  if (conn->pending_id && (next < 0 || conn->pending_deadline < next))
    next = conn->pending_deadline;
  return next;
}

/* --- requests --- */

gboolean
pd_guest_conn_check_reason (const char *reason, GError **error)
{
  if (reason && (strlen (reason) > PD_HL_MAX_REASON || !g_utf8_validate (reason, -1, NULL)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("The reason must be UTF-8 text of at most %d bytes."), PD_HL_MAX_REASON);
      return FALSE;
    }
  return TRUE;
}

static gboolean
send_request (PdGuestConn *conn, const char *reason, guint cool_off_s, gboolean reboot,
              gint64 now_us, GString *out, GError **error)
{
  g_return_val_if_fail (conn->state == CONN_READY && !conn->pending_id, FALSE);
  if (!pd_guest_conn_check_reason (reason, error))
    return FALSE;
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_RESTART, new_id (conn));
  if (reason && *reason)
    pd_hl_message_set (m, "reason", reason);
  if (cool_off_s > 0)
    pd_hl_message_set_uint (m, "cool-off", (guint32) MIN (cool_off_s, G_MAXUINT32));
  if (reboot)
    pd_hl_message_set (m, "kind", "reboot");
  g_autoptr (GError) local = NULL;
  gsize len = 0;
  g_autofree char *line = pd_hl_encode (m, &len, &local);
  if (!line)
    {
      /* Control characters in the reason, for instance. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _ ("The request cannot be sent: %s"), local->message);
      return FALSE;
    }
  g_string_append_len (out, line, (gssize) len);
  conn->pending_id = m->id;
  conn->active_id = m->id;
  conn->pending_deadline = now_us + PD_GUEST_CONN_REQUEST_TIMEOUT_S * G_USEC_PER_SEC;
  emit_progress (conn, PD_COLD_RESTART_PHASE_REQUESTED, NULL, "Asked the host for a cold restart.");
  return TRUE;
}

gboolean
pd_guest_conn_request (PdGuestConn *conn, const char *reason, guint cool_off_s, gint64 now_us,
                       GString *out, GError **error)
{
  return send_request (conn, reason, cool_off_s, FALSE, now_us, out, error);
}

gboolean
pd_guest_conn_request_reboot (PdGuestConn *conn, const char *reason, gint64 now_us, GString *out,
                              GError **error)
{
  return send_request (conn, reason, 0, TRUE, now_us, out, error);
}

void
pd_guest_conn_set_reboot_cold (PdGuestConn *conn, gboolean will_convert)
{
  conn->reboot_cold = will_convert;
}

guint32
pd_guest_conn_get_shutdown_timeout (PdGuestConn *conn)
{
  return conn->accepted_shutdown_timeout;
}

void
pd_guest_conn_abandon (PdGuestConn *conn)
{
  conn->pending_id = 0;
  conn->pending_deadline = -1;
}

gboolean
pd_guest_conn_cancel (PdGuestConn *conn, GString *out)
{
  if (!conn->active_id)
    return FALSE;
  send_cancel (conn, conn->active_id, out);
  if (conn->pending_id)
    finish_pending (conn, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               "The cold-restart request was withdrawn."));
  return TRUE;
}

/* --- state --- */

gboolean
pd_guest_conn_is_connected (PdGuestConn *conn)
{
  return conn->state != CONN_IDLE;
}

gboolean
pd_guest_conn_is_ready (PdGuestConn *conn)
{
  return conn->state == CONN_READY;
}

gboolean
pd_guest_conn_is_silent (PdGuestConn *conn)
{
  return conn->state == CONN_WAIT_HELLO && conn->silent;
}

gboolean
pd_guest_conn_has_pending (PdGuestConn *conn)
{
  return conn->pending_id != 0;
}

const PdHostInfo *
pd_guest_conn_get_host (PdGuestConn *conn)
{
  return conn->state == CONN_READY ? conn->host : NULL;
}

guint32
pd_guest_conn_get_proto (PdGuestConn *conn)
{
  return conn->state == CONN_READY ? conn->proto : 0;
}

const PdHostReport *
pd_guest_conn_get_report (PdGuestConn *conn)
{
  return conn->report;
}
