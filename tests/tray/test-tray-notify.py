#!/usr/bin/python3
'''passdesk-tray's notifications: what a user sees in the notification
server, and when (see tray/views/tray-notify.h). With python-dbusmock's
notification daemon (every Notify call recorded) and with a real
xfce4-notifyd, whose buttons are read through AT-SPI. Prints TAP.'''

import os
import shutil
import sys
import time

from trayenv import MOCK_IFACE, Tap, TrayEnv, wait_for  # noqa: E402

VAAPI_FAIL = ('vaapi', 'failed', 'The VA-API probe failed: vaInitialize returned -1.', [],
              [('Cold-restart the VM: the GPU is stuck until the host resets it.', '')])


def titled(env, title):
    return [n for n in env.notify_calls() if n['summary'] == title]


def main():
    tap = Tap()
    env = TrayEnv()
    try:
        os.makedirs(os.path.dirname(env.config_file('passdesk', 'tray.ini')))
        with open(env.config_file('passdesk', 'tray.ini'), 'w') as f:
            f.write('[notifications]\ncritical-seconds=2\n')
        # "Repair HDMI audio" runs pkexec: here a pkexec that runs the helper
        # as we are, on a copy of the Esprimo sysfs (PASSDESK_SYSROOT).
        root = os.path.join(env.tmp, 'root')
        shutil.copytree(os.path.join(os.environ['PASSDESK_TEST_FIXTURES'], 'esprimo', 'sys'),
                        os.path.join(root, 'sys'), symlinks=True)
        drv = os.path.join(root, 'sys', 'bus', 'pci', 'drivers', 'snd_hda_intel')
        for f in ('unbind', 'bind'):
            open(os.path.join(drv, f), 'w').close()
        bindir = os.path.join(env.tmp, 'bin')
        os.makedirs(bindir)
        with open(os.path.join(bindir, 'pkexec'), 'w') as f:
            f.write(f'#!/bin/sh\necho "$@" >> {env.tmp}/pkexec.log\nexec "$@"\n')
        os.chmod(os.path.join(bindir, 'pkexec'), 0o755)
        env.set_all_ok()
        env.start_tray(extra_env={
            'PATH': bindir + ':' + os.environ['PATH'], 'PASSDESK_SYSROOT': root,
            'PASSDESK_REBIND_AUDIO': os.path.join(os.environ['PASSDESK_BUILDDIR'], 'agent',
                                                  'rebind', 'passdesk-rebind-audio')})
        wait_for(lambda: env.item_name() in env.registered_items(), 20, 'registration')

        def one_button_per_action():
            env.set_component(*VAAPI_FAIL)
            note = wait_for(lambda: titled(env, 'Video acceleration failed'), 5, 'note')[0]
            acts = note['actions']
            keys, labels = acts[0::2], acts[1::2]
            assert keys == ['default', 'cold-restart'], acts
            assert len(set(labels)) == len(labels), acts  # no two buttons alike
            # What happened, then the next step (the agent's first advice).
            assert note['body'].startswith('The VA-API probe failed'), note
            assert 'Cold-restart the VM' in note['body'], note
        tap.run('one action per button, none labelled like the default; body names the next '
                'step', one_button_per_action)

        def critical_not_stuck():
            note = titled(env, 'Video acceleration failed')[0]
            hints = env.notify_hints()[-1]
            assert int(hints['urgency']) == 2 and 'resident' not in hints, hints
            # critical-seconds=2: withdrawn by the tray, the icon still shows it.
            wait_for(lambda: note['id'] in env.closed_ids(), 6, 'the critical one withdrawn')
            assert str(env.item_prop('IconName')) == 'passdesk-failed'
            env.set_component('vaapi', 'ok', 'VA-API works with iHD.')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-ok', 10, 'ok icon')
        tap.run('a failure\'s critical notification is not resident and is withdrawn after '
                'critical-seconds', critical_not_stuck)

        def codec_failure():
            # The agent's words for a codec timeout (agent/logscan/logscan-rules.c):
            # the sound server still lists the HDMI sink, so there is nothing
            # to switch to; the next step leads, the cold restart is offered.
            env.set_component('audio', 'failed',
                              'The HD-Audio codec stopped answering the controller. '
                              '(device 0000:00:1f.3)',
                              [('hdmi-codec', 'Intel Kabylake HDMI (codec#2)'),
                               ('hdmi-codec-present', 'yes')],
                              [('Turn the monitor off and on again (or choose its input again), '
                                'then play a sound. If HDMI audio stays silent, cold-restart the '
                                'VM (“Cold restart VM…”).', '')])
            note = wait_for(lambda: titled(env, 'Audio failed'), 5, 'audio note')[-1]
            assert note['actions'] == ['default', 'Details', 'repair-audio', 'Repair HDMI audio',
                                       'cold-restart', 'Cold restart VM'], note
            assert 'Turn the monitor off and on' in note['body'], note
            # The repair without a restart: the driver lets go of the HD-Audio
            # function and takes it back, then the agent checks again.
            checks = env.agent.GetRunChecksCount(dbus_interface=MOCK_IFACE)
            env.invoke_action(note['id'], 'repair-audio')
            wait_for(lambda: titled(env, 'HDMI audio was reset'), 10, 'the repair\'s message')
            assert [open(os.path.join(drv, f)).read() for f in ('unbind', 'bind')] == \
                ['0000:00:1f.3'] * 2
            with open(os.path.join(env.tmp, 'pkexec.log')) as f:
                assert f.read().strip().endswith('passdesk-rebind-audio'), 'no argument passed'
            wait_for(lambda: env.agent.GetRunChecksCount(dbus_interface=MOCK_IFACE) > checks, 5,
                     'RunChecks after the repair')
            env.set_all_ok()
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-ok', 10, 'ok icon')
        tap.run('an HDMI codec failure names the next step, offers the driver rebind (which '
                'works) and the cold restart, not a switch', codec_failure)

        def not_again_after_restart():
            env.set_component('display', 'failed', 'HDMI-A-1 is disconnected.')
            wait_for(lambda: titled(env, 'Display failed'), 5, 'display note')
            with open(env.state_file('passdesk', 'announced.ini')) as f:
                assert 'display=' in f.read()
            count = len(env.notify_calls())
            env.restart_tray()  # as a new login does
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'registration')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-failed', 10, 'icon')
            time.sleep(1.0)
            assert env.notify_calls()[count:] == [], env.notify_calls()[count:]
            # A change is news: announced.
            env.set_component('display', 'failed', 'HDMI-A-1 has no valid EDID.')
            wait_for(lambda: [n for n in env.notify_calls()[count:]
                              if 'EDID' in n['body']], 5, 'the changed incident')
            env.set_component('display', 'ok', 'HDMI-A-1 is connected.')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-ok', 10, 'ok icon')
            with open(env.state_file('passdesk', 'announced.ini')) as f:
                assert 'display=' not in f.read()
        tap.run('an unchanged incident is not announced again after a tray restart; a change '
                'is', not_again_after_restart)

        def mute_a_kind():
            env.app_action('notify-usb')  # the status window's "USB" check button
            with open(env.config_file('passdesk', 'tray.ini')) as f:
                assert 'muted=usb;' in f.read()
            count = len(env.notify_calls())
            env.set_component('usb', 'failed', 'The USB controller died (xhci_hcd: HC died).')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-failed', 10, 'icon')
            time.sleep(0.5)
            assert env.notify_calls()[count:] == [], env.notify_calls()[count:]
            env.app_action('notify-usb')  # unmuted: the open incident is news again
            wait_for(lambda: titled(env, 'USB failed'), 5, 'USB note after unmuting')
            env.set_component('usb', 'ok', '0 USB devices connected.')
        tap.run('a muted kind of incident is not announced (kept in tray.ini), unmuting '
                'announces it', mute_a_kind)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
        env.close()

    # A real notification server that draws actions as buttons.
    env = TrayEnv(mock_notify=False)
    try:
        env.start_notifyd()
        env.set_all_ok()
        env.start_tray()

        def xfce4_notifyd_buttons():
            env.set_component(*VAAPI_FAIL)

            def buttons():
                tree = env.accessible_tree('xfce4-notifyd')
                if not any(n == 'Video acceleration failed' for _, _, n in tree):
                    return None
                return [n for _, role, n in tree if role == 'push button']
            got = wait_for(buttons, 15, 'the notification drawn by xfce4-notifyd')
            assert got == ['Details', 'Cold restart VM'], got
        tap.run('xfce4-notifyd draws one button per action (read through AT-SPI)',
                xfce4_notifyd_buttons)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
        env.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
