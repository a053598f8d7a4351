package iscsi

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// recordCalls are the recorded calls that set a record up before a login:
// the record, then one update with every setting, without or with CHAP.
func recordCalls(t *testing.T, chap bool) []runnertest.Call {
	update := "update_record_none"
	if chap {
		update = "update_record_chap"
	}
	return []runnertest.Call{recorded(t, "node_new"), recorded(t, update)}
}

// The recorded record after each update shows every setting Login makes:
// iscsiadm applied all the pairs of the one update, not the first or the
// last only.
func TestOneUpdateWritesEverySetting(t *testing.T) {
	for _, chap := range []*CHAP{nil, {User: recUser, Password: recPassword}} {
		show := recorded(t, "show_record_none")
		if chap != nil {
			show = recorded(t, "show_record_chap")
		}
		lines := strings.Split(show.Stdout, "\n")
		for _, s := range recordSettings(chap) {
			if !slices.Contains(lines, s.name+" = "+s.value) {
				t.Errorf("chap %v: the record after the update lacks %q", chap != nil, s.name+" = "+s.value)
			}
		}
	}
}

func TestLoginWithoutCHAP(t *testing.T) {
	calls := append(recordCalls(t, false),
		succeeded(recorded(t, "login_no_iscsid")),
	)
	a := newTestIscsiadm(t, calls...)
	if err := a.Login(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1}); err != nil {
		t.Fatalf("Login: %v", err)
	}
}

func TestLoginWithCHAP(t *testing.T) {
	calls := append(recordCalls(t, true),
		succeeded(recorded(t, "login_no_iscsid")),
	)
	a := newTestIscsiadm(t, calls...)
	chap := &CHAP{User: recUser, Password: recPassword}
	if err := a.Login(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1, CHAP: chap}); err != nil {
		t.Fatalf("Login: %v", err)
	}
}

// Exit 15 is ISCSI_ERR_SESS_EXISTS in open-iscsi's iscsi_err.h: the
// session is already there, which is what Login is for.
func TestLoginAlreadyLoggedInIsSuccess(t *testing.T) {
	login := recorded(t, "login_no_iscsid")
	calls := append(recordCalls(t, false),
		runnertest.Call{Argv: login.Argv, ExitCode: exitSessionExists},
	)
	a := newTestIscsiadm(t, calls...)
	if err := a.Login(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1}); err != nil {
		t.Fatalf("Login of a logged-in target: %v", err)
	}
}

// The login failure recorded on this host: no iscsid (the kernel has no
// iSCSI support), exit 20.
func TestLoginFailureIsClassified(t *testing.T) {
	calls := append(recordCalls(t, false),
		recorded(t, "login_no_iscsid"),
	)
	a := newTestIscsiadm(t, calls...)
	err := a.Login(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1})
	if !errors.Is(err, ErrLoginFailed) || !errors.Is(err, ErrDaemonUnavailable) {
		t.Fatalf("Login error %v: want ErrLoginFailed and ErrDaemonUnavailable", err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Errorf("Login error %v matches ErrNotFound", err)
	}
	var exitErr *runner.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode != 20 {
		t.Fatalf("Login error %v: want the *runner.ExitError with exit code 20", err)
	}
	if !strings.Contains(err.Error(), "could not connect to iscsid") {
		t.Errorf("Login error %q lost iscsiadm's message", err)
	}
}

func TestLoginAuthFailureIsClassified(t *testing.T) {
	login := recorded(t, "login_no_iscsid")
	calls := append(recordCalls(t, true),
		// ISCSI_ERR_LOGIN_AUTH_FAILED; a real rejection cannot be
		// recorded on a host that cannot log in.
		runnertest.Call{Argv: login.Argv, ExitCode: exitAuthFailed},
	)
	a := newTestIscsiadm(t, calls...)
	err := a.Login(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1, CHAP: &CHAP{User: recUser, Password: recPassword}})
	if !errors.Is(err, ErrLoginFailed) || !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("Login error %v: want ErrLoginFailed and ErrAuthFailed", err)
	}
}

