//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	utilexec "k8s.io/utils/exec"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

var (
	root           = flag.String("root", "", "directory below the node plugin's --kubelet-dir for staging and target paths")
	volumeGroup    = flag.String("volume-group", "", "the controller's volume group")
	tgtControlPort = flag.Int("tgt-control-port", 0, "tgtd's control port")
	restartTgtd    = flag.String("restart-tgtd", "", "script that kills tgtd (SIGKILL) and starts it again")
	restartNode    = flag.String("restart-node", "", "script that kills the node plugin (SIGKILL) and starts it again")
)

// volumeTimeout bounds one test's calls: the guest is emulated and a
// session recovering after tgtd restarts takes open-iscsi's retry cycle.
const volumeTimeout = 5 * time.Minute

func connect(t *testing.T) (*lifecycle.Driver, context.Context) {
	t.Helper()
	if *root == "" || *volumeGroup == "" {
		t.Fatal("-root and -volume-group are required (test/e2e/guest.sh passes them)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), volumeTimeout)
	t.Cleanup(cancel)
	d, err := lifecycle.Connect(ctx, *controllerEndpoint, *nodeEndpoint, *root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	d.Step = func(format string, args ...any) { t.Logf(format, args...) }
	return d, ctx
}

// create makes a volume and removes it at the end of the test whatever
// happened (removeAtEnd).
func create(t *testing.T, d *lifecycle.Driver, ctx context.Context, c *csi.VolumeCapability, params map[string]string) *lifecycle.Volume {
	t.Helper()
	v, err := d.Create(ctx, t.Name()+"-"+fmt.Sprint(time.Now().UnixNano()), 64<<20, params, c)
	if err != nil {
		t.Fatal(err)
	}
	removeAtEnd(t, d, v)
	return v
}

// createFrom creates a volume from source (a snapshot or volume id), which
// must succeed, and removes it at the end of the test (removeAtEnd).
func createFrom(t *testing.T, d *lifecycle.Driver, ctx context.Context, name string, size int64, params map[string]string, c *csi.VolumeCapability, source string) *lifecycle.Volume {
	t.Helper()
	v, err := d.CreateFrom(ctx, name, size, params, c, source)
	if err != nil {
		t.Fatal(err)
	}
	removeAtEnd(t, d, v)
	return v
}

// removeAtEnd takes v down and deletes it when the test ends; a delete that
// fails is an error of the test (the volume would be left behind).
func removeAtEnd(t *testing.T, d *lifecycle.Driver, v *lifecycle.Volume) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), volumeTimeout)
		defer cancel()
		d.Down(ctx, v) // may fail where the test already took it down
		if err := d.Delete(ctx, v); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

func run(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// writeData writes random bytes to the volume (a file, or the raw device)
// and syncs them to the disk, so they must have crossed iSCSI.
func writeData(t *testing.T, path string, size int) []byte {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	return data
}

func readData(t *testing.T, path string, size int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, size)
	if _, err := io.ReadFull(f, got); err != nil {
		t.Fatal(err)
	}
	return got
}

// Data written through one stage is there after unstage and a new stage
// (new login, new SCSI disk, new mount), for filesystems and raw block.
func TestDataSurvivesRestage(t *testing.T) {
	for _, c := range []*csi.VolumeCapability{lifecycle.MountCapability("ext4"), lifecycle.MountCapability("xfs"), lifecycle.BlockCapability()} {
		name := "block"
		if c.GetMount() != nil {
			name = c.GetMount().GetFsType()
		}
		t.Run(name, func(t *testing.T) {
			d, ctx := connect(t)
			params := map[string]string{"provisioning": "thick"}
			if name == "ext4" {
				params["provisioning"] = "thin"
			}
			v := create(t, d, ctx, c, params)
			if err := d.Up(ctx, v); err != nil {
				t.Fatal(err)
			}
			want := writeData(t, v.DataPath(), 1<<20)
			if err := d.Down(ctx, v); err != nil {
				t.Fatal(err)
			}
			if out, _ := exec.Command("iscsiadm", "-m", "session").CombinedOutput(); strings.Contains(string(out), v.ID) {
				t.Fatalf("session to %s still open after unstage:\n%s", v.ID, out)
			}
			if err := d.Up(ctx, v); err != nil {
				t.Fatal(err)
			}
			if got := readData(t, v.DataPath(), len(want)); !bytes.Equal(got, want) {
				t.Fatal("data read after restaging differs from what was written")
			}
		})
	}
}

func tgtClient() *tgt.Tgt {
	return tgt.New(runner.New(utilexec.New(), 0), *tgtControlPort)
}

func findTarget(ctx context.Context, iqn string) (*tgt.Target, error) {
	targets, err := tgtClient().ListTargets(ctx)
	if err != nil {
		return nil, err
	}
	for i := range targets {
		if targets[i].IQN == iqn {
			return &targets[i], nil
		}
	}
	return nil, nil
}

// Killing tgtd (it keeps targets in memory only) while a volume is staged
// and in use must end with the same target, LUN serial, ACL and CHAP
// account, rebuilt from the LV tags by the controller, and the node's
// session reconnecting by itself: writes succeed again, nothing is lost.
func TestTgtdRestartRestoresTargetsAndSessions(t *testing.T) {
	if *restartTgtd == "" {
		t.Fatal("-restart-tgtd is required")
	}
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.MountCapability("ext4"), nil)
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	before := writeData(t, v.DataPath(), 1<<20)
	iqn := v.PublishContext["iqn"]
	was, err := findTarget(ctx, iqn)
	if err != nil || was == nil {
		t.Fatalf("target %s before the restart: %v, %v", iqn, was, err)
	}

	t.Log("killing tgtd with SIGKILL and starting it again")
	logOffset := iscsidLogSize()
	run(t, *restartTgtd)

	now := awaitTargetRebuilt(t, ctx, iqn)
	if !slices.Equal(now.InitiatorNames, was.InitiatorNames) || !slices.Equal(now.Accounts, was.Accounts) || len(now.ACLs) != 0 {
		t.Errorf("access restored as initiators %v accounts %v address ACLs %v; was %v %v", now.InitiatorNames, now.Accounts, now.ACLs, was.InitiatorNames, was.Accounts)
	}
	if len(now.LUNs) != 1 || now.LUNs[0].SCSISN != was.LUNs[0].SCSISN || now.LUNs[0].SCSIID != was.LUNs[0].SCSIID || now.LUNs[0].BackingStore != was.LUNs[0].BackingStore {
		t.Errorf("LUN restored as %+v; was %+v", now.LUNs, was.LUNs)
	}

	// The initiator retries the lost connection on its own (but see
	// awaitSessionAfterTargetRestart); a synced write only returns once it
	// reached the restored target.
	awaitSessionAfterTargetRestart(t, iqn, logOffset)
	t.Log("writing through the recovered session")
	after := writeData(t, filepath.Join(filepath.Dir(v.DataPath()), "after-restart"), 1<<20)
	if err := d.Down(ctx, v); err != nil {
		t.Fatalf("teardown after the tgtd restart: %v", err)
	}
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readData(t, v.DataPath(), len(before)), before) ||
		!bytes.Equal(readData(t, filepath.Join(filepath.Dir(v.DataPath()), "after-restart"), len(after)), after) {
		t.Fatal("data lost across the tgtd restart")
	}
}

