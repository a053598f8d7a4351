package tgt

import (
	"errors"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// Each iSCSI key is one tgtadm call: tgtd's target update takes one
// name and value.
func TestSetTargetParamsCommands(t *testing.T) {
	upd := func(name, value string) runnertest.Call {
		return runnertest.Call{Argv: tgtadm("--op", "update", "--mode", "target", "--tid", "3", "--name", name, "--value", value)}
	}
	tg := newTestTgt(t, upd("MaxRecvDataSegmentLength", "262144"), upd("InitialR2T", "No"))
	err := tg.SetTargetParams(ctx, 3, []TargetParam{{"MaxRecvDataSegmentLength", "262144"}, {"InitialR2T", "No"}})
	if err != nil {
		t.Fatal(err)
	}
}

// A key tgt does not negotiate, or a value that is not a number or
// Yes/No, is refused before anything runs (the fake runner fails on any
// call).
func TestSetTargetParamsRefusesBadKeysAndValues(t *testing.T) {
	for _, p := range []TargetParam{
		{"RedirectAddress", "10.0.0.1"}, // tgt accepts it, but it sends initiators elsewhere
		{"MaxRecvDataSegmentLength", "256k"},
		{"MaxRecvDataSegmentLength", "1,InitialR2T=No"},
		{"MaxRecvDataSegmentLength", "100"}, // below iSCSI's 512
		{"MaxBurstLength", "16777216"},      // above iSCSI's 2^24-1
		{"InitialR2T", "no"},                // tgt compares Yes/No exactly
		{"", "1"},
	} {
		err := newTestTgt(t).SetTargetParams(ctx, 3, []TargetParam{p})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("SetTargetParams(%v) = %v, want ErrInvalid", p, err)
		}
	}
	if err := newTestTgt(t).SetTargetParams(ctx, 0, []TargetParam{{"InitialR2T", "No"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("tid 0: %v, want ErrInvalid", err)
	}
}
