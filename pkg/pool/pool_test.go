package pool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/tgtfake"
)

const (
	testVG     = "vg0"
	testPool   = "pool0"
	testPrefix = "iqn.2026-11.io.csi.lvm-iscsi"
	mib        = uint64(1 << 20)
	gib        = uint64(1 << 30)
)

var (
	nodeA = Node{ID: "node-a/iqn.1993-08.org.debian:01:aaaa", Initiator: "iqn.1993-08.org.debian:01:aaaa"}
	nodeB = Node{ID: "node-b/iqn.1993-08.org.debian:01:bbbb", Initiator: "iqn.1993-08.org.debian:01:bbbb"}
)

// recordingWiper is the BlockDevices fake: it remembers what it zeroed and
// copied and can be told to fail.
type recordingWiper struct {
	mu     sync.Mutex
	zeroed []string
	copies []string // "src>dst:size:sparse"
	fail   error
}

func (w *recordingWiper) Zero(_ context.Context, dev string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	w.zeroed = append(w.zeroed, dev)
	return nil
}

func (w *recordingWiper) ZeroRange(_ context.Context, dev string, offset, length uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	w.zeroed = append(w.zeroed, fmt.Sprintf("%s@%d+%d", dev, offset, length))
	return nil
}

func (w *recordingWiper) Copy(_ context.Context, src, dst string, size uint64, sparse bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	w.copies = append(w.copies, fmt.Sprintf("%s>%s:%d:%v", src, dst, size, sparse))
	return nil
}

type env struct {
	pool    *Pool
	lvm     *lvmfake.Fake
	tgt     *tgtfake.Fake
	wiper   *recordingWiper
	secrets *FileSecrets
	// stateDir is the controller's --state-dir part the pool keeps secrets in.
	stateDir string
	// keyDev holds the contents of the LVs the pool reads and writes
	// itself (the CHAP key's).
	keyDev *MemoryKeyDevice
	ctx    context.Context
}

func newEnv(t testing.TB, thin bool) *env {
	t.Helper()
	l := lvmfake.New(testVG, 10*gib, 4*mib)
	cfg := Config{VolumeGroup: testVG, Portal: "192.0.2.10:3260", IQNPrefix: testPrefix, CHAP: true, OverprovisionRatio: 1}
	if thin {
		if err := l.AddThinPool(testPool, 2*gib); err != nil {
			t.Fatal(err)
		}
		cfg.ThinPool = testPool
	}
	stateDir := filepath.Join(t.TempDir(), "chap")
	keyDev := NewMemoryKeyDevice()
	secrets, err := NewFileSecretsOn(stateDir, keyDev)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{lvm: l, tgt: tgtfake.New(), wiper: &recordingWiper{}, secrets: secrets, stateDir: stateDir, keyDev: keyDev, ctx: context.Background()}
	e.pool, err = New(cfg, e.lvm, e.tgt, secrets, e.wiper)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) create(t *testing.T, name string, size uint64, prov Provisioning) Volume {
	t.Helper()
	v, err := e.pool.Create(e.ctx, CreateRequest{Name: name, RequiredSize: size, Provisioning: prov})
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	e.tgt.SetSize("/dev/vg0/"+v.ID, v.Size) // what tgtd would read from the LV
	return v
}

func (e *env) target(t *testing.T, id string) *tgt.Target {
	t.Helper()
	targets, err := e.tgt.ListTargets(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range targets {
		if targets[i].IQN == e.pool.IQN(id) {
			return &targets[i]
		}
	}
	return nil
}

func TestCreateRoundsToExtentsAndIsIdempotent(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 10*mib+1, Thick)
	if v.Size != 12*mib {
		t.Fatalf("size = %d, want 12 MiB (whole 4 MiB extents)", v.Size)
	}
	if v.ID != VolumeID("pvc-1") || v.Name != "pvc-1" || v.Provisioning != Thick {
		t.Fatalf("volume = %+v", v)
	}
	again := e.create(t, "pvc-1", 10*mib+1, Thick)
	if again.ID != v.ID || again.Size != v.Size {
		t.Fatalf("retry returned %+v, want %+v", again, v)
	}
	if n := e.lvm.Calls("CreateLV"); n != 1 {
		t.Fatalf("CreateLV ran %d times, want 1", n)
	}
}

