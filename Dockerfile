# lvm-iscsi-csi: one image for the controller, tgtd and the node plugin.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t lvm-iscsi-csi .
#   buildah bud --build-arg VERSION=... -t lvm-iscsi-csi .     (what CI does, offline)
#
# The image runs as root on purpose: every tool it carries (lvm, tgtd,
# iscsiadm, mkfs, mount) needs root on the host's devices, and the chart
# gives root (privileged) only to the containers that run them.

ARG GO_IMAGE=docker.io/library/golang:1.26-bookworm
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
ARG VERSION=dev
# Static (no cgo): the binary runs on any base and in the node's mount namespace.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/lvm-iscsi-csi ./cmd/lvm-iscsi-csi

FROM ${BASE_IMAGE}
# Exactly the tools the driver runs:
#   controller: lvm2 (lvs, vgs, lvcreate, lvremove, ...), thin-provisioning-tools
#     (thin_check, which lvm runs when it activates a thin pool), tgt (tgtd,
#     tgtadm), util-linux (blkdiscard);
#   node: open-iscsi (iscsiadm, talking to the host's iscsid), e2fsprogs and
#     xfsprogs (mkfs, fsck, resize), util-linux and mount (mount, umount, blkid,
#     blockdev).
# No udev: the node reads the host udev's /dev/disk/by-path links through its
# /dev mount, and the controller's lvm manages its own device nodes
# (DM_DISABLE_UDEV in the chart). open-iscsi's postinst writes an initiator
# name into the image, which every node would then share: it is removed, and
# the node plugin reads the host's /etc/iscsi instead.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      lvm2 thin-provisioning-tools tgt open-iscsi e2fsprogs xfsprogs util-linux mount \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/iscsi/initiatorname.iscsi
COPY --from=build /out/lvm-iscsi-csi /usr/bin/lvm-iscsi-csi
ENTRYPOINT ["/usr/bin/lvm-iscsi-csi"]
