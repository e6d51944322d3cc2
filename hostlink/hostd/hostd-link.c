/* hostd-link.c - one VM's channel connection. */
#define G_LOG_DOMAIN "passdesk-hostd"

#include "hostd-link.h"

#include "hostd-sched.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <sys/stat.h>

#define READ_CHUNK 4096
#define OUT_MAX (256 * 1024)
/* Token buckets: what one guest may make hostd chew per second. */
#define BYTES_BURST (1024 * 1024)
#define BYTES_PER_S (16 * 1024 * 1024)
#define LINES_BURST 500
#define LINES_PER_S 5000
#define RETRIES 6
#define ABUSE_RETRY_S 60
#define HELLO_FIRST_S 5
/* After HELLOs at 0, 5, 15 and 35 s hostd stops repeating itself: a guest
 * agent that starts later asks with RESYNC, so an agentless VM costs no
 * wakeups. */
#define HELLO_LAST_S 20
/* QEMU closing a connection before any handshake: retried after 200 ms,
 * doubling up to a minute. After QUIET_AFTER such closes in a row the
 * link logs once that it goes quiet, then nothing until a handshake. */
#define CLOSE_RETRY_MS 200
#define CLOSE_RETRY_MAX_MS (60 * 1000)
#define QUIET_AFTER 3

struct _PdHostdLink
{
  guint vmid;
  char vmid_str[16];
  char *path;
  PdHostdConnOps ops;
  PdHostdLinkStateFunc state_func;
  gpointer user_data;

  gboolean present;
  guint64 sock_dev, sock_ino; /* the socket file connected to (or being connected to) */
  GCancellable *connecting;
  GSocketConnection *conn;
  GSocket *socket;
  GSource *in_source;
  GSource *out_source;
  PdHostdConn *core;
  GString *out;
  guint generation;
  guint retry_id;
  guint retries;
  guint pause_id;
  guint hello_id;
  guint hello_delay_s;
  gboolean hello_gave_up;
  gboolean ready_reported;   /* state_func was told about this connection */
  guint handshakes_reported; /* ...and about this many of its READYs */
  guint quick_closes;        /* connections in a row closed by QEMU before a handshake */

  double byte_tokens;
  double line_tokens;
  gint64 tokens_at;
  PdSched *sched;      /* the overall budget, shared by all links */
  PdSchedClient share; /* this link's place in it */
  GByteArray *pending; /* read but not yet handled (over this pass's grant) */
};

static void link_log (PdHostdLink *l, GLogLevelFlags level, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);

static void
link_log (PdHostdLink *l, GLogLevelFlags level, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_log_structured (G_LOG_DOMAIN, level, "PASSDESK_VMID", l->vmid_str, "MESSAGE", "VM %u: %s",
                    l->vmid, msg);
}

/* Connect/disconnect lines, quiet while QEMU keeps closing at once. */
#define link_log_conn(l, ...)                                                                      \
  link_log ((l), (l)->quick_closes >= QUIET_AFTER ? G_LOG_LEVEL_DEBUG : G_LOG_LEVEL_MESSAGE,       \
            __VA_ARGS__)

static void start_connect (PdHostdLink *l);
static void close_link (PdHostdLink *l, const char *why, guint retry_after_ms);
static void watch_in (PdHostdLink *l);

/* The other end closed (or the socket failed). Before any handshake that
 * is something that accepts and closes (a stale or foreign socket): the
 * retry backs off, and the link goes quiet about it. */
static void
closed_by_peer (PdHostdLink *l, const char *why)
{
  guint retry_ms = CLOSE_RETRY_MS;
  if (!l->ready_reported)
    {
      retry_ms = MIN (CLOSE_RETRY_MS << MIN (l->quick_closes, 9), CLOSE_RETRY_MAX_MS);
      l->quick_closes++;
      if (l->quick_closes == QUIET_AFTER)
        link_log (l, G_LOG_LEVEL_MESSAGE,
                  "%s keeps closing the connection before any handshake; retrying with a "
                  "growing delay (up to %u s) and logging no more of it until a handshake "
                  "succeeds",
                  l->path, CLOSE_RETRY_MAX_MS / 1000);
    }
  close_link (l, why, retry_ms);
}

