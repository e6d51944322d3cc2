#!/bin/bash
# The real-VM test (issue 13): the whole cold cycle on a Debian 12 guest
# under QEMU, with real systemd, udev, logind, polkit, passdesk-agent and
# passdesk-hostd, and a Proxmox-like qm (tests/vm/qm) with a hookscript.
#
#   tests/vm/vm-tests.sh OUTDIR [DEBDIR]
#
# DEBDIR holds the .debs built from this tree (tests/run-all.sh passes the
# ones its chroot step built); without it data/build-debs builds them into
# OUTDIR/debs. Steps: build the guest image (tests/vm/build-image.sh; the
# base system is cached in /var/cache/passdesk-vm), pick the accelerator
# (KVM only when /dev/kvm exists and a probe boot of the guest's kernel
# works, else TCG), then tests/vm/vm-test.py: each check prints its figure
# and is one line of OUTDIR/testlog.json (meson's format). On failure the
# serial console, hostd's log, the hook and qm logs and the guest's journal
# stay in OUTDIR. Needs root, qemu-system-x86, debootstrap, zstd.
#
#   PASSDESK_VM_ACCEL=tcg|kvm      skip the detection
#   PASSDESK_VM_REBOOT_CHECKS=0    leave out issue 14's reboot checks
set -u
case "${1:-}" in
    -h|--help|"") sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; [ -n "${1:-}" ]; exit $? ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
debdir=${2:-}
log_json=$out/testlog.json
: >"$log_json"
start=$SECONDS

record() { # name result seconds [text]
    printf '{"name": "vm/%s", "result": "%s", "duration": %s}\n' "$1" "$2" "$3" >>"$log_json"
}

if [ "$(id -u)" != 0 ]; then
    echo "vm-tests: needs root (chroot, mounts, image); skipped"
    record all SKIP 0
    exit 0
fi
for tool in qemu-system-x86_64 debootstrap zstd mke2fs; do
    command -v "$tool" >/dev/null || { echo "vm-tests: $tool missing (sh .ci/install-deps test)" >&2; record tools FAIL 0; exit 1; }
done
# Whatever a previous run left: QEMU of this output directory.
if [ -f "$out/pve/run/qemu-server/100.pid" ]; then
    pid=$(cat "$out/pve/run/qemu-server/100.pid")
    if grep -q "qemu" "/proc/$pid/comm" 2>/dev/null; then kill "$pid"; fi
fi
rm -rf "$out/pve" "$out/hostd-state" "$out"/*.log "$out"/guest-journal-*.txt "$out/image"

if [ -z "$debdir" ]; then
    echo "== vm: building the .debs (data/build-debs)"
    debdir=$out/debs
    rm -f "$debdir"/*.deb
    "$src/data/build-debs" "$debdir" >"$out/build-debs.log" 2>&1 || {
        tail -n 30 "$out/build-debs.log"; record build-debs FAIL $((SECONDS - start)); exit 1; }
fi
guest_debs=$(ls "$debdir"/passdesk_*.deb 2>/dev/null | head -n 1)
host_deb=$(ls "$debdir"/passdesk-hostd_*.deb 2>/dev/null | head -n 1)
if [ -z "$guest_debs" ] || [ -z "$host_deb" ]; then
    echo "vm-tests: no passdesk_*.deb and passdesk-hostd_*.deb in $debdir" >&2
    record debs FAIL 0
    exit 1
fi

echo "== vm: the guest image"
t=$SECONDS
if bash "$here/build-image.sh" "$out/image" $guest_debs >"$out/build-image.log" 2>&1; then
    echo "ok   image ($((SECONDS - t)) s): $(tail -n 1 "$out/build-image.log")"
    record image OK $((SECONDS - t))
else
    echo "FAIL image ($((SECONDS - t)) s), last lines of $out/build-image.log:"
    tail -n 30 "$out/build-image.log" | sed 's/^/    /'
    record image FAIL $((SECONDS - t))
    exit 1
fi
# hostd as the package ships it.
rm -rf "$out/hostd-root"
dpkg-deb -x "$host_deb" "$out/hostd-root"
hostd=$out/hostd-root/usr/sbin/passdesk-hostd

# KVM only where it boots this kernel: some machines have a nested KVM that
# does not boot Debian's kernel. The probe: the kernel reaches its init
# within 30 s.
accel=${PASSDESK_VM_ACCEL:-}
if [ -z "$accel" ]; then
    accel=tcg
    why="no /dev/kvm"
    if [ -e /dev/kvm ]; then
        rm -f "$out/kvm-probe.log"
        timeout 30 qemu-system-x86_64 -accel kvm -cpu host -m 512 -nodefaults -display none \
            -no-reboot -kernel "$out/image/vmlinuz" -initrd "$out/image/initrd.img" \
            -append "console=ttyS0 panic=-1 rdinit=/bin/false" -serial "file:$out/kvm-probe.log" \
            >/dev/null 2>&1
        if grep -q "Run /bin/false as init process\|Kernel panic" "$out/kvm-probe.log" 2>/dev/null; then
            accel=kvm
            why="/dev/kvm booted the guest kernel"
        else
            why="/dev/kvm did not boot the guest kernel in 30 s"
        fi
    fi
    echo "== vm: accelerator $accel ($why)"
else
    echo "== vm: accelerator $accel (PASSDESK_VM_ACCEL)"
fi

echo "== vm: checks"
PASSDESK_VM_ACCEL=$accel python3 "$here/vm-test.py" "$out" "$out/image" "$hostd"
rc=$?
echo "vm: $((SECONDS - start)) s in all"
# The image is large and rebuilt each run; what a reader needs was copied out.
rm -f "$out/image/root.img"
exit $rc
