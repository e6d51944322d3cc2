"""Shared pieces of the passdesk-agent tests (loaded by test-agent-*.py).

Each test class gets private session and "system" dbus-daemons
(dbusmock.DBusTestCase); each test starts its own passdesk-agent with
--session on a copy of a fixture tree (PASSDESK_SYSROOT) and a FIFO standing
in for /dev/kmsg, and talks to it with Gio.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import dbusmock
from gi.repository import Gio, GLib

BUILDDIR = os.environ.get('PASSDESK_BUILDDIR', os.path.join(os.path.dirname(__file__), '..', '..', 'build'))
FIXTURES = os.environ.get('PASSDESK_TEST_FIXTURES', os.path.join(os.path.dirname(__file__), '..', 'fixtures'))
AGENT = os.path.join(BUILDDIR, 'agent', 'daemon', 'passdesk-agent')
CLI = os.path.join(BUILDDIR, 'agent', 'cli', 'passdesk')
FAKE_VAPROBE = os.path.join(BUILDDIR, 'tests', 'fakes', 'fake-vaprobe')
BUS_NAME = 'org.passdesk.Agent1'
PATH = '/org/passdesk/Agent1'
IFACE = 'org.passdesk.Agent1'
# Generous: the machine is shared and may run sanitizer builds.
TIMEOUT = 20.0


def kmsg_record(seq, msg, ts_us=None, pri=3):
    """One /dev/kmsg record."""
    if ts_us is None:
        ts_us = 5_000_000 + seq * 1000
    return f'{pri},{seq},{ts_us},-;{msg}\n'.encode()


GPU_HANG = 'i915 0000:00:02.0: [drm] GPU HANG: ecode 9:1:85dffffb, in vainfo [2113]'
AUDIO_TIMEOUT = ('snd_hda_intel 0000:00:1f.3: azx_get_response timeout, switching to '
                 'polling mode: last cmd=0x20270503')
USB_DESCRIPTOR = 'usb 1-4: device descriptor read/64, error -71'
USB_DEAD = 'xhci_hcd 0000:00:14.0: xHCI host controller not responding, assume dead'


class AgentTestCase(dbusmock.DBusTestCase):
    fixture = 'esprimo'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_session_bus()
        cls.start_system_bus()
        cls.bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix='passdesk-agent-test-')
        self.root = os.path.join(self.tmp.name, 'root')
        src = os.path.join(FIXTURES, self.fixture)
        shutil.copytree(src, self.root, symlinks=True)
        # Overlay trees link whole top-level directories to a base machine.
        for name in os.listdir(self.root):
            top = os.path.join(self.root, name)
            if os.path.islink(top):
                os.unlink(top)
                shutil.copytree(os.path.realpath(os.path.join(src, name)), top, symlinks=True)
        self.kmsg = os.path.join(self.tmp.name, 'kmsg')
        os.mkfifo(self.kmsg)
        # O_RDWR never blocks on a FIFO and keeps a writer for the agent.
        self.kmsg_fd = os.open(self.kmsg, os.O_RDWR)
        self.seq = 0
        self.agent = None
        self.signals = []  # (name, args) of every agent signal, in order
        self.sub = self.bus.signal_subscribe(BUS_NAME, IFACE, None, PATH, None,
                                             Gio.DBusSignalFlags.NONE, self._on_signal)
        self.stderr_path = os.path.join(self.tmp.name, 'agent.stderr')

    def tearDown(self):
        self.bus.signal_unsubscribe(self.sub)
        if self.agent and self.agent.poll() is None:
            self.stop_agent()
        if self.agent:
            # A critical is a bug even when the test's checks passed.
            self.assertNotIn('CRITICAL', self.agent_stderr())
        os.close(self.kmsg_fd)
        self.tmp.cleanup()

    # ---- the agent ----

    def agent_env(self, extra=None):
        env = dict(os.environ)
        env['PASSDESK_SYSROOT'] = self.root
        env['G_MESSAGES_DEBUG'] = ''
        if extra:
            env.update(extra)
        return env

    def start_agent(self, args=None, env=None, wait=True, hotplug=False):
        argv = [AGENT, '--session', '--kmsg', self.kmsg] + ([] if hotplug else ['--no-hotplug'])
        argv += args or []
        self.stderr_file = open(self.stderr_path, 'ab')
        self.agent = subprocess.Popen(argv, env=self.agent_env(env), stdout=self.stderr_file,
                                      stderr=self.stderr_file)
        if wait:
            self.wait_for_name()
        return self.agent

    def stop_agent(self, sig=signal.SIGTERM):
        self.agent.send_signal(sig)
        try:
            rc = self.agent.wait(timeout=TIMEOUT)
        finally:
            self.stderr_file.close()
        return rc

    def agent_stderr(self):
        with open(self.stderr_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def wait_for_name(self):
        def owned():
            r = self.bus.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus',
                                   'org.freedesktop.DBus', 'NameHasOwner',
                                   GLib.Variant('(s)', (BUS_NAME,)), None,
                                   Gio.DBusCallFlags.NONE, -1, None)
            return r.unpack()[0]
        self.wait_until(lambda: owned() or self.agent.poll() is not None, 'the agent owns its name')
        self.assertIsNone(self.agent.poll(), 'agent exited early:\n' + self.agent_stderr())

    # ---- kernel log ----

    def write_kmsg(self, *messages, ts_us=None):
        data = b''
        for m in messages:
            self.seq += 1
            data += kmsg_record(self.seq, m, ts_us)
        view = memoryview(data)
        while view:
            n = os.write(self.kmsg_fd, view)
            view = view[n:]

    # ---- D-Bus ----

    def _on_signal(self, conn, sender, path, iface, name, params):
        self.signals.append((name, params.unpack()))

    def call(self, method, args=None, timeout=TIMEOUT):
        r = self.bus.call_sync(BUS_NAME, PATH, IFACE, method, args, None,
                               Gio.DBusCallFlags.NONE, int(timeout * 1000), None)
        return r.unpack()

    def call_async(self, method, args=None, timeout=TIMEOUT):
        """Starts a call; returns a dict that gets 'result' or 'error'."""
        out = {}

        def done(conn, res):
            try:
                out['result'] = conn.call_finish(res).unpack()
            except GLib.Error as e:
                out['error'] = e
        self.bus.call(BUS_NAME, PATH, IFACE, method, args, None, Gio.DBusCallFlags.NONE,
                      int(timeout * 1000), None, done)
        return out

    def get_property(self, name):
        r = self.bus.call_sync(BUS_NAME, PATH, 'org.freedesktop.DBus.Properties', 'Get',
                               GLib.Variant('(ss)', (IFACE, name)), None,
                               Gio.DBusCallFlags.NONE, int(TIMEOUT * 1000), None)
        return r.unpack()[0]

    def components(self):
        return {c[0]: c for c in self.get_property('Components')}

    def events(self):
        return self.call('GetEvents')[0]

    def wait_until(self, cond, what, timeout=TIMEOUT):
        """Runs the main context (signals arrive) until cond() holds."""
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                self.fail(f'timed out waiting for {what}; agent stderr:\n' +
                          (self.agent_stderr() if self.agent else ''))
            # Dispatch what arrived; re-check conditions that are not signals often.
            if not ctx.iteration(False):
                time.sleep(0.005)

    def wait_signal(self, name, match=lambda args: True, start=0, timeout=TIMEOUT):
        def found():
            return any(n == name and match(a) for n, a in self.signals[start:])
        self.wait_until(found, f'signal {name}', timeout)
        return [a for n, a in self.signals[start:] if n == name and match(a)][0]

    def run_cli(self, *args, env=None, timeout=60):
        e = dict(os.environ)
        e['PASSDESK_SYSROOT'] = self.root
        e['PASSDESK_BUS'] = 'session'
        if env:
            e.update(env)
        return subprocess.run([CLI] + list(args), env=e, capture_output=True, text=True,
                              timeout=timeout)
