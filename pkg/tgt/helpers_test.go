package tgt

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// testPort is the control port testdata/record.sh recorded with.
const testPort = 4217

// newTestTgt returns a Tgt whose tgtadm calls must be exactly calls.
func newTestTgt(t *testing.T, calls ...runnertest.Call) *Tgt {
	t.Helper()
	return New(runner.New(runnertest.NewFake(t, calls...), 0), testPort)
}

// tgtadm is the argv of a tgtadm call on testPort.
func tgtadm(args ...string) []string {
	return append([]string{"tgtadm", "--lld", "iscsi", "-C", strconv.Itoa(testPort)}, args...)
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recordedFailure is a Call that fails the way tgtadm did in
// testdata/failures/<name>.
func recordedFailure(t *testing.T, name string, argv []string) runnertest.Call {
	t.Helper()
	code, err := strconv.Atoi(strings.TrimSpace(testdata(t, "failures/"+name+".exitcode")))
	if err != nil {
		t.Fatal(err)
	}
	return runnertest.Call{Argv: argv, Stderr: testdata(t, "failures/"+name+".stderr"), ExitCode: code}
}
