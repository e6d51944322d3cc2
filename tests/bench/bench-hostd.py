#!/usr/bin/python3
"""bench-hostd: passdesk-hostd beside qemu-ga (Debian's qemu-guest-agent,
`qemu-ga -m unix-listen`) idle on a unix socket, measured in the same run.

The benchmark itself plays QEMU: it owns the listening sockets
<dir>/<vmid>.passdesk, hostd connects, and the benchmark answers the
handshake as the guest. qm is tests/fakes/fake-qm behind a small C stamp program
(bench-hostd-qm-stamp) that records the moment hostd starts it.

Figures: steady RSS with 1 and 100 connected VMs; idle wakeups (voluntary +
involuntary context switches of all threads over an idle window); latency
from a RESTART line written to the `qm shutdown` process running; garbage
throughput (a long line without LF, the guest's worst legal-looking input).
Goals are printed, not asserted: RSS <= qemu-ga's, 0 idle wakeups,
latency < 10 ms.

  bench-hostd.py HOSTD STAMP          (under ~90 s)
"""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOSTD, STAMP = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
IDLE_S = float(os.environ.get("BENCH_HOSTD_IDLE_S", "20"))

from procstat import start_qemu_ga, status_kib, thread_switches, wakeups  # noqa: E402


def rss_kb(pid):
    return status_kib(pid, "VmRSS")


def rss_parts(pid):
    return status_kib(pid, "RssAnon"), status_kib(pid, "RssFile")


class FakeVm:
    """One VM's QEMU socket, with the guest's end of the protocol."""

    def __init__(self, sockdir, vmid):
        self.vmid = vmid
        self.path = os.path.join(sockdir, f"{vmid}.passdesk")
        self.listen = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listen.bind(self.path)
        self.listen.listen(1)
        self.conn = None
        self.buf = b""

    def accept(self, timeout=10):
        self.listen.settimeout(timeout)
        self.conn, _ = self.listen.accept()

    def line(self, timeout=10):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf or self.buf.startswith(b"\n"):
            if self.buf.startswith(b"\n"):
                self.buf = self.buf[1:]
                continue
            self.conn.settimeout(max(0.01, end - time.monotonic()))
            d = self.conn.recv(65536)
            if not d:
                raise RuntimeError("hostd closed the connection")
            self.buf += d
        l, _, self.buf = self.buf.partition(b"\n")
        return l.decode()

    def expect(self, verb, timeout=10):
        while True:
            l = self.line(timeout)
            if l.split(" ")[0] == verb:
                return l

    def handshake(self):
        hello = self.expect("HELLO")
        hid = hello.split(" ")[1]
        self.conn.sendall(f"\nREADY {hid} proto=1 agent=bench\n".encode())
        self.conn.sendall(b"PING 1\n")
        self.expect("PONG")

    def close(self):
        for s in (self.conn, self.listen):
            if s:
                s.close()


def start_hostd(tmp, fake, sockdir, log):
    conf = os.path.join(tmp, "hostd.conf")
    with open(conf, "w") as f:
        f.write("[global]\n"
                f"socket-dir={sockdir}\nqm={STAMP}\nstate-dir={tmp}/state\n"
                "poll-interval-ms=60000\nqm-timeout=10\ncool-off=1\ncool-off-min=0\n"
                "shutdown-timeout=2\nmin-interval=0\nmax-per-day=1000\n")
    env = dict(os.environ, FAKE_QM_DIR=fake, FAKE_QM_REAL=os.path.join(SRC, "tests", "fakes", "fake-qm"))
    return subprocess.Popen([HOSTD, "--config", conf], env=env, stdout=log, stderr=log)


