#!/bin/bash
# The Debian packages in clean chroots of Debian 12 (bookworm) and 13
# (trixie), the way a user meets them, piuparts-style:
#
#   build-trixie      in a trixie chroot: a host-only build with only the
#                     host build packages installed (so it needs none of the
#                     guest libraries; its unit tests include the ldd check),
#                     then data/build-debs (build, unit tests, lintian)
#   build-bookworm    data/build-debs on this machine (Debian 12)
#   guest-RELEASE     fresh chroot: apt resolves every dependency of
#                     ./passdesk_*.deb ./passdesk-tray_*.deb; with those
#                     dependencies in place (the baseline), apt install,
#                     `passdesk status` runs; then upgrade (a newer version)
#                     -> remove -> purge, with the config edits and state
#                     kept across the upgrade and remove, and after purge
#                     no file left behind or gone against the baseline
#   host-RELEASE      the same for passdesk-hostd alone: no QEMU pulled in,
#                     the unit enabled, `passdesk-hostd --version` runs and
#                     the other commands say they belong on the Proxmox host
#
#   tests/packaging/chroot-tests.sh OUTDIR [STEP...]   (default: all steps)
#
# OUTDIR gets the .debs, one log per step and testlog.json (one line per
# step, meson's format) that tests/run-all.sh counts. Needs root, debootstrap
# and the packages of `.ci/install-deps test`. The archive is the one this
# machine's apt sources name; debootstrapped base systems and downloaded
# .debs are kept in PASSDESK_CHROOT_CACHE (default /var/cache/passdesk-chroot)
# and rebuilt when older than a week or missing. Every mount is undone on
# exit, also on failure or Ctrl+C.
set -u
case "${1:-}" in
    -h|--help|"") sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; [ -n "${1:-}" ]; exit $? ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
shift
steps=${*:-build-bookworm build-trixie guest-bookworm host-bookworm guest-trixie host-trixie}
cache=${PASSDESK_CHROOT_CACHE:-/var/cache/passdesk-chroot}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/passdesk-chroot.XXXXXX")
log_json=$out/testlog.json
: >"$log_json"

# ---- mounts, undone whatever happens ----

# Whatever is mounted below $work, innermost first: read from /proc/mounts,
# so mounts made in any subshell are found too.
umount_all() {
    local m
    for m in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}
