/* hostd-sched.h - fair shares of hostd's time across all guest connections.
 *
 * Each link's own token bucket (hostd-link.h) keeps one guest from taking
 * more than its share; this keeps all of them together from taking the
 * main loop. Lines from guests are paid from two purses: a small one of
 * each connection's own (PD_SCHED_LIGHT_PER_S a second, as much in a burst),
 * which a well-behaved guest never empties, and one overall budget
 * (PD_SCHED_TOTAL_PER_S a second) that the flooding connections share. A
 * connection that finds both empty waits in line: its wait grows with the
 * number of connections waiting, so they are served in turn, a few lines at
 * a time, and a main-loop pass never holds more than a few hundred lines of
 * work. A well-behaved VM's round trip therefore does not depend on how many
 * others flood. Pure: the caller passes the time.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PD_SCHED_TOTAL_PER_S 40000.0
#define PD_SCHED_TOTAL_BURST 512.0
#define PD_SCHED_LIGHT_PER_S 200.0
/* At most this many lines per connection per main-loop pass. */
#define PD_SCHED_GRANT_MAX 64

typedef struct _PdSched PdSched;

typedef struct
{
  double light; /* the connection's own purse */
  gint64 light_at;
  gboolean waiting; /* counted in the scheduler's waiters */
} PdSchedClient;

PdSched *pd_sched_new (double total_per_s, double total_burst);
void pd_sched_free (PdSched *sched);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdSched, pd_sched_free)

void pd_sched_client_init (PdSchedClient *client, gint64 now_us);
/* The connection ends: it no longer waits in line. */
void pd_sched_client_clear (PdSched *sched, PdSchedClient *client);

/* How many lines (up to @max) @client may handle now. 0: it waits, and
 * *@wait_ms says for how long (1..1000). */
guint pd_sched_grant (PdSched *sched, PdSchedClient *client, guint max, gint64 now_us,
                      guint *wait_ms);
/* @lines were handled: paid from the connection's purse first, the rest
 * from the overall budget (which may go into debt by one read's worth). */
void pd_sched_charge (PdSched *sched, PdSchedClient *client, guint lines, gint64 now_us);

guint pd_sched_get_waiters (PdSched *sched);

G_END_DECLS
