package packaging

import (
	"strings"
	"testing"
)

// snapshotAPIs are the --api-versions of a cluster with the snapshot CRDs.
var snapshotAPIs = []string{
	"--api-versions", "snapshot.storage.k8s.io/v1/VolumeSnapshotClass",
	"--api-versions", "snapshot.storage.k8s.io/v1/VolumeSnapshotContent",
	"--api-versions", "snapshot.storage.k8s.io/v1/VolumeSnapshot",
}

// TestSnapshotPartsFollowTheCRDs: the VolumeSnapshotClass (which the API
// server refuses without its CRD, failing the whole install) and
// csi-snapshotter with its RBAC (which only logs errors without the CRDs)
// are rendered when the cluster has the snapshot CRDs, or when a value says
// it has them; never when the user turned them off.
func TestSnapshotPartsFollowTheCRDs(t *testing.T) {
	thin := []string{"--values", ciValues("thin-values.yaml")}
	cases := []struct {
		name string
		args []string
		want bool
	}{
		{"no CRDs", nil, false},
		{"CRDs in the cluster", snapshotAPIs, true},
		{"only the class CRD", snapshotAPIs[:2], false},
		{"CRDs forced by value", []string{"--set", "snapshotCRDs=installed"}, true},
		{"CRDs, but turned off", append([]string{"--set", "volumeSnapshotClass.create=false", "--set", "sidecars.snapshotter.enabled=false"}, snapshotAPIs...), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", append(append([]string{}, thin...), tc.args...)...)
			_, w := onlyWorkload(t, r, "Deployment")
			has := map[string]bool{
				"VolumeSnapshotClass":       len(r.ofKind("VolumeSnapshotClass")) == 1,
				"csi-snapshotter container": w.Spec.Template.Spec.hasContainer("csi-snapshotter"),
				"snapshotter ClusterRole":   hasSuffixObject(r, "ClusterRole", "-snapshotter"),
			}
			for what, got := range has {
				if got != tc.want {
					t.Errorf("%s rendered: %v, want %v", what, got, tc.want)
				}
			}
		})
	}
}

// hasSuffixObject reports whether the render has an object of kind whose
// name ends in suffix.
func hasSuffixObject(r render, kind, suffix string) bool {
	for _, o := range r.ofKind(kind) {
		if strings.HasSuffix(o.Metadata.Name, suffix) {
			return true
		}
	}
	return false
}
