/* gpu-scan.c - the passed-through GPU and its outputs, from sysfs.
 *
 * Everything is read through the sysroot prefix with small bounds. Sysfs
 * values come from the kernel, but a fixture, a broken driver or a device
 * removed mid-scan can leave anything there, so each value is validated; a
 * bad one becomes "unknown" plus a note in the details, never a crash.
 */
#include "gpu-scan.h"
#include "pd-i18n.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysroot.h"

#define PCI_DEVICES "/sys/bus/pci/devices"
#define DRM_CLASS "/sys/class/drm"

/* Bounds for what we read: ids are "0x8086", states are one word, and a
 * sysfs attribute can never exceed one page, so `modes` above that is not
 * sysfs. */
#define ID_MAX 16
#define WORD_MAX 64
#define MODES_MAX 4096
#define LINK_NAME_MAX 64
#define CONNECTOR_NAME_MAX 32
/* Directory listings are bounded too: a real guest has a few dozen PCI
 * functions and DRM entries. */
#define MAX_DIR_ENTRIES 4096

/* The guest's modprobe.d and kernel command line, read only when no GPU
 * driver is bound. */
#define MODPROBE_MAX_FILES 64
#define MODPROBE_FILE_MAX 65536
#define CMDLINE_MAX 4096

#define INTEL_VENDOR 0x8086

static const struct
{
  guint16 device;
  const char *name;
  PdGpuGeneration generation;
} intel_gpus[] = {
  /* The guide's machines. */
  { 0x5912, "Intel HD Graphics 630 (Kaby Lake GT2)", PD_GPU_GEN_KABY_LAKE },
  { 0x46d0, "Intel UHD Graphics (Alder Lake-N)", PD_GPU_GEN_ALDER_LAKE_N },
  { 0x46d1, "Intel UHD Graphics (Alder Lake-N)", PD_GPU_GEN_ALDER_LAKE_N },
  { 0x46d2, "Intel UHD Graphics (Alder Lake-N)", PD_GPU_GEN_ALDER_LAKE_N },
  /* Kaby Lake relatives of the Esprimo's GPU. */
  { 0x5902, "Intel HD Graphics 610 (Kaby Lake GT1)", PD_GPU_GEN_KABY_LAKE },
  { 0x5916, "Intel HD Graphics 620 (Kaby Lake GT2)", PD_GPU_GEN_KABY_LAKE },
  { 0x591b, "Intel HD Graphics 630 (Kaby Lake GT2)", PD_GPU_GEN_KABY_LAKE },
  { 0x5917, "Intel UHD Graphics 620 (Kaby Lake-R GT2)", PD_GPU_GEN_KABY_LAKE },
  /* Other iGPUs common in small Proxmox boxes. */
  { 0x1912, "Intel HD Graphics 530 (Skylake GT2)", PD_GPU_GEN_OTHER_INTEL },
  { 0x1916, "Intel HD Graphics 520 (Skylake GT2)", PD_GPU_GEN_OTHER_INTEL },
  { 0x3e91, "Intel UHD Graphics 630 (Coffee Lake GT2)", PD_GPU_GEN_OTHER_INTEL },
  { 0x3e92, "Intel UHD Graphics 630 (Coffee Lake GT2)", PD_GPU_GEN_OTHER_INTEL },
  { 0x3e9b, "Intel UHD Graphics 630 (Coffee Lake GT2)", PD_GPU_GEN_OTHER_INTEL },
  { 0x9bc5, "Intel UHD Graphics 630 (Comet Lake GT2)", PD_GPU_GEN_OTHER_INTEL },
  { 0x3184, "Intel UHD Graphics 605 (Gemini Lake)", PD_GPU_GEN_OTHER_INTEL },
  { 0x3185, "Intel UHD Graphics 600 (Gemini Lake)", PD_GPU_GEN_OTHER_INTEL },
  { 0x5a84, "Intel HD Graphics 505 (Apollo Lake)", PD_GPU_GEN_OTHER_INTEL },
  { 0x5a85, "Intel HD Graphics 500 (Apollo Lake)", PD_GPU_GEN_OTHER_INTEL },
  { 0x9a49, "Intel Iris Xe Graphics (Tiger Lake GT2)", PD_GPU_GEN_OTHER_INTEL },
  { 0x4680, "Intel UHD Graphics 770 (Alder Lake-S)", PD_GPU_GEN_OTHER_INTEL },
  { 0x4692, "Intel UHD Graphics 730 (Alder Lake-S)", PD_GPU_GEN_OTHER_INTEL },
  { 0x46a6, "Intel Iris Xe Graphics (Alder Lake-P)", PD_GPU_GEN_OTHER_INTEL },
  { 0xa780, "Intel UHD Graphics 770 (Raptor Lake-S)", PD_GPU_GEN_OTHER_INTEL },
};

