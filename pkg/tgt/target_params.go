package tgt

import (
	"context"
	"fmt"
	"slices"
	"strconv"
)

// TargetParam is one iSCSI login key of a target, offered to every
// initiator that logs in afterwards (sessions already logged in keep what
// they negotiated).
type TargetParam struct {
	Name, Value string
}

// numericParams are the length and count keys this package sets, with the
// range tgt accepts (usr/iscsi/param.c); booleanParams take Yes or No.
// Other keys (digests, redirects, markers) are left to tgt: they change
// what an initiator connects to or checks, not how fast.
var (
	numericParams = map[string][2]int{
		"MaxRecvDataSegmentLength": {512, 1<<24 - 1},
		"MaxXmitDataSegmentLength": {512, 1<<24 - 1},
		"FirstBurstLength":         {512, 1<<24 - 1},
		"MaxBurstLength":           {512, 1<<24 - 1},
		"MaxOutstandingR2T":        {1, 65535},
		"MaxQueueCmd":              {1, 512},
	}
	booleanParams = []string{"InitialR2T", "ImmediateData"}
)

// SetTargetParams sets iSCSI keys of target tid, one tgtadm call each (tgtd
// takes one name and value per update). Unknown keys and values tgt would
// refuse or misread are ErrInvalid before anything runs.
func (t *Tgt) SetTargetParams(ctx context.Context, tid int, params []TargetParam) error {
	op := fmt.Sprintf("set iSCSI parameters of target %d", tid)
	if err := checkTID(op, tid); err != nil {
		return err
	}
	for _, p := range params {
		if err := CheckTargetParam(p); err != nil {
			return invalid(op, "%v", err)
		}
	}
	for _, p := range params {
		if _, err := t.run(ctx, op, "update", "target", "--tid", itoa(tid), "--name", p.Name, "--value", p.Value); err != nil {
			return err
		}
	}
	return nil
}

// CheckTargetParam says whether SetTargetParams takes p.
func CheckTargetParam(p TargetParam) error {
	if r, ok := numericParams[p.Name]; ok {
		n, err := strconv.Atoi(p.Value)
		if err != nil || strconv.Itoa(n) != p.Value || n < r[0] || n > r[1] {
			return fmt.Errorf("%s=%q: want a whole number from %d to %d", p.Name, p.Value, r[0], r[1])
		}
		return nil
	}
	if slices.Contains(booleanParams, p.Name) {
		if p.Value != "Yes" && p.Value != "No" {
			return fmt.Errorf("%s=%q: want Yes or No", p.Name, p.Value)
		}
		return nil
	}
	return fmt.Errorf("iSCSI key %q is not one this driver sets", p.Name)
}
