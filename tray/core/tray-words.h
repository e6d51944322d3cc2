/* tray-words.h - what the views say of the agent's facts.
 *
 * The agent's detail values are mostly sentences already; a few are ids a
 * program chose ("no-device", "read-write", "timeout"). Views show those in
 * words (pd_tray_detail_value()), and durations in the units people count
 * in ("4 min 18 s", never "258 s").
 *
 * The host's rate limit is read here from the hostlink component's facts
 * (next-allowed-in, rate-left), so that the cold-restart dialog can say
 * before anyone confirms that the host would refuse, and for how long.
 */
#pragma once

#include "health.h"

G_BEGIN_DECLS

/* "45 s", "4 min 18 s", "5 min", "1 h 2 min". Transfer full. */
char *pd_tray_duration_words (guint64 seconds);

/* @value of the detail @key as people read it: the words for the ids a few
 * keys carry, @value itself otherwise. Transfer full. */
char *pd_tray_detail_value (const char *key, const char *value);

typedef struct
{
  gboolean known;   /* the agent reported the host's limit at all */
  gboolean blocked; /* the host would refuse a cold restart now */
  guint64 wait_s;   /* ... for this long (0: not known how long) */
} PdTrayRateWait;

/* The host's rate limit from @hostlink (NULL: none), @elapsed_s seconds
 * after the agent reported it: next-allowed-in counts down from then. */
PdTrayRateWait pd_tray_rate_wait (const PdComponent *hostlink, guint64 elapsed_s);

/* The sentence for a @wait that blocks: "The host allows the next cold
 * restart in 4 min 18 s." Transfer full. */
char *pd_tray_rate_wait_sentence (const PdTrayRateWait *wait);

G_END_DECLS