/* What a VM shows when no GPU is passed through. */
static const struct
{
  guint16 vendor;
  guint16 device;
  const char *name;
} emulated_gpus[] = {
  { 0x1234, 0x1111, "QEMU standard VGA" }, { 0x1b36, 0x0100, "QEMU QXL display" },
  { 0x1af4, 0x1050, "virtio GPU" },        { 0x15ad, 0x0405, "VMware SVGA II" },
  { 0x1013, 0x00b8, "Cirrus VGA" },
};

char *
pd_gpu_name_for_ids (guint16 vendor, guint16 device, PdGpuGeneration *generation)
{
  PdGpuGeneration gen = PD_GPU_GEN_UNKNOWN;
  char *name = NULL;

  if (vendor == INTEL_VENDOR)
    {
      gen = PD_GPU_GEN_OTHER_INTEL;
      for (guint i = 0; i < G_N_ELEMENTS (intel_gpus); i++)
        if (intel_gpus[i].device == device)
          {
            gen = intel_gpus[i].generation;
            name = g_strdup (intel_gpus[i].name);
            break;
          }
      if (name == NULL)
        name = pd_i18n_sprintf ("Intel GPU %04x:%04x", vendor, device);
    }
  else
    {
      for (guint i = 0; i < G_N_ELEMENTS (emulated_gpus); i++)
        if (emulated_gpus[i].vendor == vendor && emulated_gpus[i].device == device)
          name = g_strdup (emulated_gpus[i].name);
      if (name == NULL)
        name = pd_i18n_sprintf ("display device %04x:%04x", vendor, device);
    }
  if (generation)
    *generation = gen;
  return name;
}

const char *
pd_gpu_generation_to_string (PdGpuGeneration generation)
{
  switch (generation)
    {
    case PD_GPU_GEN_KABY_LAKE:
      return "kaby-lake";
    case PD_GPU_GEN_ALDER_LAKE_N:
      return "alder-lake-n";
    case PD_GPU_GEN_OTHER_INTEL:
      return "other-intel";
    case PD_GPU_GEN_UNKNOWN:
    default:
      return "unknown";
    }
}

/* --- small validated readers --- */

static void add_note (GPtrArray *notes, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
add_note (GPtrArray *notes, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_ptr_array_add (notes, g_strdup_vprintf (fmt, ap));
  va_end (ap);
}

/* Reads an attribute; on failure notes why (a missing optional one is not
 * worth a note) and returns NULL. */
static char *
read_attr_noted (const char *abs_path, gsize max_len, gboolean optional, GPtrArray *notes)
{
  g_autoptr (GError) error = NULL;
  char *value = pd_sysroot_read_attr (abs_path, max_len, &error);
  if (value == NULL && !(optional && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)))
    add_note (notes, "%s", error->message);
  return value;
}

