#!/bin/bash
# Builds the Debian 12 guest of the real-VM test (tests/vm/vm-test.py):
#
#   tests/vm/build-image.sh OUTDIR DEB...
#   tests/vm/build-image.sh --base OUTDIR    only the cached base system
#
# The base system (debootstrap of bookworm with a kernel, systemd, udev,
# D-Bus, logind sessions, polkit and qemu-guest-agent, and the test's users
# and settings below) is kept as a tarball in PASSDESK_VM_CACHE (default
# /var/cache/passdesk-vm) and rebuilt when older than a week or when its
# package list or settings change. Each run unpacks it, installs the given
# .debs with apt (so apt resolves their dependencies, as for a user), and
# writes OUTDIR/root.img (raw ext4, the guest's /dev/vda), OUTDIR/vmlinuz
# and OUTDIR/initrd.img (from the guest's /boot). The archive is the one
# this machine's apt sources name. Needs root, debootstrap, zstd, mke2fs.
set -eu
case "${1:-}" in
    -h|--help|"") sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; [ -n "${1:-}" ]; exit $? ;;
esac
base_only=
if [ "$1" = --base ]; then base_only=1; shift; fi
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
shift
[ $# -gt 0 ] || [ -n "$base_only" ] || { echo "build-image: no .deb given" >&2; exit 2; }
debs=()
for d in "$@"; do
    [ -f "$d" ] || { echo "build-image: $d is not a file" >&2; exit 2; }
    debs+=("$(cd "$(dirname "$d")" && pwd)/$(basename "$d")")
done
. "$src/tests/lib/debian-archive.sh"
cache=${PASSDESK_VM_CACHE:-/var/cache/passdesk-vm}
release=bookworm
# Bookworm names (apt-cache policy NAME): logind sessions need
# libpam-systemd; polkitd is polkit's daemon since Debian 12.
packages="systemd-sysv udev dbus polkitd libpam-systemd qemu-guest-agent"
kernel=linux-image-amd64
archive=$(pd_archive)
if [ -z "$archive" ]; then
    echo "build-image: no apt source for $(pd_host_release) in /etc/apt/sources.list*; add the Debian archive there" >&2
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/var/tmp}/passdesk-vm.XXXXXX")

umount_all() {
    local m
    for m in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}
