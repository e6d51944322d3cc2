#!/usr/bin/python3
'''passdesk-tray end to end, headless, with real parts (see tests/lib/trayenv.py):
Xvfb, private session and system-like buses, a StatusNotifierWatcher,
python-dbusmock's notification daemon, PulseAudio with null sinks and the
test agent. Prints TAP.

Audio here: removing the HDMI-named null sink (module-always-sink puts
auto_null in its place) must give one notification within 1 s, without a
"Switch to HDMI" that could not work (null sinks have no card, so no HDMI
profile is left to switch to), and it is withdrawn when the sink comes back.
The switch itself, chosen outputs and PipeWire are in test-tray-audio.py;
what notifications look like and when they repeat in test-tray-notify.py.
'''

import os
import select
import subprocess
import sys
import time

from trayenv import HDMI_SINK, MOCK_IFACE, Tap, TrayEnv, wait_for  # noqa: E402

import dbus  # noqa: E402


def audio_notes(env):
    return [n for n in env.notify_calls() if n['summary'].startswith('Audio')]


def main():
    tap = Tap()
    exe = os.path.join(os.environ['PASSDESK_BUILDDIR'], 'tray', 'passdesk-tray')

    def command_line():
        r = subprocess.run([exe, '--help'], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and '--session' in r.stdout, r
        r = subprocess.run([exe, '--version'], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stdout.startswith('passdesk-tray '), r
        r = subprocess.run([exe, '--no-such-option'], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and '--help' in r.stderr, r
    tap.run('--help, --version and a usage error (exit 2)', command_line)
    env = TrayEnv()
    try:
        env.set_all_ok()
        env.agent.AddEvent('hostlink.connected', 'hostlink', 'passdesk-hostd connected.',
                           dbus_interface=MOCK_IFACE)
        env.start_tray()

        def registers():
            wait_for(lambda: env.item_name() in env.registered_items(), 20,
                     'RegisterStatusNotifierItem')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-ok', 10, 'ok icon')
            assert str(env.item_prop('Status')) == 'Active'
            assert str(env.item_prop('Id')) == 'passdesk'
            assert str(env.item_prop('Menu')) == '/MenuBar'
            tip = env.item_prop('ToolTip')
            assert str(tip[0]) == 'passdesk-ok', tip
            assert str(tip[2]) == 'passdesk: everything works', tip
            labels = [str(p.get('label', '')) for _, p in env.menu_layout()[1]]
            for want in ('GPU: OK', 'Display: OK', 'Video acceleration: OK', 'Audio: OK',
                         'USB: OK', 'Host link: OK', '_Status…', '_Run checks now',
                         '_Cold restart VM…', '_Quit'):
                assert want in labels, (want, labels)
            cid, props = env.menu_item('Switch audio to HDMI')
            assert not bool(props['visible']), props
            assert env.notify_calls() == [], env.notify_calls()
        tap.run('item registers with the ok icon, Active status, tooltip and menu', registers)

        def dbusmenu_methods():
            menu = env.session.get_object(env.item_name(), '/MenuBar')
            iface = 'com.canonical.dbusmenu'
            props = menu.GetAll(iface, dbus_interface='org.freedesktop.DBus.Properties')
            assert int(props['Version']) >= 3 and str(props['Status']) == 'normal', props
            cid, _ = env.menu_item('Quit')
            group = menu.GetGroupProperties([cid, 9999], ['label'], dbus_interface=iface)
            assert [(int(i), dict(p)) for i, p in group] == [(cid, {'label': '_Quit'})], group
            assert str(menu.GetProperty(cid, 'label', dbus_interface=iface)) == '_Quit'
            assert not bool(menu.AboutToShow(0, dbus_interface=iface))
            updates, errors = menu.AboutToShowGroup([0, cid], dbus_interface=iface)
            assert list(updates) == [] and list(errors) == []
            errors = menu.EventGroup([(dbus.Int32(9999), 'clicked', dbus.String('', variant_level=1),
                                       dbus.UInt32(0))], dbus_interface=iface)
            assert [int(e) for e in errors] == [9999], errors
            # Only the root's children are sent for depth 1; a bad parent is an error.
            _, (rid, rprops, children) = menu.GetLayout(0, 1, [], dbus_interface=iface)
            assert str(rprops['children-display']) == 'submenu' and len(children) == 15
            try:
                menu.GetLayout(4242, -1, [], dbus_interface=iface)
                raise AssertionError('GetLayout accepted an unknown parent')
            except dbus.exceptions.DBusException as e:
                assert e.get_dbus_name() == 'org.freedesktop.DBus.Error.InvalidArgs', e
        tap.run('dbusmenu methods answer as the protocol says', dbusmenu_methods)

        def component_fails():
            rev0 = env.menu_layout()[0]
            mon = env.monitor("type='signal',path='/StatusNotifierItem'")
            menu_mon = env.monitor("type='signal',path='/MenuBar'")
            fail = ('vaapi', 'failed',
                    'The VA-API probe failed: vaInitialize returned -1 (i965 on N100).',
                    [('driver', 'i965')],
                    [('Install the iHD driver.',
                      'sudo apt install intel-media-va-driver-non-free')])
            env.set_component(*fail)
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-failed', 10,
                     'failed icon')
            assert str(env.item_prop('Status')) == 'NeedsAttention'
            assert 'Video acceleration: The VA-API probe failed' in str(env.item_prop('ToolTip')[3])
            rev, items = env.menu_layout()
            assert rev > rev0, (rev, rev0)
            # Hosts learn of it through signals: NewIcon, NewStatus,
            # NewToolTip, and the menu's ItemsPropertiesUpdated (in place).
            for sig in ('member=NewIcon', 'member=NewStatus', 'member=NewToolTip'):
                wait_for(lambda: sig in env.monitor_text(mon), 5, sig)
            assert 'string "NeedsAttention"' in env.monitor_text(mon)
            wait_for(lambda: 'member=ItemsPropertiesUpdated' in env.monitor_text(menu_mon), 5,
                     'ItemsPropertiesUpdated')
            assert 'Video acceleration: Failed' in env.monitor_text(menu_mon)
            props = dict(items)[3]
            assert str(props['label']) == 'Video acceleration: Failed', props
            assert str(props['icon-name']) == 'passdesk-failed', props
            notes = wait_for(lambda: [n for n in env.notify_calls()
                                      if n['summary'] == 'Video acceleration failed'], 5,
                             'VA-API notification')
            assert len(notes) == 1, notes
            assert notes[0]['actions'] == ['default', 'Details', 'cold-restart', 'Cold restart VM']
            # The incident changes: the same notification is replaced in place.
            env.set_component('vaapi', 'failed', 'The VA-API probe timed out (GPU hang?).')
            changed = wait_for(lambda: [n for n in env.notify_calls()
                                        if 'timed out' in n['body']], 5, 'replacement')
            assert changed[0]['replaces'] == notes[0]['id'], (changed, notes)
            env.set_component(*fail)
            wait_for(lambda: env.notify_calls()[-1]['body'] == notes[0]['body'], 5, 'back')
            # Recovery withdraws it; the same failure again within a minute is
            # a flap: the icon shows it, no second notification.
            # (A different failure would be a new incident and be announced.)
            env.set_component('vaapi', 'ok', 'VA-API works with iHD.')
            wait_for(lambda: notes[0]['id'] in env.closed_ids(), 5, 'CloseNotification')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-ok', 10, 'ok icon')
            env.set_component(*fail)
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-failed', 10,
                     'failed icon')
            time.sleep(0.5)
            calls = [n for n in env.notify_calls() if n['summary'] == 'Video acceleration failed']
            assert env.notify_calls()[-1] == calls[-1] and len(calls) == 3, calls
            env.set_component('vaapi', 'ok', 'VA-API works with iHD.')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-ok', 10, 'ok icon')
        tap.run('icon, status, tooltip, menu and notification follow a failure and recovery',
                component_fails)

        def hdmi_sink_removed():
            before = len(audio_notes(env))
            module = env.module_of_sink(HDMI_SINK)
            assert module is not None
            t0 = time.monotonic()
            env.pactl('unload-module', module)
            notes = wait_for(lambda: audio_notes(env)[before:], 5, 'audio notification',
                             interval=0.005)
            elapsed = time.monotonic() - t0
            assert env.default_sink() == 'auto_null', env.default_sink()
            assert elapsed < 1.0, f'notification after {elapsed:.3f} s'
            # Nothing to switch to (null sinks have no card profile): no
            # "Switch to HDMI", and no advice naming it.
            assert 'switch-hdmi' not in notes[0]['actions'], notes[0]
            assert 'Switch audio to HDMI' not in notes[0]['body'], notes[0]
            assert 'Dummy Output' in notes[0]['body'], notes[0]
            time.sleep(0.5)
            notes = audio_notes(env)[before:]
            ids = {n['id'] for n in notes}
            assert len(ids) == 1, notes  # one incident, at most replaced in place
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-failed', 10, 'icon')
            # The HDMI sink comes back (auto_null goes): the notification is withdrawn.
            env.pactl('load-module', 'module-null-sink', f'sink_name={HDMI_SINK}',
                      'sink_properties=device.description=HDMI')
            wait_for(lambda: notes[0]['id'] in env.closed_ids(), 5, 'CloseNotification')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-ok', 10, 'ok icon')
        tap.run('removing the HDMI sink gives one Dummy Output notification within 1 s',
                hdmi_sink_removed)

        def cold_restart():
            cid, props = env.menu_item('Cold restart VM…')
            assert cid is not None and bool(props['enabled']), props
            env.menu_click(cid)
            env.app_action('confirm-cold-restart')
            reqs = wait_for(lambda: env.agent.GetColdRestartRequests(dbus_interface=MOCK_IFACE),
                            10, 'ColdRestart on the agent')
            assert len(reqs) == 1, reqs
            assert 'passdesk tray' in str(reqs[0]['reason']), reqs
            # While a cycle runs, and when the host link is down, the item is
            # insensitive and says why.
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-restarting', 5,
                     'restarting icon')
            env.agent.EmitColdRestartProgress('idle', '', dbus_interface=MOCK_IFACE)
            env.set_component('hostlink', 'failed', 'passdesk-hostd is not connected.')
            wait_for(lambda: env.menu_item('Cold restart VM')[1] is not None and
                     'host link down' in str(env.menu_item('Cold restart VM')[1]['label']), 5,
                     'host-link-down label')
            assert not bool(env.menu_item('Cold restart VM')[1]['enabled'])
            env.set_component('hostlink', 'ok', 'passdesk-hostd is connected (VM 101).')
            wait_for(lambda: bool(env.menu_item('Cold restart VM…')[1]['enabled']), 5,
                     'enabled again')
        tap.run('menu "Cold restart VM…" + confirmation reaches ColdRestart', cold_restart)

        def run_checks():
            env.menu_click(env.menu_item('Run checks now')[0])
            wait_for(lambda: env.agent.GetRunChecksCount(dbus_interface=MOCK_IFACE) == 1, 10,
                     'RunChecks on the agent')
        tap.run('menu "Run checks now" reaches RunChecks', run_checks)

        def hostlink_lost_in_cycle():
            def link_notes():
                return [n for n in env.notify_calls() if n['summary'].startswith('Host link')]
            # Down outside a cycle: the menu says so, no notification.
            env.set_component('hostlink', 'failed', 'passdesk-hostd is not connected.')
            wait_for(lambda: 'host link down' in str(env.menu_item('Cold restart VM')[1]['label']),
                     5, 'host-link-down label')
            time.sleep(0.3)
            assert link_notes() == [], link_notes()
            env.set_component('hostlink', 'ok', 'passdesk-hostd is connected (VM 101).')
            env.agent.EmitColdRestartProgress('shutting-down', 'The VM is shutting down.',
                                              dbus_interface=MOCK_IFACE)
            env.set_component('hostlink', 'failed', 'The host link was lost.')
            notes = wait_for(link_notes, 5, 'host-link notification during the cycle')
            assert len(notes) == 1, notes
            env.set_component('hostlink', 'ok', 'passdesk-hostd is connected (VM 101).')
            wait_for(lambda: notes[0]['id'] in env.closed_ids(), 5, 'CloseNotification')
            env.agent.EmitColdRestartProgress('idle', '', dbus_interface=MOCK_IFACE)
        tap.run('host link lost during a cycle is notified, outside a cycle it is not',
                hostlink_lost_in_cycle)

        def agent_restart():
            env.set_component('display', 'failed', 'HDMI-A-1 is disconnected.')
            note = wait_for(lambda: [n for n in env.notify_calls()
                                     if n['summary'] == 'Display failed'], 5,
                            'display notification')[0]
            count = len(env.notify_calls())

            def agent_away():
                wait_for(lambda: 'agent is not running' in str(env.item_prop('ToolTip')[2]), 10,
                         'the tray to see the agent gone')
            env.restart_agent(agent_away)
            # Not a recovery: the notification stays while the agent is away.
            assert note['id'] not in env.closed_ids(), (note, env.closed_ids(), 'away')
            env.set_component('display', 'failed', 'HDMI-A-1 is disconnected.')
            env.set_all_ok(skip=('display',))
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-failed', 10, 'icon')
            time.sleep(0.3)
            assert len(env.notify_calls()) == count, env.notify_calls()[count:]
            assert note['id'] not in env.closed_ids(), (note, env.closed_ids(), 'back')
            env.set_component('display', 'ok', 'HDMI-A-1 is connected.')
            wait_for(lambda: note['id'] in env.closed_ids(), 5, 'CloseNotification')
        tap.run('an agent restart neither withdraws nor repeats a notification', agent_restart)

        def details_action():
            env.set_component('usb', 'failed', 'The USB controller died (xhci_hcd: HC died).')
            note = wait_for(lambda: [n for n in env.notify_calls()
                                     if n['summary'] == 'USB failed'], 5, 'USB notification')[0]
            assert note['actions'] == ['default', 'Details'], note
            assert 'cold-restart' not in note['actions'] and 'switch-hdmi' not in note['actions']
            env.invoke_action(note['id'], 'default')
            wait_for(lambda: 'passdesk status' in subprocess.run(
                ['xwininfo', '-root', '-tree'], env=env.env, capture_output=True,
                text=True).stdout, 10, 'status window')
            env.set_component('usb', 'ok', 'No USB faults.')
        tap.run('"Details" on a notification opens the status window', details_action)

        def pulse_restart():
            env.restart_pulse()
            # The tray reconnects (backoff 1 s, 2 s, ...) and follows the new
            # server: a sink removal there is noticed again.
            wait_for(lambda: 'org.passdesk.Tray' in env.pactl('list', 'clients'), 20,
                     'the tray to reconnect')
            time.sleep(0.3)  # its first listing of sinks and server
            env.pactl('unload-module', env.module_of_sink(HDMI_SINK))
            # (The same Dummy Output incident as a minute ago: a flap, shown by
            # the icon and the menu, not announced again.)
            wait_for(lambda: env.menu_item('Audio: Failed')[0] is not None, 10,
                     'the sink removal seen after the restart')
            env.pactl('load-module', 'module-null-sink', f'sink_name={HDMI_SINK}',
                      'sink_properties=device.description=HDMI')
            wait_for(lambda: str(env.item_prop('IconName')) == 'passdesk-ok', 10, 'ok icon')
        tap.run('the tray reconnects when the sound server restarts', pulse_restart)

        def watcher_restart():
            env.stop_watcher()
            env.start_watcher()
            wait_for(lambda: env.item_name() in env.registered_items(), 10,
                     'registration with the new watcher')
        tap.run('a restarted watcher gets the item registered again', watcher_restart)

        def quits():
            env.menu_click(env.menu_item('Quit')[0])
            assert env.tray.wait(15) == 0
        tap.run('menu "Quit" ends the tray cleanly', quits)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
        env.close()

    # No watcher, X11 without an XEmbed tray, a server without actions.
    env = TrayEnv(watcher=False, notify_caps='body')
    try:
        env.set_all_ok()
        env.start_tray()

        def no_tray():
            notes = wait_for(lambda: [n for n in env.notify_calls()
                                      if 'cannot show its tray icon' in n['summary']], 20,
                             'no-tray notification')
            assert 'AppIndicator and KStatusNotifierItem Support' in notes[0]['body']
            assert notes[0]['actions'] == [], notes
            env.set_component('usb', 'failed', 'The USB controller died (xhci_hcd: HC died).')
            usb = wait_for(lambda: [n for n in env.notify_calls()
                                    if n['summary'] == 'USB failed'], 5, 'USB notification')
            assert usb[0]['actions'] == [], usb
            assert 'applications menu' in usb[0]['body'], usb
            time.sleep(0.5)
            assert len([n for n in env.notify_calls()
                        if 'cannot show' in n['summary']]) == 1
        tap.run('without any tray: one notification says how to enable it; text says '
                'where to click', no_tray)

        def second_launch():
            exe = os.path.join(os.environ['PASSDESK_BUILDDIR'], 'tray', 'passdesk-tray')
            r = subprocess.run([exe], env=env.env, timeout=30, capture_output=True)
            assert r.returncode == 0, r
            wait_for(lambda: 'passdesk status' in subprocess.run(
                ['xwininfo', '-root', '-tree'], env=env.env, capture_output=True,
                text=True).stdout, 10, 'status window')
            assert env.tray.poll() is None
        tap.run('a second launch opens the status window in the first', second_launch)


        def watcher_appears():
            env.start_watcher()
            wait_for(lambda: env.item_name() in env.registered_items(), 10,
                     'registration with a watcher that appears later')
        tap.run('a watcher that appears later gets the item', watcher_appears)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
        env.close()
    # No watcher, but an X11 XEmbed tray: the GtkStatusIcon fallback docks.
    env = TrayEnv(watcher=False)
    try:
        tray_out = env.start_xembed_tray()
        env.set_all_ok()
        env.start_tray()

        def xembed_fallback():
            ready = select.select([tray_out], [], [], 20)[0]
            assert ready, 'no icon docked in the XEmbed tray within 20 s'
            line = tray_out.readline()
            assert line.startswith('docked '), line
            # The tray gives an XEmbed tray 3 s to take the icon before it
            # tells the user there is none; it must not tell here.
            time.sleep(4)
            assert not [n for n in env.notify_calls() if 'cannot show' in n['summary']], \
                env.notify_calls()
        tap.run('without a watcher on X11 the fallback icon docks in an XEmbed tray',
                xembed_fallback)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
        env.close()

    # The real passdesk-agent on the session bus (the contract of
    # data/org.passdesk.Agent1.xml end to end) on the Esprimo fixture tree.
    env = TrayEnv()
    try:
        env.agent_proc.terminate()
        env.agent_proc.wait(10)
        agent_env = dict(env.env)
        agent_env['PASSDESK_SYSROOT'] = os.path.join(os.environ['PASSDESK_TEST_FIXTURES'],
                                                     'esprimo')
        agent = subprocess.Popen(
            [os.path.join(os.environ['PASSDESK_BUILDDIR'], 'agent', 'daemon', 'passdesk-agent'),
             '--session', '--no-vaprobe', '--no-hotplug', '--kmsg=/dev/null',
             '--hostlink-port=' + os.path.join(env.tmp, 'no-hostlink-port')],
            env=agent_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env.procs.append(agent)
        env.start_tray('--session')

        def real_agent():
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'registration')
            wait_for(lambda: env.menu_item('GPU: OK')[0] is not None, 20,
                     'the agent\'s GPU component in the menu')
            labels = [str(p.get('label', '')) for _, p in env.menu_layout()[1]]
            assert 'Display: OK' in labels, labels
            assert 'Audio: OK' in labels, labels  # agent sees the codec, session has HDMI
            assert 'Video acceleration: Unknown' in labels, labels  # --no-vaprobe
            assert str(env.item_prop('IconName')) == 'passdesk-unknown'
            # No host channel here: the agent says the link is unknown, and a
            # cold restart cannot be asked for.
            cid, props = env.menu_item('Cold restart VM')
            assert str(props['label']) == 'Cold restart VM (no host link)', props
            assert not bool(props['enabled']), props
        tap.run('with the real passdesk-agent --session: components reach the menu', real_agent)

        def session_agent_gone():
            # The advice names the agent this tray looks for, not the system service.
            agent.terminate()
            agent.wait(10)
            tip = wait_for(lambda: [t for t in [str(env.item_prop('ToolTip')[3])]
                                    if 'agent is not running' in t], 10,
                           'the tray to see the agent gone')[0]
            assert '“passdesk-agent --session &”' in tip, tip
            assert 'systemctl' not in tip, tip
        tap.run('with --session, the agent gone: the tooltip says to start passdesk-agent --session',
                session_agent_gone)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
        env.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
