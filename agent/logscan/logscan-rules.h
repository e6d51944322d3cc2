/* logscan-rules.h - the one table of kernel-log rules.
 *
 * Each kind (PdLogKind, logscan.h) says what it means (component, state,
 * a second component, what clears it, whether the monitor is told) in one
 * row, and has one or more patterns. A pattern is a
 * literal needle that must occur in the line (the scanner finds all needles
 * in one pass) and, where the needle alone is too loose, a regex the line
 * must also match. Regexes are written so that both GRegex and `grep -E`
 * accept them (no \d, no lookaround), which lets `scan-log --list-patterns`
 * hand the same rules to grep.
 */
#pragma once

#include <glib.h>

#include "logscan.h"

G_BEGIN_DECLS

/* The scanner keeps a pattern set and a kind set as 64-bit masks; the table
 * is checked against this at build time (logscan-rules.c). */
#define PD_LOG_MAX_PATTERNS 64
#define PD_LOG_MAX_KINDS 64

/* NULL when @kind is not a known id. */
const PdLogKind *pd_log_kind_lookup (const char *kind);
/* All kinds, in table order; @n_kinds receives the count. */
const PdLogKind *pd_log_kinds (guint *n_kinds);
/* A kind in a few words ("GPU hang"), for headings; @kind from the table.
 * English (a msgid): translate with _() where people read it. */
const char *pd_log_kind_title (const PdLogKind *kind);

typedef enum
{
  PD_LOG_ACTION_REPORT = 0, /* the line is an incident of its kind */
  PD_LOG_ACTION_USB_RESET,  /* "reset ... USB device number N": counts toward usb.reset-loop */
  PD_LOG_ACTION_USB_NEW,    /* "new ... USB device number N": re-enumeration, usb.reconnect-storm */
  PD_LOG_ACTION_USB_DISCONNECT, /* "USB disconnect, device number N" */
  PD_LOG_ACTION_NOTE_HDA,       /* "snd_hda_intel <PCI address>:": names an HD-Audio controller;
                                 * finds nothing itself (not in --list-patterns) */
} PdLogAction;

typedef enum
{
  PD_LOG_DEVICE_PREFIX = 0, /* from the dev_printk prefix "driver device: " */
  PD_LOG_DEVICE_PROBE_OF,   /* from "probe of DEVICE failed" (driver core) */
  PD_LOG_DEVICE_DMAR,       /* from "Request device [BB:DD.F]" (Intel IOMMU) */
} PdLogDeviceFrom;

typedef struct
{
  guint kind_index;   /* into pd_log_kinds () */
  const char *needle; /* literal the line must contain */
  const char *regex;  /* NULL, or an ERE/PCRE-compatible regex the line must match too */
  PdLogAction action;
  PdLogDeviceFrom device_from;
} PdLogPattern;

const PdLogPattern *pd_log_patterns (guint *n_patterns);

/* The pattern as one `grep -E` alternative: the regex, or the escaped needle. */
char *pd_log_pattern_to_ere (const PdLogPattern *p);

G_END_DECLS
