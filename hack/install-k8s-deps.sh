#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages `make k8s-e2e` needs beyond the
# real-kernel e2e tests' (hack/install-e2e-deps.sh): the container runtime the
# guest's kubelet talks to (containerd, runc, the CNI plugins), etcd and
# openssl and curl for the control plane, buildah and debootstrap for the images,
# jq for the upstream storage suite's report (test/k8s/upstream-junit.jq).
# Installs nothing when every tool is already there.
set -euo pipefail
. "$(dirname "$0")/lib/apt-install.sh"

# command -> package; one command per package proves it is installed.
declare -A pkg_of=(
  [containerd]=containerd [runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins
  [etcd]=etcd-server [openssl]=openssl [curl]=curl [buildah]=buildah [debootstrap]=debootstrap
  [jq]=jq
)
missing=()
for tool in "${!pkg_of[@]}"; do
  if [[ $tool == /* ]]; then [ -x "$tool" ] && continue; else command -v "$tool" >/dev/null 2>&1 && continue; fi
  missing+=("${pkg_of[$tool]}")
done
install_missing "$0" ${missing[@]+"${missing[@]}"}
