#!/usr/bin/python3
'''passdesk-tray in German (LANG=de_DE.UTF-8) against the real
passdesk-agent --session on the Esprimo fixture tree (the machinery of
tests/tray/test-tray-screenshot.py: kernel-log FIFO, host channel on a pty,
dbusmock's polkitd, fake-vaprobe as the only stand-in). A GPU hang that
video acceleration does not survive and an HDMI codec timeout give the
failures; then every text a user reads must be German, with no English
passdesk sentence and no line of English words (tests/lib/i18n_check.py):

- the notifications (summary, body, the action buttons' labels), recorded
  by dbusmock's notification daemon;
- the tray menu (dbusmenu labels) and the tooltip;
- the status window and the cold-restart dialog, read through AT-SPI (the
  same texts a screen reader speaks: headings, sections, details, advice,
  events, buttons), the dialog asking and after the host refused.

It also renders the window and the dialog at 1x and at GDK_SCALE=2 with
ImageMagick's `import` into <builddir>/tests/tray-screenshots/ (names
de-tray-*.png), to look at; the README's German screenshots come from
`tests/tray/test-tray-screenshot.py de`. Prints TAP.
'''

import importlib.util
import os
import re
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
sys.path.insert(0, os.path.join(HERE, '..', 'tray'))
import i18n_check  # noqa: E402
from trayenv import Tap, TrayEnv, hostd_text, wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    'tray_screenshot', os.path.join(HERE, '..', 'tray', 'test-tray-screenshot.py'))
shot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shot)

GERMAN = i18n_check.german_env()
LANG_ENV = {k: v for k, v in GERMAN.items() if k in ('LANG', 'LOCPATH', 'PASSDESK_LOCALEDIR')}
CHECK = i18n_check.EnglishChecker()
WINDOW = 'passdesk-Status'
DIALOG = 'VM kalt neu starten'
OUT = shot.OUT


def german(texts, what):
    text = '\n'.join(t for t in texts if t)
    assert text.strip(), f'{what}: nothing to read'
    bad = CHECK.english_in(text)
    assert not bad, f'{what}: English in German output:\n' + '\n'.join(
        f'  {f!r} in {line!r}' for line, f in bad)


