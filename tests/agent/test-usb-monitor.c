/* test-usb-monitor.c - PdUsbMonitor against umockdev USB devices.
 *
 * Runs under umockdev-wrapper (see tests/meson.build): the testbed's sysfs,
 * /dev/bus/usb nodes and uevents stand in for the kernel, and libusb's own
 * udev hotplug listener receives them, so the monitor's real libusb path
 * (pollfds in the GLib loop) is what is tested. PASSDESK_SYSROOT is unset so
 * sysfs reads go to the testbed's /sys.
 *
 * Devices mirror the guide's machines: the monitor's hub with a Logitech
 * receiver (046d:c52b) and a Microdia keyboard (0c45:7403) behind it.
 */
#include "config.h"

#include <umockdev.h>

#include "sysroot.h"
#include "usb-monitor.h"

#define WAIT_US (15 * G_USEC_PER_SEC)

#define SS_ADVICE                                                                                  \
  "Monitor USB hubs on USB 3.0 ports are known to crash the controller; plug the monitor's USB "   \
  "cable into a USB 2.0 port."

typedef struct
{
  UMockdevTestbed *tb;
  PdUsbMonitor *mon;
  GPtrArray *events; /* "kind|text" */
  guint n_changed;
  guint next_devnum[8];
} Fixture;

typedef struct
{
  const char *name; /* sysfs name = port path */
  guint bus;
  guint16 vid, pid;
  const char *product;
  const char *speed;
  guint8 cls;
} UsbSpec;

static const UsbSpec ROOT1 = { "usb1", 1, 0x1d6b, 0x0002, "xHCI Host Controller", "480", 9 };
static const UsbSpec ROOT2 = { "usb2", 2, 0x1d6b, 0x0003, "xHCI Host Controller", "5000", 9 };
static const UsbSpec HUB = { "1-4", 1, 0x05e3, 0x0610, "USB2.0 Hub", "480", 9 };
static const UsbSpec RECEIVER = { "1-4.1", 1, 0x046d, 0xc52b, "USB Receiver", "12", 0 };
static const UsbSpec KEYBOARD = { "1-4.2", 1, 0x0c45, 0x7403, "Foot Switch", "12", 0 };
static const UsbSpec SS_HUB = { "2-1", 2, 0x05e3, 0x0626, "USB3.1 Hub", "5000", 9 };

/* Adds the sysfs device (not announced yet): attributes as the kernel has
 * them, `descriptors` with a device and a configuration descriptor (what
 * libusb reads), and the udev properties. Returns the syspath. */
static char *
add_usb (Fixture *f, const UsbSpec *s, const char *parent)
{
  guint devnum = ++f->next_devnum[s->bus];
  g_autofree char *busnum = g_strdup_printf ("%u\n", s->bus);
  g_autofree char *devnum_s = g_strdup_printf ("%u\n", devnum);
  g_autofree char *vid = g_strdup_printf ("%04x\n", s->vid);
  g_autofree char *pid = g_strdup_printf ("%04x\n", s->pid);
  g_autofree char *speed = g_strdup_printf ("%s\n", s->speed);
  g_autofree char *cls = g_strdup_printf ("%02x\n", s->cls);
  g_autofree char *product = g_strdup_printf ("%s\n", s->product);
  g_autofree char *devname = g_strdup_printf ("/dev/bus/usb/%03u/%03u", s->bus, devnum);
  g_autofree char *busnum_p = g_strdup_printf ("%03u", s->bus);
  g_autofree char *devnum_p = g_strdup_printf ("%03u", devnum);
  g_autofree char *product_p = g_strdup_printf ("%x/%x/100", s->vid, s->pid);

  char *path = umockdev_testbed_add_device (
      f->tb, "usb", s->name, parent, "busnum", busnum, "devnum", devnum_s, "idVendor", vid,
      "idProduct", pid, "speed", speed, "bDeviceClass", cls, "product", product, NULL, "DEVTYPE",
      "usb_device", "DEVNAME", devname, "BUSNUM", busnum_p, "DEVNUM", devnum_p, "PRODUCT",
      product_p, NULL);
  guint bcd = g_str_equal (s->speed, "5000") ? 0x0300 : 0x0200;
  guint8 desc[27] = {
    18,
    1,
    bcd & 0xff,
    bcd >> 8,
    s->cls,
    0,
    0,
    64,
    s->vid & 0xff,
    s->vid >> 8,
    s->pid & 0xff,
    s->pid >> 8,
    0,
    1,
    1,
    2,
    0,
    1,
    /* configuration descriptor */
    9,
    2,
    9,
    0,
    0,
    1,
    0,
    0xa0,
    50,
  };
  umockdev_testbed_set_attribute_binary (f->tb, path, "descriptors", desc, sizeof desc);
  return path;
}

