/* cli-watch.c - `passdesk watch [--json]`: state changes and events of the
 * running agent as they happen, until interrupted. */
#include "config.h"

#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent-client.h"
#include "components-variant.h"
#include "pd-i18n.h"
#include "cli-format.h"
#include "cli.h"

typedef struct
{
  GMainLoop *loop;
  gboolean json;
  gboolean had_owner;
  GHashTable *states; /* component id -> last state seen (text mode's "was") */
} Watch;

static void
print_json (JsonNode *node)
{
  g_autofree char *s = json_to_string (node, FALSE);
  printf ("%s\n", s);
  fflush (stdout);
}

/* @out (the columns) and @text, wrapped under the text's column on a
 * terminal (one line per change in a pipe), then flushed: watch is read as it
 * happens. */
static void
print_wrapped (GString *out, const char *text)
{
  guint col = pd_terminal_text_width (out->str);
  pd_terminal_append_wrapped (out, text, col, col, pd_terminal_width (STDOUT_FILENO));
  g_string_append_c (out, '\n');
  fputs (out->str, stdout);
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
  /* One line per change: the state, what it was, and the summary (the
   * agent's "<id>.state-changed" event says the same and is not printed). */
  g_autofree char *when = pd_cli_format_time (g_get_real_time ());
  const char *was = g_hash_table_lookup (w->states, id);
  /* TRANSLATORS: after a state change in `passdesk watch`; %s is the old state */
  g_autofree char *was_text
      = was && strcmp (was, state) != 0 ? g_strdup_printf (_ (" (was %s)"), was) : g_strdup ("");
  g_autoptr (GString) out = g_string_new (NULL);
  g_string_append_printf (out, "%s  %-8s %-9s ", when, id, state);
  g_autofree char *text = g_strconcat (pd_i18n_text (summary), was_text, NULL);
  print_wrapped (out, text);
  g_hash_table_insert (w->states, g_strdup (id), g_strdup (state));
}

/* The states the agent publishes now, so the first change can say "was". */
static void
remember_states (Watch *w, PdDbusAgent1 *proxy)
{
  GVariant *comps = pd_dbus_agent1_get_components (proxy);
  if (comps == NULL || !g_variant_is_of_type (comps, G_VARIANT_TYPE ("a(sssa(ss)a(ss))")))
    return;
  GVariantIter iter;
  const char *id, *state;
  g_variant_iter_init (&iter, comps);
  while (g_variant_iter_next (&iter, "(&s&s&s@a(ss)@a(ss))", &id, &state, NULL, NULL, NULL))
    g_hash_table_insert (w->states, g_strdup (id), g_strdup (state));
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
  g_autoptr (GString) out = g_string_new (NULL);
  print_wrapped (out, text);
}

static void
on_component_changed (PdDbusAgent1 *proxy, const char *id, const char *state, const char *summary,
                      gpointer user_data)
{
  print_component (user_data, id, state, summary);
}

/* The event's sentence in our language: the agent words its newest few
 * events again (GetEventList, a short call to a local daemon; this loop only
 * prints). An older agent, or an English terminal: the plain text. */
static char *
worded_event (PdDbusAgent1 *proxy, gint64 time, const char *kind, const char *component,
              const char *text)
{
  const char *locale = pd_i18n_messages_locale ();
  g_autoptr (GVariant) events = NULL;
  if (*locale)
    {
      GVariantDict opts;
      g_variant_dict_init (&opts, NULL);
      g_variant_dict_insert (&opts, "locale", "s", locale);
      g_variant_dict_insert (&opts, "newest", "u", 8);
      if (!pd_dbus_agent1_call_get_event_list_sync (proxy, g_variant_dict_end (&opts), &events,
                                                    NULL, NULL))
        g_clear_pointer (&events, g_variant_unref);
    }
  for (gsize i = events ? g_variant_n_children (events) : 0; i > 0; i--)
    {
      g_autoptr (GVariant) v = g_variant_get_child_value (events, i - 1);
      g_autoptr (PdEventEntry) e = pd_event_entry_from_variant (v);
      if (e != NULL && e->time == time && g_strcmp0 (e->kind, kind) == 0
          && g_strcmp0 (e->component, component) == 0)
        return g_steal_pointer (&e->text);
    }
  return g_strdup (pd_i18n_text (text));
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
  if (g_str_has_suffix (kind, ".state-changed"))
    return; /* the component's own line says it */
  g_autofree char *when = pd_cli_format_time (time);
  g_autofree char *worded = worded_event (proxy, time, kind, component, text);
  g_autoptr (GString) out = g_string_new (NULL);
  g_string_append_printf (out, "%s  %-8s event     ", when, component);
  g_autofree char *line = g_strdup_printf ("%s: %s", kind, worded);
  print_wrapped (out, line);
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
  if (pd_terminal_handle_help (ctx, argc, argv))
    return 0;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      return pd_cli_usage_error ("watch", "%s", error->message);
    }
  if (argc > 1)
    {
      return pd_cli_usage_error ("watch", _ ("unexpected argument “%s”"), argv[1]);
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
  w.states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  remember_states (&w, proxy);
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
  g_hash_table_unref (w.states);
  return PD_EXIT_OK;
}
