//go:build k8s

package k8s

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// driverName is the CSI driver name the chart installs by default.
const driverName = "lvm-iscsi.csi.io"

// pollInterval is how often waits look again.
const pollInterval = 2 * time.Second

func createNamespace() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: *namespace}}
	_, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// waitFor calls cond every pollInterval until it returns true, fails the test
// after the step timeout or on an error from cond.
func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	for {
		done, err := cond(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if done {
			t.Logf("%s (%.0fs)", what, time.Since(start).Seconds())
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not after %v", what, *timeout)
		case <-time.After(pollInterval):
		}
	}
}

// createClaim makes a PersistentVolumeClaim of the chart's StorageClass
// class (without the prefix); the claim is deleted when the test ends.
func createClaim(t *testing.T, name, class, size string, mode corev1.PersistentVolumeMode) {
	t.Helper()
	sc := *storageClass + class
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &sc,
			VolumeMode:       &mode,
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			},
		},
	}
	if _, err := client.CoreV1().PersistentVolumeClaims(*namespace).Create(context.Background(), pvc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create claim %s: %v", name, err)
	}
	t.Cleanup(func() {
		err := client.CoreV1().PersistentVolumeClaims(*namespace).Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete claim %s: %v", name, err)
		}
	})
}

// deleteClaim deletes the claim and waits until its volume is gone too: the
// provisioner's DeleteVolume (reclaimPolicy Delete) succeeded.
func deleteClaim(t *testing.T, name string) {
	t.Helper()
	pv := boundVolume(t, name)
	if err := client.CoreV1().PersistentVolumeClaims(*namespace).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete claim %s: %v", name, err)
	}
	waitFor(t, fmt.Sprintf("volume %s of claim %s deleted", pv.Name, name), func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// boundVolume returns the PersistentVolume the claim is bound to.
func boundVolume(t *testing.T, claim string) *corev1.PersistentVolume {
	t.Helper()
	var name string
	waitFor(t, "claim "+claim+" bound", func(ctx context.Context) (bool, error) {
		pvc, err := client.CoreV1().PersistentVolumeClaims(*namespace).Get(ctx, claim, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		name = pvc.Spec.VolumeName
		return pvc.Status.Phase == corev1.ClaimBound, nil
	})
	pv, err := client.CoreV1().PersistentVolumes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("volume %s: %v", name, err)
	}
	return pv
}

// runPod runs script with /bin/sh in a pod that has the claim at /data (a
// filesystem) or /dev/xvda (block), waits until the pod has ended, and
// returns what the script wrote to /dev/termination-log. A pod that failed
// fails the test with its message and log. The pod is deleted (and waited
// for) before runPod returns, so its volume is free for the next one.
func runPod(t *testing.T, name, claim string, block bool, script string) string {
	t.Helper()
	startPod(t, name, claim, block, script)
	defer deletePod(t, name)
	return podResult(t, name)
}

// startPod creates the pod runPod describes and returns at once.
func startPod(t *testing.T, name, claim string, block bool, script string) {
	t.Helper()
	createPod(t, podFor(name, claim, block, script))
}

// podFor is the pod runPod describes, for a test to change before createPod.
func podFor(name, claim string, block bool, script string) *corev1.Pod {
	c := corev1.Container{
		Name:            "test",
		Image:           *busyboxImage,
		ImagePullPolicy: corev1.PullNever,
		Command:         []string{"/bin/sh", "-c", script},
	}
	if block {
		c.VolumeDevices = []corev1.VolumeDevice{{Name: "data", DevicePath: "/dev/xvda"}}
	} else {
		c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: new(int64),
			Containers:                    []corev1.Container{c},
			Volumes: []corev1.Volume{{
				Name: "data",
				VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
				},
			}},
		},
	}
	return pod
}

func createPod(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if _, err := client.CoreV1().Pods(*namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
}

// waitRunning waits until the pod's container runs: its volume is mounted.
func waitRunning(t *testing.T, name string) {
	t.Helper()
	waitFor(t, "pod "+name+" running", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(*namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			return false, fmt.Errorf("pod ended (%s) before it was seen running: %q", p.Status.Phase, terminationMessage(p))
		}
		return p.Status.Phase == corev1.PodRunning, nil
	})
}

// podResult waits until the pod has ended and returns its termination
// message; a failed pod fails the test.
func podResult(t *testing.T, name string) string {
	t.Helper()
	var ended *corev1.Pod
	waitFor(t, "pod "+name+" ended", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(*namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ended = p
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, nil
	})
	msg := terminationMessage(ended)
	if ended.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("pod %s failed: message %q, log:\n%s", name, msg, podLog(name))
	}
	return strings.TrimSpace(msg)
}

func terminationMessage(p *corev1.Pod) string {
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Terminated != nil {
			return s.State.Terminated.Message
		}
	}
	return ""
}

func podLog(name string) string {
	b, err := client.CoreV1().Pods(*namespace).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(context.Background())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// deletePod deletes the pod and waits until it is gone: kubelet has
// unpublished (and, for the last user, unstaged) its volumes.
func deletePod(t *testing.T, name string) {
	t.Helper()
	err := client.CoreV1().Pods(*namespace).Delete(context.Background(), name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete pod %s: %v", name, err)
		return
	}
	waitFor(t, "pod "+name+" gone", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Pods(*namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// waitDetached waits until no VolumeAttachment names the volume: the
// attach/detach controller had the driver's ControllerUnpublishVolume done.
func waitDetached(t *testing.T, pv string) {
	t.Helper()
	waitFor(t, "volume "+pv+" detached", func(ctx context.Context) (bool, error) {
		vas, err := client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, va := range vas.Items {
			if n := va.Spec.Source.PersistentVolumeName; n != nil && *n == pv {
				return false, nil
			}
		}
		return true, nil
	})
}

// dumpEvents logs the namespace's events when the test has failed: the
// first place kubelet and the sidecars explain a stuck volume.
func dumpEvents(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		evs, err := client.CoreV1().Events(*namespace).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Logf("events: %v", err)
			return
		}
		for _, e := range evs.Items {
			t.Logf("event %s %s/%s %s: %s", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	})
}
