#!/usr/bin/python3
"""passdesk-agent keeps running, and keeps answering on the bus, through:
the render node vanishing, a VA-API probe child that hangs (killed at its
deadline; concurrent RunChecks coalesced into one more probe), malformed
sysfs values; and a GPU hang is cleared by a later passing probe."""
import json
import os
import stat
import subprocess
import sys
import time
import unittest

from gi.repository import GLib

import agent_harness as h  # noqa: E402  (tests/lib, on PYTHONPATH)

GPU_DIR = 'sys/devices/pci0000:00/0000:00:02.0'

# What the real probe prints on a Kaby Lake with the non-free iHD driver.
FULL_IHD = {
    'probe': 'passdesk-vaprobe', 'format': 1, 'device': '/dev/dri/renderD128', 'user': 'nobody',
    'status': 'ok', 'error': None, 'va_api_version': '1.22',
    'vendor': 'Intel iHD driver for Intel(R) Gen Graphics - 25.2.3 ()', 'driver': 'iHD',
    'decode': ['H.264', 'HEVC', 'HEVC 10-bit', 'VP8', 'VP9', 'MPEG-2', 'VC-1', 'JPEG'],
    'encode': ['H.264', 'HEVC', 'JPEG'], 'video_processing': True,
    'functional_test': {'name': 'vpp-scale-nv12', 'ran': True, 'passed': True,
                        'duration_ms': 3.2, 'message': 'ok'},
    'duration_ms': 48.0,
}


