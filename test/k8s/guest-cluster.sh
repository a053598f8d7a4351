#!/usr/bin/env bash
# The k8s-e2e run itself, as root inside the throw-away qemu guest
# (test/e2e/vm.sh): a one-node Kubernetes cluster, the driver installed by its
# Helm chart, and the Go tests of test/k8s against it through the API.
#
#   test/k8s/guest-cluster.sh          (started by test/k8s/run.sh)
#
# What it builds, in order:
#   network     a dummy interface with the node's address and the API's service
#               address (the guest has no NIC; the kubelet refuses a loopback
#               node IP), a bridge for pods (CNI bridge + host-local)
#   storage     the loop-file volume group with a thin pool and iscsid with a
#               fresh initiator name, exactly like test/e2e/guest.sh
#               (test/e2e/storage.sh); tgtd is the chart's own container
#   control     certificates (openssl), etcd, kube-apiserver (on the service
#               address's port 443, so in-cluster clients reach it without
#               kube-proxy); containerd (cgroup v2, state on a tmpfs) and the
#               images imported from archives while the API server starts;
#               kube-controller-manager, kube-scheduler
#   node        kubelet; waits for the node to be Ready
#   driver      the snapshot CRDs and snapshot-controller, then
#               `helm install` of charts/lvm-iscsi-csi with the chart's default
#               values except images, the storage host, metrics on and JSON
#               logs (docs/testing.md)
#   tests       k8s.test (client-go) with the admin kubeconfig, then the
#               upstream storage suite (test/k8s/upstream.sh: e2e.test with
#               test/k8s/testdriver.yaml), each when asked for
#
# Inputs: E2E_OUTPUT (results; required) holding inputs.env, written by run.sh:
# K8S_BIN (kube binaries, helm), K8S_IMAGES_ENV (test/k8s/images.sh's list),
# K8S_CRDS, K8S_SNAPSHOT_RBAC, K8S_TEST_BIN (k8s.test, junitsum, test2json),
# K8S_UPSTREAM (ci, full or off) and K8S_E2E_BIN (e2e.test's directory).
# Settings: E2E_K8S_GO_RUN (-test.run), E2E_K8S_OWN=off (skip k8s.test), E2E_VG_SIZE, E2E_THIN_POOL_SIZE,
# E2E_K8S_UNTIL=node (stop once the node is Ready: for work on the cluster
# itself).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${E2E_OUTPUT:?E2E_OUTPUT must name the results directory}
# shellcheck source=/dev/null
. "$out/inputs.env"
# shellcheck source=/dev/null
. "$K8S_IMAGES_ENV"

node=k8s-e2e
node_ip=198.18.0.1          # benchmarking range (RFC 2544): never routed anywhere
service_cidr=198.19.0.0/24
api_ip=198.19.0.1           # the first service address: the `kubernetes` service
pod_cidr=198.18.128.0/24
portal=$node_ip:3260
vg=lvmk8s
pool=pool
vg_size=${E2E_VG_SIZE:-3G}
pool_size=${E2E_THIN_POOL_SIZE:-1G}
work=/var/tmp/k8s-e2e
pki=$work/pki
logs=$out/logs
kubeconfig=$work/admin.kubeconfig
t_start=$SECONDS

mkdir -p "$work" "$pki" "$logs" "$out/junit"
log() { printf '[k8s %(%H:%M:%S)T +%ss] %s\n' -1 "$((SECONDS - t_start))" "$*"; }
die() { log "FAIL: $*"; exit 1; }
k() { "$K8S_BIN/kubectl" --kubeconfig "$kubeconfig" "$@"; }
# api PATH: a GET as admin with curl: under emulation every kubectl start
# costs seconds of CPU, too much for polling.
api() { curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "https://$node_ip:443$1"; }

[ "$(id -u)" = 0 ] || die "must run as root"
[ "${E2E_MODE:-}" = vm ] || die "runs only inside the throw-away guest (test/e2e/vm.sh): it takes the machine's network, cgroups and /var/lib"

# shellcheck source=test/e2e/storage.sh
. "$repo/test/e2e/storage.sh"

