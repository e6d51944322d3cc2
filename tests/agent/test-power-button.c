/* test-power-button.c - the ACPI power button's input device
 * (agent/guest/power-button.c): which device is the button, on a fixture
 * sysfs under PASSDESK_SYSROOT, and KEY_POWER read from a FIFO standing in
 * for /dev/input/eventN (records split anywhere, other keys ignored). */
#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <linux/input.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "power-button.h"
#include "sysroot.h"

static void
test_caps (void)
{
  /* The kernel's ACPI button: KEY_POWER (116) only. */
  g_assert_true (pd_power_button_caps_have_key_power ("10000000000000 0"));
  g_assert_false (pd_power_button_caps_have_key_power ("0"));
  /* KEY_VOLUMEDOWN (114) only. */
  g_assert_false (pd_power_button_caps_have_key_power ("4000000000000 0"));
  g_assert_false (pd_power_button_caps_have_key_power (""));
  g_assert_false (pd_power_button_caps_have_key_power (NULL));
  g_assert_false (pd_power_button_caps_have_key_power ("zz 0"));
  g_assert_false (pd_power_button_caps_have_key_power ("10000000000000 0x"));
}

static void
add_input (const char *root, const char *event, const char *name, const char *phys,
           const char *caps)
{
  g_autofree char *dev = g_build_filename (root, "sys/class/input", event, "device", NULL);
  g_autofree char *capdir = g_build_filename (dev, "capabilities", NULL);
  g_assert_cmpint (g_mkdir_with_parents (capdir, 0755), ==, 0);
  const char *attrs[][2] = { { "name", name }, { "phys", phys }, { "capabilities/key", caps } };
  for (guint i = 0; i < G_N_ELEMENTS (attrs); i++)
    {
      g_autofree char *p = g_build_filename (dev, attrs[i][0], NULL);
      g_autofree char *v = g_strconcat (attrs[i][1], "\n", NULL);
      g_assert_true (g_file_set_contents (p, v, -1, NULL));
    }
}

static void
on_pressed (gpointer user_data)
{
  guint *count = user_data;
  (*count)++;
}

static void
write_event (int fd, guint16 type, guint16 code, gint32 value, gsize from, gsize to)
{
  struct input_event ev = { .type = type, .code = code, .value = value };
  const guint8 *b = (const guint8 *) &ev;
  g_assert_cmpint (write (fd, b + from, to - from), ==, (gssize) (to - from));
}

static void
test_find_and_read (void)
{
  g_autofree char *root = g_dir_make_tmp ("pd-button-XXXXXX", NULL);
  g_setenv ("PASSDESK_SYSROOT", root, TRUE);
  pd_sysroot_reset ();
  g_autoptr (GError) error = NULL;

  /* No input devices at all: NOT_FOUND, a sentence for the journal. */
  g_assert_null (pd_power_button_open (&error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A keyboard with KEY_POWER, a control-method button, the fixed one. */
  add_input (root, "event1", "AT Translated Set 2 keyboard", "isa0060/serio0/input0",
             "402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe");
  add_input (root, "event12", "Power Button", "PNP0C0C/button/input0", "10000000000000 0");
  g_assert_null (pd_power_button_open (&error));
  /* The control-method button is found, but its node is missing. */
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/dev/input/event12"));
  g_clear_error (&error);
  add_input (root, "event3", "Power Button", "LNXPWRBN/button/input0", "10000000000000 0");
  add_input (root, "event2", "Power Button", "LNXPWRBN/button/input0", "0");
  g_autofree char *devdir = g_build_filename (root, "dev/input", NULL);
  g_assert_cmpint (g_mkdir_with_parents (devdir, 0755), ==, 0);
  g_autofree char *node = g_build_filename (devdir, "event3", NULL);
  g_assert_cmpint (mkfifo (node, 0600), ==, 0);
  int writer = open (node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (writer, >=, 0);

  g_autoptr (PdPowerButton) button = pd_power_button_open (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (pd_power_button_get_path (button), ==, "/dev/input/event3");
  guint count = 0;
  pd_power_button_watch (button, on_pressed, &count);

  /* Another key, a release, a SYN: nothing. */
  write_event (writer, EV_KEY, KEY_SLEEP, 1, 0, sizeof (struct input_event));
  write_event (writer, EV_KEY, KEY_POWER, 0, 0, sizeof (struct input_event));
  write_event (writer, EV_SYN, 0, 0, 0, sizeof (struct input_event));
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (count, ==, 0);
  /* The press, split across two reads. */
  write_event (writer, EV_KEY, KEY_POWER, 1, 0, 10);
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (count, ==, 0);
  write_event (writer, EV_KEY, KEY_POWER, 1, 10, sizeof (struct input_event));
  while (count == 0)
    g_main_context_iteration (NULL, TRUE);
  /* Once: a second press is not reported. */
  write_event (writer, EV_KEY, KEY_POWER, 1, 0, sizeof (struct input_event));
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (count, ==, 1);
  close (writer);

  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", root);
  g_assert_cmpint (system (rm), ==, 0);
  g_unsetenv ("PASSDESK_SYSROOT");
  pd_sysroot_reset ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/power-button/caps", test_caps);
  g_test_add_func ("/power-button/find-and-read", test_find_and_read);
  return g_test_run ();
}
