#!/usr/bin/python3
'''Screenshot test of the passdesk-tray status window under Xvfb, fed by
the real passdesk-agent --session on the Esprimo fixture tree (what the
README shows is what the agent says): kernel-log lines go in through a FIFO
(--kmsg), the host channel is a pty whose other end this script plays
(passdesk-hostd's side of PROTOCOL.md), polkit is dbusmock's polkitd. Only
the VA-API probe is a stand-in (no GPU here): fake-vaprobe, answering with
a real iHD report or hanging as a hung GPU does.

Renders the window in the ok state (the host end speaks protocol 2 and sends
a clean doctor report, so every part is ok), after a GPU hang (the probe no longer
answers), after an HDMI codec timeout, the failed state at GDK_SCALE=2, and
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
import re
import shutil
import subprocess
import sys
import time
import tty
import urllib.parse

from trayenv import SRCDIR, Tap, TrayEnv, hostd_text, wait_for  # noqa: E402
import gettext  # noqa: E402
import i18n_check  # noqa: E402

import gi  # noqa: E402
gi.require_version('GdkPixbuf', '2.0')
from gi.repository import GdkPixbuf  # noqa: E402

COLOURS = {'green': (0x2e, 0x9d, 0x4a), 'red': (0xc0, 0x1c, 0x28), 'amber': (0xe5, 0xa5, 0x0a)}
OUT = os.path.join(os.environ['PASSDESK_BUILDDIR'], 'tests', 'tray-screenshots')
# `test-tray-screenshot.py de`: the same in German (LANG=de_DE.UTF-8, the
# build tree's catalogue), the PNGs named *-de.png.
LANG = sys.argv[1] if len(sys.argv) > 1 else 'en'
SUFFIX = '' if LANG == 'en' else '-' + LANG
_ = (gettext.translation('passdesk', i18n_check.LOCALEDIR, languages=[LANG], fallback=True).gettext
     if LANG != 'en' else (lambda t: t))
STATUS_TITLE, DIALOG_TITLE = _('passdesk status'), _('Cold restart VM')


def window_id(env, title='passdesk status'):
    out = subprocess.run(['xwininfo', '-name', title], env=env.env,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if 'Window id:' in line:
            return line.split()[3]
    return None


def drawn(env, path):
    out = subprocess.run(['identify', '-format', '%k', path], env=env.env,
                         capture_output=True, text=True, timeout=30).stdout
    return out.strip().isdigit() and int(out.strip()) > 16


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
        # Two shots that agree, of a window that has drawn something (a
        # slow start, as under ASan at GDK_SCALE=2, maps it blank first).
        if data == prev and drawn(env, path):
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


BUILDDIR = os.environ['PASSDESK_BUILDDIR']
FIXTURES = os.environ['PASSDESK_TEST_FIXTURES']
HELLO = ('HELLO 1 proto=2 proto-min=1 host=pve1 vmid=101 enabled=1 cool-off-min=5 '
         'cool-off-max=120 cool-off-default=10 rate-max=1 rate-window=300 day-max=6 '
         'rate-left=1 next-allowed-in=0')
IHD_REPORT = {
    'probe': 'passdesk-vaprobe', 'format': 1, 'device': '/dev/dri/renderD128', 'user': 'nobody',
    'status': 'ok', 'error': None, 'va_api_version': '1.22',
    'vendor': 'Intel iHD driver for Intel(R) Gen Graphics - 25.2.3 ()', 'driver': 'iHD',
    'decode': ['H.264', 'HEVC', 'VP8', 'VP9', 'MPEG-2', 'JPEG'],
    'encode': ['H.264', 'HEVC', 'JPEG'], 'video_processing': True,
    'functional_test': {'name': 'vpp-scale-nv12', 'ran': True, 'passed': True,
                        'duration_ms': 3.2, 'message': 'ok'},
    'duration_ms': 48.0,
}
GPU_HANG = 'i915 0000:00:02.0: [drm] GPU HANG: ecode 9:1:85dffffb, in firefox-esr [2216]'
CODEC_TIMEOUT = ('snd_hda_intel 0000:00:1f.3: azx_get_response timeout, switching to '
                 'polling mode: last cmd=0x20270503')


class RealAgent:
    """passdesk-agent --session on the Esprimo tree, with a kernel-log FIFO,
    a host channel on a pty, and a VA-API probe whose answer can change."""

    def __init__(self, env):
        self.env = env
        tmp = env.tmp
        self.kmsg = os.path.join(tmp, 'kmsg')
        os.mkfifo(self.kmsg)
        self.kmsg_fd = os.open(self.kmsg, os.O_RDWR)  # never blocks, keeps a writer
        self.seq = 0
        self.host, slave = os.openpty()
        tty.setraw(self.host)
        self.port = os.path.join(tmp, 'org.passdesk.hostlink.0')
        os.symlink(os.ttyname(slave), self.port)
        self.slave = slave
        self.inbuf = b''
        os.set_blocking(self.host, False)
        report = os.path.join(tmp, 'vaprobe.json')
        with open(report, 'w') as f:
            json.dump(IHD_REPORT, f)
        self.mode = os.path.join(tmp, 'vaprobe-mode')
        self.set_probe('json')
        probe = os.path.join(tmp, 'vaprobe')
        with open(probe, 'w') as f:
            f.write(f'''#!/bin/sh
