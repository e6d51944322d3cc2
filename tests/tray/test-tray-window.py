#!/usr/bin/python3
'''The status window and the cold-restart dialog as a person reads them,
through AT-SPI (the accessibility tree GTK gives screen readers), on a
1366x768 Xvfb screen, fed by the test agent (fakes/fake_agent.py). Prints TAP.

- advice (what to do, with its command) is seen without opening Details;
- details read as words: labels from agent/core/detail-keys.c for every key
  (families included), ids in values as words, never "pci-slot",
  "probe-status" or "no-device";
- the values of every section start at the same x;
- the window fits a 1366x768 screen with panels and keeps its width when a
  section with long values opens;
- a greyed "Cold restart VM…" says why, as the tray menu does (tooltip and
  a visible line);
- the dialog shows the host's rate limit before anyone confirms, in minutes
  and seconds, with Confirm greyed; its heading and body follow the cycle
  (under way, refused) instead of still asking.
'''

import os
import re
import subprocess
import sys
import time

from trayenv import MOCK_IFACE, Tap, TrayEnv, wait_for  # noqa: E402

APP = 'passdesk-tray'
# A 1366x768 screen less a top panel, a bottom panel and the title bar.
MAX_W, MAX_H = 1366, 768 - 28 - 40 - 37
LONG_SYSFS = ('/sys/devices/pci0000:00/0000:00:1f.3/sound/card0/hdaudioC0D2/'
              'hdaudioC0D2-hdmi-codec-with-a-very-long-sysfs-name-that-does-not-break')


def window_size(env, title='passdesk status'):
    out = subprocess.run(['xwininfo', '-name', title], env=env.env,
                         capture_output=True, text=True).stdout
    w = re.search(r'Width: (\d+)', out)
    h = re.search(r'Height: (\d+)', out)
    return (int(w.group(1)), int(h.group(1))) if w and h else None


def named(nodes, name, role=None):
    return [n for n in nodes if n['name'] == name and (role is None or n['role'] == role)]


def row_of(nodes, node):
    """The path of the list row (component section) @node is in."""
    path = node['path']
    for n in nodes:
        if n['role'] == 'list item' and path[:len(n['path'])] == n['path']:
            return n['path']
    return None


def in_row(nodes, row):
    return [n for n in nodes if n['path'][:len(row)] == row and n['path'] != row]


def inside_details(nodes, node):
    """Whether @node sits in a "Details" expander (seen only when opened)."""
    return any(n['name'] == 'Details' and node['path'][:len(n['path'])] == n['path']
               and node['path'] != n['path'] for n in nodes)


def section(nodes, title_prefix):
    """The nodes of the component section whose title starts with @title_prefix."""
    for n in nodes:
        if n['role'] == 'label' and n['name'].startswith(title_prefix + ' — '):
            row = row_of(nodes, n)
            if row is not None:
                return in_row(nodes, row)
    raise AssertionError(f'no section "{title_prefix}" in {[n["name"] for n in nodes][:80]}')


