/* hostd-sched.c - the overall time budget for guest lines, shared fairly. */
#include "hostd-sched.h"

struct _PdSched
{
  double share;
  double burst_us;
  double tokens_us;
  gint64 at;
  guint waiters;
  double grant_cost_us; /* running mean of what one budget-paid grant costs */
};

PdSched *
pd_sched_new (double share, double burst_us)
{
  PdSched *s = g_new0 (PdSched, 1);
  s->share = share;
  s->burst_us = burst_us;
  s->tokens_us = burst_us;
  s->grant_cost_us = 200;
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
  c->light_paid = FALSE;
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
      s->tokens_us = MIN (s->burst_us, s->tokens_us + (double) (now - s->at) * s->share);
      s->at = now;
    }
  if (now > c->light_at)
    {
      c->light
          = MIN (PD_SCHED_LIGHT_PER_S,
                 c->light + (double) (now - c->light_at) * PD_SCHED_LIGHT_PER_S / G_USEC_PER_SEC);
      c->light_at = now;
    }
}

guint
pd_sched_grant (PdSched *s, PdSchedClient *c, guint max, gint64 now, guint *wait_ms)
{
  refill (s, c, now);
  guint grant = 0;
  c->light_paid = FALSE;
  if (s->tokens_us > 0)
    grant = max;
  else if (c->light >= 1)
    {
      /* A few lines at a time: many flooders waking in one pass must not
       * add up to a long pass on their own purses. */
      grant = (guint) MIN (MIN ((double) max, c->light), PD_SCHED_LIGHT_GRANT_MAX);
      c->light_paid = TRUE;
    }
  if (grant > 0)
    {
      set_waiting (s, c, FALSE);
      return grant;
    }
  set_waiting (s, c, TRUE);
  /* In line behind the others: long enough for the budget to pay each
   * waiter one grant (its own purse refills meanwhile). Waking sooner only
   * to find the budget empty would cost wakeups, not add fairness. */
  double ms = (s->grant_cost_us * s->waiters - s->tokens_us) / s->share / 1000.0;
  if (wait_ms)
    *wait_ms = (guint) CLAMP (ms + 1, 1, 1000);
  return 0;
}

void
pd_sched_charge (PdSched *s, PdSchedClient *c, guint lines, gint64 cost_us, gint64 now)
{
  refill (s, c, now);
  if (c->light_paid)
    {
      c->light -= lines;
      return;
    }
  /* Also when no line completed: scanning a long line costs time too. */
  double paid_us = (double) MAX (cost_us, 0);
  s->tokens_us -= paid_us;
  s->grant_cost_us = 0.9 * s->grant_cost_us + 0.1 * paid_us;
}

guint
pd_sched_get_waiters (PdSched *s)
{
  return s->waiters;
}
