// Package lvm runs the lvm2 commands the controller needs on one volume
// group: reports (vgs/lvs as JSON), lvcreate for thick and thin LVs and
// snapshots, lvremove, lvextend and lvchange. Every command goes through
// pkg/runner; failures come back classified into this package's sentinel
// errors. lvmfake provides an in-memory Interface for other packages' tests.
package lvm

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// defaultRemoveRetryDelays is how long RemoveLV waits before each retry of
// an lvremove that found the device open: udev's and blkid's probes of a
// just-closed device last well under a second, a mount or tgtd much longer.
var defaultRemoveRetryDelays = []time.Duration{
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
}

// LVM runs lvm commands through a runner.Runner.
type LVM struct {
	runner *runner.Runner
	// slots bounds the number of lvm commands running at once: each holds
	// the VG's metadata lock for a while, and many at once only queue
	// inside lvm where a context cannot reach them.
	slots             chan struct{}
	removeRetryDelays []time.Duration
	// config is prepended to every command as --config, when set.
	config string
}

// Option configures an LVM.
type Option func(*LVM)

// WithGlobalFilter makes every command use these devices/global_filter
// patterns (lvm.conf syntax, e.g. "r|^/dev/disk/by-path/.*-iscsi-.*|")
// instead of lvm.conf's. The driver rejects iSCSI-attached disks with it: on
// a storage host that is also a node, lvm would otherwise read every
// volume's own disk while scanning, hang for minutes on one whose target
// just went away (tgtd restarting), and see LVM metadata a user put inside
// a volume as a duplicate of the host's.
func WithGlobalFilter(patterns ...string) Option {
	return func(l *LVM) {
		if len(patterns) == 0 {
			return
		}
		quoted := make([]string, len(patterns))
		for i, p := range patterns {
			quoted[i] = strconv.Quote(p)
		}
		l.config = "devices { global_filter = [ " + strings.Join(quoted, ", ") + " ] }"
	}
}

var _ Interface = (*LVM)(nil)

// New returns an LVM that runs at most maxConcurrent lvm commands at once
// (at least one).
func New(r *runner.Runner, maxConcurrent int, opts ...Option) *LVM {
	if maxConcurrent < 1 {
		maxConcurrent = 1
	}
	l := &LVM{
		runner:            r,
		slots:             make(chan struct{}, maxConcurrent),
		removeRetryDelays: defaultRemoveRetryDelays,
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// run runs the lvm command doing op once a slot is free, and classifies
// its failure.
func (l *LVM) run(ctx context.Context, op, name string, args ...string) ([]byte, error) {
	out, err := l.command(ctx, name, args...)
	if err != nil {
		return out, classify(op, err)
	}
	return out, nil
}

// command runs one lvm command once a slot is free, and returns its
// failure as it is.
func (l *LVM) command(ctx context.Context, name string, args ...string) ([]byte, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting to run %s: %w", name, ctx.Err())
	}
	defer func() { <-l.slots }()
	if l.config != "" {
		args = append([]string{"--config", l.config}, args...)
	}
	return l.runner.Run(ctx, name, args...)
}

// lvPath is the vg/lv argument lvm commands take.
func lvPath(vg, name string) string { return vg + "/" + name }

// checkVG validates a VG name before it reaches a command line.
func checkVG(op, vg string) error {
	if !validVGName(vg) {
		return fail(op, ErrInvalid, "invalid volume group name %q", vg)
	}
	return nil
}

// checkLV validates a VG and LV name pair before it reaches a command line.
func checkLV(op, vg, name string) error {
	if err := checkVG(op, vg); err != nil {
		return err
	}
	if !ValidLVName(name) {
		return fail(op, ErrInvalid, "invalid logical volume name %q", name)
	}
	return nil
}

func checkTags(op string, tags []string) error {
	for _, t := range tags {
		if !ValidTag(t) {
			return fail(op, ErrInvalid, "invalid tag %q", t)
		}
	}
	return nil
}

// bytesArg is a size argument in bytes, which lvm takes with a "b" unit.
func bytesArg(size uint64) string { return fmt.Sprintf("%db", size) }

func tagArgs(option string, tags []string) []string {
	args := make([]string, 0, 2*len(tags))
	for _, t := range tags {
		args = append(args, option, t)
	}
	return args
}
