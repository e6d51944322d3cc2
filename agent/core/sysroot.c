/* sysroot.c - the root prefix for every host path. */
#include "sysroot.h"
#include "pd-i18n.h"
#include "autofd.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>
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
pd_sysroot_read_file (const char *abs_path, gsize max_len, PdSysrootReadFlags flags, gsize *len_out,
                      GError **error)
{
  g_autofree char *path = pd_sysroot_path (abs_path);
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat below
   * then turns it away. */
  pd_autofd int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", abs_path,
                   g_strerror (saved));
      return NULL;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("%s: not a regular file"),
                   abs_path);
      return NULL;
    }

  /* sysfs and proc report st_size 4096 or 0 whatever they hold: start small
   * and grow, reading one byte past the bound to tell "longer" apart. */
  gsize want = max_len + 1;
  gsize cap = MIN (want, MAX ((gsize) st.st_size + 1, (gsize) 4096));
  g_autofree char *buf = g_malloc (cap + 1);
  gsize total = 0;
  while (total < want)
    {
      if (total == cap)
        {
          cap = MIN (cap * 2, want);
          buf = g_realloc (buf, cap + 1);
        }
      ssize_t n = read (fd, buf + total, cap - total);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", abs_path,
                       g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      total += (gsize) n;
    }

  if (total > max_len)
    {
      if (!(flags & PD_SYSROOT_READ_TRUNCATE))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _ ("%s: value longer than %zu bytes"), abs_path, max_len);
          return NULL;
        }
      total = max_len;
    }
  buf[total] = '\0';
  if (!(flags & PD_SYSROOT_READ_ALLOW_NUL) && memchr (buf, '\0', total) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _ ("%s: value holds a NUL byte"),
                   abs_path);
      return NULL;
    }
  if (len_out)
    *len_out = total;
  return g_steal_pointer (&buf);
}

char *
pd_sysroot_read_attr (const char *abs_path, gsize max_len, GError **error)
{
  char *value = pd_sysroot_read_file (abs_path, max_len, PD_SYSROOT_READ_DEFAULT, NULL, error);
  if (value != NULL)
    g_strchomp (value);
  return value;
}
