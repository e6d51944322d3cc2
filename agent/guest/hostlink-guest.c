/* hostlink-guest.c - the guest end of the hostlink channel.
 *
 * States of the link, and what wakes us in each:
 *   NO_PORT       the port path does not exist: inotify on the nearest
 *                 existing ancestor directory (/dev/virtio-ports, or /dev
 *                 until that exists), for entries created/moved/deleted only.
 *   OPEN_ERROR    open failed (not EBUSY): a retry every 60 s.
 *   BUSY          open gave EBUSY (another program holds the port; a virtio
 *                 port opens once): a retry every 60 s.
 *   DISCONNECTED  port open, no host client on the QEMU socket. read() returns
 *                 0 and poll() reports POLLHUP continuously here, so the fd is
 *                 NOT in the main loop. Instead the port has O_ASYNC: the
 *                 virtio_console driver sends SIGIO to the owner on every
 *                 VIRTIO_CONSOLE_PORT_OPEN control message (host connects or
 *                 disconnects) and when data arrives (drivers/char/virtio_console.c,
 *                 send_sigio_to_port(); since Linux 2.6.35). SIGIO is blocked in
 *                 the main thread, directed at it (F_SETOWN_EX/F_OWNER_TID) and
 *                 read from a signalfd in the main loop, so a connecting host
 *                 is noticed at once with zero wakeups while nothing happens.
 *                 qemu-ga instead sleeps 100 ms and retries (10 wakeups/s);
 *                 spice-vdagent keeps the fd in its loop. A safety-net check
 *                 every 60 s covers a kernel or port type that sends no SIGIO
 *                 (the budget is one wakeup a minute); it never fires on
 *                 current kernels in practice.
 *   WAIT_HELLO    host connected, no HELLO yet: fd in the main loop; after 5 s
 *                 we send RESYNC once; after 10 s the component says the host
 *                 is silent (and we keep listening, no more timers).
 *   READY         handshake done: fd in the main loop, no timers while idle.
 */
#define _GNU_SOURCE /* F_SETOWN_EX, F_OWNER_TID */
#include "config.h"

#include "hostlink-guest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib-unix.h>

#include "codec.h"
#include "sysroot.h"

#define REQUEST_TIMEOUT_S 10
#define RESYNC_AFTER_S 5
#define SILENT_AFTER_S 10
#define BUSY_RETRY_S 60
#define SAFETY_NET_S 60
#define MAX_OUT_BUFFER (64 * 1024)
#define MAX_READ_PER_WAKEUP (64 * 1024)
#define MAX_ERRORS_SENT 5

/* The quark name is not an expression: keep clang-format away. */
// clang-format off
G_DEFINE_QUARK (pd-hostlink-error-quark, pd_hostlink_error)
// clang-format on

typedef enum
{
  LINK_STOPPED = 0,
  LINK_NO_PORT,
  LINK_OPEN_ERROR,
  LINK_BUSY,
  LINK_DISCONNECTED,
  LINK_WAIT_HELLO,
  LINK_READY,
} LinkState;

struct _PdHostlinkGuest
{
  GObject parent_instance;

  char *port_path;
  LinkState state;
  int fd;
  guint fd_watch;             /* G_IO_IN while connected */
  guint out_watch;            /* G_IO_OUT while output is pending */
  guint timer;                /* busy retry, safety net, or handshake timers */
  gboolean silent;            /* WAIT_HELLO for over SILENT_AFTER_S */
  gboolean resync_timer_done; /* the RESYNC after RESYNC_AFTER_S was sent */
  char *open_error;

  int inotify_fd;
  guint inotify_watch;
  int inotify_wd;
  char *watched_dir;   /* nearest existing ancestor of the port */
  char *watched_child; /* its entry on the way to the port */

  PdHlLineBuf *linebuf;
  GString *out;
  guint32 next_id;
  guint errors_sent;
  gboolean garbage_reported;

  PdHlMessage *hello;           /* the latest HELLO of this connection */
  gboolean last_cycle_reported; /* one "hostlink.last-cycle" event per result */
  guint32 last_cycle_time_reported;

  GTask *pending; /* RESTART waiting for ACCEPT/REFUSE */
  guint32 pending_id;
  guint pending_timer;
  gulong pending_cancel_handler;
  guint32 active_id; /* the latest RESTART (pending or accepted) */
  guint32 timed_out_id;

  PdComponent *component;
};

G_DEFINE_FINAL_TYPE (PdHostlinkGuest, pd_hostlink_guest, G_TYPE_OBJECT)

