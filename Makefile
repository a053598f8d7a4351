# lvm-iscsi-csi: build, test, end-to-end test.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO ?= go
BIN := bin

.PHONY: all build image check test integration fuzz e2e e2e-killpoints k8s-e2e k8s-e2e-full packaging demo bench bench-short bench-datapath bench-doc lvm-read-costs lint generate clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lvm-iscsi-csi ./cmd/lvm-iscsi-csi

# The driver image as the Helm chart names it by default
# (localhost/lvm-iscsi-csi:<chart appVersion>), built offline with buildah (as
# root), and saved to $(IMAGE_ARCHIVE) for `ctr -n k8s.io images import` on each
# node (docs/install.md, "The image").
IMAGE_ARCHIVE ?= _output/lvm-iscsi-csi-image.tar
image:
	VERSION=$(VERSION) IMAGE_ARCHIVE=$(IMAGE_ARCHIVE) hack/build-image.sh

# The one command that runs every test (what .ci/run runs).
check: lint test fuzz integration e2e packaging bench-short

# Unit tests: fakes only, no root, no daemons.
test:
	$(GO) test -race ./...

# pkg/tgt against a real tgtd on loopback (userspace: runs on any Linux, as root).
integration:
	LVM_ISCSI_CSI_REAL_TGTD=1 $(GO) test -count=1 -run Real ./pkg/tgt/

# Real-kernel end-to-end tests (real lvm2, tgtd, iscsid, mkfs, mount, csi-sanity).
e2e:
	test/e2e/run.sh

# The full kill-point walk (test/e2e/README.md, "Kill points"): every RPC
# killed before and after each of its commands, retried, and checked. Some
# 280 kill points, estimated at about an hour on an idle machine (from the
# sample's 6-25 s per point; not run in full), so `make e2e` walks a sample only.
e2e-killpoints:
	E2E_KILL_POINTS=all E2E_SANITY_ACCESS= E2E_GO_RUN='^TestKillPoints$$' \
	  E2E_GO_TIMEOUT=$${E2E_GO_TIMEOUT:-6h} E2E_VM_TIMEOUT=$${E2E_VM_TIMEOUT:-22000} test/e2e/run.sh

# A real one-node Kubernetes in the real-kernel guest, the driver installed by
# its Helm chart, client-go tests of PVCs and pods (docs/testing.md). Not in
# `check` (nor .ci/run): about 21 minutes warm on 2 cores, plus about an hour
# of builds from nothing.
k8s-e2e:
	test/k8s/run.sh

# The same cluster with every External.Storage test of the upstream suite
# instead of its CI subset (hours under emulation; docs/testing.md).
k8s-e2e-full:
	E2E_K8S_UPSTREAM=full test/k8s/run.sh

# Image, chart and manifests against real tools: buildah, helm, kube-apiserver + etcd (as root).
packaging:
	hack/verify-packaging.sh

# The driver's main job on a loop-file-backed volume group, end to end.
demo:
	E2E_RUN=demo test/e2e/run.sh

# Benchmarks (docs/benchmarks.md): every figure against its floor, measured in
# the real-kernel guest like `make e2e`; results in $(BENCH_OUTPUT)/bench.json.
# `make bench` is the full run (about 40 minutes of guest time under software
# emulation) and then writes its figures into docs/benchmarks.md as the
# section $(BENCH_SECTION); `make bench-short` is the few-minute run CI makes,
# which fails only when the harness breaks, never on a number. To iterate on
# one phase of the full run, E2E_BENCH_ONLY=control, data or scale (bursts,
# healing and listing, with the seeded 500/1000-volume figures) runs only it,
# e.g. `E2E_BENCH_ONLY=scale make bench` (its bench.json is then partial,
# so bench-doc does not run). The PV gets a 16 MiB metadata area and the thin
# pool 64 MiB of metadata: lvm's defaults do not hold the full run's thousand
# volumes (docs/benchmarks.md, "Seeded volumes").
BENCH_OUTPUT ?= _output/bench
BENCH_SECTION ?= latest
BENCH_ENV = E2E_RUN=bench E2E_OUTPUT=$(BENCH_OUTPUT) E2E_VG_SIZE=$${E2E_VG_SIZE:-6G} E2E_THIN_POOL_SIZE=$${E2E_THIN_POOL_SIZE:-3G} \
  E2E_PV_METADATA_SIZE=$${E2E_PV_METADATA_SIZE:-16m} E2E_THIN_POOL_METADATA_SIZE=$${E2E_THIN_POOL_METADATA_SIZE:-64m} E2E_VM_TIMEOUT=$${E2E_VM_TIMEOUT:-7200}
bench:
	$(BENCH_ENV) test/e2e/run.sh
	@if [ -n "$${E2E_BENCH_ONLY:-}" ]; then echo "E2E_BENCH_ONLY=$$E2E_BENCH_ONLY: one phase only, not written into docs/benchmarks.md"; \
	else $(MAKE) --no-print-directory bench-doc; fi

bench-short:
	$(BENCH_ENV) E2E_BENCH_SHORT=1 test/e2e/run.sh

# The data-path sweep (docs/benchmarks.md, "Data path tuning"): fio through a
# real iSCSI disk for each tgt / open-iscsi configuration of
# test/bench/sweep_configs.go against one local-LV floor, in one guest boot
# (about 10 minutes of guest time); $(BENCH_OUTPUT)/sweep.json and sweep.md.
bench-datapath:
	$(BENCH_ENV) E2E_BENCH_SWEEP=datapath E2E_OUTPUT=$(BENCH_OUTPUT)-datapath test/e2e/run.sh

# What one lvs costs the controller, and what the two ways around it would cost
# (docs/benchmarks.md, "What removing the two lvs would take"): hack/lvm-read-costs
# in the real-kernel guest, on a scratch loop-file VG; about 2 minutes.
lvm-read-costs:
	mkdir -p $(BIN) $(BENCH_OUTPUT)-lvm
	CGO_ENABLED=0 $(GO) build -o $(BIN)/lvm-read-costs ./hack/lvm-read-costs
	test/e2e/vm.sh $(BENCH_OUTPUT)-lvm $(abspath $(BIN))/lvm-read-costs -out $(abspath $(BENCH_OUTPUT))-lvm/lvm-read-costs.md

# docs/benchmarks.md's section $(BENCH_SECTION) from $(BENCH_OUTPUT)/bench.json, and its
# charts in docs/benchmarks/.
bench-doc:
	$(GO) run ./hack/gen-benchmarks -in $(BENCH_OUTPUT)/bench.json -section $(BENCH_SECTION) -doc docs/benchmarks.md

# Files written from the StorageClass parameter table (pkg/driver/parameters.go):
# the table in docs/storageclass.md and the chart schema's parameters. `make test`
# fails while they are stale (hack/gen-parameters' test).
generate:
	$(GO) run ./hack/gen-parameters

# Every fuzz target for FUZZTIME (default 10s) each; the seeds run in `make test`.
fuzz:
	hack/fuzz.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN) _output
