/* logind-poweroff.h - a clean guest poweroff through systemd-logind:
 * org.freedesktop.login1.Manager.PowerOff(false) on the system bus (so tests
 * can point DBUS_SYSTEM_BUS_ADDRESS at a private bus with dbusmock's logind).
 *
 * interactive=false: the caller has already been authorised (polkit on the
 * agent's ColdRestart, root for the CLI); logind still applies its own
 * policy and inhibitors and says so in the error.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void pd_logind_power_off_async (GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
/* FALSE with a sentence naming logind's answer when it refused or is absent. */
gboolean pd_logind_power_off_finish (GAsyncResult *res, GError **error);

G_END_DECLS
