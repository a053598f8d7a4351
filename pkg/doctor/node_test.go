package doctor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi/iscsifake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

const (
	nodePortal = "192.0.2.10:3260"
	kubelet    = "/var/lib/kubelet"
)

// nodeEnv is a healthy node: an initiator name, iscsid answering,
// iscsi_tcp loaded, no session, an empty mount table under the kubelet
// directory, no multipathd.
type nodeEnv struct {
	cfg                   NodeConfig
	ini                   *iscsifake.Initiator
	dial                  *dialer
	sys, proc, state, etc string
	mountinfo             string
}

func newNodeEnv(t *testing.T) *nodeEnv {
	t.Helper()
	dir := t.TempDir()
	e := &nodeEnv{ini: iscsifake.New(), dial: newDialer(DefaultISCSIDSocket),
		sys: filepath.Join(dir, "sys"), proc: filepath.Join(dir, "proc"), state: filepath.Join(dir, "state"), etc: filepath.Join(dir, "etc"),
		mountinfo: "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"}
	write(t, e.etc, "iscsi/initiatorname.iscsi", "## generated\nInitiatorName=iqn.1993-08.org.debian:01:aaaa\n")
	write(t, e.proc, "modules", "iscsi_tcp 24576 2 - Live 0x0\n")
	write(t, e.state, "staged/.keep", "")
	e.cfg = NodeConfig{InitiatorNameFile: filepath.Join(e.etc, "iscsi/initiatorname.iscsi"), StateDir: e.state, KubeletDir: kubelet,
		IQNPrefix: testPrefix, SysRoot: e.sys, ProcRoot: e.proc, ISCSIDSocket: DefaultISCSIDSocket, MultipathdSocket: DefaultMultipathdSocket}
	e.writeMounts(t)
	return e
}

func (e *nodeEnv) writeMounts(t *testing.T) { write(t, e.proc, "self/mountinfo", e.mountinfo) }

func (e *nodeEnv) checks() []Check {
	return NodeChecks(e.cfg, NodeDeps{Initiator: e.ini, Dial: e.dial.dial})
}

// login opens a session to volume name's target with its disk sdX (8:minor)
// in sysfs, as the kernel shows it.
func (e *nodeEnv) login(t *testing.T, name, disk string, minor int) (id, iqn string, sid int) {
	t.Helper()
	id = pool.VolumeID(name)
	iqn = publish.IQN(testPrefix, id)
	s := e.ini.AddSession(nodePortal, iqn)
	base := fmt.Sprintf("class/iscsi_session/session%d/device/target2:0:0/2:0:0:1/block/%s/size", s.ID, disk)
	write(t, e.sys, base, "131072\n")
	write(t, e.sys, "class/block/"+disk+"/dev", fmt.Sprintf("8:%d\n", minor))
	write(t, e.sys, fmt.Sprintf("dev/block/8:%d/dev", minor), fmt.Sprintf("8:%d\n", minor))
	e.setSession(t, s.ID, "LOGGED_IN", "running")
	return id, iqn, s.ID
}

func (e *nodeEnv) stage(t *testing.T, id string) {
	write(t, e.state, "staged/"+id+".json", `{"portal":"`+nodePortal+`"}`)
}

func TestHealthyNodeIsAllOK(t *testing.T) {
	e := newNodeEnv(t)
	id, _, _ := e.login(t, "pvc-1", "sdb", 16)
	e.stage(t, id)
	e.mountinfo += "40 22 8:16 / " + kubelet + "/plugins/kubernetes.io/csi/lvm-iscsi.csi.io/x/globalmount rw - ext4 /dev/sdb rw\n"
	e.writeMounts(t)
	r := Run(context.Background(), "node", e.checks(), false)
	for _, f := range r.Findings {
		if f.Severity != OK {
			t.Errorf("healthy node: %s %s: %s", f.Severity, f.ID, f.What)
		}
	}
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.ID)
	}
	for _, id := range []string{"initiator-name", "iscsid", "kernel-modules", "stray-session", "stray-record", "stuck-session", "stale-mount", "multipathd"} {
		if !slices.Contains(ids, id) {
			t.Errorf("no %s finding in a healthy run (%v)", id, ids)
		}
	}
}

func TestInitiatorName(t *testing.T) {
	for _, content := range []string{"", "GenerateName=yes\n", "InitiatorName=\n", "InitiatorName=Not An IQN\n"} {
		e := newNodeEnv(t)
		write(t, e.etc, "iscsi/initiatorname.iscsi", content)
		expect(t, e.checks(), "initiator-name", Error, "iscsi-iname")
	}
	e := newNodeEnv(t)
	e.cfg.InitiatorNameFile = filepath.Join(e.etc, "missing")
	expect(t, e.checks(), "initiator-name", Error, "install open-iscsi")
}

