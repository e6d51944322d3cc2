#!/usr/bin/python3
"""passdesk-agent with its udev and libusb monitors on a umockdev testbed.

Runs under umockdev-wrapper (this script and the agent it starts): the
testbed's /sys, /dev and uevents stand in for the kernel, PASSDESK_SYSROOT is
unset. A DRM connector change with a HOTPLUG uevent reaches D-Bus as
ComponentChanged("display") within 100 ms; a burst of 1,000 USB uevents
leaves the agent running, accurate and with a bounded history.
"""
import os
import re
import statistics
import sys
import time
import unittest


import agent_harness as h  # noqa: E402  (tests/lib, on PYTHONPATH)
from umockdev_testbed import Testbed  # noqa: E402


class UmockdevTest(h.AgentTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One testbed per process: umockdev's preload follows the first one.
        cls.bed = Testbed()

    def setUp(self):
        self.assertIn('umockdev-preload', os.environ.get('LD_PRELOAD', ''),
                      'run this under umockdev-wrapper')
        super().setUp()

    def agent_env(self, extra=None):
        env = super().agent_env(extra)
        del env['PASSDESK_SYSROOT']  # /sys and /dev come from the testbed
        env['UMOCKDEV_DIR'] = self.bed.tb.get_root_dir()
        return env

    def usb_count(self):
        """External devices: the usb component lists each by port path ("1-4.2")."""
        c = self.components().get('usb')
        if c is None:
            return -1
        return len([k for k, v in c[3] if re.match(r'^[0-9]+-[0-9.]+$', k)])

    def test_hotplug_reaches_dbus_within_100ms(self):
        self.start_agent(['--no-vaprobe'], hotplug=True)
        self.assertEqual(self.components()['display'][1], 'degraded')
        latencies = []
        for i in range(7):
            status = 'connected' if i % 2 == 0 else 'disconnected'
            self.bed.tb.set_attribute(self.bed.hdmi, 'status', status + '\n')
            self.bed.tb.set_property(self.bed.card, 'HOTPLUG', '1')
            start = len(self.signals)
            t0 = time.monotonic()
            self.bed.tb.uevent(self.bed.card, 'change')
            args = self.wait_signal('ComponentChanged', lambda a: a[0] == 'display', start)
            latencies.append((time.monotonic() - t0) * 1000)
            self.assertIn('HDMI-A-1', args[2])
            self.assertEqual(dict(self.components()['display'][3])['HDMI-A-1'].split(',')[0], status)
        print(f'uevent -> ComponentChanged: median {statistics.median(latencies):.1f} ms, '
              f'max {max(latencies):.1f} ms', file=sys.stderr)
        self.assertLess(statistics.median(latencies), 100)

    def test_gpu_driver_unbind_rescans(self):
        self.start_agent(['--no-vaprobe'], hotplug=True)
        before = self.components()['gpu']
        self.assertEqual(dict(before[3])['driver'], 'i915')
        # i915 lets go of the iGPU (vfio-pci took it, or a driver crash):
        # the agent re-scans (and would re-run the VA probe: "gpu" change).
        driver = os.path.join(self.bed.tb.get_root_dir(), self.bed.gpu.lstrip('/'), 'driver')
        os.unlink(driver)
        start = len(self.signals)
        self.bed.tb.uevent(self.bed.gpu, 'unbind')
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'gpu', start)
        self.assertNotEqual(dict(self.components()['gpu'][3]).get('driver'), 'i915')
        self.bed.tb.set_attribute_link(self.bed.gpu, 'driver', '../../bus/pci/drivers/i915')
        start = len(self.signals)
        self.bed.tb.uevent(self.bed.gpu, 'bind')
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'gpu', start)
        self.assertEqual(self.components()['gpu'], before)

    def test_usb_burst_of_1000_events(self):
        # The devices exist before the agent starts (enumerated then); the
        # burst is their uevents.
        paths = [self.bed.add_usb(f'1-{i + 1}', 1, 0x0951, 0x1666, 'DataTraveler 3.0', '480', 0,
                                  self.bed.usb1) for i in range(20)]
        self.start_agent(['--no-vaprobe'], hotplug=True)
        self.wait_until(lambda: self.usb_count() == 20, 'the 20 devices')
        for g in range(0, 20, 5):
            for p in paths[g:g + 5]:
                self.bed.tb.uevent(p, 'remove')
            self.wait_until(lambda: self.usb_count() == 15 - g, 'five devices removed')
        start = len(self.signals)
        sent = 0
        # umockdev's sender aborts when the agent's datagram queue (10) is full:
        # batches of 5, each waited for.
        for r in range(25):
            for g in range(0, 20, 5):
                for p in paths[g:g + 5]:
                    self.bed.tb.uevent(p, 'add')
                self.wait_until(lambda: self.usb_count() == 5, 'five devices added')
                for p in paths[g:g + 5]:
                    self.bed.tb.uevent(p, 'remove')
                self.wait_until(lambda: self.usb_count() == 0, 'five devices removed')
                sent += 10
        self.assertEqual(sent, 1000)
        usb = self.components()['usb']
        self.assertEqual(usb[1], 'degraded', usb)  # every port stormed
        events = self.events()
        self.assertLessEqual(len(events), 200)
        storms = [e for e in events if e[1] == 'usb.reconnect-storm']
        self.assertGreaterEqual(len(storms), 1)
        self.assertLessEqual(len([a for n, a in self.signals[start:] if n == 'Event']), 120)
        self.assertIn('"source" : "agent"', self.call('GetReport', timeout=5)[0])
        self.assertEqual(self.stop_agent(), 0, self.agent_stderr())


if __name__ == '__main__':
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
