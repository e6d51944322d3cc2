/* logscan.c - kernel-log scanner: line formats, one-pass prefilter, incident grouping.
 *
 * Speed: every needle of the rule table goes into one Aho-Corasick automaton
 * (a dense DFA over byte classes, built once per process). A line costs one
 * table step per byte; only lines that contain a needle are parsed (format,
 * timestamp, device) and checked against the few regexes that apply.
 *
 * Timestamps are compared only within one clock: seconds since boot (dmesg,
 * /dev/kmsg), time of day (dmesg -T, syslog/journalctl short; a backwards
 * jump of more than 12 hours is taken as the next day), dmesg -H's minute
 * stamps plus deltas (its own clock, never compared with the others), or an
 * absolute date (ISO 8601). Lines without a usable timestamp are grouped by
 * line distance (PD_LOG_BURST_WINDOW_LINES).
 */
#include "logscan.h"

#include <string.h>

#include "logscan-rules.h"

#define MAX_DEVICE_LEN 64
/* Entries kept for incident grouping before old ones are forgotten: a
 * bound against logs that invent endless device names. */
#define MAX_TRACKED 4096

/* ---- the matcher: built once ---- */

typedef struct
{
  guint8 cls[256]; /* byte -> class; 0 for bytes in no needle */
  guint stride;    /* classes per state row, even */
  guint32 *delta;  /* [state * stride + class] = next_state * stride | has_output */
  guint64 *out;    /* [state]: bit i set when pattern i ends here */
  guint n_states;
  GRegex **regex; /* [pattern] or NULL */
  const PdLogPattern *patterns;
  guint n_patterns;
} Matcher;

static Matcher *
matcher_build (void)
{
  Matcher *m = g_new0 (Matcher, 1);
  /* At most PD_LOG_MAX_PATTERNS (64), checked at build time in logscan-rules.c. */
  m->patterns = pd_log_patterns (&m->n_patterns);

  guint n_cls = 1;
  gsize total = 1;
  for (guint i = 0; i < m->n_patterns; i++)
    for (const guint8 *c = (const guint8 *) m->patterns[i].needle; *c; c++, total++)
      if (m->cls[*c] == 0)
        m->cls[*c] = n_cls++;
  m->stride = n_cls + (n_cls & 1);

  /* Trie with -1 for missing edges, then BFS to fill failure edges. */
  gint *go = g_new (gint, total * m->stride);
  for (gsize i = 0; i < total * m->stride; i++)
    go[i] = -1;
  guint64 *out = g_new0 (guint64, total);
  guint n = 1;
  for (guint i = 0; i < m->n_patterns; i++)
    {
      guint st = 0;
      for (const guint8 *c = (const guint8 *) m->patterns[i].needle; *c; c++)
        {
          gint *e = &go[st * m->stride + m->cls[*c]];
          if (*e < 0)
            *e = n++;
          st = *e;
        }
      out[st] |= G_GUINT64_CONSTANT (1) << i;
    }
  guint *fail = g_new0 (guint, n);
  guint *queue = g_new (guint, n);
  guint qh = 0, qt = 0;
  for (guint c = 0; c < m->stride; c++)
    {
      gint t = go[c];
      if (t < 0)
        go[c] = 0;
      else
        queue[qt++] = t; /* fail[t] = 0 */
    }
  while (qh < qt)
    {
      guint s = queue[qh++];
      for (guint c = 0; c < m->stride; c++)
        {
          gint t = go[s * m->stride + c];
          if (t >= 0)
            {
              fail[t] = go[fail[s] * m->stride + c];
              out[t] |= out[fail[t]];
              queue[qt++] = t;
            }
          else
            go[s * m->stride + c] = go[fail[s] * m->stride + c];
        }
    }

  m->n_states = n;
  m->delta = g_new (guint32, (gsize) n * m->stride);
  for (guint s = 0; s < n; s++)
    for (guint c = 0; c < m->stride; c++)
      {
        guint t = go[s * m->stride + c];
        m->delta[s * m->stride + c] = t * m->stride | (out[t] ? 1 : 0);
      }
  m->out = g_renew (guint64, out, n);
  g_free (go);
  g_free (fail);
  g_free (queue);

  m->regex = g_new0 (GRegex *, m->n_patterns);
  for (guint i = 0; i < m->n_patterns; i++)
    if (m->patterns[i].regex)
      {
        g_autoptr (GError) error = NULL;
        /* RAW: logs are bytes, not necessarily UTF-8; the patterns are ASCII. */
        m->regex[i] = g_regex_new (m->patterns[i].regex, G_REGEX_RAW | G_REGEX_OPTIMIZE, 0, &error);
        if (m->regex[i] == NULL)
          g_error ("logscan: bad rule regex “%s”: %s", m->patterns[i].regex, error->message);
      }
  return m;
}

