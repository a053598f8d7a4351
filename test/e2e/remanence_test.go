//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	lvmpkg "github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// The remanence tests put a marker into a tenant's data, let the driver
// free the extents that held it (a delete, a snapshot delete, a clone's
// scratch snapshot, what a crash left), then read those very extents back
// through a new LV and look for the marker. To know which extents those
// are, each test first leaves the VG with only as much free space as the
// LVs under test take (a filler LV holds the rest), so that whatever is
// free afterwards was theirs.

const mib = 1 << 20

// volumeSize is what create() asks for; a multiple of the extent size.
const volumeSize = 64 * mib

var thickParams = map[string]string{"provisioning": "thick"}

// cowArea is the size of a thick volume's COW snapshot (a snapshot, a
// clone's scratch): lvm's maximum usable size, in whole extents.
func cowArea(t *testing.T) int64 {
	t.Helper()
	out := lvm(t, "vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_extent_size", *volumeGroup)
	extent, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil || extent <= 0 {
		t.Fatalf("vg_extent_size %q: %v", out, err)
	}
	size := int64(lvmpkg.COWSize(volumeSize))
	return (size + extent - 1) / extent * extent
}

// lvmConfig keeps the test's own lvm commands off iSCSI disks, as the driver
// does (--lvm-global-filter): scanning a disk whose target restarts hangs.
const lvmConfig = `devices { global_filter = [ "r|^/dev/disk/by-path/.*-iscsi-.*|" ] }`

func lvm(t *testing.T, cmd string, args ...string) string {
	t.Helper()
	return run(t, append([]string{cmd, "--config", lvmConfig}, args...)...)
}

func vgFree(t *testing.T) int64 {
	t.Helper()
	out := lvm(t, "vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_free", *volumeGroup)
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("vg_free %q: %v", out, err)
	}
	return n
}

func lvExists(name string) bool {
	return exec.Command("lvs", "--config", lvmConfig, *volumeGroup+"/"+name).Run() == nil
}

// leaveFree makes the VG's free space exactly n bytes, with a filler LV
// removed when the test ends.
func leaveFree(t *testing.T, n int64) {
	t.Helper()
	free := vgFree(t)
	if free < n {
		t.Fatalf("the VG has %d bytes free, the test needs %d", free, n)
	}
	if free > n {
		name := fmt.Sprintf("lice2e-filler-%d", time.Now().UnixNano())
		lvm(t, "lvcreate", "-y", "-n", name, "-L", fmt.Sprintf("%db", free-n), "--wipesignatures", "n", "-Z", "n", *volumeGroup)
		t.Cleanup(func() { exec.Command("lvremove", "--config", lvmConfig, "-y", *volumeGroup+"/"+name).Run() })
	}
	if got := vgFree(t); got != n {
		t.Fatalf("free space is %d bytes, want %d", got, n)
	}
}

// marker is one test's pattern: 512-byte blocks that name the test run
// and what they stand for ("before", "after"...).
type marker string

func newMarker() marker {
	b := make([]byte, 8)
	rand.Read(b)
	return marker("LIC-REMANENCE-" + hex.EncodeToString(b))
}

func (m marker) block(label string) []byte {
	b := bytes.Repeat([]byte(string(m)+"-"+label+"|"), 512)
	return b[:512]
}