enum
{
  SIGNAL_COMPONENT_CHANGED,
  SIGNAL_PROGRESS,
  SIGNAL_EVENT,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

static void try_open (PdHostlinkGuest *self);
static void check_link (PdHostlinkGuest *self);
static void update_component (PdHostlinkGuest *self);

/* --- SIGIO: one signalfd for the process, shared by all guests --- */

static GSList *sigio_guests;
static int sigio_fd = -1;
static pid_t sigio_tid;

static gpointer
ref_guest (gconstpointer src, gpointer data)
{
  return g_object_ref ((gpointer) src);
}

static gboolean
on_sigio (int fd, GIOCondition cond, gpointer user_data)
{
  struct signalfd_siginfo si[8];
  while (read (fd, si, sizeof si) > 0)
    ;
  /* A guest may go away while we walk the list: copy it with refs. */
  GSList *copy = g_slist_copy_deep (sigio_guests, ref_guest, NULL);
  for (GSList *l = copy; l; l = l->next)
    check_link (l->data);
  g_slist_free_full (copy, g_object_unref);
  return G_SOURCE_CONTINUE;
}

static gboolean
sigio_setup (GError **error)
{
  if (sigio_fd >= 0)
    return TRUE;
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGIO);
  int err = pthread_sigmask (SIG_BLOCK, &set, NULL);
  if (err != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err), "Cannot block SIGIO: %s",
                   g_strerror (err));
      return FALSE;
    }
  sigio_fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigio_fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "Cannot create a signalfd: %s",
                   g_strerror (e));
      return FALSE;
    }
  sigio_tid = (pid_t) syscall (SYS_gettid);
  g_unix_fd_add (sigio_fd, G_IO_IN, on_sigio, NULL);
  return TRUE;
}

/* Asks the kernel for SIGIO on this port, directed at the main thread. */
static void
port_arm_sigio (int fd)
{
  struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = sigio_tid };
  int flags = fcntl (fd, F_GETFL);
  if (fcntl (fd, F_SETOWN_EX, &owner) < 0 || flags < 0 || fcntl (fd, F_SETFL, flags | O_ASYNC) < 0)
    g_warning ("hostlink: no SIGIO on the port (%s); a connecting host is noticed "
               "within %d s only",
               g_strerror (errno), SAFETY_NET_S);
}

/* --- small helpers --- */

static void
clear_source (guint *id)
{
  if (*id)
    {
      g_source_remove (*id);
      *id = 0;
    }
}

static void
emit_event (PdHostlinkGuest *self, const char *kind, const char *text)
{
  g_debug ("hostlink event %s: %s", kind, text);
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, kind, text);
}

static void
emit_progress (PdHostlinkGuest *self, const char *phase, const char *text)
{
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, phase, text);
}

static void
set_state (PdHostlinkGuest *self, LinkState state)
{
  self->state = state;
  update_component (self);
}

/* --- pending request --- */

static void
pending_finish (PdHostlinkGuest *self, GError *error /* taken; NULL: accepted */)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->pending);
  clear_source (&self->pending_timer);
  if (self->pending_cancel_handler)
    {
      g_cancellable_disconnect (g_task_get_cancellable (task), self->pending_cancel_handler);
      self->pending_cancel_handler = 0;
    }
  self->pending_id = 0;
  if (!task)
    {
      g_clear_error (&error);
      return;
    }
  if (error)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* --- output --- */

static gboolean flush_out (PdHostlinkGuest *self);

static gboolean
on_port_writable (int fd, GIOCondition cond, gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  self->out_watch = 0;
  flush_out (self);
  return G_SOURCE_REMOVE;
}

/* Writes what it can; FALSE when the port failed. */
static gboolean
flush_out (PdHostlinkGuest *self)
{
  while (self->out->len > 0 && self->fd >= 0)
    {
      ssize_t n = write (self->fd, self->out->str, self->out->len);
      if (n > 0)
        {
          g_string_erase (self->out, 0, n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          if (!self->out_watch)
            self->out_watch = g_unix_fd_add (self->fd, G_IO_OUT, on_port_writable, self);
          return TRUE;
        }
      g_debug ("hostlink: write failed: %s", n < 0 ? g_strerror (errno) : "short write");
      g_string_truncate (self->out, 0);
      return FALSE;
    }
  return TRUE;
}

static void
send_raw (PdHostlinkGuest *self, const char *data)
{
  if (self->out->len + strlen (data) > MAX_OUT_BUFFER)
    {
      /* The host stopped reading; what it misses it learns by RESYNC. */
      g_warning ("hostlink: the host does not read; dropping output");
      return;
    }
  g_string_append (self->out, data);
  flush_out (self);
}

static gboolean
send_msg (PdHostlinkGuest *self, PdHlMessage *msg, gboolean leading_lf)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *line = pd_hl_encode (msg, NULL, &error);
  if (!line)
    {
      g_critical ("hostlink: cannot encode %s: %s", pd_hl_verb_to_string (msg->verb),
                  error->message);
      return FALSE;
    }
  if (leading_lf)
    send_raw (self, "\n");
  send_raw (self, line);
  return TRUE;
}

static guint32
new_id (PdHostlinkGuest *self)
{
  if (++self->next_id == 0)
    self->next_id = 1;
  return self->next_id;
}

static void
send_resync (PdHostlinkGuest *self)
{
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_RESYNC, new_id (self));
  send_msg (self, m, TRUE);
}

static void
send_error (PdHostlinkGuest *self, guint32 id, const char *code, const char *text)
{
  if (self->errors_sent >= MAX_ERRORS_SENT)
    return;
  self->errors_sent++;
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_ERROR, id);
  pd_hl_message_set (m, "code", code);
  if (text)
    pd_hl_message_set (m, "text", text);
  send_msg (self, m, FALSE);
}

