package events

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

const testDriver = "lvm-iscsi.csi.io"

func pv(name, driver, handle string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle},
		}},
	}
}

var testPod = PodRef{Namespace: "storage", Name: "lvm-iscsi-csi-controller-abc", UID: "uid-pod"}

func TestVolumeEventsGoToTheirPVWhenItIsTheirs(t *testing.T) {
	client := fake.NewClientset(
		pv("pvc-1", testDriver, "vol-1"),
		pv("pvc-2", "other.csi.io", "vol-2"), // same name, another driver's
		pv("pvc-3", testDriver, "vol-other"), // same name, another volume
	)
	o := NewKubeObjects(client, testDriver, testPod)
	ctx := context.Background()
	ref := o.Volume(ctx, "vol-1", "pvc-1")
	if ref == nil || ref.Kind != "PersistentVolume" || ref.Name != "pvc-1" || ref.UID != "uid-pvc-1" {
		t.Fatalf("vol-1's object = %+v, want its PV pvc-1", ref)
	}
	for _, c := range []struct{ id, name string }{{"vol-2", "pvc-2"}, {"vol-3", "pvc-3"}, {"vol-4", "pvc-none"}, {"vol-5", "not a valid name!"}} {
		ref := o.Volume(ctx, c.id, c.name)
		if ref == nil || ref.Kind != "Pod" || ref.Name != testPod.Name || ref.Namespace != testPod.Namespace || string(ref.UID) != testPod.UID {
			t.Errorf("%s (%s): object = %+v, want the controller pod", c.id, c.name, ref)
		}
	}
	if ref := o.Controller(); ref == nil || ref.Kind != "Pod" || ref.Name != testPod.Name {
		t.Errorf("controller object = %+v", ref)
	}
	// A PV found is remembered: the API server is asked once per volume.
	gets := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "persistentvolumes" {
			gets++
		}
	}
	o.Volume(ctx, "vol-1", "pvc-1")
	after := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "persistentvolumes" {
			after++
		}
	}
	if after != gets {
		t.Errorf("vol-1's PV read again: %d gets, then %d", gets, after)
	}
}

func TestWithoutPodNameOnlyPVs(t *testing.T) {
	o := NewKubeObjects(fake.NewClientset(pv("pvc-1", testDriver, "vol-1")), testDriver, PodRef{})
	if ref := o.Controller(); ref != nil {
		t.Errorf("controller object without POD_NAME = %+v", ref)
	}
	if ref := o.Volume(context.Background(), "vol-2", "pvc-2"); ref != nil {
		t.Errorf("unknown PV without POD_NAME = %+v", ref)
	}
	if ref := o.Volume(context.Background(), "vol-1", "pvc-1"); ref == nil || ref.Name != "pvc-1" {
		t.Errorf("known PV without POD_NAME = %+v", ref)
	}
}

// The reporter, through a real broadcaster, creates Events in the API
// (client-go's fake clientset) attached to the PV, once per transition.
func TestEventsReachTheAPIServer(t *testing.T) {
	client := fake.NewClientset(pv("pvc-vol-1", testDriver, "vol-1"))
	b := record.NewBroadcaster()
	defer b.Shutdown()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	rec := b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "test"})
	r := NewReporter(rec, NewKubeObjects(client, testDriver, testPod), 80, 95)
	ctx := context.Background()
	abnormal := Snapshot{ThinPool: "vg0/pool0", Data: 85, Volumes: []Volume{sick("vol-1", "ThinPoolNearlyFull")}}
	r.Observe(ctx, abnormal)
	r.Observe(ctx, abnormal)

	var evs []corev1.Event
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l, err := client.CoreV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if evs = l.Items; len(evs) >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a repeated event would have come by now
	l, _ := client.CoreV1().Events("").List(ctx, metav1.ListOptions{})
	evs = l.Items
	if len(evs) != 2 {
		t.Fatalf("%d events in the API, want 2: %+v", len(evs), evs)
	}
	byReason := map[string]corev1.Event{}
	for _, e := range evs {
		byReason[e.Reason] = e
		if e.Count > 1 {
			t.Errorf("event %s sent %d times", e.Reason, e.Count)
		}
	}
	if e, ok := byReason[ReasonVolumeAbnormal]; !ok || e.InvolvedObject.Kind != "PersistentVolume" || e.InvolvedObject.Name != "pvc-vol-1" || e.Type != corev1.EventTypeWarning {
		t.Errorf("volume event = %+v", e)
	}
	if e, ok := byReason["ThinPoolDataNearlyFull"]; !ok || e.InvolvedObject.Kind != "Pod" || e.Namespace != testPod.Namespace || e.InvolvedObject.Name != testPod.Name {
		t.Errorf("pool event = %+v", e)
	}
}
