/* agent-history.c - a bounded ring of events. */
#include "agent-history.h"

struct _PdAgentHistory
{
  GQueue events; /* PdAgentEvent, oldest at the head */
};

PdAgentEvent *
pd_agent_event_new (gint64 time, const char *kind, PdComponentId component, const char *text)
{
  PdAgentEvent *e = g_new0 (PdAgentEvent, 1);
  e->time = time;
  e->kind = g_strdup (kind);
  e->component = component;
  e->text = g_strdup (text);
  e->msg = pd_i18n_book_lookup (text);
  return e;
}

char *
pd_agent_event_localize (const PdAgentEvent *e)
{
  return e->msg ? pd_msg_localize (e->msg) : pd_i18n_localize_text (e->text);
}

void
pd_agent_event_free (PdAgentEvent *e)
{
  if (e == NULL)
    return;
  g_free (e->kind);
  g_free (e->text);
  pd_msg_free (e->msg);
  g_free (e);
}

PdAgentHistory *
pd_agent_history_new (void)
{
  PdAgentHistory *h = g_new0 (PdAgentHistory, 1);
  g_queue_init (&h->events);
  return h;
}

void
pd_agent_history_free (PdAgentHistory *h)
{
  if (h == NULL)
    return;
  g_queue_clear_full (&h->events, (GDestroyNotify) pd_agent_event_free);
  g_free (h);
}

const PdAgentEvent *
pd_agent_history_add (PdAgentHistory *h, PdAgentEvent *e)
{
  g_queue_push_tail (&h->events, e);
  while (h->events.length > PD_AGENT_HISTORY_MAX)
    pd_agent_event_free (g_queue_pop_head (&h->events));
  return e;
}

guint
pd_agent_history_length (const PdAgentHistory *h)
{
  return h->events.length;
}

const PdAgentEvent *
pd_agent_history_nth (const PdAgentHistory *h, guint i)
{
  return g_queue_peek_nth ((GQueue *) &h->events, i);
}
