// Package events tells administrators, as Kubernetes Events, what the
// controller's health checks find: the thin pool crossing its warning or
// full threshold (data and metadata apart), and a volume turning abnormal
// and normal again. One event per transition, not one per check: the state
// last reported is remembered, and only a change is told.
//
// The package knows neither LVM nor CSI: the controller hands it a Snapshot
// of what it sees (Source), and it is handed the EventRecorder and the
// objects to attach events to (Objects), so tests use client-go's fakes and
// a controller without an API server runs without it.
package events

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// Snapshot is the controller's view of the storage host at one moment.
type Snapshot struct {
	// ThinPool is "vg/pool", or "" when there is none (no pool events).
	ThinPool string
	// Data and Metadata are the thin pool's use, in percent.
	Data, Metadata float64
	// Volumes are every volume of ours, healthy ones included (a volume
	// missing from the list was deleted: it is forgotten without an event).
	Volumes []Volume
}

// Volume is one volume and what is wrong with it (nothing: healthy).
type Volume struct {
	ID   string // the CSI volume id
	Name string // the CSI name it was created for (csi-provisioner: the PV's name)
	// Problems are its adverse conditions, as the controller's volume
	// health reports them.
	Problems []Problem
}

// Problem is one adverse condition.
type Problem struct {
	Reason  string // CamelCase
	Message string
}

// Source reads a Snapshot (the pool, in the controller).
type Source func(ctx context.Context) (Snapshot, error)

// Objects says which Kubernetes object an event is about.
type Objects interface {
	// Volume is the object a volume's events go to: its PersistentVolume
	// when one is found, else the controller's own Pod; nil: none (the
	// event is only logged).
	Volume(ctx context.Context, id, name string) *corev1.ObjectReference
	// Controller is the controller's Pod, for pool-level events; nil: none.
	Controller() *corev1.ObjectReference
}

// Event reasons, for `kubectl get events --field-selector reason=...`.
const (
	// ReasonVolumeAbnormal: a volume got problems (Warning).
	ReasonVolumeAbnormal = "VolumeAbnormal"
	// ReasonVolumeHealthy: its problems are gone (Normal).
	ReasonVolumeHealthy = "VolumeHealthy"
)

// thinPoolReason is the reason of a thin pool event: ThinPool, then Data or
// Metadata, then NearlyFull or Full (Warning) or BelowWarning (Normal).
func thinPoolReason(part string, l level) string {
	return "ThinPool" + part + l.String()
}
