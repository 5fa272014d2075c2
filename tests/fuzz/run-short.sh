#!/bin/sh
# Short fuzz runs: each libFuzzer target in build-fuzz/tests/fuzz/ runs ${FUZZ_SECONDS:-20}
# seconds from its seed corpus (tests/fuzz/corpus/<target>/, copied so seeds stay clean) and
# prints one TAP line. A crash input is kept in tests/out/fuzz/. Owner: tests (fuzz targets of
# each parser's owner).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN="$ROOT/build-fuzz/tests/fuzz"
SECS=${FUZZ_SECONDS:-20}
OUT="$ROOT/tests/out/fuzz"
mkdir -p "$OUT"
targets=$(ls "$BIN" 2>/dev/null | grep '^fuzz_' | grep -v '\.p$' || true)
n=0
for t in $targets; do n=$((n + 1)); done
if [ "$n" = 0 ]; then
    # No targets means the fuzz build is missing: that must not pass silently.
    echo "not ok 1 - no fuzz targets in $BIN (make build-fuzz)"
    exit 1
fi
echo "1..$n"
i=0
for t in $targets; do
    i=$((i + 1))
    work=$(mktemp -d)
    [ -d "$ROOT/tests/fuzz/corpus/$t" ] && cp "$ROOT/tests/fuzz/corpus/$t"/* "$work"/ 2>/dev/null
    if "$BIN/$t" -max_total_time="$SECS" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
        -artifact_prefix="$OUT/$t-" -print_final_stats=1 "$work" >"$OUT/$t.log" 2>&1; then
        echo "ok $i - fuzz $t"
    else
        echo "not ok $i - fuzz $t (see tests/out/fuzz/$t.log)"
        tail -30 "$OUT/$t.log" >&2
    fi
    rm -rf "$work"
done
