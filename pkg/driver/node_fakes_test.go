package driver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/mount-utils"
	utilexec "k8s.io/utils/exec"
	testingexec "k8s.io/utils/exec/testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi/iscsifake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// What the node tests stage: targets named the way the controller names
// them (prefix ":" volume id, LUN 1) with per-volume CHAP.
const (
	nodeTestPortal   = "192.0.2.10:3260"
	nodeTestIQNBase  = "iqn.2026-11.io.csi.lvm-iscsi"
	nodeTestCHAPUser = "csi-chap-user-7f3a"
	nodeTestCHAPPass = "chap-password-0123456789abcdef"
)

var (
	nodeVolA = pool.VolumeID("pvc-node-a")
	nodeVolB = pool.VolumeID("pvc-node-b")
	// The node under test is node A of the controller tests.
	nodeTestKey    = testKeyA
	nodeTestNodeID = testNodeA
)

func nodeIQN(volumeID string) string { return nodeTestIQNBase + ":" + volumeID }

// fakeDisks is the Disks of a host whose iSCSI sessions are those of an
// iscsifake.Initiator: like the kernel's SCSI disks, a target's disk is
// visible only while a session to it is open, only at LUN 1, and until
// Remove deletes it. The device nodes are real empty files, so that path
// comparisons that resolve links work on them.
type fakeDisks struct {
	ini    *iscsifake.Initiator
	devDir string

	mu       sync.Mutex
	byIQN    map[string]*fakeDisk
	removals []fakeRemoval
	// grownAfter is how many rescans a disk reports 512 MiB for before its
	// 1 GiB (0: 1 GiB from the start): the rescans that came while the
	// session was reconnecting after a LUN refresh.
	grownAfter int
}

type fakeDisk struct {
	path, serial string
	gone         bool
	state        string // SCSI state; "" is running
}

// fakeRemoval is one Remove call, and whether the disk's session was still
// open then (a disk must be flushed and deleted before the logout).
type fakeRemoval struct {
	dev         string
	sessionOpen bool
}

var _ Disks = (*fakeDisks)(nil)

func newFakeDisks(t *testing.T, ini *iscsifake.Initiator) *fakeDisks {
	return &fakeDisks{ini: ini, devDir: t.TempDir(), byIQN: map[string]*fakeDisk{}}
}

// add makes the target of volumeID carry a disk whose serial is serial
// (the volume id for the right disk) and returns its device path.
func (d *fakeDisks) add(t *testing.T, volumeID, serial string) string {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	dev := filepath.Join(d.devDir, "sd"+string(rune('a'+len(d.byIQN))))
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d.byIQN[nodeIQN(volumeID)] = &fakeDisk{path: dev, serial: serial}
	return dev
}

// vanish makes a disk disappear on its own (the kernel dropped it).
func (d *fakeDisks) vanish(volumeID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byIQN[nodeIQN(volumeID)].gone = true
}

// replace gives volumeID's target a new disk under a new name, as the
// kernel does when the session is closed and opened again, and removes the
// old device node (udev does). It returns the new device path.
func (d *fakeDisks) replace(t *testing.T, volumeID string) string {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.byIQN[nodeIQN(volumeID)]
	if err := os.Remove(old.path); err != nil {
		t.Fatal(err)
	}
	dev := old.path + "-replaced"
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d.byIQN[nodeIQN(volumeID)] = &fakeDisk{path: dev, serial: old.serial}
	return dev
}

func (d *fakeDisks) setSerial(volumeID, serial string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byIQN[nodeIQN(volumeID)].serial = serial
}

func (d *fakeDisks) removed() []fakeRemoval {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.removals)
}

func (d *fakeDisks) WaitForDevice(_ context.Context, t iscsi.Target, _ time.Duration) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	disk := d.byIQN[t.IQN]
	if disk == nil || disk.gone || t.LUN != 1 || !d.ini.LoggedIn(t.Portal, t.IQN) {
		return "", fmt.Errorf("%w: LUN %d of %s at %s", iscsi.ErrDeviceNotFound, t.LUN, t.IQN, t.Portal)
	}
	return disk.path, nil
}

