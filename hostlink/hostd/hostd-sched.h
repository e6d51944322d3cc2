/* hostd-sched.h - fair shares of hostd's time across all guest connections.
 *
 * Each link's own token bucket (hostd-link.h) keeps one guest from taking
 * more than its share of lines; this keeps all of them together from taking
 * the main loop, whatever the machine's speed. Work on guest lines is paid
 * from one overall budget of time: all connections together may spend
 * PD_SCHED_SHARE of the wall clock on it, PD_SCHED_BURST_US at once (their
 * work is timed, so a slow machine or a sanitizer build gets fewer lines,
 * not longer passes). When the budget is spent, a connection is still
 * served from a small purse of its own (PD_SCHED_LIGHT_PER_S lines a
 * second), which a well-behaved guest never empties and which costs little
 * however many connections there are. A connection that finds both empty waits
 * in line: its wait grows with the number of connections waiting, so they
 * are served in turn, at most PD_SCHED_GRANT_MAX lines at a time, and a
 * main-loop pass never holds more than a few milliseconds of their work. A
 * well-behaved VM's round trip therefore does not depend on how many others
 * flood. Pure: the caller passes the time and what the work cost.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Fraction of the wall clock all flooding connections together may use. */
#define PD_SCHED_SHARE 0.25
/* How much of it may be spent at once (µs): bounds a main-loop pass. */
#define PD_SCHED_BURST_US 4000.0
/* The own purse: lines a second (and at once) a connection is served when
 * the overall budget is spent. A well-behaved guest sends far fewer. */
#define PD_SCHED_LIGHT_PER_S 20.0
/* Lines per grant from the own purse (a well-behaved guest sends one or two). */
#define PD_SCHED_LIGHT_GRANT_MAX 4
/* At most this many lines per connection per main-loop pass. */
#define PD_SCHED_GRANT_MAX 64

typedef struct _PdSched PdSched;

typedef struct
{
  double light; /* the connection's own purse, in lines */
  gint64 light_at;
  gboolean waiting;    /* counted in the scheduler's waiters */
  gboolean light_paid; /* the last grant came from the own purse */
} PdSchedClient;

PdSched *pd_sched_new (double share, double burst_us);
void pd_sched_free (PdSched *sched);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdSched, pd_sched_free)

void pd_sched_client_init (PdSchedClient *client, gint64 now_us);
/* The connection ends: it no longer waits in line. */
void pd_sched_client_clear (PdSched *sched, PdSchedClient *client);

/* How many lines (up to @max) @client may handle now. 0: it waits, and
 * *@wait_ms says for how long (1..1000). */
guint pd_sched_grant (PdSched *sched, PdSchedClient *client, guint max, gint64 now_us,
                      guint *wait_ms);
/* @lines were handled in @cost_us: paid from where the grant came from,
 * the overall budget (its time; it may go into debt by one grant's worth)
 * or the connection's own purse (its lines). */
void pd_sched_charge (PdSched *sched, PdSchedClient *client, guint lines, gint64 cost_us,
                      gint64 now_us);

guint pd_sched_get_waiters (PdSched *sched);

G_END_DECLS
