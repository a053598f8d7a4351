package iscsi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/toolerr"
	"k8s.io/klog/v2"
)

// Timeouts written into every node record this package logs in with.
//
// Kubelet gives NodeStageVolume two minutes, and staging still has to find,
// check and format the disk after the login. So a login to an unreachable
// portal must give up well inside that: LoginTimeout per attempt, tried
// 1+LoginRetries times, is about 30 s at worst. (open-iscsi's stock 15 s
// and 8 retries would take two minutes.) Ten seconds is still ample for a
// TCP connect and login exchange with tgtd on a LAN.
const (
	// LoginTimeout is node.conn[0].timeo.login_timeout: how long one
	// login attempt may take.
	LoginTimeout = 10 * time.Second
	// LoginRetries is node.session.initial_login_retry_max: how many times
	// iscsid retries a failed first login before iscsiadm reports failure.
	LoginRetries = 2
	// ReplacementTimeout is node.session.timeo.replacement_timeout: how
	// long the kernel queues I/O while a session is down before failing it
	// to the filesystem. The controller rebuilds tgtd's targets from LV
	// tags after tgtd restarts, so sessions must ride out a restart plus a
	// reconcile; two minutes does, while a storage host that is really
	// gone still turns into I/O errors instead of processes stuck in D
	// state forever.
	ReplacementTimeout = 120 * time.Second
	// LoginCommandTimeout bounds the iscsiadm --login call. It is twice
	// iscsiadm's own worst case, so iscsiadm reports its failure itself:
	// killing it mid-login would leave iscsid still logging in, and a
	// session could appear after we reported failure. The Runner's own
	// timeout and the caller's context must allow at least this much.
	LoginCommandTimeout = 2 * time.Duration(LoginRetries+1) * LoginTimeout
)

// maxCHAPLength is open-iscsi's limit on CHAP names and secrets
// (AUTH_STR_MAX_LEN minus the terminating NUL).
const maxCHAPLength = 255

// setting is one node record field Login writes.
type setting struct {
	name, value string
	secret      bool
}

// Login implements Initiator. Every error matches ErrLoginFailed; those
// from iscsiadm also keep its *runner.ExitError (CHAP secrets masked).
func (a *Iscsiadm) Login(ctx context.Context, t Target) error {
	what := fmt.Sprintf("logging in to %s at %s", t.IQN, t.Portal)
	if err := checkLoginTarget(t); err != nil {
		return &toolerr.Error{Tool: tool, Op: what, Kinds: []error{ErrLoginFailed}, Err: err}
	}
	err := a.locked(ctx, func() error {
		// -o new on an existing record rewrites it from iscsid.conf
		// defaults, and the updates below then put back what this package
		// wants, so a record left over by anyone is brought in line.
		if _, err := a.run.Run(ctx, "iscsiadm", nodeArgs(t.Portal, t.IQN, "-o", "new")...); err != nil {
			return classify(what+": creating the node record", err, ErrLoginFailed)
		}
		// One update writes every setting: iscsiadm applies each -n/-v
		// pair in turn, and one call instead of one per setting saves
		// NodeStageVolume five or six iscsiadm runs (docs/benchmarks.md).
		args, secrets := updateArgs(t)
		if _, err := a.run.RunSecret(ctx, secrets, "iscsiadm", args...); err != nil {
			return classify(what+": writing the node record's settings", err, ErrLoginFailed)
		}
		loginCtx, cancel := context.WithTimeout(ctx, LoginCommandTimeout)
		defer cancel()
		_, err := a.run.Run(loginCtx, "iscsiadm", nodeArgs(t.Portal, t.IQN, "--login")...)
		if err == nil || runner.ExitCode(err) == exitSessionExists {
			return nil
		}
		return classify(what, err, ErrLoginFailed)
	})
	if err == nil {
		klog.V(2).InfoS("Logged in to iSCSI target", "iqn", t.IQN, "portal", t.Portal, "chap", t.CHAP != nil)
		return nil
	}
	if !errors.Is(err, ErrLoginFailed) {
		// The lock was not had before ctx ended.
		return &toolerr.Error{Tool: tool, Op: what, Kinds: []error{ErrLoginFailed}, Err: err}
	}
	return err
}

// recordSettings lists the node record fields Login sets, in order.
// Startup is manual because the CSI node plugin alone decides when a
// volume is attached: an automatic record would log in again at boot, to
// volumes that may since have been unpublished from this node.
// Authentication is always written, None included, so that credentials
// left in an old record of the same target are not used.
func recordSettings(chap *CHAP) []setting {
	settings := []setting{
		{name: "node.startup", value: "manual"},
		{name: "node.conn[0].timeo.login_timeout", value: seconds(LoginTimeout)},
		{name: "node.session.initial_login_retry_max", value: strconv.Itoa(LoginRetries)},
		{name: "node.session.timeo.replacement_timeout", value: seconds(ReplacementTimeout)},
	}
	if chap == nil {
		return append(settings, setting{name: "node.session.auth.authmethod", value: "None"})
	}
	return append(settings,
		setting{name: "node.session.auth.authmethod", value: "CHAP"},
		setting{name: "node.session.auth.username", value: chap.User},
		setting{name: "node.session.auth.password", value: chap.Password, secret: true},
	)
}

// updateArgs is the one iscsiadm update that writes recordSettings, and
// the secrets in it.
func updateArgs(t Target) (args, secrets []string) {
	args = nodeArgs(t.Portal, t.IQN, "-o", "update")
	for _, s := range recordSettings(t.CHAP) {
		args = append(args, "-n", s.name, "-v", s.value)
		if s.secret {
			secrets = append(secrets, s.value)
		}
	}
	return args, secrets
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

// checkLoginTarget refuses targets whose values would not survive the trip
// into iscsiadm's argv and its line-based record files.
func checkLoginTarget(t Target) error {
	if err := checkNode(t.Portal, t.IQN); err != nil {
		return err
	}
	if t.CHAP == nil {
		return nil
	}
	c := t.CHAP
	if c.User == "" || c.Password == "" {
		return fmt.Errorf("%w: CHAP needs both a user name and a password", ErrInvalidArgument)
	}
	// Never echo the values: one of them is a secret.
	for field, v := range map[string]string{"user": c.User, "password": c.Password} {
		if len(v) > maxCHAPLength || strings.ContainsFunc(v, isSpaceOrControl) {
			return fmt.Errorf("%w: CHAP %s is longer than %d bytes or contains spaces or control characters", ErrInvalidArgument, field, maxCHAPLength)
		}
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
