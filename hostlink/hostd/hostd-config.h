/* hostd-config.h - passdesk-hostd's configuration (/etc/passdesk/hostd.conf).
 *
 * A GKeyFile with a [global] group (paths, timing, and policy defaults for
 * every VM) and optional [vm VMID] groups that override policy keys for one
 * VM, and the one key that only a VM's group may set:
 * reboot-as-cold-restart (this VM's reboots become cold restarts, see
 * passdesk-hostd(8)). A VM without a group is served with the defaults. Loading validates
 * every key: an unknown group or key, or a bad value, is an error naming the
 * file, group and key, and the daemon refuses to start. What GKeyFile would
 * pass over in silence is refused too, naming the lines: a group given twice,
 * a key set twice in a group, a NUL byte. The file is read only as a regular
 * file of at most 1 MiB (hostd-file.h).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PD_HOSTD_DEFAULT_CONFIG "/etc/passdesk/hostd.conf"
#define PD_VMID_MIN 100
#define PD_VMID_MAX 999999999
#define PD_CONFIG_KEY_REBOOT_COLD "reboot-as-cold-restart"

typedef enum
{
  PD_ON_TIMEOUT_FORCE_STOP,
  PD_ON_TIMEOUT_LEAVE_RUNNING,
} PdOnTimeout;

typedef struct
{
  gboolean enabled;
  guint cool_off;     /* seconds, used when the guest asks for none */
  guint cool_off_min; /* the range a guest may ask for */
  guint cool_off_max;
  guint shutdown_timeout; /* seconds given to `qm shutdown --timeout` */
  PdOnTimeout on_timeout;
  guint min_interval; /* seconds between two cycles of one VM */
  guint max_per_day;  /* cycles of one VM in any 24 hours */
  /* reboot-as-cold-restart ([vm VMID] only, default false): HELLO says
   * reboot-cold=1 and a RESTART kind=reboot is served like any request. */
  gboolean reboot_cold;
} PdVmPolicy;

typedef struct
{
  char *path; /* the file it came from, or NULL for built-in defaults */
  char *socket_dir;
  char *qm;
  char *state_dir;
  guint poll_interval_ms;   /* `qm status` poll while a cycle runs */
  guint qm_timeout;         /* seconds per qm call (shutdown adds its own timeout) */
  guint start_lock_timeout; /* seconds `qm start` is retried while the config lock is held */
  guint confirm_timeout;    /* seconds to wait for `running` / `stopped` after start / stop */
  PdVmPolicy defaults;
  GHashTable *vms; /* guint vmid (GUINT_TO_POINTER) → PdVmPolicy* */
} PdHostdConfig;

/* The built-in defaults (used when the file does not exist, see below). */
PdHostdConfig *pd_hostd_config_new_defaults (void);
/* Loads @path. A missing file at the default path gives the defaults; a
 * missing file named explicitly (@must_exist) is an error. */
PdHostdConfig *pd_hostd_config_load (const char *path, gboolean must_exist, GError **error);
/* Same, from text (@origin names it in errors). */
PdHostdConfig *pd_hostd_config_load_data (const char *data, gsize len, const char *origin,
                                          GError **error);
void pd_hostd_config_free (PdHostdConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdHostdConfig, pd_hostd_config_free)

/* The policy for @vmid: its own group, else the defaults. Never NULL. */
const PdVmPolicy *pd_hostd_config_policy (const PdHostdConfig *config, guint vmid);

const char *pd_on_timeout_to_string (PdOnTimeout value);

/* Parses a VMID: decimal digits only, no leading zero, PD_VMID_MIN..PD_VMID_MAX. */
gboolean pd_vmid_parse (const char *text, guint *vmid);

G_END_DECLS
