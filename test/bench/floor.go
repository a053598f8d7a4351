package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	utilexec "k8s.io/utils/exec"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// The floors: the bare commands that do what a driver call does, run with
// argv lists from here. Each mirrors, command for command, the end state the
// driver's call leaves (docs/benchmarks.md, "What each floor runs"), without
// the reads, checks and intent records that make the driver safe.

// lvmConfig is the driver's own --config (its default --lvm-global-filter):
// lvm then scans the same devices for the floor as for the driver.
var lvmConfig = []string{"--config", `devices { global_filter = [ "r|^/dev/disk/by-path/.*-iscsi-.*|" ] }`}

func (b *bench) lvm(tool string, args ...string) []string {
	return append(append([]string{tool}, lvmConfig...), args...)
}

func bytesArg(n uint64) string { return fmt.Sprintf("%db", n) }

func tagArgs(option string, tags []string) []string {
	var out []string
	for _, t := range tags {
		out = append(out, option, t)
	}
	return out
}

var b64 = base64.RawURLEncoding

// volumeTags are the floor's copy of a new volume's tags (pkg/pool/tags.go).
func volumeTags(name, prov string) []string {
	return floorTags("lic.v1", "lic.name="+b64.EncodeToString([]byte(name)), "lic.prov="+prov)
}

func (b *bench) pubTag() string {
	return floorTags("lic.pub=" + b64.EncodeToString([]byte(b.d.NodeID)) + "." + b64.EncodeToString([]byte(b.initiator)))[0]
}

func (b *bench) lvPath(id string) string { return "/dev/" + b.vg + "/" + id }

// lvcreateThin is CreateVolume's one lvcreate (pkg/lvm/create.go).
func (b *bench) lvcreateThin(id string, size uint64, tags []string) []string {
	args := []string{"-y", "--wipesignatures", "y", "-n", id, "-V", bytesArg(size), "--thinpool", b.pool}
	return b.lvm("lvcreate", append(append(args, tagArgs("--addtag", tags)...), b.vg)...)
}

// lvcreateThick is a thick volume's lvcreate.
func (b *bench) lvcreateThick(id string, size uint64, tags []string) []string {
	args := []string{"-y", "--wipesignatures", "y", "-Zy", "-n", id, "-L", bytesArg(size)}
	return b.lvm("lvcreate", append(append(args, tagArgs("--addtag", tags)...), b.vg)...)
}

// lvsnapshot is a thin snapshot of origin with tags (CreateSnapshot, and
// the thin clone's lvcreate).
func (b *bench) lvsnapshot(id, origin string, tags []string) []string {
	args := append([]string{"-y", "-n", id, "-s", b.vg + "/" + origin}, tagArgs("--addtag", tags)...)
	return b.lvm("lvcreate", args...)
}

// lvclone is the least a usable thin clone takes: a thin snapshot without
// lvm's activation skip flag, so lvcreate activates it.
func (b *bench) lvclone(id, origin string, tags []string) []string {
	args := append([]string{"-y", "-n", id, "-s", b.vg + "/" + origin, "--setactivationskip", "n"}, tagArgs("--addtag", tags)...)
	return b.lvm("lvcreate", args...)
}

func (b *bench) lvremove(ids ...string) []string {
	args := []string{"-y"}
	for _, id := range ids {
		args = append(args, b.vg+"/"+id)
	}
	return b.lvm("lvremove", args...)
}

// floorTarget is one floor export: its target, LUN and CHAP account.
type floorTarget struct {
	tid      int
	iqn      string
	lv       string
	user     string
	password string
}

func (b *bench) newFloorTarget(lv string) floorTarget {
	b.nextTID++
	pw := make([]byte, 12)
	rand.Read(pw)
	return floorTarget{tid: b.nextTID, iqn: b.floorIQN(lv), lv: lv,
		// As long as the driver's account names (<id>.<key id>.<fingerprint>),
		// but not of its form, so its reconciler leaves it alone.
		user: lv + ".0000000000000000.00000000000000000000000000000000", password: hex.EncodeToString(pw)}
}

func (b *bench) tgtadm(port int, args ...string) []string {
	return append([]string{"tgtadm", "--lld", "iscsi", "-C", strconv.Itoa(port)}, args...)
}