# In each step (a subshell): undo its mounts when it ends, however it ends.
guard() {
    trap 'umount_all; drop_chroot' EXIT
    trap 'exit 130' INT TERM
}
# A step's chroot goes when the step ends (PASSDESK_CHROOT_KEEP=1 keeps it
# for a look, below $TMPDIR or /var/tmp).
drop_chroot() {
    if [ -n "${PASSDESK_CHROOT_KEEP:-}" ]; then
        [ -z "${root:-}" ] || echo "kept $root"
        return 0
    fi
    [ -n "${root:-}" ] && [ -d "$root" ] && ! grep -q " $root" /proc/mounts \
        && rm -rf --one-file-system "$root"
    return 0
}
cleanup() {
    umount_all
    # --one-file-system: never follow a mount that is somehow still there.
    if grep -q " $work" /proc/mounts; then
        echo "chroot-tests: mounts under $work remain; not removing it" >&2
    else
        rm -rf --one-file-system "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the archive and the base systems ----

. "$src/tests/lib/debian-archive.sh"
host_release=$(pd_host_release)
archive=$(pd_archive)
if [ -z "$archive" ]; then
    echo "chroot-tests: no apt source for $host_release in /etc/apt/sources.list*; add the Debian archive there" >&2
    exit 1
fi

# A base system (debootstrap minbase) as a tarball in the cache.
base_tar() { # release
    local rel=$1 tar=$cache/$1-minbase.tar.zst
    if [ -s "$tar" ] && [ -z "$(find "$tar" -mtime +7)" ]; then
        echo "$tar"
        return 0
    fi
    mkdir -p "$cache/debootstrap-$rel"
    local d=$work/debootstrap-$rel
    echo "debootstrap $rel from $archive" >&2
    debootstrap --variant=minbase --cache-dir="$cache/debootstrap-$rel" "$rel" "$d" "$archive" \
        >"$out/debootstrap-$rel.log" 2>&1 || { tail -n 20 "$out/debootstrap-$rel.log" >&2; return 1; }
    tar -C "$d" --zstd -cf "$tar.tmp" . && mv "$tar.tmp" "$tar" || return 1
    rm -rf --one-file-system "$d"
    echo "$tar"
}

# A fresh chroot from the base tarball, with /proc, /sys, /dev mounted and
# the cached .debs under /var/cache/apt/archives; sets $root.
new_chroot() { # release name
    local rel=$1 tar
    root=$work/$2
    tar=$(base_tar "$rel") || return 1
    rm -rf --one-file-system "$root"
    mkdir -p "$root" "$cache/apt-$rel/partial"
    tar -C "$root" --zstd -xf "$tar" || return 1
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    echo "deb $archive $rel main" >"$root/etc/apt/sources.list"
    mount -t proc proc "$root/proc" || return 1
    mount -t sysfs -o ro sysfs "$root/sys" || return 1
    mount --bind /dev "$root/dev" || return 1
    mount --bind "$cache/apt-$rel" "$root/var/cache/apt/archives" || return 1
    in_chroot "$root" apt-get update -q >/dev/null || return 1
}

# The project's files (tracked and new), copied into a chroot.
copy_source() { # root
    mkdir -p "$1/src"
    (cd "$src" && git ls-files -z --cached --others --exclude-standard) \
        | (cd "$src" && tar --null -T - -cf -) | tar -C "$1/src" -xf -
}

# ---- the file-list comparison (piuparts' check, its ignores) ----

# Every path on the chroot's own file system, minus what changes anyway:
# apt's and dpkg's bookkeeping, logs, caches, and files that the packages
# our dependencies pulled in regenerate.
snapshot() { # root file
    (cd "$1" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
        -o -path ./tmp -o -path ./var/tmp -o -path ./var/cache -o -path ./var/log \
        -o -path ./var/lib/apt -o -path ./var/lib/dpkg -o -path ./src -o -path ./debs \) -prune \
        -o -print) | grep -v -E '^\./etc/(ld\.so\.cache|machine-id)$|^\./var/lib/dbus/machine-id$|^\./var/lib/systemd/deb-systemd-(helper|user-helper)-(enabled|masked)(/|$)|^\./var/lib/systemd/catalog/database$|/icon-theme\.cache$|^\./var/lib/ucf/|^\./etc/(passwd|group|shadow|gshadow|subuid|subgid)-$' \
        | sort >"$2"
}

# ---- step bookkeeping ----

failed=0
record() { # name result seconds
    printf '{"name": "packaging/%s", "result": "%s", "duration": %s}\n' "$1" "$2" "$3" >>"$log_json"
}
run_step() { # name function
    local name=$1 start=$SECONDS rc
    echo "== packaging: $name"
    ( set -e; "$2" ) >"$out/$name.log" 2>&1
    rc=$?
    umount_all
    local took=$((SECONDS - start))
    if [ $rc -eq 0 ]; then
        echo "ok   $name (${took} s)"
        record "$name" OK "$took"
    else
        echo "FAIL $name (${took} s), last lines of $out/$name.log:"
        tail -n 40 "$out/$name.log" | sed 's/^/    /'
        record "$name" FAIL "$took"
        failed=1
    fi
}

fail() { echo "FAILED: $*"; exit 1; }

# ---- steps ----

