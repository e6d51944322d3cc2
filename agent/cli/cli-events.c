/* cli-events.c - `passdesk events [--json]`: the agent's event history. */
#include "config.h"

#include <stdio.h>

#include "agent-client.h"
#include "cli.h"

int
pd_cli_events (int argc, char **argv)
{
  gboolean json = FALSE;
  gboolean session = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the events as a JSON array", NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session,
      "Ask the agent on the session bus (also PASSDESK_BUS=session)", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- print the agent's event history");
  g_option_context_set_summary (ctx, "Prints the last (up to) 200 events the running "
                                     "passdesk-agent recorded, oldest first.");
  g_option_context_set_description (ctx, "Exit status: 0 ok, 1 no agent answers, 2 usage error.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "passdesk events: %s\n", error->message);
      return PD_EXIT_USAGE;
    }
  if (argc > 1)
    {
      fprintf (stderr, "passdesk events: unexpected argument “%s”\n", argv[1]);
      return PD_EXIT_USAGE;
    }

  PdAgentClientStatus status;
  g_autoptr (PdDbusAgent1) proxy = pd_agent_client_connect (session, TRUE, &status, &error);
  if (proxy == NULL)
    {
      fprintf (stderr,
               "passdesk events: no passdesk-agent answers on the %s bus%s%s. The history lives "
               "in the agent: start it with “systemctl start passdesk-agent”.\n",
               pd_agent_client_bus_name (session), error ? ": " : "", error ? error->message : "");
      return PD_EXIT_PROBLEM;
    }
  g_autoptr (GVariant) events = NULL;
  if (!pd_dbus_agent1_call_get_events_sync (proxy, &events, NULL, &error))
    {
      g_dbus_error_strip_remote_error (error);
      fprintf (stderr, "passdesk events: the agent did not answer: %s\n", error->message);
      return PD_EXIT_PROBLEM;
    }

  GVariantIter iter;
  gint64 time;
  const char *kind, *component, *text;
  g_variant_iter_init (&iter, events);
  if (json)
    {
      g_autoptr (JsonArray) array = json_array_new ();
      while (g_variant_iter_next (&iter, "(x&s&s&s)", &time, &kind, &component, &text))
        json_array_add_element (array, pd_cli_event_to_json (time, kind, component, text));
      g_autoptr (JsonNode) root = json_node_new (JSON_NODE_ARRAY);
      json_node_set_array (root, array);
      g_autofree char *s = json_to_string (root, TRUE);
      printf ("%s\n", s);
      return PD_EXIT_OK;
    }
  if (g_variant_n_children (events) == 0)
    printf ("No events yet.\n");
  while (g_variant_iter_next (&iter, "(x&s&s&s)", &time, &kind, &component, &text))
    {
      g_autofree char *when = pd_cli_format_time (time);
      printf ("%s  %-8s %-28s %s\n", when, component, kind, text);
    }
  return PD_EXIT_OK;
}
