package events

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
)

// InCluster is an EventRecorder sending to the API server of the cluster
// the process runs in (its service account's token), and the objects
// events go to.
type InCluster struct {
	Recorder record.EventRecorder
	Objects  *KubeObjects
	// Stop flushes nothing more and ends the broadcaster's goroutines.
	Stop func()
}

// NewInCluster connects with the in-cluster configuration; component and
// host are the events' source (kubectl's "From" column).
func NewInCluster(driver, component, host string, pod PodRef) (*InCluster, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("--kube-events needs the in-cluster configuration of a pod: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("--kube-events: %w", err)
	}
	// The broadcaster's correlator also folds identical events and rate
	// limits per object, behind our one-event-per-transition.
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return &InCluster{
		Recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component, Host: host}),
		Objects:  NewKubeObjects(client, driver, pod),
		Stop:     b.Shutdown,
	}, nil
}