static void
on_event (PdUsbMonitor *mon, const char *kind, const char *text, Fixture *f)
{
  g_test_message ("event %s: %s", kind, text);
  g_ptr_array_add (f->events, g_strdup_printf ("%s|%s", kind, text));
}

static void
on_changed (PdUsbMonitor *mon, Fixture *f)
{
  f->n_changed++;
}

static guint
count_events (Fixture *f, const char *kind)
{
  g_autofree char *prefix = g_strdup_printf ("%s|", kind);
  guint n = 0;
  for (guint i = 0; i < f->events->len; i++)
    if (g_str_has_prefix (f->events->pdata[i], prefix))
      n++;
  return n;
}

static const char *
find_event (Fixture *f, const char *kind)
{
  g_autofree char *prefix = g_strdup_printf ("%s|", kind);
  for (guint i = 0; i < f->events->len; i++)
    if (g_str_has_prefix (f->events->pdata[i], prefix))
      return (const char *) f->events->pdata[i] + strlen (prefix);
  return NULL;
}

static gboolean
has_device (Fixture *f, const char *port_path)
{
  g_autoptr (GPtrArray) devs = pd_usb_monitor_get_devices (f->mon);
  for (guint i = 0; i < devs->len; i++)
    if (g_str_equal (((PdUsbDevice *) devs->pdata[i])->port_path, port_path))
      return TRUE;
  return FALSE;
}

/* Runs the main loop until @cond holds; fails the test after WAIT_US. */
#define WAIT_FOR(f, cond)                                                                          \
  G_STMT_START                                                                                     \
  {                                                                                                \
    gint64 deadline_ = g_get_monotonic_time () + WAIT_US;                                          \
    while (!(cond) && g_get_monotonic_time () < deadline_)                                         \
      g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);                           \
    if (!(cond))                                                                                   \
      g_error ("timed out waiting for %s", #cond);                                                 \
  }                                                                                                \
  G_STMT_END

static char *
plug (Fixture *f, const UsbSpec *s, const char *parent)
{
  char *path = add_usb (f, s, parent);
  umockdev_testbed_uevent (f->tb, path, "add");
  WAIT_FOR (f, has_device (f, s->name));
  return path;
}

static void
unplug (Fixture *f, const UsbSpec *s, char *path)
{
  umockdev_testbed_uevent (f->tb, path, "remove");
  umockdev_testbed_remove_device (f->tb, path);
  g_free (path);
  WAIT_FOR (f, !has_device (f, s->name));
}