// A CHAP update that fails (here because the record vanished under us:
// the real "No records found") must not put the password in the error.
func TestLoginCHAPFailureDoesNotLeakPassword(t *testing.T) {
	calls := []runnertest.Call{
		recorded(t, "node_new"),
		withOutcome(recorded(t, "update_record_chap"), recorded(t, "update_record_missing")),
	}
	a := newTestIscsiadm(t, calls...)
	err := a.Login(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1, CHAP: &CHAP{User: recUser, Password: recPassword}})
	if !errors.Is(err, ErrLoginFailed) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Login error %v: want ErrLoginFailed and ErrNotFound", err)
	}
	if strings.Contains(err.Error(), recPassword) {
		t.Fatalf("Login error leaks the CHAP password: %q", err)
	}
	if !strings.Contains(err.Error(), "node.session.auth.password -v "+runner.Masked) {
		t.Errorf("Login error %q does not show the masked command", err)
	}
}

func TestLoginRecordCreationFailure(t *testing.T) {
	a := newTestIscsiadm(t,
		withOutcome(recorded(t, "node_new"), recorded(t, "update_bad_name")),
	)
	err := a.Login(context.Background(), Target{Portal: recPortal, IQN: recIQN, LUN: 1})
	if !errors.Is(err, ErrLoginFailed) || !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Login error %v: want ErrLoginFailed and ErrInvalidArgument", err)
	}
}

func TestLoginRefusesBadTargetsWithoutRunningAnything(t *testing.T) {
	for name, target := range map[string]Target{
		"host name portal":    {Portal: "storage.example:3260", IQN: recIQN},
		"portal without port": {Portal: "10.0.0.5", IQN: recIQN},
		"option as IQN":       {Portal: recPortal, IQN: "--login"},
		"upper-case IQN":      {Portal: recPortal, IQN: "iqn.2026-11.io.csi.lvm-iscsi:VOL"},
		"CHAP without secret": {Portal: recPortal, IQN: recIQN, CHAP: &CHAP{User: recUser}},
		"newline in secret":   {Portal: recPortal, IQN: recIQN, CHAP: &CHAP{User: recUser, Password: "abc\nnode.startup = automatic"}},
		"long secret":         {Portal: recPortal, IQN: recIQN, CHAP: &CHAP{User: recUser, Password: strings.Repeat("x", 256)}},
	} {
		t.Run(name, func(t *testing.T) {
			a := newTestIscsiadm(t)
			err := a.Login(context.Background(), target)
			if !errors.Is(err, ErrInvalidArgument) || !errors.Is(err, ErrLoginFailed) {
				t.Fatalf("Login error %v: want ErrInvalidArgument and ErrLoginFailed", err)
			}
			if target.CHAP != nil && strings.Contains(err.Error(), target.CHAP.Password) && target.CHAP.Password != "" {
				t.Errorf("Login error leaks the CHAP password: %q", err)
			}
		})
	}
}

func TestLoginCommandOutlastsIscsiadmsOwnTimeouts(t *testing.T) {
	worstCase := LoginTimeout * (LoginRetries + 1)
	if LoginCommandTimeout <= worstCase {
		t.Fatalf("LoginCommandTimeout %v does not outlast iscsiadm's own worst case %v", LoginCommandTimeout, worstCase)
	}
	if LoginCommandTimeout > runner.DefaultTimeout {
		t.Fatalf("LoginCommandTimeout %v exceeds the runner's default timeout %v, which would kill iscsiadm first", LoginCommandTimeout, runner.DefaultTimeout)
	}
}

func TestLoginWaitingForTheLockIsALoginFailure(t *testing.T) {
	a := newTestIscsiadm(t)
	release, err := a.lock.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 3*lockPollInterval)
	defer cancel()
	err = a.Login(ctx, Target{Portal: recPortal, IQN: recIQN, LUN: 1})
	if !errors.Is(err, ErrLoginFailed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Login while another holds the lock: %v, want ErrLoginFailed and the deadline", err)
	}
}
