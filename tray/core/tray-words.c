/* tray-words.c - words for the agent's ids and durations. */
#include "tray-words.h"
#include "pd-i18n.h"

#include "detail-keys.h"

#include <stdlib.h>
#include <string.h>

char *
pd_tray_duration_words (guint64 seconds)
{
  /* At most a day or so in practice; clamped so the parts fit a guint. */
  seconds = MIN (seconds, (guint64) G_MAXUINT);
  guint h = (guint) (seconds / 3600), min = (guint) (seconds % 3600 / 60),
        s = (guint) (seconds % 60);

  if (h > 0)
    /* TRANSLATORS: a duration: hours and minutes */
    return min > 0 ? g_strdup_printf (_ ("%u h %u min"), h, min)
                   /* TRANSLATORS: a duration in whole hours */
                   : g_strdup_printf (_ ("%u h"), h);
  if (min > 0)
    /* TRANSLATORS: a duration: minutes and seconds */
    return s > 0 ? g_strdup_printf (_ ("%u min %u s"), min, s)
                 /* TRANSLATORS: a duration in whole minutes */
                 : g_strdup_printf (_ ("%u min"), min);
  /* TRANSLATORS: a duration in seconds */
  return g_strdup_printf (_ ("%u s"), s);
}

typedef struct
{
  const char *key;
  const char *id;
  const char *words;
} ValueWords;

/* The ids the agent puts in values (vaprobe-runner.c, vaprobe's "status",
 * gpu-component.c). An id not listed is shown as it is. */
static const ValueWords value_words[] = {
  { PD_DETAIL_PROBE, "report", N_ ("answered") },
  { PD_DETAIL_PROBE, "not-found", N_ ("not installed") },
  { PD_DETAIL_PROBE, "timeout", N_ ("did not answer in time") },
  { PD_DETAIL_PROBE, "crashed", N_ ("crashed") },
  { PD_DETAIL_PROBE, "failed", N_ ("could not run") },
  { PD_DETAIL_PROBE, "garbage", N_ ("gave an unreadable answer") },
  { PD_DETAIL_PROBE_STATUS, "ok", N_ ("works") },
  { PD_DETAIL_PROBE_STATUS, "no-device", N_ ("no render device found") },
  { PD_DETAIL_PROBE_STATUS, "open-failed", N_ ("the render device could not be opened") },
  { PD_DETAIL_PROBE_STATUS, "init-failed", N_ ("VA-API did not start on the device") },
  { PD_DETAIL_PROBE_STATUS, "functional-failed", N_ ("the test conversion failed") },
  { PD_DETAIL_PROBE_STATUS, "privileges-failed", N_ ("could not drop its privileges") },
  { PD_DETAIL_RENDER_ACCESS, "read-write", N_ ("read and write") },
  { PD_DETAIL_RENDER_ACCESS, "denied", N_ ("denied") },
  { PD_DETAIL_RENDER_ACCESS, "missing", N_ ("the device file is missing") },
};

/* "258 s" (guest-component.c): the seconds, or FALSE. */
static gboolean
parse_seconds (const char *value, guint64 *out)
{
  char *end = NULL;
  if (value == NULL || !g_ascii_isdigit (*value))
    return FALSE;
  guint64 v = g_ascii_strtoull (value, &end, 10);
  if (end == value || (strcmp (end, " s") != 0 && *end != '\0') || v > G_MAXUINT32)
    return FALSE;
  *out = v;
  return TRUE;
}

char *
pd_tray_detail_value (const char *key, const char *value)
{
  guint64 s;

  if (value == NULL)
    return g_strdup ("");
  if (g_strcmp0 (key, PD_DETAIL_NEXT_ALLOWED_IN) == 0 && parse_seconds (value, &s))
    return pd_tray_duration_words (s);
  for (guint i = 0; i < G_N_ELEMENTS (value_words); i++)
    if (g_strcmp0 (key, value_words[i].key) == 0 && strcmp (value, value_words[i].id) == 0)
      return g_strdup (_ (value_words[i].words));
  return g_strdup (value);
}

PdTrayRateWait
pd_tray_rate_wait (const PdComponent *hostlink, guint64 elapsed_s)
{
  PdTrayRateWait w = { FALSE, FALSE, 0 };
  guint64 next = 0, left = 1;

  if (hostlink == NULL)
    return w;
  const char *next_s = pd_component_get_detail (hostlink, PD_DETAIL_NEXT_ALLOWED_IN);
  const char *left_s = pd_component_get_detail (hostlink, PD_DETAIL_RATE_LEFT);
  gboolean have_next = parse_seconds (next_s, &next);
  gboolean have_left = parse_seconds (left_s, &left);
  w.known = have_next || have_left;
  if (have_next && next > elapsed_s)
    {
      w.blocked = TRUE;
      w.wait_s = next - elapsed_s;
    }
  else if (have_left && left == 0 && !have_next)
    w.blocked = TRUE; /* no time given: the day's cycles are used up */
  return w;
}

char *
pd_tray_rate_wait_sentence (const PdTrayRateWait *wait)
{
  if (!wait->blocked)
    return NULL;
  if (wait->wait_s == 0)
    return g_strdup (
        _ ("The host allows no more cold restarts for now (its rate limit). Try again later."));
  g_autofree char *when = pd_tray_duration_words (wait->wait_s);
  return g_strdup_printf (_ ("The host's rate limit allows the next cold restart in %s."), when);
}