func TestISCSIDDown(t *testing.T) {
	e := newNodeEnv(t)
	e.dial.set(DefaultISCSIDSocket, false)
	expect(t, e.checks(), "iscsid", Error, "systemctl enable --now iscsid")
	e = newNodeEnv(t)
	e.ini.FailNext(iscsifake.Sessions, errors.New("iscsiadm: can not connect to iSCSI daemon (111)"))
	expect(t, e.checks(), "iscsid", Error, "iscsiadm -m session")
}

func TestISCSIModuleMissing(t *testing.T) {
	e := newNodeEnv(t)
	write(t, e.proc, "modules", "")
	expect(t, e.checks(), "kernel-modules", Error, "iscsi_tcp", "modprobe iscsi_tcp")
}

// A session of ours with no stage record and nothing on its disk is logged
// out by --fix, its record deleted; a staged one, a foreign one and one
// whose disk is mounted are left alone.
func TestStraySessionIsLoggedOutByFix(t *testing.T) {
	e := newNodeEnv(t)
	strayID, strayIQN, _ := e.login(t, "pvc-stray", "sdb", 16)
	stagedID, stagedIQN, _ := e.login(t, "pvc-staged", "sdc", 32)
	e.stage(t, stagedID)
	usedID, usedIQN, _ := e.login(t, "pvc-used", "sdd", 48)
	e.mountinfo += "41 22 8:48 / " + kubelet + "/plugins/kubernetes.io/csi/lvm-iscsi.csi.io/y/globalmount rw - ext4 /dev/sdd rw\n"
	e.writeMounts(t)
	e.ini.AddSession(nodePortal, "iqn.2001-04.com.example:someone-else")

	fs := expect(t, e.checks(), "stray-session", Error, strayID, usedID, "kubectl get volumeattachment")
	for _, f := range fs {
		switch {
		case f.Severity == Warning && !f.AutoFix:
			t.Errorf("an unused stray session is not offered to --fix: %+v", f)
		case f.Severity == Error && f.AutoFix:
			t.Errorf("a session whose disk is mounted is offered to --fix: %+v", f)
		}
	}
	r := Run(context.Background(), "node", e.checks(), true)
	fixed := 0
	for _, f := range r.Findings {
		if f.Fixed {
			fixed++
		}
	}
	if fixed != 1 {
		t.Errorf("--fix fixed %d findings, want 1: %+v", fixed, r.Findings)
	}
	if e.ini.LoggedIn(nodePortal, strayIQN) {
		t.Error("--fix left the stray session")
	}
	if _, ok := e.ini.Record(nodePortal, strayIQN); ok {
		t.Error("--fix left the stray session's node record")
	}
	for _, iqn := range []string{stagedIQN, usedIQN, "iqn.2001-04.com.example:someone-else"} {
		if !e.ini.LoggedIn(nodePortal, iqn) {
			t.Errorf("--fix logged out of %s", iqn)
		}
	}
	// Only the mounted one is left to report.
	fs = expect(t, e.checks(), "stray-session", Error, usedID)
	if len(fs) != 1 {
		t.Errorf("after --fix: %+v", fs)
	}
}

// A raw block volume's disk is bind-mounted as a device node: that is a use.
func TestStraySessionOfABlockVolumeInUse(t *testing.T) {
	e := newNodeEnv(t)
	_, iqn, _ := e.login(t, "pvc-block", "sdb", 16)
	e.mountinfo += "42 22 0:5 /sdb " + kubelet + "/plugins/kubernetes.io/csi/volumeDevices/publish/pvc/pod rw - devtmpfs udev rw\n"
	e.writeMounts(t)
	fs := expect(t, e.checks(), "stray-session", Error, "sdb mounted on")
	if fs[0].AutoFix {
		t.Fatal("a block volume in use is offered to --fix")
	}
	Run(context.Background(), "node", e.checks(), true)
	if !e.ini.LoggedIn(nodePortal, iqn) {
		t.Fatal("--fix logged out of a block volume in use")
	}
}

