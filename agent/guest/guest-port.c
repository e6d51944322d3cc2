/* guest-port.c - the virtio-serial port of the host link.
 *
 * DISCONNECTED: port open, no host client on the QEMU socket. read() returns
 * 0 and poll() reports POLLHUP continuously here, so the fd is NOT in the
 * main loop. Instead the port has O_ASYNC: the virtio_console driver sends
 * SIGIO to the owner on every VIRTIO_CONSOLE_PORT_OPEN control message (host
 * connects or disconnects) and when data arrives
 * (drivers/char/virtio_console.c, send_sigio_to_port(); since Linux 2.6.35).
 * SIGIO is blocked in the main thread, directed at it
 * (F_SETOWN_EX/F_OWNER_TID) and read from a signalfd in the main loop, so a
 * connecting host is noticed at once with zero wakeups while nothing
 * happens. qemu-ga instead sleeps 100 ms and retries (10 wakeups/s);
 * spice-vdagent keeps the fd in its loop. A safety-net check every 5 min
 * covers a lost SIGIO or a port type that sends none; on current kernels it
 * never finds anything, so it is kept well below the idle budget of one
 * wakeup a minute.
 */
#define _GNU_SOURCE /* F_SETOWN_EX, F_OWNER_TID */
#include "config.h"

#include "guest-port.h"
#include "pd-i18n.h"

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

#define MAX_READ_PER_WAKEUP (64 * 1024)

struct _PdGuestPort
{
  const PdGuestPortOps *ops;
  GObject *owner;

  char *path;
  PdGuestPortState state;
  int fd;
  guint fd_watch;  /* G_IO_IN while connected */
  guint out_watch; /* G_IO_OUT while output is pending */
  guint timer;     /* busy/open retry, or the safety net */
  char *error;
  GString *out;

  int inotify_fd;
  guint inotify_watch;
  int inotify_wd;
  char *watched_dir;   /* nearest existing ancestor of the port */
  char *watched_child; /* its entry on the way to the port */
};

static void try_open (PdGuestPort *port);
static void check_link (PdGuestPort *port);

/* --- SIGIO: one signalfd for the process, shared by all ports --- */

static GSList *sigio_ports;
static int sigio_fd = -1;
static pid_t sigio_tid;

static gboolean
on_sigio (int fd, GIOCondition cond, gpointer user_data)
{
  struct signalfd_siginfo si[8];
  while (read (fd, si, sizeof si) > 0)
    ;
  /* An owner may drop its port while we walk the list: hold every owner
   * (so no port in the copy is freed), and skip ports that left the list. */
  GSList *copy = g_slist_copy (sigio_ports);
  GSList *owners = NULL;
  for (GSList *l = copy; l; l = l->next)
    owners = g_slist_prepend (owners, g_object_ref (((PdGuestPort *) l->data)->owner));
  for (GSList *l = copy; l; l = l->next)
    if (g_slist_find (sigio_ports, l->data))
      check_link (l->data);
  g_slist_free_full (owners, g_object_unref);
  g_slist_free (copy);
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
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err), _ ("Cannot block SIGIO: %s"),
                   g_strerror (err));
      return FALSE;
    }
  sigio_fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigio_fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), _ ("Cannot create a signalfd: %s"),
                   g_strerror (e));
      return FALSE;
    }
  sigio_tid = (pid_t) syscall (SYS_gettid);
  g_unix_fd_add (sigio_fd, G_IO_IN, on_sigio, NULL);
  return TRUE;
}

/* Asks the kernel for SIGIO on this port, directed at the main thread. */
static void
arm_sigio (int fd)
{
  struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = sigio_tid };
  int flags = fcntl (fd, F_GETFL);
  if (fcntl (fd, F_SETOWN_EX, &owner) < 0 || flags < 0 || fcntl (fd, F_SETFL, flags | O_ASYNC) < 0)
    g_warning ("hostlink: no SIGIO on the port (%s); a connecting host is noticed "
               "within %d s only",
               g_strerror (errno), PD_GUEST_PORT_RETRY_S);
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
set_state (PdGuestPort *port, PdGuestPortState state)
{
  port->state = state;
  port->ops->state_changed (port->owner);
}

