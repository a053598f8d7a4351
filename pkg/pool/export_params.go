package pool

import (
	"context"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// TargetParams are the iSCSI login keys every export offers in place of
// tgt's defaults, chosen from the data-path sweep (docs/benchmarks.md,
// "Data path tuning"). tgt offers 8 KiB data segments (and sends no larger
// ones), a 64 KiB first burst, 256 KiB bursts and InitialR2T=Yes, and
// negotiation takes the smaller length and InitialR2T=Yes if either side
// says so: open-iscsi's larger defaults never win. None of them changes what a write's
// acknowledgement means, only how many PDUs and round trips carry it.
var TargetParams = []tgt.TargetParam{
	{Name: "MaxRecvDataSegmentLength", Value: "262144"},
	// tgt caps the data segments it sends at this, whatever larger size
	// the initiator declares it can receive.
	{Name: "MaxXmitDataSegmentLength", Value: "262144"},
	{Name: "FirstBurstLength", Value: "262144"},
	{Name: "MaxBurstLength", Value: "1048576"},
	{Name: "InitialR2T", Value: "No"},
}

// setTargetParams offers TargetParams on target t. It runs right before
// the LUN is added, and the ACL is bound only after the LUN: no initiator
// can log in before the keys are set, a target is given them again
// whenever it is rebuilt (a tgtd restart, a mismatched LUN), and a crash
// before the LUN leaves a target that the next sync gives the keys and the
// LUN. Keys apply to logins from then on; targets made by an older driver
// keep tgt's until they are rebuilt.
func (p *Pool) setTargetParams(ctx context.Context, t *tgt.Target) error {
	if err := p.tgt.SetTargetParams(ctx, t.TID, TargetParams); err != nil {
		return fmt.Errorf("setting the iSCSI keys of %s: %w", t.IQN, err)
	}
	return nil
}
