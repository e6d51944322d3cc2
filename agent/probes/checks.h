/* checks.h - runs the in-process health checks (what `passdesk status` does
 * when no agent answers): everything a program can read once without the
 * agent (GPU and display from sysfs, the VA-API probe, HDMI audio from
 * /proc/asound, USB devices from
 * sysfs, whether the host channel exists). What only the running agent can
 * know (kernel-log findings, USB faults over time, the host helper's answer)
 * is named in those components' summaries. */
#pragma once

#include "health.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean skip_vaprobe;    /* leave `vaapi` unknown instead of running the probe */
  guint vaprobe_timeout_ms; /* 0: PD_VAPROBE_DEFAULT_TIMEOUT_MS */
  const char *start_agent;  /* the command that starts the agent the caller looks
                               for; NULL: the system service */
} PdChecksOptions;

/* The virtio port the agent talks to the host on. */
#define PD_CHECKS_HOSTLINK_PORT "/dev/virtio-ports/org.passdesk.hostlink.0"

PdReport *pd_checks_run (const PdChecksOptions *options);

G_END_DECLS
