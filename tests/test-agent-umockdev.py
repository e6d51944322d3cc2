#!/usr/bin/python3
"""passdesk-agent with its udev and libusb monitors on a umockdev testbed.

Runs under umockdev-wrapper (this script and the agent it starts): the
testbed's /sys, /dev and uevents stand in for the kernel, PASSDESK_SYSROOT is
unset. A DRM connector change with a HOTPLUG uevent reaches D-Bus as
ComponentChanged("display") within 100 ms; a burst of 1,000 USB uevents
leaves the agent running, accurate and with a bounded history.
"""
import importlib.util
import os
import re
import statistics
import struct
import sys
import time
import unittest

import gi
gi.require_version('UMockdev', '1.0')
from gi.repository import GLib, UMockdev  # noqa: E402

spec = importlib.util.spec_from_file_location(
    'harness', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'test-agent-harness.py'))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)


class Testbed:
    """The guide's Esprimo as umockdev devices: iGPU 8086:5912 with card0,
    renderD128 and two connectors; two xHCI root hubs."""

    def __init__(self):
        # The testbed announces devices it adds from its main context; the
        # tests announce them themselves (uevent), so keep that context apart
        # from the one the tests iterate for D-Bus signals.
        self.ctx = GLib.MainContext.new()
        self.ctx.push_thread_default()
        try:
            self.tb = UMockdev.Testbed.new()
        finally:
            self.ctx.pop_thread_default()
        self.devnum = {1: 1, 2: 1}
        tb = self.tb
        self.gpu = tb.add_device('pci', '0000:00:02.0', None,
                                 ['vendor', '0x8086\n', 'device', '0x5912\n', 'class', '0x030000\n'],
                                 ['PCI_CLASS', '30000', 'PCI_ID', '8086:5912',
                                  'PCI_SLOT_NAME', '0000:00:02.0', 'DRIVER', 'i915'])
        tb.set_attribute_link(self.gpu, 'driver', '../../bus/pci/drivers/i915')
        self.card = tb.add_device('drm', 'drm/card0', self.gpu, ['dev', '226:0\n'],
                                  ['DEVNAME', '/dev/dri/card0', 'DEVTYPE', 'drm_minor'])
        tb.add_device('drm', 'drm/renderD128', self.gpu, ['dev', '226:128\n'],
                      ['DEVNAME', '/dev/dri/renderD128', 'DEVTYPE', 'drm_minor'])
        self.hdmi = tb.add_device('drm', 'card0-HDMI-A-1', self.card,
                                  ['status', 'disconnected\n', 'enabled', 'disabled\n', 'modes', ''],
                                  ['DEVTYPE', 'drm_connector'])
        tb.add_device('drm', 'card0-DP-1', self.card,
                      ['status', 'disconnected\n', 'enabled', 'disabled\n', 'modes', ''],
                      ['DEVTYPE', 'drm_connector'])
        self.usb1 = self.add_usb('usb1', 1, 0x1d6b, 0x0002, 'xHCI Host Controller', '480', 9, None)
        self.usb2 = self.add_usb('usb2', 2, 0x1d6b, 0x0003, 'xHCI Host Controller', '5000', 9, None)

    def add_usb(self, name, bus, vid, pid, product, speed, cls, parent):
        self.devnum[bus] += 1
        devnum = self.devnum[bus]
        path = self.tb.add_device(
            'usb', name, parent,
            ['busnum', f'{bus}\n', 'devnum', f'{devnum}\n', 'idVendor', f'{vid:04x}\n',
             'idProduct', f'{pid:04x}\n', 'speed', f'{speed}\n', 'bDeviceClass', f'{cls:02x}\n',
             'product', f'{product}\n', 'dev', f'189:{(bus - 1) * 128 + devnum - 1}\n'],
            ['DEVTYPE', 'usb_device', 'DEVNAME', f'/dev/bus/usb/{bus:03d}/{devnum:03d}',
             'BUSNUM', f'{bus:03d}', 'DEVNUM', f'{devnum:03d}', 'PRODUCT', f'{vid:x}/{pid:x}/100'])
        bcd = 0x0300 if speed == '5000' else 0x0200
        desc = bytes([18, 1, bcd & 0xff, bcd >> 8, cls, 0, 0, 64]) + struct.pack('<HH', vid, pid) \
            + bytes([0, 1, 1, 2, 0, 1]) + bytes([9, 2, 9, 0, 0, 1, 0, 0xa0, 50])
        self.tb.set_attribute_binary(path, 'descriptors', desc)
        return path


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
