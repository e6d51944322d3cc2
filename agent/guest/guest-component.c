/* guest-component.c - the `hostlink` health component's words, from the
 * link's state and the host's facts (PdHostInfo); no I/O. */
#include "guest-private.h"
#include "pd-i18n.h"

#include "detail-keys.h"

static void
add_setup_advice (PdComponent *c)
{
  pd_component_add_advice (
      c,
      "On the Proxmox host, run “passdesk-hostd setup VMID” (VMID: this VM's id), then stop "
      "this VM and start it again from Proxmox (a reboot from inside the VM does not add the "
      "channel).",
      "passdesk-hostd setup VMID");
}

static void
word_busy (PdComponent *c, const PdGuestLinkView *v)
{
  pd_component_set_state (c, PD_STATE_DEGRADED, "The host channel is in use by another program");
  pd_component_set_detail (c, PD_DETAIL_PORT, v->port_path);
  pd_component_set_detail (c, PD_DETAIL_ERROR, v->open_error ? v->open_error : "busy");
  g_autofree char *advice
      = pd_i18n_sprintf ("Only one program can hold the channel open. Find it with “fuser -v %s” "
                         "and stop it (the agent retries every minute).",
                         v->port_path);
  g_autofree char *cmd = g_strdup_printf ("fuser -v %s", v->port_path);
  pd_component_add_advice (c, advice, cmd);
}

static void
word_wait_hello (PdComponent *c, const PdGuestLinkView *v)
{
  if (v->silent)
    {
      pd_component_set_state (c, PD_STATE_DEGRADED,
                              "The host side is connected but does not answer");
      pd_component_add_advice (c,
                               "Something other than passdesk-hostd may hold the VM's "
                               "channel socket, or it hangs: on the host, run "
                               "“systemctl restart passdesk-hostd”.",
                               "systemctl restart passdesk-hostd");
    }
  else
    pd_component_set_state (c, PD_STATE_UNKNOWN, "Host helper connected, waiting for its greeting");
  pd_component_set_detail (c, PD_DETAIL_PORT, v->port_path);
}

/* "ok in 52 s, 2026-12-01 10:00: The VM was stopped ..." */
static char *
last_cycle_text (const PdHostInfo *h)
{
  GString *s = g_string_new (h->last_ok ? "ok" : "failed");
  if (h->has_last_duration)
    g_string_append_printf (s, " in %u s", h->last_duration);
  if (h->has_last_time)
    {
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (h->last_time);
      g_autofree char *when = dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M") : NULL;
      if (when)
        g_string_append_printf (s, ", %s", when);
    }
  if (h->last_text)
    g_string_append_printf (s, ": %s", h->last_text);
  return g_string_free (s, FALSE);
}

/* A detail in English that each client can have in its language: a plain
 * msgid (N_), or a format whose arguments the component remembers. */
static void
set_detail_msg (PdComponent *c, const char *key, PdMsg *m)
{
  pd_component_set_detail (c, key, m->english);
  pd_component_remember (c, m);
  pd_msg_free (m);
}

/* What the desktop's Restart will do, said before anyone presses it: the
 * host converts this VM's reboots (HELLO reboot-cold=1) and would accept
 * one now (@allowed, @next_in: counted down from when the HELLO came), or
 * the reboot stays a plain one, and why. */
static void
word_restart (PdComponent *c, const PdHostInfo *h, guint32 allowed, guint32 next_in)
{
  const char *cold = h->reboot_cold ? "later" : "no";
  if (!h->reboot_cold)
    pd_component_set_detail (c, PD_DETAIL_RESTART,
                             N_ ("Restart is a plain restart: the host does not turn this VM's "
                                 "reboots into cold restarts, so the graphics and audio devices "
                                 "are not reset (use Cold restart VM for that)."));
  else if (!h->enabled)
    pd_component_set_detail (c, PD_DETAIL_RESTART,
                             N_ ("Restart is a plain restart: cold restarts are disabled for this "
                                 "VM on the host."));
  else if (next_in > 0)
    set_detail_msg (c, PD_DETAIL_RESTART,
                    pd_msg_new_printf (N_ ("Restart is a plain restart for now: the host allows "
                                           "the next cold restart in %u s."),
                                       next_in));
  else if (allowed == 0)
    pd_component_set_detail (c, PD_DETAIL_RESTART,
                             N_ ("Restart is a plain restart for now: the host's rate limit "
                                 "allows no cold restart at the moment."));
  else
    {
      cold = "yes";
      set_detail_msg (c, PD_DETAIL_RESTART,
                      pd_msg_new_printf (N_ ("Restart will be a cold restart: the VM stays off "
                                             "for %u s."),
                                         h->cool_off_default));
    }
  pd_component_set_detail (c, PD_DETAIL_REBOOT_COLD, cold);
}