static const Matcher *
matcher_get (void)
{
  static gsize once;
  static Matcher *matcher;
  if (g_once_init_enter (&once))
    {
      matcher = matcher_build ();
      g_once_init_leave (&once, 1);
    }
  return matcher;
}

/* Bit i set: needle of pattern i occurs in p[0..len). */
static inline guint64
prefilter (const Matcher *m, const guint8 *p, gsize len)
{
  const guint32 *delta = m->delta;
  const guint8 *cls = m->cls;
  guint32 st = 0;
  guint64 hits = 0;
  for (gsize i = 0; i < len; i++)
    {
      guint32 e = delta[st + cls[p[i]]];
      st = e & ~(guint32) 1;
      if (G_UNLIKELY (e & 1))
        hits |= m->out[st / m->stride];
    }
  return hits;
}

/* ---- kinds and findings ---- */

void
pd_log_finding_free (PdLogFinding *f)
{
  if (f == NULL)
    return;
  g_free (f->excerpt);
  g_free (f->device);
  g_free (f);
}

/* ---- scanner state ---- */

/* The public PdLogClock, under short names. */
typedef PdLogClock Clock;
#define CLOCK_NONE PD_LOG_CLOCK_NONE
#define CLOCK_MONO PD_LOG_CLOCK_BOOT       /* seconds since boot */
#define CLOCK_TOD PD_LOG_CLOCK_TIME_OF_DAY /* time of day, days counted by rollover */
#define CLOCK_HUMAN PD_LOG_CLOCK_HUMAN     /* dmesg -H: minute stamps plus deltas */
#define CLOCK_ABS PD_LOG_CLOCK_ABSOLUTE    /* a full date */

typedef struct
{
  Clock clock;
  gint64 us;
  guint line;
} Stamp;

typedef struct
{
  Stamp last; /* the incident's latest hit */
  guint id;   /* its serial number */
} Incident;

/* A time-of-day clock with day rollover. */
typedef struct
{
  gboolean valid;
  gint64 day_us;
  gint64 last_us;
} TodState;

typedef struct
{
  Stamp last;
  guint count;
  gboolean disconnected; /* reconnect series: a disconnect waits for its re-enumeration */
  guint first_line;
  gint64 first_us;
  char *first_excerpt;
  guint incident; /* once reported: its serial number; 0 before (or when a hub's storm covers it) */
} Series;

struct _PdLogScanner
{
  const Matcher *m;
  GHashTable *incidents;  /* "kind\x1fdevice" -> Incident */
  GHashTable *resets;     /* device -> Series */
  GHashTable *reconnects; /* device -> Series */
  /* dmesg -H: "[Nov24 01:03]" sets the minute, "[  +0.000123]" adds to it */
  gboolean human_valid;
  gint64 human_us;
  TodState human_tod;
  TodState tod; /* dmesg -T, syslog */
  guint n_incidents;
  gboolean report_repeats;
  /* The one HD-Audio controller the log named, for codecs' findings. */
  char *hda_controller;
  gboolean hda_ambiguous; /* the log named more than one */
};

static void
series_free (gpointer p)
{
  Series *s = p;
  g_free (s->first_excerpt);
  g_free (s);
}

PdLogScanner *
pd_log_scanner_new (void)
{
  PdLogScanner *s = g_new0 (PdLogScanner, 1);
  s->m = matcher_get ();
  s->incidents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->resets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, series_free);
  s->reconnects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, series_free);
  return s;
}

void
pd_log_scanner_free (PdLogScanner *s)
{
  if (s == NULL)
    return;
  g_hash_table_unref (s->incidents);
  g_hash_table_unref (s->resets);
  g_hash_table_unref (s->reconnects);
  g_free (s->hda_controller);
  g_free (s);
}

void
pd_log_scanner_set_report_repeats (PdLogScanner *s, gboolean report)
{
  g_return_if_fail (s != NULL);
  s->report_repeats = report;
}

/* Same incident as @prev? Sliding: each hit extends the window. */
static gboolean
stamp_continues (const Stamp *prev, const Stamp *now)
{
  if (now->clock != CLOCK_NONE && now->clock == prev->clock)
    return now->us >= prev->us && now->us - prev->us <= PD_LOG_BURST_WINDOW_US;
  return now->line >= prev->line && now->line - prev->line <= PD_LOG_BURST_WINDOW_LINES;
}

