# sealgate - the two commands of the README, and the targets behind them.
#   make run    install what is missing, build, start the gateway in the foreground (./run)
#   make test   install what is missing, build (normal, ASan+UBSan, fuzz), run every suite
#   make fresh-check   `make test` of HEAD in a clean Debian 12 root (scripts/fresh-check, root)
.PHONY: all deps build build-asan build-fuzz run test fresh-check fuzz bench clean

all: build

deps:
	@sh scripts/deps.sh

build/build.ninja:
	meson setup build -Dwerror=true >/dev/null
build-asan/build.ninja:
	meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dbuildtype=debug >/dev/null
build-fuzz/build.ninja:
	CC=clang meson setup build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized >/dev/null

build: deps build/build.ninja
	ninja -C build
build-asan: deps build-asan/build.ninja
	ninja -C build-asan
build-fuzz: deps build-fuzz/build.ninja
	ninja -C build-fuzz

run: build
	@sh scripts/run-demo.sh

test: build build-asan build-fuzz
	python3 tests/run-all

# Not part of `make test`: it bootstraps a root and runs all of `make test` inside it.
fresh-check:
	scripts/fresh-check $(FRESH_CHECK_ARGS)

fuzz: build-fuzz
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} tests/fuzz/run-short.sh

bench: build
	bench/relay

clean:
	rm -rf build build-asan build-fuzz tests/out
