/* pa-context-null.c - LD_PRELOAD into passdesk-tray: libpulse's
 * pa_context_new_with_proplist() returns NULL, as it does when it cannot
 * allocate its memory pool or detects a fork. The tray must show a clear
 * state (the sound server not reachable) and keep running, not abort in
 * pa_context_set_state_callback (NULL). */
#include <pulse/context.h>

pa_context *
pa_context_new_with_proplist (pa_mainloop_api *mainloop, const char *name,
                              const pa_proplist *proplist)
{
  (void) mainloop;
  (void) name;
  (void) proplist;
  return NULL;
}
