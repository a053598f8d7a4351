//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

var loseControllerState = flag.String("lose-controller-state", "",
	"script that removes the controller's --state-dir, kills the controller (SIGKILL) and starts it again")

// waitForAccounts waits until volume v's target is back (after a restart)
// with its ACL and CHAP accounts, and returns it.
func waitForAccounts(t *testing.T, ctx context.Context, iqn string) *tgt.Target {
	t.Helper()
	var now *tgt.Target
	var err error
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if now, err = findTarget(ctx, iqn); err == nil && now != nil && len(now.InitiatorNames) > 0 && len(now.Accounts) > 0 {
			return now
		}
	}
	t.Fatalf("target %s not restored with its accounts within 90s (last: %+v, %v)", iqn, now, err)
	return nil
}

// checkNoClearCredentials: what ControllerPublishVolume hands out (and
// Kubernetes stores in VolumeAttachment.status) has the credentials only
// sealed.
func checkNoClearCredentials(t *testing.T, pc map[string]string) {
	t.Helper()
	if pc["chap"] == "" {
		t.Errorf("publish_context %v has no sealed CHAP credentials", slices.Sorted(maps.Keys(pc)))
	}
	for _, k := range []string{"chapUser", "chapPassword"} {
		if _, ok := pc[k]; ok {
			t.Errorf("publish_context has %s in clear", k)
		}
	}
}

// restage is what kubelet does for a new pod or after a node reboot: the
// node calls again with the publish_context the VolumeAttachment kept,
// without a new ControllerPublishVolume.
func restage(t *testing.T, d *lifecycle.Driver, ctx context.Context, v *lifecycle.Volume, pc map[string]string) {
	t.Helper()
	if err := d.Unpublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := d.Unstage(ctx, v); err != nil {
		t.Fatal(err)
	}
	v.PublishContext = pc
	if err := d.Stage(ctx, v); err != nil {
		t.Fatalf("staging again with the publish_context the attachment kept: %v", err)
	}
	if err := d.Publish(ctx, v); err != nil {
		t.Fatal(err)
	}
}

// The controller's --state-dir is lost (a reinstalled storage host, a
// wiped hostPath) and the controller restarts, then tgtd restarts too:
// the credentials are derived from the key in the volume group, so tgtd
// gets the very same accounts back, the node's session logs in again by
// itself, and a new stage with the publish_context kept from before works.
func TestCHAPSurvivesLossOfControllerState(t *testing.T) {
	if *loseControllerState == "" || *restartTgtd == "" {
		t.Fatal("-lose-controller-state and -restart-tgtd are required")
	}
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.MountCapability("ext4"), nil)
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	checkNoClearCredentials(t, v.PublishContext)
	kept := v.PublishContext
	before := writeData(t, v.DataPath(), 1<<20)
	was := waitForAccounts(t, ctx, v.PublishContext["iqn"])
	if out := run(t, "lvs", "--noheadings", "-o", "lv_name,lv_tags", *volumeGroup); !strings.Contains(out, "lic-chap-key") || !strings.Contains(out, "lic.kind=key") {
		t.Errorf("no CHAP key LV in the volume group:\n%s", out)
	}

	t.Log("removing the controller's state directory and restarting it, then restarting tgtd")
	run(t, *loseControllerState)
	run(t, *restartTgtd)
	now := waitForAccounts(t, ctx, v.PublishContext["iqn"])
	if !slices.Equal(now.Accounts, was.Accounts) || !slices.Equal(now.InitiatorNames, was.InitiatorNames) {
		t.Fatalf("after the loss tgtd has accounts %v for %v; before: %v for %v", now.Accounts, now.InitiatorNames, was.Accounts, was.InitiatorNames)
	}
	t.Log("writing through the session that logged in again with the credentials it had")
	after := writeData(t, filepath.Join(filepath.Dir(v.DataPath()), "after-loss"), 1<<20)

	restage(t, d, ctx, v, kept)
	if !bytes.Equal(readData(t, v.DataPath(), len(before)), before) ||
		!bytes.Equal(readData(t, filepath.Join(filepath.Dir(v.DataPath()), "after-loss"), len(after)), after) {
		t.Fatal("data differs after the restage")
	}
	// A new attachment gets new sealed bytes for the same account.
	if err := d.ControllerPublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	checkNoClearCredentials(t, v.PublishContext)
	if got := waitForAccounts(t, ctx, v.PublishContext["iqn"]); !slices.Equal(got.Accounts, was.Accounts) {
		t.Errorf("a new publish changed the accounts to %v (was %v)", got.Accounts, was.Accounts)
	}
	if err := d.Down(ctx, v); err != nil {
		t.Fatal(err)
	}
	if out := run(t, "tgtadm", "--lld", "iscsi", "-C", fmt.Sprint(*tgtControlPort), "--op", "show", "--mode", "account"); strings.Contains(out, v.ID) {
		t.Errorf("accounts of the detached volume left in tgtd:\n%s", out)
	}
}

// Rotation as docs/security.md tells an administrator to do it: a tag on
// the LV. The attached node keeps working with what it holds (also across
// a tgtd restart); the next attachment gets new credentials, and once the
// volume was detached the old ones are refused.
func TestCHAPRotation(t *testing.T) {
	if *restartTgtd == "" {
		t.Fatal("-restart-tgtd is required")
	}
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.MountCapability("ext4"), nil)
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	old := v.PublishContext
	data := writeData(t, v.DataPath(), 1<<20)
	iqn := old["iqn"]
	was := waitForAccounts(t, ctx, iqn)

	run(t, "lvchange", "--addtag", "lic.rotate", *volumeGroup+"/"+v.ID)
	if err := d.ControllerPublish(ctx, v); err != nil { // a new attachment's publish
		t.Fatal(err)
	}
	rotated := v.PublishContext
	if lvs := run(t, "lvs", "--noheadings", "-o", "lv_tags", *volumeGroup+"/"+v.ID); strings.Contains(lvs, "lic.rotate") || !strings.Contains(lvs, "lic.chap=1") {
		t.Fatalf("rotation not carried out; tags: %s", lvs)
	}
	run(t, *restartTgtd)
	both := waitForAccounts(t, ctx, iqn)
	if len(both.Accounts) != 2 || !slices.Contains(both.Accounts, was.Accounts[0]) {
		t.Fatalf("accounts after the rotation and a tgtd restart: %v, want the old %v and a new one", both.Accounts, was.Accounts)
	}
	writeData(t, filepath.Join(filepath.Dir(v.DataPath()), "after-rotation"), 1<<20)
	restage(t, d, ctx, v, rotated)
	if !bytes.Equal(readData(t, v.DataPath(), len(data)), data) {
		t.Fatal("data differs after staging with the rotated credentials")
	}

	// Detached everywhere, attached again: the old credentials are dead.
	if err := d.Down(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := d.ControllerPublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	fresh := v.PublishContext
	v.PublishContext = old
	err := d.Stage(ctx, v)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("staging with the credentials from before the rotation, after a detach: %v, want PermissionDenied", err)
	}
	if err := d.Unstage(ctx, v); err != nil {
		t.Fatal(err)
	}
	v.PublishContext = fresh
	if err := d.Stage(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := d.Publish(ctx, v); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readData(t, v.DataPath(), len(data)), data) {
		t.Fatal("data differs")
	}
}
