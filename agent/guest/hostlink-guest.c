/* hostlink-guest.c - the guest end of the hostlink channel: the GObject that
 * ties the port (guest-port.c: open, SIGIO, inotify, writer), the protocol
 * core (guest-conn.c: handshake, replies, request bookkeeping, pure) and the
 * component's words (guest-component.c), and offers the request API.
 *
 * The core has no clock: this object passes g_get_monotonic_time() and keeps
 * one timer at the core's next wakeup (RESYNC after 5 s, silent after 10 s,
 * a request's 10 s timeout); none while the link is ready and quiet.
 *
 * Every core call writes into self->conn_out; whatever it holds is sent
 * before any effect reaches a signal handler, so lines leave in the order
 * the core made them even when a handler calls back into us.
 */
#include "config.h"

#include "hostlink-guest.h"
#include "pd-i18n.h"

#include "guest-conn.h"
#include "guest-port.h"
#include "guest-private.h"
#include "sysroot.h"

#include <sys/stat.h>

/* The quark name is not an expression: keep clang-format away. */
// clang-format off
G_DEFINE_QUARK (pd-hostlink-error-quark, pd_hostlink_error)
// clang-format on

struct _PdHostlinkGuest
{
  GObject parent_instance;

  PdGuestPort *port;
  PdGuestConn *conn;
  GString *conn_out; /* the core's output not yet handed to the port */
  guint conn_timer;  /* at the core's next wakeup */
  gint64 conn_timer_at;

  GTask *pending; /* RESTART waiting for ACCEPT/REFUSE */
  gulong pending_cancel_handler;

  PdComponent *component;
  PdComponent *host_component; /* the `host` component (host doctor's summary) */
  char *state_file;            /* the reported cycle result, for the next life; NULL: none */

  /* The latest HELLO's `reboot-cold`, kept while no host is connected:
   * whether a reboot would have been a cold restart tells the next boot
   * why it was not one. */
  gboolean host_reboot_cold;
  gboolean host_reboot_cold_known; /* a HELLO came in this agent's life */
};

G_DEFINE_FINAL_TYPE (PdHostlinkGuest, pd_hostlink_guest, G_TYPE_OBJECT)

