/* kmsg-monitor.c - reads /dev/kmsg (or a stand-in) and feeds the log scanner. */
#include "kmsg-monitor.h"
#include "pd-i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysroot.h"

/* /dev/kmsg returns one record per read; records are at most 8 KiB. */
#define READ_CHUNK 16384
/* A line longer than this without a newline is dropped (bounded input). */
#define LINE_MAX_BYTES (64 * 1024)
/* Reads and bytes per main-loop dispatch, so a flood cannot starve other
 * sources (D-Bus callers): /dev/kmsg gives one record per read, a FIFO or
 * file up to READ_CHUNK. */
#define READS_PER_DISPATCH 64
#define BYTES_PER_DISPATCH (64 * 1024)
/* The boot log is read once at start; stop after this much. */
#define BOOT_LOG_MAX_BYTES (32 * 1024 * 1024)

typedef enum
{
  KIND_KMSG,
  KIND_FIFO,
  KIND_FILE,
} LogKind;

struct _PdKmsgMonitor
{
  GObject parent_instance;
  char *path; /* the real path opened (sysroot applied) */
  int fd;
  LogKind kind;
  guint watch_id;
  PdLogScanner *scanner;
  GString *pending;  /* a partial line */
  gboolean skipping; /* dropping the rest of an overlong line */
  guint lineno;
  guint64 n_records;
  guint64 n_lost;
};

enum
{
  SIGNAL_FINDING,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PdKmsgMonitor, pd_kmsg_monitor, G_TYPE_OBJECT)

static void
stop_watch (PdKmsgMonitor *self)
{
  g_clear_handle_id (&self->watch_id, g_source_remove);
  if (self->fd >= 0)
    close (self->fd);
  self->fd = -1;
}

static void
pd_kmsg_monitor_finalize (GObject *object)
{
  PdKmsgMonitor *self = PD_KMSG_MONITOR (object);
  stop_watch (self);
  g_free (self->path);
  pd_log_scanner_free (self->scanner);
  g_string_free (self->pending, TRUE);
  G_OBJECT_CLASS (pd_kmsg_monitor_parent_class)->finalize (object);
}

static void
pd_kmsg_monitor_class_init (PdKmsgMonitorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pd_kmsg_monitor_finalize;
  signals[SIGNAL_FINDING]
      = g_signal_new ("finding", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_BOOLEAN);
}

static void
pd_kmsg_monitor_init (PdKmsgMonitor *self)
{
  self->fd = -1;
  self->scanner = pd_log_scanner_new ();
  self->pending = g_string_new (NULL);
}

PdKmsgMonitor *
pd_kmsg_monitor_new (const char *path)
{
  PdKmsgMonitor *self = g_object_new (PD_TYPE_KMSG_MONITOR, NULL);
  self->path = path ? g_strdup (path) : pd_sysroot_path ("/dev/kmsg");
  return self;
}

guint64
pd_kmsg_monitor_get_n_records (PdKmsgMonitor *self)
{
  return self->n_records;
}

/* "PRI,SEQ,TS_US[,FLAGS...];message": the message and its timestamp, or
 * FALSE when @line is not in that form. */
static gboolean
parse_record (const char *line, gsize len, const char **msg, gsize *msg_len, gint64 *ts_us)
{
  const char *semi = memchr (line, ';', MIN (len, 128));
  if (semi == NULL || semi == line)
    return FALSE;
  g_autofree char *prefix = g_strndup (line, (gsize) (semi - line));
  g_auto (GStrv) fields = g_strsplit (prefix, ",", 5);
  if (g_strv_length (fields) < 3)
    return FALSE;
  guint64 pri, seq, ts;
  if (!g_ascii_string_to_unsigned (fields[0], 10, 0, G_MAXUINT32, &pri, NULL)
      || !g_ascii_string_to_unsigned (fields[1], 10, 0, G_MAXUINT64, &seq, NULL)
      || !g_ascii_string_to_unsigned (fields[2], 10, 0, G_MAXINT64, &ts, NULL))
    return FALSE;
  *msg = semi + 1;
  *msg_len = len - (gsize) (semi + 1 - line);
  *ts_us = (gint64) ts;
  return TRUE;
}

static void
handle_line (PdKmsgMonitor *self, const char *line, gsize len, gboolean boot_log)
{
  if (len > 0 && line[len - 1] == '\r')
    len--;
  /* Continuation lines (" SUBSYSTEM=...", " DEVICE=...") carry no message. */
  if (len == 0 || line[0] == ' ')
    return;

  self->n_records++;
  self->lineno++;
  const char *msg;
  gsize msg_len;
  gint64 ts;
  g_autoptr (GPtrArray) findings = NULL;
  if (parse_record (line, len, &msg, &msg_len, &ts))
    findings = pd_log_scanner_feed_message (self->scanner, msg, msg_len, ts, self->lineno);
  else
    findings = pd_log_scanner_feed_line (self->scanner, line, len, self->lineno);
  if (findings == NULL)
    return;
  for (guint i = 0; i < findings->len; i++)
    g_signal_emit (self, signals[SIGNAL_FINDING], 0, g_ptr_array_index (findings, i), boot_log);
}

