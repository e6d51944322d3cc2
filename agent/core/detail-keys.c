/* detail-keys.c - the one table of detail keys and their labels. */
#include "detail-keys.h"
#include "pd-i18n.h"

#include <string.h>

static const PdDetailKey keys[] = {
  { PD_DETAIL_PROBLEMS, N_ ("Problems"), 0 },
  { PD_DETAIL_ERROR, N_ ("Error"), 0 },
  { PD_DETAIL_KERNEL_LOG, N_ ("Kernel log"), 0 },

  { PD_DETAIL_PCI_SLOT, N_ ("PCI slot"), 0 },
  { PD_DETAIL_IDS, N_ ("PCI ids"), 0 },
  { PD_DETAIL_NAME, N_ ("Name"), 0 },
  { PD_DETAIL_GENERATION, N_ ("Generation"), 0 },
  { PD_DETAIL_DRIVER, N_ ("Driver"), 0 },
  { PD_DETAIL_CARD, N_ ("Card"), 0 },
  { PD_DETAIL_RENDER_NODE, N_ ("Render node"), 0 },
  { PD_DETAIL_RENDER_ACCESS, N_ ("Render node access"), 0 },
  { PD_DETAIL_OTHER_DISPLAY_DEVICES, N_ ("Other display devices"), 0 },
  { PD_DETAIL_DRIVER_BLOCKED_BY, N_ ("Driver blocked by"), 0 },

  { PD_DETAIL_PROBE, N_ ("Probe result"), 0 },
  { PD_DETAIL_PROBE_TIME, N_ ("Probe time"), 0 },
  { PD_DETAIL_PROBE_STATUS, N_ ("Probe status"), 0 },
  { PD_DETAIL_DEVICE, N_ ("Device"), 0 },
  { PD_DETAIL_PROBE_USER, N_ ("Probe user"), 0 },
  { PD_DETAIL_VENDOR, N_ ("Vendor"), 0 },
  { PD_DETAIL_VA_API_VERSION, N_ ("VA-API version"), 0 },
  { PD_DETAIL_DECODE, N_ ("Decode"), 0 },
  { PD_DETAIL_ENCODE, N_ ("Encode"), 0 },
  { PD_DETAIL_VIDEO_PROCESSING, N_ ("Video processing"), 0 },
  { PD_DETAIL_FUNCTIONAL_TEST, N_ ("Functional test"), 0 },
  { PD_DETAIL_PROBE_PATH, N_ ("Probe program"), 0 },
  { PD_DETAIL_EXIT_STATUS, N_ ("Exit status"), 0 },
  { PD_DETAIL_SIGNAL, N_ ("Signal"), 0 },
  { PD_DETAIL_PROBE_STDERR, N_ ("Probe error output"), 0 },
  { PD_DETAIL_PACKAGES, N_ ("Packages"), 0 },
  { PD_DETAIL_PACKAGES_INSTALLED, N_ ("Packages installed"), 0 },
  { PD_DETAIL_PACKAGES_MISSING, N_ ("Packages missing"), 0 },
  { PD_DETAIL_APT_SOURCES, N_ ("APT sources"), 0 },
  { PD_DETAIL_LIBVA_DRIVER_NAME, N_ ("LIBVA_DRIVER_NAME"), 0 },

  { PD_DETAIL_CARDS, N_ ("Sound cards"), 0 },
  { PD_DETAIL_HDMI_CODEC, N_ ("HDMI codec"), 0 },
  { PD_DETAIL_HDMI_CODEC_PRESENT, N_ ("HDMI codec present"), PD_DETAIL_FLAGS_HIDDEN },
  { PD_DETAIL_MONITOR_NAME, N_ ("Monitor"), PD_DETAIL_FLAGS_HIDDEN },
  { PD_DETAIL_CONNECTED_OUTPUTS, N_ ("Connected outputs"), 0 },

  { PD_DETAIL_PORT, N_ ("Port"), 0 },
  { PD_DETAIL_HOST, N_ ("Host"), 0 },
  { PD_DETAIL_VMID, N_ ("VM"), 0 },
  { PD_DETAIL_COLD_RESTART, N_ ("Cold restart"), 0 },
  { PD_DETAIL_COOL_OFF, N_ ("Cool-off"), 0 },
  { PD_DETAIL_RATE_LIMIT, N_ ("Rate limit"), 0 },
  { PD_DETAIL_NEXT_ALLOWED_IN, N_ ("Next allowed in"), 0 },
  { PD_DETAIL_RATE_LEFT, N_ ("Cold restarts allowed now"), PD_DETAIL_FLAGS_HIDDEN },
  { PD_DETAIL_LAST_CYCLE, N_ ("Last cold restart"), 0 },
  { PD_DETAIL_RESTART, N_ ("Restart"), PD_DETAIL_FLAGS_STATUS_LINE },
  { PD_DETAIL_REBOOT_COLD, N_ ("Restart is a cold restart"), PD_DETAIL_FLAGS_HIDDEN },

  { PD_DETAIL_CHECKED, N_ ("Checked on the host"), 0 },
  { PD_DETAIL_FINDINGS, N_ ("Findings"), 0 },
  { PD_DETAIL_REPORT, N_ ("Report"), 0 },

  { PD_DETAIL_SOUND_SERVER, N_ ("Sound server"), 0 },
  { PD_DETAIL_DEFAULT_OUTPUT, N_ ("Default output"), 0 },
  { PD_DETAIL_HDMI_SINKS, N_ ("HDMI/DP outputs"), 0 },
  { PD_DETAIL_HDA_HARDWARE, N_ ("HD-Audio hardware"), 0 },
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
    return g_strdup (_ (k->label));
  if (key != NULL && is_eld_pin (key))
    return g_strdup_printf (_ ("HDMI audio pin %s"), key + 4);
  if (key != NULL && is_usb_port (key))
    return g_strdup_printf (_ ("USB port %s"), key);
  /* Connector names are what people know them by (xrandr, settings). */
  return g_strdup (key ? key : "");
}

gboolean
pd_detail_key_is_shown (const char *key)
{
  const PdDetailKey *k = pd_detail_key_lookup (key);
  return k == NULL || !(k->flags & PD_DETAIL_FLAGS_HIDDEN);
}

gboolean
pd_detail_key_is_status_line (const char *key)
{
  const PdDetailKey *k = pd_detail_key_lookup (key);
  return k != NULL && (k->flags & PD_DETAIL_FLAGS_STATUS_LINE);
}
