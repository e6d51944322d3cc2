#!/usr/bin/python3
'''passdesk-tray's view of the session's audio against a real sound server:
argv[1] is "pulseaudio" or "pipewire" (pipewire + wireplumber +
pipewire-pulse, what Debian 12 and 13 desktops run). No audio hardware here:
null sinks named like HDMI, analog and USB outputs. Prints TAP.

The path: a non-HDMI output the tray never saw chosen is flagged with
"Switch to HDMI" (which works) and "Keep"; the HDMI sinks go (fallback to
analog: no switch offered, there is nothing to switch to), then every sink
goes (Dummy Output: failed, still no impossible switch, the cold restart
offered); HDMI comes back (withdrawn); a USB headset chosen on purpose is
respected and remembered across a tray restart. Then, with no agent running,
Dummy Output is not OK and the missing agent is stated. Last (once, with
pulseaudio), libpulse gives the tray no client context
(tests/fakes/pa-context-null.c): the tray keeps running and shows the
agent's audio state with the sound server not reachable.'''
import os

import subprocess
import sys
import time

from trayenv import HDMI_SINK, Tap, TrayEnv, wait_for  # noqa: E402

DELL = 'hdmi-stereo-extra1'


def audio_notes(env):
    return [n for n in env.notify_calls() if n['summary'].startswith('Audio')]


def audio_label(env):
    return [str(p.get('label', '')) for _, p in env.menu_layout()[1]
            if str(p.get('label', '')).startswith('Audio')]


def load_sink(env, name, description):
    env.pactl('load-module', 'module-null-sink', f'sink_name={name}',
              f"sink_properties='device.description=\"{description}\"'")
    wait_for(lambda: name in env.sinks(), 10, f'sink {name}')


def unload_sink(env, name):
    env.pactl('unload-module', env.module_of_sink(name))
    wait_for(lambda: name not in env.sinks(), 10, f'sink {name} gone')


