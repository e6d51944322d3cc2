/* host-report.h - the host doctor's summary as the guest assembles it from
 * one HOST-REPORT and its HOST-ITEMs (PROTOCOL.md section 4a).
 *
 * Pure and bounded: a report holds at most PD_HL_MAX_REPORT_ITEMS items
 * (the codec already refused more, and longer texts); an item is taken only
 * when it carries the report's id, its n is inside 0..items-1 and that n has
 * not arrived yet. State words the guest does not know read as warn, so a
 * newer host's finding is still shown.
 */
#pragma once

#include <glib.h>

#include "codec.h"
#include "pd-i18n.h"

G_BEGIN_DECLS

typedef enum
{
  PD_HOST_REPORT_OK = 0,
  PD_HOST_REPORT_WARN,
  PD_HOST_REPORT_FAIL,
} PdHostReportState;

typedef struct
{
  char *check;             /* the doctor's check name, as the host spelled it */
  guint32 vmid;            /* 0: a finding about the host itself */
  PdHostReportState state; /* WARN or FAIL (unknown words: WARN) */
  char *text;              /* one or two sentences naming the cause */
  char *fix;               /* the command or edit on the host, or NULL */
  PdMsg *text_msg;         /* their recipes from the host (hl-text.h), or NULL */
  PdMsg *fix_msg;
} PdHostReportItem;

typedef struct
{
  guint32 id;              /* the HOST-REPORT's id */
  PdHostReportState state; /* the host's word (unknown words: WARN) */
  guint32 time;            /* when the doctor ran, Unix time (s) */
  guint32 n_ok, n_warn, n_fail;
  guint32 n_items;                                 /* how many the host announced */
  PdHostReportItem *items[PD_HL_MAX_REPORT_ITEMS]; /* by n; NULL: not arrived */
  guint n_received;
} PdHostReport;

/* NULL unless @msg is a HOST-REPORT (pd_hl_decode checked its keys and
 * bounds). */
PdHostReport *pd_host_report_new (const PdHlMessage *msg);
void pd_host_report_free (PdHostReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdHostReport, pd_host_report_free)

/* Takes @msg into @report when it is a HOST-ITEM of it with a new n inside
 * the announced range; FALSE (and nothing changes) otherwise. */
gboolean pd_host_report_add_item (PdHostReport *report, const PdHlMessage *msg);
/* Every announced item arrived. */
gboolean pd_host_report_is_complete (const PdHostReport *report);
/* The worst of the host's word and the items that arrived. */
PdHostReportState pd_host_report_worst (const PdHostReport *report);

G_END_DECLS
