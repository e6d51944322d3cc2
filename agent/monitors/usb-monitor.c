/* usb-monitor.c - the live USB device tree and its fault detection.
 *
 * Event source: libusb-1.0 hotplug (LIBUSB_HOTPLUG_ENUMERATE), driven from
 * the GLib main loop through libusb's pollfds: each fd libusb wants watched
 * gets a g_unix_fd_add() source, and when one is ready we call
 * libusb_handle_events_timeout_completed() with a zero timeout. libusb's own
 * udev/netlink listener (inside libusb) feeds its event pipe; we never spin
 * and run no timer while idle. Under umockdev, libusb's udev monitor receives
 * the testbed's uevents and reads the testbed's sysfs `descriptors`, so the
 * same path is exercised by the tests.
 *
 * Product names and speeds come from sysfs (`product`, `speed`) through the
 * sysroot prefix: opening a device for its string descriptor would wake it
 * from autosuspend and needs usbfs access, for a name sysfs already has.
 *
 * Windows (storm 60 s, cascade 1 s) are evaluated at event time from
 * g_get_monotonic_time(). The only timer is a one-shot that exists while a
 * storm, a cascade or a kernel finding is active, to return the component to
 * ok when its time is up.
 */
#include "config.h"

#include "usb-monitor.h"
#include "pd-i18n.h"
#include "monitor.h"
#include "logscan.h"
#include "sysroot.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <libusb.h>
#include <poll.h>

#define STORM_WINDOW_US (60 * G_USEC_PER_SEC)
#define STORM_RETURNS 3
#define CASCADE_WINDOW_US (1 * G_USEC_PER_SEC)
/* How long a cascade keeps the component degraded when the hub stays away
 * (it may have been unplugged on purpose; the event stays in the history). */
#define CASCADE_HOLD_US (5 * 60 * G_USEC_PER_SEC)
/* Bounds for outside input: a flood of events must not grow memory. */
#define MAX_DEVICES 512
#define MAX_PORT_HISTORY 512
#define MAX_RECENT_REMOVALS 256
#define PRODUCT_NAME_MAX 256
/* Plain add/remove events are history, not alarms: at most this many per
 * window, and none for a port in a storm (the storm event says it). */
#define DEVICE_EVENTS_PER_WINDOW 30
#define DEVICE_EVENTS_WINDOW_US (60 * G_USEC_PER_SEC)

#define SUPERSPEED_HUB_ADVICE                                                                      \
  "Monitor USB hubs on USB 3.0 ports are known to crash the controller; plug the monitor's USB "   \
  "cable into a USB 2.0 port."

struct _PdUsbMonitor
{
  GObject parent_instance;

  libusb_context *ctx;
  libusb_hotplug_callback_handle hotplug;
  gboolean hotplug_registered;
  gboolean enumerating;
  /* Events found while enumerating at start (a SuperSpeed hub already
   * plugged in), emitted from an idle callback once start has returned and
   * the caller had a chance to connect to "event". */
  GPtrArray *start_events; /* kind, text, kind, text, ... */
  guint start_events_id;
  GHashTable *fd_sources; /* fd -> source id */

  GHashTable *devices;    /* port path -> PdUsbDevice */
  GHashTable *ports;      /* port path -> PortHistory */
  GQueue recent_removals; /* Removal, oldest first */

  /* Active faults */
  GHashTable *storms;    /* port path -> Storm */
  GHashTable *cascades;  /* hub port path -> Cascade, until the hub returns or
                          * CASCADE_HOLD_US passed */
  char *controller_died; /* device named by the kernel log, or "" */
  guint expiry_id;       /* one-shot, only while a storm, cascade or kernel finding is active */
  gint64 device_events_window_start;
  guint device_events_in_window;
  guint device_events_suppressed;

  PdComponent *component;

  /* The windows, defaults above; pd_usb_monitor_set_windows() for tests. */
  gint64 storm_window_us;
  gint64 cascade_window_us;
  gint64 cascade_hold_us;
};

typedef struct
{
  gint64 last_left;
  gint64 last_cascade_event;     /* one cascade event per hub per storm window */
  gint64 returns[STORM_RETURNS]; /* ring of the last return times */
  guint n_returns;
  guint next;
} PortHistory;

typedef struct
{
  char *port_path;
  gboolean is_hub;
  gint64 time;
} Removal;

typedef struct
{
  char *name;
  gint64 until;
} Storm;