// --fix checks again: a volume staged since the check is left alone.
func TestFixDoesNotLogOutAVolumeStagedMeanwhile(t *testing.T) {
	e := newNodeEnv(t)
	id, iqn, _ := e.login(t, "pvc-race", "sdb", 16)
	n := &node{cfg: e.cfg, deps: NodeDeps{Initiator: e.ini, Dial: e.dial.dial}}
	found := n.checkSessionsAndRecords(context.Background())
	e.stage(t, id)
	for _, f := range found {
		if f.ID == "stray-session" && f.apply != nil {
			if err := f.apply(context.Background()); err == nil {
				t.Fatal("the fix of a volume staged meanwhile succeeded")
			}
		}
	}
	if !e.ini.LoggedIn(nodePortal, iqn) {
		t.Fatal("logged out of a volume staged meanwhile")
	}
}

func TestStrayRecordIsDeletedByFix(t *testing.T) {
	e := newNodeEnv(t)
	id := pool.VolumeID("pvc-record")
	iqn := publish.IQN(testPrefix, id)
	e.ini.AddRecord(nodePortal, iqn)
	e.ini.AddRecord(nodePortal, "iqn.2001-04.com.example:foreign")
	fs := expect(t, e.checks(), "stray-record", Warning, id, "-o delete")
	if !fs[0].AutoFix {
		t.Fatal("a stray record is not offered to --fix")
	}
	r := Run(context.Background(), "node", e.checks(), true)
	if r.ExitCode() != 0 {
		t.Errorf("exit code after --fix = %d, want 0 (the fixed finding does not count): %+v", r.ExitCode(), r.Findings)
	}
	if _, ok := e.ini.Record(nodePortal, iqn); ok {
		t.Error("--fix left the record")
	}
	if _, ok := e.ini.Record(nodePortal, "iqn.2001-04.com.example:foreign"); !ok {
		t.Error("--fix deleted a foreign record")
	}
	expect(t, e.checks(), "stray-record", OK)
}

func TestStaleMount(t *testing.T) {
	e := newNodeEnv(t)
	staging := kubelet + "/plugins/kubernetes.io/csi/lvm-iscsi.csi.io/z/globalmount"
	block := kubelet + "/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-b/pod"
	// The disks behind these are gone from the kernel (8:64 and sde are
	// not in sysfs); one outside the kubelet directory is not ours.
	e.mountinfo += "43 22 8:64 / " + staging + " rw - ext4 /dev/sde rw\n" +
		"44 22 0:5 /sdf " + block + " rw - devtmpfs udev rw\n" +
		"45 22 8:80 / /mnt/elsewhere rw - ext4 /dev/sdf rw\n"
	e.writeMounts(t)
	fs := expect(t, e.checks(), "stale-mount", Error, staging, block, "umount")
	if len(fs) != 2 {
		t.Errorf("stale mounts = %+v, want 2", fs)
	}
	for _, f := range fs {
		if f.AutoFix {
			t.Errorf("unmounting is offered to --fix: %+v", f)
		}
	}
	write(t, e.sys, "dev/block/8:64/dev", "8:64\n")
	write(t, e.sys, "class/block/sdf/dev", "8:80\n")
	expect(t, e.checks(), "stale-mount", OK)
}

func TestMultipathdClaimsOurDisk(t *testing.T) {
	e := newNodeEnv(t)
	_, iqn, _ := e.login(t, "pvc-mp", "sdb", 16)
	expect(t, e.checks(), "multipathd", OK) // not running
	e.dial.set(DefaultMultipathdSocket, true)
	expect(t, e.checks(), "multipathd", OK) // running, holds nothing
	write(t, e.sys, "class/block/sdb/holders/dm-3/x", "")
	write(t, e.sys, "class/block/dm-3/dm/uuid", "mpath-360000000000000000e00000000010001\n")
	write(t, e.sys, "class/block/dm-3/dm/name", "360000000000000000e00000000010001\n")
	// The fix names the map multipath -f takes (its dm name, not dm-3).
	expect(t, e.checks(), "multipathd", Error, "sdb", iqn, "IET", "VIRTUAL-DISK", "multipath -f 360000000000000000e00000000010001")
	// The disk it holds is in use: no --fix logs out of it.
	expect(t, e.checks(), "stray-session", Error, "held by dm-3")
}

func TestIsDeviceNodeOf(t *testing.T) {
	for root, want := range map[string]bool{"/sdb": true, "/sdb1": true, "/sdba": false, "/sd": false, "/": false, "/sdc": false} {
		if got := isDeviceNodeOf(root, "sdb"); got != want {
			t.Errorf("isDeviceNodeOf(%q, sdb) = %v, want %v", root, got, want)
		}
	}
}
