#!/bin/sh
# `make run`: starts the gateway in the foreground on its embedded defaults (base directory ./run),
# with the portal on https://127.0.0.1:8443 and, on the first run, its first administrator.
# Owner: build. Started as root, the roles drop to their own users, which must be able to reach
# ./run; when the checkout lies in a private directory (e.g. /root) ./run becomes a link to
# /var/lib/sealgate-demo so that no permission on the checkout has to be loosened.
set -eu
cd "$(dirname "$0")/.."
BIN=./build/sealgate
if [ "$(id -u)" = 0 ] && ! runuser -u sealgate-smtpd -- test -x "$PWD" 2>/dev/null; then
    if [ ! -L run ]; then
        [ -d run ] && mv run "run.old.$$"
        mkdir -p /var/lib/sealgate-demo
        ln -s /var/lib/sealgate-demo run
        echo "note: ./run links to /var/lib/sealgate-demo (role users cannot enter $PWD)"
    fi
fi
# What start sets up (spool, store, KEK, TLS pair), so that the portal's first administrator can
# be made before the gateway runs; start does it again, which changes nothing.
"$BIN" prepare >/dev/null
# The portal's first administrator: made once; its one-time password is shown here, once.
if "$BIN" admin list --json | grep -q '"total": 0'; then
    PW=$("$BIN" admin add admin --role administrator | sed -n 's/^one-time password: //p')
    [ -n "$PW" ] || { echo "run-demo: sealgate admin add did not print a password" >&2; exit 1; }
    ADMIN="account admin, one-time password $PW (shown once)"
else
    ADMIN="an administrator exists already: sign in with it ($BIN admin list; a new password: $BIN admin passwd NAME)"
fi
cat <<MSG
sealgate demo: SMTP on 127.0.0.1:10025 (STARTTLS with a self-signed certificate),
internal domain demo.test, relaying allowed from loopback, next hop: the built-in sink.

  Portal and REST API:   https://127.0.0.1:8443  (self-signed certificate; docs/web.md)
  Sign in:               $ADMIN

  Send a test message:   swaks --server 127.0.0.1:10025 --from alice@demo.test --to bob@example.net
  It arrives in:         run/sink/new/
  Look at the queue:     $BIN queue list
  Check the settings:    $BIN check-config
  Stop:                  Ctrl-C
MSG
exec "$BIN" start
