/* passdesk-agent.c - the guest system agent: main loop, options, bus name,
 * clean shutdown on SIGTERM/SIGINT. */
#include "config.h"

#include "pd-i18n.h"
#include "pd-terminal.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

#include "agent-daemon.h"
#include "agent-dbus.h"
#include "agent-errors.h"

typedef struct
{
  GMainLoop *loop;
  PdAgentDaemon *daemon;
  PdAgentDbus *dbus;
  int status;
  gboolean session;
  gboolean stopping;
} Agent;

static void
on_stopped (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Agent *agent = user_data;
  pd_agent_daemon_stop_finish (PD_AGENT_DAEMON (source), result, NULL);
  g_main_loop_quit (agent->loop);
}

/* The first signal lets the daemon finish what the guest's shutdown needs
 * (the wait for the host's power button during a cold restart, bounded);
 * a second one quits at once. */
static gboolean
on_signal (gpointer user_data)
{
  Agent *agent = user_data;
  if (agent->stopping)
    {
      g_message ("Stopping now on a second signal.");
      g_main_loop_quit (agent->loop);
      return G_SOURCE_CONTINUE;
    }
  agent->stopping = TRUE;
  g_message ("Stopping on a signal.");
  pd_agent_daemon_stop_async (agent->daemon, on_stopped, agent);
  return G_SOURCE_CONTINUE;
}

static void
on_bus_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Agent *agent = user_data;
  g_autoptr (GError) error = NULL;
  if (!pd_agent_dbus_export (agent->dbus, connection, &error))
    {
      g_printerr (_ ("passdesk-agent: cannot export %s: %s\n"), PD_AGENT_OBJECT_PATH,
                  error->message);
      agent->status = 1;
      g_main_loop_quit (agent->loop);
    }
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  g_debug ("Owning %s", name);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Agent *agent = user_data;
  const char *session_address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  if (connection == NULL && !agent->session)
    g_printerr (_ ("passdesk-agent: cannot connect to the system bus. Check that D-Bus runs "
                   "(`systemctl status dbus`), or use --session for a development instance.\n"));
  /* A root shell, su or ssh has no session bus: that is where developers
   * meet this, so name the way out. */
  else if (connection == NULL && (session_address == NULL || *session_address == '\0'))
    g_printerr (_ ("passdesk-agent: cannot connect to the session bus: this shell has none "
                   "(DBUS_SESSION_BUS_ADDRESS is unset, as in a root shell, su or ssh). Give it a "
                   "bus of its own: `dbus-run-session -- passdesk-agent --session`. To reach it "
                   "with passdesk or passdesk-tray --session too, start a shell on one bus "
                   "(`dbus-run-session -- bash`) and run them all from there.\n"));
  else if (connection == NULL)
    g_printerr (_ ("passdesk-agent: cannot connect to the session bus at %s: check that it still "
                   "runs, or give the agent a bus of its own: `dbus-run-session -- "
                   "passdesk-agent --session`.\n"),
                session_address);
  else
    g_printerr (_ ("passdesk-agent: cannot own the name %s on the %s bus: another agent runs, "
                   "or the D-Bus policy (org.passdesk.Agent1.conf) does not allow it. "
                   "Use --session for a development instance.\n"),
                name, agent->session ? "session" : "system");
  agent->status = 1;
  g_main_loop_quit (agent->loop);
}