typedef struct
{
  char *name;
  guint n_children;
  gint64 until;
} Cascade;

static void pd_usb_monitor_iface_init (PdMonitorInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PdUsbMonitor, pd_usb_monitor, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (PD_TYPE_MONITOR, pd_usb_monitor_iface_init))

void
pd_usb_device_free (PdUsbDevice *d)
{
  if (d == NULL)
    return;
  g_free (d->port_path);
  g_free (d->product_name);
  g_free (d);
}

static PdUsbDevice *
usb_device_copy (const PdUsbDevice *d)
{
  PdUsbDevice *c = g_memdup2 (d, sizeof *d);
  c->port_path = g_strdup (d->port_path);
  c->product_name = g_strdup (d->product_name);
  return c;
}

static void
removal_free (Removal *r)
{
  g_free (r->port_path);
  g_free (r);
}

static void
storm_free (Storm *s)
{
  g_free (s->name);
  g_free (s);
}

static void
cascade_free (Cascade *c)
{
  g_free (c->name);
  g_free (c);
}

/* "Logitech USB Receiver" at port 1-4 */
static char *
device_label (const PdUsbDevice *d)
{
  if (d->product_name != NULL)
    return g_strdup_printf ("\"%s\" (%04x:%04x) at port %s", d->product_name, d->vendor, d->product,
                            d->port_path);
  return pd_i18n_sprintf ("USB device %04x:%04x at port %s", d->vendor, d->product, d->port_path);
}

static gboolean
is_root_hub (const PdUsbDevice *d)
{
  return g_str_has_prefix (d->port_path, "usb");
}

/* Is @path strictly below the hub at @hub ("1-4" -> "1-4.2", "1-4.2.1")? */
static gboolean
port_is_below (const char *path, const char *hub)
{
  gsize n = strlen (hub);
  if (g_str_has_prefix (hub, "usb"))
    {
      /* Root hub "usbN": everything on bus N. */
      g_autofree char *prefix = g_strdup_printf ("%s-", hub + 3);
      return g_str_has_prefix (path, prefix);
    }
  return strncmp (path, hub, n) == 0 && path[n] == '.';
}

static guint
parse_speed (const char *s)
{
  if (s == NULL)
    return 0;
  if (g_str_equal (s, "1.5"))
    return 1;
  guint64 v = 0;
  if (!g_ascii_string_to_unsigned (s, 10, 1, 100000, &v, NULL))
    return 0;
  return (guint) v;
}

static guint
speed_from_libusb (int speed)
{
  switch (speed)
    {
    case LIBUSB_SPEED_LOW:
      return 1;
    case LIBUSB_SPEED_FULL:
      return 12;
    case LIBUSB_SPEED_HIGH:
      return 480;
    case LIBUSB_SPEED_SUPER:
      return 5000;
    case LIBUSB_SPEED_SUPER_PLUS:
      return 10000;
    default:
      return 0;
    }
}

static gboolean
valid_name (const char *s)
{
  return s != NULL && *s != '\0' && g_utf8_validate (s, -1, NULL);
}

static char *
read_device_attr (const char *port_path, const char *attr, gsize max_len)
{
  g_autofree char *path = g_strdup_printf ("/sys/bus/usb/devices/%s/%s", port_path, attr);
  return pd_sysroot_read_attr (path, max_len, NULL);
}

/* "1-4.2" (the sysfs name), or "usbN" for a root hub; NULL on error. libusb
 * keeps the port numbers of a device that left, so this works for both. */
static char *
port_path_from_libusb (libusb_device *dev)
{
  guint8 ports[8]; /* USB allows 7 tiers */
  int n_ports = libusb_get_port_numbers (dev, ports, G_N_ELEMENTS (ports));
  guint bus = libusb_get_bus_number (dev);

  if (n_ports < 0)
    return NULL;
  if (n_ports == 0)
    return g_strdup_printf ("usb%u", bus);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "%u-", bus);
  for (int i = 0; i < n_ports; i++)
    g_string_append_printf (s, i == 0 ? "%u" : ".%u", ports[i]);
  return g_string_free (s, FALSE);
}

