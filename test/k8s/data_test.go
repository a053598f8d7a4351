//go:build k8s

package k8s

import (
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// A pod's sum of the data and the filesystem it lives on, as the scripts
// below write them to the termination message: "<sha256> <fstype>".
var sumAndFS = regexp.MustCompile(`^([0-9a-f]{64}) (\S+)$`)

// writeScript fills /data/blob with 10 MiB of random bytes, keeps their sum
// next to them and reports it with the filesystem type of /data.
const writeScript = `set -e
dd if=/dev/urandom of=/data/blob bs=65536 count=160 2>/dev/null
sha256sum /data/blob > /data/blob.sha256
sync
echo "$(cut -d' ' -f1 /data/blob.sha256) $(awk '$2 == "/data" {print $3}' /proc/mounts)" > /dev/termination-log
`

// readScript checks the data against the stored sum and reports the sum it read.
const readScript = `set -e
sha256sum -c /data/blob.sha256
echo "$(sha256sum /data/blob | cut -d' ' -f1) $(awk '$2 == "/data" {print $3}' /proc/mounts)" > /dev/termination-log
`

// The first thing a user does: a claim of the ext4 class, a pod that writes,
// the pod gone (volume unstaged and detached), a new pod that reads the same
// bytes back; then the claim deleted and its volume with it.
func TestExt4DataSurvivesPod(t *testing.T) {
	dumpEvents(t)
	testDataSurvivesPod(t, "ext4", "ext4", "64Mi")
}

func testDataSurvivesPod(t *testing.T, class, fsType, size string) {
	claim := class + "-data"
	createClaim(t, claim, class, size, corev1.PersistentVolumeFilesystem)

	wrote := runPod(t, class+"-writer", claim, false, writeScript)
	w := sumAndFS.FindStringSubmatch(wrote)
	if w == nil {
		t.Fatalf("writer reported %q, want \"<sha256> <fstype>\"", wrote)
	}
	if w[2] != fsType {
		t.Errorf("the writer's /data is %s, want %s", w[2], fsType)
	}

	pv := boundVolume(t, claim)
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != driverName {
		t.Fatalf("volume %s is not a %s volume: %+v", pv.Name, driverName, pv.Spec.PersistentVolumeSource)
	}
	if pv.Spec.CSI.FSType != fsType {
		t.Errorf("volume %s has fsType %q, want %q", pv.Name, pv.Spec.CSI.FSType, fsType)
	}
	// The reader must find the volume through a new attach, login and mount.
	waitDetached(t, pv.Name)

	read := runPod(t, class+"-reader", claim, false, readScript)
	r := sumAndFS.FindStringSubmatch(read)
	if r == nil {
		t.Fatalf("reader reported %q, want \"<sha256> <fstype>\"", read)
	}
	if r[1] != w[1] {
		t.Errorf("the reader read data with sum %s, the writer wrote %s", r[1], w[1])
	}
	if r[2] != fsType {
		t.Errorf("the reader's /data is %s, want %s", r[2], fsType)
	}
	if t.Failed() {
		return
	}
	deleteClaim(t, claim)
	t.Logf("%s volume %s: wrote and read back %s", fsType, pv.Name, strings.TrimSpace(w[1]))
}
