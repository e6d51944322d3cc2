/* cli-cold-restart.c - `passdesk cold-restart`: ask the host to stop this VM,
 * keep it off for the cool-off and start it again (so the Proxmox hook
 * scripts run), then power the guest off cleanly.
 *
 * Through the agent (org.passdesk.Agent1.ColdRestart, which also powers off)
 * when one runs; otherwise on the virtio port directly with PdHostlinkGuest
 * and a logind poweroff of our own, which, as the agent's, waits for the
 * host's press of the power button: Proxmox presses it after the VM's
 * pre-stop hook has run (power-key-wait.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent-client.h"
#include "pd-i18n.h"
#include "agent-errors.h"
#include "cli-format.h"
#include "cli.h"
#include "cold-restart-phase.h"
#include "detail-keys.h"
#include "hostlink-guest.h"
#include "logind-poweroff.h"
#include "power-button.h"
#include "power-key-wait.h"
#include "sysroot.h"

#define PROG "passdesk cold-restart"

typedef struct
{
  GMainLoop *loop;
  PdHostlinkGuest *guest;
  int status;
  gboolean requested;
  guint cool_off;
  char *reason;
  char *accepted_text;
  guint connect_timer;
  /* after the ACCEPT: the host's power button, and the wait for it */
  PdPowerButton *button;
  PdPowerKeyWait *key_wait;
  guint hold_s;
} Run;

static void
print_component_problem (PdHostlinkGuest *guest)
{
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (guest);
  fprintf (stderr, _ ("%s: the host link is not ready: %s.\n"), PROG, c->summary);
  const char *error = pd_component_get_detail (c, PD_DETAIL_ERROR);
  if (error)
    fprintf (stderr, "  Error: %s\n", error);
  for (guint i = 0; i < c->advice->len; i++)
    {
      PdAdvice *a = g_ptr_array_index (c->advice, i);
      fprintf (stderr, "  %s\n", a->text);
    }
  fprintf (stderr, _ ("Nothing was done.\n"));
}

static void
end_key_wait (Run *run)
{
  g_clear_pointer (&run->key_wait, pd_power_key_wait_free);
  g_clear_pointer (&run->button, pd_power_button_free);
}

static void
on_progress (PdHostlinkGuest *guest, const char *phase, const char *text, Run *run)
{
  PdColdRestartPhase p = pd_cold_restart_phase_from_string (phase);
  if (p == PD_COLD_RESTART_PHASE_ACCEPTED)
    {
      g_free (run->accepted_text);
      run->accepted_text = g_strdup (text);
    }
  else if ((p == PD_COLD_RESTART_PHASE_FAILED || p == PD_COLD_RESTART_PHASE_CANCELLED)
           && run->key_wait && !pd_power_key_wait_is_powering_off (run->key_wait))
    {
      /* The host gave up before its `qm shutdown` pressed the button: the
       * VM is not being shut down, so it stays on. */
      end_key_wait (run);
      fprintf (stderr, _ ("%s: the host ended the cold restart: %s\nThis VM stays on.\n"), PROG,
               text && *text ? text : phase);
      run->status = PD_EXIT_PROBLEM;
      g_main_loop_quit (run->loop);
    }
}

/* logind's answer to PowerOff ends the command. */
static void
powered_off (Run *run, const GError *error)
{
  if (error)
    {
      fprintf (stderr, "%s: %s\n", PROG, error->message);
      run->status = PD_EXIT_PROBLEM;
    }
  else
    {
      printf (_ ("The VM is powering off now; the host starts it again after the cool-off.\n"));
      run->status = PD_EXIT_OK;
    }
  g_main_loop_quit (run->loop);
}

static void
power_off_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  pd_logind_power_off_finish (res, &error);
  powered_off (user_data, error);
}

