/* test-guest-component.c - the `hostlink` component's words
 * (agent/guest/guest-component.c) for every link state and for the host's
 * facts from HELLO (PdHostInfo), and the `host` component's words
 * (agent/guest/host-component.c) from the host doctor's summary: no port,
 * no protocol. */
#include <gio/gio.h>
#include <string.h>

#include "guest-private.h"

#define PORT "/dev/virtio-ports/org.passdesk.hostlink.0"

static PdComponent *
word (PdGuestLinkState state, const char *error, gboolean silent, const PdHostInfo *host)
{
  PdGuestLinkView v
      = { .state = state, .port_path = PORT, .open_error = error, .silent = silent, .host = host };
  PdComponent *c = pd_guest_component_new (&v);
  g_assert_cmpint (c->id, ==, PD_COMPONENT_HOSTLINK);
  return c;
}

static gboolean
has_advice_command (PdComponent *c, const char *command)
{
  for (guint i = 0; i < c->advice->len; i++)
    if (g_strcmp0 (((PdAdvice *) g_ptr_array_index (c->advice, i))->command, command) == 0)
      return TRUE;
  return FALSE;
}

static void
test_link_states (void)
{
  g_autoptr (PdComponent) stopped = word (PD_GUEST_LINK_STOPPED, NULL, FALSE, NULL);
  g_assert_cmpint (stopped->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpstr (stopped->summary, ==, "Not checked yet");

  g_autoptr (PdComponent) none = word (PD_GUEST_LINK_NO_PORT, NULL, FALSE, NULL);
  g_assert_cmpint (none->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpstr (none->summary, ==, "No host channel configured");
  g_assert_cmpstr (pd_component_get_detail (none, "port"), ==, PORT);
  g_assert_true (has_advice_command (none, "passdesk-hostd setup VMID"));

  g_autoptr (PdComponent) err = word (PD_GUEST_LINK_OPEN_ERROR, "Permission denied", FALSE, NULL);
  g_assert_cmpint (err->state, ==, PD_STATE_FAILED);
  g_assert_cmpstr (err->summary, ==, "The host channel cannot be opened");
  g_assert_cmpstr (pd_component_get_detail (err, "error"), ==, "Permission denied");
  g_assert_true (has_advice_command (err, "systemctl status passdesk-agent"));

  g_autoptr (PdComponent) busy = word (PD_GUEST_LINK_BUSY, NULL, FALSE, NULL);
  g_assert_cmpint (busy->state, ==, PD_STATE_DEGRADED);
  g_assert_cmpstr (busy->summary, ==, "The host channel is in use by another program");
  g_assert_cmpstr (pd_component_get_detail (busy, "error"), ==, "busy");
  g_assert_true (has_advice_command (busy, "fuser -v " PORT));

  g_autoptr (PdComponent) disc = word (PD_GUEST_LINK_DISCONNECTED, NULL, FALSE, NULL);
  g_assert_cmpint (disc->state, ==, PD_STATE_DEGRADED);
  g_assert_cmpstr (disc->summary, ==, "Host helper not connected");
  g_assert_true (has_advice_command (disc, "systemctl enable --now passdesk-hostd"));
  g_assert_true (has_advice_command (disc, "passdesk-hostd setup VMID"));

  g_autoptr (PdComponent) wait = word (PD_GUEST_LINK_WAIT_HELLO, NULL, FALSE, NULL);
  g_assert_cmpint (wait->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpstr (wait->summary, ==, "Host helper connected, waiting for its greeting");
  g_assert_cmpuint (wait->advice->len, ==, 0);

  g_autoptr (PdComponent) silent = word (PD_GUEST_LINK_WAIT_HELLO, NULL, TRUE, NULL);
  g_assert_cmpint (silent->state, ==, PD_STATE_DEGRADED);
  g_assert_cmpstr (silent->summary, ==, "The host side is connected but does not answer");
  g_assert_true (has_advice_command (silent, "systemctl restart passdesk-hostd"));
}

static PdHostInfo
host_info (void)
{
  return (PdHostInfo){ .host = (char *) "pve",
                       .vmid = 100,
                       .enabled = TRUE,
                       .cool_off_min = 5,
                       .cool_off_max = 120,
                       .cool_off_default = 10,
                       .rate_max = 3,
                       .rate_window = 3600,
                       .day_max = 6,
                       .rate_left = 2 };
}

static void
test_ready (void)
{
  PdHostInfo h = host_info ();
  g_autoptr (PdComponent) c = word (PD_GUEST_LINK_READY, NULL, FALSE, &h);
  g_assert_cmpint (c->state, ==, PD_STATE_OK);
  g_assert_cmpstr (c->summary, ==, "Connected to pve (VM 100)");
  g_assert_cmpstr (pd_component_get_detail (c, "host"), ==, "pve");
  g_assert_cmpstr (pd_component_get_detail (c, "vmid"), ==, "100");
  g_assert_cmpstr (pd_component_get_detail (c, "port"), ==, PORT);
  g_assert_cmpstr (pd_component_get_detail (c, "cold-restart"), ==, "allowed");
  g_assert_cmpstr (pd_component_get_detail (c, "cool-off"), ==, "10 s (allowed 5-120 s)");
  g_assert_cmpstr (pd_component_get_detail (c, "rate-limit"), ==,
                   "3 per 3600 s, 6 per day; 2 allowed now");
  g_assert_null (pd_component_get_detail (c, "next-allowed-in"));
  g_assert_cmpstr (pd_component_get_detail (c, "rate-left"), ==, "2");
  g_assert_null (pd_component_get_detail (c, "last-cycle"));
  g_assert_cmpuint (c->advice->len, ==, 0);
}

static void
test_ready_limited_disabled_failed (void)
{
  PdHostInfo h = host_info ();
  h.enabled = FALSE;
  h.rate_left = 1; /* one left in the window, but not before the minimum interval */
  h.next_allowed_in = 250;
  h.has_last = TRUE;
  h.last_ok = FALSE;
  h.has_last_time = TRUE;
  h.last_time = 1796000000; /* 2026-11-30 00:53:20 UTC */
  h.has_last_duration = TRUE;
  h.last_duration = 61;
  h.last_text = (char *) "The VM could not be started.";
  g_autoptr (PdComponent) c = word (PD_GUEST_LINK_READY, NULL, FALSE, &h);
  /* The link is fine: ok, with the failure in the summary. */
  g_assert_cmpint (c->state, ==, PD_STATE_OK);
  g_assert_cmpstr (c->summary, ==, "Connected to pve (VM 100); the last cold restart failed");
  g_assert_cmpstr (pd_component_get_detail (c, "cold-restart"), ==, "disabled on the host");
  g_assert_cmpstr (pd_component_get_detail (c, "rate-limit"), ==,
                   "3 per 3600 s, 6 per day; none allowed now");
  g_assert_cmpstr (pd_component_get_detail (c, "next-allowed-in"), ==, "250 s");
  /* Allowed right now: none before the minimum interval is over. */
  g_assert_cmpstr (pd_component_get_detail (c, "rate-left"), ==, "0");
  g_assert_cmpstr (pd_component_get_detail (c, "last-cycle"), ==,
                   "failed in 61 s, 2026-11-30 00:53: The VM could not be started.");
  g_assert_cmpuint (c->advice->len, ==, 1);

  h.last_ok = TRUE;
  h.has_last_time = FALSE;
  h.has_last_duration = FALSE;
  h.last_text = NULL;
  g_autoptr (PdComponent) ok = word (PD_GUEST_LINK_READY, NULL, FALSE, &h);
  g_assert_cmpstr (ok->summary, ==, "Connected to pve (VM 100)");
  g_assert_cmpstr (pd_component_get_detail (ok, "last-cycle"), ==, "ok");
}

/* Issue 14: what Restart will do, said before anyone presses it. */
static void
test_restart_words (void)
{
  PdHostInfo h = host_info ();
  g_autoptr (PdComponent) off = word (PD_GUEST_LINK_READY, NULL, FALSE, &h);
  g_assert_cmpstr (pd_component_get_detail (off, "reboot-cold"), ==, "no");
  g_assert_nonnull (strstr (pd_component_get_detail (off, "restart"),
                            "Restart is a plain restart: the host does not turn this VM's "
                            "reboots into cold restarts"));

  h.reboot_cold = TRUE;
  g_autoptr (PdComponent) on = word (PD_GUEST_LINK_READY, NULL, FALSE, &h);
  g_assert_cmpstr (pd_component_get_detail (on, "reboot-cold"), ==, "yes");
  g_assert_cmpstr (pd_component_get_detail (on, "restart"), ==,
                   "Restart will be a cold restart: the VM stays off for 10 s.");
  g_assert_cmpint (on->state, ==, PD_STATE_OK);
  g_assert_cmpuint (on->advice->len, ==, 0);

  /* The host would refuse it now: the rate limit, or disabled. */
  h.next_allowed_in = 240;
  h.rate_left = 0;
  g_autoptr (PdComponent) limited = word (PD_GUEST_LINK_READY, NULL, FALSE, &h);
  g_assert_cmpstr (pd_component_get_detail (limited, "reboot-cold"), ==, "later");
  g_assert_cmpstr (pd_component_get_detail (limited, "restart"), ==,
                   "Restart is a plain restart for now: the host allows the next cold restart "
                   "in 240 s.");
  h.next_allowed_in = 0;
  g_autoptr (PdComponent) spent = word (PD_GUEST_LINK_READY, NULL, FALSE, &h);
  g_assert_cmpstr (pd_component_get_detail (spent, "reboot-cold"), ==, "later");
  g_assert_nonnull (strstr (pd_component_get_detail (spent, "restart"), "rate limit"));
  h.rate_left = 1;
  h.enabled = FALSE;
  g_autoptr (PdComponent) disabled = word (PD_GUEST_LINK_READY, NULL, FALSE, &h);
  g_assert_cmpstr (pd_component_get_detail (disabled, "reboot-cold"), ==, "later");
  g_assert_cmpstr (pd_component_get_detail (disabled, "restart"), ==,
                   "Restart is a plain restart: cold restarts are disabled for this VM on the "
                   "host.");

  /* No host: nothing is said (the agent says after the reboot why it was plain). */
  g_autoptr (PdComponent) disc = word (PD_GUEST_LINK_DISCONNECTED, NULL, FALSE, NULL);
  g_assert_null (pd_component_get_detail (disc, "restart"));
  g_assert_null (pd_component_get_detail (disc, "reboot-cold"));
}

static void
test_unavailable (void)
{
  for (PdGuestLinkState s = PD_GUEST_LINK_STOPPED; s <= PD_GUEST_LINK_READY; s++)
    g_assert_nonnull (pd_guest_link_unavailable_reason (s));
  g_assert_cmpstr (pd_guest_link_unavailable_reason (PD_GUEST_LINK_WAIT_HELLO), ==,
                   "The host helper has not finished its greeting yet; try again in a few "
                   "seconds.");
}

/* --- the `host` component --- */

static PdComponent *
word_host (PdGuestLinkState state, guint32 proto, const PdHostInfo *host,
           const PdHostReport *report)
{
  PdGuestHostView v = { .state = state, .proto = proto, .host = host, .report = report };
  PdComponent *c = pd_host_component_new (&v);
  g_assert_cmpint (c->id, ==, PD_COMPONENT_HOST);
  return c;
}

static PdHlMessage *
decode (const char *line)
{
  g_autoptr (GError) error = NULL;
  PdHlMessage *m = pd_hl_decode (line, strlen (line), NULL, &error);
  g_assert_no_error (error);
  return m;
}

static PdHostReport *
report_from (const char *const *lines)
{
  g_autoptr (PdHlMessage) head = decode (lines[0]);
  PdHostReport *r = pd_host_report_new (head);
  for (guint i = 1; lines[i]; i++)
    {
      g_autoptr (PdHlMessage) m = decode (lines[i]);
      g_assert_true (pd_host_report_add_item (r, m));
    }
  return r;
}

static const PdAdvice *
advice_at (PdComponent *c, guint i)
{
  g_assert_cmpuint (i, <, c->advice->len);
  return g_ptr_array_index (c->advice, i);
}

static void
test_host_no_report (void)
{
  PdHostInfo info = { .host = (char *) "pve", .vmid = 100 };
  g_autoptr (PdComponent) none = word_host (PD_GUEST_LINK_NO_PORT, 0, NULL, NULL);
  g_assert_cmpint (none->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpstr (none->summary, ==, "No report from the host: its host helper is not connected");
  g_assert_true (has_advice_command (none, "passdesk-hostd doctor"));

  g_autoptr (PdComponent) waiting = word_host (PD_GUEST_LINK_READY, 2, &info, NULL);
  g_assert_cmpint (waiting->state, ==, PD_STATE_UNKNOWN);
  g_assert_true (g_str_has_prefix (waiting->summary, "Waiting for the host's report"));

  g_autoptr (PdComponent) old = word_host (PD_GUEST_LINK_READY, 1, &info, NULL);
  g_assert_cmpint (old->state, ==, PD_STATE_UNKNOWN);
  g_assert_cmpstr (old->summary, ==, "The host's passdesk-hostd is older and sends no host report");
  g_assert_true (has_advice_command (old, "systemctl restart passdesk-hostd"));
}

static void
test_host_report (void)
{
  PdHostInfo info = { .host = (char *) "pve", .vmid = 100 };
  static const char *const broken[] = {
    "HOST-REPORT 3 state=fail time=1796000000 ok=21 warn=1 fail=1 items=2",
    "HOST-ITEM 3 n=0 check=vm-hookscript vmid=100 state=fail text=VM%20100%27s%20hookscript%20is"
    "%20missing. fix=chmod%20+x%20/var/lib/vz/snippets/vm100-hooks.sh",
    "HOST-ITEM 3 n=1 check=network-reset vmid=0 state=warn text=Each%20VM%20stop%20resets%20host"
    "%20networking.",
    NULL,
  };
  g_autoptr (PdHostReport) r = report_from (broken);
  g_autoptr (PdComponent) c = word_host (PD_GUEST_LINK_READY, 2, &info, r);
  g_assert_cmpint (c->state, ==, PD_STATE_FAILED);
  g_assert_cmpstr (c->summary, ==, "The host doctor found 1 failed check and 1 warning");
  g_assert_cmpstr (pd_component_get_detail (c, "host"), ==, "pve");
  g_assert_cmpstr (pd_component_get_detail (c, "findings"), ==, "21 ok, 1 warning, 1 failed");
  g_assert_cmpstr (pd_component_get_detail (c, "problems"), ==,
                   "vm-hookscript (VM 100), network-reset (host)");
  g_assert_cmpstr (pd_component_get_detail (c, "report"), ==, "complete");
  g_assert_nonnull (pd_component_get_detail (c, "checked"));
  /* Each finding: the host's sentence, its fix as the command on the host. */
  g_assert_cmpuint (c->advice->len, ==, 3);
  g_assert_cmpstr (advice_at (c, 0)->text, ==,
                   "VM 100's hookscript is missing. On the Proxmox host:");
  g_assert_cmpstr (advice_at (c, 0)->command, ==, "chmod +x /var/lib/vz/snippets/vm100-hooks.sh");
  g_assert_cmpstr (advice_at (c, 1)->text, ==, "Each VM stop resets host networking.");
  g_assert_null (advice_at (c, 1)->command);
  g_assert_cmpstr (advice_at (c, 2)->command, ==, "passdesk-hostd doctor 100");
  g_assert_true (strstr (advice_at (c, 2)->text, "on the Proxmox host") != NULL);

  /* The host helper went away: the report stays, and says so. */
  g_autoptr (PdComponent) gone = word_host (PD_GUEST_LINK_DISCONNECTED, 0, NULL, r);
  g_assert_cmpint (gone->state, ==, PD_STATE_FAILED);
  g_assert_true (g_str_has_prefix (pd_component_get_detail (gone, "report"), "complete; the host "
                                                                             "helper is not "
                                                                             "connected now"));
  /* vmid from the findings when no HELLO is at hand. */
  g_assert_true (has_advice_command (gone, "passdesk-hostd doctor 100"));

  /* Cut off: what came is shown, and the report says what is missing. */
  static const char *const partial[] = {
    "HOST-REPORT 4 state=warn time=1796000000 ok=21 warn=2 fail=0 items=2",
    "HOST-ITEM 4 n=1 check=usb-hub vmid=100 state=warn text=Hub%20on%20USB%203.",
    NULL,
  };
  g_autoptr (PdHostReport) p = report_from (partial);
  g_autoptr (PdComponent) cut = word_host (PD_GUEST_LINK_DISCONNECTED, 0, NULL, p);
  g_assert_cmpint (cut->state, ==, PD_STATE_DEGRADED);
  g_assert_cmpstr (cut->summary, ==, "The host doctor found 2 warnings");
  g_assert_true (g_str_has_prefix (pd_component_get_detail (cut, "report"),
                                   "1 of 2 findings arrived before the host helper "
                                   "disconnected"));
  g_assert_cmpstr (advice_at (cut, 0)->text, ==, "Hub on USB 3.");

  /* All well. */
  static const char *const fine[] = {
    "HOST-REPORT 5 state=ok time=1796000000 ok=23 warn=0 fail=0 items=0",
    NULL,
  };
  g_autoptr (PdHostReport) f = report_from (fine);
  g_autoptr (PdComponent) ok = word_host (PD_GUEST_LINK_READY, 2, &info, f);
  g_assert_cmpint (ok->state, ==, PD_STATE_OK);
  g_assert_cmpstr (ok->summary, ==, "The host doctor found nothing wrong (23 checks passed)");
  g_assert_cmpuint (ok->advice->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_setenv ("TZ", "UTC", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/guest-component/link-states", test_link_states);
  g_test_add_func ("/guest-component/ready", test_ready);
  g_test_add_func ("/guest-component/ready-limited-disabled-failed",
                   test_ready_limited_disabled_failed);
  g_test_add_func ("/guest-component/restart-words", test_restart_words);
  g_test_add_func ("/guest-component/unavailable", test_unavailable);
  g_test_add_func ("/host-component/no-report", test_host_no_report);
  g_test_add_func ("/host-component/report", test_host_report);
  return g_test_run ();
}
