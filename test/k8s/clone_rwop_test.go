//go:build k8s

package k8s

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A clone (a claim whose dataSource is another claim) holds the source's
// bytes: the source written and released, the clone read by a new pod.
func TestCloneHasSourceData(t *testing.T) {
	dumpEvents(t)
	src := "clone-source"
	createClaim(t, src, "ext4", "64Mi", corev1.PersistentVolumeFilesystem)
	wrote := runPod(t, "clone-writer", src, false, writeScript)
	w := sumAndFS.FindStringSubmatch(wrote)
	if w == nil {
		t.Fatalf("writer reported %q, want \"<sha256> <fstype>\"", wrote)
	}

	clone := "clone"
	createClaimSpec(t, clone, claimSpec{
		class:      *storageClass + "ext4",
		size:       "64Mi",
		access:     corev1.ReadWriteOnce,
		dataSource: &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: src},
	})
	// The reader checks the stored sum (sha256sum -c) and reports the sum of
	// the bytes it read; then it changes the clone, which must not reach the
	// source (checked below by the source's volume staying as it was).
	read := runPod(t, "clone-reader", clone, false, readScript+"rm /data/blob\nsync\n")
	r := sumAndFS.FindStringSubmatch(read)
	if r == nil || r[1] != w[1] {
		t.Fatalf("the clone holds data with sum %q, the source had %s", read, w[1])
	}
	if pv := boundVolume(t, clone); pv.Spec.CSI == nil || pv.Spec.CSI.Driver != driverName {
		t.Fatalf("clone volume %s is not a %s volume", pv.Name, driverName)
	}
	again := runPod(t, "clone-source-reader", src, false, readScript)
	if a := sumAndFS.FindStringSubmatch(again); a == nil || a[1] != w[1] {
		t.Fatalf("after the clone was changed the source holds %q, want sum %s", again, w[1])
	}
	deleteClaim(t, clone)
	deleteClaim(t, src)
}

// ReadWriteOncePod: while one pod uses the claim, a second pod that names it
// is not scheduled (the scheduler's VolumeRestrictions); once the first is
// gone the second starts and finds the first one's bytes.
func TestReadWriteOncePodKeepsSecondPodOut(t *testing.T) {
	dumpEvents(t)
	claim := "rwop"
	createClaimSpec(t, claim, claimSpec{class: *storageClass + "ext4", size: "64Mi", access: corev1.ReadWriteOncePod})

	// The first pod writes, then stays; it is ready once its data is on disk.
	first := podFor("rwop-first", claim, false, `set -e
dd if=/dev/urandom of=/data/blob bs=65536 count=160 2>/dev/null
sha256sum /data/blob > /data/blob.sha256
sync
touch /data/written
exec sleep 3600
`)
	first.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "test -e /data/written"}}},
		PeriodSeconds: 2,
	}
	createPod(t, first)
	defer deletePod(t, first.Name)
	waitFor(t, "pod rwop-first ready (its data written)", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(*namespace).Get(ctx, first.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return podReady(p), nil
	})

	second := "rwop-second"
	startPod(t, second, claim, false, readScript)
	defer deletePod(t, second)
	var why string
	waitFor(t, "pod "+second+" refused by the scheduler", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(*namespace).Get(ctx, second, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.NodeName != "" || p.Status.Phase != corev1.PodPending {
			t.Fatalf("the second pod was placed on %q (phase %s) while the first used the ReadWriteOncePod claim", p.Spec.NodeName, p.Status.Phase)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				why = c.Message
				return true, nil
			}
		}
		return false, nil
	})
	t.Logf("the scheduler: %s", why)

	deletePod(t, first.Name)
	read := podResult(t, second)
	if sumAndFS.FindStringSubmatch(read) == nil {
		t.Fatalf("the second pod reported %q, want \"<sha256> <fstype>\"", read)
	}
	deletePod(t, second)
	deleteClaim(t, claim)
}