static void
on_key_wait (PdPowerKeyWaitStage stage, const GError *error, gpointer user_data)
{
  Run *run = user_data;
  switch (stage)
    {
    case PD_POWER_KEY_WAIT_NO_INHIBITOR:
      fprintf (stderr,
               _ ("%s: systemd-logind did not let passdesk take over the power button (%s); logind "
                  "also acts on the host's press as its HandlePowerKey setting says.\n"),
               PROG, error->message);
      break;
    case PD_POWER_KEY_WAIT_DEADLINE:
      printf (_ ("The host did not press the power button within %u s; asking systemd-logind to "
                 "power this VM off now.\n"),
              run->hold_s);
      fflush (stdout);
      break;
    case PD_POWER_KEY_WAIT_DONE:
      end_key_wait (run);
      powered_off (run, error);
      break;
    }
}

static void
on_button_pressed (gpointer user_data)
{
  Run *run = user_data;
  /* Called from the device's own watch, which allows freeing it here. */
  g_clear_pointer (&run->button, pd_power_button_free);
  printf (_ ("The host pressed the power button: its pre-stop hook has run. Asking "
             "systemd-logind to power this VM off…\n"));
  fflush (stdout);
  pd_power_key_wait_pressed (run->key_wait);
}

/* Accepted: power off when the host presses the power button (after the
 * VM's pre-stop hook), or at the deadline; at once when there is no
 * button to wait for. */
static void
power_off_after_key (Run *run)
{
  run->hold_s = pd_power_key_hold_seconds (pd_hostlink_guest_get_shutdown_timeout (run->guest));
  g_autoptr (GError) error = NULL;
  run->button = pd_power_button_open (&error);
  if (!run->button)
    {
      fprintf (stderr,
               _ ("%s: %s. This VM powers off now, without waiting for the host's pre-stop hook, "
                  "which may then run after the VM is off.\n"),
               PROG, error->message);
      printf (_ ("Asking systemd-logind to power this VM off…\n"));
      fflush (stdout);
      pd_logind_power_off_async (NULL, power_off_done, run);
      return;
    }
  printf (_ ("Waiting for the host to shut this VM down: Proxmox runs the VM's pre-stop hook "
             "first, then presses the power button, and this VM powers off cleanly at that "
             "press (after %u s at the latest). Leave this running.\n"),
          run->hold_s);
  fflush (stdout);
  run->key_wait = pd_power_key_wait_new (run->hold_s * 1000, NULL, on_key_wait, run);
  pd_power_button_watch (run->button, on_button_pressed, run);
}

static void
request_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;
  if (!pd_hostlink_guest_request_cold_restart_finish (PD_HOSTLINK_GUEST (source), res, &error))
    {
      /* The host's sentences are English, their recipes in our book. */
      g_autofree char *why = pd_i18n_localize_text (error->message);
      if (g_error_matches (error, PD_HOSTLINK_ERROR, PD_HOSTLINK_ERROR_REFUSED))
        fprintf (stderr, _ ("%s: the host refused: %s\nNothing was done.\n"), PROG, why);
      else
        fprintf (stderr, "%s: %s\n", PROG, why);
      run->status = PD_EXIT_PROBLEM;
      g_main_loop_quit (run->loop);
      return;
    }
  g_autofree char *accepted = pd_i18n_localize_text (run->accepted_text);
  printf (_ ("The host accepted the cold restart%s%s\n"), accepted ? ": " : ".",
          accepted ? accepted : "");
  fflush (stdout);
  power_off_after_key (run);
}

static void
maybe_request (Run *run)
{
  if (run->requested)
    return;
  g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (run->guest);
  /* The component is ok exactly when the handshake is done. */
  if (c->state != PD_STATE_OK)
    return;
  run->requested = TRUE;
  printf (_ ("Connected to %s (VM %s); asking for a cold restart…\n"),
          pd_component_get_detail (c, PD_DETAIL_HOST), pd_component_get_detail (c, PD_DETAIL_VMID));
  fflush (stdout);
  pd_hostlink_guest_request_cold_restart_async (run->guest, run->reason, run->cool_off, NULL,
                                                request_done, run);
}

static void
on_component_changed (PdHostlinkGuest *guest, Run *run)
{
  maybe_request (run);
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  Run *run = user_data;
  run->connect_timer = 0;
  if (!run->requested)
    {
      print_component_problem (run->guest);
      run->status = PD_EXIT_PROBLEM;
      g_main_loop_quit (run->loop);
    }
  return G_SOURCE_REMOVE;
}

