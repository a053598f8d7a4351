package inprocess

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/mount-utils"
	testingexec "k8s.io/utils/exec/testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi/iscsifake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/tgtfake"
)

// The storage host the controller is given: a volume group with room for
// every volume the suite holds at once (thick copy-on-write snapshots are
// as large as their origin) and a thin pool, so both provisioning types,
// thin and thick snapshots, clones and expansion are all reachable.
const (
	gib            = 1 << 30
	mib            = 1 << 20
	fixtureVG      = "vg-sanity"
	fixtureVGSize  = 16 * gib
	fixtureExtent  = 4 * mib
	fixtureThin    = "thinpool"
	fixtureThinSz  = 4 * gib
	fixturePortal  = "192.0.2.1:3260"
	fixtureNode    = "sanity-node"
	fixtureNodeIQN = "iqn.2026-11.io.csi.lvm-iscsi.test:sanity-node"
	// reconcileInterval is much shorter than production's 30 s so that the
	// reconciler runs concurrently with the suite's calls, as it does in a
	// real controller, and the race detector sees both.
	reconcileInterval = 50 * time.Millisecond
)

// plugin is one controller process and one node process of the driver,
// built like cmd/lvm-iscsi-csi/wire_controller.go and wire_node.go build
// them, but over in-memory fakes instead of lvm, tgtadm, iscsiadm and
// mount, each serving the production gRPC server (driver.New: same
// services, same interceptor) on its own unix socket.
type plugin struct {
	controllerEndpoint string
	nodeEndpoint       string
	// kubeletDir is the node's --kubelet-dir: csi-sanity's staging and
	// target paths must lie below it, or the node refuses them.
	kubeletDir string
	blocks     *nopBlockDevices
}

