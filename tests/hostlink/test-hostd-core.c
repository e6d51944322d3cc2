/* test-hostd-core.c - passdesk-hostd's parts without the daemon: config
 * validation, the setup plan on the guide's VM configs, rate limits and the
 * state file, qm output parsing and the qm runner's deadline, and the
 * per-connection protocol core. */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "hostd-config.h"
#include "hostd-conn.h"
#include "hostd-file.h"
#include "hostd-qm.h"
#include "hostd-sched.h"
#include "hostd-setup.h"
#include "hostd-state.h"

static char *
fixture (const char *name)
{
  g_autofree char *path
      = g_build_filename (g_getenv ("PASSDESK_TEST_FIXTURES"), "hostd", name, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* ---- config ---- */

static void
test_config_defaults (void)
{
  g_autoptr (PdHostdConfig) c = pd_hostd_config_load ("/nonexistent/hostd.conf", FALSE, NULL);
  g_assert_nonnull (c);
  const PdVmPolicy *p = pd_hostd_config_policy (c, 100);
  g_assert_true (p->enabled);
  g_assert_cmpuint (p->cool_off, ==, 10);
  g_assert_cmpuint (p->shutdown_timeout, ==, 180);
  g_assert_cmpint (p->on_timeout, ==, PD_ON_TIMEOUT_FORCE_STOP);
  g_assert_cmpuint (p->min_interval, ==, 300);
  g_assert_cmpuint (p->max_per_day, ==, 6);
  g_assert_cmpstr (c->socket_dir, ==, "/run/qemu-server");
  g_assert_cmpstr (c->qm, ==, "/usr/sbin/qm");

  g_autoptr (GError) error = NULL;
  g_assert_null (pd_hostd_config_load ("/nonexistent/hostd.conf", TRUE, &error));
  g_assert_nonnull (strstr (error->message, "/nonexistent/hostd.conf"));
}

static void
test_config_vm_groups (void)
{
  const char *text = "[global]\ncool-off=20\non-timeout=leave-running\n"
                     "[vm 100]\nenabled=false\n"
                     "[vm 101]\nshutdown-timeout=60\non-timeout=force-stop\n"
                     "[vm 102]\nreboot-as-cold-restart=true\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHostdConfig) c = pd_hostd_config_load_data (text, strlen (text), "t.conf", &error);
  g_assert_no_error (error);
  /* A VM group starts from the global policy. */
  g_assert_false (pd_hostd_config_policy (c, 100)->enabled);
  g_assert_cmpuint (pd_hostd_config_policy (c, 100)->cool_off, ==, 20);
  g_assert_cmpint (pd_hostd_config_policy (c, 100)->on_timeout, ==, PD_ON_TIMEOUT_LEAVE_RUNNING);
  g_assert_cmpuint (pd_hostd_config_policy (c, 101)->shutdown_timeout, ==, 60);
  g_assert_cmpint (pd_hostd_config_policy (c, 101)->on_timeout, ==, PD_ON_TIMEOUT_FORCE_STOP);
  /* Reboots become cold restarts only where a VM's group says so. */
  g_assert_true (pd_hostd_config_policy (c, 102)->reboot_cold);
  g_assert_false (pd_hostd_config_policy (c, 101)->reboot_cold);
  g_assert_false (c->defaults.reboot_cold);
  /* A VM without a group gets the global policy. */
  g_assert_true (pd_hostd_config_policy (c, 103)->enabled);
  g_assert_cmpuint (pd_hostd_config_policy (c, 103)->cool_off, ==, 20);
  g_assert_false (pd_hostd_config_policy (c, 103)->reboot_cold);
}

static void
test_config_errors (void)
{
  const struct
  {
    const char *text;
    const char *want;
  } cases[] = {
    { "[global]\ncool-off=-1\n", "[global] cool-off" },
    { "[global]\nshutdown-timeout=0\n", "[global] shutdown-timeout" },
    { "[global]\nenabled=yes\n", "[global] enabled" },
    { "[global]\nqm=qm\n", "[global] qm" },
    { "[vm 100]\nsocket-dir=/tmp\n", "belongs in [global]" },
    { "[global]\nreboot-as-cold-restart=true\n", "belongs in a VM's group ([vm VMID])" },
    { "[vm 100]\nreboot-as-cold-restart=1\n", "[vm 100] reboot-as-cold-restart" },
    { "[vm 99]\n", "unknown group [vm 99]" },
    { "[vm abc]\n", "unknown group [vm abc]" },
    { "[vms 100]\n", "unknown group" },
    { "[global]\ncooloff=1\n", "unknown key \"cooloff\"" },
    { "[vm 100]\ncool-off-max=3\n", "must lie within" },
    { "not a key file", "cannot be read as a key file" },
    { "[global]\ncool-off=7\n[vm 100]\ncool-off = 8\ncool-off=9\n",
      "[vm 100] sets \"cool-off\" twice (lines 4 and 5)" },
    { "[vm 100]\n[vm 101]\n[vm 100]\n", "group [vm 100] appears twice (lines 1 and 3)" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PdHostdConfig) c
          = pd_hostd_config_load_data (cases[i].text, strlen (cases[i].text), "x.conf", &error);
      g_assert_null (c);
      g_assert_nonnull (error);
      if (!strstr (error->message, cases[i].want) || !g_str_has_prefix (error->message, "x.conf"))
        g_error ("case %u: \"%s\" lacks \"%s\"", i, error->message, cases[i].want);
    }
}

static void
test_vmid_parse (void)
{
  guint v;
  g_assert_true (pd_vmid_parse ("100", &v));
  g_assert_cmpuint (v, ==, 100);
  g_assert_true (pd_vmid_parse ("999999999", &v));
  g_assert_false (pd_vmid_parse ("99", &v));
  g_assert_false (pd_vmid_parse ("0100", &v));
  g_assert_false (pd_vmid_parse ("1000000000", &v));
  g_assert_false (pd_vmid_parse ("100a", &v));
  g_assert_false (pd_vmid_parse ("", &v));
  g_assert_false (pd_vmid_parse ("-100", &v));
}

/* ---- setup ---- */

static void
test_setup_plan (void)
{
  g_autofree char *esprimo = fixture ("100.conf");
  PdSetupPlan plan;
  g_autofree char *old_args = NULL, *new_args = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (
      pd_setup_plan (esprimo, 100, "/run/qemu-server", &plan, &old_args, &new_args, &error));
  g_assert_cmpint (plan, ==, PD_SETUP_CHANGE);
  g_assert_null (old_args);
  g_assert_cmpstr (new_args, ==,
                   "-chardev socket,id=passdesk,path=/run/qemu-server/100.passdesk,server=on,"
                   "wait=off -device virtio-serial-pci,id=passdesk-serial -device "
                   "virtserialport,bus=passdesk-serial.0,chardev=passdesk,name=org.passdesk."
                   "hostlink.0,id=passdesk-port");

  /* Applied: idempotent. */
  g_autofree char *done = g_strdup_printf ("%sargs: %s\n", esprimo, new_args);
  g_autofree char *o2 = NULL, *n2 = NULL;
  g_assert_true (pd_setup_plan (done, 100, "/run/qemu-server", &plan, &o2, &n2, &error));
  g_assert_cmpint (plan, ==, PD_SETUP_ALREADY_DONE);

  /* Existing args kept verbatim in front. */
  g_autofree char *n100 = fixture ("101.conf");
  g_autofree char *with = g_strconcat (n100, "args: -cpu 'host,+kvm_pv_unhalt'\n", NULL);
  g_autofree char *o3 = NULL, *n3 = NULL;
  g_assert_true (pd_setup_plan (with, 101, "/run/qemu-server", &plan, &o3, &n3, &error));
  g_assert_cmpstr (o3, ==, "-cpu 'host,+kvm_pv_unhalt'");
  g_assert_true (g_str_has_prefix (n3, "-cpu 'host,+kvm_pv_unhalt' -chardev socket,id=passdesk,"));
  g_assert_nonnull (strstr (n3, "path=/run/qemu-server/101.passdesk"));

  /* Snapshot sections are not the current config. */
  g_autofree char *snap = g_strconcat (esprimo, "\n[before-gpu]\nargs: -foo\n", NULL);
  g_autofree char *o4 = NULL, *n4 = NULL;
  g_assert_true (pd_setup_plan (snap, 100, "/run/qemu-server", &plan, &o4, &n4, &error));
  g_assert_null (o4);
}

static void
test_setup_refuses (void)
{
  g_autofree char *esprimo = fixture ("100.conf");
  const char *bad[] = {
    "garbage line without colon\n",
    "args: -chardev socket,id=passdesk,path=/tmp/other.sock,server=on,wait=off\n",
    "args: -device virtio-serial-pci,id=passdesk-serial\n",
    "args: -cpu 'host\n",
    "args: -a\nargs: -b\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *text = g_strconcat (esprimo, bad[i], NULL);
      PdSetupPlan plan;
      g_autofree char *o = NULL, *n = NULL;
      g_autoptr (GError) error = NULL;
      if (pd_setup_plan (text, 100, "/run/qemu-server", &plan, &o, &n, &error))
        g_error ("case %u was accepted", i);
      g_assert_nonnull (strstr (error->message, "Nothing was changed"));
    }
  PdSetupPlan plan;
  g_autofree char *o = NULL, *n = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_false (pd_setup_plan ("", 100, "/run/qemu-server", &plan, &o, &n, &error));
}

/* setup --remove: the passdesk options go, every other byte of args stays. */
static void
test_setup_remove (void)
{
  g_autofree char *esprimo = fixture ("100.conf");
  g_autofree char *ours = pd_setup_channel_args (100, "/run/qemu-server");
  /* args = pre + the channel + post */
  struct
  {
    const char *pre, *post, *after;
  } cases[] = {
    /* only ours: nothing left, args must be deleted */
    { "", "", "" },
    /* ours after the admin's, with quotes and odd spacing kept */
    { "-cpu 'host,+kvm_pv_unhalt'  -smbios \"type=1,product=My Box\" ", "",
      "-cpu 'host,+kvm_pv_unhalt'  -smbios \"type=1,product=My Box\"" },
    /* ours in the middle, and a foreign -device that stays */
    { "-device usb-host,hostbus=1 ", " -no-hpet", "-device usb-host,hostbus=1 -no-hpet" },
    /* ours first */
    { "", " -cpu host", "-cpu host" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *args = g_strconcat (cases[i].pre, ours, cases[i].post, NULL);
      g_autofree char *text = g_strdup_printf ("%sargs: %s\n", esprimo, args);
      PdSetupPlan plan;
      g_autofree char *o = NULL, *n = NULL;
      g_autoptr (GError) error = NULL;
      g_assert_true (pd_setup_plan_remove (text, 100, &plan, &o, &n, &error));
      g_assert_cmpint (plan, ==, PD_SETUP_CHANGE);
      g_assert_cmpstr (o, ==, args);
      g_assert_cmpstr (n, ==, cases[i].after);
    }

  /* A channel the admin edited by hand (other path) still goes: it is ours by id. */
  g_autofree char *edited = g_strconcat (
      esprimo, "args: -chardev socket,id=passdesk,path=/tmp/x.sock,server=on -cpu host\n", NULL);
  PdSetupPlan plan;
  g_autofree char *o1 = NULL, *n1 = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (pd_setup_plan_remove (edited, 100, &plan, &o1, &n1, &error));
  g_assert_cmpstr (n1, ==, "-cpu host");

  /* No channel, no args: nothing to do. */
  g_autofree char *plain = g_strconcat (esprimo, "args: -cpu host\n", NULL);
  g_autofree char *o2 = NULL, *n2 = NULL;
  g_assert_true (pd_setup_plan_remove (plain, 100, &plan, &o2, &n2, &error));
  g_assert_cmpint (plan, ==, PD_SETUP_ALREADY_DONE);
  g_assert_null (n2);
  g_autofree char *o3 = NULL, *n3 = NULL;
  g_assert_true (pd_setup_plan_remove (esprimo, 100, &plan, &o3, &n3, &error));
  g_assert_cmpint (plan, ==, PD_SETUP_ALREADY_DONE);

  /* Unsplittable args and non-configs are refused. */
  g_autofree char *broken = g_strconcat (esprimo, "args: -cpu 'host\n", NULL);
  g_autofree char *o4 = NULL, *n4 = NULL;
  g_assert_false (pd_setup_plan_remove (broken, 100, &plan, &o4, &n4, &error));
  g_assert_nonnull (strstr (error->message, "Nothing was changed"));
  g_clear_error (&error);
  g_assert_false (pd_setup_plan_remove ("", 100, &plan, &o4, &n4, &error));
}

/* ---- rate limits and the state file ---- */

#define S(x) ((gint64) (x) *G_USEC_PER_SEC)

static void
test_rate_limits (void)
{
  g_autofree char *dir = g_dir_make_tmp ("hostd-state-XXXXXX", NULL);
  g_autoptr (PdHostdState) st = pd_hostd_state_load (dir, NULL);
  PdVmState *vm = pd_hostd_state_vm (st, 100);
  PdVmPolicy p = { .min_interval = 300, .max_per_day = 3 };
  gint64 t0 = S (1800000000);
  guint retry;
  g_assert_true (pd_vm_state_rate_allows (vm, &p, t0, &retry));
  pd_vm_state_note_cycle (vm, t0);
  g_assert_false (pd_vm_state_rate_allows (vm, &p, t0 + S (10), &retry));
  g_assert_cmpuint (retry, ==, 290);
  g_assert_true (pd_vm_state_rate_allows (vm, &p, t0 + S (300), &retry));
  pd_vm_state_note_cycle (vm, t0 + S (300));
  pd_vm_state_note_cycle (vm, t0 + S (600));
  /* Three in the day: the fourth waits for the first to leave the window. */
  g_assert_false (pd_vm_state_rate_allows (vm, &p, t0 + S (1000), &retry));
  g_assert_cmpuint (retry, ==, 86400 - 1000);
  guint left, next;
  pd_vm_state_rate_budget (vm, &p, t0 + S (1000), &left, &next);
  g_assert_cmpuint (left, ==, 0);
  g_assert_true (pd_vm_state_rate_allows (vm, &p, t0 + S (86400) + 1, &retry));
  pd_vm_state_rate_budget (vm, &p, t0 + S (86400) + 1, &left, &next);
  g_assert_cmpuint (left, ==, 1);
  g_assert_cmpuint (next, ==, 0);

  /* Saved and loaded: history, a running cycle and the last result. */
  vm->cycle_running = TRUE;
  vm->phase = PD_CYCLE_COOLING_OFF;
  vm->cycle_started = t0;
  vm->phase_since = t0 + S (5);
  vm->cool_off = 12;
  PdCycleResult r = { .vmid = 100,
                      .ok = FALSE,
                      .step = (char *) "start",
                      .message = (char *) "The VM could not be started; ünïcode, = and ;",
                      .started = t0,
                      .duration_ms = 61234 };
  pd_vm_state_set_result (vm, &r);
  g_assert_true (pd_hostd_state_save (st, NULL));
  g_autoptr (PdHostdState) back = pd_hostd_state_load (dir, NULL);
  PdVmState *b = pd_hostd_state_vm (back, 100);
  g_assert_cmpuint (b->history->len, ==, 2); /* the first left the 24 h window */
  g_assert_true (b->cycle_running);
  g_assert_cmpint (b->phase, ==, PD_CYCLE_COOLING_OFF);
  g_assert_cmpint (b->phase_since, ==, t0 + S (5));
  g_assert_cmpuint (b->cool_off, ==, 12);
  g_assert_false (b->last->ok);
  g_assert_cmpstr (b->last->step, ==, "start");
  g_assert_cmpstr (b->last->message, ==, r.message);
  g_assert_cmpint (b->last->duration_ms, ==, 61234);

  /* Rate figures for the guest: allowed now is 0 or 1, the day's budget apart. */
  guint now_left, day_left, next_in;
  pd_vm_state_rate_figures (b, &p, t0 + S (86400) + 1, &now_left, &day_left, &next_in);
  g_assert_cmpuint (now_left, ==, 1);
  g_assert_cmpuint (day_left, ==, 1);
  g_assert_cmpuint (next_in, ==, 0);
  pd_vm_state_rate_figures (b, &p, t0 + S (700), &now_left, &day_left, &next_in);
  g_assert_cmpuint (now_left, ==, 0);
  g_assert_cmpuint (day_left, ==, 1);
  g_assert_cmpuint (next_in, ==, 200);

  /* Serial numbers: kept; a file from before them numbers its result 1 and
   * gives a cycle in flight the next number. */
  b->serial = 7;
  b->last->serial = 6;
  g_assert_true (pd_hostd_state_save (back, NULL));
  g_autoptr (PdHostdState) again = pd_hostd_state_load (dir, NULL);
  PdVmState *a = pd_hostd_state_vm (again, 100);
  g_assert_cmpuint (a->serial, ==, 7);
  g_assert_cmpuint (a->last->serial, ==, 6);
  g_autofree char *old_path = g_build_filename (dir, "hostd-state", NULL);
  g_assert_true (g_file_set_contents (old_path,
                                      "[vm 100]\ncycle-phase=starting\nlast-outcome=ok\n"
                                      "last-message=x\n",
                                      -1, NULL));
  g_autoptr (PdHostdState) old = pd_hostd_state_load (dir, NULL);
  PdVmState *o = pd_hostd_state_vm (old, 100);
  g_assert_cmpuint (o->last->serial, ==, 1);
  g_assert_cmpuint (o->serial, ==, 2);

  /* A corrupt file is kept aside, never lost, and the state starts empty. */
  g_autofree char *path = g_build_filename (dir, "hostd-state", NULL);
  g_assert_true (g_file_set_contents (path, "\x01\x02 not a key file [", -1, NULL));
  /* It warns (structured logging: g_test_expect_message cannot catch it). */
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_autoptr (PdHostdState) fresh = pd_hostd_state_load (dir, NULL);
  g_log_set_always_fatal (fatal);
  g_assert_nonnull (fresh);
  g_assert_cmpuint (g_hash_table_size (fresh->vms), ==, 0);
  g_autofree char *aside = g_strconcat (path, ".corrupt", NULL);
  g_assert_true (g_file_test (aside, G_FILE_TEST_EXISTS));
  g_unlink (aside);
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- qm output and the runner ---- */

static void
test_qm_parse (void)
{
  g_autofree char *a = pd_qm_parse_status ("status: running\n");
  g_assert_cmpstr (a, ==, "running");
  /* qemu-server's line for a VM whose QEMU is gone, as a whole line only. */
  g_assert_true (pd_qm_output_says_not_running ("VM 100 not running\n\n", 100));
  g_assert_true (pd_qm_output_says_not_running ("trying...\nVM 100 not running", 100));
  g_assert_false (pd_qm_output_says_not_running ("VM 1000 not running\n", 100));
  g_assert_false (pd_qm_output_says_not_running ("VM 100 not running anymore\n", 100));
  g_assert_false (pd_qm_output_says_not_running (NULL, 100));
  g_autofree char *b = pd_qm_parse_status ("noise\nstatus: stopped\n");
  g_assert_cmpstr (b, ==, "stopped");
  g_assert_null (pd_qm_parse_status ("status: \n"));
  g_assert_null (pd_qm_parse_status ("status: RUNNING\n"));
  g_assert_null (pd_qm_parse_status ("status: running!!\n"));
  g_assert_null (pd_qm_parse_status ("\x89PNG garbage"));
  g_assert_true (pd_qm_output_says_locked (
      "trying to acquire lock...\ncan't lock file '/var/lock/qemu-server/lock-100.conf' - got "
      "timeout\n"));
  g_assert_false (pd_qm_output_says_locked ("VM 100 already running\n"));
  g_autofree char *s = pd_qm_output_summary ("first\nlast \x01 line\n\n", 100);
  g_assert_cmpstr (s, ==, "last ? line");
}

typedef struct
{
  GMainLoop *loop;
  PdQmResult *r;
} Wait;

static void
on_done (PdQmResult *r, gpointer data)
{
  Wait *w = data;
  w->r = r;
  g_main_loop_quit (w->loop);
}

static PdQmResult *
run_sync (const char *prog, const char *const *args, guint timeout_ms)
{
  Wait w = { g_main_loop_new (NULL, FALSE), NULL };
  pd_qm_run (prog, args, timeout_ms, on_done, &w);
  g_main_loop_run (w.loop);
  g_main_loop_unref (w.loop);
  return w.r;
}

static void
test_qm_runner (void)
{
  /* Exit status and output. */
  const char *a1[] = { "-c", "echo status: running; echo oops >&2; exit 3", NULL };
  g_autoptr (PdQmResult) r1 = run_sync ("/bin/sh", a1, 5000);
  g_assert_cmpint (r1->outcome, ==, PD_QM_EXITED);
  g_assert_cmpint (r1->exit_status, ==, 3);
  g_assert_cmpstr (r1->output, ==, "status: running\noops\n");

  /* Hanging, with a grandchild holding the pipe: the group is killed at the deadline. */
  const char *a2[] = { "-c", "sleep 60 & sleep 60", NULL };
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (PdQmResult) r2 = run_sync ("/bin/sh", a2, 300);
  g_assert_cmpint (r2->outcome, ==, PD_QM_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);

  /* Garbage: bounded. */
  const char *a3[] = { "-c", "head -c 1000000 /dev/urandom", NULL };
  g_autoptr (PdQmResult) r3 = run_sync ("/bin/sh", a3, 5000);
  g_assert_cmpint (r3->outcome, ==, PD_QM_EXITED);
  g_assert_cmpint (r3->exit_status, ==, 0);

  /* Missing program. */
  const char *a4[] = { "status", "100", NULL };
  g_autoptr (PdQmResult) r4 = run_sync ("/nonexistent/qm", a4, 5000);
  g_assert_cmpint (r4->outcome, ==, PD_QM_SPAWN_FAILED);
}

/* --reboot-as-cold-restart: hostd.conf edited in place, every other byte kept. */
static void
test_setup_conf_reboot (void)
{
  struct
  {
    const char *before;
    gboolean on;
    const char *after; /* NULL: nothing to change */
  } cases[] = {
    /* No file yet, or one without the VM's group: the group is added at the end. */
    { NULL, TRUE, "[vm 100]\nreboot-as-cold-restart=true\n" },
    { "# mine\n[global]\ncool-off=20", TRUE,
      "# mine\n[global]\ncool-off=20\n\n[vm 100]\nreboot-as-cold-restart=true\n" },
    /* The group is there: the key goes after its last line. */
    { "[vm 100]\nenabled = true\n# note\n\n[vm 101]\nenabled=false\n", TRUE,
      "[vm 100]\nenabled = true\n# note\nreboot-as-cold-restart=true\n\n[vm "
      "101]\nenabled=false\n" },
    { "[vm 101]\n[vm 100]\n", TRUE, "[vm 101]\n[vm 100]\nreboot-as-cold-restart=true\n" },
    /* Set to false by hand: replaced; already on: nothing to do. */
    { "[vm 100]\nreboot-as-cold-restart = false\ncool-off=5\n", TRUE,
      "[vm 100]\nreboot-as-cold-restart=true\ncool-off=5\n" },
    { "[vm 100]\n reboot-as-cold-restart = true \n", TRUE, NULL },
    /* Off: the line goes; the group too when setup made it, with its blank line. */
    { "[global]\ncool-off=20\n\n[vm 100]\nreboot-as-cold-restart=true\n", FALSE,
      "[global]\ncool-off=20\n" },
    { "[vm 100]\nenabled=false\nreboot-as-cold-restart=true\n[vm 101]\n", FALSE,
      "[vm 100]\nenabled=false\n[vm 101]\n" },
    { "[vm 100]\n# kept for later\nreboot-as-cold-restart=true\n", FALSE,
      "[vm 100]\n# kept for later\n" },
    { "[vm 101]\nreboot-as-cold-restart=true\n", FALSE, NULL },
    { NULL, FALSE, NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = NULL;
      g_autoptr (GError) error = NULL;
      g_assert_true (pd_setup_conf_reboot_cold (cases[i].before, 100, cases[i].on, &out, &error));
      g_assert_no_error (error);
      if (g_strcmp0 (out, cases[i].after) != 0)
        g_error ("case %u: got \"%s\", want \"%s\"", i, out, cases[i].after);
    }
  /* A [global] key that makes the result invalid is not written over. */
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_false (pd_setup_conf_reboot_cold ("[global]\nfrob=1\n", 100, TRUE, &out, &error));
  g_assert_null (out);
  g_assert_nonnull (strstr (error->message, "Nothing was changed"));

  g_assert_true (pd_setup_vm_has_no_reboot ("boot: order=scsi0\nreboot: 0\n"));
  g_assert_false (pd_setup_vm_has_no_reboot ("reboot: 1\n"));
  g_assert_false (pd_setup_vm_has_no_reboot ("boot: c\n[snap]\nreboot: 0\n"));
}

/* ---- the connection core ---- */

typedef struct
{
  PdVmPolicy policy;
  guint next_allowed_in;
  gboolean running;
  gboolean shutdown_started;
  guint32 request;
  guint restarts;
  guint last_cool_off;
  gboolean last_reboot;
} Host;

static void
host_view (gpointer data, PdHostdView *v)
{
  Host *h = data;
  v->host_name = "pve";
  v->vmid = 100;
  v->policy = h->policy;
  v->rate_left = h->next_allowed_in ? 0 : 1;
  v->day_left = 6;
  v->next_allowed_in = h->next_allowed_in;
  v->cycle = h->running ? "shutting-down" : "idle";
  v->vm_state = "running";
}

static gboolean
host_restart (gpointer data, guint32 id, guint cool_off, const char *reason, gboolean reboot,
              char **why)
{
  Host *h = data;
  h->restarts++;
  h->last_cool_off = cool_off;
  h->last_reboot = reboot;
  h->running = TRUE;
  h->request = id;
  return TRUE;
}

static PdHostdCancelResult
host_cancel (gpointer data, guint32 id)
{
  Host *h = data;
  if (!h->running || id != h->request)
    return PD_HOSTD_CANCEL_UNKNOWN;
  if (h->shutdown_started)
    return PD_HOSTD_CANCEL_TOO_LATE;
  h->running = FALSE;
  return PD_HOSTD_CANCEL_CANCELLED;
}

static const PdHostdConnOps host_ops = {
  .view = host_view,
  .restart = host_restart,
  .cancel = host_cancel,
};

/* Feeds @text, returns the decoded replies (verb + code or id) as one string. */
static char *
feed (PdHostdConn *c, const char *text, gboolean *keep)
{
  g_autoptr (GString) out = g_string_new (NULL);
  guint lines;
  gboolean k = pd_hostd_conn_feed (c, text, strlen (text), g_get_monotonic_time (), out, &lines);
  if (keep)
    *keep = k;
  GString *summary = g_string_new (NULL);
  g_auto (GStrv) ls = g_strsplit (out->str, "\n", -1);
  for (guint i = 0; ls[i]; i++)
    {
      if (*ls[i] == '\0')
        continue;
      g_autoptr (PdHlMessage) m = pd_hl_decode (ls[i], strlen (ls[i]), NULL, NULL);
      g_assert_nonnull (m);
      const char *code = pd_hl_message_get (m, "code");
      g_string_append_printf (summary, "%s%s %u%s%s", summary->len ? "; " : "",
                              pd_hl_verb_to_string (m->verb), m->id, code ? " " : "",
                              code ? code : "");
    }
  return g_string_free (summary, FALSE);
}

static void
test_conn_core (void)
{
  Host h = { .policy = { .enabled = TRUE,
                         .cool_off = 10,
                         .cool_off_min = 5,
                         .cool_off_max = 120,
                         .shutdown_timeout = 180,
                         .min_interval = 300,
                         .max_per_day = 6 } };
  g_autoptr (PdHostdConn) c = pd_hostd_conn_new (&host_ops, &h);
  g_autoptr (GString) out = g_string_new (NULL);
  pd_hostd_conn_start (c, out);
  g_assert_true (g_str_has_prefix (out->str, "\nHELLO 1 proto=2 proto-min=1 host=pve vmid=100 "));

  /* The first partial line is dropped; nothing is acted on before READY. */
  g_autofree char *r0 = feed (c, "half a line from before\nRESTART 5\n", NULL);
  g_assert_cmpstr (r0, ==, "ERROR 5 not-ready");
  g_assert_cmpuint (h.restarts, ==, 0);
  g_autofree char *r1 = feed (c, "READY 1 proto=1 agent=0.1.0\nPING 2\n", NULL);
  g_assert_cmpstr (r1, ==, "PONG 2");
  g_assert_cmpstr (pd_hostd_conn_get_agent (c), ==, "0.1.0");

  g_autofree char *r2 = feed (c, "RESTART 3 cool-off=200\n", NULL);
  g_assert_cmpstr (r2, ==, "REFUSE 3 out-of-range");
  g_autofree char *r3 = feed (c, "RESTART 4 cool-off=7 reason=x\n", NULL);
  g_assert_cmpstr (r3, ==, "ACCEPT 4");
  g_assert_cmpuint (h.last_cool_off, ==, 7);
  /* CANCEL before the point of no return withdraws the request. */
  g_autofree char *r4a = feed (c, "RESTART 5\nCANCEL 6 request=4\n", NULL);
  g_assert_cmpstr (r4a, ==, "REFUSE 5 busy; OK 6; PROGRESS 4");
  g_assert_false (h.running);
  g_autofree char *r4b = feed (c, "RESTART 13\n", NULL);
  g_assert_cmpstr (r4b, ==, "ACCEPT 13");
  h.shutdown_started = TRUE;
  g_autofree char *r4 = feed (c, "CANCEL 6 request=13\nCANCEL 7 request=99\n", NULL);
  g_assert_cmpstr (r4, ==, "REFUSE 6 too-late; REFUSE 7 unknown-request");
  /* A host's verb from the guest is unexpected, whatever its arguments. */
  g_autofree char *r4c = feed (c, "HELLO 14\nACCEPT 15\n", NULL);
  g_assert_cmpstr (r4c, ==, "ERROR 14 unexpected; ERROR 15 unexpected");
  h.running = FALSE;
  h.next_allowed_in = 299;
  /* The budget changed since the HELLO (rate-left=1 then): the refusal is
   * followed by a HELLO with the figures as they are now; once only. */
  g_autofree char *r5 = feed (c, "RESTART 8\n", NULL);
  g_assert_cmpstr (r5, ==, "REFUSE 8 rate-limited; HELLO 2");
  g_autofree char *r5b = feed (c, "READY 2 proto=1\nRESTART 16\n", NULL);
  g_assert_cmpstr (r5b, ==, "REFUSE 16 rate-limited");
  h.policy.enabled = FALSE;
  g_autofree char *r6 = feed (c, "RESTART 9\n", NULL);
  g_assert_cmpstr (r6, ==, "REFUSE 9 disabled");
  g_assert_cmpuint (h.restarts, ==, 2);

  /* RESYNC: a new HELLO, and the handshake starts over. */
  g_autofree char *r7 = feed (c, "RESYNC 10\nPING 11\n", NULL);
  g_assert_cmpstr (r7, ==, "HELLO 3; ERROR 11 not-ready");
  g_autofree char *r8 = feed (c, "READY 3 proto=1\nSTATUS 12\n", NULL);
  g_assert_cmpstr (r8, ==, "STATUS-REPLY 12");

  /* Bad lines: errors, then the connection is closed. */
  gboolean keep = TRUE;
  guint errors = 0;
  for (guint i = 0; i < 40 && keep; i++)
    {
      g_autofree char *r = feed (c, "FROB 1\n", &keep);
      if (keep)
        {
          g_assert_cmpstr (r, ==, "ERROR 1 unknown-verb");
          errors++;
        }
    }
  g_assert_false (keep);
  g_assert_cmpuint (errors, <, 40);
}

/* Feeds @text, returns what the host wrote, undecoded. */
static char *
feed_raw (PdHostdConn *c, const char *text)
{
  GString *out = g_string_new (NULL);
  guint lines;
  g_assert_true (pd_hostd_conn_feed (c, text, strlen (text), g_get_monotonic_time (), out, &lines));
  return g_string_free (out, FALSE);
}

/* Issue 14: HELLO reboot-cold says whether the host converts this VM's
 * reboots; RESTART kind=reboot is served like any request when it does
 * (policy and rate limits included) and refused, naming the setup
 * option, when it does not; READY reboot-cold is what the agent said. */
static void
test_conn_reboot (void)
{
  Host h = { .policy = { .enabled = TRUE,
                         .cool_off = 10,
                         .cool_off_min = 5,
                         .cool_off_max = 120,
                         .shutdown_timeout = 180,
                         .min_interval = 300,
                         .max_per_day = 6 } };
  g_autoptr (PdHostdConn) c = pd_hostd_conn_new (&host_ops, &h);
  g_autoptr (GString) out = g_string_new (NULL);
  pd_hostd_conn_start (c, out);
  g_assert_nonnull (strstr (out->str, " reboot-cold=0"));
  /* (The LF ends whatever half line was there before.) */
  g_autofree char *r1 = feed (c, "\nREADY 1 proto=1 agent=0.1.0\n", NULL);
  g_assert_cmpint (pd_hostd_conn_get_guest_reboot (c), ==, PD_HOSTD_GUEST_REBOOT_UNSAID);
  g_assert_cmpuint (pd_hostd_conn_get_handshakes (c), ==, 1);

  /* The conversion is off: a reboot is refused and the guest reboots in place. */
  g_autofree char *r2 = feed_raw (c, "RESTART 3 kind=reboot reason=reboot\n");
  g_assert_true (g_str_has_prefix (r2, "REFUSE 3 code=disabled text="));
  g_assert_nonnull (strstr (r2, "setup%20100%20--reboot-as-cold-restart"));
  g_assert_nonnull (strstr (r2, "plain%20one"));
  g_autofree char *r3 = feed (c, "RESTART 4 kind=frob\n", NULL);
  g_assert_cmpstr (r3, ==, "REFUSE 4 bad-request");
  g_assert_cmpuint (h.restarts, ==, 0);
  g_autofree char *r4 = feed (c, "RESTART 5 kind=request\n", NULL);
  g_assert_cmpstr (r4, ==, "ACCEPT 5");
  g_assert_false (h.last_reboot);

  /* On: HELLO says so; the agent's READY says it converts. */
  h.running = FALSE;
  h.policy.reboot_cold = TRUE;
  g_autofree char *r5 = feed_raw (c, "RESYNC 6\n");
  g_assert_nonnull (strstr (r5, "HELLO 2 "));
  g_assert_nonnull (strstr (r5, " reboot-cold=1"));
  g_autofree char *r6 = feed (c, "READY 2 proto=1 agent=0.2 reboot-cold=1\n", NULL);
  g_assert_cmpint (pd_hostd_conn_get_guest_reboot (c), ==, PD_HOSTD_GUEST_REBOOT_YES);
  g_assert_cmpuint (pd_hostd_conn_get_handshakes (c), ==, 2);
  g_autofree char *r7 = feed_raw (c, "RESTART 7 kind=reboot reason=reboot\n");
  g_assert_true (g_str_has_prefix (r7, "ACCEPT 7 cool-off=10 "));
  g_assert_nonnull (strstr (r7, "turns%20this%20reboot%20into%20a%20cold%20restart"));
  g_assert_true (h.last_reboot);
  g_assert_cmpuint (h.restarts, ==, 2);

  /* The same policy as any request: busy, rate limit, disabled. */
  g_autofree char *r8 = feed (c, "RESTART 8 kind=reboot\n", NULL);
  g_assert_cmpstr (r8, ==, "REFUSE 8 busy");
  h.running = FALSE;
  h.next_allowed_in = 120;
  g_autofree char *r9 = feed_raw (c, "RESTART 9 kind=reboot\n");
  g_assert_true (g_str_has_prefix (r9, "REFUSE 9 code=rate-limited "));
  g_assert_nonnull (strstr (r9, "retry-in=120"));
  h.next_allowed_in = 0;
  h.policy.enabled = FALSE;
  g_autofree char *r10 = feed (c, "RESTART 10 kind=reboot\n", NULL);
  g_assert_cmpstr (r10, ==, "REFUSE 10 disabled");
  g_assert_cmpuint (h.restarts, ==, 2);

  /* READY reboot-cold=0, or a value that is no boolean: it will not convert. */
  g_autofree char *r11 = feed (c, "RESYNC 11\nREADY 3 proto=1 reboot-cold=0\n", NULL);
  g_assert_cmpint (pd_hostd_conn_get_guest_reboot (c), ==, PD_HOSTD_GUEST_REBOOT_NO);
  g_autofree char *r12 = feed (c, "RESYNC 12\nREADY 4 proto=1 reboot-cold=yes\n", NULL);
  g_assert_cmpint (pd_hostd_conn_get_guest_reboot (c), ==, PD_HOSTD_GUEST_REBOOT_NO);
  /* Not ready (a RESYNC pending): nothing said. */
  g_autofree char *r13 = feed (c, "RESYNC 13\n", NULL);
  g_assert_cmpint (pd_hostd_conn_get_guest_reboot (c), ==, PD_HOSTD_GUEST_REBOOT_UNSAID);
}

static void
test_config_nul (void)
{
  static const char text[] = "[global]\ncool-off=10\0junk\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (PdHostdConfig) c = pd_hostd_config_load_data (text, sizeof text - 1, "x.conf", &error);
  g_assert_null (c);
  g_assert_nonnull (strstr (error->message, "x.conf: line 2 holds a NUL byte"));
}

static void
test_file_bounded (void)
{
  g_autofree char *dir = g_dir_make_tmp ("hostd-file-XXXXXX", NULL);
  g_autofree char *reg = g_build_filename (dir, "reg", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  g_autofree char *link = g_build_filename (dir, "link", NULL);
  g_assert_true (g_file_set_contents (reg, "0123456789", 10, NULL));
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (symlink ("/dev/zero", link), ==, 0);

  char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) e1 = NULL;
  g_assert_true (pd_file_read_bounded (reg, 10, &data, &len, &e1));
  g_assert_cmpuint (len, ==, 10);
  g_free (data);
  g_autoptr (GError) e2 = NULL;
  g_assert_false (pd_file_read_bounded (reg, 9, &data, &len, &e2));
  g_assert_true (g_error_matches (e2, G_FILE_ERROR, G_FILE_ERROR_FAILED));
  /* A FIFO with no writer: refused at once, no hang. */
  g_autoptr (GError) e3 = NULL;
  g_assert_false (pd_file_read_bounded (fifo, 1024, &data, &len, &e3));
  g_assert_true (g_error_matches (e3, G_FILE_ERROR, G_FILE_ERROR_INVAL));
  g_assert_nonnull (strstr (e3->message, "is a FIFO"));
  g_autoptr (GError) e4 = NULL;
  g_assert_false (pd_file_read_bounded (link, 1024, &data, &len, &e4));
  g_assert_nonnull (strstr (e4->message, "is a character device"));
  g_autoptr (GError) e5 = NULL;
  g_assert_false (pd_file_read_bounded (dir, 1024, &data, &len, &e5));
  g_assert_nonnull (strstr (e5->message, "is a directory"));
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autoptr (GError) e6 = NULL;
  g_assert_false (pd_file_read_bounded (missing, 1024, &data, &len, &e6));
  g_assert_true (g_error_matches (e6, G_FILE_ERROR, G_FILE_ERROR_NOENT));
  g_unlink (reg);
  g_unlink (fifo);
  g_unlink (link);
  g_rmdir (dir);
}

/* The overall budget: flooding clients share its time and wait in line,
 * longer the more of them wait; a light client is served from its own purse
 * even when the budget is spent. */
static void
test_sched (void)
{
  /* 10 % of the wall clock, 1 ms at once. */
  g_autoptr (PdSched) s = pd_sched_new (0.1, 1000);
  gint64 now = 1000000;
  PdSchedClient flood[4], light;
  for (guint i = 0; i < 4; i++)
    pd_sched_client_init (&flood[i], now);
  pd_sched_client_init (&light, now);
  /* Each flooder's lines cost 500 µs a grant: the 1 ms burst pays two
   * grants of 64 lines; then each is served from its own purse (20 lines,
   * 4 at a time) and then waits. */
  guint wait = 0, grants = 0, lines = 0;
  for (guint round = 0; round < 50; round++)
    for (guint i = 0; i < 4; i++)
      {
        guint g = pd_sched_grant (s, &flood[i], PD_SCHED_GRANT_MAX, now, &wait);
        g_assert_cmpuint (g, <=, PD_SCHED_GRANT_MAX);
        grants += g > 0;
        lines += g;
        if (g)
          pd_sched_charge (s, &flood[i], g, 500, now);
      }
  g_assert_cmpuint (grants, ==, 2 + 4 * (guint) PD_SCHED_LIGHT_PER_S / PD_SCHED_LIGHT_GRANT_MAX);
  g_assert_cmpuint (lines, ==, 2 * PD_SCHED_GRANT_MAX + 4 * (guint) PD_SCHED_LIGHT_PER_S);
  g_assert_cmpuint (pd_sched_get_waiters (s), ==, 4);
  /* Four waiters: each waits for about four grants' time at 10 %. */
  g_assert_cmpuint (pd_sched_grant (s, &flood[0], PD_SCHED_GRANT_MAX, now, &wait), ==, 0);
  g_assert_cmpuint (wait, >=, 5);
  g_assert_cmpuint (wait, <=, 60);
  /* The light client still gets its lines. */
  g_assert_cmpuint (pd_sched_grant (s, &light, 3, now, &wait), ==, 3);
  pd_sched_charge (s, &light, 3, 30, now);
  /* Time refills the budget; a served client leaves the line. */
  now += G_USEC_PER_SEC / 10;
  g_assert_cmpuint (pd_sched_grant (s, &flood[1], PD_SCHED_GRANT_MAX, now, &wait), ==,
                    PD_SCHED_GRANT_MAX);
  g_assert_cmpuint (pd_sched_get_waiters (s), ==, 3);
  for (guint i = 0; i < 4; i++)
    pd_sched_client_clear (s, &flood[i]);
  g_assert_cmpuint (pd_sched_get_waiters (s), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostd/config/defaults", test_config_defaults);
  g_test_add_func ("/hostd/config/vm-groups", test_config_vm_groups);
  g_test_add_func ("/hostd/config/errors", test_config_errors);
  g_test_add_func ("/hostd/config/nul", test_config_nul);
  g_test_add_func ("/hostd/file/bounded", test_file_bounded);
  g_test_add_func ("/hostd/sched/fair-share", test_sched);
  g_test_add_func ("/hostd/config/vmid", test_vmid_parse);
  g_test_add_func ("/hostd/setup/plan", test_setup_plan);
  g_test_add_func ("/hostd/setup/refuses", test_setup_refuses);
  g_test_add_func ("/hostd/setup/remove", test_setup_remove);
  g_test_add_func ("/hostd/setup/conf-reboot", test_setup_conf_reboot);
  g_test_add_func ("/hostd/state/rate-limits-and-file", test_rate_limits);
  g_test_add_func ("/hostd/qm/parse", test_qm_parse);
  g_test_add_func ("/hostd/qm/runner", test_qm_runner);
  g_test_add_func ("/hostd/conn/core", test_conn_core);
  g_test_add_func ("/hostd/conn/reboot", test_conn_reboot);
  return g_test_run ();
}
