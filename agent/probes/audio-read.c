/* audio-read.c - HDMI audio at the hardware level, from /proc/asound.
 *
 * Everything is read through the sysroot prefix with a size cap: /proc/asound
 * files are small, but a codec dump of an analog codec runs to tens of KiB
 * and only its header ("Codec: ...", "Vendor Id: ...") matters here.
 */
#include "config.h"

#include "audio-read.h"

#include <string.h>

#include "detail-keys.h"
#include "gpu-scan.h"
#include "sysroot.h"

#define CARDS_MAX_BYTES (16 * 1024)
#define CODEC_HEADER_BYTES 2048
#define ELD_MAX_BYTES 4096
#define NAME_MAX_CHARS 128
#define MAX_CARDS 32    /* SNDRV_CARDS */
#define MAX_ENTRIES 256 /* entries of one card directory we look at */
#define MAX_PINS 16

typedef struct
{
  char *file; /* "eld#2.0" */
  gboolean present;
  gboolean eld_valid;
  char *monitor_name; /* NULL when none */
} AudioPin;

typedef struct
{
  guint index;
  char *id;              /* "PCH" */
  char *driver;          /* "HDA-Intel" */
  char *name;            /* "HDA Intel PCH" */
  char *hdmi_codec;      /* "Intel Kabylake HDMI" or NULL */
  guint hdmi_codec_addr; /* M of codec#M */
  GPtrArray *pins;       /* AudioPin, sorted */
} AudioCard;

static void
audio_pin_free (gpointer data)
{
  AudioPin *p = data;
  g_free (p->file);
  g_free (p->monitor_name);
  g_free (p);
}

static void
audio_card_free (AudioCard *c)
{
  if (c == NULL)
    return;
  g_free (c->id);
  g_free (c->driver);
  g_free (c->name);
  g_free (c->hdmi_codec);
  g_clear_pointer (&c->pins, g_ptr_array_unref);
  g_free (c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AudioCard, audio_card_free)

/* Reads at most @max bytes of @abs_path (through the sysroot). A longer file
 * is cut, not an error: callers only want its beginning. NULL when it cannot
 * be read or holds a NUL byte. */
static char *
read_head (const char *abs_path, gsize max)
{
  return pd_sysroot_read_file (abs_path, max, PD_SYSROOT_READ_TRUNCATE, NULL, NULL);
}

/* A name for people: valid UTF-8, printable, at most NAME_MAX_CHARS. */
static char *
clean_name (const char *s)
{
  if (s == NULL)
    return NULL;
  g_autofree char *valid = g_utf8_make_valid (s, -1);
  GString *out = g_string_new (NULL);
  guint n = 0;
  for (const char *p = valid; *p && n < NAME_MAX_CHARS; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);
      g_string_append_unichar (out, g_unichar_isprint (c) ? c : '?');
    }
  g_strstrip (out->str);
  out->len = strlen (out->str);
  if (out->len == 0)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

/* /proc/asound/cards:
 *  0 [PCH            ]: HDA-Intel - HDA Intel PCH
 *                       HDA Intel PCH at 0xf7f10000 irq 33
 */
static GPtrArray *
read_cards (void)
{
  GPtrArray *cards = g_ptr_array_new_with_free_func ((GDestroyNotify) audio_card_free);
  g_autofree char *text = read_head ("/proc/asound/cards", CARDS_MAX_BYTES);
  if (text == NULL)
    return cards;

  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && cards->len < MAX_CARDS; i++)
    {
      const char *l = lines[i];
      char *end = NULL;
      while (*l == ' ')
        l++;
      if (!g_ascii_isdigit (*l))
        continue;
      guint64 index = g_ascii_strtoull (l, &end, 10);
      if (end == l || index >= MAX_CARDS || strncmp (end, " [", 2) != 0)
        continue;
      const char *id_start = end + 2;
      const char *id_end = strchr (id_start, ']');
      if (id_end == NULL || strncmp (id_end, "]: ", 3) != 0)
        continue;
      const char *drv_start = id_end + 3;
      const char *sep = strstr (drv_start, " - ");
      if (sep == NULL)
        continue;

      AudioCard *c = g_new0 (AudioCard, 1);
      c->index = (guint) index;
      g_autofree char *id = g_strndup (id_start, id_end - id_start);
      g_autofree char *drv = g_strndup (drv_start, sep - drv_start);
      c->id = clean_name (id);
      c->driver = clean_name (drv);
      c->name = clean_name (sep + 3);
      c->pins = g_ptr_array_new_with_free_func (audio_pin_free);
      g_ptr_array_add (cards, c);
    }
  return cards;
}