static PdUsbDevice *
device_from_libusb (libusb_device *dev)
{
  struct libusb_device_descriptor desc;
  g_autofree char *port_path = port_path_from_libusb (dev);

  if (port_path == NULL || libusb_get_device_descriptor (dev, &desc) != 0)
    return NULL;

  PdUsbDevice *d = g_new0 (PdUsbDevice, 1);
  d->bus = libusb_get_bus_number (dev);
  d->port_path = g_steal_pointer (&port_path);
  d->vendor = desc.idVendor;
  d->product = desc.idProduct;
  d->device_class = desc.bDeviceClass;
  d->is_hub = desc.bDeviceClass == LIBUSB_CLASS_HUB;

  /* Names and exact speed from sysfs: the device's directory is its port path. */
  g_autofree char *name = read_device_attr (d->port_path, "product", PRODUCT_NAME_MAX);
  if (valid_name (name))
    d->product_name = g_steal_pointer (&name);
  g_autofree char *speed = read_device_attr (d->port_path, "speed", 16);
  d->speed_mbps = parse_speed (speed);
  if (d->speed_mbps == 0)
    d->speed_mbps = speed_from_libusb (libusb_get_device_speed (dev));
  return d;
}

static const char *
speed_text (guint mbps)
{
  static char buf[16];
  if (mbps == 1)
    return "1.5";
  if (mbps == 0)
    return "unknown";
  g_snprintf (buf, sizeof buf, "%u", mbps);
  return buf;
}

static gboolean
is_superspeed_hub (const PdUsbDevice *d)
{
  return d->is_hub && !is_root_hub (d) && d->speed_mbps >= 5000;
}

/* --- the component ------------------------------------------------------ */

static gint
compare_devices (gconstpointer a, gconstpointer b)
{
  const PdUsbDevice *da = *(PdUsbDevice *const *) a;
  const PdUsbDevice *db = *(PdUsbDevice *const *) b;
  if (da->bus != db->bus)
    return da->bus < db->bus ? -1 : 1;
  /* Root hub first, then by port path. */
  gboolean ra = is_root_hub (da), rb = is_root_hub (db);
  if (ra != rb)
    return ra ? -1 : 1;
  return g_strcmp0 (da->port_path, db->port_path);
}

GPtrArray *
pd_usb_monitor_get_devices (PdUsbMonitor *self)
{
  g_return_val_if_fail (PD_IS_USB_MONITOR (self), NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) pd_usb_device_free);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, self->devices);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (out, usb_device_copy (value));
  g_ptr_array_sort (out, compare_devices);
  return out;
}

static PdComponent *
build_component (PdUsbMonitor *self)
{
  g_autoptr (GPtrArray) devs = pd_usb_monitor_get_devices (self);
  guint n_external = 0;
  PdComponent *c;

  for (guint i = 0; i < devs->len; i++)
    if (!is_root_hub (devs->pdata[i]))
      n_external++;

  c = pd_component_new (PD_COMPONENT_USB, PD_STATE_OK, NULL);
  pd_component_set_summary_printf (c, "%u USB device%s connected", n_external,
                                   n_external == 1 ? "" : "s");

  for (guint i = 0; i < devs->len; i++)
    {
      const PdUsbDevice *d = devs->pdata[i];
      if (is_root_hub (d))
        continue;
      pd_component_set_detail_printf (c, d->port_path, "%04x:%04x %s, %s Mbit/s%s", d->vendor,
                                      d->product, d->product_name ? d->product_name : N_ ("(no name)"),
                                      speed_text (d->speed_mbps), d->is_hub ? N_ (", hub") : "");
    }

  /* Ordered from mild to severe: pd_component_raise keeps the worst. */
  for (guint i = 0; i < devs->len; i++)
    {
      const PdUsbDevice *d = devs->pdata[i];
      if (is_superspeed_hub (d))
        {
          g_autofree char *label = device_label (d);
          g_autofree char *summary
              = pd_i18n_sprintf ("USB hub %s runs at SuperSpeed (USB 3)", label);
          pd_component_raise (c, PD_STATE_DEGRADED, summary);
          pd_component_add_advice (c, SUPERSPEED_HUB_ADVICE, NULL);
        }
    }

  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, self->cascades);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const Cascade *cas = value;
      g_autofree char *summary
          = pd_i18n_sprintf ("USB hub %s disconnected together with the %u device%s behind it",
                             cas->name, cas->n_children, cas->n_children == 1 ? "" : "s");
      pd_component_raise (c, PD_STATE_DEGRADED, summary);
      pd_component_add_advice (c,
                               "A whole USB hub dropped off at once: check its cable and power; "
                               "if it is the monitor's hub, plug it into a USB 2.0 port.",
                               NULL);
    }

  g_hash_table_iter_init (&it, self->storms);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const Storm *st = value;
      g_autofree char *summary
          = pd_i18n_sprintf ("%s keeps disconnecting and reconnecting", st->name);
      pd_component_raise (c, PD_STATE_DEGRADED, summary);
      pd_component_add_advice (c,
                               "A device that reconnects again and again has a bad cable, port "
                               "or power supply; try another cable or a USB 2.0 port.",
                               NULL);
    }

  if (self->controller_died != NULL)
    {
      g_autofree char *summary
          = *self->controller_died
                ? pd_i18n_sprintf ("The USB controller %s stopped working", self->controller_died)
                : g_strdup (N_ ("A USB controller stopped working"));
      pd_component_raise (c, PD_STATE_FAILED, summary);
      pd_component_add_advice (c,
                               "The USB controller died (the kernel gave it up); unplug the "
                               "monitor's USB hub from USB 3.0 ports and cold-restart the VM to "
                               "reset the controller.",
                               NULL);
      pd_component_add_advice (c, SUPERSPEED_HUB_ADVICE, NULL);
    }
  return c;
}

