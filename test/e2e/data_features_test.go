//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// A snapshot taken while a writer is busy restores to a filesystem that
// mounts cleanly (journal replay and fsck, as after a power cut) and holds
// everything written and synced before the snapshot. The snapshot is
// crash-consistent: the driver cannot freeze a filesystem on a node.
func TestSnapshotWhileWritingRestoresConsistentData(t *testing.T) {
	for _, prov := range []string{"thin", "thick"} {
		t.Run(prov, func(t *testing.T) {
			d, ctx := connect(t)
			params := map[string]string{"provisioning": prov}
			v := create(t, d, ctx, lifecycle.MountCapability("ext4"), params)
			if err := d.Up(ctx, v); err != nil {
				t.Fatal(err)
			}
			before := writeData(t, v.DataPath(), 2<<20)

			stop := make(chan struct{})
			var writes atomic.Int64
			done := make(chan struct{})
			go func() { // a busy writer: new files, each synced
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					f, err := os.Create(filepath.Join(filepath.Dir(v.DataPath()), "busy-"+strconv.Itoa(i)))
					if err != nil {
						return
					}
					f.Write(make([]byte, 64<<10))
					f.Sync()
					f.Close()
					writes.Add(1)
				}
			}()
			for writes.Load() < 3 {
				time.Sleep(50 * time.Millisecond)
			}
			snapID, err := d.Snapshot(ctx, t.Name()+"-snap", v)
			close(stop)
			<-done
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.DeleteSnapshot(context.Background(), snapID) })
			t.Logf("snapshot taken after %d busy writes", writes.Load())

			r := createFrom(t, d, ctx, t.Name()+"-restored", v.Size, params, lifecycle.MountCapability("ext4"), snapID)
			if r.Size < v.Size {
				t.Fatalf("restored volume is %d bytes, smaller than its source's %d", r.Size, v.Size)
			}
			if err := d.Up(ctx, r); err != nil {
				t.Fatalf("the restored filesystem does not stage: %v", err)
			}
			if got := readData(t, r.DataPath(), len(before)); !bytes.Equal(got, before) {
				t.Fatal("data written before the snapshot differs in the restored volume")
			}
		})
	}
}

// A snapshot restored into a larger volume carries its source's smaller
// filesystem; the stage grows it to the device (NodeStageVolume skips that
// check only for a filesystem it has just made), with the data intact.
func TestRestoreIntoALargerVolumeGrowsItsFilesystemAtStage(t *testing.T) {
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.MountCapability("ext4"), nil)
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	want := writeData(t, v.DataPath(), 1<<20)
	var source unix.Statfs_t
	if err := unix.Statfs(v.TargetPath, &source); err != nil {
		t.Fatal(err)
	}
	snapID, err := d.Snapshot(ctx, t.Name()+"-snap", v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.DeleteSnapshot(context.Background(), snapID) })
	const more = 128 << 20
	r := createFrom(t, d, ctx, t.Name()+"-restored", v.Size+more, nil, lifecycle.MountCapability("ext4"), snapID)
	if err := d.Up(ctx, r); err != nil {
		t.Fatalf("the restored filesystem does not stage: %v", err)
	}
	var restored unix.Statfs_t
	if err := unix.Statfs(r.TargetPath, &restored); err != nil {
		t.Fatal(err)
	}
	grownBy := int64(restored.Blocks*uint64(restored.Bsize)) - int64(source.Blocks*uint64(source.Bsize))
	if grownBy < more*3/4 {
		t.Fatalf("the restored filesystem is %d bytes larger than its source's, want about %d (volume %d bytes)", grownBy, more, r.Size)
	}
	if got := readData(t, r.DataPath(), len(want)); !bytes.Equal(got, want) {
		t.Fatal("the data differs after the restore and the growth")
	}
	t.Logf("the restored filesystem grew by %d MiB at stage", grownBy>>20)
}