static void
send_cancel (PdHostlinkGuest *self, guint32 request)
{
  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_CANCEL, new_id (self));
  pd_hl_message_set_uint (m, "request", request);
  send_msg (self, m, FALSE);
}

/* --- connection life --- */

static gboolean on_port_readable (int fd, GIOCondition cond, gpointer user_data);

static void
close_port (PdHostlinkGuest *self)
{
  clear_source (&self->fd_watch);
  clear_source (&self->out_watch);
  clear_source (&self->timer);
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
  g_string_truncate (self->out, 0);
}

static void
connection_lost (PdHostlinkGuest *self)
{
  gboolean was_ready = self->state == LINK_READY;
  clear_source (&self->fd_watch);
  clear_source (&self->out_watch);
  clear_source (&self->timer);
  g_string_truncate (self->out, 0);
  g_clear_pointer (&self->hello, pd_hl_message_free);
  if (self->pending)
    pending_finish (self, g_error_new_literal (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE,
                                               "The host link went away before the host "
                                               "answered; nothing was done."));
  if (was_ready)
    emit_event (self, "hostlink.disconnected", "The host helper disconnected.");
}

static gboolean
on_safety_net (gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  check_link (self);
  return G_SOURCE_CONTINUE;
}

static void
enter_disconnected (PdHostlinkGuest *self)
{
  connection_lost (self);
  self->timer = g_timeout_add_seconds (SAFETY_NET_S, on_safety_net, self);
  set_state (self, LINK_DISCONNECTED);
}

static gboolean
on_hello_timer (gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  self->timer = 0;
  if (self->state != LINK_WAIT_HELLO)
    return G_SOURCE_REMOVE;
  if (!self->resync_timer_done)
    {
      self->resync_timer_done = TRUE;
      send_resync (self);
      self->timer = g_timeout_add_seconds (SILENT_AFTER_S - RESYNC_AFTER_S, on_hello_timer, self);
      return G_SOURCE_REMOVE;
    }
  self->silent = TRUE;
  update_component (self);
  return G_SOURCE_REMOVE;
}

static void
enter_connected (PdHostlinkGuest *self, gboolean fresh_open)
{
  clear_source (&self->timer);
  /* The resync rule: whatever precedes the first LF may be half a line. */
  pd_hl_line_buf_reset (self->linebuf, TRUE);
  self->errors_sent = 0;
  self->garbage_reported = FALSE;
  self->silent = FALSE;
  self->resync_timer_done = FALSE;
  if (!self->fd_watch)
    self->fd_watch
        = g_unix_fd_add (self->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_port_readable, self);
  self->timer = g_timeout_add_seconds (RESYNC_AFTER_S, on_hello_timer, self);
  set_state (self, LINK_WAIT_HELLO);
  /* Opened while a host was already there: its HELLO may have gone to the
   * previous opener, so ask for one (a duplicate HELLO is harmless). */
  if (fresh_open)
    send_resync (self);
}

/* Decides connected or not without reading; for DISCONNECTED. */
static void
check_link (PdHostlinkGuest *self)
{
  if (self->state != LINK_DISCONNECTED || self->fd < 0)
    return;
  struct pollfd p = { .fd = self->fd, .events = POLLIN };
  if (poll (&p, 1, 0) < 0)
    return;
  if (p.revents & (POLLERR | POLLNVAL))
    {
      close_port (self);
      try_open (self);
      return;
    }
  if ((p.revents & POLLIN) || !(p.revents & POLLHUP))
    enter_connected (self, FALSE);
}

static gboolean
on_busy_retry (gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  self->timer = 0;
  try_open (self);
  return G_SOURCE_REMOVE;
}

static void
try_open (PdHostlinkGuest *self)
{
  if (self->fd >= 0)
    return;
  clear_source (&self->timer);
  int fd = open (self->port_path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int e = errno;
      g_free (self->open_error);
      self->open_error = g_strdup (g_strerror (e));
      if (e == ENOENT || e == ENOTDIR)
        set_state (self, LINK_NO_PORT);
      else if (e == EBUSY)
        {
          if (self->state != LINK_BUSY)
            emit_event (self, "hostlink.port-busy",
                        "The host channel is held open by another program.");
          self->timer = g_timeout_add_seconds (BUSY_RETRY_S, on_busy_retry, self);
          set_state (self, LINK_BUSY);
        }
      else
        {
          /* Permissions or a driver error: inotify on the directory does not
           * see a device node's mode change, so retry once a minute. */
          self->timer = g_timeout_add_seconds (BUSY_RETRY_S, on_busy_retry, self);
          set_state (self, LINK_OPEN_ERROR);
        }
      return;
    }
  self->fd = fd;
  g_clear_pointer (&self->open_error, g_free);
  port_arm_sigio (fd);

  struct pollfd p = { .fd = fd, .events = POLLIN };
  if (poll (&p, 1, 0) >= 0 && (p.revents & POLLHUP) && !(p.revents & POLLIN))
    enter_disconnected (self);
  else
    enter_connected (self, TRUE);
}

