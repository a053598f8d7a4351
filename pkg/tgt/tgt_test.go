package tgt

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
)

const (
	volIQN  = "iqn.2026-11.io.csi.lvm-iscsi:vol-a"
	nodeIQN = "iqn.1993-08.org.debian:01:node-a"
	lvPath  = "/dev/vg0/vol-a"
)

var ctx = context.Background()

func TestListTargets(t *testing.T) {
	lld := runnertest.Call{Argv: tgtadm("--op", "show", "--mode", "lld"), Stdout: testdata(t, "show-lld.txt")}
	tg := newTestTgt(t, lld, runnertest.Call{Argv: tgtadm("--op", "show", "--mode", "target"), Stdout: testdata(t, "show-target.txt")}, lld)
	got, err := tg.ListTargets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], recordedVolA) {
		t.Errorf("ListTargets = %+v", got)
	}
}

func TestListAccounts(t *testing.T) {
	tg := newTestTgt(t, runnertest.Call{Argv: tgtadm("--op", "show", "--mode", "account"), Stdout: testdata(t, "show-account.txt")})
	got, err := tg.ListAccounts(ctx)
	if err != nil || !reflect.DeepEqual(got, []string{"vol-a-out", "vol-a-in2", "vol-a-in"}) {
		t.Errorf("ListAccounts = %q, %v", got, err)
	}
}

