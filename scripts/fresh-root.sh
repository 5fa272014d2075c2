# fresh-root.sh - a clean Debian 12 root to run something in: sourced by scripts/fresh-check
# (`make test` there) and scripts/deb-check (the package installed there). Owner: build.
# docs/testing.md "Fresh-machine check" describes the root.
#
# The root is bootstrapped (mmdebstrap, else debootstrap) from this machine's own apt sources:
# minbase plus $INCLUDE. The base is cached as a tarball under $CACHE and unpacked anew for every
# run, so every run starts pristine.
#
# SECURITY: the caller is root. fresh_run runs everything in private mount, PID and IPC
# namespaces: the mounts (/proc, /sys read-only, a private /dev and /dev/pts, tmpfs /tmp) never
# reach the host, and every process left in the root dies with it. The root shares the host's
# network (apt needs the mirror), so package scripts are kept from starting daemons (policy-rc.d)
# and whatever runs there must listen on loopback only.
#
# The caller sets SUITE, VARIANT, INCLUDE, CACHE, APT_ETC and defines die(); then calls
# fresh_base_init (sets SOURCES, APTOPTS, TOOL, KEY, BASE), fresh_bootstrap when $BASE is missing,
# fresh_unpack ROOT and fresh_run ROOT COMMAND.

fresh_base_init() {
    local f line
    # The apt sources apt itself reads here (files with other suffixes are disabled ones).
    SOURCES=()
    [ -f "$APT_ETC/sources.list" ] && grep -Eq '^[[:space:]]*deb[[:space:]]' "$APT_ETC/sources.list" &&
        SOURCES+=("$APT_ETC/sources.list")
    for f in "$APT_ETC"/sources.list.d/*.list "$APT_ETC"/sources.list.d/*.sources; do
        [ -f "$f" ] && SOURCES+=("$f")
    done
    [ ${#SOURCES[@]} -gt 0 ] || die "no apt sources in $APT_ETC/sources.list(.d)"
    # Acquire options the mirror needs (a snapshot mirror's Release files are past Valid-Until).
    APTOPTS=()
    while IFS= read -r line; do APTOPTS+=("$line"); done < <(apt-config dump 2>/dev/null |
        grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' || true)

    case "${FRESH_BOOTSTRAP:-}" in
        ""|mmdebstrap|debootstrap) ;;
        *) die "FRESH_BOOTSTRAP must be mmdebstrap or debootstrap" ;;
    esac
    if [ -n "${FRESH_BOOTSTRAP:-}" ]; then TOOL=$FRESH_BOOTSTRAP
    elif command -v mmdebstrap >/dev/null; then TOOL=mmdebstrap
    elif command -v debootstrap >/dev/null; then TOOL=debootstrap
    else TOOL="mmdebstrap (to be installed with apt-get)"; fi

    KEY=$( { echo "$SUITE $VARIANT $INCLUDE"; printf '%s\n' "${APTOPTS[@]}"; cat "${SOURCES[@]}"; } |
        sha256sum | cut -c1-12)
    BASE=$CACHE/base-$SUITE-$VARIANT-$KEY.tar
}

fresh_bootstrap() {
    local tmp=$BASE.tmp.$$ opts=() o
    mkdir -p "$CACHE"
    rm -rf "$tmp"
    if [ "$TOOL" = debootstrap ]; then
        # debootstrap takes one mirror; the root gets this machine's sources after it.
        local mirror
        mirror=$(grep -hoE '(URIs:|^deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?[a-z]+://[^[:space:]]+' \
            "${SOURCES[@]}" | head -1 | grep -oE '[a-z]+://[^[:space:]]+')
        mkdir -p "$tmp.d"
        debootstrap --variant="$VARIANT" --include="$INCLUDE" "$SUITE" "$tmp.d" "$mirror"
        rm -f "$tmp.d/etc/apt/sources.list"
        for f in "${SOURCES[@]}"; do cp "$f" "$tmp.d/etc/apt/sources.list.d/"; done
        [ "${SOURCES[0]}" = "$APT_ETC/sources.list" ] && mv "$tmp.d/etc/apt/sources.list.d/sources.list" "$tmp.d/etc/apt/"
        printf '%s\n' "${APTOPTS[@]}" > "$tmp.d/etc/apt/apt.conf.d/99fresh-check"
        tar -C "$tmp.d" -cf "$tmp" .
        rm -rf --one-file-system "$tmp.d"
    else
        command -v mmdebstrap >/dev/null ||
            { apt-get update -qq; apt-get install -y -qq --no-install-recommends mmdebstrap; }
        for o in "${APTOPTS[@]}"; do opts+=(--aptopt="$o"); done
        mmdebstrap --quiet --format=tar --variant="$VARIANT" --include="$INCLUDE" "${opts[@]}" \
            "$SUITE" "$tmp" "${SOURCES[@]}"
    fi
    mv "$tmp" "$BASE"
}

# Unpacks the cached base into ROOT (an empty directory).
fresh_unpack() {
    local root=$1
    tar -C "$root" -xpf "$BASE"
    cp /etc/resolv.conf /etc/hosts "$root/etc/"
    # No package script may start a daemon: it would listen on the host's network.
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
}

# Runs COMMAND (a /bin/sh command line) as root in ROOT, in the namespaces described above, with
# a clean environment; its output goes to this function's stdout and stderr. Returns its status.
fresh_run() {
    unshare --mount --pid --ipc --fork --kill-child --propagation private \
        /bin/bash -s "$1" "$2" <<'INNER'
set -e
R=$1
mount -t proc proc "$R/proc"
mount -t sysfs -o ro sysfs "$R/sys"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
for d in null zero full random urandom tty; do
    touch "$R/dev/$d"
    mount --bind "/dev/$d" "$R/dev/$d"
done
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$R/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
ln -s pts/ptmx "$R/dev/ptmx"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
# This shell stays PID 1 of the namespace and reaps the daemons the command orphans (Postfix's
# master), as init does on a machine: a zombie still answers kill -0 and looks alive.
chroot "$R" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/sh TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/sh -c "$2" </dev/null &
wait $!
INNER
}
