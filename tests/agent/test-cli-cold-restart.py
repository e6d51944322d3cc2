#!/usr/bin/python3
"""`passdesk cold-restart` as a black box, without an agent.

Private system and session buses (python3-dbusmock's logind template on the
system bus, nobody owning org.passdesk.Agent1 on the session bus with
PASSDESK_BUS=session), so the CLI falls back to the host channel itself. The
channel is the default port under PASSDESK_SYSROOT, a symlink to a pty slave;
this test plays passdesk-hostd on the pty master.

Issue 13, defect 3 on this path: after ACCEPT the CLI powers off only when the
host presses the ACPI power button (`qm shutdown` does that after the VM's
pre-stop hook) or at half the ACCEPT's shutdown-timeout, holding logind's
power-key block meanwhile. The button is tests/lib/power_button.py's fixture
(sysfs entries under the sysroot, a FIFO as its event node).
"""
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import tty
import unittest
import urllib.parse

import dbus
import dbusmock

import power_button

BUILDDIR = os.environ.get('PASSDESK_BUILDDIR', os.path.join(os.path.dirname(__file__), '..', '..', 'build'))
PASSDESK = os.path.join(BUILDDIR, 'agent', 'cli', 'passdesk')
PORT = 'dev/virtio-ports/org.passdesk.hostlink.0'
HELLO_ARGS = ('proto=1 proto-min=1 host=pve1 vmid=101 enabled=1 cool-off-min=5 cool-off-max=120 '
              'cool-off-default=10 rate-max=1 rate-window=300 day-max=6 rate-left=1 '
              'next-allowed-in=0')


def enc(text):
    return urllib.parse.quote(text, safe='-._~:/,+@')


