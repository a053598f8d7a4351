//go:build k8s

package k8s

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// claimSpec is what createClaimSpec varies beyond createClaim: the access
// mode (ReadWriteOncePod) and a data source (a clone).
type claimSpec struct {
	class      string // the StorageClass's full name
	size       string
	access     corev1.PersistentVolumeAccessMode
	dataSource *corev1.TypedLocalObjectReference
}

// createClaimSpec makes a filesystem claim as spec says; it is deleted when
// the test ends.
func createClaimSpec(t *testing.T, name string, spec claimSpec) {
	t.Helper()
	mode := corev1.PersistentVolumeFilesystem
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{spec.access},
			StorageClassName: &spec.class,
			VolumeMode:       &mode,
			DataSource:       spec.dataSource,
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(spec.size)},
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

// driverPod returns the one running pod of the chart's component
// (controller or node).
func driverPod(ctx context.Context, component string) (*corev1.Pod, error) {
	pods, err := client.CoreV1().Pods(*driverNamespace).List(ctx, metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/component=" + component,
	})
	if err != nil {
		return nil, err
	}
	var live []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	if len(live) != 1 {
		return nil, nil
	}
	return &live[0], nil
}

// podReady reports whether every container of the pod is ready.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// replaceDriverPod deletes the component's pod and waits until its
// Deployment or DaemonSet has a new one ready; returns when that was seen.
func replaceDriverPod(t *testing.T, component string) time.Time {
	t.Helper()
	old, err := driverPod(context.Background(), component)
	if err != nil || old == nil {
		t.Fatalf("the %s pod: %v (found %v)", component, err, old != nil)
	}
	if err := client.CoreV1().Pods(*driverNamespace).Delete(context.Background(), old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete %s pod %s: %v", component, old.Name, err)
	}
	t.Logf("deleted the %s pod %s", component, old.Name)
	var ready time.Time
	waitFor(t, "a new "+component+" pod ready", func(ctx context.Context) (bool, error) {
		p, err := driverPod(ctx, component)
		if err != nil || p == nil || p.UID == old.UID || !podReady(p) {
			return false, err
		}
		ready = time.Now()
		t.Logf("new %s pod %s", component, p.Name)
		return true, nil
	})
	return ready
}

// containerRestarts is the restart count of the named container of the
// component's pod, -1 while the pod is not there.
func containerRestarts(ctx context.Context, component, container string) (count int32, ready bool, err error) {
	p, err := driverPod(ctx, component)
	if err != nil || p == nil {
		return -1, false, err
	}
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == container {
			return s.RestartCount, s.Ready, nil
		}
	}
	return -1, false, fmt.Errorf("pod %s has no container %s", p.Name, container)
}

// pidsOf returns the pids of the processes whose command name is comm. The
// tests run on the storage host and node (a one-node cluster), as root.
func pidsOf(comm string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(b)) == comm {
			pids = append(pids, pid)
		}
	}
	return pids
}

// sessionStates returns the state of every iSCSI session of this node
// (LOGGED_IN, FAILED, FREE) by session name.
func sessionStates() map[string]string {
	states := map[string]string{}
	dirs, _ := filepath.Glob("/sys/class/iscsi_session/session*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "state"))
		if err == nil {
			states[filepath.Base(d)] = strings.TrimSpace(string(b))
		}
	}
	return states
}

// restartIscsid is the documented way out of open-iscsi's stuck session
// before 2.1.9 (docs/troubleshooting.md): iscsid killed and started again,
// which reopens the kernel's sessions; the sessions and disks stay.
func restartIscsid(t *testing.T) {
	t.Helper()
	for _, pid := range pidsOf("iscsid") {
		t.Logf("killing iscsid %d", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for i := 0; i < 100 && len(pidsOf("iscsid")) > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	logFile, err := os.OpenFile(*iscsidLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("iscsid log: %v", err)
	}
	defer logFile.Close()
	cmd := exec.Command("iscsid", "-f", "-n", "-i", *initiatorFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own session: it outlives the test, as the guest's iscsid it replaces.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start iscsid: %v", err)
	}
	t.Logf("started iscsid %d", cmd.Process.Pid)
	go func() { _ = cmd.Wait() }()
}

// logicalVolumes lists the volume group's logical volumes, sorted.
func logicalVolumes(t *testing.T) []string {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command("lvs", "--noheadings", "-o", "lv_name", *volumeGroup)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lvs %s: %v: %s", *volumeGroup, err, stderr.String())
	}
	lvs := strings.Fields(string(out))
	sort.Strings(lvs)
	return lvs
}
