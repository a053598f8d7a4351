//go:build k8s

package k8s

import (
	"context"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// xfs: the same story on the xfs class (the driver gives xfs at least 300 MiB).
func TestXfsDataSurvivesPod(t *testing.T) {
	dumpEvents(t)
	testDataSurvivesPod(t, "xfs", "xfs", "300Mi")
}

// Block: a raw device in the pod, no filesystem; the bytes written at its
// start are read back by the next pod.
func TestBlockDataSurvivesPod(t *testing.T) {
	dumpEvents(t)
	claim := "block-data"
	createClaim(t, claim, "block", "64Mi", corev1.PersistentVolumeBlock)
	const sumFirst10MiB = `dd if=/dev/xvda bs=65536 count=160 2>/dev/null | sha256sum | cut -d' ' -f1`
	wrote := runPod(t, "block-writer", claim, true, `set -e
[ -b /dev/xvda ]
dd if=/dev/urandom of=/dev/xvda bs=65536 count=160 conv=fsync 2>/dev/null
`+sumFirst10MiB+` > /dev/termination-log
`)
	pv := boundVolume(t, claim)
	waitDetached(t, pv.Name)
	read := runPod(t, "block-reader", claim, true, "set -e\n"+sumFirst10MiB+" > /dev/termination-log\n")
	if len(wrote) != 64 || read != wrote {
		t.Fatalf("the reader read sum %q, the writer wrote %q", read, wrote)
	}
	deleteClaim(t, claim)
}

// Expansion while a pod writes: the claim grows from 64 MiB to 256 MiB and the
// running pod sees its filesystem grow (controller and node expansion, online).
func TestExpansionWhilePodWrites(t *testing.T) {
	dumpEvents(t)
	claim := "grow-data"
	createClaim(t, claim, "ext4", "64Mi", corev1.PersistentVolumeFilesystem)
	// Writes 1 MiB files in a ring of 32 until /data is larger than 200 MiB,
	// then reports its size in KiB; the data stays checked as it goes.
	startPod(t, "grow-writer", claim, false, `set -e
i=0
while :; do
  dd if=/dev/urandom of=/data/f$i bs=65536 count=16 2>/dev/null
  sha256sum /data/f$i > /data/f$i.sha256
  sha256sum -c /data/f$i.sha256 >/dev/null
  i=$(( (i + 1) % 32 ))
  size=$(df -k /data | awk 'NR == 2 {print $2}')
  if [ "$size" -gt 204800 ]; then echo "$size" > /dev/termination-log; exit 0; fi
  sleep 1
done
`)
	defer deletePod(t, "grow-writer")
	waitRunning(t, "grow-writer")
	patch := []byte(`{"spec":{"resources":{"requests":{"storage":"256Mi"}}}}`)
	if _, err := client.CoreV1().PersistentVolumeClaims(*namespace).Patch(context.Background(), claim, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("grow claim %s: %v", claim, err)
	}
	want := resource.MustParse("256Mi")
	waitFor(t, "claim "+claim+" at 256Mi", func(ctx context.Context) (bool, error) {
		pvc, err := client.CoreV1().PersistentVolumeClaims(*namespace).Get(ctx, claim, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got := pvc.Status.Capacity[corev1.ResourceStorage]
		return got.Cmp(want) >= 0, nil
	})
	msg := podResult(t, "grow-writer")
	kib, err := strconv.Atoi(msg)
	if err != nil || kib <= 204800 {
		t.Fatalf("the pod reported a /data of %q KiB, want more than 204800", msg)
	}
	t.Logf("the running pod saw /data grow to %d KiB", kib)
}

// A VolumeSnapshot of a written volume, restored into a new claim: the new
// claim has the bytes of the moment of the snapshot.
func TestSnapshotRestoresData(t *testing.T) {
	dumpEvents(t)
	src := "snap-source"
	createClaim(t, src, "ext4", "64Mi", corev1.PersistentVolumeFilesystem)
	wrote := runPod(t, "snap-writer", src, false, writeScript)
	w := sumAndFS.FindStringSubmatch(wrote)
	if w == nil {
		t.Fatalf("writer reported %q", wrote)
	}

	dyn := dynamicClient(t)
	snapshots := dyn.Resource(schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}).Namespace(*namespace)
	snap := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1",
		"kind":       "VolumeSnapshot",
		"metadata":   map[string]any{"name": "snap"},
		"spec": map[string]any{
			"volumeSnapshotClassName": "lvm-iscsi-snapshot",
			"source":                  map[string]any{"persistentVolumeClaimName": src},
		},
	}}
	if _, err := snapshots.Create(context.Background(), snap, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create snapshot: %v", err)
	}
	t.Cleanup(func() { _ = snapshots.Delete(context.Background(), "snap", metav1.DeleteOptions{}) })
	waitFor(t, "snapshot ready to use", func(ctx context.Context) (bool, error) {
		s, err := snapshots.Get(ctx, "snap", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if msg, found, _ := unstructured.NestedString(s.Object, "status", "error", "message"); found {
			t.Logf("snapshot error (may be retried): %s", msg)
		}
		ready, _, _ := unstructured.NestedBool(s.Object, "status", "readyToUse")
		return ready, nil
	})

	restored := "snap-restored"
	sc := *storageClass + "ext4"
	mode := corev1.PersistentVolumeFilesystem
	apiGroup := "snapshot.storage.k8s.io"
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: restored},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &sc,
			VolumeMode:       &mode,
			DataSource:       &corev1.TypedLocalObjectReference{APIGroup: &apiGroup, Kind: "VolumeSnapshot", Name: "snap"},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")},
			},
		},
	}
	if _, err := client.CoreV1().PersistentVolumeClaims(*namespace).Create(context.Background(), pvc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create restored claim: %v", err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().PersistentVolumeClaims(*namespace).Delete(context.Background(), restored, metav1.DeleteOptions{})
	})
	read := runPod(t, "snap-reader", restored, false, readScript)
	r := sumAndFS.FindStringSubmatch(read)
	if r == nil || r[1] != w[1] {
		t.Fatalf("the restored claim holds data with sum %q, the source had %s", read, w[1])
	}
	deleteClaim(t, restored)
	if err := snapshots.Delete(context.Background(), "snap", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete snapshot: %v", err)
	}
	deleteClaim(t, src)
}

func dynamicClient(t *testing.T) dynamic.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
