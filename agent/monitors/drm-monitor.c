/* drm-monitor.c - DRM and GPU udev events through libgudev.
 *
 * GUdevClient delivers uevents on the main loop (its netlink socket is a
 * GSource), so nothing here polls or runs while the machine is idle.
 */
#include "config.h"

#include "drm-monitor.h"
#include "pd-i18n.h"
#include "monitor.h"

#include <gio/gio.h>
#include <gudev/gudev.h>

struct _PdDrmMonitor
{
  GObject parent_instance;
  GUdevClient *client;
};

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void pd_drm_monitor_iface_init (PdMonitorInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PdDrmMonitor, pd_drm_monitor, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (PD_TYPE_MONITOR, pd_drm_monitor_iface_init))

/* "card0", "card1": the DRM card itself, not "card0-HDMI-A-1" (a connector)
 * nor "renderD128". */
static gboolean
is_card_name (const char *name)
{
  if (name == NULL || !g_str_has_prefix (name, "card") || name[4] == '\0')
    return FALSE;
  for (const char *p = name + 4; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

/* PCI class 0x03xxxx (display controller). The PCI_CLASS property is hex
 * without leading zeros ("30000"); the sysfs attribute is "0x030000". */
static gboolean
is_display_class (GUdevDevice *device)
{
  const char *cls = g_udev_device_get_property (device, "PCI_CLASS");
  guint64 v = 0;

  if (cls == NULL)
    cls = g_udev_device_get_sysfs_attr (device, "class");
  if (cls == NULL)
    return FALSE;
  if (g_str_has_prefix (cls, "0x") || g_str_has_prefix (cls, "0X"))
    cls += 2;
  if (!g_ascii_string_to_unsigned (cls, 16, 0, 0xffffff, &v, NULL))
    return FALSE;
  return (v >> 16) == 0x03;
}

static void
on_uevent (GUdevClient *client, const char *action, GUdevDevice *device, gpointer user_data)
{
  PdDrmMonitor *self = user_data;
  const char *subsystem = g_udev_device_get_subsystem (device);
  const char *name = g_udev_device_get_name (device);

  if (action == NULL || subsystem == NULL)
    return;

  if (g_str_equal (subsystem, "drm"))
    {
      if (g_str_equal (action, "change")
          && g_strcmp0 (g_udev_device_get_property (device, "HOTPLUG"), "1") == 0)
        {
          g_debug ("drm hotplug on %s", name);
          g_signal_emit (self, signals[SIGNAL_CHANGED], 0, "hotplug");
        }
      else if ((g_str_equal (action, "add") || g_str_equal (action, "remove"))
               && is_card_name (name))
        {
          g_debug ("drm card %s: %s", name, action);
          g_signal_emit (self, signals[SIGNAL_CHANGED], 0, "gpu");
        }
    }
  else if (g_str_equal (subsystem, "pci"))
    {
      if ((g_str_equal (action, "bind") || g_str_equal (action, "unbind")
           || g_str_equal (action, "add") || g_str_equal (action, "remove"))
          && is_display_class (device))
        {
          g_debug ("display device %s: %s", name, action);
          g_signal_emit (self, signals[SIGNAL_CHANGED], 0, "gpu");
        }
    }
}

gboolean
pd_drm_monitor_start (PdDrmMonitor *self, GError **error)
{
  static const char *const subsystems[] = { "drm", "pci", NULL };

  g_return_val_if_fail (PD_IS_DRM_MONITOR (self), FALSE);
  g_return_val_if_fail (self->client == NULL, FALSE);

  /* g_udev_client_new cannot report failure; it warns and delivers nothing
   * when udev is unavailable, which is the best there is. */
  self->client = g_udev_client_new (subsystems);
  if (self->client == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           _ ("Cannot watch GPU and display changes: udev is not available."));
      return FALSE;
    }
  g_signal_connect (self->client, "uevent", G_CALLBACK (on_uevent), self);
  return TRUE;
}

static void
pd_drm_monitor_dispose (GObject *object)
{
  PdDrmMonitor *self = PD_DRM_MONITOR (object);

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (pd_drm_monitor_parent_class)->dispose (object);
}

static void
pd_drm_monitor_class_init (PdDrmMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pd_drm_monitor_dispose;
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

/* The DRM monitor keeps no component: the agent re-scans the outputs and the
 * GPU on "changed", so its interface part only starts it. */
static PdComponentId
drm_get_component_id (PdMonitor *monitor)
{
  return PD_COMPONENT_DISPLAY;
}

static PdComponent *
drm_get_component (PdMonitor *monitor)
{
  return NULL;
}

static gboolean
drm_start (PdMonitor *monitor, GError **error)
{
  return pd_drm_monitor_start (PD_DRM_MONITOR (monitor), error);
}

static void
pd_drm_monitor_iface_init (PdMonitorInterface *iface)
{
  iface->start = drm_start;
  iface->get_component_id = drm_get_component_id;
  iface->get_component = drm_get_component;
}

static void
pd_drm_monitor_init (PdDrmMonitor *self)
{
}

PdDrmMonitor *
pd_drm_monitor_new (void)
{
  return g_object_new (PD_TYPE_DRM_MONITOR, NULL);
}
