'''A headless desktop session for passdesk-tray tests and benchmarks.

Starts real parts in a temporary directory: Xvfb, a private session bus, a
private "system-like" bus (DBUS_SYSTEM_BUS_ADDRESS), a PulseAudio daemon
with null sinks, python-dbusmock's notification daemon (with actions), a
StatusNotifierWatcher (sni_watcher.py) and the test agent (fake_agent.py).
Everything is torn down by close(); every wait is bounded and polls cheap
D-Bus state, so a loaded machine only makes tests slower, not flaky.
'''

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import dbus
import dbusmock

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
FAKES = os.path.join(os.path.dirname(HERE), 'fakes')
MOCK_IFACE = 'org.freedesktop.DBus.Mock'
AGENT = 'org.passdesk.Agent1'
NOTIFY = 'org.freedesktop.Notifications'

HDMI_SINK = 'hdmi-stereo'


def wait_for(pred, timeout=10.0, what='condition', interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')
        time.sleep(interval)


class TrayEnv:
    def __init__(self, watcher=True, notify_caps='actions body icon-static', pulse=True,
                 screen='1280x1024x24', sound='pulseaudio', mock_notify=True):
        """@sound: 'pulseaudio', or 'pipewire' (pipewire + wireplumber +
        pipewire-pulse, the Debian 12/13 desktop default); either starts with
        one HDMI-named null sink. @mock_notify False: no notification server
        (start a real one with start_notifyd())."""
        self.sound = sound
        self.tmp = tempfile.mkdtemp(prefix='pd-tray-test-')
        self.procs = []
        self.tray = None
        self.env = dict(os.environ)
        for k in ('DISPLAY', 'WAYLAND_DISPLAY', 'DBUS_SESSION_BUS_ADDRESS',
                  'DBUS_SYSTEM_BUS_ADDRESS', 'PULSE_SERVER'):
            self.env.pop(k, None)
        runtime = os.path.join(self.tmp, 'runtime')
        os.makedirs(runtime, mode=0o700)
        self.env.update({
            'HOME': self.tmp,
            'XDG_RUNTIME_DIR': runtime,
            'XDG_CONFIG_HOME': os.path.join(self.tmp, 'config'),
            'XDG_CACHE_HOME': os.path.join(self.tmp, 'cache'),
            'XDG_DATA_HOME': os.path.join(self.tmp, 'data'),
            'XDG_STATE_HOME': os.path.join(self.tmp, 'state'),
            'PULSE_RUNTIME_PATH': os.path.join(runtime, 'pulse'),
            'PULSE_STATE_PATH': os.path.join(self.tmp, 'pulse-state'),
            'NO_AT_BRIDGE': '1',
            'GSETTINGS_BACKEND': 'memory',
            'GDK_BACKEND': 'x11',
            'PASSDESK_TRAY_ICON_DIR': os.path.join(SRCDIR, 'data', 'icons'),
        })
        try:
            self._start_x(screen)
            self.session_addr = self._start_bus('session')
            self.system_addr = self._start_bus('system')
            self.env['DBUS_SESSION_BUS_ADDRESS'] = self.session_addr
            self.env['DBUS_SYSTEM_BUS_ADDRESS'] = self.system_addr
            # dbusmock and dbus-python read these from our own environment.
            os.environ['DBUS_SESSION_BUS_ADDRESS'] = self.session_addr
            os.environ['DBUS_SYSTEM_BUS_ADDRESS'] = self.system_addr
            self.session = dbus.bus.BusConnection(self.session_addr)
            self.system = dbus.bus.BusConnection(self.system_addr)
            if pulse and sound == 'pipewire':
                self._start_pipewire()
            elif pulse:
                self._start_pulse()
            self.notify_proc = self.notify = None
            if mock_notify:
                self.notify_proc, self.notify = self._spawn_template(
                    'notification_daemon', {'capabilities': notify_caps})
            self.agent_proc, self.agent = self._spawn_template(
                os.path.join(FAKES, 'fake_agent.py'))
            self.watcher_proc = self.watcher = None
            if watcher:
                self.start_watcher()
        except BaseException:
            self.close()
            raise

    # ---- parts ----
    def _start_x(self, screen):
        r, w = os.pipe()
        p = subprocess.Popen(['Xvfb', '-displayfd', str(w), '-screen', '0', screen,
                              '-nolisten', 'tcp', '-noreset'], pass_fds=(w,), env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        self.procs.append(p)
        with os.fdopen(r) as f:
            num = f.readline().strip()
        if not num:
            raise RuntimeError('Xvfb did not start')
        self.env['DISPLAY'] = ':' + num

    def _start_bus(self, name):
        conf = os.path.join(self.tmp, f'{name}-bus.conf')
        with open(conf, 'w') as f:
            f.write(f'''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={self.tmp}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
''')
        p = subprocess.Popen(['dbus-daemon', '--config-file', conf, '--nofork',
                              '--print-address=1'], stdout=subprocess.PIPE, env=self.env,
                             text=True)
        self.procs.append(p)
        addr = p.stdout.readline().strip()
        if not addr:
            raise RuntimeError(f'dbus-daemon ({name}) did not start')
        return addr

    def _start_pulse(self):
        self.pulse_socket = os.path.join(self.tmp, 'pulse-native')
        script = os.path.join(self.tmp, 'pulse.pa')
        with open(script, 'w') as f:
            f.write(f'''load-module module-native-protocol-unix socket={self.pulse_socket} auth-anonymous=1
load-module module-null-sink sink_name={HDMI_SINK} sink_properties=device.description=HDMI
load-module module-always-sink
''')
        self.env['PULSE_SERVER'] = 'unix:' + self.pulse_socket
        # -n: no default script; running as root (as in CI) only warns.
        self.pulse = subprocess.Popen(
            ['pulseaudio', '-n', '--daemonize=no', '--exit-idle-time=-1', '--disallow-exit',
             '--use-pid-file=no', '--system=no', '-F', script, '--log-target=stderr',
             '--log-level=error'],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(self.pulse)
        wait_for(lambda: self.pactl_ok(), 15, 'PulseAudio to start')

    def _start_pipewire(self):
        """A real PipeWire, WirePlumber and pipewire-pulse on this runtime
        dir and session bus (no audio hardware: null sinks through
        pipewire-pulse, which also gives auto_null, "Dummy Output", when
        there is no sink at all, as module-always-sink does)."""
        self.pipewire = []
        for exe in ('pipewire', 'wireplumber', 'pipewire-pulse'):
            log = open(os.path.join(self.tmp, f'{exe}.log'), 'w')
            p = subprocess.Popen([exe], env=self.env, stdout=log, stderr=subprocess.STDOUT)
            log.close()
            self.procs.append(p)
            self.pipewire.append(p)
            if exe == 'pipewire':
                wait_for(lambda: os.path.exists(os.path.join(self.env['XDG_RUNTIME_DIR'],
                                                             'pipewire-0')), 15, 'pipewire')
        self.pulse_socket = os.path.join(self.env['XDG_RUNTIME_DIR'], 'pulse', 'native')
        self.env['PULSE_SERVER'] = 'unix:' + self.pulse_socket
        wait_for(lambda: self.pactl_ok(), 15, 'pipewire-pulse to start')
        self.pactl('load-module', 'module-null-sink', f'sink_name={HDMI_SINK}',
                   'sink_properties=device.description=HDMI')
        wait_for(lambda: self.default_sink() == HDMI_SINK, 10, 'the HDMI sink as default')

    def start_atspi(self):
        """The AT-SPI bus; programs started after this (without NO_AT_BRIDGE)
        can be read through it. Returns the environment they need."""
        env = dict(self.env)
        env.pop('NO_AT_BRIDGE', None)
        if not self.session.name_has_owner('org.a11y.Bus'):
            p = subprocess.Popen(['/usr/libexec/at-spi-bus-launcher', '--launch-immediately'],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs.append(p)
            wait_for(lambda: self.session.name_has_owner('org.a11y.Bus'), 10, 'the AT-SPI bus')
        return env

    def start_notifyd(self):
        """A real notification server with actions (xfce4-notifyd) and the
        AT-SPI bus, so that a test can read the buttons it draws."""
        env = self.start_atspi()
        log = open(os.path.join(self.tmp, 'notifyd.log'), 'w')
        # Debian installs it under the multiarch libdir, not on PATH.
        exe = (glob.glob('/usr/lib/*/xfce4/notifyd/xfce4-notifyd')
               + glob.glob('/usr/lib/xfce4/notifyd/xfce4-notifyd'))
        if not exe:
            raise RuntimeError('xfce4-notifyd is not installed (.ci/debian-packages.txt)')
        p = subprocess.Popen([exe[0]], env=env,
                             stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(p)
        wait_for(lambda: self.session.name_has_owner(NOTIFY), 10, 'xfce4-notifyd')
        return p

    def accessible_tree(self, app_name):
        """(depth, role, name) of every accessible of @app_name, read through
        AT-SPI in a fresh process (libatspi caches what it has seen)."""
        code = r'''
import json, sys, gi
gi.require_version("Atspi", "2.0")
from gi.repository import Atspi
out = []
def walk(a, depth):
    for i in range(a.get_child_count()):
        c = a.get_child_at_index(i)
        if c is not None:
            out.append((depth, c.get_role_name(), c.get_name()))
            walk(c, depth + 1)
d = Atspi.get_desktop(0)
for i in range(d.get_child_count()):
    app = d.get_child_at_index(i)
    if app is not None and app.get_name() == sys.argv[1]:
        walk(app, 1)
print(json.dumps(out))
'''
        r = subprocess.run([sys.executable, '-c', code, app_name], env=self.env,
                           capture_output=True, text=True, timeout=30)
        return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else []

    def accessibles(self, app_name, do_action=None):
        """Every accessible of @app_name's windows, read through AT-SPI in a
        fresh process: dicts with path (child indices), role, name, text
        (of a text field), description, showing (on screen: mapped and not scrolled away),
        sensitive, expanded and x, y, w, h (screen pixels).
        @do_action: a path whose first action (a button's or expander's
        "activate") is done first."""
        code = r'''
import json, sys, gi
gi.require_version("Atspi", "2.0")
from gi.repository import Atspi
want = json.loads(sys.argv[2])
out = []
def node(a, path):
    st = a.get_state_set()
    try:
        e = a.get_extents(Atspi.CoordType.SCREEN)
        box = (e.x, e.y, e.width, e.height)
    except Exception:
        box = (0, 0, 0, 0)
    text = ""
    if a.get_role_name() == "text":
        text = Atspi.Text.get_text(a, 0, Atspi.Text.get_character_count(a))
    out.append({"path": path, "role": a.get_role_name(), "name": a.get_name() or "",
                "text": text,
                "description": a.get_description() or "",
                "showing": st.contains(Atspi.StateType.SHOWING),
                "sensitive": st.contains(Atspi.StateType.SENSITIVE),
                "expanded": st.contains(Atspi.StateType.EXPANDED),
                "x": box[0], "y": box[1], "w": box[2], "h": box[3]})
def walk(a, path):
    for i in range(a.get_child_count()):
        c = a.get_child_at_index(i)
        if c is not None:
            node(c, path + [i])
            walk(c, path + [i])
d = Atspi.get_desktop(0)
for i in range(d.get_child_count()):
    app = d.get_child_at_index(i)
    if app is None or app.get_name() != sys.argv[1]:
        continue
    if want is not None:
        a = app
        for j in want:
            a = a.get_child_at_index(j)
        a.do_action(0)
        print("[]")
        sys.exit(0)
    walk(app, [])
print(json.dumps(out))
'''
        r = subprocess.run([sys.executable, '-c', code, app_name, json.dumps(do_action)],
                           env=self.env, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f'AT-SPI reader failed: {r.stderr[-2000:]}')
        return json.loads(r.stdout) if r.stdout.strip() else []

    def config_file(self, *parts):
        return os.path.join(self.env['XDG_CONFIG_HOME'], *parts)

    def state_file(self, *parts):
        return os.path.join(self.env['XDG_STATE_HOME'], *parts)

    def restart_tray(self, *args):
        """Ends the tray (as a logout would) and starts a new one."""
        self.tray.terminate()
        self.tray.wait(15)
        self.procs.remove(self.tray)
        self.tray_log.close()
        return self.start_tray(*args)

    def notify_hints(self):
        return [dict(args[6]) for _, m, args in self.notify.GetCalls(dbus_interface=MOCK_IFACE)
                if m == 'Notify']

    def restart_pulse(self, down_s=0.5):
        """Stops the sound server, waits @down_s, starts it again (same sinks)."""
        self.pulse.terminate()
        self.pulse.wait(10)
        self.procs.remove(self.pulse)
        time.sleep(down_s)
        self._start_pulse()

    def _spawn_template(self, template, params=None):
        p, obj = dbusmock.DBusTestCase.spawn_server_template(template, params or {},
                                                             stdout=subprocess.DEVNULL)
        self.procs.append(p)
        return p, obj

    def start_watcher(self):
        p = subprocess.Popen([sys.executable, os.path.join(FAKES, 'sni_watcher.py')],
                             env=self.env, stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        if p.stdout.readline().strip() != 'ready':
            raise RuntimeError('the StatusNotifierWatcher did not start')
        self.watcher_proc = p
        self.watcher = self.session.get_object('org.kde.StatusNotifierWatcher',
                                               '/StatusNotifierWatcher')

    def start_xembed_tray(self):
        """An XEmbed system tray (xembed_tray.py); returns its stdout pipe."""
        p = subprocess.Popen([sys.executable, os.path.join(FAKES, 'xembed_tray.py')],
                             env=self.env, stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        if p.stdout.readline().strip() != 'ready':
            raise RuntimeError('the XEmbed tray did not start')
        return p.stdout

    def stop_watcher(self):
        self.watcher_proc.terminate()
        self.watcher_proc.wait(10)
        self.procs.remove(self.watcher_proc)
        self.watcher_proc = self.watcher = None

    # ---- pulse ----
    def pactl(self, *args):
        return subprocess.run(['pactl'] + list(args), env=self.env, check=True,
                              capture_output=True, text=True, timeout=20).stdout

    def pactl_ok(self):
        try:
            self.pactl('info')
            return True
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False

    def default_sink(self):
        for line in self.pactl('info').splitlines():
            if line.startswith('Default Sink:'):
                return line.split(':', 1)[1].strip()
        return None

    def sinks(self):
        return [l.split('\t')[1] for l in self.pactl('list', 'short', 'sinks').splitlines()]

    def module_of_sink(self, name):
        for l in self.pactl('list', 'short', 'modules').splitlines():
            f = l.split('\t')  # pipewire-pulse lists multi-line arguments too
            if len(f) >= 3 and f[1] == 'module-null-sink' and f'sink_name={name}' in f[2]:
                return f[0]
        return None

    # ---- agent ----
    def set_component(self, cid, state, summary, details=(), advice=()):
        self.agent.SetComponent(cid, state, summary, dbus.Array(details, signature='(ss)'),
                                dbus.Array(advice, signature='(ss)'), dbus_interface=MOCK_IFACE)

    def set_all_ok(self, skip=()):
        ok = [
            # Details with the keys the real agent sends (fake_agent checks
            # them against agent/core/detail-keys.c), worded as it words them.
            ('gpu', 'Intel HD Graphics 630 (8086:5912) is bound to i915.',
             [('pci-slot', '0000:00:02.0'), ('driver', 'i915')]),
            ('display', 'HDMI-A-1 is connected.',
             [('card', '/dev/dri/card0'), ('HDMI-A-1', 'connected, enabled, 1920x1200')]),
            ('vaapi', 'VA-API works with iHD (H.264, HEVC, VP9 decode).', []),
            ('audio', 'HDMI audio on DELL U2415: Intel Kabylake HDMI',
             [('card', 'card0 PCH (HDA-Intel)'), ('hdmi-codec', 'Intel Kabylake HDMI (codec#2)'),
              ('hdmi-codec-present', 'yes'), ('eld#2.0', 'monitor DELL U2415'),
              ('monitor-name', 'DELL U2415')]),
            ('usb', 'No USB faults.', []),
            ('hostlink', 'passdesk-hostd is connected (VM 101).', []),
        ]
        for cid, summary, details in ok:
            if cid not in skip:
                self.set_component(cid, 'ok', summary, details)

    def restart_agent(self, between=None):
        """Stops the test agent, runs @between(), starts a fresh one (empty)."""
        self.agent_proc.terminate()
        self.agent_proc.wait(10)
        self.procs.remove(self.agent_proc)
        if between:
            between()
        self.agent_proc, self.agent = self._spawn_template(os.path.join(FAKES, 'fake_agent.py'))

    # ---- notifications ----
    def notify_calls(self):
        '''Notify calls in order: dicts with id, replaces, summary, body, actions.'''
        out, next_id = [], 1
        for _, method, args in self.notify.GetCalls(dbus_interface=MOCK_IFACE):
            if method != 'Notify':
                continue
            replaces = int(args[1])
            nid = replaces if replaces else next_id
            if not replaces:
                next_id += 1
            out.append({'id': nid, 'replaces': replaces, 'summary': str(args[3]),
                        'body': str(args[4]), 'actions': [str(a) for a in args[5]]})
        return out

    def closed_ids(self):
        return [int(args[0]) for _, m, args in self.notify.GetCalls(dbus_interface=MOCK_IFACE)
                if m == 'CloseNotification']

    def invoke_action(self, nid, key):
        self.notify.EmitSignal(NOTIFY, 'ActionInvoked', 'us', [dbus.UInt32(nid), key],
                               dbus_interface=MOCK_IFACE)

    # ---- signals ----
    def monitor(self, match):
        """dbus-monitor on the session bus for @match; read with monitor_text()."""
        log = open(os.path.join(self.tmp, f'monitor-{len(self.procs)}.log'), 'w')
        p = subprocess.Popen(['dbus-monitor', '--address', self.session_addr, match],
                             stdout=log, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        p.log_path = log.name
        time.sleep(0.3)  # it has registered its match rule
        return p

    @staticmethod
    def monitor_text(p):
        with open(p.log_path) as f:
            return f.read()

    # ---- the tray ----
    def start_tray(self, *args, extra_env=None, atspi=False, unset=()):
        """@atspi: readable through AT-SPI (start_atspi() first); @unset:
        variables of the test environment the tray must not see."""
        exe = os.path.join(os.environ['PASSDESK_BUILDDIR'], 'tray', 'passdesk-tray')
        env = dict(self.env)
        env.update(extra_env or {})
        for k in list(unset) + (['NO_AT_BRIDGE'] if atspi else []):
            env.pop(k, None)
        self.tray_log = open(os.path.join(self.tmp, 'tray.log'), 'w')
        self.tray = subprocess.Popen([exe] + list(args), env=env, stdout=self.tray_log,
                                     stderr=subprocess.STDOUT)
        self.procs.append(self.tray)
        return self.tray

    def tray_log_text(self):
        with open(os.path.join(self.tmp, 'tray.log')) as f:
            return f.read()

    def item_name(self):
        return f'org.kde.StatusNotifierItem-{self.tray.pid}-1'

    def item_prop(self, name):
        obj = self.session.get_object(self.item_name(), '/StatusNotifierItem')
        return obj.Get('org.kde.StatusNotifierItem', name,
                       dbus_interface='org.freedesktop.DBus.Properties')

    def menu_layout(self):
        obj = self.session.get_object(self.item_name(), '/MenuBar')
        rev, (rid, rprops, children) = obj.GetLayout(0, -1, dbus.Array([], signature='s'),
                                                     dbus_interface='com.canonical.dbusmenu')
        items = []
        for child in children:
            cid, props, _ = child
            items.append((int(cid), {str(k): v for k, v in props.items()}))
        return int(rev), items

    def menu_item(self, label_prefix):
        for cid, props in self.menu_layout()[1]:
            if str(props.get('label', '')).replace('_', '').startswith(label_prefix):
                return cid, props
        return None, None

    def menu_click(self, cid):
        obj = self.session.get_object(self.item_name(), '/MenuBar')
        obj.Event(dbus.Int32(cid), 'clicked', dbus.String('', variant_level=1), dbus.UInt32(0),
                  dbus_interface='com.canonical.dbusmenu')

    def app_action(self, name):
        obj = self.session.get_object('org.passdesk.Tray', '/org/passdesk/Tray')
        obj.Activate(name, dbus.Array([], signature='v'), dbus.Dictionary({}, signature='sv'),
                     dbus_interface='org.gtk.Actions')

    def registered_items(self):
        if self.watcher is None:
            return []
        return [str(n) for n in
                self.watcher.GetRegistrations(dbus_interface='org.passdesk.Test.Watcher')]

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if getattr(self, 'tray_log', None):
            self.tray_log.close()
        if os.environ.get('PASSDESK_KEEP_TMP'):
            print(f'# kept {self.tmp}', file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Tap:
    '''Minimal TAP producer for meson's `protocol: tap`.'''

    def __init__(self):
        self.n = 0
        self.failed = 0

    def run(self, name, fn):
        self.n += 1
        try:
            fn()
            print(f'ok {self.n} {name}', flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure as TAP
            self.failed += 1
            print(f'not ok {self.n} {name}', flush=True)
            for line in f'{type(e).__name__}: {e}'.splitlines():
                print(f'# {line}', flush=True)

    def done(self):
        print(f'1..{self.n}', flush=True)
        return 1 if self.failed else 0


def hostd_text(msgid, *args):
    """(text, spans) as passdesk-hostd sends a sentence made from @msgid."""
    text, spans = '', []
    parts = re.split(r'(%[-+ #0]*\d*(?:\.\d+)?[hlzjt]*[sdiuxX])', msgid)
    for i, part in enumerate(parts):
        if i % 2:
            arg = str(args[i // 2])
            spans.append(f'{len(text.encode())}+{len(arg.encode())}:{part[1:]}')
            text += arg
        else:
            text += part.replace('%%', '%')
    return text, ','.join(spans)
