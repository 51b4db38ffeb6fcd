# The two commands of the README: `make run` and `make test`. Everything else is a helper.

# ccache hits across clones of the tree (CI builds a fresh clone each time).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
# Lets ccache cache the compiles that use a precompiled header (transport/, the SDK's transport).
export CCACHE_SLOPPINESS := pch_defines,time_macros
# Warnings fail the build in CI (CI=true), not on a developer's newer compiler.
export PARLEY_WERROR ?= $(if $(CI),ON,OFF)
.PHONY: run test deps build build-asan build-tsan bench format format-check clean

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset release -DPARLEY_WERROR=$(PARLEY_WERROR) >/dev/null
	@cmake --build --preset release

build-asan: deps
	@cmake --preset asan -DPARLEY_WERROR=$(PARLEY_WERROR) >/dev/null
	@cmake --build --preset asan

build-tsan: deps
	@cmake --preset tsan -DPARLEY_WERROR=$(PARLEY_WERROR) >/dev/null
	@cmake --build --preset tsan

run: build
	@bash scripts/run-demo.sh

test: build build-asan build-tsan
	@bash scripts/test.sh

bench: build
	@bash scripts/bench.sh

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

# What make test checks: every C++ file as clang-format would write it.
format-check:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build

# The libFuzzer targets, long (10 minutes each; scripts/fuzz.sh SECONDS [TARGET...] for other runs).
.PHONY: fuzz
fuzz: deps
	@bash scripts/fuzz.sh 600
