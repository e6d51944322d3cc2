/* cli-events.c - `passdesk events [--json]`: the agent's event history. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "agent-client.h"
#include "pd-i18n.h"
#include "cli-format.h"
#include "components-variant.h"
#include "cli.h"

/* Under the component, after "YYYY-MM-DD HH:MM:SS  ". */
#define EVENT_TEXT_INDENT 21

int
pd_cli_events (int argc, char **argv)
{
  gboolean json = FALSE;
  gboolean session = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print the events as a JSON array"), NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session,
      N_ ("Ask the agent on the session bus (also PASSDESK_BUS=session)"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (N_ ("- print the agent's event history"));
  g_option_context_set_summary (ctx, N_ ("Prints the last (up to) 200 events the running "
                                         "passdesk-agent recorded, oldest first."));
  g_option_context_set_description (ctx,
                                    N_ ("Exit status: 0 ok, 1 no agent answers, 2 usage error."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (pd_terminal_handle_help (ctx, argc, argv))
    return 0;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      return pd_cli_usage_error ("events", "%s", error->message);
    }
  if (argc > 1)
    {
      return pd_cli_usage_error ("events", _ ("unexpected argument “%s”"), argv[1]);
    }

  PdAgentClientStatus status;
  g_autoptr (PdDbusAgent1) proxy = pd_agent_client_connect (session, TRUE, &status, &error);
  if (proxy == NULL)
    {
      fprintf (stderr,
               _ ("passdesk events: no passdesk-agent answers on the %s bus%s%s. The history lives "
                  "in the agent: start it with “%s”.\n"),
               pd_agent_client_bus_name (session), error ? ": " : "", error ? error->message : "",
               pd_agent_client_start_command (session));
      return PD_EXIT_PROBLEM;
    }
  g_autoptr (GVariant) events = NULL;
  /* People read the history in their language (GetEventList); the JSON
   * stays English, as GetReport's; an older agent gives English. */
  const char *locale = pd_i18n_messages_locale ();
  if (!json && *locale)
    {
      GVariantDict opts;
      g_variant_dict_init (&opts, NULL);
      g_variant_dict_insert (&opts, "locale", "s", locale);
      if (!pd_dbus_agent1_call_get_event_list_sync (proxy, g_variant_dict_end (&opts), &events,
                                                    NULL, NULL))
        g_clear_pointer (&events, g_variant_unref);
    }
  if (events == NULL && !pd_dbus_agent1_call_get_events_sync (proxy, &events, NULL, &error))
    {
      g_dbus_error_strip_remote_error (error);
      fprintf (stderr, _ ("passdesk events: the agent did not answer: %s\n"), error->message);
      return PD_EXIT_PROBLEM;
    }

  /* Each entry through the codec: the agent is outside input here too. */
  g_autoptr (GPtrArray) history
      = g_ptr_array_new_with_free_func ((GDestroyNotify) pd_event_entry_free);
  GVariantIter iter;
  GVariant *v;
  g_variant_iter_init (&iter, events);
  while ((v = g_variant_iter_next_value (&iter)) != NULL)
    {
      PdEventEntry *e = pd_event_entry_from_variant (v);
      if (e != NULL)
        g_ptr_array_add (history, e);
      g_variant_unref (v);
    }
  if (json)
    {
      g_autoptr (JsonArray) array = json_array_new ();
      for (guint i = 0; i < history->len; i++)
        {
          const PdEventEntry *e = history->pdata[i];
          json_array_add_element (array,
                                  pd_cli_event_to_json (e->time, e->kind, e->component, e->text));
        }
      g_autoptr (JsonNode) root = json_node_new (JSON_NODE_ARRAY);
      json_node_set_array (root, array);
      g_autofree char *s = json_to_string (root, TRUE);
      printf ("%s\n", s);
      return PD_EXIT_OK;
    }
  if (history->len == 0)
    printf (_ ("No events yet.\n"));
  /* A pipe gets one event per line; a terminal gets the sentence under the
   * time, wrapped: after the time and the kind too little room is left. */
  guint width = pd_terminal_width (STDOUT_FILENO);
  for (guint i = 0; i < history->len; i++)
    {
      const PdEventEntry *e = history->pdata[i];
      g_autofree char *when = pd_cli_format_time (e->time);
      if (width == 0)
        {
          printf ("%s  %-8s %-28s %s\n", when, e->component, e->kind, pd_i18n_text (e->text));
          continue;
        }
      g_autoptr (GString) out = g_string_new (NULL);
      g_string_append_printf (out, "%s  %-8s %s\n%*s", when, e->component, e->kind,
                              EVENT_TEXT_INDENT, "");
      pd_terminal_append_wrapped (out, pd_i18n_text (e->text), EVENT_TEXT_INDENT, EVENT_TEXT_INDENT,
                             width);
      g_string_append_c (out, '\n');
      fputs (out->str, stdout);
    }
  return PD_EXIT_OK;
}
