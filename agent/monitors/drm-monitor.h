/* drm-monitor.h - DRM and GPU udev events (libgudev).
 *
 * PdDrmMonitor listens on the "drm" and "pci" udev subsystems and emits
 * "changed" with:
 *  - "hotplug": a connector changed (a drm uevent with HOTPLUG=1);
 *  - "gpu": a DRM card was added or removed, or a display-class PCI device
 *    (class 0x03xxxx) was bound to or unbound from a driver (or added/removed).
 * It does not re-read anything itself: the agent re-scans on "changed".
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define PD_TYPE_DRM_MONITOR (pd_drm_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PdDrmMonitor, pd_drm_monitor, PD, DRM_MONITOR, GObject)
/* Implements PdMonitor (monitor.h). */

PdDrmMonitor *pd_drm_monitor_new (void);

/* Connects to udev. FALSE with @error if that fails. */
gboolean pd_drm_monitor_start (PdDrmMonitor *self, GError **error);

/* Signals:
 *  "changed" (const char *what)   "hotplug" or "gpu" */

G_END_DECLS