def start_atspi(env):
    '''The AT-SPI bus, so that the tray's GTK windows can be read.'''
    env.env.pop('NO_AT_BRIDGE', None)
    p = subprocess.Popen(['/usr/libexec/at-spi-bus-launcher', '--launch-immediately'],
                         env=env.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env.procs.append(p)
    wait_for(lambda: env.session.name_has_owner('org.a11y.Bus'), 10, 'the AT-SPI bus')


def names(env):
    return [n for _, _, n in env.accessible_tree('passdesk-tray') if n]


def window_texts(env, title):
    '''What AT-SPI reads of the tray once the window titled @title shows.'''
    def have():
        got = names(env)
        return got if title in got else None
    return wait_for(have, 20, f'the window "{title}" through AT-SPI', interval=0.5)


def labels(env):
    return [str(p.get('label', '')) for _, p in env.menu_layout()[1]]


def main():
    os.makedirs(OUT, exist_ok=True)
    tap = Tap()
    env = TrayEnv(screen='2600x2400x24')
    agent = None
    shots = []
    try:
        start_atspi(env)
        env.agent_proc.terminate()  # the real agent instead of the fake
        env.agent_proc.wait(10)
        env.procs.remove(env.agent_proc)
        # The agent runs in English, as a system service does; the tray asks
        # for its own language.
        env.env.update({k: v for k, v in LANG_ENV.items() if k != 'LANG'})
        agent = shot.RealAgent(env)
        agent.handshake()
        tray_env = dict(LANG_ENV)
        env.start_tray('--session', '--status', extra_env=tray_env)

        def menu():
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'the tray')
            wait_for(lambda: 'Videobeschleunigung: OK' in labels(env), 30,
                     'the agent\'s first checks, in German')
            german(labels(env), 'tray menu')
            german([str(env.item_prop('ToolTip')[2]), str(env.item_prop('ToolTip')[3])],
                   'tooltip')
        tap.run('tray menu and tooltip in German', menu)

        def gpu_hang():
            agent.set_probe('hang')
            before = len(env.notify_calls())
            agent.write_kmsg(shot.GPU_HANG, later_s=120)
            wait_for(lambda: any(l.startswith('Videobeschleunigung:') and 'OK' not in l
                                 for l in labels(env)) and len(env.notify_calls()) > before,
                     30, 'video acceleration failed, notified')
            time.sleep(0.5)
            notes = env.notify_calls()[before:]
            for n in notes:
                german([n['summary'], n['body']] + n['actions'][1::2], 'notification')
            assert any('cold-restart' in n['actions'] for n in notes), notes
        tap.run('notification after a GPU hang, with its buttons, in German', gpu_hang)

        def codec_timeout():
            before = len(env.notify_calls())
            agent.write_kmsg(shot.CODEC_TIMEOUT)
            note = wait_for(lambda: [n for n in env.notify_calls()[before:]
                                     if 'repair-audio' in n['actions']], 30, 'audio note')[0]
            german([note['summary'], note['body']] + note['actions'][1::2], 'audio notification')
            german(labels(env), 'tray menu with failures')
        tap.run('notification after an HDMI codec timeout, in German', codec_timeout)

        def status_window():
            got = window_texts(env, WINDOW)
            german(got, 'status window (AT-SPI)')
            shots.append(shot.capture(env, 'de-tray-status', WINDOW))
        tap.run('status window with failures: every text German (AT-SPI), screenshot',
                status_window)

        def dialog():
            env.app_action('cold-restart')
            got = window_texts(env, DIALOG)
            german(got, 'cold-restart dialog (AT-SPI)')
            shots.append(shot.capture(env, 'de-tray-cold-restart', DIALOG))
            env.app_action('confirm-cold-restart')
            restart = agent.read_line('RESTART')
            rid = re.match(r'RESTART (\S+)', restart).group(1)
            # passdesk-hostd's sentence as it sends it: English, with the
            # recipe (hostlink/PROTOCOL.md section 1a) the agent words it by.
            text, spans = hostd_text('This VM may be cold-restarted at most once per %u s and '
                                     '%u times a day; the next one is allowed in %u s. Try '
                                     'again then.', 600, 6, 480)
            agent.send(f'REFUSE {rid} code=rate-limited '
                       f'text={urllib.parse.quote(text, safe="")} text-spans={spans} '
                       'retry-in=480')
            time.sleep(1.0)
            got = window_texts(env, DIALOG)
            german(got, 'cold-restart dialog after the refusal (AT-SPI)')
            shots.append(shot.capture(env, 'de-tray-cold-restart-refused', DIALOG))
        tap.run('cold-restart dialog asking and refused: every text German (AT-SPI), '
                'screenshots', dialog)

        env.app_action('quit')
        env.tray.wait(15)

        def scale_2x():
            env.start_tray('--session', '--status', extra_env=dict(tray_env, GDK_SCALE='2'))
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'the tray')
            got = window_texts(env, WINDOW)
            german(got, 'status window at 2x (AT-SPI)')
            shots.append(shot.capture(env, 'de-tray-status-2x', WINDOW))
            env.app_action('cold-restart')
            window_texts(env, DIALOG)
            shots.append(shot.capture(env, 'de-tray-cold-restart-2x', DIALOG))
        tap.run('status window and dialog at GDK_SCALE=2, screenshots', scale_2x)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
            with open(os.path.join(env.tmp, 'agent.log')) as f:
                print('# agent log:\n# ' + f.read().replace('\n', '\n# '))
        env.close()
        if agent is not None:
            agent.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
