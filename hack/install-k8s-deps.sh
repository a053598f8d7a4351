#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages `make k8s-e2e` needs beyond the
# real-kernel e2e tests' (hack/install-e2e-deps.sh): the container runtime the
# guest's kubelet talks to (containerd, runc, the CNI plugins), etcd and
# openssl and curl for the control plane, buildah and debootstrap for the images.
# Installs nothing when every tool is already there.
set -euo pipefail

# command -> package; one command per package proves it is installed.
declare -A pkg_of=(
  [containerd]=containerd [runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins
  [etcd]=etcd-server [openssl]=openssl [curl]=curl [buildah]=buildah [debootstrap]=debootstrap
)
missing=()
for tool in "${!pkg_of[@]}"; do
  if [[ $tool == /* ]]; then [ -x "$tool" ] && continue; else command -v "$tool" >/dev/null 2>&1 && continue; fi
  missing+=("${pkg_of[$tool]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "$0: missing packages ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
