package doctor

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/tgtfake"
)

const (
	testVG     = "vg0"
	testPool   = "pool0"
	testPortal = "192.0.2.10:3260"
	testPrefix = "iqn.2026-11.io.csi.lvm-iscsi"
	mib        = uint64(1 << 20)
	gib        = uint64(1 << 30)
)

var nodeA = pool.Node{ID: "node-a/iqn.1993-08.org.debian:01:aaaa", Initiator: "iqn.1993-08.org.debian:01:aaaa"}

// filters is a FilterReader with fixed settings.
type filters struct {
	f   lvm.DeviceFilter
	err error
}

func (f *filters) DeviceFilter(context.Context) (*lvm.DeviceFilter, error) {
	if f.err != nil {
		return nil, f.err
	}
	c := f.f
	return &c, nil
}

// hostEnv is a healthy storage host: a VG with a zeroing thin pool, tgtd
// answering on its socket and portal, dm modules loaded, lvm filters that
// reject iSCSI disks, and a pool of the driver over the same fakes to make
// volumes with.
type hostEnv struct {
	cfg        HostConfig
	lvm        *lvmfake.Fake
	tgt        *tgtfake.Fake
	dial       *dialer
	driverF    *filters
	hostF      *filters
	pool       *pool.Pool
	sys, proc  string
	lvmConfDir string
}

func newHostEnv(t *testing.T) *hostEnv {
	t.Helper()
	dir := t.TempDir()
	e := &hostEnv{
		lvm:     lvmfake.New(testVG, 10*gib, 4*mib),
		tgt:     tgtfake.New(),
		driverF: &filters{f: lvm.DeviceFilter{GlobalFilter: []string{recommendedFilter}, Filter: []string{"a|.*|"}}},
		hostF:   &filters{f: lvm.DeviceFilter{GlobalFilter: []string{recommendedFilter}, Filter: []string{"a|.*|"}}},
		sys:     filepath.Join(dir, "sys"), proc: filepath.Join(dir, "proc"), lvmConfDir: filepath.Join(dir, "lvm"),
	}
	if err := e.lvm.AddThinPool(testPool, 2*gib); err != nil {
		t.Fatal(err)
	}
	write(t, e.proc, "modules", "dm_thin_pool 45056 1 - Live 0x0\ndm_mod 184320 5 dm_thin_pool, Live 0x0\n")
	// A real socket file for tgtd's control socket.
	socket := filepath.Join(dir, "tgtd.socket.0")
	listenUnix(t, socket)
	e.dial = newDialer(socket, testPortal)
	e.cfg = HostConfig{VolumeGroup: testVG, ThinPool: testPool, Portal: testPortal, IQNPrefix: testPrefix, CHAP: true,
		TgtSocket: socket, LVMSystemDir: e.lvmConfDir, SysRoot: e.sys, ProcRoot: e.proc}
	secrets, err := pool.NewFileSecretsOn(filepath.Join(dir, "chap"), pool.NewMemoryKeyDevice())
	if err != nil {
		t.Fatal(err)
	}
	e.pool, err = pool.New(pool.Config{VolumeGroup: testVG, ThinPool: testPool, Portal: testPortal, IQNPrefix: testPrefix, CHAP: true, OverprovisionRatio: 1},
		e.lvm, e.tgt, secrets, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *hostEnv) checks() []Check {
	return HostChecks(e.cfg, HostDeps{LVM: e.lvm, Tgt: e.tgt, DriverFilter: e.driverF, HostFilter: e.hostF, Dial: e.dial.dial})
}

// publish makes a thin volume published to node A, as the controller would.
func (e *hostEnv) publish(t *testing.T, name string) (string, *tgt.Target) {
	t.Helper()
	ctx := context.Background()
	v, err := e.pool.Create(ctx, pool.CreateRequest{Name: name, RequiredSize: 64 * mib, Provisioning: pool.Thin})
	if err != nil {
		t.Fatal(err)
	}
	e.tgt.SetSize("/dev/vg0/"+v.ID, v.Size)
	if _, err := e.pool.Publish(ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	targets, _ := e.tgt.ListTargets(ctx)
	for i := range targets {
		if strings.HasSuffix(targets[i].IQN, v.ID) {
			return v.ID, &targets[i]
		}
	}
	t.Fatal("no target after publish")
	return "", nil
}

func TestHealthyStorageHostIsAllOK(t *testing.T) {
	e := newHostEnv(t)
	e.publish(t, "pvc-1")
	r := Run(context.Background(), "controller", e.checks(), false)
	for _, f := range r.Findings {
		if f.Severity != OK {
			t.Errorf("healthy host: %s %s: %s", f.Severity, f.ID, f.What)
		}
	}
	if r.ExitCode() != 0 {
		t.Errorf("exit code %d, want 0", r.ExitCode())
	}
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.ID)
	}
	for _, id := range []string{"vg", "vg-free", "thin-pool", "thin-pool-data", "thin-pool-metadata", "thin-pool-zeroing", "kernel-modules",
		"tgtd-socket", "tgtd", "portal", "lvm-filter", "lvm-filter-host", "stray-target", "stray-account", "target-missing",
		"target-lun", "target-offline", "target-acl", "target-chap", "unfinished-lv", "malformed-tags", "shared-initiator"} {
		if !slices.Contains(ids, id) {
			t.Errorf("no %s finding in a healthy run (%v)", id, ids)
		}
	}
}

