# Top-level entry points.  See README.md.
.PHONY: all deps build demo check bench clean

BUILD ?= build/release

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$$(nproc)

demo: build
	@scripts/demo.sh $(BUILD)

check: deps
	@scripts/check.sh

bench: build
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf build