/* @data: NULL for two bare root hubs, or a tests/fixtures/umockdev/ description. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *recording = data;

  /* umockdev-wrapper preloads the library that redirects /sys, /dev and uevents. */
  g_assert_nonnull (
      strstr (g_getenv ("LD_PRELOAD") ? g_getenv ("LD_PRELOAD") : "", "umockdev-preload"));
  g_unsetenv ("PASSDESK_SYSROOT");
  pd_sysroot_reset ();
  f->tb = umockdev_testbed_new ();
  f->events = g_ptr_array_new_with_free_func (g_free);
  if (recording != NULL)
    {
      g_autofree char *path
          = g_build_filename (g_getenv ("PASSDESK_TEST_FIXTURES"), "umockdev", recording, NULL);
      g_assert_true (umockdev_testbed_add_from_file (f->tb, path, &error));
      g_assert_no_error (error);
      f->next_devnum[1] = f->next_devnum[2] = 10;
    }
  else
    {
      g_free (add_usb (f, &ROOT1, NULL));
      g_free (add_usb (f, &ROOT2, NULL));
    }
  f->mon = pd_usb_monitor_new ();
  g_signal_connect (f->mon, "event", G_CALLBACK (on_event), f);
  g_signal_connect (f->mon, "component-changed", G_CALLBACK (on_changed), f);
  g_assert_true (pd_usb_monitor_start (f->mon, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->mon);
  g_clear_object (&f->tb);
  g_ptr_array_unref (f->events);
}

/* The main loop's next timeout: -1 when no timer source exists at all
 * (libusb's fds are watched without a timeout). */
static gint
loop_timeout (void)
{
  GMainContext *ctx = g_main_context_default ();
  GPollFD fds[64];
  gint priority = 0, timeout = 0;

  g_assert_true (g_main_context_acquire (ctx));
  g_main_context_prepare (ctx, &priority);
  gint n = g_main_context_query (ctx, G_MAXINT, &timeout, fds, G_N_ELEMENTS (fds));
  g_assert_cmpint (n, <=, (gint) G_N_ELEMENTS (fds));
  g_main_context_check (ctx, priority, fds, n);
  g_main_context_release (ctx);
  return timeout;
}

static PdState
usb_state (Fixture *f)
{
  g_autoptr (PdComponent) c = pd_usb_monitor_get_component (f->mon);
  g_assert_cmpint (c->id, ==, PD_COMPONENT_USB);
  return c->state;
}

static gboolean
component_has_advice (Fixture *f, const char *text)
{
  g_autoptr (PdComponent) c = pd_usb_monitor_get_component (f->mon);
  for (guint i = 0; i < c->advice->len; i++)
    if (g_str_equal (((PdAdvice *) c->advice->pdata[i])->text, text))
      return TRUE;
  return FALSE;
}

/* The root hubs are enumerated at start: a tree, no events, state ok (a
 * SuperSpeed root hub is not a monitor hub). */
static void
test_enumerate (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) devs = pd_usb_monitor_get_devices (f->mon);
  g_assert_cmpuint (devs->len, ==, 2);
  const PdUsbDevice *r2 = devs->pdata[1];
  g_assert_cmpstr (r2->port_path, ==, "usb2");
  g_assert_cmpuint (r2->speed_mbps, ==, 5000);
  g_assert_true (r2->is_hub);
  g_assert_cmpint (usb_state (f), ==, PD_STATE_OK);
  g_assert_false (component_has_advice (f, SS_ADVICE));
  g_assert_cmpuint (f->events->len, ==, 0);
  /* Idle: no timer of ours (or anyone's) in the loop. */
  g_assert_cmpint (loop_timeout (), ==, -1);
}

