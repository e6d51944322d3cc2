"""procstat: what the benchmarks read about a process from /proc, and the
peers they measure beside it (qemu-ga, spice-vdagentd). Imported by
bench-agent.py, bench-hostd.py and bench-tray.py (tests/lib is on
PYTHONPATH)."""
import os
import pty
import shutil
import socket
import subprocess
import time

TICK = os.sysconf('SC_CLK_TCK')


def status_kib(pid, key):
    """A kB field of /proc/PID/status: VmRSS, VmHWM, RssAnon, RssFile..."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            if k == key:
                return int(v.split()[0])
    raise KeyError(key)


def pss_kib(pid):
    """Proportional set size: shared library pages divided among their users."""
    with open(f'/proc/{pid}/smaps_rollup') as f:
        for line in f:
            if line.startswith('Pss:'):
                return int(line.split()[1])
    return -1


def thread_switches(pid):
    """{tid: voluntary + involuntary context switches} of every live thread."""
    out = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{tid}/status') as f:
                out[tid] = sum(int(line.split()[1]) for line in f
                               if line.startswith(('voluntary_ctxt_switches',
                                                   'nonvoluntary_ctxt_switches')))
        except FileNotFoundError:
            pass
    return out


def wakeups(before, after):
    """Switches between two thread_switches() snapshots; a thread that exited
    in between woke at least once to do so (its last count is gone): 1."""
    n = sum(after[t] - before.get(t, 0) for t in after)
    return n + sum(1 for t in before if t not in after)


def cpu_ms(pid):
    """utime + stime of the process, in milliseconds."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / TICK


def start_qemu_ga(tmp, ping=False):
    """Debian's qemu-ga idle on a unix socket in @tmp/qga, or None when it is
    not installed. @ping: one guest-ping round trip first, so it is as
    "connected" as the daemon it is compared with (the client socket stays
    open as p.client)."""
    qga = shutil.which('qemu-ga') or ('/usr/sbin/qemu-ga'
                                      if os.path.exists('/usr/sbin/qemu-ga') else None)
    if qga is None:
        return None
    sdir = os.path.join(tmp, 'qga')
    os.mkdir(sdir)
    sock = os.path.join(sdir, 'qga.sock')
    env = dict(os.environ)
    env.pop('LD_PRELOAD', None)  # the peer runs on the real system, not umockdev's
    p = subprocess.Popen([qga, '-m', 'unix-listen', '-p', sock, '-t', sdir,
                          '-f', os.path.join(sdir, 'qga.pid')],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    end = time.monotonic() + 10
    while not os.path.exists(sock) and time.monotonic() < end:
        time.sleep(0.05)
    if ping:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        s.sendall(b'{"execute":"guest-ping"}\n')
        s.settimeout(5)
        s.recv(4096)
        p.client = s
    return p


def start_spice_vdagentd(tmp):
    """Debian's spice-vdagentd idle in the foreground, as in a guest with no
    SPICE client: its virtio port a pty, its socket and a fake uinput device
    in @tmp, no session integration. None when it is not installed."""
    exe = shutil.which('spice-vdagentd') or ('/usr/sbin/spice-vdagentd'
                                             if os.path.exists('/usr/sbin/spice-vdagentd') else None)
    if exe is None:
        return None
    sdir = os.path.join(tmp, 'spice')
    os.mkdir(sdir)
    master, slave = pty.openpty()
    env = dict(os.environ)
    env.pop('LD_PRELOAD', None)  # the peer runs on the real system, not umockdev's
    sock = os.path.join(sdir, 'vdagent.sock')
    p = subprocess.Popen([exe, '-x', '-X', '-o', '-f', '-s', os.ttyname(slave), '-S', sock,
                          '-u', os.path.join(sdir, 'uinput')],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    p.pty_master = master  # kept open: the port stays there while it idles
    os.close(slave)
    end = time.monotonic() + 10
    while not os.path.exists(sock) and time.monotonic() < end and p.poll() is None:
        time.sleep(0.05)
    return p
