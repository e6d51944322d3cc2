/* sysroot.c - the root prefix for every host path. */
#include "sysroot.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <unistd.h>

static char *cached_root;

const char *
pd_sysroot (void)
{
  if (cached_root == NULL)
    {
      const char *env = g_getenv ("PASSDESK_SYSROOT");
      g_autofree char *root = g_strdup (env ? env : "");
      gsize len = strlen (root);
      while (len > 0 && root[len - 1] == '/')
        root[--len] = '\0';
      cached_root = g_steal_pointer (&root);
    }
  return cached_root;
}

void
pd_sysroot_reset (void)
{
  g_clear_pointer (&cached_root, g_free);
}

char *
pd_sysroot_path (const char *abs_path)
{
  g_return_val_if_fail (abs_path != NULL && abs_path[0] == '/', NULL);
  return g_strconcat (pd_sysroot (), abs_path, NULL);
}

char *
pd_sysroot_pathf (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *abs_path = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return pd_sysroot_path (abs_path);
}

char *
pd_sysroot_read_attr (const char *abs_path, gsize max_len, GError **error)
{
  g_autofree char *path = pd_sysroot_path (abs_path);
  /* Read with a bound: sysfs attributes are small, but a fixture or a
   * corrupted file must not make us read without limit. */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", abs_path,
                   g_strerror (saved));
      return NULL;
    }
  g_autofree char *buf = g_malloc (max_len + 2);
  gsize total = 0;
  while (total < max_len + 1)
    {
      ssize_t n = read (fd, buf + total, max_len + 1 - total);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", abs_path,
                       g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      total += (gsize) n;
    }
  close (fd);
  if (total > max_len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: value longer than %zu bytes",
                   abs_path, max_len);
      return NULL;
    }
  buf[total] = '\0';
  if (memchr (buf, '\0', total) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: value holds a NUL byte",
                   abs_path);
      return NULL;
    }
  g_strchomp (buf);
  return g_steal_pointer (&buf);
}
