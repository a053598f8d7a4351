// Package killpoint is a test-only fault injector: it makes the plugin
// process kill itself with SIGKILL right before, or right after, the N-th
// external command of one gRPC call, so the end-to-end tests can prove by
// injection that every RPC converges after a crash at any step
// (test/e2e/killpoints_test.go, docs/design.md, "Failure model").
//
// Only a binary built with the build tag `killpoints` links this package
// (cmd/lvm-iscsi-csi/killpoints.go); the production binary cannot contain
// it. Even there nothing happens unless a call asks for it: the client sets
// the gRPC metadata key MetadataKey on one call to
//
//	count        run normally, only count and list the call's commands
//	before:<n>   SIGKILL just before the n-th command starts (it never runs)
//	after:<n>    SIGKILL just after the n-th command ended (it ran, but the
//	             process never saw its result)
//
// and every answer to an armed call carries the commands it ran, numbered
// from 1, in the trailer key CommandsKey (CHAP secrets masked). A command
// belongs to the call when it runs under the call's context (all of
// pkg/runner's commands, including those of jobs the call started), or when
// it runs without a context (mount-utils' mkfs, fsck, blkid, resize and
// mount/umount) while the call is in flight. Commands of anything else,
// such as the controller's reconciler, are neither counted nor killed.
// One armed call at a time per process.
package killpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"k8s.io/klog/v2"
)

// MetadataKey arms one call (gRPC metadata keys are lower case).
const MetadataKey = "lvm-iscsi-csi-kill-point"

// CommandsKey is the trailer key listing an armed call's commands.
const CommandsKey = "lvm-iscsi-csi-commands"

// Mode says what an armed call does at its kill point.
type Mode string

const (
	Count  Mode = "count"  // never kill, only count
	Before Mode = "before" // kill before the N-th command runs
	After  Mode = "after"  // kill after the N-th command returned
)

// Spec is one call's kill point.
type Spec struct {
	Mode Mode
	N    int // 1-based; 0 for Count
}

func (s Spec) String() string {
	if s.Mode == Count {
		return string(Count)
	}
	return fmt.Sprintf("%s:%d", s.Mode, s.N)
}

// ParseSpec reads "count", "before:<n>" or "after:<n>" (n >= 1).
func ParseSpec(s string) (Spec, error) {
	if s == string(Count) {
		return Spec{Mode: Count}, nil
	}
	mode, n, ok := strings.Cut(s, ":")
	k, err := strconv.Atoi(n)
	if !ok || err != nil || k < 1 || (Mode(mode) != Before && Mode(mode) != After) {
		return Spec{}, fmt.Errorf("kill point %q: want count, before:<n> or after:<n> with n >= 1", s)
	}
	return Spec{Mode: Mode(mode), N: k}, nil
}

// Injector counts the commands of armed calls and kills the process at
// their kill point.
type Injector struct {
	// kill ends the process. It does not return in a real process; in
	// unit tests it records the kill and the command is then reported as
	// failed with errKilled instead of running (before) or returning
	// (after).
	kill func()

	mu     sync.Mutex
	active *call // the armed call in flight, nil when none
}

// errKilled is what a command returns in unit tests, where kill returns.
var errKilled = errors.New("killpoint: the process was killed here")

// New returns an Injector that really kills this process.
func New() *Injector {
	return &Injector{kill: func() {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL is on its way; this goroutine must not go on
	}}
}

// call is one armed call: its kill point and the commands it ran.
type call struct {
	method string
	spec   Spec

	mu       sync.Mutex
	commands []string
}

// next numbers a command of c and says whether to die before or after it.
func (c *call) next(line string) (seq int, before, after bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commands = append(c.commands, line)
	seq = len(c.commands)
	return seq, c.spec.Mode == Before && seq == c.spec.N, c.spec.Mode == After && seq == c.spec.N
}

func (c *call) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.commands))
	for i, line := range c.commands {
		out[i] = strconv.Itoa(i+1) + " " + line
	}
	return out
}

type callKey struct{}

// callOf returns the armed call a command belongs to: the one in ctx, or,
// for commands run without a context, the armed call in flight.
func (in *Injector) callOf(ctx context.Context) *call {
	if ctx != nil {
		c, _ := ctx.Value(callKey{}).(*call)
		return c
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.active
}

// around runs one command of c (nil: not an armed call's) with its kill
// point.
func (in *Injector) around(c *call, line string, run func() error) error {
	if c == nil {
		return run()
	}
	seq, killAfter, err := in.begin(c, line)
	if err != nil {
		return err
	}
	err = run()
	if killAfter {
		in.die(c, seq, line)
		return errKilled
	}
	return err
}

// begin numbers a command of c, dies when c's point is before it, and
// reports whether c's point is after it.
func (in *Injector) begin(c *call, line string) (seq int, killAfter bool, err error) {
	seq, before, after := c.next(line)
	klog.InfoS("Kill point: command", "method", c.method, "seq", seq, "command", line, "killPoint", c.spec.String())
	if before {
		in.die(c, seq, line)
		return seq, false, errKilled
	}
	return seq, after, nil
}

func (in *Injector) die(c *call, seq int, line string) {
	klog.InfoS("Kill point reached: SIGKILL", "method", c.method, "killPoint", c.spec.String(), "seq", seq, "command", line)
	klog.Flush()
	in.kill()
}

// commandLine is argv for logs and trailers with secrets masked: the value
// after an argument naming a password or secret, directly or after a value
// flag (tgtadm --password P; iscsiadm -n node.session.auth.password -v P).
func commandLine(name string, args []string) string {
	parts := []string{name}
	for i, a := range args {
		if secretAt(args, i) {
			a = "<masked>"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

func secretAt(args []string, i int) bool {
	if i >= 1 && namesSecret(args[i-1]) && !valueFlag(args[i]) {
		return true
	}
	return i >= 2 && namesSecret(args[i-2]) && valueFlag(args[i-1])
}

func namesSecret(arg string) bool {
	l := strings.ToLower(arg)
	return strings.Contains(l, "password") || strings.Contains(l, "secret")
}

func valueFlag(arg string) bool { return arg == "-v" || arg == "--value" }