static void
set_error (PdGuestPort *port, int err)
{
  g_free (port->error);
  port->error = g_strdup (g_strerror (err));
}

/* --- output: bounded, never blocks --- */

static void flush_out (PdGuestPort *port);

static gboolean
on_writable (int fd, GIOCondition cond, gpointer user_data)
{
  PdGuestPort *port = user_data;
  port->out_watch = 0;
  flush_out (port);
  return G_SOURCE_REMOVE;
}

static void
flush_out (PdGuestPort *port)
{
  while (port->out->len > 0 && port->fd >= 0)
    {
      ssize_t n = write (port->fd, port->out->str, port->out->len);
      if (n > 0)
        {
          g_string_erase (port->out, 0, n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          g_debug ("hostlink: the port takes no more now; %" G_GSIZE_FORMAT " bytes wait",
                   port->out->len);
          if (!port->out_watch)
            port->out_watch = g_unix_fd_add (port->fd, G_IO_OUT, on_writable, port);
          return;
        }
      /* The read side notices a gone host; drop what cannot go. */
      g_debug ("hostlink: write failed: %s", n < 0 ? g_strerror (errno) : "short write");
      g_string_truncate (port->out, 0);
      return;
    }
}

void
pd_guest_port_send (PdGuestPort *port, const char *data, gsize len)
{
  if (len == 0)
    return;
  if (port->out->len + len > PD_GUEST_PORT_MAX_OUT)
    {
      /* The host stopped reading; what it misses it learns by RESYNC. */
      g_warning ("hostlink: the host does not read; dropping output");
      return;
    }
  g_string_append_len (port->out, data, (gssize) len);
  flush_out (port);
}

/* --- connection life --- */

static gboolean on_readable (int fd, GIOCondition cond, gpointer user_data);

static void
stop_io (PdGuestPort *port)
{
  clear_source (&port->fd_watch);
  clear_source (&port->out_watch);
  clear_source (&port->timer);
  g_string_truncate (port->out, 0);
}

static void
close_port (PdGuestPort *port)
{
  stop_io (port);
  if (port->fd >= 0)
    {
      close (port->fd);
      port->fd = -1;
    }
}

static gboolean
on_safety_net (gpointer user_data)
{
  check_link (user_data);
  return G_SOURCE_CONTINUE;
}

static void
enter_disconnected (PdGuestPort *port)
{
  stop_io (port);
  port->ops->lost (port->owner);
  port->timer = g_timeout_add_seconds (PD_GUEST_PORT_SAFETY_NET_S, on_safety_net, port);
  set_state (port, PD_GUEST_PORT_DISCONNECTED);
}

static void
enter_connected (PdGuestPort *port, gboolean fresh_open)
{
  clear_source (&port->timer);
  if (!port->fd_watch)
    port->fd_watch = g_unix_fd_add (port->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, port);
  port->ops->connected (port->owner, fresh_open);
  set_state (port, PD_GUEST_PORT_CONNECTED);
}

/* Decides connected or not without reading; for DISCONNECTED. */
static void
check_link (PdGuestPort *port)
{
  if (port->state != PD_GUEST_PORT_DISCONNECTED || port->fd < 0)
    return;
  struct pollfd p = { .fd = port->fd, .events = POLLIN };
  if (poll (&p, 1, 0) < 0)
    return;
  if (p.revents & (POLLERR | POLLNVAL))
    {
      close_port (port);
      try_open (port);
      return;
    }
  /* virtio_console reports POLLIN together with POLLHUP while no host is
   * there (a read would not block: it returns 0), so only POLLHUP decides. */
  if (!(p.revents & POLLHUP))
    enter_connected (port, FALSE);
}

static gboolean
on_retry (gpointer user_data)
{
  PdGuestPort *port = user_data;
  port->timer = 0;
  try_open (port);
  return G_SOURCE_REMOVE;
}

static void
try_open (PdGuestPort *port)
{
  if (port->fd >= 0)
    return;
  clear_source (&port->timer);
  int fd = open (port->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int e = errno;
      set_error (port, e);
      if (e == ENOENT || e == ENOTDIR)
        set_state (port, PD_GUEST_PORT_NO_PORT);
      else if (e == EBUSY)
        {
          if (port->state != PD_GUEST_PORT_BUSY)
            port->ops->event (port->owner, "hostlink.port-busy",
                              "The host channel is held open by another program.");
          port->timer = g_timeout_add_seconds (PD_GUEST_PORT_RETRY_S, on_retry, port);
          set_state (port, PD_GUEST_PORT_BUSY);
        }
      else
        {
          /* Permissions or a driver error: inotify on the directory does not
           * see a device node's mode change, so retry once a minute. */
          port->timer = g_timeout_add_seconds (PD_GUEST_PORT_RETRY_S, on_retry, port);
          set_state (port, PD_GUEST_PORT_OPEN_ERROR);
        }
      return;
    }
  port->fd = fd;
  g_clear_pointer (&port->error, g_free);
  arm_sigio (fd);

  struct pollfd p = { .fd = fd, .events = POLLIN };
  if (poll (&p, 1, 0) >= 0 && (p.revents & POLLHUP))
    enter_disconnected (port);
  else
    enter_connected (port, TRUE);
}

static gboolean
on_readable (int fd, GIOCondition cond, gpointer user_data)
{
  PdGuestPort *port = user_data;
  GObject *owner = g_object_ref (port->owner);
  char buf[4096];
  gsize total = 0;
  gboolean lost = FALSE;
  gboolean failed = FALSE;
  while (total < MAX_READ_PER_WAKEUP && port->fd >= 0)
    {
      ssize_t n = read (port->fd, buf, sizeof buf);
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
          set_error (port, errno);
          failed = TRUE;
          break;
        }
      total += (gsize) n;
      port->ops->input (port->owner, buf, (gsize) n);
    }
  gboolean keep = G_SOURCE_CONTINUE;
  if (failed)
    {
      port->fd_watch = 0;
      keep = G_SOURCE_REMOVE;
      stop_io (port);
      port->ops->lost (port->owner);
      close_port (port);
      set_state (port, PD_GUEST_PORT_OPEN_ERROR);
      try_open (port);
    }
  else if (lost)
    {
      port->fd_watch = 0;
      keep = G_SOURCE_REMOVE;
      enter_disconnected (port);
    }
  g_object_unref (owner);
  return keep;
}