step_build_bookworm() {
    guard
    [ "$host_release" = bookworm ] || fail "build-bookworm runs on a Debian 12 machine (this is $host_release)"
    mkdir -p "$out/bookworm"
    rm -f "$out/bookworm"/*.deb
    "$src/data/build-debs" "$out/bookworm"
}

step_build_trixie() {
    guard
    new_chroot trixie build-trixie
    copy_source "$root"
    echo "-- every name of .ci/packages/ has a candidate on trixie"
    in_chroot "$root" sh -c 'apt-get install --simulate -q $(sh /src/.ci/install-deps --list test)' >/dev/null
    echo "-- host-only build with the host build packages alone"
    in_chroot "$root" sh /src/.ci/install-deps build-host
    for p in libva-dev libgtk-3-dev libpulse-dev libusb-1.0-0-dev libgudev-1.0-dev \
        libpolkit-gobject-1-dev libjson-glib-dev; do
        if in_chroot "$root" dpkg -s "$p" >/dev/null 2>&1; then fail "$p is installed"; fi
    done
    in_chroot "$root" sh -c 'cd /src && meson setup /build-host -Dguest=false -Dtray=false -Dwerror=true \
        && meson compile -C /build-host && PASSDESK_DATA_FILES_OPTIONAL=1 meson test -C /build-host --print-errorlogs --num-processes 2'
    echo "-- the packages (build dependencies from data/debian/control)"
    in_chroot "$root" sh -c 'cd /src && cp -r data/debian debian && apt-get build-dep -y -q ./ && rm -rf debian'
    in_chroot "$root" apt-get install -y -q --no-install-recommends lintian
    in_chroot "$root" /src/data/build-debs /debs
    mkdir -p "$out/trixie"
    rm -f "$out/trixie"/*.deb
    cp "$root"/debs/*.deb "$out/trixie/"
}

# A copy of a .deb with a higher version, for the upgrade (as a newer
# upload would be: same files, new version).
newer_deb() { # deb dir
    local x=$work/repack.$$ ver
    rm -rf "$x"
    dpkg-deb -R "$1" "$x"
    ver=$(sed -n 's/^Version: //p' "$x/DEBIAN/control")
    sed -i "s/^Version: .*/Version: $ver+upgrade1/" "$x/DEBIAN/control"
    # passdesk-tray's exact dependency on passdesk follows.
    sed -i "s/(= $ver)/(= $ver+upgrade1)/" "$x/DEBIAN/control"
    dpkg-deb -Zxz -b "$x" "$2/" >/dev/null
    rm -rf "$x"
}

# install -> upgrade -> remove -> purge for PACKAGES, with the caller's
# checks between; leaves the file lists for the final comparison.
lifecycle() { # release name check-installed check-upgraded check-removed pkg...
    local rel=$1 name=$2 installed=$3 upgraded=$4 removed=$5
    shift 5
    new_chroot "$rel" "$name"
    mkdir -p "$root/debs/v1" "$root/debs/v2"
    local debs=() names=() p
    for p in "$@"; do
        cp "$out/$rel/${p}_"*.deb "$root/debs/v1/"
        newer_deb "$out/$rel/${p}_"*.deb "$root/debs/v2"
        debs+=("./debs/v1/$(basename "$out/$rel/${p}_"*.deb)")
        names+=("$p")
    done
    echo "-- in the clean chroot, apt resolves every dependency of ${debs[*]}"
    in_chroot "$root" sh -c "cd / && apt-get install --simulate -q ${debs[*]}"
    # Their dependencies (and Recommends) first, then the file list: what is
    # compared after the purge is what our packages did, not what purging
    # systemd or xml-core leaves (piuparts keeps lists of those instead).
    local deps
    deps=$(for d in "$root"/debs/v1/*.deb; do dpkg-deb -f "$d" Depends Recommends; done \
        | sed -n 's/^[A-Za-z]*: //p' | tr ',' '\n' | sed 's/^ *//; s/ *$//' \
        | grep -v -E '^passdesk([ -]|$)' | grep . | sort -u | paste -sd, | sed 's/,/, /g')
    echo "-- dependencies: $deps"
    in_chroot "$root" apt-get satisfy -y -q "$deps"
    snapshot "$root" "$work/$name.before"
    in_chroot "$root" dpkg-query -W -f '${Package}\n' | sort >"$work/$name.pkgs-before"

    echo "-- apt install ${debs[*]}"
    in_chroot "$root" sh -c "cd / && apt-get install -y -q ${debs[*]}"
    in_chroot "$root" dpkg-query -W -f '${Package}\n' | sort >"$work/$name.pkgs-installed"
    local more
    more=$(comm -13 "$work/$name.pkgs-before" "$work/$name.pkgs-installed" | grep -v -x -F "$(printf '%s\n' "${names[@]}")" || true)
    [ -z "$more" ] || fail "installing ours pulled in more than its dependencies: $more"
    "$installed" "$root"

    echo "-- upgrade to the newer version"
    in_chroot "$root" sh -c "cd / && apt-get install -y -q ./debs/v2/*.deb"
    for p in "${names[@]}"; do
        in_chroot "$root" dpkg-query -W -f '${Version}\n' "$p" | grep -q '+upgrade1$' \
            || fail "$p was not upgraded"
    done
    "$upgraded" "$root"

    echo "-- remove"
    in_chroot "$root" apt-get remove -y -q "${names[@]}"
    "$removed" "$root"

    echo "-- purge"
    in_chroot "$root" apt-get purge -y -q "${names[@]}"
    in_chroot "$root" dpkg-query -W -f '${Package}\n' | sort >"$work/$name.pkgs-after"
    cmp -s "$work/$name.pkgs-before" "$work/$name.pkgs-after" || fail "the package list differs after purge"
    snapshot "$root" "$work/$name.after"
    if ! diff -u "$work/$name.before" "$work/$name.after" >"$work/$name.diff"; then
        echo "files left behind or gone after purge (- gone, + left):"
        grep '^[-+]\./' "$work/$name.diff"
        fail "the file system is not as before the install"
    fi
    echo "purged: no file left behind"
}

