#!/usr/bin/python3
'''The `host` component end to end: a broken host reaches the desktop.

The real passdesk-hostd runs its doctor on a generated Esprimo host tree
whose hookscript is missing (tests/fixtures/hosts/make-host-trees.py,
PASSDESK_HOST_ROOT), talks through the fake QEMU (tests/fakes/fake-qemu.py
--pty) to the real passdesk-agent --session on the pty's other end (protocol
2: HOST-REPORT + HOST-ITEMs), and then:
  - `passdesk status --json` shows the `host` component failed, with the
    host's sentence about the hookscript and its fix as the command;
  - passdesk-tray (under Xvfb, lib/trayenv.py) shows it: its menu item
    "Proxmox host: Failed", the tooltip and a notification.
(That a report outlives the connection is tested in test-guest-conn.c and
test-guest-component.c: the fake QEMU's pty cannot show the guest a host
hanging up.) Prints TAP.
'''

import importlib.util
import json
import os
import subprocess
import sys

from trayenv import Tap, TrayEnv, wait_for  # noqa: E402

SRC = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ['PASSDESK_BUILDDIR']
HOOK = '/var/lib/vz/snippets/vm100-hooks.sh'


def load_hostd_e2e():
    '''The hostd test environment (fake qm, fake QEMU, hostd.conf) of
    tests/hostlink/test-hostd-e2e.py, reused as it is.'''
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

        host = e2e.Env(vmids=(100,), pty=True)
        trees = os.path.join(host.tmp, 'host')
        subprocess.run([os.path.join(SRC, '..', 'fixtures', 'hosts', 'make-host-trees.py'),
                        trees, 'esprimo-hookscript-missing'], check=True)
        root = os.path.join(trees, 'esprimo-hookscript-missing')
        conf = open(os.path.join(root, 'etc/pve/qemu-server/100.conf')).read()
        host.write('100.conf', conf.replace('/run/qemu-server/', host.run + '/'))
        host.env['PASSDESK_HOST_ROOT'] = root
        port = os.path.join(host.guestdir, '100.port')
        wait_for(lambda: os.path.exists(port), 10, 'the pty port')
        host.start_hostd()

        agent_env = dict(env.env)
        agent_env['PASSDESK_SYSROOT'] = os.path.join(os.environ['PASSDESK_TEST_FIXTURES'],
                                                     'esprimo')
        agent_log = open(os.path.join(env.tmp, 'agent.log'), 'w')
        agent = subprocess.Popen(
            [os.path.join(BUILD, 'agent', 'daemon', 'passdesk-agent'), '--session',
             '--no-vaprobe', '--no-hotplug', '--kmsg=/dev/null', '--hostlink-port=' + port],
            env=agent_env, stdout=agent_log, stderr=subprocess.STDOUT)
        env.procs.append(agent)
        cli_env = dict(env.env, PASSDESK_BUS='session')

        def status():
            r = subprocess.run([os.path.join(BUILD, 'agent', 'cli', 'passdesk'), 'status',
                                '--json'], env=cli_env, capture_output=True, text=True,
                               timeout=30)
            try:
                report = json.loads(r.stdout)
            except ValueError:
                return {}
            return {c['id']: c for c in report.get('components', [])}

        def cli_status():
            comps = wait_for(lambda: (lambda c: c if c.get('host', {}).get('state') == 'failed'
                                      else None)(status()), 60,
                             'the host component failed in passdesk status --json')
            h = comps['host']
            assert comps['hostlink']['state'] == 'ok', comps['hostlink']
            assert h['title'] == 'Proxmox host', h
            assert h['summary'].startswith('The host doctor found 1 failed check'), h
            assert 'vm-hookscript (VM 100)' in h['details']['problems'], h['details']
            assert h['details']['report'] == 'complete', h['details']
            hook = [a for a in h['advice'] if 'hookscript' in a['text']]
            assert hook, h['advice']
            assert (f'hookscript local:snippets/vm100-hooks.sh ({HOOK}) is missing'
                    in hook[0]['text']), hook[0]
            assert hook[0]['text'].endswith('On the Proxmox host:'), hook[0]
            assert f'chmod +x {HOOK}' in hook[0]['command'], hook[0]
            assert any(a.get('command') == 'passdesk-hostd doctor 100' for a in h['advice']), \
                h['advice']
        tap.run('passdesk status --json: host failed with the hookscript sentence and fix',
                cli_status)

        def tray():
            env.start_tray('--session')
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'registration')
            wait_for(lambda: env.menu_item('Proxmox host: Failed')[0] is not None, 20,
                     'the host component in the tray menu')
            assert str(env.item_prop('IconName')) == 'passdesk-failed'
            tip = str(env.item_prop('ToolTip')[3])
            assert 'Proxmox host: The host doctor found 1 failed check' in tip, tip
            notes = wait_for(lambda: [n for n in env.notify_calls()
                                      if n['summary'] == 'Proxmox host failed'], 10,
                             'the host notification')
            assert 'The host doctor found 1 failed check' in notes[0]['body'], notes
        tap.run('the tray shows it: menu item, tooltip, notification', tray)

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