/* ---- line formats ---- */

static inline gboolean
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

/* Parses up to @max digits; returns digits read (0: none). */
static guint
parse_uint (const char *p, const char *end, guint max, gint64 *value)
{
  guint n = 0;
  gint64 v = 0;
  while (p + n < end && n < max && is_digit (p[n]))
    v = v * 10 + (p[n++] - '0');
  *value = v;
  return n;
}

/* "H:MM" or "HH:MM[:SS[.frac]]" at p; returns its length, 0 if none. */
static gsize
parse_clock (const char *p, const char *end, gint64 *tod_us, gboolean *has_seconds)
{
  const char *q = p;
  gint64 h, mi, sec = 0, frac_us = 0;
  guint n = parse_uint (q, end, 2, &h);
  if (n == 0 || q + n >= end || q[n] != ':' || h > 23)
    return 0;
  q += n + 1;
  if (parse_uint (q, end, 2, &mi) != 2 || mi > 59)
    return 0;
  q += 2;
  *has_seconds = FALSE;
  if (q < end && *q == ':')
    {
      if (parse_uint (q + 1, end, 2, &sec) != 2 || sec > 60)
        return 0;
      q += 3;
      *has_seconds = TRUE;
      if (q < end && (*q == '.' || *q == ','))
        {
          gint64 f;
          guint fd = parse_uint (q + 1, end, 9, &f);
          if (fd > 0)
            {
              for (guint i = fd; i < 6; i++)
                f *= 10;
              for (guint i = 6; i < fd; i++)
                f /= 10;
              frac_us = f;
              q += 1 + fd;
            }
        }
    }
  *tod_us = ((h * 60 + mi) * 60 + sec) * G_USEC_PER_SEC + frac_us;
  return q - p;
}

static gint64
tod_to_us (TodState *st, gint64 tod_us)
{
  const gint64 half_day = (gint64) 12 * 3600 * G_USEC_PER_SEC;
  gint64 t = st->day_us + tod_us;
  if (st->valid && t < st->last_us - half_day)
    {
      st->day_us += 2 * half_day;
      t += 2 * half_day;
    }
  st->valid = TRUE;
  st->last_us = t;
  return t;
}

/* Days since 1970-01-01 (proleptic Gregorian). */
static gint64
days_from_civil (gint64 y, gint64 m, gint64 d)
{
  y -= m <= 2;
  gint64 era = (y >= 0 ? y : y - 399) / 400;
  gint64 yoe = y - era * 400;
  gint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+HH[:]MM]"; returns its length, 0 if none. */
static gsize
parse_iso (const char *p, const char *end, gint64 *us)
{
  gint64 y, mo, d, tod;
  gboolean has_s;
  const char *q = p;
  if (parse_uint (q, end, 4, &y) != 4 || q + 4 >= end || q[4] != '-')
    return 0;
  q += 5;
  if (parse_uint (q, end, 2, &mo) != 2 || q + 2 >= end || q[2] != '-' || mo < 1 || mo > 12)
    return 0;
  q += 3;
  if (parse_uint (q, end, 2, &d) != 2 || q + 2 >= end || (q[2] != 'T' && q[2] != ' ') || d < 1
      || d > 31)
    return 0;
  q += 3;
  gsize n = parse_clock (q, end, &tod, &has_s);
  if (n == 0 || !has_s)
    return 0;
  q += n;
  gint64 offset_s = 0;
  if (q < end && *q == 'Z')
    q++;
  else if (q < end && (*q == '+' || *q == '-'))
    {
      gint64 oh, om = 0;
      int sign = *q == '-' ? -1 : 1;
      if (parse_uint (q + 1, end, 2, &oh) == 2)
        {
          const char *r = q + 3;
          if (r < end && *r == ':')
            r++;
          if (parse_uint (r, end, 2, &om) == 2)
            r += 2;
          offset_s = sign * (oh * 3600 + om * 60);
          q = r;
        }
    }
  *us = (days_from_civil (y, mo, d) * 86400 - offset_s) * G_USEC_PER_SEC + tod;
  return q - p;
}

/* "   12.345678" (seconds since boot) between @p and @end exactly. */
static gboolean
parse_mono (const char *p, const char *end, gint64 *us)
{
  while (p < end && *p == ' ')
    p++;
  gint64 sec, frac = 0;
  guint n = parse_uint (p, end, 12, &sec);
  if (n == 0)
    return FALSE;
  p += n;
  if (p < end && *p == '.')
    {
      guint fd = parse_uint (p + 1, end, 9, &frac);
      for (guint i = fd; i < 6; i++)
        frac *= 10;
      for (guint i = 6; i < fd; i++)
        frac /= 10;
      p += 1 + fd;
    }
  if (p != end)
    return FALSE;
  *us = sec * G_USEC_PER_SEC + frac;
  return TRUE;
}

