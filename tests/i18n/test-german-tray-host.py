#!/usr/bin/python3
'''passdesk-tray in German (LANG=de_DE.UTF-8) with the real passdesk-hostd:
the host's sentences reach the tray in German.

passdesk-hostd runs in the C locale, as a host service does, with the fake
qm and the fake QEMU of tests/hostlink/test-hostd-e2e.py (--pty), its doctor
on the generated Esprimo host tree whose hookscript is missing
(PASSDESK_HOST_ROOT), one cycle per 300 s for VM 100 and a cycle started a
minute ago in its state. The real passdesk-agent --session (C locale) sits
on the pty's guest end, the tray asks for German. Then every text a user
reads must be German (tests/lib/i18n_check.py):
  - the host notification, the tray menu and the tooltip;
  - the status window through AT-SPI, with the doctor's findings (their
    sentences and fixes, with this host's paths, VM id and PCI address);
  - the cold-restart dialog, which shows the host's limit before asking.
Prints TAP.
'''

import importlib.util
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
sys.path.insert(0, os.path.join(HERE, '..', 'tray'))
from trayenv import Tap, TrayEnv, wait_for  # noqa: E402

BUILD = os.environ['PASSDESK_BUILDDIR']
HOOK = '/var/lib/vz/snippets/vm100-hooks.sh'


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# The hostd environment of the hostd e2e test, and the German tray test's
# AT-SPI reading and checks, reused as they are.
e2e = load('hostd_e2e', os.path.join(HERE, '..', 'hostlink', 'test-hostd-e2e.py'))
gt = load('german_tray', os.path.join(HERE, 'test-german-tray.py'))


def start_host(tmp):
    host = e2e.Env(vmids=(100,), pty=True, conf='[vm 100]\nmin-interval=300\n')
    host.env['LANG'] = 'C.UTF-8'
    os.makedirs(host.state, exist_ok=True)
    with open(os.path.join(host.state, 'hostd-state'), 'w') as f:
        f.write(f'[vm 100]\nhistory={int(time.time() * 1e6) - 60 * 10**6};\nserial=1\n')
    trees = os.path.join(host.tmp, 'host')
    subprocess.run([os.path.join(HERE, '..', 'fixtures', 'hosts', 'make-host-trees.py'), trees,
                    'esprimo-hookscript-missing'], check=True)
    root = os.path.join(trees, 'esprimo-hookscript-missing')
    with open(os.path.join(root, 'etc/pve/qemu-server/100.conf')) as f:
        conf = f.read()
    host.write('100.conf', conf.replace('/run/qemu-server/', host.run + '/'))
    host.env['PASSDESK_HOST_ROOT'] = root
    wait_for(lambda: os.path.exists(os.path.join(host.guestdir, '100.port')), 10, 'the pty port')
    host.start_hostd()
    return host


def main():
    tap = Tap()
    env = TrayEnv(screen='2600x2400x24')
    host = None
    try:
        gt.start_atspi(env)
        env.agent_proc.terminate()  # the real agent takes the bus name
        env.agent_proc.wait(10)
        env.procs.remove(env.agent_proc)
        host = start_host(env.tmp)
        polkitd, polkit = env._spawn_template('polkitd')
        env.procs.append(polkitd)
        polkit.SetAllowed(['org.passdesk.cold-restart'])
        agent_env = dict(env.env, LANG='C.UTF-8',
                         PASSDESK_SYSROOT=os.path.join(os.environ['PASSDESK_TEST_FIXTURES'],
                                                       'esprimo'))
        agent_env.update({k: v for k, v in gt.LANG_ENV.items() if k != 'LANG'})
        agent_log = open(os.path.join(env.tmp, 'agent.log'), 'w')
        agent = subprocess.Popen(
            [os.path.join(BUILD, 'agent', 'daemon', 'passdesk-agent'), '--session',
             '--no-vaprobe', '--no-hotplug', '--kmsg=/dev/null',
             '--hostlink-port=' + os.path.join(host.guestdir, '100.port')],
            env=agent_env, stdout=agent_log, stderr=subprocess.STDOUT)
        env.procs.append(agent)
        wait_for(lambda: gt.shot.states(env).get('host') == 'failed', 60,
                 'the host doctor\'s report in the agent')
        before = len(env.notify_calls())
        env.start_tray('--session', '--status', extra_env=dict(gt.LANG_ENV))

        def tray():
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'the tray')
            notes = wait_for(lambda: env.notify_calls()[before:], 20, 'a notification')
            for n in notes:
                gt.german([n['summary'], n['body']] + n['actions'][1::2], 'notification')
            gt.german(gt.labels(env), 'tray menu')
            gt.german([str(env.item_prop('ToolTip')[2]), str(env.item_prop('ToolTip')[3])],
                      'tooltip')
        tap.run('notification, menu and tooltip about the failed host in German', tray)

        def status_window():
            got = wait_for(lambda: (lambda t: t if any(HOOK in x for x in t) else None)(
                gt.window_texts(env, gt.WINDOW)), 20, 'the doctor\'s findings in the window')
            assert any('0000:00:1f.6' in x for x in got), got  # the second finding
            gt.german(got, 'status window with the host doctor\'s findings (AT-SPI)')
        tap.run('status window: the host doctor\'s findings and fixes in German (AT-SPI)',
                status_window)

        def dialog():
            # The host's HELLO said no cycle is allowed for a while, so the
            # dialog says so before anything is asked (the host's own
            # refusal of a request is in german-tray and in german's
            # test_rate_limit_refusal_in_german).
            env.app_action('cold-restart')
            got = gt.window_texts(env, gt.DIALOG)
            gt.german(got, 'cold-restart dialog with the host\'s limit (AT-SPI)')
        tap.run('cold-restart dialog with passdesk-hostd\'s limit in German (AT-SPI)', dialog)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# ')
                  if env.tray else '# no tray')
            try:
                with open(os.path.join(env.tmp, 'agent.log')) as f:
                    print('# agent log:\n# ' + f.read().replace('\n', '\n# '))
            except OSError:
                pass
            if host:
                print('# hostd log:\n# ' + host.hostd_log().replace('\n', '\n# '))
        env.close()
        if host:
            host.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