// TestCommands checks the exact tgtadm command line of every mutating
// method.
func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(*Tgt) error
		want [][]string
	}{
		{"CreateTarget", func(tg *Tgt) error { return tg.CreateTarget(ctx, 3, volIQN) },
			[][]string{tgtadm("--op", "new", "--mode", "target", "--tid", "3", "--targetname", volIQN)}},
		{"DeleteTarget", func(tg *Tgt) error { return tg.DeleteTarget(ctx, 3) },
			[][]string{tgtadm("--op", "delete", "--mode", "target", "--force", "--tid", "3")}},
		{"AddLUN", func(tg *Tgt) error {
			return tg.AddLUN(ctx, 3, 1, lvPath, LUNParams{SCSIID: "vol-a", SCSISN: "vol-a", ThinProvisioning: true})
		}, [][]string{
			tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "--backing-store", lvPath),
			tgtadm("--op", "update", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "--params", "scsi_id=vol-a,scsi_sn=vol-a,thin_provisioning=1"),
		}},
		{"AddLUN thick with tgt's default serial", func(tg *Tgt) error { return tg.AddLUN(ctx, 3, 1, lvPath, LUNParams{}) }, [][]string{
			tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "--backing-store", lvPath),
			tgtadm("--op", "update", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "--params", "thin_provisioning=0"),
		}},
		{"AddLUN with the write cache off", func(tg *Tgt) error {
			return tg.AddLUN(ctx, 3, 1, lvPath, LUNParams{SCSIID: "vol-a", SCSISN: "vol-a", WriteCacheOff: true})
		}, [][]string{
			tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "--backing-store", lvPath),
			tgtadm("--op", "update", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "--params",
				"scsi_id=vol-a,scsi_sn=vol-a,thin_provisioning=0,mode_page=8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0"),
		}},
		{"DeleteLUN", func(tg *Tgt) error { return tg.DeleteLUN(ctx, 3, 1) },
			[][]string{tgtadm("--op", "delete", "--mode", "logicalunit", "--tid", "3", "--lun", "1")}},
		{"RefreshLUN", func(tg *Tgt) error { return tg.RefreshLUN(ctx, 3, 1, lvPath) }, [][]string{
			tgtadm("--op", "update", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "--params", "online=0"),
			tgtadm("--op", "update", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "--params", "path="+lvPath),
		}},
		{"SetTargetState offline", func(tg *Tgt) error { return tg.SetTargetState(ctx, 3, StateOffline) },
			[][]string{tgtadm("--op", "update", "--mode", "target", "--tid", "3", "--name", "state", "--value", "offline")}},
		{"SetTargetState ready", func(tg *Tgt) error { return tg.SetTargetState(ctx, 3, StateReady) },
			[][]string{tgtadm("--op", "update", "--mode", "target", "--tid", "3", "--name", "state", "--value", "ready")}},
		{"BindInitiator", func(tg *Tgt) error { return tg.BindInitiator(ctx, 3, nodeIQN) },
			[][]string{tgtadm("--op", "bind", "--mode", "target", "--tid", "3", "--initiator-name", nodeIQN)}},
		{"UnbindInitiator", func(tg *Tgt) error { return tg.UnbindInitiator(ctx, 3, nodeIQN) },
			[][]string{tgtadm("--op", "unbind", "--mode", "target", "--tid", "3", "--initiator-name", nodeIQN)}},
		{"CreateAccount", func(tg *Tgt) error { return tg.CreateAccount(ctx, "vol-a-in", "pa$$ word,1") },
			[][]string{tgtadm("--op", "new", "--mode", "account", "--user", "vol-a-in", "--password", "pa$$ word,1")}},
		{"DeleteAccount", func(tg *Tgt) error { return tg.DeleteAccount(ctx, "vol-a-in") },
			[][]string{tgtadm("--op", "delete", "--mode", "account", "--user", "vol-a-in")}},
		{"BindAccount", func(tg *Tgt) error { return tg.BindAccount(ctx, 3, "vol-a-in") },
			[][]string{tgtadm("--op", "bind", "--mode", "account", "--tid", "3", "--user", "vol-a-in")}},
		{"CloseConnection", func(tg *Tgt) error { return tg.CloseConnection(ctx, 3, 2, 0) },
			[][]string{tgtadm("--op", "delete", "--mode", "connection", "--tid", "3", "--sid", "2", "--cid", "0")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []runnertest.Call
			for _, argv := range tc.want {
				calls = append(calls, runnertest.Call{Argv: argv})
			}
			if err := tc.call(newTestTgt(t, calls...)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRecordedFailures replays every failure testdata/record.sh recorded
// and checks which sentinel it becomes.
func TestRecordedFailures(t *testing.T) {
	show := tgtadm("--op", "show", "--mode", "lld")
	newTarget := func(tid, name string) []string {
		return tgtadm("--op", "new", "--mode", "target", "--tid", tid, "--targetname", name)
	}
	newLUN := tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "--backing-store", lvPath)
	for _, tc := range []struct {
		failure string
		want    error
		argv    []string
		call    func(*Tgt) error
	}{
		{"daemon-not-running", ErrDaemonUnreachable, show, func(tg *Tgt) error { _, err := tg.ListTargets(ctx); return err }},
		{"daemon-gone", ErrDaemonUnreachable, show, func(tg *Tgt) error { _, err := tg.ListTargets(ctx); return err }},
		{"target-tid-exists", ErrExists, newTarget("1", volIQN), func(tg *Tgt) error { return tg.CreateTarget(ctx, 1, volIQN) }},
		{"target-name-exists", ErrExists, newTarget("2", volIQN), func(tg *Tgt) error { return tg.CreateTarget(ctx, 2, volIQN) }},
		{"target-not-found", ErrNotFound, tgtadm("--op", "delete", "--mode", "target", "--force", "--tid", "9"),
			func(tg *Tgt) error { return tg.DeleteTarget(ctx, 9) }},
		{"target-active", ErrBusy, tgtadm("--op", "delete", "--mode", "target", "--force", "--tid", "9"),
			func(tg *Tgt) error { return tg.DeleteTarget(ctx, 9) }},
		{"lun-exists", ErrExists, newLUN, func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, lvPath, LUNParams{}) }},
		{"lun-target-not-found", ErrNotFound, newLUN, func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, lvPath, LUNParams{}) }},
		{"lun-backing-store-missing", ErrInvalid, newLUN, func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, lvPath, LUNParams{}) }},
		{"lun-not-found", ErrNotFound, tgtadm("--op", "delete", "--mode", "logicalunit", "--tid", "1", "--lun", "5"),
			func(tg *Tgt) error { return tg.DeleteLUN(ctx, 1, 5) }},
		{"lun-update-not-found", ErrNotFound, tgtadm("--op", "update", "--mode", "logicalunit", "--tid", "1", "--lun", "5", "--params", "online=0"),
			func(tg *Tgt) error { return tg.RefreshLUN(ctx, 1, 5, lvPath) }},
		{"acl-exists", ErrExists, tgtadm("--op", "bind", "--mode", "target", "--tid", "1", "--initiator-name", nodeIQN),
			func(tg *Tgt) error { return tg.BindInitiator(ctx, 1, nodeIQN) }},
		{"acl-target-not-found", ErrNotFound, tgtadm("--op", "bind", "--mode", "target", "--tid", "1", "--initiator-name", nodeIQN),
			func(tg *Tgt) error { return tg.BindInitiator(ctx, 1, nodeIQN) }},
		{"acl-not-found", ErrNotFound, tgtadm("--op", "unbind", "--mode", "target", "--tid", "1", "--initiator-name", nodeIQN),
			func(tg *Tgt) error { return tg.UnbindInitiator(ctx, 1, nodeIQN) }},
		{"account-exists", ErrExists, tgtadm("--op", "new", "--mode", "account", "--user", "u", "--password", "secret-secret"),
			func(tg *Tgt) error { return tg.CreateAccount(ctx, "u", "secret-secret") }},
		{"account-not-found", ErrNotFound, tgtadm("--op", "delete", "--mode", "account", "--user", "u"),
			func(tg *Tgt) error { return tg.DeleteAccount(ctx, "u") }},
		{"account-bind-not-found", ErrNotFound, tgtadm("--op", "bind", "--mode", "account", "--tid", "1", "--user", "u"),
			func(tg *Tgt) error { return tg.BindAccount(ctx, 1, "u") }},
		{"account-bind-exists", ErrExists, tgtadm("--op", "bind", "--mode", "account", "--tid", "1", "--user", "u"),
			func(tg *Tgt) error { return tg.BindAccount(ctx, 1, "u") }},
		{"connection-session-not-found", ErrNotFound, tgtadm("--op", "delete", "--mode", "connection", "--tid", "1", "--sid", "99", "--cid", "0"),
			func(tg *Tgt) error { return tg.CloseConnection(ctx, 1, 99, 0) }},
		{"connection-not-found", ErrNotFound, tgtadm("--op", "delete", "--mode", "connection", "--tid", "1", "--sid", "99", "--cid", "0"),
			func(tg *Tgt) error { return tg.CloseConnection(ctx, 1, 99, 0) }},
	} {
		t.Run(tc.failure, func(t *testing.T) {
			call := recordedFailure(t, tc.failure, tc.argv)
			err := tc.call(newTestTgt(t, call))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, other := range []error{ErrNotFound, ErrExists, ErrDaemonUnreachable, ErrBusy, ErrInvalid} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("err = %v also matches %v", err, other)
				}
			}
			var exitErr *runner.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode != call.ExitCode {
				t.Errorf("err = %v does not carry tgtadm's exit code %d", err, call.ExitCode)
			}
			var te *toolerr.Error
			if !errors.As(err, &te) || te.Tool != "tgt" || !strings.HasPrefix(err.Error(), "tgt: ") {
				t.Errorf("err = %q is not a *toolerr.Error of tgt", err)
			}
		})
	}
}