/* The live tree: port paths, ids, names from sysfs, speed, hub flag. */
static void
test_tree (Fixture *f, gconstpointer data)
{
  g_autofree char *hub = plug (f, &HUB, "/sys/devices/usb1");
  g_autofree char *rcv = plug (f, &RECEIVER, hub);

  g_autoptr (GPtrArray) devs = pd_usb_monitor_get_devices (f->mon);
  g_assert_cmpuint (devs->len, ==, 4);
  const PdUsbDevice *h = devs->pdata[1], *r = devs->pdata[2];
  g_assert_cmpstr (h->port_path, ==, "1-4");
  g_assert_true (h->is_hub);
  g_assert_cmpuint (h->speed_mbps, ==, 480);
  g_assert_cmpstr (r->port_path, ==, "1-4.1");
  g_assert_cmpuint (r->bus, ==, 1);
  g_assert_cmphex (r->vendor, ==, 0x046d);
  g_assert_cmphex (r->product, ==, 0xc52b);
  g_assert_cmpstr (r->product_name, ==, "USB Receiver");
  g_assert_cmpuint (r->speed_mbps, ==, 12);
  g_assert_false (r->is_hub);

  /* Added devices are history entries naming product and port. */
  const char *text = find_event (f, "usb.device-added");
  g_assert_nonnull (text);
  g_assert_nonnull (strstr (text, "USB2.0 Hub"));
  g_assert_nonnull (strstr (text, "1-4"));
  /* A USB 2.0 hub is fine. */
  g_assert_cmpint (usb_state (f), ==, PD_STATE_OK);
  g_assert_false (component_has_advice (f, SS_ADVICE));
  g_assert_cmpuint (count_events (f, "usb.superspeed-hub"), ==, 0);
}

/* The same port leaves and returns 3 times within 60 s: a storm. Twice is not. */
static void
test_reconnect_storm (Fixture *f, gconstpointer data)
{
  g_autofree char *hub = plug (f, &HUB, "/sys/devices/usb1");
  char *rcv = plug (f, &RECEIVER, hub);

  for (guint i = 0; i < 2; i++)
    {
      unplug (f, &RECEIVER, rcv);
      rcv = plug (f, &RECEIVER, hub);
    }
  g_assert_cmpuint (count_events (f, "usb.reconnect-storm"), ==, 0);
  g_assert_cmpint (usb_state (f), ==, PD_STATE_OK);

  guint changed_before = f->n_changed;
  unplug (f, &RECEIVER, rcv);
  rcv = plug (f, &RECEIVER, hub);
  WAIT_FOR (f, count_events (f, "usb.reconnect-storm") == 1);
  const char *text = find_event (f, "usb.reconnect-storm");
  g_assert_nonnull (strstr (text, "USB Receiver"));
  g_assert_nonnull (strstr (text, "1-4.1"));
  g_assert_cmpuint (f->n_changed, >, changed_before);

  g_autoptr (PdComponent) c = pd_usb_monitor_get_component (f->mon);
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  g_assert_nonnull (strstr (c->summary, "1-4.1"));

  /* More returns within the storm make no new storm event. */
  unplug (f, &RECEIVER, rcv);
  rcv = plug (f, &RECEIVER, hub);
  g_assert_cmpuint (count_events (f, "usb.reconnect-storm"), ==, 1);
  /* A different port is not part of it. */
  g_autofree char *kbd = plug (f, &KEYBOARD, hub);
  g_assert_cmpuint (count_events (f, "usb.reconnect-storm"), ==, 1);
  g_free (rcv);
}

/* When the windows end without new trouble, the component returns to ok by
 * itself (the one-shot timer), with a component-changed. Short windows here;
 * the defaults are 60 s (storm) and 5 min (cascade hold). */
static void
test_windows_end (Fixture *f, gconstpointer data)
{
  pd_usb_monitor_set_windows (f->mon, 2 * G_USEC_PER_SEC, G_USEC_PER_SEC, G_USEC_PER_SEC);
  char *hub = plug (f, &HUB, "/sys/devices/usb1");
  char *rcv = plug (f, &RECEIVER, hub);
  for (guint i = 0; i < 3; i++)
    {
      unplug (f, &RECEIVER, rcv);
      rcv = plug (f, &RECEIVER, hub);
    }
  g_assert_cmpuint (count_events (f, "usb.reconnect-storm"), ==, 1);
  g_assert_cmpint (usb_state (f), ==, PD_STATE_DEGRADED);
  /* The one-shot that ends the storm exists now, and only now. */
  g_assert_cmpint (loop_timeout (), >, 0);
  guint changed_before = f->n_changed;
  WAIT_FOR (f, usb_state (f) == PD_STATE_OK);
  g_assert_cmpuint (f->n_changed, ==, changed_before + 1);
  g_assert_cmpint (loop_timeout (), ==, -1);

  /* A cascade whose hub stays away ends after the hold time. */
  umockdev_testbed_uevent (f->tb, rcv, "remove");
  umockdev_testbed_uevent (f->tb, hub, "remove");
  umockdev_testbed_remove_device (f->tb, hub);
  WAIT_FOR (f, count_events (f, "usb.cascade") == 1);
  g_assert_cmpint (usb_state (f), ==, PD_STATE_DEGRADED);
  WAIT_FOR (f, usb_state (f) == PD_STATE_OK);
  g_assert_cmpint (loop_timeout (), ==, -1);
  g_free (rcv);
  g_free (hub);
}

