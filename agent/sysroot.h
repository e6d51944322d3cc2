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

/* Reads a small sysfs/proc attribute through the prefix: at most @max_len
 * bytes, trailing whitespace stripped. NULL with @error on failure or when
 * the value holds a NUL byte or is longer than @max_len. */
char *pd_sysroot_read_attr (const char *abs_path, gsize max_len, GError **error);

G_END_DECLS
