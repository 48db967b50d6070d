# Herald: `make run` starts the server, `make test` runs every test.
SWIFT ?= swift
ARGS ?=

.PHONY: deps build run test bench bench-spec bench-engine clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build --product herald

run: deps
	$(SWIFT) run herald $(if $(ARGS),$(ARGS),serve)

# Build everything first: the durability tests run the real `herald` binary, and the web
# page's test drives Debian's chromium through chromium-driver (installed here when missing).
test: deps
	@scripts/install-deps.sh chromium chromium-driver
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench-spec: deps
	$(SWIFT) build -c release --product SpecBenchmark
	.build/release/SpecBenchmark

bench-engine: deps
	$(SWIFT) build -c release --product EngineBenchmark
	.build/release/EngineBenchmark

# Load benchmarks with wrk; see BENCHMARKS.md for the figures and the machine.
bench: bench-spec bench-engine
	Benchmarks/load/bench.sh

clean:
	rm -rf .build