cleanup() {
    umount_all
    if grep -q " $work" /proc/mounts; then
        echo "build-image: mounts under $work remain; not removing it" >&2
    else
        rm -rf --one-file-system "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The guest's settings, run in the base root (chroot). Part of the cache
# key: changing them rebuilds the base.
configure_guest() {
    set -e
    echo passdesk-vm >/etc/hostname
    printf '127.0.0.1 localhost\n127.0.1.1 passdesk-vm\n' >/etc/hosts
    echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >/etc/fstab
    # The previous boot's journal is read with journalctl -b -1.
    mkdir -p /var/log/journal /etc/systemd/journald.conf.d
    printf '[Journal]\nStorage=persistent\n' >/etc/systemd/journald.conf.d/persistent.conf
    # tester: logged in on tty1 (an active session on seat0); other: never
    # logged in (its commands run outside any session).
    useradd -m -s /bin/bash tester
    useradd -m -s /bin/bash other
    mkdir -p /etc/systemd/system/getty@tty1.service.d
    printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin tester --noclear %%I $TERM\n' \
        >/etc/systemd/system/getty@tty1.service.d/autologin.conf
    # In that session, a runner executes what the test writes into its FIFO
    # (blocking reads: it costs nothing while idle), so D-Bus calls come
    # from a process of the active session, as from the desktop.
    cat >/usr/local/bin/pd-session-runner <<'RUNNER'
#!/bin/sh
d=$XDG_RUNTIME_DIR/pdtest
mkdir -p "$d"
rm -f "$d/cmd"
mkfifo "$d/cmd"
echo "$XDG_SESSION_ID" >"$d/session"
while :; do
    IFS=' ' read -r id cmd <"$d/cmd" || continue
    [ -n "$id" ] || continue
    sh -c "$cmd" >"$d/$id.out" 2>&1
    echo $? >"$d/$id.rc.tmp" && mv "$d/$id.rc.tmp" "$d/$id.rc"
done
RUNNER
    chmod 755 /usr/local/bin/pd-session-runner
    printf '[ "$(tty)" = /dev/tty1 ] && exec /usr/local/bin/pd-session-runner\n' >>/home/tester/.profile
    # Timers and jobs that would only cost CPU under emulation.
    for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
        fstrim.timer man-db.timer systemd-tmpfiles-clean.timer dpkg-db-backup.timer; do
        ln -sf /dev/null "/etc/systemd/system/$u"
    done
    : >/etc/machine-id
    rm -f /var/lib/dbus/machine-id
}

# The kernel, with an initramfs of only what this guest needs to mount its
# root (virtio disk, ext4): MODULES=most takes minutes to build under load
# and seconds to unpack under emulation.
install_kernel() {
    set -e
    mkdir -p /etc/initramfs-tools/conf.d
    printf 'MODULES=list\nCOMPRESS=zstd\n' >/etc/initramfs-tools/conf.d/passdesk-vm.conf
    printf 'virtio_pci\nvirtio_blk\next4\n' >>/etc/initramfs-tools/modules
    apt-get update -q
    apt-get install -y -q --no-install-recommends initramfs-tools zstd "$1"
}

base_key() {
    { echo "$release $packages $kernel"; declare -f configure_guest install_kernel; } | sha256sum | cut -c1-16
}

base_tar() {
    local tar=$cache/$release-$(base_key).tar.zst
    if [ -s "$tar" ] && [ -z "$(find "$tar" -mtime +7)" ]; then
        echo "$tar"
        return 0
    fi
    mkdir -p "$cache/debootstrap-$release"
    rm -f "$cache/$release"-*.tar.zst
    local d=$work/base
    echo "build-image: debootstrap $release from $archive (about 3 minutes)" >&2
    debootstrap --variant=minbase --include="${packages// /,}" \
        --cache-dir="$cache/debootstrap-$release" "$release" "$d" "$archive" \
        >"$out/debootstrap.log" 2>&1 || { tail -n 20 "$out/debootstrap.log" >&2; return 1; }
    echo "deb $archive $release main" >"$d/etc/apt/sources.list"
    cp /etc/resolv.conf "$d/etc/resolv.conf"
    mkdir -p "$cache/apt-$release/partial"
    mount -t proc proc "$d/proc" && mount --bind /dev "$d/dev" \
        && mount --bind "$cache/apt-$release" "$d/var/cache/apt/archives"
    in_chroot "$d" bash -c "$(declare -f install_kernel); install_kernel $kernel" \
        >>"$out/debootstrap.log" 2>&1 || { tail -n 20 "$out/debootstrap.log" >&2; return 1; }
    umount_all
    in_chroot "$d" bash -c "$(declare -f configure_guest); configure_guest" >&2
    in_chroot "$d" apt-get clean
    tar -C "$d" --zstd -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf --one-file-system "$d"
    echo "$tar"
}

start=$SECONDS
tar=$(base_tar)
echo "build-image: base $tar"
[ -z "$base_only" ] || exit 0
root=$work/root
mkdir -p "$root" "$cache/apt-$release/partial"
tar -C "$root" --zstd -xf "$tar"
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $archive $release main" >"$root/etc/apt/sources.list"
# No service starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind "$cache/apt-$release" "$root/var/cache/apt/archives"
mkdir -p "$root/debs"
cp "${debs[@]}" "$root/debs/"
in_chroot "$root" apt-get update -q >"$out/apt.log" 2>&1 || { tail "$out/apt.log" >&2; exit 1; }
# The guest needs no VA-API driver (no GPU there): no Recommends.
(cd "$root/debs" && ls ./*.deb) | sed 's|^\./|/debs/|' >"$work/debs.list"
in_chroot "$root" sh -c 'apt-get install -y -q --no-install-recommends $(cat)' <"$work/debs.list" \
    >>"$out/apt.log" 2>&1 || { tail -n 30 "$out/apt.log" >&2; exit 1; }
umount_all
rm -rf "$root/debs" "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
cp -L "$root/boot/vmlinuz" "$out/vmlinuz" 2>/dev/null || cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
cp -L "$root/boot/initrd.img" "$out/initrd.img" 2>/dev/null || cp "$root"/boot/initrd.img-* "$out/initrd.img"
size=$(( $(du -sm --one-file-system "$root" | cut -f1) + 768 ))
rm -f "$out/root.img"
mke2fs -q -t ext4 -L root -d "$root" "$out/root.img" "${size}M"
echo "build-image: $out/root.img (${size} MiB) in $((SECONDS - start)) s"