func TestVolumeGroupMissing(t *testing.T) {
	e := newHostEnv(t)
	e.cfg.VolumeGroup = "nova-volumes"
	expect(t, e.checks(), "vg", Error, "nova-volumes", "vgcreate nova-volumes")
}

func TestVolumeGroupFull(t *testing.T) {
	e := newHostEnv(t)
	expect(t, e.checks(), "vg-free", OK)
	if _, err := e.lvm.CreateLV(context.Background(), testVG, lvm.CreateOptions{Name: "big", Size: 7 * gib}); err != nil {
		t.Fatal(err)
	}
	expect(t, e.checks(), "vg-free", Warning, "vgextend vg0")
}

func TestThinPoolMissingOrNotAPool(t *testing.T) {
	e := newHostEnv(t)
	e.cfg.ThinPool = "nopool"
	expect(t, e.checks(), "thin-pool", Error, "vg0/nopool", "lvcreate --type thin-pool")
	if _, err := e.lvm.CreateLV(context.Background(), testVG, lvm.CreateOptions{Name: "plain", Size: 8 * mib}); err != nil {
		t.Fatal(err)
	}
	e.cfg.ThinPool = "plain"
	expect(t, e.checks(), "thin-pool", Error, "not a thin pool")
}

func TestThinPoolUse(t *testing.T) {
	for _, tc := range []struct {
		percent float64
		want    Severity
	}{{10, OK}, {79.9, OK}, {80, Warning}, {94.9, Warning}, {95, Error}, {100, Error}} {
		e := newHostEnv(t)
		if err := e.lvm.SetDataPercent(testPool, tc.percent); err != nil {
			t.Fatal(err)
		}
		if err := e.lvm.SetMetadataPercent(testPool, tc.percent); err != nil {
			t.Fatal(err)
		}
		if tc.want == OK {
			expect(t, e.checks(), "thin-pool-data", OK)
			expect(t, e.checks(), "thin-pool-metadata", OK)
			continue
		}
		expect(t, e.checks(), "thin-pool-data", tc.want, "lvextend -L +SIZE vg0/pool0", "autoextend")
		expect(t, e.checks(), "thin-pool-metadata", tc.want, "--poolmetadatasize")
	}
}

func TestThinPoolWithoutZeroing(t *testing.T) {
	e := newHostEnv(t)
	if err := e.lvm.SetThinPoolZeroing(testPool, false); err != nil {
		t.Fatal(err)
	}
	fs := expect(t, e.checks(), "thin-pool-zeroing", Error, "lvchange -Z y vg0/pool0")
	if !slices.Equal(fs[0].Command, []string{"lvchange", "-Z", "y", "vg0/pool0"}) {
		t.Errorf("command = %q", fs[0].Command)
	}
	e.cfg.AllowThinPoolWithoutZeroing = true
	expect(t, e.checks(), "thin-pool-zeroing", Warning, "accepted by --allow-thin-pool-without-zeroing")
}