// write fills [off, off+n) of path with the marker and syncs it.
func (m marker) write(t *testing.T, path, label string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := bytes.Repeat(m.block(label), mib/512)
	for done := int64(0); done < n; done += int64(len(buf)) {
		if _, err := f.WriteAt(buf[:min(int64(len(buf)), n-done)], off+done); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// count returns how many 512-byte blocks of path carry the marker (label ""
// matches any label).
func (m marker) count(t *testing.T, path, label string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	needle := []byte(string(m) + "-" + label)
	buf := make([]byte, mib)
	found := 0
	for {
		n, err := io.ReadFull(f, buf)
		for i := 0; i+512 <= n; i += 512 {
			if bytes.Contains(buf[i:i+512], needle) {
				found++
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return found
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// poisonFree writes the marker over every free extent of the VG, the way an
// LV removed without a wipe leaves them.
func (m marker) poisonFree(t *testing.T) {
	t.Helper()
	name := fmt.Sprintf("lice2e-old-%d", time.Now().UnixNano())
	lvm(t, "lvcreate", "-y", "-n", name, "-l", "100%FREE", "--wipesignatures", "n", "-Z", "n", *volumeGroup)
	dev := "/dev/" + *volumeGroup + "/" + name
	fi, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := fi.Seek(0, io.SeekEnd)
	fi.Close()
	m.write(t, dev, "old", 0, size)
	lvm(t, "lvremove", "-y", *volumeGroup+"/"+name)
}

// probeFree reads every free extent of the VG through a new LV (made
// without lvm's zeroing of its first 4 KiB) and counts the marker in them.
func (m marker) probeFree(t *testing.T) int {
	t.Helper()
	if vgFree(t) == 0 {
		t.Fatal("nothing free to probe")
	}
	name := fmt.Sprintf("lice2e-probe-%d", time.Now().UnixNano())
	lvm(t, "lvcreate", "-y", "-n", name, "-l", "100%FREE", "--wipesignatures", "n", "-Z", "n", *volumeGroup)
	defer exec.Command("lvremove", "--config", lvmConfig, "-y", *volumeGroup+"/"+name).Run()
	return m.count(t, "/dev/"+*volumeGroup+"/"+name, "")
}

// dmDevice is the device-mapper node of an LV's sub-device (suffix "cow"
// for a snapshot's COW area): dm doubles every '-' inside names.
func dmDevice(lv, suffix string) string {
	esc := func(s string) string { return strings.ReplaceAll(s, "-", "--") }
	return "/dev/mapper/" + esc(*volumeGroup) + "-" + esc(lv) + "-" + suffix
}

func thickBlockVolume(t *testing.T, d *lifecycle.Driver, ctx context.Context) *lifecycle.Volume {
	t.Helper()
	v := create(t, d, ctx, lifecycle.BlockCapability(), thickParams)
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A deleted thick volume's extents hold none of its data.
func TestRemanenceThickDelete(t *testing.T) {
	d, ctx := connect(t)
	m := newMarker()
	leaveFree(t, volumeSize)
	v := thickBlockVolume(t, d, ctx)
	m.write(t, v.DataPath(), "data", 0, v.Size)
	if n := m.count(t, "/dev/"+*volumeGroup+"/"+v.ID, "data"); n == 0 {
		t.Fatal("the marker written through iSCSI is not in the LV; the test would prove nothing")
	}
	if err := d.Down(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got := vgFree(t); got != volumeSize {
		t.Fatalf("%d bytes free after the delete, want the volume's %d", got, volumeSize)
	}
	if n := m.probeFree(t); n != 0 {
		t.Fatalf("%d blocks of the deleted volume's data are still in its extents", n)
	}
}

// A thick volume's snapshot keeps, in its copy-on-write area, the blocks
// the volume overwrote since. Deleting the snapshot wipes that area.
func TestRemanenceCOWSnapshot(t *testing.T) {
	d, ctx := connect(t)
	m := newMarker()
	leaveFree(t, volumeSize+cowArea(t)) // the volume, then its COW area
	v := thickBlockVolume(t, d, ctx)
	m.write(t, v.DataPath(), "before", 0, v.Size)
	snap, err := d.Snapshot(ctx, t.Name()+"-snap", v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.DeleteSnapshot(context.Background(), snap) })
	// Half the volume: the old blocks go into the COW area.
	m.write(t, v.DataPath(), "after", 0, v.Size/2)
	if n := m.count(t, dmDevice(snap, "cow"), "before"); n == 0 {
		t.Fatal("the snapshot's COW area holds no old data; the test would prove nothing")
	} else {
		t.Logf("the COW area holds %d blocks of the overwritten data", n)
	}
	if err := d.DeleteSnapshot(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if got := vgFree(t); got != cowArea(t) {
		t.Fatalf("%d bytes free after the snapshot delete, want its %d", got, cowArea(t))
	}
	if n := m.probeFree(t); n != 0 {
		t.Fatalf("%d blocks of the volume's old data are still in the deleted snapshot's extents", n)
	}
}

// A thick clone of a volume in use copies from a scratch COW snapshot that
// collects the blocks the source overwrites during the copy (here a writer
// keeps overwriting it); the scratch snapshot is wiped when the copy ends.
func TestRemanenceCloneScratch(t *testing.T) {
	d, ctx := connect(t)
	m := newMarker()
	leaveFree(t, 2*volumeSize+cowArea(t)) // source, clone, scratch snapshot
	v := thickBlockVolume(t, d, ctx)
	m.write(t, v.DataPath(), "before", 0, v.Size)

	stop, done := make(chan struct{}), make(chan struct{})
	var writes atomic.Int64
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f, err := os.OpenFile(v.DataPath(), os.O_WRONLY, 0)
			if err != nil {
				return
			}
			f.WriteAt(bytes.Repeat(m.block("during"), mib/512), int64(i%32)*mib)
			f.Sync()
			f.Close()
			writes.Add(1)
		}
	}()
	name := t.Name() + "-clone"
	c, err := d.CreateFrom(ctx, name, v.Size, thickParams, lifecycle.BlockCapability(), v.ID)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	removeAtEnd(t, d, c)
	t.Logf("%d writes to the source while it was cloned", writes.Load())
	if lvExists("tmp-" + c.ID) {
		t.Fatal("the scratch snapshot is still there after the clone")
	}
	if got := vgFree(t); got != cowArea(t) {
		t.Fatalf("%d bytes free after the clone, want the scratch snapshot's %d", got, cowArea(t))
	}
	if n := m.probeFree(t); n != 0 {
		t.Fatalf("%d blocks of the source's data are still in the scratch snapshot's extents", n)
	}
}

// A controller that dies in the middle of a thick clone leaves a scratch
// snapshot (holding the source's overwritten blocks) and a half-copied
// volume. The reconciler (here woken by a tgtd restart) wipes both before
// removing them.
func TestRemanenceCloneLeftoversAfterCrash(t *testing.T) {
	if *restartTgtd == "" {
		t.Fatal("-restart-tgtd is required")
	}
	d, ctx := connect(t)
	m := newMarker()
	leaveFree(t, 2*volumeSize+cowArea(t))
	v := thickBlockVolume(t, d, ctx)
	m.write(t, v.DataPath(), "before", 0, v.Size)

	// Exactly what the driver's clone job has made when it is killed:
	// the scratch snapshot and the volume being filled, with their tags.
	name := t.Name() + "-clone"
	cloneID := pool.VolumeID(name)
	scratch := "tmp-" + cloneID
	lvm(t, "lvcreate", "-y", "-n", scratch, "-s", "-L", fmt.Sprintf("%db", volumeSize),
		"--addtag", "lic.v1", "--addtag", "lic.kind=scratch", "--addtag", "lic.src="+cloneID, *volumeGroup+"/"+v.ID)
	lvm(t, "lvcreate", "-y", "-n", cloneID, "-L", fmt.Sprintf("%db", volumeSize), "--wipesignatures", "n", "-Z", "n",
		"--addtag", "lic.v1", "--addtag", "lic.name="+base64.RawURLEncoding.EncodeToString([]byte(name)),
		"--addtag", "lic.prov=thick", "--addtag", "lic.src="+v.ID, "--addtag", "lic.state=creating", *volumeGroup)
	t.Cleanup(func() {
		for _, lv := range []string{scratch, cloneID} {
			exec.Command("lvremove", "--config", lvmConfig, "-y", *volumeGroup+"/"+lv).Run()
		}
	})
	m.write(t, "/dev/"+*volumeGroup+"/"+cloneID, "copied", 0, volumeSize/2) // half copied
	m.write(t, v.DataPath(), "after", 0, v.Size/2)                          // old blocks into the scratch
	if n := m.count(t, dmDevice(scratch, "cow"), "before"); n == 0 {
		t.Fatal("the scratch snapshot's COW area holds no old data; the test would prove nothing")
	}

	t.Log("restarting tgtd, which makes the controller reconcile")
	run(t, *restartTgtd)
	deadline := time.Now().Add(2 * time.Minute)
	for lvExists(scratch) || lvExists(cloneID) {
		if time.Now().After(deadline) {
			t.Fatalf("the reconciler did not remove %s and %s within 2 minutes", scratch, cloneID)
		}
		time.Sleep(time.Second)
	}
	if got := vgFree(t); got != volumeSize+cowArea(t) {
		t.Fatalf("%d bytes free after the reconciler, want the leftovers' %d", got, volumeSize+cowArea(t))
	}
	if n := m.probeFree(t); n != 0 {
		t.Fatalf("%d blocks of the source's data are still in the leftovers' extents", n)
	}
}

// lvextend gives a thick volume free extents as they are. Here they hold
// an old LV's data (removed with plain lvremove); the node must read the
// volume's new space as zeroes.
func TestRemanenceThickExpansion(t *testing.T) {
	d, ctx := connect(t)
	m := newMarker()
	const grow = 32 * mib
	leaveFree(t, volumeSize+grow)
	v := thickBlockVolume(t, d, ctx)
	m.poisonFree(t)
	size, err := d.Expand(ctx, v, v.Size+grow)
	if err != nil {
		t.Fatal(err)
	}
	if size != volumeSize+grow {
		t.Fatalf("the node sees %d bytes, want %d", size, volumeSize+grow)
	}
	if got := vgFree(t); got != 0 {
		t.Fatalf("%d bytes still free: the new space did not take all the poisoned extents", got)
	}
	f, err := os.Open(v.DataPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tail := make([]byte, grow)
	if _, err := f.ReadAt(tail, volumeSize); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tail, make([]byte, grow)) {
		t.Fatalf("the new space holds old data (%d bytes of marker)", bytes.Count(tail, []byte(m)))
	}
}

// A thin pool made without zeroing keeps the controller not ready, with a
// log line naming the fix, until the administrator either fixes it or
// accepts it with --allow-thin-pool-without-zeroing. The controllers run
// against their own VG and their own tgtd, so nothing of the main run is
// touched.
func TestThinPoolWithoutZeroingIsRefused(t *testing.T) {
	h := newPrivateHost(t, "licnz", 64*mib)
	vg := h.vg
	lvm(t, "lvcreate", "-y", "--type", "thin-pool", "-Z", "n", "-n", "pool", "-L", "16m", vg)

	// createThin asks for a thin volume and returns the gRPC code; a
	// volume made is deleted again.
	createThin := func(p plugin, name string) codes.Code {
		t.Helper()
		c := csi.NewControllerClient(p.conn)
		resp, err := c.CreateVolume(callContext(t), &csi.CreateVolumeRequest{
			Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: 8 * mib},
			VolumeCapabilities: []*csi.VolumeCapability{lifecycle.BlockCapability()},
			Parameters:         map[string]string{"provisioning": "thin"},
		})
		if err == nil {
			if _, err := c.DeleteVolume(callContext(t), &csi.DeleteVolumeRequest{VolumeId: resp.GetVolume().GetVolumeId()}); err != nil {
				t.Errorf("DeleteVolume: %v", err)
			}
		}
		return status.Code(err)
	}
	waitLog := func(path, want string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !logSays(path, []string{want}); time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(path)
				t.Fatalf("the controller's log does not say %q:\n%s", want, b)
			}
		}
	}

	refused, logPath, stop := h.startController(t)
	// Not ready for the right reason: Probe's check finished and
	// refused the pool (not merely "the first check has not finished"),
	// and the refusal names the fix. Each Probe logs why it is not ready.
	why := []string{"Prerequisite missing", "does not zero new blocks", "lvchange -Z y " + vg + "/pool"}
	for deadline := time.Now().Add(time.Minute); !logSays(logPath, why); time.Sleep(500 * time.Millisecond) {
		if probe(t, refused) {
			t.Fatal("Probe is ready with a thin pool that does not zero new blocks")
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("Probe did not refuse the pool for its zeroing within a minute:\n%s", b)
		}
	}
	if code := createThin(refused, "nozero-1"); code != codes.Unavailable {
		t.Fatalf("CreateVolume (thin) in a pool without zeroing = %s, want Unavailable", code)
	}
	stop()

	accepted, logPath, _ := h.startController(t, "--allow-thin-pool-without-zeroing")
	awaitReady(t, accepted, logPath)
	waitLog(logPath, "WARNING: thin pool "+vg+"/pool does not zero new blocks")
	if code := createThin(accepted, "nozero-2"); code != codes.OK {
		t.Fatalf("CreateVolume (thin) in an accepted pool = %s, want OK", code)
	}
}
