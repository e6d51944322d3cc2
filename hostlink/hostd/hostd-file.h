/* hostd-file.h - read a small file hostd depends on, bounded and without surprises.
 *
 * The configuration and the state file are read whole, so what is read must
 * be a regular file of modest size: a character device (/dev/zero), a FIFO,
 * a directory or a socket, directly or behind a symlink, is refused before a
 * byte is read, and the read stops at the bound whatever the file claims.
 * The open never blocks (O_NONBLOCK), so a FIFO cannot hang the caller.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reads @path (symlinks followed) into *@data (NUL-terminated, *@len bytes
 * without the NUL). Errors are G_FILE_ERROR: NOENT when it does not exist,
 * INVAL when it is not a regular file (the message names what it is),
 * FAILED when it holds more than @max bytes, others from open/read. The
 * messages name @path and the cause, not what to do: callers add that. */
gboolean pd_file_read_bounded (const char *path, gsize max, char **data, gsize *len,
                               GError **error);

G_END_DECLS
