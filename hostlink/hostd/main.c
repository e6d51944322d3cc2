/* main.c - passdesk-hostd's command line: run, setup [--remove], status, check-config. */
#define G_LOG_DOMAIN "passdesk-hostd"

#include "config.h"

#include "pd-i18n.h"
#include "pd-terminal.h"

#include "hostd-config.h"
#include "hostd-conn.h"
#include "hostd-daemon.h"
#include "hostd-discovery.h"
#include "hostd-doctor-read.h"
#include "hostd-file.h"
#include "hostd-doctor-run.h"
#include "hostd-qm.h"
#include "hostd-setup.h"
#include "hostd-state.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define EXIT_PROBLEM 1
#define EXIT_USAGE 2

static const char *const summary
    = N_ ("Commands:\n"
          "  run (default)      serve the VMs' hostlink channels (what the systemd unit runs)\n"
          "  setup VMID         add the hostlink channel to the VM's args (qm set); --dry-run\n"
          "                     prints the change only. The VM needs a full stop and start\n"
          "                     (not a reboot) to get the channel.\n"
          "  setup VMID --reboot-as-cold-restart\n"
          "                     also make the VM's reboots cold restarts (recorded in\n"
          "                     hostd.conf; the VM config is not touched for it);\n"
          "                     --no-reboot-as-cold-restart switches that off again\n"
          "  setup --remove VMID  take the channel out of the VM's args again, keeping\n"
          "                     everything else, and switch the reboot conversion off\n"
          "                     (--dry-run works here too)\n"
          "  status             the VMs hostd sees: link, policy, running and last cycle\n"
          "  check-config       validate the configuration and print the effective values\n"
          "  doctor [VMID...]   check the host and the VMs against the passthrough guide\n"
          "                     (IOMMU, groups, drivers, vfio, initramfs, hookscript, channel,\n"
          "                     USB hubs); each finding ok/warn/fail with its fix. Without\n"
          "                     VMID: every VM with the passdesk channel or the iGPU. --json\n"
          "                     for scripts; --root DIR (or PASSDESK_HOST_ROOT) reads the host\n"
          "                     files below DIR. Exit 1 when a check failed.\n"
          "\n"
          "Exit status: 0 ok, 1 a problem (printed), 2 a usage error.\n"
          "See passdesk-hostd(8) for the configuration file.");

/* ---- run ---- */

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

static int
cmd_run (PdHostdConfig *config)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (PdHostd) hostd = pd_hostd_new (config);
  g_autoptr (GError) error = NULL;
  if (!pd_hostd_start (hostd, &error))
    {
      g_printerr ("passdesk-hostd: %s\n", error->message);
      return EXIT_PROBLEM;
    }
  guint s1 = g_unix_signal_add (SIGTERM, on_signal, loop);
  guint s2 = g_unix_signal_add (SIGINT, on_signal, loop);
  g_main_loop_run (loop);
  g_source_remove (s1);
  g_source_remove (s2);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE", "passdesk-hostd stopping");
  return 0;
}

/* ---- qm, synchronously (for the CLI) ---- */

typedef struct
{
  GMainLoop *loop;
  PdQmResult *result;
} SyncRun;

static void
on_sync_done (PdQmResult *r, gpointer data)
{
  SyncRun *s = data;
  s->result = r;
  g_main_loop_quit (s->loop);
}

/* @program with qm's deadline and output bound (hostd-qm.h). */
static PdQmResult *
run_sync (PdHostdConfig *config, const char *program, const char *const *args)
{
  SyncRun s = { g_main_loop_new (NULL, FALSE), NULL };
  pd_qm_run (program, args, config->qm_timeout * 1000, on_sync_done, &s);
  g_main_loop_run (s.loop);
  g_main_loop_unref (s.loop);
  return s.result;
}

static PdQmResult *
qm_sync (PdHostdConfig *config, const char *const *args)
{
  return run_sync (config, config->qm, args);
}

static char *
qm_failure (PdQmResult *r)
{
  g_autofree char *summary_text = pd_qm_output_summary (r->output, 200);
  if (r->outcome == PD_QM_TIMED_OUT)
    return g_strdup (_ ("it did not finish in time and was killed"));
  if (r->outcome == PD_QM_SPAWN_FAILED)
    return g_strdup_printf (_ ("it could not be run: %s"), summary_text);
  return g_strdup_printf (_ ("it failed with exit status %d: %s"), r->exit_status, summary_text);
}

