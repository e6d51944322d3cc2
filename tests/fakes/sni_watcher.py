#!/usr/bin/python3
'''A StatusNotifierWatcher for the tray tests (GDBus via python3-gi).

Exports org.kde.StatusNotifierWatcher at /StatusNotifierWatcher first and
only then takes the bus name, as real watchers do (a dbusmock template
would own the name before its methods exist, and a fast client would race
it). Records registrations; the test reads them with
org.passdesk.Test.Watcher.GetRegistrations. Prints "ready" once it owns the
name. Exits when the bus goes away or on SIGTERM.
'''

import signal
import sys

from gi.repository import Gio, GLib

XML = '''
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
  <interface name="org.passdesk.Test.Watcher">
    <method name="GetRegistrations"><arg type="as" direction="out"/></method>
  </interface>
</node>
'''

items = []


def method_call(conn, sender, path, iface, method, params, invocation):
    if method == 'RegisterStatusNotifierItem':
        service = params.unpack()[0]
        # A path means "the sender's name, at this path" (libappindicator style).
        name = sender + service if service.startswith('/') else service
        items.append(name)
        conn.emit_signal(None, path, 'org.kde.StatusNotifierWatcher',
                         'StatusNotifierItemRegistered', GLib.Variant('(s)', (name,)))
        invocation.return_value(None)
    elif method == 'RegisterStatusNotifierHost':
        invocation.return_value(None)
    elif method == 'GetRegistrations':
        invocation.return_value(GLib.Variant('(as)', (items,)))


def get_property(conn, sender, path, iface, name):
    return {'RegisteredStatusNotifierItems': GLib.Variant('as', items),
            'IsStatusNotifierHostRegistered': GLib.Variant('b', True),
            'ProtocolVersion': GLib.Variant('i', 0)}[name]


def main():
    loop = GLib.MainLoop()
    conn = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    conn.set_exit_on_close(True)
    node = Gio.DBusNodeInfo.new_for_xml(XML)
    for iface in node.interfaces:
        conn.register_object('/StatusNotifierWatcher', iface, method_call, get_property, None)

    def acquired(*_):
        print('ready', flush=True)

    def lost(*_):
        sys.exit('lost org.kde.StatusNotifierWatcher')

    Gio.bus_own_name_on_connection(conn, 'org.kde.StatusNotifierWatcher',
                                   Gio.BusNameOwnerFlags.NONE, acquired, lost)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    loop.run()


if __name__ == '__main__':
    main()
