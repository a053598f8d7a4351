package pool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

// These tests check that pool keeps the whole chain of a tool failure: a
// caller sees the pool sentinel (what pkg/driver maps) and, behind it, the
// tool's sentinel, the *toolerr.Error and the *runner.ExitError with the
// tool's own words. The failures are real ones: lvm and tgtadm output
// recorded in pkg/lvm/testdata and pkg/tgt/testdata, classified by the real
// pkg/lvm and pkg/tgt, then handed to the fakes as the next result of the
// call that would have produced them.

// readRecorded reads one file of a recording in another package's testdata.
func readRecorded(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("recording: %v", err)
	}
	return string(b)
}

// lvmFailure runs call on a real *lvm.LVM whose one command plays back the
// recording name from pkg/lvm/testdata, and returns the error pkg/lvm made
// of it. call must run exactly the recorded command line.
func lvmFailure(t *testing.T, name string, call func(*lvm.LVM) error) error {
	t.Helper()
	rc, err := strconv.Atoi(strings.TrimSpace(readRecorded(t, "lvm/testdata/"+name+".rc")))
	if err != nil || rc == 0 {
		t.Fatalf("recording %s: exit code %d (%v) is not a failure", name, rc, err)
	}
	fake := runnertest.NewFake(t, runnertest.Call{
		Argv:     strings.Split(strings.TrimSuffix(readRecorded(t, "lvm/testdata/"+name+".argv"), "\n"), "\n"),
		Stdout:   readRecorded(t, "lvm/testdata/"+name+".stdout"),
		Stderr:   readRecorded(t, "lvm/testdata/"+name+".stderr"),
		ExitCode: rc,
	})
	err = call(lvm.New(runner.New(fake, 0), 1))
	if err == nil {
		t.Fatalf("recording %s: the call succeeded", name)
	}
	return err
}

// tgtFailure is lvmFailure for tgtadm: the recorded failure name from
// pkg/tgt/testdata/failures, as pkg/tgt returns it from ListTargets.
func tgtFailure(t *testing.T, name string) error {
	t.Helper()
	code, err := strconv.Atoi(strings.TrimSpace(readRecorded(t, "tgt/testdata/failures/"+name+".exitcode")))
	if err != nil {
		t.Fatal(err)
	}
	const port = 4217 // pkg/tgt/testdata/record.sh's
	fake := runnertest.NewFake(t, runnertest.Call{
		// ListTargets starts with the listing of target names (pkg/tgt list.go).
		Argv:     []string{"tgtadm", "--lld", "iscsi", "-C", strconv.Itoa(port), "--op", "show", "--mode", "lld"},
		Stderr:   readRecorded(t, "tgt/testdata/failures/"+name+".stderr"),
		ExitCode: code,
	})
	_, err = tgt.New(runner.New(fake, 0), port).ListTargets(context.Background())
	if err == nil {
		t.Fatalf("recording %s: the call succeeded", name)
	}
	return err
}

// Recorded lvm failures, each with the call that makes its command line.
var (
	lvcreateNoSpace = func(l *lvm.LVM) error {
		_, err := l.CreateLV(context.Background(), "csivg", lvm.CreateOptions{Name: "huge", Size: 10 << 30})
		return err
	}
	lvcreateThinThreshold = func(l *lvm.LVM) error {
		_, err := l.CreateLV(context.Background(), "csivg", lvm.CreateOptions{Name: "thin4", Size: 8 << 20, ThinPool: "pool2"})
		return err
	}
	lvcreateCOWNoSpace = func(l *lvm.LVM) error {
		_, err := l.CreateSnapshot(context.Background(), "csivg", "big", lvm.CreateOptions{Name: "cow3", Size: 465567744})
		return err
	}
	lvcreateThinSnapshotThreshold = func(l *lvm.LVM) error {
		_, err := l.CreateSnapshot(context.Background(), "csivg", "fill", lvm.CreateOptions{Name: "snap4"})
		return err
	}
	lvextendNoSpace = func(l *lvm.LVM) error {
		return l.ExtendLV(context.Background(), "csivg", "foreign", 10<<30)
	}
	vgsMissing = func(l *lvm.LVM) error {
		_, err := l.GetVG(context.Background(), "nosuchvg")
		return err
	}
	lvsMissingVG = func(l *lvm.LVM) error {
		_, err := l.ListLVs(context.Background(), "nosuchvg")
		return err
	}
)

// assertChain checks that err matches every one of want, carries the
// *toolerr.Error of tool and the recorded *runner.ExitError whose stderr
// says stderr.
func assertChain(t *testing.T, what string, err error, tool, stderr string, want ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("%s: errors.Is(%q, %q) = false", what, err, w)
		}
	}
	var te *toolerr.Error
	if !errors.As(err, &te) || te.Tool != tool {
		t.Errorf("%s: %q does not carry the *toolerr.Error of %s", what, err, tool)
	}
	var exitErr *runner.ExitError
	if !errors.As(err, &exitErr) || !strings.Contains(exitErr.Stderr, stderr) {
		t.Errorf("%s: %q does not carry the recorded *runner.ExitError", what, err)
	}
	if !strings.Contains(err.Error(), stderr) {
		t.Errorf("%s: message %q lost the tool's words %q", what, err, stderr)
	}
}

