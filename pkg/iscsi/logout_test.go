package iscsi

import (
	"context"
	"errors"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

func TestLogout(t *testing.T) {
	a := newTestIscsiadm(t, succeeded(recorded(t, "logout_no_session")))
	if err := a.Logout(context.Background(), recPortal, recIQN); err != nil {
		t.Fatalf("Logout: %v", err)
	}
}

func TestLogoutWithoutSessionIsSuccess(t *testing.T) {
	a := newTestIscsiadm(t, recorded(t, "logout_no_session"), recorded(t, "logout_missing"))
	if err := a.Logout(context.Background(), recPortal, recIQN); err != nil {
		t.Fatalf("Logout with a record but no session: %v", err)
	}
	if err := a.Logout(context.Background(), recPortal, recMissing); err != nil {
		t.Fatalf("Logout with neither record nor session: %v", err)
	}
}

func TestLogoutFailure(t *testing.T) {
	logout := recorded(t, "logout_no_session")
	// ISCSI_ERR_LOGOUT from iscsi_err.h; this host has no session whose
	// logout could fail.
	a := newTestIscsiadm(t, runnertest.Call{Argv: logout.Argv, ExitCode: 10, Stderr: "iscsiadm: Could not logout of all requested sessions\n"})
	err := a.Logout(context.Background(), recPortal, recIQN)
	if runner.ExitCode(err) != 10 {
		t.Fatalf("Logout error %v: want the exit code 10 failure", err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Errorf("Logout error %v matches ErrNotFound", err)
	}
}

func TestLogoutRefusesBadArguments(t *testing.T) {
	a := newTestIscsiadm(t)
	if err := a.Logout(context.Background(), "-u", recIQN); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Logout with portal -u: %v, want ErrInvalidArgument", err)
	}
}

func TestDeleteRecord(t *testing.T) {
	a := newTestIscsiadm(t, recorded(t, "delete"), recorded(t, "delete_missing"))
	if err := a.DeleteRecord(context.Background(), recPortal, recIQN); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	if err := a.DeleteRecord(context.Background(), recPortal, recIQN); err != nil {
		t.Fatalf("DeleteRecord of a deleted record: %v", err)
	}
}

func TestDeleteRecordFailure(t *testing.T) {
	a := newTestIscsiadm(t, withOutcome(recorded(t, "delete"), recorded(t, "update_bad_name")))
	err := a.DeleteRecord(context.Background(), recPortal, recIQN)
	if !errors.Is(err, ErrInvalidArgument) || runner.ExitCode(err) != 7 {
		t.Fatalf("DeleteRecord error %v: want ErrInvalidArgument with exit code 7", err)
	}
}

func TestDeleteRecordRefusesBadArguments(t *testing.T) {
	a := newTestIscsiadm(t)
	if err := a.DeleteRecord(context.Background(), recPortal, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("DeleteRecord with an empty IQN: %v, want ErrInvalidArgument", err)
	}
}
