#!/usr/bin/python3
"""ColdRestart end to end through passdesk-agent: D-Bus call → polkit
(dbusmock polkitd) → the host channel (the agent's PdHostlinkGuest on a pty
standing in for the virtio port; this script plays passdesk-hostd on the
pty's other end, PROTOCOL.md) → on ACCEPT the clean poweroff through logind
(dbusmock logind) → the reply; REFUSE comes back as Refused with the host's
sentence; PROGRESS becomes ColdRestartProgress and ColdRestartState."""
import ctypes
import json
import os
import re
import subprocess
import sys
import time
import tty
import unittest
import urllib.parse

from gi.repository import GLib

import agent_harness as h  # noqa: E402  (tests/lib, on PYTHONPATH)

libc = ctypes.CDLL(None, use_errno=True)
SYS_PIDFD_GETFD = 438
TIOCGPTPEER = 0x5441
ERR = 'org.passdesk.Agent1.Error.'
HELLO = ('HELLO 1 proto=1 proto-min=1 host=pve1 vmid=101 enabled=1 cool-off-min=5 '
         'cool-off-max=120 cool-off-default=10 rate-max=1 rate-window=300 day-max=6 '
         'rate-left=1 next-allowed-in=0')


def enc(text):
    return urllib.parse.quote(text, safe='')