func TestKernelModulesMissing(t *testing.T) {
	e := newHostEnv(t)
	write(t, e.proc, "modules", "dm_mod 184320 5 - Live 0x0\n")
	expect(t, e.checks(), "kernel-modules", Error, "dm_thin_pool", "modprobe dm_thin_pool")
	// Built in: /sys/module only.
	write(t, e.sys, "module/dm_thin_pool/parameters/x", "")
	expect(t, e.checks(), "kernel-modules", OK)
}

func TestTgtdDown(t *testing.T) {
	e := newHostEnv(t)
	// tgtd died: its socket file stays and refuses, tgtadm fails, the
	// portal refuses.
	e.dial.set(e.cfg.TgtSocket, false)
	e.dial.set(testPortal, false)
	e.tgt.FailNext("ListTargets", errors.New("tgtadm: can't send the request to the tgt daemon, Transport endpoint is not connected"))
	checks := e.checks()
	r := Run(context.Background(), "controller", checks, false)
	got := map[string]Severity{}
	for _, f := range r.Findings {
		if f.Severity > got[f.ID] {
			got[f.ID] = f.Severity
		}
	}
	for _, id := range []string{"tgtd-socket", "tgtd", "portal"} {
		if got[id] != Error {
			t.Errorf("%s = %s, want error", id, got[id])
		}
	}
	if r.ExitCode() != 2 {
		t.Errorf("exit code %d, want 2", r.ExitCode())
	}
}

func TestTgtdSocketMissing(t *testing.T) {
	e := newHostEnv(t)
	e.cfg.TgtSocket = filepath.Join(t.TempDir(), "socket.0")
	expect(t, e.checks(), "tgtd-socket", Error, "socket.0", "systemctl enable --now tgt")
}

func TestPortalNotListening(t *testing.T) {
	e := newHostEnv(t)
	e.dial.set(testPortal, false)
	expect(t, e.checks(), "portal", Error, testPortal, "--iscsi portal=")
}

func TestLVMFilters(t *testing.T) {
	e := newHostEnv(t)
	// The distribution's default: lvm accepts everything.
	e.hostF.f = lvm.DeviceFilter{GlobalFilter: []string{"a|.*|"}, Filter: []string{"a|.*|"}}
	expect(t, e.checks(), "lvm-filter-host", Warning, "global_filter", "lvm.conf")
	// With an iSCSI session on the host, it is an error.
	write(t, e.sys, "class/iscsi_session/session1/targetname", "iqn.x\n")
	expect(t, e.checks(), "lvm-filter-host", Error, "has iSCSI sessions")
	// A devices file that exists takes over from the filters.
	e.hostF.f.UseDevicesFile, e.hostF.f.DevicesFile = true, "system.devices"
	write(t, e.lvmConfDir, "devices/system.devices", "")
	expect(t, e.checks(), "lvm-filter-host", OK)

	// The driver's --lvm-global-filter with an accept-all before the reject.
	e.driverF.f = lvm.DeviceFilter{GlobalFilter: []string{"a|.*|", recommendedFilter}}
	expect(t, e.checks(), "lvm-filter", Error, "--lvm-global-filter")
	e.driverF.err = errors.New("lvmconfig: not found")
	expect(t, e.checks(), "lvm-filter", Warning, "lvmconfig")
}

func TestStrayTargetAndAccount(t *testing.T) {
	e := newHostEnv(t)
	ctx := context.Background()
	stray := pool.VolumeID("deleted-by-hand")
	if err := e.tgt.CreateTarget(ctx, 7, testPrefix+":"+stray); err != nil {
		t.Fatal(err)
	}
	if err := e.tgt.CreateAccount(ctx, stray, "pw"); err != nil {
		t.Fatal(err)
	}
	// Foreign ones are not ours to report.
	if err := e.tgt.CreateTarget(ctx, 8, "iqn.2001-04.com.example:other"); err != nil {
		t.Fatal(err)
	}
	fs := expect(t, e.checks(), "stray-target", Warning, stray, "reconcil")
	if !slices.Equal(fs[0].Command, []string{"tgtadm", "--lld", "iscsi", "-C", "0", "--op", "delete", "--mode", "target", "--force", "--tid", "7"}) {
		t.Errorf("command = %q", fs[0].Command)
	}
	expect(t, e.checks(), "stray-account", Warning, stray)
	if err := e.pool.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	expect(t, e.checks(), "stray-target", OK)
	expect(t, e.checks(), "stray-account", OK)
}

