//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
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
	return awaitTarget(t, ctx, iqn, 90*time.Second, "with its ACL and CHAP accounts", func(now *tgt.Target) bool {
		return len(now.InitiatorNames) > 0 && len(now.Accounts) > 0
	})
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

// unstage is the node side of a pod going away while the volume stays
// attached (kubelet unmounts and logs out; the VolumeAttachment stays).
// Tests restart tgtd with no session open: a session that must recover
// over a tgtd restart is TestTgtdRestartRestoresTargetsAndSessions's job,
// and open-iscsi in the test guest sometimes never recovers at all
// ("can't bind conn ... -107" in iscsid.log), which is not what these
// tests are about.
func unstage(t *testing.T, d *lifecycle.Driver, ctx context.Context, v *lifecycle.Volume) {
	t.Helper()
	if err := d.Unpublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := d.Unstage(ctx, v); err != nil {
		t.Fatal(err)
	}
}

// stage is kubelet staging the volume for a new pod (or after a reboot)
// with the publish_context the VolumeAttachment kept, without a new
// ControllerPublishVolume.
func stage(t *testing.T, d *lifecycle.Driver, ctx context.Context, v *lifecycle.Volume, pc map[string]string) {
	t.Helper()
	v.PublishContext = pc
	if err := d.Stage(ctx, v); err != nil {
		t.Fatalf("staging with the publish_context the attachment kept: %v", err)
	}
	if err := d.Publish(ctx, v); err != nil {
		t.Fatal(err)
	}
}

// The controller's --state-dir is lost (a reinstalled storage host, a
// wiped hostPath) and the controller restarts, and tgtd restarts too: the
// credentials are derived from the key in the volume group, so tgtd gets
// the very same accounts back and a new stage with the publish_context
// kept from before logs in.
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
	data := writeData(t, v.DataPath(), 1<<20)
	iqn := kept["iqn"]
	was := waitForAccounts(t, ctx, iqn)
	if out := run(t, "lvs", "--noheadings", "-o", "lv_name,lv_tags", *volumeGroup); !strings.Contains(out, "lic-chap-key") || !strings.Contains(out, "lic.kind=key") {
		t.Errorf("no CHAP key LV in the volume group:\n%s", out)
	}
	unstage(t, d, ctx, v)

	t.Log("removing the controller's state directory and restarting it, then restarting tgtd")
	run(t, *loseControllerState)
	run(t, *restartTgtd)
	now := waitForAccounts(t, ctx, iqn)
	if !slices.Equal(now.Accounts, was.Accounts) || !slices.Equal(now.InitiatorNames, was.InitiatorNames) {
		t.Fatalf("after the loss tgtd has accounts %v for %v; before: %v for %v", now.Accounts, now.InitiatorNames, was.Accounts, was.InitiatorNames)
	}
	stage(t, d, ctx, v, kept)
	if !bytes.Equal(readData(t, v.DataPath(), len(data)), data) {
		t.Fatal("data differs after the restage")
	}
	// A new attachment gets new sealed bytes for the same account.
	if err := d.ControllerPublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	checkNoClearCredentials(t, v.PublishContext)
	if v.PublishContext["chap"] == kept["chap"] {
		t.Error("two publications gave the same sealed bytes")
	}
	if got := waitForAccounts(t, ctx, iqn); !slices.Equal(got.Accounts, was.Accounts) {
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
// the LV. The attached node keeps working with what it holds (also after
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
	unstage(t, d, ctx, v)
	run(t, *restartTgtd)
	both := waitForAccounts(t, ctx, iqn)
	if len(both.Accounts) != 2 || !slices.Contains(both.Accounts, was.Accounts[0]) {
		t.Fatalf("accounts after the rotation and a tgtd restart: %v, want the old %v and a new one", both.Accounts, was.Accounts)
	}
	stage(t, d, ctx, v, old)
	if !bytes.Equal(readData(t, v.DataPath(), len(data)), data) {
		t.Fatal("data differs after staging with the credentials from before the rotation")
	}
	unstage(t, d, ctx, v)
	stage(t, d, ctx, v, rotated)

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
	stage(t, d, ctx, v, fresh)
	if !bytes.Equal(readData(t, v.DataPath(), len(data)), data) {
		t.Fatal("data differs")
	}
}