static void
update_component (PdUsbMonitor *self)
{
  g_autoptr (PdComponent) c = build_component (self);
  if (self->component != NULL && pd_component_equal (self->component, c))
    return;
  g_clear_pointer (&self->component, pd_component_free);
  self->component = g_steal_pointer (&c);
  if (!self->enumerating)
    pd_monitor_emit_component_changed (PD_MONITOR (self));
}

PdComponent *
pd_usb_monitor_get_component (PdUsbMonitor *self)
{
  g_return_val_if_fail (PD_IS_USB_MONITOR (self), NULL);
  if (self->component == NULL)
    self->component = build_component (self);
  return pd_component_copy (self->component);
}

static void
emit_event (PdUsbMonitor *self, const char *kind, const char *text)
{
  g_debug ("usb event %s: %s", kind, text);
  if (self->enumerating)
    {
      g_ptr_array_add (self->start_events, g_strdup (kind));
      g_ptr_array_add (self->start_events, g_strdup (text));
      return;
    }
  pd_monitor_emit_event (PD_MONITOR (self), kind, text);
}

static gboolean
emit_start_events (gpointer user_data)
{
  PdUsbMonitor *self = user_data;
  g_autoptr (GPtrArray) events = g_steal_pointer (&self->start_events);

  self->start_events_id = 0;
  self->start_events = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i + 1 < events->len; i += 2)
    emit_event (self, events->pdata[i], events->pdata[i + 1]);
  return G_SOURCE_REMOVE;
}

/* usb.device-added / usb.device-removed, rate limited (see above). */
static void
emit_device_event (PdUsbMonitor *self, const char *port_path, const char *kind, const char *text)
{
  gint64 now = g_get_monotonic_time ();

  if (g_hash_table_contains (self->storms, port_path))
    return;
  if (now - self->device_events_window_start > DEVICE_EVENTS_WINDOW_US)
    {
      self->device_events_window_start = now;
      self->device_events_in_window = 0;
    }
  if (self->device_events_in_window >= DEVICE_EVENTS_PER_WINDOW)
    {
      self->device_events_suppressed++;
      return;
    }
  self->device_events_in_window++;
  if (self->device_events_suppressed > 0)
    {
      g_autofree char *more = pd_i18n_sprintf ("%s (and %u earlier USB changes not listed)", text,
                                               self->device_events_suppressed);
      self->device_events_suppressed = 0;
      emit_event (self, kind, more);
    }
  else
    emit_event (self, kind, text);
}

/* --- windows and expiry ---------------------------------------------------- */

static void schedule_expiry (PdUsbMonitor *self);

/* Drops storms, cascades and kernel findings whose time is up; TRUE if any. */
static gboolean
expire_windows (PdUsbMonitor *self, gint64 now)
{
  gboolean changed = FALSE;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, self->storms);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (((Storm *) value)->until <= now)
      {
        g_hash_table_iter_remove (&it);
        changed = TRUE;
      }
  g_hash_table_iter_init (&it, self->cascades);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (((Cascade *) value)->until <= now)
      {
        g_hash_table_iter_remove (&it);
        changed = TRUE;
      }
  return changed;
}

