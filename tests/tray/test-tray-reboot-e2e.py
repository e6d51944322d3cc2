#!/usr/bin/python3
'''Issue 14, the words before a reboot, end to end: the real passdesk-hostd
with `reboot-as-cold-restart=true` for VM 100 (written by `passdesk-hostd
setup 100 --reboot-as-cold-restart`) talks through the fake QEMU
(tests/fakes/fake-qemu.py --pty) to the real passdesk-agent --session, and:
  - `passdesk status` prints "Restart will be a cold restart: the VM stays
    off for 10 s." under the host link (--json: reboot-cold yes);
  - passdesk-tray's menu has that sentence as an insensitive line under
    "Cold restart VM…", and its cold-restart dialog says it instead of
    explaining why Restart is not enough (read through AT-SPI);
  - after `setup 100 --no-reboot-as-cold-restart` and a hostd restart, the
    line goes, `passdesk status` says Restart is a plain restart, and the
    dialog explains why Restart is not the same.
Prints TAP.
'''

import importlib.util
import json
import os
import subprocess
import sys

from trayenv import Tap, TrayEnv, wait_for  # noqa: E402

SRC = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ['PASSDESK_BUILDDIR']
COLD = 'Restart will be a cold restart: the VM stays off for 10 s.'
NOT_SAME = 'Restart from the desktop menu is not the same'


def load_hostd_e2e():
    path = os.path.join(SRC, '..', 'hostlink', 'test-hostd-e2e.py')
    spec = importlib.util.spec_from_file_location('hostd_e2e', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    tap = Tap()
    e2e = load_hostd_e2e()
    env = TrayEnv()
    host = None
    try:
        env.agent_proc.terminate()  # the real agent takes the bus name
        env.agent_proc.wait(10)
        # The AT-SPI bus, so that the dialog's words can be read.
        p = subprocess.Popen(['/usr/libexec/at-spi-bus-launcher', '--launch-immediately'],
                             env={k: v for k, v in env.env.items() if k != 'NO_AT_BRIDGE'},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env.procs.append(p)
        wait_for(lambda: env.session.name_has_owner('org.a11y.Bus'), 10, 'the AT-SPI bus')

        host = e2e.Env(vmids=(100,), pty=True, conf='[vm 100]\ncool-off=10\n')
        r = host.hostd_cli('setup', '100', '--reboot-as-cold-restart')
        assert r.returncode == 0, r
        port = os.path.join(host.guestdir, '100.port')
        wait_for(lambda: os.path.exists(port), 10, 'the pty port')
        host.start_hostd()

        agent_log = open(os.path.join(env.tmp, 'agent.log'), 'w')
        agent = subprocess.Popen(
            [os.path.join(BUILD, 'agent', 'daemon', 'passdesk-agent'), '--session',
             '--no-vaprobe', '--no-hotplug', '--kmsg=/dev/null', '--hostlink-port=' + port],
            env=dict(env.env, PASSDESK_SYSROOT=os.path.join(
                os.environ['PASSDESK_TEST_FIXTURES'], 'esprimo')),
            stdout=agent_log, stderr=subprocess.STDOUT)
        env.procs.append(agent)
        cli_env = dict(env.env, PASSDESK_BUS='session')

        def passdesk(*args):
            return subprocess.run([os.path.join(BUILD, 'agent', 'cli', 'passdesk')] + list(args),
                                  env=cli_env, capture_output=True, text=True, timeout=30)

        def hostlink():
            try:
                report = json.loads(passdesk('status', '--json').stdout)
            except ValueError:
                return {}
            return {c['id']: c for c in report.get('components', [])}.get('hostlink', {})

        def cli_cold():
            link = wait_for(lambda: (lambda h: h if h.get('details', {}).get('reboot-cold')
                                     else None)(hostlink()), 60, 'the host facts in the agent')
            assert link['details']['reboot-cold'] == 'yes', link
            assert link['details']['restart'] == COLD, link
            out = passdesk('status').stdout
            lines = out.splitlines()
            at = next(i for i, l in enumerate(lines) if l.startswith('Host link'))
            assert lines[at + 1].strip() == COLD, out
        tap.run('passdesk status: "Restart will be a cold restart: the VM stays off for 10 s."',
                cli_cold)

        def dialog_words():
            tree = env.accessible_tree('passdesk-tray')
            return [n for _, role, n in tree if role == 'label']

        def tray_cold():
            env.start_tray('--session', extra_env={'NO_AT_BRIDGE': '0'})
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'registration')
            cid, props = wait_for(lambda: (lambda i: i if i[0] is not None else None)(
                env.menu_item(COLD)), 20, 'the restart line in the menu')
            assert not bool(props['enabled']) and bool(props.get('visible', True)), props
            env.menu_click(env.menu_item('Cold restart VM…')[0])
            labels = wait_for(lambda: (lambda l: l if COLD in l else None)(dialog_words()), 20,
                              'the dialog says what Restart does')
            assert not any(NOT_SAME in l for l in labels), labels
        tap.run('the tray: the menu line and the dialog say Restart is a cold restart', tray_cold)

        def switched_off():
            r = host.hostd_cli('setup', '100', '--no-reboot-as-cold-restart')
            assert r.returncode == 0, r
            host.stop_hostd()
            host.start_hostd()
            wait_for(lambda: hostlink().get('details', {}).get('reboot-cold') == 'no', 60,
                     'reboot-cold no after the hostd restart')
            assert passdesk('status').stdout.count('Restart is a plain restart: the host does '
                                                   'not turn') == 1
            wait_for(lambda: not bool(env.menu_item('Restart')[1] or {}), 10, 'the line gone')
            wait_for(lambda: any(NOT_SAME in l for l in dialog_words()), 20,
                     'the dialog explains why Restart is not the same')
        tap.run('conversion off (setup --no-..., hostd restarted): plain restart, line gone, '
                'the dialog explains', switched_off)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# ')
                  if env.tray else '# no tray')
            try:
                print('# agent log:\n# ' + open(os.path.join(env.tmp, 'agent.log')).read()
                      .replace('\n', '\n# '))
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
