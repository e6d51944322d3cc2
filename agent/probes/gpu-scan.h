/* gpu-scan.h - what sysfs says about the passed-through GPU and its outputs,
 * and what that means.
 *
 * pd_gpu_scan() (gpu-scan.c) reads PCI display-class devices, their bound
 * driver, DRM nodes and connectors through the sysroot prefix. It does not
 * open the GPU (that is the VA-API probe's job, in a child process).
 * pd_gpu_component() and pd_display_component() (gpu-component.c) judge a
 * scan and word it as health components, with advice; they read nothing.
 */
#pragma once

#include <glib.h>
#include "health.h"

G_BEGIN_DECLS

typedef enum
{
  PD_GPU_GEN_UNKNOWN = 0,
  PD_GPU_GEN_KABY_LAKE,    /* HD Graphics 630, 8086:5912 (Esprimo Q957) */
  PD_GPU_GEN_ALDER_LAKE_N, /* UHD, 8086:46d0/46d1/46d2 (N100 mini PCs) */
  PD_GPU_GEN_OTHER_INTEL,
} PdGpuGeneration;

typedef struct
{
  char *name;   /* "HDMI-A-1", "DP-1", ... */
  char *status; /* "connected", "disconnected", "unknown" */
  gboolean enabled;
  char *preferred_mode; /* first line of `modes`, or NULL */
} PdConnector;

typedef struct
{
  /* What the device is */
  char *pci_slot;     /* "0000:00:02.0" */
  guint32 pci_class;  /* 0x030000 VGA, 0x038000 display, ... */
  gboolean ids_known; /* vendor and device could be read */
  guint16 vendor;
  guint16 device;
  char *name; /* "Intel HD Graphics 630 (Kaby Lake GT2)" or "Intel GPU 8086:xxxx" */
  PdGpuGeneration generation;

  /* Its driver */
  char *driver; /* "i915", "xe", "vfio-pci", ... or NULL when none is bound */
  /* When no GPU driver is bound: what in the guest keeps it away, each
   * "/etc/modprobe.d/vfio.conf:2: blacklist i915" or "/proc/cmdline: nomodeset". */
  GPtrArray *driver_blocks; /* char * */

  /* Its DRM nodes */
  char *card_name;            /* "card0" or NULL */
  char *card_node;            /* "/dev/dri/card0" (real path, without the sysroot prefix) or NULL */
  char *render_node;          /* "/dev/dri/renderD128" or NULL */
  gboolean render_in_sysfs;   /* the driver registered a render node (drm/renderDN) */
  gboolean render_exists;     /* the render node's device file exists */
  gboolean render_accessible; /* the current user may open the render node read/write */

  /* Its outputs */
  GPtrArray *connectors; /* PdConnector */

  /* What could not be read */
  GPtrArray *notes;         /* char *: values that were unreadable or malformed */
  GPtrArray *display_notes; /* char *: the same for the connectors */
} PdGpuDevice;

typedef struct
{
  GPtrArray *devices; /* PdGpuDevice: PCI display-class devices, Intel first */
  GPtrArray *notes;   /* char *: problems not tied to one display device */
} PdGpuScan;

PdGpuScan *pd_gpu_scan (void);
void pd_gpu_scan_free (PdGpuScan *scan);
/* Whether @d is bound to a GPU driver (i915 or xe). */
gboolean pd_gpu_device_has_gpu_driver (const PdGpuDevice *d);
/* The Intel display device to work with, or NULL. */
const PdGpuDevice *pd_gpu_scan_primary (const PdGpuScan *scan);

/* "Intel HD Graphics 630 (Kaby Lake GT2)", ..., "Intel GPU 8086:xxxx" for
 * Intel ids not in the table; QEMU's emulated displays by name; otherwise
 * "display device vvvv:dddd". @generation may be NULL. */
char *pd_gpu_name_for_ids (guint16 vendor, guint16 device, PdGpuGeneration *generation);
const char *pd_gpu_generation_to_string (PdGpuGeneration generation);

/* The `gpu` and `display` components of the health model (gpu-component.c). */
PdComponent *pd_gpu_component (const PdGpuScan *scan);
PdComponent *pd_display_component (const PdGpuScan *scan);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdGpuScan, pd_gpu_scan_free)

G_END_DECLS
