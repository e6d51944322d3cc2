'''python-dbusmock template: an org.kde.StatusNotifierWatcher for the tray tests.

Records RegisterStatusNotifierItem calls (read them with the mock
interface's GetCalls / GetMethodCalls) and lists the registered items.
'''

import dbus

BUS_NAME = 'org.kde.StatusNotifierWatcher'
MAIN_OBJ = '/StatusNotifierWatcher'
MAIN_IFACE = 'org.kde.StatusNotifierWatcher'
SYSTEM_BUS = False


def load(mock, parameters):
    mock.AddProperties(MAIN_IFACE, dbus.Dictionary({
        'RegisteredStatusNotifierItems': dbus.Array([], signature='s'),
        'IsStatusNotifierHostRegistered': dbus.Boolean(True),
        'ProtocolVersion': dbus.Int32(0),
    }, signature='sv'))
    mock.AddMethods(MAIN_IFACE, [
        ('RegisterStatusNotifierItem', 's', '',
         'self.props["%s"]["RegisteredStatusNotifierItems"].append(args[0]); '
         'self.EmitSignal("", "StatusNotifierItemRegistered", "s", [args[0]])' % MAIN_IFACE),
        ('RegisterStatusNotifierHost', 's', '', ''),
    ])