static gboolean
on_expiry (gpointer user_data)
{
  PdUsbMonitor *self = user_data;
  self->expiry_id = 0;
  if (expire_windows (self, g_get_monotonic_time ()))
    update_component (self);
  schedule_expiry (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_expiry (PdUsbMonitor *self)
{
  gint64 next = G_MAXINT64;
  GHashTableIter it;
  gpointer value;

  g_clear_handle_id (&self->expiry_id, g_source_remove);
  g_hash_table_iter_init (&it, self->storms);
  while (g_hash_table_iter_next (&it, NULL, &value))
    next = MIN (next, ((Storm *) value)->until);
  g_hash_table_iter_init (&it, self->cascades);
  while (g_hash_table_iter_next (&it, NULL, &value))
    next = MIN (next, ((Cascade *) value)->until);
  if (next == G_MAXINT64)
    return; /* nothing active: no timer */

  gint64 delay_ms = (next - g_get_monotonic_time ()) / 1000 + 1;
  self->expiry_id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) CLAMP (delay_ms, 1, G_MAXINT),
                                        on_expiry, self, NULL);
}

static PortHistory *
port_history (PdUsbMonitor *self, const char *port_path, gint64 now)
{
  PortHistory *h = g_hash_table_lookup (self->ports, port_path);
  if (h != NULL)
    return h;

  if (g_hash_table_size (self->ports) >= MAX_PORT_HISTORY)
    {
      /* Forget ports whose history is older than any window. */
      GHashTableIter it;
      gpointer value;
      g_hash_table_iter_init (&it, self->ports);
      while (g_hash_table_iter_next (&it, NULL, &value))
        if (now - ((PortHistory *) value)->last_left > self->storm_window_us)
          g_hash_table_iter_remove (&it);
      if (g_hash_table_size (self->ports) >= MAX_PORT_HISTORY)
        g_hash_table_remove_all (self->ports);
    }
  h = g_new0 (PortHistory, 1);
  h->last_left = G_MININT64 / 2;
  h->last_cascade_event = G_MININT64 / 2;
  g_hash_table_insert (self->ports, g_strdup (port_path), h);
  return h;
}

static void
prune_removals (PdUsbMonitor *self, gint64 now)
{
  Removal *r;
  while ((r = g_queue_peek_head (&self->recent_removals)) != NULL
         && (now - r->time > self->cascade_window_us
             || g_queue_get_length (&self->recent_removals) > MAX_RECENT_REMOVALS))
    removal_free (g_queue_pop_head (&self->recent_removals));
}

/* Is a hub above @port_path in a storm? Its storm event already says what
 * happens to everything behind it. */
static gboolean
ancestor_storming (PdUsbMonitor *self, const char *port_path)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, self->storms);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (port_is_below (port_path, key))
      return TRUE;
  return FALSE;
}

/* --- hotplug ------------------------------------------------------------- */

static void
device_arrived (PdUsbMonitor *self, PdUsbDevice *d)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *label = device_label (d);
  gboolean was_ss_hub = FALSE;

  if (g_hash_table_size (self->devices) >= MAX_DEVICES
      && !g_hash_table_contains (self->devices, d->port_path))
    {
      g_warning ("More than %d USB devices; ignoring %s", MAX_DEVICES, label);
      pd_usb_device_free (d);
      return;
    }

  PdUsbDevice *old = g_hash_table_lookup (self->devices, d->port_path);
  if (old != NULL)
    was_ss_hub = is_superspeed_hub (old);
  g_hash_table_replace (self->devices, g_strdup (d->port_path), d);

  if (is_root_hub (d) && self->controller_died != NULL)
    {
      /* The controller came back (e.g. after a cold restart or rebind). */
      g_clear_pointer (&self->controller_died, g_free);
      g_autofree char *text = pd_i18n_sprintf ("USB controller for bus %u is back", d->bus);
      emit_event (self, "usb.controller-back", text);
    }

  /* A returning hub ends its cascade. */
  if (g_hash_table_remove (self->cascades, d->port_path))
    schedule_expiry (self);

  if (!self->enumerating)
    {
      PortHistory *h = port_history (self, d->port_path, now);
      if (now - h->last_left <= self->storm_window_us)
        {
          h->returns[h->next] = now;
          h->next = (h->next + 1) % STORM_RETURNS;
          h->n_returns = MIN (h->n_returns + 1, STORM_RETURNS);
          guint in_window = 0;
          for (guint i = 0; i < h->n_returns; i++)
            if (now - h->returns[i] <= self->storm_window_us)
              in_window++;
          if (in_window >= STORM_RETURNS)
            {
              Storm *st = g_hash_table_lookup (self->storms, d->port_path);
              if (st == NULL)
                {
                  st = g_new0 (Storm, 1);
                  st->name = g_strdup (label);
                  g_hash_table_insert (self->storms, g_strdup (d->port_path), st);
                  g_autofree char *text = pd_i18n_sprintf (
                      "%s disconnected and reconnected %u times within %d s", label, STORM_RETURNS,
                      (int) (self->storm_window_us / G_USEC_PER_SEC));
                  if (!ancestor_storming (self, d->port_path))
                    emit_event (self, "usb.reconnect-storm", text);
                }
              /* The storm lasts while returns keep coming within the window. */
              st->until = now + self->storm_window_us;
              schedule_expiry (self);
            }
        }

      if (!is_root_hub (d))
        {
          g_autofree char *text
              = g_strdup_printf ("%s connected (%s Mbit/s%s)", label, speed_text (d->speed_mbps),
                                 d->is_hub ? ", hub" : "");
          emit_device_event (self, d->port_path, "usb.device-added", text);
        }
    }

  if (is_superspeed_hub (d) && !was_ss_hub)
    {
      g_autofree char *text = pd_i18n_sprintf ("USB hub %s runs at %u Mbit/s (SuperSpeed). %s",
                                               label, d->speed_mbps, SUPERSPEED_HUB_ADVICE);
      emit_event (self, "usb.superspeed-hub", text);
    }

  update_component (self);
}