/* Whether the hostd that last wrote @state still runs (EPERM: it does, as
 * another user). */
static gboolean
daemon_running (const PdHostdState *state)
{
  return state->daemon_pid > 0 && (kill ((pid_t) state->daemon_pid, 0) == 0 || errno == EPERM);
}

/* ---- setup ---- */

/* `systemctl is-enabled passdesk-hostd.service`'s word ("enabled",
 * "disabled", "masked", ...), or NULL when systemctl cannot answer. */
static char *
unit_enablement (PdHostdConfig *config)
{
  g_autofree char *systemctl = g_find_program_in_path ("systemctl");
  if (systemctl == NULL)
    return NULL;
  const char *args[] = { "is-enabled", "passdesk-hostd.service", NULL };
  g_autoptr (PdQmResult) r = run_sync (config, systemctl, args);
  if (r->outcome != PD_QM_EXITED)
    return NULL;
  /* One word on the first line; an error message is no state. */
  g_autofree char *word = g_strndup (r->output, strcspn (r->output, "\n"));
  g_strstrip (word);
  if (*word == '\0' || strlen (word) > 32 || strchr (word, ' '))
    return NULL;
  return g_steal_pointer (&word);
}

/* After setup changed the args, what still stands between the admin and a
 * working channel, checked rather than assumed: hostd must run (and start at
 * boot), and QEMU must start again, since it reads its args only then. */
static void
print_next_steps (PdHostdConfig *config, guint vmid)
{
  g_autoptr (GPtrArray) steps = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (PdHostdState) state = pd_hostd_state_peek (config->state_dir, NULL);
  gboolean running = state && daemon_running (state);
  g_autofree char *enabled = unit_enablement (config);
  gboolean is_enabled
      = enabled && (g_str_equal (enabled, "enabled") || g_str_equal (enabled, "enabled-runtime"));
  /* Whole sentences, one per case, so each translates as one. */
  const char *hostd_step = NULL;
  if (enabled && g_str_equal (enabled, "masked"))
    hostd_step = _ ("`systemctl unmask passdesk-hostd && systemctl enable --now passdesk-hostd`: "
                    "the passdesk-hostd unit is masked, so systemd does not start it.");
  else if (enabled == NULL && !running)
    hostd_step = _ ("`systemctl enable --now passdesk-hostd`: passdesk-hostd does not run (and "
                    "systemctl could not say whether it starts at boot), so nothing would answer "
                    "the VM's channel.");
  else if (enabled == NULL)
    hostd_step = NULL; /* runs; whether at boot too, nobody could say */
  else if (!is_enabled && !running)
    hostd_step = _ ("`systemctl enable --now passdesk-hostd`: passdesk-hostd is neither enabled "
                    "nor running, so nothing would answer the VM's channel.");
  else if (!is_enabled)
    hostd_step = _ ("`systemctl enable --now passdesk-hostd`: passdesk-hostd runs but is not "
                    "enabled, so it would not start again at the next boot.");
  else if (!running)
    hostd_step = _ ("`systemctl enable --now passdesk-hostd`: passdesk-hostd is enabled but does "
                    "not run, so nothing would answer the VM's channel.");
  if (hostd_step)
    g_ptr_array_add (steps, g_strdup (hostd_step));

  char id[16];
  g_snprintf (id, sizeof id, "%u", vmid);
  const char *status_args[] = { "status", id, NULL };
  g_autoptr (PdQmResult) r = qm_sync (config, status_args);
  g_autofree char *vm_status
      = r->outcome == PD_QM_EXITED && r->exit_status == 0 ? pd_qm_parse_status (r->output) : NULL;
  if (g_strcmp0 (vm_status, "stopped") == 0)
    g_ptr_array_add (steps, g_strdup_printf (_ ("`qm start %u`: VM %u is stopped; QEMU creates the "
                                                "channel when it starts."),
                                             vmid, vmid));
  else if (g_strcmp0 (vm_status, "running") == 0)
    g_ptr_array_add (steps, g_strdup_printf (_ ("`qm shutdown %u && qm start %u`: VM %u runs, and "
                                                "needs a full stop and start, because QEMU reads "
                                                "its args only when it starts; a reboot from "
                                                "inside the guest is not enough."),
                                             vmid, vmid, vmid));
  else
    g_ptr_array_add (steps, g_strdup_printf (_ ("`qm shutdown %u && qm start %u` if VM %u runs: it "
                                                "needs a full stop and start, because QEMU reads "
                                                "its args only when it starts; a reboot from "
                                                "inside the guest is not enough."),
                                             vmid, vmid, vmid));
  g_print (_ ("Done. VM %u's args have the passdesk channel. Next:\n"), vmid);
  for (guint i = 0; i < steps->len; i++)
    g_print ("  %u. %s\n", i + 1, (const char *) steps->pdata[i]);
  g_print (_ ("Then `passdesk-hostd status` shows the VM's link.\n"));
}