pids=()
# start NAME CMD...: a daemon in its own session, output in logs/NAME.log.
start() {
  local name=$1; shift
  setsid "$@" > "$logs/$name.log" 2>&1 &
  pids+=("$!:$name")
}

# wait_for WHAT SECONDS CMD...: retries CMD every 2 seconds until it succeeds.
# Limits are generous: under emulation on a busy 2-core host the API server
# alone needs several minutes to become ready.
wait_for() {
  local what=$1 limit=$2 t0=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - t0 < limit)) || die "$what: not after ${limit}s"
    sleep 2
  done
  log "$what ($((SECONDS - t0))s)"
}

# What a failed run needs for diagnosis, then the daemons in reverse order
# (the guest is thrown away, but logs are flushed by a clean stop).
# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
  local rc=$? i
  set +e
  log "collecting state (exit $rc)"
  if [ -s "$kubeconfig" ] && api /readyz >/dev/null 2>&1; then
    k get nodes -o wide > "$logs/nodes.txt" 2>&1
    k get pods -A -o wide > "$logs/pods.txt" 2>&1
    k get events -A --sort-by=.lastTimestamp > "$logs/events.txt" 2>&1
    k get pv,pvc,volumeattachments,csinodes,csistoragecapacities -A -o wide > "$logs/storage.txt" 2>&1
    k describe pods -A > "$logs/pods-describe.txt" 2>&1
    for pod in $(k get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}'); do
      for c in $(k get pod -n "${pod%%/*}" "${pod#*/}" -o jsonpath='{.spec.containers[*].name}'); do
        k logs -n "${pod%%/*}" "${pod#*/}" -c "$c" > "$logs/pod-${pod//\//_}-$c.log" 2>&1
        k logs -n "${pod%%/*}" "${pod#*/}" -c "$c" --previous > "$logs/pod-${pod//\//_}-$c.previous.log" 2>/dev/null ||
          rm -f "$logs/pod-${pod//\//_}-$c.previous.log"
      done
    done
  fi
  lvs -a -o lv_name,lv_attr,lv_size,lv_tags "$vg" > "$logs/lvs-end.txt" 2>&1
  iscsiadm -m session > "$logs/iscsi-sessions.txt" 2>&1
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${pids[$i]%%:*}" "${pids[$i]#*:}"
  done
  [ -n "$started_iscsid" ] && stop_pid "$started_iscsid" iscsid
  log "done in $((SECONDS - t_start))s (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- network ----------------------------------------------------------------------
log "network: $node_ip (node), $api_ip (API), pods in $pod_cidr"
for m in dummy bridge veth br_netfilter overlay; do modprobe "$m" || log "modprobe $m failed"; done
hostname "$node"
echo "$node_ip $node" >> /etc/hosts
ip link add k8s0 type dummy
ip addr add "$node_ip/24" dev k8s0
ip addr add "$api_ip/32" dev k8s0
ip link set k8s0 up
# Pods' traffic to the node's addresses comes in on the bridge: delivered
# locally, no forwarding; the default route only gives every component an
# interface to pick the node's address from.
ip route add default dev k8s0
[ -s /etc/resolv.conf ] || echo "nameserver $node_ip" > /etc/resolv.conf

# --- binaries out of 9p --------------------------------------------------------------
# This machine's files reach the guest over 9p without a page cache: every
# exec of a large binary (kubectl is 60 MB) and every small read of an image
# archive is a round trip to the host, which made a kubectl call take many
# seconds and an image import minutes. Copies in the guest's memory are read
# once, in large blocks.
t0=$SECONDS
local_bin=/usr/local/lib/k8s-e2e
mkdir -p "$local_bin"
cp "$K8S_BIN"/kube-apiserver "$K8S_BIN"/kube-controller-manager "$K8S_BIN"/kube-scheduler \
  "$K8S_BIN"/kubelet "$K8S_BIN"/kubectl "$K8S_BIN"/helm "$local_bin/"
cp "$K8S_TEST_BIN"/k8s.test "$K8S_TEST_BIN"/junitsum "$K8S_TEST_BIN"/test2json "$local_bin/"
[ "${K8S_UPSTREAM:-off}" = off ] || cp "$K8S_E2E_BIN"/e2e.test "$local_bin/"
K8S_BIN=$local_bin K8S_TEST_BIN=$local_bin
# The binaries the node runs for every pod and container: changing their
# times copies them up into the overlay's memory layer.
for f in runc containerd containerd-shim-runc-v2 ctr etcd curl /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback; do
  f=$(command -v "$f" || echo "$f")
  [ -e "$f" ] && touch -c "$f"
done
log "binaries copied into the guest's memory ($((SECONDS - t0))s)"

# --- storage host and initiator ------------------------------------------------------
storage_lvm_filter_iscsi
storage_create_vg "$work" "$vg" "$pool" "$vg_size" "$pool_size"
storage_initiator_name /etc/iscsi/initiatorname.iscsi "$work"
storage_start_iscsid /etc/iscsi/initiatorname.iscsi "$logs/iscsid.log"

# --- certificates ------------------------------------------------------------------------
log "certificates"
# cert NAME SUBJECT [SAN]: an EC key and a certificate signed by the cluster CA
# (EC: RSA key generation is slow under emulation).
cert() {
  local name=$1 subject=$2 san=${3:-}
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key"
  openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } > "$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 2 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
}
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key"
openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=k8s-e2e-ca" -days 2 -out "$pki/ca.crt"
cert apiserver "/CN=kube-apiserver" \
  "IP:127.0.0.1,IP:$node_ip,IP:$api_ip,DNS:$node,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert admin "/O=system:masters/CN=admin"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert controller-manager "/CN=system:kube-controller-manager"