func TestNoSpaceKeepsTheLVMChain(t *testing.T) {
	const vgFull, poolFull = "insufficient free space", "reached threshold"
	const lvextendFull = "Insufficient free space"
	for _, tc := range []struct {
		name      string
		thin      bool
		recording string
		lvmCall   func(*lvm.LVM) error
		method    string // the lvm.Interface method that fails
		stderr    string
		// setup prepares the scene and returns the call under test.
		setup func(t *testing.T, e *env) func() error
	}{
		{"create thick", false, "lvcreate-nospace", lvcreateNoSpace, "CreateLV", vgFull, func(t *testing.T, e *env) func() error {
			return func() error {
				_, err := e.pool.Create(e.ctx, CreateRequest{Name: "pvc-1", RequiredSize: 8 * mib, Provisioning: Thick})
				return err
			}
		}},
		{"create thin", true, "lvcreate-thin-threshold", lvcreateThinThreshold, "CreateLV", poolFull, func(t *testing.T, e *env) func() error {
			return func() error {
				_, err := e.pool.Create(e.ctx, CreateRequest{Name: "pvc-1", RequiredSize: 8 * mib, Provisioning: Thin})
				return err
			}
		}},
		{"clone a thick volume (its scratch snapshot)", false, "lvcreate-cow-snapshot-nospace", lvcreateCOWNoSpace, "CreateSnapshot", vgFull, func(t *testing.T, e *env) func() error {
			src := e.create(t, "src", 8*mib, Thick)
			return func() error {
				_, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", Provisioning: Thick, SourceVolume: src.ID})
				return err
			}
		}},
		{"clone thick from a snapshot", false, "lvcreate-nospace", lvcreateNoSpace, "CreateLV", vgFull, func(t *testing.T, e *env) func() error {
			src := e.create(t, "src", 8*mib, Thick)
			snap, err := e.pool.CreateSnapshot(e.ctx, "snap", src.ID)
			if err != nil {
				t.Fatal(err)
			}
			return func() error {
				_, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", Provisioning: Thick, SourceSnapshot: snap.ID})
				return err
			}
		}},
		{"clone a thin volume (a thin snapshot)", true, "lvcreate-thin-snapshot-threshold", lvcreateThinSnapshotThreshold, "CreateSnapshot", poolFull, func(t *testing.T, e *env) func() error {
			src := e.create(t, "src", 8*mib, Thin)
			return func() error {
				_, err := e.pool.Create(e.ctx, CreateRequest{Name: "clone", Provisioning: Thin, SourceVolume: src.ID})
				return err
			}
		}},
		{"expand", false, "lvextend-nospace", lvextendNoSpace, "ExtendLV", lvextendFull, func(t *testing.T, e *env) func() error {
			v := e.create(t, "pvc-1", 8*mib, Thick)
			return func() error {
				_, err := e.pool.Expand(e.ctx, v.ID, 16*mib, 0)
				return err
			}
		}},
		{"snapshot a thick volume", false, "lvcreate-cow-snapshot-nospace", lvcreateCOWNoSpace, "CreateSnapshot", vgFull, func(t *testing.T, e *env) func() error {
			v := e.create(t, "pvc-1", 8*mib, Thick)
			return func() error {
				_, err := e.pool.CreateSnapshot(e.ctx, "snap", v.ID)
				return err
			}
		}},
		{"snapshot a thin volume", true, "lvcreate-thin-snapshot-threshold", lvcreateThinSnapshotThreshold, "CreateSnapshot", poolFull, func(t *testing.T, e *env) func() error {
			v := e.create(t, "pvc-1", 8*mib, Thin)
			return func() error {
				_, err := e.pool.CreateSnapshot(e.ctx, "snap", v.ID)
				return err
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.thin)
			call := tc.setup(t, e)
			// pool's own room check passes; lvm then refuses, as when the
			// space went in between (or lvm counts differently).
			e.lvm.FailNext(tc.method, lvmFailure(t, tc.recording, tc.lvmCall))
			err := call()
			assertChain(t, tc.name, err, "lvm", tc.stderr, ErrNoSpace, lvm.ErrNoSpace, toolerr.ErrNoSpace)
			for _, other := range []error{ErrUnavailable, ErrNotFound, lvm.ErrNotFound, lvm.ErrVGNotFound} {
				if errors.Is(err, other) {
					t.Errorf("%q also matches %q", err, other)
				}
			}
			if n := e.lvm.Calls(tc.method); n == 0 {
				t.Errorf("%s was never called", tc.method)
			}
		})
	}
}

