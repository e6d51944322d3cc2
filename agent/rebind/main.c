/* passdesk-rebind-audio - rebinds the HD-Audio function's driver, as root.
 *
 * After "azx_get_response timeout" or spurious responses, the HDMI codec
 * often answers again once snd_hda_intel lets go of the function and takes
 * it back: the controller is reset and its codecs are probed again, without
 * restarting the VM. Run through pkexec (polkit action
 * org.passdesk.rebind-audio, data/org.passdesk.policy); the tray offers it
 * on an HD-Audio failure.
 *
 * Takes no arguments: the functions are those bound to snd_hda_intel whose
 * PCI class is audio (0x0403xx), read from sysfs (through PASSDESK_SYSROOT in
 * tests; pkexec does not pass it on). Exit: 0 rebound, 1 failed, 2 usage,
 * 3 no HD-Audio function bound.
 */
#include "config.h"

#include "pd-i18n.h"

#include "sysroot.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DRIVER_DIR "/sys/bus/pci/drivers/snd_hda_intel"
/* A machine has one or two; more entries are not read. */
#define MAX_FUNCTIONS 8

static gboolean
is_pci_address (const char *s)
{
  /* dddd:bb:dd.f, lower-case hex, as sysfs names them. */
  static const char pattern[] = "xxxx:xx:xx.x";
  if (strlen (s) != sizeof pattern - 1)
    return FALSE;
  for (guint i = 0; pattern[i]; i++)
    if (pattern[i] == 'x' ? !g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]) : s[i] != pattern[i])
      return FALSE;
  return s[11] >= '0' && s[11] <= '7';
}

static gboolean
is_audio_function (const char *address)
{
  g_autofree char *path = g_strdup_printf ("/sys/bus/pci/devices/%s/class", address);
  g_autofree char *cls = pd_sysroot_read_attr (path, 32, NULL);
  return cls != NULL && g_str_has_prefix (g_strstrip (cls), "0x0403");
}

static gboolean
write_attr (const char *file, const char *value, GError **error)
{
  g_autofree char *path = pd_sysroot_pathf ("%s/%s", DRIVER_DIR, file);
  int fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), _ ("cannot open %s: %s"), path,
                   g_strerror (e));
      return FALSE;
    }
  ssize_t n = write (fd, value, strlen (value));
  int e = errno;
  close (fd);
  if (n != (ssize_t) strlen (value))
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "writing %s to %s: %s", value,
                   path, n < 0 ? g_strerror (e) : "short write");
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  pd_i18n_init ();
  if (argc != 1)
    {
      fprintf (stderr, _ ("Usage: passdesk-rebind-audio (no arguments; run it with pkexec)\n"));
      return 2;
    }
  if (geteuid () != 0 && *pd_sysroot () == '\0')
    {
      fprintf (stderr, _ ("passdesk-rebind-audio: rebinding a driver needs root; run "
                          "“pkexec passdesk-rebind-audio” or choose “Repair HDMI audio” in the "
                          "passdesk notification.\n"));
      return 1;
    }

  g_autofree char *dir_path = pd_sysroot_path (DRIVER_DIR);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autoptr (GPtrArray) functions = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL && functions->len < MAX_FUNCTIONS)
    if (is_pci_address (name) && is_audio_function (name))
      g_ptr_array_add (functions, g_strdup (name));
  if (functions->len == 0)
    {
      fprintf (stderr, _ ("passdesk-rebind-audio: no HD-Audio function is bound to snd_hda_intel, "
                          "so there is nothing to rebind. Cold-restart the VM (“Cold restart "
                          "VM…”) to reset the HD-Audio function.\n"));
      return 3;
    }

  int status = 0;
  for (guint i = 0; i < functions->len; i++)
    {
      const char *address = g_ptr_array_index (functions, i);
      g_autoptr (GError) error = NULL;
      if (!write_attr ("unbind", address, &error) || !write_attr ("bind", address, &error))
        {
          fprintf (stderr,
                   _ ("passdesk-rebind-audio: could not rebind %s (%s). If HDMI audio stays "
                      "silent, cold-restart the VM.\n"),
                   address, error->message);
          status = 1;
          continue;
        }
      printf (_ ("Rebound the HD-Audio function %s to snd_hda_intel: its codecs are probed again. "
                 "Play a sound; if HDMI audio stays silent, cold-restart the VM.\n"),
              address);
    }
  return status;
}