// TestRecordedFailuresOfUnusedCommands classifies the recorded failures of
// tgtadm commands this package no longer runs (mutual CHAP, unbinding an
// account): the table still knows tgtd's wording.
func TestRecordedFailuresOfUnusedCommands(t *testing.T) {
	for failure, want := range map[string]error{
		"account-outgoing-exists":  ErrExists,
		"account-unbind-not-bound": ErrNotFound,
	} {
		code, _ := strconv.Atoi(strings.TrimSpace(testdata(t, "failures/"+failure+".exitcode")))
		err := classify("op", &runner.ExitError{ExitCode: code, Stderr: testdata(t, "failures/"+failure+".stderr")})
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", failure, err, want)
		}
	}
}

func TestUnrecognisedFailureKeepsExitError(t *testing.T) {
	tg := newTestTgt(t, runnertest.Call{Argv: tgtadm("--op", "delete", "--mode", "target", "--force", "--tid", "1"), Stderr: "tgtadm: out of memory\n", ExitCode: 22})
	err := tg.DeleteTarget(ctx, 1)
	var tgtErr *toolerr.Error
	if !errors.As(err, &tgtErr) || len(tgtErr.Kinds) != 0 {
		t.Fatalf("err = %#v, want *toolerr.Error without a kind", err)
	}
	if runner.ExitCode(err) != 22 || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("err = %v lost tgtadm's exit code or message", err)
	}
}

