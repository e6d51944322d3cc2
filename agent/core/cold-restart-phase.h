/* cold-restart-phase.h - the phases of a cold restart, as one enum.
 *
 * The guest end of the host link reports a request's life as phases: its own
 * ("requested", "accepted", "refused") and then the host's PROGRESS phases
 * (hostlink/PROTOCOL.md: "shutting-down" ... "done", "failed", "cancelled").
 * They cross processes as these exact strings (the agent's D-Bus
 * ColdRestartProgress signal, the tray, the CLI); this module is the one
 * place that spells them and says which of them mean "still under way".
 * Pure: no I/O, no state.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  PD_COLD_RESTART_PHASE_UNKNOWN = 0, /* a string this build does not know */
  PD_COLD_RESTART_PHASE_REQUESTED,
  PD_COLD_RESTART_PHASE_ACCEPTED,
  PD_COLD_RESTART_PHASE_REFUSED,
  PD_COLD_RESTART_PHASE_SHUTTING_DOWN,
  PD_COLD_RESTART_PHASE_STOPPED,
  PD_COLD_RESTART_PHASE_COOLING_OFF,
  PD_COLD_RESTART_PHASE_STARTING,
  PD_COLD_RESTART_PHASE_DONE,
  PD_COLD_RESTART_PHASE_FAILED,
  PD_COLD_RESTART_PHASE_CANCELLED,
} PdColdRestartPhase;

/* The wire string; NULL for UNKNOWN. */
const char *pd_cold_restart_phase_to_string (PdColdRestartPhase phase);
/* UNKNOWN for NULL or a string that is not a phase. */
PdColdRestartPhase pd_cold_restart_phase_from_string (const char *str);
/* TRUE while the restart is under way and may still end either way:
 * requested, accepted, shutting-down, stopped, starting. (cooling-off is
 * not: the tray's list never had it; the VM is off and waits.) */
gboolean pd_cold_restart_phase_is_active (PdColdRestartPhase phase);
/* TRUE for the phases after which nothing more comes for this request from
 * the host: done, failed, cancelled. */
gboolean pd_cold_restart_phase_is_final (PdColdRestartPhase phase);

G_END_DECLS
