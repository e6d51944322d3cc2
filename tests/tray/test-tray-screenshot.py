#!/usr/bin/python3
'''Screenshot test of the passdesk-tray status window under Xvfb.

Renders the window in the ok state, in a failed state (VA-API failed,
audio degraded, details expanded) and the failed state at GDK_SCALE=2, and
the cold-restart dialog asking and after the host refused (its red confirm
button gone, only "Close" left),
captures each with ImageMagick's `import`, and compares loosely with
tests/fixtures/tray/screenshot-expectations.json: how many pixels carry each
state colour (the state icons) and the window size. Font differences do not
move these. The PNGs go to <builddir>/tests/tray-screenshots/; with
PASSDESK_UPDATE_SCREENSHOTS=1 they are also copied to docs/screenshots/.
Prints TAP.
'''

import json
import os
import shutil
import subprocess
import sys
import time

from trayenv import MOCK_IFACE, SRCDIR, Tap, TrayEnv, wait_for  # noqa: E402

import gi  # noqa: E402
gi.require_version('GdkPixbuf', '2.0')
from gi.repository import GdkPixbuf  # noqa: E402

COLOURS = {'green': (0x2e, 0x9d, 0x4a), 'red': (0xc0, 0x1c, 0x28), 'amber': (0xe5, 0xa5, 0x0a)}
OUT = os.path.join(os.environ['PASSDESK_BUILDDIR'], 'tests', 'tray-screenshots')


def window_id(env, title='passdesk status'):
    out = subprocess.run(['xwininfo', '-name', title], env=env.env,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if 'Window id:' in line:
            return line.split()[3]
    return None


def capture(env, name, title='passdesk status'):
    wid = wait_for(lambda: window_id(env, title), 20, f'the window "{title}"')
    path = os.path.join(OUT, name + '.png')
    prev = None
    # Capture until two shots agree: the window has finished drawing.
    for _ in range(40):
        time.sleep(0.25)
        subprocess.run(['import', '-window', wid, path], env=env.env, check=True,
                       capture_output=True, timeout=30)
        with open(path, 'rb') as f:
            data = f.read()
        if data == prev:
            break
        prev = data
    return path


def analyse(path):
    pb = GdkPixbuf.Pixbuf.new_from_file(path)
    w, h, n, stride = pb.get_width(), pb.get_height(), pb.get_n_channels(), pb.get_rowstride()
    px = pb.get_pixels()
    counts = dict.fromkeys(COLOURS, 0)
    for y in range(h):
        row = y * stride
        for x in range(0, w * n, n):
            r, g, b = px[row + x], px[row + x + 1], px[row + x + 2]
            for name, (cr, cg, cb) in COLOURS.items():
                if abs(r - cr) < 24 and abs(g - cg) < 24 and abs(b - cb) < 24:
                    counts[name] += 1
    counts['width'], counts['height'] = w, h
    return counts


def check(counts, exp):
    for key, want in exp.items():
        if key.endswith('_min'):
            assert counts[key[:-4]] >= want, (key, counts)
        elif key.endswith('_max'):
            assert counts[key[:-4]] <= want, (key, counts)
        else:
            assert want[0] <= counts[key] <= want[1], (key, counts)


def set_failed(env):
    # The Esprimo of set_all_ok (Kaby Lake GT2) after a GPU hang: the case
    # where the README's reader most needs the tray.
    env.set_component('vaapi', 'failed',
                      'The GPU did not answer within 5 s: a GPU hang is likely.',
                      [('driver', 'iHD'), ('device', '/dev/dri/renderD128')],
                      [('Reset the GPU with a real stop and start of the VM on the host '
                        '(“Cold restart VM…”); a reboot from inside the VM does not reset it.',
                        'passdesk cold-restart')])
    env.set_component('audio', 'degraded', 'HDMI audio codec answered late (codec timeout).',
                      [('hdmi-codec', 'Intel Kabylake HDMI (codec#2)'),
                       ('hdmi-codec-present', 'yes'), ('eld#2.0', 'monitor DELL U2415'),
                       ('monitor-name', 'DELL U2415')],
                      [('Choose “Switch audio to HDMI” if the output moved.', '')])


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(os.environ['PASSDESK_TEST_FIXTURES'], 'tray', 'screenshot-expectations.json')) as f:
        expect = json.load(f)
    tap = Tap()
    env = TrayEnv(screen='2600x2400x24')
    shots = {}
    try:
        env.set_all_ok()
        for kind, comp, text in [
                ('hostlink.connected', 'hostlink', 'passdesk-hostd connected (VM 101).'),
                ('display.connector-changed', 'display', 'HDMI-A-1 connected: DELL U2415.'),
                ('usb.reconnect-storm', 'usb', 'The monitor hub reconnected 6 times in 30 s.')]:
            env.agent.AddEvent(kind, comp, text, dbus_interface=MOCK_IFACE)
        env.start_tray('--status')

        def ok_state():
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'the tray')
            shots['ok'] = capture(env, 'tray-status-ok')
            check(analyse(shots['ok']), expect['ok'])
        tap.run('status window, ok state', ok_state)

        def failed_state():
            set_failed(env)
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-failed', 10, 'failed')
            shots['failed'] = capture(env, 'tray-status-failed')
            check(analyse(shots['failed']), expect['failed'])
        tap.run('status window, failed state', failed_state)

        def dialog():
            env.app_action('cold-restart')
            shots['dialog'] = capture(env, 'tray-cold-restart', 'Cold restart VM')
            check(analyse(shots['dialog']), expect['dialog'])
            # The host refuses: the dialog shows its sentence and only "Close".
            env.agent.SetColdRestartError(
                'org.passdesk.Agent1.Error.Refused',
                'VM 101 was cold-restarted 2 minutes ago; the host allows one every 10 minutes.',
                dbus_interface=MOCK_IFACE)
            env.app_action('confirm-cold-restart')
            wait_for(lambda: env.agent.GetColdRestartRequests(dbus_interface=MOCK_IFACE), 10,
                     'ColdRestart on the agent')
            shots['dialog-refused'] = capture(env, 'tray-cold-restart-refused', 'Cold restart VM')
            check(analyse(shots['dialog-refused']), expect['dialog-refused'])
        tap.run('cold-restart dialog asks, then shows the host\'s refusal', dialog)

        env.app_action('quit')
        env.tray.wait(15)

        def failed_2x():
            env.start_tray('--status', extra_env={'GDK_SCALE': '2'})
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'the tray')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-failed', 10, 'failed')
            shots['failed-2x'] = capture(env, 'tray-status-failed-2x')
            check(analyse(shots['failed-2x']), expect['failed-2x'])
        tap.run('status window, failed state at GDK_SCALE=2', failed_2x)
    finally:
        env.close()
    if os.environ.get('PASSDESK_UPDATE_SCREENSHOTS'):
        dest = os.path.join(SRCDIR, 'docs', 'screenshots')
        os.makedirs(dest, exist_ok=True)
        for path in shots.values():
            shutil.copy(path, dest)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
