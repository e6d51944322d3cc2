#!/usr/bin/python3
"""passdesk-agent's D-Bus API on a private bus: properties, change signals,
GetReport JSON, RunChecks, the history, ColdRestart option checks, polkit
allow/deny (python3-dbusmock's polkitd on a private "system" bus), the CLI
commands that talk to the agent, and clean shutdown."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from gi.repository import GLib

import agent_harness as h  # noqa: E402  (tests/lib, on PYTHONPATH)

ORDER = ['gpu', 'display', 'vaapi', 'audio', 'usb', 'hostlink', 'host']
STATES = {'ok', 'degraded', 'failed', 'unknown'}
SEVERITY = {'ok': 0, 'unknown': 1, 'degraded': 2, 'failed': 3}
ERR = 'org.passdesk.Agent1.Error.'


class DbusTest(h.AgentTestCase):
    def setUp(self):
        super().setUp()
        self.polkitd = None
        self.props_sub = self.bus.signal_subscribe(
            h.BUS_NAME, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', h.PATH, None,
            h.Gio.DBusSignalFlags.NONE, self._on_signal)

    def tearDown(self):
        self.bus.signal_unsubscribe(self.props_sub)
        if self.polkitd:
            self.polkitd.terminate()
            self.polkitd.wait()
        super().tearDown()

    def start_polkitd(self, allowed):
        self.polkitd, obj = self.spawn_server_template('polkitd', {}, stdout=subprocess.DEVNULL)
        obj.SetAllowed(allowed)
        return obj

    def connector_status(self, name, status):
        path = os.path.join(self.root, 'sys/devices/pci0000:00/0000:00:02.0/drm/card0',
                            'card0-' + name, 'status')
        with open(path, 'w') as f:
            f.write(status + '\n')

    def assert_dbus_error(self, name, fn, *args):
        with self.assertRaises(GLib.Error) as cm:
            fn(*args)
        remote = h.Gio.DBusError.get_remote_error(cm.exception)
        self.assertEqual(remote, name, cm.exception.message)
        return cm.exception.message

    # ---- properties and report ----

    def test_properties(self):
        self.start_agent(['--no-vaprobe'])
        version = subprocess.run([h.AGENT, '--version'], capture_output=True, text=True).stdout
        self.assertEqual(version.strip(), 'passdesk-agent ' + self.get_property('Version'))
        comps = self.get_property('Components')
        ids = [c[0] for c in comps]
        self.assertEqual(ids, [i for i in ORDER if i in ids])
        self.assertEqual(ids[:4], ['gpu', 'display', 'vaapi', 'audio'])
        for cid, state, summary, details, advice in comps:
            self.assertIn(state, STATES)
            self.assertTrue(summary)
            for k, v in details:
                self.assertIsInstance(k, str)
            # Every key is declared in agent/core/detail-keys.c.
            tool = os.path.join(os.environ['PASSDESK_BUILDDIR'], 'tests', 'fakes', 'detail-keys')
            r = subprocess.run([tool] + [k for k, _ in details], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            for text, command in advice:
                self.assertTrue(text)
        worst = max((c[1] for c in comps), key=SEVERITY.get)
        self.assertEqual(self.get_property('OverallState'), worst)
        self.assertEqual(self.get_property('ColdRestartState'), 'idle')
        self.assertEqual(dict((c[0], c[1]) for c in comps)['vaapi'], 'unknown')

    def test_get_report_json_is_status_json(self):
        self.start_agent(['--no-vaprobe'])
        report = json.loads(self.call('GetReport')[0])
        self.assertEqual(report['source'], 'agent')
        self.assertEqual(set(report), {'overall', 'time', 'source', 'components'})
        comps = self.get_property('Components')
        self.assertEqual([c['id'] for c in report['components']], [c[0] for c in comps])
        self.assertEqual([c['state'] for c in report['components']], [c[1] for c in comps])
        self.assertEqual([c['summary'] for c in report['components']], [c[2] for c in comps])
        for jc, dc in zip(report['components'], comps):
            self.assertEqual(jc['details'], dict(dc[3]))
            self.assertEqual([(a['text'], a['command'] or '') for a in jc['advice']],
                             list(dc[4]))
        self.assertEqual(report['overall'], self.get_property('OverallState'))

        # `passdesk status --json` prints the agent's report...
        r = self.run_cli('status', '--json')
        self.assertEqual(json.loads(r.stdout), report, r.stderr)
        self.assertEqual(r.returncode, 1 if report['overall'] in ('degraded', 'failed') else 0)
        r = self.run_cli('status')
        self.assertIn('agent', r.stdout.splitlines()[-1])
        # ...and --local checks in-process, with the same sysfs view.
        r = self.run_cli('status', '--json', '--local', '--no-vaprobe')
        local = json.loads(r.stdout)
        self.assertEqual(local['source'], 'in-process')
        self.assertEqual([c for c in local['components'] if c['id'] in ('gpu', 'display')],
                         [c for c in report['components'] if c['id'] in ('gpu', 'display')])

    def test_status_falls_back_quietly_without_system_bus(self):
        r = self.run_cli('status', '--json', '--no-vaprobe',
                         env={'PASSDESK_BUS': '', 'DBUS_SYSTEM_BUS_ADDRESS': 'unix:path=/nonexistent'})
        self.assertEqual(json.loads(r.stdout)['source'], 'in-process')
        self.assertEqual(r.stderr, '')
        # And with a bus but no agent on it.
        r = self.run_cli('status', '--json', '--no-vaprobe')
        self.assertEqual(json.loads(r.stdout)['source'], 'in-process')
        self.assertEqual(r.stderr, '')

    # ---- change signals and RunChecks ----

    def test_component_changed_once_per_real_change(self):
        self.start_agent(['--no-vaprobe'])
        start = len(self.signals)
        self.call('RunChecks')
        self.call('RunChecks')
        self.assertEqual([s for s in self.signals[start:] if s[0] == 'ComponentChanged'], [])

        self.connector_status('HDMI-A-1', 'disconnected')
        start = len(self.signals)
        self.call('RunChecks')
        args = self.wait_signal('ComponentChanged', lambda a: a[0] == 'display', start)
        self.assertEqual(args[1], 'degraded')
        self.assertIn('No monitor is connected', args[2])
        # Let any stray duplicate arrive, then count.
        self.call('GetReport')
        self.wait_until(lambda: True, 'nothing')
        display = [s for s in self.signals[start:] if s[0] == 'ComponentChanged' and s[1][0] == 'display']
        self.assertEqual(len(display), 1)
        # The property already held the new value (PropertiesChanged came first).
        names = [s[0] for s in self.signals[start:]]
        self.assertLess(names.index('PropertiesChanged'), names.index('ComponentChanged'))
        self.assertEqual(self.components()['display'][1], 'degraded')
        self.assertEqual(self.get_property('OverallState'), 'degraded')
        self.wait_signal('Event', lambda a: a[1] == 'display.state-changed', start)

    def test_run_checks_returns_after_the_checks(self):
        self.start_agent(['--no-vaprobe'])
        self.connector_status('HDMI-A-1', 'disconnected')
        self.call('RunChecks')
        # No main-loop iteration needed: the property is current when RunChecks returns.
        self.assertEqual(self.components()['display'][1], 'degraded')

    def test_events_history_keeps_last_200(self):
        self.start_agent(['--no-vaprobe'])
        start = len(self.signals)
        for i in range(225):
            self.connector_status('HDMI-A-1', 'disconnected' if i % 2 == 0 else 'connected')
            self.call('RunChecks')
        sent = lambda: [a for n, a in self.signals[start:] if n == 'Event']
        self.wait_until(lambda: len(sent()) >= 220, '220 Event signals')
        events = self.events()
        self.assertEqual(len(events), 200)
        times = [e[0] for e in events]
        self.assertEqual(times, sorted(times))
        for t, kind, comp, text in events:
            self.assertIn(comp, ORDER)
            self.assertTrue(kind and text)
        # The history is the last 200 of what was signalled, oldest first.
        self.assertEqual([tuple(e) for e in events], [tuple(a) for a in sent()[-200:]])
        r = self.run_cli('events', '--json')
        self.assertEqual(r.returncode, 0, r.stderr)
        cli = json.loads(r.stdout)
        self.assertEqual([(e['time_us'], e['kind'], e['component'], e['text']) for e in cli],
                         [tuple(e) for e in events])
        r = self.run_cli('events')
        self.assertEqual(len(r.stdout.splitlines()), 200)

    # ---- cold restart: options and polkit ----

    def cold_restart(self, options):
        return self.call('ColdRestart', GLib.Variant('(a{sv})', (options,)))

    def test_cold_restart_invalid_options(self):
        self.start_polkitd(['org.passdesk.cold-restart'])
        self.start_agent(['--no-vaprobe'])
        bad = [
            {'bogus': GLib.Variant('s', 'x')},
            {'reason': GLib.Variant('s', 'x' * 201)},
            {'reason': GLib.Variant('s', 'two\nlines')},
            {'reason': GLib.Variant('u', 3)},
            {'cool-off': GLib.Variant('s', '10')},
            {'cool-off': GLib.Variant('u', 0)},
            {'cool-off': GLib.Variant('u', 100000)},
        ]
        for opts in bad:
            msg = self.assert_dbus_error(ERR + 'InvalidArgs', self.cold_restart, opts)
            self.assertTrue(msg, opts)
        # Valid options get past the checks (to the host link, which is absent).
        msg = self.assert_dbus_error(ERR + 'HostLinkUnavailable', self.cold_restart,
                                     {'reason': GLib.Variant('s', 'é' * 100),
                                      'cool-off': GLib.Variant('u', 15)})
        self.assertIn('host', msg.lower())

    def test_cold_restart_options_bounded_before_polkit(self):
        # Issue 10, item 9: an unauthorised caller's large option dictionary
        # is refused by its size, at once, before polkit is asked and before
        # any entry is looked at (it used to go through every entry).
        polkit = self.start_polkitd(['org.example.other'])
        self.start_agent(['--no-vaprobe'])
        big = GLib.Variant('(a{sv})', ({'reason': GLib.Variant('s', 'x')} | {
            f'reason{i}': GLib.Variant('s', 'x') for i in range(1000)},))
        many = GLib.Variant('(a{sv})', ({'cool-off': GLib.Variant('u', 10)},))
        # Duplicate keys are distinct dictionary entries on the wire.
        dup = GLib.Variant.new_tuple(GLib.Variant.new_array(None, [
            GLib.Variant.new_dict_entry(GLib.Variant('s', 'reason'),
                                        GLib.Variant('v', GLib.Variant('s', 'x')))] * 4))
        for v in (big, dup):
            msg = self.assert_dbus_error(ERR + 'InvalidArgs', self.call, 'ColdRestart', v)
            self.assertIn('at most 3', msg)
        self.assertEqual(polkit.GetMethodCalls('CheckAuthorization'), [])
        # Up to three options still get to polkit (which refuses this caller).
        self.assert_dbus_error(ERR + 'NotAuthorized', self.call, 'ColdRestart', many)

    def test_pending_authorizations_are_bounded(self):
        # A caller cannot pile up requests waiting for polkit (which waits
        # for a person without a time limit): the third is Busy at once.
        polkit = self.start_polkitd(['org.passdesk.cold-restart'])
        polkit.SimulateHang(True)
        self.start_agent(['--no-vaprobe'])
        pending = [self.call_async('ColdRestart', GLib.Variant('(a{sv})', ({},)), timeout=60)
                   for _ in range(2)]
        self.wait_until(lambda: polkit.HaveHangingCalls(), 'polkit to hold the calls')
        msg = self.assert_dbus_error(ERR + 'Busy', self.call, 'ColdRestart',
                                     GLib.Variant('(a{sv})', ({},)))
        self.assertIn('authentication dialog', msg)
        self.assert_dbus_error(ERR + 'Busy', self.call, 'CancelColdRestart')
        polkit.SimulateHang(False)
        polkit.ReleaseHangingCalls()
        self.wait_until(lambda: all(pending), 'the held calls to finish')
        # Answered: the caller may ask again.
        self.assert_dbus_error(ERR + 'HostLinkUnavailable', self.call, 'ColdRestart',
                               GLib.Variant('(a{sv})', ({},)))

    def test_polkit_allows(self):
        polkit = self.start_polkitd(['org.passdesk.cold-restart'])
        self.start_agent(['--no-vaprobe'])
        msg = self.assert_dbus_error(ERR + 'HostLinkUnavailable', self.cold_restart, {})
        # On the session bus the subject is the calling process (polkit could
        # not resolve a session-bus name), asked with user interaction allowed.
        calls = polkit.GetMethodCalls('CheckAuthorization')
        self.assertEqual(len(calls), 1)
        subject, action, details, flags = calls[0][1][:4]
        self.assertEqual(str(subject[0]), 'unix-process')
        self.assertEqual(int(subject[1]['pid']), os.getpid())
        self.assertEqual(int(subject[1]['uid']), os.getuid())
        # The start time pins the pid to this process (field 22 of /proc/PID/stat).
        with open(f'/proc/{os.getpid()}/stat') as f:
            start_time = int(f.read().rsplit(')', 1)[1].split()[19])
        self.assertEqual(int(subject[1]['start-time']), start_time)
        self.assertEqual(str(action), 'org.passdesk.cold-restart')
        self.assertEqual(int(flags) & 1, 1)
        self.assertIn('host', msg.lower())
        self.assert_dbus_error(ERR + 'HostLinkUnavailable', self.call, 'CancelColdRestart')
        self.assertEqual(self.get_property('ColdRestartState'), 'idle')

    def test_polkit_denies(self):
        self.start_polkitd(['org.example.other'])
        self.start_agent(['--no-vaprobe'])
        msg = self.assert_dbus_error(ERR + 'NotAuthorized', self.cold_restart, {})
        self.assertIn('not allow', msg)
        self.assert_dbus_error(ERR + 'NotAuthorized', self.call, 'CancelColdRestart')

    def test_no_polkitd_is_not_authorized(self):
        self.start_agent(['--no-vaprobe'])
        msg = self.assert_dbus_error(ERR + 'NotAuthorized', self.cold_restart, {})
        self.assertIn('polkit', msg)

    def test_hanging_polkit_does_not_block(self):
        polkit = self.start_polkitd(['org.passdesk.cold-restart'])
        polkit.SimulateHang(True)
        self.start_agent(['--no-vaprobe'])
        pending = self.call_async('ColdRestart', GLib.Variant('(a{sv})', ({},)), timeout=60)
        self.wait_until(lambda: polkit.HaveHangingCalls(), 'polkit to hold the call')
        # The agent answers others while polkit thinks.
        self.assertIn('"source" : "agent"', self.call('GetReport', timeout=5)[0])
        self.call('RunChecks', timeout=5)
        polkit.ReleaseHangingCalls()
        self.wait_until(lambda: pending, 'ColdRestart to finish')
        self.assertIn('error', pending)

    # ---- CLI watch, shutdown ----

    def test_watch_prints_changes_until_interrupted(self):
        self.start_agent(['--no-vaprobe'])
        env = dict(os.environ, PASSDESK_BUS='session', PASSDESK_SYSROOT=self.root)
        watch = subprocess.Popen([h.CLI, 'watch', '--json'], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(watch.stdout.readline())
            self.assertEqual(first['type'], 'watching')
            self.write_kmsg(h.AUDIO_TIMEOUT)
            seen = []
            while not any(l['type'] == 'event' and l['kind'] == 'audio.codec-timeout' for l in seen) \
                    or not any(l['type'] == 'component' and l['id'] == 'audio' for l in seen):
                line = watch.stdout.readline()
                if not line:
                    self.fail('watch ended early: ' + watch.stderr.read())
                seen.append(json.loads(line))
            comp = [l for l in seen if l['type'] == 'component' and l['id'] == 'audio'][0]
            self.assertEqual(comp['state'], 'failed')
        finally:
            watch.send_signal(signal.SIGINT)
            rc = watch.wait(timeout=h.TIMEOUT)
        self.assertEqual(rc, 0)

    def test_watch_prints_one_line_per_change(self):
        # Issue 15: a state change is one line (the component's, saying what
        # it was), not the component line plus the agent's state-changed event.
        self.start_agent(['--no-vaprobe'])
        env = dict(os.environ, PASSDESK_BUS='session', PASSDESK_SYSROOT=self.root)
        watch = subprocess.Popen([h.CLI, 'watch'], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            self.assertIn('Watching passdesk-agent', watch.stdout.readline())
            self.write_kmsg(h.AUDIO_TIMEOUT)
            seen = []
            while not any(re.search(r'  audio +failed ', l) for l in seen):
                line = watch.stdout.readline()
                if not line:
                    self.fail('watch ended early: ' + watch.stderr.read())
                seen.append(line)
            # the kernel finding is an event of its own; the change is one line
            about_change = [l for l in seen
                            if 'audio.state-changed' in l or re.search(r'  audio +failed ', l)]
            self.assertEqual(len(about_change), 1, ''.join(seen))
            self.assertIn('(was ok)', about_change[0])
            self.assertEqual(len([l for l in seen if 'audio.codec-timeout' in l]), 1,
                             ''.join(seen))
        finally:
            watch.send_signal(signal.SIGINT)
            rc = watch.wait(timeout=h.TIMEOUT)
        self.assertEqual(rc, 0)

    def run_on_pty(self, args, cols=80, until=None, timeout=h.TIMEOUT):
        """passdesk ARGS with its output on a terminal of @cols columns; its
        output (without \\r) once it exits, or once @until(text) holds (then
        it is interrupted)."""
        import fcntl
        import struct
        import termios
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 50, cols, 0, 0))
        env = dict(os.environ, PASSDESK_BUS='session', PASSDESK_SYSROOT=self.root, LC_ALL='C.UTF-8')
        env.pop('COLUMNS', None)
        proc = subprocess.Popen([h.CLI] + args, env=env, stdout=slave, stderr=subprocess.DEVNULL)
        os.close(slave)
        out = b''
        os.set_blocking(master, False)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = os.read(master, 65536)
                    if not chunk:
                        break
                    out += chunk
                except BlockingIOError:
                    if proc.poll() is not None:
                        break
                    if until and until(out.decode(errors='replace').replace('\r', '')):
                        break
                    time.sleep(0.05)
                except OSError:  # EIO: the program ended and closed the terminal
                    break
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            proc.wait(timeout=h.TIMEOUT)
            os.close(master)
        return out.decode(errors='replace').replace('\r', '')

    def test_events_and_watch_wrap_on_a_terminal(self):
        # An 80-column terminal: the sentences wrap under their own column
        # instead of running on for 200+ characters; a pipe keeps one line
        # per event for grep and scripts.
        self.start_agent(['--no-vaprobe'])
        import threading
        threading.Timer(1.0, lambda: self.write_kmsg(h.GPU_HANG, h.AUDIO_TIMEOUT)).start()
        watch = self.run_on_pty(['watch'], until=lambda t: 'gpu.hang' in t and 'audio.codec-timeout' in t
                                and t.endswith('\n'))
        self.wait_until(lambda: any(e[1] == 'gpu.hang' for e in self.events()), 'the GPU hang event')
        events = self.run_on_pty(['events'])
        for name, text in (('events', events), ('watch', watch)):
            self.assertIn('gpu.hang', text, name)
            for line in text.splitlines():
                self.assertLessEqual(len(line), 80, f'{name}: {line!r}\n{text}')
        # The sentence under the time, in its own column.
        self.assertRegex(events, r'gpu\.hang\n {21}The GPU hung')
        self.assertRegex(watch, r'event +gpu\.hang: The GPU hung[^\n]*\n {40}\S')
        piped = self.run_cli('events')
        self.assertEqual(len(piped.stdout.splitlines()), len(self.events()), piped.stdout)

    def test_events_and_watch_without_agent(self):
        # On the session bus, the way to start a session agent; on the
        # system bus, the service.
        r = self.run_cli('events')
        self.assertEqual(r.returncode, 1)
        self.assertIn('start it with “passdesk-agent --session &”', r.stderr)
        self.assertNotIn('systemctl', r.stderr)
        r = self.run_cli('status', '--no-vaprobe')
        self.assertIn('Start it with “passdesk-agent --session &”', r.stdout)
        self.assertNotIn('systemctl', r.stdout)
        r = self.run_cli('events', env={'PASSDESK_BUS': '',
                                        'DBUS_SYSTEM_BUS_ADDRESS': 'unix:path=/nonexistent'})
        self.assertIn('start it with “sudo systemctl start passdesk-agent”', r.stderr)
        self.assertEqual(self.run_cli('events', '--bogus').returncode, 2)
        self.assertEqual(self.run_cli('watch', 'extra').returncode, 2)

    def test_sigterm_and_sigint_stop_cleanly(self):
        self.start_agent(['--no-vaprobe'])
        self.assertEqual(self.stop_agent(signal.SIGTERM), 0, self.agent_stderr())
        self.start_agent(['--no-vaprobe'])
        self.assertEqual(self.stop_agent(signal.SIGINT), 0, self.agent_stderr())

    def test_second_agent_cannot_own_the_name(self):
        self.start_agent(['--no-vaprobe'])
        r = subprocess.run([h.AGENT, '--session', '--no-vaprobe', '--no-hotplug', '--kmsg', self.kmsg],
                           env=self.agent_env(), capture_output=True, text=True, timeout=h.TIMEOUT)
        self.assertEqual(r.returncode, 1)
        self.assertIn('cannot own the name', r.stderr)

    def test_session_without_a_bus_names_dbus_run_session(self):
        """A root shell has no session bus: the agent says how to give it one."""
        runtime = tempfile.mkdtemp(prefix='passdesk-no-bus-')
        self.addCleanup(os.rmdir, runtime)
        env = self.agent_env({'XDG_RUNTIME_DIR': runtime})
        for k in ('DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY'):
            env.pop(k, None)
        argv = [h.AGENT, '--session', '--no-vaprobe', '--no-hotplug', '--kmsg', self.kmsg]
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=h.TIMEOUT)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('cannot connect to the session bus', r.stderr)
        self.assertIn('`dbus-run-session -- passdesk-agent --session`', r.stderr)
        # A bus that is named but gone: the address, and the same way out.
        env['DBUS_SESSION_BUS_ADDRESS'] = 'unix:path=' + runtime + '/gone'
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=h.TIMEOUT)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('session bus at unix:path=' + runtime + '/gone', r.stderr)
        self.assertIn('`dbus-run-session -- passdesk-agent --session`', r.stderr)

    def test_usage_errors(self):
        for args in (['--bogus'], ['extra'], ['--vaprobe-timeout', '9999']):
            r = subprocess.run([h.AGENT] + args, capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, args)
        r = subprocess.run([h.AGENT, '--help'], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn('--kmsg', r.stdout)


if __name__ == '__main__':
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
