/* power-key-wait.h - after an accepted cold restart, power the guest off
 * only once the host's pre-stop hook has run.
 *
 * Proxmox's `qm shutdown` runs the VM's pre-stop hook and only then presses
 * the ACPI power button, so a guest that powered off at ACCEPT could be gone
 * before the hook ran (issue 13, defect 3). A PdPowerKeyWait holds logind's
 * `handle-power-key:sleep` block inhibitor (so neither logind's
 * HandlePowerKey nor the desktop act on that press or suspend the VM) and
 * powers the guest off through logind (logind-poweroff.h) when its owner
 * reports the press (pd_power_key_wait_pressed) or when the deadline passes.
 * The owner watches the button itself (power-button.h): the agent also uses
 * it for its stop hold. Used by the agent and by `passdesk cold-restart`
 * when no agent runs.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The wait after an ACCEPT lasts half of its shutdown-timeout (what
 * `qm shutdown --timeout` allows), so a guest that never gets the key
 * (`agent: 1`) still has the other half to finish its shutdown; within these. */
#define PD_POWER_KEY_HOLD_MIN_S 10
#define PD_POWER_KEY_HOLD_MAX_S 120
guint pd_power_key_hold_seconds (guint shutdown_timeout_s);

typedef struct _PdPowerKeyWait PdPowerKeyWait;

typedef enum
{
  /* logind did not grant the block (@error says why); the wait goes on. */
  PD_POWER_KEY_WAIT_NO_INHIBITOR,
  /* The deadline passed without the press: PowerOff is being sent. */
  PD_POWER_KEY_WAIT_DEADLINE,
  /* logind answered PowerOff: @error NULL, or its refusal as a sentence. */
  PD_POWER_KEY_WAIT_DONE,
} PdPowerKeyWaitStage;

typedef void (*PdPowerKeyWaitFunc) (PdPowerKeyWaitStage stage, const GError *error,
                                    gpointer user_data);

/* Asks logind for the block at once and powers off after @deadline_ms
 * unless pressed first. @cancellable (may be NULL) cancels the logind calls,
 * including a PowerOff in flight. */
PdPowerKeyWait *pd_power_key_wait_new (guint deadline_ms, GCancellable *cancellable,
                                       PdPowerKeyWaitFunc func, gpointer user_data);
/* The host pressed the power button: power off now (once). */
void pd_power_key_wait_pressed (PdPowerKeyWait *wait);
/* Whether PowerOff was sent (by the press or the deadline). */
gboolean pd_power_key_wait_is_powering_off (PdPowerKeyWait *wait);
/* Ends the wait and logind's block; no more calls of @func. A PowerOff
 * already sent goes on. */
void pd_power_key_wait_free (PdPowerKeyWait *wait);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdPowerKeyWait, pd_power_key_wait_free)

G_END_DECLS
