# Ordo's build, test and benchmark entry points. `make help` lists them.

GO        ?= go
BIN       ?= bin
# Extra flags for `go test` in `make test`, e.g. TESTFLAGS='-run TestProduce -v'.
TESTFLAGS ?=
# Flags for `make run`, e.g. ARGS='--listen 127.0.0.1:19092 --log-level debug'.
ARGS      ?=
# The ordo-bench load of `make bench`, run once per flush policy.
BENCH_LOAD ?= --target both --records 200000 --record-size 1024 --partitions 6 --acks all
# The end-to-end latency load of `make bench`: a steady 5,000 records/s sent
# one by one (linger 0), so latency is the broker's, not the producer's
# buffer; run once per flush policy.
BENCH_LATENCY ?= --target both --rate 5000 --records 25000 --record-size 1024 --linger 0 --partitions 6 --acks all

# Every Go file of the repository, without dependencies installed by npm.
FIND_GO = find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -not -path './$(BIN)/*' -print0

.DEFAULT_GOAL := build
.PHONY: help build test lint bench fuzz chaos run deps clean

help:
	@echo "make build   go build ./... and the binaries of cmd/ into $(BIN)/"
	@echo "make test    go test -race over everything (needs no tools; kcat/node tests skip without them unless CI=true)"
	@echo "make lint    go vet and a gofmt check"
	@echo "make bench   Go benchmarks of broker/, then ordo-bench Ordo vs kfake: throughput and latency at 5,000 records/s, interval flush and fsync"
	@echo "make fuzz    fuzz the wire layer's request decoding for 60s"
	@echo "make chaos   a 30s recorded workload against a live broker, checked by both history checkers; then the failpoint runs (-tags failpoints)"
	@echo "make run     run a broker on 127.0.0.1:9092 with data in ./ordo-data (ARGS='...' for flags)"
	@echo "make deps    install kcat and kafkajs for the client tests (scripts/install-test-deps.sh)"
	@echo "make clean   remove $(BIN)/"

build:
	$(GO) build ./...
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

# The second run builds the failpoints in (-tags failpoints): the wrapper's
# own tests and the planted-bug and fault runs of chaos/.
test:
	$(GO) test -race -count=1 -timeout 15m $(TESTFLAGS) ./...
	$(GO) test -race -count=1 -timeout 10m -tags failpoints $(TESTFLAGS) ./broker/failpoints/ ./chaos/...

lint:
	$(GO) vet ./...
	$(GO) vet -tags failpoints ./...
	@unformatted=$$($(FIND_GO) | xargs -0 -r gofmt -l); \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt would change these files (run gofmt -w on them):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi

bench:
	$(GO) test -run=NONE -bench=. -benchmem ./broker/...
	$(GO) run ./cmd/ordo-bench $(BENCH_LOAD) --flush interval
	$(GO) run ./cmd/ordo-bench $(BENCH_LOAD) --flush fsync
	$(GO) run ./cmd/ordo-bench $(BENCH_LATENCY) --flush interval
	$(GO) run ./cmd/ordo-bench $(BENCH_LATENCY) --flush fsync

fuzz:
	$(GO) test -fuzz=FuzzRequest -fuzztime=60s ./broker/wire/

# A longer recorded workload than make test's, checked by the static checker
# and porcupine, then the failpoint runs of chaos/ (faults that must pass,
# planted bugs that must be caught) with 10 s of load each; ORDO_SEED=N
# replays one's client schedule.
chaos:
	ORDO_WORKLOAD_DURATION=$${ORDO_WORKLOAD_DURATION:-30s} $(GO) test -race -count=1 -timeout 10m -run 'TestLiveWorkload$$' -v ./linearizability/workload/
	ORDO_CHAOS_DURATION=$${ORDO_CHAOS_DURATION:-10s} $(GO) test -race -count=1 -timeout 10m -tags failpoints -v ./chaos/...

run:
	$(GO) run ./cmd/ordo $(ARGS)

deps:
	./scripts/install-test-deps.sh

clean:
	rm -rf $(BIN)