def main():
    tap = Tap()
    env = TrayEnv(screen='1366x768x24')
    try:
        env.start_atspi()
        env.set_all_ok(skip=('gpu', 'vaapi', 'audio', 'hostlink'))
        env.set_component('gpu', 'degraded', 'The render node cannot be opened by this user.',
                          [('pci-slot', '0000:00:02.0'), ('driver', 'i915'),
                           ('render-access', 'denied')], [])
        env.set_component('vaapi', 'failed', 'The VA-API probe found no render device.',
                          [('probe', 'report'), ('probe-status', 'no-device'),
                           ('probe-user', 'nobody')],
                          [('Install the firmware from Debian\'s non-free-firmware component.',
                            'sudo apt install firmware-misc-nonfree')])
        env.set_component('audio', 'ok', 'HDMI audio on DELL U2415: Intel Kabylake HDMI',
                          [('card', LONG_SYSFS), ('eld#2.0', 'monitor DELL U2415')], [])
        env.set_component('hostlink', 'unknown', 'This VM has no host channel.',
                          [('port', '/dev/virtio-ports/org.passdesk.hostlink.0')],
                          [('Set up the channel on the Proxmox host, then stop and start the VM.',
                            'passdesk-hostd setup 101')])
        env.start_tray('--status', atspi=True)

        def read():
            return env.accessibles(APP)

        nodes = wait_for(lambda: (lambda n: n if named(n, 'Events') else None)(read()), 30,
                         'the status window through AT-SPI')

        def advice_seen():
            # The host link is unknown: its Details start closed, and its
            # advice is still there to read and copy, outside them.
            link = section(nodes, 'Host link')
            details = [n for n in link if n['name'] == 'Details']
            assert details and not details[0]['expanded'], details
            text = [n for n in link if n['name'].startswith('Set up the channel')]
            cmd = [n for n in link if n['text'] == 'passdesk-hostd setup 101']
            assert text and cmd, [(n['role'], n['name']) for n in link]
            assert not inside_details(nodes, text[0]) and not inside_details(nodes, cmd[0]), \
                (text, cmd, details)
            vaapi = section(nodes, 'Video acceleration')
            apt = [n for n in vaapi if n['text'] == 'sudo apt install firmware-misc-nonfree']
            assert apt and apt[0]['showing'] and not inside_details(nodes, apt[0]), apt
        tap.run('advice and its command are seen without opening Details', advice_seen)

        def words():
            names = [n['name'] for n in nodes if n['role'] == 'label']
            for raw in ('pci-slot', 'render-access', 'probe-status', 'probe-user', 'eld#2.0',
                        'no-device', 'read-write', 'probe status: no-device',
                        'probe user: nobody'):
                assert raw not in names, (raw, names)
            for want in ('PCI slot', 'Render node access', 'Probe status', 'Probe user',
                         'HDMI audio pin 2.0', 'no render device found', 'denied', 'answered'):
                assert want in names, (want, names)
        tap.run('details read as words: labels for every key, ids in values as words', words)

        def aligned():
            gpu = section(nodes, 'GPU')
            vaapi = section(nodes, 'Video acceleration')
            slot = [n for n in gpu if n['name'] == '0000:00:02.0']
            status = [n for n in vaapi if n['name'] == 'no render device found']
            assert slot and status and slot[0]['showing'] and status[0]['showing'], (slot, status)
            assert slot[0]['x'] == status[0]['x'], (slot[0], status[0])
        tap.run('values start at the same x in every section', aligned)

        def fits():
            size = wait_for(lambda: window_size(env), 10, 'the window size')
            assert size[0] <= MAX_W and size[1] <= MAX_H, (size, (MAX_W, MAX_H))
            # Audio is ok: its Details are closed. Open them (the long sysfs
            # path inside): the window keeps its width; the text wraps.
            audio_row = row_of(nodes, [n for n in nodes if n['name'].startswith('Audio — ')][0])
            details = [n for n in in_row(nodes, audio_row) if n['name'] == 'Details']
            assert details, in_row(nodes, audio_row)
            assert not details[0]['expanded'], details
            env.accessibles(APP, do_action=details[0]['path'])
            wait_for(lambda: [n for n in read() if n['path'] == details[0]['path']
                              and n['expanded']], 10, 'the audio details open')
            time.sleep(0.5)
            after = window_size(env)
            assert after == size, (size, after)
        tap.run('the window fits 1366x768 with panels and keeps its width when a section '
                'opens', fits)

        def restart_reason():
            restart = [n for n in nodes if n['role'] == 'push button'
                       and n['name'] == 'Cold restart VM…']
            assert restart and not restart[0]['sensitive'], restart
            assert 'no host link' in restart[0]['description'], restart[0]
            why = [n for n in nodes if n['role'] == 'label' and 'no host link' in n['name']]
            assert why and why[0]['showing'], why
            # The menu gives the same reason.
            assert any('no host link' in str(p.get('label', ''))
                       for _, p in env.menu_layout()[1])
        tap.run('a greyed "Cold restart VM…" says why (tooltip and a visible line)',
                restart_reason)

        def dialog_rate_limit():
            env.set_component('hostlink', 'ok', 'Connected to pve1 (VM 101)',
                              [('host', 'pve1'), ('vmid', '101'),
                               ('rate-limit', '1 per 300 s, 6 per day; none allowed now'),
                               ('rate-left', '0'), ('next-allowed-in', '258 s')], [])
            wait_for(lambda: not [n for n in read() if 'no host link' in n['name']
                                  and n['showing']], 10, 'the host link ok')
            env.app_action('cold-restart')

            def limit_shown():
                d = [n for n in read() if re.search(r'in 4 min 1\d s', n['name'])
                     and n['showing']]
                return d or None
            wait_for(limit_shown, 15, 'the rate limit in the dialog')
            dialog = read()
            confirm = [n for n in dialog if n['role'] == 'push button'
                       and n['name'] == 'Cold restart VM']
            assert confirm and not confirm[0]['sensitive'], confirm
            assert re.search(r'4 min 1\d s', confirm[0]['description']), confirm[0]
            assert not [n for n in dialog if re.search(r'\b2\d\d s\b', n['name'])], \
                [n['name'] for n in dialog if ' s' in n['name']]
            # The host allows one again: Confirm is offered.
            env.set_component('hostlink', 'ok', 'Connected to pve1 (VM 101)',
                              [('host', 'pve1'), ('vmid', '101'), ('rate-left', '1')], [])
            wait_for(lambda: [n for n in read() if n['role'] == 'push button'
                              and n['name'] == 'Cold restart VM' and n['sensitive']], 10,
                     'Confirm offered')
        tap.run('the dialog shows the host\'s rate limit before confirming, in minutes, '
                'Confirm greyed', dialog_rate_limit)

        def dialog_follows_state():
            env.app_action('confirm-cold-restart')
            wait_for(lambda: env.agent.GetColdRestartRequests(dbus_interface=MOCK_IFACE), 10,
                     'ColdRestart')

            def labels():
                return [n['name'] for n in read() if n['role'] == 'label' and n['showing']]
            wait_for(lambda: 'Cold restart under way' in labels(), 10, 'the progress heading')
            now = labels()
            assert 'Cold restart this VM?' not in now, now
            assert not [t for t in now if 'Save your work' in t], now
            env.agent.EmitColdRestartProgress(
                'refused', 'VM 101 was cold-restarted 2 minutes ago; the host allows one every '
                '10 minutes.', dbus_interface=MOCK_IFACE)
            wait_for(lambda: 'The host refused the cold restart' in labels(), 10,
                     'the refused heading')
            now = labels()
            assert 'Cold restart this VM?' not in now, now
            assert not [t for t in now if 'Save your work' in t], now
            assert [t for t in now if 'the host allows one every' in t], now
            names = [n['name'] for n in read() if n['role'] == 'push button' and n['showing']]
            assert 'Close' in names and 'Cold restart VM' not in names, names
            env.agent.EmitColdRestartProgress('idle', '', dbus_interface=MOCK_IFACE)
            # The host's refusal as the real agent gives it: ColdRestart's
            # error (org.passdesk.Agent1.Error.Refused) with its sentence.
            close = [n for n in read() if n['role'] == 'push button' and n['name'] == 'Close']
            env.accessibles(APP, do_action=close[0]['path'])
            wait_for(lambda: not [n for n in read() if n['name'] == 'Close'], 10, 'closed')
            env.agent.SetColdRestartError('org.passdesk.Agent1.Error.Refused',
                                          'The host allows one every 10 minutes.',
                                          dbus_interface=MOCK_IFACE)
            env.app_action('cold-restart')
            wait_for(lambda: 'Cold restart this VM?' in labels(), 10, 'a new dialog asking')
            env.app_action('confirm-cold-restart')
            wait_for(lambda: 'The host refused the cold restart' in labels(), 10,
                     'the refused heading (D-Bus error)')
            now = labels()
            assert not [t for t in now if 'Save your work' in t], now
            assert 'The host allows one every 10 minutes.' in now, now
        tap.run('the dialog\'s heading and body follow the cycle: under way, refused',
                dialog_follows_state)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
        env.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
