/* cold-restart-phase.c - the cold-restart phase names. */
#include "cold-restart-phase.h"

#include <string.h>

static const char *const names[] = {
  [PD_COLD_RESTART_PHASE_UNKNOWN] = NULL,
  [PD_COLD_RESTART_PHASE_REQUESTED] = "requested",
  [PD_COLD_RESTART_PHASE_ACCEPTED] = "accepted",
  [PD_COLD_RESTART_PHASE_REFUSED] = "refused",
  [PD_COLD_RESTART_PHASE_SHUTTING_DOWN] = "shutting-down",
  [PD_COLD_RESTART_PHASE_STOPPED] = "stopped",
  [PD_COLD_RESTART_PHASE_COOLING_OFF] = "cooling-off",
  [PD_COLD_RESTART_PHASE_STARTING] = "starting",
  [PD_COLD_RESTART_PHASE_DONE] = "done",
  [PD_COLD_RESTART_PHASE_FAILED] = "failed",
  [PD_COLD_RESTART_PHASE_CANCELLED] = "cancelled",
};

const char *
pd_cold_restart_phase_to_string (PdColdRestartPhase phase)
{
  if ((guint) phase >= G_N_ELEMENTS (names))
    return NULL;
  return names[phase];
}

PdColdRestartPhase
pd_cold_restart_phase_from_string (const char *str)
{
  if (str == NULL)
    return PD_COLD_RESTART_PHASE_UNKNOWN;
  for (guint i = 1; i < G_N_ELEMENTS (names); i++)
    if (strcmp (str, names[i]) == 0)
      return (PdColdRestartPhase) i;
  return PD_COLD_RESTART_PHASE_UNKNOWN;
}

gboolean
pd_cold_restart_phase_is_active (PdColdRestartPhase phase)
{
  switch (phase)
    {
    case PD_COLD_RESTART_PHASE_REQUESTED:
    case PD_COLD_RESTART_PHASE_ACCEPTED:
    case PD_COLD_RESTART_PHASE_SHUTTING_DOWN:
    case PD_COLD_RESTART_PHASE_STOPPED:
    case PD_COLD_RESTART_PHASE_STARTING:
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
pd_cold_restart_phase_is_final (PdColdRestartPhase phase)
{
  return phase == PD_COLD_RESTART_PHASE_DONE || phase == PD_COLD_RESTART_PHASE_FAILED
         || phase == PD_COLD_RESTART_PHASE_CANCELLED;
}