// TestAddLUNRemovesLUNWhenParamsFail: a LUN left with tgt's default serial
// could be taken by a node for another volume's disk.
func TestAddLUNRemovesLUNWhenParamsFail(t *testing.T) {
	tg := newTestTgt(t,
		runnertest.Call{Argv: tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "--backing-store", lvPath)},
		recordedFailure(t, "lun-update-not-found", tgtadm("--op", "update", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "--params", "scsi_id=vol-a,scsi_sn=vol-a,thin_provisioning=0")),
		runnertest.Call{Argv: tgtadm("--op", "delete", "--mode", "logicalunit", "--tid", "1", "--lun", "1")},
	)
	err := tg.AddLUN(ctx, 1, 1, lvPath, LUNParams{SCSIID: "vol-a", SCSISN: "vol-a"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want the update's ErrNotFound", err)
	}
}

func TestCreateAccountMasksPassword(t *testing.T) {
	const password = "Zq8-very-secret"
	tg := newTestTgt(t, runnertest.Call{
		Argv:     tgtadm("--op", "new", "--mode", "account", "--user", "u", "--password", password),
		Stderr:   testdata(t, "failures/account-exists.stderr"),
		ExitCode: 22,
	})
	err := tg.CreateAccount(ctx, "u", password)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	if strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), runner.Masked) {
		t.Errorf("err = %q shows the password or no mask", err)
	}
}

