# lvm-iscsi-csi: build, test, end-to-end test.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO ?= go
BIN := bin

.PHONY: all build check test integration fuzz e2e packaging demo lint clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lvm-iscsi-csi ./cmd/lvm-iscsi-csi

# The one command that runs every test (what .ci/run runs).
check: lint test integration e2e packaging

# Unit tests: fakes only, no root, no daemons.
test:
	$(GO) test -race ./...

# pkg/tgt against a real tgtd on loopback (userspace: runs on any Linux, as root).
integration:
	LVM_ISCSI_CSI_REAL_TGTD=1 $(GO) test -count=1 -run Real ./pkg/tgt/

# Every parser of tool output, fuzzed for FUZZTIME each (go test -fuzz takes
# one target per run). Their seed corpora also run in "make test".
FUZZTIME ?= 10s
FUZZ_TARGETS := \
	./pkg/tgt:FuzzParseTargets \
	./pkg/tgt:FuzzParseTargetsAlias \
	./pkg/tgt:FuzzParseTargetNames \
	./pkg/tgt:FuzzParseConnections \
	./pkg/tgt:FuzzParseAccounts \
	./pkg/lvm:FuzzParseLVs \
	./pkg/lvm:FuzzParseVGs \
	./pkg/iscsi:FuzzParseSessions \
	./pkg/iscsi:FuzzParseUnitSerialPage \
	./pkg/iscsi:FuzzReadInitiatorName

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

# Real-kernel end-to-end tests (real lvm2, tgtd, iscsid, mkfs, mount, csi-sanity).
e2e:
	test/e2e/run.sh

# Image, chart and manifests against real tools: buildah, helm, kube-apiserver + etcd (as root).
packaging:
	hack/verify-packaging.sh

# The driver's main job on a loop-file-backed volume group, end to end.
demo:
	E2E_RUN=demo test/e2e/run.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN) _output