static void
device_left (PdUsbMonitor *self, const char *port_path)
{
  gint64 now = g_get_monotonic_time ();
  g_autoptr (PdUsbDevice) d = NULL;
  gpointer key = NULL, value = NULL;

  if (!g_hash_table_steal_extended (self->devices, port_path, &key, &value))
    return; /* never seen (e.g. dropped beyond MAX_DEVICES) */
  g_free (key);
  d = value;

  g_autofree char *label = device_label (d);
  PortHistory *h = port_history (self, d->port_path, now);
  h->last_left = now;

  prune_removals (self, now);

  if (d->is_hub && !is_root_hub (d))
    {
      /* Children leave before their hub (the kernel removes leaves first);
       * those still in the tree are about to follow. */
      guint n_children = 0;
      for (GList *l = self->recent_removals.head; l != NULL; l = l->next)
        if (port_is_below (((Removal *) l->data)->port_path, d->port_path))
          n_children++;
      GHashTableIter it;
      g_hash_table_iter_init (&it, self->devices);
      while (g_hash_table_iter_next (&it, &key, NULL))
        if (port_is_below (key, d->port_path))
          n_children++;
      if (n_children > 0)
        {
          Cascade *cas = g_new0 (Cascade, 1);
          cas->name = g_strdup (label);
          cas->n_children = n_children;
          cas->until = now + self->cascade_hold_us;
          g_hash_table_replace (self->cascades, g_strdup (d->port_path), cas);
          g_autofree char *text = pd_i18n_sprintf (
              "USB hub %s and the %u device%s behind it disconnected within %d s", label,
              n_children, n_children == 1 ? "" : "s",
              (int) MAX (1, self->cascade_window_us / G_USEC_PER_SEC));
          /* A hub that keeps dropping off says so once per storm window. */
          if (now - h->last_cascade_event > self->storm_window_us
              && !ancestor_storming (self, d->port_path))
            {
              h->last_cascade_event = now;
              emit_event (self, "usb.cascade", text);
            }
          schedule_expiry (self);
        }
    }

  Removal *r = g_new0 (Removal, 1);
  r->port_path = g_strdup (d->port_path);
  r->is_hub = d->is_hub;
  r->time = now;
  g_queue_push_tail (&self->recent_removals, r);
  prune_removals (self, now);

  if (!is_root_hub (d))
    {
      g_autofree char *text = g_strdup_printf ("%s disconnected", label);
      emit_device_event (self, d->port_path, "usb.device-removed", text);
    }

  update_component (self);
}

