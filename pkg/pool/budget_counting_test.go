package pool

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// The command budget tests (budget_test.go) count the external commands an
// RPC runs on the storage host. The pool talks to lvm and tgtd through
// lvm.Interface and tgt.Interface; these wrappers count, for each method
// the pool calls, the commands the real implementations (pkg/lvm's *LVM,
// pkg/tgt's *Tgt) run for it, as their own tests pin them with exact argv
// lists (pkg/lvm: newTestLVM, pkg/tgt: the scripted runner). They
// implement every method explicitly, without embedding, so a method added
// to either interface does not compile here until its cost is stated.

// commandLog counts reads and changes of one tool and keeps their names.
type commandLog struct {
	mu             sync.Mutex
	reads, changes int
	commands       []string
}

func (c *commandLog) read(names ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads += len(names)
	c.commands = append(c.commands, names...)
}

func (c *commandLog) changed(names ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes += len(names)
	c.commands = append(c.commands, names...)
}

func (c *commandLog) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads, c.changes, c.commands = 0, 0, nil
}

func (c *commandLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%d reads + %d changes [%s]", c.reads, c.changes, strings.Join(c.commands, ", "))
}

// countingLVM counts the lvm commands of *lvm.LVM's methods.
type countingLVM struct {
	l   lvm.Interface
	log commandLog
}

var _ lvm.Interface = (*countingLVM)(nil)

func (c *countingLVM) GetVG(ctx context.Context, vg string) (*lvm.VG, error) {
	c.log.read("vgs")
	return c.l.GetVG(ctx, vg)
}

func (c *countingLVM) ListLVs(ctx context.Context, vg string) ([]lvm.LV, error) {
	c.log.read("lvs")
	return c.l.ListLVs(ctx, vg)
}

func (c *countingLVM) GetLV(ctx context.Context, vg, name string) (*lvm.LV, error) {
	c.log.read("lvs " + name)
	return c.l.GetLV(ctx, vg, name)
}

// CreateLV is lvcreate, then lvs of the new LV (pkg/lvm create.go).
func (c *countingLVM) CreateLV(ctx context.Context, vg string, opts lvm.CreateOptions) (*lvm.LV, error) {
	c.log.changed("lvcreate")
	lv, err := c.l.CreateLV(ctx, vg, opts)
	if err == nil {
		c.log.read("lvs " + opts.Name)
	}
	return lv, err
}

// CreateSnapshot is lvcreate -s, then lvs of the snapshot.
func (c *countingLVM) CreateSnapshot(ctx context.Context, vg, origin string, opts lvm.CreateOptions) (*lvm.LV, error) {
	c.log.changed("lvcreate -s")
	lv, err := c.l.CreateSnapshot(ctx, vg, origin, opts)
	if err == nil {
		c.log.read("lvs " + opts.Name)
	}
	return lv, err
}

// RemoveLV reads the VG's LVs (dependents) before lvremove.
func (c *countingLVM) RemoveLV(ctx context.Context, vg, name string) error {
	c.log.read("lvs")
	c.log.changed("lvremove")
	return c.l.RemoveLV(ctx, vg, name)
}

func (c *countingLVM) ExtendLV(ctx context.Context, vg, name string, size uint64) error {
	c.log.changed("lvextend")
	return c.l.ExtendLV(ctx, vg, name, size)
}

// ChangeTags runs nothing when there is nothing to change.
func (c *countingLVM) ChangeTags(ctx context.Context, vg, name string, add, del []string) error {
	if len(add)+len(del) > 0 {
		c.log.changed("lvchange --addtag/--deltag")
	}
	return c.l.ChangeTags(ctx, vg, name, add, del)
}

func (c *countingLVM) Activate(ctx context.Context, vg, name string) error {
	c.log.changed("lvchange -ay")
	return c.l.Activate(ctx, vg, name)
}

func (c *countingLVM) SplitSnapshot(ctx context.Context, vg, name string) error {
	c.log.changed("lvconvert --splitsnapshot")
	return c.l.SplitSnapshot(ctx, vg, name)
}

// countingTgt counts the tgtadm commands of *tgt.Tgt's methods.
type countingTgtadm struct {
	t   tgt.Interface
	log commandLog
}

var _ tgt.Interface = (*countingTgtadm)(nil)

// ListTargets reads the driver listing, the target listing, the driver
// listing again, and the connection listing of each target with sessions
// (pkg/tgt list.go).
func (c *countingTgtadm) ListTargets(ctx context.Context) ([]tgt.Target, error) {
	targets, err := c.t.ListTargets(ctx)
	c.log.read("show lld", "show target", "show lld")
	for _, t := range targets {
		if len(t.Sessions) > 0 {
			c.log.read("show conn")
		}
	}
	return targets, err
}

