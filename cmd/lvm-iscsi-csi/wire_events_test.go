package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/events"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

func TestSnapshotOfThePoolsHealth(t *testing.T) {
	got := snapshotOf(pool.AllHealthReport{
		ThinPool: "vg0/pool0", Data: 81, Metadata: 7,
		Volumes: []pool.VolumeHealthReport{
			{Volume: pool.Volume{ID: "v1", Name: "pvc-1"}, Health: []pool.Health{{Reason: "ThinPoolNearlyFull", Message: "m"}}},
			{Volume: pool.Volume{ID: "v2", Name: "pvc-2"}},
		},
	})
	want := events.Snapshot{ThinPool: "vg0/pool0", Data: 81, Metadata: 7, Volumes: []events.Volume{
		{ID: "v1", Name: "pvc-1", Problems: []events.Problem{{Reason: "ThinPoolNearlyFull", Message: "m"}}},
		{ID: "v2", Name: "pvc-2"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshotOf = %+v\nwant %+v", got, want)
	}
}

func TestPodFromTheDownwardAPI(t *testing.T) {
	t.Setenv("POD_NAME", "ctl-1")
	t.Setenv("POD_NAMESPACE", "storage")
	t.Setenv("POD_UID", "u-1")
	if got := podFromEnv(); got != (events.PodRef{Namespace: "storage", Name: "ctl-1", UID: "u-1"}) {
		t.Fatalf("podFromEnv = %+v", got)
	}
	t.Setenv("POD_NAME", "")
	if got := podFromEnv(); got.Name != "" {
		t.Fatalf("podFromEnv without POD_NAME = %+v", got)
	}
}

// --kube-events outside a pod is a start-up error that says why; without it
// nothing runs.
func TestKubeEventsOutsideAClusterFailsClearly(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	opts := driver.DefaultOptions()
	if run, err := kubeEvents(opts, nil); run != nil || err != nil {
		t.Fatalf("without --kube-events: %v, %v", run != nil, err)
	}
	opts.KubeEvents = true
	run, err := kubeEvents(opts, nil)
	if run != nil || err == nil || !strings.Contains(err.Error(), "--kube-events needs the in-cluster configuration") {
		t.Fatalf("--kube-events outside a cluster: %v, %v", run != nil, err)
	}
}