func TestTargetDrift(t *testing.T) {
	e := newHostEnv(t)
	ctx := context.Background()
	id, tg := e.publish(t, "pvc-drift")
	expect(t, e.checks(), "target-offline", OK)
	if err := e.tgt.SetTargetState(ctx, tg.TID, tgt.StateOffline); err != nil {
		t.Fatal(err)
	}
	expect(t, e.checks(), "target-offline", Error, "offline", "--value ready")
	if err := e.tgt.SetTargetState(ctx, tg.TID, tgt.StateReady); err != nil {
		t.Fatal(err)
	}
	expect(t, e.checks(), "target-acl", OK)
	if err := e.tgt.UnbindInitiator(ctx, tg.TID, nodeA.Initiator); err != nil {
		t.Fatal(err)
	}
	fs := expect(t, e.checks(), "target-acl", Error, nodeA.Initiator, "--op bind")
	if fs[0].AutoFix {
		t.Error("a tgtd change is offered to --fix while the controller owns tgtd")
	}
	if err := e.tgt.DeleteLUN(ctx, tg.TID, 1); err != nil {
		t.Fatal(err)
	}
	expect(t, e.checks(), "target-lun", Error, "no LUN 1")
	for _, user := range tg.Accounts {
		if err := e.tgt.DeleteAccount(ctx, user); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, e.checks(), "target-chap", Error, "no account")
	if err := e.tgt.DeleteTarget(ctx, tg.TID); err != nil {
		t.Fatal(err)
	}
	expect(t, e.checks(), "target-missing", Error, id)
	if err := e.pool.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"target-missing", "target-lun", "target-acl", "target-chap"} {
		expect(t, e.checks(), id, OK)
	}
}

// A drift that the controller repairs before the second reading (a publish
// half-way) is not reported.
func TestDriftMustLastTheSettleTime(t *testing.T) {
	e := newHostEnv(t)
	ctx := context.Background()
	_, tg := e.publish(t, "pvc-settle")
	if err := e.tgt.UnbindInitiator(ctx, tg.TID, nodeA.Initiator); err != nil {
		t.Fatal(err)
	}
	e.cfg.Settle = 1 // a nanosecond: the hook below runs between the readings
	calls := 0
	checks := HostChecks(e.cfg, HostDeps{LVM: e.lvm, Tgt: &repairing{Fake: e.tgt, onList: func() {
		calls++
		if calls == 3 { // tgtd check, first audit, then the second audit
			_ = e.tgt.BindInitiator(ctx, tg.TID, nodeA.Initiator)
		}
	}}, DriverFilter: e.driverF, HostFilter: e.hostF, Dial: e.dial.dial})
	expect(t, checks, "target-acl", OK)
}

// repairing calls onList before each listing of targets.
type repairing struct {
	*tgtfake.Fake
	onList func()
}

func (r *repairing) ListTargets(ctx context.Context) ([]tgt.Target, error) {
	r.onList()
	return r.Fake.ListTargets(ctx)
}

func TestUnfinishedAndSharedInitiator(t *testing.T) {
	e := newHostEnv(t)
	ctx := context.Background()
	id, _ := e.publish(t, "pvc-shared")
	other, err := e.pool.Create(ctx, pool.CreateRequest{Name: "pvc-other", RequiredSize: 64 * mib, Provisioning: pool.Thin})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, e.checks(), "shared-initiator", OK)
	expect(t, e.checks(), "unfinished-lv", OK)
	// Node A's initiator recorded for a second node name by hand (the
	// pool refuses to publish it), and an interrupted delete.
	b64 := base64.RawURLEncoding
	clone := "lic.pub=" + b64.EncodeToString([]byte("node-b/"+nodeA.Initiator)) + "." + b64.EncodeToString([]byte(nodeA.Initiator))
	if err := e.lvm.ChangeTags(ctx, testVG, id, []string{clone}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.lvm.ChangeTags(ctx, testVG, other.ID, []string{"lic.state=deleting"}, nil); err != nil {
		t.Fatal(err)
	}
	expect(t, e.checks(), "shared-initiator", Error, nodeA.Initiator, "iscsi-iname")
	expect(t, e.checks(), "unfinished-lv", Warning, other.ID, "being deleted")
}
