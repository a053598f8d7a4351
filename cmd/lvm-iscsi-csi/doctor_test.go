package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
)

func TestDoctorCommandLine(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"--help"}, 0},
		{"no mode", []string{}, exitUsage},
		{"bad output", []string{"--mode=node", "--output=yaml"}, exitUsage},
		{"unknown flag", []string{"--mode=node", "--no-such-flag"}, exitUsage},
		{"stray argument", []string{"--mode=node", "extra"}, exitUsage},
		{"controller without volume group", []string{"--mode=controller", "--portal=127.0.0.1:3260"}, exitUsage},
		{"args-from missing", []string{"--args-from=/nonexistent/cmdline"}, exitUsage},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		if got := runDoctor(tc.args, &out, &errOut); got != tc.want {
			t.Errorf("%s: doctor %q = %d, want %d\n%s%s", tc.name, tc.args, got, tc.want, out.String(), errOut.String())
		}
	}
}

// `lvm-iscsi-csi doctor` reached through run, on a node without an
// initiator name: an error finding, exit code 2, JSON on stdout.
func TestDoctorOnABrokenNode(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	got := runDoctor([]string{"--mode=node", "--output=json", "--settle=0",
		"--initiator-name-file=" + dir + "/missing", "--state-dir=" + dir + "/state",
		"--iscsi-lock-file=" + dir + "/iscsi.lock", "--kubelet-dir=" + dir + "/kubelet"}, &out, &errOut)
	if got != 2 {
		t.Fatalf("exit code %d, want 2\n%s%s", got, out.String(), errOut.String())
	}
	var report struct {
		Findings []struct{ ID, Severity, Fix string }
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out.String())
	}
	found := false
	for _, f := range report.Findings {
		if f.ID == "initiator-name" && f.Severity == "error" && strings.Contains(f.Fix, "iscsi-iname") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no initiator-name error in %s", out.String())
	}
}

// --args-from reads the driver's own command line (NUL-separated, as
// /proc/<pid>/cmdline), and flags given to doctor win.
func TestDoctorArgsFrom(t *testing.T) {
	dir := t.TempDir()
	cmdline := filepath.Join(dir, "cmdline")
	args := []string{"/usr/bin/lvm-iscsi-csi", "--mode=controller", "--endpoint=unix:///csi/csi.sock", "--volume-group=vg7",
		"--thin-pool=pool7", "--portal=10.0.0.7:3260", "--tgt-control-port=5", "--v=5"}
	if err := os.WriteFile(cmdline, []byte(strings.Join(args, "\x00")+"\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	opts := driver.DefaultOptions()
	opts.AddFlags(fs)
	fs.Int("v", 0, "")
	var df doctorFlags
	fs.StringVar(&df.argsFrom, "args-from", "", "")
	if err := parseDoctorFlags(fs, []string{"--args-from=" + cmdline, "--thin-pool=other"}, &df); err != nil {
		t.Fatal(err)
	}
	if opts.Mode != driver.ModeController || opts.VolumeGroup != "vg7" || opts.Portal != "10.0.0.7:3260" || opts.TgtControlPort != 5 || opts.ThinPool != "other" {
		t.Fatalf("options = %+v", opts)
	}
	if v := fs.Lookup("v").Value.String(); v != "0" {
		t.Errorf("--v = %s: the driver's verbosity was kept", v)
	}
}

// doctor --args-from=/proc/1/cmdline in a pod of the chart reads the node
// plugin's whole command line, which always carries the logging flags
// (--logging-format, from the chart's logFormat) besides the driver's own:
// doctor must accept every flag the driver accepts, not stop at the first
// it does not know (exit 3). The arguments are those of the chart's node
// DaemonSet with metrics on and JSON logs; the node is broken (no
// initiator name), so a run that got as far as its checks exits 2.
func TestDoctorArgsFromAcceptsTheDriversLoggingFlags(t *testing.T) {
	dir := t.TempDir()
	cmdline := filepath.Join(dir, "cmdline")
	args := []string{"/usr/bin/lvm-iscsi-csi", "--mode=node", "--endpoint=unix:///csi/csi.sock", "--driver-name=lvm-iscsi.csi.io",
		"--kubelet-registration-path=/var/lib/kubelet/plugins/lvm-iscsi.csi.io/csi.sock", "--health-address=127.0.0.1:29851",
		"--metrics-address=:29853", "--node-id=node-1", "--kubelet-dir=/var/lib/kubelet", "--state-dir=/var/lib/lvm-iscsi-csi",
		"--initiator-name-file=/etc/iscsi/initiatorname.iscsi", "--iscsi-lock-file=/run/lock/iscsi/lvm-iscsi-csi.lock",
		"--max-volumes-per-node=0", "--v=2", "--logging-format=json", "--log-flush-frequency=5s"}
	if err := os.WriteFile(cmdline, []byte(strings.Join(args, "\x00")+"\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	got := runDoctor([]string{"--args-from=" + cmdline, "--output=json", "--settle=0",
		"--initiator-name-file=" + dir + "/missing", "--state-dir=" + dir + "/state",
		"--iscsi-lock-file=" + dir + "/iscsi.lock", "--kubelet-dir=" + dir + "/kubelet"}, &out, &errOut)
	if got != 2 {
		t.Fatalf("exit code %d, want 2 (the checks ran and found no initiator name)\nstdout:\n%s\nstderr:\n%s", got, out.String(), errOut.String())
	}
	if !json.Valid(out.Bytes()) {
		t.Fatalf("stdout is not JSON:\n%s", out.String())
	}
}