// A clone of a volume has the same bytes, for a thick block copy and a
// thin one, and the source keeps working.
func TestCloneHasTheSameBytes(t *testing.T) {
	for _, prov := range []string{"thick", "thin"} {
		t.Run(prov, func(t *testing.T) {
			d, ctx := connect(t)
			v := create(t, d, ctx, lifecycle.BlockCapability(), map[string]string{"provisioning": "thick"})
			if err := d.Up(ctx, v); err != nil {
				t.Fatal(err)
			}
			want := writeData(t, v.DataPath(), 8<<20)
			c := createFrom(t, d, ctx, t.Name()+"-clone", v.Size+(32<<20), map[string]string{"provisioning": prov}, lifecycle.BlockCapability(), v.ID)
			if err := d.Up(ctx, c); err != nil {
				t.Fatal(err)
			}
			if got := readData(t, c.DataPath(), len(want)); !bytes.Equal(got, want) {
				t.Fatal("the clone's bytes differ from the source's")
			}
			// Beyond the source's size a larger clone reads zeros.
			f, err := os.Open(c.DataPath())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tail := make([]byte, 1<<20)
			if _, err := f.ReadAt(tail, v.Size); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tail, make([]byte, len(tail))) {
				t.Fatal("the clone's extra space holds old data")
			}
		})
	}
}

var sessionLine = regexp.MustCompile(`\[(\d+)\] \S+ (\S+)`)

// sessionID returns the SID of the session to iqn.
func sessionID(t *testing.T, iqn string) string {
	t.Helper()
	out, _ := exec.Command("iscsiadm", "-m", "session").CombinedOutput()
	for _, m := range sessionLine.FindAllStringSubmatch(string(out), -1) {
		if m[2] == iqn {
			return m[1]
		}
	}
	t.Fatalf("no session to %s:\n%s", iqn, out)
	return ""
}

// Online expansion while fio writes and verifies: no I/O error, no data
// corruption, the same iSCSI session throughout, and the filesystem sees
// the new size.
func TestOnlineExpansionWhileFioWrites(t *testing.T) {
	for _, fs := range []string{"ext4", "xfs"} {
		t.Run(fs, func(t *testing.T) {
			d, ctx := connect(t)
			v := create(t, d, ctx, lifecycle.MountCapability(fs), nil)
			if err := d.Up(ctx, v); err != nil {
				t.Fatal(err)
			}
			sid := sessionID(t, v.PublishContext["iqn"])
			var before unix.Statfs_t
			if err := unix.Statfs(v.TargetPath, &before); err != nil {
				t.Fatal(err)
			}
			fio := exec.Command("fio", "--name=grow", "--filename="+filepath.Join(v.TargetPath, "fio.dat"), "--size=32M",
				"--rw=randwrite", "--bs=64k", "--direct=1", "--ioengine=psync", "--verify=crc32c", "--verify_backlog=16",
				"--verify_fatal=1", "--time_based", "--runtime=25", "--output-format=terse")
			var fioOut bytes.Buffer
			fio.Stdout, fio.Stderr = &fioOut, &fioOut
			if err := fio.Start(); err != nil {
				t.Fatal(err)
			}
			fioDone := make(chan error, 1)
			go func() { fioDone <- fio.Wait() }()
			time.Sleep(3 * time.Second) // fio is writing

			newSize, err := d.Expand(ctx, v, v.Size+(256<<20))
			if err != nil {
				fio.Process.Kill()
				t.Fatal(err)
			}
			select {
			case err := <-fioDone:
				t.Fatalf("fio ended before the expansion finished (%v); the test proves nothing:\n%s", err, fioOut.String())
			default:
			}
			if err := <-fioDone; err != nil {
				t.Fatalf("fio saw an error during the expansion: %v\n%s", err, fioOut.String())
			}
			if now := sessionID(t, v.PublishContext["iqn"]); now != sid {
				t.Errorf("the session changed from %s to %s: it was dropped", sid, now)
			}
			var after unix.Statfs_t
			if err := unix.Statfs(v.TargetPath, &after); err != nil {
				t.Fatal(err)
			}
			grownBy := int64(after.Blocks-before.Blocks) * int64(after.Bsize)
			if grownBy < 200<<20 {
				t.Fatalf("the filesystem grew by %d bytes, want about 256 MiB (device now %d)", grownBy, newSize)
			}
			t.Logf("filesystem grew by %d MiB while fio wrote with verification", grownBy>>20)
		})
	}
}