guest_installed() {
    local root=$1 rc=0
    # Exit 1 (something degraded: no Intel GPU in a chroot) is an answer;
    # a crash or a usage error is not.
    in_chroot "$root" passdesk status || rc=$?
    [ $rc -le 1 ] || fail "passdesk status exited $rc"
    in_chroot "$root" passdesk-agent --help >/dev/null
    [ -x "$root/usr/libexec/passdesk-vaprobe" ] || fail "no VA-API probe"
    [ ! -e "$root/usr/sbin/passdesk-hostd" ] || fail "the guest got passdesk-hostd"
    [ -L "$root/etc/systemd/system/multi-user.target.wants/passdesk-agent.service" ] \
        || fail "passdesk-agent is not enabled"
    for f in usr/share/dbus-1/system.d/org.passdesk.Agent1.conf \
        usr/share/polkit-1/actions/org.passdesk.policy etc/xdg/autostart/org.passdesk.Tray.desktop \
        usr/share/man/man1/passdesk.1.gz; do
        [ -e "$root/$f" ] || fail "/$f is missing"
    done
    in_chroot "$root" sh -c 'ls /usr/lib/udev/rules.d/60-passdesk-hostlink.rules /lib/udev/rules.d/60-passdesk-hostlink.rules 2>/dev/null' | grep -q . \
        || fail "no udev rule"
    # The Recommends brought a VA-API driver for Intel.
    in_chroot "$root" dpkg -s intel-media-va-driver >/dev/null 2>&1 \
        || in_chroot "$root" dpkg -s intel-media-va-driver-non-free >/dev/null 2>&1 \
        || fail "no Intel VA-API driver came with the Recommends"
    in_chroot "$root" dpkg-query -W -f '${Conffiles}\n' passdesk-tray | grep -q org.passdesk.Tray.desktop \
        || fail "the autostart entry is not a conffile"
}
guest_upgraded() {
    in_chroot "$1" passdesk status >/dev/null || [ $? -le 1 ] || fail "passdesk status after upgrade"
}
guest_removed() {
    [ ! -e "$1/usr/bin/passdesk" ] || fail "passdesk still there after remove"
    # Conffiles stay until purge.
    [ -e "$1/etc/xdg/autostart/org.passdesk.Tray.desktop" ] || fail "remove took the conffile"
}

