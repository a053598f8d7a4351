//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// A thick volume's snapshot must survive its origin being rewritten end to
// end: a copy-on-write snapshot only as large as its origin overflows then
// and the kernel drops it (seen before the fix: lv_attr "Swi-I-s---").
// After the rewrite the snapshot is valid and a restore has the bytes the
// volume had when the snapshot was taken.
func TestThickSnapshotSurvivesAFullRewrite(t *testing.T) {
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.BlockCapability(), thickParams)
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	want := writeData(t, v.DataPath(), int(v.Size))
	snap, err := d.Snapshot(ctx, t.Name()+"-snap", v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), volumeTimeout)
		defer cancel()
		d.DeleteSnapshot(ctx, snap)
	})
	// Every block of the origin changes.
	fill := make([]byte, v.Size)
	rand.Read(fill)
	f, err := os.OpenFile(v.DataPath(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(fill); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	attr := strings.TrimSpace(run(t, "lvs", "--config", lvmConfig, "--noheadings", "-o", "lv_attr", *volumeGroup+"/"+snap))
	if attr == "" || attr[0] != 's' || (len(attr) > 4 && attr[4] == 'I') {
		t.Fatalf("snapshot %s after the origin was rewritten: lv_attr %q, want a valid COW snapshot", snap, attr)
	}
	r := createFrom(t, d, ctx, t.Name()+"-restore", v.Size, thickParams, lifecycle.BlockCapability(), snap)
	if err := d.Up(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := readData(t, r.DataPath(), len(want)); !bytes.Equal(got, want) {
		t.Fatal("the restore does not hold the bytes the volume had when the snapshot was taken")
	}
}