typedef enum
{
  REBOOT_KEEP, /* no option: the conversion stays as it is */
  REBOOT_ON,   /* --reboot-as-cold-restart */
  REBOOT_OFF,  /* --no-reboot-as-cold-restart, or setup --remove */
} RebootChange;

/* hostd.conf as it is now; "" with *@exists FALSE when there is none. */
static gboolean
read_conf (const char *path, char **text, gboolean *exists, GError **error)
{
  gsize len;
  g_autoptr (GError) local = NULL;
  *exists = pd_file_read_bounded (path, 1024 * 1024, text, &len, &local);
  if (*exists)
    return TRUE;
  if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      *text = g_strdup ("");
      return TRUE;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

/* Writes @text to @path (to the file a symlink points at), keeping what
 * was there (@old) as PATH.old; *@kept names it (NULL: no old file). */
static gboolean
write_conf (const char *path, gboolean existed, const char *old, const char *text, char **kept,
            GError **error)
{
  g_autofree char *target = existed ? realpath (path, NULL) : NULL;
  if (target == NULL)
    target = g_strdup (path);
  int mode = 0644;
  struct stat st;
  if (existed && stat (target, &st) == 0)
    mode = st.st_mode & 07777;
  g_autofree char *dir = g_path_get_dirname (target);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "cannot create %s: %s", dir,
                   g_strerror (e));
      return FALSE;
    }
  *kept = NULL;
  if (existed)
    {
      g_autofree char *old_path = g_strconcat (target, ".old", NULL);
      if (!g_file_set_contents_full (old_path, old, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode,
                                     error))
        return FALSE;
      *kept = g_steal_pointer (&old_path);
    }
  return g_file_set_contents_full (target, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, error);
}

/* What the conversion means, said once after it was switched on. */
static void
explain_reboot_on (const PdHostdConfig *config, guint vmid)
{
  const PdVmPolicy *p = pd_hostd_config_policy (config, vmid);
  g_print (_ ("VM %u's reboots become cold restarts: when the guest reboots (desktop menu, "
              "`systemctl reboot`, `reboot`), its passdesk agent asks hostd, which shuts the VM "
              "down cleanly, keeps it off for %u s and starts it again, so every hook phase runs. "
              "The rate limits apply as to any cold restart; a reboot they refuse stays a plain "
              "reboot in place. A power off stays a power off.\n"),
           vmid, p->cool_off);
  g_print (_ ("VM %u's config is not changed for this: passdesk does not set `reboot: 0`, because "
              "with it a reboot while hostd is not running would leave the VM off. Without hostd "
              "or without the guest agent a reboot stays a plain reboot.\n"),
           vmid);
  if (!p->enabled)
    g_print (_ ("Note: cold restarts are disabled for VM %u (enabled=false), so hostd refuses its "
                "reboots too and they stay plain reboots until you set enabled=true.\n"),
             vmid);
}