static int LIBUSB_CALL
on_hotplug (libusb_context *ctx, libusb_device *dev, libusb_hotplug_event event, void *user_data)
{
  PdUsbMonitor *self = user_data;

  if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
    {
      PdUsbDevice *d = device_from_libusb (dev);
      if (d != NULL)
        device_arrived (self, d);
    }
  else
    {
      /* Its sysfs directory is gone (or already someone else's): use what
       * the tree recorded at arrival. */
      g_autofree char *port_path = port_path_from_libusb (dev);
      if (port_path != NULL)
        device_left (self, port_path);
    }
  return 0; /* stay registered */
}

/* --- libusb pollfds in the GLib main loop ---------------------------------- */

static gboolean
on_usb_fd (int fd, GIOCondition condition, gpointer user_data)
{
  PdUsbMonitor *self = user_data;
  struct timeval zero = { 0, 0 };
  int rc = libusb_handle_events_timeout_completed (self->ctx, &zero, NULL);
  if (rc != 0 && rc != LIBUSB_ERROR_INTERRUPTED)
    g_warning ("libusb could not handle events: %s", libusb_strerror (rc));
  return G_SOURCE_CONTINUE;
}

static void LIBUSB_CALL
on_pollfd_added (int fd, short events, void *user_data)
{
  PdUsbMonitor *self = user_data;
  GIOCondition cond = 0;
  if (events & POLLIN)
    cond |= G_IO_IN;
  if (events & POLLOUT)
    cond |= G_IO_OUT;
  g_hash_table_remove (self->fd_sources, GINT_TO_POINTER (fd));
  guint id = g_unix_fd_add (fd, cond, on_usb_fd, self);
  g_hash_table_insert (self->fd_sources, GINT_TO_POINTER (fd), GUINT_TO_POINTER (id));
}

static void LIBUSB_CALL
on_pollfd_removed (int fd, void *user_data)
{
  PdUsbMonitor *self = user_data;
  g_hash_table_remove (self->fd_sources, GINT_TO_POINTER (fd));
}

static void
remove_source (gpointer id)
{
  g_source_remove (GPOINTER_TO_UINT (id));
}

gboolean
pd_usb_monitor_start (PdUsbMonitor *self, GError **error)
{
  int rc;

  g_return_val_if_fail (PD_IS_USB_MONITOR (self), FALSE);
  g_return_val_if_fail (self->ctx == NULL, FALSE);

  rc = libusb_init (&self->ctx);
  if (rc != 0)
    {
      self->ctx = NULL;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _ ("Cannot watch USB devices: libusb could not start (%s); check that usbfs "
                      "(/dev/bus/usb) and sysfs are available."),
                   libusb_strerror (rc));
      return FALSE;
    }
  if (!libusb_has_capability (LIBUSB_CAP_HAS_HOTPLUG))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _ ("Cannot watch USB devices: this libusb has no hotplug support."));
      g_clear_pointer (&self->ctx, libusb_exit);
      return FALSE;
    }

  /* We submit no transfers, so libusb timeouts never matter here; on Linux
   * libusb_pollfds_handle_timeouts() is true anyway (timerfd). */
  if (!libusb_pollfds_handle_timeouts (self->ctx))
    g_debug ("libusb needs external timeout handling; unused (no transfers)");

  const struct libusb_pollfd **fds = libusb_get_pollfds (self->ctx);
  if (fds != NULL)
    {
      for (guint i = 0; fds[i] != NULL; i++)
        on_pollfd_added (fds[i]->fd, fds[i]->events, self);
      libusb_free_pollfds (fds);
    }
  libusb_set_pollfd_notifiers (self->ctx, on_pollfd_added, on_pollfd_removed, self);

  self->enumerating = TRUE;
  rc = libusb_hotplug_register_callback (
      self->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
      LIBUSB_HOTPLUG_ENUMERATE, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
      LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, self, &self->hotplug);
  self->enumerating = FALSE;
  if (rc != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _ ("Cannot watch USB devices: libusb hotplug registration failed (%s)."),
                   libusb_strerror (rc));
      libusb_set_pollfd_notifiers (self->ctx, NULL, NULL, NULL);
      g_hash_table_remove_all (self->fd_sources);
      g_clear_pointer (&self->ctx, libusb_exit);
      return FALSE;
    }
  self->hotplug_registered = TRUE;
  if (self->start_events->len > 0)
    self->start_events_id = g_idle_add (emit_start_events, self);
  g_clear_pointer (&self->component, pd_component_free);
  self->component = build_component (self);
  return TRUE;
}