static void
feed (PdKmsgMonitor *self, const char *buf, gsize len, gboolean boot_log)
{
  while (len > 0)
    {
      const char *nl = memchr (buf, '\n', len);
      gsize take = nl ? (gsize) (nl - buf) : len;
      if (!self->skipping)
        {
          if (self->pending->len + take > LINE_MAX_BYTES)
            {
              g_string_truncate (self->pending, 0);
              self->skipping = TRUE;
            }
          else
            g_string_append_len (self->pending, buf, (gssize) take);
        }
      if (nl == NULL)
        return;
      if (!self->skipping)
        handle_line (self, self->pending->str, self->pending->len, boot_log);
      g_string_truncate (self->pending, 0);
      self->skipping = FALSE;
      buf = nl + 1;
      len -= take + 1;
    }
}

typedef enum
{
  READ_MORE,  /* got data; there may be more */
  READ_AGAIN, /* nothing now; wait for POLLIN */
  READ_EOF,   /* end of file, or the FIFO's writer went away */
  READ_ERROR,
} ReadStatus;

static ReadStatus
read_some (PdKmsgMonitor *self, char *buf, gboolean boot_log, gsize *total)
{
  ssize_t n = read (self->fd, buf, READ_CHUNK);
  if (n > 0)
    {
      /* /dev/kmsg gives whole records; a FIFO or file gives any chunk. */
      feed (self, buf, (gsize) n, boot_log);
      if (self->kind == KIND_KMSG && self->pending->len > 0)
        feed (self, "\n", 1, boot_log);
      *total += (gsize) n;
      return READ_MORE;
    }
  if (n == 0)
    return READ_EOF;
  if (errno == EINTR)
    return READ_MORE;
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    return READ_AGAIN;
  if (errno == EPIPE)
    {
      /* Records were overwritten before we read them; the next read goes on
       * with the oldest record still there. */
      self->n_lost++;
      return READ_MORE;
    }
  g_warning ("Reading the kernel log %s failed: %s", self->path, g_strerror (errno));
  return READ_ERROR;
}

static gboolean open_log (PdKmsgMonitor *self, GError **error);
static void start_watch (PdKmsgMonitor *self);

static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  PdKmsgMonitor *self = user_data;
  g_autofree char *buf = g_malloc (READ_CHUNK);
  gsize total = 0;

  for (guint i = 0; i < READS_PER_DISPATCH && total < BYTES_PER_DISPATCH; i++)
    {
      switch (read_some (self, buf, FALSE, &total))
        {
        case READ_MORE:
          continue;
        case READ_AGAIN:
          return G_SOURCE_CONTINUE;
        case READ_EOF:
          if (self->kind == KIND_FIFO)
            {
              /* The writer went away: a FIFO then reports POLLHUP for ever.
               * Reopen it to wait for the next writer without spinning. */
              self->watch_id = 0;
              stop_watch (self);
              g_autoptr (GError) error = NULL;
              if (open_log (self, &error))
                start_watch (self);
              else
                g_warning ("%s", error->message);
              return G_SOURCE_REMOVE;
            }
          G_GNUC_FALLTHROUGH;
        case READ_ERROR:
        default:
          self->watch_id = 0;
          stop_watch (self);
          return G_SOURCE_REMOVE;
        }
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
open_log (PdKmsgMonitor *self, GError **error)
{
  int fd = open (self->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _ ("Cannot open the kernel log %s: %s%s"), self->path, g_strerror (saved),
                   saved == EACCES || saved == EPERM
                       ? " (run the agent as root, or with CAP_SYSLOG when dmesg_restrict is set)"
                       : "");
      return FALSE;
    }
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("Cannot stat %s: %s"),
                   self->path, g_strerror (saved));
      return FALSE;
    }
  self->fd = fd;
  self->kind = S_ISFIFO (st.st_mode) ? KIND_FIFO : S_ISREG (st.st_mode) ? KIND_FILE : KIND_KMSG;
  return TRUE;
}

static void
start_watch (PdKmsgMonitor *self)
{
  /* A regular file is always "readable": it is history only. */
  if (self->kind == KIND_FILE || self->fd < 0)
    return;
  self->watch_id = g_unix_fd_add (self->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, self);
}

gboolean
pd_kmsg_monitor_start (PdKmsgMonitor *self, GError **error)
{
  g_return_val_if_fail (self->fd < 0, FALSE);
  if (!open_log (self, error))
    return FALSE;

  /* What is already there is the boot log: classify it as history. Reading
   * it to the end (EAGAIN) also leaves us at the end for live records. */
  g_autofree char *buf = g_malloc (READ_CHUNK);
  gsize total = 0;
  ReadStatus status;
  do
    status = read_some (self, buf, TRUE, &total);
  while (status == READ_MORE && total < BOOT_LOG_MAX_BYTES);
  if (self->pending->len > 0)
    feed (self, "\n", 1, TRUE);

  if (status == READ_ERROR)
    {
      stop_watch (self);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("Cannot read the kernel log %s"),
                   self->path);
      return FALSE;
    }
  if (total >= BOOT_LOG_MAX_BYTES && self->kind == KIND_KMSG)
    lseek (self->fd, 0, SEEK_END); /* skip the rest of an oversized boot log */
  start_watch (self);
  return TRUE;
}
