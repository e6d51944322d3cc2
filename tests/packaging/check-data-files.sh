#!/bin/sh
# check-data-files.sh DATADIR: every desktop entry in DATADIR passes
# desktop-file-validate and every man page formats without a groff warning,
# as lintian checks them (its exact `man` invocation): any line either tool
# prints is a failure, hints included, since each one is something a user's
# menu or `man` shows wrongly. Needs desktop-file-utils, man-db and
# groff-base (.ci/packages/test.txt).
set -u
dir=$1
for tool in desktop-file-validate:desktop-file-utils man:man-db groff:groff-base; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || {
        echo "${tool%%:*} is missing: install ${tool#*:} (sh .ci/install-deps test)"
        # The host-only build chroot has build packages alone: skipped there.
        [ "${PASSDESK_DATA_FILES_OPTIONAL:-0}" = 1 ] && exit 77
        exit 1
    }
done
failed=0
n=0
for f in "$dir"/*.desktop; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    out=$(desktop-file-validate "$f" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] || [ -n "$out" ]; then
        echo "not clean: desktop-file-validate $f (exit $rc):"
        echo "$out"
        failed=1
    else
        echo "ok: $f"
    fi
done
for f in "$dir"/*.[1-8]; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    # stdout (the formatted page) is thrown away; groff's warnings and
    # man's own complaints arrive on stderr.
    err=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
        man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -ne 0 ] || [ -n "$err" ]; then
        echo "not clean: man --warnings -l $f (exit $rc):"
        echo "$err"
        failed=1
    else
        echo "ok: $f"
    fi
done
if [ $n -eq 0 ]; then
    echo "no desktop entry and no man page in $dir: wrong directory?"
    exit 1
fi
exit $failed
