// Package blockdev owns the block device tools the controller needs on the
// storage host: util-linux's blkdiscard to zero, coreutils' dd to copy.
package blockdev

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// Blockdev runs blkdiscard and dd.
type Blockdev struct {
	r *runner.Runner
}

// New returns a Blockdev over r.
func New(r *runner.Runner) *Blockdev { return &Blockdev{r: r} }

// Zero writes zeroes over the whole device. blkdiscard --zeroout uses the
// kernel's BLKZEROOUT, which offloads to the device where it can
// (WRITE SAME / write-zeroes) and writes zero pages otherwise.
func (b *Blockdev) Zero(ctx context.Context, device string) error {
	if err := checkDevice(device); err != nil {
		return err
	}
	_, err := b.r.Run(ctx, "blkdiscard", "--zeroout", device)
	return err
}

// ZeroRange zeroes length bytes from offset (both multiples of 512).
func (b *Blockdev) ZeroRange(ctx context.Context, device string, offset, length uint64) error {
	if err := checkDevice(device); err != nil {
		return err
	}
	if offset%512 != 0 || length%512 != 0 {
		return fmt.Errorf("zeroing %s: offset %d and length %d must be multiples of 512", device, offset, length)
	}
	if length == 0 {
		return nil
	}
	_, err := b.r.Run(ctx, "blkdiscard", "--zeroout", "--offset", strconv.FormatUint(offset, 10), "--length", strconv.FormatUint(length, 10), device)
	return err
}

// copyBlock is dd's block size; volume sizes are whole LVM extents, so
// always a multiple of it.
const copyBlock = 1 << 20

// Copy copies the first size bytes of src onto dst with direct I/O (the
// page cache would only hold data nobody reads again) and fsync at the end.
// sparse skips writing all-zero blocks: only for a destination that reads
// back zeros where nothing was written (a thin LV in a zeroing pool).
func (b *Blockdev) Copy(ctx context.Context, src, dst string, size uint64, sparse bool) error {
	if err := firstErr(checkDevice(src), checkDevice(dst)); err != nil {
		return err
	}
	if size%copyBlock != 0 {
		return fmt.Errorf("copying %s: size %d is not a multiple of %d", src, size, copyBlock)
	}
	conv := "conv=fsync,notrunc"
	if sparse {
		conv += ",sparse"
	}
	_, err := b.r.Run(ctx, "dd", "if="+src, "of="+dst, "bs=1M", "count="+strconv.FormatUint(size/copyBlock, 10),
		"iflag=direct", "oflag=direct", conv, "status=none")
	return err
}

func checkDevice(device string) error {
	if !strings.HasPrefix(device, "/dev/") || strings.Contains(device, "..") {
		return fmt.Errorf("refusing %q: not a /dev path", device)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