cert scheduler "/CN=system:kube-scheduler"
cert kubelet "/O=system:nodes/CN=system:node:$node" "IP:$node_ip,DNS:$node"
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key"
openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

# write_kubeconfig FILE USER: a kubeconfig for USER's certificate.
write_kubeconfig() {
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: k8s-e2e
    cluster: {server: "https://$node_ip:443", certificate-authority: "$pki/ca.crt"}
users:
  - name: $2
    user: {client-certificate: "$pki/$2.crt", client-key: "$pki/$2.key"}
contexts:
  - name: k8s-e2e
    context: {cluster: k8s-e2e, user: $2}
current-context: k8s-e2e
EOF
}
for u in admin controller-manager scheduler kubelet; do write_kubeconfig "$work/$u.kubeconfig" "$u"; done

# --- control plane ------------------------------------------------------------------------
log "etcd, kube-apiserver"
start etcd etcd --name "$node" --data-dir "$work/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster "$node=http://127.0.0.1:2380"
start kube-apiserver "$K8S_BIN/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
  --advertise-address "$node_ip" --bind-address 0.0.0.0 --secure-port 443 \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
  --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range "$service_cidr" --authorization-mode Node,RBAC --allow-privileged=true \
  --enable-admission-plugins NodeRestriction --v=1
# --- containerd ------------------------------------------------------------------------------
log "containerd"
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /var/lib/containerd /etc/containerd /etc/cni/net.d /var/lib/kubelet
# overlayfs snapshots need an upper directory that is not itself on overlayfs.
mount -t tmpfs -o size=3g tmpfs /var/lib/containerd
cat > /etc/containerd/config.toml <<EOF
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$K8S_IMAGE_PAUSE"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
EOF
cat > /etc/cni/net.d/10-k8s-e2e.conflist <<EOF
{
  "cniVersion": "0.4.0",
  "name": "k8s-e2e",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "loopback"}
  ]
}
EOF
start containerd containerd --config /etc/containerd/config.toml
wait_for "containerd answers" 300 ctr --address /run/containerd/containerd.sock version
t0=$SECONDS
# Each archive copied into memory first (large reads), then imported (small reads).
mkdir -p /run/k8s-e2e-images
for archive in "${K8S_IMAGES[@]}"; do
  cp "$archive" /run/k8s-e2e-images/image.tar
  ctr --address /run/containerd/containerd.sock -n k8s.io images import /run/k8s-e2e-images/image.tar >> "$logs/images-import.log" 2>&1 ||
    die "ctr images import $archive failed; see $logs/images-import.log"
  rm -f /run/k8s-e2e-images/image.tar