host_installed() {
    local root=$1 rc=0
    in_chroot "$root" passdesk-hostd --version | grep -q '^passdesk-hostd ' || fail "--version"
    # Nothing of QEMU or of the guest came along.
    if in_chroot "$root" dpkg-query -W -f '${Package}\n' | grep -E '^(qemu|pve-|passdesk$|passdesk-tray|libva|libgtk|libpulse|libusb|libgudev|libpolkit|libjson-glib)'; then
        fail "passdesk-hostd pulled in the packages above"
    fi
    [ -L "$root/etc/systemd/system/multi-user.target.wants/passdesk-hostd.service" ] \
        || fail "passdesk-hostd is not enabled"
    in_chroot "$root" dpkg-query -W -f '${Conffiles}\n' passdesk-hostd | grep -q /etc/passdesk/hostd.conf \
        || fail "/etc/passdesk/hostd.conf is not a conffile"
    # The shipped config is valid (judged with a qm that exists: there is none here).
    { cat "$root/etc/passdesk/hostd.conf"; echo "qm=/bin/true"; } | sed 's/^\[global\]$//' \
        | { echo "[global]"; cat; } >"$root/tmp/hostd-check.conf"
    in_chroot "$root" passdesk-hostd --config /tmp/hostd-check.conf check-config >/dev/null \
        || fail "the shipped config is not valid"
    # No qm here: every command says where hostd belongs, and touches nothing.
    for cmd in status "setup 100" "setup --remove 100" run check-config "doctor 100"; do
        rc=0
        in_chroot "$root" sh -c "passdesk-hostd $cmd 2>&1" >"$work/host-cmd.out" || rc=$?
        [ $rc -eq 1 ] && grep -q "belongs on the Proxmox host" "$work/host-cmd.out" \
            || { cat "$work/host-cmd.out"; fail "passdesk-hostd $cmd off Proxmox (exit $rc)"; }
    done
    # The admin's edit and hostd's state, to be kept by the upgrade.
    echo "[vm 100]" >>"$root/etc/passdesk/hostd.conf"
    echo "enabled=false" >>"$root/etc/passdesk/hostd.conf"
    mkdir -p "$root/var/lib/passdesk"
    echo "kept" >"$root/var/lib/passdesk/upgrade-probe"
}
host_upgraded() {
    grep -q '^\[vm 100\]' "$1/etc/passdesk/hostd.conf" || fail "the upgrade lost the config edit"
    [ -e "$1/var/lib/passdesk/upgrade-probe" ] || fail "the upgrade lost the state"
}
host_removed() {
    [ ! -e "$1/usr/sbin/passdesk-hostd" ] || fail "passdesk-hostd still there after remove"
    grep -q '^\[vm 100\]' "$1/etc/passdesk/hostd.conf" || fail "remove took the config"
    [ -e "$1/var/lib/passdesk/upgrade-probe" ] || fail "remove took the state (purge's job)"
}

step_guest() { guard; lifecycle "$1" "guest-$1" guest_installed guest_upgraded guest_removed passdesk passdesk-tray passdesk-l10n; }
step_host() { guard; lifecycle "$1" "host-$1" host_installed host_upgraded host_removed passdesk-hostd passdesk-l10n; }
step_guest_bookworm() { step_guest bookworm; }
step_guest_trixie() { step_guest trixie; }
step_host_bookworm() { step_host bookworm; }
step_host_trixie() { step_host trixie; }

if [ "$(id -u)" != 0 ]; then
    echo "chroot-tests: needs root (chroot, mounts); skipped"
    for s in $steps; do record "$s" SKIP 0; done
    exit 0
fi
command -v debootstrap >/dev/null || { echo "chroot-tests: debootstrap missing (sh .ci/install-deps test)" >&2; exit 1; }
echo "archive: $archive; cache: $cache"
for s in $steps; do
    run_step "$s" "step_${s//-/_}"
done
exit $failed