/* Skips "<N>" and an RFC 5424 version "1 ". */
static const char *
skip_priority (const char *p, const char *end)
{
  if (p < end && *p == '<')
    {
      const char *q = p + 1;
      while (q < end && q - p <= 4 && is_digit (*q))
        q++;
      if (q > p + 1 && q < end && *q == '>')
        {
          p = q + 1;
          if (end - p > 2 && p[0] == '1' && p[1] == ' ' && is_digit (p[2]))
            p += 2;
        }
    }
  return p;
}

/* dmesg -H keeps a clock across lines; called for every line (cheap unless
 * the line is a -H stamp). Returns TRUE when the line carried one. */
static gboolean
track_human (PdLogScanner *s, const char *p, const char *end)
{
  p = skip_priority (p, end);
  if (p >= end || *p != '[')
    return FALSE;
  const char *q = p + 1;
  while (q < end && *q == ' ')
    q++;
  if (q < end && *q == '+')
    {
      const char *close = memchr (q, ']', MIN (end - q, 24));
      gint64 d;
      if (close == NULL || !parse_mono (q + 1, close, &d))
        return FALSE;
      if (s->human_valid)
        s->human_us += d;
      else
        {
          s->human_valid = TRUE;
          s->human_us = tod_to_us (&s->human_tod, d);
        }
      return TRUE;
    }
  if (q >= end || is_digit (*q))
    return FALSE;
  /* "[Nov24 01:03]": a short bracket ending in H:MM, no seconds */
  const char *close = memchr (q, ']', MIN (end - q, 24));
  if (close == NULL || close - q < 5)
    return FALSE;
  const char *t = close - 1;
  while (t > q && (is_digit (*t) || *t == ':'))
    t--;
  gint64 tod;
  gboolean has_s;
  if (*t != ' ' || parse_clock (t + 1, close, &tod, &has_s) != (gsize) (close - t - 1) || has_s)
    return FALSE;
  gint64 now = tod_to_us (&s->human_tod, tod);
  /* The stamp only gives the minute: never let the clock run backwards. */
  s->human_us = s->human_valid ? MAX (now, s->human_us) : now;
  s->human_valid = TRUE;
  return TRUE;
}

/* After a syslog/journal time: "[TZ] host TAG: " (or RFC 5424 "host kernel - - - ").
 * @kernel_only: accept only a "kernel" tag (after a dmesg-style bracket). */
static const char *
skip_host_tag (const char *p, const char *end, gboolean kernel_only)
{
  const char *q = p;
  for (guint tok = 0; tok < 3 && q < end; tok++)
    {
      while (q < end && *q == ' ')
        q++;
      const char *t = q;
      while (q < end && *q != ' ')
        q++;
      if (q - t >= 6 && memcmp (t, "kernel", 6) == 0)
        {
          if (t[q - t - 1] == ':')
            return q < end ? q + 1 : q;
          if (q - t == 6)
            {
              /* RFC 5424: PROCID MSGID SD as "-" */
              const char *r = q;
              guint dashes = 0;
              for (; r + 1 < end && r[0] == ' ' && r[1] == '-' && dashes < 3; dashes++)
                r += 2;
              if (dashes > 0)
                return r < end && *r == ' ' ? r + 1 : r;
            }
        }
      /* other programs' tags look like "systemd[1]:"; "usb 1-4:" (dmesg
       * --time-format iso, no host) is a device prefix, not a tag */
      if (!kernel_only && tok > 0 && q - t > 2 && t[q - t - 1] == ':' && t[q - t - 2] == ']'
          && memchr (t, '[', q - t))
        return q < end ? q + 1 : q;
    }
  while (p < end && *p == ' ')
    p++;
  return p;
}

typedef struct
{
  const char *msg;
  gsize msg_len;
  Stamp stamp;
} Parsed;

