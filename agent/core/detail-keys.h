/* detail-keys.h - every detail key, declared once.
 *
 * A detail is a (key, value) pair of a PdComponent. The key is a stable id
 * (lower case, words joined by '-'): it is what the JSON report, the D-Bus
 * Components property and every program that reads a detail use. What a
 * person reads is the key's label, looked up here (pd_detail_label()), in the
 * tray's window as anywhere else a detail is shown.
 *
 * Most values are words for people. A few are facts that programs read; those
 * keys say so below, with the value's format, and programs must read those
 * keys only, never parse a value meant for people.
 *
 * Besides the fixed keys there are three families whose key is a name the
 * kernel gives: a DRM connector ("HDMI-A-1", display), an HDMI audio pin's
 * ELD file ("eld#2.0", audio) and a USB port path ("1-4.1", usb).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* any component */
#define PD_DETAIL_PROBLEMS "problems"
#define PD_DETAIL_ERROR "error"
#define PD_DETAIL_KERNEL_LOG "kernel-log" /* the agent's kernel-log finding */

/* gpu, display */
#define PD_DETAIL_PCI_SLOT "pci-slot"
#define PD_DETAIL_IDS "ids"
#define PD_DETAIL_NAME "name"
#define PD_DETAIL_GENERATION "generation"
#define PD_DETAIL_DRIVER "driver" /* also vaapi: the VA driver */
#define PD_DETAIL_CARD "card"     /* gpu/display: the DRM card node; audio: the sound card */
#define PD_DETAIL_RENDER_NODE "render-node"
#define PD_DETAIL_RENDER_ACCESS "render-access"
#define PD_DETAIL_OTHER_DISPLAY_DEVICES "other-display-devices"
#define PD_DETAIL_DRIVER_BLOCKED_BY "driver-blocked-by"

/* vaapi */
#define PD_DETAIL_PROBE "probe"
#define PD_DETAIL_PROBE_TIME "probe-time"
#define PD_DETAIL_PROBE_STATUS "probe-status"
#define PD_DETAIL_DEVICE "device"
#define PD_DETAIL_PROBE_USER "probe-user"
#define PD_DETAIL_VENDOR "vendor"
#define PD_DETAIL_VA_API_VERSION "va-api-version"
#define PD_DETAIL_DECODE "decode"
#define PD_DETAIL_ENCODE "encode"
#define PD_DETAIL_VIDEO_PROCESSING "video-processing"
#define PD_DETAIL_FUNCTIONAL_TEST "functional-test"
#define PD_DETAIL_PROBE_PATH "probe-path"
#define PD_DETAIL_EXIT_STATUS "exit-status"
#define PD_DETAIL_SIGNAL "signal"
#define PD_DETAIL_PROBE_STDERR "probe-stderr"
#define PD_DETAIL_PACKAGES "packages"
#define PD_DETAIL_PACKAGES_INSTALLED "packages-installed"
#define PD_DETAIL_PACKAGES_MISSING "packages-missing"
#define PD_DETAIL_APT_SOURCES "apt-sources"
#define PD_DETAIL_LIBVA_DRIVER_NAME "libva-driver-name"

/* audio */
#define PD_DETAIL_CARDS "cards"
#define PD_DETAIL_HDMI_CODEC "hdmi-codec"
/* Read by programs: "yes" when the HD-Audio card has an HDMI codec, "no"
 * when it has none; absent when there is no HD-Audio card at all. */
#define PD_DETAIL_HDMI_CODEC_PRESENT "hdmi-codec-present"
/* Read by programs: the monitor name from the ELD of the first HDMI pin
 * (in pin order) with a monitor present that gives a name; absent when none
 * does. */
#define PD_DETAIL_MONITOR_NAME "monitor-name"
#define PD_DETAIL_CONNECTED_OUTPUTS "connected-outputs"

/* hostlink */
#define PD_DETAIL_PORT "port"
#define PD_DETAIL_HOST "host"
#define PD_DETAIL_VMID "vmid"
#define PD_DETAIL_COLD_RESTART "cold-restart"
#define PD_DETAIL_COOL_OFF "cool-off"
#define PD_DETAIL_RATE_LIMIT "rate-limit"
/* Read by programs: "UINT s", the seconds until the host allows the next
 * cold restart, counted from when the agent reported it; absent when one is
 * allowed now. */
#define PD_DETAIL_NEXT_ALLOWED_IN "next-allowed-in"
/* Read by programs: "UINT", the cold restarts the host allows right now
 * (HELLO/STATUS-REPLY rate-left); "Rate limit" says it to people. */
#define PD_DETAIL_RATE_LEFT "rate-left"
#define PD_DETAIL_LAST_CYCLE "last-cycle"
/* What the desktop's Restart (or `reboot`) will do now, as a sentence:
 * "Restart will be a cold restart: the VM stays off for 10 s." or why it
 * stays a plain restart. Shown in the status table too. */
#define PD_DETAIL_RESTART "restart"
/* Read by programs: "yes" when a reboot of this VM now becomes a cold
 * restart (the host converts its reboots and allows one now), "later" when
 * the host converts them but would refuse one now (rate limit, disabled),
 * "no" when it does not convert them; absent while no host is connected. */
#define PD_DETAIL_REBOOT_COLD "reboot-cold"

/* host (the host doctor's summary; also "host", "vmid" and "problems") */
#define PD_DETAIL_CHECKED "checked"   /* when the doctor ran on the host */
#define PD_DETAIL_FINDINGS "findings" /* "21 ok, 1 warning, 1 failed" */
#define PD_DETAIL_REPORT "report"     /* complete or not, from which connection */

/* audio, added by the tray from the session's sound server */
#define PD_DETAIL_SOUND_SERVER "sound-server"
#define PD_DETAIL_DEFAULT_OUTPUT "default-output"
#define PD_DETAIL_HDMI_SINKS "hdmi-sinks"
/* what the tray says of the hardware view when the agent is not running */
#define PD_DETAIL_HDA_HARDWARE "hd-audio-hardware"

typedef enum
{
  PD_DETAIL_FLAGS_NONE = 0,
  /* A fact for programs that another detail already shows to people: views
   * leave it out. */
  PD_DETAIL_FLAGS_HIDDEN = 1 << 0,
  /* Said before anyone acts: `passdesk status` prints it under the
   * component's summary, not only in the details. */
  PD_DETAIL_FLAGS_STATUS_LINE = 1 << 1,
} PdDetailFlags;

typedef struct
{
  const char *id;
  const char *label; /* for people: "Render node", "HDMI codec" */
  PdDetailFlags flags;
} PdDetailKey;

/* The fixed keys, in the order above. */
const PdDetailKey *pd_detail_keys (guint *n_keys);

/* The fixed key @id, or NULL. */
const PdDetailKey *pd_detail_key_lookup (const char *id);

/* Whether @key is a fixed key or a member of a family. */
gboolean pd_detail_key_is_known (const char *key);

/* What people read for @key: its label, a family member's name in words
 * ("HDMI audio pin 2.0", "USB port 1-4.1"), or @key itself for a key this
 * build does not know (a newer agent). Transfer full. */
char *pd_detail_label (const char *key);

/* Whether views show @key (everything but PD_DETAIL_FLAGS_HIDDEN keys). */
gboolean pd_detail_key_is_shown (const char *key);
/* Whether the status table prints @key under the summary. */
gboolean pd_detail_key_is_status_line (const char *key);

G_END_DECLS