// TestInvalidArgumentsRunNothing: the fake runner has no scripted call, so
// any command would fail the test.
func TestInvalidArgumentsRunNothing(t *testing.T) {
	long := strings.Repeat("x", MaxSCSIIDLen+1)
	for name, call := range map[string]func(*Tgt) error{
		"tid 0":                func(tg *Tgt) error { return tg.CreateTarget(ctx, 0, volIQN) },
		"empty iqn":            func(tg *Tgt) error { return tg.CreateTarget(ctx, 1, "") },
		"iqn with comma":       func(tg *Tgt) error { return tg.CreateTarget(ctx, 1, volIQN+",x") },
		"iqn with space":       func(tg *Tgt) error { return tg.CreateTarget(ctx, 1, "iqn x") },
		"iqn too long":         func(tg *Tgt) error { return tg.CreateTarget(ctx, 1, "iqn."+strings.Repeat("a", MaxISCSINameLen)) },
		"delete tid 0":         func(tg *Tgt) error { return tg.DeleteTarget(ctx, 0) },
		"lun 0":                func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 0, lvPath, LUNParams{}) },
		"no backing store":     func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, "", LUNParams{}) },
		"relative store":       func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, "dev/vg0/x", LUNParams{}) },
		"unclean store":        func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, "/dev/vg0/../x", LUNParams{}) },
		"store with comma":     func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, "/dev/vg0/a,b", LUNParams{}) },
		"scsi_id too long":     func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, lvPath, LUNParams{SCSIID: long}) },
		"scsi_sn too long":     func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, lvPath, LUNParams{SCSISN: long}) },
		"scsi_sn with comma":   func(tg *Tgt) error { return tg.AddLUN(ctx, 1, 1, lvPath, LUNParams{SCSISN: "a,online=0"}) },
		"delete lun 0":         func(tg *Tgt) error { return tg.DeleteLUN(ctx, 1, 0) },
		"initiator address":    func(tg *Tgt) error { return tg.BindInitiator(ctx, 1, "ALL") },
		"initiator empty":      func(tg *Tgt) error { return tg.UnbindInitiator(ctx, 1, "") },
		"user with comma":      func(tg *Tgt) error { return tg.CreateAccount(ctx, "a,b", "secret") },
		"empty password":       func(tg *Tgt) error { return tg.CreateAccount(ctx, "u", "") },
		"empty user to delete": func(tg *Tgt) error { return tg.DeleteAccount(ctx, "") },
		"bind empty user":      func(tg *Tgt) error { return tg.BindAccount(ctx, 1, "") },
		"bind account tid 0":   func(tg *Tgt) error { return tg.BindAccount(ctx, 0, "u") },
		"refresh lun 0":        func(tg *Tgt) error { return tg.RefreshLUN(ctx, 1, 0, lvPath) },
		"negative session":     func(tg *Tgt) error { return tg.CloseConnection(ctx, 1, -1, 0) },
		"close on tid 0":       func(tg *Tgt) error { return tg.CloseConnection(ctx, 0, 1, 0) },
		"unknown state":        func(tg *Tgt) error { return tg.SetTargetState(ctx, 1, "running") },
		"state of tid 0":       func(tg *Tgt) error { return tg.SetTargetState(ctx, 0, StateOffline) },
	} {
		t.Run(name, func(t *testing.T) {
			if err := call(newTestTgt(t)); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestMaxLengthSerialIsAccepted(t *testing.T) {
	id := strings.Repeat("a", MaxSCSIIDLen)
	tg := newTestTgt(t,
		runnertest.Call{Argv: tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "--backing-store", lvPath)},
		runnertest.Call{Argv: tgtadm("--op", "update", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "--params", "scsi_id="+id+",scsi_sn="+id+",thin_provisioning=0")},
	)
	if err := tg.AddLUN(ctx, 1, 1, lvPath, LUNParams{SCSIID: id, SCSISN: id}); err != nil {
		t.Fatal(err)
	}
}

func TestFreeTID(t *testing.T) {
	for _, tc := range []struct {
		used []int
		want int
	}{
		{nil, 1},
		{[]int{1, 2, 3}, 4},
		{[]int{1, 3}, 2},
		{[]int{2, 3}, 1},
		{[]int{5, 1, 2, 4}, 3},
	} {
		var targets []Target
		for _, tid := range tc.used {
			targets = append(targets, Target{TID: tid})
		}
		if got := FreeTID(targets); got != tc.want {
			t.Errorf("FreeTID(%v) = %d, want %d", tc.used, got, tc.want)
		}
	}
}

func TestSocketPath(t *testing.T) {
	t.Setenv("TGT_IPC_SOCKET", "")
	if got := SocketPath(0); got != "/var/run/tgtd/socket.0" {
		t.Errorf("SocketPath(0) = %q", got)
	}
	if got := SocketPath(4217); got != "/var/run/tgtd/socket.4217" {
		t.Errorf("SocketPath(4217) = %q", got)
	}
	t.Setenv("TGT_IPC_SOCKET", "/run/x/tgt")
	if got := SocketPath(2); got != "/run/x/tgt.2" {
		t.Errorf("SocketPath with TGT_IPC_SOCKET = %q", got)
	}
}
