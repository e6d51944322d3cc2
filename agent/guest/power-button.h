/* power-button.h - the ACPI power button as the host's "go" signal.
 *
 * Proxmox's `qm shutdown` runs the VM's pre-stop hook first and presses the
 * ACPI power button (QMP system_powerdown) only after the hook returned. So a
 * guest that is shutting down for a cold restart learns that the host's
 * pre-stop hook has run when KEY_POWER arrives on the kernel's input device
 * of the ACPI button (LNXPWRBN, the fixed-feature button QEMU's machines
 * have; PNP0C0C, the control-method one, when that is all there is).
 *
 * The device is found through sysfs under the sysroot prefix
 * (/sys/class/input/eventN/device: name "Power Button", phys
 * "LNXPWRBN/button/input0", KEY_POWER in capabilities/key) and opened as
 * /dev/input/eventN under the same prefix, so tests use a fixture tree and a
 * FIFO carrying struct input_event records. It is opened only while a cycle
 * is accepted and never grabbed: logind and the desktop see the key as
 * always (logind ignores it while a shutdown is already in progress).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PdPowerButton PdPowerButton;

/* Called once, on the first KEY_POWER press after pd_power_button_watch. */
typedef void (*PdPowerButtonFunc) (gpointer user_data);

/* Finds and opens the button's event device. NULL with G_IO_ERROR_NOT_FOUND
 * when the machine has none (some machine types), or another error naming
 * the device when it cannot be opened. */
PdPowerButton *pd_power_button_open (GError **error);
/* Starts reading; @pressed runs from the main loop. A device that goes away
 * (or a FIFO whose writer closed) stops the watch silently: the caller's
 * deadline still holds. */
void pd_power_button_watch (PdPowerButton *button, PdPowerButtonFunc pressed, gpointer user_data);
/* The event device's path (for the journal). */
const char *pd_power_button_get_path (PdPowerButton *button);
void pd_power_button_free (PdPowerButton *button);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdPowerButton, pd_power_button_free)

/* Pure, for tests: whether a sysfs capabilities/key bitmap (hex words, most
 * significant first, each an unsigned long) has KEY_POWER. */
gboolean pd_power_button_caps_have_key_power (const char *caps);

G_END_DECLS
