/* detail-keys.c - the one table of detail keys and their labels. */
#include "detail-keys.h"

#include <string.h>

static const PdDetailKey keys[] = {
  { PD_DETAIL_PROBLEMS, "Problems", 0 },
  { PD_DETAIL_ERROR, "Error", 0 },
  { PD_DETAIL_KERNEL_LOG, "Kernel log", 0 },

  { PD_DETAIL_PCI_SLOT, "PCI slot", 0 },
  { PD_DETAIL_IDS, "PCI ids", 0 },
  { PD_DETAIL_NAME, "Name", 0 },
  { PD_DETAIL_GENERATION, "Generation", 0 },
  { PD_DETAIL_DRIVER, "Driver", 0 },
  { PD_DETAIL_CARD, "Card", 0 },
  { PD_DETAIL_RENDER_NODE, "Render node", 0 },
  { PD_DETAIL_RENDER_ACCESS, "Render node access", 0 },
  { PD_DETAIL_OTHER_DISPLAY_DEVICES, "Other display devices", 0 },
  { PD_DETAIL_DRIVER_BLOCKED_BY, "Driver blocked by", 0 },

  { PD_DETAIL_PROBE, "Probe result", 0 },
  { PD_DETAIL_PROBE_TIME, "Probe time", 0 },
  { PD_DETAIL_PROBE_STATUS, "Probe status", 0 },
  { PD_DETAIL_DEVICE, "Device", 0 },
  { PD_DETAIL_PROBE_USER, "Probe user", 0 },
  { PD_DETAIL_VENDOR, "Vendor", 0 },
  { PD_DETAIL_VA_API_VERSION, "VA-API version", 0 },
  { PD_DETAIL_DECODE, "Decode", 0 },
  { PD_DETAIL_ENCODE, "Encode", 0 },
  { PD_DETAIL_VIDEO_PROCESSING, "Video processing", 0 },
  { PD_DETAIL_FUNCTIONAL_TEST, "Functional test", 0 },
  { PD_DETAIL_PROBE_PATH, "Probe program", 0 },
  { PD_DETAIL_EXIT_STATUS, "Exit status", 0 },
  { PD_DETAIL_SIGNAL, "Signal", 0 },
  { PD_DETAIL_PROBE_STDERR, "Probe error output", 0 },
  { PD_DETAIL_PACKAGES, "Packages", 0 },
  { PD_DETAIL_PACKAGES_INSTALLED, "Packages installed", 0 },
  { PD_DETAIL_PACKAGES_MISSING, "Packages missing", 0 },
  { PD_DETAIL_APT_SOURCES, "APT sources", 0 },
  { PD_DETAIL_LIBVA_DRIVER_NAME, "LIBVA_DRIVER_NAME", 0 },

  { PD_DETAIL_CARDS, "Sound cards", 0 },
  { PD_DETAIL_HDMI_CODEC, "HDMI codec", 0 },
  { PD_DETAIL_HDMI_CODEC_PRESENT, "HDMI codec present", PD_DETAIL_FLAGS_HIDDEN },
  { PD_DETAIL_MONITOR_NAME, "Monitor", PD_DETAIL_FLAGS_HIDDEN },
  { PD_DETAIL_CONNECTED_OUTPUTS, "Connected outputs", 0 },

  { PD_DETAIL_PORT, "Port", 0 },
  { PD_DETAIL_HOST, "Host", 0 },
  { PD_DETAIL_VMID, "VM", 0 },
  { PD_DETAIL_COLD_RESTART, "Cold restart", 0 },
  { PD_DETAIL_COOL_OFF, "Cool-off", 0 },
  { PD_DETAIL_RATE_LIMIT, "Rate limit", 0 },
  { PD_DETAIL_NEXT_ALLOWED_IN, "Next allowed in", 0 },
  { PD_DETAIL_LAST_CYCLE, "Last cold restart", 0 },

  { PD_DETAIL_CHECKED, "Checked on the host", 0 },
  { PD_DETAIL_FINDINGS, "Findings", 0 },
  { PD_DETAIL_REPORT, "Report", 0 },

  { PD_DETAIL_SOUND_SERVER, "Sound server", 0 },
  { PD_DETAIL_DEFAULT_OUTPUT, "Default output", 0 },
  { PD_DETAIL_HDMI_SINKS, "HDMI/DP outputs", 0 },
  { PD_DETAIL_HDA_HARDWARE, "HD-Audio hardware", 0 },
};

const PdDetailKey *
pd_detail_keys (guint *n_keys)
{
  *n_keys = G_N_ELEMENTS (keys);
  return keys;
}

const PdDetailKey *
pd_detail_key_lookup (const char *id)
{
  for (guint i = 0; id != NULL && i < G_N_ELEMENTS (keys); i++)
    if (strcmp (keys[i].id, id) == 0)
      return &keys[i];
  return NULL;
}

/* [0-9]+ at @p; the end, or NULL when there is no digit. */
static const char *
skip_digits (const char *p)
{
  if (!g_ascii_isdigit (*p))
    return NULL;
  while (g_ascii_isdigit (*p))
    p++;
  return p;
}

/* "HDMI-A-1", "DP-1", "eDP-1", "DVI-D-1": the kernel's "%s-%d" over its
 * connector type names (drm_connector_enum_list). */
static gboolean
is_connector (const char *key)
{
  const char *p = key;
  while (g_ascii_isalpha (*p))
    p++;
  if (p == key || *p != '-')
    return FALSE;
  p++;
  if (g_ascii_isupper (p[0]) && p[1] == '-')
    p += 2;
  p = skip_digits (p);
  return p != NULL && *p == '\0';
}

/* "eld#2.0": /proc/asound/cardN/eld#CODEC.PIN */
static gboolean
is_eld_pin (const char *key)
{
  if (!g_str_has_prefix (key, "eld#"))
    return FALSE;
  const char *p = skip_digits (key + 4);
  if (p == NULL || *p != '.')
    return FALSE;
  p = skip_digits (p + 1);
  return p != NULL && *p == '\0';
}

/* "1-4.1": bus-port[.port...] */
static gboolean
is_usb_port (const char *key)
{
  const char *p = skip_digits (key);
  if (p == NULL || *p != '-')
    return FALSE;
  do
    p = skip_digits (p + 1);
  while (p != NULL && *p == '.');
  return p != NULL && *p == '\0';
}

gboolean
pd_detail_key_is_known (const char *key)
{
  return key != NULL
         && (pd_detail_key_lookup (key) != NULL || is_connector (key) || is_eld_pin (key)
             || is_usb_port (key));
}

char *
pd_detail_label (const char *key)
{
  const PdDetailKey *k = pd_detail_key_lookup (key);
  if (k != NULL)
    return g_strdup (k->label);
  if (key != NULL && is_eld_pin (key))
    return g_strdup_printf ("HDMI audio pin %s", key + 4);
  if (key != NULL && is_usb_port (key))
    return g_strdup_printf ("USB port %s", key);
  /* Connector names are what people know them by (xrandr, settings). */
  return g_strdup (key ? key : "");
}

gboolean
pd_detail_key_is_shown (const char *key)
{
  const PdDetailKey *k = pd_detail_key_lookup (key);
  return k == NULL || !(k->flags & PD_DETAIL_FLAGS_HIDDEN);
}
