/* checks.h - runs the in-process health checks (what `passdesk status` does
 * when no agent answers). */
#pragma once

#include "health.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean skip_vaprobe;    /* leave `vaapi` unknown instead of running the probe */
  guint vaprobe_timeout_ms; /* 0: PD_VAPROBE_DEFAULT_TIMEOUT_MS */
} PdChecksOptions;

PdReport *pd_checks_run (const PdChecksOptions *options);

G_END_DECLS
