/* logscan.h - finds known GPU, USB, audio and VFIO problems in kernel log text.
 *
 * One table of kinds (logscan-rules.c) and one scanner, shared by
 * `passdesk scan-log` (pasted logs in any common format) and the agent's live
 * /dev/kmsg monitor (already split records).
 *
 * The scanner reports incidents, not lines: a burst of the same kind about the
 * same device within PD_LOG_BURST_WINDOW_US is one finding. Lines without a
 * timestamp are grouped by distance instead: a repeat within
 * PD_LOG_BURST_WINDOW_LINES lines of the previous hit of that kind and device
 * (after which the incident window slides on) belongs to the same incident.
 *
 * Repeat kinds: usb.reset-loop fires when one device is reset
 * PD_LOG_REPEAT_THRESHOLD times, each within the window of the previous one;
 * usb.reconnect-storm when one port path disconnects and re-enumerates that
 * often (a hub's children that storm along with it are not reported again).
 * Their finding names the first line of the series.
 *
 * One incident per device: an HD-Audio codec ("hdaudioC0D2") is the
 * controller's codec, so audio findings about a codec count as the
 * controller's ("0000:00:1f.3") once the log has named exactly one HD-Audio
 * controller (any "snd_hda_intel <PCI address>:" line before it); with
 * several controllers, or none yet, the codec keeps its own name.
 * Host-side DMAR faults name the device "[00:02.0]"; it becomes 0000:00:02.0.
 *
 * The scanner is not thread-safe; use one per stream. Memory is bounded: at
 * most a few thousand (kind, device) entries are remembered.
 */
#pragma once

#include <glib.h>

#include "health.h"

G_BEGIN_DECLS

/* One minute: repeats of a kind on a device this close belong together. */
#define PD_LOG_BURST_WINDOW_US (60 * G_USEC_PER_SEC)
/* For lines without timestamps: repeats this many lines apart or closer. */
#define PD_LOG_BURST_WINDOW_LINES 200
/* Excerpts are cut to this many bytes (at a UTF-8 character boundary). */
#define PD_LOG_EXCERPT_MAX 200
/* Longer lines are scanned only up to this many bytes. */
#define PD_LOG_LINE_MAX 4096
/* usb.reset-loop / usb.reconnect-storm: this many resets / reconnects. */
#define PD_LOG_REPEAT_THRESHOLD 3

/* How an overlay the agent raises for a kind is cleared again. */
typedef enum
{
  /* A VA-API probe that started after the finding passes (the GPU works again). */
  PD_LOG_CLEARS_PROBE_PASSES = 0,
  /* The component's device reads bad and then well again (gone and back), or
   * an explicit re-check finds it well. */
  PD_LOG_CLEARS_DEVICE_BACK,
  /* PD_LOG_HOLD_US after the last finding of it: trouble that passes by
   * itself and leaves nothing to re-read (a USB device that failed to
   * enumerate, a port that reset). */
  PD_LOG_CLEARS_AFTER_HOLD,
} PdLogClears;

/* How long a PD_LOG_CLEARS_AFTER_HOLD finding keeps its component down. */
#define PD_LOG_HOLD_US (60 * G_USEC_PER_SEC)

/* One kind of kernel-log problem and everything it means: the one place that
 * says which components a finding affects and how (the agent and
 * `passdesk scan-log` both read it; nobody derives meaning from the id). */
typedef struct
{
  const char *kind;        /* stable id, e.g. "usb.controller-died" */
  PdComponentId component; /* the component it is about */
  PdState state;           /* what the agent publishes for that component (and @also) */
  PdComponentId also;      /* a second component it makes untrustworthy, or PD_N_COMPONENTS */
  PdLogClears clears;      /* what ends the agent's overlay */
  gboolean tell_monitor;   /* the live finding is also passed to @component's monitor */
  const char *summary;     /* a sentence for people */
  /* A VA-API probe decides what the finding means (a GPU hang is often
   * survived): the agent re-probes shortly after it and, until then, says
   * "checking" (unknown) instead of raising an alarm; @also is unknown too. */
  gboolean reprobe;
  /* The next step that can work, least disruptive first (a sentence), or
   * NULL when the summary says it; the agent gives it as the first advice. */
  const char *next_step;
} PdLogKind;

/* Which clock a finding's timestamp is on (see PdLogFinding.timestamp_us). */
typedef enum
{
  PD_LOG_CLOCK_NONE = 0,    /* the line had no usable timestamp */
  PD_LOG_CLOCK_BOOT,        /* since boot (dmesg, /dev/kmsg, kern.log's printk time) */
  PD_LOG_CLOCK_TIME_OF_DAY, /* since midnight of the first day seen (dmesg -T, syslog) */
  PD_LOG_CLOCK_HUMAN,       /* dmesg -H: the same, estimated from minute stamps and deltas */
  PD_LOG_CLOCK_ABSOLUTE,    /* since the Unix epoch (ISO 8601 dates) */
} PdLogClock;

typedef struct
{
  const PdLogKind *kind;
  guint line;          /* 1-based number of the first matching line */
  char *excerpt;       /* the message text, at most PD_LOG_EXCERPT_MAX bytes, valid UTF-8 */
  char *device;        /* "1-4", "0000:00:1f.3", "card0", ... or NULL when unknown */
  gint64 timestamp_us; /* from the line when it has one, else -1; on the line's own clock:
                        * since boot (dmesg, /dev/kmsg), since the Unix epoch (ISO dates),
                        * or since midnight of the first day seen (dmesg -T/-H, syslog) */
  PdLogClock clock;    /* which of those */
  guint incident;      /* the incident's serial number in this scanner, from 1 */
  /* FALSE: the finding opens its incident. TRUE: one more line of an open
   * incident (only with pd_log_scanner_set_report_repeats ()). */
  gboolean repeat;
  guint hits; /* kernel lines this finding stands for (a usb.reset-loop opens with 3) */
} PdLogFinding;

void pd_log_finding_free (PdLogFinding *f);

typedef struct _PdLogScanner PdLogScanner;

PdLogScanner *pd_log_scanner_new (void);
void pd_log_scanner_free (PdLogScanner *s);

/* Also return the later lines of an open incident, as findings with
 * @repeat set and the incident's number, so that a caller can count an
 * incident's lines and see its last time (scan-log's text output). Off by
 * default: the agent wants one finding per incident. */
void pd_log_scanner_set_report_repeats (PdLogScanner *s, gboolean report);

/* A pasted line in any supported format (plain dmesg, dmesg -T/-H, journalctl,
 * syslog, <N> prefixes, no timestamp, a cut first line; a trailing CR or LF is
 * ignored). Returns the findings that open a NEW incident (PdLogFinding,
 * owned by the array), or NULL when none. */
GPtrArray *pd_log_scanner_feed_line (PdLogScanner *s, const char *line, gsize len, guint lineno);

/* An already split record (e.g. /dev/kmsg "PRI,SEQ,TS_US,FLAGS;message"):
 * @msg is the message text only, @timestamp_us the record's time or -1. */
GPtrArray *pd_log_scanner_feed_message (PdLogScanner *s, const char *msg, gsize len,
                                        gint64 timestamp_us, guint lineno);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdLogFinding, pd_log_finding_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdLogScanner, pd_log_scanner_free)

G_END_DECLS