static void
parse_line (PdLogScanner *s, const char *line, gsize len, gboolean human_line, Parsed *out)
{
  const char *end = line + len;
  const char *p = skip_priority (line, end);
  out->stamp.clock = CLOCK_NONE;
  out->stamp.us = -1;

  if (p < end && *p == '[')
    {
      const char *close = memchr (p, ']', MIN (end - p, 64));
      if (close)
        {
          gint64 us, tod;
          gboolean has_s = FALSE;
          if (human_line)
            {
              if (s->human_valid)
                out->stamp = (Stamp){ CLOCK_HUMAN, s->human_us, 0 };
            }
          else if (parse_mono (p + 1, close, &us))
            out->stamp = (Stamp){ CLOCK_MONO, us, 0 };
          else
            {
              /* dmesg -T in any locale: only the clock inside is read */
              for (const char *c = p + 1; c < close; c++)
                if (is_digit (*c) && (c == p + 1 || c[-1] == ' ')
                    && parse_clock (c, close, &tod, &has_s) && has_s)
                  {
                    out->stamp = (Stamp){ CLOCK_TOD, tod_to_us (&s->tod, tod), 0 };
                    break;
                  }
            }
          p = close + 1;
          if (p < end && *p == ' ')
            p++;
          /* journalctl -o short-monotonic: "[ 12.3] host kernel: msg" */
          p = skip_host_tag (p, end, TRUE);
        }
    }
  else if (p < end && is_digit (*p))
    {
      gint64 us;
      gsize n = parse_iso (p, end, &us);
      if (n)
        {
          out->stamp = (Stamp){ CLOCK_ABS, us, 0 };
          p = skip_host_tag (p + n, end, FALSE);
        }
    }

  if (out->stamp.clock == CLOCK_NONE && p < end && *p != '[')
    {
      /* syslog / journalctl short: "<date words> HH:MM:SS[.us] host tag: msg",
       * the date in any locale: only date-like bytes before the clock. */
      const char *lim = MIN (end, p + 40);
      for (const char *c = p; c < lim; c++)
        {
          if (is_digit (*c) && (c == p || c[-1] == ' '))
            {
              gint64 tod;
              gboolean has_s;
              gsize n = parse_clock (c, end, &tod, &has_s);
              if (n && has_s && c + n < end && c[n] == ' ')
                {
                  out->stamp = (Stamp){ CLOCK_TOD, tod_to_us (&s->tod, tod), 0 };
                  p = skip_host_tag (c + n, end, FALSE);
                  break;
                }
            }
          if (*c == ':' || *c == '[' || *c == ']' || *c == '<' || *c == '(')
            break;
        }
    }

  /* kern.log with printk times: "... kernel: [   12.345678] msg" */
  if (p < end && *p == '[')
    {
      const char *close = memchr (p, ']', MIN (end - p, 24));
      gint64 us;
      if (close && parse_mono (p + 1, close, &us))
        {
          if (out->stamp.clock == CLOCK_NONE)
            out->stamp = (Stamp){ CLOCK_MONO, us, 0 };
          p = close + 1;
          if (p < end && *p == ' ')
            p++;
        }
    }
  /* CONFIG_PRINTK_CALLER: "[    T123] " or "[     C1] " */
  if (p < end && *p == '[')
    {
      const char *c = p + 1;
      while (c < end && c - p < 8 && *c == ' ')
        c++;
      if (c < end && (*c == 'T' || *c == 'C'))
        {
          const char *d = c + 1;
          while (d < end && d - c < 8 && is_digit (*d))
            d++;
          if (d > c + 1 && d + 1 < end && d[0] == ']' && d[1] == ' ')
            p = d + 2;
        }
    }
  else if (out->stamp.clock == CLOCK_NONE && p == line)
    {
      /* a cut first line: "5678] msg" */
      const char *c = p;
      while (c < end && c - p < 16 && (is_digit (*c) || *c == '.' || *c == ' '))
        c++;
      if (c > p && c + 1 < end && c[0] == ']' && c[1] == ' ')
        p = c + 2;
    }

  out->msg = p;
  out->msg_len = end - p;
}

/* ---- device names ---- */

/* "usb1-port4" -> "1-4", "1-4-port2" -> "1-4.2": the device behind the port. */
static char *
usb_port_to_device (const char *dev)
{
  const char *port = strstr (dev, "-port");
  if (port == NULL || port == dev || !is_digit (port[5]))
    return g_strdup (dev);
  if (g_str_has_prefix (dev, "usb"))
    {
      const char *d = dev + 3;
      while (d < port && is_digit (*d))
        d++;
      if (d == port && port > dev + 3)
        return g_strdup_printf ("%.*s-%s", (int) (port - dev - 3), dev + 3, port + 5);
    }
  return g_strdup_printf ("%.*s.%s", (int) (port - dev), dev, port + 5);
}

