package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	utilexec "k8s.io/utils/exec"
	testingexec "k8s.io/utils/exec/testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
)

// loadedHost stands in for the commands of a storage host under a burst of
// CreateVolume calls: the first hold commands hang until release (lvm
// commands stuck behind a busy disk, each holding one --max-concurrent-lvm
// slot), the later ones answer at once. vgs reports a healthy volume
// group; anything else fails.
type loadedHost struct {
	mu      sync.Mutex
	hold    int
	held    chan string // the name of each command that hangs
	release chan struct{}
}

func (h *loadedHost) Command(name string, args ...string) utilexec.Cmd {
	return h.CommandContext(context.Background(), name, args...)
}

func (h *loadedHost) CommandContext(_ context.Context, name string, args ...string) utilexec.Cmd {
	h.mu.Lock()
	hang := h.hold > 0
	if hang {
		h.hold--
	}
	h.mu.Unlock()
	cmd := &testingexec.FakeCmd{RunScript: []testingexec.FakeAction{func() ([]byte, []byte, error) {
		if hang {
			h.held <- name
			<-h.release
		}
		if name == "vgs" {
			return []byte(`{"report":[{"vg":[{"vg_name":"csivg","vg_uuid":"u","vg_size":"1069547520","vg_free":"1069547520","vg_extent_size":"4194304"}]}]}`), nil, nil
		}
		return nil, []byte("not part of this test"), testingexec.FakeExitError{Status: 5}
	}}}
	return testingexec.InitFakeCmd(cmd, name, args...)
}

func (h *loadedHost) LookPath(file string) (string, error) { return "/usr/sbin/" + file, nil }

// Probe (and the liveness probe's /healthz, which answers from the same
// check) must answer while provisioning holds every lvm slot: otherwise a
// burst of CreateVolume calls makes kubelet restart the controller in the
// middle of them.
func TestProbeAnswersWhileProvisioningHoldsEveryLVMSlot(t *testing.T) {
	const slots = 2
	dir := t.TempDir()
	t.Setenv("TGT_IPC_SOCKET", filepath.Join(dir, "tgtd"))
	tgtd, err := net.Listen("unix", filepath.Join(dir, "tgtd.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer tgtd.Close()

	opts := driver.DefaultOptions()
	opts.Mode = driver.ModeController
	opts.VolumeGroup = "csivg"
	opts.Portal = "192.0.2.10:3260"
	opts.StateDir = filepath.Join(dir, "state")
	opts.VGLockDir = filepath.Join(dir, "lock")
	opts.Endpoint = "unix://" + filepath.Join(dir, "csi.sock")
	opts.MaxConcurrentLVM = slots
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	host := &loadedHost{hold: slots, held: make(chan string, slots), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(host.release) }) }
	defer release()

	cfg := driver.Config{Options: opts}
	if err := wireControllerWith(context.Background(), opts, &cfg, host, nil); err != nil {
		t.Fatal(err)
	}
	// Only CreateVolume and Probe run commands here: the reconciler and
	// the lock's watcher are not started.
	cfg.Background = nil
	d, err := driver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- d.Run(ctx) }()
	defer func() {
		release()
		cancel()
		<-served
	}()
	conn, err := grpc.NewClient(opts.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// A burst of CreateVolume calls takes every slot, and more wait. The
	// calls are sent one at a time until each holds its slot: calls at
	// once share a listing that has not started yet (pkg/pool/lvreads.go),
	// so a burst sent at once may hold a single slot.
	create := func(i int) {
		go func() {
			_, _ = csi.NewControllerClient(conn).CreateVolume(ctx, &csi.CreateVolumeRequest{
				Name: "pvc-" + string(rune('a'+i)),
				VolumeCapabilities: []*csi.VolumeCapability{{
					AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
					AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
				}},
			}, grpc.WaitForReady(true)) // the server may not listen yet
		}()
	}
	for i := range slots {
		create(i)
		select {
		case <-host.held:
		case <-time.After(10 * time.Second):
			t.Fatalf("CreateVolume call %d did not take an lvm slot", i+1)
		}
	}
	for i := slots; i < 2*slots; i++ {
		create(i)
	}

	// The liveness probe's budget in the chart is a few seconds.
	const budget = 3 * time.Second
	probeCtx, probeCancel := context.WithTimeout(context.Background(), budget)
	defer probeCancel()
	start := time.Now()
	resp, err := csi.NewIdentityClient(conn).Probe(probeCtx, &csi.ProbeRequest{}, grpc.WaitForReady(true))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Probe with every lvm slot taken by provisioning failed after %v: %v", took, err)
	}
	if !resp.GetReady().GetValue() || took > time.Second {
		t.Fatalf("Probe with every lvm slot taken by provisioning: ready=%v after %v; want ready within 1s", resp.GetReady().GetValue(), took)
	}
}