/* "Codec: Intel Kabylake HDMI" from the header of cardN/codec#M. */
static char *
read_codec_name (guint card, const char *entry)
{
  g_autofree char *path = g_strdup_printf ("/proc/asound/card%u/%s", card, entry);
  g_autofree char *head = read_head (path, CODEC_HEADER_BYTES);
  if (head == NULL)
    return NULL;
  g_auto (GStrv) lines = g_strsplit (head, "\n", 16);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "Codec: "))
      return clean_name (lines[i] + strlen ("Codec: "));
  return NULL;
}

static gboolean
is_hdmi_codec_name (const char *name)
{
  return name != NULL && (strstr (name, "HDMI") != NULL || strstr (name, "DisplayPort") != NULL);
}

/* cardN/eld#M.P: "key<TABs>value" lines. */
static AudioPin *
read_pin (guint card, const char *entry)
{
  g_autofree char *path = g_strdup_printf ("/proc/asound/card%u/%s", card, entry);
  g_autofree char *text = read_head (path, ELD_MAX_BYTES);
  if (text == NULL)
    return NULL;

  AudioPin *p = g_new0 (AudioPin, 1);
  p->file = g_strdup (entry);
  g_auto (GStrv) lines = g_strsplit (text, "\n", 64);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *l = lines[i];
      char *sep = strpbrk (l, "\t ");
      if (sep == NULL)
        continue;
      *sep = '\0';
      char *value = g_strstrip (sep + 1);
      if (g_str_equal (l, "monitor_present"))
        p->present = g_str_equal (value, "1");
      else if (g_str_equal (l, "eld_valid"))
        p->eld_valid = g_str_equal (value, "1");
      else if (g_str_equal (l, "monitor_name"))
        {
          g_free (p->monitor_name);
          p->monitor_name = clean_name (value);
        }
    }
  return p;
}

static gint
compare_pins (gconstpointer a, gconstpointer b)
{
  const AudioPin *pa = *(AudioPin *const *) a;
  const AudioPin *pb = *(AudioPin *const *) b;
  return g_strcmp0 (pa->file, pb->file);
}

/* Finds the HDMI codec of @c and reads its ELD pins. */
static void
read_card_codecs (AudioCard *c)
{
  g_autofree char *dir_path = pd_sysroot_pathf ("/proc/asound/card%u", c->index);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autoptr (GPtrArray) eld_entries = g_ptr_array_new_with_free_func (g_free);
  const char *entry;
  guint n = 0;

  if (dir == NULL)
    return;
  while ((entry = g_dir_read_name (dir)) != NULL && n++ < MAX_ENTRIES)
    {
      guint64 addr = 0;
      if (g_str_has_prefix (entry, "codec#"))
        {
          if (c->hdmi_codec != NULL
              || !g_ascii_string_to_unsigned (entry + 6, 10, 0, 15, &addr, NULL))
            continue;
          g_autofree char *name = read_codec_name (c->index, entry);
          if (is_hdmi_codec_name (name))
            {
              c->hdmi_codec = g_steal_pointer (&name);
              c->hdmi_codec_addr = (guint) addr;
            }
        }
      else if (g_str_has_prefix (entry, "eld#") && eld_entries->len < MAX_PINS)
        g_ptr_array_add (eld_entries, g_strdup (entry));
    }
  if (c->hdmi_codec == NULL)
    return;

  g_autofree char *prefix = g_strdup_printf ("eld#%u.", c->hdmi_codec_addr);
  for (guint i = 0; i < eld_entries->len; i++)
    {
      const char *e = eld_entries->pdata[i];
      guint64 pin = 0;
      if (!g_str_has_prefix (e, prefix)
          || !g_ascii_string_to_unsigned (e + strlen (prefix), 10, 0, 255, &pin, NULL))
        continue;
      AudioPin *p = read_pin (c->index, e);
      if (p != NULL)
        g_ptr_array_add (c->pins, p);
    }
  g_ptr_array_sort (c->pins, compare_pins);
}

static gboolean
is_hda_driver (const char *driver)
{
  return driver != NULL && (g_str_equal (driver, "HDA-Intel") || g_str_has_prefix (driver, "sof-"));
}

/* The connected DRM connectors, "HDMI-A-1, DP-1", or NULL when none. */
static char *
connected_connectors (void)
{
  g_autoptr (PdGpuScan) scan = pd_gpu_scan ();
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; scan != NULL && i < scan->devices->len; i++)
    {
      const PdGpuDevice *d = scan->devices->pdata[i];
      for (guint j = 0; d->connectors != NULL && j < d->connectors->len; j++)
        {
          const PdConnector *con = d->connectors->pdata[j];
          if (g_strcmp0 (con->status, "connected") == 0)
            g_string_append_printf (s, "%s%s", s->len ? ", " : "", con->name);
        }
    }
  return s->len ? g_string_free (g_steal_pointer (&s), FALSE) : NULL;
}