/* On the port ourselves: handshake, request, poweroff. */
static int
cold_restart_direct (const char *port, const char *reason, guint cool_off, guint timeout_s)
{
  Run run = { .status = PD_EXIT_PROBLEM, .cool_off = cool_off };
  run.reason = g_strdup (reason);
  run.loop = g_main_loop_new (NULL, FALSE);
  run.guest = pd_hostlink_guest_new (port);
  g_signal_connect (run.guest, "progress", G_CALLBACK (on_progress), &run);
  g_signal_connect (run.guest, "component-changed", G_CALLBACK (on_component_changed), &run);
  g_autoptr (GError) error = NULL;
  if (!pd_hostlink_guest_start (run.guest, &error))
    {
      fprintf (stderr, _ ("%s: cannot watch the host channel: %s\n"), PROG, error->message);
    }
  else
    {
      g_autofree char *path = port ? g_strdup (port) : pd_sysroot_path (PD_HOSTLINK_DEFAULT_PORT);
      g_autoptr (PdComponent) c = pd_hostlink_guest_get_component (run.guest);
      if (!g_file_test (path, G_FILE_TEST_EXISTS) || pd_component_get_detail (c, PD_DETAIL_ERROR))
        {
          /* No channel, or it cannot be opened (busy, permissions): waiting
           * would not help a one-shot command. */
          print_component_problem (run.guest);
          goto out;
        }
      run.connect_timer = g_timeout_add_seconds (timeout_s, on_connect_timeout, &run);
      maybe_request (&run);
      g_main_loop_run (run.loop);
      if (run.connect_timer)
        g_source_remove (run.connect_timer);
    }
out:
  end_key_wait (&run);
  g_signal_handlers_disconnect_by_data (run.guest, &run);
  g_object_unref (run.guest);
  g_main_loop_unref (run.loop);
  g_free (run.reason);
  g_free (run.accepted_text);
  return run.status;
}

/* Through the agent. Returns -1 when no agent answers (fall back). */
static int
cold_restart_via_agent (const char *reason, guint cool_off, guint timeout_s)
{
  PdAgentClientStatus status;
  g_autoptr (GError) error = NULL;
  g_autoptr (PdDbusAgent1) agent = pd_agent_client_connect (FALSE, TRUE, &status, &error);
  if (!agent)
    return -1;

  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (reason)
    g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (reason));
  if (cool_off)
    g_variant_builder_add (&b, "{sv}", "cool-off", g_variant_new_uint32 (cool_off));
  /* The host's refusal comes back in our language. */
  if (*pd_i18n_messages_locale () != '\0')
    g_variant_builder_add (&b, "{sv}", "locale", g_variant_new_string (pd_i18n_messages_locale ()));
  printf (_ ("Asking the passdesk agent for a cold restart…\n"));
  fflush (stdout);
  (void) PD_AGENT_ERROR; /* registers the D-Bus error names */
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (agent), (int) (timeout_s * 1000));
  if (!pd_dbus_agent1_call_cold_restart_sync (agent, g_variant_builder_end (&b), NULL, &error))
    {
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
          || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        return -1;
      g_dbus_error_strip_remote_error (error);
      if (g_error_matches (error, PD_AGENT_ERROR, PD_AGENT_ERROR_REFUSED))
        fprintf (stderr, _ ("%s: the host refused: %s\nNothing was done.\n"), PROG, error->message);
      else if (g_error_matches (error, PD_AGENT_ERROR, PD_AGENT_ERROR_NOT_AUTHORIZED))
        fprintf (stderr,
                 _ ("%s: not allowed: %s\nRun it from the local desktop session or as root.\n"),
                 PROG, error->message);
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        fprintf (stderr, _ ("%s: the agent did not answer within %u s; nothing was done.\n"), PROG,
                 timeout_s);
      else
        fprintf (stderr, "%s: %s\n", PROG, error->message);
      return PD_EXIT_PROBLEM;
    }
  printf (_ ("The host accepted the cold restart; the agent is powering this VM off now and the "
             "host starts it again after the cool-off.\n"));
  return PD_EXIT_OK;
}

