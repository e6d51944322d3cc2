/* monitor.c - the PdMonitor interface: its signals and dispatch. */
#include "monitor.h"

enum
{
  SIGNAL_COMPONENT_CHANGED,
  SIGNAL_EVENT,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

G_DEFINE_INTERFACE (PdMonitor, pd_monitor, G_TYPE_OBJECT)

static void
pd_monitor_default_init (PdMonitorInterface *iface)
{
  signals[SIGNAL_COMPONENT_CHANGED]
      = g_signal_new ("component-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_EVENT]
      = g_signal_new ("event", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

gboolean
pd_monitor_start (PdMonitor *self, GError **error)
{
  g_return_val_if_fail (PD_IS_MONITOR (self), FALSE);
  return PD_MONITOR_GET_IFACE (self)->start (self, error);
}

PdComponentId
pd_monitor_get_component_id (PdMonitor *self)
{
  g_return_val_if_fail (PD_IS_MONITOR (self), PD_N_COMPONENTS);
  return PD_MONITOR_GET_IFACE (self)->get_component_id (self);
}

PdComponent *
pd_monitor_get_component (PdMonitor *self)
{
  g_return_val_if_fail (PD_IS_MONITOR (self), NULL);
  return PD_MONITOR_GET_IFACE (self)->get_component (self);
}

void
pd_monitor_refresh (PdMonitor *self)
{
  g_return_if_fail (PD_IS_MONITOR (self));
  PdMonitorInterface *iface = PD_MONITOR_GET_IFACE (self);
  if (iface->refresh)
    iface->refresh (self);
}

void
pd_monitor_note_kernel_finding (PdMonitor *self, const PdLogKind *kind, const char *device)
{
  g_return_if_fail (PD_IS_MONITOR (self));
  g_return_if_fail (kind != NULL);
  PdMonitorInterface *iface = PD_MONITOR_GET_IFACE (self);
  if (iface->note_kernel_finding)
    iface->note_kernel_finding (self, kind, device);
}

void
pd_monitor_emit_component_changed (PdMonitor *self)
{
  g_signal_emit (self, signals[SIGNAL_COMPONENT_CHANGED], 0);
}

void
pd_monitor_emit_event (PdMonitor *self, const char *kind, const char *text)
{
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, kind, text);
}
