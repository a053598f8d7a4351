# lvm-iscsi-csi: build, test, end-to-end test.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO ?= go
BIN := bin

.PHONY: all build check test integration e2e k8s-e2e packaging demo lint generate clean

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

# Real-kernel end-to-end tests (real lvm2, tgtd, iscsid, mkfs, mount, csi-sanity).
e2e:
	test/e2e/run.sh

# A real one-node Kubernetes in the real-kernel guest, the driver installed by
# its Helm chart, client-go tests of PVCs and pods (docs/testing.md). Not in
# `check` yet: about 10 minutes warm, half an hour from nothing.
k8s-e2e:
	test/k8s/run.sh

# Image, chart and manifests against real tools: buildah, helm, kube-apiserver + etcd (as root).
packaging:
	hack/verify-packaging.sh

# The driver's main job on a loop-file-backed volume group, end to end.
demo:
	E2E_RUN=demo test/e2e/run.sh

# Files written from the StorageClass parameter table (pkg/driver/parameters.go):
# the table in docs/storageclass.md and the chart schema's parameters. `make test`
# fails while they are stale (hack/gen-parameters' test).
generate:
	$(GO) run ./hack/gen-parameters

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN) _output
