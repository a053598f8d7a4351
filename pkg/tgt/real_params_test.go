package tgt

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A real tgtd takes the driver's iSCSI keys and shows them back on the
// target, and takes a LUN with its write cache off in the same update as
// its serial.
func TestRealTargetParamsAndWriteCacheOff(t *testing.T) {
	d := startRealTgtd(t)
	tg := d.client()
	if err := tg.CreateTarget(ctx, 1, volIQN); err != nil {
		t.Fatal(err)
	}
	params := []TargetParam{{"MaxRecvDataSegmentLength", "262144"}, {"MaxXmitDataSegmentLength", "262144"},
		{"FirstBurstLength", "262144"}, {"MaxBurstLength", "1048576"}, {"InitialR2T", "No"}}
	if err := tg.SetTargetParams(ctx, 1, params); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tgtadm", "--lld", "iscsi", "-C", strconv.Itoa(d.controlPort), "--op", "show", "--mode", "target", "--tid", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, p := range params {
		if !strings.Contains("\n"+string(out), "\n"+p.Name+"="+p.Value+"\n") {
			t.Errorf("tgtd shows no %s=%s:\n%s", p.Name, p.Value, out)
		}
	}
	backing := filepath.Join(t.TempDir(), "lu.img")
	if err := os.WriteFile(backing, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tg.AddLUN(ctx, 1, 1, backing, LUNParams{SCSIID: "vol-a", SCSISN: "vol-a", WriteCacheOff: true}); err != nil {
		t.Fatalf("AddLUN with the write cache off: %v", err)
	}
	targets, err := tg.ListTargets(ctx)
	if err != nil || len(targets) != 1 || len(targets[0].LUNs) != 1 || targets[0].LUNs[0].SCSISN != "vol-a" {
		t.Fatalf("after AddLUN: %+v, %v", targets, err)
	}
}
