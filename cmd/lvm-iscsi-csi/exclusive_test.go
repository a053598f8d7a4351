package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// runEnv makes the test binary run the driver itself: the tests below
// start it as separate processes, because flock(2) exclusion between
// processes (and its release when one dies) is what they check.
const runEnv = "LVM_ISCSI_CSI_TEST_RUN"

func TestMain(m *testing.M) {
	if encoded, ok := os.LookupEnv(runEnv); ok {
		var args []string
		if err := json.Unmarshal([]byte(encoded), &args); err != nil {
			panic(err)
		}
		os.Exit(run(args))
	}
	os.Exit(m.Run())
}

// controllerProcess is one driver process started by a test.
type controllerProcess struct {
	name, log, socket string
	cmd               *exec.Cmd
	conn              *grpc.ClientConn
}

// startController starts a controller on volume group vg with its own
// state directory stateDir. Every host-wide lock lives under dir, and PATH
// is empty: lvm and tgtadm are never found, so nothing on this host is
// touched (their failures show in the log as a reconcile that ran).
func startController(t *testing.T, dir, name, vg, stateDir string) *controllerProcess {
	t.Helper()
	return startControllerWith(t, dir, name, vg, stateDir)
}

// startControllerWith is startController with more arguments.
func startControllerWith(t *testing.T, dir, name, vg, stateDir string, extra ...string) *controllerProcess {
	t.Helper()
	p := &controllerProcess{name: name, log: filepath.Join(dir, name+".log"), socket: filepath.Join(dir, name+".sock")}
	args := []string{"--mode=controller", "--endpoint=unix://" + p.socket, "--volume-group=" + vg,
		"--portal=192.0.2.10:3260", "--state-dir=" + stateDir, "--vg-lock-dir=" + filepath.Join(dir, "lock"),
		"--reconcile-interval=1s", "--v=2"}
	args = append(args, extra...)
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	empty := filepath.Join(dir, "empty-path")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0])
	encoded, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Env = append(os.Environ(), runEnv+"="+string(encoded), "PATH="+empty,
		"TGT_IPC_SOCKET="+filepath.Join(dir, "tgtd", "socket"))
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	})
	waitFor(t, name+" creates its socket", func() bool { _, err := os.Stat(p.socket); return err == nil })
	p.conn, err = grpc.NewClient("unix://"+p.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.conn.Close() })
	return p
}

func (p *controllerProcess) pid() string { return strconv.Itoa(p.cmd.Process.Pid) }

func (p *controllerProcess) logText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// createVolume asks for a volume; only the error matters here.
func (p *controllerProcess) createVolume(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := csi.NewControllerClient(p.conn).CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: "pvc-1",
		VolumeCapabilities: []*csi.VolumeCapability{{
			AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		}},
	})
	return err
}

// refusedAsStandby: the call was refused because another controller holds
// the locks, naming that controller's pid.
func refusedAsStandby(err error, holder *controllerProcess) bool {
	return status.Code(err) == codes.Unavailable && strings.Contains(status.Convert(err).Message(), "another controller") &&
		strings.Contains(status.Convert(err).Message(), "pid "+holder.pid())
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two controllers with their own state directories on one volume group: the
// second neither serves nor reconciles while the first runs, says who holds
// the volume group, and takes over when the first is killed. A third one
// sharing the second's state directory (on another volume group) then
// waits for it, and takes over when it exits cleanly.
func TestOneControllerPerVolumeGroupAndStateDir(t *testing.T) {
	dir := t.TempDir()
	first := startController(t, dir, "first", "vg-a", filepath.Join(dir, "state-1"))
	waitFor(t, "the first controller runs its reconciler", func() bool {
		return strings.Contains(first.logText(t), "Reconcile incomplete")
	})
	if err := first.createVolume(t); status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), "another controller") {
		t.Fatalf("the only controller refused CreateVolume as a standby: %v", err)
	}

	second := startController(t, dir, "second", "vg-a", filepath.Join(dir, "state-2"))
	waitFor(t, "the second controller logs who holds the volume group", func() bool {
		return strings.Contains(second.logText(t), "pid "+first.pid())
	})
	if err := second.createVolume(t); !refusedAsStandby(err, first) {
		t.Fatalf("second controller, CreateVolume = %v; want Unavailable naming another controller, pid %s", err, first.pid())
	}
	time.Sleep(2 * time.Second) // two reconcile intervals
	if log := second.logText(t); strings.Contains(log, "Reconcile") {
		t.Fatalf("the second controller reconciled while the first held the volume group:\n%s", log)
	}

	// A crash releases the lock: the second takes over.
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second controller takes over and reconciles", func() bool {
		return strings.Contains(second.logText(t), "Reconcile incomplete")
	})
	if err := second.createVolume(t); status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), "another controller") {
		t.Fatalf("after the first controller died, the second still refuses: %v", err)
	}

	// Same state directory, another volume group: excluded too.
	third := startController(t, dir, "third", "vg-b", filepath.Join(dir, "state-2"))
	waitFor(t, "the third controller logs who holds the state directory", func() bool {
		return strings.Contains(third.logText(t), "pid "+second.pid())
	})
	if err := third.createVolume(t); !refusedAsStandby(err, second) {
		t.Fatalf("third controller, CreateVolume = %v; want Unavailable naming another controller, pid %s", err, second.pid())
	}
	// A clean exit releases it as well.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the third controller takes over and reconciles", func() bool {
		return strings.Contains(third.logText(t), "Reconcile incomplete")
	})
}