def main():
    server = sys.argv[1] if len(sys.argv) > 1 else 'pulseaudio'
    tap = Tap()
    env = TrayEnv(sound=server)
    stream = None
    try:
        env.set_all_ok()
        load_sink(env, 'analog-stereo', 'Analog')
        load_sink(env, DELL, 'HDMI 2 (DELL U2415)')
        env.pactl('set-default-sink', 'analog-stereo')
        wait_for(lambda: env.default_sink() == 'analog-stereo', 10, 'analog default')
        stream = subprocess.Popen(['pacat', '--playback', '-d', 'analog-stereo', '/dev/zero'],
                                  env=env.env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        env.start_tray()
        wait_for(lambda: env.item_name() in env.registered_items(), 20, 'registration')

        def flagged_and_switch():
            note = wait_for(lambda: audio_notes(env), 10, 'audio notification')[-1]
            assert note['summary'] == 'Audio degraded', note
            assert 'switch-hdmi' in note['actions'] and 'keep-output' in note['actions'], note
            assert 'Keep “Analog”' in note['actions'], note
            wait_for(lambda: env.pactl('list', 'short', 'sink-inputs').strip(), 10, 'stream')
            env.invoke_action(note['id'], 'switch-hdmi')
            wait_for(lambda: env.default_sink() == DELL, 5, 'the DELL U2415 sink as default')
            idx = [l.split('\t')[0] for l in env.pactl('list', 'short', 'sinks').splitlines()
                   if l.split('\t')[1] == DELL][0]
            wait_for(lambda: all(l.split('\t')[1] == idx for l in
                                 env.pactl('list', 'short', 'sink-inputs').splitlines()),
                     5, 'stream moved to HDMI')
            wait_for(lambda: note['id'] in env.closed_ids(), 5, 'CloseNotification')
            wait_for(lambda: audio_label(env) == ['Audio: OK'], 5, 'Audio: OK')
        tap.run(f'{server}: a non-HDMI default is flagged with Switch and Keep; '
                '"Switch to HDMI" moves default and stream', flagged_and_switch)

        def hdmi_lost_then_dummy():
            before = len(audio_notes(env))
            unload_sink(env, HDMI_SINK)
            unload_sink(env, DELL)
            wait_for(lambda: env.default_sink() == 'analog-stereo', 10, 'fallback to analog')
            note = wait_for(lambda: audio_notes(env)[before:], 5, 'fallback notification')[-1]
            assert 'fell back to “Analog”' in note['body'], note
            # Nothing to switch to: neither the action nor advice naming it.
            assert 'switch-hdmi' not in note['actions'], note
            assert 'Switch audio to HDMI' not in note['body'], note
            assert not bool(env.menu_item('Switch audio to HDMI')[1]['visible'])
            stream.terminate()
            stream.wait(10)
            t0 = time.monotonic()
            unload_sink(env, 'analog-stereo')
            wait_for(lambda: env.default_sink() == 'auto_null', 10, 'Dummy Output')
            note = wait_for(lambda: [n for n in audio_notes(env)[before:]
                                     if 'Dummy Output' in n['body']], 5, 'dummy note')[-1]
            assert time.monotonic() - t0 < 5.0, time.monotonic() - t0
            assert note['summary'] == 'Audio failed', note
            assert 'switch-hdmi' not in note['actions'], note
            assert 'Switch audio to HDMI' not in note['body'], note
            assert 'cold-restart' in note['actions'], note
            assert audio_label(env) == ['Audio: Failed'], audio_label(env)
            assert not bool(env.menu_item('Switch audio to HDMI')[1]['visible'])
            load_sink(env, HDMI_SINK, 'HDMI')
            wait_for(lambda: note['id'] in env.closed_ids(), 5, 'withdrawn')
            wait_for(lambda: audio_label(env) == ['Audio: OK'], 5, 'Audio: OK')
        tap.run(f'{server}: HDMI sinks lost → fallback → Dummy Output: never OK, no impossible '
                '"Switch to HDMI", withdrawn when HDMI is back', hdmi_lost_then_dummy)

        def chosen_output_respected():
            before = len(audio_notes(env))
            load_sink(env, 'usb-headset', 'USB Headset')
            env.pactl('set-default-sink', 'usb-headset')  # the user's choice
            wait_for(lambda: env.default_sink() == 'usb-headset', 10, 'headset default')
            time.sleep(1.0)
            assert audio_notes(env)[before:] == [], audio_notes(env)[before:]
            assert audio_label(env) == ['Audio: OK'], audio_label(env)
            with open(env.config_file('passdesk', 'tray.ini')) as f:
                assert 'usb-headset' in f.read()
            env.restart_tray()  # remembered, e.g. at the next login
            wait_for(lambda: env.item_name() in env.registered_items(), 20, 'registration')
            wait_for(lambda: audio_label(env) == ['Audio: OK'], 10, 'Audio: OK after restart')
            time.sleep(0.5)
            assert audio_notes(env)[before:] == [], audio_notes(env)[before:]
        tap.run(f'{server}: a USB headset chosen while HDMI exists is not flagged, and is '
                'remembered', chosen_output_respected)
    finally:
        if stream is not None and stream.poll() is None:
            stream.terminate()
            stream.wait(10)
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
        env.close()

    env = TrayEnv(sound=server)
    try:
        env.agent_proc.terminate()  # no agent at all
        env.agent_proc.wait(10)
        unload_sink(env, HDMI_SINK)
        env.start_tray()
        wait_for(lambda: env.item_name() in env.registered_items(), 20, 'registration')

        def no_agent_dummy():
            wait_for(lambda: audio_label(env), 10, 'an Audio item')
            assert audio_label(env) == ['Audio: Failed'], audio_label(env)
            note = wait_for(lambda: audio_notes(env), 5, 'audio notification')[-1]
            assert 'Dummy Output' in note['body'] and 'agent is not running' in note['body'], note
            assert 'switch-hdmi' not in note['actions'], note
        tap.run(f'{server}: without the agent, Dummy Output is Failed and the missing agent '
                'is said', no_agent_dummy)
    finally:
        if tap.failed:
            print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
        env.close()

    if server == 'pulseaudio':
        env = TrayEnv(sound=server)
        try:
            env.set_all_ok()
            shim = os.path.join(os.environ['PASSDESK_BUILDDIR'], 'tests', 'fakes',
                                'libpa-context-null.so')
            preload = ' '.join(p for p in (os.environ.get('LD_PRELOAD'), shim) if p)
            tray = env.start_tray(extra_env={'LD_PRELOAD': preload})

            def no_context():
                wait_for(lambda: env.item_name() in env.registered_items(), 20, 'registration')
                wait_for(lambda: audio_label(env) == ['Audio: OK'], 10, "the agent's audio state")
                wait_for(lambda: 'Cannot create a PulseAudio client context' in env.tray_log_text(),
                         10, 'the reason in the log')
                time.sleep(1.5)  # a retry has come and gone
                assert tray.poll() is None, ('the tray exited', tray.returncode)
                assert audio_label(env) == ['Audio: OK'], audio_label(env)
            tap.run('libpulse gives no client context: the tray keeps running, the sound server '
                    'counts as not reachable', no_context)
        finally:
            if tap.failed:
                print('# tray log:\n# ' + env.tray_log_text().replace('\n', '\n# '))
            env.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
