#!/bin/sh
# Installs the Debian packages sealgate needs to build, run and test, when any is missing,
# and creates the role users when run as root. Idempotent; fast when nothing is missing.
# With --deb also what the Debian package build needs (DEB_PKGS).
# Owner: build. Keep this list in sync with README.md "Dependencies".
# Packages are installed without their Recommends, so anything a test needs is listed here even
# when a listed package recommends it (swaks' STARTTLS needs libnet-ssleay-perl).
# tests/integration/test_deps.py checks this list; `make fresh-check` proves it on a bare root.
set -eu
PKGS="meson ninja-build pkg-config gcc clang libclang-rt-14-dev python3 openssl
libevent-dev libssl-dev libsqlite3-dev libconfig-dev libgmime-3.0-dev libcurl4-openssl-dev libsystemd-dev
postfix swaks libnet-ssleay-perl procps git
librnp-dev gnupg sqop gpgsm
libjansson-dev libargon2-dev python3-cryptography
libpq-dev postgresql-15
libmicrohttpd-dev chromium chromium-driver python3-selenium fonts-dejavu-core python3-prometheus-client
gpg-wks-client
clamav-daemon clamav clamav-testfiles rspamd spamd spamassassin libpcre2-dev libmagic-dev libarchive-dev
libldap-dev slapd ldap-utils
curl wrk
libcairo2-dev libpango1.0-dev libxml2-dev libqpdf-dev fonts-noto-core fonts-noto-cjk qpdf poppler-utils mupdf-tools"
# Only for the Debian package (`make deb`, `make deb-check`: scripts/deps.sh --deb), not for
# `make test`: the package build and its checks (lintian, systemd-analyze).
DEB_PKGS="debhelper dpkg-dev fakeroot lintian systemd"
case "${1:-}" in
    --deb) PKGS="$PKGS $DEB_PKGS" ;;
    "") ;;
    *) echo "usage: scripts/deps.sh [--deb]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    # Postfix must not ask questions or configure the system instance: tests run private ones.
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
    # Nor slapd: test_discovery_ldap runs private ones with their own configuration.
    echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# Role users for the privilege drop (only meaningful when sealgate is started as root). Each
# role user is in the shared group sealgate and has a group of its own name, which the spool
# states it shares name (src/master/prepare.c: incoming/ is the cryptd user's with group
# sealgate-smtpd, ...). The sink stands for a peer outside: its own user and group only.
if [ "$(id -u)" = 0 ]; then
    getent group sealgate >/dev/null || groupadd --system sealgate
    for u in sealgate-smtpd sealgate-cryptd sealgate-relay sealgate-web; do
        getent group "$u" >/dev/null || groupadd --system "$u"
        getent passwd "$u" >/dev/null ||
            useradd --system --gid sealgate --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$u"
        id -nG "$u" | tr ' ' '\n' | grep -qx "$u" || usermod -a -G "$u" "$u"
    done
    # The store's group: the processor and the portal open the store, no other role can.
    getent group sealgate-store >/dev/null || groupadd --system sealgate-store
    for u in sealgate-cryptd sealgate-web; do
        id -nG "$u" | tr ' ' '\n' | grep -qx sealgate-store || usermod -a -G sealgate-store "$u"
    done
    getent group sealgate-sink >/dev/null || groupadd --system sealgate-sink
    getent passwd sealgate-sink >/dev/null ||
        useradd --system --gid sealgate-sink --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin sealgate-sink
fi
