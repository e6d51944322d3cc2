/* dpkg-status.h - which Debian packages are installed, from the dpkg status
 * file ($PASSDESK_SYSROOT/var/lib/dpkg/status).
 *
 * The file is read with a size bound and parsed as deb822 stanzas; a package
 * counts as installed when its Status field ends in "installed" (this covers
 * "install ok installed" and "hold ok installed").
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Real status files are a few MiB; anything beyond this is refused. */
#define PD_DPKG_STATUS_MAX_BYTES (64u * 1024 * 1024)

typedef struct _PdDpkgStatus PdDpkgStatus;

/* Reads and parses the status file through the sysroot prefix. NULL with
 * @error when it cannot be read or is larger than the bound. */
PdDpkgStatus *pd_dpkg_status_load (GError **error);
/* Parses status text (not necessarily NUL-terminated). Never fails: stanzas
 * that do not parse are skipped. */
PdDpkgStatus *pd_dpkg_status_parse (const char *text, gsize len);
void pd_dpkg_status_free (PdDpkgStatus *status);

gboolean pd_dpkg_status_is_installed (const PdDpkgStatus *status, const char *package);
/* The installed version, or NULL when the package is not installed. */
const char *pd_dpkg_status_version (const PdDpkgStatus *status, const char *package);
guint pd_dpkg_status_count (const PdDpkgStatus *status);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdDpkgStatus, pd_dpkg_status_free)

G_END_DECLS