/* --- watching for the port to appear or go --- */

/* Raw inotify rather than GFileMonitor: when /dev/virtio-ports does not exist
 * the nearest ancestor is /dev, and GFileMonitor's fixed mask includes
 * IN_CLOSE_WRITE and IN_MODIFY, so every `> /dev/null` on the machine would
 * wake the agent. Here only entries being created, moved or deleted wake us
 * (plus attribute changes in the port's own directory). */

static void watch_port_dir (PdHostlinkGuest *self);

static void
port_dir_changed (PdHostlinkGuest *self)
{
  /* A nearer ancestor may exist now (/dev/virtio-ports appeared). */
  watch_port_dir (self);
  if (self->fd < 0 && (self->state == LINK_NO_PORT || self->state == LINK_OPEN_ERROR))
    try_open (self);
  else if (self->fd >= 0 && !g_file_test (self->port_path, G_FILE_TEST_EXISTS))
    {
      /* The port was unplugged. */
      connection_lost (self);
      close_port (self);
      set_state (self, LINK_NO_PORT);
    }
}

static gboolean
on_inotify (int fd, GIOCondition cond, gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  char buf[4096] __attribute__ ((aligned (__alignof__(struct inotify_event))));
  gboolean relevant = FALSE;
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    for (char *p = buf; p < buf + n;)
      {
        const struct inotify_event *ev = (const struct inotify_event *) p;
        p += sizeof (struct inotify_event) + ev->len;
        if (ev->mask & IN_Q_OVERFLOW)
          relevant = TRUE;
        else if (ev->wd != self->inotify_wd)
          continue; /* a watch we already dropped */
        else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
          {
            /* The watched directory itself went away: climb up. */
            self->inotify_wd = -1;
            g_clear_pointer (&self->watched_dir, g_free);
            relevant = TRUE;
          }
        else if (ev->len > 0 && g_strcmp0 (ev->name, self->watched_child) == 0)
          relevant = TRUE;
      }
  if (relevant)
    {
      g_object_ref (self);
      port_dir_changed (self);
      g_object_unref (self);
    }
  return G_SOURCE_CONTINUE;
}

static void
watch_port_dir (PdHostlinkGuest *self)
{
  /* The nearest existing ancestor directory, and which of its entries leads
   * to the port. */
  g_autofree char *dir = g_path_get_dirname (self->port_path);
  g_autofree char *child = g_path_get_basename (self->port_path);
  while (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *up = g_path_get_dirname (dir);
      if (strcmp (up, dir) == 0)
        break;
      g_free (child);
      child = g_path_get_basename (dir);
      g_free (dir);
      dir = g_steal_pointer (&up);
    }
  g_free (self->watched_child);
  self->watched_child = g_steal_pointer (&child);
  if (self->watched_dir && strcmp (self->watched_dir, dir) == 0 && self->inotify_wd >= 0)
    return;

  if (self->inotify_fd < 0)
    {
      self->inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
      if (self->inotify_fd < 0)
        {
          g_warning ("hostlink: cannot watch for the port to appear: inotify: %s",
                     g_strerror (errno));
          return;
        }
      self->inotify_watch = g_unix_fd_add (self->inotify_fd, G_IO_IN, on_inotify, self);
    }
  if (self->inotify_wd >= 0)
    inotify_rm_watch (self->inotify_fd, self->inotify_wd);
  g_autofree char *parent = g_path_get_dirname (self->port_path);
  guint32 mask = IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF
                 | IN_ONLYDIR;
  if (strcmp (parent, dir) == 0)
    mask |= IN_ATTRIB;
  self->inotify_wd = inotify_add_watch (self->inotify_fd, dir, mask);
  if (self->inotify_wd < 0)
    g_warning ("hostlink: cannot watch %s: %s", dir, g_strerror (errno));
  g_free (self->watched_dir);
  self->watched_dir = g_steal_pointer (&dir);
}

/* --- incoming lines --- */