FAKE_VAPROBE_MODE=$(cat {self.mode}) FAKE_VAPROBE_JSON={report} \\
FAKE_VAPROBE_PIDFILE={tmp}/vaprobe.pid exec {BUILDDIR}/tests/fakes/fake-vaprobe "$@"
''')
        os.chmod(probe, 0o755)
        self.polkitd, polkit = env._spawn_template('polkitd')
        polkit.SetAllowed(['org.passdesk.cold-restart'])
        agent_env = dict(env.env)
        agent_env.update({'PASSDESK_SYSROOT': os.path.join(FIXTURES, 'esprimo'),
                          'PASSDESK_VAPROBE': probe})
        self.log = open(os.path.join(tmp, 'agent.log'), 'w')
        self.proc = subprocess.Popen(
            [os.path.join(BUILDDIR, 'agent', 'daemon', 'passdesk-agent'), '--session',
             '--no-hotplug', '--kmsg=' + self.kmsg, '--hostlink-port=' + self.port,
             '--vaprobe-timeout=2'],
            env=agent_env, stdout=self.log, stderr=subprocess.STDOUT)
        env.procs.append(self.proc)

    def set_probe(self, mode):
        with open(self.mode, 'w') as f:
            f.write(mode)

    def write_kmsg(self, msg, later_s=0):
        """One record; @later_s moves its timestamp on, so that the same line
        again is a new incident (the scanner folds repeats within a minute)."""
        self.seq += 1
        ts = int((time.monotonic() + later_s) * 1e6)
        os.write(self.kmsg_fd, f'3,{self.seq},{ts},-;{msg}\n'.encode())

    def send(self, line):
        os.write(self.host, line.encode() + b'\n')

    def read_line(self, verb):
        def have():
            try:
                self.inbuf += os.read(self.host, 65536).replace(b'\r', b'')
            except BlockingIOError:
                pass
            return any(l.split(b' ')[0] == verb.encode() for l in self.inbuf.split(b'\n')[:-1])
        wait_for(have, 10, f'{verb} from the agent')
        lines = self.inbuf.split(b'\n')
        for i, l in enumerate(lines[:-1]):
            if l.split(b' ')[0] == verb.encode():
                self.inbuf = b'\n'.join(lines[i + 1:])
                return l.decode()

    def handshake(self):
        self.send('')
        self.send(HELLO)
        self.read_line('READY')
        # Protocol 2: the host doctor found nothing to report.
        self.send(f'HOST-REPORT 2 state=ok time={int(time.time())} ok=23 warn=0 fail=0 items=0')

    def close(self):
        for fd in (self.kmsg_fd, self.host, self.slave):
            os.close(fd)
        self.log.close()


COMPONENTS = ['gpu', 'display', 'vaapi', 'audio', 'usb', 'hostlink', 'host']


def states(env):
    """The agent's component states (English ids, whatever the language)."""
    try:
        obj = env.session.get_object('org.passdesk.Agent1', '/org/passdesk/Agent1')
        comps = obj.Get('org.passdesk.Agent1', 'Components',
                        dbus_interface='org.freedesktop.DBus.Properties')
    except Exception:  # noqa: BLE001 - not on the bus yet
        return {}
    return {str(c[0]): str(c[1]) for c in comps}


def tray_shows(env, want):
    """The agent says @want ({component: state}) and the tray's menu has
    taken it in (its icon-name of each component item follows the state)."""
    st = states(env)
    if any(st.get(k) != v for k, v in want.items()):
        return False
    # The menu's component items are 1.. in PdComponentId order.
    icons = {i: str(p.get('icon-name', '')) for i, p in env.menu_layout()[1]}
    return all(icons.get(1 + COMPONENTS.index(k)) == f'passdesk-{v}' for k, v in want.items())


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(os.environ['PASSDESK_TEST_FIXTURES'], 'tray', 'screenshot-expectations.json')) as f:
        expect = json.load(f)
    tap = Tap()
    env = TrayEnv(screen='2600x2400x24')
    if LANG == 'de':
        genv = i18n_check.german_env()
        env.env.update({k: genv[k] for k in ('LANG', 'LOCPATH', 'PASSDESK_LOCALEDIR') if k in genv})
    agent = None
    shots = {}
    try:
        env.agent_proc.terminate()  # the real agent instead of the fake
        env.agent_proc.wait(10)
        env.procs.remove(env.agent_proc)
        agent = RealAgent(env)
        agent.handshake()
        env.start_tray('--session', '--status')

        def ok_state():
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'the tray')
            wait_for(lambda: tray_shows(env, {'vaapi': 'ok', 'hostlink': 'ok', 'host': 'ok'}),
                     20, 'the agent\'s first checks and the host report')
            shots['ok'] = capture(env, 'tray-status-ok' + SUFFIX, STATUS_TITLE)
            check(analyse(shots['ok']), expect['ok'])
        tap.run('status window, ok state (real agent, Esprimo tree)', ok_state)

        def gpu_hang_survived():
            # A hang the driver recovers from: the agent re-probes by itself,
            # acceleration works, and nobody is alarmed (history only).
            before = len(env.notify_calls())
            agent.write_kmsg(GPU_HANG)
            wait_for(lambda: states(env).get('gpu') == 'unknown', 10, 'the agent checking')
            wait_for(lambda: tray_shows(env, {'gpu': 'ok', 'vaapi': 'ok'}), 20,
                     'gpu and acceleration ok again')
            time.sleep(0.5)
            assert env.notify_calls()[before:] == [], env.notify_calls()[before:]
        tap.run('a GPU hang acceleration survives: re-probed, no notification', gpu_hang_survived)

        def gpu_hang():
            # The GPU hangs in Firefox and stays hung: the probe the agent
            # runs by itself after the hang no longer answers. One
            # notification says so, with the cold restart; none for the GPU.
            agent.set_probe('hang')
            before = len(env.notify_calls())
            agent.write_kmsg(GPU_HANG, later_s=120)
            wait_for(lambda: tray_shows(env, {'vaapi': 'failed'}), 20,
                     'video acceleration failed')
            time.sleep(0.5)
            notes = env.notify_calls()[before:]
            assert len(notes) == 1 and 'cold-restart' in notes[0]['actions'], notes
            if LANG == 'en':
                assert [n['summary'] for n in notes] == ['Video acceleration failed'], notes
                assert 'gone since the GPU hung' in notes[0]['body'], notes
            # Its "Kernel log" detail is the kernel's line, not the summary.
            agent_obj = env.session.get_object('org.passdesk.Agent1', '/org/passdesk/Agent1')
            comps = agent_obj.Get('org.passdesk.Agent1', 'Components',
                                  dbus_interface='org.freedesktop.DBus.Properties')
            vaapi = [c for c in comps if str(c[0]) == 'vaapi'][0]
            kernel_log = dict((str(k), str(v)) for k, v in vaapi[3]).get('kernel-log', '')
            assert 'GPU HANG: ecode 9:1:85dffffb' in kernel_log, vaapi
            shots['gpu-hang'] = capture(env, 'tray-status-gpu-hang' + SUFFIX, STATUS_TITLE)
            check(analyse(shots['gpu-hang']), expect['gpu-hang'])
        tap.run('status window after a GPU hang that acceleration did not survive', gpu_hang)

        def codec_timeout():
            agent.set_probe('json')
            env.app_action('run-checks')
            wait_for(lambda: tray_shows(env, {'vaapi': 'ok'}), 20, 'recovered')
            before = len(env.notify_calls())
            agent.write_kmsg(CODEC_TIMEOUT)
            wait_for(lambda: tray_shows(env, {'audio': 'failed'}), 20, 'audio failed')
            note = wait_for(lambda: [n for n in env.notify_calls()[before:]
                                     if 'repair-audio' in n['actions']], 5, 'audio note')[0]
            assert note['actions'][2::2] == ['repair-audio', 'cold-restart'], note
            if LANG == 'en':
                assert note['summary'] == 'Audio failed', note
                assert 'Turn the monitor off and on' in note['body'], note
                assert note['actions'][2:] == ['repair-audio', 'Repair HDMI audio',
                                               'cold-restart', 'Cold restart VM'], note
            shots['codec'] = capture(env, 'tray-status-codec' + SUFFIX, STATUS_TITLE)
            check(analyse(shots['codec']), expect['codec'])
        tap.run('status window after an HDMI codec timeout', codec_timeout)

        def dialog():
            env.app_action('cold-restart')
            shots['dialog'] = capture(env, 'tray-cold-restart' + SUFFIX, DIALOG_TITLE)
            check(analyse(shots['dialog']), expect['dialog'])
            # The host refuses: the dialog shows its sentence and only "Close".
            env.app_action('confirm-cold-restart')
            restart = agent.read_line('RESTART')
            rid = re.match(r'RESTART (\S+)', restart).group(1)
            # passdesk-hostd's sentence as it sends it: English with its
            # recipe, which the agent words in the tray's language.
            text, spans = hostd_text('This VM may be cold-restarted at most once per %u s and '
                                     '%u times a day; the next one is allowed in %u s. Try '
                                     'again then.', 600, 6, 480)
            agent.send(f'REFUSE {rid} code=rate-limited '
                       f'text={urllib.parse.quote(text, safe="")} text-spans={spans} '
                       'retry-in=480')
            shots['dialog-refused'] = capture(env, 'tray-cold-restart-refused' + SUFFIX,
                                              DIALOG_TITLE)
            check(analyse(shots['dialog-refused']), expect['dialog-refused'])
        tap.run('cold-restart dialog asks, then shows the host\'s refusal', dialog)

        env.app_action('quit')
        env.tray.wait(15)

        def failed_2x():
            env.start_tray('--session', '--status', extra_env={'GDK_SCALE': '2'})
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'the tray')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-failed', 10, 'failed')
            shots['failed-2x'] = capture(env, 'tray-status-failed-2x' + SUFFIX, STATUS_TITLE)
            check(analyse(shots['failed-2x']), expect['failed-2x'])
            env.app_action('cold-restart')
            shots['dialog-2x'] = capture(env, 'tray-cold-restart-2x' + SUFFIX, DIALOG_TITLE)
            check(analyse(shots['dialog-2x']), expect['dialog-2x'])
        tap.run('status window and dialog at GDK_SCALE=2', failed_2x)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
            with open(os.path.join(env.tmp, 'agent.log')) as f:
                print('# agent log:\n# ' + f.read().replace('\n', '\n# '))
        env.close()
        if agent is not None:
            agent.close()
    if os.environ.get('PASSDESK_UPDATE_SCREENSHOTS'):
        dest = os.path.join(SRCDIR, 'docs', 'screenshots')
        os.makedirs(dest, exist_ok=True)
        for path in shots.values():
            shutil.copy(path, dest)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
