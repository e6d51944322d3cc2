#!/usr/bin/python3
"""bench-agent: passdesk-agent beside spice-vdagentd (Debian's spice-vdagent,
foreground, its virtio port a pty, no session integration) and qemu-ga
(Debian's qemu-guest-agent, `qemu-ga -m unix-listen`), all idle, measured in
the same run.

Runs under umockdev-wrapper: the agent's udev and libusb monitors watch a
umockdev testbed (the Esprimo's iGPU with two connectors, two xHCI root
hubs), its kernel log is a FIFO, it runs on a private session bus with
--no-vaprobe (no GPU here). Figures:
  - peak RSS (VmHWM), steady RSS and PSS after the idle period, for the
    agent on the real system (no umockdev preload) beside both peers;
  - CPU time and wakeups (voluntary + involuntary context switches, all
    threads, from /proc/PID/task/*/status) over BENCH_AGENT_IDLE_S (60) s idle;
  - latency from a umockdev HOTPLUG uevent on card0 to the agent's D-Bus
    ComponentChanged("display"), as seen by a client (uevents 0.3 s apart).
Goals (printed, not asserted): steady RSS < 6 MiB, 0 wakeups idle,
uevent → ComponentChanged < 20 ms.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import dbusmock
from gi.repository import Gio, GLib

from procstat import (cpu_ms, pss_kib, start_qemu_ga, start_spice_vdagentd,  # noqa: E402
                      status_kib as kib, thread_switches, wakeups)
import agent_harness as h  # noqa: E402  (tests/lib, on PYTHONPATH)
from umockdev_testbed import Testbed  # noqa: E402

IDLE_S = float(os.environ.get('BENCH_AGENT_IDLE_S', '60'))
SETTLE_S = float(os.environ.get('BENCH_AGENT_SETTLE_S', '17'))
N_LATENCY = 30


def main():
    tmp = tempfile.mkdtemp(prefix='bench-agent-')
    dbusmock.DBusTestCase.start_session_bus()
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    bed = Testbed()
    kmsg = os.path.join(tmp, 'kmsg')
    os.mkfifo(kmsg)
    kmsg_fd = os.open(kmsg, os.O_RDWR)

    env = dict(os.environ)
    env.pop('PASSDESK_SYSROOT', None)
    env['UMOCKDEV_DIR'] = bed.tb.get_root_dir()
    env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=/nonexistent'
    log = open(os.path.join(tmp, 'agent.log'), 'wb')
    agent = subprocess.Popen([h.AGENT, '--session', '--no-vaprobe', '--kmsg', kmsg,
                              '--hostlink-port', os.path.join(tmp, 'no-such-port')],
                             env=env, stdout=log, stderr=log)
    qga = start_qemu_ga(tmp)
    spice = start_spice_vdagentd(tmp)
    # The same agent on the real system (no umockdev preload, its own bus):
    # what it costs in a VM. Idle here has no udev or USB traffic either.
    plain_env = dict(env)
    plain_env.pop('LD_PRELOAD', None)
    plain_env.pop('UMOCKDEV_DIR', None)
    plain_bus = subprocess.Popen(['dbus-daemon', '--session', '--nofork', '--print-address=1'],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=plain_env)
    plain_env['DBUS_SESSION_BUS_ADDRESS'] = plain_bus.stdout.readline().decode().strip()
    plain_kmsg = os.path.join(tmp, 'kmsg-plain')
    os.mkfifo(plain_kmsg)
    plain_kmsg_fd = os.open(plain_kmsg, os.O_RDWR)
    plain = subprocess.Popen([h.AGENT, '--session', '--no-vaprobe', '--kmsg', plain_kmsg,
                              '--hostlink-port', os.path.join(tmp, 'no-such-port')],
                             env=plain_env, stdout=log, stderr=log)
    signals = []
    bus.signal_subscribe(h.BUS_NAME, h.IFACE, 'ComponentChanged', h.PATH, None,
                         Gio.DBusSignalFlags.NONE,
                         lambda c, s, p, i, n, params: signals.append((time.monotonic(), params.unpack())))
    ctx = GLib.MainContext.default()

    def wait(cond, what, timeout=20):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise RuntimeError(f'timed out waiting for {what}')
            if not ctx.iteration(False):
                time.sleep(0.001)

    def owned():
        return bus.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                             'NameHasOwner', GLib.Variant('(s)', (h.BUS_NAME,)), None,
                             Gio.DBusCallFlags.NONE, -1, None).unpack()[0]
    try:
        t_start = time.monotonic()
        wait(lambda: owned() or agent.poll() is not None, 'the agent')
        if agent.poll() is not None:
            raise RuntimeError('the agent exited: ' + open(log.name).read())
        # Settle: start-up done, and GLib's idle worker threads (kept 15 s
        # after their last job) gone; what follows is the steady idle state.
        time.sleep(SETTLE_S)
        a0, ac0 = thread_switches(agent.pid), cpu_ms(agent.pid)
        p0, pc0 = thread_switches(plain.pid), cpu_ms(plain.pid)
        q0, qc0 = (thread_switches(qga.pid), cpu_ms(qga.pid)) if qga else (None, None)
        time.sleep(IDLE_S)
        a_idle, a_cpu = wakeups(a0, thread_switches(agent.pid)), cpu_ms(agent.pid) - ac0
        p_idle, p_cpu = wakeups(p0, thread_switches(plain.pid)), cpu_ms(plain.pid) - pc0
        p_rss, p_anon, p_file = (kib(plain.pid, k) for k in ('VmRSS', 'RssAnon', 'RssFile'))
        p_peak = kib(plain.pid, 'VmHWM')
        p_pss = pss_kib(plain.pid)
        q_pss = pss_kib(qga.pid) if qga else None
        q_idle, q_cpu = ((wakeups(q0, thread_switches(qga.pid)), cpu_ms(qga.pid) - qc0)
                         if qga else (None, None))
        a_rss, a_anon = kib(agent.pid, 'VmRSS'), kib(agent.pid, 'RssAnon')
        peers = [('passdesk-agent', plain), ('spice-vdagentd', spice), ('qemu-ga', qga)]
        memory = [(name, kib(p.pid, 'VmRSS'), kib(p.pid, 'RssAnon'), pss_kib(p.pid))
                  for name, p in peers if p is not None and p.poll() is None]
        q_rss, q_anon = (kib(qga.pid, 'VmRSS'), kib(qga.pid, 'RssAnon')) if qga else (None, None)

        lat = []
        for i in range(N_LATENCY):
            # Each change after a quiet spell, as hotplugs come: the agent
            # sends a burst of changes at once, then at most 4 a second.
            time.sleep(0.3)
            status = 'connected' if i % 2 == 0 else 'disconnected'
            bed.tb.set_attribute(bed.hdmi, 'status', status + '\n')
            bed.tb.set_property(bed.card, 'HOTPLUG', '1')
            n = len(signals)
            t0 = time.monotonic()
            bed.tb.uevent(bed.card, 'change')
            wait(lambda: any(a[0] == 'display' for _, a in signals[n:]), 'ComponentChanged')
            t1 = [t for t, a in signals[n:] if a[0] == 'display'][0]
            lat.append((t1 - t0) * 1000)
        a_peak = kib(agent.pid, 'VmHWM')
        q_peak = kib(qga.pid, 'VmHWM') if qga else None

        print(f'passdesk-agent idle {IDLE_S:.0f} s (udev + libusb + kmsg FIFO + host-link port watch, '
              f'--no-vaprobe), beside spice-vdagentd and qemu-ga, idle:')
        print(f'  agent without umockdev (real udev/libusb, nothing happening): steady RSS '
              f'{p_rss} KiB (anon {p_anon}, file {p_file}; PSS {p_pss}), peak {p_peak} KiB, '
              f'CPU {p_cpu:.0f} ms, wakeups {p_idle}')
        print(f'  steady RSS:   agent {a_rss:6d} KiB (anon {a_anon})'
              + (f'   qemu-ga {q_rss:6d} KiB (anon {q_anon}; PSS {q_pss})' if qga else ''))
        print(f'  peak RSS:     agent {a_peak:6d} KiB' + (f'   qemu-ga {q_peak:6d} KiB' if qga else ''))
        print(f'  CPU idle:     agent {a_cpu:6.0f} ms' + (f'   qemu-ga {q_cpu:6.0f} ms' if qga else ''))
        print(f'  wakeups idle: agent {a_idle:6d}' + (f'   qemu-ga {q_idle:6d}' if qga else '')
              + '   (voluntary + involuntary context switches, all threads)')
        print(f'  umockdev HOTPLUG uevent -> D-Bus ComponentChanged(display), {N_LATENCY} runs: '
              f'median {statistics.median(lat):.2f} ms, max {max(lat):.2f} ms')
        if qga is None:
            print('  qemu-ga: not installed (apt-get install qemu-guest-agent); no peer figures')
        print('  steady memory after the idle period, same run (KiB):')
        print(f'    {"":16} {"RSS":>7} {"anon":>7} {"PSS":>7}')
        for name, rss, anon, pss in memory:
            print(f'    {name:16} {rss:7d} {anon:7d} {pss:7d}')
        if spice is None or spice.poll() is not None:
            print('  spice-vdagentd: not installed or not running (apt-get install spice-vdagent); '
                  'no figures')
        print(f'goals: steady RSS < 6 MiB: {"met" if p_rss < 6144 else "NOT met"} '
              f'({p_rss} KiB without umockdev); '
              f'0 wakeups idle: {"met" if a_idle == 0 and p_idle == 0 else "NOT met"}; '
              f'latency < 20 ms: {"met" if statistics.median(lat) < 20 else "NOT met"}')
        print(f'(benchmark took {time.monotonic() - t_start:.1f} s)')
        if agent.poll() is not None or plain.poll() is not None:
            raise RuntimeError('an agent died during the benchmark')
    finally:
        for p in (agent, qga, plain, spice):
            if p and p.poll() is None:
                p.terminate()
                p.wait(timeout=10)
        os.close(kmsg_fd)
        os.close(plain_kmsg_fd)
        plain_bus.terminate()
        plain_bus.wait()
        log.close()
        dbusmock.DBusTestCase.stop_dbus(dbusmock.DBusTestCase.session_bus_pid)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if agent.returncode in (0, -15) else 1


if __name__ == '__main__':
    sys.exit(main())