class ColdRestartTest(h.AgentTestCase):
    def setUp(self):
        super().setUp()
        self.polkitd, self.polkit = self.spawn_server_template('polkitd', {}, stdout=subprocess.DEVNULL)
        self.polkit.SetAllowed(['org.passdesk.cold-restart'])
        self.logind_proc, self.logind = self.spawn_server_template('logind', {}, stdout=subprocess.DEVNULL)
        self.port = os.path.join(self.tmp.name, 'org.passdesk.hostlink.0')
        os.symlink('/dev/ptmx', self.port)
        self.host = None
        self.master = None
        self.inbuf = b''

    def tearDown(self):
        if self.host is not None:
            os.close(self.host)
        if self.master is not None:
            os.close(self.master)
        for p in (self.polkitd, self.logind_proc):
            p.terminate()
            p.wait()
        super().tearDown()

    def connect_host(self):
        """Opens the other end of the agent's pty (what QEMU's socket is to hostd)."""
        def master_fd():
            for fd in os.listdir(f'/proc/{self.agent.pid}/fd'):
                try:
                    if os.readlink(f'/proc/{self.agent.pid}/fd/{fd}') in ('/dev/ptmx', '/dev/pts/ptmx'):
                        return int(fd)
                except OSError:
                    pass
            return None
        self.wait_until(lambda: master_fd() is not None, 'the agent to open its port')
        pidfd = os.pidfd_open(self.agent.pid)
        try:
            master = libc.syscall(SYS_PIDFD_GETFD, pidfd, master_fd(), 0)
            if master < 0:
                self.skipTest('pidfd_getfd not permitted here: ' + os.strerror(ctypes.get_errno()))
        finally:
            os.close(pidfd)
        # The copy of the master stays open until tearDown, as QEMU keeps a
        # virtio port's host end: when the agent exits, closing its master
        # would hang the pty up and the kernel would discard what the agent
        # wrote last and this side has not read yet (a CANCEL at exit).
        if self.master is not None:
            os.close(self.master)
        self.master = master
        self.assertEqual(libc.unlockpt(master), 0)
        self.host = libc.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.assertGreaterEqual(self.host, 0)
        tty.setraw(self.host)

    def send(self, line):
        os.write(self.host, line.encode() + b'\n')

    def read_line(self, verb):
        """The next line from the agent starting with @verb."""
        def have():
            try:
                self.inbuf += os.read(self.host, 65536).replace(b'\r', b'')
            except BlockingIOError:
                pass
            return any(l.split(b' ')[0] == verb.encode() for l in self.inbuf.split(b'\n')[:-1])
        self.wait_until(have, f'{verb} from the agent')
        lines = self.inbuf.split(b'\n')
        for i, l in enumerate(lines[:-1]):
            if l.split(b' ')[0] == verb.encode():
                self.inbuf = b'\n'.join(lines[i + 1:])
                return l.decode()

    def handshake(self, hello=HELLO, env=None):
        self.start_agent(['--no-vaprobe', '--hostlink-port', self.port], env=env)
        self.connect_host()
        os.write(self.host, b'\n')
        self.send(hello)
        ready = self.read_line('READY')
        self.assertTrue(ready.startswith('READY 1 proto=1'), ready)
        self.wait_until(lambda: self.components().get('hostlink', ('',) * 5)[1] == 'ok',
                        'hostlink ok')
        self.assertIn('pve1', self.components()['hostlink'][2])

    def cold_restart_async(self, **opts):
        v = {}
        if 'reason' in opts:
            v['reason'] = GLib.Variant('s', opts['reason'])
        if 'cool_off' in opts:
            v['cool-off'] = GLib.Variant('u', opts['cool_off'])
        return self.call_async('ColdRestart', GLib.Variant('(a{sv})', (v,)), timeout=60)

    def test_accepted_powers_off_through_logind(self):
        self.handshake()
        pending = self.cold_restart_async(reason='GPU stuck after reboot', cool_off=15)
        restart = self.read_line('RESTART')
        m = re.match(r'RESTART (\S+) (.*)$', restart)
        self.assertIsNotNone(m, restart)
        rid, args = m.group(1), dict(kv.split('=', 1) for kv in m.group(2).split())
        self.assertEqual(urllib.parse.unquote(args['reason']), 'GPU stuck after reboot')
        self.assertEqual(args['cool-off'], '15')
        self.assertEqual(self.logind.GetMethodCalls('PowerOff'), [])
        start = len(self.signals)
        self.send(f'ACCEPT {rid} cool-off=15 shutdown-timeout=180 '
                  f'text={enc("The host will shut this VM down, keep it off for 15 s and start it again.")}')
        self.wait_until(lambda: pending, 'ColdRestart to return')
        self.assertIn('result', pending, pending)
        calls = self.logind.GetMethodCalls('PowerOff')
        self.assertEqual(len(calls), 1, calls)
        self.assertEqual(self.get_property('ColdRestartState'), 'accepted')
        self.send(f'PROGRESS {rid} phase=shutting-down text={enc("Running qm shutdown 101.")}')
        args = self.wait_signal('ColdRestartProgress', lambda a: a[0] == 'shutting-down', start)
        self.assertEqual(args[1], 'Running qm shutdown 101.')
        self.assertEqual(self.get_property('ColdRestartState'), 'shutting-down')

    def test_refused_carries_the_hosts_sentence(self):
        self.handshake()
        pending = self.cold_restart_async()
        rid = self.read_line('RESTART').split()[1]
        text = 'Cold restarts of VM 101 are limited to 1 per 5 minutes; try again in 60 s.'
        self.send(f'REFUSE {rid} code=rate-limited text={enc(text)} retry-in=60')
        self.wait_until(lambda: pending, 'ColdRestart to return')
        self.assertIn('error', pending)
        e = pending['error']
        self.assertEqual(h.Gio.DBusError.get_remote_error(e), ERR + 'Refused')
        self.assertIn(text, e.message)
        self.assertEqual(self.logind.GetMethodCalls('PowerOff'), [])

    def test_figures_count_down_and_result_once_per_boot(self):
        """Issue 13: GetReport counts next-allowed-in down from the HELLO
        (the guest said 69 s while hostd said 54 s: it was the HELLO's
        figure); the last cycle's result is one event, also across an agent
        restart (what was reported is kept in $RUNTIME_DIRECTORY)."""
        run = os.path.join(self.tmp.name, 'run')
        os.mkdir(run, 0o700)
        env = {'RUNTIME_DIRECTORY': run}
        hello = (HELLO.replace('rate-left=1 next-allowed-in=0',
                               'rate-left=0 day-left=5 next-allowed-in=69')
                 + ' last=ok last-id=5 last-time=1796000100 last-duration=52')
        self.handshake(hello, env)
        sent = time.monotonic()

        def last_cycle_events():
            return [e for e in self.events() if e[1] == 'hostlink.last-cycle']
        self.wait_until(lambda: len(last_cycle_events()) == 1, 'the last-cycle event')
        time.sleep(max(0, sent + 3.2 - time.monotonic()))
        report = json.loads(self.call('GetReport')[0])
        link = next(c for c in report['components'] if c['id'] == 'hostlink')
        left = int(link['details']['next-allowed-in'].split()[0])
        self.assertLessEqual(left, 66, link['details'])
        self.assertGreaterEqual(left, 50, link['details'])
        self.assertIn('none allowed now, 5 left today', link['details']['rate-limit'])

        # systemctl restart passdesk-agent: hostd stays, answers RESYNC with
        # the same result; no second event in this boot.
        os.close(self.host)
        self.host = None
        self.stop_agent()
        self.inbuf = b''
        self.handshake(hello, env)
        self.send('PING 77')
        self.read_line('PONG')
        self.assertEqual(last_cycle_events(), [], self.events())

    def test_denied_never_reaches_the_host(self):
        self.polkit.SetAllowed(['org.example.other'])
        self.handshake()
        pending = self.cold_restart_async()
        self.wait_until(lambda: pending, 'ColdRestart to return')
        self.assertEqual(h.Gio.DBusError.get_remote_error(pending['error']), ERR + 'NotAuthorized')
        self.send('PING 99')
        self.read_line('PONG')  # the link works; no RESTART came before the PONG
        self.assertNotIn(b'RESTART', self.inbuf)


if __name__ == '__main__':
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
