/* components-variant.h - the agent's report as it crosses D-Bus, encoded and
 * decoded in one place.
 *
 * The Components property is a(sssa(ss)a(ss)): one (id, state, summary,
 * details as ordered (key, value) pairs, advice as (text, command) pairs)
 * per checked component, in PdComponentId order; an advice without a
 * command carries "". The Event signal and GetEvents carry (xsss): time in
 * microseconds since the epoch, kind, component id, text.
 *
 * The agent encodes; the CLI and the tray decode. Decoding treats the bus
 * as outside input: wrong types and unknown ids or states are rejected,
 * strings are cut to PD_VARIANT_MAX_TEXT bytes (made valid UTF-8), and at
 * most PD_VARIANT_MAX_DETAILS details and PD_VARIANT_MAX_ADVICE advice are
 * kept per component.
 */
#pragma once

#include <glib.h>

#include "health.h"

G_BEGIN_DECLS

#define PD_COMPONENT_VARIANT_TYPE "(sssa(ss)a(ss))"
#define PD_COMPONENTS_VARIANT_TYPE "a" PD_COMPONENT_VARIANT_TYPE
#define PD_EVENT_VARIANT_TYPE "(xsss)"

#define PD_VARIANT_MAX_TEXT 4096
#define PD_VARIANT_MAX_DETAILS 64
#define PD_VARIANT_MAX_ADVICE 32

/* One Components entry (floating). */
GVariant *pd_component_to_variant (const PdComponent *c);
/* The Components property value for @report (floating). */
GVariant *pd_components_to_variant (const PdReport *report);

/* One entry back; NULL for a wrong type or an unknown id or state. */
PdComponent *pd_component_from_variant (GVariant *entry);
/* A report (source @source, time now) of every entry that decodes; entries
 * that do not are skipped. An empty report for a wrong type or NULL. */
PdReport *pd_report_from_components_variant (GVariant *components, const char *source);

/* One history entry as it crosses the bus. The component stays a string so
 * that an id from a newer agent can still be shown. */
typedef struct
{
  gint64 time; /* microseconds since the epoch */
  char *kind;  /* stable id: "gpu.hang", "usb.reconnect-storm", ... */
  char *component;
  char *text; /* a sentence for people */
} PdEventEntry;

PdEventEntry *pd_event_entry_new (gint64 time, const char *kind, const char *component,
                                  const char *text);
void pd_event_entry_free (PdEventEntry *e);
/* (xsss), floating. */
GVariant *pd_event_to_variant (gint64 time, const char *kind, PdComponentId component,
                               const char *text);
/* NULL for a wrong type; strings bounded as above. */
PdEventEntry *pd_event_entry_from_variant (GVariant *v);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdEventEntry, pd_event_entry_free)

G_END_DECLS