/* A hub and everything below it leave within 1 s: a cascade. */
static void
test_cascade (Fixture *f, gconstpointer data)
{
  char *hub = plug (f, &HUB, "/sys/devices/usb1");
  g_autofree char *rcv = plug (f, &RECEIVER, hub);
  g_autofree char *kbd = plug (f, &KEYBOARD, hub);

  /* The kernel removes the leaves first, then the hub. */
  umockdev_testbed_uevent (f->tb, rcv, "remove");
  umockdev_testbed_uevent (f->tb, kbd, "remove");
  umockdev_testbed_uevent (f->tb, hub, "remove");
  umockdev_testbed_remove_device (f->tb, hub);
  WAIT_FOR (f, !has_device (f, "1-4"));

  g_assert_cmpuint (count_events (f, "usb.cascade"), ==, 1);
  const char *text = find_event (f, "usb.cascade");
  g_assert_nonnull (strstr (text, "USB2.0 Hub"));
  g_assert_nonnull (strstr (text, "1-4"));
  g_assert_nonnull (strstr (text, "2 devices"));
  g_assert_false (has_device (f, "1-4.1"));
  g_assert_false (has_device (f, "1-4.2"));
  g_assert_cmpint (usb_state (f), ==, PD_STATE_DEGRADED);

  /* The hub coming back ends it. */
  guint changed_before = f->n_changed;
  g_free (hub);
  hub = plug (f, &HUB, "/sys/devices/usb1");
  g_assert_cmpint (usb_state (f), ==, PD_STATE_OK);
  g_assert_cmpuint (f->n_changed, >, changed_before);
  g_free (hub);
}

/* The monitor's hub itself storms, taking its devices along each time: one
 * storm event for the hub, one cascade event, none for each child. */
static void
test_hub_storm (Fixture *f, gconstpointer data)
{
  char *hub = plug (f, &HUB, "/sys/devices/usb1");
  char *rcv = plug (f, &RECEIVER, hub);
  char *kbd = plug (f, &KEYBOARD, hub);

  for (guint i = 0; i < 4; i++)
    {
      umockdev_testbed_uevent (f->tb, rcv, "remove");
      umockdev_testbed_uevent (f->tb, kbd, "remove");
      umockdev_testbed_uevent (f->tb, hub, "remove");
      /* Children first: removing a parent leaves their bus links behind. */
      umockdev_testbed_remove_device (f->tb, rcv);
      umockdev_testbed_remove_device (f->tb, kbd);
      umockdev_testbed_remove_device (f->tb, hub);
      WAIT_FOR (f, !has_device (f, "1-4"));
      g_free (hub);
      g_free (rcv);
      g_free (kbd);
      hub = plug (f, &HUB, "/sys/devices/usb1");
      rcv = plug (f, &RECEIVER, hub);
      kbd = plug (f, &KEYBOARD, hub);
    }
  g_assert_cmpuint (count_events (f, "usb.reconnect-storm"), ==, 1);
  g_assert_nonnull (strstr (find_event (f, "usb.reconnect-storm"), "USB2.0 Hub"));
  g_assert_cmpuint (count_events (f, "usb.cascade"), ==, 1);
  g_assert_cmpint (usb_state (f), ==, PD_STATE_DEGRADED);
  g_free (hub);
  g_free (rcv);
  g_free (kbd);
}

