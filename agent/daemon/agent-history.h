/* agent-history.h - the agent's event history: the last PD_AGENT_HISTORY_MAX
 * events (time, kind, component, text), oldest first. */
#pragma once

#include <glib.h>
#include "health.h"
#include "pd-i18n.h"

G_BEGIN_DECLS

#define PD_AGENT_HISTORY_MAX 200

typedef struct
{
  gint64 time; /* microseconds since the epoch */
  char *kind;  /* stable id: "gpu.hang", "usb.reconnect-storm", ... */
  PdComponentId component;
  char *text;        /* a sentence for people, in English */
  PdMsg *msg;        /* its recipe (made with pd_i18n_sprintf), or NULL */
  gboolean boot_log; /* found in the kernel log written before the agent started */
} PdAgentEvent;

PdAgentEvent *pd_agent_event_new (gint64 time, const char *kind, PdComponentId component,
                                  const char *text);
void pd_agent_event_free (PdAgentEvent *e);
/* The event's text in the current thread's language. */
char *pd_agent_event_localize (const PdAgentEvent *e);

typedef struct _PdAgentHistory PdAgentHistory;

PdAgentHistory *pd_agent_history_new (void);
void pd_agent_history_free (PdAgentHistory *h);
/* Takes @e; drops the oldest entry beyond PD_AGENT_HISTORY_MAX. Returns @e. */
const PdAgentEvent *pd_agent_history_add (PdAgentHistory *h, PdAgentEvent *e);
guint pd_agent_history_length (const PdAgentHistory *h);
/* @i from 0 (oldest). */
const PdAgentEvent *pd_agent_history_nth (const PdAgentHistory *h, guint i);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdAgentEvent, pd_agent_event_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdAgentHistory, pd_agent_history_free)

G_END_DECLS