static int
cmd_setup (PdHostdConfig *config, const char *conf_path, const char *vmid_text, gboolean remove,
           gboolean dry_run, RebootChange reboot)
{
  guint vmid;
  if (!pd_vmid_parse (vmid_text, &vmid))
    {
      g_printerr (_ ("passdesk-hostd setup: \"%s\" is not a VMID (a number from %u to %u).\n"),
                  vmid_text, PD_VMID_MIN, PD_VMID_MAX);
      return EXIT_USAGE;
    }
  if (remove)
    reboot = REBOOT_OFF; /* without the channel nothing could convert a reboot */
  char id[16];
  g_snprintf (id, sizeof id, "%u", vmid);
  const char *get_args[] = { "config", id, NULL };
  g_autoptr (PdQmResult) r = qm_sync (config, get_args);
  if (r->outcome != PD_QM_EXITED || r->exit_status != 0)
    {
      g_autofree char *why = qm_failure (r);
      g_printerr (_ ("passdesk-hostd setup: `%s config %u` did not work: %s. Check that VM %u "
                     "exists (`qm list`).\n"),
                  config->qm, vmid, why, vmid);
      return EXIT_PROBLEM;
    }
  PdSetupPlan plan;
  g_autofree char *old_args = NULL, *new_args = NULL;
  g_autoptr (GError) error = NULL;
  gboolean planned
      = remove ? pd_setup_plan_remove (r->output, vmid, &plan, &old_args, &new_args, &error)
               : pd_setup_plan (r->output, vmid, config->socket_dir, &plan, &old_args, &new_args,
                                &error);
  if (!planned)
    {
      g_printerr ("passdesk-hostd setup: %s\n", error->message);
      return EXIT_PROBLEM;
    }

  /* The reboot conversion lives in hostd.conf, planned before anything runs. */
  g_autofree char *conf_old = NULL, *conf_new = NULL;
  gboolean conf_existed = FALSE;
  if (reboot != REBOOT_KEEP)
    {
      if (!read_conf (conf_path, &conf_old, &conf_existed, &error)
          || !pd_setup_conf_reboot_cold (conf_old, vmid, reboot == REBOOT_ON, &conf_new, &error))
        {
          g_printerr ("passdesk-hostd setup: %s: %s\n", conf_path, error->message);
          return EXIT_PROBLEM;
        }
    }

  /* Nothing left of args: delete the key rather than leave an empty value. */
  gboolean change_args = plan == PD_SETUP_CHANGE;
  gboolean delete_args = change_args && *new_args == '\0';
  if (!change_args && remove)
    g_print (_ ("VM %u has no passdesk channel in its args; nothing to change there.\n"), vmid);
  else if (!change_args)
    g_print (_ ("VM %u already has the passdesk channel in its args; nothing to change there.\n"),
             vmid);
  else
    g_print ("VM %u args\n  before: %s\n  after:  %s\n", vmid, old_args ? old_args : "(none)",
             delete_args ? "(none)" : new_args);
  if (conf_new)
    g_print (_ ("%s: [vm %u] %s=true %s\n"), conf_path, vmid, PD_CONFIG_KEY_REBOOT_COLD,
             reboot == REBOOT_ON ? _ ("is added") : _ ("is taken out"));
  else if (reboot == REBOOT_ON)
    g_print (_ ("%s already turns VM %u's reboots into cold restarts; nothing to change there.\n"),
             conf_path, vmid);
  else if (reboot == REBOOT_OFF && !remove)
    g_print (_ ("%s does not turn VM %u's reboots into cold restarts; nothing to change there.\n"),
             conf_path, vmid);
  if (reboot == REBOOT_ON && pd_setup_vm_has_no_reboot (r->output))
    g_print (_ ("Note: VM %u's config has `reboot: 0`, set outside passdesk: QEMU then exits on a "
                "guest reboot, and while hostd is not running nothing starts the VM again. The "
                "conversion does not need it; `qm set %u --delete reboot` takes it out (it takes "
                "effect at the next full stop and start).\n"),
             vmid, vmid);

  if (dry_run)
    {
      if (delete_args)
        g_print (_ ("Dry run: would run `%s set %u --delete args`.\n"), config->qm, vmid);
      else if (change_args)
        g_print (_ ("Dry run: would run `%s set %u --args '%s'`.\n"), config->qm, vmid, new_args);
      if (conf_new)
        g_print (_ ("Dry run: would write %s%s.\n"), conf_path,
                 conf_existed ? _ (" (keeping the old file as .old)") : "");
      g_print (_ ("Dry run: nothing was changed.\n"));
      return 0;
    }
  if (!change_args && conf_new == NULL)
    return 0;
  if (change_args)
    {
      const char *set_args[] = { "set", id, "--args", new_args, NULL };
      const char *delete_argv[] = { "set", id, "--delete", "args", NULL };
      g_autoptr (PdQmResult) s = qm_sync (config, delete_args ? delete_argv : set_args);
      if (s->outcome != PD_QM_EXITED || s->exit_status != 0)
        {
          g_autofree char *why = qm_failure (s);
          g_printerr (_ ("passdesk-hostd setup: `%s set %u %s` did not work: %s. Nothing was "
                         "changed.\n"),
                      config->qm, vmid, delete_args ? "--delete args" : "--args ...", why);
          return EXIT_PROBLEM;
        }
    }
  if (conf_new)
    {
      g_autofree char *kept = NULL;
      if (!write_conf (conf_path, conf_existed, conf_old, conf_new, &kept, &error))
        {
          g_printerr (_ ("passdesk-hostd setup: cannot write %s: %s. %s\n"), conf_path,
                      error->message,
                      change_args ? _ ("The VM's args were changed; the reboot setting was not: "
                                       "fix the cause and run setup again.")
                                  : _ ("Nothing was changed."));
          return EXIT_PROBLEM;
        }
      if (kept)
        g_print (_ ("The previous %s is kept as %s.\n"), conf_path, kept);
    }
  if (remove && change_args)
    g_print (_ ("Done. The channel is gone from VM %u's args; a running VM keeps it until its next "
                "full stop and start (`qm shutdown %u && qm start %u`).\n"),
             vmid, vmid, vmid);
  else if (change_args)
    print_next_steps (config, vmid);
  else
    g_print (_ ("Done.\n"));
  if (conf_new && reboot == REBOOT_ON)
    explain_reboot_on (config, vmid);
  else if (conf_new)
    g_print (
        _ ("VM %u's reboots are plain reboots in place again (no hook runs); the VM config was "
           "not touched.\n"),
        vmid);
  g_autofree char *undo
      = reboot == REBOOT_ON ? g_strdup_printf (
            _ (" To undo it: passdesk-hostd setup %u --no-reboot-as-cold-restart."), vmid)
                            : NULL;
  if (conf_new)
    g_print (_ ("hostd reads %s when it starts: run `systemctl restart passdesk-hostd` for this to "
                "take effect (the guest agent hears it when it reconnects; `passdesk-hostd status` "
                "shows whether it works).%s\n"),
             conf_path, undo ? undo : "");
  return 0;
}