/* Not a cascade: a hub alone, or a hub whose child left more than 1 s before. */
static void
test_no_cascade (Fixture *f, gconstpointer data)
{
  char *hub = plug (f, &HUB, "/sys/devices/usb1");
  unplug (f, &HUB, hub);
  g_assert_cmpuint (count_events (f, "usb.cascade"), ==, 0);

  hub = plug (f, &HUB, "/sys/devices/usb1");
  char *rcv = plug (f, &RECEIVER, hub);
  unplug (f, &RECEIVER, rcv);
  g_usleep (1200 * 1000); /* beyond the 1 s cascade window */
  unplug (f, &HUB, hub);
  g_assert_cmpuint (count_events (f, "usb.cascade"), ==, 0);
  g_assert_cmpint (usb_state (f), ==, PD_STATE_OK);
}

/* A hub at SuperSpeed gets the guide's advice, as event and in the component. */
static void
test_superspeed_hub (Fixture *f, gconstpointer data)
{
  g_assert_false (component_has_advice (f, SS_ADVICE));
  char *hub = plug (f, &SS_HUB, "/sys/devices/usb2");

  g_assert_cmpuint (count_events (f, "usb.superspeed-hub"), ==, 1);
  const char *text = find_event (f, "usb.superspeed-hub");
  g_assert_nonnull (strstr (text, "USB3.1 Hub"));
  g_assert_nonnull (strstr (text, "2-1"));
  g_assert_nonnull (strstr (text, SS_ADVICE));
  g_assert_true (component_has_advice (f, SS_ADVICE));
  g_assert_cmpint (usb_state (f), ==, PD_STATE_DEGRADED);

  unplug (f, &SS_HUB, hub);
  g_assert_false (component_has_advice (f, SS_ADVICE));
  g_assert_cmpint (usb_state (f), ==, PD_STATE_OK);
}

/* The kernel log says the controller died: failed until its root hub returns. */
static void
test_controller_died (Fixture *f, gconstpointer data)
{
  g_autofree char *hub = plug (f, &HUB, "/sys/devices/usb1");
  guint changed_before = f->n_changed;

  pd_usb_monitor_note_kernel_finding (f->mon, "usb.controller-died", "0000:00:14.0");
  g_assert_cmpuint (f->n_changed, ==, changed_before + 1);
  g_autoptr (PdComponent) c = pd_usb_monitor_get_component (f->mon);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  g_assert_nonnull (strstr (c->summary, "0000:00:14.0"));

  /* The same finding again changes nothing. */
  pd_usb_monitor_note_kernel_finding (f->mon, "usb.controller-died", "0000:00:14.0");
  g_assert_cmpuint (f->n_changed, ==, changed_before + 1);
  /* Not a usb kind: ignored. */
  pd_usb_monitor_note_kernel_finding (f->mon, "gpu.hang", NULL);
  g_assert_cmpint (usb_state (f), ==, PD_STATE_FAILED);

  /* The controller goes away with everything on it, and comes back. */
  umockdev_testbed_uevent (f->tb, hub, "remove");
  umockdev_testbed_uevent (f->tb, "/sys/devices/usb1", "remove");
  umockdev_testbed_remove_device (f->tb, "/sys/devices/usb1");
  WAIT_FOR (f, !has_device (f, "usb1"));
  g_assert_cmpint (usb_state (f), ==, PD_STATE_FAILED);
  g_free (add_usb (f, &ROOT1, NULL));
  umockdev_testbed_uevent (f->tb, "/sys/devices/usb1", "add");
  WAIT_FOR (f, has_device (f, "usb1"));
  g_assert_cmpint (usb_state (f), ==, PD_STATE_OK);
  g_assert_cmpuint (count_events (f, "usb.controller-back"), ==, 1);
}