func (d *fakeDisks) find(dev string) *fakeDisk {
	for _, disk := range d.byIQN {
		if disk.path == dev && !disk.gone {
			return disk
		}
	}
	return nil
}

func (d *fakeDisks) VerifySerial(dev, want string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	disk := d.find(dev)
	switch {
	case disk == nil:
		return fmt.Errorf("%w: %s", iscsi.ErrDeviceNotFound, dev)
	case disk.serial != want:
		return fmt.Errorf("%w: %s has serial %q, want %q", iscsi.ErrSerialMismatch, dev, disk.serial, want)
	}
	return nil
}

func (d *fakeDisks) Size(dev string) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.find(dev) == nil {
		return 0, fmt.Errorf("%w: %s", iscsi.ErrDeviceNotFound, dev)
	}
	if len(d.ini.Rescans()) <= d.grownAfter {
		return 512 << 20, nil
	}
	return 1 << 30, nil
}

func (d *fakeDisks) State(dev string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	disk := d.find(dev)
	switch {
	case disk == nil:
		return "", fmt.Errorf("%w: %s", iscsi.ErrDeviceNotFound, dev)
	case disk.state == "":
		return "running", nil
	}
	return disk.state, nil
}

func (d *fakeDisks) setState(volumeID, state string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byIQN[nodeIQN(volumeID)].state = state
}

// Remove deletes the disk; one that is already gone is success, as with
// iscsi.Devices.
func (d *fakeDisks) Remove(_ context.Context, dev string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for iqn, disk := range d.byIQN {
		if disk.path == dev && !disk.gone {
			d.removals = append(d.removals, fakeRemoval{dev: dev, sessionOpen: d.ini.LoggedIn(nodeTestPortal, iqn)})
			disk.gone = true
		}
	}
	return nil
}

// mountCall is one mount the node server asked for.
type mountCall struct {
	source, target, fsType string
	options                []string
}

// recordingMounter is mount-utils' FakeMounter that also keeps the source
// each mount was asked for: the FakeMounter itself replaces a bind mount's
// source by the device, which hides what the caller passed.
type recordingMounter struct {
	*mount.FakeMounter
	mu    sync.Mutex
	calls []mountCall
}

func (m *recordingMounter) record(source, target, fsType string, options []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, mountCall{source, target, fsType, slices.Clone(options)})
}

func (m *recordingMounter) Mount(source, target, fsType string, options []string) error {
	m.record(source, target, fsType, options)
	return m.FakeMounter.Mount(source, target, fsType, options)
}

func (m *recordingMounter) MountSensitive(source, target, fsType string, options, sensitive []string) error {
	m.record(source, target, fsType, options)
	return m.FakeMounter.MountSensitive(source, target, fsType, options, sensitive)
}

// take returns the mounts asked for since the last take.
func (m *recordingMounter) take() []mountCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	calls := m.calls
	m.calls = nil
	return calls
}

// goReadOnly makes the filesystem mounted at path read-only, as the kernel
// does to ext4 after an I/O error in its journal: the staging mount and its
// bind mounts (one superblock) all turn "ro".
func (m *recordingMounter) goReadOnly(path string) {
	m.FakeMounter.MountPoints = slices.Clone(m.FakeMounter.MountPoints)
	var dev string
	for _, mp := range m.FakeMounter.MountPoints {
		if mp.Path == path {
			dev = mp.Device
		}
	}
	for i, mp := range m.FakeMounter.MountPoints {
		if mp.Device == dev {
			m.FakeMounter.MountPoints[i].Opts = append(slices.Clone(mp.Opts), "ro")
		}
	}
}

