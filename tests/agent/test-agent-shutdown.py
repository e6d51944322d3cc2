#!/usr/bin/python3
"""What passdesk-agent does when systemd stops it (agent-shutdown.c).

Issue 13, defect 3: after the host accepted a cold restart, the agent's stop
(SIGTERM, systemd's stop job during the guest's shutdown) waits until the
host presses the ACPI power button (`qm shutdown` does that after the VM's
pre-stop hook) or a deadline; nothing is opened before the ACCEPT; no button
device: no wait, and the journal says so.

Issue 14, guest side: when the host said `reboot-cold=1` and systemd's job
queue shows reboot.target, the stop asks the host (RESTART kind=reboot); on
ACCEPT the reboot ends in a power off (drop-in for systemd-reboot.service +
daemon-reload) and the stop holds for the button; on REFUSE, no answer or no
host the reboot goes on and the next boot says why once; a power off is
never touched.

Stand-ins: a pty for the virtio port (this script plays hostd, as in
test-agent-coldrestart.py), a fixture sysfs entry and a FIFO for the power
button's /dev/input/eventN, dbusmock's logind and polkitd, and a dbusmock
org.freedesktop.systemd1 (ListJobs, Reload) on the private system bus."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

import dbus
import dbusmock

sys.path.insert(0, os.path.dirname(__file__))
import agent_harness as h  # noqa: E402
import power_button  # noqa: E402
from importlib import util as _util  # noqa: E402

_spec = _util.spec_from_file_location(
    'coldrestart', os.path.join(os.path.dirname(__file__), 'test-agent-coldrestart.py'))
_cr = _util.module_from_spec(_spec)
_spec.loader.exec_module(_cr)

REBOOT_JOBS = [(812, 'reboot.target', 'start', 'waiting', '/org/freedesktop/systemd1/job/812',
                '/org/freedesktop/systemd1/unit/reboot_2etarget'),
               (815, 'passdesk-agent.service', 'stop', 'running',
                '/org/freedesktop/systemd1/job/815',
                '/org/freedesktop/systemd1/unit/passdesk_2dagent_2eservice')]
POWEROFF_JOBS = [(700, 'poweroff.target', 'start', 'waiting', '/org/freedesktop/systemd1/job/700',
                  '/org/freedesktop/systemd1/unit/poweroff_2etarget')]
DROPIN = 'run/systemd/system/systemd-reboot.service.d/50-passdesk-cold-restart.conf'
RECORD = 'var/lib/passdesk/plain-restart'


class ShutdownTest(_cr.ColdRestartTest):
    # The cold-restart cases run in their own file; this class adds its own.
    test_accepted_powers_off_through_logind = None
    test_refused_carries_the_hosts_sentence = None
    test_denied_never_reaches_the_host = None

    def setUp(self):
        super().setUp()
        self.systemd_proc = self.spawn_server('org.freedesktop.systemd1', '/org/freedesktop/systemd1',
                                              'org.freedesktop.systemd1.Manager', system_bus=True,
                                              stdout=subprocess.DEVNULL)
        obj = self.get_dbus(system_bus=True).get_object('org.freedesktop.systemd1',
                                                        '/org/freedesktop/systemd1')
        self.systemd = dbus.Interface(obj, dbusmock.MOCK_IFACE)
        self.set_jobs([])
        self.systemd.AddMethod('org.freedesktop.systemd1.Manager', 'Reload', '', '', '')
        self.button = self.add_power_button()

    def tearDown(self):
        if self.button is not None:
            os.close(self.button)
        self.systemd_proc.terminate()
        self.systemd_proc.wait()
        super().tearDown()

    # ---- stand-ins ----

    def add_power_button(self, phys='LNXPWRBN/button/input0'):
        fd, self.button_path = power_button.add(self.root, phys)
        return fd

    def press_power_button(self):
        power_button.press(self.button)

    def set_jobs(self, jobs):
        self.systemd.AddMethod('org.freedesktop.systemd1.Manager', 'ListJobs', '', 'a(usssoo)',
                               f'ret = {jobs!r}')

    def agent_has_button_open(self):
        fds = f'/proc/{self.agent.pid}/fd'
        for fd in os.listdir(fds):
            try:
                if os.readlink(os.path.join(fds, fd)) == self.button_path:
                    return True
            except OSError:
                pass
        return False

    def handshake_with(self, hello):
        self.start_agent(['--no-vaprobe', '--hostlink-port', self.port])
        self.connect_host()
        os.write(self.host, b'\n')
        self.send(hello)
        ready = self.read_line('READY')
        self.wait_until(lambda: self.components().get('hostlink', ('',) * 5)[1] == 'ok', 'hostlink ok')
        return ready

    def accept_cold_restart(self, shutdown_timeout=60):
        pending = self.cold_restart_async()
        rid = self.read_line('RESTART').split()[1]
        self.send(f'ACCEPT {rid} cool-off=10 shutdown-timeout={shutdown_timeout} '
                  f'text={_cr.enc("The host will restart this VM cold.")}')
        self.wait_until(lambda: pending, 'ColdRestart to return')
        self.assertIn('result', pending, pending)

    def power_offs(self):
        return len(self.logind.GetMethodCalls('PowerOff'))

    def sigterm(self):
        self.agent.send_signal(signal.SIGTERM)
        return time.monotonic()

    def assert_still_running(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assertIsNone(self.agent.poll(), 'the agent exited during the hold:\n' + self.agent_stderr())
            time.sleep(0.05)

    def wait_exit(self, timeout=h.TIMEOUT):
        rc = self.agent.wait(timeout=timeout)
        self.stderr_file.close()
        self.assertEqual(rc, 0, self.agent_stderr())
        return time.monotonic()

    # ---- issue 13, defect 3: the hold ----

    def test_stop_waits_for_the_hosts_power_button(self):
        self.handshake()
        self.assertFalse(self.agent_has_button_open(), 'nothing is opened before a cycle is accepted')
        self.accept_cold_restart(shutdown_timeout=60)
        self.wait_until(self.agent_has_button_open, 'the agent to open the power button')
        self.sigterm()
        # The pre-stop hook runs meanwhile (the guide's sleeps 10 s): the stop waits.
        self.assert_still_running(2.0)
        pressed = time.monotonic()
        self.press_power_button()
        ended = self.wait_exit()
        self.assertLess(ended - pressed, 3.0)
        err = self.agent_stderr()
        self.assertIn('Holding this shutdown until the host presses the power button', err)
        self.assertIn('The host pressed the power button after', err)

    def test_power_off_waits_for_the_hosts_power_button(self):
        # Issue 13, defect 3: the guest's shutdown begins only after the
        # host's pre-stop hook, i.e. at the press Proxmox sends after it.
        self.handshake()
        self.accept_cold_restart(shutdown_timeout=60)
        self.wait_until(self.agent_has_button_open, 'the agent to open the power button')
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            self.assertEqual(self.power_offs(), 0, 'powered off before the host pressed the button')
            time.sleep(0.05)
        # logind must not act on that press itself (HandlePowerKey=suspend).
        inhibits = [c[1] for c in self.logind.GetMethodCalls('Inhibit')]
        self.assertTrue(any('handle-power-key' in str(a[0]) and str(a[3]) == 'block'
                            for a in inhibits), inhibits)
        pressed = time.monotonic()
        self.press_power_button()
        self.wait_until(lambda: self.power_offs() == 1, 'PowerOff after the press')
        self.assertLess(time.monotonic() - pressed, 3.0)

    def test_stop_hold_ends_at_its_deadline(self):
        self.handshake()
        # shutdown-timeout 20 s: the hold lasts half, 10 s, from the ACCEPT.
        accepted = time.monotonic()
        self.accept_cold_restart(shutdown_timeout=20)
        self.sigterm()
        ended = self.wait_exit(timeout=30)
        self.assertGreater(ended - accepted, 8.5)
        self.assertLess(ended - accepted, 16)
        self.assertIn('did not press the power button within', self.agent_stderr())

    def test_key_before_the_stop_ends_it_at_once(self):
        self.handshake()
        self.accept_cold_restart()
        self.wait_until(self.agent_has_button_open, 'the agent to open the power button')
        self.press_power_button()
        self.wait_until(lambda: not self.agent_has_button_open(), 'the device to be closed after the key')
        self.wait_until(lambda: self.power_offs() == 1, 'PowerOff after the press')
        t = self.sigterm()
        self.assertLess(self.wait_exit() - t, 3.0)

    def test_without_a_power_button_the_stop_does_not_wait_and_says_so(self):
        os.close(self.button)
        self.button = None
        subprocess.run(['rm', '-rf', os.path.join(self.root, 'sys/class/input')], check=True)
        self.handshake()
        self.accept_cold_restart()
        # No button, nothing to wait for: it powers off at once, as before.
        self.wait_until(lambda: self.power_offs() == 1, 'PowerOff')
        t = self.sigterm()
        self.assertLess(self.wait_exit() - t, 3.0)
        self.assertIn('This VM has no ACPI power button input device', self.agent_stderr())
        self.assertIn('without waiting for the host', self.agent_stderr())

    def test_stop_without_a_cycle_is_immediate(self):
        self.handshake()
        t = self.sigterm()
        self.assertLess(self.wait_exit() - t, 3.0)
        self.assertNotIn('power button', self.agent_stderr())

    # ---- issue 14: reboot -> cold restart ----

    HELLO_COLD = _cr.HELLO + ' reboot-cold=1'

    def test_reboot_accepted_ends_in_power_off_after_the_button(self):
        ready = self.handshake_with(self.HELLO_COLD)
        self.assertIn(' reboot-cold=1', ready)
        self.set_jobs(REBOOT_JOBS)
        self.sigterm()
        restart = self.read_line('RESTART')
        m = re.match(r'RESTART (\S+) (.*)$', restart)
        rid, args = m.group(1), dict(kv.split('=', 1) for kv in m.group(2).split())
        self.assertEqual(args.get('kind'), 'reboot', restart)
        self.assertFalse(os.path.exists(os.path.join(self.root, DROPIN)))
        self.send(f'ACCEPT {rid} cool-off=10 shutdown-timeout=60 '
                  f'text={_cr.enc("The host will restart this VM cold.")}')
        self.wait_until(lambda: len(self.systemd.GetMethodCalls('Reload')) == 1, 'daemon-reload')
        with open(os.path.join(self.root, DROPIN)) as f:
            dropin = f.read()
        self.assertRegex(dropin, r'(?m)^\[Unit\]\nSuccessAction=poweroff-force$')
        # The shutdown is systemd's already: no second one through logind.
        self.assertEqual(self.logind.GetMethodCalls('PowerOff'), [])
        self.assert_still_running(1.5)
        self.press_power_button()
        self.wait_exit()
        self.assertFalse(os.path.exists(os.path.join(self.root, RECORD)))

    def restart_agent_events(self):
        self.start_agent(['--no-vaprobe', '--hostlink-port', self.port])
        return [e for e in self.events() if e[1] == 'hostlink.plain-restart']

    def assert_plain_restart_reported_once(self, *words):
        self.assertTrue(os.path.exists(os.path.join(self.root, RECORD)))
        if self.host is not None:
            os.close(self.host)
            self.host = None
        events = self.restart_agent_events()
        self.assertEqual(len(events), 1, events)
        text = events[0][3]
        self.assertTrue(text.startswith('This restart was a plain restart: '), text)
        for w in words:
            self.assertIn(w, text)
        self.assertFalse(os.path.exists(os.path.join(self.root, RECORD)))
        self.set_jobs([])  # this time the agent is just restarted
        self.stop_agent()
        self.assertEqual(self.restart_agent_events(), [])

    def test_reboot_refused_stays_a_reboot_and_next_boot_says_why(self):
        self.handshake_with(self.HELLO_COLD)
        self.set_jobs(REBOOT_JOBS)
        t = self.sigterm()
        rid = self.read_line('RESTART').split()[1]
        text = 'Cold restarts of VM 101 are limited to 1 per 5 minutes; try again in 60 s.'
        self.send(f'REFUSE {rid} code=rate-limited text={_cr.enc(text)} retry-in=60')
        self.assertLess(self.wait_exit() - t, 4.0)
        self.assertEqual(self.systemd.GetMethodCalls('Reload'), [])
        self.assertFalse(os.path.exists(os.path.join(self.root, DROPIN)))
        self.assert_plain_restart_reported_once('the host refused', text)

    def test_reboot_without_an_answer_stays_a_reboot(self):
        self.handshake_with(self.HELLO_COLD)
        self.set_jobs(REBOOT_JOBS)
        t = self.sigterm()
        rid = self.read_line('RESTART').split()[1]
        # hostd hangs: the agent withdraws its request and lets the reboot go on.
        cancel = self.read_line('CANCEL')
        self.assertIn(f'request={rid}', cancel)
        self.assertLess(self.wait_exit() - t, 8.0)
        self.assertEqual(self.systemd.GetMethodCalls('Reload'), [])
        self.assert_plain_restart_reported_once('did not answer within 5 s')

    def test_reboot_with_hostd_gone_stays_a_reboot(self):
        self.handshake_with(self.HELLO_COLD)
        os.close(self.host)
        self.host = None
        self.wait_until(lambda: self.components()['hostlink'][1] != 'ok', 'the link to go down')
        self.set_jobs(REBOOT_JOBS)
        t = self.sigterm()
        self.assertLess(self.wait_exit() - t, 4.0)
        self.assertEqual(self.systemd.GetMethodCalls('Reload'), [])
        self.assert_plain_restart_reported_once('the host helper was not connected')

    def test_reboot_in_a_boot_the_host_never_greeted_stays_a_reboot(self):
        # The last boot heard reboot-cold=1 (kept at its stop, a power off) ...
        self.handshake_with(self.HELLO_COLD)
        self.set_jobs(POWEROFF_JOBS)
        self.sigterm()
        self.wait_exit()
        os.close(self.host)
        self.host = None
        # ... this boot hostd is stopped from the start, and the guest reboots.
        self.start_agent(['--no-vaprobe', '--hostlink-port', self.port])
        self.set_jobs(REBOOT_JOBS)
        t = self.sigterm()
        self.assertLess(self.wait_exit() - t, 4.0)
        self.assert_plain_restart_reported_once('the host helper was not connected')

    def test_power_off_is_never_touched(self):
        self.handshake_with(self.HELLO_COLD)
        self.set_jobs(POWEROFF_JOBS)
        t = self.sigterm()
        self.assertLess(self.wait_exit() - t, 3.0)
        # It looked (the job queue), and left the power off alone.
        self.assertEqual(len(self.systemd.GetMethodCalls('ListJobs')), 1)
        self.assertEqual(self.systemd.GetMethodCalls('Reload'), [])
        self.assertFalse(os.path.exists(os.path.join(self.root, DROPIN)))
        self.assertFalse(os.path.exists(os.path.join(self.root, RECORD)))
        self.assertNotIn(b'RESTART', self.inbuf)

    def test_host_without_conversion_leaves_reboots_alone(self):
        self.handshake_with(_cr.HELLO)
        self.set_jobs(REBOOT_JOBS)
        t = self.sigterm()
        self.assertLess(self.wait_exit() - t, 3.0)
        self.assertEqual(self.systemd.GetMethodCalls('ListJobs'), [])
        self.assertFalse(os.path.exists(os.path.join(self.root, RECORD)))


if __name__ == '__main__':
    import unittest
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
