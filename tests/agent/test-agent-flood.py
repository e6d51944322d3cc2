#!/usr/bin/python3
"""passdesk-agent under a flood of distinct kernel-log findings (issue 10,
item 5): thousands of findings a second, each on a new device name, must not
become thousands of D-Bus signals. ComponentChanged and PropertiesChanged
stay at a few a second per component, the last state is always delivered,
and GetReport keeps answering quickly during the flood."""
import os
import sys
import threading
import time
import unittest

import agent_harness as h  # noqa: E402  (tests/lib, on PYTHONPATH)

RATE = 5000      # findings a second
FLOOD_S = 4.0
# Generous: a shared machine. bench-agent-flood.py measures against the real
# goal (50 ms). Under AddressSanitizer every allocation costs several times
# more (100 to 340 ms seen on an idle machine, 806 ms in a full CI run while
# other builds shared the machine): there the bound is 1 s, still far below what a report growing
# with the flood's 20000 device names would cost; that run is for memory
# errors, the benchmark for speed.
def _sanitized():
    with open(h.AGENT, 'rb') as f:
        return b'__asan_init' in f.read()


GET_REPORT_MAX_S = 1.0 if _sanitized() else 0.25
# Signals per component the agent may send: a burst of 8, then 4 a second
# (a little slack for timer rounding).
SIGNALS_BURST = 10
SIGNALS_PER_S = 5


def gpu_hang(i):
    # A distinct PCI address per finding: a new device name every time.
    return (f'i915 0000:{(i >> 12) & 0xff:02x}:{(i >> 4) & 0xff:02x}.{i & 0xf:x}: [drm] GPU HANG: '
            f'ecode 9:1:85dffffb, in vainfo [{i}]')


def usb_error(i):
    return f'usb {1 + i % 8}-{1 + (i >> 3) % 15}.{1 + (i >> 7) % 15}.{1 + (i >> 11) % 15}: ' \
           f'device descriptor read/64, error -71'


class FloodTest(h.AgentTestCase):
    def setUp(self):
        super().setUp()
        self.props = []
        self.props_sub = self.bus.signal_subscribe(
            h.BUS_NAME, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', h.PATH, None,
            h.Gio.DBusSignalFlags.NONE,
            lambda *a: self.props.append((time.monotonic(), a[-1].unpack()[1])))

    def tearDown(self):
        self.bus.signal_unsubscribe(self.props_sub)
        super().tearDown()

    def test_distinct_findings_are_coalesced(self):
        self.start_agent(['--no-vaprobe'])
        start, props_start = len(self.signals), len(self.props)
        last = {}
        written = [0]

        def writer():
            t0 = time.monotonic()
            i = 0
            while time.monotonic() - t0 < FLOOD_S:
                batch = []
                for _ in range(RATE // 50):
                    batch.append(gpu_hang(i) if i % 2 == 0 else usb_error(i))
                    i += 1
                self.write_kmsg(*batch)
                written[0] = i
                delay = t0 + i / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            last['gpu'] = gpu_hang(i - 2 if i % 2 == 0 else i - 1)
            last['usb'] = usb_error(i - 1 if i % 2 == 0 else i - 2)

        t_flood = time.monotonic()
        thread = threading.Thread(target=writer)
        thread.start()
        latencies = []
        while thread.is_alive():
            t0 = time.monotonic()
            self.call('GetReport', timeout=60)
            latencies.append(time.monotonic() - t0)
            self.wait_until(lambda: time.monotonic() - t0 > 0.1, 'a moment')
        thread.join()
        # The last finding's device name reaches the published state (the
        # component's "device" detail, sent with PropertiesChanged): the last
        # state is delivered, however fast the findings came.
        gpu_dev = last['gpu'].split(' ')[1].rstrip(':')
        usb_dev = last['usb'].split(' ')[1].rstrip(':')

        def device_sent(cid):
            for _, changed in reversed(self.props[props_start:]):
                for c in changed.get('Components', []):
                    if c[0] == cid:
                        return dict(c[3]).get('device')
            return None

        def final(cid, dev):
            return device_sent(cid) == dev
        self.wait_until(lambda: final('gpu', gpu_dev) and final('usb', usb_dev),
                        'the last findings to be signalled', timeout=60)
        # Quiet again: whatever was pending has gone out.
        self.wait_until(lambda: time.monotonic() - t_flood > FLOOD_S + 1.5, 'the flood to settle',
                        timeout=60)
        elapsed = time.monotonic() - t_flood
        comps = self.components()
        for cid, dev in (('gpu', gpu_dev), ('usb', usb_dev)):
            got = [a for n, a in self.signals[start:] if n == 'ComponentChanged' and a[0] == cid]
            # The last signal is the published state.
            self.assertEqual(tuple(got[-1]), (cid, comps[cid][1], comps[cid][2]))
            self.assertEqual(dict(comps[cid][3]).get('device'), dev)
            self.assertLessEqual(len(got), SIGNALS_BURST + SIGNALS_PER_S * elapsed,
                                 f'{len(got)} ComponentChanged({cid}) in {elapsed:.1f} s '
                                 f'for {written[0]} findings')
        n_props = len(self.props) - props_start
        print(f'\n{written[0]} findings in {FLOOD_S:.0f} s: {n_props} PropertiesChanged, '
              f'GetReport max {max(latencies) * 1000:.1f} ms over {len(latencies)} calls')
        self.assertLessEqual(n_props, 3 * (SIGNALS_BURST + SIGNALS_PER_S * elapsed),
                             f'{n_props} PropertiesChanged in {elapsed:.1f} s')
        self.assertGreater(written[0], RATE * FLOOD_S * 0.5, 'the flood was not written')
        self.assertLessEqual(max(latencies), GET_REPORT_MAX_S,
                             f'GetReport took up to {max(latencies) * 1000:.0f} ms during the '
                             f'flood ({len(latencies)} calls)')
        self.assertEqual(comps['gpu'][1], 'degraded')
        self.assertEqual(comps['usb'][1], 'degraded')
        # The state did not change: no Event per finding beyond the rate bound.
        events = [a for n, a in self.signals[start:] if n == 'Event']
        self.assertLessEqual(len(events), 20, [e[1] for e in events])


if __name__ == '__main__':
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