static gboolean
on_retry (gpointer data)
{
  PdHostdLink *l = data;
  l->retry_id = 0;
  if (l->present && l->conn == NULL && l->connecting == NULL)
    start_connect (l);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (PdHostdLink *l, guint ms)
{
  g_clear_handle_id (&l->retry_id, g_source_remove);
  l->retry_id = g_timeout_add (ms, on_retry, l);
}

/* Writes what is queued; FALSE when the link was closed. */
static gboolean flush (PdHostdLink *l);

static gboolean
on_writable (GSocket *socket, GIOCondition cond, gpointer data)
{
  PdHostdLink *l = data;
  g_source_destroy (l->out_source);
  g_source_unref (l->out_source);
  l->out_source = NULL;
  flush (l);
  return G_SOURCE_REMOVE;
}

static gboolean
flush (PdHostdLink *l)
{
  while (l->out->len > 0)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send (l->socket, l->out->str, l->out->len, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (n < 0)
        {
          closed_by_peer (l, error->message);
          return FALSE;
        }
      g_string_erase (l->out, 0, n);
    }
  if (l->out->len > OUT_MAX)
    {
      close_link (l, "the guest does not read what hostd sends", ABUSE_RETRY_S * 1000);
      return FALSE;
    }
  if (l->out->len > 0 && l->out_source == NULL)
    {
      l->out_source = g_socket_create_source (l->socket, G_IO_OUT, NULL);
      g_source_set_callback (l->out_source, (GSourceFunc) (GCallback) on_writable, l, NULL);
      g_source_attach (l->out_source, NULL);
    }
  return TRUE;
}

static void
refill (PdHostdLink *l, gint64 now)
{
  double dt = (now - l->tokens_at) / (double) G_USEC_PER_SEC;
  l->tokens_at = now;
  l->byte_tokens = MIN (BYTES_BURST, l->byte_tokens + dt * BYTES_PER_S);
  l->line_tokens = MIN (LINES_BURST, l->line_tokens + dt * LINES_PER_S);
}

static gboolean serve (PdHostdLink *l);

static gboolean
on_unpause (gpointer data)
{
  PdHostdLink *l = data;
  l->pause_id = 0;
  /* Lines already read come first; the socket is watched again when they are done. */
  if (l->pending->len == 0)
    watch_in (l);
  else
    serve (l);
  return G_SOURCE_REMOVE;
}

/* Stops reading this guest for @ms (its socket unwatched: no wakeups). */
static void
pause_for (PdHostdLink *l, guint ms)
{
  if (l->in_source)
    {
      g_source_destroy (l->in_source);
      l->in_source = NULL;
    }
  g_clear_handle_id (&l->pause_id, g_source_remove);
  l->pause_id = g_timeout_add (ms, on_unpause, l);
}

static gboolean
on_hello_timer (gpointer data)
{
  PdHostdLink *l = data;
  l->hello_id = 0;
  if (l->core == NULL || pd_hostd_conn_is_ready (l->core))
    return G_SOURCE_REMOVE;
  pd_hostd_conn_rehello (l->core, l->out);
  if (l->hello_delay_s >= HELLO_LAST_S)
    l->hello_gave_up = TRUE;
  else
    {
      l->hello_delay_s *= 2;
      l->hello_id = g_timeout_add_seconds (l->hello_delay_s, on_hello_timer, l);
    }
  flush (l);
  return G_SOURCE_REMOVE;
}

static void
update_hello_timer (PdHostdLink *l)
{
  if (l->core && pd_hostd_conn_is_ready (l->core))
    {
      g_clear_handle_id (&l->hello_id, g_source_remove);
      l->hello_delay_s = HELLO_FIRST_S;
    }
  else if (l->core && l->hello_id == 0 && !l->hello_gave_up)
    l->hello_id = g_timeout_add_seconds (l->hello_delay_s, on_hello_timer, l);
}

/* Handles what the guest sent, within its own bucket and its share of the
 * overall budget (hostd-sched.h). FALSE when the link was closed. Leaves
 * in_source as it was unless it pauses or closes the link. */
static gboolean
serve (PdHostdLink *l)
{
  gint64 now = g_get_monotonic_time ();
  refill (l, now);
  if (l->byte_tokens < READ_CHUNK || l->line_tokens < 1)
    {
      /* Out of its own budget: stop reading this guest until the bucket refills. */
      double need_s = MAX ((READ_CHUNK - l->byte_tokens) / BYTES_PER_S,
                           (LINES_BURST / 5.0 - l->line_tokens) / LINES_PER_S);
      pause_for (l, (guint) CLAMP (need_s * 1000 + 1, 1, 1000));
      return TRUE;
    }
  guint wait_ms = 0;
  guint grant = pd_sched_grant (l->sched, &l->share,
                                (guint) MIN (PD_SCHED_GRANT_MAX, l->line_tokens), now, &wait_ms);
  if (grant == 0)
    {
      pause_for (l, wait_ms);
      return TRUE;
    }

  gint64 work_start = now;
  if (l->pending->len == 0)
    {
      char buf[READ_CHUNK];
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_receive (l->socket, buf, sizeof buf, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return TRUE;
      if (n <= 0)
        {
          closed_by_peer (l, n == 0 ? "QEMU closed the connection" : error->message);
          return FALSE;
        }
      g_byte_array_append (l->pending, (const guint8 *) buf, (guint) n);
      l->byte_tokens -= n;
    }

  guint lines = 0;
  gsize used = 0;
  gboolean keep = pd_hostd_conn_feed_some (l->core, (const char *) l->pending->data,
                                           l->pending->len, grant, now, l->out, &lines, &used);
  g_byte_array_remove_range (l->pending, 0, (guint) used);
  l->line_tokens -= lines;
  if (!keep)
    {
      flush (l);
      if (l->conn)
        close_link (l, "too many bad lines from the guest", ABUSE_RETRY_S * 1000);
      return FALSE;
    }
  update_hello_timer (l);
  if (!l->ready_reported && pd_hostd_conn_is_ready (l->core))
    {
      l->ready_reported = TRUE;
      l->quick_closes = 0;
      /* Guest text: escaped (C1 controls and non-ASCII as octal) for the journal. */
      const char *agent = pd_hostd_conn_get_agent (l->core);
      g_autofree char *escaped = g_strescape (agent ? agent : "unknown", NULL);
      link_log (l, G_LOG_LEVEL_MESSAGE, "handshake complete (guest agent %s)", escaped);
      l->handshakes_reported = pd_hostd_conn_get_handshakes (l->core);
      if (l->state_func)
        l->state_func (l, TRUE, l->user_data);
    }
  else if (l->ready_reported && pd_hostd_conn_is_ready (l->core)
           && pd_hostd_conn_get_handshakes (l->core) != l->handshakes_reported)
    {
      /* The guest agent restarted behind a RESYNC: what it said may differ. */
      l->handshakes_reported = pd_hostd_conn_get_handshakes (l->core);
      if (l->state_func)
        l->state_func (l, TRUE, l->user_data);
    }
  gboolean flushed = flush (l);
  /* What the lines cost, replies sent, is what the shared budget pays. */
  gint64 end = g_get_monotonic_time ();
  pd_sched_charge (l->sched, &l->share, lines, end - work_start, end);
  if (!flushed)
    return FALSE; /* close_link() destroyed our source already */
  if (l->pending->len > 0)
    {
      /* More lines than this pass's grant: the rest waits its turn. */
      pd_sched_grant (l->sched, &l->share, 0, end, &wait_ms);
      pause_for (l, wait_ms);
    }
  else if (l->in_source == NULL && l->pause_id == 0)
    watch_in (l);
  return TRUE;
}

static gboolean
on_readable (GSocket *socket, GIOCondition cond, gpointer data)
{
  PdHostdLink *l = data;
  GSource *self = l->in_source;
  if (!serve (l))
    return G_SOURCE_REMOVE;
  /* serve() may have paused the link (destroying this source). */
  return l->in_source == self ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
watch_in (PdHostdLink *l)
{
  if (l->socket == NULL || l->in_source)
    return;
  l->in_source = g_socket_create_source (l->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (l->in_source, (GSourceFunc) (GCallback) on_readable, l, NULL);
  g_source_attach (l->in_source, NULL);
  g_source_unref (l->in_source); /* the context holds it; destroyed on close */
}

typedef struct
{
  PdHostdLink *link;
  GCancellable *cancel;
} Connecting;

static void
on_connected (GObject *src, GAsyncResult *res, gpointer data)
{
  Connecting *c = data;
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn = g_socket_client_connect_finish (G_SOCKET_CLIENT (src), res, &error);
  gboolean cancelled = g_cancellable_is_cancelled (c->cancel);
  PdHostdLink *l = c->link;
  g_object_unref (c->cancel);
  g_free (c);
  if (cancelled)
    {
      /* The link is gone or its socket vanished: l may be freed. */
      g_clear_object (&conn);
      return;
    }
  g_clear_object (&l->connecting);
  if (conn == NULL)
    {
      /* Right after the file appears QEMU may not listen yet. */
      if (l->present && l->retries < RETRIES)
        {
          guint ms = 100u << l->retries;
          l->retries++;
          schedule_retry (l, ms);
        }
      else
        link_log (l, G_LOG_LEVEL_MESSAGE,
                  "cannot connect to %s (%s); waiting for the VM to start again", l->path,
                  error->message);
      return;
    }
  l->conn = conn;
  l->socket = g_socket_connection_get_socket (conn);
  g_socket_set_blocking (l->socket, FALSE);
  l->generation++;
  l->retries = 0;
  l->core = pd_hostd_conn_new (&l->ops, l->user_data);
  l->tokens_at = g_get_monotonic_time ();
  l->byte_tokens = BYTES_BURST;
  l->line_tokens = LINES_BURST;
  pd_sched_client_init (&l->share, l->tokens_at);
  l->hello_delay_s = HELLO_FIRST_S;
  l->hello_gave_up = FALSE;
  link_log_conn (l, "connected to %s", l->path);
  pd_hostd_conn_start (l->core, l->out);
  update_hello_timer (l);
  watch_in (l);
  flush (l);
}

static void
start_connect (PdHostdLink *l)
{
  /* Checked again right before connecting: discovery saw a socket, but a
   * symlink or another file may have taken its name since. */
  struct stat st;
  if (lstat (l->path, &st) != 0 || !S_ISSOCK (st.st_mode))
    {
      link_log (l, G_LOG_LEVEL_MESSAGE,
                "%s is not a socket (a symlink or another file); not connecting", l->path);
      return;
    }
  l->sock_dev = st.st_dev;
  l->sock_ino = st.st_ino;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  /* A local socket: no proxy lookup (it could load GIO modules). */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (l->path);
  l->connecting = g_cancellable_new ();
  Connecting *c = g_new0 (Connecting, 1);
  c->link = l;
  c->cancel = g_object_ref (l->connecting);
  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (addr), l->connecting, on_connected,
                                 c);
}

static void
close_link (PdHostdLink *l, const char *why, guint retry_after_ms)
{
  gboolean was_ready = l->ready_reported;
  l->ready_reported = FALSE;
  if (l->in_source)
    {
      g_source_destroy (l->in_source);
      l->in_source = NULL;
    }
  if (l->out_source)
    {
      g_source_destroy (l->out_source);
      g_source_unref (l->out_source);
      l->out_source = NULL;
    }
  g_clear_handle_id (&l->pause_id, g_source_remove);
  g_clear_handle_id (&l->hello_id, g_source_remove);
  if (l->conn)
    {
      link_log_conn (l, "disconnected: %s", why);
      g_io_stream_close (G_IO_STREAM (l->conn), NULL, NULL);
      g_clear_object (&l->conn);
    }
  l->socket = NULL;
  g_byte_array_set_size (l->pending, 0);
  pd_sched_client_clear (l->sched, &l->share);
  g_clear_pointer (&l->core, pd_hostd_conn_free);
  g_string_truncate (l->out, 0);
  if (l->present && retry_after_ms)
    schedule_retry (l, retry_after_ms);
  if (was_ready && l->state_func)
    l->state_func (l, FALSE, l->user_data);
}

void
pd_hostd_link_set_present (PdHostdLink *l, gboolean present)
{
  l->present = present;
  if (!present)
    {
      if (l->connecting)
        {
          g_cancellable_cancel (l->connecting);
          g_clear_object (&l->connecting);
        }
      g_clear_handle_id (&l->retry_id, g_source_remove);
      close_link (l, "the socket was removed (VM stopped)", 0);
      return;
    }
  /* A retry may have reached the new socket before its event came: a
   * connection to this very file stays. */
  struct stat st;
  if ((l->conn || l->connecting) && lstat (l->path, &st) == 0 && (guint64) st.st_dev == l->sock_dev
      && (guint64) st.st_ino == l->sock_ino)
    return;
  /* A new socket: whatever we held belongs to the old QEMU. */
  if (l->conn)
    close_link (l, "the socket was created again (VM restarted)", 0);
  if (l->connecting)
    {
      g_cancellable_cancel (l->connecting);
      g_clear_object (&l->connecting);
    }
  g_clear_handle_id (&l->retry_id, g_source_remove);
  l->retries = 0;
  l->quick_closes = 0;
  start_connect (l);
}

PdHostdLink *
pd_hostd_link_new (guint vmid, const char *path, const PdHostdConnOps *ops, PdSched *sched,
                   PdHostdLinkStateFunc state_func, gpointer user_data)
{
  PdHostdLink *l = g_new0 (PdHostdLink, 1);
  l->sched = sched;
  l->pending = g_byte_array_new ();
  l->vmid = vmid;
  g_snprintf (l->vmid_str, sizeof l->vmid_str, "%u", vmid);
  l->path = g_strdup (path);
  l->ops = *ops;
  l->state_func = state_func;
  l->user_data = user_data;
  l->out = g_string_new (NULL);
  l->hello_delay_s = HELLO_FIRST_S;
  return l;
}

void
pd_hostd_link_free (PdHostdLink *l)
{
  if (l == NULL)
    return;
  l->state_func = NULL;
  l->present = FALSE;
  if (l->connecting)
    {
      g_cancellable_cancel (l->connecting);
      g_clear_object (&l->connecting);
    }
  g_clear_handle_id (&l->retry_id, g_source_remove);
  close_link (l, "hostd is stopping", 0);
  g_string_free (l->out, TRUE);
  g_byte_array_unref (l->pending);
  g_free (l->path);
  g_free (l);
}

void
pd_hostd_link_progress (PdHostdLink *l, guint generation, guint32 request_id, const char *phase,
                        const char *text)
{
  if (l->core == NULL || generation != l->generation || !pd_hostd_conn_is_ready (l->core))
    return;
  pd_hostd_conn_progress (l->core, request_id, phase, text, l->out);
  flush (l);
}

void
pd_hostd_link_rehello (PdHostdLink *l)
{
  if (l->core == NULL)
    return;
  pd_hostd_conn_rehello (l->core, l->out);
  update_hello_timer (l);
  flush (l);
}

guint
pd_hostd_link_get_generation (PdHostdLink *l)
{
  return l->generation;
}

void
pd_hostd_link_report (PdHostdLink *l, GPtrArray *findings, gint64 checked_at)
{
  if (l->core == NULL || l->conn == NULL)
    return;
  pd_hostd_conn_report (l->core, findings, checked_at, l->out);
  flush (l);
}

gboolean
pd_hostd_link_is_connected (PdHostdLink *l)
{
  return l->conn != NULL;
}

gboolean
pd_hostd_link_is_ready (PdHostdLink *l)
{
  return l->core && pd_hostd_conn_is_ready (l->core);
}

guint
pd_hostd_link_get_vmid (PdHostdLink *l)
{
  return l->vmid;
}

const char *
pd_hostd_link_get_agent (PdHostdLink *l)
{
  return l->core ? pd_hostd_conn_get_agent (l->core) : NULL;
}

PdHostdGuestReboot
pd_hostd_link_get_guest_reboot (PdHostdLink *l)
{
  return l->core ? pd_hostd_conn_get_guest_reboot (l->core) : PD_HOSTD_GUEST_REBOOT_UNSAID;
}
