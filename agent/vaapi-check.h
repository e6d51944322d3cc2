/* vaapi-check.h - the `vaapi` component: runs passdesk-vaprobe as a child
 * with a deadline and turns its report (or its hang, crash or garbage) plus
 * the installed packages and apt sources into state and advice.
 */
#pragma once

#include <gio/gio.h>
#include "gpu-scan.h"
#include "health.h"

G_BEGIN_DECLS

#define PD_VAPROBE_DEFAULT_TIMEOUT_MS 5000

/* Never blocks the calling main loop; the child is killed at the deadline. */
void pd_vaapi_check_async (const PdGpuScan *scan, guint timeout_ms, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
PdComponent *pd_vaapi_check_finish (GAsyncResult *result);

/* For the CLI: runs the async check on a private main context. */
PdComponent *pd_vaapi_check_sync (const PdGpuScan *scan, guint timeout_ms);

G_END_DECLS