/* ---- not on a Proxmox host ---- */

/* Every command works through qm or on VMs only Proxmox has: where qm is
 * missing, say where passdesk-hostd belongs instead of failing later with a
 * qm error that names a VM. */
static gboolean
check_qm_present (const PdHostdConfig *config)
{
  g_autoptr (GError) error = NULL;
  /* Only a missing qm means "not a Proxmox host"; one that cannot run now
   * still lets status report (and setup fails naming qm when it runs it). */
  if (pd_qm_check (config->qm, &error)
      || !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    return TRUE;
  g_printerr ("passdesk-hostd: %s\n", error->message);
  return FALSE;
}

/* ---- status ---- */

static char *
format_time (gint64 wall_us)
{
  if (wall_us <= 0)
    return g_strdup ("?");
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (wall_us / G_USEC_PER_SEC);
  return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

static gint
cmp_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

/* The "reboot:" line: whether the VM's reboots become cold restarts, and
 * if they are meant to, whether that works right now and what is missing. */
static void
print_reboot_line (const PdVmState *st, const PdVmPolicy *p, guint vmid, gboolean running,
                   gboolean conf_newer)
{
  if (!p->reboot_cold)
    {
      g_print (
          _ ("  reboot: a guest reboot stays a reboot in place (no hook runs); `passdesk-hostd "
             "setup %u --reboot-as-cold-restart` makes it a cold restart\n"),
          vmid);
      return;
    }
  const char *agent = st->guest_name ? st->guest_name : "?";
  g_print (_ ("  reboot: becomes a cold restart (cool-off %u s); "), p->cool_off);
  if (!running)
    g_print (_ ("not working now: hostd is not running, so a guest reboot is a plain reboot\n"));
  else if (conf_newer)
    g_print (_ ("may not be in force yet: hostd.conf changed after hostd started (`systemctl "
                "restart passdesk-hostd`)\n"));
  else if (!p->enabled)
    g_print (_ ("not working: cold restarts are disabled for this VM (enabled=false), so its "
                "reboots stay plain reboots\n"));
  else if (!st->connected)
    g_print (_ ("not working now: no guest agent is connected, so a guest reboot is a plain "
                "reboot\n"));
  else if (st->guest_reboot == PD_HOSTD_GUEST_REBOOT_YES)
    g_print (_ ("working: the guest agent (%s) converts reboots\n"), agent);
  else if (st->guest_reboot == PD_HOSTD_GUEST_REBOOT_NO)
    g_print (_ ("not working: the guest agent (%s) said it will not convert reboots (`passdesk "
                "status` in the guest says why)\n"),
             agent);
  else
    g_print (_ ("not working: the guest agent (%s) is too old to convert reboots; update the "
                "passdesk package in the guest\n"),
             agent);
}

static int
cmd_status (PdHostdConfig *config)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHostdState) state = pd_hostd_state_peek (config->state_dir, &error);
  if (state == NULL)
    {
      g_printerr ("passdesk-hostd status: %s\n", error->message);
      return EXIT_PROBLEM;
    }
  gboolean running = daemon_running (state);
  if (running)
    g_print ("passdesk-hostd: running (pid %" G_GINT64_FORMAT ")\n", state->daemon_pid);
  else
    g_print (_ ("passdesk-hostd: not running (start it with `systemctl start passdesk-hostd`)\n"));
  g_print (_ ("socket directory: %s\nqm: %s\n"), config->socket_dir, config->qm);
  /* A config edited after hostd started (setup --reboot-as-cold-restart)
   * is not what the running hostd serves. */
  struct stat conf_st;
  gboolean conf_newer
      = running && state->daemon_started > 0 && config->path && stat (config->path, &conf_st) == 0
        && (gint64) conf_st.st_mtim.tv_sec * G_USEC_PER_SEC + conf_st.st_mtim.tv_nsec / 1000
               > state->daemon_started;
  if (conf_newer)
    g_print (_ ("configuration: %s changed after hostd started; run `systemctl restart "
                "passdesk-hostd` to put it in force\n"),
             config->path);

  /* Every VM anyone knows of: a socket, a state record, a config group, and
   * a VM config with the channel (what setup wrote, before QEMU made a
   * socket of it and before any cycle). */
  g_autoptr (GArray) ids = pd_discovery_list (config->socket_dir);
  g_autoptr (GArray) known = pd_hostd_state_vmids (state);
  g_array_append_vals (ids, known->data, known->len);
  g_autoptr (GHashTable) set_up = pd_doctor_list_channel_vms (pd_doctor_root (NULL));
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, set_up);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      guint id = GPOINTER_TO_UINT (key);
      g_array_append_val (ids, id);
    }
  g_hash_table_iter_init (&it, config->vms);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      guint id = GPOINTER_TO_UINT (key);
      g_array_append_val (ids, id);
    }
  g_array_sort (ids, cmp_uint);
  guint shown = 0;
  gint64 now = g_get_real_time ();
  for (guint i = 0; i < ids->len; i++)
    {
      guint vmid = g_array_index (ids, guint, i);
      if (i > 0 && vmid == g_array_index (ids, guint, i - 1))
        continue;
      shown++;
      g_autofree char *sock = g_strdup_printf ("%s/%u.passdesk", config->socket_dir, vmid);
      gboolean has_socket = g_file_test (sock, G_FILE_TEST_EXISTS);
      PdVmState *st = pd_hostd_state_vm (state, vmid);
      const PdVmPolicy *p = pd_hostd_config_policy (config, vmid);
      g_autofree char *since = format_time (st->link_since);
      PdChannelConfig channel
          = GPOINTER_TO_INT (g_hash_table_lookup (set_up, GUINT_TO_POINTER (vmid)));
      g_autofree char *no_socket = NULL;
      if (channel == PD_CHANNEL_PENDING)
        no_socket = g_strdup_printf (
            _ ("set up, not yet active: the channel waits in the VM's pending changes until "
               "QEMU starts again (`qm shutdown %u && qm start %u`; a reboot inside the guest is "
               "not enough)"),
            vmid, vmid);
      else if (channel == PD_CHANNEL_CURRENT)
        no_socket = g_strdup_printf (_ ("set up, no channel socket: QEMU creates it when the VM "
                                        "starts (stopped? `qm start %u`)"),
                                     vmid);
      const char *link;
      if (!has_socket && no_socket)
        link = no_socket;
      else if (!has_socket)
        link = _ ("no channel socket (VM stopped, or not set up: passdesk-hostd setup VMID)");
      else if (running && st->connected)
        link = _ ("connected");
      else if (running)
        link = _ ("socket present, no handshake (is passdesk-agent running in the guest?)");
      else
        link = _ ("socket present, hostd not running");
      g_print ("\nVM %u\n  link:   %s", vmid, link);
      if (running && st->connected)
        g_print (_ (" since %s (guest agent %s)"), since, st->guest_name ? st->guest_name : "?");
      guint left, next;
      pd_vm_state_rate_budget (st, p, now, &left, &next);
      g_print (_ ("\n  policy: %s, cool-off %u s (guest may ask %u-%u), shutdown-timeout %u s, "
                  "on-timeout %s, at most 1 per %u s and %u a day\n"),
               p->enabled ? "enabled" : "disabled", p->cool_off, p->cool_off_min, p->cool_off_max,
               p->shutdown_timeout, pd_on_timeout_to_string (p->on_timeout), p->min_interval,
               p->max_per_day);
      print_reboot_line (st, p, vmid, running, conf_newer);
      if (next)
        g_print (_ ("  budget: %u left today, next allowed in %u s\n"), left, next);
      else
        g_print (_ ("  budget: %u left today, next allowed now\n"), left);
      if (st->cycle_running)
        {
          g_autofree char *t = format_time (st->cycle_started);
          g_print (_ ("  cycle:  running since %s, phase %s\n"), t,
                   pd_cycle_phase_to_string (st->phase));
        }
      else
        g_print (_ ("  cycle:  idle\n"));
      if (st->last)
        {
          g_autofree char *t = format_time (st->last->started);
          g_print ("  last:   %s, started %s, took %" G_GINT64_FORMAT " s: %s\n",
                   st->last->ok ? "ok" : "failed", t, (st->last->duration_ms + 500) / 1000,
                   st->last->message);
        }
      else
        g_print (_ ("  last:   no cycle yet\n"));
    }
  if (shown == 0)
    g_print (_ ("\nNo VMs: no channel sockets in %s, no VM config with the passdesk channel, "
                "and none in the state or config. Run `passdesk-hostd setup VMID` for your "
                "desktop VM.\n"),
             config->socket_dir);
  return 0;
}