def main():
    t_start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="bench-hostd-")
    fake = os.path.join(tmp, "fake")
    sockdir = os.path.join(tmp, "run")
    os.mkdir(fake)
    os.mkdir(sockdir)
    log = open(os.path.join(tmp, "hostd.log"), "wb")
    vms = []
    hostd = qga = None
    try:
        qga = start_qemu_ga(tmp, ping=True)
        vmids = list(range(100, 200))
        for v in vmids:
            shutil.copy(os.path.join(SRC, "tests", "fixtures", "hostd", "100.conf"),
                        os.path.join(fake, f"{v}.conf"))
            with open(os.path.join(fake, f"{v}.status"), "w") as f:
                f.write("running\n")
        # 1 VM
        vms.append(FakeVm(sockdir, 100))
        hostd = start_hostd(tmp, fake, sockdir, log)
        vms[0].accept()
        vms[0].handshake()
        time.sleep(1.0)
        rss1 = rss_kb(hostd.pid)
        anon1, file1 = rss_parts(hostd.pid)
        # 100 VMs: the other 99 sockets appear while hostd runs (inotify).
        for v in vmids[1:]:
            vms.append(FakeVm(sockdir, v))
        for vm in vms[1:]:
            vm.accept()
            vm.handshake()
        time.sleep(1.0)
        rss100 = rss_kb(hostd.pid)
        anon100, file100 = rss_parts(hostd.pid)
        qga_rss = rss_kb(qga.pid) if qga else None
        qga_anon, qga_file = rss_parts(qga.pid) if qga else (0, 0)

        # Idle: nothing happens for IDLE_S seconds.
        h0 = thread_switches(hostd.pid)
        q0 = thread_switches(qga.pid) if qga else None
        time.sleep(IDLE_S)
        h_idle = wakeups(h0, thread_switches(hostd.pid))
        q_idle = wakeups(q0, thread_switches(qga.pid)) if qga else None

        # Garbage throughput: a line without LF, then a PING.
        g = vms[1]
        total = 64 * 1024 * 1024
        chunk = b"x" * (1024 * 1024)
        t0 = time.monotonic()
        for _ in range(total // len(chunk)):
            g.conn.sendall(chunk)
        g.conn.sendall(b"\nPING 9\n")
        g.expect("PONG", timeout=60)
        garbage_mb_s = total / (1024 * 1024) / (time.monotonic() - t0)

        # Request → `qm shutdown` spawn latency, 20 VMs one after another.
        lat = []
        stamps = os.path.join(fake, "stamps")
        for vm in vms[2:22]:
            t_send = time.time()
            vm.conn.sendall(b"RESTART 5\n")
            vm.expect("ACCEPT")
            end = time.monotonic() + 10
            found = None
            while found is None and time.monotonic() < end:
                if os.path.exists(stamps):
                    for l in open(stamps):
                        parts = l.split()
                        if parts[1:3] == ["shutdown", str(vm.vmid)]:
                            found = float(parts[0])
                if found is None:
                    time.sleep(0.005)
            if found is not None:
                lat.append((found - t_send) * 1000)
            time.sleep(0.05)

        # RssAnon is the process's own memory; RssFile is mostly shared
        # library pages (libgio/libgobject for hostd, which qemu-ga lacks).
        print(f"hostd RSS, 1 VM connected:      {rss1:6d} KiB (anon {anon1}, file {file1})")
        print(f"hostd RSS, 100 VMs connected:   {rss100:6d} KiB (anon {anon100}, file {file100})")
        if qga_rss is not None:
            print(f"qemu-ga RSS, idle, 1 client:    {qga_rss:6d} KiB (anon {qga_anon}, file "
                  f"{qga_file})   (peer)")
        else:
            print("qemu-ga: not installed (apt-get install qemu-guest-agent); no peer figures")
        print(f"idle wakeups over {IDLE_S:.0f} s (context switches, all threads): "
              f"hostd with 100 VMs {h_idle}"
              + (f", qemu-ga {q_idle}   (peer)" if q_idle is not None else ""))
        if lat:
            lat.sort()
            p90 = lat[min(len(lat) - 1, int(len(lat) * 0.9))]
            print(f"RESTART → qm shutdown running: median {statistics.median(lat):.2f} ms, "
                  f"p90 {p90:.2f} ms, max {max(lat):.2f} ms over {len(lat)} requests "
                  "(includes writing the state file before acting)")
        else:
            print("RESTART → qm shutdown: no sample (qm was never started?)")
        print(f"garbage throughput (64 MiB line without LF, then PING): {garbage_mb_s:.1f} MiB/s "
              "(hostd paces each VM at 16 MiB/s by design)")
        print("goals: RSS (100 VMs) <= qemu-ga's: "
              + ("n/a" if qga_rss is None else ("met" if rss100 <= qga_rss else "NOT met"))
              + " (anon only: "
              + ("n/a" if qga_rss is None else ("met" if anon100 <= qga_anon else "NOT met"))
              + ")"
              + f"; zero idle wakeups: {'met' if h_idle == 0 else 'NOT met'}"
              + f"; latency < 10 ms: "
              + ("n/a" if not lat else
                 (("met" if statistics.median(lat) < 10 else "NOT met") + " (median), "
                  + ("met" if max(lat) < 10 else "NOT met") + " (max)")))
        print(f"(benchmark took {time.monotonic() - t_start:.1f} s)")
    finally:
        for vm in vms:
            vm.close()
        for p in (hostd, qga):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        # The cycles started above leave fake-qm children: they end by themselves.
        log.close()
        if os.environ.get("BENCH_HOSTD_KEEP"):
            print(f"# kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
