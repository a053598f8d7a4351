//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// negotiated reads what the kernel's session to iqn negotiated (sysfs):
// the bursts and InitialR2T of the session, and the largest data segment
// the initiator may send (the target's MaxRecvDataSegmentLength).
func negotiated(t *testing.T, iqn string) map[string]string {
	t.Helper()
	sid := sessionID(t, iqn)
	out := map[string]string{}
	read := func(key, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out[key] = strings.TrimSpace(string(b))
	}
	s := "/sys/class/iscsi_session/session" + sid
	read("first_burst_len", s+"/first_burst_len")
	read("max_burst_len", s+"/max_burst_len")
	read("initial_r2t", s+"/initial_r2t")
	read("max_xmit_dlength", "/sys/class/iscsi_connection/connection"+sid+":0/max_xmit_dlength")
	return out
}

// wantNegotiated is what a session to an export of the driver ends up
// with: pool.TargetParams against open-iscsi's defaults (which are as
// large or larger), so the target's keys decide.
var wantNegotiated = map[string]string{
	"first_burst_len":  "262144",
	"max_burst_len":    "1048576",
	"initial_r2t":      "0",
	"max_xmit_dlength": "262144",
}

func checkNegotiated(t *testing.T, when string, got map[string]string) {
	t.Helper()
	for k, want := range wantNegotiated {
		if got[k] != want {
			t.Errorf("%s: the session negotiated %s=%s, want %s (pool.TargetParams; tgt's defaults give 65536, 262144, 1, 8192)", when, k, got[k], want)
		}
	}
}

// The data-path keys of pool.TargetParams reach a real session, and after
// tgtd is killed and restarted the reconciler's rebuilt target offers them
// again: the session the initiator logs back in with has them too, and
// data written before and after reads back.
func TestSessionsNegotiateTheDataPathKeysAlsoAfterATgtdRestart(t *testing.T) {
	if *restartTgtd == "" {
		t.Fatal("-restart-tgtd is required")
	}
	d, ctx := connect(t)
	v := create(t, d, ctx, lifecycle.BlockCapability(), map[string]string{"provisioning": "thin"})
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	iqn := v.PublishContext["iqn"]
	checkNegotiated(t, "after the login", negotiated(t, iqn))
	before := writeData(t, v.DataPath(), 4<<20)

	logOffset := iscsidLogSize()
	t.Log("killing tgtd with SIGKILL and starting it again")
	run(t, *restartTgtd)
	awaitTargetRebuilt(t, ctx, iqn)
	awaitSessionAfterTargetRestart(t, iqn, logOffset)
	checkNegotiated(t, "after the tgtd restart", negotiated(t, iqn))

	// A synced write returns only once it reached the rebuilt target; a
	// new stage logs in afresh and must read it back.
	after := writeData(t, v.DataPath(), 8<<20)
	if bytes.Equal(after[:len(before)], before) {
		t.Fatal("the second write is the same as the first: the read-back would prove nothing")
	}
	if err := d.Down(ctx, v); err != nil {
		t.Fatalf("teardown after the tgtd restart: %v", err)
	}
	if err := d.Up(ctx, v); err != nil {
		t.Fatal(err)
	}
	checkNegotiated(t, "after a new stage", negotiated(t, iqn))
	if !bytes.Equal(readData(t, v.DataPath(), len(after)), after) {
		t.Fatal("data written through the session recovered after the tgtd restart does not read back")
	}
}
