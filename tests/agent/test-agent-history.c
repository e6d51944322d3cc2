/* test-agent-history.c - the agent's event ring keeps the last 200, oldest first. */
#include "agent-history.h"

static void
test_cap (void)
{
  g_autoptr (PdAgentHistory) h = pd_agent_history_new ();
  g_assert_cmpuint (pd_agent_history_length (h), ==, 0);
  g_assert_null (pd_agent_history_nth (h, 0));
  for (guint i = 0; i < 450; i++)
    {
      g_autofree char *text = g_strdup_printf ("event %u", i);
      const PdAgentEvent *e = pd_agent_history_add (
          h, pd_agent_event_new (1000 + i, "test.kind", PD_COMPONENT_USB, text));
      g_assert_cmpint (e->time, ==, 1000 + i);
      g_assert_cmpuint (pd_agent_history_length (h), ==, MIN (i + 1, PD_AGENT_HISTORY_MAX));
    }
  g_assert_cmpuint (PD_AGENT_HISTORY_MAX, ==, 200);
  g_assert_cmpstr (pd_agent_history_nth (h, 0)->text, ==, "event 250");
  g_assert_cmpstr (pd_agent_history_nth (h, 199)->text, ==, "event 449");
  g_assert_null (pd_agent_history_nth (h, 200));
  for (guint i = 1; i < 200; i++)
    g_assert_cmpint (pd_agent_history_nth (h, i - 1)->time, <, pd_agent_history_nth (h, i)->time);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent/history/cap", test_cap);
  return g_test_run ();
}
