/* hostd-sched.c - the overall budget for guest lines, shared fairly. */
#include "hostd-sched.h"

struct _PdSched
{
  double per_s;
  double burst;
  double tokens;
  gint64 at;
  guint waiters;
};

PdSched *
pd_sched_new (double total_per_s, double total_burst)
{
  PdSched *s = g_new0 (PdSched, 1);
  s->per_s = total_per_s;
  s->burst = total_burst;
  s->tokens = total_burst;
  return s;
}

void
pd_sched_free (PdSched *s)
{
  g_free (s);
}

void
pd_sched_client_init (PdSchedClient *c, gint64 now)
{
  c->light = PD_SCHED_LIGHT_PER_S;
  c->light_at = now;
  c->waiting = FALSE;
}

static void
set_waiting (PdSched *s, PdSchedClient *c, gboolean waiting)
{
  if (c->waiting == waiting)
    return;
  c->waiting = waiting;
  if (waiting)
    s->waiters++;
  else if (s->waiters > 0)
    s->waiters--;
}

void
pd_sched_client_clear (PdSched *s, PdSchedClient *c)
{
  set_waiting (s, c, FALSE);
}

static void
refill (PdSched *s, PdSchedClient *c, gint64 now)
{
  if (s->at == 0)
    s->at = now;
  if (now > s->at)
    {
      s->tokens = MIN (s->burst, s->tokens + (now - s->at) * s->per_s / G_USEC_PER_SEC);
      s->at = now;
    }
  if (now > c->light_at)
    {
      c->light = MIN (PD_SCHED_LIGHT_PER_S,
                      c->light + (now - c->light_at) * PD_SCHED_LIGHT_PER_S / G_USEC_PER_SEC);
      c->light_at = now;
    }
}

guint
pd_sched_grant (PdSched *s, PdSchedClient *c, guint max, gint64 now, guint *wait_ms)
{
  refill (s, c, now);
  double avail = MAX (0.0, c->light) + MAX (0.0, s->tokens);
  guint grant = (guint) MIN ((double) max, avail);
  if (grant > 0)
    {
      set_waiting (s, c, FALSE);
      return grant;
    }
  set_waiting (s, c, TRUE);
  /* In line behind the others: long enough for the budget to serve each
   * waiter one grant (its own purse refills meanwhile). Waking sooner only
   * to find the budget empty would cost wakeups, not add fairness. */
  double ms = (PD_SCHED_GRANT_MAX * (double) s->waiters - s->tokens) * 1000.0 / s->per_s;
  if (wait_ms)
    *wait_ms = (guint) CLAMP (ms + 1, 1, 1000);
  return 0;
}

void
pd_sched_charge (PdSched *s, PdSchedClient *c, guint lines, gint64 now)
{
  refill (s, c, now);
  double from_light = MIN ((double) lines, MAX (0.0, c->light));
  c->light -= from_light;
  s->tokens -= (double) lines - from_light;
}

guint
pd_sched_get_waiters (PdSched *s)
{
  return s->waiters;
}
