/* hostd-file.c - bounded reads of regular files. */
#include "hostd-file.h"
#include "pd-i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *
describe_type (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a regular file";
}

gboolean
pd_file_read_bounded (const char *path, gsize max, char **data, gsize *len, GError **error)
{
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      int e = errno;
      close (fd);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, _ ("%s is %s, not a regular file"),
                   path, describe_type (st.st_mode));
      return FALSE;
    }
  if ((guint64) st.st_size > max)
    {
      close (fd);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "%s holds %" G_GUINT64_FORMAT " bytes, more than the %" G_GSIZE_FORMAT
                   " bytes allowed",
                   path, (guint64) st.st_size, max);
      return FALSE;
    }
  /* The size can change under us: read at most max + 1 bytes whatever it said. */
  g_autofree char *buf = g_malloc (max + 2);
  gsize got = 0;
  while (got <= max)
    {
      ssize_t n = read (fd, buf + got, max + 1 - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          close (fd);
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                       g_strerror (e));
          return FALSE;
        }
      if (n == 0)
        break;
      got += (gsize) n;
    }
  close (fd);
  if (got > max)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "%s holds more than the %" G_GSIZE_FORMAT " bytes allowed", path, max);
      return FALSE;
    }
  buf[got] = '\0';
  *len = got;
  *data = g_realloc (g_steal_pointer (&buf), got + 1);
  return TRUE;
}
