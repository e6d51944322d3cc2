/* usb-monitor.h - the live USB device tree and its fault detection.
 *
 * PdUsbMonitor keeps a tree of the USB devices present (bus, port path,
 * vendor:product, product name, class, speed, hub or not), fed by hotplug
 * events integrated into the GLib main loop (no thread, no timer while idle).
 * It detects:
 *  - a reconnect storm: the same port path leaves and returns 3 times within
 *    60 s ("usb.reconnect-storm", component degraded while the window lasts);
 *  - a cascade: a hub and everything below it leave within 1 s
 *    ("usb.cascade", component degraded);
 *  - a hub running at SuperSpeed (>= 5000 Mbit/s): the guide's advice to use
 *    a USB 2.0 port ("usb.superspeed-hub");
 *  - controller death, reported by the kernel-log monitor through
 *    pd_usb_monitor_note_kernel_finding() (component failed).
 * Events name the device by product name and port path. Event kinds:
 *   usb.device-added, usb.device-removed  history only; rate limited (30 a
 *                                         minute) and none for a storming port
 *   usb.reconnect-storm, usb.cascade, usb.superspeed-hub  (component degraded)
 *   usb.controller-back                    a root hub returned after a
 *                                         controller death
 */
#pragma once

#include <glib-object.h>
#include "health.h"

G_BEGIN_DECLS

#define PD_TYPE_USB_MONITOR (pd_usb_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PdUsbMonitor, pd_usb_monitor, PD, USB_MONITOR, GObject)
/* Implements PdMonitor (monitor.h). */

/* One device of the live tree (a snapshot; see pd_usb_monitor_get_devices). */
typedef struct
{
  guint8 bus;
  char *port_path; /* "1-4.2"; "usb1" for a root hub */
  guint16 vendor;
  guint16 product;
  char *product_name; /* sysfs `product` or the string descriptor; may be NULL */
  guint8 device_class;
  guint speed_mbps; /* 1 (low speed: 1.5), 12, 480, 5000, 10000, 20000; 0 unknown */
  gboolean is_hub;
} PdUsbDevice;

void pd_usb_device_free (PdUsbDevice *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdUsbDevice, pd_usb_device_free)

PdUsbMonitor *pd_usb_monitor_new (void);

/* Starts listening for hotplug events and enumerates what is present.
 * FALSE with @error when no event source can be opened. */
gboolean pd_usb_monitor_start (PdUsbMonitor *self, GError **error);

/* The `usb` component (PD_COMPONENT_USB). Transfer full. */
PdComponent *pd_usb_monitor_get_component (PdUsbMonitor *self);

/* A snapshot of the tree: PdUsbDevice, sorted by bus and port path.
 * Transfer full (the array frees its elements). */
GPtrArray *pd_usb_monitor_get_devices (PdUsbMonitor *self);

/* The agent passes the kernel-log findings whose row says tell_monitor
 * (logscan-rules.c): "usb.controller-died" makes the component failed until
 * the controller's root hub is seen again; @device is the controller the log
 * line named (may be NULL). Other kinds are ignored: the agent's kernel-log
 * overlay holds them. */
void pd_usb_monitor_note_kernel_finding (PdUsbMonitor *self, const char *kind, const char *device);

/* Tuning, for tests: the storm window (default 60 s), the cascade window
 * (1 s) and how long a cascade keeps the component degraded (5 min by
 * default; @hold_us). */
void pd_usb_monitor_set_windows (PdUsbMonitor *self, gint64 storm_window_us,
                                 gint64 cascade_window_us, gint64 hold_us);

/* Signals:
 *  "component-changed" ()                      the component really changed
 *  "event" (const char *kind, const char *text) a history entry */

G_END_DECLS