/* Other usb.* kernel findings are the agent's kernel-log overlay's alone
 * (one owner): the monitor keeps no copy of them. */
static void
test_kernel_finding (Fixture *f, gconstpointer data)
{
  guint changed_before = f->n_changed;
  pd_usb_monitor_note_kernel_finding (f->mon, "usb.reset-loop", "1-4");
  g_assert_cmpuint (f->n_changed, ==, changed_before);
  g_assert_cmpint (usb_state (f), ==, PD_STATE_OK);
}

/* 1,000 add/remove uevents: the monitor keeps up, ends consistent, and the
 * history gets a bounded number of entries. */
static void
test_burst (Fixture *f, gconstpointer data)
{
  enum
  {
    N_DEVS = 20,
    ROUNDS = 25
  };
  char *paths[N_DEVS];
  char names[N_DEVS][8];
  UsbSpec specs[N_DEVS];

  for (guint i = 0; i < N_DEVS; i++)
    {
      g_snprintf (names[i], sizeof names[i], "1-%u", i + 1);
      specs[i] = (UsbSpec){ names[i], 1, 0x0951, 0x1666, "DataTraveler 3.0", "480", 0 };
      paths[i] = add_usb (f, &specs[i], "/sys/devices/usb1");
    }
  /* umockdev's uevent sender aborts when the receiving datagram socket's
   * queue is full (net.unix.max_dgram_qlen, 10 by default), so the burst goes
   * in batches of 5 events, each waited for before the next. */
  for (guint r = 0; r < ROUNDS; r++)
    for (guint g = 0; g < N_DEVS; g += 5)
      {
        for (guint i = g; i < g + 5; i++)
          umockdev_testbed_uevent (f->tb, paths[i], "add");
        WAIT_FOR (f, has_device (f, names[g]) && has_device (f, names[g + 4]));
        for (guint i = g; i < g + 5; i++)
          umockdev_testbed_uevent (f->tb, paths[i], "remove");
        WAIT_FOR (f, !has_device (f, names[g]) && !has_device (f, names[g + 4]));
      }
  static const UsbSpec marker = { "1-30", 1, 0x0bda, 0xb85b, "Bluetooth Radio", "12", 0xe0 };
  g_autofree char *m = add_usb (f, &marker, "/sys/devices/usb1");
  umockdev_testbed_uevent (f->tb, m, "add");
  WAIT_FOR (f, has_device (f, "1-30"));

  g_autoptr (GPtrArray) devs = pd_usb_monitor_get_devices (f->mon);
  g_assert_cmpuint (devs->len, ==, 3); /* usb1, usb2, the marker */
  for (guint i = 0; i < N_DEVS; i++)
    g_assert_false (has_device (f, names[i]));

  /* Every port stormed: one storm event each; plain
   * add/remove entries are rate limited. */
  g_assert_cmpuint (count_events (f, "usb.reconnect-storm"), ==, N_DEVS);
  g_assert_cmpuint (count_events (f, "usb.device-added") + count_events (f, "usb.device-removed"),
                    <=, 30);
  g_assert_cmpint (usb_state (f), ==, PD_STATE_DEGRADED);

  /* Still alive and accurate afterwards. */
  umockdev_testbed_uevent (f->tb, m, "remove");
  WAIT_FOR (f, !has_device (f, "1-30"));
  for (guint i = 0; i < N_DEVS; i++)
    g_free (paths[i]);
}

/* The recorded Esprimo tree: enumerated at start with names and speeds, the
 * USB 3 hub on the SuperSpeed bus flagged at once; pulling the monitor's hub
 * is a cascade. */
