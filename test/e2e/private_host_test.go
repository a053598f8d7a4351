//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

// privateHost is a storage host of a test's own: a volume group on a loop
// file and a tgtd on other ports, for tests that run a controller with
// flags or a pool layout the main run does not use. Nothing of the main
// run (its VG, tgtd, controller) is touched, and the controllers' locks
// (one controller per VG and tgtd) do not collide with the main one.
type privateHost struct {
	dir, vg           string
	port, controlPort int
}

// newPrivateHost makes the VG (size bytes) and starts its tgtd; cleanup
// undoes both. prefix names the VG (with the pid, so reruns never meet).
func newPrivateHost(t *testing.T, prefix string, size int64) *privateHost {
	t.Helper()
	if _, err := os.Stat(*driverBinary); err != nil {
		t.Fatalf("-driver-binary: %v (test/e2e/guest.sh passes it)", err)
	}
	h := &privateHost{dir: t.TempDir(), vg: fmt.Sprintf("%s%d", prefix, os.Getpid()), port: 3261, controlPort: 7}
	img := filepath.Join(h.dir, "pv.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	loop := strings.TrimSpace(run(t, "losetup", "-f", "--show", img))
	t.Cleanup(func() { exec.Command("losetup", "-d", loop).Run() })
	lvm(t, "vgcreate", "-y", h.vg, loop)
	t.Cleanup(func() {
		exec.Command("vgremove", "--config", lvmConfig, "-ff", "-y", h.vg).Run()
		exec.Command("pvremove", "--config", lvmConfig, "-y", loop).Run()
	})

	control := strconv.Itoa(h.controlPort)
	tgtd := exec.Command("setsid", "tgtd", "-f", "-C", control, "--iscsi", fmt.Sprintf("portal=127.0.0.1:%d", h.port))
	if err := tgtd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("tgtadm", "-C", control, "--op", "delete", "--mode", "system").Run()
		tgtd.Process.Kill()
		tgtd.Wait()
	})
	for i := 0; exec.Command("tgtadm", "-C", control, "--op", "show", "--mode", "sys").Run() != nil; i++ {
		if i > 100 {
			t.Fatal("the test's own tgtd did not answer in 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return h
}

// startController runs a controller over the host's VG with thin pool
// "pool" and the extra flags; stop ends it (cleanup does too). logPath is
// its log.
func (h *privateHost) startController(t *testing.T, extra ...string) (p plugin, logPath string, stop func()) {
	t.Helper()
	sock := filepath.Join(h.dir, fmt.Sprintf("c%d.sock", time.Now().UnixNano()))
	logPath = sock + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--mode=controller", "--endpoint=unix://" + sock, "--volume-group=" + h.vg, "--thin-pool=pool",
		fmt.Sprintf("--portal=127.0.0.1:%d", h.port), "--iqn-prefix=iqn.2026-11.io.csi.lvm-iscsi." + h.vg,
		fmt.Sprintf("--tgt-control-port=%d", h.controlPort), "--state-dir=" + filepath.Join(h.dir, "state"),
		"--reconcile-interval=10m", "--v=2"}, extra...)
	cmd := exec.Command(*driverBinary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
			logFile.Close()
		}
	}
	t.Cleanup(stop)
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 300 {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("the controller did not create its socket in 30s:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return dial(t, "controller", "unix://"+sock), logPath, stop
}

// probe asks p whether it is ready.
func probe(t *testing.T, p plugin) bool {
	t.Helper()
	resp, err := csi.NewIdentityClient(p.conn).Probe(callContext(t), &csi.ProbeRequest{})
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	return resp.GetReady().GetValue()
}

// awaitReady polls Probe: the volume group's check is cached and runs in
// the background, so a Probe right after start-up may say "not ready" only
// because that first check (lvm, slow under TCG) has not finished within
// Probe's patience.
func awaitReady(t *testing.T, p plugin, logPath string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !probe(t, p); time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("Probe is not ready after a minute:\n%s", b)
		}
	}
}

// logSays says whether one line of the log at path says every one of want.
func logSays(path string, want []string) bool {
	b, _ := os.ReadFile(path)
lines:
	for _, line := range strings.Split(string(b), "\n") {
		for _, w := range want {
			if !strings.Contains(line, w) {
				continue lines
			}
		}
		return true
	}
	return false
}
