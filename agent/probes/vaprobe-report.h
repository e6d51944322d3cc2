/* vaprobe-report.h - the report passdesk-vaprobe prints, and its exit codes.
 *
 * The probe prints one JSON object on stdout:
 *   {"probe": "passdesk-vaprobe", "format": 1,
 *    "status": "ok" | "no-device" | "open-failed" | "init-failed" |
 *              "functional-failed" | "privileges-failed",
 *    "error": sentence or null, "device": "/dev/dri/renderD128",
 *    "user": user the GPU work ran as, "va_api_version": "1.17",
 *    "vendor": vaQueryVendorString, "driver": "iHD", "driver_path": ".../iHD_drv_video.so",
 *    "decode": ["H.264", ...], "encode": [...], "video_processing": bool,
 *    "profiles": {"VAProfileH264Main": ["VLD", "EncSlice", ...], ...},
 *    "functional_test": {"name": "vpp-scale-nv12" | "jpeg-decode" | null, "ran": bool,
 *                        "passed": bool, "duration_ms": number, "message": sentence},
 *    "duration_ms": number}
 * The probe writes it with pd_vaprobe_report_to_json(); passdesk reads it
 * with pd_vaprobe_report_parse(), which checks it strictly and with bounds:
 * it is input from a child that runs a GPU driver. "profiles" and
 * "libva_messages" are for people reading the probe's output; the parser
 * does not keep them.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* passdesk-vaprobe exit codes. */
enum
{
  PD_VAPROBE_EXIT_OK = 0,      /* VA-API initialised; the functional test passed or could not run */
  PD_VAPROBE_EXIT_PROBLEM = 1, /* report printed: open, init or functional test failed */
  PD_VAPROBE_EXIT_USAGE = 2,   /* bad options; no report */
  PD_VAPROBE_EXIT_NO_DEVICE = 3,  /* report printed: the render node does not exist */
  PD_VAPROBE_EXIT_PRIVILEGES = 4, /* report printed: root privileges could not be dropped */
};

#define PD_VAPROBE_REPORT_FORMAT 1
#define PD_VAPROBE_REPORT_MAX_BYTES (64u * 1024)

/* The report's fields (the probe fills one, the parser returns one). */
typedef struct
{
  char *status;
  char *error;
  char *device;
  char *user;
  char *va_api_version;
  char *vendor;
  char *driver;
  char *driver_path;
  char **decode; /* never NULL */
  char **encode; /* never NULL */
  gboolean video_processing;
  gboolean functional_ran;
  gboolean functional_passed;
  char *functional_name;
  char *functional_message;
  double functional_ms;
  double duration_ms;
} PdVaprobeReport;

/* The report as one JSON object. @profiles (libva's profile -> entrypoints
 * matrix) and @libva_messages (NULL-terminated) may be NULL. */
char *pd_vaprobe_report_to_json (const PdVaprobeReport *r, JsonNode *profiles,
                                 const char *const *libva_messages, gboolean pretty);

PdVaprobeReport *pd_vaprobe_report_parse (const char *data, gsize len, GError **error);
/* Frees the fields of a report kept by value. */
void pd_vaprobe_report_clear (PdVaprobeReport *r);
void pd_vaprobe_report_free (PdVaprobeReport *r);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdVaprobeReport, pd_vaprobe_report_free)

G_END_DECLS
