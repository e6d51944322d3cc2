'''python-dbusmock template: a test org.passdesk.Agent1 for the tray tests.

Implements data/org.passdesk.Agent1.xml (properties, signals, methods) on
the (private) system bus, controlled by the test through the mock interface
org.freedesktop.DBus.Mock:

  SetComponent(id, state, summary, a(ss) details, a(ss) advice)
                                              refuses a detail key the real
                                              agent does not know (the table
                                              in agent/core/detail-keys.c)
  RemoveComponent(id)
  AddEvent(kind, component, text)             -> Event signal + history
  SetColdRestartError(error_name, message)    "" = accept requests
  EmitColdRestartProgress(phase, text)        -> signal + ColdRestartState
  GetColdRestartRequests() -> aa{sv}          options of every ColdRestart
  GetRunChecksCount() -> u
'''

import json
import os
import subprocess
import time

import dbus
import dbus.service

BUS_NAME = 'org.passdesk.Agent1'
MAIN_OBJ = '/org/passdesk/Agent1'
MAIN_IFACE = 'org.passdesk.Agent1'
SYSTEM_BUS = True
MOCK_IFACE = 'org.freedesktop.DBus.Mock'

ORDER = ['gpu', 'display', 'vaapi', 'audio', 'usb', 'hostlink', 'host']
SEVERITY = {'ok': 0, 'unknown': 1, 'degraded': 2, 'failed': 3}
COMPONENT_SIG = '(sssa(ss)a(ss))'


def check_detail_keys(keys):
    '''Raises unless every key is one the real agent knows, as the C table says
    (tests/fakes/detail-keys, built beside the tests).'''
    tool = os.path.join(os.environ['PASSDESK_BUILDDIR'], 'tests', 'fakes', 'detail-keys')
    r = subprocess.run([tool] + [str(k) for k in keys], capture_output=True, text=True)
    if r.returncode != 0:
        raise dbus.exceptions.DBusException(
            'the fake agent sends only keys the real agent sends: ' + r.stderr.strip(),
            name='org.freedesktop.DBus.Error.InvalidArgs')


def _components(mock):
    return dbus.Array([mock.pd_components[c] for c in ORDER if c in mock.pd_components],
                      signature=COMPONENT_SIG)


def _overall(mock):
    worst = 'ok'
    for c in mock.pd_components.values():
        if SEVERITY[str(c[1])] > SEVERITY[worst]:
            worst = str(c[1])
    return worst


def _publish(mock, changed):
    props = {}
    if 'Components' in changed:
        mock.props[MAIN_IFACE]['Components'] = _components(mock)
        mock.props[MAIN_IFACE]['OverallState'] = dbus.String(_overall(mock))
        props['Components'] = mock.props[MAIN_IFACE]['Components']
        props['OverallState'] = mock.props[MAIN_IFACE]['OverallState']
    if 'ColdRestartState' in changed:
        props['ColdRestartState'] = mock.props[MAIN_IFACE]['ColdRestartState']
    mock.EmitSignal('org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as',
                    [MAIN_IFACE, dbus.Dictionary(props, signature='sv'),
                     dbus.Array([], signature='s')])


def load(mock, parameters):
    mock.pd_components = {}
    mock.pd_events = []
    mock.pd_requests = []
    mock.pd_error = ('', '')
    mock.pd_run_checks = 0
    mock.AddProperties(MAIN_IFACE, dbus.Dictionary({
        'Version': dbus.String('0.1.0-test'),
        'OverallState': dbus.String('ok'),
        'Components': dbus.Array([], signature=COMPONENT_SIG),
        'ColdRestartState': dbus.String('idle'),
    }, signature='sv'))


@dbus.service.method(MAIN_IFACE, in_signature='', out_signature='s')
def GetReport(self):
    comps = []
    for cid in ORDER:
        if cid not in self.pd_components:
            continue
        c = self.pd_components[cid]
        comps.append({'id': cid, 'state': str(c[1]), 'summary': str(c[2]),
                      'details': {str(k): str(v) for k, v in c[3]},
                      'advice': [{'text': str(t), 'command': str(m)} for t, m in c[4]]})
    return json.dumps({'overall': _overall(self), 'source': 'agent', 'components': comps})


@dbus.service.method(MAIN_IFACE, in_signature='', out_signature='')
def RunChecks(self):
    self.pd_run_checks += 1


@dbus.service.method(MAIN_IFACE, in_signature='', out_signature='a(xsss)')
def GetEvents(self):
    return dbus.Array(self.pd_events[-200:], signature='(xsss)')


@dbus.service.method(MAIN_IFACE, in_signature='a{sv}', out_signature='')
def ColdRestart(self, options):
    self.pd_requests.append(dbus.Dictionary(options, signature='sv'))
    name, message = self.pd_error
    if name:
        raise dbus.exceptions.DBusException(message, name=name)
    self.props[MAIN_IFACE]['ColdRestartState'] = dbus.String('accepted')
    _publish(self, ['ColdRestartState'])
    self.EmitSignal(MAIN_IFACE, 'ColdRestartProgress', 'ss',
                    ['accepted', 'The host accepted the cold restart; the VM shuts down now.'])


@dbus.service.method(MAIN_IFACE, in_signature='', out_signature='')
def CancelColdRestart(self):
    self.props[MAIN_IFACE]['ColdRestartState'] = dbus.String('cancelled')
    _publish(self, ['ColdRestartState'])


@dbus.service.method(MOCK_IFACE, in_signature='sssa(ss)a(ss)', out_signature='')
def SetComponent(self, cid, state, summary, details, advice):
    check_detail_keys([k for k, _ in details])
    self.pd_components[str(cid)] = dbus.Struct(
        (dbus.String(cid), dbus.String(state), dbus.String(summary),
         dbus.Array(details, signature='(ss)'), dbus.Array(advice, signature='(ss)')),
        signature='sssa(ss)a(ss)')
    _publish(self, ['Components'])
    self.EmitSignal(MAIN_IFACE, 'ComponentChanged', 'sss', [cid, state, summary])


@dbus.service.method(MOCK_IFACE, in_signature='s', out_signature='')
def RemoveComponent(self, cid):
    self.pd_components.pop(str(cid), None)
    _publish(self, ['Components'])


@dbus.service.method(MOCK_IFACE, in_signature='sss', out_signature='')
def AddEvent(self, kind, component, text):
    ev = dbus.Struct((dbus.Int64(int(time.time() * 1e6)), dbus.String(kind),
                      dbus.String(component), dbus.String(text)), signature='xsss')
    self.pd_events.append(ev)
    self.EmitSignal(MAIN_IFACE, 'Event', 'xsss', list(ev))


@dbus.service.method(MOCK_IFACE, in_signature='ss', out_signature='')
def SetColdRestartError(self, name, message):
    self.pd_error = (str(name), str(message))


@dbus.service.method(MOCK_IFACE, in_signature='ss', out_signature='')
def EmitColdRestartProgress(self, phase, text):
    self.props[MAIN_IFACE]['ColdRestartState'] = dbus.String(phase)
    _publish(self, ['ColdRestartState'])
    self.EmitSignal(MAIN_IFACE, 'ColdRestartProgress', 'ss', [phase, text])


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='aa{sv}')
def GetColdRestartRequests(self):
    return dbus.Array(self.pd_requests, signature='a{sv}')


@dbus.service.method(MOCK_IFACE, in_signature='', out_signature='u')
def GetRunChecksCount(self):
    return dbus.UInt32(self.pd_run_checks)