func TestCreateConflictsAndLimits(t *testing.T) {
	e := newEnv(t, true)
	e.create(t, "pvc-1", 100*mib, Thick)
	cases := []struct {
		name string
		req  CreateRequest
		want error
	}{
		{"bigger than existing", CreateRequest{Name: "pvc-1", RequiredSize: 200 * mib, Provisioning: Thick}, ErrExists},
		{"other provisioning", CreateRequest{Name: "pvc-1", RequiredSize: 100 * mib, Provisioning: Thin}, ErrExists},
		{"limit below rounding", CreateRequest{Name: "pvc-2", RequiredSize: 5 * mib, LimitSize: 6 * mib, Provisioning: Thick}, ErrOutOfRange},
		{"required above limit", CreateRequest{Name: "pvc-3", RequiredSize: 9 * mib, LimitSize: 8 * mib, Provisioning: Thick}, ErrInvalid},
		{"too big for the VG", CreateRequest{Name: "pvc-4", RequiredSize: 20 * gib, Provisioning: Thick}, ErrNoSpace},
		{"too big for the thin pool", CreateRequest{Name: "pvc-5", RequiredSize: 3 * gib, Provisioning: Thin}, ErrNoSpace},
		{"no name", CreateRequest{RequiredSize: mib, Provisioning: Thick}, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.lvm.Calls("CreateLV")
			_, err := e.pool.Create(e.ctx, tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Create = %v, want %v", err, tc.want)
			}
			if tc.name == "too big for the VG" {
				// lvcreate's own refusal is the check (no vgs first):
				// it must have made nothing.
				if _, err := e.lvm.GetLV(e.ctx, testVG, VolumeID(tc.req.Name)); !errors.Is(err, lvm.ErrNotFound) {
					t.Fatalf("a refused lvcreate left an LV: %v", err)
				}
				return
			}
			if e.lvm.Calls("CreateLV") != before {
				t.Fatal("a refused request still ran lvcreate")
			}
		})
	}
}

func TestCreateThinWithoutPoolIsInvalid(t *testing.T) {
	e := newEnv(t, false)
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "x", RequiredSize: mib, Provisioning: Thin}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Create = %v, want ErrInvalid", err)
	}
	if e.pool.DefaultProvisioning() != Thick {
		t.Fatal("default provisioning without a thin pool is not thick")
	}
}

func TestCreateDefaultSize(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "no-size", 0, Thick)
	if v.Size != DefaultSize {
		t.Fatalf("size = %d, want %d", v.Size, DefaultSize)
	}
}

