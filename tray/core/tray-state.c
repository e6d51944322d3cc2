/* tray-state.c - the tray's snapshot and its wording. */
#include "tray-state.h"
#include "pd-i18n.h"

#include <string.h>

#include "cold-restart-phase.h"
#include "agent-bus.h"
#include "detail-keys.h"

PdTrayState *
pd_tray_state_new (void)
{
  PdTrayState *state = g_new0 (PdTrayState, 1);
  state->report = pd_report_new ("agent");
  state->overall = PD_STATE_UNKNOWN;
  state->agent_start = PD_AGENT_START_SYSTEM;
  state->cold_restart_state = g_strdup ("idle");
  return state;
}

void
pd_tray_state_free (PdTrayState *state)
{
  if (state == NULL)
    return;
  pd_report_free (state->report);
  g_free (state->cold_restart_state);
  g_free (state->cold_restart_blocked);
  g_free (state->audio_keepable);
  g_free (state);
}

gboolean
pd_tray_cold_restart_active (const char *phase)
{
  return pd_cold_restart_phase_is_active (pd_cold_restart_phase_from_string (phase));
}

const char *
pd_tray_state_restart_note (const PdTrayState *state, gboolean *converted)
{
  *converted = FALSE;
  const PdComponent *link
      = state->agent_connected ? pd_report_get (state->report, PD_COMPONENT_HOSTLINK) : NULL;
  const char *note = link ? pd_component_get_detail (link, PD_DETAIL_RESTART) : NULL;
  const char *cold = link ? pd_component_get_detail (link, PD_DETAIL_REBOOT_COLD) : NULL;
  if (note == NULL || *note == '\0')
    return NULL;
  *converted = g_strcmp0 (cold, "yes") == 0 || g_strcmp0 (cold, "later") == 0;
  return note;
}

const char *
pd_tray_state_icon_for (PdState state)
{
  switch (state)
    {
    case PD_STATE_OK:
      return "passdesk-ok";
    case PD_STATE_DEGRADED:
      return "passdesk-degraded";
    case PD_STATE_FAILED:
      return "passdesk-failed";
    case PD_STATE_UNKNOWN:
    default:
      return "passdesk-unknown";
    }
}

const char *
pd_tray_state_icon_name (const PdTrayState *state)
{
  if (pd_tray_cold_restart_active (state->cold_restart_state))
    return "passdesk-restarting";
  return pd_tray_state_icon_for (state->overall);
}

const char *
pd_tray_state_label (PdState state)
{
  switch (state)
    {
    case PD_STATE_OK:
      return C_ ("state", "OK");
    case PD_STATE_DEGRADED:
      return _ ("Degraded");
    case PD_STATE_FAILED:
      return _ ("Failed");
    case PD_STATE_UNKNOWN:
    default:
      return _ ("Unknown");
    }
}

char *
pd_tray_state_headline (const PdTrayState *state)
{
  if (!state->agent_connected)
    return g_strdup (_ ("passdesk: the agent is not running"));
  if (pd_tray_cold_restart_active (state->cold_restart_state))
    return g_strdup (_ ("passdesk: cold restart in progress"));
  switch (state->overall)
    {
    case PD_STATE_OK:
      return g_strdup (_ ("passdesk: everything works"));
    case PD_STATE_DEGRADED:
      return g_strdup (_ ("passdesk: something works only partly"));
    case PD_STATE_FAILED:
      return g_strdup (_ ("passdesk: something has failed"));
    case PD_STATE_UNKNOWN:
    default:
      return g_strdup (_ ("passdesk: state unknown"));
    }
}

/* Does @summary start with its component's @title ("Audio fell back…",
 * "The GPU hung…")? Then it needs no "Title: " in front. */
static gboolean
names_itself (const char *summary, const char *title)
{
  if (g_ascii_strncasecmp (summary, "The ", 4) == 0)
    summary += 4;
  gsize n = strlen (title);
  return g_ascii_strncasecmp (summary, title, n) == 0
         && (summary[n] == ' ' || summary[n] == ':' || summary[n] == ',' || summary[n] == '.'
             || summary[n] == '\0');
}

char *
pd_tray_state_tooltip_body (const PdTrayState *state)
{
  GString *s = g_string_new (NULL);

  if (!state->agent_connected)
    {
      g_string_append_printf (s, _ ("The passdesk agent is not running. Start it with “%s”."),
                              state->agent_start);
      return g_string_free (s, FALSE);
    }
  for (guint i = 0; i < PD_N_COMPONENTS; i++)
    {
      const PdComponent *c = pd_report_get (state->report, i);
      if (c == NULL || c->state == PD_STATE_OK)
        continue;
      if (s->len > 0)
        g_string_append_c (s, '\n');
      const char *title = pd_component_title_localized (i);
      if (c->summary && names_itself (c->summary, title))
        g_string_append (s, c->summary); /* "Audio fell back…", not "Audio: Audio fell back…" */
      else
        g_string_append_printf (s, "%s: %s", title,
                                c->summary ? c->summary : pd_tray_state_label (c->state));
    }
  if (s->len == 0)
    g_string_append (s, _ ("GPU, display, video acceleration, audio and USB are fine."));
  return g_string_free (s, FALSE);
}