// A missing volume group is the storage host not being ready: pool's
// ErrUnavailable, with lvm's ErrVGNotFound behind it (never pool's
// ErrNotFound, which would say the volume is gone).
func TestMissingVGKeepsTheLVMChain(t *testing.T) {
	const stderr = `Volume group "nosuchvg" not found`
	for _, tc := range []struct {
		name, recording, method string
		lvmCall                 func(*lvm.LVM) error
		call                    func(e *env, v Volume) error
	}{
		// CreateVolume and CreateSnapshot read the VG through their one lvs
		// (report.go).
		{"create", "lvs-missing-vg", "ListLVs", lvsMissingVG, func(e *env, _ Volume) error {
			_, err := e.pool.Create(e.ctx, CreateRequest{Name: "pvc-2", Provisioning: Thick})
			return err
		}},
		{"capacity", "vgs-missing", "GetVG", vgsMissing, func(e *env, _ Volume) error {
			_, err := e.pool.Capacity(e.ctx, Thick)
			return err
		}},
		{"expand", "vgs-missing", "GetVG", vgsMissing, func(e *env, v Volume) error {
			_, err := e.pool.Expand(e.ctx, v.ID, 16*mib, 0)
			return err
		}},
		{"snapshot", "lvs-missing-vg", "ListLVs", lvsMissingVG, func(e *env, v Volume) error {
			_, err := e.pool.CreateSnapshot(e.ctx, "snap", v.ID)
			return err
		}},
		{"list", "lvs-missing-vg", "ListLVs", lvsMissingVG, func(e *env, _ Volume) error {
			_, err := e.pool.List(e.ctx)
			return err
		}},
		{"list snapshots", "lvs-missing-vg", "ListLVs", lvsMissingVG, func(e *env, _ Volume) error {
			_, err := e.pool.ListSnapshots(e.ctx)
			return err
		}},
		{"reconcile", "lvs-missing-vg", "ListLVs", lvsMissingVG, func(e *env, _ Volume) error {
			return e.pool.Reconcile(e.ctx)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			v := e.create(t, "pvc-1", 8*mib, Thick)
			e.lvm.FailNext(tc.method, lvmFailure(t, tc.recording, tc.lvmCall))
			err := tc.call(e, v)
			assertChain(t, tc.name, err, "lvm", stderr, ErrUnavailable, lvm.ErrVGNotFound)
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNoSpace) {
				t.Errorf("%q matches another pool sentinel", err)
			}
		})
	}
}

// The same without injection: a pool configured with a VG the host does
// not have (lvmfake's own ErrVGNotFound).
func TestMisnamedVGIsUnavailable(t *testing.T) {
	e := newEnv(t, false)
	p, err := New(Config{VolumeGroup: "nosuchvg", Portal: "192.0.2.10:3260", IQNPrefix: testPrefix}, e.lvm, e.tgt, e.secrets, e.wiper)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Create(e.ctx, CreateRequest{Name: "pvc-1", Provisioning: Thick})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, lvm.ErrVGNotFound) || errors.Is(err, ErrNotFound) {
		t.Errorf("Create on a missing VG = %v, want ErrUnavailable and lvm.ErrVGNotFound", err)
	}
	_, err = p.List(e.ctx)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, lvm.ErrVGNotFound) || errors.Is(err, lvm.ErrNotFound) {
		t.Errorf("List on a missing VG = %v, want ErrUnavailable and lvm.ErrVGNotFound only", err)
	}
}

// tgtd down is pool's ErrUnavailable with tgt's ErrDaemonUnreachable and
// tgtadm's message behind it.
func TestTgtdDownKeepsTheTgtChain(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	e.tgt.FailNext("ListTargetNames", tgtFailure(t, "daemon-not-running")) // publish's first reading
	_, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	assertChain(t, "publish", err, "tgt", "tgt daemon", ErrUnavailable, tgt.ErrDaemonUnreachable, toolerr.ErrUnavailable)
}

// The shared "not found" cannot turn a tgt failure into "volume already
// gone": Delete tests it only on lvm's own answers, so a tgt not-found on
// the way fails the delete and keeps the LV.
func TestTgtNotFoundIsNotVolumeGone(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	notFound := &toolerr.Error{Tool: "tgt", Op: "list target names", Kinds: []error{tgt.ErrNotFound}}
	e.tgt.FailNext("ListTargetNames", notFound) // delete's first reading
	err := e.pool.Delete(e.ctx, v.ID)
	if err == nil || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Delete with tgtd answering not found = %v, want ErrUnavailable", err)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, v.ID); err != nil {
		t.Errorf("the LV went although the delete failed: %v", err)
	}
	if len(e.wiper.zeroed) != 0 {
		t.Errorf("zeroed %v although the target could not be taken down", e.wiper.zeroed)
	}
}
