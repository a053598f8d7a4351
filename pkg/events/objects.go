package events

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// PodRef is the controller's own Pod, from the downward API (POD_NAMESPACE,
// POD_NAME, POD_UID); an empty Name: unknown.
type PodRef struct{ Namespace, Name, UID string }

// KubeObjects finds the objects events go to in the API server.
//
// A volume's PersistentVolume: csi-provisioner names the PV with the very
// name it passes to CreateVolume (and as csi.storage.k8s.io/pv/name with
// --extra-create-metadata), which the LV tags keep. That name is only
// trusted once the PV it names is found to be this driver's PV of this
// volume id; a statically provisioned volume, or one whose PV was deleted,
// gets its events on the controller's Pod instead, naming the volume.
type KubeObjects struct {
	client kubernetes.Interface
	driver string
	pod    *corev1.ObjectReference

	mu sync.Mutex
	// pvs are the PVs found, by volume id: a volume's PV never changes,
	// so the API server is asked once per volume, on its first event.
	pvs map[string]*corev1.ObjectReference
}

// NewKubeObjects looks PersistentVolumes up with client; driver is the CSI
// driver name the PVs must carry.
func NewKubeObjects(client kubernetes.Interface, driver string, pod PodRef) *KubeObjects {
	o := &KubeObjects{client: client, driver: driver, pvs: map[string]*corev1.ObjectReference{}}
	if pod.Name != "" {
		o.pod = &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: types.UID(pod.UID)}
	}
	return o
}

// Volume returns the PV of volume id when name names it, else the
// controller's Pod.
func (o *KubeObjects) Volume(ctx context.Context, id, name string) *corev1.ObjectReference {
	o.mu.Lock()
	ref, ok := o.pvs[id]
	o.mu.Unlock()
	if ok {
		return ref
	}
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return o.pod // not a name a PV can have
	}
	pv, err := o.client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		klog.V(4).InfoS("No PersistentVolume for the volume's events: they go to the controller's pod", "volumeID", id, "name", name, "err", err)
		return o.pod
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != o.driver || pv.Spec.CSI.VolumeHandle != id {
		return o.pod // a PV of that name, but not this volume's
	}
	ref = &corev1.ObjectReference{Kind: "PersistentVolume", APIVersion: "v1", Name: pv.Name, UID: pv.UID, ResourceVersion: pv.ResourceVersion}
	o.mu.Lock()
	o.pvs[id] = ref
	o.mu.Unlock()
	return ref
}

// Controller is the controller's Pod, or nil when POD_NAME is not set.
func (o *KubeObjects) Controller() *corev1.ObjectReference { return o.pod }
