//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// A thin clone of a thin volume, as large as its source, is made by one
// lvcreate -s with --setactivationskip n (pkg/pool/clone_thin.go): real
// lvm must leave it active, without the activation skip flag and with its
// final tags, before anything else touches it. Deleting it unpublished is
// one lvremove (pkg/pool/delete_plain.go), which is safe only because an
// LV that tgtd exports is open and lvm refuses to remove it: checked here
// against the real kernel while the clone is published and staged.
func TestThinCloneIsOneCommandAndItsDeleteToo(t *testing.T) {
	d, ctx := connect(t)
	params := map[string]string{"provisioning": "thin"}
	src := create(t, d, ctx, lifecycle.BlockCapability(), params)
	if err := d.Up(ctx, src); err != nil {
		t.Fatal(err)
	}
	want := writeData(t, src.DataPath(), 4<<20)
	clone, err := d.CreateFrom(ctx, t.Name()+"-clone", src.Size, params, lifecycle.BlockCapability(), src.ID)
	if err != nil {
		t.Fatal(err)
	}
	deleted := false
	t.Cleanup(func() {
		if deleted {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), volumeTimeout)
		defer cancel()
		d.Down(ctx, clone)
		d.Delete(ctx, clone)
	})
	lv := *volumeGroup + "/" + clone.ID
	out := strings.Fields(run(t, "lvs", "--config", lvmConfig, "--noheadings", "-o", "lv_attr,lv_tags", lv))
	if len(out) != 2 {
		t.Fatalf("lvs %s: %q", lv, out)
	}
	attr, tags := out[0], out[1]
	t.Logf("clone %s right after CreateVolume: lv_attr %s, tags %s", lv, attr, tags)
	if len(attr) < 10 || attr[0] != 'V' || attr[4] != 'a' || attr[9] == 'k' {
		t.Errorf("clone lv_attr %q: want an active thin volume without the activation skip flag", attr)
	}
	if strings.Contains(tags, "lic.state=") || !strings.Contains(tags, "lic.src="+src.ID) {
		t.Errorf("clone tags %q: want its final tags, no state", tags)
	}

	if err := d.Up(ctx, clone); err != nil {
		t.Fatal(err)
	}
	if got := readData(t, clone.DataPath(), len(want)); !bytes.Equal(got, want) {
		t.Fatal("the clone's bytes differ from its source's")
	}
	// What the one-command delete relies on: an exported LV is open.
	if out, err := exec.Command("lvremove", "--config", lvmConfig, "-y", lv).CombinedOutput(); err == nil {
		deleted = true
		t.Fatalf("lvremove of an LV tgtd exports succeeded:\n%s", out)
	} else if !strings.Contains(string(out), "in use") {
		t.Errorf("lvremove of an exported LV failed for another reason than its use: %v\n%s", err, out)
	}

	if err := d.Down(ctx, clone); err != nil {
		t.Fatal(err)
	}
	deleted = true
	if err := d.Delete(ctx, clone); err != nil {
		t.Fatalf("DeleteVolume of the unpublished thin clone: %v", err)
	}
	if out, err := exec.Command("lvs", "--config", lvmConfig, "--noheadings", "-o", "lv_name", lv).CombinedOutput(); err == nil {
		t.Fatalf("the clone's LV is still there after DeleteVolume: %s", out)
	}
	if err := d.Delete(ctx, clone); err != nil {
		t.Fatalf("DeleteVolume retried: %v", err)
	}
}