// startPlugin starts both processes' servers and stops them when t ends.
func startPlugin(t *testing.T) *plugin {
	t.Helper()
	dir := t.TempDir()
	p := &plugin{
		controllerEndpoint: "unix://" + filepath.Join(dir, "controller.sock"),
		nodeEndpoint:       "unix://" + filepath.Join(dir, "node.sock"),
		kubeletDir:         filepath.Join(dir, "kubelet"),
		blocks:             &nopBlockDevices{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	serve := func(cfg driver.Config) {
		t.Helper()
		d, err := driver.New(cfg)
		if err != nil {
			t.Fatalf("driver.New(%s): %v", cfg.Options.Mode, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Run(ctx); err != nil {
				t.Errorf("%s server: %v", cfg.Options.Mode, err)
			}
		}()
		waitForSocket(t, cfg.Options.Endpoint)
	}
	serve(controllerConfig(t, dir, p.controllerEndpoint, p.blocks))
	serve(nodeConfig(t, dir, p.nodeEndpoint, p.kubeletDir))
	return p
}

func controllerConfig(t *testing.T, dir, endpoint string, blocks pool.BlockDevices) driver.Config {
	t.Helper()
	l := lvmfake.New(fixtureVG, fixtureVGSize, fixtureExtent)
	if err := l.AddThinPool(fixtureThin, fixtureThinSz); err != nil {
		t.Fatal(err)
	}
	// The CHAP key's LV has no device in the LVM fake: its content is kept
	// in memory.
	secrets, err := pool.NewFileSecretsOn(filepath.Join(dir, "controller-state", "chap"), pool.NewMemoryKeyDevice())
	if err != nil {
		t.Fatal(err)
	}
	p, err := pool.New(pool.Config{
		VolumeGroup:         fixtureVG,
		ThinPool:            fixtureThin,
		Portal:              fixturePortal,
		IQNPrefix:           driver.DefaultIQNPrefix,
		CHAP:                true,
		OverprovisionRatio:  1,
		ThinPoolWarnPercent: 80,
	}, l, &sizedTgt{Fake: tgtfake.New(), lvm: l}, secrets, blocks)
	if err != nil {
		t.Fatal(err)
	}
	// No tgtd runs here: the reconciler's restart watch looks at a socket
	// that never appears, so only its periodic runs happen, and Probe checks
	// the volume group only (production also dials tgtd's control socket).
	tgtSocket := filepath.Join(dir, "no-tgtd.sock")
	return driver.Config{
		Options:       driver.Options{Endpoint: endpoint, Mode: driver.ModeController, DriverName: driver.DefaultDriverName},
		Version:       "sanity-inprocess",
		Controller:    driver.NewControllerServer(p),
		Prerequisites: []driver.Prerequisite{{Name: "volume group", Check: p.Ready}},
		Background: []func(context.Context){func(ctx context.Context) {
			p.RunReconciler(ctx, tgtSocket, reconcileInterval)
		}},
	}
}

func nodeConfig(t *testing.T, dir, endpoint, kubeletDir string) driver.Config {
	t.Helper()
	// The node id is made as wire_node.go makes it: the node name, the
	// IQN read from open-iscsi's initiator name file and the public half
	// of the key the node keeps in its state directory.
	nameFile := filepath.Join(dir, "initiatorname.iscsi")
	if err := os.WriteFile(nameFile, []byte("InitiatorName="+fixtureNodeIQN+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	iqn, err := iscsi.ReadInitiatorName(nameFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(kubeletDir, 0o750); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "node-state")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := driver.LoadNodeKey(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	nodeID := driver.NodeID(fixtureNode, iqn, &key.Public)
	if err := driver.CheckNodeID(nodeID); err != nil {
		t.Fatal(err)
	}
	return driver.Config{
		Options: driver.Options{Endpoint: endpoint, Mode: driver.ModeNode, DriverName: driver.DefaultDriverName},
		Version: "sanity-inprocess",
		Node: driver.NewNodeServer(driver.NodeConfig{
			NodeID:     nodeID,
			Key:        key,
			KubeletDir: kubeletDir,
			StateDir:   stateDir,
			// An initiator with no session and a host with no disk: the
			// only node calls the controller tests make are NodeGetInfo,
			// NodeGetCapabilities, and NodeUnpublishVolume and
			// NodeUnstageVolume on volumes never staged (csi-sanity's
			// clean-up), which must succeed without a session or a disk.
			Initiator: iscsifake.New(),
			Disks:     noDisks{},
			// FakeMounter has no mount; the FakeExec has no scripted
			// command, so a call that would run mkfs, blkid or fsck
			// panics (the interceptor turns that into Internal): no such
			// call is made, as the Node Service specs are skipped.
			Mounter: &mount.SafeFormatAndMount{Interface: mount.NewFakeMounter(nil), Exec: &testingexec.FakeExec{}},
			Resizer: noResize{},
		}),
	}
}

// waitForSocket waits until the server listens: Run creates the socket
// in its own goroutine.
func waitForSocket(t *testing.T, endpoint string) {
	t.Helper()
	path, err := driver.SocketPath(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sizedTgt is tgtfake with the backing stores' sizes taken from the LVM
// fake, as tgtd reads them from the LV when a LUN is added or refreshed;
// tgtfake alone reports 0 unless told otherwise.
type sizedTgt struct {
	*tgtfake.Fake
	lvm *lvmfake.Fake
}

var _ tgt.Interface = (*sizedTgt)(nil)

func (s *sizedTgt) syncSize(ctx context.Context, backingStore string) {
	// Backing stores are /dev/<vg>/<lv>.
	vg, lv := filepath.Base(filepath.Dir(backingStore)), filepath.Base(backingStore)
	if v, err := s.lvm.GetLV(ctx, vg, lv); err == nil {
		s.SetSize(backingStore, v.Size)
	}
}

func (s *sizedTgt) AddLUN(ctx context.Context, tid, lun int, backingStore string, p tgt.LUNParams) error {
	s.syncSize(ctx, backingStore)
	return s.Fake.AddLUN(ctx, tid, lun, backingStore, p)
}

func (s *sizedTgt) RefreshLUN(ctx context.Context, tid, lun int, backingStore string) error {
	s.syncSize(ctx, backingStore)
	return s.Fake.RefreshLUN(ctx, tid, lun, backingStore)
}

// nopBlockDevices stands for pkg/blockdev: there is no data to zero or copy
// in the LVM fake. It counts the calls, so the test can tell that the thick
// paths (wipe on delete, copy for a clone) were taken.
type nopBlockDevices struct {
	zeroes, copies atomic.Int64
}

func (b *nopBlockDevices) Zero(context.Context, string) error {
	b.zeroes.Add(1)
	return nil
}

func (b *nopBlockDevices) ZeroRange(context.Context, string, uint64, uint64) error {
	b.zeroes.Add(1)
	return nil
}

func (b *nopBlockDevices) Copy(context.Context, string, string, uint64, bool) error {
	b.copies.Add(1)
	return nil
}

// noDisks is a host on which no iSCSI disk ever appears.
type noDisks struct{}

var _ driver.Disks = noDisks{}

func (noDisks) WaitForDevice(_ context.Context, t iscsi.Target, _ time.Duration) (string, error) {
	return "", fmt.Errorf("%w: LUN %d of %s at %s", iscsi.ErrDeviceNotFound, t.LUN, t.IQN, t.Portal)
}
func (noDisks) VerifySerial(dev, _ string) error {
	return fmt.Errorf("%w: %s", iscsi.ErrDeviceNotFound, dev)
}
func (noDisks) Size(dev string) (uint64, error) {
	return 0, fmt.Errorf("%w: %s", iscsi.ErrDeviceNotFound, dev)
}
func (noDisks) State(dev string) (string, error) {
	return "", fmt.Errorf("%w: %s", iscsi.ErrDeviceNotFound, dev)
}
func (noDisks) Remove(context.Context, string) error { return nil }

// noResize is a Resizer for a node with no filesystem to grow.
type noResize struct{}

var _ driver.Resizer = noResize{}

func (noResize) NeedResize(string, string) (bool, error) { return false, nil }
func (noResize) Resize(string, string) (bool, error) {
	return false, errors.New("no filesystem to resize in the in-process sanity run")
}
