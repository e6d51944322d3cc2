/* cli-watch.c - `passdesk watch [--json]`: state changes and events of the
 * running agent as they happen, until interrupted. */
#include "config.h"

#include <glib-unix.h>
#include <stdio.h>

#include "agent-client.h"
#include "pd-i18n.h"
#include "cli-format.h"
#include "cli.h"

typedef struct
{
  GMainLoop *loop;
  gboolean json;
  gboolean had_owner;
} Watch;

static void
print_json (JsonNode *node)
{
  g_autofree char *s = json_to_string (node, FALSE);
  printf ("%s\n", s);
  fflush (stdout);
}

static void
print_component (Watch *w, const char *id, const char *state, const char *summary)
{
  if (w->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "component");
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, id);
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, state);
      json_builder_set_member_name (b, "summary");
      json_builder_add_string_value (b, summary);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
      return;
    }
  g_autofree char *when = pd_cli_format_time (g_get_real_time ());
  printf ("%s  %-8s %-9s %s\n", when, id, state, pd_i18n_text (summary));
  fflush (stdout);
}

static void
print_note (Watch *w, const char *what, const char *text)
{
  if (w->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, what);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, text);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
      return;
    }
  printf ("%s\n", text);
  fflush (stdout);
}

static void
on_component_changed (PdDbusAgent1 *proxy, const char *id, const char *state, const char *summary,
                      gpointer user_data)
{
  print_component (user_data, id, state, summary);
}

static void
on_event (PdDbusAgent1 *proxy, gint64 time, const char *kind, const char *component,
          const char *text, gpointer user_data)
{
  Watch *w = user_data;
  if (w->json)
    {
      g_autoptr (JsonNode) node = pd_cli_event_to_json (time, kind, component, text);
      print_json (node);
      return;
    }
  g_autofree char *when = pd_cli_format_time (time);
  printf ("%s  %-8s event     %s: %s\n", when, component, kind, pd_i18n_text (text));
  fflush (stdout);
}

static void
on_progress (PdDbusAgent1 *proxy, const char *phase, const char *text, gpointer user_data)
{
  g_autofree char *line
      = g_strdup_printf (_ ("Cold restart: %s%s%s"), phase, *text ? ": " : "", pd_i18n_text (text));
  print_note (user_data, "cold-restart", line);
}

static void
on_owner (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  Watch *w = user_data;
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (object));
  if ((owner != NULL) == w->had_owner)
    return;
  w->had_owner = owner != NULL;
  print_note (w, owner ? "agent-started" : "agent-stopped",
              owner ? "The agent started." : "The agent stopped; waiting for it to come back.");
}

static gboolean
on_sigint (gpointer user_data)
{
  Watch *w = user_data;
  g_main_loop_quit (w->loop);
  return G_SOURCE_CONTINUE;
}

int
pd_cli_watch (int argc, char **argv)
{
  gboolean json = FALSE;
  gboolean session = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print one JSON object per line"), NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session,
      N_ ("Watch the agent on the session bus (also PASSDESK_BUS=session)"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx
      = g_option_context_new (N_ ("- follow the agent's state and events"));
  g_option_context_set_summary (ctx, N_ ("Prints state changes and events of the running "
                                         "passdesk-agent as they happen,\nuntil interrupted "
                                         "(Ctrl+C)."));
  g_option_context_set_description (ctx,
                                    N_ ("Exit status: 0 after Ctrl+C, 1 no bus, 2 usage error."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "passdesk watch: %s\n", error->message);
      return PD_EXIT_USAGE;
    }
  if (argc > 1)
    {
      fprintf (stderr, _ ("passdesk watch: unexpected argument “%s”\n"), argv[1]);
      return PD_EXIT_USAGE;
    }

  PdAgentClientStatus status;
  g_autoptr (PdDbusAgent1) proxy = pd_agent_client_connect (session, FALSE, &status, &error);
  if (proxy == NULL)
    {
      fprintf (stderr, _ ("passdesk watch: cannot reach the %s bus: %s\n"),
               pd_agent_client_bus_name (session), error->message);
      return PD_EXIT_PROBLEM;
    }

  Watch w = { .json = json };
  w.loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));
  w.had_owner = owner != NULL;
  if (owner)
    {
      g_autofree char *line = g_strdup_printf (
          _ ("Watching passdesk-agent on the %s bus (overall: %s). Press Ctrl+C to stop."),
          pd_agent_client_bus_name (session),
          pd_dbus_agent1_get_overall_state (proxy) ? pd_dbus_agent1_get_overall_state (proxy)
                                                   : "unknown");
      print_note (&w, "watching", line);
    }
  else
    {
      g_autofree char *line = g_strdup_printf (
          _ ("No passdesk-agent runs on the %s bus yet; waiting for it (start it with "
             "“%s”). Press Ctrl+C to stop."),
          pd_agent_client_bus_name (session), pd_agent_client_start_command (session));
      print_note (&w, "watching", line);
    }

  g_signal_connect (proxy, "component-changed", G_CALLBACK (on_component_changed), &w);
  g_signal_connect (proxy, "event", G_CALLBACK (on_event), &w);
  g_signal_connect (proxy, "cold-restart-progress", G_CALLBACK (on_progress), &w);
  g_signal_connect (proxy, "notify::g-name-owner", G_CALLBACK (on_owner), &w);
  guint sig = g_unix_signal_add (SIGINT, on_sigint, &w);
  guint sigterm = g_unix_signal_add (SIGTERM, on_sigint, &w);

  g_main_loop_run (w.loop);

  g_source_remove (sig);
  g_source_remove (sigterm);
  g_signal_handlers_disconnect_by_data (proxy, &w);
  g_main_loop_unref (w.loop);
  return PD_EXIT_OK;
}