/* "0x030000" style hex values, at most @max. */
static gboolean
parse_hex (const char *s, guint32 max, guint32 *out)
{
  if (s == NULL || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
    return FALSE;
  const char *p = s + 2;
  gsize len = strlen (p);
  if (len == 0 || len > 8)
    return FALSE;
  guint64 v = 0;
  for (; *p; p++)
    {
      if (!g_ascii_isxdigit (*p))
        return FALSE;
      v = v * 16 + (guint64) g_ascii_xdigit_value (*p);
    }
  if (v > max)
    return FALSE;
  *out = (guint32) v;
  return TRUE;
}

/* "<prefix><digits>" with a small number, e.g. card0, renderD128. */
static gboolean
parse_numbered (const char *name, const char *prefix, guint *out)
{
  gsize plen = strlen (prefix);
  if (strncmp (name, prefix, plen) != 0)
    return FALSE;
  const char *p = name + plen;
  gsize len = strlen (p);
  if (len == 0 || len > 4)
    return FALSE;
  for (const char *q = p; *q; q++)
    if (!g_ascii_isdigit (*q))
      return FALSE;
  *out = (guint) strtoul (p, NULL, 10);
  return TRUE;
}

/* "0000:00:02.0" */
static gboolean
is_pci_slot (const char *s)
{
  static const char pattern[] = "xxxx:xx:xx.x";
  if (strlen (s) != sizeof pattern - 1)
    return FALSE;
  for (gsize i = 0; pattern[i]; i++)
    {
      if (pattern[i] == 'x' ? !g_ascii_isxdigit (s[i]) : s[i] != pattern[i])
        return FALSE;
    }
  return TRUE;
}

/* Names we print: drivers ("i915", "snd_hda_intel", "vfio-pci") and
 * connectors ("HDMI-A-1"). */
static gboolean
is_plain_name (const char *s, gsize max_len)
{
  gsize len = strlen (s);
  if (len == 0 || len > max_len)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

/* A kernel command-line word we may print: printable ASCII, bounded. */
static gboolean
is_plain_cmdline_word (const char *s)
{
  gsize len = strlen (s);
  if (len == 0 || len > 256)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isgraph (*p))
      return FALSE;
  return TRUE;
}

/* A DRM mode name: "1920x1080", "1920x1080i". */
static gboolean
is_mode_name (const char *s)
{
  const char *p = s;
  gsize digits = 0;
  for (; g_ascii_isdigit (*p); p++)
    digits++;
  if (digits == 0 || digits > 5 || *p++ != 'x')
    return FALSE;
  digits = 0;
  for (; g_ascii_isdigit (*p); p++)
    digits++;
  if (digits == 0 || digits > 5)
    return FALSE;
  if (*p == 'i')
    p++;
  return *p == '\0';
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Lists a directory under the sysroot, sorted, bounded. NULL when it does
 * not exist; other failures are noted. */
static GPtrArray *
list_dir (const char *abs_path, GPtrArray *notes)
{
  g_autofree char *path = pd_sysroot_path (abs_path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
  if (dir == NULL)
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
          && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR))
        add_note (notes, "%s: %s", abs_path, error->message);
      return NULL;
    }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (names->len >= MAX_DIR_ENTRIES)
        {
          add_note (notes, "%s: more than %d entries, the rest were not read", abs_path,
                    MAX_DIR_ENTRIES);
          break;
        }
      g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_strings);
  return names;
}

/* --- devices and connectors --- */

static void
connector_free (gpointer data)
{
  PdConnector *c = data;
  g_free (c->name);
  g_free (c->status);
  g_free (c->preferred_mode);
  g_free (c);
}

static void
device_free (gpointer data)
{
  PdGpuDevice *d = data;
  g_free (d->pci_slot);
  g_free (d->name);
  g_free (d->driver);
  g_free (d->card_node);
  g_free (d->render_node);
  g_ptr_array_unref (d->connectors);
  g_free (d->card_name);
  g_ptr_array_unref (d->notes);
  g_ptr_array_unref (d->display_notes);
  g_ptr_array_unref (d->driver_blocks);
  g_free (d);
}

static PdConnector *
read_connector (const char *entry, const char *name, GPtrArray *notes)
{
  PdConnector *c = g_new0 (PdConnector, 1);
  c->name = g_strdup (name);

  g_autofree char *status_path = g_strdup_printf (DRM_CLASS "/%s/status", entry);
  g_autofree char *status = read_attr_noted (status_path, WORD_MAX, FALSE, notes);
  if (status
      && (strcmp (status, "connected") == 0 || strcmp (status, "disconnected") == 0
          || strcmp (status, "unknown") == 0))
    c->status = g_steal_pointer (&status);
  else
    {
      if (status)
        add_note (notes, "%s: unexpected value", status_path);
      c->status = g_strdup ("unknown");
    }

  g_autofree char *enabled_path = g_strdup_printf (DRM_CLASS "/%s/enabled", entry);
  g_autofree char *enabled = read_attr_noted (enabled_path, WORD_MAX, FALSE, notes);
  if (enabled && strcmp (enabled, "enabled") == 0)
    c->enabled = TRUE;
  else if (enabled && strcmp (enabled, "disabled") != 0)
    add_note (notes, "%s: unexpected value", enabled_path);

  /* The preferred mode is the first line of `modes`; empty when nothing is
   * connected. */
  g_autofree char *modes_path = g_strdup_printf (DRM_CLASS "/%s/modes", entry);
  g_autofree char *modes = read_attr_noted (modes_path, MODES_MAX, TRUE, notes);
  if (modes && modes[0] != '\0')
    {
      char *nl = strchr (modes, '\n');
      if (nl)
        *nl = '\0';
      g_strstrip (modes);
      if (is_mode_name (modes))
        c->preferred_mode = g_strdup (modes);
      else
        add_note (notes, "%s: unexpected first line", modes_path);
    }
  return c;
}

