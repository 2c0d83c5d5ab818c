# make test: install what the tests need (when missing and running as
# root), then vet and run every test with the race detector against a
# throwaway PostgreSQL server.

# Debian packages the test suite drives as real peers and tools.
DEBIAN_PACKAGES := sip-tester espeak-ng sox baresip-core postgresql sipvicious

GO ?= go

.PHONY: test deps vet fuzz bench bench-serve

# The tests run through scripts/test-postgres, which starts a throwaway
# PostgreSQL server (loopback only, in a temp dir), sets
# CALLFLOW_TEST_POSTGRES for the store tests, and stops and deletes it
# afterwards, also when tests fail. Without PostgreSQL it fails in CI and
# otherwise runs the tests without it.
test: deps vet
	./scripts/test-postgres $(GO) test -race ./...

vet:
	$(GO) vet ./...

# deps installs the missing Debian packages when it can (root with
# apt-get). When it cannot, it says what to install; tests that need a
# missing tool skip outside CI and fail in CI.
deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "make: missing Debian packages:$$missing"; \
		echo "make: install them with: sudo apt-get install$$missing"; \
		exit 0; \
	fi; \
	echo "make: installing Debian packages:$$missing"; \
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } >/tmp/callflow-apt.log 2>&1 \
		|| { echo "make: could not install$$missing (see /tmp/callflow-apt.log)"; tail -5 /tmp/callflow-apt.log; }

# fuzz runs each fuzz target for FUZZTIME (default 1m).
FUZZTIME ?= 1m
fuzz:
	$(GO) test ./lang -run '^$$' -fuzz '^FuzzFormat$$' -fuzztime $(FUZZTIME)
	$(GO) test ./compiler -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/wav -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME)
	$(GO) test ./live -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./outbound -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime $(FUZZTIME)
	$(GO) test ./outbound -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME)
	$(GO) test ./vm -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./telephony/media -run '^$$' -fuzz '^FuzzAnswer$$' -fuzztime $(FUZZTIME)
	$(GO) test ./telephony/media -run '^$$' -fuzz '^FuzzTelephoneEvent$$' -fuzztime $(FUZZTIME)
	$(GO) test ./telephony/route -run '^$$' -fuzz '^FuzzRoute$$' -fuzztime $(FUZZTIME)
	$(GO) test ./telephony/prompt -run '^$$' -fuzz '^FuzzDecodeWAV$$' -fuzztime $(FUZZTIME)
	$(GO) test ./telephony/dialog -run '^$$' -fuzz '^FuzzParseSessionExpires$$' -fuzztime $(FUZZTIME)
	$(GO) test ./telephony/registrar -run '^$$' -fuzz '^FuzzParseAuthorization$$' -fuzztime $(FUZZTIME)

# bench runs the validate benchmark on a generated 10,000-flow repository.
bench:
	$(GO) run ./bench/validate

# bench-serve runs a SIPp load against callflow serve and against SIPp's
# do-nothing responder, and measures memory and goroutines per call.
bench-serve:
	$(GO) run ./bench/serve
