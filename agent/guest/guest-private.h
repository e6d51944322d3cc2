/* guest-private.h - what the pieces of libpdguest share, not for callers.
 *
 * The link's state as the component and the request API see it: the port's
 * state (guest-port.h) refined by the protocol core's (guest-conn.h) once a
 * host is connected; and the wording of the `hostlink` component from it
 * (guest-component.c) and of the `host` component from the host doctor's
 * summary (host-component.c). Only hostlink-guest.c combines them.
 */
#pragma once

#include "guest-conn.h"
#include "health.h"

G_BEGIN_DECLS

typedef enum
{
  PD_GUEST_LINK_STOPPED = 0,
  PD_GUEST_LINK_NO_PORT,      /* the port does not exist */
  PD_GUEST_LINK_OPEN_ERROR,   /* open failed (not EBUSY) */
  PD_GUEST_LINK_BUSY,         /* another program holds the port */
  PD_GUEST_LINK_DISCONNECTED, /* port open, no host client */
  PD_GUEST_LINK_WAIT_HELLO,   /* host connected, no HELLO yet */
  PD_GUEST_LINK_READY,        /* handshake done */
} PdGuestLinkState;

/* Everything the `hostlink` component is worded from. */
typedef struct
{
  PdGuestLinkState state;
  const char *port_path;
  const char *open_error; /* NULL: none known */
  gboolean silent;        /* WAIT_HELLO for over PD_GUEST_CONN_SILENT_AFTER_S */
  const PdHostInfo *host; /* READY: the latest HELLO's facts */
  gint64 now_us;          /* monotonic: the rate figures count down to it */
} PdGuestLinkView;

/* The `hostlink` component for @view, transfer full. */
PdComponent *pd_guest_component_new (const PdGuestLinkView *view);

/* Everything the `host` component is worded from. */
typedef struct
{
  PdGuestLinkState state;     /* the link now */
  guint32 proto;              /* the version chosen while READY, else 0 */
  const PdHostInfo *host;     /* READY: the latest HELLO's facts */
  const PdHostReport *report; /* the latest report, possibly from an earlier connection */
} PdGuestHostView;

/* The `host` component for @view, transfer full. */
PdComponent *pd_host_component_new (const PdGuestHostView *view);

/* Why a request cannot be made in @state: a sentence for the user. */
const char *pd_guest_link_unavailable_reason (PdGuestLinkState state);

G_END_DECLS
