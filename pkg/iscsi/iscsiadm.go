package iscsi

import (
	"context"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// CHAP holds the credentials of one volume's target: User and Password
// authenticate this initiator to the target. There is no mutual CHAP (the
// target authenticating itself back): the controller never sets it up.
type CHAP struct {
	User, Password string
}

// Target is one volume as the node sees it: the portal to connect to
// ("10.0.0.5:3260"), the target's IQN, the LUN carrying the volume, and
// CHAP credentials (nil for none).
type Target struct {
	Portal string
	IQN    string
	LUN    int
	CHAP   *CHAP
}

// Session is a logged-in iSCSI session, as iscsiadm -m session lists it.
type Session struct {
	ID     int    // the SID in brackets, as used by iscsiadm -r and sysfs session<ID>
	Portal string // "10.0.0.5:3260" or "[fd00::5]:3260", without the ",TPGT"
	IQN    string
}

// Initiator drives the host's iSCSI initiator. Every method is idempotent:
// doing what is already done succeeds.
type Initiator interface {
	// Login creates or refreshes the node record of t (manual startup,
	// this package's timeouts, t's CHAP or none) and logs in. Being logged
	// in already is success.
	Login(ctx context.Context, t Target) error
	// Logout ends the session to iqn at portal; no session is success.
	Logout(ctx context.Context, portal, iqn string) error
	// DeleteRecord removes the node record; no record is success.
	DeleteRecord(ctx context.Context, portal, iqn string) error
	// Sessions lists the host's sessions; none is an empty list.
	Sessions(ctx context.Context) ([]Session, error)
	// Rescan asks the kernel to rescan the LUNs of one session (after a
	// LUN was added or resized on the target). ErrNotFound when the
	// session is gone.
	Rescan(ctx context.Context, sessionID int) error
}

// Iscsiadm is the Initiator that runs open-iscsi's iscsiadm, holding one
// host-wide lock around every call.
type Iscsiadm struct {
	run  *runner.Runner
	lock *hostLock
}

var _ Initiator = (*Iscsiadm)(nil)

// New returns an Iscsiadm running commands through r and serialising them
// with an in-process lock and flock(2) on lockFile (created, mode 0600,
// with its directory, when missing). Every process driving iscsiadm on the
// host should use the same lockFile.
func New(r *runner.Runner, lockFile string) *Iscsiadm {
	return &Iscsiadm{run: r, lock: newHostLock(lockFile)}
}

// locked runs fn holding the host lock, so that a sequence of iscsiadm
// calls (a Login's record updates and login) is not interleaved with
// another's.
func (a *Iscsiadm) locked(ctx context.Context, fn func() error) error {
	release, err := a.lock.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}

// nodeArgs selects the node record of iqn at portal.
func nodeArgs(portal, iqn string, rest ...string) []string {
	return append([]string{"-m", "node", "-T", iqn, "-p", portal}, rest...)
}

// checkNode refuses a portal or IQN that must not reach iscsiadm's argv
// (a value starting with "-" would be read as an option).
func checkNode(portal, iqn string) error {
	if !ValidPortal(portal) {
		return fmt.Errorf("%w: portal %q is not an IP:port", ErrInvalidArgument, portal)
	}
	if !ValidIQN(iqn) {
		return fmt.Errorf("%w: %q is not a lower-case iSCSI name", ErrInvalidArgument, iqn)
	}
	return nil
}