static void
handle_hello (PdHostlinkGuest *self, PdHlMessage *m /* transfer full */)
{
  g_autoptr (PdHlMessage) owned = m;
  guint32 proto = 0, proto_min = 0;
  pd_hl_message_get_uint (m, "proto", &proto);
  pd_hl_message_get_uint (m, "proto-min", &proto_min);
  if (proto_min > PD_HL_PROTOCOL_VERSION || proto < PD_HL_PROTOCOL_VERSION)
    {
      send_error (self, m->id, PD_HL_ERR_UNSUPPORTED_VERSION,
                  "This guest agent speaks hostlink protocol version 1 only.");
      emit_event (self, "hostlink.protocol-error",
                  "The host helper speaks another protocol version; update passdesk on "
                  "the host or in the VM so both match.");
      return;
    }
  gboolean was_ready = self->state == LINK_READY;
  clear_source (&self->timer);
  g_clear_pointer (&self->hello, pd_hl_message_free);

  g_autoptr (PdHlMessage) ready = pd_hl_message_new (PD_HL_VERB_READY, m->id);
  pd_hl_message_set_uint (ready, "proto", PD_HL_PROTOCOL_VERSION);
  pd_hl_message_set (ready, "agent", PACKAGE_VERSION);
  send_msg (self, ready, TRUE);

  self->hello = g_steal_pointer (&owned);
  set_state (self, LINK_READY);

  if (!was_ready)
    {
      g_autofree char *text = g_strdup_printf ("Connected to the host helper on %s (VM %s).",
                                               pd_hl_message_get (self->hello, "host"),
                                               pd_hl_message_get (self->hello, "vmid"));
      emit_event (self, "hostlink.connected", text);
    }

  guint32 last_time = 0;
  const char *last = pd_hl_message_get (self->hello, "last");
  pd_hl_message_get_uint (self->hello, "last-time", &last_time);
  if (last && (!self->last_cycle_reported || last_time != self->last_cycle_time_reported))
    {
      self->last_cycle_reported = TRUE;
      self->last_cycle_time_reported = last_time;
      const char *text = pd_hl_message_get (self->hello, "last-text");
      g_autofree char *sentence
          = g_strdup_printf ("%s %s",
                             g_strcmp0 (last, "ok") == 0 ? "The last cold restart succeeded."
                                                         : "The last cold restart failed.",
                             text ? text : "");
      g_strchomp (sentence);
      emit_event (self, "hostlink.last-cycle", sentence);
    }
}

static void
handle_reply (PdHostlinkGuest *self, PdHlMessage *m)
{
  if (m->verb == PD_HL_VERB_ACCEPT || m->verb == PD_HL_VERB_REFUSE)
    {
      if (self->pending && m->id == self->pending_id)
        {
          const char *text = pd_hl_message_get (m, "text");
          if (m->verb == PD_HL_VERB_ACCEPT)
            {
              emit_progress (self, "accepted", text);
              pending_finish (self, NULL);
            }
          else
            {
              self->active_id = 0;
              emit_progress (self, "refused", text);
              pending_finish (
                  self, g_error_new (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_REFUSED, "%s", text));
            }
          return;
        }
      if (m->verb == PD_HL_VERB_ACCEPT && m->id == self->timed_out_id)
        {
          /* We told our caller "timeout, nothing happens": hold the host to it. */
          send_cancel (self, m->id);
          emit_event (self, "hostlink.late-accept",
                      "The host accepted a cold restart after the request had timed out; "
                      "it was asked to cancel it.");
          return;
        }
      if (m->verb == PD_HL_VERB_REFUSE)
        {
          /* A refused CANCEL (too late / unknown). */
          const char *text = pd_hl_message_get (m, "text");
          emit_event (self, "hostlink.cancel-refused", text);
        }
      return;
    }
  if (m->verb == PD_HL_VERB_PROGRESS)
    {
      if (m->id != self->active_id && m->id != self->timed_out_id)
        return;
      const char *phase = pd_hl_message_get (m, "phase");
      emit_progress (self, phase, pd_hl_message_get (m, "text"));
      if (g_strcmp0 (phase, PD_HL_PHASE_DONE) == 0 || g_strcmp0 (phase, PD_HL_PHASE_FAILED) == 0
          || g_strcmp0 (phase, PD_HL_PHASE_CANCELLED) == 0)
        self->active_id = 0;
      return;
    }
  if (m->verb == PD_HL_VERB_ERROR)
    {
      const char *code = pd_hl_message_get (m, "code");
      const char *text = pd_hl_message_get (m, "text");
      g_autofree char *msg = g_strdup_printf ("The host helper reported a protocol error (%s)%s%s",
                                              code, text ? ": " : ".", text ? text : "");
      if (self->pending && m->id == self->pending_id)
        {
          self->active_id = 0;
          pending_finish (self,
                          g_error_new (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_PROTOCOL, "%s", msg));
        }
      else
        emit_event (self, "hostlink.protocol-error", msg);
      return;
    }
  /* OK, PONG, STATUS-REPLY: nothing waits for them here. */
}

static void
handle_line (PdHostlinkGuest *self, const char *line, gsize len)
{
  if (len == 0)
    return;
  g_autoptr (GError) error = NULL;
  guint32 bad_id = 0;
  g_autoptr (PdHlMessage) m = pd_hl_decode (line, len, &bad_id, &error);

  if (self->state != LINK_READY)
    {
      /* Before the handshake only a well-formed HELLO counts. */
      if (m && m->verb == PD_HL_VERB_HELLO)
        handle_hello (self, g_steal_pointer (&m));
      return;
    }
  if (!m)
    {
      if (!self->garbage_reported)
        {
          self->garbage_reported = TRUE;
          g_autofree char *text = g_strdup_printf (
              "The host helper sent a line this agent cannot read: %s", error->message);
          emit_event (self, "hostlink.protocol-error", text);
        }
      /* Never answer something that may itself be an ERROR. */
      if (!(len >= 6 && memcmp (line, "ERROR ", 6) == 0))
        send_error (self, bad_id, pd_hl_codec_error_wire_code (error->code), error->message);
      return;
    }
  if (!pd_hl_verb_sent_by_host (m->verb))
    {
      send_error (self, m->id, PD_HL_ERR_UNEXPECTED, "The guest does not accept this verb.");
      return;
    }
  switch (m->verb)
    {
    case PD_HL_VERB_HELLO:
      handle_hello (self, g_steal_pointer (&m));
      break;
    case PD_HL_VERB_PING:
      {
        g_autoptr (PdHlMessage) pong = pd_hl_message_new (PD_HL_VERB_PONG, m->id);
        send_msg (self, pong, FALSE);
      }
      break;
    default:
      handle_reply (self, m);
      break;
    }
}