static gint
connector_compare (gconstpointer a, gconstpointer b)
{
  const PdConnector *ca = *(PdConnector *const *) a;
  const PdConnector *cb = *(PdConnector *const *) b;
  return strcmp (ca->name, cb->name);
}

/* Connectors are /sys/class/drm/cardN-<NAME>. */
static void
read_connectors (PdGpuDevice *d)
{
  g_autoptr (GPtrArray) entries = list_dir (DRM_CLASS, d->display_notes);
  if (entries == NULL)
    return;
  g_autofree char *prefix = g_strdup_printf ("%s-", d->card_name);
  gsize plen = strlen (prefix);
  for (guint i = 0; i < entries->len; i++)
    {
      const char *entry = entries->pdata[i];
      if (strncmp (entry, prefix, plen) != 0)
        continue;
      const char *name = entry + plen;
      if (!is_plain_name (name, CONNECTOR_NAME_MAX))
        {
          add_note (d->display_notes, DRM_CLASS "/%s: not a connector name", entry);
          continue;
        }
      g_ptr_array_add (d->connectors, read_connector (entry, name, d->display_notes));
    }
  g_ptr_array_sort (d->connectors, connector_compare);
}

static void
read_driver (PdGpuDevice *d)
{
  g_autofree char *link = pd_sysroot_pathf (PCI_DEVICES "/%s/driver", d->pci_slot);
  g_autoptr (GError) error = NULL;
  g_autofree char *target = g_file_read_link (link, &error);
  if (target == NULL)
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        add_note (d->notes, PCI_DEVICES "/%s/driver: %s", d->pci_slot, error->message);
      return;
    }
  g_autofree char *base = g_path_get_basename (target);
  if (is_plain_name (base, LINK_NAME_MAX))
    d->driver = g_steal_pointer (&base);
  else
    add_note (d->notes, PCI_DEVICES "/%s/driver: points to an unexpected name", d->pci_slot);
}

/* The DRM card and render node the driver registered: drm/cardN and
 * drm/renderDN below the PCI device. */
static void
read_drm_nodes (PdGpuDevice *d)
{
  g_autofree char *drm_dir = g_strdup_printf (PCI_DEVICES "/%s/drm", d->pci_slot);
  g_autoptr (GPtrArray) entries = list_dir (drm_dir, d->notes);
  if (entries == NULL)
    return;
  guint card = G_MAXUINT, render = G_MAXUINT;
  for (guint i = 0; i < entries->len; i++)
    {
      guint n;
      if (parse_numbered (entries->pdata[i], "card", &n))
        card = MIN (card, n);
      else if (parse_numbered (entries->pdata[i], "renderD", &n))
        render = MIN (render, n);
    }
  if (card != G_MAXUINT)
    {
      d->card_name = g_strdup_printf ("card%u", card);
      d->card_node = g_strdup_printf ("/dev/dri/card%u", card);
    }
  if (render != G_MAXUINT)
    {
      d->render_in_sysfs = TRUE;
      d->render_node = g_strdup_printf ("/dev/dri/renderD%u", render);
      g_autofree char *path = pd_sysroot_path (d->render_node);
      struct stat st;
      d->render_exists = stat (path, &st) == 0;
      d->render_accessible = d->render_exists && access (path, R_OK | W_OK) == 0;
    }
}

gboolean
pd_gpu_device_has_gpu_driver (const PdGpuDevice *d)
{
  return g_strcmp0 (d->driver, "i915") == 0 || g_strcmp0 (d->driver, "xe") == 0;
}

static gboolean
is_gpu_module (const char *name)
{
  return strcmp (name, "i915") == 0 || strcmp (name, "xe") == 0;
}

/* "ids=8086:5912,8086:a2f0" (vfio-pci option or kernel parameter value)
 * names this device. */
static gboolean
ids_name_device (const char *ids, const PdGpuDevice *d)
{
  g_autofree char *want = g_strdup_printf ("%04x:%04x", d->vendor, d->device);
  g_auto (GStrv) list = g_strsplit (ids, ",", 64);
  gsize len = strlen (want);
  /* Each entry is vendor:device[:subvendor:subdevice[:class[:mask]]]. */
  for (guint i = 0; list[i]; i++)
    if (g_ascii_strncasecmp (list[i], want, len) == 0
        && (list[i][len] == '\0' || list[i][len] == ':'))
      return TRUE;
  return FALSE;
}

