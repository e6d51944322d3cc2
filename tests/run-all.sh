#!/bin/bash
# Runs every test: a normal build and an AddressSanitizer +
# UndefinedBehaviorSanitizer build, each with `meson test`; a clang build
# that runs each libFuzzer target for a bounded time; the benchmarks once;
# then the Debian packages in Debian 12 and 13 chroots
# (tests/packaging/chroot-tests.sh: root only, skipped otherwise). Prints
# `tests: N passed, N failed` counted from meson's test logs and the chroot
# steps' log; then the real-VM test (tests/vm/vm-tests.sh: the whole cold
# cycle on a Debian 12 guest under QEMU, with the chroot step's .debs; root
# only). Exits non-zero on any failure. Needs the packages of
# `sh .ci/install-deps test`.
#
#   tests/run-all.sh            from anywhere in the checkout
#   BUILD_PREFIX=dir tests/...  put the build directories elsewhere
#                               (default: build-tests/)
#   PASSDESK_CHROOT_TESTS=0     leave out the chroot steps (counted as skipped)
#   PASSDESK_VM_TESTS=0         leave out the real-VM test (counted as skipped)
set -u
case "${1:-}" in
    -h|--help)
        sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"
        exit 0 ;;
    "") ;;
    *)
        echo "run-all.sh: takes no arguments (try --help)" >&2
        exit 2 ;;
esac
cd "$(dirname "$0")/.."
prefix=${BUILD_PREFIX:-build-tests}
jobs=$(nproc)
status=0

setup() { # dir, extra meson args...
    local dir=$1; shift
    mkdir -p "$(dirname "$dir")"
    if [ -d "$dir" ]; then
        meson setup --reconfigure "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1
    else
        meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1
    fi || { cat "$dir.setup.log"; return 1; }
    meson compile -C "$dir" || return 1
}

run() { # dir, meson test args...
    local dir=$1; shift
    meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@" || status=1
}

echo "== normal build"
setup "$prefix/normal" || exit 1
# Optional test packages must be there when every test is to run.
if grep -q "WARNING: umockdev is missing" "$prefix/normal.setup.log"; then
    echo "umockdev is missing, so its tests would be left out: sh .ci/install-deps test"
    status=1
fi
run "$prefix/normal"
echo "== sanitizer build (address, undefined)"
setup "$prefix/asan" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug || exit 1
run "$prefix/asan" --timeout-multiplier 3
echo "== fuzzing build (clang, libFuzzer; each target in suite 'fuzz' runs for a bounded time)"
# Only the fuzz targets are built and run here (the rest ran above): each
# libFuzzer target for fuzz_max_time seconds (tests/fuzz/meson.build).
fuzz_build() {
    local dir=$1
    if [ -d "$dir" ]; then
        CC=clang meson setup --reconfigure "$dir" -Dwerror=true -Dfuzzing=true -Db_lundef=false \
            -Db_sanitize=address,undefined -Dtray=false >"$dir.setup.log" 2>&1
    else
        CC=clang meson setup "$dir" -Dwerror=true -Dfuzzing=true -Db_lundef=false \
            -Db_sanitize=address,undefined -Dtray=false >"$dir.setup.log" 2>&1
    fi || { cat "$dir.setup.log"; return 1; }
    local targets
    targets=$(meson introspect --tests "$dir" | /usr/bin/python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
for t in json.load(sys.stdin):
    exe = os.path.realpath(t["cmd"][0])
    if any(s.split(":")[-1] == "fuzz" for s in t["suite"]) and exe.startswith(build + os.sep):
        print(os.path.relpath(exe, build))' "$dir") || return 1
    [ -n "$targets" ] || { echo "no fuzz targets"; return 1; }
    ninja -C "$dir" $targets || return 1
    meson test -C "$dir" --no-rebuild --print-errorlogs --suite fuzz || status=1
}
fuzz_build "$prefix/fuzz" || status=1
echo "== benchmarks"
# Their figures are read, not judged; a benchmark that crashes still fails.
# Own log name: a benchmark run would otherwise overwrite testlog.json.
meson test -C "$prefix/normal" --benchmark --logbase benchlog --verbose --num-processes 1 || status=1

echo "== Debian packages: built here (Debian 12) and in a Debian 13 chroot; install, upgrade, remove, purge in clean chroots of both"
# Each step is counted once (its log: $prefix/packaging/STEP.log).
rm -f "$prefix/packaging/testlog.json"
if [ "${PASSDESK_CHROOT_TESTS:-1}" = 0 ]; then
    mkdir -p "$prefix/packaging"
    echo '{"name": "packaging", "result": "SKIP"}' >"$prefix/packaging/testlog.json"
    echo "skipped (PASSDESK_CHROOT_TESTS=0)"
else
    bash tests/packaging/chroot-tests.sh "$prefix/packaging" || status=1
fi

echo "== real VM: the cold cycle on a Debian 12 guest under QEMU (tests/vm/)"
rm -f "$prefix/vm/testlog.json"
if [ "${PASSDESK_VM_TESTS:-1}" = 0 ]; then
    mkdir -p "$prefix/vm"
    echo '{"name": "vm", "result": "SKIP"}' >"$prefix/vm/testlog.json"
    echo "skipped (PASSDESK_VM_TESTS=0)"
else
    # The .debs the chroot step built here in this run; without them
    # vm-tests.sh builds its own.
    vm_debs=
    if grep -q '"packaging/build-bookworm", "result": "OK"' "$prefix/packaging/testlog.json" 2>/dev/null; then
        vm_debs=$prefix/packaging/bookworm
    fi
    bash tests/vm/vm-tests.sh "$prefix/vm" $vm_debs || status=1
fi

python3 - "$prefix/normal" "$prefix/asan" "$prefix/fuzz" "$prefix/packaging" "$prefix/vm" <<'PY'
import json, sys, os
passed = failed = skipped = 0
for d in sys.argv[1:]:
    for name in ("testlog.json", "benchlog.json"):
        # meson's builds keep it in meson-logs/; the chroot and VM steps
        # write theirs into their output directory.
        log = os.path.join(d, "meson-logs", name)
        if not os.path.exists(log):
            log = os.path.join(d, name)
        if not os.path.exists(log):
            continue
        for line in open(log):
            r = json.loads(line).get("result")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"tests: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
[ $? -eq 0 ] || status=1
exit $status
