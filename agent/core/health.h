/* health.h - the health model: components, states, details and advice.
 *
 * A PdReport holds one PdComponent per checked area. The agent, the CLI and
 * the tray all speak this model; its JSON form (pd_report_to_json) is the one
 * `passdesk status --json` prints and the agent's GetReport returns.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "pd-i18n.h"

G_BEGIN_DECLS

/* Ordered by severity: the overall state is the maximum. */
typedef enum
{
  PD_STATE_OK = 0,
  PD_STATE_UNKNOWN,
  PD_STATE_DEGRADED,
  PD_STATE_FAILED,
} PdState;

typedef enum
{
  PD_COMPONENT_GPU = 0,
  PD_COMPONENT_DISPLAY,
  PD_COMPONENT_VAAPI,
  PD_COMPONENT_AUDIO,
  PD_COMPONENT_USB,
  PD_COMPONENT_HOSTLINK,
  PD_COMPONENT_HOST, /* the host doctor's summary, sent by passdesk-hostd */
  PD_N_COMPONENTS,
} PdComponentId;

const char *pd_state_to_string (PdState state);
gboolean pd_state_from_string (const char *str, PdState *out);
PdState pd_state_worst (PdState a, PdState b);

/* Stable ids ("gpu", "display", "vaapi", ...) and human titles. */
const char *pd_component_id_to_string (PdComponentId id);
gboolean pd_component_id_from_string (const char *str, PdComponentId *out);
const char *pd_component_title (PdComponentId id); /* English */
const char *pd_component_title_localized (PdComponentId id);

typedef struct
{
  char *text;    /* a sentence naming the cause and the next step */
  char *command; /* the exact command that fixes it, or NULL */
} PdAdvice;

typedef struct
{
  char *key;
  char *value;
} PdDetail;

typedef struct
{
  PdComponentId id;
  PdState state;
  char *summary;
  GPtrArray *details; /* PdDetail, in insertion order */
  GPtrArray *advice;  /* PdAdvice */
  GHashTable *msgs;   /* English sentence -> PdMsg, for those made from a format */
} PdComponent;

PdComponent *pd_component_new (PdComponentId id, PdState state, const char *summary);
void pd_component_free (PdComponent *c);
PdComponent *pd_component_copy (const PdComponent *c);
gboolean pd_component_equal (const PdComponent *a, const PdComponent *b);

void pd_component_set_state (PdComponent *c, PdState state, const char *summary);
/* Raises the state to @state if it is worse, replacing the summary then. */
void pd_component_raise (PdComponent *c, PdState state, const char *summary);
/* Sentences are English msgids: the model never holds a translation (see
 * pd-i18n.h). A literal passed as summary or advice text is extracted for
 * translation as it stands (po/meson.build names these functions); the
 * _printf forms remember format and arguments so that
 * pd_component_localize() can word the sentence again. */
void pd_component_set_summary_printf (PdComponent *c, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
void pd_component_set_state_printf (PdComponent *c, PdState state, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);
void pd_component_add_advice_printf (PdComponent *c, const char *command, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);
/* Keeps a copy of @m as the recipe of m->english (set as a text elsewhere). */
void pd_component_remember (PdComponent *c, const PdMsg *m);
/* A copy whose summary, detail values and advice are in the current
 * thread's language (LC_MESSAGES, or the uselocale() locale). */
PdComponent *pd_component_localize (const PdComponent *c);
/* Sets (replaces) a detail; keeps its original position. */
void pd_component_set_detail (PdComponent *c, const char *key, const char *value);
void pd_component_set_detail_printf (PdComponent *c, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);
const char *pd_component_get_detail (const PdComponent *c, const char *key);
/* Adds advice unless the same text is already there. @command may be NULL. */
void pd_component_add_advice (PdComponent *c, const char *text, const char *command);

typedef struct
{
  PdComponent *components[PD_N_COMPONENTS]; /* NULL: not checked */
  gint64 time;                              /* g_get_real_time() of the check */
  char *source;                             /* "in-process" or "agent" */
} PdReport;

PdReport *pd_report_new (const char *source);
void pd_report_free (PdReport *r);
/* Takes ownership of @c, replacing any component with the same id. */
void pd_report_take (PdReport *r, PdComponent *c);
const PdComponent *pd_report_get (const PdReport *r, PdComponentId id);
PdState pd_report_overall (const PdReport *r);
/* Every component localized (pd_component_localize). */
PdReport *pd_report_localize (const PdReport *r);

/* JSON: {"overall": "...", "time": "<ISO 8601>", "source": "...",
 *        "components": [{"id","title","state","summary",
 *                        "details": {k: v}, "advice": [{"text","command"}]}]} */
JsonNode *pd_component_to_json (const PdComponent *c);
JsonNode *pd_report_to_json (const PdReport *r);
char *pd_report_to_json_string (const PdReport *r, gboolean pretty);
PdComponent *pd_component_from_json (JsonNode *node, GError **error);
PdReport *pd_report_from_json_string (const char *json, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdComponent, pd_component_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdReport, pd_report_free)

G_END_DECLS
