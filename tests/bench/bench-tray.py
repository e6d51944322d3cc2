#!/usr/bin/python3
'''Benchmark: passdesk-tray beside pasystray, same Xvfb session, same run.

Both run against the same private session bus (with a StatusNotifierWatcher,
so both show their icon as a StatusNotifierItem), the same PulseAudio daemon
with null sinks, and passdesk-tray against the test agent. Measures, after a
settle period:
  - steady RSS and PSS (/proc/PID/smaps_rollup)
  - wakeups over 60 s idle: voluntary + involuntary context switches of all
    threads (/proc/PID/task/*/status, sampled from outside once a second)
  - passdesk-tray only: time from `pactl unload-module` of the HDMI sink to
    its Notify call (dbus-monitor timestamps; includes pactl's own start-up),
    median and worst of 5.
Goals (printed, not asserted): memory <= pasystray, 0 idle wakeups, < 200 ms.
'''

import os
import select
import subprocess
import sys
import time

from trayenv import HDMI_SINK, TrayEnv, wait_for  # noqa: E402
from procstat import thread_switches  # noqa: E402

IDLE_S = int(os.environ.get('PASSDESK_BENCH_IDLE_S', '60'))


def smaps(pid):
    out = {}
    with open(f'/proc/{pid}/smaps_rollup') as f:
        for line in f:
            parts = line.split()
            if parts[0] in ('Rss:', 'Pss:'):
                out[parts[0][:-1]] = int(parts[1])
    return out


def idle_wakeups(pids, seconds):
    """Context switches of every thread of each process over @seconds. Read
    from outside once a second (which wakes nothing in the measured process),
    keeping each thread's last value, so a thread that exits in the window
    still counts up to its last sample."""
    first = {p: thread_switches(p) for p in pids}
    last = {p: dict(first[p]) for p in pids}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        for p in pids:
            last[p].update(thread_switches(p))
    return {p: sum(v - first[p].get(t, 0) for t, v in last[p].items()) for p in pids}


def wait_notify(mon, deadline):
    """Time (epoch s) of the next Notify from passdesk, or None at the deadline."""
    buf = ''
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([mon.stdout], [], [], left)[0]:
            return None
        chunk = os.read(mon.stdout.fileno(), 65536).decode(errors='replace')
        if not chunk:
            return None
        buf += chunk
        lines = buf.split('\n')
        for i, line in enumerate(lines[:-1]):
            if line.startswith('method call time=') and i + 1 < len(lines) - 1 \
                    and '"passdesk"' in lines[i + 1]:
                return float(line.split('time=')[1].split()[0])


def notify_latency(env):
    """One sink removal per run: a repeat within a minute is, by design, a
    flap the tray does not announce again."""
    mon = subprocess.Popen(['dbus-monitor', '--address', env.session_addr,
                            "type='method_call',interface='org.freedesktop.Notifications',"
                            "member='Notify'"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        module = env.module_of_sink(HDMI_SINK)
        t0 = time.time()
        env.pactl('unload-module', module)
        t1 = wait_notify(mon, time.monotonic() + 5)
        return (t1 - t0) * 1000 if t1 else float('inf')
    finally:
        mon.terminate()
        mon.wait()


def main():
    env = TrayEnv()
    try:
        env.set_all_ok()
        tray = env.start_tray()
        pas = subprocess.Popen(['pasystray'], env=env.env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        env.procs.append(pas)
        wait_for(lambda: env.item_name() in env.registered_items(), 20, 'passdesk-tray icon')
        # Settle: icons and menus loaded, and GLib's idle pool threads (15 s
        # idle time) gone, so the window below sees the steady state.
        time.sleep(16)
        for name, p in (('passdesk-tray', tray), ('pasystray', pas)):
            if p.poll() is not None:
                print(f'# {name} exited early with {p.returncode}')
                return 1

        wake = idle_wakeups([tray.pid, pas.pid], IDLE_S)
        mem = {'tray': smaps(tray.pid), 'pas': smaps(pas.pid)}

        lat = notify_latency(env)
        print(f'{"":26} {"passdesk-tray":>14} {"pasystray":>12}')
        print(f'{"RSS (KiB)":26} {mem["tray"]["Rss"]:>14} {mem["pas"]["Rss"]:>12}')
        print(f'{"PSS (KiB)":26} {mem["tray"]["Pss"]:>14} {mem["pas"]["Pss"]:>12}')
        print(f'{f"wakeups in {IDLE_S} s idle":26} {wake[tray.pid]:>14} {wake[pas.pid]:>12}')
        print(f'{"sink removal -> Notify":26} {lat:>11.1f} ms {"n/a":>12}   '
              '(from the start of `pactl unload-module`)')
        print('goals: RSS and PSS <= pasystray: '
              f'{"met" if mem["tray"]["Pss"] <= mem["pas"]["Pss"] and mem["tray"]["Rss"] <= mem["pas"]["Rss"] else "MISSED"}; '
              f'0 idle wakeups: {"met" if wake[tray.pid] == 0 else "MISSED"}; '
              f'notification < 200 ms: {"met" if lat < 200 else "MISSED"}')
        return 0
    finally:
        env.close()


if __name__ == '__main__':
    sys.exit(main())
