package tgt

import (
	"context"
	"strconv"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// Tgt implements Interface with tgtadm against the tgtd on one control port.
type Tgt struct {
	runner      *runner.Runner
	controlPort int
}

var _ Interface = (*Tgt)(nil)

// New returns a Tgt that runs tgtadm through r against the tgtd started with
// "-C controlPort" (0 for a tgtd started without -C).
func New(r *runner.Runner, controlPort int) *Tgt {
	return &Tgt{runner: r, controlPort: controlPort}
}

// argv is tgtadm's command line for one operation on one mode.
func (t *Tgt) argv(op, mode string, args ...string) []string {
	base := []string{"--lld", "iscsi", "-C", strconv.Itoa(t.controlPort), "--op", op, "--mode", mode}
	return append(base, args...)
}

// run runs tgtadm and classifies its failure; desc names the operation in
// errors.
func (t *Tgt) run(ctx context.Context, desc, op, mode string, args ...string) ([]byte, error) {
	out, err := t.runner.Run(ctx, "tgtadm", t.argv(op, mode, args...)...)
	return out, classify(desc, err)
}

// runSecret is run for command lines that carry a CHAP password.
func (t *Tgt) runSecret(ctx context.Context, secret, desc, op, mode string, args ...string) error {
	_, err := t.runner.RunSecret(ctx, []string{secret}, "tgtadm", t.argv(op, mode, args...)...)
	return classify(desc, err)
}

func itoa(i int) string { return strconv.Itoa(i) }
