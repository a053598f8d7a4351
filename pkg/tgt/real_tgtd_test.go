package tgt

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	utilexec "k8s.io/utils/exec"
)

// realTgtdEnv turns on the tests that drive a real tgtd (root and the tgt
// package needed).
const realTgtdEnv = "LVM_ISCSI_CSI_REAL_TGTD"

// realTgtd is a private tgtd on its own control port and a loopback portal.
type realTgtd struct {
	controlPort int
	portal      string
	cmd         *exec.Cmd
}

// startRealTgtd starts tgtd in the foreground and waits until tgtadm gets
// answers. The daemon is started with os/exec, not pkg/runner, because it
// must outlive the call; it is SIGKILLed at cleanup since tgtd ignores
// SIGTERM.
func startRealTgtd(t *testing.T) *realTgtd {
	t.Helper()
	if os.Getenv(realTgtdEnv) != "1" {
		t.Skipf("set %s=1 to run against a real tgtd (needs root and the tgt package)", realTgtdEnv)
	}
	if _, err := exec.LookPath("tgtd"); err != nil {
		t.Fatalf("%s=1 but tgtd is not installed: %v", realTgtdEnv, err)
	}
	d := &realTgtd{controlPort: freeControlPort(t), portal: freeLoopbackPortal(t)}
	log, err := os.Create(filepath.Join(t.TempDir(), "tgtd.log"))
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command("tgtd", "-f", "-C", strconv.Itoa(d.controlPort), "--iscsi", "portal="+d.portal)
	d.cmd.Stdout, d.cmd.Stderr = log, log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.stop()
		os.Remove(SocketPath(d.controlPort))
		os.Remove(SocketPath(d.controlPort) + ".lock")
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("tgtd log:\n%s", out)
		}
	})
	tg := d.client()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := tg.ListTargets(context.Background())
		if err == nil {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("tgtd on control port %d did not answer: %v", d.controlPort, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *realTgtd) client() *Tgt {
	return New(runner.New(utilexec.New(), 10*time.Second), d.controlPort)
}

func (d *realTgtd) stop() {
	if d.cmd.Process != nil && d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Kill()
		_ = d.cmd.Wait()
	}
}

// freeControlPort picks a control port no tgtd socket is using, in a range
// well away from the default 0 a host's own tgtd uses.
func freeControlPort(t *testing.T) int {
	t.Helper()
	for port := 4300; port < 4400; port++ {
		if _, err := os.Stat(SocketPath(port)); errors.Is(err, os.ErrNotExist) {
			return port
		}
	}
	t.Fatal("no free tgtd control port in 4300-4399")
	return 0
}