/* dev_printk prefix "driver device: " -> device (NULL when the message has none). */
static char *
device_from_prefix (const char *msg, gsize len)
{
  const char *end = msg + MIN (len, 128);
  const char *p = msg;
  while (p < end && (g_ascii_isalnum (*p) || *p == '_' || *p == '-' || *p == '.'))
    p++;
  if (p == msg || p >= end || *p != ' ')
    return NULL;
  const char *driver_end = p;
  const char *d = ++p;
  while (p < end && *p != ' ' && (guchar) *p > 0x20 && (guchar) *p < 0x7f)
    p++;
  if (p - d < 2 || p[-1] != ':' || p - d - 1 > MAX_DEVICE_LEN)
    return NULL;
  gsize dlen = p - d - 1;
  gsize drv_len = driver_end - msg;
  if (drv_len == 3 && memcmp (msg, "usb", 3) == 0)
    {
      g_autofree char *raw = g_strndup (d, dlen);
      return usb_port_to_device (raw);
    }
  if (drv_len == 3 && memcmp (msg, "hub", 3) == 0)
    {
      /* "hub 1-4:1.0": the hub's interface -> the hub */
      const char *colon = memchr (d, ':', dlen);
      if (colon)
        dlen = colon - d;
    }
  return g_strndup (d, dlen);
}

static char *
device_from_probe_of (const char *msg, gsize len)
{
  const char *end = msg + len;
  const char *p = g_strstr_len (msg, len, "probe of ");
  if (p == NULL)
    return NULL;
  p += 9;
  const char *d = p;
  while (p < end && (guchar) *p > 0x20 && (guchar) *p < 0x7f && p - d <= MAX_DEVICE_LEN)
    p++;
  if (p == d || p - d > MAX_DEVICE_LEN || (p < end && *p != ' '))
    return NULL;
  return g_strndup (d, p - d);
}

/* Intel IOMMU: "Request device [00:02.0]" (older kernels "[0x00:0x02.0]")
 * -> "0000:00:02.0". */
static char *
device_from_dmar (const char *msg, gsize len)
{
  const char *end = msg + len;
  const char *p = g_strstr_len (msg, len, "Request device [");
  if (p == NULL)
    return NULL;
  p += strlen ("Request device [");
  const char *close = memchr (p, ']', MIN (end - p, 24));
  if (close == NULL)
    return NULL;
  GString *d = g_string_new ("0000:");
  for (const char *c = p; c < close; c++)
    {
      if (c[0] == '0' && c + 1 < close && c[1] == 'x')
        {
          c++;
          continue;
        }
      if (!g_ascii_isxdigit (*c) && *c != ':' && *c != '.')
        {
          g_string_free (d, TRUE);
          return NULL;
        }
      g_string_append_c (d, g_ascii_tolower (*c));
    }
  return g_string_free (d, FALSE);
}

/* "0000:00:1f.3": a PCI address as the kernel prints it. */
static gboolean
is_pci_address (const char *d)
{
  return d && strlen (d) == 12 && d[4] == ':' && d[7] == ':' && d[10] == '.';
}

/* ---- findings ---- */

static char *
make_excerpt (const char *msg, gsize len)
{
  /* Invalid bytes become U+FFFD (3 bytes): take a little more than needed. */
  g_autofree char *valid = g_utf8_make_valid (msg, MIN (len, PD_LOG_EXCERPT_MAX));
  gsize n = strlen (valid);
  if (n > PD_LOG_EXCERPT_MAX)
    {
      const char *cut = g_utf8_find_prev_char (valid, valid + PD_LOG_EXCERPT_MAX + 1);
      n = cut ? (gsize) (cut - valid) : 0;
    }
  valid[n] = '\0';
  for (char *c = valid; *c; c++)
    if ((guchar) *c < 0x20 || *c == 0x7f)
      *c = ' ';
  return g_strchomp (g_steal_pointer (&valid));
}

static PdLogFinding *
finding_new (const PdLogKind *kind, guint line, char *excerpt, const char *device, gint64 us,
             Clock clock, guint incident)
{
  PdLogFinding *f = g_new0 (PdLogFinding, 1);
  f->kind = kind;
  f->line = line;
  f->excerpt = excerpt;
  f->device = g_strdup (device);
  f->timestamp_us = us;
  f->clock = us >= 0 ? clock : CLOCK_NONE;
  f->incident = incident;
  f->hits = 1;
  return f;
}

static void
add_finding (GPtrArray **found, PdLogFinding *f)
{
  if (*found == NULL)
    *found = g_ptr_array_new_with_free_func ((GDestroyNotify) pd_log_finding_free);
  g_ptr_array_add (*found, f);
}

static void
bound_table (GHashTable *t)
{
  if (g_hash_table_size (t) >= MAX_TRACKED)
    g_hash_table_remove_all (t);
}