static void
test_recorded_esprimo (Fixture *f, gconstpointer data)
{
  static const char *const xhci = "/sys/devices/pci0000:00/0000:00:1d.0";
  g_autoptr (GPtrArray) devs = pd_usb_monitor_get_devices (f->mon);
  g_autoptr (GString) tree = g_string_new (NULL);
  for (guint i = 0; i < devs->len; i++)
    {
      const PdUsbDevice *d = devs->pdata[i];
      g_string_append_printf (tree, "%s %04x:%04x %s %u%s;", d->port_path, d->vendor, d->product,
                              d->product_name, d->speed_mbps, d->is_hub ? " hub" : "");
    }
  g_assert_cmpstr (tree->str, ==,
                   "usb1 1d6b:0002 xHCI Host Controller 480 hub;"
                   "1-4 05e3:0610 USB2.0 Hub 480 hub;"
                   "1-4.1 046d:c52b USB Receiver 12;"
                   "1-4.2 0c45:7403 Foot Switch 12;"
                   "1-5 0951:1666 DataTraveler 3.0 480;"
                   "usb2 1d6b:0003 xHCI Host Controller 5000 hub;"
                   "2-1 05e3:0626 USB3.1 Hub 5000 hub;");

  g_autoptr (PdComponent) c = pd_usb_monitor_get_component (f->mon);
  g_assert_cmpint (c->state, ==, PD_STATE_DEGRADED);
  g_assert_nonnull (strstr (c->summary, "USB3.1 Hub"));
  g_assert_true (component_has_advice (f, SS_ADVICE));
  /* The hub found at start is a history entry too, once start returned (the
   * caller connects to "event" after start). */
  g_assert_cmpuint (count_events (f, "usb.superspeed-hub"), ==, 0);
  WAIT_FOR (f, count_events (f, "usb.superspeed-hub") == 1);
  g_assert_cmpstr (pd_component_get_detail (c, "1-4.1"), ==, "046d:c52b USB Receiver, 12 Mbit/s");
  /* Enumeration is not "added" history. */
  g_assert_cmpuint (count_events (f, "usb.device-added"), ==, 0);

  g_autofree char *hub = g_strdup_printf ("%s/usb1/1-4", xhci);
  g_autofree char *rcv = g_strdup_printf ("%s/usb1/1-4/1-4.1", xhci);
  g_autofree char *sw = g_strdup_printf ("%s/usb1/1-4/1-4.2", xhci);
  umockdev_testbed_uevent (f->tb, rcv, "remove");
  umockdev_testbed_uevent (f->tb, sw, "remove");
  umockdev_testbed_uevent (f->tb, hub, "remove");
  umockdev_testbed_remove_device (f->tb, hub);
  WAIT_FOR (f, count_events (f, "usb.cascade") == 1);
  g_assert_nonnull (
      strstr (find_event (f, "usb.cascade"), "\"USB2.0 Hub\" (05e3:0610) at port 1-4"));
  g_assert_true (has_device (f, "1-5"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* umockdev logs every uevent at debug level; keep the TAP output readable. */
  g_log_set_debug_enabled (FALSE);
#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/usb-monitor/enumerate", test_enumerate);
  ADD ("/usb-monitor/tree", test_tree);
  ADD ("/usb-monitor/reconnect-storm", test_reconnect_storm);
  ADD ("/usb-monitor/windows-end", test_windows_end);
  ADD ("/usb-monitor/cascade", test_cascade);
  ADD ("/usb-monitor/no-cascade", test_no_cascade);
  ADD ("/usb-monitor/hub-storm", test_hub_storm);
  ADD ("/usb-monitor/superspeed-hub", test_superspeed_hub);
  ADD ("/usb-monitor/controller-died", test_controller_died);
  ADD ("/usb-monitor/kernel-finding", test_kernel_finding);
  ADD ("/usb-monitor/burst", test_burst);
  g_test_add ("/usb-monitor/recorded-esprimo", Fixture, "esprimo-usb.umockdev", fixture_setup,
              test_recorded_esprimo, fixture_teardown);
  return g_test_run ();
}
