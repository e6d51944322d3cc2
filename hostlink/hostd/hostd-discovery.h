/* hostd-discovery.h - find the VMs' channel sockets SOCKET_DIR/<vmid>.passdesk.
 *
 * Lists the directory once at start, then follows it with a GFileMonitor
 * (inotify): a socket that appears (VM started) or disappears (VM stopped)
 * is reported at once; nothing polls. Only sockets in the directory itself
 * count: a symlink (wherever it points), a FIFO or a regular file with a
 * socket's name is ignored. The VMID comes from the file name only:
 * decimal, PD_VMID_MIN..PD_VMID_MAX, no leading zero; other names are
 * ignored. When the directory itself is removed, its sockets are reported
 * gone and its parent is watched (then only) until it is made again; then
 * it is listed and followed as at start.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PdDiscovery PdDiscovery;

/* @present: the socket exists (appeared or was found at start); else it went. */
typedef void (*PdDiscoveryFunc) (guint vmid, const char *path, gboolean present,
                                 gpointer user_data);

/* Starts watching @dir and reports every socket already there (from the main
 * loop, not from inside this call). Fails when the directory cannot be
 * watched. */
PdDiscovery *pd_discovery_new (const char *dir, PdDiscoveryFunc func, gpointer user_data,
                               GError **error);
void pd_discovery_free (PdDiscovery *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdDiscovery, pd_discovery_free)

/* The VMID a file name stands for: "<vmid>.passdesk"; FALSE for others. */
gboolean pd_discovery_parse_name (const char *name, guint *vmid);

/* Whether @path is a socket itself (lstat: symlinks are not followed). */
gboolean pd_discovery_is_socket (const char *path);

/* Sorted VMIDs of the sockets in @dir now (for `status`). */
GArray *pd_discovery_list (const char *dir);

G_END_DECLS
