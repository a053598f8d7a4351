package events

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
)

// fakeObjects attaches volume events to a PV named after the volume when
// the volume is in pvs, else to the controller pod.
type fakeObjects struct{ pvs map[string]bool }

var controllerPod = &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "kube-system", Name: "ctl-0"}

func (f fakeObjects) Volume(_ context.Context, id, name string) *corev1.ObjectReference {
	if f.pvs[id] {
		return &corev1.ObjectReference{Kind: "PersistentVolume", APIVersion: "v1", Name: name}
	}
	return controllerPod
}

func (f fakeObjects) Controller() *corev1.ObjectReference { return controllerPod }

// drain returns the events recorded so far.
func drain(rec *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// expect checks that exactly the events with these prefixes ("Type Reason")
// were recorded, in this order, and returns them.
func expect(t *testing.T, rec *record.FakeRecorder, what string, prefixes ...string) []string {
	t.Helper()
	got := drain(rec)
	if len(got) != len(prefixes) {
		t.Fatalf("%s: %d events %q, want %d %q", what, len(got), got, len(prefixes), prefixes)
	}
	for i, p := range prefixes {
		if !strings.HasPrefix(got[i], p+" ") {
			t.Fatalf("%s: event %d is %q, want %q", what, i, got[i], p)
		}
	}
	return got
}

func newTestReporter() (*Reporter, *record.FakeRecorder) {
	rec := record.NewFakeRecorder(100)
	rec.IncludeObject = true
	return NewReporter(rec, fakeObjects{pvs: map[string]bool{"vol-a": true}}, 80, 95), rec
}

func pool(data, meta float64) Snapshot {
	return Snapshot{ThinPool: "vg0/pool0", Data: data, Metadata: meta}
}

func TestThinPoolEventsOnePerTransitionDataAndMetadataApart(t *testing.T) {
	r, rec := newTestReporter()
	ctx := context.Background()

	r.Observe(ctx, pool(10, 5))
	expect(t, rec, "a pool below the warning at start")

	r.Observe(ctx, pool(81.5, 5))
	got := expect(t, rec, "data past the warning", "Warning ThinPoolDataNearlyFull")
	for _, want := range []string{"vg0/pool0", "81.5%", "80%", "kind=Pod"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("the data warning %q does not say %q", got[0], want)
		}
	}
	r.Observe(ctx, pool(83, 6))
	r.Observe(ctx, pool(84, 6))
	expect(t, rec, "data still past the warning, a little more each time")

	r.Observe(ctx, pool(84, 90))
	got = expect(t, rec, "metadata past the warning too", "Warning ThinPoolMetadataNearlyFull")
	if !strings.Contains(got[0], "metadata") {
		t.Errorf("the metadata warning %q does not say metadata", got[0])
	}
	r.Observe(ctx, pool(96, 90))
	got = expect(t, rec, "data at the full threshold", "Warning ThinPoolDataFull")
	if !strings.Contains(got[0], "95%") || !strings.Contains(got[0], "refused") {
		t.Errorf("the full event %q does not say creations are refused at 95%%", got[0])
	}
	r.Observe(ctx, pool(96, 90))
	expect(t, rec, "nothing changed")

	r.Observe(ctx, pool(50, 10))
	expect(t, rec, "both back below the warning (extended)", "Normal ThinPoolDataBelowWarning", "Normal ThinPoolMetadataBelowWarning")
	r.Observe(ctx, pool(50, 10))
	expect(t, rec, "still fine")
}

func TestThinPoolStraightToFullAndThresholdsOff(t *testing.T) {
	ctx := context.Background()
	r, rec := newTestReporter()
	r.Observe(ctx, pool(99, 1))
	expect(t, rec, "full at start", "Warning ThinPoolDataFull")

	rec = record.NewFakeRecorder(10)
	r = NewReporter(rec, fakeObjects{}, 0, 0)
	r.Observe(ctx, pool(99, 99))
	expect(t, rec, "both thresholds off")

	rec = record.NewFakeRecorder(10)
	r = NewReporter(rec, fakeObjects{}, 80, 95)
	r.Observe(ctx, Snapshot{Data: 99, Metadata: 99})
	expect(t, rec, "no thin pool")
}