static gboolean
confirm (guint cool_off)
{
  if (!isatty (STDIN_FILENO))
    return FALSE;
  g_autofree char *off
      = cool_off ? g_strdup_printf ("%u s", cool_off) : g_strdup ("the host's default cool-off");
  printf (_ ("This shuts this VM down, keeps it off for %s and starts it again from the host\n"
             "(the Proxmox hook scripts run). Unsaved work in open programs is lost.\n"
             "Cold-restart the VM now? [y/N] "),
          off);
  fflush (stdout);
  char line[64];
  if (!fgets (line, sizeof line, stdin))
    return FALSE;
  g_strstrip (line);
  return g_ascii_strcasecmp (line, "y") == 0 || g_ascii_strcasecmp (line, "yes") == 0;
}

int
pd_cli_cold_restart (int argc, char **argv)
{
  gboolean yes = FALSE;
  int cool_off = 0;
  int timeout_s = 15;
  g_autofree char *reason = NULL;
  g_autofree char *port = NULL;
  const GOptionEntry entries[] = {
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, N_ ("Do not ask for confirmation"), NULL },
    { "cool-off", 0, 0, G_OPTION_ARG_INT, &cool_off,
      N_ ("Seconds the VM stays off (within the host's limits; default: the host's)"), N_ ("S") },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &reason,
      N_ ("Why, for the host's journal (at most 200 bytes)"), N_ ("TEXT") },
    { "port", 0, 0, G_OPTION_ARG_FILENAME, &port,
      N_ ("Use this virtio port directly instead of the agent (default: the agent, "
          "else /dev/virtio-ports/org.passdesk.hostlink.0)"),
      N_ ("PATH") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
      N_ ("Seconds to wait for the agent or for the host link (default 15); the host itself "
          "must answer within 10 s"),
      N_ ("S") },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (N_ ("- restart this VM from the host"));
  g_option_context_set_summary (
      ctx, N_ ("Asks the Proxmox host (passdesk-hostd) to shut this VM down, keep it off for a\n"
               "cool-off and start it again, so the host's hook scripts reset the passed-through\n"
               "GPU and audio. On acceptance this VM powers off cleanly through systemd-logind.\n"
               "Goes through the passdesk agent when it runs, else opens the channel itself."));
  g_option_context_set_description (ctx, N_ ("Exit status: 0 the host accepted and the VM powers "
                                             "off, 1 refused, timed out or no host link (nothing "
                                             "happened), 2 usage error or no confirmation."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (pd_terminal_handle_help (ctx, argc, argv))
    return 0;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return pd_cli_usage_error ("cold-restart", "%s", error->message);
  if (argc > 1)
    return pd_cli_usage_error ("cold-restart", _ ("unexpected argument “%s”"), argv[1]);
  if (cool_off < 0 || cool_off > 86400)
    return pd_cli_usage_error ("cold-restart",
                               _ ("--cool-off must be between 0 and 86400 seconds"));
  if (timeout_s < 1 || timeout_s > 600)
    return pd_cli_usage_error ("cold-restart", _ ("--timeout must be between 1 and 600 seconds"));
  if (reason && (strlen (reason) > 200 || !g_utf8_validate (reason, -1, NULL)))
    return pd_cli_usage_error ("cold-restart",
                               _ ("--reason must be UTF-8 text of at most 200 bytes"));
  if (!yes)
    {
      if (!isatty (STDIN_FILENO))
        {
          fprintf (stderr,
                   _ ("%s: this restarts the VM and needs a confirmation, but standard "
                      "input is not a terminal. Pass --yes to confirm from a script.\n"),
                   PROG);
          return PD_EXIT_USAGE;
        }
      if (!confirm ((guint) cool_off))
        {
          printf (_ ("Nothing was done.\n"));
          return PD_EXIT_USAGE;
        }
    }

  if (!port)
    {
      int r = cold_restart_via_agent (reason, (guint) cool_off, (guint) timeout_s);
      if (r >= 0)
        return r;
      printf (_ ("No passdesk agent runs; using the host channel directly.\n"));
      fflush (stdout);
    }
  return cold_restart_direct (port, reason, (guint) cool_off, (guint) timeout_s);
}