static void
word_ready (PdComponent *c, const PdGuestLinkView *v)
{
  const PdHostInfo *h = v->host;
  pd_component_set_state (c, PD_STATE_OK, NULL);
  pd_component_set_summary_printf (c, "Connected to %s (VM %u)", h->host, h->vmid);
  pd_component_set_detail (c, PD_DETAIL_HOST, h->host);
  pd_component_set_detail_printf (c, PD_DETAIL_VMID, "%u", h->vmid);
  pd_component_set_detail (c, PD_DETAIL_PORT, v->port_path);
  pd_component_set_detail (c, PD_DETAIL_COLD_RESTART,
                           h->enabled ? "allowed" : "disabled on the host");
  pd_component_set_detail_printf (c, PD_DETAIL_COOL_OFF, "%u s (allowed %u-%u s)",
                                  h->cool_off_default, h->cool_off_min, h->cool_off_max);
  /* Counted down from when the HELLO came, at the moment of asking. */
  guint32 allowed = pd_host_info_allowed_now (h, v->now_us);
  guint32 next_in = pd_host_info_next_allowed_in (h, v->now_us);
  g_autofree char *now = allowed > 0 ? pd_i18n_sprintf ("%u allowed now", allowed)
                                     : g_strdup (N_ ("none allowed now"));
  /* Today's budget only from a host that says it apart (day-left). */
  g_autofree char *today
      = h->has_day_left ? pd_i18n_sprintf (", %u left today", h->day_left) : g_strdup ("");
  pd_component_set_detail_printf (c, PD_DETAIL_RATE_LIMIT, "%u per %u s, %u per day; %s%s",
                                  h->rate_max, h->rate_window, h->day_max, now, today);
  /* Facts programs read (detail-keys.h): plain strings, never worded again
   * in a client's language. */
  g_autofree char *left = g_strdup_printf ("%u", allowed);
  pd_component_set_detail (c, PD_DETAIL_RATE_LEFT, left);
  if (next_in > 0)
    pd_component_set_detail_printf (c, PD_DETAIL_NEXT_ALLOWED_IN, "%u s", next_in);
  word_restart (c, h, allowed, next_in);
  if (h->has_last)
    {
      g_autofree char *last = last_cycle_text (h);
      pd_component_set_detail (c, PD_DETAIL_LAST_CYCLE, last);
      /* The link itself is fine: the state stays ok, the summary says it. */
      if (!h->last_ok)
        {
          g_autofree char *connected = g_strdup (c->summary);
          pd_component_set_summary_printf (c, "%s; the last cold restart failed", connected);
        }
    }
  if (!h->enabled)
    pd_component_add_advice (c,
                             "Cold restart is disabled for this VM in "
                             "/etc/passdesk/hostd.conf on the host (enabled=false).",
                             NULL);
}

PdComponent *
pd_guest_component_new (const PdGuestLinkView *v)
{
  PdComponent *c = pd_component_new (PD_COMPONENT_HOSTLINK, PD_STATE_UNKNOWN, NULL);
  switch (v->state)
    {
    case PD_GUEST_LINK_STOPPED:
      pd_component_set_state (c, PD_STATE_UNKNOWN, "Not checked yet");
      break;
    case PD_GUEST_LINK_NO_PORT:
      pd_component_set_state (c, PD_STATE_UNKNOWN, "No host channel configured");
      pd_component_set_detail (c, PD_DETAIL_PORT, v->port_path);
      add_setup_advice (c);
      break;
    case PD_GUEST_LINK_OPEN_ERROR:
      pd_component_set_state (c, PD_STATE_FAILED, "The host channel cannot be opened");
      pd_component_set_detail (c, PD_DETAIL_PORT, v->port_path);
      pd_component_set_detail (c, PD_DETAIL_ERROR, v->open_error ? v->open_error : "unknown");
      pd_component_add_advice (c,
                               "The agent must run as root to open the channel; check "
                               "“systemctl status passdesk-agent” and the error above.",
                               "systemctl status passdesk-agent");
      break;
    case PD_GUEST_LINK_BUSY:
      word_busy (c, v);
      break;
    case PD_GUEST_LINK_DISCONNECTED:
      pd_component_set_state (c, PD_STATE_DEGRADED, "Host helper not connected");
      pd_component_set_detail (c, PD_DETAIL_PORT, v->port_path);
      pd_component_add_advice (c,
                               "The channel exists but passdesk-hostd on the host is not "
                               "connected: on the host, run “systemctl enable --now "
                               "passdesk-hostd”.",
                               "systemctl enable --now passdesk-hostd");
      add_setup_advice (c);
      break;
    case PD_GUEST_LINK_WAIT_HELLO:
      word_wait_hello (c, v);
      break;
    case PD_GUEST_LINK_READY:
      word_ready (c, v);
      break;
    }
  return c;
}

const char *
pd_guest_link_unavailable_reason (PdGuestLinkState state)
{
  switch (state)
    {
    case PD_GUEST_LINK_NO_PORT:
    case PD_GUEST_LINK_STOPPED:
      return "This VM has no passdesk host channel. On the Proxmox host, run “passdesk-hostd "
             "setup VMID”, then stop and start the VM.";
    case PD_GUEST_LINK_BUSY:
      return "The host channel is held open by another program.";
    case PD_GUEST_LINK_OPEN_ERROR:
      return "The host channel cannot be opened.";
    case PD_GUEST_LINK_DISCONNECTED:
      return "The host helper is not connected. On the host, run “systemctl enable --now "
             "passdesk-hostd”.";
    case PD_GUEST_LINK_WAIT_HELLO:
      return "The host helper has not finished its greeting yet; try again in a few seconds.";
    case PD_GUEST_LINK_READY:
    default:
      return "The host link is not ready.";
    }
}