/* One modprobe.d line (comment stripped): does it keep i915/xe off this GPU? */
static gboolean
modprobe_line_blocks (char **words, const PdGpuDevice *d)
{
  guint n = g_strv_length (words);
  if (n >= 2 && strcmp (words[0], "blacklist") == 0)
    return is_gpu_module (words[1]);
  /* "install i915 /bin/false" disables loading it at all. */
  if (n >= 3 && strcmp (words[0], "install") == 0 && is_gpu_module (words[1]))
    return strstr (words[2], "/bin/false") || strstr (words[2], "/bin/true");
  if (n >= 3 && strcmp (words[0], "options") == 0
      && (strcmp (words[1], "vfio-pci") == 0 || strcmp (words[1], "vfio_pci") == 0))
    for (guint i = 2; i < n; i++)
      if (g_str_has_prefix (words[i], "ids=") && ids_name_device (words[i] + 4, d))
        return TRUE;
  return FALSE;
}

/* Kernel parameters that keep i915/xe off the GPU. */
static gboolean
cmdline_word_blocks (const char *w, const PdGpuDevice *d)
{
  if (strcmp (w, "nomodeset") == 0 || strcmp (w, "i915.modeset=0") == 0)
    return TRUE;
  const char *value = NULL;
  if (g_str_has_prefix (w, "modprobe.blacklist="))
    value = w + strlen ("modprobe.blacklist=");
  else if (g_str_has_prefix (w, "module_blacklist="))
    value = w + strlen ("module_blacklist=");
  if (value)
    {
      g_auto (GStrv) mods = g_strsplit (value, ",", 64);
      for (guint i = 0; mods[i]; i++)
        if (is_gpu_module (mods[i]))
          return TRUE;
      return FALSE;
    }
  if (g_str_has_prefix (w, "vfio-pci.ids=") || g_str_has_prefix (w, "vfio_pci.ids="))
    return ids_name_device (w + strlen ("vfio-pci.ids="), d);
  return FALSE;
}

/* The guest's own settings that keep i915 away: the .conf files in
 * /etc/modprobe.d (often the host's vfio.conf copied into the guest) and the
 * kernel command line. Bounded: a few dozen small files. */
static void
find_driver_blocks (PdGpuDevice *d)
{
  g_autoptr (GPtrArray) files = list_dir ("/etc/modprobe.d", d->notes);
  for (guint f = 0; files && f < files->len && f < MODPROBE_MAX_FILES; f++)
    {
      const char *name = files->pdata[f];
      if (!g_str_has_suffix (name, ".conf") || !is_plain_name (name, LINK_NAME_MAX))
        continue;
      g_autofree char *path = g_strdup_printf ("/etc/modprobe.d/%s", name);
      g_autofree char *text = read_attr_noted (path, MODPROBE_FILE_MAX, TRUE, d->notes);
      if (text == NULL)
        continue;
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i]; i++)
        {
          char *hash = strchr (lines[i], '#');
          if (hash)
            *hash = '\0';
          g_auto (GStrv) words = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
          /* g_strsplit_set leaves empty words between repeated blanks. */
          g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
          for (guint k = 0; words[k]; k++)
            if (*words[k])
              g_strv_builder_add (b, words[k]);
          g_auto (GStrv) packed = g_strv_builder_end (b);
          if (modprobe_line_blocks (packed, d))
            {
              /* The line is printed in advice: only printable words. */
              gboolean printable = TRUE;
              for (guint k = 0; packed[k]; k++)
                printable = printable && is_plain_cmdline_word (packed[k]);
              g_autofree char *joined = printable ? g_strjoinv (" ", packed) : NULL;
              add_note (d->driver_blocks, "%s:%u: %s", path, i + 1,
                        joined ? joined : "(unprintable line)");
            }
        }
    }

  g_autofree char *cmdline = read_attr_noted ("/proc/cmdline", CMDLINE_MAX, TRUE, d->notes);
  if (cmdline)
    {
      g_auto (GStrv) words = g_strsplit_set (cmdline, " \t\n", -1);
      for (guint i = 0; words[i]; i++)
        if (*words[i] && is_plain_cmdline_word (words[i]) && cmdline_word_blocks (words[i], d))
          add_note (d->driver_blocks, "/proc/cmdline: %s", words[i]);
    }
}