// freeLoopbackPortal picks a free TCP port on 127.0.0.1, so tgtd never
// listens on anything but loopback.
func freeLoopbackPortal(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func backingFile(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lun.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func findTarget(t *testing.T, tg *Tgt, tid int) Target {
	t.Helper()
	targets, err := tg.ListTargets(context.Background())
	must(t, "ListTargets", err)
	for _, target := range targets {
		if target.TID == tid {
			return target
		}
	}
	t.Fatalf("target %d not listed in %+v", tid, targets)
	return Target{}
}

func TestRealTgtdTargetsLUNsAndAccess(t *testing.T) {
	d := startRealTgtd(t)
	tg := d.client()
	ctx := context.Background()
	const (
		iqnA   = "iqn.2026-11.io.csi.lvm-iscsi:vol-a"
		iqnB   = "iqn.2026-11.io.csi.lvm-iscsi:vol-b"
		volID  = "pvc-0123456789abcdef0123456789ab" // 32 chars, the longest id pkg/pool makes
		node   = "iqn.1993-08.org.debian:01:node-a"
		chapIn = "vol-a-in"
		chapB  = "vol-b-in"
	)
	store := backingFile(t, 64<<20)

	targets, err := tg.ListTargets(ctx)
	must(t, "ListTargets on a fresh tgtd", err)
	if len(targets) != 0 {
		t.Fatalf("fresh tgtd lists %+v", targets)
	}
	tid := FreeTID(targets)
	must(t, "CreateTarget", tg.CreateTarget(ctx, tid, iqnA))
	wantErr(t, "CreateTarget with a taken tid", tg.CreateTarget(ctx, tid, iqnB), ErrExists)
	wantErr(t, "CreateTarget with a taken name", tg.CreateTarget(ctx, tid+1, iqnA), ErrExists)

	must(t, "AddLUN", tg.AddLUN(ctx, tid, 1, store, LUNParams{SCSIID: volID, SCSISN: volID, ThinProvisioning: true}))
	wantErr(t, "AddLUN again", tg.AddLUN(ctx, tid, 1, store, LUNParams{}), ErrExists)
	wantErr(t, "AddLUN on a missing target", tg.AddLUN(ctx, tid+5, 1, store, LUNParams{}), ErrNotFound)
	wantErr(t, "AddLUN of a missing file", tg.AddLUN(ctx, tid, 2, store+".missing", LUNParams{}), ErrInvalid)
	// Grow the backing store, then make tgtd see the new size.
	if err := os.Truncate(store, 128<<20); err != nil {
		t.Fatal(err)
	}
	must(t, "RefreshLUN", tg.RefreshLUN(ctx, tid, 1, store))
	if got := findTarget(t, tg, tid); len(got.LUNs) != 1 || got.LUNs[0].Size < 128_000_000 || !got.LUNs[0].Online || got.LUNs[0].SCSISN != volID {
		t.Errorf("after RefreshLUN: %+v", got.LUNs)
	}
	wantErr(t, "RefreshLUN of a missing LUN", tg.RefreshLUN(ctx, tid, 7, store), ErrNotFound)

	must(t, "BindInitiator", tg.BindInitiator(ctx, tid, node))
	wantErr(t, "BindInitiator again", tg.BindInitiator(ctx, tid, node), ErrExists)
	wantErr(t, "UnbindInitiator of an unbound one", tg.UnbindInitiator(ctx, tid, node+"x"), ErrNotFound)

	must(t, "CreateAccount in", tg.CreateAccount(ctx, chapIn, "in-secret-0123"))
	must(t, "CreateAccount b", tg.CreateAccount(ctx, chapB, "b-secret-0123"))
	wantErr(t, "CreateAccount again", tg.CreateAccount(ctx, chapIn, "whatever-else"), ErrExists)
	accounts, err := tg.ListAccounts(ctx)
	must(t, "ListAccounts", err)
	slices.Sort(accounts)
	if !slices.Equal(accounts, []string{chapIn, chapB}) {
		t.Errorf("ListAccounts = %q", accounts)
	}
	must(t, "BindAccount", tg.BindAccount(ctx, tid, chapIn))
	wantErr(t, "BindAccount again", tg.BindAccount(ctx, tid, chapIn), ErrExists)
	wantErr(t, "BindAccount of a missing account", tg.BindAccount(ctx, tid, "nobody"), ErrNotFound)

	want := Target{
		TID: tid, IQN: iqnA, State: "ready",
		LUNs: []LUN{{
			Number: 1, Size: 134_000_000 /* grown by RefreshLUN */, BlockSize: 512, Type: "disk", SCSIID: volID, SCSISN: volID,
			Online: true, ThinProvisioning: true, BackingStore: store, BackingStoreType: "rdwr",
		}},
		InitiatorNames: []string{node},
		Accounts:       []string{chapIn},
	}
	if got := findTarget(t, tg, tid); !reflect.DeepEqual(got, want) {
		t.Errorf("ListTargets read back\n%+v\nwant\n%+v", got, want)
	}

	must(t, "UnbindInitiator", tg.UnbindInitiator(ctx, tid, node))
	// pkg/pool never unbinds an account: deleting it unbinds it from every
	// target.
	must(t, "DeleteAccount of a bound account", tg.DeleteAccount(ctx, chapIn))
	got := findTarget(t, tg, tid)
	if got.Accounts != nil || got.InitiatorNames != nil {
		t.Errorf("after unbinding the initiator and deleting the account: %+v", got)
	}
	must(t, "DeleteAccount", tg.DeleteAccount(ctx, chapB))
	wantErr(t, "DeleteAccount again", tg.DeleteAccount(ctx, chapIn), ErrNotFound)

	wantErr(t, "CloseConnection without a session", tg.CloseConnection(ctx, tid, 99, 0), ErrNotFound)
	must(t, "DeleteLUN", tg.DeleteLUN(ctx, tid, 1))
	wantErr(t, "DeleteLUN again", tg.DeleteLUN(ctx, tid, 1), ErrNotFound)
	must(t, "DeleteTarget", tg.DeleteTarget(ctx, tid))
	wantErr(t, "DeleteTarget again", tg.DeleteTarget(ctx, tid), ErrNotFound)

	d.stop()
	_, err = tg.ListTargets(ctx)
	wantErr(t, "ListTargets after tgtd died", err, ErrDaemonUnreachable)
}

// TestRealTgtdFencesALoggedInInitiator logs in with libiscsi's userspace
// initiator (the host may lack iscsi_tcp) and checks the controller's unpublish
// sequence: unbind, close the connection, and the initiator stays out.
func TestRealTgtdFencesALoggedInInitiator(t *testing.T) {
	const node = "iqn.1993-08.org.debian:01:node-f"
	tg := targetWithInitiator(t, "vol-fence", node)
	ctx := context.Background()

	var session Session
	waitFor(t, "the initiator's session", func() bool {
		target := findTarget(t, tg, 1)
		if len(target.Sessions) == 1 {
			session = target.Sessions[0]
		}
		return len(target.Sessions) == 1
	})
	if session.Initiator != node || len(session.Connections) != 1 || session.Connections[0].IP != "127.0.0.1" {
		t.Fatalf("session = %+v", session)
	}
	wantErr(t, "CloseConnection of a missing connection", tg.CloseConnection(ctx, 1, session.SID, 42), ErrNotFound)

	must(t, "UnbindInitiator", tg.UnbindInitiator(ctx, 1, node))
	must(t, "CloseConnection", tg.CloseConnection(ctx, 1, session.SID, session.Connections[0].CID))
	waitFor(t, "the session to go", func() bool { return len(findTarget(t, tg, 1).Sessions) == 0 })
	// The initiator keeps retrying; an unbound initiator must stay out.
	time.Sleep(2 * time.Second)
	if s := findTarget(t, tg, 1).Sessions; len(s) != 0 {
		t.Errorf("unbound initiator logged in again: %+v", s)
	}
	must(t, "DeleteTarget", tg.DeleteTarget(ctx, 1))
}

// targetWithInitiator starts tgtd with target 1, named after volume vol
// and its LUN 1 serial vol, and libiscsi's userspace initiator (the host
// may lack iscsi_tcp) logging in to it as node, which is bound, until the
// test ends. It skips the test without iscsi-perf.
func targetWithInitiator(t *testing.T, vol, node string) *Tgt {
	t.Helper()
	d := startRealTgtd(t)
	perf, err := exec.LookPath("iscsi-perf")
	if err != nil {
		t.Skip("iscsi-perf (Debian package libiscsi-bin) is not installed: no userspace initiator to log in with")
	}
	tg := d.client()
	ctx := context.Background()
	iqn := "iqn.2026-11.io.csi.lvm-iscsi:" + vol
	must(t, "CreateTarget", tg.CreateTarget(ctx, 1, iqn))
	must(t, "AddLUN", tg.AddLUN(ctx, 1, 1, backingFile(t, 8<<20), LUNParams{SCSIID: vol, SCSISN: vol}))
	must(t, "BindInitiator", tg.BindInitiator(ctx, 1, node))
	initiator := exec.Command(perf, "-i", node, "-t", "60", "iscsi://"+d.portal+"/"+iqn+"/1")
	must(t, "start iscsi-perf", initiator.Start())
	t.Cleanup(func() {
		_ = initiator.Process.Kill()
		_ = initiator.Wait()
	})
	return tg
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRealTgtdOfflineTargetKeepsItsInitiatorOut checks what a LUN refresh
// relies on (pkg/pool refresh.go): a target set offline lists as such,
// refuses the login of an initiator whose connection was closed although
// it stays bound, and lets it back in once ready again.
func TestRealTgtdOfflineTargetKeepsItsInitiatorOut(t *testing.T) {
	tg := targetWithInitiator(t, "vol-offline", "iqn.1993-08.org.debian:01:node-o")
	ctx := context.Background()
	waitFor(t, "the initiator's session", func() bool { return len(findTarget(t, tg, 1).Sessions) == 1 })

	must(t, "SetTargetState offline", tg.SetTargetState(ctx, 1, StateOffline))
	if got := findTarget(t, tg, 1).State; got != StateOffline {
		t.Fatalf("state after SetTargetState offline = %q", got)
	}
	s := findTarget(t, tg, 1).Sessions[0]
	must(t, "CloseConnection", tg.CloseConnection(ctx, 1, s.SID, s.Connections[0].CID))
	waitFor(t, "the session to go", func() bool { return len(findTarget(t, tg, 1).Sessions) == 0 })
	// iscsi-perf logs in again at once and keeps trying.
	time.Sleep(2 * time.Second)
	if s := findTarget(t, tg, 1).Sessions; len(s) != 0 {
		t.Fatalf("a bound initiator logged in to an offline target: %+v", s)
	}
	must(t, "SetTargetState ready", tg.SetTargetState(ctx, 1, StateReady))
	waitFor(t, "the initiator to log in again", func() bool { return len(findTarget(t, tg, 1).Sessions) == 1 })
	if got := findTarget(t, tg, 1).State; got != StateReady {
		t.Errorf("state after SetTargetState ready = %q", got)
	}
}