/* The incident this hit of @kind on @device belongs to; @opened: it opens it. */
static guint
incident_hit (PdLogScanner *s, const PdLogKind *kind, const char *device, const Stamp *now,
              gboolean *opened)
{
  g_autofree char *key = g_strconcat (kind->kind, "\x1f", device ? device : "", NULL);
  Incident *inc = g_hash_table_lookup (s->incidents, key);
  if (inc && stamp_continues (&inc->last, now))
    {
      inc->last = *now;
      *opened = FALSE;
      return inc->id;
    }
  if (inc == NULL)
    {
      bound_table (s->incidents);
      inc = g_new0 (Incident, 1);
      g_hash_table_insert (s->incidents, g_steal_pointer (&key), inc);
    }
  inc->last = *now;
  inc->id = ++s->n_incidents;
  *opened = TRUE;
  return inc->id;
}

/* Is a reconnect storm already running on a hub above @device ("1-4" for "1-4.2")? */
static gboolean
ancestor_storm (PdLogScanner *s, const char *device, const Stamp *now)
{
  g_autofree char *up = g_strdup (device);
  char *dot;
  while ((dot = strrchr (up, '.')) != NULL)
    {
      *dot = '\0';
      Series *a = g_hash_table_lookup (s->reconnects, up);
      if (a && a->count >= PD_LOG_REPEAT_THRESHOLD && stamp_continues (&a->last, now))
        return TRUE;
    }
  return FALSE;
}

/* @pat's kind is the repeat kind its series reports (usb.reset-loop for
 * resets, usb.reconnect-storm for disconnects and re-enumerations). */
static void
usb_series_event (PdLogScanner *s, const PdLogPattern *pat, const char *device, const Parsed *pl,
                  guint lineno, GPtrArray **found)
{
  if (device == NULL)
    return;
  PdLogAction action = pat->action;
  gboolean reset = action == PD_LOG_ACTION_USB_RESET;
  GHashTable *t = reset ? s->resets : s->reconnects;
  Series *ser = g_hash_table_lookup (t, device);
  if (ser == NULL)
    {
      bound_table (t);
      ser = g_new0 (Series, 1);
      g_hash_table_insert (t, g_strdup (device), ser);
    }
  else if (!stamp_continues (&ser->last, &pl->stamp))
    {
      ser->count = 0;
      ser->disconnected = FALSE;
      ser->incident = 0;
    }
  ser->last = pl->stamp;

  if (action == PD_LOG_ACTION_USB_DISCONNECT)
    {
      if (ser->count == 0 && !ser->disconnected)
        {
          g_free (ser->first_excerpt);
          ser->first_excerpt = make_excerpt (pl->msg, pl->msg_len);
          ser->first_line = lineno;
          ser->first_us = pl->stamp.us;
        }
      ser->disconnected = TRUE;
      return;
    }
  if (action == PD_LOG_ACTION_USB_NEW)
    {
      if (!ser->disconnected)
        return; /* a first plug-in, not a re-enumeration */
      ser->disconnected = FALSE;
    }
  else if (ser->count == 0)
    {
      g_free (ser->first_excerpt);
      ser->first_excerpt = make_excerpt (pl->msg, pl->msg_len);
      ser->first_line = lineno;
      ser->first_us = pl->stamp.us;
    }
  const PdLogKind *kind = &pd_log_kinds (NULL)[pat->kind_index];
  if (++ser->count > PD_LOG_REPEAT_THRESHOLD)
    {
      if (ser->incident && s->report_repeats)
        {
          PdLogFinding *f = finding_new (kind, lineno, make_excerpt (pl->msg, pl->msg_len), device,
                                         pl->stamp.us, pl->stamp.clock, ser->incident);
          f->repeat = TRUE;
          add_finding (found, f);
        }
      return;
    }
  if (ser->count != PD_LOG_REPEAT_THRESHOLD)
    return;
  if (!reset && ancestor_storm (s, device, &pl->stamp))
    return;
  ser->incident = ++s->n_incidents;
  PdLogFinding *f = finding_new (kind, ser->first_line, g_strdup (ser->first_excerpt), device,
                                 ser->first_us, pl->stamp.clock, ser->incident);
  f->hits = PD_LOG_REPEAT_THRESHOLD;
  add_finding (found, f);
}

/* "snd_hda_intel 0000:00:1f.3: ...": remember the controller. */
static void
note_hda_controller (PdLogScanner *s, const char *device)
{
  if (!is_pci_address (device))
    return;
  if (s->hda_controller == NULL)
    s->hda_controller = g_strdup (device);
  else if (strcmp (s->hda_controller, device) != 0)
    s->hda_ambiguous = TRUE;
}