/* ---- check-config ---- */

static void
print_policy (const char *group, const PdVmPolicy *p)
{
  g_print ("[%s]\nenabled=%s\ncool-off=%u\ncool-off-min=%u\ncool-off-max=%u\n"
           "shutdown-timeout=%u\non-timeout=%s\nmin-interval=%u\nmax-per-day=%u\n",
           group, p->enabled ? "true" : "false", p->cool_off, p->cool_off_min, p->cool_off_max,
           p->shutdown_timeout, pd_on_timeout_to_string (p->on_timeout), p->min_interval,
           p->max_per_day);
}

static int
cmd_check_config (PdHostdConfig *c)
{
  g_autoptr (GError) error = NULL;
  if (!pd_qm_check (c->qm, &error))
    {
      g_printerr (_ ("passdesk-hostd check-config: %s: %s\n"),
                  c->path ? c->path : "built-in defaults", error->message);
      return EXIT_PROBLEM;
    }
  g_print ("# %s: valid\n", c->path ? c->path : "built-in defaults");
  print_policy ("global", &c->defaults);
  g_print ("socket-dir=%s\nqm=%s\nstate-dir=%s\npoll-interval-ms=%u\nqm-timeout=%u\n"
           "start-lock-timeout=%u\nconfirm-timeout=%u\n",
           c->socket_dir, c->qm, c->state_dir, c->poll_interval_ms, c->qm_timeout,
           c->start_lock_timeout, c->confirm_timeout);
  g_autoptr (GList) keys = g_hash_table_get_keys (c->vms);
  for (GList *l = keys; l; l = l->next)
    {
      guint vmid = GPOINTER_TO_UINT (l->data);
      g_autofree char *g = g_strdup_printf ("vm %u", vmid);
      g_print ("\n");
      print_policy (g, pd_hostd_config_policy (c, vmid));
      g_print ("%s=%s\n", PD_CONFIG_KEY_REBOOT_COLD,
               pd_hostd_config_policy (c, vmid)->reboot_cold ? "true" : "false");
    }
  return 0;
}

