#!/bin/sh
# Short fuzz runs: each libFuzzer target in build-fuzz/tests/fuzz/ runs ${FUZZ_SECONDS:-20}
# seconds from its seed corpus (tests/fuzz/corpus/<target>/, copied so seeds stay clean), as many
# at once as there are cores, and prints one TAP line each, in order. A crash input is kept in tests/out/fuzz/. Owner: tests (fuzz targets of
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
# Two or more targets at a time (one per core): each is single-threaded, and make test must
# stay within its time on a 2-core machine as the number of parsers grows.
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
RES=$(mktemp -d)
run_one() { # index target
    work=$(mktemp -d)
    [ -d "$ROOT/tests/fuzz/corpus/$2" ] && cp "$ROOT/tests/fuzz/corpus/$2"/* "$work"/ 2>/dev/null
    if "$BIN/$2" -max_total_time="$SECS" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
        -artifact_prefix="$OUT/$2-" -print_final_stats=1 "$work" >"$OUT/$2.log" 2>&1; then
        echo "ok $1 - fuzz $2" >"$RES/$1"
    else
        echo "not ok $1 - fuzz $2 (see tests/out/fuzz/$2.log)" >"$RES/$1"
    fi
    rm -rf "$work"
}
i=0
running=0
for t in $targets; do
    i=$((i + 1))
    run_one "$i" "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait
        running=0
    fi
done
wait
i=0
for t in $targets; do
    i=$((i + 1))
    if [ -s "$RES/$i" ]; then
        cat "$RES/$i"
    else
        echo "not ok $i - fuzz $t (no result)"
    fi
    grep -q '^ok ' "$RES/$i" 2>/dev/null || tail -30 "$OUT/$t.log" >&2
done
rm -rf "$RES"
exit 0