static GPtrArray *
process (PdLogScanner *s, guint64 hits, const Parsed *pl, guint lineno)
{
  const Matcher *m = s->m;
  GPtrArray *found = NULL;
  guint64 kinds_done = 0;
  guint n_kinds;
  const PdLogKind *kinds = pd_log_kinds (&n_kinds);
  g_autofree char *prefix_device = NULL;
  gboolean prefix_done = FALSE;

  for (guint i = 0; hits; i++, hits >>= 1)
    {
      if (!(hits & 1))
        continue;
      const PdLogPattern *pat = &m->patterns[i];
      guint64 kbit = G_GUINT64_CONSTANT (1) << pat->kind_index;
      if (pat->action == PD_LOG_ACTION_REPORT && (kinds_done & kbit))
        continue;
      /* The needle may have been in the line's header; the message must have it. */
      if (pat->regex)
        {
          if (!g_regex_match_full (m->regex[i], pl->msg, pl->msg_len, 0, 0, NULL, NULL))
            continue;
        }
      else if (!g_strstr_len (pl->msg, pl->msg_len, pat->needle))
        continue;

      g_autofree char *probe_device = NULL;
      const char *device;
      if (pat->device_from == PD_LOG_DEVICE_PROBE_OF)
        device = probe_device = device_from_probe_of (pl->msg, pl->msg_len);
      else if (pat->device_from == PD_LOG_DEVICE_DMAR)
        device = probe_device = device_from_dmar (pl->msg, pl->msg_len);
      else
        {
          if (!prefix_done)
            prefix_device = device_from_prefix (pl->msg, pl->msg_len);
          prefix_done = TRUE;
          device = prefix_device;
        }

      if (pat->action == PD_LOG_ACTION_NOTE_HDA)
        {
          note_hda_controller (s, device);
          continue;
        }
      if (pat->action != PD_LOG_ACTION_REPORT)
        {
          usb_series_event (s, pat, device, pl, lineno, &found);
          continue;
        }
      kinds_done |= kbit;
      const PdLogKind *kind = &kinds[pat->kind_index];
      /* A codec's trouble is its controller's incident (one device, one incident). */
      if (kind->component == PD_COMPONENT_AUDIO && device && g_str_has_prefix (device, "hdaudioC")
          && s->hda_controller && !s->hda_ambiguous)
        device = s->hda_controller;
      gboolean opened;
      guint id = incident_hit (s, kind, device, &pl->stamp, &opened);
      if (opened || s->report_repeats)
        {
          PdLogFinding *f = finding_new (kind, lineno, make_excerpt (pl->msg, pl->msg_len), device,
                                         pl->stamp.us, pl->stamp.clock, id);
          f->repeat = !opened;
          add_finding (&found, f);
        }
    }
  return found;
}

GPtrArray *
pd_log_scanner_feed_line (PdLogScanner *s, const char *line, gsize len, guint lineno)
{
  g_return_val_if_fail (s != NULL, NULL);
  if (line == NULL)
    return NULL;
  len = MIN (len, PD_LOG_LINE_MAX);
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    len--;
  /* pasted logs are often indented (a forum's code block) */
  while (len > 0 && (line[0] == ' ' || line[0] == '\t'))
    line++, len--;
  if (len == 0)
    return NULL;

  gboolean human_line = (line[0] == '[' || line[0] == '<') && track_human (s, line, line + len);
  guint64 hits = prefilter (s->m, (const guint8 *) line, len);
  if (G_LIKELY (hits == 0))
    return NULL;

  Parsed pl;
  parse_line (s, line, len, human_line, &pl);
  pl.stamp.line = lineno;
  return process (s, hits, &pl, lineno);
}

GPtrArray *
pd_log_scanner_feed_message (PdLogScanner *s, const char *msg, gsize len, gint64 timestamp_us,
                             guint lineno)
{
  g_return_val_if_fail (s != NULL, NULL);
  if (msg == NULL)
    return NULL;
  len = MIN (len, PD_LOG_LINE_MAX);
  while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
    len--;
  guint64 hits = prefilter (s->m, (const guint8 *) msg, len);
  if (G_LIKELY (hits == 0))
    return NULL;
  Parsed pl = {
    .msg = msg,
    .msg_len = len,
    .stamp = { timestamp_us >= 0 ? CLOCK_MONO : CLOCK_NONE, timestamp_us, lineno },
  };
  return process (s, hits, &pl, lineno);
}
