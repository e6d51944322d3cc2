/* hostd-setup.h - `passdesk-hostd setup [--remove] VMID`: add the channel to
 * a VM's args, or take it out again.
 *
 * Pure part: from the text `qm config VMID` printed, find the `args:` line
 * and compute the new args string with the passdesk chardev, virtio-serial
 * controller and port appended, keeping the existing text verbatim. Already
 * present (all three, exactly) → nothing to do. A config it cannot parse, an
 * args value that does not split like a shell line, or passdesk ids that are
 * there with other values → an error; nothing is changed. Removing cuts
 * exactly the options that carry a passdesk id out of the text and keeps the
 * rest of it byte for byte.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The three pieces, for @vmid and @socket_dir (default /run/qemu-server). */
char *pd_setup_channel_args (guint vmid, const char *socket_dir);

typedef enum
{
  PD_SETUP_CHANGE,       /* *new_args is what `qm set --args` must get */
  PD_SETUP_ALREADY_DONE, /* nothing to change */
} PdSetupPlan;

/* Plans the change. *@old_args gets the current value (NULL when the VM has
 * no args line). Returns FALSE with an error naming the problem. */
gboolean pd_setup_plan (const char *qm_config_output, guint vmid, const char *socket_dir,
                        PdSetupPlan *plan, char **old_args, char **new_args, GError **error);

/* Plans taking the channel out: each -chardev/-device whose value carries
 * id=passdesk, id=passdesk-serial or id=passdesk-port goes, with its value;
 * every other character of args stays. PD_SETUP_ALREADY_DONE when there is
 * none. *@new_args is "" when nothing else is left (args must then be
 * deleted: `qm set VMID --delete args`). */
gboolean pd_setup_plan_remove (const char *qm_config_output, guint vmid, PdSetupPlan *plan,
                               char **old_args, char **new_args, GError **error);

/* --reboot-as-cold-restart: the VM's reboots become cold restarts. That is a
 * record in hostd.conf, not a change of the VM's config: setting `reboot: 0`
 * would make QEMU exit on a guest reboot, and with hostd not running nobody
 * would start the VM again. Instead the guest agent asks hostd for each
 * reboot (RESTART kind=reboot), and without either of them a reboot stays a
 * reboot in place.
 *
 * Plans the edit of hostd.conf's text (@text, NULL or "" for no file yet)
 * that switches VM @vmid's conversion on (`reboot-as-cold-restart=true` in
 * its [vm VMID] group, which is added at the end when missing) or off (the
 * key's line goes, and the group's header with it when nothing else is left
 * in the group). Every other byte of the file stays as it is. *@new_text is
 * NULL when nothing changes. FALSE with an error when the result would not
 * load (the text was not a valid configuration to begin with). */
gboolean pd_setup_conf_reboot_cold (const char *text, guint vmid, gboolean on, char **new_text,
                                    GError **error);

/* Whether the VM's config (`qm config` output) holds `reboot: 0`: QEMU runs
 * with -no-reboot, so a guest reboot leaves the VM off. */
gboolean pd_setup_vm_has_no_reboot (const char *qm_config_output);

G_END_DECLS