/* One PCI function; NULL when it is not a display device. */
static PdGpuDevice *
read_device (const char *slot, GPtrArray *scan_notes)
{
  g_autofree char *class_path = g_strdup_printf (PCI_DEVICES "/%s/class", slot);
  g_autofree char *class_str = read_attr_noted (class_path, ID_MAX, FALSE, scan_notes);
  guint32 pci_class;
  if (class_str == NULL)
    return NULL;
  if (!parse_hex (class_str, 0xffffff, &pci_class))
    {
      add_note (scan_notes, "%s: not a PCI class", class_path);
      return NULL;
    }
  if ((pci_class >> 16) != 0x03)
    return NULL;

  PdGpuDevice *d = g_new0 (PdGpuDevice, 1);
  d->pci_slot = g_strdup (slot);
  d->pci_class = pci_class;
  d->connectors = g_ptr_array_new_with_free_func (connector_free);
  d->notes = g_ptr_array_new_with_free_func (g_free);
  d->display_notes = g_ptr_array_new_with_free_func (g_free);
  d->driver_blocks = g_ptr_array_new_with_free_func (g_free);

  guint32 vendor = 0, device = 0;
  gboolean ok = TRUE;
  const char *attrs[] = { "vendor", "device" };
  guint32 *vals[] = { &vendor, &device };
  for (guint i = 0; i < G_N_ELEMENTS (attrs); i++)
    {
      g_autofree char *path = g_strdup_printf (PCI_DEVICES "/%s/%s", slot, attrs[i]);
      g_autofree char *s = read_attr_noted (path, ID_MAX, FALSE, d->notes);
      if (s == NULL)
        ok = FALSE;
      else if (!parse_hex (s, 0xffff, vals[i]))
        {
          add_note (d->notes, "%s: not a hexadecimal id", path);
          ok = FALSE;
        }
    }
  d->ids_known = ok;
  d->vendor = (guint16) vendor;
  d->device = (guint16) device;
  if (ok)
    d->name = pd_gpu_name_for_ids (d->vendor, d->device, &d->generation);
  else
    d->name = g_strdup (N_ ("unidentified display device"));

  read_driver (d);
  if (!pd_gpu_device_has_gpu_driver (d) && d->ids_known && d->vendor == INTEL_VENDOR)
    find_driver_blocks (d);
  read_drm_nodes (d);
  if (d->card_name)
    read_connectors (d);
  return d;
}

static gboolean
is_intel (const PdGpuDevice *d)
{
  return d->ids_known && d->vendor == INTEL_VENDOR;
}

/* Intel first, then the one i915/xe drives, then PCI order. */
static gint
device_compare (gconstpointer a, gconstpointer b)
{
  const PdGpuDevice *da = *(PdGpuDevice *const *) a;
  const PdGpuDevice *db = *(PdGpuDevice *const *) b;
  if (is_intel (da) != is_intel (db))
    return is_intel (da) ? -1 : 1;
  if (pd_gpu_device_has_gpu_driver (da) != pd_gpu_device_has_gpu_driver (db))
    return pd_gpu_device_has_gpu_driver (da) ? -1 : 1;
  return strcmp (da->pci_slot, db->pci_slot);
}

PdGpuScan *
pd_gpu_scan (void)
{
  PdGpuScan *scan = g_new0 (PdGpuScan, 1);
  scan->devices = g_ptr_array_new_with_free_func (device_free);
  scan->notes = g_ptr_array_new_with_free_func (g_free);

  g_autoptr (GPtrArray) slots = list_dir (PCI_DEVICES, scan->notes);
  if (slots == NULL)
    {
      add_note (scan->notes, PCI_DEVICES " does not exist");
      return scan;
    }
  for (guint i = 0; i < slots->len; i++)
    {
      const char *slot = slots->pdata[i];
      if (!is_pci_slot (slot))
        {
          add_note (scan->notes, PCI_DEVICES ": unexpected entry");
          continue;
        }
      PdGpuDevice *d = read_device (slot, scan->notes);
      if (d)
        g_ptr_array_add (scan->devices, d);
    }
  g_ptr_array_sort (scan->devices, device_compare);
  return scan;
}

void
pd_gpu_scan_free (PdGpuScan *scan)
{
  if (scan == NULL)
    return;
  g_ptr_array_unref (scan->devices);
  g_ptr_array_unref (scan->notes);
  g_free (scan);
}

const PdGpuDevice *
pd_gpu_scan_primary (const PdGpuScan *scan)
{
  if (scan == NULL || scan->devices->len == 0)
    return NULL;
  const PdGpuDevice *d = scan->devices->pdata[0];
  return is_intel (d) ? d : NULL;
}