/* --- watching for the port to appear or go --- */

/* Raw inotify rather than GFileMonitor: when /dev/virtio-ports does not exist
 * the nearest ancestor is /dev, and GFileMonitor's fixed mask includes
 * IN_CLOSE_WRITE and IN_MODIFY, so every `> /dev/null` on the machine would
 * wake the agent. Here only entries being created, moved or deleted wake us
 * (plus attribute changes in the port's own directory). */

static void watch_port_dir (PdGuestPort *port);

static void
port_dir_changed (PdGuestPort *port)
{
  /* A nearer ancestor may exist now (/dev/virtio-ports appeared). */
  watch_port_dir (port);
  if (port->fd < 0
      && (port->state == PD_GUEST_PORT_NO_PORT || port->state == PD_GUEST_PORT_OPEN_ERROR))
    try_open (port);
  else if (port->fd >= 0 && !g_file_test (port->path, G_FILE_TEST_EXISTS))
    {
      /* The port was unplugged. */
      stop_io (port);
      port->ops->lost (port->owner);
      close_port (port);
      set_state (port, PD_GUEST_PORT_NO_PORT);
    }
}

static gboolean
on_inotify (int fd, GIOCondition cond, gpointer user_data)
{
  PdGuestPort *port = user_data;
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
        else if (ev->wd != port->inotify_wd)
          continue; /* a watch we already dropped */
        else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
          {
            /* The watched directory itself went away: climb up. */
            port->inotify_wd = -1;
            g_clear_pointer (&port->watched_dir, g_free);
            relevant = TRUE;
          }
        else if (ev->len > 0 && g_strcmp0 (ev->name, port->watched_child) == 0)
          relevant = TRUE;
      }
  if (relevant)
    {
      GObject *owner = g_object_ref (port->owner);
      port_dir_changed (port);
      g_object_unref (owner);
    }
  return G_SOURCE_CONTINUE;
}