func (m *recordingMounter) isMounted(t *testing.T, path string) bool {
	t.Helper()
	notMnt, err := m.IsLikelyNotMountPoint(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil && !notMnt
}

// execCall is one command SafeFormatAndMount is expected to run, with
// what it answers.
type execCall struct {
	argv []string
	out  []byte
	exit int
}

// recordedExec loads a case recorded by testdata/node/record.sh from the
// real tools, with the device path put in.
func recordedExec(t *testing.T, name, dev string) execCall {
	t.Helper()
	read := func(ext string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "node", "recorded", name+ext))
		if err != nil {
			t.Fatalf("recorded case %s: %v", name, err)
		}
		return strings.ReplaceAll(string(b), "@DEV@", dev)
	}
	code, err := strconv.Atoi(strings.TrimSpace(read(".exit")))
	if err != nil {
		t.Fatalf("recorded case %s: exit code: %v", name, err)
	}
	return execCall{argv: strings.Fields(read(".argv")), out: []byte(read(".out")), exit: code}
}

// nodeTest is a NodeServer on fakes, with the kubelet and state
// directories in temporary directories.
type nodeTest struct {
	t       *testing.T
	kubelet string
	state   string
	ini     *iscsifake.Initiator
	disks   *fakeDisks
	mounter *recordingMounter
	exec    *testingexec.FakeExec
	srv     *NodeServer

	expected int // commands of the current script
}

// newNodeTest builds the server; wrap, when given, may put something
// around the fake initiator.
func newNodeTest(t *testing.T, wrap func(*iscsifake.Initiator) iscsi.Initiator) *nodeTest {
	t.Helper()
	n := &nodeTest{
		t:       t,
		kubelet: filepath.Join(t.TempDir(), "kubelet"),
		state:   t.TempDir(),
		ini:     iscsifake.New(),
		mounter: &recordingMounter{FakeMounter: mount.NewFakeMounter(nil)},
		exec:    &testingexec.FakeExec{},
	}
	if err := os.MkdirAll(n.kubelet, 0o750); err != nil {
		t.Fatal(err)
	}
	n.disks = newFakeDisks(t, n.ini)
	var ini iscsi.Initiator = n.ini
	if wrap != nil {
		ini = wrap(n.ini)
	}
	n.srv = NewNodeServer(NodeConfig{
		NodeID:            nodeTestNodeID,
		Key:               nodeTestKey,
		MaxVolumesPerNode: 64,
		KubeletDir:        n.kubelet,
		StateDir:          n.state,
		Initiator:         ini,
		Disks:             n.disks,
		Mounter:           &mount.SafeFormatAndMount{Interface: n.mounter, Exec: n.exec},
		Resizer:           &fakeResizer{},
	})
	n.expectCommands()
	t.Cleanup(n.checkCommandsRan)
	return n
}

// expectCommands scripts the commands SafeFormatAndMount must run next,
// in this order, and no others.
func (n *nodeTest) expectCommands(calls ...execCall) {
	n.t.Helper()
	n.checkCommandsRan()
	script := make([]testingexec.FakeCommandAction, 0, len(calls)+10)
	for _, c := range calls {
		script = append(script, func(cmd string, args ...string) utilexec.Cmd {
			if got := append([]string{cmd}, args...); !slices.Equal(got, c.argv) {
				n.t.Errorf("command %q, want %q", got, c.argv)
			}
			return fakeCmd(c.out, c.exit, cmd, args)
		})
	}
	// Unscripted commands fail the test rather than panic in FakeExec.
	for range 10 {
		script = append(script, func(cmd string, args ...string) utilexec.Cmd {
			n.t.Errorf("unexpected command %s %q", cmd, args)
			return fakeCmd(nil, 1, cmd, args)
		})
	}
	n.exec.CommandScript = script
	n.exec.CommandCalls = 0
	n.expected = len(calls)
}

func fakeCmd(out []byte, exit int, cmd string, args []string) utilexec.Cmd {
	var err error
	if exit != 0 {
		err = testingexec.FakeExitError{Status: exit}
	}
	return testingexec.InitFakeCmd(&testingexec.FakeCmd{
		CombinedOutputScript: []testingexec.FakeAction{func() ([]byte, []byte, error) { return out, nil, err }},
	}, cmd, args...)
}

