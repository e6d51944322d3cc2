#!/usr/bin/python3
"""passdesk-agent and the kernel log: a FIFO stands in for /dev/kmsg.

The boot log (records already there at start) becomes history without
alarms; live findings become events and component states; a flood of
10,000 lines yields a bounded number of events.
"""
import os
import sys
import time
import unittest

import agent_harness as h  # noqa: E402  (tests/lib, on PYTHONPATH)


class KmsgTest(h.AgentTestCase):
    def comp_state(self, cid):
        c = self.components().get(cid)
        return c[1] if c else None

    def test_boot_log_is_history_not_alarm(self):
        self.write_kmsg('Linux version 6.1.0-18-amd64', h.GPU_HANG, h.AUDIO_TIMEOUT, h.USB_DEAD)
        self.start_agent(['--no-vaprobe'])
        comps = self.components()
        self.assertEqual(comps['gpu'][1], 'ok', comps['gpu'])
        self.assertEqual(comps['audio'][1], 'ok', comps['audio'])
        self.assertNotIn('usb', comps)  # no monitor, no live finding: not checked
        self.assertNotIn('kernel-log', dict(comps['gpu'][3]))
        events = self.events()
        kinds = [e[1] for e in events]
        for k in ('gpu.hang', 'audio.codec-timeout', 'usb.controller-died'):
            self.assertIn(k, kinds)
        for e in events:
            if e[1] in ('gpu.hang', 'audio.codec-timeout', 'usb.controller-died'):
                self.assertTrue(e[3].startswith('Earlier in this boot: '), e)
        self.assertEqual(self.get_property('OverallState'), 'unknown')  # vaapi skipped

    def test_live_gpu_hang_without_probe_is_one_alarm(self):
        # No probe to decide: the GPU is degraded; video acceleration is not
        # a second alarm with the same words (it is unknown, not degraded).
        self.start_agent(['--no-vaprobe'])
        start = len(self.signals)
        self.write_kmsg(h.GPU_HANG)
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'gpu' and a[1] == 'degraded', start)
        ev = self.wait_signal('Event', lambda a: a[1] == 'gpu.hang', start)
        self.assertEqual(ev[2], 'gpu')
        self.assertIn('GPU HANG', ev[3])
        self.assertFalse(ev[3].startswith('Earlier'))
        self.assertEqual(self.comp_state('gpu'), 'degraded')
        # Issue 15: the program reads as a sentence, the device is a detail
        # (not "(device 0000:00:02.0)" appended to the sentence).
        gpu = self.components()['gpu']
        self.assertIn('Program: vainfo.', gpu[2])
        self.assertNotIn('(device', gpu[2])
        self.assertNotIn('0000:00:02.0', gpu[2])
        self.assertEqual(dict(gpu[3]).get('device'), '0000:00:02.0')
        self.assertNotIn('(device', ev[3])
        # The detail is the kernel's own line, not the summary again.
        kernel_log = dict(self.components()['gpu'][3]).get('kernel-log')
        self.assertIn('GPU HANG: ecode', kernel_log)
        self.assertNotEqual(kernel_log, self.components()['gpu'][2])
        self.assertEqual(self.comp_state('vaapi'), 'unknown')
        self.assertFalse([a for n, a in self.signals[start:]
                          if n == 'ComponentChanged' and a[0] == 'vaapi' and a[1] == 'degraded'])
        # A re-check without a passing probe does not clear it.
        self.call('RunChecks')
        self.assertEqual(self.comp_state('gpu'), 'degraded')
        self.assertEqual(self.stop_agent(), 0, self.agent_stderr())

    def test_live_audio_finding_fails_audio(self):
        self.start_agent(['--no-vaprobe'])
        self.assertEqual(self.comp_state('audio'), 'ok')
        start = len(self.signals)
        self.write_kmsg(h.AUDIO_TIMEOUT)
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'audio' and a[1] == 'failed', start)
        self.wait_signal('Event', lambda a: a[1] == 'audio.codec-timeout', start)
        # What happened, and the next step that can work, first.
        advice = self.components()['audio'][4]
        self.assertTrue(advice and advice[0][0].startswith('Turn the monitor off and on'), advice)
        self.assertIn('cold-restart the VM', advice[0][0])
        # RunChecks finds the card and codec well (fixture): an explicit re-check clears it.
        self.call('RunChecks')
        self.assertEqual(self.comp_state('audio'), 'ok')

    def test_live_usb_findings(self):
        self.start_agent(['--no-vaprobe'])
        start = len(self.signals)
        self.write_kmsg(h.USB_DESCRIPTOR)
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'usb' and a[1] == 'degraded', start)
        self.write_kmsg(h.USB_DEAD)
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'usb' and a[1] == 'failed', start)
        self.wait_signal('Event', lambda a: a[1] == 'usb.controller-died', start)

    def test_passing_usb_trouble_is_held_then_ends(self):
        # Held by the agent alone (the USB monitor keeps no copy): degraded
        # for the hold (here 2 s), through a re-check, then over (without a
        # monitor, usb goes back to not checked).
        self.start_agent(['--no-vaprobe', '--kernel-hold-ms', '2000'])
        start = len(self.signals)
        self.write_kmsg(h.USB_DESCRIPTOR)
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'usb' and a[1] == 'degraded', start)
        held = time.monotonic()
        self.call('RunChecks')
        self.assertEqual(self.comp_state('usb'), 'degraded')
        self.wait_until(lambda: self.comp_state('usb') is None, 'the hold to end')
        self.assertGreaterEqual(time.monotonic() - held, 1.5)

    def test_identical_flood_is_one_event(self):
        self.start_agent(['--no-vaprobe'])
        start = len(self.signals)
        lines = [h.GPU_HANG] * 10000
        for i in range(0, len(lines), 500):
            self.write_kmsg(*lines[i:i + 500])
        # A final, different record that changes a state tells us all was read.
        self.write_kmsg(h.AUDIO_TIMEOUT)
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'audio' and a[1] == 'failed', start)
        hangs = [e for e in self.events() if e[1] == 'gpu.hang']
        self.assertEqual(len(hangs), 1, hangs)
        self.assertEqual(self.comp_state('gpu'), 'degraded')

    def test_varied_flood_is_bounded(self):
        self.start_agent(['--no-vaprobe'])
        start = len(self.signals)
        msgs = []
        for i in range(10000):
            port = f'{1 + i % 4}-{1 + (i // 4) % 12}.{1 + (i // 48) % 40}'
            msgs.append(f'usb {port}: device descriptor read/64, error -71' if i % 2
                        else f'usb {port}: device not accepting address {i % 120}, error -71')
        for i in range(0, len(msgs), 500):
            self.write_kmsg(*msgs[i:i + 500])
        self.write_kmsg(h.AUDIO_TIMEOUT)
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'audio' and a[1] == 'failed', start,
                         timeout=60)
        ev = self.events()
        usb_events = [e for e in ev if e[2] == 'usb' and e[1] != 'usb.state-changed']
        self.assertLessEqual(len(usb_events), 12, [e[1] for e in usb_events])
        self.assertGreaterEqual(len(usb_events), 1)
        self.assertEqual(self.comp_state('usb'), 'degraded')
        # The Event signals match the history (nothing sent that is not recorded).
        sent = [a for n, a in self.signals[start:] if n == 'Event' and a[2] == 'usb']
        self.assertLessEqual(len(sent), 14)
        # Still answering.
        self.assertIn('"source" : "agent"', self.call('GetReport')[0])

    def test_malformed_records_and_writer_restart(self):
        self.start_agent(['--no-vaprobe'])
        start = len(self.signals)
        junk = (b'\xff\xfe\x00garbage;;;\n' + b'x' * 200000 + b'\n' + b' SUBSYSTEM=usb\n'
                + b'9999999999999999999999,1,1,-;overflow\n' + b'3,1,abc,-;bad ts\n')
        os.write(self.kmsg_fd, junk)
        # The writer goes away and a new one comes: the agent reopens the FIFO.
        os.close(self.kmsg_fd)
        self.kmsg_fd = os.open(self.kmsg, os.O_RDWR)
        self.write_kmsg(h.GPU_HANG)
        self.wait_signal('ComponentChanged', lambda a: a[0] == 'gpu' and a[1] == 'degraded', start)
        self.assertIsNone(self.agent.poll())

    def test_plain_file_is_read_once_as_history(self):
        path = os.path.join(self.tmp.name, 'dmesg.txt')
        with open(path, 'wb') as f:
            f.write(h.kmsg_record(1, h.GPU_HANG))
            f.write(b'[   12.345678] ' + h.AUDIO_TIMEOUT.encode() + b'\n')
        self.kmsg = path
        self.start_agent(['--no-vaprobe'])
        kinds = [e[1] for e in self.events()]
        self.assertIn('gpu.hang', kinds)
        self.assertIn('audio.codec-timeout', kinds)
        self.assertEqual(self.comp_state('gpu'), 'ok')
        self.assertEqual(self.stop_agent(), 0, self.agent_stderr())


if __name__ == '__main__':
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