static gboolean
on_port_readable (int fd, GIOCondition cond, gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  g_object_ref (self);
  char buf[4096];
  gsize total = 0;
  gboolean lost = FALSE;
  gboolean failed = FALSE;
  while (total < MAX_READ_PER_WAKEUP && self->fd >= 0)
    {
      ssize_t n = read (self->fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n == 0 || (n < 0 && errno == EIO))
        {
          /* virtio: host gone (read 0); a pty stand-in says EIO. */
          lost = TRUE;
          break;
        }
      if (n < 0)
        {
          g_free (self->open_error);
          self->open_error = g_strdup (g_strerror (errno));
          failed = TRUE;
          break;
        }
      total += (gsize) n;
      const char *p = buf;
      gsize left = (gsize) n;
      while (left > 0 && self->fd >= 0)
        {
          gsize used = 0;
          const char *line = NULL;
          gsize line_len = 0;
          PdHlLineStatus st = pd_hl_line_buf_push (self->linebuf, p, left, &used, &line, &line_len);
          p += used;
          left -= used;
          if (st == PD_HL_LINE_READY)
            handle_line (self, line, line_len);
          else if (st == PD_HL_LINE_TOO_LONG && self->state == LINK_READY)
            send_error (self, 0, PD_HL_ERR_LINE_TOO_LONG, NULL);
        }
    }
  gboolean keep = G_SOURCE_CONTINUE;
  if (failed)
    {
      self->fd_watch = 0;
      keep = G_SOURCE_REMOVE;
      connection_lost (self);
      close_port (self);
      set_state (self, LINK_OPEN_ERROR);
      try_open (self);
    }
  else if (lost)
    {
      self->fd_watch = 0;
      keep = G_SOURCE_REMOVE;
      enter_disconnected (self);
    }
  g_object_unref (self);
  return keep;
}

/* --- the component --- */

static void
add_setup_advice (PdComponent *c)
{
  pd_component_add_advice (
      c,
      "On the Proxmox host, run “passdesk-hostd setup VMID” (VMID: this VM's id), then stop "
      "this VM and start it again from Proxmox (a reboot from inside the VM does not add the "
      "channel).",
      "passdesk-hostd setup VMID");
}