class FakeHost:
    """passdesk-hostd's side of the channel: the pty master."""

    def __init__(self, master):
        self.master = master
        self.buf = b''
        self.lines = []

    def send(self, data):
        os.write(self.master, data.encode())

    def pump(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return
        try:
            data = os.read(self.master, 4096)
        except OSError:  # EIO: nobody has the slave open right now
            time.sleep(min(timeout, 0.05))
            return
        self.buf += data.replace(b'\r', b'')
        while b'\n' in self.buf:
            line, self.buf = self.buf.split(b'\n', 1)
            if line:
                self.lines.append(line.decode())

    def expect(self, verb, proc, timeout=10):
        """The first line starting with VERB (earlier ones are dropped)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            while self.lines:
                line = self.lines.pop(0)
                if line.split(' ')[0] == verb:
                    return line
            if proc.poll() is not None and not self.lines:
                self.pump(0.1)
                if not self.lines:
                    raise AssertionError(f'passdesk exited ({proc.returncode}) before sending {verb}: '
                                         f'{proc.stderr.read()}')
            self.pump(0.1)
        raise AssertionError(f'no {verb} within {timeout} s')


class ColdRestartCliTest(dbusmock.DBusTestCase):
    @classmethod
    def setUpClass(cls):
        cls.start_system_bus()
        cls.start_session_bus()
        cls.logind, cls.logind_obj = cls.spawn_server_template(
            'logind', {}, stdout=subprocess.DEVNULL)
        cls.logind_mock = dbus.Interface(cls.logind_obj, dbusmock.MOCK_IFACE)

    @classmethod
    def tearDownClass(cls):
        cls.logind.terminate()
        cls.logind.wait()
        super().tearDownClass()

    def setUp(self):
        self.logind_mock.ClearCalls()
        self.sysroot = tempfile.mkdtemp(prefix='cold-restart-')
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.slave_path = os.ttyname(slave)
        os.close(slave)
        os.makedirs(os.path.join(self.sysroot, os.path.dirname(PORT)))
        os.symlink(self.slave_path, os.path.join(self.sysroot, PORT))
        self.host = FakeHost(self.master)

        self.button = None

    def tearDown(self):
        if self.button is not None:
            os.close(self.button)
        os.close(self.master)
        shutil.rmtree(self.sysroot)

    def add_power_button(self):
        self.button, _ = power_button.add(self.sysroot)

    def press_power_button(self):
        power_button.press(self.button)

    def inhibits(self):
        return [c[2] for c in self.logind_mock.GetCalls() if c[1] == 'Inhibit']

    def assert_no_power_off_for(self, proc, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.assertEqual(self.power_off_calls(), [], 'powered off before the host pressed the button')
            self.assertIsNone(proc.poll(), 'passdesk exited while waiting for the button')
            time.sleep(0.05)

    def accept(self, proc, shutdown_timeout):
        self.handshake(proc)
        req = self.host.expect('RESTART', proc).split(' ')
        self.host.send(f'ACCEPT {req[1]} cool-off=10 shutdown-timeout={shutdown_timeout} text='
                       + enc('The host will stop this VM, wait 10 s and start it again.') + '\n')
        return req[1]

    def spawn(self, *args, stdin=subprocess.DEVNULL):
        env = dict(os.environ, PASSDESK_SYSROOT=self.sysroot, PASSDESK_BUS='session')
        return subprocess.Popen([PASSDESK, 'cold-restart'] + list(args), env=env, stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, proc, timeout=20):
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err

    def power_off_calls(self):
        return [c for c in self.logind_mock.GetCalls() if c[1] == 'PowerOff']

    def assert_one_clean_power_off(self):
        calls = self.power_off_calls()
        self.assertEqual(len(calls), 1, calls)
        self.assertEqual([bool(a) for a in calls[0][2]], [False])  # interactive=false

    def handshake(self, proc):
        # The CLI asks with RESYNC (it may have missed a HELLO); answer it.
        self.host.expect('RESYNC', proc)
        self.host.send('\nHELLO 1 ' + HELLO_ARGS + '\n')
        ready = self.host.expect('READY', proc)
        self.assertTrue(ready.startswith('READY 1 proto=1'), ready)

    def test_power_off_waits_for_the_hosts_power_button(self):
        # Issue 13, defect 3: the guest goes down only after the host's
        # pre-stop hook, i.e. at the press Proxmox sends after it.
        self.add_power_button()
        proc = self.spawn('--yes')
        self.accept(proc, 60)
        self.assert_no_power_off_for(proc, 2.0)
        # logind must not act on that press itself (HandlePowerKey=suspend).
        inhibits = self.inhibits()
        self.assertTrue(any('handle-power-key' in str(a[0]) and str(a[3]) == 'block'
                            for a in inhibits), inhibits)
        pressed = time.monotonic()
        self.press_power_button()
        rc, out, err = self.finish(proc)
        self.assertLess(time.monotonic() - pressed, 3.0)
        self.assertEqual(rc, 0, err)
        self.assertIn('Waiting for the host to shut this VM down', out)
        self.assertIn("pre-stop hook", out)
        self.assertIn('after 30 s at the latest', out)
        self.assertIn('The host pressed the power button', out)
        self.assertIn('powering off now', out)
        self.assert_one_clean_power_off()

    def test_power_off_at_the_deadline(self):
        # No press (a VM with `agent: 1` gets none): half of shutdown-timeout
        # 20 s, the 10 s minimum, after the ACCEPT.
        self.add_power_button()
        proc = self.spawn('--yes')
        self.accept(proc, 20)
        accepted = time.monotonic()
        self.assert_no_power_off_for(proc, 8.0)
        rc, out, err = self.finish(proc)
        self.assertGreater(time.monotonic() - accepted, 9.0)
        self.assertEqual(rc, 0, err)
        self.assertIn('did not press the power button within 10 s', out)
        self.assertEqual(len(self.power_off_calls()), 1)

    def test_cycle_failed_while_waiting_leaves_the_vm_on(self):
        self.add_power_button()
        proc = self.spawn('--yes')
        rid = self.accept(proc, 60)
        self.assert_no_power_off_for(proc, 0.5)
        self.host.send(f'PROGRESS {rid} phase=failed text='
                       + enc('qm shutdown 101 failed: VM is locked (backup).') + '\n')
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 1, err)
        self.assertIn('the host ended the cold restart: qm shutdown 101 failed', err)
        self.assertIn('This VM stays on.', err)
        self.press_power_button()  # too late to matter
        time.sleep(0.3)
        self.assertEqual(self.power_off_calls(), [])

    def test_accept_powers_off(self):
        # No power button device: nothing to wait for, it powers off at
        # once and says what that means.
        proc = self.spawn('--yes', '--cool-off', '15', '--reason', 'GPU black after reboot')
        self.handshake(proc)
        req = self.host.expect('RESTART', proc).split(' ')
        self.assertIn('cool-off=15', req)
        self.assertIn('reason=' + enc('GPU black after reboot'), req)
        self.assertEqual(self.power_off_calls(), [])
        self.host.send(f'ACCEPT {req[1]} cool-off=15 shutdown-timeout=180 text='
                       + enc('The host will stop this VM, wait 15 s and start it again.') + '\n')
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 0, err)
        self.assertIn('No passdesk agent runs', out)
        self.assertIn('The host accepted the cold restart: The host will stop this VM', out)
        self.assertIn('powering off now', out)
        self.assertIn('no ACPI power button input device', err)
        self.assertIn("without waiting for the host's pre-stop hook", err)
        self.assert_one_clean_power_off()

    def test_poweroff_refused_by_logind(self):
        self.logind_mock.AddMethod(
            'org.freedesktop.login1.Manager', 'PowerOff', 'b', '',
            "raise dbus.exceptions.DBusException('Operation denied by an inhibitor', "
            "name='org.freedesktop.DBus.Error.AccessDenied')")
        self.addCleanup(self.logind_mock.AddMethod, 'org.freedesktop.login1.Manager',
                        'PowerOff', 'b', '', '')
        proc = self.spawn('--yes')
        self.handshake(proc)
        req = self.host.expect('RESTART', proc).split(' ')
        self.host.send(f'ACCEPT {req[1]} cool-off=10 shutdown-timeout=180 text=ok\n')
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 1, err)
        self.assertIn('The host accepted the cold restart', out)
        self.assertIn('systemd-logind did not power the VM off: Operation denied by an inhibitor',
                      err)
        self.assertEqual(len(self.power_off_calls()), 1)

    def test_refusal_does_nothing(self):
        proc = self.spawn('--yes')
        self.handshake(proc)
        req = self.host.expect('RESTART', proc).split(' ')
        self.assertFalse(any(a.startswith('cool-off=') for a in req), req)
        self.host.send(f'REFUSE {req[1]} code=rate-limited retry-in=240 text='
                       + enc('Only one cold restart per 5 minutes; the next is allowed in 4 min.')
                       + '\n')
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 1, err)
        self.assertIn('the host refused: Only one cold restart per 5 minutes', err)
        self.assertIn('Nothing was done.', err)
        self.assertEqual(self.power_off_calls(), [])

    def test_timeout_does_nothing(self):
        proc = self.spawn('--yes')
        self.handshake(proc)
        req = self.host.expect('RESTART', proc).split(' ')
        start = time.monotonic()
        # No answer: the guest withdraws the request and gives up.
        cancel = self.host.expect('CANCEL', proc, timeout=20)
        self.assertIn(f'request={req[1]}', cancel)
        rc, out, err = self.finish(proc)
        self.assertGreater(time.monotonic() - start, 8)
        self.assertEqual(rc, 1, err)
        self.assertIn('did not answer', err)
        self.assertIn('nothing was done', err)
        self.assertEqual(self.power_off_calls(), [])

    def test_needs_confirmation_on_a_terminal(self):
        proc = self.spawn()  # stdin: /dev/null
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 2)
        self.assertIn('standard input is not a terminal', err)
        self.assertIn('--yes', err)
        self.host.pump(0.3)
        self.assertEqual(self.host.lines, [])  # never touched the channel
        self.assertEqual(self.power_off_calls(), [])

    def test_no_channel(self):
        os.unlink(os.path.join(self.sysroot, PORT))
        start = time.monotonic()
        rc, out, err = self.finish(self.spawn('--yes'))
        self.assertEqual(rc, 1, err)
        self.assertLess(time.monotonic() - start, 10)
        self.assertIn('No host channel configured', err)
        self.assertIn('passdesk-hostd setup VMID', err)
        self.assertEqual(self.power_off_calls(), [])

    def stop_mock_agent(self, proc):
        proc.terminate()
        proc.wait()
        bus = self.get_dbus(system_bus=False)
        end = time.monotonic() + 10
        while bus.name_has_owner('org.passdesk.Agent1') and time.monotonic() < end:
            time.sleep(0.05)

    def start_mock_agent(self, code):
        """A stand-in agent on the session bus whose ColdRestart runs @code."""
        proc = self.spawn_server('org.passdesk.Agent1', '/org/passdesk/Agent1',
                                 'org.passdesk.Agent1', system_bus=False,
                                 stdout=subprocess.DEVNULL)
        self.addCleanup(self.stop_mock_agent, proc)
        obj = self.get_dbus(system_bus=False).get_object('org.passdesk.Agent1',
                                                          '/org/passdesk/Agent1')
        mock = dbus.Interface(obj, dbusmock.MOCK_IFACE)
        mock.AddMethod('', 'ColdRestart', 'a{sv}', '', code)
        return mock

    def test_through_agent(self):
        agent = self.start_mock_agent('')
        rc, out, err = self.finish(self.spawn('--yes', '--cool-off', '20', '--reason', 'why'))
        self.assertEqual(rc, 0, err)
        self.assertIn('the agent is powering this VM off', out)
        calls = [c for c in agent.GetCalls() if c[1] == 'ColdRestart']
        self.assertEqual(len(calls), 1)
        opts = calls[0][2][0]
        self.assertEqual(str(opts['reason']), 'why')
        self.assertEqual(int(opts['cool-off']), 20)
        # The agent powers off, not the CLI; the channel stays untouched.
        self.assertEqual(self.power_off_calls(), [])
        self.host.pump(0.3)
        self.assertEqual(self.host.lines, [])

    def test_agent_refusal(self):
        self.start_mock_agent(
            "raise dbus.exceptions.DBusException('Cold restart is disabled for VM 101.', "
            "name='org.passdesk.Agent1.Error.Refused')")
        rc, out, err = self.finish(self.spawn('--yes'))
        self.assertEqual(rc, 1, err)
        self.assertIn('the host refused: Cold restart is disabled for VM 101.', err)
        self.assertEqual(self.power_off_calls(), [])

    def test_channel_not_openable(self):
        os.chmod(self.slave_path, 0o600)
        if os.geteuid() == 0:
            # Root opens anything; a tty in exclusive mode refuses a second
            # opener instead (EBUSY, like a virtio port already open) --
            # unless the opener has CAP_SYS_ADMIN, so drop it with setpriv.
            import fcntl, termios
            holder = os.open(self.slave_path, os.O_RDWR | os.O_NOCTTY)
            self.addCleanup(os.close, holder)
            fcntl.ioctl(holder, termios.TIOCEXCL)
            if not shutil.which('setpriv'):
                self.skipTest('setpriv (util-linux) not found')
            env = dict(os.environ, PASSDESK_SYSROOT=self.sysroot, PASSDESK_BUS='session')
            proc = subprocess.Popen(['setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin',
                                     PASSDESK, 'cold-restart', '--yes'], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            expected = 'in use by another program'
        else:
            os.chmod(self.slave_path, 0o000)
            proc = self.spawn('--yes')
            expected = 'cannot be opened'
        start = time.monotonic()
        rc, out, err = self.finish(proc)
        self.assertEqual(rc, 1, err)
        self.assertLess(time.monotonic() - start, 10)
        self.assertIn(expected, err)
        self.assertIn('Nothing was done.', err)
        self.assertEqual(self.power_off_calls(), [])

    def test_usage_errors(self):
        for args in (['--cool-off', '-1'], ['--timeout', '0'], ['--reason', 'x' * 201],
                     ['extra']):
            rc, out, err = self.finish(self.spawn('--yes', *args))
            self.assertEqual(rc, 2, (args, err))


if __name__ == '__main__':
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stderr, verbosity=2))
