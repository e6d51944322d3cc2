/* hostd-daemon.h - passdesk-hostd's daemon: ties config, state, discovery,
 * links and cycles together on the main loop.
 *
 * On start it loads the state file, resumes every cycle a previous hostd
 * left running (hostd-cycle.h: pd_cycle_resume), and watches the socket
 * directory. Each VM's link serves the protocol; an accepted RESTART starts
 * that VM's cycle, whose phases are written to the state file and reported
 * to the guest as PROGRESS while the accepting connection lasts. The result
 * is kept in the state file and sent in every later HELLO.
 *
 * An accepted request is a record in the state file until the next main-loop
 * pass starts `qm shutdown`; until then a CANCEL of it (from any connection
 * of the VM) withdraws it, after that it is too late (PROTOCOL.md: the point
 * of no return). qm is checked at start and before every ACCEPT.
 */
#pragma once

#include "hostd-config.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PdHostd PdHostd;

/* Takes @config. */
PdHostd *pd_hostd_new (PdHostdConfig *config);
gboolean pd_hostd_start (PdHostd *hostd, GError **error);
void pd_hostd_free (PdHostd *hostd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdHostd, pd_hostd_free)

G_END_DECLS
