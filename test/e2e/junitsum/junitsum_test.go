package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files under testdata/ were recorded from real runs: the JUnit report of
// csi-sanity inside the qemu guest, test2json output of bin/e2e.test passing,
// failing (tgtd not started, so the controller's Probe said not ready) and
// hanging into its -test.timeout, and `go test -json ./test/sanity` without
// endpoints, where the suite skips itself. sanity-noskip-fail.xml is csi-sanity
// run with an empty skip list against the Identity-only driver, cut down to 8
// of its 103 test cases (the cases are verbatim, the suite totals are not).

func TestCountJUnitFromGinkgo(t *testing.T) {
	got, err := countFile(filepath.Join("testdata", "sanity-identity-pass.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// 3 Identity specs ran; 99 were skipped by the skip list and 1 is pending
	// upstream, which JUnit reports as skipped too.
	want := Counts{Passed: 3, Failed: 0, Skipped: 100}
	if got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
}

func TestCountJUnitFailuresFromGinkgo(t *testing.T) {
	got, err := countFile(filepath.Join("testdata", "sanity-noskip-fail.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// Counted from the test cases, not from the (cut) suite's totals.
	want := Counts{Passed: 3, Failed: 2, Skipped: 3}
	if got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
}

func TestConvertTest2JSON(t *testing.T) {
	tests := []struct {
		file       string
		want       Counts
		wantFailed []string
	}{
		// Three tests of two subtests each: the parents are not counted again.
		{file: "e2e-pass.json", want: Counts{Passed: 6}},
		{file: "e2e-probe-fail.json", want: Counts{Passed: 5, Failed: 1}, wantFailed: []string{"TestProbeReady/controller"}},
		// The binary panicked on its timeout: the test that was running never
		// ended and is a failure; its parent is not counted twice.
		{file: "e2e-timeout.json", want: Counts{Failed: 1}, wantFailed: []string{"TestGetPluginInfo/controller"}},
		{file: "sanity-skipped.json", want: Counts{Skipped: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var xmlOut bytes.Buffer
			if err := convert(in, &xmlOut, "e2e"); err != nil {
				t.Fatalf("convert: %v", err)
			}
			// What is written must read back with the same counts.
			got, _, err := readJUnit(bytes.NewReader(xmlOut.Bytes()))
			if err != nil {
				t.Fatalf("reading the written JUnit back: %v\n%s", err, xmlOut.String())
			}
			if got != tt.want {
				t.Errorf("counts = %+v, want %+v", got, tt.want)
			}
			for _, name := range tt.wantFailed {
				if !strings.Contains(xmlOut.String(), `name="`+name+`"`) {
					t.Errorf("JUnit lacks the failed test %s:\n%s", name, xmlOut.String())
				}
			}
		})
	}
}

func TestSkipReasonKept(t *testing.T) {
	in, err := os.Open(filepath.Join("testdata", "sanity-skipped.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cases, err := readTest2JSON(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 || cases[0].Skipped == nil {
		t.Fatalf("cases = %+v, want one skipped case", cases)
	}
	if !strings.Contains(cases[0].Skipped.Message, "no -csi.endpoint given") {
		t.Errorf("skip message = %q, want the reason given to t.Skip", cases[0].Skipped.Message)
	}
}

func TestSummarize(t *testing.T) {
	dir := t.TempDir()
	write := func(name, test2jsonFile string) string {
		t.Helper()
		in, err := os.Open(filepath.Join("testdata", test2jsonFile))
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		var b bytes.Buffer
		if err := convert(in, &b, "e2e"); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	sanityXML := filepath.Join("testdata", "sanity-identity-pass.xml")
	tests := []struct {
		name     string
		files    []string
		wantLine string
		wantCode int
	}{
		{"all pass", []string{sanityXML, write("pass.xml", "e2e-pass.json")}, "9 passed, 0 failed, 100 skipped", 0},
		{"one failure", []string{sanityXML, write("fail.xml", "e2e-probe-fail.json")}, "8 passed, 1 failed, 100 skipped", 1},
		// Nothing ran: a harness that skips everything must not look green.
		{"only skips", []string{write("skip.xml", "sanity-skipped.json")}, "0 passed, 0 failed, 1 skipped", 1},
		{"missing file", []string{filepath.Join(dir, "absent.xml")}, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := summarize(&stdout, &stderr, tt.files)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr: %s)", code, tt.wantCode, stderr.String())
			}
			if got := strings.TrimSpace(stdout.String()); got != tt.wantLine {
				t.Errorf("summary = %q, want %q", got, tt.wantLine)
			}
		})
	}
}

// A CI log is often all that is left of a failed run: the summary must name
// each failed test and repeat the assertion it failed on.
func TestSummarizeReportsFailures(t *testing.T) {
	in, err := os.Open(filepath.Join("testdata", "e2e-probe-fail.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b bytes.Buffer
	if err := convert(in, &b, "e2e"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fail.xml")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	summarize(&stdout, &stderr, []string{path, filepath.Join("testdata", "sanity-noskip-fail.xml")})
	report := stderr.String()
	for _, want := range []string{
		"FAIL TestProbeReady/controller: failed\n",
		"identity_test.go:38: ready = , want true",
		"ControllerGetCapabilities not implemented",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("failure report lacks %q:\n%s", want, report)
		}
	}
	n := 0
	for _, line := range strings.Split(report, "\n") {
		if strings.HasPrefix(line, "FAIL ") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("failure report names %d failures, want 3 (1 e2e + 2 csi-sanity):\n%s", n, report)
	}
	if strings.Contains(report, "TestProbeReady/node") {
		t.Errorf("failure report names a passing test:\n%s", report)
	}
}

func TestCountJUnitRejectsOtherXML(t *testing.T) {
	if _, _, err := readJUnit(strings.NewReader(`<html><body/></html>`)); err == nil {
		t.Error("an HTML document was accepted as JUnit")
	}
	if _, _, err := readJUnit(strings.NewReader(`not xml`)); err == nil {
		t.Error("plain text was accepted as JUnit")
	}
}