int
main (int argc, char **argv)
{
  gboolean session = FALSE, no_vaprobe = FALSE, version = FALSE, no_hotplug = FALSE;
  int vaprobe_timeout_s = 0;
  int kernel_hold_ms = 0;
  g_autofree char *kmsg = NULL;
  g_autofree char *hostlink_port = NULL;
  const GOptionEntry entries[] = {
    { "session", 0, 0, G_OPTION_ARG_NONE, &session,
      N_ ("Run on the session bus as a normal user (development and tests)"), NULL },
    { "kmsg", 0, 0, G_OPTION_ARG_FILENAME, &kmsg,
      N_ ("Read the kernel log from PATH (a FIFO is followed, a file read once) instead of "
          "/dev/kmsg"),
      N_ ("PATH") },
    { "hostlink-port", 0, 0, G_OPTION_ARG_FILENAME, &hostlink_port,
      N_ ("The host channel (default /dev/virtio-ports/org.passdesk.hostlink.0)"), N_ ("PATH") },
    { "no-vaprobe", 0, 0, G_OPTION_ARG_NONE, &no_vaprobe,
      N_ ("Do not run the VA-API probe (video acceleration stays unknown)"), NULL },
    { "vaprobe-timeout", 0, 0, G_OPTION_ARG_INT, &vaprobe_timeout_s,
      N_ ("Seconds the VA-API probe may take before it is killed (default 5)"), N_ ("S") },
    { "kernel-hold-ms", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &kernel_hold_ms,
      N_ ("How long passing kernel-log trouble keeps its component down (tests)"), N_ ("MS") },
    { "no-hotplug", 0, 0, G_OPTION_ARG_NONE, &no_hotplug,
      N_ ("Do not listen to udev and libusb hotplug events (tests)"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_ ("Print the version and exit"), NULL },
    { NULL },
  };

  pd_i18n_init ();
  g_autoptr (GOptionContext) ctx = g_option_context_new (N_ ("- the passdesk guest agent"));
  g_option_context_set_summary (
      ctx,
      N_ ("Watches the passed-through GPU, display, video acceleration, HDMI audio, USB and the "
          "kernel log,\nand publishes their state as org.passdesk.Agent1 on the system bus."));
  g_option_context_set_description (
      ctx,
      N_ ("Environment: PASSDESK_SYSROOT prefixes every /sys, /proc, /dev and /etc path "
          "(tests).\nRuns as the systemd service passdesk-agent.service; see passdesk-agent(8)."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (pd_terminal_handle_help (ctx, argc, argv))
    return 0;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr (_ ("passdesk-agent: %s\nRun “passdesk-agent --help” for the options.\n"),
                  error->message);
      return 2;
    }
  if (version)
    {
      printf ("passdesk-agent %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (argc > 1)
    {
      g_printerr (_ ("passdesk-agent: unexpected argument “%s”\n"), argv[1]);
      return 2;
    }
  if (vaprobe_timeout_s < 0 || vaprobe_timeout_s > 600)
    {
      g_printerr (_ ("passdesk-agent: --vaprobe-timeout must be between 1 and 600 seconds\n"));
      return 2;
    }

  if (kernel_hold_ms < 0)
    {
      g_printerr (_ ("passdesk-agent: --kernel-hold-ms must not be negative\n"));
      return 2;
    }

  /* Register the error names before any reply can carry one. */
  (void) PD_AGENT_ERROR;

  PdAgentOptions options = {
    .no_vaprobe = no_vaprobe,
    .vaprobe_timeout_ms = (guint) vaprobe_timeout_s * 1000,
    .kmsg_path = kmsg,
    .hostlink_port = hostlink_port,
    .no_hotplug = no_hotplug,
    .kernel_hold_us = (gint64) kernel_hold_ms * 1000,
  };
  Agent agent = { 0 };
  agent.session = session;
  agent.loop = g_main_loop_new (NULL, FALSE);
  agent.daemon = pd_agent_daemon_new (&options);
  pd_agent_daemon_start (agent.daemon);
  agent.dbus = pd_agent_dbus_new (agent.daemon, !session);

  guint sigterm = g_unix_signal_add (SIGTERM, on_signal, &agent);
  guint sigint = g_unix_signal_add (SIGINT, on_signal, &agent);
  guint owner = g_bus_own_name (session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, PD_AGENT_BUS_NAME,
                                G_BUS_NAME_OWNER_FLAGS_NONE, on_bus_acquired, on_name_acquired,
                                on_name_lost, &agent, NULL);

  g_main_loop_run (agent.loop);

  g_bus_unown_name (owner);
  g_source_remove (sigterm);
  g_source_remove (sigint);
  pd_agent_dbus_free (agent.dbus);
  g_object_run_dispose (G_OBJECT (agent.daemon));
  /* Let the cancellations run (a VA probe child still running is killed
   * from the loop), without waiting for anything. */
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_object_unref (agent.daemon);
  g_main_loop_unref (agent.loop);
  return agent.status;
}
