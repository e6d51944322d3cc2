/* usb-read.h - the USB devices present, read once from sysfs
 * (/sys/bus/usb/devices through the sysroot prefix). GLib only, for the
 * in-process checks of `passdesk status` when no agent runs; the agent's
 * own view is the live tree of usb-monitor.h.
 *
 * The `usb` component: ok with the count of devices and controllers (root
 * hubs), unknown when sysfs shows no USB bus at all. Faults (reconnect
 * storms, reset loops, a dead controller) come from watching over time and
 * the kernel log: the summary says they need the running agent.
 */
#pragma once

#include "health.h"

G_BEGIN_DECLS

PdComponent *pd_usb_component_read (void);

G_END_DECLS
