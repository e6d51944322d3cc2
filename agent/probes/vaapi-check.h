/* vaapi-check.h - the `vaapi` component: runs passdesk-vaprobe as a child
 * with a deadline and turns its report (or its hang, crash or garbage) plus
 * the installed packages and apt sources into state and advice.
 */
#pragma once

#include <gio/gio.h>
#include "gpu-scan.h"
#include "health.h"
#include "vaprobe-runner.h"

G_BEGIN_DECLS

/* Never blocks the calling main loop; the child is killed at the deadline.
 * @scan is only read during the call. Without an Intel GPU or render node
 * no probe runs and the component is `unknown` with the reason. Several
 * checks may run at once; each owns its child. */
void pd_vaapi_check_async (const PdGpuScan *scan, guint timeout_ms, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
/* Never NULL: when @cancellable fired, the child was killed and the
 * component is `unknown` with the summary "the VA-API check was cancelled". */
PdComponent *pd_vaapi_check_finish (GAsyncResult *result);

/* For the CLI: runs the async check on a private main context. */
PdComponent *pd_vaapi_check_sync (const PdGpuScan *scan, guint timeout_ms);

/* The component from what the probe found: @dev is the Intel GPU (NULL:
 * none found), @result the probe's result (NULL: not run because @dev has no
 * render node, or its device file is missing). Reads installed packages (dpkg status), apt sources,
 * firmware files and /etc/environment through the sysroot to choose advice. Exposed for tests. */
PdComponent *pd_vaapi_component (const PdGpuDevice *dev, const PdVaprobeResult *result);

G_END_DECLS