PdComponent *
pd_audio_component_read (void)
{
  g_autoptr (GPtrArray) cards = read_cards ();
  AudioCard *hda = NULL;
  PdComponent *c;

  for (guint i = 0; i < cards->len; i++)
    {
      AudioCard *card = cards->pdata[i];
      read_card_codecs (card);
      if (card->hdmi_codec != NULL && (hda == NULL || hda->hdmi_codec == NULL))
        hda = card;
      else if (hda == NULL && is_hda_driver (card->driver))
        hda = card;
    }

  if (hda == NULL)
    {
      c = pd_component_new (PD_COMPONENT_AUDIO, PD_STATE_FAILED,
                            "No HD-Audio card: the HDMI audio device is gone");
      pd_component_set_detail (c, PD_DETAIL_CARDS, cards->len ? "no HD-Audio card" : "none");
      pd_component_add_advice (c,
                               "The guest has no HD-Audio card: check that the PCH audio "
                               "function (00:1f.3) is passed through to the VM and that "
                               "snd_hda_intel is loaded; a cold restart of the VM resets it.",
                               NULL);
      return c;
    }

  c = pd_component_new (PD_COMPONENT_AUDIO, PD_STATE_OK, NULL);
  pd_component_set_detail_printf (c, PD_DETAIL_CARD, "card%u %s (%s)", hda->index,
                                  hda->name ? hda->name : "?", hda->driver ? hda->driver : "?");
  if (hda->hdmi_codec == NULL)
    {
      pd_component_set_state (c, PD_STATE_FAILED,
                              "The HD-Audio card has no HDMI codec: HDMI audio is gone");
      pd_component_set_detail (c, PD_DETAIL_HDMI_CODEC, "none");
      pd_component_set_detail (c, PD_DETAIL_HDMI_CODEC_PRESENT, "no");
      pd_component_add_advice (c,
                               "The iGPU's HDMI audio codec did not come up (it often times out "
                               "after an in-guest reboot): cold-restart the VM so the host resets "
                               "the iGPU and the audio function together.",
                               NULL);
      return c;
    }

  pd_component_set_detail_printf (c, PD_DETAIL_HDMI_CODEC, "%s (codec#%u)", hda->hdmi_codec,
                                  hda->hdmi_codec_addr);
  pd_component_set_detail (c, PD_DETAIL_HDMI_CODEC_PRESENT, "yes");
  const AudioPin *with_monitor = NULL;
  const char *monitor_name = NULL;
  for (guint i = 0; i < hda->pins->len; i++)
    {
      const AudioPin *p = hda->pins->pdata[i];
      if (p->present)
        {
          pd_component_set_detail_printf (c, p->file, "monitor %s%s",
                                          p->monitor_name ? p->monitor_name : N_ ("(no name)"),
                                          p->eld_valid ? "" : N_ (" (ELD not valid)"));
          if (with_monitor == NULL)
            with_monitor = p;
          if (monitor_name == NULL)
            monitor_name = p->monitor_name;
        }
      else
        pd_component_set_detail (c, p->file, "no monitor");
    }

  if (monitor_name != NULL)
    pd_component_set_detail (c, PD_DETAIL_MONITOR_NAME, monitor_name);

  g_autofree char *connected = connected_connectors ();
  if (connected != NULL)
    pd_component_set_detail (c, PD_DETAIL_CONNECTED_OUTPUTS, connected);

  if (with_monitor != NULL)
    pd_component_set_summary_printf (c, "HDMI audio on %s: %s",
                                     with_monitor->monitor_name ? with_monitor->monitor_name
                                                                : "the connected monitor",
                                     hda->hdmi_codec);
  else if (hda->pins->len == 0)
    /* No eld# files (a kernel without them): nothing to compare with. */
    pd_component_set_summary_printf (c, "%s ready (no ELD information)", hda->hdmi_codec);
  else if (connected != NULL)
    {
      pd_component_set_state (c, PD_STATE_DEGRADED, NULL);
      pd_component_set_summary_printf (c, "%s is connected but no HDMI audio pin sees a monitor",
                                       connected);
      pd_component_add_advice (c,
                               "The HDMI codec does not see the monitor (no ELD): switch the "
                               "monitor off and on or re-plug its cable; if that does not help, "
                               "cold-restart the VM.",
                               NULL);
    }
  else
    pd_component_set_summary_printf (c, "%s ready; no monitor connected", hda->hdmi_codec);
  return c;
}
