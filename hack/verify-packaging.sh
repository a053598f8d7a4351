#!/usr/bin/env bash
# Checks the packaging against the real tools: the image built from the
# Dockerfile (buildah, offline) with every tool the driver runs present in it,
# its archive (`make image`) imported by a containerd under the name the
# chart runs by default,
# `helm lint`, `helm template` over several values files, static checks of
# every render (test/packaging), each rendered object accepted by a real
# kube-apiserver (etcd on loopback, snapshot CRDs installed) with a
# server-side dry run, `helm install` against it, and deploy/kubernetes in
# step with the chart.
#
#   hack/verify-packaging.sh          (make packaging)
#
# Prints `packaging: N passed, N failed` last and exits 1 on any failure.
# Missing tools are installed (Debian packages, as root) or built from the Go
# module proxy into ${XDG_CACHE_HOME:-~/.cache}/lvm-iscsi-csi; what cannot be
# had locally is skipped with a message, except with CI=true, where a
# skipped check is a failed one. Logs and renders: _output/packaging/.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=_output/packaging
rm -rf "$out" && mkdir -p "$out/render" "$out/logs"
out=$(cd "$out" && pwd)
ci=false
[ "${CI:-}" = true ] && ci=true
passed=0 failed=0 skipped=0
chart=charts/lvm-iscsi-csi
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
t_start=$SECONDS

say() { echo "packaging: $*"; }

# check NAME CMD...: runs CMD with its output in logs/NAME.log; shows the log's end on failure.
check() {
  local name=$1; shift
  local log="$out/logs/${name//[^A-Za-z0-9_.-]/_}.log" t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "ok    $name ($((SECONDS - t0))s)"
  else
    failed=$((failed + 1)); echo "FAIL  $name ($((SECONDS - t0))s, log: $log)"; tail -n 25 "$log" | sed 's/^/      /'
  fi
}

# skip NAME REASON: a check that cannot run here; a failure in CI.
skip() {
  if [ "$ci" = true ]; then
    failed=$((failed + 1)); echo "FAIL  $1: $2 (CI=true never skips)"
  else
    skipped=$((skipped + 1)); echo "skip  $1: $2"
  fi
}

finish() {
  say "took $((SECONDS - t_start))s; logs in $out"
  [ "$skipped" = 0 ] || say "$skipped skipped (tools missing here; CI=true installs them)"
  say "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit
}

# --- tools --------------------------------------------------------------------

# Debian packages: buildah and debootstrap (image), containerd (ctr: the
# image archive imported as on a node), etcd-server (API server's store),
# openssl (service account key).
declare -A pkg_of=([buildah]=buildah [debootstrap]=debootstrap [containerd]=containerd [ctr]=containerd [etcd]=etcd-server [openssl]=openssl)
missing=()
for tool in "${!pkg_of[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${pkg_of[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing ${missing[*]}"
    apt_install() { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; }
    check "apt-get install ${missing[*]}" apt_install "${missing[@]}"
  else
    say "not root: cannot install ${missing[*]}"
  fi
fi
have() { command -v "$1" >/dev/null 2>&1; }

command -v go >/dev/null 2>&1 || { skip "everything" "no Go toolchain"; finish; }

say "kube-apiserver, kubectl and helm (cached in ${XDG_CACHE_HOME:-~/.cache}/lvm-iscsi-csi)"
tools_dir=""
to_file() { local file=$1; shift; "$@" >"$file"; }
check "build kube-apiserver, kubectl, helm" to_file "$out/tools-dir" hack/build-kube-tools.sh
[ -s "$out/tools-dir" ] && tools_dir=$(tail -n 1 "$out/tools-dir")
helm=$tools_dir/helm kubectl=$tools_dir/kubectl apiserver=$tools_dir/kube-apiserver
[ -n "$tools_dir" ] && [ -x "$helm" ] || { skip "chart checks" "helm did not build"; finish; }

check "build lvm-iscsi-csi $version" env CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X main.version=$version" -o "$out/lvm-iscsi-csi" ./cmd/lvm-iscsi-csi

# --- the image ----------------------------------------------------------------