func (n *nodeTest) checkCommandsRan() {
	n.t.Helper()
	if n.exec.CommandCalls < n.expected {
		n.t.Errorf("%d of the %d scripted commands ran", n.exec.CommandCalls, n.expected)
	}
}

func (n *nodeTest) stagingPath(volumeID string) string {
	return filepath.Join(n.kubelet, "plugins/kubernetes.io/csi/lvm.iscsi.csi.k8s.io", volumeID, "globalmount")
}

func (n *nodeTest) targetPath(volumeID string) string {
	return filepath.Join(n.kubelet, "pods/6f0c1e3a/volumes/kubernetes.io~csi", volumeID, "mount")
}

// nodePublishContext is what the controller hands out: the CHAP
// credentials sealed to the node's key.
func nodePublishContext(volumeID string) map[string]string {
	return map[string]string{
		publish.KeyPortal: nodeTestPortal,
		publish.KeyIQN:    nodeIQN(volumeID),
		publish.KeyLUN:    "1",
		publish.KeyCHAP:   sealFor(&nodeTestKey.Public, volumeID),
	}
}

func sealFor(to *[32]byte, volumeID string) string {
	sealed, err := publish.SealCredentials(to, volumeID, publish.Credentials{User: nodeTestCHAPUser, Password: nodeTestCHAPPass})
	if err != nil {
		panic(err)
	}
	return sealed
}

func nodeFsCap(fsType string, flags ...string) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: fsType, MountFlags: flags}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}

func nodeBlockCap() *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER},
	}
}

func (n *nodeTest) stageReq(volumeID string, c *csi.VolumeCapability) *csi.NodeStageVolumeRequest {
	return &csi.NodeStageVolumeRequest{
		VolumeId:          volumeID,
		StagingTargetPath: n.stagingPath(volumeID),
		VolumeCapability:  c,
		PublishContext:    nodePublishContext(volumeID),
	}
}

func (n *nodeTest) unstageReq(volumeID string) *csi.NodeUnstageVolumeRequest {
	return &csi.NodeUnstageVolumeRequest{VolumeId: volumeID, StagingTargetPath: n.stagingPath(volumeID)}
}

func (n *nodeTest) publishReq(volumeID string, c *csi.VolumeCapability, readonly bool) *csi.NodePublishVolumeRequest {
	return &csi.NodePublishVolumeRequest{
		VolumeId:          volumeID,
		StagingTargetPath: n.stagingPath(volumeID),
		TargetPath:        n.targetPath(volumeID),
		VolumeCapability:  c,
		Readonly:          readonly,
		PublishContext:    nodePublishContext(volumeID),
	}
}

// stage stages volumeID, which must succeed; a filesystem volume is taken
// as already formatted (blkid finds ext4, fsck passes).
func (n *nodeTest) stage(volumeID, dev string, c *csi.VolumeCapability) {
	n.t.Helper()
	if c.GetMount() != nil {
		n.expectCommands(recordedExec(n.t, "blkid_ext4", dev), recordedExec(n.t, "fsck_clean", dev))
	}
	if _, err := n.srv.NodeStageVolume(n.t.Context(), n.stageReq(volumeID, c)); err != nil {
		n.t.Fatalf("staging %s: %v", volumeID, err)
	}
	n.expectCommands()
	n.mounter.take()
}

// recordFile is the path of volumeID's stage record.
func (n *nodeTest) recordFile(volumeID string) string {
	return filepath.Join(n.state, "staged", volumeID+".json")
}

func (n *nodeTest) hasRecord(volumeID string) bool {
	n.t.Helper()
	_, err := os.Stat(n.recordFile(volumeID))
	if err != nil && !os.IsNotExist(err) {
		n.t.Fatal(err)
	}
	return err == nil
}

func nodeWantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("error %v: code %s, want %s", err, status.Code(err), code)
	}
}

func nodePathExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Lstat(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}
