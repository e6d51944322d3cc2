#!/usr/bin/python3
"""End-to-end tests of passdesk-hostd with a fake Proxmox (tests/fakes/fake-qm) and a
fake QEMU (tests/fakes/fake-qemu.py), a scripted guest speaking hostlink/PROTOCOL.md.

  test-hostd-e2e.py CASE       run one case (TAP output); see CASES below
"""
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

SRC = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PASSDESK_BUILDDIR", os.path.join(SRC, "..", "..", "build"))
HOSTD = os.path.join(BUILD, "hostlink", "hostd", "passdesk-hostd")
FIXTURES = os.path.join(SRC, "..", "fixtures", "hostd")
FAKES = os.path.join(SRC, "..", "fakes")


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def wait_for(pred, timeout, what, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise Fail(f"timed out after {timeout} s waiting for {what}")


def parse(line):
    parts = line.split(" ")
    msg = {"verb": parts[0], "id": int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1}
    for p in parts[2:]:
        k, _, v = p.partition("=")
        msg[k] = urllib.parse.unquote(v)
    return msg


class Guest:
    """A scripted guest on the fake QEMU's guest end."""

    def __init__(self, env, vmid, timeout=15):
        p = os.path.join(env.guestdir, f"{vmid}.guest")
        self.sock = None
        end = time.monotonic() + timeout
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(p)
                self.sock = s
                break
            except OSError:
                s.close()
                if time.monotonic() > end:
                    raise Fail(f"guest end of VM {vmid} did not come up")
                time.sleep(0.05)
        self.buf = b""
        self.synced = False
        self.vmid = vmid

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def send(self, text):
        self.sock.sendall(text.encode() if isinstance(text, str) else text)

    def line(self, timeout=10):
        """The next full line, or None when the host side closed."""
        end = time.monotonic() + timeout
        while True:
            if b"\n" in self.buf:
                l, _, self.buf = self.buf.partition(b"\n")
                if not self.synced:  # resync: drop up to the first LF
                    self.synced = True
                    continue
                if l == b"":
                    continue
                return l.decode("ascii", "replace")
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("no line from the host in time")
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                raise Fail("no line from the host in time")
            if not d:
                return None
            self.buf += d

    def expect(self, verb, timeout=10, id=None):
        end = time.monotonic() + timeout
        while True:
            l = self.line(max(0.01, end - time.monotonic()))
            if l is None:
                raise Fail(f"connection closed while waiting for {verb}")
            m = parse(l)
            if m["verb"] == verb and (id is None or m["id"] == id):
                return m
            if m["verb"] == "HELLO" and verb != "HELLO":
                # A repeated HELLO: answer it and go on.
                self.send(f"\nREADY {m['id']} proto=1 agent=test\n")

    def handshake(self, timeout=15):
        hello = self.expect("HELLO", timeout)
        self.send(f"\nREADY {hello['id']} proto=1 agent=test\n")
        # A PING round trip proves the host saw READY.
        self.send("PING 99\n")
        self.expect("PONG", 10, id=99)
        return hello

    def hello_with_result(self, timeout=15):
        """Handshakes until a HELLO carries the last cycle's result: the guest
        may connect before hostd has confirmed the VM runs; hostd then sends
        a fresh HELLO when the result is known."""
        end = time.monotonic() + timeout
        while True:
            hello = self.expect("HELLO", max(0.1, end - time.monotonic()))
            self.send(f"\nREADY {hello['id']} proto=1 agent=test\n")
            if "last" in hello:
                return hello

    def wait_closed(self, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                l = self.line(max(0.01, end - time.monotonic()))
            except Fail:
                break
            if l is None:
                return
        raise Fail("the connection did not close")


class Env:
    def __init__(self, vmids=(100,), conf="", running=True, pty=False):
        self.tmp = tempfile.mkdtemp(prefix="hostd-e2e-")
        self.fake = self._mk("fake")
        self.run = self._mk("run")
        self.guestdir = self._mk("guest")
        self.state = os.path.join(self.tmp, "state")
        self.vmids = [str(v) for v in vmids]
        for v in self.vmids:
            src = os.path.join(FIXTURES, f"{v}.conf")
            if not os.path.exists(src):
                src = os.path.join(FIXTURES, "100.conf")
            shutil.copy(src, os.path.join(self.fake, f"{v}.conf"))
            if running:
                self.write(f"{v}.status", "running\n")
        self.conf = os.path.join(self.tmp, "hostd.conf")
        with open(self.conf, "w") as f:
            f.write(
                "[global]\n"
                f"socket-dir={self.run}\n"
                f"qm={os.path.join(FAKES, 'fake-qm')}\n"
                f"state-dir={self.state}\n"
                "poll-interval-ms=100\nqm-timeout=5\nstart-lock-timeout=4\nconfirm-timeout=5\n"
                "cool-off=1\ncool-off-min=0\nshutdown-timeout=2\nmin-interval=0\n"
                + conf
            )
        self.env = dict(os.environ, FAKE_QM_DIR=self.fake, FAKE_QM_MAX_WAIT="2")
        # Under ASan, a small quarantine keeps hostd's RSS meaningful for the
        # memory-bound checks (freed memory is otherwise held up to 256 MiB).
        if "ASAN_OPTIONS" in self.env:
            self.env["ASAN_OPTIONS"] += ":quarantine_size_mb=16"
        self.qemu = subprocess.Popen(
            [sys.executable, os.path.join(FAKES, "fake-qemu.py")] + (["--pty"] if pty else [])
            + [self.run, self.guestdir] + self.vmids, env=self.env)
        self.hostd = None
        self.log = open(os.path.join(self.tmp, "hostd.log"), "ab")
        if running:
            for v in self.vmids:
                wait_for(lambda: os.path.exists(os.path.join(self.run, f"{v}.passdesk")), 10,
                         "fake QEMU socket")

    def _mk(self, name):
        p = os.path.join(self.tmp, name)
        os.mkdir(p)
        return p

    def write(self, name, text):
        with open(os.path.join(self.fake, name), "w") as f:
            f.write(text)

    def start_hostd(self):
        self.hostd = subprocess.Popen([HOSTD, "--config", self.conf], env=self.env,
                                      stdout=self.log, stderr=self.log)
        return self.hostd

    def stop_hostd(self, sig=signal.SIGTERM):
        if self.hostd and self.hostd.poll() is None:
            self.hostd.send_signal(sig)
            rc = self.hostd.wait(15)
            self.hostd = None
            return rc
        return None

    def calls(self, vmid=None):
        p = os.path.join(self.fake, "calls.log")
        if not os.path.exists(p):
            return []
        out = []
        for l in open(p):
            c = json.loads(l)
            if vmid is None or (len(c["argv"]) > 1 and c["argv"][1] == str(vmid)):
                out.append(c)
        return out

    def verbs(self, vmid):
        return [c["argv"][0] for c in self.calls(vmid)]

    def status(self, vmid):
        try:
            return open(os.path.join(self.fake, f"{vmid}.status")).read().strip()
        except FileNotFoundError:
            return "stopped"

    def rss_kb(self):
        for l in open(f"/proc/{self.hostd.pid}/status"):
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
        return 0

    def under_asan(self):
        with open(f"/proc/{self.hostd.pid}/maps") as f:
            return "libasan" in f.read()

    def hostd_cli(self, *args):
        return subprocess.run([HOSTD, "--config", self.conf] + list(args), env=self.env,
                              capture_output=True, text=True, timeout=30)

    def close(self):
        rc = self.stop_hostd()
        self.qemu.send_signal(signal.SIGTERM)
        try:
            self.qemu.wait(10)
        except subprocess.TimeoutExpired:
            self.qemu.kill()
        self.log.close()
        if os.environ.get("HOSTD_E2E_KEEP"):
            print(f"# kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return rc

    def hostd_log(self):
        try:
            return open(os.path.join(self.tmp, "hostd.log"), errors="replace").read()
        except FileNotFoundError:
            return ""


def squash(verbs):
    """['shutdown','status','status','start','status'] → 'shutdown status+ start status+'"""
    out = []
    for v in verbs:
        if out and out[-1].rstrip("+") == v:
            out[-1] = v + "+"
        else:
            out.append(v)
    return " ".join(out)


def wait_cycle_done(env, vmid, timeout=25):
    """Waits until the state file records a result for @vmid and no cycle runs."""

    def done():
        p = os.path.join(env.state, "hostd-state")
        if not os.path.exists(p):
            return False
        text = open(p).read()
        sect = text.split(f"[vm {vmid}]")
        if len(sect) < 2:
            return False
        body = sect[1].split("\n[")[0]
        return "last-outcome=" in body and "cycle-phase=" not in body

    wait_for(done, timeout, f"the cycle of VM {vmid} to end", step=0.1)


# ---------------------------------------------------------------- cases


def case_doctor_report(env):
    """A protocol 2 guest gets the doctor's summary for its VM (HOST-REPORT +
    HOST-ITEMs) after the handshake; a protocol 1 guest gets none and costs
    no `qm config`. The host is the generated Esprimo tree whose hookscript
    is missing (PASSDESK_HOST_ROOT)."""
    root = os.path.join(env.tmp, "host")
    subprocess.run([os.path.join(SRC, "..", "fixtures", "hosts", "make-host-trees.py"), root,
                    "esprimo-hookscript-missing"], check=True)
    root = os.path.join(root, "esprimo-hookscript-missing")
    conf = open(os.path.join(root, "etc/pve/qemu-server/100.conf")).read()
    env.write("100.conf", conf.replace("/run/qemu-server/", env.run + "/"))
    env.env["PASSDESK_HOST_ROOT"] = root
    env.start_hostd()

    g = Guest(env, 100)
    g.handshake()  # READY proto=1
    g.send("PING 98\n")
    g.expect("PONG", 10, id=98)
    check("config" not in env.verbs(100), f"qm calls for a v1 guest: {env.verbs(100)}")
    g.send("RESYNC 5\n")
    hello = g.expect("HELLO")
    check(hello["proto"] == "2" and hello["proto-min"] == "1", f"HELLO versions: {hello}")
    g.send(f"\nREADY {hello['id']} proto=2 agent=test\n")
    rep = g.expect("HOST-REPORT", 15)
    check(rep["state"] == "fail" and rep["fail"] == "1", f"HOST-REPORT: {rep}")
    items = [g.expect("HOST-ITEM", 5, id=rep["id"]) for _ in range(int(rep["items"]))]
    first = items[0]
    check(first["n"] == "0" and first["check"] == "vm-hookscript" and first["state"] == "fail"
          and first["vmid"] == "100", f"first item: {first}")
    check("hookscript local:snippets/vm100-hooks.sh (/var/lib/vz/snippets/vm100-hooks.sh) is "
          "missing" in first["text"], f"item text: {first['text']}")
    check("chmod +x /var/lib/vz/snippets/vm100-hooks.sh" in first.get("fix", ""),
          f"item fix: {first}")
    check([c for c in env.calls(100) if c["argv"][0] == "config"], "qm config was asked")
    check("the doctor says fail" in env.hostd_log(), "journal line")
    g.close()



def case_cycle(env):
    """request → accept → shutdown, status..., cool-off, start, status; result in next HELLO"""
    env.start_hostd()
    g = Guest(env, 100)
    hello = g.handshake()
    check(hello["vmid"] == "100" and hello["enabled"] == "1", f"HELLO facts: {hello}")
    check("last" not in hello, "no last result before any cycle")
    check(hello["rate-left"] == "1" and hello["day-left"] == "6" and hello["next-allowed-in"] == "0"
          and hello["day-max"] == "6" and hello["cool-off-default"] == "1",
          f"HELLO policy and budget: {hello}")
    # The reason is guest text: a C1 control (CSI; the codec refuses C0 ones)
    # must not reach the journal.
    g.send("RESTART 7 reason=GPU%20h%C3%A4ngt%C2%9B2J cool-off=2\n")
    acc = g.expect("ACCEPT", id=7)
    # The reason belongs in the message `journalctl -u passdesk-hostd` shows.
    wait_for(lambda: "asks for a cold restart" in env.hostd_log(), 5, "request logged")
    line = next(l for l in env.hostd_log().splitlines() if "asks for a cold restart" in l)
    # (Without a UTF-8 locale GLib writes the ä as "?" on stderr; the
    # journal gets UTF-8 either way.)
    check(re.search(r'cold restart: "GPU h(ä|\?)ngt\?2J" \(request 7', line)
          and "\x9b" not in env.hostd_log(),
          f"reason in the journal message, one printable line: {line!r}")
    check(acc["cool-off"] == "2" and acc["shutdown-timeout"] == "2", f"ACCEPT: {acc}")
    prog = g.expect("PROGRESS", id=7)
    check(prog["phase"] == "shutting-down", f"first PROGRESS: {prog}")
    g.wait_closed()  # the VM stopped: QEMU went away
    g.close()
    wait_cycle_done(env, 100)
    calls = env.calls(100)
    shape = squash([c["argv"][0] for c in calls])
    check(re.fullmatch(r"shutdown status\+? start status\+?", shape),
          f"qm calls in order: {shape}")
    check(calls[0]["argv"] == ["shutdown", "100", "--timeout", "2"], f"argv: {calls[0]['argv']}")
    start = next(c for c in calls if c["argv"][0] == "start")
    last_status = [c for c in calls if c["argv"][0] == "status" and c["t"] < start["t"]][-1]
    check(start["t"] - last_status["t"] >= 1.9,
          f"cool-off honoured: {start['t'] - last_status['t']:.2f} s between stopped and start")
    g = Guest(env, 100)
    hello = g.hello_with_result()
    check(hello.get("last") == "ok", f"result in the next HELLO: {hello}")
    check(int(hello["last-duration"]) >= 2, "duration reported")
    check("started again" in hello.get("last-text", ""), f"last-text: {hello.get('last-text')}")
    g.close()


def wait_state(env, vmid, needle, timeout=25):
    """Waits until the state file's [vm VMID] group holds @needle."""

    def has():
        try:
            text = open(os.path.join(env.state, "hostd-state")).read()
        except FileNotFoundError:
            return False
        sect = text.split(f"[vm {vmid}]")
        return len(sect) > 1 and needle in sect[1].split("\n[")[0]

    wait_for(has, timeout, f"'{needle}' in the state of VM {vmid}", step=0.1)


def queued_hellos(g, quiet=1.5):
    """Every HELLO that waited in the port, answered, until the host is quiet."""
    hellos = []
    while True:
        try:
            l = g.line(quiet)
        except Fail:
            return hellos
        if l is None:
            return hellos
        m = parse(l)
        if m["verb"] == "HELLO":
            hellos.append(m)
            g.send(f"\nREADY {m['id']} proto=1 agent=test\n")


def case_stale_hello(env):
    """Issue 13, defect 1: a failed cycle, then a good one. hostd connects as
    soon as `qm start` has made the socket (the start still runs: start-delay),
    and what it sends waits there until the guest opens its port. No HELLO of
    the new boot carries the failed, older result; the good one comes with
    last-id=2, also from a restarted hostd (the serial is in its state)."""
    env.write("100.refuse-stop", "")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 1\n")
    g.expect("ACCEPT", id=1)
    wait_state(env, 100, "last-outcome=failed")
    h = g.hello_with_result()
    check(h.get("last") == "failed", f"first result: {h}")
    first_id = h.get("last-id")
    g.send(f"\nREADY {h['id']} proto=1\nPING 3\n")
    g.expect("PONG", id=3)
    os.unlink(os.path.join(env.fake, "100.refuse-stop"))
    env.write("100.start-delay", "0.8")
    g.send("RESTART 4\n")
    g.expect("ACCEPT", id=4)
    g.wait_closed()
    g.close()
    wait_state(env, 100, "last-outcome=ok")
    g = Guest(env, 100)  # the new boot's agent opens the port
    hellos = queued_hellos(g)
    check(hellos, "the new boot got a HELLO")
    for h in hellos:
        check(h.get("last") != "failed",
              f"a HELLO of the new boot carries the older cycle's result: {h} "
              f"(all: {[x.get('last') for x in hellos]})")
    check(first_id == "1" and hellos[-1].get("last") == "ok" and hellos[-1].get("last-id") == "2",
          f"the latest HELLO carries this cycle's result: {hellos[-1]}")
    state = open(os.path.join(env.state, "hostd-state")).read()
    check("serial=2" in state and "last-id=2" in state, f"state:\n{state}")
    # A restarted hostd keeps the numbering.
    env.stop_hostd()
    env.start_hostd()
    h = g.expect("HELLO", timeout=15)
    check(h.get("last") == "ok" and h.get("last-id") == "2", f"after a hostd restart: {h}")
    g.close()


def case_rate_figures(env):
    """Issue 13, defect 2: rate-left is what is allowed now (1 per
    min-interval), day-left the day's budget; when a cycle changes them the
    guest gets a fresh HELLO right after ACCEPT (without the previous
    result: a cycle runs). A refusal that changes nothing sends none."""
    env.start_hostd()
    g = Guest(env, 100)
    h = g.handshake()
    check(h["rate-left"] == "1" and h.get("day-left") == "6" and h["next-allowed-in"] == "0",
          f"HELLO figures: {h}")
    g.send("RESTART 1\n")
    g.expect("ACCEPT", id=1)
    h = g.expect("HELLO", timeout=5)
    check(h["rate-left"] == "0" and h.get("day-left") == "5"
          and 110 <= int(h["next-allowed-in"]) <= 120, f"HELLO after ACCEPT: {h}")
    check("last" not in h, f"no result while the cycle runs: {h}")
    g.send(f"\nREADY {h['id']} proto=1\n")
    g.wait_closed()
    g.close()
    wait_state(env, 100, "last-outcome=ok")
    g = Guest(env, 100)
    h = g.hello_with_result()
    check(h["rate-left"] == "0" and h.get("day-left") == "5"
          and 0 < int(h["next-allowed-in"]) <= 120, f"HELLO after the cycle: {h}")
    g.send("PING 5\nRESTART 2\n")
    g.expect("PONG", id=5)
    r = g.expect("REFUSE", id=2)
    check(r["code"] == "rate-limited", f"REFUSE: {r}")
    try:
        l = g.line(0.7)
    except Fail:
        l = None
    check(l is None or not l.startswith("HELLO"), f"a HELLO after a refusal that changed nothing: {l}")
    g.close()


def case_not_running(env, code):
    """Issue 13, defect 3: the guest powered itself off before `qm shutdown`
    looked; qm says "VM 100 not running" (exit @code). hostd confirms with
    qm status that the VM is down and goes on: cool-off, start; not a failure."""
    env.write("100.guest-off-first", "1")
    env.write("100.not-running-exit", str(code))
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 1 cool-off=2\n")
    g.expect("ACCEPT", id=1)
    g.wait_closed()
    g.close()
    wait_state(env, 100, "last-outcome=", timeout=30)
    calls = env.calls(100)
    shape = squash([c["argv"][0] for c in calls])
    check(re.fullmatch(r"shutdown status\+? start status\+?", shape), f"qm calls in order: {shape}")
    start = next(c for c in calls if c["argv"][0] == "start")
    stopped_seen = [c for c in calls if c["argv"][0] == "status" and c["t"] < start["t"]][-1]
    check(start["t"] - stopped_seen["t"] >= 1.9,
          f"cool-off honoured: {start['t'] - stopped_seen['t']:.2f} s")
    check(env.status(100) == "running", "the VM runs again")
    log = env.hostd_log()
    check("qm shutdown failed" not in log, "qm shutdown's answer logged as a failure:\n"
          + "\n".join(l for l in log.splitlines() if "shutdown" in l))
    check("not running" in log, "the log says the guest was already off")
    g = Guest(env, 100)
    h = g.hello_with_result()
    check(h.get("last") == "ok" and "shut down and started again" in h.get("last-text", ""),
          f"result: {h}")
    g.close()


def case_disabled(env):
    env.start_hostd()
    g = Guest(env, 100)
    hello = g.handshake()
    check(hello["enabled"] == "0", "HELLO says disabled")
    g.send("RESTART 3\n")
    r = g.expect("REFUSE", id=3)
    check(r["code"] == "disabled" and "enabled=true" in r["text"], f"REFUSE: {r}")
    time.sleep(0.3)
    check(env.calls(100) == [], "no qm call for a refused request")
    g.close()


def case_rate_limit(env):
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 1\n")
    g.expect("ACCEPT", id=1)
    g.wait_closed()
    g.close()
    wait_cycle_done(env, 100)
    g = Guest(env, 100)
    hello = g.handshake()
    check(0 < int(hello["next-allowed-in"]) <= 300 and hello["rate-left"] == "0",
          f"HELLO budget: {hello}")
    g.send("RESTART 2\n")
    r = g.expect("REFUSE", id=2)
    check(r["code"] == "rate-limited", f"REFUSE code: {r}")
    check(250 <= int(r["retry-in"]) <= 300, f"retry-in: {r.get('retry-in')}")
    check(r["retry-in"] in r["text"], "the sentence names the time left")
    n = len(env.calls(100))
    time.sleep(0.3)
    check(len(env.calls(100)) == n, "no qm call for a rate-limited request")
    g.close()


def case_timeout_force(env):
    env.write("100.refuse-stop", "")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 4\n")
    g.expect("ACCEPT", id=4)
    wait_cycle_done(env, 100)
    shape = squash(env.verbs(100))
    check(re.fullmatch(r"shutdown status\+? stop status\+? start status\+?", shape),
          f"force-stop after the timeout: {shape}")
    check(env.status(100) == "running", "VM running again")
    st = env.hostd_cli("status").stdout
    check("last:   ok" in st and "stopped hard (qm stop)" in st
          and "shut down and started again" not in st,
          f"the ok text says the VM was stopped hard:\n{st}")
    g.close()


def case_timeout_leave(env):
    env.write("100.refuse-stop", "")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 4\n")
    g.expect("ACCEPT", id=4)
    p = g.expect("PROGRESS", id=4, timeout=20)
    while p["phase"] != "failed":
        p = g.expect("PROGRESS", id=4, timeout=20)
    check("left running" in p["text"], f"failure names the policy: {p['text']}")
    wait_cycle_done(env, 100)
    verbs = env.verbs(100)
    check("stop" not in verbs and "start" not in verbs, f"no stop/start: {verbs}")
    check(env.status(100) == "running", "VM left running")
    st = env.hostd_cli("status")
    check("last:   failed" in st.stdout, f"status shows the failure:\n{st.stdout}")
    # The result reaches the guest in its next HELLO (a restarted agent asks
    # with RESYNC).
    g.send("\nRESYNC 12345\n")
    hello = g.expect("HELLO")
    check(hello.get("last") == "failed", f"HELLO last: {hello}")
    g.close()


def case_lock(env):
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    # The lock is held for 2 s after the VM stopped (cool-off is 1 s).
    env.write("100.shutdown-delay", "0.2")
    g.send("RESTART 5\n")
    g.expect("ACCEPT", id=5)
    env.write("100.lock-until", str(time.time() + 2.5))
    wait_cycle_done(env, 100)
    verbs = env.verbs(100)
    check(verbs.count("start") >= 2, f"qm start retried under the lock: {squash(verbs)}")
    check(env.status(100) == "running", "VM running after the lock went")
    g.close()
    g = Guest(env, 100)
    check(g.hello_with_result().get("last") == "ok", "result ok")
    g.close()


def case_lock_timeout(env):
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    env.write("100.lock-until", str(time.time() + 60))
    g.send("RESTART 5\n")
    g.expect("ACCEPT", id=5)
    wait_cycle_done(env, 100, timeout=25)
    st = env.hostd_cli("status")
    check("last:   failed" in st.stdout and "locked" in st.stdout,
          f"lock timeout reported:\n{st.stdout}")
    g.close()


def case_restart_mid(env):
    """hostd killed mid-cycle: the next hostd resumes it (SIGTERM and SIGKILL)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        env.write("100.shutdown-delay", "1.5")
        env.start_hostd()
        g = Guest(env, 100)
        g.handshake()
        g.send("RESTART 6 cool-off=1\n")
        g.expect("ACCEPT", id=6)
        time.sleep(0.5)  # qm shutdown is running
        env.stop_hostd(sig)
        g.close()
        env.start_hostd()
        wait_cycle_done(env, 100)
        wait_for(lambda: env.status(100) == "running", 10, "VM running again")
        g = Guest(env, 100)
        hello = g.hello_with_result()
        check(hello.get("last") == "ok", f"resumed cycle reported ok ({sig}): {hello}")
        g.close()
        env.stop_hostd()
        os.unlink(os.path.join(env.fake, "calls.log"))


def state_text(env):
    p = os.path.join(env.state, "hostd-state")
    return open(p).read() if os.path.exists(p) else ""


def case_restart_mid_cool_off(env):
    """hostd killed during the cool-off: the next one keeps the VM off for the
    rest of it (not less), then starts it."""
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 6 cool-off=4\n")
    g.expect("ACCEPT", id=6)
    wait_for(lambda: "cycle-phase=cooling-off" in state_text(env), 15, "the cool-off")
    time.sleep(1.0)
    env.stop_hostd(signal.SIGKILL)
    g.close()
    env.start_hostd()
    wait_cycle_done(env, 100)
    calls = env.calls(100)
    shape = squash([c["argv"][0] for c in calls])
    check(re.fullmatch(r"shutdown status\+ start status\+?", shape), f"qm calls: {shape}")
    stopped = [c for c in calls if c["argv"][0] == "status"][0]["t"]
    start = next(c for c in calls if c["argv"][0] == "start")["t"]
    check(start - stopped >= 3.9, f"cool-off kept across the restart: {start - stopped:.2f} s")
    check(start - stopped < 8, f"the rest of the cool-off, not a new one: {start - stopped:.2f} s")
    check(env.status(100) == "running", "VM running again")


def case_restart_mid_fail(env):
    """hostd killed mid-cycle and qm status failing from then on: the resumed
    cycle ends as failed, saying so, not lost."""
    env.write("100.shutdown-delay", "1.5")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 6\n")
    g.expect("ACCEPT", id=6)
    time.sleep(0.5)
    env.stop_hostd(signal.SIGKILL)
    g.close()
    env.write("100.status.fail", "")
    env.start_hostd()
    wait_cycle_done(env, 100)
    st = env.hostd_cli("status").stdout
    check("last:   failed" in st and "restarted during the cycle and resumed it" in st,
          f"status:\n{st}")
    os.unlink(os.path.join(env.fake, "100.status.fail"))


def fake_qm_processes(env):
    """fake-qm processes of this test still running."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                envb = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if f"FAKE_QM_DIR={env.fake}".encode() in envb and any(b"fake-qm" in c for c in cmd):
            out.append((pid, cmd))
    return out


def case_qm_misbehaving(env):
    """qm shutdown hangs (killed at its deadline, with its children), qm status
    prints garbage: hostd carries on and force-stops as configured."""
    env.write("100.shutdown.hang", "1")
    env.write("100.status.garbage", "2")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 1\n")
    g.expect("ACCEPT", id=1)
    wait_cycle_done(env, 100)
    shape = squash(env.verbs(100))
    check(re.fullmatch(r"shutdown status\+? stop status\+? start status\+?", shape),
          f"qm calls: {shape}")
    check(env.status(100) == "running", "VM running again")
    check(fake_qm_processes(env) == [], f"hung qm killed: {fake_qm_processes(env)}")
    check("did not finish in time and was killed" in env.hostd_log(), "the kill is logged")
    check(env.hostd.poll() is None, "hostd still runs")


def case_qm_fails(env):
    """qm start fails (exit 255): the cycle ends failed with qm's message; no retry loop."""
    env.write("100.start.fail", "")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 1\n")
    g.expect("ACCEPT", id=1)
    wait_cycle_done(env, 100)
    verbs = env.verbs(100)
    check(verbs.count("start") == 1, f"no retry of a plain failure: {squash(verbs)}")
    st = env.hostd_cli("status").stdout
    check("last:   failed" in st and "exit status 255" in st and "qm start 100" in st,
          f"status:\n{st}")
    check(env.status(100) == "stopped", "VM left stopped, as qm left it")


def case_two_vms(env):
    env.write("100.shutdown-delay", "1")
    env.write("101.shutdown-delay", "1")
    env.start_hostd()
    a, b = Guest(env, 100), Guest(env, 101)
    check(a.handshake()["vmid"] == "100", "VM 100's HELLO names 100")
    check(b.handshake()["vmid"] == "101", "VM 101's HELLO names 101")
    a.send("RESTART 1\n")
    b.send("RESTART 1\n")
    a.expect("ACCEPT", id=1)
    b.expect("ACCEPT", id=1)
    wait_cycle_done(env, 100)
    wait_cycle_done(env, 101)
    calls = env.calls()
    first_start = min(c["t"] for c in calls if c["argv"][0] == "start")
    shutdowns = [c for c in calls if c["argv"][0] == "shutdown"]
    check(len(shutdowns) == 2 and all(c["t"] < first_start for c in shutdowns),
          "both cycles ran at once")
    check(env.status(100) == "running" and env.status(101) == "running", "both running")
    a.close()
    b.close()


def case_busy(env):
    env.write("100.shutdown-delay", "1.5")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 1\nRESTART 2\n")
    g.expect("ACCEPT", id=1)
    r = g.expect("REFUSE", id=2)
    check(r["code"] == "busy", f"second request refused busy: {r}")
    g.expect("PROGRESS", id=1)  # qm shutdown runs: past the point of no return
    g.send("CANCEL 3 request=1\n")
    r = g.expect("REFUSE", id=3)
    check(r["code"] == "too-late", f"cancel after shutdown started: {r}")
    g.close()
    wait_cycle_done(env, 100)


def case_grammar(env):
    env.start_hostd()
    g = Guest(env, 100)
    hello = g.expect("HELLO")
    g.send("\nRESTART 1\n")  # before READY: not acted on
    e = g.expect("ERROR", id=1)
    check(e["code"] == "not-ready", f"not-ready: {e}")
    g.send("\nRESYNC 9\n")  # asks for a new HELLO
    hello2 = g.expect("HELLO")
    check(int(hello2["id"]) > int(hello["id"]), f"a new HELLO: {hello2}")
    g.send(f"READY {hello2['id']} proto=1\n")
    g.send("FROB 2\n")
    check(g.expect("ERROR", id=2)["code"] == "unknown-verb", "unknown verb")
    g.send("RESTART 3 cool-off=abc\n")
    check(g.expect("ERROR", id=3)["code"] == "bad-args", "bad args")
    g.send("ACCEPT 4 cool-off=1 shutdown-timeout=1 text=x\n")
    check(g.expect("ERROR", id=4)["code"] == "unexpected", "host verb from guest")
    g.send("RESTART 5 cool-off=999\n")
    check(g.expect("REFUSE", id=5)["code"] == "out-of-range", "cool-off out of range")
    g.send("STATUS 6\n")
    s = g.expect("STATUS-REPLY", id=6)
    check(s["cycle"] == "idle" and s["vm-state"] == "running", f"STATUS-REPLY: {s}")
    check(env.calls(100) == [], "nothing ran")
    g.close()


def case_garbage(env):
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    other = Guest(env, 101)
    other.handshake()
    rnd = random.Random(4)
    blob = bytes(rnd.getrandbits(8) for _ in range(256 * 1024))
    g.send(blob)
    # Too many bad lines: hostd hangs up on VM 100 (QEMU keeps the guest's
    # port open; what the guest writes now goes nowhere).
    wait_for(lambda: "VM 100: disconnected: too many bad lines" in env.hostd_log(), 20,
             "hostd to hang up on the garbage")
    g.send("\nPING 77\n")
    try:
        g.expect("PONG", id=77, timeout=1)
        raise Fail("hostd still answers the garbage VM")
    except Fail as e:
        check("no line" in str(e), str(e))
    g.close()
    other.send("PING 5\n")
    other.expect("PONG", id=5)
    check(env.hostd.poll() is None, "hostd still runs")
    check(env.calls() == [], "garbage ran nothing")
    other.close()


def case_long_line(env):
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    rss0 = env.rss_kb()
    chunk = b"A" * (1024 * 1024)
    for _ in range(100):  # 100 MB without a LF
        g.send(chunk)
    g.send(b"\nPING 5\n")
    e = g.expect("ERROR", timeout=60)
    check(e["code"] == "line-too-long", f"ERROR: {e}")
    g.expect("PONG", id=5, timeout=30)
    rss1 = env.rss_kb()
    limit = 4096 if not env.under_asan() else 64 * 1024
    check(rss1 - rss0 < limit, f"RSS bounded: {rss0} → {rss1} KiB")
    print(f"# hostd RSS {rss0} KiB before, {rss1} KiB after a 100 MB line")
    g.close()


def case_flood(env):
    """10,000 requests a second from VM 100; VM 101's pings still served promptly.
    The 50 ms goal is the benchmark's (tests/bench/bench-hostd-flood.py): here
    the median must meet it and no ping may starve, so that a loaded CI
    machine's scheduling tail does not decide the test."""
    env.start_hostd()
    flood = Guest(env, 100)
    flood.handshake()
    other = Guest(env, 101)
    other.handshake()
    rss0 = env.rss_kb()
    # Cold-restart requests (refused: VM 100 is disabled) and status queries.
    # The flooder reads its replies (a thread counts them): hostd paces it
    # rather than dropping it for not reading.
    replies = {"REFUSE": 0, "STATUS-REPLY": 0, "other": 0}
    stop = threading.Event()
    rsock = flood.sock.dup()

    def drain():
        buf = b""
        rsock.settimeout(0.2)
        while not stop.is_set():
            try:
                d = rsock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not d:
                return
            buf += d
            *lines, buf = buf.split(b"\n")
            for l in lines:
                v = l.split(b" ")[0].decode("ascii", "replace")
                replies[v if v in replies else "other"] += 1

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    flood.sock.setblocking(False)
    batch = "".join(f"RESTART {i} reason=flood\n" if i % 2 else f"STATUS {i}\n"
                    for i in range(1, 101)).encode()
    sent = 0
    lat = []
    t0 = time.monotonic()
    next_ping = t0
    pid = 1000
    while time.monotonic() - t0 < 3.0:
        # 100 requests every 10 ms = 10,000 a second.
        try:
            flood.sock.send(batch)
            sent += 100
        except (BlockingIOError, OSError):
            pass
        now = time.monotonic()
        if now >= next_ping:
            pid += 1
            t = time.monotonic()
            other.send(f"PING {pid}\n")
            other.expect("PONG", id=pid, timeout=5)
            lat.append(time.monotonic() - t)
            next_ping = now + 0.1
        time.sleep(0.01)
    time.sleep(0.5)
    stop.set()
    reader.join(2)
    rsock.close()
    rss1 = env.rss_kb()
    # ASan keeps freed memory in quarantine (16 MiB here, see Env) and adds
    # its own bookkeeping; the normal build holds the tight bound.
    limit = 8192 if not env.under_asan() else 64 * 1024
    worst, median = max(lat), statistics.median(lat)
    print(f"# flood: {sent} requests sent in 3 s, {replies['REFUSE']} REFUSE and "
          f"{replies['STATUS-REPLY']} STATUS-REPLY back; {len(lat)} pings of the other VM, median "
          f"{median * 1000:.1f} ms, worst {worst * 1000:.1f} ms; hostd RSS {rss0} → {rss1} KiB")
    check(replies["REFUSE"] > 1000 and replies["other"] == 0,
          f"requests answered with refusals: {replies}")
    check("VM 100: disconnected" not in env.hostd_log(), "a flooder that reads is paced, not cut")
    check(median < 0.050, f"other VM's median answer within 50 ms ({median * 1000:.1f} ms)")
    check(worst < 1.0, f"no ping of the other VM starved (worst {worst * 1000:.1f} ms)")
    check(rss1 - rss0 < limit, f"memory bounded ({rss0} → {rss1} KiB)")
    check(env.hostd.poll() is None, "hostd still runs")
    check(env.calls() == [], "no qm call from the flood")
    flood.close()
    other.close()


def case_setup(env):
    before = open(os.path.join(env.fake, "100.conf")).read()
    r = env.hostd_cli("setup", "100", "--dry-run")
    check(r.returncode == 0 and "Dry run" in r.stdout, f"dry run: {r.stdout}{r.stderr}")
    check(open(os.path.join(env.fake, "100.conf")).read() == before, "dry run changes nothing")
    r = env.hostd_cli("setup", "100")
    check(r.returncode == 0, f"setup: {r.stdout}{r.stderr}")
    check("full stop and start" in r.stdout, "tells about the full stop/start")
    conf = open(os.path.join(env.fake, "100.conf")).read()
    args = [l for l in conf.splitlines() if l.startswith("args: ")]
    check(len(args) == 1 and f"path={env.run}/100.passdesk,server=on,wait=off" in args[0]
          and "name=org.passdesk.hostlink.0" in args[0], f"args line: {args}")
    check(set(before.splitlines()) <= set(conf.splitlines()), "every other line kept")
    sets = [c for c in env.calls(100) if c["argv"][0] == "set"]
    check(len(sets) == 1 and sets[0]["argv"][2] == "--args", "one qm set --args (argv)")
    r = env.hostd_cli("setup", "100")
    check(r.returncode == 0 and "already" in r.stdout, f"idempotent: {r.stdout}")
    check(len([c for c in env.calls(100) if c["argv"][0] == "set"]) == 1, "no second qm set")
    # Existing args are kept in front.
    with open(os.path.join(env.fake, "101.conf"), "a") as f:
        f.write("args: -cpu host,+kvm_pv_unhalt -smbios 'type=1,product=My Box'\n")
    r = env.hostd_cli("setup", "101")
    check(r.returncode == 0, f"setup 101: {r.stderr}")
    conf = open(os.path.join(env.fake, "101.conf")).read()
    check("args: -cpu host,+kvm_pv_unhalt -smbios 'type=1,product=My Box' -chardev socket,id=passdesk"
          in conf, f"kept existing args: {conf}")
    # A config it cannot parse is refused.
    with open(os.path.join(env.fake, "101.conf"), "a") as f:
        f.write("this is not a config line\n")
    r = env.hostd_cli("setup", "101")
    check(r.returncode == 1 and "not \"key: value\"" in r.stderr, f"refuses: {r.stderr}")
    r = env.hostd_cli("setup", "12")
    check(r.returncode == 2, "a bad VMID is a usage error")
    env.write("100.config.fail", "")
    r = env.hostd_cli("setup", "100")
    check(r.returncode == 1 and "exit status 255" in r.stderr, f"qm failing: {r.stderr}")


def case_setup_remove(env):
    """setup --remove takes exactly the channel out again, through qm set."""
    path = os.path.join(env.fake, "101.conf")
    with open(path, "a") as f:
        f.write("args: -cpu host,+kvm_pv_unhalt -smbios 'type=1,product=My Box'\n")
    original = open(path).read()
    r = env.hostd_cli("setup", "101")
    check(r.returncode == 0 and "passdesk" in open(path).read(), f"setup: {r.stderr}")
    r = env.hostd_cli("setup", "--remove", "101", "--dry-run")
    check(r.returncode == 0 and "Dry run" in r.stdout, f"dry run: {r.stdout}{r.stderr}")
    check("passdesk" in open(path).read(), "dry run changes nothing")
    r = env.hostd_cli("setup", "--remove", "101")
    check(r.returncode == 0 and "gone" in r.stdout, f"remove: {r.stdout}{r.stderr}")
    # fake-qm, like Proxmox, rewrites the file with sorted keys: compare lines.
    check(sorted(open(path).read().splitlines()) == sorted(original.splitlines()),
          f"config as before setup: {open(path).read()!r}")
    r = env.hostd_cli("setup", "--remove", "101")
    check(r.returncode == 0 and "nothing to change" in r.stdout, f"again: {r.stdout}")
    sets = [c["argv"] for c in env.calls(101) if c["argv"][0] == "set"]
    check(len(sets) == 2, f"one qm set for setup, one for remove: {sets}")
    # A VM whose args were only the channel loses the args key (qm set --delete args).
    path = os.path.join(env.fake, "100.conf")
    original = open(path).read()
    check(env.hostd_cli("setup", "100").returncode == 0, "setup 100")
    r = env.hostd_cli("setup", "--remove", "100")
    check(r.returncode == 0, f"remove 100: {r.stderr}")
    check(sorted(open(path).read().splitlines()) == sorted(original.splitlines()),
          "args line gone again")
    check(env.calls(100)[-1]["argv"] == ["set", "100", "--delete", "args"],
          f"deleted through qm: {env.calls(100)[-1]}")
    r = env.hostd_cli("status", "--remove")
    check(r.returncode == 2 and "setup only" in r.stderr, f"--remove without setup: {r.stderr}")


def case_no_qm(env):
    """Off the Proxmox host, every command says where hostd belongs."""
    conf = os.path.join(env.tmp, "no-qm.conf")
    with open(conf, "w") as f:
        f.write(f"[global]\nqm={env.tmp}/no-such-dir/qm\nstate-dir={env.tmp}/state\n"
                f"socket-dir={env.run}\n")
    for args in (["run"], ["setup", "100"], ["setup", "--remove", "100"], ["status"],
                 ["check-config"]):
        r = subprocess.run([HOSTD, "--config", conf] + args, env=env.env, capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 1 and "not a Proxmox VE host" in r.stderr
              and "belongs on the Proxmox host" in r.stderr, f"{args}: {r.returncode} {r.stderr}")
    check(env.calls() == [], "no qm call")
    r = subprocess.run([HOSTD, "--version"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.startswith("passdesk-hostd "), "--version still works")


def case_status(env):
    env.start_hostd()
    g = Guest(env, 100)
    hello = g.expect("HELLO")
    # The agent's version is guest text: a C1 control (CSI) must not reach
    # the admin's terminal.
    g.send(f"\nREADY {hello['id']} proto=1 agent=0.1%C2%9B2J\nPING 5\n")
    g.expect("PONG", id=5)
    wait_for(lambda: "link:   connected" in env.hostd_cli("status").stdout, 5, "status connected")
    out = env.hostd_cli("status").stdout
    check("\x9b" not in out and "(guest agent 0.1??2J)" in out, f"guest text sanitized: {out}")
    check("passdesk-hostd: running" in out and "VM 100" in out and "VM 101" in out, out)
    check("on-timeout force-stop" in out and "cycle:  idle" in out, out)
    second = subprocess.run([HOSTD, "--config", env.conf], env=env.env, capture_output=True,
                            text=True, timeout=10)
    check(second.returncode == 1
          and f"Another passdesk-hostd (pid {env.hostd.pid}) already runs" in second.stderr,
          f"a second hostd refuses to start: {second.returncode} {second.stderr}")
    g.close()
    env.stop_hostd()
    out = env.hostd_cli("status").stdout
    check("not running" in out, out)


def case_status_setup(env):
    """Right after setup (VMs stopped, no socket, no cycle), status lists the
    VMs set up, and setup's next steps are the ones it found missing."""
    # fake-qm's directory is what /etc/pve/qemu-server is to qm: VMID.conf,
    # written by `qm set`. status reads it below PASSDESK_HOST_ROOT.
    root = os.path.join(env.tmp, "root")
    os.makedirs(os.path.join(root, "etc", "pve"))
    os.symlink(env.fake, os.path.join(root, "etc", "pve", "qemu-server"))
    # No systemd here: a systemctl answering is-enabled as the real one does
    # (the state word on stdout; exit 0 only for enabled ones).
    bindir = os.path.join(env.tmp, "bin")
    os.mkdir(bindir)
    unit_state = os.path.join(env.tmp, "unit-state")
    with open(os.path.join(bindir, "systemctl"), "w") as f:
        f.write("#!/bin/sh\n"
                f"echo \"$*\" >> {env.tmp}/systemctl.log\n"
                '[ "$1 $2" = "is-enabled passdesk-hostd.service" ] || exit 1\n'
                f"state=$(cat {unit_state} 2>/dev/null || echo disabled)\n"
                'echo "$state"\n'
                'case $state in enabled|enabled-runtime) exit 0 ;; *) exit 1 ;; esac\n')
    os.chmod(os.path.join(bindir, "systemctl"), 0o755)
    env.env["PASSDESK_HOST_ROOT"] = root
    env.env["PATH"] = bindir + ":" + env.env.get("PATH", "/usr/bin:/bin")

    out = env.hostd_cli("status").stdout
    check("No VMs" in out, f"nothing set up yet: {out}")
    done = {}
    for v in (100, 101):
        done[v] = env.hostd_cli("setup", str(v))
        check(done[v].returncode == 0, f"setup {v}: {done[v].stdout}{done[v].stderr}")
    out = env.hostd_cli("status").stdout
    check("No VMs" not in out, f"status after two setups lists them:\n{out}")
    for v in (100, 101):
        block = out.split(f"\nVM {v}\n", 1)[-1].split("\nVM ", 1)[0]
        check(f"\nVM {v}\n" in out and "set up, no channel socket" in block
              and f"`qm start {v}`" in block and "last:   no cycle yet" in block,
              f"VM {v} set up, no cycle yet:\n{out}")
    for v, r in done.items():
        check("1. `systemctl enable --now passdesk-hostd`: passdesk-hostd is neither enabled nor "
              "running" in r.stdout, f"setup {v} names the unit step: {r.stdout}")
        check(f"2. `qm start {v}`: VM {v} is stopped" in r.stdout,
              f"setup {v} names the start of the stopped VM: {r.stdout}")
    check(open(os.path.join(env.tmp, "systemctl.log")).read().splitlines()
          == ["is-enabled passdesk-hostd.service"] * 2, "asked systemctl, once per setup")

    # A running VM gets new args as a pending change (qemu-server's
    # update_vm_api: args cannot be hot-plugged); the file keeps them in
    # [PENDING] until the next start, and status says what that takes.
    conf101 = open(os.path.join(env.fake, "101.conf")).read().splitlines()
    args = next(l for l in conf101 if l.startswith("args: ")).replace("101.passdesk", "102.passdesk")
    env.write("102.conf", "\n".join(l for l in conf101 if not l.startswith("args: "))
              + "\n\n[PENDING]\n" + args + "\n")
    out = env.hostd_cli("status").stdout
    block = out.split("\nVM 102\n", 1)[-1]
    check("set up, not yet active" in block and "`qm shutdown 102 && qm start 102`" in block,
          f"pending channel:\n{out}")

    # hostd enabled and running, VM running: only the VM's full stop/start.
    with open(unit_state, "w") as f:
        f.write("enabled\n")
    env.start_hostd()
    wait_for(lambda: "passdesk-hostd: running" in env.hostd_cli("status").stdout, 5,
             "hostd running")
    check(env.hostd_cli("setup", "--remove", "100").returncode == 0, "remove 100")
    env.write("100.status", "running\n")
    r = env.hostd_cli("setup", "100")
    check(r.returncode == 0 and "systemctl" not in r.stdout
          and "1. `qm shutdown 100 && qm start 100`: VM 100 runs, and needs a full stop and start"
          in r.stdout and "2." not in r.stdout, f"only the VM step: {r.stdout}")
    # Enabled, but not running: start it.
    env.stop_hostd()
    env.write("101.status", "stopped\n")
    check(env.hostd_cli("setup", "--remove", "101").returncode == 0, "remove 101")
    r = env.hostd_cli("setup", "101")
    check("1. `systemctl enable --now passdesk-hostd`: passdesk-hostd is enabled but does not run"
          in r.stdout and "2. `qm start 101`" in r.stdout, f"enabled, not running: {r.stdout}")
    # Masked: unmask first.
    with open(unit_state, "w") as f:
        f.write("masked\n")
    check(env.hostd_cli("setup", "--remove", "101").returncode == 0, "remove 101 again")
    r = env.hostd_cli("setup", "101")
    check("1. `systemctl unmask passdesk-hostd && systemctl enable --now passdesk-hostd`"
          in r.stdout, f"masked: {r.stdout}")


def case_config_errors(env):
    bad = {
        "[global]\ncool-off=ten\n": ("[global] cool-off", "whole number"),
        "[vm 100]\non-timeout=explode\n": ("[vm 100] on-timeout", "force-stop or leave-running"),
        "[vm 0100]\nenabled=true\n": ("unknown group [vm 0100]", ""),
        "[global]\nenabeld=true\n": ("unknown key \"enabeld\"", ""),
        "[vm 101]\nqm=/bin/true\n": ("[vm 101] key \"qm\" belongs in [global]", ""),
        "[global]\ncool-off=200\n": ("cool-off = 200 must lie within", ""),
    }
    for text, (want, want2) in bad.items():
        p = os.path.join(env.tmp, "bad.conf")
        with open(p, "w") as f:
            f.write(text)
        r = subprocess.run([HOSTD, "--config", p], capture_output=True, text=True, timeout=10)
        check(r.returncode == 1, f"refuses to start on {text!r}")
        check(p in r.stderr and want in r.stderr and want2 in r.stderr,
              f"error names file, group, key for {text!r}: {r.stderr}")
    r = subprocess.run([HOSTD, "--config", os.path.join(env.tmp, "missing.conf")],
                       capture_output=True, text=True, timeout=10)
    check(r.returncode == 1 and "missing.conf" in r.stderr, "missing explicit config")
    r = subprocess.run([HOSTD, "--bogus"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 2, "usage error exits 2")
    r = subprocess.run([HOSTD, "--help"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and "setup VMID" in r.stdout, "--help answers")
    r = env.hostd_cli("check-config")
    check(r.returncode == 0 and "shutdown-timeout=2" in r.stdout, f"check-config: {r.stdout}")
    # The shipped example is valid as it is, and with every key uncommented.
    example = os.path.join(SRC, "..", "..", "data", "hostd.conf.example")
    # As shipped it names /usr/sbin/qm, which only a Proxmox host has: the
    # file parses, and qm is the one complaint.
    r = subprocess.run([HOSTD, "--config", example, "check-config"], capture_output=True,
                       text=True, timeout=10)
    check(r.returncode == 0 or (r.returncode == 1 and "qm (/usr/sbin/qm) cannot be used"
                                in r.stderr and r.stderr.count("\n") == 1),
          f"example as shipped: {r.stderr}")
    text = re.sub(r"^#(\[|[a-z-]+=)", r"\1", open(example).read(), flags=re.M)
    text = re.sub(r"^qm=.*$", f"qm={os.path.join(FAKES, 'fake-qm')}", text, flags=re.M)
    p = os.path.join(env.tmp, "example-uncommented.conf")
    with open(p, "w") as f:
        f.write(text)
    r = subprocess.run([HOSTD, "--config", p, "check-config"], capture_output=True, text=True,
                       timeout=10)
    check(r.returncode == 0 and "[vm 101]\nenabled=false" in r.stdout,
          f"example uncommented: {r.stdout} {r.stderr}")


def case_reconnect(env):
    """The VM stops and starts outside any cycle: hostd follows the socket."""
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    env.write("100.status", "stopped\n")
    g.wait_closed()
    g.close()
    time.sleep(0.3)
    env.write("100.status", "running\n")
    g = Guest(env, 100)
    hello = g.handshake()
    check(hello["vmid"] == "100", "reconnected after the VM came back")
    check(env.calls() == [], "no qm calls while idle")
    g.close()


def case_real_guest(env):
    """The guest end the agent and `passdesk cold-restart` use (PdHostlinkGuest),
    on a pty behind the fake QEMU, against hostd: refused by policy on VM 101,
    accepted on VM 100 (then a logind PowerOff, and the host cycle)."""
    import dbus
    import dbusmock

    passdesk = os.path.join(BUILD, "agent", "cli", "passdesk")
    dbusmock.DBusTestCase.start_system_bus()
    dbusmock.DBusTestCase.start_session_bus()
    logind, logind_obj = dbusmock.DBusTestCase.spawn_server_template(
        "logind", {}, stdout=subprocess.DEVNULL)
    mock = dbus.Interface(logind_obj, dbusmock.MOCK_IFACE)
    try:
        env.start_hostd()
        run_env = dict(env.env, PASSDESK_BUS="session",
                       DBUS_SYSTEM_BUS_ADDRESS=os.environ["DBUS_SYSTEM_BUS_ADDRESS"],
                       DBUS_SESSION_BUS_ADDRESS=os.environ["DBUS_SESSION_BUS_ADDRESS"])

        def cold_restart(vmid):
            port = os.path.join(env.guestdir, f"{vmid}.port")
            wait_for(lambda: os.path.exists(port), 10, "the pty port")
            return subprocess.run([passdesk, "cold-restart", "--yes", "--cool-off", "1",
                                   "--reason", "e2e test", "--port", port],
                                  env=run_env, capture_output=True, text=True, timeout=60)

        r = cold_restart(101)
        check(r.returncode == 1 and "enabled=true" in r.stderr,
              f"refused by policy, host's sentence shown: rc={r.returncode} {r.stderr}")
        # The guest speaks protocol 2, so hostd's doctor reads each VM's
        # config (`qm config`) for its report; nothing else runs.
        check([v for v in env.verbs(101) if v != "config"] == [], "nothing ran for VM 101")
        check([c for c in mock.GetCalls() if c[1] == "PowerOff"] == [], "no poweroff on refusal")

        r = cold_restart(100)
        check(r.returncode == 0, f"accepted: rc={r.returncode} {r.stdout} {r.stderr}")
        check(len([c for c in mock.GetCalls() if c[1] == "PowerOff"]) == 1, "one logind PowerOff")
        wait_cycle_done(env, 100)
        shape = squash([v for v in env.verbs(100) if v != "config"])
        check(re.fullmatch(r"shutdown status\+? start status\+?", shape), f"qm calls: {shape}")
        check("config" in env.verbs(100), "the doctor ran for the protocol 2 guest")
        st = env.hostd_cli("status").stdout
        check("last:   ok" in st and "reason" not in st, f"status after the cycle:\n{st}")
    finally:
        logind.terminate()
        logind.wait()
        dbusmock.DBusTestCase.stop_dbus(dbusmock.DBusTestCase.system_bus_pid)
        dbusmock.DBusTestCase.stop_dbus(dbusmock.DBusTestCase.session_bus_pid)


def case_rehello(env):
    """No READY: hostd repeats HELLO after 5 s; RESYNC gets one at once."""
    env.start_hostd()
    g = Guest(env, 100)
    h1 = g.expect("HELLO")
    t0 = time.monotonic()
    h2 = g.expect("HELLO", timeout=15)
    dt = time.monotonic() - t0
    check(4.0 <= dt <= 12 and int(h2["id"]) > int(h1["id"]), f"second HELLO after {dt:.1f} s")
    g.send("\nRESYNC 3\n")
    t0 = time.monotonic()
    h3 = g.expect("HELLO", timeout=5)
    check(time.monotonic() - t0 < 2 and int(h3["id"]) > int(h2["id"]), "RESYNC answered at once")
    g.send(f"READY {h3['id']} proto=1\nPING 4\n")
    g.expect("PONG", id=4)
    g.close()


def case_fake_qemu(env):
    """The fake QEMU behaves as QEMU: what the guest writes while no host
    client is connected is dropped; what the host writes waits for the guest."""
    g = Guest(env, 100)
    g.send("PING 1\nPING 2\nPING 3\n")  # no host client yet: dropped
    time.sleep(0.3)
    env.start_hostd()
    hello = g.expect("HELLO")
    g.send(f"\nREADY {hello['id']} proto=1\nPING 4\n")
    while True:
        m = parse(g.line())
        check(m["id"] not in (2, 3), f"a line written before hostd connected arrived: {m}")
        if m["verb"] == "PONG" and m["id"] == 4:
            break
    g.close()


class Skip(Exception):
    pass


def case_real_qemu(env):
    """Real QEMU (qemu-system-x86_64, TCG, paused, no guest) with the args
    `passdesk-hostd setup` writes: QEMU accepts them, hostd connects to its
    chardev socket, sees it go when QEMU exits and reconnects when the next
    QEMU replaces the (stale) socket file."""
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise Skip("qemu-system-x86_64 is not installed (Debian: qemu-system-x86)")
    r = env.hostd_cli("setup", "100")
    check(r.returncode == 0, f"setup: {r.stderr}")
    conf = open(os.path.join(env.fake, "100.conf")).read()
    args = shlex.split(next(l for l in conf.splitlines() if l.startswith("args: "))[6:])
    setup_calls = env.calls(100)  # config, set, and status for the next steps
    env.start_hostd()

    def run_qemu():
        return subprocess.Popen([qemu, "-machine", "q35,accel=tcg", "-nodefaults", "-display",
                                 "none", "-S", "-m", "64", "-monitor", "none"] + args,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    for round_ in (1, 2):
        q = run_qemu()
        try:
            wait_for(lambda: env.hostd_log().count("VM 100: connected to") >= round_, 20,
                     f"hostd to connect to QEMU (round {round_})")
            if q.poll() is not None:
                raise Fail(f"QEMU refused the setup args: {q.stderr.read().decode()}")
        finally:
            q.terminate()
            q.wait(10)
        # QEMU leaves its socket file behind when a client was connected:
        # hostd tries a few times, then waits for the next QEMU to replace it.
        wait_for(lambda: env.hostd_log().count("VM 100: disconnected") >= round_, 10,
                 "hostd to notice QEMU going")
    check(env.calls(100) == setup_calls, "no qm call but setup's")



# ------------------------------------------- reliability (issue 10)


class QemuSock:
    """The test plays QEMU itself for one VM: it owns the listening socket
    SOCKDIR/<vmid>.passdesk and speaks as the guest on what hostd connects."""

    def __init__(self, sockdir, vmid, listen=True):
        self.path = os.path.join(sockdir, f"{vmid}.passdesk")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.conn = None
        self.buf = b""

    def accept(self, timeout=10):
        self.listener.settimeout(timeout)
        try:
            self.conn, _ = self.listener.accept()
        except socket.timeout:
            raise Fail(f"hostd did not connect to {self.path} within {timeout} s")
        self.buf = b""
        return self.conn

    def send(self, text):
        self.conn.sendall(text.encode())

    def line(self, timeout=10):
        end = time.monotonic() + timeout
        while True:
            if b"\n" in self.buf:
                l, _, self.buf = self.buf.partition(b"\n")
                if l:
                    return l.decode("ascii", "replace")
                continue
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("no line from hostd in time")
            self.conn.settimeout(left)
            try:
                d = self.conn.recv(65536)
            except socket.timeout:
                raise Fail("no line from hostd in time")
            if not d:
                raise Fail("hostd closed the connection")
            self.buf += d

    def expect(self, verb, timeout=10, id=None):
        end = time.monotonic() + timeout
        while True:
            m = parse(self.line(max(0.01, end - time.monotonic())))
            if m["verb"] == verb and (id is None or m["id"] == id):
                return m

    def handshake(self):
        hello = self.expect("HELLO")
        self.send(f"\nREADY {hello['id']} proto=1 agent=test\nPING 99\n")
        self.expect("PONG", id=99)
        return hello

    def drop(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def close(self):
        self.drop()
        self.listener.close()


def add_fake_vm(env, vmid, running=True):
    """A VM fake-qm knows but fake-qemu does not serve (the test plays QEMU)."""
    shutil.copy(os.path.join(FIXTURES, "100.conf"), os.path.join(env.fake, f"{vmid}.conf"))
    if running:
        env.write(f"{vmid}.status", "running\n")


def kill_fake_qm(env):
    for pid, _ in fake_qm_processes(env):
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def verbs_after(env, vmid, t):
    return [c["argv"][0] for c in env.calls(vmid) if c["t"] >= t]


def case_resume_redo(env):
    """Item 1: hostd SIGKILLed together with its qm command. The next hostd
    sends the phase's command again: qm shutdown (no hard stop of a guest
    nobody asked to shut down), and qm stop in the force-stop phase; a hard
    stop is never reported as a shutdown."""
    # What a hostd leaves when it quits between recording the accepted
    # request and spawning qm shutdown (a SIGTERM handled in the same pass).
    os.makedirs(env.state)
    now_us = int(time.time() * 1e6)
    with open(os.path.join(env.state, "hostd-state"), "w") as f:
        f.write(f"[hostd]\npid=1\n\n[vm 100]\nhistory={now_us};\ncycle-phase=shutting-down\n"
                f"cycle-started={now_us}\ncycle-phase-since={now_us}\ncycle-cool-off=1\n"
                "cycle-request=5\nlink-connected=false\n")
    env.write("100.shutdown-delay", "1.5")
    env.start_hostd()
    wait_cycle_done(env, 100)
    check(squash(env.verbs(100)).startswith("status shutdown status"),
          f"qm shutdown sent for the recorded request: {squash(env.verbs(100))}")
    check("stop" not in env.verbs(100), f"no hard stop: {squash(env.verbs(100))}")
    env.stop_hostd()

    # Shutdown phase: qm shutdown killed with hostd; the guest never stops by itself.
    env.write("100.shutdown-delay", "1.5")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 6\n")
    g.expect("ACCEPT", id=6)
    wait_for(lambda: fake_qm_processes(env), 5, "qm shutdown to run")
    env.stop_hostd(signal.SIGKILL)
    kill_fake_qm(env)
    g.close()
    check(env.status(100) == "running", "the killed qm shutdown left the VM running")
    t_resume = time.time()
    env.start_hostd()
    wait_cycle_done(env, 100)
    after = verbs_after(env, 100, t_resume)
    check("shutdown" in after, f"the resumed cycle sent qm shutdown again: {squash(after)}")
    check("stop" not in after, f"no hard stop of a guest that was asked again: {squash(after)}")
    st = env.hostd_cli("status").stdout
    check("last:   ok" in st and "shut down and started again" in st, f"status:\n{st}")
    env.stop_hostd()

    # Force-stop phase: qm stop hangs and is killed with hostd.
    env.write("100.refuse-stop", "")
    env.write("100.stop.hang", "1")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 7\n")
    g.expect("ACCEPT", id=7)
    wait_for(lambda: "cycle-phase=force-stopping" in state_text(env), 15, "the force stop")
    # The hang switch is used up once qm stop has started hanging.
    wait_for(lambda: not os.path.exists(os.path.join(env.fake, "100.stop.hang")), 10,
             "qm stop to hang")
    env.stop_hostd(signal.SIGKILL)
    kill_fake_qm(env)
    g.close()
    t_resume = time.time()
    env.start_hostd()
    wait_cycle_done(env, 100, timeout=30)
    after = verbs_after(env, 100, t_resume)
    check("stop" in after, f"the resumed force stop sent qm stop again: {squash(after)}")
    check(env.status(100) == "running", "VM running again")
    st = env.hostd_cli("status").stdout
    check("last:   ok" in st and "stopped hard (qm stop)" in st
          and "shut down and started again" not in st,
          f"a hard stop is not reported as a shutdown:\n{st}")
    os.unlink(os.path.join(env.fake, "100.refuse-stop"))


def case_resume_leave_running(env):
    """Item 1 with on-timeout=leave-running: a resumed shutdown asks the guest
    again instead of reporting a timeout nobody waited for."""
    env.write("100.shutdown-delay", "1.5")
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 6\n")
    g.expect("ACCEPT", id=6)
    wait_for(lambda: fake_qm_processes(env), 5, "qm shutdown to run")
    env.stop_hostd(signal.SIGKILL)
    kill_fake_qm(env)
    g.close()
    env.start_hostd()
    wait_cycle_done(env, 100)
    st = env.hostd_cli("status").stdout
    check("last:   ok" in st, f"the resumed shutdown succeeded:\n{st}")
    check(env.status(100) == "running", "VM running again")


def case_qm_unusable(env):
    """Item 2: a missing or non-executable qm is named by check-config and at
    start, and a RESTART is refused (host-error, the real cause) rather than
    accepted when qm went away while hostd runs."""
    for qm, why in (("/nonexistent/qm", "No such file or directory"),
                    (os.path.join(env.tmp, "qm-noexec"), "cannot be executed"),
                    (env.tmp, "not a regular file")):
        if qm.endswith("qm-noexec"):
            shutil.copy(os.path.join(FAKES, "fake-qm"), qm)
            os.chmod(qm, 0o644)
        p = os.path.join(env.tmp, "qm.conf")
        with open(p, "w") as f:
            f.write(open(env.conf).read().replace(f"qm={os.path.join(FAKES, 'fake-qm')}", f"qm={qm}"))
        r = subprocess.run([HOSTD, "--config", p, "check-config"], capture_output=True, text=True,
                           timeout=10, env=env.env)
        check(r.returncode == 1 and f"qm ({qm})" in r.stderr and why in r.stderr,
              f"check-config names the unusable qm {qm}: rc={r.returncode} {r.stderr}")
        r = subprocess.run([HOSTD, "--config", p], capture_output=True, text=True, timeout=10,
                           env=env.env)
        check(r.returncode == 1 and f"qm ({qm})" in r.stderr and why in r.stderr,
              f"run refuses to start with {qm}: rc={r.returncode} {r.stderr}")
    # qm becomes unusable while hostd runs.
    qm = os.path.join(env.tmp, "fake-qm-copy")
    shutil.copy(os.path.join(FAKES, "fake-qm"), qm)
    os.chmod(qm, 0o755)
    text = open(env.conf).read().replace(f"qm={os.path.join(FAKES, 'fake-qm')}", f"qm={qm}")
    with open(env.conf, "w") as f:
        f.write(text)
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    os.chmod(qm, 0o644)
    g.send("RESTART 3\n")
    m = g.expect("REFUSE", id=3)
    check(m["code"] == "host-error" and "cannot be executed" in m["text"] and qm in m["text"],
          f"refused with the cause: {m}")
    os.unlink(qm)
    g.send("RESTART 4\n")
    m = g.expect("REFUSE", id=4)
    check(m["code"] == "host-error" and "No such file" in m["text"], f"missing qm: {m}")
    time.sleep(0.3)
    check(env.calls() == [], "nothing ran")
    check(env.status(100) == "running", "the VM was left alone")
    g.send("STATUS 5\n")
    m = g.expect("STATUS-REPLY", id=5)
    check(m["cycle"] == "idle" and m["day-left"] == "6", f"no cycle recorded: {m}")
    # qm goes away during a cycle: it ends at once naming qm, not blaming the VM.
    shutil.copy(os.path.join(FAKES, "fake-qm"), qm)
    os.chmod(qm, 0o755)
    env.write("100.shutdown-delay", "1.5")
    g.send("RESTART 6\n")
    g.expect("ACCEPT", id=6)
    wait_for(lambda: fake_qm_processes(env), 5, "qm shutdown to run")
    os.chmod(qm, 0o644)
    t0 = time.monotonic()
    wait_cycle_done(env, 100)
    st = env.hostd_cli("status").stdout
    check("last:   failed" in st and "could not run qm" in st and "even after qm stop" not in st,
          f"the failure names qm:\n{st}")
    check(time.monotonic() - t0 < 5, f"no deadline waited out: {time.monotonic() - t0:.1f} s")
    g.close()


def case_cancel(env):
    """Item 3: CANCEL withdraws a request up to the point of no return (qm
    shutdown running): in the same write as RESTART it succeeds; after that
    point it is too-late, also from a new connection and after a hostd
    restart (not unknown-request)."""
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("RESTART 1 reason=oops\nCANCEL 2 request=1\n")
    g.expect("ACCEPT", id=1)
    ok = g.expect("OK", id=2)
    p = g.expect("PROGRESS", id=1)
    check(p["phase"] == "cancelled", f"PROGRESS cancelled: {p}")
    time.sleep(0.5)
    check(env.calls() == [], f"nothing ran: {env.calls()}")
    g.send("STATUS 3\n")
    m = g.expect("STATUS-REPLY", id=3)
    check(m["cycle"] == "idle" and m["day-left"] == "6",
          f"idle, and the withdrawn request did not count: {m}")
    check("cycle-phase" not in state_text(env), "no cycle in the state file")
    g.close()

    # Past the point of no return, across a reconnect of the host connection.
    add_fake_vm(env, 105)
    env.write("105.shutdown-delay", "6")
    q = QemuSock(env.run, 105)
    try:
        q.accept()
        q.handshake()
        q.send("RESTART 7\n")
        q.expect("ACCEPT", id=7)
        q.expect("PROGRESS", id=7)
        q.drop()  # QEMU drops hostd; hostd connects again
        q.accept()
        q.handshake()
        q.send("STATUS 8\nCANCEL 9 request=7\nCANCEL 10 request=8\n")
        m = q.expect("STATUS-REPLY", id=8)
        check(m["cycle"] == "shutting-down", f"STATUS: {m}")
        m = q.expect("REFUSE", id=9)
        check(m["code"] == "too-late", f"CANCEL of the running cycle after a reconnect: {m}")
        m = q.expect("REFUSE", id=10)
        check(m["code"] == "unknown-request", f"CANCEL of another id: {m}")
        # And after a hostd restart (the request id is in the state file).
        env.stop_hostd(signal.SIGKILL)
        q.drop()
        env.start_hostd()
        q.accept()
        q.handshake()
        q.send("CANCEL 11 request=7\n")
        m = q.expect("REFUSE", id=11)
        check(m["code"] == "too-late", f"CANCEL after a hostd restart: {m}")
    finally:
        q.close()


def case_unusable_files(env):
    """Item 6: config and state files that are not bounded regular files (a
    device, a symlink to one, a FIFO, a directory) give a clear error at
    once: no hang, no memory growth (hostd runs under a 1 GiB address-space
    limit here)."""
    import resource

    # An address-space limit makes a read of /dev/zero fail fast instead of
    # eating the machine's memory; ASan builds need their huge shadow
    # mapping, so there the timeout alone must do.
    with open(HOSTD, "rb") as f:
        asan = b"__asan_init" in f.read()

    def limited():
        if not asan:
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    def run(*args, timeout=5):
        try:
            return subprocess.run([HOSTD] + list(args), capture_output=True, text=True,
                                  timeout=timeout, env=env.env, preexec_fn=limited)
        except subprocess.TimeoutExpired:
            raise Fail(f"passdesk-hostd {' '.join(args)} hung")

    link = os.path.join(env.tmp, "zero-link.conf")
    os.symlink("/dev/zero", link)
    fifo = os.path.join(env.tmp, "fifo.conf")
    os.mkfifo(fifo)
    for path, what in (("/dev/zero", "is a character device"), (link, "is a character device"),
                       (fifo, "is a FIFO"), (env.tmp, "is a directory")):
        for cmd in (["check-config"], [], ["status"]):
            r = run("--config", path, *cmd)
            check(r.returncode == 1 and path in r.stderr and what in r.stderr,
                  f"--config {path} {cmd}: rc={r.returncode} {r.stderr[:300]}")

    # The state file.
    os.makedirs(env.state)
    sp = os.path.join(env.state, "hostd-state")
    for make, what in ((lambda: os.symlink("/dev/zero", sp), "is a character device"),
                       (lambda: os.mkfifo(sp), "is a FIFO")):
        make()
        r = run("--config", env.conf, "status")
        check(r.returncode == 1 and sp in r.stderr and what in r.stderr
              and "keeps it aside" in r.stderr, f"status: rc={r.returncode} {r.stderr[:300]}")
        env.hostd = subprocess.Popen([HOSTD, "--config", env.conf], env=env.env, stdout=env.log,
                                     stderr=env.log, preexec_fn=limited)
        g = Guest(env, 100)
        g.handshake()
        check(os.path.isfile(sp) and not os.path.islink(sp), "a fresh state file was written")
        aside = sp + ".corrupt"
        check(os.path.lexists(aside), "the unusable one is kept aside")
        check(what in env.hostd_log() and "kept as" in env.hostd_log(), "the log says why")
        g.close()
        env.stop_hostd()
        os.unlink(aside)
        os.unlink(sp)


def case_config_small(env):
    """Item 10: a NUL byte, a key set twice, a group given twice: refused with
    the lines named, never merged or truncated in silence."""
    bad = {
        b"[global]\ncool-off=10\x00junk\n": "line 2 holds a NUL byte",
        b"[global]\ncool-off=7\nshutdown-timeout=5\ncool-off = 9\n":
            "[global] sets \"cool-off\" twice (lines 2 and 4)",
        b"[vm 100]\nenabled=true\n[global]\ncool-off=5\n[vm 100]\nenabled=false\n":
            "group [vm 100] appears twice (lines 1 and 5)",
        b"[global]\ncool-off=5\n[vm 101]\ncool-off=5\n[global]\n":
            "group [global] appears twice (lines 1 and 5)",
    }
    for data, want in bad.items():
        p = os.path.join(env.tmp, "bad.conf")
        with open(p, "wb") as f:
            f.write(data)
        for cmd in (["check-config"], []):
            r = subprocess.run([HOSTD, "--config", p] + cmd, capture_output=True, text=True,
                               timeout=10, env=env.env)
            check(r.returncode == 1 and want in r.stderr,
                  f"{data!r} {cmd}: rc={r.returncode} {r.stderr}")
    # A HELLO from the guest is a verb from the wrong side: unexpected.
    env.start_hostd()
    g = Guest(env, 100)
    g.handshake()
    g.send("HELLO 5\nHELLO 6 proto=1 proto-min=1 host=x vmid=100\n")
    for i in (5, 6):
        m = g.expect("ERROR", id=i)
        check(m["code"] == "unexpected", f"HELLO from the guest: {m}")
    g.close()


def case_socket_dir_recreated(env):
    """Item 7: the socket directory removed and made again: hostd watches for
    it and finds the sockets in it."""
    add_fake_vm(env, 105)
    run = os.path.join(env.tmp, "run2")
    os.mkdir(run)
    text = open(env.conf).read().replace(f"socket-dir={env.run}", f"socket-dir={run}")
    with open(env.conf, "w") as f:
        f.write(text)
    env.start_hostd()
    q = QemuSock(run, 105)
    q.accept()
    q.handshake()
    q.close()
    for round_ in range(2):
        shutil.rmtree(run)
        time.sleep(0.3)
        os.mkdir(run)
        q = QemuSock(run, 105)
        try:
            q.accept(timeout=5)
            q.handshake()
        finally:
            q.close()
    check(env.hostd.poll() is None, "hostd still runs")


def case_socket_hygiene(env):
    """Item 8: hostd connects only to sockets in the directory itself (not a
    symlink to one, not a FIFO), and backs off from a socket that accepts and
    closes at once, with a bounded number of log lines."""
    add_fake_vm(env, 104)
    elsewhere = os.path.join(env.tmp, "elsewhere")
    os.mkdir(elsewhere)
    target = QemuSock(elsewhere, 104)
    target.listener.setblocking(False)
    env.start_hostd()
    # Made while hostd runs (inotify) and before a restart (the listing).
    os.symlink(target.path, os.path.join(env.run, "104.passdesk"))
    os.mkfifo(os.path.join(env.run, "107.passdesk"))
    # 106 accepts and closes every connection at once.
    closer = QemuSock(env.run, 106)
    accepts = []

    def serve():
        closer.listener.settimeout(0.2)
        end = time.monotonic() + 8
        while time.monotonic() < end:
            try:
                c, _ = closer.listener.accept()
                accepts.append(time.monotonic())
                c.close()
            except (socket.timeout, OSError):
                pass

    t = threading.Thread(target=serve)
    t.start()
    time.sleep(1)
    env.stop_hostd()
    env.start_hostd()
    t.join()
    try:
        target.listener.accept()
        raise Fail("hostd connected through the symlink 104.passdesk")
    except BlockingIOError:
        pass
    log = env.hostd_log()
    check("VM 104: connected" not in log and "VM 107: connected" not in log, log[-2000:])
    check(len(accepts) >= 2, f"hostd did connect to 106: {len(accepts)}")
    check(len(accepts) <= 12, f"reconnects to a socket that closes at once are backed off: "
                              f"{len(accepts)} in 8 s")
    lines_106 = [l for l in log.splitlines() if "VM 106" in l]
    check(len(lines_106) <= 16, f"log lines bounded: {len(lines_106)}:\n" + "\n".join(lines_106))
    check(env.hostd.poll() is None, "hostd still runs")
    target.close()
    closer.close()



def _flood_proc(socks, stop):
    """The flooding VMs (a separate process): STATUS as fast as hostd reads.
    Niced, so what is measured is hostd's scheduling rather than the flooder
    taking the CPU from hostd and the measuring guest on a small machine."""
    import selectors
    os.nice(19)
    blob = b"".join(b"STATUS %d\n" % i for i in range(1, 6001))
    sel = selectors.DefaultSelector()
    pending = {}
    for s in socks:
        s.setblocking(False)
        pending[s] = memoryview(blob)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    while not stop.is_set():
        for key, ev in sel.select(0.1):
            s = key.fileobj
            try:
                if ev & selectors.EVENT_READ and not s.recv(262144):
                    sel.unregister(s)
                    continue
                if ev & selectors.EVENT_WRITE:
                    n = s.send(pending[s])
                    pending[s] = pending[s][n:] if n < len(pending[s]) else memoryview(blob)
            except (BlockingIOError, ConnectionError):
                pass


def case_flood_many(env):
    """Item 4: 64 VMs flood STATUS as fast as hostd reads; a well-behaved
    VM's PING round trip (150, one every 100 ms) stays fast: median under
    10 ms, p95 under 50 ms.
    tests/bench/bench-hostd-flood.py measures 24 and 64 in full."""
    import multiprocessing
    n = 64
    env.start_hostd()
    qs = []
    try:
        for i in range(n + 1):
            add_fake_vm(env, 200 + i)
            qs.append(QemuSock(env.run, 200 + i))
        for q in qs:
            q.accept()
            q.handshake()
        good, flooders = qs[0], qs[1:]
        stop = multiprocessing.Event()
        proc = multiprocessing.Process(target=_flood_proc,
                                       args=([q.conn for q in flooders], stop))
        proc.start()
        for q in flooders:
            q.drop()
        time.sleep(1.0)
        rtts = []
        for i in range(150):
            t = time.monotonic()
            good.send(f"PING {i + 10}\n")
            good.expect("PONG", id=i + 10)
            rtts.append((time.monotonic() - t) * 1000)
            time.sleep(max(0, 0.100 - (time.monotonic() - t)))
        stop.set()
        proc.join(10)
        rtts.sort()
        median, p95, p99 = rtts[len(rtts) // 2], rtts[int(len(rtts) * 0.95)], rtts[int(len(rtts) * 0.99)]
        print(f"# {n} flooding VMs: PING round trip median {median:.2f} ms, p95 {p95:.2f} ms, "
              f"p99 {p99:.2f} ms, max {rtts[-1]:.2f} ms")
        # The p99 goal is the benchmark's (bench-hostd-flood.py prints it);
        # asserted here are the median and p95, which a busy shared test
        # machine does not move (before the fix: median > 100 ms).
        check(median < 10, f"median {median:.1f} ms under 10 ms")
        check(p95 < 50, f"p95 {p95:.1f} ms under 50 ms")
        check(env.hostd.poll() is None, "hostd still runs")
        check(env.calls() == [], "no qm call from the flood")
    finally:
        for q in qs:
            q.close()


# ------------------------------------------------- issue 14: reboots as cold restarts

REBOOT_ON = "[vm 100]\nreboot-as-cold-restart=true\n"


def add_hookscript(env, vmid):
    """Gives the VM a hookscript, so fake-qm logs its phases (hooks.log)."""
    with open(os.path.join(env.fake, f"{vmid}.conf"), "a") as f:
        f.write(f"hookscript: local:snippets/vm{vmid}-hooks.sh\n")


def hooks(env, vmid):
    p = os.path.join(env.fake, "hooks.log")
    if not os.path.exists(p):
        return []
    out = [json.loads(l) for l in open(p)]
    return [h for h in out if h["vmid"] == str(vmid)]


def ready(g, hello, extra=""):
    """READY to @hello with @extra keys; a PING round trip proves hostd read it."""
    g.send(f"\nREADY {hello['id']} proto=1 agent=test{extra}\n")
    g.send("PING 99\n")
    g.expect("PONG", 10, id=99)


def reboot_line(env, vmid=100):
    out = env.hostd_cli("status").stdout
    sect = out.split(f"\nVM {vmid}\n")
    if len(sect) < 2:
        return ""
    return next((l for l in sect[1].splitlines() if l.startswith("  reboot: ")), "")


def case_reboot_cycle(env):
    """Conversion on: RESTART kind=reboot runs the cold-restart cycle, the four
    hook phases in order with the cool-off between post-stop and pre-start;
    the journal names the reboot and its reason; the next HELLO the result."""
    add_hookscript(env, 100)
    env.start_hostd()
    g = Guest(env, 100)
    hello = g.expect("HELLO")
    check(hello.get("reboot-cold") == "1" and hello["cool-off-default"] == "2",
          f"HELLO says the host converts reboots: {hello}")
    ready(g, hello, " reboot-cold=1")
    wait_for(lambda: "working: the guest agent (test) converts reboots" in reboot_line(env), 5,
             "status: working")
    g.send("RESTART 21 kind=reboot reason=the%20user%20chose%20Restart\n")
    acc = g.expect("ACCEPT", id=21)
    check(acc["cool-off"] == "2" and "turns this reboot into a cold restart" in acc["text"],
          f"ACCEPT: {acc}")
    g.wait_closed()
    g.close()
    wait_cycle_done(env, 100)
    hs = hooks(env, 100)
    phases = [h["phase"] for h in hs]
    check(phases == ["pre-stop", "post-stop", "pre-start", "post-start"],
          f"the four hook phases in order: {phases}")
    check(hs[2]["t"] - hs[1]["t"] >= 1.9,
          f"cool-off honoured: {hs[2]['t'] - hs[1]['t']:.2f} s from post-stop to pre-start")
    check(squash(env.verbs(100)).startswith("shutdown"), f"qm calls: {env.verbs(100)}")
    log = env.hostd_log()
    check("VM 100: the guest is rebooting; turning the reboot into a cold restart (request 21, "
          "cool-off 2 s): the user chose Restart" in log, f"journal message:\n{log}")
    g = Guest(env, 100)
    hello = g.hello_with_result()
    check(hello.get("last") == "ok" and hello.get("reboot-cold") == "1",
          f"result in the next HELLO: {hello}")
    g.close()


def case_reboot_rate_limit(env):
    """A converted reboot counts against the rate limit like any request, and is
    refused by it: the guest reboots in place; no qm call, no hook."""
    add_hookscript(env, 100)
    env.start_hostd()
    g = Guest(env, 100)
    ready(g, g.expect("HELLO"), " reboot-cold=1")
    g.send("RESTART 1 kind=reboot\n")
    g.expect("ACCEPT", id=1)
    g.wait_closed()
    g.close()
    wait_cycle_done(env, 100)
    n_calls, n_hooks = len(env.calls(100)), len(hooks(env, 100))
    g = Guest(env, 100)
    hello = g.expect("HELLO")
    ready(g, hello, " reboot-cold=1")
    check(hello["rate-left"] == "0" and int(hello["next-allowed-in"]) > 0,
          f"the reboot used the budget: {hello}")
    g.send("RESTART 2 kind=reboot reason=reboot\n")
    r = g.expect("REFUSE", id=2)
    check(r["code"] == "rate-limited" and 250 <= int(r["retry-in"]) <= 300, f"REFUSE: {r}")
    check(r["retry-in"] in r["text"], f"the sentence names the time: {r['text']}")
    time.sleep(0.3)
    check(len(env.calls(100)) == n_calls and len(hooks(env, 100)) == n_hooks,
          "nothing ran for the refused reboot")
    g.close()


def case_reboot_off(env):
    """Conversion off (the default): HELLO says reboot-cold=0 and a kind=reboot is
    refused with the setup command to switch it on; an unknown kind is a bad
    request; nothing runs."""
    env.start_hostd()
    g = Guest(env, 100)
    hello = g.expect("HELLO")
    check(hello.get("reboot-cold") == "0" and hello["enabled"] == "1", f"HELLO: {hello}")
    ready(g, hello, " reboot-cold=1")
    g.send("RESTART 3 kind=reboot\n")
    r = g.expect("REFUSE", id=3)
    check(r["code"] == "disabled" and "plain one" in r["text"]
          and "passdesk-hostd setup 100 --reboot-as-cold-restart" in r["text"], f"REFUSE: {r}")
    g.send("RESTART 4 kind=frob\n")
    r = g.expect("REFUSE", id=4)
    check(r["code"] == "bad-request", f"unknown kind: {r}")
    time.sleep(0.3)
    check(env.calls(100) == [], f"no qm call: {env.calls(100)}")
    line = reboot_line(env)
    check("stays a reboot in place" in line and "--reboot-as-cold-restart" in line,
          f"status: {line}")
    g.close()


def case_reboot_disabled(env):
    """Conversion on for a VM whose cold restarts are disabled: refused as
    disabled, and status says why the conversion does not work."""
    env.start_hostd()
    g = Guest(env, 100)
    hello = g.expect("HELLO")
    check(hello.get("reboot-cold") == "1" and hello["enabled"] == "0", f"HELLO: {hello}")
    ready(g, hello, " reboot-cold=1")
    g.send("RESTART 5 kind=reboot\n")
    r = g.expect("REFUSE", id=5)
    check(r["code"] == "disabled" and "enabled=true" in r["text"], f"REFUSE: {r}")
    time.sleep(0.3)
    check(env.calls(100) == [], "no qm call")
    check("disabled for this VM (enabled=false)" in reboot_line(env),
          f"status: {reboot_line(env)}")
    g.close()


def case_reboot_fails(env):
    """A converted reboot whose start fails (the pre-start hook fails, as in
    qemu-server): the cycle ends failed with qm's words in status and the
    journal; pre-start ran, post-start did not."""
    add_hookscript(env, 100)
    env.write("100.pre-start.fail", "")
    env.start_hostd()
    g = Guest(env, 100)
    ready(g, g.expect("HELLO"), " reboot-cold=1")
    g.send("RESTART 6 kind=reboot\n")
    g.expect("ACCEPT", id=6)
    g.wait_closed()
    g.close()
    wait_cycle_done(env, 100)
    phases = [h["phase"] for h in hooks(env, 100)]
    check(phases == ["pre-stop", "post-stop", "pre-start"], f"hook phases: {phases}")
    st = env.hostd_cli("status").stdout
    check("last:   failed" in st and "hookscript error" in st, f"status:\n{st}")
    check("cold restart failed" in env.hostd_log(), "the failure is in the journal")
    check(env.status(100) == "stopped", "the VM stays off, as qm left it")


def case_reboot_resume(env):
    """hostd killed (SIGKILL) during a converted reboot's shutdown: the next
    hostd resumes the cycle, and all four hook phases run."""
    add_hookscript(env, 100)
    env.write("100.shutdown-delay", "1.5")
    env.start_hostd()
    g = Guest(env, 100)
    ready(g, g.expect("HELLO"), " reboot-cold=1")
    g.send("RESTART 7 kind=reboot\n")
    g.expect("ACCEPT", id=7)
    time.sleep(0.5)  # qm shutdown is running
    env.stop_hostd(signal.SIGKILL)
    g.close()
    env.start_hostd()
    wait_cycle_done(env, 100)
    wait_for(lambda: env.status(100) == "running", 10, "VM running again")
    phases = [h["phase"] for h in hooks(env, 100)]
    # The resumed hostd sends `qm shutdown` again (PROTOCOL.md, section 3), so
    # the stop phases may run twice; the start phases come once, after them.
    check(phases[0] == "pre-stop" and set(phases[:-2]) == {"pre-stop", "post-stop"}
          and phases[-2:] == ["pre-start", "post-start"], f"hook phases: {phases}")
    g = Guest(env, 100)
    check(g.hello_with_result().get("last") == "ok", "resumed cycle reported ok")
    g.close()


def case_reboot_agent_absent(env):
    """Conversion on, no guest agent: a VM that powers itself off (qmeventd's
    cleanup ran post-stop) is left off; a guest end that opens and closes the
    port (a reboot in place) starts nothing."""
    add_hookscript(env, 100)
    env.start_hostd()
    wait_for(lambda: "no guest agent is connected" in reboot_line(env), 5,
             "status: no agent")
    g = Guest(env, 100)  # something opens the port and goes (a reboot) without a word
    g.close()
    time.sleep(1)
    check(env.calls(100) == [], f"no qm call for a guest that came and went: {env.calls(100)}")
    # The guest powers itself off: QEMU exits, qmeventd runs `qm cleanup`.
    env.write("100.status", "stopped\n")
    subprocess.run([os.path.join(FAKES, "fake-qm"), "cleanup", "100", "1", "1"], env=env.env,
                   check=True, timeout=10)
    time.sleep(3)
    check([c["argv"][0] for c in env.calls(100)] == ["cleanup"],
          f"hostd ran nothing: {env.calls(100)}")
    check([h["phase"] for h in hooks(env, 100)] == ["post-stop"], "post-stop only")
    check(env.status(100) == "stopped", "a power off stays a power off")
    check("cold restart" not in env.hostd_log(), "no cycle in the journal")


def case_reboot_status(env):
    """status: per VM whether the conversion is on and whether it works, and
    what is missing (hostd not running, no agent, agent too old or unwilling,
    hostd.conf newer than hostd)."""
    line = reboot_line(env)
    check("not working now: hostd is not running" in line, f"hostd stopped: {line}")
    check("stays a reboot in place" in reboot_line(env, 101), f"VM 101: {reboot_line(env, 101)}")
    env.start_hostd()
    wait_for(lambda: "no guest agent is connected" in reboot_line(env), 5, "no agent")
    g = Guest(env, 100)
    ready(g, g.expect("HELLO"))
    wait_for(lambda: "(test) is too old to convert reboots" in reboot_line(env), 5,
             "agent too old")
    g.send("\nRESYNC 40\n")
    ready(g, g.expect("HELLO"), " reboot-cold=0")
    wait_for(lambda: "(test) said it will not convert reboots" in reboot_line(env), 5,
             "agent unwilling")
    g.send("\nRESYNC 41\n")
    ready(g, g.expect("HELLO"), " reboot-cold=1")
    wait_for(lambda: "working: the guest agent (test) converts reboots" in reboot_line(env), 5,
             "working")
    check("cool-off 1 s" in reboot_line(env), f"the cool-off: {reboot_line(env)}")
    time.sleep(0.05)
    with open(env.conf, "a") as f:
        f.write("[vm 101]\nreboot-as-cold-restart=true\n")
    out = env.hostd_cli("status").stdout
    check("changed after hostd started" in out and "may not be in force yet" in reboot_line(env, 101),
          f"config newer than hostd:\n{out}")
    g.close()
    env.stop_hostd()
    check("hostd is not running" in reboot_line(env), "stopped again")


def case_reboot_setup(env):
    """setup --reboot-as-cold-restart records the conversion in hostd.conf (old
    file kept as .old, every other byte kept), leaves the VM config alone
    (only the channel, as plain setup), says what changes and how to undo it;
    --no-reboot-as-cold-restart and setup --remove take it out again."""
    conf_before = open(env.conf).read()
    vm = os.path.join(env.fake, "100.conf")
    vm_before = open(vm).read()
    r = env.hostd_cli("setup", "100", "--reboot-as-cold-restart", "--dry-run")
    check(r.returncode == 0 and "would write " + env.conf in r.stdout
          and "nothing was changed" in r.stdout, f"dry run: {r.stdout}{r.stderr}")
    check(open(env.conf).read() == conf_before and open(vm).read() == vm_before,
          "the dry run changes nothing")
    r = env.hostd_cli("setup", "100", "--reboot-as-cold-restart")
    check(r.returncode == 0, f"setup: {r.stdout}{r.stderr}")
    conf = open(env.conf).read()
    check(conf == conf_before + "\n[vm 100]\nreboot-as-cold-restart=true\n",
          f"hostd.conf: only the VM's group added:\n{conf}")
    check(open(env.conf + ".old").read() == conf_before, "the old file kept as .old")
    vm_after = open(vm).read().splitlines()
    check(sorted(l for l in vm_after if not l.startswith("args:")) == sorted(vm_before.splitlines()),
          f"the VM config: nothing but the channel args: {vm_after}")
    for want in ("is not changed for this", "does not set `reboot: 0`", "keeps it off for 1 s",
                 "systemctl restart passdesk-hostd",
                 "passdesk-hostd setup 100 --no-reboot-as-cold-restart", "full stop and start"):
        check(want in r.stdout, f"setup says {want!r}:\n{r.stdout}")
    check("reboot-as-cold-restart=true" in env.hostd_cli("check-config").stdout, "check-config")
    sets = len([c for c in env.calls(100) if c["argv"][0] == "set"])
    r = env.hostd_cli("setup", "100", "--reboot-as-cold-restart")
    check(r.returncode == 0 and r.stdout.count("nothing to change there") == 2,
          f"again: nothing to do: {r.stdout}")
    check(len([c for c in env.calls(100) if c["argv"][0] == "set"]) == sets, "no second qm set")
    check(open(env.conf).read() == conf_before + "\n[vm 100]\nreboot-as-cold-restart=true\n",
          "hostd.conf unchanged")
    # A reboot: 0 set by hand is pointed out, not changed.
    with open(os.path.join(env.fake, "101.conf"), "a") as f:
        f.write("reboot: 0\n")
    r = env.hostd_cli("setup", "101", "--reboot-as-cold-restart")
    check(r.returncode == 0 and "has `reboot: 0`" in r.stdout
          and "qm set 101 --delete reboot" in r.stdout, f"reboot: 0 noted: {r.stdout}")
    check("reboot: 0" in open(os.path.join(env.fake, "101.conf")).read(), "and left alone")
    # Off again: hostd.conf as it was before 101's setup.
    with_101 = open(env.conf).read()
    r = env.hostd_cli("setup", "101", "--no-reboot-as-cold-restart")
    check(r.returncode == 0 and "plain reboots in place again" in r.stdout, f"off: {r.stdout}")
    check(open(env.conf).read() == conf_before + "\n[vm 100]\nreboot-as-cold-restart=true\n",
          f"101's group gone again: {open(env.conf).read()}")
    check(open(env.conf + ".old").read() == with_101, ".old is the file before this change")
    # setup --remove takes the channel and the conversion out.
    r = env.hostd_cli("setup", "--remove", "100")
    check(r.returncode == 0 and "gone" in r.stdout, f"remove: {r.stdout}{r.stderr}")
    check(open(env.conf).read() == conf_before, f"hostd.conf as before: {open(env.conf).read()}")
    check(sorted(open(vm).read().splitlines()) == sorted(vm_before.splitlines()),
          "the VM config as before")
    for args, want in ((["setup", "--remove", "100", "--reboot-as-cold-restart"], "--remove"),
                       (["setup", "100", "--reboot-as-cold-restart",
                         "--no-reboot-as-cold-restart"], "cannot go with"),
                       (["status", "--reboot-as-cold-restart"], "setup only")):
        r = env.hostd_cli(*args)
        check(r.returncode == 2 and want in r.stderr, f"{args}: {r.returncode} {r.stderr}")


CASES = {
    "cycle": (case_cycle, {}),
    "disabled": (case_disabled, {"conf": "[vm 100]\nenabled=false\n"}),
    "rate-limit": (case_rate_limit, {"conf": "[vm 100]\nmin-interval=300\n"}),
    "timeout-force-stop": (case_timeout_force, {}),
    "timeout-leave-running": (case_timeout_leave, {"conf": "[vm 100]\non-timeout=leave-running\n"}),
    "start-lock": (case_lock, {}),
    "start-lock-timeout": (case_lock_timeout, {}),
    "restart-mid-cycle": (case_restart_mid, {}),
    "restart-mid-cycle-fail": (case_restart_mid_fail, {}),
    "restart-mid-cool-off": (case_restart_mid_cool_off, {}),
    "qm-misbehaving": (case_qm_misbehaving, {}),
    "qm-fails": (case_qm_fails, {}),
    "two-vms": (case_two_vms, {"vmids": (100, 101)}),
    "busy": (case_busy, {}),
    "grammar": (case_grammar, {}),
    "garbage": (case_garbage, {"vmids": (100, 101)}),
    "long-line": (case_long_line, {}),
    "flood": (case_flood, {"vmids": (100, 101), "conf": "[vm 100]\nenabled=false\n"}),
    "setup": (case_setup, {"vmids": (100, 101)}),
    "setup-remove": (case_setup_remove, {"vmids": (100, 101)}),
    "no-qm": (case_no_qm, {}),
    "status": (case_status, {"vmids": (100, 101)}),
    "status-setup": (case_status_setup, {"vmids": (100, 101), "running": False}),
    "config-errors": (case_config_errors, {}),
    "reconnect": (case_reconnect, {}),
    "rehello": (case_rehello, {}),
    "fake-qemu": (case_fake_qemu, {}),
    "doctor-report": (case_doctor_report, {}),
    "real-qemu": (case_real_qemu, {"running": False}),
    "resume-redo": (case_resume_redo, {}),
    "resume-leave-running": (case_resume_leave_running,
                             {"conf": "[vm 100]\non-timeout=leave-running\n"}),
    "qm-unusable": (case_qm_unusable, {}),
    "cancel": (case_cancel, {}),
    "unusable-files": (case_unusable_files, {}),
    "config-small": (case_config_small, {}),
    "socket-dir-recreated": (case_socket_dir_recreated, {}),
    "socket-hygiene": (case_socket_hygiene, {}),
    "flood-many": (case_flood_many, {"conf": "enabled=false\n"}),
    # issue 13 (real VM findings)
    "stale-hello": (case_stale_hello, {"conf": "[vm 100]\non-timeout=leave-running\n"}),
    "rate-figures": (case_rate_figures, {"conf": "[vm 100]\nmin-interval=120\n"}),
    "shutdown-not-running": (lambda env: case_not_running(env, 255), {}),
    "shutdown-not-running-0": (lambda env: case_not_running(env, 0), {}),
    # issue 14 (reboots as cold restarts)
    "reboot-cycle": (case_reboot_cycle, {"conf": REBOOT_ON + "cool-off=2\n"}),
    "reboot-rate-limit": (case_reboot_rate_limit, {"conf": REBOOT_ON + "min-interval=300\n"}),
    "reboot-off": (case_reboot_off, {}),
    "reboot-disabled": (case_reboot_disabled, {"conf": REBOOT_ON + "enabled=false\n"}),
    "reboot-fails": (case_reboot_fails, {"conf": REBOOT_ON}),
    "reboot-resume": (case_reboot_resume, {"conf": REBOOT_ON}),
    "reboot-agent-absent": (case_reboot_agent_absent, {"conf": REBOOT_ON}),
    "reboot-status": (case_reboot_status, {"vmids": (100, 101), "conf": REBOOT_ON}),
    "reboot-setup": (case_reboot_setup, {"vmids": (100, 101)}),
    "real-guest": (case_real_guest, {"vmids": (100, 101), "pty": True,
                                     "conf": "[vm 101]\nenabled=false\n"}),
}


def main():
    names = sys.argv[1:] or list(CASES)
    print(f"1..{len(names)}")
    failed = 0
    for i, name in enumerate(names, 1):
        fn, kw = CASES[name]
        env = Env(**kw)
        skip = None
        try:
            fn(env)
            ok = True
        except Skip as e:
            ok, skip = True, str(e)
        except Exception as e:  # noqa: BLE001 - report any failure as TAP
            ok = False
            print(f"# {name}: {type(e).__name__}: {e}")
            for l in env.hostd_log().splitlines()[-30:]:
                print(f"# hostd: {l}")
        finally:
            rc = env.close()
        if ok and rc not in (None, 0):
            ok = False
            print(f"# {name}: hostd exited with {rc} on SIGTERM")
        print(f"{'ok' if ok else 'not ok'} {i} - {name}" + (f" # SKIP {skip}" if skip else ""))
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
