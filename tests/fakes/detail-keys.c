/* detail-keys.c - the agent's detail-key table (agent/core/detail-keys.h)
 * for the tests' fakes and scripts, so a fake cannot send a key the real
 * agent does not know.
 *
 *   detail-keys --list     one "id<TAB>label" line per fixed key
 *   detail-keys KEY...     exit 0 when every KEY is a known key (fixed or a
 *                          family member), 1 naming the unknown ones
 */
#include <stdio.h>
#include <string.h>

#include "detail-keys.h"

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "--list") == 0)
    {
      guint n;
      const PdDetailKey *keys = pd_detail_keys (&n);
      for (guint i = 0; i < n; i++)
        printf ("%s\t%s\n", keys[i].id, keys[i].label);
      return 0;
    }
  int status = 0;
  for (int i = 1; i < argc; i++)
    if (!pd_detail_key_is_known (argv[i]))
      {
        fprintf (stderr, "unknown detail key “%s” (see agent/core/detail-keys.h)\n", argv[i]);
        status = 1;
      }
  return status;
}