func TestCreateNameKeptExactlyInTags(t *testing.T) {
	e := newEnv(t, false)
	name := "ünïcode name/with spaces,commas=and;more"
	v := e.create(t, name, mib, Thick)
	lv, err := e.lvm.GetLV(e.ctx, testVG, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range lv.Tags {
		if !lvm.ValidTag(tag) {
			t.Errorf("tag %q is not a valid LVM tag", tag)
		}
	}
	got, err := e.pool.Get(e.ctx, v.ID)
	if err != nil || got.Name != name {
		t.Fatalf("Get = %+v, %v; want the name back", got, err)
	}
}

func TestCapacity(t *testing.T) {
	e := newEnv(t, true)
	thick, err := e.pool.Capacity(e.ctx, Thick)
	if err != nil {
		t.Fatal(err)
	}
	vg, _ := e.lvm.GetVG(e.ctx, testVG)
	if thick != vg.Free {
		t.Fatalf("thick capacity %d, want VG free %d", thick, vg.Free)
	}
	e.create(t, "thin-1", 512*mib, Thin)
	thin, err := e.pool.Capacity(e.ctx, Thin)
	if err != nil {
		t.Fatal(err)
	}
	if thin != 2*gib-512*mib {
		t.Fatalf("thin capacity %d, want %d", thin, 2*gib-512*mib)
	}
	e.pool.cfg.OverprovisionRatio = 2
	thin, _ = e.pool.Capacity(e.ctx, Thin)
	if thin != 4*gib-512*mib {
		t.Fatalf("thin capacity at ratio 2 = %d, want %d", thin, 4*gib-512*mib)
	}
}

func TestPublishExportsFencedTarget(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pvc-1", 64*mib, Thin)
	exp, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if exp.IQN != testPrefix+":"+v.ID || exp.LUN != 1 || exp.Portal != "192.0.2.10:3260" || exp.CHAP == nil {
		t.Fatalf("export = %+v", exp)
	}
	tg := e.target(t, v.ID)
	if tg == nil {
		t.Fatal("no target after publish")
	}
	if len(tg.LUNs) != 1 || tg.LUNs[0].SCSISN != v.ID || tg.LUNs[0].SCSIID != v.ID || tg.LUNs[0].BackingStore != "/dev/vg0/"+v.ID || tg.LUNs[0].ThinProvisioning {
		t.Fatalf("LUNs = %+v", tg.LUNs)
	}
	if !slices.Equal(tg.InitiatorNames, []string{nodeA.Initiator}) || len(tg.ACLs) != 0 {
		t.Fatalf("ACL = %v / %v, want only node A's initiator", tg.InitiatorNames, tg.ACLs)
	}
	if !slices.Equal(tg.Accounts, []string{exp.CHAP.User}) {
		t.Fatalf("accounts = %v", tg.Accounts)
	}
	// The fake admits exactly who tgtd would.
	if _, err := e.tgt.Login(tg.TID, nodeA.Initiator, "192.0.2.21", exp.CHAP.User, exp.CHAP.Password); err != nil {
		t.Fatalf("node A cannot log in: %v", err)
	}
	if _, err := e.tgt.Login(tg.TID, nodeB.Initiator, "192.0.2.22", exp.CHAP.User, exp.CHAP.Password); err == nil {
		t.Fatal("node B logged in without being published")
	}
	if _, err := e.tgt.Login(tg.TID, nodeA.Initiator, "192.0.2.21", exp.CHAP.User, "wrong"); err == nil {
		t.Fatal("a wrong CHAP password was accepted")
	}
	got, _ := e.pool.Get(e.ctx, v.ID)
	if len(got.Nodes) != 1 || got.Nodes[0] != nodeA {
		t.Fatalf("recorded nodes = %+v", got.Nodes)
	}
}

func TestPublishIsIdempotent(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	first, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	calls := len(e.tgt.Calls())
	second, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if *first.CHAP != *second.CHAP || first.IQN != second.IQN {
		t.Fatalf("retry answered %+v, first %+v", second, first)
	}
	for _, c := range e.tgt.Calls()[calls:] {
		if !strings.HasPrefix(c, "List") {
			t.Errorf("retry changed tgtd: %s", c)
		}
	}
}

func TestPublishToSecondNode(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeB, false); !errors.Is(err, ErrPublishedElsewhere) {
		t.Fatalf("single-node publish to a second node = %v, want ErrPublishedElsewhere", err)
	}
	if tg := e.target(t, v.ID); slices.Contains(tg.InitiatorNames, nodeB.Initiator) {
		t.Fatal("the refused node was bound anyway")
	}
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeB, true); err != nil {
		t.Fatalf("shared publish: %v", err)
	}
	tg := e.target(t, v.ID)
	if !slices.Contains(tg.InitiatorNames, nodeA.Initiator) || !slices.Contains(tg.InitiatorNames, nodeB.Initiator) {
		t.Fatalf("shared ACL = %v", tg.InitiatorNames)
	}
}