func vols(vs ...Volume) Snapshot { return Snapshot{Volumes: vs} }

func sick(id string, reasons ...string) Volume {
	v := Volume{ID: id, Name: "pvc-" + id}
	for _, r := range reasons {
		v.Problems = append(v.Problems, Problem{Reason: r, Message: "the " + r + " of " + id})
	}
	return v
}

func TestVolumeEventsOnePerTransition(t *testing.T) {
	r, rec := newTestReporter()
	ctx := context.Background()

	r.Observe(ctx, vols(sick("vol-a"), sick("vol-b")))
	expect(t, rec, "healthy volumes at start")

	r.Observe(ctx, vols(sick("vol-a", "ThinPoolNearlyFull"), sick("vol-b")))
	got := expect(t, rec, "vol-a abnormal", "Warning VolumeAbnormal")
	for _, want := range []string{"vol-a", "ThinPoolNearlyFull", "the ThinPoolNearlyFull of vol-a", "kind=PersistentVolume"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("%q does not say %q", got[0], want)
		}
	}
	r.Observe(ctx, vols(sick("vol-a", "ThinPoolNearlyFull"), sick("vol-b")))
	expect(t, rec, "vol-a still abnormal, for the same reason")

	r.Observe(ctx, vols(sick("vol-a", "ThinPoolNearlyFull", "TargetMissing"), sick("vol-b", "TargetMissing")))
	got = expect(t, rec, "a second problem on vol-a, a first on vol-b", "Warning VolumeAbnormal", "Warning VolumeAbnormal")
	if !strings.Contains(got[0], "TargetMissing") || !strings.Contains(got[1], "vol-b") || !strings.Contains(got[1], "kind=Pod") {
		t.Errorf("events %q: want vol-a's new reason, then vol-b's on the controller pod (no PV known)", got)
	}

	r.Observe(ctx, vols(sick("vol-a"), sick("vol-b", "TargetMissing")))
	got = expect(t, rec, "vol-a healthy again", "Normal VolumeHealthy")
	if !strings.Contains(got[0], "vol-a") {
		t.Errorf("%q does not name vol-a", got[0])
	}
	r.Observe(ctx, vols(sick("vol-a")))
	expect(t, rec, "vol-b deleted while abnormal: forgotten, no event")
	r.Observe(ctx, vols(sick("vol-a"), sick("vol-b", "TargetMissing")))
	expect(t, rec, "a new vol-b, abnormal", "Warning VolumeAbnormal")
}

func TestVolumeAbnormalAtStartIsToldOnce(t *testing.T) {
	r, rec := newTestReporter()
	ctx := context.Background()
	for range 3 {
		r.Observe(ctx, vols(sick("vol-a", "ThinPoolNearlyFull")))
	}
	expect(t, rec, "abnormal from the first look on", "Warning VolumeAbnormal")
}

// nilObjects has nowhere to attach events (no POD_NAME, no PV).
type nilObjects struct{}

func (nilObjects) Volume(context.Context, string, string) *corev1.ObjectReference { return nil }
func (nilObjects) Controller() *corev1.ObjectReference                            { return nil }

func TestNoObjectNoEventButStateKept(t *testing.T) {
	rec := record.NewFakeRecorder(10)
	r := NewReporter(rec, nilObjects{}, 80, 95)
	ctx := context.Background()
	r.Observe(ctx, Snapshot{ThinPool: "vg0/pool0", Data: 90, Volumes: []Volume{sick("vol-a", "X")}})
	r.Observe(ctx, Snapshot{ThinPool: "vg0/pool0", Data: 90, Volumes: []Volume{sick("vol-a", "X")}})
	expect(t, rec, "no object to attach events to")
}
