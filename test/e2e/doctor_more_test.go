//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// More of the doctor's checks broken for real in the guest (TestDoctor has
// the first ones): each is named, its fix repairs it, and the doctor then
// finds it clean.
func TestDoctorMoreChecks(t *testing.T) {
	d, ctx := connect(t)
	port := strconv.Itoa(*tgtControlPort)

	// A published volume's target deleted behind the controller's back
	// (tgtadm by hand, a tgtd that lost it): an error on the storage host,
	// TargetMissing in the volume's health; the fix is the controller's
	// reconcile, which its restart runs.
	t.Run("target missing", func(t *testing.T) {
		if *restartController == "" {
			t.Fatal("-restart-controller is required")
		}
		v, target := publishedTarget(t, d, ctx)
		iqn := v.PublishContext["iqn"]
		run(t, "tgtadm", "--lld", "iscsi", "-C", port, "--op", "delete", "--mode", "target", "--force", "--tid", strconv.Itoa(target.TID))
		r := doctor(t, "controller")
		if f := r.naming(t, "target-missing", iqn); f.Severity != "error" || r.exitCode != 2 {
			t.Errorf("target-missing %s, exit %d; want error, 2", f.Severity, r.exitCode)
		}
		if reasons := controllerHealth(t, d, v); len(reasons) != 1 || reasons[0] != "TargetMissing" {
			t.Errorf("controller health %v, want [TargetMissing]", reasons)
		}
		restartControllerUntilOK(t, "target-missing")
		if reasons := controllerHealth(t, d, v); len(reasons) != 0 {
			t.Errorf("controller health after the fix: %v", reasons)
		}
	})

	// A published target's CHAP account unbound by hand: the node's next
	// login would need no password, so it is an error; the controller's
	// reconcile binds it again.
	t.Run("target without its CHAP account", func(t *testing.T) {
		if *restartController == "" {
			t.Fatal("-restart-controller is required")
		}
		if v, ok := driverFlagOK(t, "controller", "chap"); ok && v == "false" {
			t.Skip("this controller runs without CHAP")
		}
		v, target := publishedTarget(t, d, ctx)
		iqn := v.PublishContext["iqn"]
		if len(target.Accounts) == 0 {
			t.Fatalf("target of %s has no CHAP account: %+v", v.ID, target)
		}
		for _, a := range target.Accounts {
			run(t, "tgtadm", "--lld", "iscsi", "-C", port, "--op", "unbind", "--mode", "account", "--tid", strconv.Itoa(target.TID), "--user", a)
		}
		r := doctor(t, "controller")
		if f := r.naming(t, "target-chap", iqn); f.Severity != "error" {
			t.Errorf("target-chap %s, want error", f.Severity)
		}
		restartControllerUntilOK(t, "target-chap")
	})

	// The volume group filled up by something else on the storage host:
	// a warning naming it; freeing the space clears it.
	t.Run("volume group full", func(t *testing.T) {
		lv := "doctor-fill"
		run(t, "lvcreate", "-y", "-an", "-Zn", "--wipesignatures", "n", "-l", "100%FREE", "-n", lv, *volumeGroup)
		removed := false
		defer func() {
			if !removed {
				_ = exec.Command("lvremove", "-y", *volumeGroup+"/"+lv).Run()
			}
		}()
		r := doctor(t, "controller")
		if f := r.naming(t, "vg-free", *volumeGroup); f.Severity != "warning" || !strings.Contains(f.Fix, "vgextend") {
			t.Errorf("vg-free %+v; want a warning whose fix adds a disk", f)
		}
		run(t, "lvremove", "-y", *volumeGroup+"/"+lv)
		removed = true
		if r := doctor(t, "controller"); r.worst("vg-free") != "ok" {
			t.Errorf("after freeing it: vg-free %s", r.worst("vg-free"))
		}
	})

	// The node's initiator name file gone (open-iscsi removed, a botched
	// image): an error whose fix is to write one; putting it back clears it.
	t.Run("initiator name missing", func(t *testing.T) {
		file := driverFlag(t, "node", "initiator-name-file")
		aside := file + ".doctor-test"
		if err := os.Rename(file, aside); err != nil {
			t.Fatal(err)
		}
		restored := false
		defer func() {
			if !restored {
				_ = os.Rename(aside, file)
			}
		}()
		r := doctor(t, "node")
		if f := r.of("initiator-name"); len(f) != 1 || f[0].Severity != "error" || !strings.Contains(f[0].Fix, file) {
			t.Errorf("initiator-name %+v; want one error whose fix names %s", f, file)
		}
		if err := os.Rename(aside, file); err != nil {
			t.Fatal(err)
		}
		restored = true
		if r := doctor(t, "node"); r.worst("initiator-name") != "ok" {
			t.Errorf("after putting it back: initiator-name %s", r.worst("initiator-name"))
		}
	})

	// iscsid killed on the node: every stage would fail, an error; starting
	// it again (what systemctl does) clears it, and the kernel's sessions
	// stay throughout.
	t.Run("iscsid stopped", func(t *testing.T) {
		if *restartIscsid == "" {
			t.Skip("this harness does not run its own iscsid")
		}
		pidFile := filepath.Join(runDir(t), "iscsid.pid")
		pidText, err := os.ReadFile(pidFile)
		if err != nil {
			t.Skipf("this harness's iscsid has no pid file: %v", err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "iscsid to die", 30*time.Second, func() bool {
			stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			return err != nil || strings.Contains(string(stat), ") Z ")
		})
		r := doctor(t, "node")
		if f := r.of("iscsid"); len(f) != 1 || f[0].Severity != "error" || !strings.Contains(f[0].Fix, "iscsid") {
			t.Errorf("iscsid %+v; want one error whose fix starts iscsid", f)
		}
		run(t, *restartIscsid)
		waitFor(t, "the doctor to find iscsid back", 30*time.Second, func() bool {
			return doctor(t, "node").worst("iscsid") == "ok"
		})
	})

	// Tags of ours edited by hand into something that does not parse (a
	// publication without its initiator): a warning naming the LV; the
	// reconciler leaves such tags alone, so the fix is the hand edit undone.
	t.Run("malformed tags", func(t *testing.T) {
		v := create(t, d, ctx, lifecycle.BlockCapability(), nil)
		lv := *volumeGroup + "/" + v.ID
		bad := "lic.pub=bm9kZQ"
		run(t, "lvchange", "--addtag", bad, lv)
		r := doctor(t, "controller")
		if f := r.naming(t, "malformed-tags", v.ID); f.Severity != "warning" || !strings.Contains(f.What, bad) {
			t.Errorf("malformed-tags %+v; want a warning naming the tag", f)
		}
		run(t, "lvchange", "--deltag", bad, lv)
		if r := doctor(t, "controller"); r.worst("malformed-tags") != "ok" {
			t.Errorf("after the tag is gone: malformed-tags %s", r.worst("malformed-tags"))
		}
	})

	// One initiator name published to two node names (a cloned node image
	// that kept /etc/iscsi/initiatorname.iscsi): each machine could reach
	// the other's volumes, an error; removing the second publication
	// clears it.
	t.Run("shared initiator", func(t *testing.T) {
		v := create(t, d, ctx, lifecycle.BlockCapability(), nil)
		if err := d.ControllerPublish(ctx, v); err != nil {
			t.Fatal(err)
		}
		initiator := strings.Split(d.NodeID, "/")[1]
		other := "lic.pub=" + b64(strings.Replace(d.NodeID, "e2e-node", "e2e-clone", 1)) + "." + b64(initiator)
		lv := *volumeGroup + "/" + v.ID
		run(t, "lvchange", "--addtag", other, lv)
		r := doctor(t, "controller")
		if f := r.naming(t, "shared-initiator", initiator); f.Severity != "error" {
			t.Errorf("shared-initiator %s, want error", f.Severity)
		}
		run(t, "lvchange", "--deltag", other, lv)
		if r := doctor(t, "controller"); r.worst("shared-initiator") != "ok" {
			t.Errorf("after the second publication is gone: shared-initiator %s", r.worst("shared-initiator"))
		}
	})

	// A delete interrupted after its mark (FAQ 3.3: a volume stuck in
	// deleting): named as unfinished; the controller's start-up finishes it.
	t.Run("unfinished delete", func(t *testing.T) {
		if *restartController == "" {
			t.Fatal("-restart-controller is required")
		}
		v := create(t, d, ctx, lifecycle.BlockCapability(), nil)
		lv := *volumeGroup + "/" + v.ID
		run(t, "lvchange", "--addtag", "lic.state=deleting", lv)
		r := doctor(t, "controller")
		if f := r.naming(t, "unfinished-lv", v.ID); f.Severity == "ok" || !strings.Contains(f.What, "deleting") {
			t.Errorf("unfinished-lv %+v; want a finding saying it is being deleted", f)
		}
		run(t, *restartController)
		waitFor(t, "the restarted controller to finish the delete", time.Minute, func() bool {
			return exec.Command("lvs", lv).Run() != nil
		})
		if r := doctor(t, "controller"); r.worst("unfinished-lv") != "ok" {
			t.Errorf("after the delete finished: unfinished-lv %s", r.worst("unfinished-lv"))
		}
	})

	// A target's LUN given another serial by hand: a node would find a disk
	// that is not the volume's (the wrong-disk check refuses it), an error;
	// the controller's start-up puts the right LUN back.
	t.Run("LUN serial changed", func(t *testing.T) {
		targetChangedByHand(t, d, ctx, "target-lun", "--op", "update", "--mode", "logicalunit", "--lun", "1", "--params", "scsi_sn=doctor-wrong")
	})

	// A published target left offline, as a controller that died during a
	// size refresh leaves it: its nodes cannot log in, an error; the
	// controller's start-up sets it ready.
	t.Run("target left offline", func(t *testing.T) {
		targetChangedByHand(t, d, ctx, "target-offline", "--op", "update", "--mode", "target", "--name", "state", "--value", "offline")
	})

	// The volume group the controller is given is gone (FAQ 3.1: the disk
	// of the volume group missing): an error whose fix is vgcreate; the
	// fix, run, clears it. Then its thin pool, the same way. A volume group
	// of its own, on a loop file, so the one under the running controller
	// is left alone.
	t.Run("volume group missing", func(t *testing.T) {
		img := filepath.Join(t.TempDir(), "doctor-vg.img")
		if err := os.WriteFile(img, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 64<<20); err != nil {
			t.Fatal(err)
		}
		loop := strings.TrimSpace(run(t, "losetup", "--find", "--show", img))
		defer exec.Command("losetup", "-d", loop).Run()
		vg := "lvmiscsidoctorvg"
		defer exec.Command("vgremove", "-y", vg).Run()
		args := []string{"--volume-group=" + vg, "--thin-pool="}
		r := doctor(t, "controller", args...)
		f := r.of("vg")
		if len(f) != 1 || f[0].Severity != "error" || !strings.Contains(f[0].What, vg) || !strings.Contains(f[0].Fix, "vgcreate "+vg) {
			t.Fatalf("vg %+v; want one error naming %s whose fix is vgcreate", f, vg)
		}
		run(t, "vgcreate", vg, loop)
		if r := doctor(t, "controller", args...); r.worst("vg") != "ok" {
			t.Errorf("after vgcreate: vg %s", r.worst("vg"))
		}

		// Its thin pool missing next: an error whose fix creates it.
		args = []string{"--volume-group=" + vg, "--thin-pool=pool"}
		r = doctor(t, "controller", args...)
		f = r.of("thin-pool")
		if len(f) != 1 || f[0].Severity != "error" || !strings.Contains(f[0].Fix, "lvcreate --type thin-pool") {
			t.Fatalf("thin-pool %+v; want one error whose fix creates the pool", f)
		}
		run(t, "lvcreate", "-y", "--type", "thin-pool", "-L", "16m", "-n", "pool", vg)
		if r := doctor(t, "controller", args...); r.worst("thin-pool") != "ok" {
			t.Errorf("after lvcreate: thin-pool %s", r.worst("thin-pool"))
		}
	})

	// The node plugin's stage records unreadable (its state directory
	// replaced by something else): sessions cannot be told from strays, a
	// warning; the directory back, it is clean.
	t.Run("stage records unreadable", func(t *testing.T) {
		// A staged volume, whose session the doctor looks up in the records.
		v := stagedBlock(t, d, ctx)
		staged := filepath.Join(driverFlag(t, "node", "state-dir"), "staged")
		aside := staged + ".doctor-test"
		if err := os.Rename(staged, aside); err != nil {
			t.Fatal(err)
		}
		restore := func() {
			_ = os.Remove(staged)
			_ = os.Rename(aside, staged)
		}
		defer restore()
		if err := os.WriteFile(staged, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := doctor(t, "node")
		if f := r.of("stage-records"); len(f) != 1 || f[0].Severity != "warning" {
			t.Errorf("stage-records %+v; want one warning", f)
		}
		restore()
		// Readable records give no stage-records finding at all.
		if r := doctor(t, "node"); len(r.of("stage-records")) != 0 || r.worst("stray-session") != "ok" {
			t.Errorf("after the directory is back: stage-records %+v, stray-session %s", r.of("stage-records"), r.worst("stray-session"))
		}
		if err := d.Unstage(ctx, v); err != nil {
			t.Error(err)
		}
	})
}

// publishedTarget creates and publishes a block volume and returns it with
// its target as tgtd has it.
func publishedTarget(t *testing.T, d *lifecycle.Driver, ctx context.Context) (*lifecycle.Volume, *tgt.Target) {
	t.Helper()
	v := create(t, d, ctx, lifecycle.BlockCapability(), nil)
	if err := d.ControllerPublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	target, err := findTarget(ctx, v.PublishContext["iqn"])
	if err != nil || target == nil {
		t.Fatalf("target of %s: %+v, %v", v.ID, target, err)
	}
	return v, target
}

// stagedBlock creates, publishes and stages a block volume: a session
// the node plugin knows, with its disk.
func stagedBlock(t *testing.T, d *lifecycle.Driver, ctx context.Context) *lifecycle.Volume {
	t.Helper()
	v := create(t, d, ctx, lifecycle.BlockCapability(), nil)
	if err := d.ControllerPublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := d.Stage(ctx, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// restartControllerUntilOK restarts the controller, whose start-up
// reconcile is the fix of finding id, and waits for the doctor to find id
// clean.
func restartControllerUntilOK(t *testing.T, id string) {
	t.Helper()
	run(t, *restartController)
	waitFor(t, "the restarted controller to repair "+id, time.Minute, func() bool {
		return doctor(t, "controller").worst(id) == "ok"
	})
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// targetChangedByHand runs tgtadm with args on the target of a published
// volume (its --tid added), expects doctor's finding id as an error naming
// it, and the restarted controller's reconcile to clear it.
func targetChangedByHand(t *testing.T, d *lifecycle.Driver, ctx context.Context, id string, args ...string) {
	t.Helper()
	if *restartController == "" {
		t.Fatal("-restart-controller is required")
	}
	v, target := publishedTarget(t, d, ctx)
	iqn := v.PublishContext["iqn"]
	port := strconv.Itoa(*tgtControlPort)
	run(t, append([]string{"tgtadm", "--lld", "iscsi", "-C", port, "--tid", strconv.Itoa(target.TID)}, args...)...)
	r := doctor(t, "controller")
	if f := r.naming(t, id, iqn); f.Severity != "error" {
		t.Errorf("%s %s, want error", id, f.Severity)
	}
	restartControllerUntilOK(t, id)
}