// exportCmds are the tgtadm commands of a new export, as the driver's
// syncTarget issues them for a first publication with CHAP on: target, its
// iSCSI keys (pool.TargetParams, one update each), LUN 1 on the LV, its
// serial and id (and thin_provisioning=0), the CHAP account created and
// bound, the initiator bound.
func (b *bench) exportCmds(port int, t floorTarget, backing string) [][]string {
	tid := strconv.Itoa(t.tid)
	argvs := [][]string{b.tgtadm(port, "--op", "new", "--mode", "target", "--tid", tid, "--targetname", t.iqn)}
	for _, p := range pool.TargetParams {
		argvs = append(argvs, b.tgtadm(port, "--op", "update", "--mode", "target", "--tid", tid, "--name", p.Name, "--value", p.Value))
	}
	return append(argvs,
		b.tgtadm(port, "--op", "new", "--mode", "logicalunit", "--tid", tid, "--lun", "1", "--backing-store", backing),
		b.tgtadm(port, "--op", "update", "--mode", "logicalunit", "--tid", tid, "--lun", "1",
			"--params", "scsi_id="+t.lv+",scsi_sn="+t.lv+",thin_provisioning=0"),
		b.tgtadm(port, "--op", "new", "--mode", "account", "--user", t.user, "--password", t.password),
		b.tgtadm(port, "--op", "bind", "--mode", "account", "--tid", tid, "--user", t.user),
		b.tgtadm(port, "--op", "bind", "--mode", "target", "--tid", tid, "--initiator-name", b.initiator),
	)
}

// unexportCmds remove a floor export the way the driver's last unpublish
// does: the target (forced), then its account.
func (b *bench) unexportCmds(port int, t floorTarget) [][]string {
	return [][]string{
		b.tgtadm(port, "--op", "delete", "--mode", "target", "--force", "--tid", strconv.Itoa(t.tid)),
		b.tgtadm(port, "--op", "delete", "--mode", "account", "--user", t.user),
	}
}

// floorPublish is ControllerPublishVolume's floor: the publication tag,
// then the export.
func (b *bench) floorPublish(ctx context.Context, t floorTarget) error {
	argvs := append([][]string{b.lvm("lvchange", "--addtag", b.pubTag(), b.vg+"/"+t.lv)}, b.exportCmds(b.controlPort, t, b.lvPath(t.lv))...)
	return cmds(ctx, t.password, argvs...)
}

// floorUnpublish is ControllerUnpublishVolume's floor.
func (b *bench) floorUnpublish(ctx context.Context, t floorTarget) error {
	argvs := append([][]string{b.lvm("lvchange", "--deltag", b.pubTag(), b.vg+"/"+t.lv)}, b.unexportCmds(b.controlPort, t)...)
	return cmds(ctx, "", argvs...)
}

func (b *bench) iscsiadm(iqn string, args ...string) []string {
	return append([]string{"iscsiadm", "-m", "node", "-T", iqn, "-p", b.portal}, args...)
}

// floorLogin is the bare CHAP login: the node record, one update with its
// three CHAP settings, the login, then the wait for the disk. The disk is
// looked for as the driver looks for it (pkg/iscsi's WaitForDevice: udev's
// by-path link, or the session's disk in sysfs, which the kernel shows
// before udev makes the link): a floor that waited for the link alone
// would be slower than the driver by udev's lag.
func (b *bench) floorLogin(ctx context.Context, t floorTarget) (string, error) {
	err := cmds(ctx, t.password,
		b.iscsiadm(t.iqn, "-o", "new"),
		b.iscsiadm(t.iqn, "-o", "update", "-n", "node.session.auth.authmethod", "-v", "CHAP",
			"-n", "node.session.auth.username", "-v", t.user, "-n", "node.session.auth.password", "-v", t.password),
		b.iscsiadm(t.iqn, "--login"),
	)
	if err != nil {
		return "", err
	}
	disks := iscsi.NewDevices(runner.New(utilexec.New(), 30*time.Second), "/sys", "/dev")
	return disks.WaitForDevice(ctx, iscsi.Target{Portal: b.portal, IQN: t.iqn, LUN: 1}, 60*time.Second)
}

// floorStage is NodeStageVolume's floor: login, mkfs.ext4 as mount-utils
// runs it (-F -m0), mount.
func (b *bench) floorStage(ctx context.Context, t floorTarget, staging string) error {
	dev, err := b.floorLogin(ctx, t)
	if err != nil {
		return err
	}
	return cmds(ctx, "",
		[]string{"mkfs.ext4", "-F", "-m0", dev},
		[]string{"mount", "-t", "ext4", dev, staging},
	)
}

// floorUnstage is NodeUnstageVolume's floor: unmount, log out, delete the
// node record (it holds the CHAP password).
func (b *bench) floorUnstage(ctx context.Context, t floorTarget, staging string) error {
	return cmds(ctx, "",
		[]string{"umount", staging},
		b.iscsiadm(t.iqn, "--logout"),
		b.iscsiadm(t.iqn, "-o", "delete"),
	)
}

func (b *bench) stagingDir(name string) (string, error) {
	dir := filepath.Join(b.root, "floor", name)
	return dir, os.MkdirAll(dir, 0o750)
}

// waitFor polls cond every interval until it holds or timeout passes.
func waitFor(ctx context.Context, timeout, interval time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not done within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	return nil
}