// A node must never format or mount a disk that is not the volume's. The
// LUN's serial is changed behind the driver's back (as a rebuilt target with
// tgt's default serial would look); NodeStageVolume must refuse, log out,
// and leave the disk untouched.
func TestWrongSerialIsRefused(t *testing.T) {
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.MountCapability("ext4"), map[string]string{"provisioning": "thick"})
	if err := d.ControllerPublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	target, err := findTarget(ctx, v.PublishContext["iqn"])
	if err != nil || target == nil {
		t.Fatalf("target: %v, %v", target, err)
	}
	run(t, "tgtadm", "--lld", "iscsi", "-C", fmt.Sprint(*tgtControlPort), "--op", "update", "--mode", "logicalunit",
		"--tid", fmt.Sprint(target.TID), "--lun", "1", "--params", "scsi_sn=someone-elses-disk")

	err = d.Stage(ctx, v)
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("NodeStageVolume on a disk with the wrong serial = %v, want FailedPrecondition", err)
	}
	if out, _ := exec.Command("iscsiadm", "-m", "session").CombinedOutput(); strings.Contains(string(out), v.ID) {
		t.Errorf("still logged in to the mismatched target:\n%s", out)
	}
	// blkid exits 2 when it finds no signature: nothing was formatted.
	lv := "/dev/" + *volumeGroup + "/" + v.ID
	if out, err := exec.Command("blkid", "-p", lv).CombinedOutput(); err == nil {
		t.Errorf("the refused disk was formatted: %s", out)
	}
	if err := d.Unstage(ctx, v); err != nil {
		t.Errorf("unstage after the refusal: %v", err)
	}
}

// The node plugin killed (SIGKILL) in the middle of NodeStageVolume, then
// started again: the retried call converges and the volume works.
func TestRestageAfterNodePluginKilledMidStage(t *testing.T) {
	if *restartNode == "" {
		t.Fatal("-restart-node is required")
	}
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.MountCapability("ext4"), nil)
	if err := d.ControllerPublish(ctx, v); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- d.Stage(ctx, v) }()
	time.Sleep(700 * time.Millisecond) // somewhere in login, udev wait or mkfs
	t.Log("killing the node plugin with SIGKILL mid-stage and starting it again")
	run(t, *restartNode)
	t.Logf("the interrupted call returned: %v", <-first)

	d2, ctx2 := connect(t) // a new connection to the new process
	if err := d2.Stage(ctx2, v); err != nil {
		t.Fatalf("retried NodeStageVolume: %v", err)
	}
	if err := d2.Publish(ctx2, v); err != nil {
		t.Fatal(err)
	}
	want := writeData(t, v.DataPath(), 1<<20)
	if got := readData(t, v.DataPath(), len(want)); !bytes.Equal(got, want) {
		t.Fatal("data mismatch")
	}
	if err := d2.Down(ctx2, v); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("iscsiadm", "-m", "session").CombinedOutput(); strings.Contains(string(out), v.ID) {
		t.Fatalf("session left after unstage:\n%s", out)
	}
}
