/* power-button.c - the ACPI power button's input device, read for KEY_POWER. */
#include "config.h"

#include "power-button.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <linux/input.h>
#include <string.h>
#include <unistd.h>

#include "pd-i18n.h"
#include "sysroot.h"

/* A machine has a handful of input devices; a fixture or a broken sysfs
 * with thousands costs at most this many directory entries. */
#define MAX_INPUT_ENTRIES 1024
/* Records read per wakeup: the button sends two (press, release) plus
 * SYN_REPORTs; a flood from a FIFO cannot hold the main loop. */
#define MAX_EVENTS_PER_DISPATCH 64

struct _PdPowerButton
{
  char *path;
  int fd;
  guint watch;
  PdPowerButtonFunc pressed;
  gpointer user_data;
  /* A FIFO may hand over part of a record; evdev never does. */
  guint8 partial[sizeof (struct input_event)];
  gsize partial_len;
};

gboolean
pd_power_button_caps_have_key_power (const char *caps)
{
  if (caps == NULL)
    return FALSE;
  g_auto (GStrv) words = g_strsplit (caps, " ", 64);
  guint n = g_strv_length (words);
  const guint bits = sizeof (unsigned long) * 8;
  guint index = KEY_POWER / bits; /* counted from the last word */
  if (index >= n)
    return FALSE;
  /* A bitmap the kernel did not write is no answer at all. */
  guint64 v = 0;
  for (guint i = 0; i < n; i++)
    {
      const char *w = words[i];
      if (*w == '\0' || strlen (w) > bits / 4 || strspn (w, "0123456789abcdef") != strlen (w))
        return FALSE;
      if (i == n - 1 - index)
        v = g_ascii_strtoull (w, NULL, 16);
    }
  return (v >> (KEY_POWER % bits)) & 1;
}

static char *
read_input_attr (const char *entry, const char *attr)
{
  g_autofree char *path = g_strdup_printf ("/sys/class/input/%s/device/%s", entry, attr);
  return pd_sysroot_read_attr (path, 512, NULL);
}

/* 2: the fixed-feature button (LNXPWRBN, QEMU's); 1: a control-method one
 * (PNP0C0C); 0: not the ACPI power button. */
static int
rank_entry (const char *entry)
{
  g_autofree char *name = read_input_attr (entry, "name");
  if (g_strcmp0 (name, "Power Button") != 0)
    return 0;
  g_autofree char *caps = read_input_attr (entry, "capabilities/key");
  if (!pd_power_button_caps_have_key_power (caps))
    return 0;
  g_autofree char *phys = read_input_attr (entry, "phys");
  if (phys && g_str_has_prefix (phys, "LNXPWRBN/"))
    return 2;
  if (phys && g_str_has_prefix (phys, "PNP0C0C/"))
    return 1;
  return 0;
}

static gboolean
is_event_entry (const char *name)
{
  if (!g_str_has_prefix (name, "event") || name[5] == '\0' || strlen (name) > 16)
    return FALSE;
  for (const char *p = name + 5; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

PdPowerButton *
pd_power_button_open (GError **error)
{
  g_autofree char *dir_path = pd_sysroot_path ("/sys/class/input");
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autofree char *best = NULL;
  int best_rank = 0;
  const char *entry;
  for (guint i = 0; dir && i < MAX_INPUT_ENTRIES && (entry = g_dir_read_name (dir)); i++)
    {
      if (!is_event_entry (entry))
        continue;
      int rank = rank_entry (entry);
      /* Ties go to the lower number, so the choice does not depend on the
       * directory's order. */
      if (rank > best_rank
          || (rank == best_rank && rank > 0
              && g_ascii_strtoull (entry + 5, NULL, 10) < g_ascii_strtoull (best + 5, NULL, 10)))
        {
          best_rank = rank;
          g_free (best);
          best = g_strdup (entry);
        }
    }
  if (best == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           _ ("This VM has no ACPI power button input device (no “Power Button” "
                              "with KEY_POWER under /sys/class/input)"));
      return NULL;
    }

  g_autofree char *dev = g_strdup_printf ("/dev/input/%s", best);
  g_autofree char *path = pd_sysroot_path (dev);
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int err = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                   _ ("Cannot open the power button's input device %s: %s"), dev, g_strerror (err));
      return NULL;
    }
  PdPowerButton *button = g_new0 (PdPowerButton, 1);
  button->path = g_steal_pointer (&dev);
  button->fd = fd;
  return button;
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  PdPowerButton *button = user_data;
  guint8 buf[MAX_EVENTS_PER_DISPATCH * sizeof (struct input_event)];
  gsize have = button->partial_len;
  memcpy (buf, button->partial, have);
  ssize_t n = read (fd, buf + have, sizeof buf - have);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      /* Gone (ENODEV), or a FIFO's writer closed: stop, never spin. */
      g_debug ("power button %s: %s", button->path, n < 0 ? g_strerror (errno) : "end of input");
      button->watch = 0;
      return G_SOURCE_REMOVE;
    }
  have += (gsize) n;
  gsize whole = have - have % sizeof (struct input_event);
  gboolean pressed = FALSE;
  for (gsize off = 0; off < whole; off += sizeof (struct input_event))
    {
      struct input_event ev;
      memcpy (&ev, buf + off, sizeof ev);
      if (ev.type == EV_KEY && ev.code == KEY_POWER && ev.value == 1)
        pressed = TRUE;
    }
  button->partial_len = have - whole;
  memcpy (button->partial, buf + whole, button->partial_len);
  if (pressed && button->pressed)
    {
      PdPowerButtonFunc cb = button->pressed;
      button->pressed = NULL;
      button->watch = 0;
      cb (button->user_data); /* may free @button */
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

void
pd_power_button_watch (PdPowerButton *button, PdPowerButtonFunc pressed, gpointer user_data)
{
  g_return_if_fail (button != NULL && button->watch == 0);
  button->pressed = pressed;
  button->user_data = user_data;
  button->watch = g_unix_fd_add (button->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, button);
}

const char *
pd_power_button_get_path (PdPowerButton *button)
{
  return button->path;
}

void
pd_power_button_free (PdPowerButton *button)
{
  if (button == NULL)
    return;
  g_clear_handle_id (&button->watch, g_source_remove);
  if (button->fd >= 0)
    close (button->fd);
  g_free (button->path);
  g_free (button);
}
