# Sourced by the shell tests that build Debian systems (tests/packaging/
# chroot-tests.sh, tests/vm/): which Debian archive to use, and running a
# command in a chroot. Defines functions only; sets nothing else.

# This machine's release codename (bookworm, trixie).
pd_host_release() {
    (. /etc/os-release && echo "$VERSION_CODENAME")
}

# The Debian archive this machine's apt sources use for its own release
# (one-line and deb822 formats), e.g. http://deb.debian.org/debian; nothing
# when none is named. The repository never names a mirror itself.
pd_archive() {
    local f rel
    rel=$(pd_host_release)
    {
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -r "$f" ] || continue
            sed -e 's/#.*//; s/\[[^]]*\]//' "$f" \
                | awk -v rel="$rel" '$1 == "deb" && $3 == rel { print $2; exit }'
        done
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -r "$f" ] || continue
            awk -v rel="$rel" '
                /^[ \t]*$/ { if (ok && uri != "") { print uri; exit } ok = 0; uri = ""; next }
                tolower($1) == "uris:" { uri = $2 }
                tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == rel) ok = 1 }
                END { if (ok && uri != "") print uri }' "$f"
        done
    } | head -n 1
}

# Runs a command in a chroot without questions, in a C UTF-8 locale.
in_chroot() { # root command...
    local root=$1
    shift
    LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
}
