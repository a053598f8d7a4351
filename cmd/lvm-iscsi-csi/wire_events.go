package main

import (
	"context"
	"os"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/events"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// kubeEvents, with --kube-events, connects to the cluster's API server and
// returns the background work posting the pool's health as Events; it is
// started once this controller holds the volume group (a standby posts
// nothing). Without --kube-events, nothing.
func kubeEvents(opts driver.Options, p *pool.Pool) (func(context.Context), error) {
	if !opts.KubeEvents {
		return nil, nil
	}
	k, err := events.NewInCluster(opts.DriverName, opts.DriverName+"-controller", opts.NodeID, podFromEnv())
	if err != nil {
		return nil, err
	}
	if k.Objects.Controller() == nil {
		klog.InfoS("POD_NAME is not set: thin pool events, and volume events without a PersistentVolume, are only logged")
	}
	r := events.NewReporter(k.Recorder, k.Objects, opts.ThinPoolWarnPercent, opts.ThinPoolFullPercent)
	src := func(ctx context.Context) (events.Snapshot, error) {
		h, err := p.AllHealth(ctx)
		return snapshotOf(h), err
	}
	return func(ctx context.Context) {
		defer k.Stop()
		events.Watch(ctx, src, r, opts.ReconcileInterval)
	}, nil
}

// snapshotOf is the pool's health in pkg/events' terms.
func snapshotOf(h pool.AllHealthReport) events.Snapshot {
	s := events.Snapshot{ThinPool: h.ThinPool, Data: h.Data, Metadata: h.Metadata}
	for _, v := range h.Volumes {
		ev := events.Volume{ID: v.Volume.ID, Name: v.Volume.Name}
		for _, x := range v.Health {
			ev.Problems = append(ev.Problems, events.Problem{Reason: x.Reason, Message: x.Message})
		}
		s.Volumes = append(s.Volumes, ev)
	}
	return s
}

// podFromEnv is the controller's Pod as the chart's downward API gives it.
func podFromEnv() events.PodRef {
	return events.PodRef{Namespace: os.Getenv("POD_NAMESPACE"), Name: os.Getenv("POD_NAME"), UID: os.Getenv("POD_UID")}
}