func TestPublishUnknownVolume(t *testing.T) {
	e := newEnv(t, false)
	for _, id := range []string{VolumeID("never-created"), "not-an-id"} {
		if _, err := e.pool.Publish(e.ctx, id, nodeA, false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Publish(%s) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestUnpublishFencesTheNode(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	exp, _ := e.pool.Publish(e.ctx, v.ID, nodeA, true)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeB, true); err != nil {
		t.Fatal(err)
	}
	tg := e.target(t, v.ID)
	if _, err := e.tgt.Login(tg.TID, nodeA.Initiator, "192.0.2.21", exp.CHAP.User, exp.CHAP.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tgt.Login(tg.TID, nodeB.Initiator, "192.0.2.22", exp.CHAP.User, exp.CHAP.Password); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
		t.Fatal(err)
	}
	tg = e.target(t, v.ID)
	if slices.Contains(tg.InitiatorNames, nodeA.Initiator) || !slices.Contains(tg.InitiatorNames, nodeB.Initiator) {
		t.Fatalf("ACL after unpublishing A = %v", tg.InitiatorNames)
	}
	for _, s := range tg.Sessions {
		if s.Initiator == nodeA.Initiator {
			t.Fatal("node A's session survived its unpublish")
		}
	}
	if len(tg.Sessions) != 1 {
		t.Fatalf("node B's session was touched: %+v", tg.Sessions)
	}
	// Idempotent, and the last node takes the target away.
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeB.ID); err != nil {
		t.Fatal(err)
	}
	if e.target(t, v.ID) != nil {
		t.Fatal("target still exported with no node published")
	}
	if accounts, _ := e.tgt.ListAccounts(e.ctx); len(accounts) != 0 {
		t.Fatalf("CHAP accounts left: %v", accounts)
	}
}

func TestReconcileRestoresTargetsAfterTgtdRestart(t *testing.T) {
	e := newEnv(t, true)
	a := e.create(t, "pvc-a", 8*mib, Thin)
	b := e.create(t, "pvc-b", 8*mib, Thick)
	e.create(t, "pvc-unpublished", 8*mib, Thick)
	expA, _ := e.pool.Publish(e.ctx, a.ID, nodeA, false)
	if _, err := e.pool.Publish(e.ctx, b.ID, nodeB, false); err != nil {
		t.Fatal(err)
	}
	before, _ := e.tgt.ListTargets(e.ctx)

	e.tgt.Restart()
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := e.tgt.ListTargets(e.ctx)
	if len(after) != 2 {
		t.Fatalf("targets after reconcile: %d, want 2", len(after))
	}
	for _, want := range before {
		got := e.target(t, strings.TrimPrefix(want.IQN, testPrefix+":"))
		if got == nil {
			t.Fatalf("target %s not restored", want.IQN)
		}
		if !slices.Equal(got.InitiatorNames, want.InitiatorNames) || !slices.Equal(got.Accounts, want.Accounts) {
			t.Fatalf("target %s restored with ACL %v accounts %v, want %v %v", want.IQN, got.InitiatorNames, got.Accounts, want.InitiatorNames, want.Accounts)
		}
		if got.LUNs[0].SCSISN != want.LUNs[0].SCSISN || got.LUNs[0].BackingStore != want.LUNs[0].BackingStore {
			t.Fatalf("LUN restored as %+v, want %+v", got.LUNs[0], want.LUNs[0])
		}
	}
	// The same credentials still work: the node's stored CHAP is valid.
	tg := e.target(t, a.ID)
	if _, err := e.tgt.Login(tg.TID, nodeA.Initiator, "192.0.2.21", expA.CHAP.User, expA.CHAP.Password); err != nil {
		t.Fatalf("node A cannot log in after the restart: %v", err)
	}
}

func TestReconcileRemovesOrphansAndLeavesForeignStateAlone(t *testing.T) {
	e := newEnv(t, false)
	orphanID := VolumeID("deleted-behind-our-back")
	if err := e.tgt.CreateTarget(e.ctx, 5, testPrefix+":"+orphanID); err != nil {
		t.Fatal(err)
	}
	if err := e.tgt.CreateTarget(e.ctx, 6, "iqn.2001-04.com.example:someone-else"); err != nil {
		t.Fatal(err)
	}
	if err := e.tgt.CreateAccount(e.ctx, orphanID, "x"); err != nil {
		t.Fatal(err)
	}
	if err := e.tgt.CreateAccount(e.ctx, "admin", "y"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lvm.CreateLV(e.ctx, testVG, lvm.CreateOptions{Name: "database", Size: 8 * mib}); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	targets, _ := e.tgt.ListTargets(e.ctx)
	if len(targets) != 1 || targets[0].IQN != "iqn.2001-04.com.example:someone-else" {
		t.Fatalf("targets after reconcile = %+v, want only the foreign one", targets)
	}
	accounts, _ := e.tgt.ListAccounts(e.ctx)
	if !slices.Equal(accounts, []string{"admin"}) {
		t.Fatalf("accounts after reconcile = %v, want only admin", accounts)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, "database"); err != nil {
		t.Fatalf("a foreign LV was touched: %v", err)
	}
	vols, _ := e.pool.List(e.ctx)
	if len(vols) != 0 {
		t.Fatalf("List shows foreign LVs: %+v", vols)
	}
}

func TestReconcileRebindsAfterCrashBetweenTagAndTgt(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	// The publish records its tag, then tgtd fails: as if the controller
	// had crashed right after the tag was written.
	e.tgt.FailNext("CreateTarget", errors.New("tgtd went away"))
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err == nil {
		t.Fatal("publish succeeded despite tgtd failing")
	}
	if e.target(t, v.ID) != nil {
		t.Fatal("target exists although its creation failed")
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	tg := e.target(t, v.ID)
	if tg == nil || !slices.Contains(tg.InitiatorNames, nodeA.Initiator) {
		t.Fatalf("reconcile did not finish the publication: %+v", tg)
	}
}

func TestDeleteTakesDownExportWipesThickAndForgetsSecrets(t *testing.T) {
	e := newEnv(t, true)
	thick := e.create(t, "thick", 8*mib, Thick)
	thin := e.create(t, "thin", 8*mib, Thin)
	exp, _ := e.pool.Publish(e.ctx, thick.ID, nodeA, false)
	tg := e.target(t, thick.ID)
	if _, err := e.tgt.Login(tg.TID, nodeA.Initiator, "192.0.2.21", exp.CHAP.User, exp.CHAP.Password); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{thick.ID, thin.ID} {
		if err := e.pool.Delete(e.ctx, id); err != nil {
			t.Fatalf("Delete(%s): %v", id, err)
		}
		if _, err := e.lvm.GetLV(e.ctx, testVG, id); !errors.Is(err, lvm.ErrNotFound) {
			t.Fatalf("LV %s still there: %v", id, err)
		}
	}
	if e.target(t, thick.ID) != nil {
		t.Fatal("target of a deleted volume still exported")
	}
	if !slices.Equal(e.wiper.zeroed, []string{"/dev/vg0/" + thick.ID}) {
		t.Fatalf("zeroed %v, want only the thick volume", e.wiper.zeroed)
	}
	if _, err := os.Stat(filepath.Join(e.secrets.dir, thick.ID+".json")); !os.IsNotExist(err) {
		t.Fatalf("CHAP secret of a deleted volume kept: %v", err)
	}
	// Unknown and malformed ids are already deleted.
	for _, id := range []string{thick.ID, "whatever"} {
		if err := e.pool.Delete(e.ctx, id); err != nil {
			t.Fatalf("Delete(%s) again: %v", id, err)
		}
	}
}

func TestInterruptedDeleteIsFinishedByReconcile(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	e.wiper.fail = errors.New("I/O error")
	if err := e.pool.Delete(e.ctx, v.ID); err == nil {
		t.Fatal("Delete succeeded although the wipe failed")
	}
	if _, err := e.pool.Get(e.ctx, v.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a half-deleted volume is still visible: %v", err)
	}
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a half-deleted volume can be published: %v", err)
	}
	if _, err := e.pool.Create(e.ctx, CreateRequest{Name: "pvc-1", RequiredSize: 8 * mib, Provisioning: Thick}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("recreating a half-deleted volume = %v, want ErrUnavailable", err)
	}
	e.wiper.fail = nil
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, v.ID); !errors.Is(err, lvm.ErrNotFound) {
		t.Fatalf("reconcile did not finish the delete: %v", err)
	}
}

func TestListIsSortedAndShowsNodes(t *testing.T) {
	e := newEnv(t, false)
	var ids []string
	for _, n := range []string{"c", "a", "b"} {
		ids = append(ids, e.create(t, n, 4*mib, Thick).ID)
	}
	if _, err := e.pool.Publish(e.ctx, ids[0], nodeA, false); err != nil {
		t.Fatal(err)
	}
	vols, err := e.pool.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	var got []string
	for _, v := range vols {
		got = append(got, v.ID)
		if v.ID == VolumeID("c") && (len(v.Nodes) != 1 || v.Nodes[0] != nodeA) {
			t.Fatalf("nodes of c = %+v", v.Nodes)
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("List = %v, want %v", got, ids)
	}
}

func TestReadyChecksVGAndThinPool(t *testing.T) {
	e := newEnv(t, true)
	if err := e.pool.Ready(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.pool.cfg.ThinPool = "missing"
	if err := e.pool.Ready(e.ctx); err == nil {
		t.Fatal("a missing thin pool is reported ready")
	}
	e.pool.cfg.VolumeGroup = "nope"
	if err := e.pool.Ready(e.ctx); err == nil {
		t.Fatal("a missing VG is reported ready")
	}
}

// blockingWipe holds Zero until released, to play a wipe longer than a call.
type blockingWipe struct {
	*recordingWiper
	release, entered chan struct{}
	once             sync.Once
}

func (b *blockingWipe) Zero(ctx context.Context, dev string) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.recordingWiper.Zero(ctx, dev)
}

func TestLongWipeOutlivesTheCallAndIsNotRestarted(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "big", 64*mib, Thick)
	release, entered := make(chan struct{}), make(chan struct{})
	e.pool.blocks = &blockingWipe{recordingWiper: e.wiper, release: release, entered: entered}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.pool.Delete(ctx, v.ID) }()
	<-entered
	cancel() // the CO gave up on the call
	if err := <-done; !errors.Is(err, ErrInProgress) {
		t.Fatalf("Delete whose call ended mid-wipe = %v, want ErrInProgress", err)
	}
	retry := make(chan error, 1)
	go func() { retry <- e.pool.Delete(e.ctx, v.ID) }() // joins the running wipe
	close(release)
	if err := <-retry; err != nil {
		t.Fatalf("retried Delete: %v", err)
	}
	if len(e.wiper.zeroed) != 1 {
		t.Fatalf("zeroed %v: the wipe ran more than once", e.wiper.zeroed)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, v.ID); !errors.Is(err, lvm.ErrNotFound) {
		t.Fatalf("LV left: %v", err)
	}
}
