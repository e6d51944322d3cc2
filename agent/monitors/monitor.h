/* monitor.h - the interface every long-lived event source of the agent shares.
 *
 * A PdMonitor owns at most one health component and tells the agent when it
 * changed; the agent holds its monitors as a list and treats them alike
 * (cf. GLib's GMemoryMonitor). A monitor that owns no component of its own
 * (the DRM monitor: the agent re-scans on its "changed") returns NULL from
 * get_component and says which component its signals are about.
 *
 * Signals (declared here once, emitted with the helpers below):
 *  "component-changed" ()                        the component really changed
 *  "event" (const char *kind, const char *text)  a history entry about it
 */
#pragma once

#include <gio/gio.h>

#include "health.h"
#include "logscan.h"

G_BEGIN_DECLS

#define PD_TYPE_MONITOR (pd_monitor_get_type ())
G_DECLARE_INTERFACE (PdMonitor, pd_monitor, PD, MONITOR, GObject)

struct _PdMonitorInterface
{
  GTypeInterface g_iface;

  /* Required. */
  gboolean (*start) (PdMonitor *self, GError **error);
  PdComponentId (*get_component_id) (PdMonitor *self);
  PdComponent *(*get_component) (PdMonitor *self);
  /* Optional: re-read now (sources without change notification). */
  void (*refresh) (PdMonitor *self);
  /* Optional: a live kernel-log finding about this monitor's component, for
   * kinds whose row says tell_monitor (logscan-rules.c). */
  void (*note_kernel_finding) (PdMonitor *self, const PdLogKind *kind, const char *device);
};

/* Starts watching. FALSE with @error when the monitor cannot run at all;
 * missing hardware is a component state, not an error. */
gboolean pd_monitor_start (PdMonitor *self, GError **error);
/* The component this monitor's signals are about. */
PdComponentId pd_monitor_get_component_id (PdMonitor *self);
/* The current component (transfer full), or NULL when the monitor keeps none. */
PdComponent *pd_monitor_get_component (PdMonitor *self);
void pd_monitor_refresh (PdMonitor *self);
void pd_monitor_note_kernel_finding (PdMonitor *self, const PdLogKind *kind, const char *device);

/* For implementations. */
void pd_monitor_emit_component_changed (PdMonitor *self);
void pd_monitor_emit_event (PdMonitor *self, const char *kind, const char *text);

G_END_DECLS
