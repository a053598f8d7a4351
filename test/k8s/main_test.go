//go:build k8s

// Package k8s holds the tests that run against a real Kubernetes cluster
// with the driver installed by its Helm chart (make k8s-e2e, see
// docs/testing.md): users' objects only (PVCs, pods, snapshots) through the
// API, and kubelet, the sidecars and the driver's pods doing the rest.
package k8s

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	kubeconfig   = flag.String("kubeconfig", "", "kubeconfig of the cluster (required)")
	busyboxImage = flag.String("busybox-image", "", "image with busybox as /bin/sh, present on the node (required)")
	namespace    = flag.String("namespace", "k8s-e2e", "namespace the tests create their objects in (created, and deleted at the end)")
	storageClass = flag.String("storage-class-prefix", "lvm-iscsi-", "prefix of the chart's StorageClass names")
	// Under software emulation a pod that mounts a fresh volume needs a minute
	// or more (attach, iSCSI login, mkfs); waits are generous.
	// What the tests that act on the storage host and node themselves (kill
	// tgtd, list the volume group) need: they run there, as root, in the
	// one-node cluster of make k8s-e2e.
	driverNamespace = flag.String("driver-namespace", "lvm-iscsi-csi", "namespace of the chart's release")
	volumeGroup     = flag.String("volume-group", "lvmk8s", "the storage host's volume group")
	initiatorFile   = flag.String("initiator-name-file", "/etc/iscsi/initiatorname.iscsi", "the node's initiator name file (for an iscsid restarted by a test)")
	kubeletDir      = flag.String("kubelet-dir", "/var/lib/kubelet", "kubelet's --root-dir on the node")
	iscsidLog       = flag.String("iscsid-log", os.DevNull, "where an iscsid restarted by a test logs")
	timeout         = flag.Duration("step-timeout", 15*time.Minute, "how long one step (a pod running, a claim bound) may take")
)

// client is the API client of every test, set up by TestMain.
var client kubernetes.Interface

func TestMain(m *testing.M) {
	flag.Parse()
	if *kubeconfig == "" || *busyboxImage == "" {
		fmt.Fprintln(os.Stderr, "k8s tests need -kubeconfig and -busybox-image (make k8s-e2e passes them)")
		os.Exit(2)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeconfig:", err)
		os.Exit(2)
	}
	client, err = kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(2)
	}
	if err := createNamespace(); err != nil {
		fmt.Fprintln(os.Stderr, "namespace:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