enum
{
  SIGNAL_COMPONENT_CHANGED,
  SIGNAL_HOST_COMPONENT_CHANGED,
  SIGNAL_PROGRESS,
  SIGNAL_EVENT,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

/* --- the link as a whole --- */

static PdGuestLinkState
link_state (PdHostlinkGuest *self)
{
  switch (self->port ? pd_guest_port_get_state (self->port) : PD_GUEST_PORT_STOPPED)
    {
    case PD_GUEST_PORT_NO_PORT:
      return PD_GUEST_LINK_NO_PORT;
    case PD_GUEST_PORT_OPEN_ERROR:
      return PD_GUEST_LINK_OPEN_ERROR;
    case PD_GUEST_PORT_BUSY:
      return PD_GUEST_LINK_BUSY;
    case PD_GUEST_PORT_DISCONNECTED:
      return PD_GUEST_LINK_DISCONNECTED;
    case PD_GUEST_PORT_CONNECTED:
      return pd_guest_conn_is_ready (self->conn) ? PD_GUEST_LINK_READY : PD_GUEST_LINK_WAIT_HELLO;
    case PD_GUEST_PORT_STOPPED:
    default:
      return PD_GUEST_LINK_STOPPED;
    }
}

static PdGuestLinkView
link_view (PdHostlinkGuest *self)
{
  return (PdGuestLinkView){
    .state = link_state (self),
    .port_path = self->port ? pd_guest_port_get_path (self->port) : NULL,
    .open_error = self->port ? pd_guest_port_get_error (self->port) : NULL,
    .silent = pd_guest_conn_is_silent (self->conn),
    .host = pd_guest_conn_get_host (self->conn),
    .now_us = g_get_monotonic_time (),
  };
}

static void
update_component (PdHostlinkGuest *self)
{
  PdGuestLinkView view = link_view (self);
  g_autoptr (PdComponent) c = pd_guest_component_new (&view);
  if (!self->component || !pd_component_equal (self->component, c))
    {
      g_clear_pointer (&self->component, pd_component_free);
      self->component = g_steal_pointer (&c);
      g_signal_emit (self, signals[SIGNAL_COMPONENT_CHANGED], 0);
    }

  PdGuestHostView host_view = {
    .state = view.state,
    .proto = pd_guest_conn_get_proto (self->conn),
    .host = view.host,
    .report = pd_guest_conn_get_report (self->conn),
  };
  g_autoptr (PdComponent) h = pd_host_component_new (&host_view);
  if (!self->host_component || !pd_component_equal (self->host_component, h))
    {
      g_clear_pointer (&self->host_component, pd_component_free);
      self->host_component = g_steal_pointer (&h);
      g_signal_emit (self, signals[SIGNAL_HOST_COMPONENT_CHANGED], 0);
    }
}

/* --- the core's output and clock --- */

static void
flush_conn_out (PdHostlinkGuest *self)
{
  if (self->conn_out->len == 0)
    return;
  if (self->port)
    pd_guest_port_send (self->port, self->conn_out->str, self->conn_out->len);
  g_string_truncate (self->conn_out, 0);
}

static gboolean on_conn_timer (gpointer user_data);

/* After every call into the core: send its lines, follow its next wakeup. */
static void
after_core (PdHostlinkGuest *self)
{
  flush_conn_out (self);
  gint64 next = pd_guest_conn_next_wakeup (self->conn);
  if (self->conn_timer && next == self->conn_timer_at)
    return;
  g_clear_handle_id (&self->conn_timer, g_source_remove);
  if (next < 0)
    return;
  gint64 wait = next - g_get_monotonic_time ();
  /* Whole seconds, so the wakeup can be coalesced with others. */
  guint secs
      = wait <= 0 ? 0 : (guint) MIN ((wait + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC, G_MAXUINT);
  self->conn_timer_at = next;
  self->conn_timer = secs == 0 ? g_idle_add (on_conn_timer, self)
                               : g_timeout_add_seconds (secs, on_conn_timer, self);
}

static gboolean
on_conn_timer (gpointer user_data)
{
  PdHostlinkGuest *self = g_object_ref (user_data);
  self->conn_timer = 0;
  /* Seconds timers may fire up to 250 ms early (GLib rounds to a shared
   * second boundary): the deadline they were set for has come. */
  gint64 now = MAX (g_get_monotonic_time (), self->conn_timer_at);
  pd_guest_conn_tick (self->conn, now, self->conn_out);
  after_core (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

/* --- the pending request --- */

static void
pending_finish (PdHostlinkGuest *self, GError *error /* taken; NULL: accepted */)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->pending);
  if (!task)
    {
      g_clear_error (&error);
      return;
    }
  if (self->pending_cancel_handler)
    {
      g_cancellable_disconnect (g_task_get_cancellable (task), self->pending_cancel_handler);
      self->pending_cancel_handler = 0;
    }
  if (error)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* --- what the core tells us --- */

static void
conn_event (gpointer user_data, const char *kind, const char *text)
{
  PdHostlinkGuest *self = user_data;
  flush_conn_out (self);
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, kind, text);
}

static void
conn_progress (gpointer user_data, PdColdRestartPhase phase, const char *wire, const char *text)
{
  PdHostlinkGuest *self = user_data;
  flush_conn_out (self);
  /* The signal carries the wire string, so a phase from a newer host that
   * this build does not know still reaches the user. */
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, wire, text);
}

static void
conn_answered (gpointer user_data, GError *error)
{
  PdHostlinkGuest *self = user_data;
  flush_conn_out (self);
  pending_finish (self, error);
}

static void
conn_changed (gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  flush_conn_out (self);
  const PdHostInfo *host = pd_guest_conn_get_host (self->conn);
  if (host)
    {
      self->host_reboot_cold = host->reboot_cold;
      self->host_reboot_cold_known = TRUE;
    }
  update_component (self);
}

/* The newest cycle result reported in this boot, kept where the next agent
 * life of this boot finds it (PdHostlinkGuest:state-file). */
static void
conn_reported (gpointer user_data, guint32 last_id, guint32 last_time)
{
  PdHostlinkGuest *self = user_data;
  if (self->state_file == NULL)
    return;
  g_autofree char *text = g_strdup_printf ("%u %u\n", last_id, last_time);
  g_autoptr (GError) error = NULL;
  /* A few bytes on tmpfs (/run), once per cycle. */
  if (!g_file_set_contents_full (self->state_file, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &error))
    g_warning ("Cannot record the reported cold-restart result in %s: %s. After an agent "
               "restart its event may be repeated once.",
               self->state_file, error->message);
}

static const PdGuestConnOps conn_ops = {
  .event = conn_event,
  .progress = conn_progress,
  .answered = conn_answered,
  .changed = conn_changed,
  .reported = conn_reported,
};

/* --- what the port tells us --- */

static void
port_connected (gpointer owner, gboolean fresh_open)
{
  PdHostlinkGuest *self = owner;
  pd_guest_conn_connect (self->conn, fresh_open, g_get_monotonic_time (), self->conn_out);
  after_core (self);
}

static void
port_input (gpointer owner, const char *data, gsize len)
{
  PdHostlinkGuest *self = owner;
  pd_guest_conn_feed (self->conn, data, len, g_get_monotonic_time (), self->conn_out);
  after_core (self);
}

static void
port_lost (gpointer owner)
{
  PdHostlinkGuest *self = owner;
  g_string_truncate (self->conn_out, 0);
  pd_guest_conn_disconnect (self->conn);
  after_core (self);
}

static void
port_state_changed (gpointer owner)
{
  update_component (owner);
}

static void
port_event (gpointer owner, const char *kind, const char *text)
{
  conn_event (owner, kind, text);
}

static const PdGuestPortOps port_ops = {
  .connected = port_connected,
  .input = port_input,
  .lost = port_lost,
  .state_changed = port_state_changed,
  .event = port_event,
};

/* --- GObject --- */

static void
pd_hostlink_guest_finalize (GObject *object)
{
  PdHostlinkGuest *self = PD_HOSTLINK_GUEST (object);
  if (self->pending)
    pending_finish (self, g_error_new_literal (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE,
                                               "The host link was shut down."));
  g_clear_pointer (&self->port, pd_guest_port_free);
  g_clear_handle_id (&self->conn_timer, g_source_remove);
  g_clear_pointer (&self->conn, pd_guest_conn_free);
  g_string_free (self->conn_out, TRUE);
  g_clear_pointer (&self->component, pd_component_free);
  g_clear_pointer (&self->host_component, pd_component_free);
  g_free (self->state_file);
  G_OBJECT_CLASS (pd_hostlink_guest_parent_class)->finalize (object);
}

static void
pd_hostlink_guest_class_init (PdHostlinkGuestClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = pd_hostlink_guest_finalize;

  signals[SIGNAL_COMPONENT_CHANGED]
      = g_signal_new ("component-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_HOST_COMPONENT_CHANGED]
      = g_signal_new ("host-component-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_PROGRESS]
      = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_EVENT]
      = g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
pd_hostlink_guest_init (PdHostlinkGuest *self)
{
  self->conn_out = g_string_new (NULL);
  self->conn = pd_guest_conn_new (&conn_ops, self, (guint32) g_random_int_range (1, 1000));
  update_component (self);
}

PdHostlinkGuest *
pd_hostlink_guest_new (const char *port_path)
{
  PdHostlinkGuest *self = g_object_new (PD_TYPE_HOSTLINK_GUEST, NULL);
  g_autofree char *path = port_path ? g_canonicalize_filename (port_path, NULL)
                                    : pd_sysroot_path (PD_HOSTLINK_DEFAULT_PORT);
  self->port = pd_guest_port_new (path, &port_ops, self);
  return self;
}

void
pd_hostlink_guest_set_state_dir (PdHostlinkGuest *self, const char *dir)
{
  g_return_if_fail (PD_IS_HOSTLINK_GUEST (self));
  g_clear_pointer (&self->state_file, g_free);
  if (dir == NULL || *dir == '\0')
    return;
  self->state_file = g_build_filename (dir, "hostlink-reported", NULL);
  /* "ID TIME\n", written by us; anything else (or over 64 bytes) is ignored. */
  g_autofree char *text = NULL;
  gsize len = 0;
  struct stat st;
  if (lstat (self->state_file, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > 64
      || !g_file_get_contents (self->state_file, &text, &len, NULL))
    return;
  guint64 id = 0, when = 0;
  char *end = NULL;
  id = g_ascii_strtoull (text, &end, 10);
  if (end == text || *end != ' ' || id > G_MAXUINT32)
    return;
  const char *p = end + 1;
  when = g_ascii_strtoull (p, &end, 10);
  if (end == p || (*end != '\n' && *end != '\0') || when > G_MAXUINT32)
    return;
  pd_guest_conn_set_reported (self->conn, (guint32) id, (guint32) when);
}

gboolean
pd_hostlink_guest_start (PdHostlinkGuest *self, GError **error)
{
  g_return_val_if_fail (PD_IS_HOSTLINK_GUEST (self), FALSE);
  return pd_guest_port_start (self->port, error);
}

PdComponent *
pd_hostlink_guest_get_component (PdHostlinkGuest *self)
{
  g_return_val_if_fail (PD_IS_HOSTLINK_GUEST (self), NULL);
  /* Worded now: the rate figures count down from the HELLO to this moment
   * (no timer ticks for them; "component-changed" is for real changes). */
  PdGuestLinkView view = link_view (self);
  return pd_guest_component_new (&view);
}

PdComponent *
pd_hostlink_guest_get_host_component (PdHostlinkGuest *self)
{
  g_return_val_if_fail (PD_IS_HOSTLINK_GUEST (self), NULL);
  return pd_component_copy (self->host_component);
}

/* --- requests --- */

static gboolean
on_pending_cancelled_idle (gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  if (self->pending && g_cancellable_is_cancelled (g_task_get_cancellable (self->pending)))
    {
      /* Outside the "cancelled" emission, so pending_finish may disconnect. */
      pd_guest_conn_abandon (self->conn);
      after_core (self);
      pending_finish (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "Stopped waiting for the host's answer."));
    }
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
on_pending_cancelled (GCancellable *cancellable, gpointer user_data)
{
  /* May run in another thread and inside g_cancellable_connect: defer. */
  g_idle_add (on_pending_cancelled_idle, g_object_ref (user_data));
}

static void
start_request (PdHostlinkGuest *self, const char *reason, guint cool_off_s, gboolean reboot,
               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_hostlink_guest_request_cold_restart_async);

  GError *error = NULL;
  if (!pd_guest_conn_check_reason (reason, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (!pd_guest_conn_is_ready (self->conn))
    {
      g_task_return_new_error (task, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE, "%s",
                               pd_guest_link_unavailable_reason (link_state (self)));
      return;
    }
  if (self->pending || pd_guest_conn_has_pending (self->conn))
    {
      g_task_return_new_error (task, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_BUSY,
                               "A cold-restart request is already waiting for the host's "
                               "answer.");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  /* Pending before the core sends: its "requested" phase reaches handlers
   * that may ask again, and they must get BUSY. */
  self->pending = g_object_ref (task);
  gboolean sent = reboot ? pd_guest_conn_request_reboot (self->conn, reason,
                                                         g_get_monotonic_time (), self->conn_out,
                                                         &error)
                         : pd_guest_conn_request (self->conn, reason, cool_off_s,
                                                  g_get_monotonic_time (), self->conn_out, &error);
  if (!sent)
    {
      g_clear_object (&self->pending);
      after_core (self);
      g_task_return_error (task, error);
      return;
    }
  after_core (self);
  if (cancellable && self->pending == task)
    self->pending_cancel_handler
        = g_cancellable_connect (cancellable, G_CALLBACK (on_pending_cancelled), self, NULL);
}

void
pd_hostlink_guest_request_cold_restart_async (PdHostlinkGuest *self, const char *reason,
                                              guint cool_off_s, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (PD_IS_HOSTLINK_GUEST (self));
  start_request (self, reason, cool_off_s, FALSE, cancellable, callback, user_data);
}

void
pd_hostlink_guest_request_reboot_async (PdHostlinkGuest *self, const char *reason,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  g_return_if_fail (PD_IS_HOSTLINK_GUEST (self));
  start_request (self, reason, 0, TRUE, cancellable, callback, user_data);
}

void
pd_hostlink_guest_set_reboot_cold (PdHostlinkGuest *self, gboolean will_convert)
{
  g_return_if_fail (PD_IS_HOSTLINK_GUEST (self));
  pd_guest_conn_set_reboot_cold (self->conn, will_convert);
}

gboolean
pd_hostlink_guest_get_host_reboot_cold (PdHostlinkGuest *self, gboolean *known)
{
  g_return_val_if_fail (PD_IS_HOSTLINK_GUEST (self), FALSE);
  if (known)
    *known = self->host_reboot_cold_known;
  return self->host_reboot_cold;
}

guint
pd_hostlink_guest_get_shutdown_timeout (PdHostlinkGuest *self)
{
  g_return_val_if_fail (PD_IS_HOSTLINK_GUEST (self), 0);
  return pd_guest_conn_get_shutdown_timeout (self->conn);
}

gboolean
pd_hostlink_guest_request_cold_restart_finish (PdHostlinkGuest *self, GAsyncResult *res,
                                               GError **error)
{
  g_return_val_if_fail (g_task_is_valid (res, self), FALSE);
  return g_task_propagate_boolean (G_TASK (res), error);
}

gboolean
pd_hostlink_guest_cancel_cold_restart (PdHostlinkGuest *self, GError **error)
{
  g_return_val_if_fail (PD_IS_HOSTLINK_GUEST (self), FALSE);
  if (!pd_guest_conn_is_ready (self->conn))
    {
      g_set_error (error, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE, "%s",
                   pd_guest_link_unavailable_reason (link_state (self)));
      return FALSE;
    }
  if (!pd_guest_conn_cancel (self->conn, self->conn_out))
    {
      g_set_error_literal (error, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE,
                           _ ("There is no cold-restart request to cancel."));
      return FALSE;
    }
  after_core (self);
  return TRUE;
}
