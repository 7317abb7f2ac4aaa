# dirbridge — common tasks. `make demo` and `make test` work on a fresh
# machine with Go; `make test` also starts the real test servers (OpenLDAP,
# Samba AD DC, a SCIM server) from Debian and npm packages when it can
# (root, network to the package registries). Under CI=true a server that
# cannot start fails the run instead of skipping its tests.

GO      ?= go
PKGS    ?= ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/dirbridge/dirbridge/agent.Version=$(VERSION)

.PHONY: all build deb demo test unit testenv testenv-stop lint bench chaos clean

all: lint test

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/dirbridge ./cmd/dirbridge

# A Debian package with the binary, the hardened systemd unit and an example config.
deb:
	bash packaging/deb/build.sh $(VERSION)

demo:
	$(GO) run ./cmd/dirbridge demo

# The whole suite: lint, start the real servers, every test.
test: lint testenv
	$(GO) test -count=1 -timeout 15m $(PKGS)

# The quick run: without the process-killing crash tests and without starting
# servers (integration tests run against servers already up, else skip).
unit:
	$(GO) test -short -count=1 $(PKGS)

testenv:
	bash scripts/testenv/up.sh

testenv-stop:
	bash scripts/testenv/down.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	GOOS=windows $(GO) build -o /dev/null ./cmd/dirbridge   # the Windows service build stays compilable

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# The crash tests with many more kills than `make test` runs.
chaos:
	DIRBRIDGE_CRASH_RUNS=300 $(GO) test -count=1 -run 'Crash|Chaos' -v ./outbox ./cmd/dirbridge

clean:
	rm -rf bin dist