class RobustTest(h.AgentTestCase):
    fixture = 'esprimo-deb822-nonfree'

    def alive(self):
        self.assertIsNone(self.agent.poll(), self.agent_stderr())
        report = json.loads(self.call('GetReport', timeout=5)[0])
        self.assertEqual(report['source'], 'agent')
        return report

    def comp(self, cid):
        return self.components().get(cid, (cid, 'absent', '', [], []))

    def counting_probe(self, seconds):
        """A probe that notes each run, then hangs (one process, like a hung vaSyncSurface)."""
        count = os.path.join(self.tmp.name, 'probe-runs')
        path = os.path.join(self.tmp.name, 'hung-probe')
        with open(path, 'w') as f:
            f.write(f'#!/bin/sh\necho $$ >> {count}\n'
                    + (f'exec sleep {seconds}\n' if seconds else 'exit 3\n'))
        os.chmod(path, stat.S_IRWXU)
        return path, count

    def test_render_node_vanishes(self):
        self.start_agent(['--no-vaprobe'])
        self.assertEqual(self.comp('gpu')[1], 'ok')
        start = len(self.signals)
        os.unlink(os.path.join(self.root, 'dev/dri/renderD128'))
        for d in ('sys/class/drm/renderD128', GPU_DIR + '/drm/renderD128'):
            p = os.path.join(self.root, d)
            if os.path.islink(p):
                os.unlink(p)
            elif os.path.isdir(p):
                import shutil
                shutil.rmtree(p)
        self.call('RunChecks')
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'gpu', start)
        self.assertNotEqual(self.comp('gpu')[1], 'ok', self.comp('gpu'))
        self.alive()
        # And the whole GPU gone (vfio took it, or the device vanished).
        import shutil
        shutil.rmtree(os.path.join(self.root, 'sys/devices/pci0000:00/0000:00:02.0'))
        self.call('RunChecks')
        self.alive()
        self.assertIn(self.comp('gpu')[1], ('failed', 'degraded'))

    def test_hung_probe_is_killed_and_checks_coalesce(self):
        probe, count = self.counting_probe(60)
        self.start_agent(['--vaprobe-timeout', '2'], env={'PASSDESK_VAPROBE': probe})
        self.wait_until(lambda: os.path.exists(count), 'the first probe to start')
        t0 = time.monotonic()
        # The main loop is not blocked by the running probe.
        self.alive()
        self.assertLess(time.monotonic() - t0, 1.5)
        calls = [self.call_async('RunChecks', timeout=60) for _ in range(3)]
        self.alive()
        self.wait_until(lambda: all(calls), 'RunChecks to finish', timeout=40)
        for c in calls:
            self.assertIn('result', c, c)
        # The start-up probe, then one more for the three coalesced requests.
        with open(count) as f:
            self.assertEqual(len(f.read().split()), 2)
        vaapi = self.comp('vaapi')
        self.assertIn(vaapi[1], ('failed', 'degraded'), vaapi)
        self.alive()
        # Stopped while a probe hangs: the agent kills it on the way out.
        calls = [self.call_async('RunChecks', timeout=60)]
        self.wait_until(lambda: len(open(count).read().split()) == 3, 'a third probe')
        pid = int(open(count).read().split()[-1])
        self.assertEqual(self.stop_agent(), 0, self.agent_stderr())
        self.wait_until(lambda: not os.path.exists(f'/proc/{pid}') or
                        open(f'/proc/{pid}/stat').read().split(') ')[1][0] == 'Z',
                        'the hung probe to be gone', timeout=5)

    def switchable_probe(self):
        """fake-vaprobe answering with the iHD report, or as @mode says later."""
        report = os.path.join(self.tmp.name, 'report.json')
        with open(report, 'w') as f:
            json.dump(FULL_IHD, f)
        mode = os.path.join(self.tmp.name, 'probe-mode')
        with open(mode, 'w') as f:
            f.write('json')
        path = os.path.join(self.tmp.name, 'switchable-probe')
        with open(path, 'w') as f:
            f.write(f'#!/bin/sh\nFAKE_VAPROBE_MODE=$(cat {mode}) FAKE_VAPROBE_JSON={report} '
                    f'exec {h.FAKE_VAPROBE} "$@"\n')
        os.chmod(path, 0o755)

        def set_mode(m):
            with open(mode, 'w') as f:
                f.write(m)
        return path, set_mode

    def alarms(self, start, cids=('gpu', 'vaapi')):
        return [a for n, a in self.signals[start:] if n == 'ComponentChanged'
                and a[0] in cids and a[1] in ('degraded', 'failed')]

    def test_gpu_hang_survived_is_reprobed_without_alarm(self):
        probe, _ = self.switchable_probe()
        self.start_agent(['--vaprobe-timeout', '2'], env={'PASSDESK_VAPROBE': probe})
        self.wait_until(lambda: self.comp('vaapi')[1] == 'ok', 'the first probe')
        start = len(self.signals)
        self.write_kmsg(h.GPU_HANG)
        # Checking, not alarming: the GPU says so while the probe decides.
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'gpu' and a[1] == 'unknown', start)
        self.assertIn('Checking whether video acceleration survived', self.comp('gpu')[2])
        # The agent re-probes by itself (no RunChecks) and says it survived.
        ev = self.wait_signal('Event', lambda a: a[1] == 'vaapi.recovered', start)
        self.assertIn('works again', ev[3])
        self.assertIn('Program: vainfo.', ev[3])
        self.assertNotIn('Checking', ev[3])
        self.wait_until(lambda: self.comp('gpu')[1] == 'ok' and self.comp('vaapi')[1] == 'ok',
                        'gpu and vaapi ok')
        self.assertEqual(self.alarms(start), [])

    def test_gpu_hang_not_survived_fails_vaapi_once_with_cold_restart(self):
        probe, set_mode = self.switchable_probe()
        self.start_agent(['--vaprobe-timeout', '2'], env={'PASSDESK_VAPROBE': probe})
        self.wait_until(lambda: self.comp('vaapi')[1] == 'ok', 'the first probe')
        start = len(self.signals)
        set_mode('hang')  # the GPU stays hung: the probe gets no answer
        self.write_kmsg(h.GPU_HANG)
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'vaapi' and a[1] == 'failed', start,
                         timeout=30)
        va = self.comp('vaapi')
        self.assertTrue(va[2].startswith('Video acceleration is gone since the GPU hung'), va)
        # Read in the tray and in the terminal: both ways are named.
        self.assertIn('(`passdesk cold-restart`, or “Cold restart VM…” in the passdesk menu)',
                      va[4][0][0], va)
        self.assertEqual(va[4][0][1], 'passdesk cold-restart', va)
        self.wait_signal('Event', lambda a: a[1] == 'vaapi.lost', start)
        # One component in alarm: the GPU's "checking" ended, it is not a
        # second notification with the same words.
        self.assertEqual(self.comp('gpu')[1], 'ok', self.comp('gpu'))
        self.assertEqual([a[0] for a in self.alarms(start)], ['vaapi'])
        # A cold restart is the way out; a later probe that passes ends it.
        set_mode('json')
        start = len(self.signals)
        self.call('RunChecks', timeout=60)
        self.wait_until(lambda: self.comp('vaapi')[1] == 'ok', 'vaapi ok again')
        self.wait_signal('Event', lambda a: a[1] == 'vaapi.recovered', start)

    def test_probe_reruns_after_resume(self):
        logind, obj = self.spawn_server_template('logind', {}, stdout=subprocess.DEVNULL)
        self.addCleanup(lambda: (logind.terminate(), logind.wait()))
        probe, count = self.counting_probe(0)
        self.start_agent(['--vaprobe-timeout', '5'], env={'PASSDESK_VAPROBE': probe})
        runs = lambda: len(open(count).read().split()) if os.path.exists(count) else 0
        self.wait_until(lambda: runs() == 1 and self.comp('vaapi')[1] != 'unknown',
                        'the start-up probe')
        start = len(self.signals)
        mgr = 'org.freedesktop.login1.Manager'
        obj.EmitSignal(mgr, 'PrepareForSleep', 'b', [True], dbus_interface='org.freedesktop.DBus.Mock')
        obj.EmitSignal(mgr, 'PrepareForSleep', 'b', [False], dbus_interface='org.freedesktop.DBus.Mock')
        self.wait_signal('Event', lambda a: a[1] == 'agent.resumed', start)
        self.wait_until(lambda: runs() == 2, 'a probe after resume')
        # Going to sleep alone runs nothing.
        obj.EmitSignal(mgr, 'PrepareForSleep', 'b', [True], dbus_interface='org.freedesktop.DBus.Mock')
        self.call('GetReport')
        self.assertEqual(runs(), 2)

    def test_malformed_sysfs_values(self):
        self.start_agent(['--no-vaprobe'])
        card = os.path.join(self.root, GPU_DIR, 'drm/card0')
        for rel, data in ((GPU_DIR + '/vendor', b'0xZZZZ\n'),
                          (GPU_DIR + '/device', b'\xff\xfe' * 5000),
                          (GPU_DIR + '/class', b'\x00\x01\x02'),
                          ('sys/devices/pci0000:00/0000:00:02.0/drm/card0/card0-HDMI-A-1/status',
                           b'connected\x00disconnected' * 300),
                          ('sys/devices/pci0000:00/0000:00:02.0/drm/card0/card0-HDMI-A-1/modes',
                           b'\xc3\x28' * 100000)):
            path = os.path.join(self.root, rel)
            if os.path.exists(path):
                with open(path, 'wb') as f:
                    f.write(data)
        self.assertTrue(os.path.isdir(card))
        self.call('RunChecks')
        report = self.alive()
        for c in report['components']:
            self.assertIn(c['state'], ('ok', 'degraded', 'failed', 'unknown'))
        # Strings on the bus are valid UTF-8 (GVariant would have refused them otherwise).
        for c in self.get_property('Components'):
            c[2].encode('utf-8')
        self.assertEqual(self.stop_agent(), 0, self.agent_stderr())


if __name__ == '__main__':
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
