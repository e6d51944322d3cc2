/* usb-read.c - USB devices from sysfs, once (see usb-read.h). */
#include "usb-read.h"

#include "sysroot.h"

#include <string.h>

/* A VM has a handful of USB devices; a directory with more entries than
 * this is not one to read through. */
#define MAX_ENTRIES 512
#define ATTR_MAX 256

static char *
read_attr (const char *dev, const char *attr)
{
  g_autofree char *path = g_strdup_printf ("/sys/bus/usb/devices/%s/%s", dev, attr);
  char *value = pd_sysroot_read_attr (path, ATTR_MAX, NULL);
  if (value != NULL)
    g_strstrip (value);
  return value;
}

/* "usbN" is a root hub (one per controller); "B-P[.P...]" a device; names
 * with ':' are interfaces. */
static gboolean
is_device_name (const char *name)
{
  return strchr (name, ':') == NULL && g_ascii_isdigit (name[0]) && strchr (name, '-') != NULL;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

PdComponent *
pd_usb_component_read (void)
{
  g_autofree char *dir_path = pd_sysroot_path ("/sys/bus/usb/devices");
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  if (dir == NULL)
    return pd_component_new (PD_COMPONENT_USB, PD_STATE_UNKNOWN,
                             "No USB bus in sysfs: this VM shows no USB controller.");

  guint controllers = 0;
  g_autoptr (GPtrArray) sorted = g_ptr_array_new_with_free_func (g_free);
  const char *entry;
  while ((entry = g_dir_read_name (dir)) != NULL && sorted->len < MAX_ENTRIES)
    g_ptr_array_add (sorted, g_strdup (entry));
  g_ptr_array_sort (sorted, compare_names);
  /* One detail per device, keyed by its port path as the agent's USB
   * monitor does (detail-keys.h: the USB port family). */
  g_autoptr (GPtrArray) devices = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < sorted->len; i++)
    {
      const char *name = g_ptr_array_index (sorted, i);
      if (g_str_has_prefix (name, "usb") && g_ascii_isdigit (name[3]))
        controllers++;
      else if (is_device_name (name))
        {
          g_autofree char *vendor = read_attr (name, "idVendor");
          g_autofree char *model = read_attr (name, "idProduct");
          g_autofree char *product = read_attr (name, "product");
          g_autofree char *speed = read_attr (name, "speed");
          if (vendor == NULL || model == NULL)
            continue; /* not a device directory after all */
          g_ptr_array_add (devices, g_strdup (name));
          g_ptr_array_add (values, g_strdup_printf ("%s:%s %s, %s Mbit/s", vendor, model,
                                                    product ? product : "unnamed device",
                                                    speed ? speed : "?"));
        }
    }

  PdComponent *c = pd_component_new (PD_COMPONENT_USB, PD_STATE_OK, NULL);
  if (controllers == 0)
    pd_component_set_state (c, PD_STATE_UNKNOWN,
                            "No USB controller in sysfs: this VM shows no USB bus.");
  else
    pd_component_set_summary_printf (
        c,
        "%u USB device%s on %u controller%s (read from sysfs; faults such as reconnect storms "
        "are seen only by the running agent)",
        devices->len, devices->len == 1 ? "" : "s", controllers, controllers == 1 ? "" : "s");
  for (guint i = 0; i < devices->len; i++)
    pd_component_set_detail (c, g_ptr_array_index (devices, i), g_ptr_array_index (values, i));
  return c;
}