int
main (int argc, char **argv)
{
  pd_i18n_init ();
  g_autofree char *config_path = NULL;
  g_autofree char *root = NULL;
  gboolean dry_run = FALSE, remove = FALSE, version = FALSE, json = FALSE;
  gboolean reboot_on = FALSE, reboot_off = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      N_ ("Configuration file (default /etc/passdesk/hostd.conf)"), N_ ("FILE") },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
      N_ ("setup: print the change, change nothing"), NULL },
    { "remove", 0, 0, G_OPTION_ARG_NONE, &remove,
      N_ ("setup: take the channel out of the VM's args"), NULL },
    { "reboot-as-cold-restart", 0, 0, G_OPTION_ARG_NONE, &reboot_on,
      N_ ("setup: the VM's reboots become cold restarts (hostd.conf)"), NULL },
    { "no-reboot-as-cold-restart", 0, 0, G_OPTION_ARG_NONE, &reboot_off,
      N_ ("setup: the VM's reboots stay reboots in place"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("doctor: print the findings as JSON"), NULL },
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root,
      N_ ("doctor: read the host's files below DIR (default $PASSDESK_HOST_ROOT or /)"),
      N_ ("DIR") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_ ("Print the version"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (
      "[run | setup [--remove] VMID [--[no-]reboot-as-cold-restart] | status | check-config | "
      "doctor [VMID...]]");
  g_option_context_set_summary (ctx, N_ ("The Proxmox host side of passdesk: serves the guests' "
                                         "hostlink channels and runs clean cold restarts (qm "
                                         "shutdown, cool-off, qm start)."));
  g_option_context_set_description (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_autoptr (GError) error = NULL;
  if (pd_terminal_handle_help (ctx, argc, argv))
    return 0;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("passdesk-hostd: %s (see --help)\n", error->message);
      return EXIT_USAGE;
    }
  if (version)
    {
      g_print ("passdesk-hostd %s\n", PACKAGE_VERSION);
      return 0;
    }
  const char *cmd = argc > 1 ? argv[1] : "run";
  int want_args = g_str_equal (cmd, "setup") ? 3 : 2;
  if (argc > 1 && argc != want_args && !g_str_equal (cmd, "doctor"))
    {
      g_printerr (_ ("passdesk-hostd: wrong number of arguments for \"%s\" (see --help)\n"), cmd);
      return EXIT_USAGE;
    }
  if (!g_str_equal (cmd, "run") && !g_str_equal (cmd, "setup") && !g_str_equal (cmd, "status")
      && !g_str_equal (cmd, "check-config") && !g_str_equal (cmd, "doctor"))
    {
      g_printerr (_ ("passdesk-hostd: unknown command \"%s\" (see --help)\n"), cmd);
      return EXIT_USAGE;
    }
  if ((dry_run || remove) && !g_str_equal (cmd, "setup"))
    {
      g_printerr (_ ("passdesk-hostd: --%s goes with setup only (see --help)\n"),
                  dry_run ? "dry-run" : "remove");
      return EXIT_USAGE;
    }
  if ((reboot_on || reboot_off) && !g_str_equal (cmd, "setup"))
    {
      g_printerr (
          _ ("passdesk-hostd: --%sreboot-as-cold-restart goes with setup only (see --help)\n"),
          reboot_on ? "" : "no-");
      return EXIT_USAGE;
    }
  if (reboot_on && (reboot_off || remove))
    {
      g_printerr (_ ("passdesk-hostd: --reboot-as-cold-restart cannot go with --%s (see --help)\n"),
                  reboot_off ? "no-reboot-as-cold-restart" : "remove");
      return EXIT_USAGE;
    }
  if ((json || root) && !g_str_equal (cmd, "doctor"))
    {
      g_printerr (_ ("passdesk-hostd: --json and --root go with doctor only (see --help)\n"));
      return EXIT_USAGE;
    }

  PdHostdConfig *config = pd_hostd_config_load (config_path ? config_path : PD_HOSTD_DEFAULT_CONFIG,
                                                config_path != NULL, &error);
  if (config == NULL)
    {
      g_printerr ("passdesk-hostd: %s\n", error->message);
      return EXIT_PROBLEM;
    }
  /* run and check-config check qm themselves (pd_qm_check, same words); the
   * doctor judges a machine without Proxmox itself and says what it could
   * not check there, which is what someone running it off the host needs. */
  if (!g_str_equal (cmd, "run") && !g_str_equal (cmd, "check-config")
      && !g_str_equal (cmd, "doctor") && !check_qm_present (config))
    {
      pd_hostd_config_free (config);
      return EXIT_PROBLEM;
    }
  if (g_str_equal (cmd, "run"))
    return cmd_run (config); /* takes config */

  g_autoptr (PdHostdConfig) owned = config;
  if (g_str_equal (cmd, "setup"))
    return cmd_setup (config, config_path ? config_path : PD_HOSTD_DEFAULT_CONFIG, argv[2], remove,
                      dry_run,
                      reboot_on    ? REBOOT_ON
                      : reboot_off ? REBOOT_OFF
                                   : REBOOT_KEEP);
  if (g_str_equal (cmd, "status"))
    return cmd_status (config);
  if (g_str_equal (cmd, "doctor"))
    return pd_doctor_command (config, argc - 2, argv + 2, json, root);
  return cmd_check_config (config);
}
