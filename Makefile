# The two commands of the README: `make run` and `make test`. Everything else is a helper.

# ccache hits across clones of the tree (CI builds a fresh clone each time).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
.PHONY: run test deps build build-asan bench format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan

run: build
	@bash scripts/run-demo.sh

test: build build-asan
	@bash scripts/test.sh

bench: build
	@bash scripts/bench.sh

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
