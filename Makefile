# Herald: `make run` starts the server, `make test` runs every test.
SWIFT ?= swift
ARGS ?=

.PHONY: docs deps build run test bench bench-spec bench-engine bench-controls bench-delivery bench-smtp clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build --product herald

run: deps
	$(SWIFT) run herald $(if $(ARGS),$(ARGS),serve)

# Build everything first: the durability tests run the real `herald` binary, and the web
# page's test drives Debian's chromium through chromium-driver, and the email tests a real SMTP server
# (python3-aiosmtpd, scripts/smtp-test-server.py), all installed here when missing.
test: deps
	@scripts/install-deps.sh chromium chromium-driver python3-aiosmtpd openssl
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench-spec: deps
	$(SWIFT) build -c release --product SpecBenchmark
	.build/release/SpecBenchmark

bench-engine: deps
	$(SWIFT) build -c release --product EngineBenchmark
	.build/release/EngineBenchmark

# Digests (100,000 events into 1,000 digests) and the cost of cap checks per send.
bench-controls: deps
	$(SWIFT) build -c release --product ControlsBenchmark
	.build/release/ControlsBenchmark

# Webhook delivery to a receiver answering in 20 ms (Benchmarks/SlowReceiver, its own process).
bench-delivery: deps
	$(SWIFT) build -c release --product SlowReceiver
	$(SWIFT) build -c release --product DeliveryBenchmark
	.build/release/DeliveryBenchmark

# Email to a local SMTP server that accepts at once (Debian's aiosmtpd, its own process).
bench-smtp: deps
	@scripts/install-deps.sh python3-aiosmtpd
	$(SWIFT) build -c release --product SMTPBenchmark
	.build/release/SMTPBenchmark

# Load benchmarks with wrk; see BENCHMARKS.md for the figures and the machine.
bench: bench-spec bench-engine bench-controls bench-delivery bench-smtp
	Benchmarks/load/bench.sh

clean:
	rm -rf .build

# DocC documentation of the libraries (swift-docc-plugin), under .build/docs/<Target>.
docs: deps
	mkdir -p .build/docs; for target in SegmentSpec AutomationEngine DestinationServer SegmentClient; do \
		$(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target $$target \
			--output-path .build/docs/$$target --transform-for-static-hosting || exit 1; \
	done