static void
update_component (PdHostlinkGuest *self)
{
  g_autoptr (PdComponent) c = pd_component_new (PD_COMPONENT_HOSTLINK, PD_STATE_UNKNOWN, NULL);
  switch (self->state)
    {
    case LINK_STOPPED:
      pd_component_set_state (c, PD_STATE_UNKNOWN, "Not checked yet");
      break;
    case LINK_NO_PORT:
      pd_component_set_state (c, PD_STATE_UNKNOWN, "No host channel configured");
      pd_component_set_detail (c, "port", self->port_path);
      add_setup_advice (c);
      break;
    case LINK_OPEN_ERROR:
      pd_component_set_state (c, PD_STATE_FAILED, "The host channel cannot be opened");
      pd_component_set_detail (c, "port", self->port_path);
      pd_component_set_detail (c, "error", self->open_error ? self->open_error : "unknown");
      pd_component_add_advice (c,
                               "The agent must run as root to open the channel; check "
                               "“systemctl status passdesk-agent” and the error above.",
                               "systemctl status passdesk-agent");
      break;
    case LINK_BUSY:
      pd_component_set_state (c, PD_STATE_DEGRADED,
                              "The host channel is in use by another program");
      pd_component_set_detail (c, "port", self->port_path);
      pd_component_set_detail (c, "error", self->open_error ? self->open_error : "busy");
      {
        g_autofree char *advice = g_strdup_printf (
            "Only one program can hold the channel open. Find it with “fuser -v %s” and stop "
            "it (the agent retries every minute).",
            self->port_path);
        g_autofree char *cmd = g_strdup_printf ("fuser -v %s", self->port_path);
        pd_component_add_advice (c, advice, cmd);
      }
      break;
    case LINK_DISCONNECTED:
      pd_component_set_state (c, PD_STATE_DEGRADED, "Host helper not connected");
      pd_component_set_detail (c, "port", self->port_path);
      pd_component_add_advice (c,
                               "The channel exists but passdesk-hostd on the host is not "
                               "connected: on the host, run “systemctl enable --now "
                               "passdesk-hostd”.",
                               "systemctl enable --now passdesk-hostd");
      add_setup_advice (c);
      break;
    case LINK_WAIT_HELLO:
      if (self->silent)
        {
          pd_component_set_state (c, PD_STATE_DEGRADED,
                                  "The host side is connected but does not answer");
          pd_component_add_advice (c,
                                   "Something other than passdesk-hostd may hold the VM's "
                                   "channel socket, or it hangs: on the host, run "
                                   "“systemctl restart passdesk-hostd”.",
                                   "systemctl restart passdesk-hostd");
        }
      else
        pd_component_set_state (c, PD_STATE_UNKNOWN,
                                "Host helper connected, waiting for its greeting");
      pd_component_set_detail (c, "port", self->port_path);
      break;
    case LINK_READY:
      {
        PdHlMessage *h = self->hello;
        pd_component_set_state (c, PD_STATE_OK, NULL);
        pd_component_set_summary_printf (c, "Connected to %s (VM %s)",
                                         pd_hl_message_get (h, "host"),
                                         pd_hl_message_get (h, "vmid"));
        pd_component_set_detail (c, "host", pd_hl_message_get (h, "host"));
        pd_component_set_detail (c, "vmid", pd_hl_message_get (h, "vmid"));
        pd_component_set_detail (c, "port", self->port_path);
        gboolean enabled = FALSE;
        pd_hl_message_get_bool (h, "enabled", &enabled);
        pd_component_set_detail (c, "cold-restart", enabled ? "allowed" : "disabled on the host");
        pd_component_set_detail_printf (
            c, "cool-off", "%s s (allowed %s-%s s)", pd_hl_message_get (h, "cool-off-default"),
            pd_hl_message_get (h, "cool-off-min"), pd_hl_message_get (h, "cool-off-max"));
        guint32 left = 0, next = 0;
        pd_hl_message_get_uint (h, "rate-left", &left);
        pd_hl_message_get_uint (h, "next-allowed-in", &next);
        g_autofree char *now = left > 0 && next == 0 ? g_strdup_printf ("%u allowed now", left)
                                                     : g_strdup ("none allowed now");
        pd_component_set_detail_printf (
            c, "rate-limit", "%s per %s s, %s per day; %s", pd_hl_message_get (h, "rate-max"),
            pd_hl_message_get (h, "rate-window"), pd_hl_message_get (h, "day-max"), now);
        if (next > 0)
          pd_component_set_detail_printf (c, "next-allowed-in", "%u s", next);
        const char *last = pd_hl_message_get (h, "last");
        if (last)
          {
            const char *text = pd_hl_message_get (h, "last-text");
            guint32 dur = 0;
            gboolean has_dur = pd_hl_message_get_uint (h, "last-duration", &dur);
            g_autoptr (GString) s = g_string_new (g_strcmp0 (last, "ok") == 0 ? "ok" : "failed");
            if (has_dur)
              g_string_append_printf (s, " in %u s", dur);
            guint32 t = 0;
            if (pd_hl_message_get_uint (h, "last-time", &t))
              {
                g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (t);
                g_autofree char *when = dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M") : NULL;
                if (when)
                  g_string_append_printf (s, ", %s", when);
              }
            if (text)
              g_string_append_printf (s, ": %s", text);
            pd_component_set_detail (c, "last-cycle", s->str);
            /* The link itself is fine: the state stays ok, the summary says it. */
            if (g_strcmp0 (last, "ok") != 0)
              {
                g_autofree char *connected = g_strdup (c->summary);
                pd_component_set_summary_printf (c, "%s; the last cold restart failed", connected);
              }
          }
        if (!enabled)
          pd_component_add_advice (c,
                                   "Cold restart is disabled for this VM in "
                                   "/etc/passdesk/hostd.conf on the host (enabled=false).",
                                   NULL);
      }
      break;
    }
  if (self->component && pd_component_equal (self->component, c))
    return;
  g_clear_pointer (&self->component, pd_component_free);
  self->component = g_steal_pointer (&c);
  g_signal_emit (self, signals[SIGNAL_COMPONENT_CHANGED], 0);
}

/* --- GObject --- */

static void
pd_hostlink_guest_finalize (GObject *object)
{
  PdHostlinkGuest *self = PD_HOSTLINK_GUEST (object);
  sigio_guests = g_slist_remove (sigio_guests, self);
  if (self->pending)
    pending_finish (self, g_error_new_literal (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE,
                                               "The host link was shut down."));
  close_port (self);
  clear_source (&self->inotify_watch);
  if (self->inotify_fd >= 0)
    close (self->inotify_fd);
  g_free (self->watched_dir);
  g_free (self->watched_child);
  g_clear_pointer (&self->linebuf, pd_hl_line_buf_free);
  g_string_free (self->out, TRUE);
  g_clear_pointer (&self->hello, pd_hl_message_free);
  g_clear_pointer (&self->component, pd_component_free);
  g_free (self->open_error);
  g_free (self->port_path);
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
  self->fd = -1;
  self->inotify_fd = -1;
  self->inotify_wd = -1;
  self->linebuf = pd_hl_line_buf_new ();
  self->out = g_string_new (NULL);
  self->next_id = (guint32) g_random_int_range (1, 1000);
  update_component (self);
}