ctr=""
in_image() { bh run --isolation chroot "$ctr" -- "$@"; }
image_version_is() { local v; v=$(in_image lvm-iscsi-csi --version) && echo "$v" && [ "$v" = "lvm-iscsi.csi.io $1" ]; }
image_lacks() { ! in_image test -e "$1"; }
image_entrypoint_is() { local e; e=$(bh inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$1") && echo "$e" && [ "$e" = "$2" ]; }

image_checks() {
  local image=$1
  ctr=$(bh from --pull=never "$image") || { check "buildah from $image" false; return; }
  # One run of each tool the driver calls (or lvm runs for it).
  check "image: lvm version" in_image lvm version
  check "image: tgtd --version" in_image tgtd --version
  check "image: tgtadm --help" in_image tgtadm --help
  check "image: iscsiadm --version" in_image iscsiadm --version
  check "image: mkfs.ext4 -V" in_image mkfs.ext4 -V
  check "image: mkfs.xfs -V" in_image mkfs.xfs -V
  check "image: e2fsck -V" in_image e2fsck -V
  check "image: xfs_growfs -V" in_image xfs_growfs -V
  check "image: fsck --version" in_image fsck --version
  check "image: resize2fs present" in_image which resize2fs
  check "image: thin_check -V" in_image thin_check -V
  check "image: blkid -V" in_image blkid -V
  check "image: blkdiscard -V" in_image blkdiscard -V
  check "image: blockdev -V" in_image blockdev -V
  check "image: mount -V" in_image mount -V
  check "image: umount -V" in_image umount -V
  check "image: lvm-iscsi-csi --version is $version" image_version_is "$version"
  check "image: no baked-in initiator name" image_lacks /etc/iscsi/initiatorname.iscsi
  check "image: entrypoint is the driver" image_entrypoint_is "$image" "[/usr/bin/lvm-iscsi-csi]"
  bh rm "$ctr" >/dev/null
}

say "image from the Dockerfile (buildah, offline)"
bh_root=${XDG_CACHE_HOME:-$HOME/.cache}/lvm-iscsi-csi/image
bh() { buildah --root "$bh_root/storage" --runroot "$bh_root/run" --storage-driver vfs "$@"; }
if ! have buildah || ! have debootstrap; then
  skip "image build" "buildah or debootstrap missing (apt-get install buildah debootstrap, as root)"
elif [ "$(id -u)" != 0 ]; then
  skip "image build" "buildah's chroot builds need root"
else
  # As `make image` builds it: under the chart's default image name, and as
  # an archive for nodes without a registry.
  archive=$out/lvm-iscsi-csi-image.tar
  check "image build (Dockerfile, as make image)" to_file "$out/image-name" \
    env VERSION="$version" IMAGE_ARCHIVE="$archive" hack/build-image.sh
  image=$(tail -n 1 "$out/image-name" 2>/dev/null)
  if [ -n "$image" ] && bh inspect --type image "$image" >/dev/null 2>&1; then
    image_checks "$image"
  fi
fi

# --- the chart ----------------------------------------------------------------

say "helm lint and helm template"
values_files=("$chart"/ci/*-values.yaml deploy/kubernetes/values.yaml)
for vf in "${values_files[@]}"; do
  check "helm lint --strict -f $vf" "$helm" lint --strict "$chart" --values "$vf"
done
i=0
for vf in "${values_files[@]}"; do
  i=$((i + 1))
  name=$(basename "$vf" .yaml)
  [ "$vf" = deploy/kubernetes/values.yaml ] && name=deploy-kubernetes
  # Each render in its own namespace, as a user would install it.
  check "helm template -f $vf" to_file "$out/render/$i-$name.yaml" \
    "$helm" template "lvm$i" "$chart" --namespace "pkg-$i" --values "$vf"
done
# What helm refuses must stay refused, with a message that names the value.
# refused PATTERN CMD...: CMD fails and its output matches PATTERN.
refused() {
  local pattern=$1; shift
  if "$@" >"$out/logs/refused.out" 2>&1; then echo "accepted: $*"; return 1; fi
  cat "$out/logs/refused.out"
  grep -q -- "$pattern" "$out/logs/refused.out"
}
check "helm refuses a missing storage host, naming storageHost.nodeName" \
  refused 'storageHost.nodeName is required' "$helm" template x "$chart"
check "helm refuses a portal that is a host name" \
  refused 'portal' "$helm" template x "$chart" -f "$chart/ci/thin-values.yaml" --set storageHost.portal=storage.example.org:3260
check "helm refuses equal health ports" \
  refused 'healthPort' "$helm" template x "$chart" -f "$chart/ci/thin-values.yaml" --set node.healthPort=29850
check "helm refuses tgtd's port 3260 as a health port" \
  refused 'healthPort' "$helm" template x "$chart" -f "$chart/ci/thin-values.yaml" --set controller.healthPort=3260
check "static checks of every render (go test ./test/packaging)" env \
  LVM_ISCSI_CSI_RENDER_DIR="$out/render" LVM_ISCSI_CSI_BINARY="$out/lvm-iscsi-csi" LVM_ISCSI_CSI_HELM="$helm" \
  go test -count=1 ./test/packaging/
check "deploy/kubernetes matches the chart (hack/update-manifests.sh --check)" \
  env HELM="$helm" hack/update-manifests.sh --check

# --- the image archive on a node ----------------------------------------------

say "the image archive imported by containerd (ctr -n k8s.io images import)"
# default_image: the image the chart runs when no image value is set.
default_image() {
  grep -A1 -- '- name: lvm-iscsi-csi$' "$(ls "$out"/render/*-thin-values.yaml)" | sed -n 's/^ *image: //p' | sort -u
}
# ctr_import: a containerd of its own (private root, state and socket, no
# CRI) imports the archive as docs/install.md says, into the namespace
# kubelet's CRI uses; the image it then lists must be the chart's default.
ctr_import() {
  local want dir pid ok=1 i
  want=$(default_image)
  echo "the chart runs: $want"
  [ -n "$want" ] && [ "$(wc -l <<<"$want")" = 1 ] || { echo "not one default image"; return 1; }
  dir=$(mktemp -d /tmp/lvm-iscsi-csi-containerd.XXXXXX)
  printf '%s\n' 'version = 2' "root = \"$dir/root\"" "state = \"$dir/state\"" \
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]' \
    '[grpc]' "  address = \"$dir/containerd.sock\"" '[ttrpc]' "  address = \"$dir/containerd.sock.ttrpc\"" \
    >"$dir/config.toml"
  containerd --config "$dir/config.toml" >"$out/logs/containerd.log" 2>&1 &
  pid=$!
  for i in $(seq 1 60); do
    ctr --address "$dir/containerd.sock" version >/dev/null 2>&1 && break
    sleep 0.5
  done
  # native: unpacks on any file system, where overlayfs may be unavailable.
  if ctr --address "$dir/containerd.sock" -n k8s.io images import --snapshotter native "$archive" &&
    ctr --address "$dir/containerd.sock" -n k8s.io images ls -q | tee "$dir/images" | grep -qxF "$want"; then
    ok=0
  else
    echo "containerd lists:"; cat "$dir/images" 2>/dev/null
  fi
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  rm -rf "$dir"
  return $ok
}
if [ -z "${archive:-}" ] || [ ! -s "$archive" ]; then
  skip "image archive import" "no image archive (the image build did not run)"
elif ! have containerd || ! have ctr; then
  skip "image archive import" "containerd missing (apt-get install containerd, as root)"
else
  check "the image archive (make image) imports into containerd as the chart's default image" ctr_import
fi

# --- a real API server ----------------------------------------------------------

say "server-side dry run against kube-apiserver + etcd on loopback"
if ! have etcd || ! have openssl; then
  skip "API server checks" "etcd or openssl missing (apt-get install etcd-server openssl, as root)"
  finish
fi
crds=""
check "snapshot CRDs from the Go module proxy" to_file "$out/crds-dir" hack/fetch-snapshot-crds.sh
[ -s "$out/crds-dir" ] && crds=$(tail -n 1 "$out/crds-dir")

api=$(mktemp -d /tmp/lvm-iscsi-csi-apiserver.XXXXXX)
pids=()
# stop PID: SIGTERM, and SIGKILL if it is still there after 10 s.
stop() {
  local i
  kill "$1" 2>/dev/null || return 0
  for i in $(seq 1 20); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.5
  done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
# The API server before etcd: its shutdown still talks to etcd.
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[$i]}"; done
  rm -rf "$api"
}
trap cleanup EXIT

# Three free loopback ports, chosen at random so parallel runs do not collide.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}
etcd_port=$(free_port) peer_port=$(free_port) api_port=$(free_port)

start_apiserver() {
  openssl genrsa -out "$api/sa.key" 2048 2>/dev/null || return 1
  token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  echo "$token,admin,admin,system:masters" >"$api/tokens.csv"
  etcd --name packaging --data-dir "$api/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "packaging=http://127.0.0.1:$peer_port" >"$out/logs/etcd.log" 2>&1 &
  pids+=($!)
  # --endpoint-reconciler-type=none: with a loopback advertise address the
  # apiserver would otherwise refuse to start.
  "$apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --cert-dir "$api/certs" --token-auth-file "$api/tokens.csv" \
    --authorization-mode Node,RBAC --allow-privileged=true \
    --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$api/sa.key" \
    --service-account-signing-key-file "$api/sa.key" >"$out/logs/kube-apiserver.log" 2>&1 &
  pids+=($!)
  cat >"$api/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster: {server: "https://127.0.0.1:$api_port", insecure-skip-tls-verify: true}
users:
  - name: admin
    user: {token: "$token"}
contexts:
  - name: local
    context: {cluster: local, user: admin}
current-context: local
EOF
  local i
  for i in $(seq 1 120); do
    "$kubectl" --kubeconfig "$api/kubeconfig" get --raw /readyz >/dev/null 2>&1 && return 0
    kill -0 "${pids[1]}" 2>/dev/null || { echo "kube-apiserver exited"; tail -20 "$out/logs/kube-apiserver.log"; return 1; }
    sleep 0.5
  done
  echo "kube-apiserver not ready after 60s"; return 1
}
check "etcd and kube-apiserver start on loopback" start_apiserver
k() { "$kubectl" --kubeconfig "$api/kubeconfig" "$@"; }
if ! k get --raw /readyz >/dev/null 2>&1; then
  skip "dry runs" "no API server"
  finish
fi
kube_version=$(basename "$(dirname "$tools_dir")" | cut -d- -f3)  # kube-tools-VERSION-helm-VERSION/bin
server_version_is() { local v; v=$(k version -o json) && echo "$v" && grep -q "\"gitVersion\": \"$1\"" <<<"$v"; }
check "kube-apiserver is $kube_version" server_version_is "$kube_version"
crds_established() { k apply --server-side -f "$crds" && k wait --for condition=established --timeout=60s crd --all; }
if [ -n "$crds" ]; then
  check "install the snapshot CRDs" crds_established
fi

# dry_run FILE NAMESPACE: every object in FILE accepted, and as many accepted as rendered.
dry_run() {
  local file=$1 ns=$2 want got
  k create namespace "$ns" >/dev/null 2>&1 || k get namespace "$ns" >/dev/null || return 1
  want=$(grep -c '^kind: ' "$file")
  k apply --dry-run=server -f "$file" -o name >"$api/applied" || return 1
  cat "$api/applied"
  got=$(grep -c . "$api/applied")
  [ "$got" = "$want" ] || { echo "applied $got objects of $want"; return 1; }
  echo "$got objects accepted"
}
for f in "$out"/render/*.yaml; do
  n=$(basename "$f" .yaml)
  check "server-side dry run: $n" dry_run "$f" "pkg-${n%%-*}"
done
check "server-side dry run: deploy/kubernetes/lvm-iscsi-csi.yaml" dry_run deploy/kubernetes/lvm-iscsi-csi.yaml kube-system
# The dry run has teeth: one invalid field in an otherwise good render is refused.
thin_render=$(ls "$out"/render/*-thin-values.yaml)
sed 's/type: Recreate/type: Sometimes/' "$thin_render" >"$out/render-invalid.yaml"
check "the API server refuses an invalid render (strategy type Sometimes)" \
  refused 'spec.strategy: Unsupported value' dry_run "$out/render-invalid.yaml" pkg-invalid

# A real `helm install` (nothing runs the pods here, the objects only get
# stored) shows the chart installs and upgrades in one piece and prints its NOTES.
helm_install() {
  local k="--kubeconfig=$api/kubeconfig"
  "$helm" "$k" install lvm-iscsi-csi "$chart" --namespace storage --create-namespace \
    --values "$chart/ci/thin-values.yaml" --wait=false >"$api/notes" || return 1
  cat "$api/notes"
  grep -q 'kind: PersistentVolumeClaim' "$api/notes" || { echo "NOTES lack the PVC example"; return 1; }
  "$kubectl" "$k" get csidriver lvm-iscsi.csi.io -o jsonpath='{.spec.attachRequired}' | grep -qx true || return 1
  # snapshotCRDs=auto: helm asked this API server, which has the CRDs.
  if [ -n "$crds" ]; then
    "$kubectl" "$k" get volumesnapshotclass lvm-iscsi-snapshot || return 1
    "$kubectl" "$k" -n storage get deploy lvm-iscsi-csi-controller -o jsonpath='{.spec.template.spec.containers[*].name}' | grep -qw csi-snapshotter ||
      { echo "no csi-snapshotter although the API server has the snapshot CRDs"; return 1; }
    ! grep -q 'Snapshots are off' "$api/notes" || { echo "NOTES say snapshots are off"; return 1; }
  fi
  # A second storage host's release beside the first: helm refuses any
  # object another release owns, so this installs only without collisions.
  "$helm" "$k" install lvm-iscsi-csi-storage-2 "$chart" --namespace storage \
    --values "$chart/ci/second-host-values.yaml" --wait=false >/dev/null || return 1
  "$kubectl" "$k" get csidriver storage-2.lvm-iscsi.csi.io || return 1
  "$helm" "$k" uninstall lvm-iscsi-csi-storage-2 --namespace storage || return 1
  "$helm" "$k" upgrade lvm-iscsi-csi "$chart" --namespace storage \
    --values "$chart/ci/thin-values.yaml" --set sidecars.snapshotter.enabled=false >/dev/null || return 1
  "$helm" "$k" uninstall lvm-iscsi-csi --namespace storage || return 1
  ! "$kubectl" "$k" get csidriver lvm-iscsi.csi.io 2>/dev/null
}
check "helm install, upgrade, uninstall against the API server" helm_install

finish
