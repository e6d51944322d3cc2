/* sysroot.h - the one root prefix that every read of /sys, /proc, /dev, /etc,
 * /run and /var/lib/dpkg goes through, so tests can run on fixture trees.
 *
 * The prefix comes from $PASSDESK_SYSROOT (empty or unset: the real root).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The prefix without a trailing slash; "" for the real root. */
const char *pd_sysroot (void);
/* Forget the cached prefix (tests change $PASSDESK_SYSROOT between cases). */
void pd_sysroot_reset (void);
/* @abs_path must start with '/'; returns prefix + abs_path. */
char *pd_sysroot_path (const char *abs_path);
char *pd_sysroot_pathf (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

typedef enum
{
  PD_SYSROOT_READ_DEFAULT = 0,
  /* A file longer than the bound is cut there, not an error. */
  PD_SYSROOT_READ_TRUNCATE = 1 << 0,
  /* NUL bytes are data (binary files); by default they are an error. */
  PD_SYSROOT_READ_ALLOW_NUL = 1 << 1,
} PdSysrootReadFlags;

/* Reads a regular file through the prefix, at most @max_len bytes, into a
 * NUL-terminated buffer that grows with the file (a large bound costs nothing
 * for a small file). Errors name @abs_path: cannot open, not a regular file
 * (a FIFO or device would block), longer than @max_len (unless TRUNCATE),
 * holds a NUL byte (unless ALLOW_NUL). @len_out may be NULL. */
char *pd_sysroot_read_file (const char *abs_path, gsize max_len, PdSysrootReadFlags flags,
                            gsize *len_out, GError **error);

/* Reads a small sysfs/proc attribute through the prefix: at most @max_len
 * bytes, trailing whitespace stripped. NULL with @error on failure or when
 * the value holds a NUL byte or is longer than @max_len. */
char *pd_sysroot_read_attr (const char *abs_path, gsize max_len, GError **error);

G_END_DECLS
