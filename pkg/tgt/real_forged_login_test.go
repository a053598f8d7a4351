package tgt_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/internal/iscsilogin"
)

const (
	hostilePrefix   = "iqn.2026-11.io.csi.lvm-iscsi"
	hostileAttacker = "iqn.1993-08.org.debian:01:attacker"
	hostileVictim   = "iqn.1993-08.org.debian:01:victim"
)

// fileLVM is lvmfake whose LVs are backed by regular files, so that a real
// tgtd can open them as backing stores.
type fileLVM struct {
	*lvmfake.Fake
	dir string
}

func (l *fileLVM) backed(lv *lvm.LV) (*lvm.LV, error) {
	if lv == nil {
		return nil, nil
	}
	lv.Path = filepath.Join(l.dir, lv.Name)
	if _, err := os.Stat(lv.Path); os.IsNotExist(err) {
		f, err := os.Create(lv.Path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := f.Truncate(int64(lv.Size)); err != nil {
			return nil, err
		}
	}
	return lv, nil
}

func (l *fileLVM) GetLV(ctx context.Context, vg, name string) (*lvm.LV, error) {
	lv, err := l.Fake.GetLV(ctx, vg, name)
	if err != nil {
		return nil, err
	}
	return l.backed(lv)
}

func (l *fileLVM) ListLVs(ctx context.Context, vg string) ([]lvm.LV, error) {
	lvs, err := l.Fake.ListLVs(ctx, vg)
	for i := range lvs {
		if _, err := l.backed(&lvs[i]); err != nil {
			return nil, err
		}
	}
	return lvs, err
}

type noBlocks struct{}

func (noBlocks) Zero(context.Context, string) error                       { return nil }
func (noBlocks) ZeroRange(context.Context, string, uint64, uint64) error  { return nil }
func (noBlocks) Copy(context.Context, string, string, uint64, bool) error { return nil }

// hostileSetup is a pool on a real tgtd with two published volumes: A,
// published to the attacker's initiator, and V, the victim's.
type hostileSetup struct {
	tgtd       interface{ Portal() string }
	adm        *tgt.Tgt
	port       int
	pool       *pool.Pool
	lvDir      string
	iqnA, iqnV string
	idA, idV   string
}

func newHostileSetup(t *testing.T) *hostileSetup {
	d := tgt.StartRealTgtd(t)
	ctx := context.Background()
	l := &fileLVM{Fake: lvmfake.New("vg0", 1<<30, 4<<20), dir: t.TempDir()}
	secrets, err := pool.NewFileSecrets(filepath.Join(t.TempDir(), "chap"))
	if err != nil {
		t.Fatal(err)
	}
	// CHAP off: the attacker is a node the volume is published to, so it
	// would have A's CHAP secret anyway; the ACL is what admits it here.
	cfg := pool.Config{VolumeGroup: "vg0", Portal: d.Portal(), IQNPrefix: hostilePrefix, OverprovisionRatio: 1}
	p, err := pool.New(cfg, l, d.Client(), secrets, noBlocks{})
	if err != nil {
		t.Fatal(err)
	}
	s := &hostileSetup{tgtd: d, adm: d.Client(), port: d.ControlPort(), pool: p, lvDir: l.dir}
	a, err := p.Create(ctx, pool.CreateRequest{Name: "tenant-a", RequiredSize: 8 << 20, Provisioning: pool.Thick})
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Create(ctx, pool.CreateRequest{Name: "tenant-v", RequiredSize: 8 << 20, Provisioning: pool.Thick})
	if err != nil {
		t.Fatal(err)
	}
	s.idA, s.idV, s.iqnA, s.iqnV = a.ID, v.ID, p.IQN(a.ID), p.IQN(v.ID)
	if _, err := p.Publish(ctx, a.ID, pool.Node{ID: "attacker/" + hostileAttacker, Initiator: hostileAttacker}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, v.ID, pool.Node{ID: "victim/" + hostileVictim, Initiator: hostileVictim}, false); err != nil {
		t.Fatal(err)
	}
	return s
}

// raw is tgtadm's own output, read without this package.
func (s *hostileSetup) raw(t *testing.T, args ...string) string {
	t.Helper()
	argv := append([]string{"--lld", "iscsi", "-C", strconv.Itoa(s.port), "--op", "show"}, args...)
	out, err := exec.Command("tgtadm", argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("tgtadm %q: %v: %s", argv, err, out)
	}
	return string(out)
}

func (s *hostileSetup) login(t *testing.T, initiator, target, alias string) *iscsilogin.Session {
	t.Helper()
	sess, err := iscsilogin.Login(s.tgtd.Portal(), iscsilogin.Params{InitiatorName: initiator, InitiatorAlias: alias, TargetName: target}, 10*time.Second)
	if err != nil {
		t.Fatalf("login of %s to %s: %v", initiator, target, err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

// waitSessions waits until tgtd has n sessions on tid, by its connection
// listing (which carries no alias).
func (s *hostileSetup) waitSessions(t *testing.T, tid, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(s.raw(t, "--mode", "conn", "--tid", strconv.Itoa(tid)), "Session: ") != n {
		if time.Now().After(deadline) {
			t.Fatalf("tgtd does not show %d sessions on target %d", n, tid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// want is the true state: which tid serves which volume's LV, whom it
// admits and who is logged in.
type wantTarget struct {
	tid       int
	iqn       string
	lv        string
	initiator string
	sessions  []string // initiator names
}

func (s *hostileSetup) check(t *testing.T, targets []tgt.Target, want []wantTarget) {
	t.Helper()
	if len(targets) != len(want) {
		t.Errorf("ListTargets gave %d targets, want %d: %+v", len(targets), len(want), targets)
		return
	}
	for i, w := range want {
		got := targets[i]
		var sessions []string
		for _, se := range got.Sessions {
			sessions = append(sessions, se.Initiator)
			if len(se.Connections) != 1 || se.Connections[0].IP != "127.0.0.1" || se.Alias != "" {
				t.Errorf("target %d: session %+v, want one connection from 127.0.0.1 and no alias read", got.TID, se)
			}
		}
		if got.TID != w.tid || got.IQN != w.iqn || len(got.LUNs) != 1 || got.LUNs[0].BackingStore != filepath.Join(s.lvDir, w.lv) ||
			!slices.Equal(got.InitiatorNames, []string{w.initiator}) || !slices.Equal(sessions, w.sessions) {
			t.Errorf("target %d is\n%+v\nwant tid %d %s backed by %s, ACL %s, sessions %q", i, got, w.tid, w.iqn, w.lv, w.initiator, w.sessions)
		}
	}
}

// TestRealTgtdForgedAliasCannotMoveAVolume logs in to a real tgtd the way a
// hostile node could (an InitiatorAlias with line breaks that forges a
// target header naming the victim's IQN at the attacker's tid), then lists
// through this package and reconciles the pool: the listing must be read
// as it really is and nothing may move.
func TestRealTgtdForgedAliasCannotMoveAVolume(t *testing.T) {
	s := newHostileSetup(t)
	ctx := context.Background()
	targets, err := s.adm.ListTargets(ctx)
	if err != nil || len(targets) != 2 || targets[0].IQN != s.iqnA || targets[1].IQN != s.iqnV {
		t.Fatalf("before any login: %+v, %v", targets, err)
	}
	tidA, tidV := targets[0].TID, targets[1].TID
	truth := []wantTarget{
		{tid: tidA, iqn: s.iqnA, lv: s.idA, initiator: hostileAttacker, sessions: []string{hostileAttacker}},
		{tid: tidV, iqn: s.iqnV, lv: s.idV, initiator: hostileVictim, sessions: []string{hostileVictim}},
	}

	s.login(t, hostileVictim, s.iqnV, "")
	for _, tc := range []struct{ name, alias string }{
		{"header naming the victim at the attacker's tid", "x\nTarget " + strconv.Itoa(tidA) + ": " + s.iqnV + "\n    Account information:"},
		{"fake block with a LUN on the victim's LV", "x\nTarget 9: " + s.iqnV + "\n    LUN information:\n        LUN: 1\n            Backing store path: " +
			filepath.Join(s.lvDir, s.idV) + "\n    ACL information:\n        " + hostileAttacker},
		{"plain alias with a line break", "worker-1\nrack 7"},
		{"alias longer than tgt's session buffer", "x\n    LUN information:\n" + strings.Repeat("y", 1100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := s.login(t, hostileAttacker, s.iqnA, tc.alias)
			s.waitSessions(t, tidA, 1)
			s.waitSessions(t, tidV, 1)
			// The login really happened, and tgtd prints the alias
			// verbatim (cut at its 1024-byte buffer).
			raw := s.raw(t, "--mode", "target")
			if first, _, _ := strings.Cut(tc.alias, "\n"); !strings.Contains(raw, hostileAttacker+" alias: "+first) {
				t.Fatalf("tgtd does not show the attacker's session with its alias:\n%s", raw)
			}

			if targets, err := s.adm.ListTargets(ctx); err != nil {
				t.Errorf("ListTargets: %v", err)
			} else {
				s.check(t, targets, truth)
			}
			// The readings without every target's sessions (what a
			// publish, an unpublish or a delete reads) are as true.
			if targets, err := s.adm.ListTargetsWithoutSessions(ctx, nil); err != nil {
				t.Errorf("ListTargetsWithoutSessions: %v", err)
			} else {
				noSessions := slices.Clone(truth)
				for i := range noSessions {
					noSessions[i].sessions = nil
				}
				s.check(t, targets, noSessions)
			}
			for _, w := range truth {
				sessions, err := s.adm.TargetSessions(ctx, w.tid, w.iqn)
				if err != nil || len(sessions) != 1 || sessions[0].Initiator != w.sessions[0] {
					t.Errorf("TargetSessions(%d, %s) = %+v, %v; want the one session of %s", w.tid, w.iqn, sessions, err, w.sessions[0])
				}
			}
			if _, err := s.pool.Publish(ctx, s.idV, pool.Node{ID: "victim/" + hostileVictim, Initiator: hostileVictim}, false); err != nil {
				t.Errorf("Publish of the victim's volume again: %v", err)
			}
			if err := s.pool.Reconcile(ctx); err != nil {
				t.Errorf("Reconcile: %v", err)
			}
			if t.Failed() {
				t.Logf("tgtd's listing:\n%s", s.raw(t, "--mode", "target"))
			}
			// With the attacker gone the listing holds no hostile text:
			// read what the reconcile left.
			sess.Close()
			s.waitSessions(t, tidA, 0)
			targets, err := s.adm.ListTargets(ctx)
			if err != nil {
				t.Fatalf("ListTargets once the attacker left: %v", err)
			}
			left := slices.Clone(truth)
			left[0].sessions = nil
			s.check(t, targets, left)
		})
	}
}

// An alias that repeats a real header exactly makes the listing ambiguous:
// it is refused, and the pool changes nothing.
func TestRealTgtdAliasCopyingARealHeaderIsRefused(t *testing.T) {
	s := newHostileSetup(t)
	ctx := context.Background()
	before := s.raw(t, "--mode", "target")
	targets, err := s.adm.ListTargets(ctx)
	if err != nil || len(targets) != 2 {
		t.Fatalf("before any login: %+v, %v", targets, err)
	}
	tidA, tidV := targets[0].TID, targets[1].TID

	s.login(t, hostileAttacker, s.iqnA, "x\nTarget "+strconv.Itoa(tidV)+": "+s.iqnV)
	s.waitSessions(t, tidA, 1)
	if _, err := s.adm.ListTargets(ctx); err == nil || !strings.Contains(err.Error(), "more than once") {
		t.Errorf("ListTargets = %v, want an error about a header there more than once", err)
	}
	if err := s.pool.Reconcile(ctx); err == nil {
		t.Error("Reconcile succeeded on an ambiguous listing")
	}
	after := s.raw(t, "--mode", "target")
	// Nothing but the session differs.
	if strings.Count(after, "Backing store path: "+filepath.Join(s.lvDir, s.idA)) != 1 ||
		strings.Count(after, "Backing store path: "+filepath.Join(s.lvDir, s.idV)) != 1 ||
		strings.Count(before, "LUN: ") != strings.Count(after, "LUN: ") {
		t.Errorf("tgtd changed:\n%s\nwas\n%s", after, before)
	}
}
