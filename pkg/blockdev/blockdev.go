// Package blockdev owns util-linux's block device tools the controller
// needs on the storage host.
package blockdev

import (
	"context"
	"fmt"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// Blockdev runs blkdiscard.
type Blockdev struct {
	r *runner.Runner
}

// New returns a Blockdev over r.
func New(r *runner.Runner) *Blockdev { return &Blockdev{r: r} }

// Zero writes zeroes over the whole device. blkdiscard --zeroout uses the
// kernel's BLKZEROOUT, which offloads to the device where it can
// (WRITE SAME / write-zeroes) and writes zero pages otherwise.
func (b *Blockdev) Zero(ctx context.Context, device string) error {
	if !strings.HasPrefix(device, "/dev/") {
		return fmt.Errorf("refusing to zero %q: not a /dev path", device)
	}
	_, err := b.r.Run(ctx, "blkdiscard", "--zeroout", device)
	return err
}
