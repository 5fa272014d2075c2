# sealgate - the two commands of the README, and the targets behind them.
#   make run    install what is missing, build, start the gateway in the foreground (./run)
#   make test   install what is missing, build (normal, ASan+UBSan, ThreadSanitizer, fuzz), run every suite
#   make layers the include-direction and call-cycle check (docs/architecture.md, Layers)
#   make fresh-check   `make test` of HEAD in a clean Debian 12 root (scripts/fresh-check, root)
#   make deb    the Debian package into build-deb/ (scripts/deb-build), lintian-clean
#   make deb-check     build, install, run, upgrade, remove, purge it in a clean Debian 12 root
.PHONY: all deps build build-asan build-tsan build-fuzz run test layers fresh-check deb deb-check fuzz bench bench-web clean

all: build

deps:
	@sh scripts/deps.sh

build/build.ninja:
	meson setup build -Dwerror=true >/dev/null
build-asan/build.ninja:
	meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dbuildtype=debug >/dev/null
# ThreadSanitizer: only the unit tests of threaded code (tests/unit/tsan-tests) are built there.
build-tsan/build.ninja:
	meson setup build-tsan -Dwerror=true -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug >/dev/null
TSAN_TESTS = $(addprefix tests/unit/,$(shell grep -v '^\#' tests/unit/tsan-tests))
build-fuzz/build.ninja:
	CC=clang meson setup build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized >/dev/null

build: deps build/build.ninja
	ninja -C build
build-asan: deps build-asan/build.ninja
	ninja -C build-asan
build-tsan: deps build-tsan/build.ninja
	ninja -C build-tsan $(TSAN_TESTS)
build-fuzz: deps build-fuzz/build.ninja
	ninja -C build-fuzz

run: build
	@sh scripts/run-demo.sh

test: build build-asan build-tsan build-fuzz
	python3 tests/run-all

# the layer check alone (make test runs it as the suite "layers", with its self-test)
layers: build
	python3 scripts/check-layers --objects build/libsealgate.a.p

# Not part of `make test`: it bootstraps a root and runs all of `make test` inside it.
fresh-check:
	scripts/fresh-check $(FRESH_CHECK_ARGS)

# Not part of `make test` either (docs/operations.md, docs/testing.md).
deb:
	scripts/deb-build
deb-check:
	scripts/deb-check $(DEB_CHECK_ARGS)

fuzz: build-fuzz
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} tests/fuzz/run-short.sh

bench: build
	bench/relay

# The API and the dashboard under load with 100,000 keys and certificates while mail flows
# (issue 18; bench/README.md "bench/web"). Needs wrk (scripts/deps.sh).
bench-web: build
	bench/web

clean:
	rm -rf build build-asan build-tsan build-fuzz build-deb tests/out