void
pd_usb_monitor_note_kernel_finding (PdUsbMonitor *self, const char *kind, const char *device)
{
  g_return_if_fail (PD_IS_USB_MONITOR (self));
  g_return_if_fail (kind != NULL);

  /* Only a dead controller is part of the tree; other usb.* findings are
   * held by the agent's kernel-log overlay alone (logscan-rules.c). */
  if (!g_str_equal (kind, "usb.controller-died"))
    return;
  g_free (self->controller_died);
  self->controller_died
      = g_strdup (device != NULL && g_utf8_validate (device, -1, NULL) ? device : "");
  update_component (self);
}

void
pd_usb_monitor_set_windows (PdUsbMonitor *self, gint64 storm_window_us, gint64 cascade_window_us,
                            gint64 hold_us)
{
  g_return_if_fail (PD_IS_USB_MONITOR (self));
  g_return_if_fail (storm_window_us > 0 && cascade_window_us > 0 && hold_us > 0);
  self->storm_window_us = storm_window_us;
  self->cascade_window_us = cascade_window_us;
  self->cascade_hold_us = hold_us;
}

/* --- GObject ----------------------------------------------------------------- */

static void
pd_usb_monitor_dispose (GObject *object)
{
  PdUsbMonitor *self = PD_USB_MONITOR (object);

  g_clear_handle_id (&self->expiry_id, g_source_remove);
  g_clear_handle_id (&self->start_events_id, g_source_remove);
  if (self->ctx != NULL)
    {
      if (self->hotplug_registered)
        libusb_hotplug_deregister_callback (self->ctx, self->hotplug);
      self->hotplug_registered = FALSE;
      libusb_set_pollfd_notifiers (self->ctx, NULL, NULL, NULL);
      g_hash_table_remove_all (self->fd_sources);
      g_clear_pointer (&self->ctx, libusb_exit);
    }
  G_OBJECT_CLASS (pd_usb_monitor_parent_class)->dispose (object);
}

static void
pd_usb_monitor_finalize (GObject *object)
{
  PdUsbMonitor *self = PD_USB_MONITOR (object);

  g_hash_table_unref (self->fd_sources);
  g_hash_table_unref (self->devices);
  g_hash_table_unref (self->ports);
  g_hash_table_unref (self->storms);
  g_hash_table_unref (self->cascades);
  g_queue_clear_full (&self->recent_removals, (GDestroyNotify) removal_free);
  g_free (self->controller_died);
  g_ptr_array_unref (self->start_events);
  g_clear_pointer (&self->component, pd_component_free);
  G_OBJECT_CLASS (pd_usb_monitor_parent_class)->finalize (object);
}

static void
pd_usb_monitor_class_init (PdUsbMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pd_usb_monitor_dispose;
  object_class->finalize = pd_usb_monitor_finalize;
}

static PdComponentId
usb_get_component_id (PdMonitor *monitor)
{
  return PD_COMPONENT_USB;
}

static void
usb_note_kernel_finding (PdMonitor *monitor, const PdLogKind *kind, const char *device)
{
  pd_usb_monitor_note_kernel_finding (PD_USB_MONITOR (monitor), kind->kind, device);
}

static gboolean
usb_start (PdMonitor *monitor, GError **error)
{
  return pd_usb_monitor_start (PD_USB_MONITOR (monitor), error);
}

static PdComponent *
usb_get_component (PdMonitor *monitor)
{
  return pd_usb_monitor_get_component (PD_USB_MONITOR (monitor));
}

static void
pd_usb_monitor_iface_init (PdMonitorInterface *iface)
{
  iface->start = usb_start;
  iface->get_component_id = usb_get_component_id;
  iface->get_component = usb_get_component;
  iface->note_kernel_finding = usb_note_kernel_finding;
}

static void
pd_usb_monitor_init (PdUsbMonitor *self)
{
  self->fd_sources = g_hash_table_new_full (NULL, NULL, NULL, remove_source);
  self->devices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) pd_usb_device_free);
  self->ports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->storms
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) storm_free);
  self->cascades
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cascade_free);
  g_queue_init (&self->recent_removals);
  self->start_events = g_ptr_array_new_with_free_func (g_free);
  self->storm_window_us = STORM_WINDOW_US;
  self->cascade_window_us = CASCADE_WINDOW_US;
  self->cascade_hold_us = CASCADE_HOLD_US;
}

PdUsbMonitor *
pd_usb_monitor_new (void)
{
  return g_object_new (PD_TYPE_USB_MONITOR, NULL);
}
