#!/usr/bin/python3
"""bench-scanlog: `passdesk scan-log` throughput vs `grep -E -c` with the same rules.

Generates a log (default 200 MB) in a temp dir: mostly benign kernel lines in
a realistic mix of formats (dmesg, dmesg -T, dmesg -H deltas, journalctl,
ISO syslog, <N> prefixes), with an incident every few thousand lines. Times
`passdesk scan-log` and `grep -E -c -e 'RULE1|RULE2|...'` (the rules from
`passdesk scan-log --list-patterns` as one alternation) on the same file in the
same run, each best of a few runs, and prints MB/s for both and the ratio.
Goal (printed, not asserted): scan-log within 2x of grep.

usage: bench-scanlog.py PASSDESK [SIZE_MB]
"""
import os
import random
import subprocess
import sys
import tempfile
import time

GOAL_RATIO = 2.0
BUDGET_S = 90.0

BENIGN = [
    "usb 1-4: New USB device found, idVendor=046d, idProduct=c52b, bcdDevice=12.11",
    "usb 1-4: New USB device strings: Mfr=1, Product=2, SerialNumber=0",
    "input: Logitech USB Receiver as /devices/pci0000:00/0000:00:14.0/usb1/1-4/1-4:1.0/input/input5",
    "hid-generic 0003:046D:C52B.0001: input,hidraw0: USB HID v1.11 Keyboard [Logitech USB Receiver] on usb-0000:00:14.0-4/input0",
    "EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.",
    "audit: type=1400 audit(1700000000.123:42): apparmor=\"STATUS\" operation=\"profile_load\" profile=\"unconfined\" name=\"/usr/bin/man\" pid=612 comm=\"apparmor_parser\"",
    "i915 0000:00:02.0: [drm] Finished loading DMC firmware i915/kbl_dmc_ver1_04.bin (v1.4)",
    "[drm] Initialized i915 1.6.0 20201103 for 0000:00:02.0 on minor 0",
    "snd_hda_codec_hdmi hdaudioC0D2: HDMI: invalid ELD data byte 0",
    "virtio_net virtio1 ens18: renamed from eth0",
    "e1000e 0000:00:1f.6 eno1: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    "systemd-journald[245]: Received client request to flush runtime journal.",
    "NET: Registered PF_PACKET protocol family",
    "pci 0000:00:1c.0: PCI bridge to [bus 01]",
    "ACPI: button: Power Button [PWRF]",
    "random: crng init done",
    "Bluetooth: hci0: Firmware revision 0.1 build 19 week 44 2021",
    "usb 1-4: reset high-speed USB device number 5 using xhci_hcd",
    "kvm_intel: L1TF CPU bug present and SMT on, data leak possible.",
    "fbcon: i915drmfb (fb0) is primary device",
]
INCIDENTS = [
    "usb 1-4: device descriptor read/64, error -71",
    "xhci_hcd 0000:00:14.0: xHCI host controller not responding, assume dead",
    "usb usb1-port3: Cannot enable. Maybe the USB cable is bad?",
    "i915 0000:00:02.0: [drm] GPU HANG: ecode 9:1:85dffffb, in Xorg [766]",
    "i915 0000:00:02.0: [drm] Resetting rcs0 for preemption time out",
    "i915 0000:00:02.0: [drm] *ERROR* CPU pipe A FIFO underrun",
    "snd_hda_intel 0000:00:1f.3: azx_get_response timeout, switching to polling mode: last cmd=0x20370000",
    "snd_hda_intel 0000:00:1f.3: couldn't bind with audio component",
    "vfio-pci 0000:00:02.0: Invalid PCI ROM header signature: expecting 0xaa55, got 0xffff",
]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def fmt(i, t, msg):
    # pastes mix formats by section (a dmesg, then a journal, ...)
    k = (i // 2000) % 6
    s = int(t)
    hh, mm, ss = (s // 3600) % 24, (s // 60) % 60, s % 60
    if k == 0:
        return "[%12.6f] %s\n" % (t, msg)
    if k == 1:
        return "[%s Nov 24 %02d:%02d:%02d 2026] %s\n" % (DAYS[i % 7], hh, mm, ss, msg)
    if k == 2:
        return "Nov 24 %02d:%02d:%02d guest kernel: %s\n" % (hh, mm, ss, msg)
    if k == 3:
        return "2026-11-24T%02d:%02d:%02d.%06d+0000 guest kernel: %s\n" % (
            hh, mm, ss, int((t % 1) * 1e6), msg)
    if k == 4:
        return "<6>[%12.6f] %s\n" % (t, msg)
    return "[  %+9.6f] %s\n" % (0.012345 + (i % 7) / 1000, msg)


def make_block(rng, nbytes):
    out = []
    size = 0
    t = 1.0
    i = 0
    while size < nbytes:
        t += rng.random() * 0.05
        if rng.random() < 1 / 3000:
            msg = rng.choice(INCIDENTS)
        else:
            msg = rng.choice(BENIGN)
        line = fmt(i, t, msg)
        out.append(line)
        size += len(line)
        i += 1
    return "".join(out).encode()


def timed(argv, path, runs=3):
    best = None
    out = b""
    for _ in range(runs):
        with open(path, "rb") as f:
            t0 = time.monotonic()
            p = subprocess.run(argv, stdin=f, stdout=subprocess.PIPE,
                               env=dict(os.environ, LC_ALL="C"))
            dt = time.monotonic() - t0
        if p.returncode not in (0, 1):
            sys.exit("%s failed with exit status %d" % (argv[0], p.returncode))
        out = p.stdout
        best = dt if best is None else min(best, dt)
    return best, out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    passdesk = sys.argv[1]
    size_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    start = time.monotonic()
    rng = random.Random(42)
    with tempfile.TemporaryDirectory(prefix="bench-scanlog-") as tmp:
        log = os.path.join(tmp, "kern.log")
        block = make_block(rng, 4 * 1024 * 1024)
        with open(log, "wb") as f:
            written = 0
            while written < size_mb * 1024 * 1024:
                f.write(block)
                written += len(block)
        rules = subprocess.run([passdesk, "scan-log", "--list-patterns"], check=True,
                               stdout=subprocess.PIPE).stdout.decode().split("\n")
        alternation = "|".join(r for r in rules if r)
        mb = written / 1e6
        gen_s = time.monotonic() - start
        print("generated %.0f MB log in %.1f s" % (mb, gen_s))

        t_scan, out = timed([passdesk, "scan-log"], log)
        findings = out.count(b"\n")
        t_grep, gout = timed(["grep", "-E", "-c", "-e", alternation], log)
        ratio = t_scan / t_grep
        print("passdesk scan-log: %7.1f MB/s (%.2f s, %d findings)" % (mb / t_scan, t_scan, findings))
        print("grep -E -c       : %7.1f MB/s (%.2f s, %s matching lines)" % (
            mb / t_grep, t_grep, gout.decode().strip()))
        print("ratio scan-log/grep time: %.2fx (goal: within %.1fx) %s" % (
            ratio, GOAL_RATIO, "MET" if ratio <= GOAL_RATIO else "NOT MET"))
        total = time.monotonic() - start
        print("benchmark took %.1f s%s" % (total, "" if total <= BUDGET_S else
              " (over the %.0f s budget: the machine is slow or loaded; try a smaller SIZE_MB)" % BUDGET_S))


if __name__ == "__main__":
    main()