// ListTargetsWithoutSessions is the target listing and the driver listing,
// after the caller's driver listing (or one of its own when names is nil).
func (c *countingTgtadm) ListTargetsWithoutSessions(ctx context.Context, names []tgt.TargetName) ([]tgt.Target, error) {
	if names == nil {
		c.log.read("show lld")
	}
	c.log.read("show target", "show lld")
	return c.t.ListTargetsWithoutSessions(ctx, names)
}

// ListTargetNames is the driver listing.
func (c *countingTgtadm) ListTargetNames(ctx context.Context) ([]tgt.TargetName, error) {
	c.log.read("show lld")
	return c.t.ListTargetNames(ctx)
}

// TargetSessions is one target's connection listing, then the driver
// listing (counted even when the first fails).
func (c *countingTgtadm) TargetSessions(ctx context.Context, tid int, iqn string) ([]tgt.Session, error) {
	c.log.read("show conn", "show lld")
	return c.t.TargetSessions(ctx, tid, iqn)
}

func (c *countingTgtadm) CreateTarget(ctx context.Context, tid int, iqn string) error {
	c.log.changed("new target")
	return c.t.CreateTarget(ctx, tid, iqn)
}

func (c *countingTgtadm) DeleteTarget(ctx context.Context, tid int) error {
	c.log.changed("delete target")
	return c.t.DeleteTarget(ctx, tid)
}

// AddLUN is new logicalunit, then update logicalunit (serial, id).
func (c *countingTgtadm) AddLUN(ctx context.Context, tid, lun int, backingStore string, p tgt.LUNParams) error {
	c.log.changed("new logicalunit", "update logicalunit")
	return c.t.AddLUN(ctx, tid, lun, backingStore, p)
}

func (c *countingTgtadm) DeleteLUN(ctx context.Context, tid, lun int) error {
	c.log.changed("delete logicalunit")
	return c.t.DeleteLUN(ctx, tid, lun)
}

// RefreshLUN is update online=0, then update path=.
func (c *countingTgtadm) RefreshLUN(ctx context.Context, tid, lun int, backingStore string) error {
	c.log.changed("update logicalunit online=0", "update logicalunit path")
	return c.t.RefreshLUN(ctx, tid, lun, backingStore)
}

func (c *countingTgtadm) BindInitiator(ctx context.Context, tid int, initiatorIQN string) error {
	c.log.changed("bind initiator")
	return c.t.BindInitiator(ctx, tid, initiatorIQN)
}

func (c *countingTgtadm) UnbindInitiator(ctx context.Context, tid int, initiatorIQN string) error {
	c.log.changed("unbind initiator")
	return c.t.UnbindInitiator(ctx, tid, initiatorIQN)
}

func (c *countingTgtadm) ListAccounts(ctx context.Context) ([]string, error) {
	c.log.read("show account")
	return c.t.ListAccounts(ctx)
}

func (c *countingTgtadm) CreateAccount(ctx context.Context, user, password string) error {
	c.log.changed("new account")
	return c.t.CreateAccount(ctx, user, password)
}

func (c *countingTgtadm) DeleteAccount(ctx context.Context, user string) error {
	c.log.changed("delete account")
	return c.t.DeleteAccount(ctx, user)
}

func (c *countingTgtadm) BindAccount(ctx context.Context, tid int, user string) error {
	c.log.changed("bind account")
	return c.t.BindAccount(ctx, tid, user)
}

func (c *countingTgtadm) CloseConnection(ctx context.Context, tid, sid, cid int) error {
	c.log.changed("delete connection")
	return c.t.CloseConnection(ctx, tid, sid, cid)
}

func (c *countingTgtadm) SetTargetState(ctx context.Context, tid int, state string) error {
	c.log.changed("update target state")
	return c.t.SetTargetState(ctx, tid, state)
}

// SetTargetParams is one tgtadm update per key.
func (c *countingTgtadm) SetTargetParams(ctx context.Context, tid int, params []tgt.TargetParam) error {
	for _, p := range params {
		c.log.changed("update target " + p.Name)
	}
	return c.t.SetTargetParams(ctx, tid, params)
}

// CreateLVNoReport is the lvcreate alone.
func (c *countingLVM) CreateLVNoReport(ctx context.Context, vg string, opts lvm.CreateOptions) error {
	c.log.changed("lvcreate")
	return c.l.CreateLVNoReport(ctx, vg, opts)
}

// CreateSnapshotNoReport is the lvcreate -s alone.
func (c *countingLVM) CreateSnapshotNoReport(ctx context.Context, vg, origin string, opts lvm.CreateOptions) error {
	c.log.changed("lvcreate -s")
	return c.l.CreateSnapshotNoReport(ctx, vg, origin, opts)
}
