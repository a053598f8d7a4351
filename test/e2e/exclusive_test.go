//go:build e2e

package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

var driverBinary = flag.String("driver-binary", filepath.Join(filepath.Dir(os.Args[0]), "lvm-iscsi-csi"),
	"the driver binary, to start a second controller (default: next to this test binary, as run.sh builds them)")

// tgtdState is everything tgtadm shows: targets with their LUNs, ACLs,
// accounts and sessions, and the account list.
func tgtdState(t *testing.T) string {
	t.Helper()
	port := fmt.Sprint(*tgtControlPort)
	return run(t, "tgtadm", "--lld", "iscsi", "-C", port, "--op", "show", "--mode", "target") +
		run(t, "tgtadm", "--lld", "iscsi", "-C", port, "--op", "show", "--mode", "account")
}

// A second controller started on the guest's volume group (its own state
// directory and socket, the same tgtd) while the first runs: it must report
// not ready, refuse controller calls naming the first controller's pid, and
// leave tgtd alone. tgtd is first made to drift from the LV tags (a
// published initiator unbound by hand), which any reconcile would repair:
// the drift must survive several of the second controller's reconcile
// intervals. The first controller repairs it afterwards.
func TestSecondControllerOnTheVolumeGroupStandsBy(t *testing.T) {
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.BlockCapability(), nil)
	if err := d.ControllerPublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	// The node id is <name>/<initiator IQN>/<public key>.
	initiator := strings.Split(d.NodeID, "/")[1]
	target, err := findTarget(ctx, v.PublishContext["iqn"])
	if err != nil || target == nil {
		t.Fatalf("target of %s: %v, %v", v.ID, target, err)
	}
	t.Logf("drift: unbinding %s from %s by hand", initiator, target.IQN)
	if err := tgtClient().UnbindInitiator(ctx, target.TID, initiator); err != nil {
		t.Fatal(err)
	}
	before := tgtdState(t)

	// Who holds the volume group, from its lock file: it must be the
	// controller the harness started.
	lockFile := filepath.Join("/run/lock/lvm", "lvm-iscsi-csi.vg."+*volumeGroup+".lock")
	holderPid := "(unknown)"
	holder, err := os.ReadFile(lockFile)
	if m := regexp.MustCompile(`^pid ([0-9]+) `).FindSubmatch(holder); m != nil {
		holderPid = string(m[1])
		if cmdline, err := os.ReadFile("/proc/" + holderPid + "/cmdline"); err != nil ||
			!strings.Contains(string(cmdline), "--mode=controller") || !strings.Contains(string(cmdline), *controllerEndpoint) {
			t.Errorf("the lock names pid %s, which is not the running controller (%q, %v)", holderPid, cmdline, err)
		}
	} else {
		t.Errorf("%s: %q, %v; want the running controller's pid", lockFile, holder, err)
	}

	dir := t.TempDir()
	socket, logPath := filepath.Join(dir, "second.sock"), filepath.Join(dir, "second.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	second := exec.Command(*driverBinary, "--mode=controller", "--endpoint=unix://"+socket,
		"--volume-group="+*volumeGroup, "--portal=127.0.0.1:3260", fmt.Sprintf("--tgt-control-port=%d", *tgtControlPort),
		"--state-dir="+filepath.Join(dir, "state"), "--reconcile-interval=1s", "--v=5")
	second.Stdout, second.Stderr = logFile, logFile
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- second.Wait() }()
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(40 * time.Second):
			second.Process.Kill()
			<-exited
		}
		log, _ := os.ReadFile(logPath)
		t.Logf("second controller's log:\n%s", log)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second controller did not create its socket in 30s")
		}
	}
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	probe, err := csi.NewIdentityClient(conn).Probe(ctx, &csi.ProbeRequest{})
	if err != nil || probe.GetReady().GetValue() {
		t.Errorf("second controller's Probe = %v, %v; want ready=false", probe, err)
	}
	_, err = csi.NewControllerClient(conn).ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{
		VolumeId: v.ID, NodeId: d.NodeID, VolumeCapability: v.Capability,
	})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "pid "+holderPid+" ") {
		t.Errorf("second controller's ControllerPublishVolume = %v; want Unavailable naming pid %s", err, holderPid)
	}

	time.Sleep(5 * time.Second) // five of its reconcile intervals
	if after := tgtdState(t); after != before {
		t.Errorf("tgtd changed while the second controller stood by:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "Another controller holds this lock") || !strings.Contains(string(log), "pid "+holderPid+" ") {
		t.Errorf("the second controller's log does not name the holder, pid %s", holderPid)
	}
	if strings.Contains(string(log), "tgtadm") || strings.Contains(string(log), "Reconcile") {
		t.Errorf("the second controller ran tgtadm or reconciled while standing by (log below)")
	}

	// The first controller still serves, and its publish repairs the drift.
	if err := d.ControllerPublish(ctx, v); err != nil {
		t.Fatalf("the first controller after the second started: %v", err)
	}
	if target, err = findTarget(ctx, v.PublishContext["iqn"]); err != nil || target == nil || len(target.InitiatorNames) != 1 || target.InitiatorNames[0] != initiator {
		t.Errorf("after the first controller's publish: target %+v, %v; want %s bound", target, err, initiator)
	}
}
