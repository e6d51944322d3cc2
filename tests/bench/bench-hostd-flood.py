#!/usr/bin/python3
"""bench-hostd-flood: a well-behaved VM's round trip while many VMs flood
passdesk-hostd (issue 10, item 4).

The benchmark plays QEMU for every VM (it owns the listening sockets
<dir>/<vmid>.passdesk; hostd connects) and answers the handshakes as the
guests. N flooding VMs then send `STATUS` lines as fast as hostd reads them
and read every reply (a separate process, so the flood does not share the
measuring process's interpreter), while one well-behaved VM sends a PING
every 100 ms and times each PONG. The flooding process runs at nice 19. Printed for N = 24 and N = 64: the
well-behaved VM's median, p99 and worst round trip beside the goal (p99 under
50 ms), the lines per second hostd served the flooders in all, and hostd's
CPU share. qm is never run (every request is STATUS).

  bench-hostd-flood.py HOSTD [N...]      (about 50 s)
"""
import multiprocessing
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HOSTD = os.path.abspath(sys.argv[1])
COUNTS = [int(a) for a in sys.argv[2:]] or [24, 64]
PINGS = int(os.environ.get("BENCH_FLOOD_PINGS", "200"))
PING_EVERY_S = 0.1
GOAL_MS = 50.0
TICK = os.sysconf("SC_CLK_TCK")


class Vm:
    def __init__(self, sockdir, vmid):
        self.path = os.path.join(sockdir, f"{vmid}.passdesk")
        self.listen = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listen.bind(self.path)
        self.listen.listen(1)
        self.conn = None
        self.buf = b""

    def line(self, timeout=10):
        end = time.monotonic() + timeout
        while True:
            if b"\n" in self.buf:
                l, _, self.buf = self.buf.partition(b"\n")
                if l:
                    return l.decode()
                continue
            self.conn.settimeout(max(0.001, end - time.monotonic()))
            d = self.conn.recv(65536)
            if not d:
                raise RuntimeError("hostd closed the connection")
            self.buf += d

    def expect(self, verb, id=None):
        while True:
            parts = self.line().split(" ")
            if parts[0] == verb and (id is None or parts[1] == str(id)):
                return parts

    def handshake(self):
        self.listen.settimeout(10)
        self.conn, _ = self.listen.accept()
        hello = self.expect("HELLO")
        self.conn.sendall(f"\nREADY {hello[1]} proto=1 agent=bench\nPING 1\n".encode())
        self.expect("PONG", 1)


def flood(socks, stop, served, cut):
    """Writes STATUS lines as fast as hostd takes them; reads and counts replies.
    Niced: on a small machine the flooder would otherwise take the CPU from
    hostd and the measuring guest, and the figure would be the machine's."""
    os.nice(19)
    blob = b"".join(b"STATUS %d\n" % i for i in range(1, 6001))
    sel = selectors.DefaultSelector()
    pending = {}
    for s in socks:
        s.setblocking(False)
        pending[s] = memoryview(blob)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    lines = 0
    closed = 0
    while not stop.is_set():
        for key, ev in sel.select(0.1):
            s = key.fileobj
            try:
                if ev & selectors.EVENT_READ:
                    d = s.recv(262144)
                    if not d:
                        raise ConnectionResetError
                    lines += d.count(b"\n")
                if ev & selectors.EVENT_WRITE:
                    n = s.send(pending[s])
                    pending[s] = pending[s][n:] if n < len(pending[s]) else memoryview(blob)
            except BlockingIOError:
                pass
            except OSError:
                # hostd cut this flooder off (it did not read fast enough).
                sel.unregister(s)
                closed += 1
    served.value = lines
    cut.value = closed


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def run(n):
    tmp = tempfile.mkdtemp(prefix="bench-hostd-flood-")
    sockdir = os.path.join(tmp, "run")
    os.mkdir(sockdir)
    conf = os.path.join(tmp, "hostd.conf")
    with open(conf, "w") as f:
        # qm is never run; it must exist for hostd to start.
        f.write(f"[global]\nsocket-dir={sockdir}\nqm=/bin/false\nstate-dir={tmp}/state\n"
                "enabled=false\n")
    log = open(os.path.join(tmp, "hostd.log"), "wb")
    vms = [Vm(sockdir, 100 + i) for i in range(n + 1)]
    hostd = subprocess.Popen([HOSTD, "--config", conf], stdout=log, stderr=log)
    proc = None
    try:
        for vm in vms:
            vm.handshake()
        good, flooders = vms[0], vms[1:]
        stop = multiprocessing.Event()
        served = multiprocessing.Value("q", 0)
        cut = multiprocessing.Value("q", 0)
        proc = multiprocessing.Process(target=flood,
                                       args=([v.conn for v in flooders], stop, served, cut))
        proc.start()
        for v in flooders:
            v.conn.close()  # the flooding process holds its own copies
        time.sleep(1.0)  # let the flood reach its steady state
        c0, t0 = cpu_ticks(hostd.pid), time.monotonic()
        rtts = []
        for i in range(PINGS):
            t = time.monotonic()
            good.conn.sendall(b"PING %d\n" % (i + 10))
            good.expect("PONG", i + 10)
            rtts.append((time.monotonic() - t) * 1000)
            time.sleep(max(0, PING_EVERY_S - (time.monotonic() - t)))
        elapsed = time.monotonic() - t0
        cpu = (cpu_ticks(hostd.pid) - c0) / TICK / elapsed * 100
        stop.set()
        proc.join(10)
        alive = hostd.poll() is None
        rtts.sort()
        p99 = rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))]
        rate = served.value / (elapsed + 1.0)
        print(f"{n:2d} flooding VMs: well-behaved VM's PING round trip median "
              f"{statistics.median(rtts):6.2f} ms, p99 {p99:6.2f} ms, max {max(rtts):6.2f} ms "
              f"over {len(rtts)} pings; goal p99 < {GOAL_MS:.0f} ms: "
              f"{'met' if p99 < GOAL_MS else 'NOT met'}")
        print(f"   flooders served {rate:8.0f} lines/s in all; hostd CPU {cpu:5.1f} %; "
              f"{cut.value} flooders cut off by hostd{'' if alive else '; hostd DIED'}")
        return p99
    finally:
        if proc and proc.is_alive():
            proc.terminate()
        for vm in vms:
            for s in (vm.conn, vm.listen):
                if s:
                    s.close()
        if hostd.poll() is None:
            hostd.send_signal(signal.SIGTERM)
            try:
                hostd.wait(10)
            except subprocess.TimeoutExpired:
                hostd.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    t = time.monotonic()
    for n in COUNTS:
        run(n)
    print(f"(benchmark took {time.monotonic() - t:.1f} s)")


if __name__ == "__main__":
    main()