done
ctr --address /run/containerd/containerd.sock -n k8s.io images ls -q > "$logs/images.txt"
log "imported ${#K8S_IMAGES[@]} images ($((SECONDS - t0))s): $(tr '\n' ' ' < "$logs/images.txt")"

# containerd and the images above while the API server starts: it takes minutes.
wait_for "kube-apiserver ready" 1200 api /readyz
log "kube-controller-manager, kube-scheduler"
start kube-controller-manager "$K8S_BIN/kube-controller-manager" --kubeconfig "$work/controller-manager.kubeconfig" \
  --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" --v=1
start kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$work/scheduler.kubeconfig" --leader-elect=false --v=1

# --- kubelet -----------------------------------------------------------------------------------
log "kubelet"
# No systemd: the root mount is private, and the node plugin's Bidirectional
# mounts under /var/lib/kubelet would never reach kubelet and the pods.
mount --make-rshared /
cat > "$work/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
failSwapOn: false
resolvConf: /etc/resolv.conf
tlsCertFile: "$pki/kubelet.crt"
tlsPrivateKeyFile: "$pki/kubelet.key"
# Everything lives in memory here: disk pressure would only mean a full tmpfs.
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
start kubelet "$K8S_BIN/kubelet" --config "$work/kubelet.yaml" --kubeconfig "$work/kubelet.kubeconfig" \
  --hostname-override "$node" --node-ip "$node_ip" --root-dir /var/lib/kubelet --v=2
wait_for "node $node registered" 900 api "/api/v1/nodes/$node"
wait_for "node $node Ready" 900 k wait --for=condition=Ready "node/$node" --timeout=900s
if [ "${E2E_K8S_UNTIL:-}" = node ]; then
  log "E2E_K8S_UNTIL=node: stopping with the node Ready"
  exit 0
fi

# --- the driver ----------------------------------------------------------------------------------
log "snapshot CRDs and snapshot-controller"
k apply --server-side -f "$K8S_CRDS" > "$logs/crds.log"
k wait --for condition=established --timeout=120s crd --all >> "$logs/crds.log"
k apply -f "$K8S_SNAPSHOT_RBAC" > "$logs/snapshot-controller.log"
sed "s|@IMAGE@|$K8S_IMAGE_SNAPSHOT_CONTROLLER|" "$here/snapshot-controller.yaml" | k apply -f - >> "$logs/snapshot-controller.log"