static void
watch_port_dir (PdGuestPort *port)
{
  /* The nearest existing ancestor directory, and which of its entries leads
   * to the port. */
  g_autofree char *dir = g_path_get_dirname (port->path);
  g_autofree char *child = g_path_get_basename (port->path);
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
  g_free (port->watched_child);
  port->watched_child = g_steal_pointer (&child);
  if (port->watched_dir && strcmp (port->watched_dir, dir) == 0 && port->inotify_wd >= 0)
    return;

  if (port->inotify_fd < 0)
    {
      port->inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
      if (port->inotify_fd < 0)
        {
          g_warning ("hostlink: cannot watch for the port to appear: inotify: %s",
                     g_strerror (errno));
          return;
        }
      port->inotify_watch = g_unix_fd_add (port->inotify_fd, G_IO_IN, on_inotify, port);
    }
  if (port->inotify_wd >= 0)
    inotify_rm_watch (port->inotify_fd, port->inotify_wd);
  g_autofree char *parent = g_path_get_dirname (port->path);
  guint32 mask = IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF
                 | IN_ONLYDIR;
  if (strcmp (parent, dir) == 0)
    mask |= IN_ATTRIB;
  port->inotify_wd = inotify_add_watch (port->inotify_fd, dir, mask);
  if (port->inotify_wd < 0)
    g_warning ("hostlink: cannot watch %s: %s", dir, g_strerror (errno));
  g_free (port->watched_dir);
  port->watched_dir = g_steal_pointer (&dir);
}

/* --- public --- */

PdGuestPort *
pd_guest_port_new (const char *path, const PdGuestPortOps *ops, gpointer owner)
{
  PdGuestPort *port = g_new0 (PdGuestPort, 1);
  port->ops = ops;
  port->owner = owner;
  port->path = g_strdup (path);
  port->fd = -1;
  port->inotify_fd = -1;
  port->inotify_wd = -1;
  port->out = g_string_new (NULL);
  return port;
}

/* Writes what is still queued, waiting at most PD_GUEST_PORT_DRAIN_MS: the
 * port is freed when the agent exits, and the last line it queued (a CANCEL
 * withdrawing a reboot's request, say) must not be lost because the port
 * was briefly full. Blocking is fine here: the main loop has ended. */
static void
drain_out (PdGuestPort *port)
{
  gint64 deadline = g_get_monotonic_time () + PD_GUEST_PORT_DRAIN_MS * 1000;
  while (port->out->len > 0 && port->fd >= 0 && port->state == PD_GUEST_PORT_CONNECTED)
    {
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
      if (left_ms <= 0)
        break;
      struct pollfd p = { .fd = port->fd, .events = POLLOUT };
      int r = poll (&p, 1, (int) left_ms);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) || !(p.revents & POLLOUT))
        break;
      flush_out (port);
    }
  if (port->out->len > 0)
    g_message ("hostlink: %" G_GSIZE_FORMAT " bytes for the host were not delivered before exit.",
               port->out->len);
}

void
pd_guest_port_free (PdGuestPort *port)
{
  if (port == NULL)
    return;
  sigio_ports = g_slist_remove (sigio_ports, port);
  drain_out (port);
  close_port (port);
  clear_source (&port->inotify_watch);
  if (port->inotify_fd >= 0)
    close (port->inotify_fd);
  g_free (port->watched_dir);
  g_free (port->watched_child);
  g_string_free (port->out, TRUE);
  g_free (port->error);
  g_free (port->path);
  g_free (port);
}

gboolean
pd_guest_port_start (PdGuestPort *port, GError **error)
{
  if (port->state != PD_GUEST_PORT_STOPPED)
    return TRUE;
  if (!sigio_setup (error))
    return FALSE;
  sigio_ports = g_slist_prepend (sigio_ports, port);
  port->state = PD_GUEST_PORT_NO_PORT;
  watch_port_dir (port);
  try_open (port);
  return TRUE;
}

PdGuestPortState
pd_guest_port_get_state (PdGuestPort *port)
{
  return port->state;
}

const char *
pd_guest_port_get_path (PdGuestPort *port)
{
  return port->path;
}

const char *
pd_guest_port_get_error (PdGuestPort *port)
{
  return port->error;
}
