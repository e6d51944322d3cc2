/* autofd.h - `pd_autofd int fd = open (...)`: the fd is closed when it goes
 * out of scope, as g_autofd does from GLib 2.76 (we pin 2.74). Steal it with
 * g_steal_fd() to keep it open. */
#pragma once

#include <glib.h>
#include <unistd.h>

static inline void
pd_autofd_close (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}

#define pd_autofd __attribute__ ((cleanup (pd_autofd_close)))