log "helm install charts/lvm-iscsi-csi"
# The chart's defaults except the images made by test/k8s/images.sh (no
# registry: image.pullPolicy=Never, which the sidecars follow) and the
# storage host. The driver registers itself with kubelet and serves the
# liveness probes' /healthz (the chart's defaults), so no
# node-driver-registrar or livenessprobe image is needed. Metrics on (the
# driver's and the sidecars' /metrics) and JSON logs, as an administrator
# who collects both installs it: TestOperability scrapes and parses them.
driver_repo=${K8S_IMAGE_DRIVER%:*} driver_tag=${K8S_IMAGE_DRIVER##*:}
helm_args=(
  --set "image.repository=$driver_repo" --set "image.tag=$driver_tag" --set image.pullPolicy=Never
  --set "sidecars.provisioner.image=$K8S_IMAGE_PROVISIONER"
  --set "sidecars.attacher.image=$K8S_IMAGE_ATTACHER"
  --set "sidecars.resizer.image=$K8S_IMAGE_RESIZER"
  --set "sidecars.snapshotter.image=$K8S_IMAGE_SNAPSHOTTER"
  --set "storageHost.nodeName=$node" --set "storageHost.portal=$portal"
  --set "storageHost.volumeGroup=$vg" --set "storageHost.thinPool=$pool"
  --set metrics.enabled=true --set logFormat=json
)
# The upstream suite's claims are 256Mi to 2Gi (volume-expand grows a 1Gi
# claim by 1Gi; snapshots and clones beside their sources), all thin (the
# class as installed), and their sizes together may not pass the thin pool
# (1G here, in the guest's memory) times overprovisionRatio: raised for it,
# as an administrator who overcommits does. Little of it is ever written.
[ "${K8S_UPSTREAM:-off}" = off ] || helm_args+=(--set controller.overprovisionRatio=8)
printf '%s\n' "${helm_args[@]}" > "$out/helm-args.txt"
"$K8S_BIN/helm" --kubeconfig "$kubeconfig" install lvm-iscsi-csi "$repo/charts/lvm-iscsi-csi" \
  --namespace lvm-iscsi-csi --create-namespace "${helm_args[@]}" > "$logs/helm-install.log" 2>&1 ||
  { cat "$logs/helm-install.log"; die "helm install failed"; }
"$K8S_BIN/helm" --kubeconfig "$kubeconfig" get manifest -n lvm-iscsi-csi lvm-iscsi-csi > "$out/manifest.yaml"
wait_for "controller Deployment available" 1800 \
  k -n lvm-iscsi-csi wait --for=condition=Available deployment/lvm-iscsi-csi-controller --timeout=1800s
wait_for "node DaemonSet ready" 900 \
  k -n lvm-iscsi-csi rollout status daemonset/lvm-iscsi-csi-node --timeout=900s
csinode_has_driver() { api "/apis/storage.k8s.io/v1/csinodes/$node" | grep -q '"name": *"lvm-iscsi.csi.io"'; }
wait_for "driver registered with kubelet (CSINode)" 600 csinode_has_driver
wait_for "snapshot-controller available" 900 \
  k -n kube-system wait --for=condition=Available deployment/snapshot-controller --timeout=900s

# --- the tests ----------------------------------------------------------------------------------------
# What the cluster is doing, every 30 s, for a run that seems stuck.
(
  while sleep 30; do
    { date; k get pods,pvc,volumeattachments -A -o wide 2>&1; echo; } >> "$logs/progress.txt"
  done
) &
pids+=("$!:progress")
status=0
if [ "${E2E_K8S_OWN:-on}" = on ]; then
  log "k8s tests (log: $out/k8s.log; progress: $logs/progress.txt)"
  t0=$SECONDS
  "$K8S_TEST_BIN/k8s.test" -test.v -test.timeout=60m -test.run="${E2E_K8S_GO_RUN:-.}" \
    -kubeconfig "$kubeconfig" -busybox-image "$K8S_IMAGE_BUSYBOX" \
    -volume-group "$vg" -kubelet-dir /var/lib/kubelet \
    -initiator-name-file /etc/iscsi/initiatorname.iscsi -iscsid-log "$logs/iscsid.log" \
    > "$out/k8s.log" 2>&1 || status=1
  "$K8S_TEST_BIN/test2json" -p k8s < "$out/k8s.log" > "$out/k8s.json"
  "$K8S_TEST_BIN/junitsum" -from-test2json -suite k8s < "$out/k8s.json" > "$out/junit/k8s.xml" || status=1
  log "k8s tests finished in $((SECONDS - t0))s: $("$K8S_TEST_BIN/junitsum" "$out/junit/k8s.xml" 2>&1 || true)"
fi
if [ "${K8S_UPSTREAM:-off}" != off ]; then
  log "upstream storage suite, $K8S_UPSTREAM (log: $out/upstream.log; progress: $logs/progress.txt)"
  lvs -a -o lv_name,lv_attr,lv_size,lv_tags "$vg" > "$logs/lvs-before-upstream.txt" 2>&1
  t0=$SECONDS
  "$here/upstream.sh" "$K8S_UPSTREAM" "$K8S_BIN/e2e.test" "$kubeconfig" "$out" || status=1
  log "upstream storage suite finished in $((SECONDS - t0))s: $("$K8S_TEST_BIN/junitsum" "$out/junit/upstream.xml" 2>&1 || true)"
fi
exit "$status"