PdHostlinkGuest *
pd_hostlink_guest_new (const char *port_path)
{
  PdHostlinkGuest *self = g_object_new (PD_TYPE_HOSTLINK_GUEST, NULL);
  self->port_path = port_path ? g_canonicalize_filename (port_path, NULL)
                              : pd_sysroot_path (PD_HOSTLINK_DEFAULT_PORT);
  return self;
}

gboolean
pd_hostlink_guest_start (PdHostlinkGuest *self, GError **error)
{
  g_return_val_if_fail (PD_IS_HOSTLINK_GUEST (self), FALSE);
  if (self->state != LINK_STOPPED)
    return TRUE;
  if (!sigio_setup (error))
    return FALSE;
  sigio_guests = g_slist_prepend (sigio_guests, self);
  self->state = LINK_NO_PORT;
  watch_port_dir (self);
  try_open (self);
  return TRUE;
}

PdComponent *
pd_hostlink_guest_get_component (PdHostlinkGuest *self)
{
  g_return_val_if_fail (PD_IS_HOSTLINK_GUEST (self), NULL);
  return pd_component_copy (self->component);
}

static gboolean
on_pending_timeout (gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  self->pending_timer = 0;
  guint32 id = self->pending_id;
  /* Make "nothing happens" hold even if the host acts late. */
  send_cancel (self, id);
  self->timed_out_id = id;
  self->active_id = 0;
  emit_progress (self, "failed", "The host did not answer in time.");
  pending_finish (self,
                  g_error_new (PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_TIMEOUT,
                               "The host helper did not answer the cold-restart request within "
                               "%d s; nothing was done. Check “systemctl status passdesk-hostd” "
                               "on the host.",
                               REQUEST_TIMEOUT_S));
  return G_SOURCE_REMOVE;
}

static gboolean
on_pending_cancelled_idle (gpointer user_data)
{
  PdHostlinkGuest *self = user_data;
  if (self->pending && g_cancellable_is_cancelled (g_task_get_cancellable (self->pending)))
    {
      /* Outside the "cancelled" emission, so pending_finish may disconnect. */
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

static const char *
unavailable_reason (PdHostlinkGuest *self)
{
  switch (self->state)
    {
    case LINK_NO_PORT:
    case LINK_STOPPED:
      return "This VM has no passdesk host channel. On the Proxmox host, run “passdesk-hostd "
             "setup VMID”, then stop and start the VM.";
    case LINK_BUSY:
      return "The host channel is held open by another program.";
    case LINK_OPEN_ERROR:
      return "The host channel cannot be opened.";
    case LINK_DISCONNECTED:
      return "The host helper is not connected. On the host, run “systemctl enable --now "
             "passdesk-hostd”.";
    case LINK_WAIT_HELLO:
      return "The host helper has not finished its greeting yet; try again in a few seconds.";
    case LINK_READY:
    default:
      return "The host link is not ready.";
    }
}

void
pd_hostlink_guest_request_cold_restart_async (PdHostlinkGuest *self, const char *reason,
                                              guint cool_off_s, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (PD_IS_HOSTLINK_GUEST (self));
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pd_hostlink_guest_request_cold_restart_async);

  if (reason && (strlen (reason) > PD_HL_MAX_REASON || !g_utf8_validate (reason, -1, NULL)))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "The reason must be UTF-8 text of at most %d bytes.",
                               PD_HL_MAX_REASON);
      return;
    }
  if (self->state != LINK_READY)
    {
      g_task_return_new_error (task, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE, "%s",
                               unavailable_reason (self));
      return;
    }
  if (self->pending)
    {
      g_task_return_new_error (task, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_BUSY,
                               "A cold-restart request is already waiting for the host's "
                               "answer.");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  g_autoptr (PdHlMessage) m = pd_hl_message_new (PD_HL_VERB_RESTART, new_id (self));
  if (reason && *reason)
    pd_hl_message_set (m, "reason", reason);
  if (cool_off_s > 0)
    pd_hl_message_set_uint (m, "cool-off", (guint32) MIN (cool_off_s, G_MAXUINT32));
  g_autoptr (GError) error = NULL;
  g_autofree char *line = pd_hl_encode (m, NULL, &error);
  if (!line)
    {
      /* Control characters in the reason, for instance. */
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "The request cannot be sent: %s", error->message);
      return;
    }
  send_raw (self, line);

  self->pending = g_steal_pointer (&task);
  self->pending_id = m->id;
  self->active_id = m->id;
  self->pending_timer = g_timeout_add_seconds (REQUEST_TIMEOUT_S, on_pending_timeout, self);
  if (cancellable)
    self->pending_cancel_handler
        = g_cancellable_connect (cancellable, G_CALLBACK (on_pending_cancelled), self, NULL);
  emit_progress (self, "requested", "Asked the host for a cold restart.");
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
  if (self->state != LINK_READY)
    {
      g_set_error (error, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE, "%s",
                   unavailable_reason (self));
      return FALSE;
    }
  if (!self->active_id)
    {
      g_set_error_literal (error, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_UNAVAILABLE,
                           "There is no cold-restart request to cancel.");
      return FALSE;
    }
  send_cancel (self, self->active_id);
  if (self->pending)
    pending_finish (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               "The cold-restart request was withdrawn."));
  return TRUE;
}
