/* host-report.c - assembling the host doctor's summary (pure). */
#include "config.h"

#include "host-report.h"
#include "hl-text.h"

/* "ok" only where the host may say it (the report); anything else that is
 * not "fail" is a warning, so an unknown word is shown, not hidden. */
static PdHostReportState
state_from_wire (const char *word, gboolean ok_allowed)
{
  if (g_strcmp0 (word, "fail") == 0)
    return PD_HOST_REPORT_FAIL;
  if (ok_allowed && g_strcmp0 (word, "ok") == 0)
    return PD_HOST_REPORT_OK;
  return PD_HOST_REPORT_WARN;
}

PdHostReport *
pd_host_report_new (const PdHlMessage *msg)
{
  if (msg == NULL || msg->verb != PD_HL_VERB_HOST_REPORT)
    return NULL;
  PdHostReport *r = g_new0 (PdHostReport, 1);
  r->id = msg->id;
  r->state = state_from_wire (pd_hl_message_get (msg, "state"), TRUE);
  pd_hl_message_get_uint (msg, "time", &r->time);
  pd_hl_message_get_uint (msg, "ok", &r->n_ok);
  pd_hl_message_get_uint (msg, "warn", &r->n_warn);
  pd_hl_message_get_uint (msg, "fail", &r->n_fail);
  pd_hl_message_get_uint (msg, "items", &r->n_items);
  /* The codec refuses more; stay bounded even if it did not. */
  r->n_items = MIN (r->n_items, (guint32) PD_HL_MAX_REPORT_ITEMS);
  return r;
}

static void
item_free (PdHostReportItem *item)
{
  if (item == NULL)
    return;
  g_free (item->check);
  g_free (item->text);
  g_free (item->fix);
  pd_msg_free (item->text_msg);
  pd_msg_free (item->fix_msg);
  g_free (item);
}

void
pd_host_report_free (PdHostReport *r)
{
  if (r == NULL)
    return;
  for (guint i = 0; i < PD_HL_MAX_REPORT_ITEMS; i++)
    item_free (r->items[i]);
  g_free (r);
}

gboolean
pd_host_report_add_item (PdHostReport *r, const PdHlMessage *msg)
{
  guint32 n = 0;
  if (msg == NULL || msg->verb != PD_HL_VERB_HOST_ITEM || msg->id != r->id
      || !pd_hl_message_get_uint (msg, "n", &n) || n >= r->n_items || r->items[n] != NULL)
    return FALSE;
  const char *text = pd_hl_message_get (msg, "text");
  const char *fix = pd_hl_message_get (msg, "fix");
  PdHostReportItem *item = g_new0 (PdHostReportItem, 1);
  item->check = g_strdup (pd_hl_message_get (msg, "check"));
  pd_hl_message_get_uint (msg, "vmid", &item->vmid);
  item->state = state_from_wire (pd_hl_message_get (msg, "state"), FALSE);
  item->text = g_strdup (text ? text : "");
  item->fix = fix && *fix ? g_strdup (fix) : NULL;
  /* Kept with the item: the report outlives the sentence book's memory. */
  item->text_msg = pd_hl_text_get_recipe (msg, "text");
  item->fix_msg = item->fix ? pd_hl_text_get_recipe (msg, "fix") : NULL;
  r->items[n] = item;
  r->n_received++;
  return TRUE;
}

gboolean
pd_host_report_is_complete (const PdHostReport *r)
{
  return r->n_received >= r->n_items;
}

PdHostReportState
pd_host_report_worst (const PdHostReport *r)
{
  PdHostReportState worst = r->state;
  for (guint i = 0; i < r->n_items; i++)
    if (r->items[i])
      worst = MAX (worst, r->items[i]->state);
  return worst;
}
